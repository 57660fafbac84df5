//! The row form, `f(model text, "row" record)`: the row is read raw from `fcinfo` rather than as
//! a pgrx `AnyElement`, which would look up the argument's type on every call; the row header
//! carries its type anyway. Which attribute holds which feature is resolved once per row type
//! and call site; per row, one attribute fetch per feature.

use super::call_site::{cached_by_raw_name, CachedModel};
use super::features::{check_kind, fill_feature, missing_column, missing_group_column};
use super::per_group::{select_group, GroupColumn};
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;
use segment_core::model::assigner::Assigner;

/// Where each feature sits in a row type.
pub(super) struct RowLayout {
    typid: pg_sys::Oid,
    typmod: i32,
    /// A copy owned by the call site's memory context (`fn_mcxt`).
    tupdesc: pg_sys::TupleDesc,
    /// Per feature: attribute number and type.
    columns: Vec<(i32, pg_sys::Oid)>,
    /// A per-group model's grouping column (attribute number).
    group: Option<GroupColumn>,
}

/// The call site's model (argument 0) with `values` filled from the record in argument 1;
/// None when the record is NULL, or a per-group model has no group for the row.
///
/// # Safety
/// The function's SQL signature must be (text, record).
pub(super) unsafe fn row_argument<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<&'a mut CachedModel> {
    let m = cached_by_raw_name(fcinfo);
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
        return None;
    }
    let row = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1);
    // A composite datum (the SQL signature only admits records); detoasting is a no-op for the
    // usual in-memory row.
    let header = pg_sys::pg_detoast_datum(row.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
    let typid = pgrx::heap_tuple_header_get_type_id(header);
    let typmod = pgrx::heap_tuple_header_get_typmod(header);
    let fresh = m
        .layout
        .as_ref()
        .is_some_and(|l| l.typid == typid && l.typmod == typmod);
    if !fresh {
        let group_by = m.routing.as_ref().map(|r| r.index.group_by.as_str());
        m.layout = Some(resolve_layout(
            fcinfo,
            &m.name,
            &m.assigner,
            group_by,
            typid,
            typmod,
        ));
    }
    let layout = m.layout.as_ref().expect("resolved above");
    let mut tuple = pg_sys::HeapTupleData {
        t_len: pgrx::heap_tuple_header_get_datum_length(header) as u32,
        t_data: header,
        ..Default::default()
    };
    if let Some(group) = layout.group {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(&mut tuple, group.at as i32, layout.tupdesc, &mut is_null);
        if !select_group(m, group, (!is_null).then_some(datum)) {
            return None;
        }
    }
    let layout = m.layout.as_ref().expect("resolved above");
    for (j, &(attnum, typ)) in layout.columns.iter().enumerate() {
        let mut is_null = false;
        let datum = pg_sys::heap_getattr(&mut tuple, attnum, layout.tupdesc, &mut is_null);
        if let Err(v) = fill_feature(
            &m.assigner,
            &mut m.values,
            j,
            (!is_null).then_some(datum),
            typ,
        ) {
            m.bad.get_or_insert((j, v));
        }
    }
    Some(m)
}

/// Finds every model feature in the row type by name (once per row type and call site).
unsafe fn resolve_layout(
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
