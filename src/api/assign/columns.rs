//! The planned forms, `f_columns(model text, columns text[], VARIADIC "values" "any")` and
//! `f_shipped` (the same arguments, the model's document in place of its name): written by the
//! planner (see planner.rs) in place of the row form, they get the row's columns as separate
//! arguments after their names, so no row value is built per row and no attribute is looked up;
//! the features are matched to arguments once per call site.

use super::call_site::CachedModel;
use super::features::{check_kind, fill_feature, missing_column, missing_group_column};
use super::per_group::{select_group, GroupColumn};
use crate::errors::raise;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::assigner::Assigner;

/// Which argument holds what, for one model at a call site.
pub(super) struct ColumnArguments {
    /// Per feature: its argument index and type.
    features: Vec<(usize, pg_sys::Oid)>,
    /// A per-group model's grouping column (argument index).
    group: Option<GroupColumn>,
    /// Every feature is a float8 and none is one-hot encoded.
    all_float8: bool,
}

/// `m` with `values` filled from the row whose columns are the arguments of this call; None when
/// a per-group model has no group for the row.
///
/// # Safety
/// `fcinfo` is a call of a function with the SQL signature (text, text[], VARIADIC "any").
pub(super) unsafe fn column_arguments(
    m: &mut CachedModel,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<&mut CachedModel> {
    let nargs = (*fcinfo).nargs as usize;
    if m.columns.is_none() {
        let group_by = m.routing.as_ref().map(|r| r.index.group_by.as_str());
        m.columns = Some(resolve_columns(
            fcinfo,
            &m.name,
            &m.assigner,
            group_by,
            nargs,
        ));
    }
    let args = (*fcinfo).args.as_slice(nargs);
    if let Some(group) = m.columns.as_ref().expect("resolved above").group {
        let arg = &args[group.at];
        if !select_group(m, group, (!arg.isnull).then_some(arg.value)) {
            return None;
        }
    }
    let columns = m.columns.as_ref().expect("resolved above");
    // The usual case, every feature a float8 column without one-hot encoding: one tight loop
    // (measured: fill_feature was 13% of an assign over 1M rows).
    if columns.all_float8 {
        // Without one-hot columns, value j is feature j.
        for (j, (slot, &(at, _))) in m.values.iter_mut().zip(&columns.features).enumerate() {
            let arg = &args[at];
            *slot = if arg.isnull {
                f64::NAN
            } else {
                let v = f64::from_bits(arg.value.value() as u64);
                if !v.is_finite() {
                    m.bad.get_or_insert((j, v));
                }
                v
            };
        }
        return Some(m);
    }
    for (j, &(at, typ)) in columns.features.iter().enumerate() {
        let arg = &args[at];
        if let Err(v) = fill_feature(
            &m.assigner,
            &mut m.values,
            j,
            (!arg.isnull).then_some(arg.value),
            typ,
        ) {
            m.bad.get_or_insert((j, v));
        }
    }
    Some(m)
}

/// Which argument holds each feature: the names come in argument 1 (a constant made by the
/// planner rewrite), the values from argument 2 on.
unsafe fn resolve_columns(
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
