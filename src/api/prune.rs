//! `segment_prune(model, keep)`: deletes a model's old versions (a project that refits on every
//! run, as a dbt job does, adds one each time), never the current one.

use crate::catalog;
use crate::errors::{raise, require};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// Deletes the versions of a model older than its `keep` newest (default 2: the current one and
/// the one before, which `segment_compare` of the last refit reads); returns how many were
/// deleted. The current version is never deleted (every reader, and every view made by
/// `segment_create_view`, uses it), nor a group model's version that a kept version of its
/// per-group model uses. Of a per-group model, its group models are pruned too. Needs `manage`.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_prune(model: Option<&str>, keep: default!(Option<i32>, 2)) -> i64 {
    let name = require(model, "model");
    let keep = require(keep, "keep");
    if keep < 1 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("keep must be at least 1, not {keep}"),
            Some(&format!(
                "keep counts the newest versions to keep, the current one included: \
                 SELECT segment_prune({}, keep => 1); keeps only the current version. To delete \
                 every version, use segment_drop.",
                segment_core::sql::quote_literal(name)
            )),
        );
    }
    catalog::prune_versions(name, keep)
}
