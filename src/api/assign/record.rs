//! The row form, `f(model text, "row" record)`: the row is read raw from `fcinfo` rather than as
//! a pgrx `AnyElement`, which would look up the argument's type on every call; the row header
//! carries its type anyway. Which attribute holds which feature is resolved once per row type
//! and call site; per row, one attribute fetch per feature.

use super::features::{check_kind, missing_column, missing_group_column};
use super::per_group::GroupColumn;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use segment_core::model::assigner::Assigner;

/// Where each feature sits in a row type.
pub(super) struct RowLayout {
    pub(super) typid: pg_sys::Oid,
    pub(super) typmod: i32,
    /// A copy owned by the call site's memory context (`fn_mcxt`).
    pub(super) tupdesc: pg_sys::TupleDesc,
    /// Per feature: attribute number and type.
    pub(super) columns: Vec<(i32, pg_sys::Oid)>,
    /// A per-group model's grouping column (attribute number).
    pub(super) group: Option<GroupColumn>,
}

/// Finds every model feature in the row type by name (once per row type and call site).
pub(super) unsafe fn resolve_layout(
    fcinfo: pg_sys::FunctionCallInfo,
    model: &str,
    assigner: &Assigner,
    group_by: Option<&str>,
    typid: pg_sys::Oid,
    typmod: i32,
) -> RowLayout {
    let tupdesc = PgMemoryContexts::For((*(*fcinfo).flinfo).fn_mcxt)
        .switch_to(|_| pg_sys::lookup_rowtype_tupdesc_copy(typid, typmod));
    // Read through PgTupleDesc: PostgreSQL 18 moved the attributes behind `compact_attrs`, and
    // its accessor knows each version's layout. Borrowed (no release, no free): RowLayout keeps
    // the copy for heap_getattr. Once per row type and call site, never per row.
    let desc = pgrx::PgTupleDesc::from_pg_unchecked(tupdesc);
    let columns = assigner
        .features()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let Some(att) = desc.iter().find(|a| !a.attisdropped && a.name() == f) else {
                missing_column(model, f)
            };
            check_kind(model, assigner, j, att.atttypid);
            (att.attnum as i32, att.atttypid)
        })
        .collect();
    let group = group_by.map(|g| {
        let Some(att) = desc.iter().find(|a| !a.attisdropped && a.name() == g) else {
            missing_group_column(model, g)
        };
        GroupColumn::new(att.attnum as usize, att.atttypid)
    });
    RowLayout {
        typid,
        typmod,
        tupdesc,
        columns,
        group,
    }
}
