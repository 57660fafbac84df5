//! The planned forms, `f_columns(model text, columns text[], VARIADIC "values" "any")` and
//! `f_shipped` (the same arguments, the model's document in place of its name): written by the
//! planner (see planner.rs) in place of the row form, they get the row's columns as separate
//! arguments after their names, so no row value is built per row and no attribute is looked up;
//! the features are matched to arguments once per call site.

use super::features::{check_kind, missing_column, missing_group_column};
use super::per_group::GroupColumn;
use crate::errors::raise;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::assigner::Assigner;

/// Which argument holds what, for one model at a call site.
pub(super) struct ColumnArguments {
    /// Per feature: its argument index and type.
    pub(super) features: Vec<(usize, pg_sys::Oid)>,
    /// A per-group model's grouping column (argument index).
    pub(super) group: Option<GroupColumn>,
    /// Every feature is a float8 and none is one-hot encoded.
    pub(super) all_float8: bool,
}

/// Which argument holds each feature: the names come in argument 1 (a constant made by the
/// planner rewrite), the values from argument 2 on.
pub(super) unsafe fn resolve_columns(
    fcinfo: pg_sys::FunctionCallInfo,
    model: &str,
    assigner: &Assigner,
    group_by: Option<&str>,
    nargs: usize,
) -> ColumnArguments {
    let names: Vec<Option<String>> =
        pgrx::fcinfo::pg_getarg::<Vec<Option<String>>>(fcinfo, 1).unwrap_or_default();
    if names.len() + 2 != nargs {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "segment_assign_columns got {} names for {} values",
                names.len(),
                nargs.saturating_sub(2)
            ),
            Some("Call segment_assign(model, row); segment_assign_columns is its planned form."),
        );
    }
    let argument = |name: &str| -> Option<(usize, pg_sys::Oid)> {
        let pos = names.iter().position(|n| n.as_deref() == Some(name))?;
        Some((
            pos + 2,
            pg_sys::get_fn_expr_argtype((*fcinfo).flinfo, (pos + 2) as i32),
        ))
    };
    let features: Vec<(usize, pg_sys::Oid)> = assigner
        .features()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let Some((at, typ)) = argument(f) else {
                missing_column(model, f)
            };
            check_kind(model, assigner, j, typ);
            (at, typ)
        })
        .collect();
    let group = group_by.map(|g| {
        let Some((at, typ)) = argument(g) else {
            missing_group_column(model, g)
        };
        GroupColumn::new(at, typ)
    });
    let all_float8 =
        !assigner.has_categories() && features.iter().all(|&(_, typ)| typ == pg_sys::FLOAT8OID);
    ColumnArguments {
        features,
        group,
        all_float8,
    }
}
