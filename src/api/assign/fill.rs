//! Filling a call site's model with the call's row: the row form reads it from the record in
//! argument 1 (its layout from `record`), the planned forms from their arguments (which argument
//! holds what from `columns`); a per-group model first picks the row's group (`per_group`).
//! Each gives the model with `values` set, or None when the row gets no answer.

use super::call_site::{cached_by_raw_name, CachedModel};
use super::columns::resolve_columns;
use super::features::fill_feature;
use super::per_group::{active, GroupColumn};
use super::record::resolve_layout;
use pgrx::prelude::*;

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

/// Makes the row's group (its grouping-column value; NULL: None) the active model of a
/// per-group model; false when the row gets no segment. Any other model: true.
///
/// # Safety
/// `datum` is a value of `group`'s type.
unsafe fn select_group(
    m: &mut CachedModel,
    group: GroupColumn,
    datum: Option<pg_sys::Datum>,
) -> bool {
    let Some(routing) = m.routing.as_mut() else {
        return true;
    };
    if !super::per_group::select_group(routing, &m.name, &m.assigner, group, datum) {
        return false;
    }
    // Groups may differ in k.
    m.scratch.resize(active(&m.assigner, &m.routing).k(), 0.0);
    true
}
