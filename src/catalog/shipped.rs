//! A model read at plan time to travel inside the plan (`segment_core::model::shipped`), and
//! the check that the role running the plan is the one it was read for.

use super::access::current_role;
use super::read_version::{index_of, load_current, read_row, Current};
use crate::errors::raise;
use pgrx::PgSqlErrorCode;

/// The current version of `name` as a shipped model (`segment_core::model::shipped`), read with
/// the caller's privileges and the usual errors for a missing or forbidden model. None for a
/// per-group model: its groups are separate models, which are not shipped.
pub fn shipped(name: &str) -> Option<String> {
    let row = read_row(name, None);
    if index_of(name, &row).is_some() {
        return None;
    }
    Some(segment_core::model::shipped::ship(
        name,
        row.version,
        &current_role(),
        &row.model,
    ))
}

/// The segment labels of the current version of `name` to ship (`segment_label`), read as
/// `shipped` reads a model; None for a per-group model.
pub fn shipped_labels(name: &str) -> Option<String> {
    match load_current(name) {
        Current::One(stored) => Some(segment_core::model::shipped::ship_labels(
            name,
            &current_role(),
            &stored.labels(),
        )),
        Current::Grouped(_) => None,
    }
}

/// Refuses a shipped model or labels read as another role than the one running the statement:
/// a plan cached by one role and executed after `SET ROLE` (Citus rebuilds plans without
/// PostgreSQL's own re-planning on a role change). Names, not OIDs: Citus runs the shard
/// queries as the same role name on every node.
pub fn check_shipped_role(model: &str, role: &str) {
    let current = current_role();
    if current != role {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "model \"{model}\" was read for role \"{role}\" when this statement was planned, and it now runs as role \"{current}\""
            ),
            Some("Prepare the statement again as this role: a prepared plan keeps the model it read."),
        );
    }
}
