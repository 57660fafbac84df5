//! Which catalog row a statement would read, without reading it: the model cache
//! (model_cache.rs) asks this once per statement to learn whether what it holds is still what
//! the statement sees.
//!
//! Why a direct index lookup and not a query: a query on `segment_model` runs its row-level
//! security policy, whose function (`segment_model_allowed`, SQL with a pinned search_path, so
//! never inlined) is planned again in every statement; that, with SPI's own work, is most of what
//! a point query spent outside the model (benches/point.py). Here: the primary key's index, read
//! under the statement's active snapshot, the very snapshot the SPI read uses (read-only SPI takes
//! the active snapshot), so the row found is the row that read would find. Row-level security is
//! not applied here, on purpose: this says which row, not whether the caller may read it; the
//! cache keeps that decision apart (model_cache.rs).
//!
//! A row's identity is its version with its tuple's raw xmin and ctid. Every change of a row
//! writes a new tuple (an UPDATE too, with a new ctid, or a new xmin), so an identity names one
//! content: two tuples of one transaction have different ctids (a tuple of a running transaction
//! is never pruned), and a ctid reused after VACUUM holds a tuple of another transaction. A
//! rewrite (VACUUM FULL, CLUSTER) moves tuples, and also invalidates the relation, which clears
//! the cache (model_cache.rs) before any identity could repeat.

use super::statements::read;
use pgrx::prelude::*;
use std::cell::Cell;

/// One row version as the statement's snapshot sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct RowIdentity {
    /// The model version (0 for a `segment_model_access` row).
    pub(super) version: i32,
    xmin: u32,
    block: u32,
    offset: u16,
}

/// The two catalog tables, their primary keys and the attribute numbers read.
#[derive(Clone, Copy)]
pub(super) struct CatalogRelations {
    pub(super) model: pg_sys::Oid,
    model_key: pg_sys::Oid,
    model_name: i16,
    model_version: i16,
    pub(super) access: pg_sys::Oid,
    access_key: pg_sys::Oid,
    access_name: i16,
}

thread_local! {
    /// Looked up once; forgotten with the cache (`forget_relations`) when the extension's
    /// functions or these relations change (a DROP and CREATE EXTENSION makes new tables).
    static RELATIONS: Cell<Option<CatalogRelations>> = const { Cell::new(None) };
}

pub(super) fn forget_relations() {
    RELATIONS.with(|r| r.set(None));
}

/// The catalog's relations, looked up on first use.
pub(super) fn relations() -> CatalogRelations {
    if let Some(r) = RELATIONS.with(Cell::get) {
        return r;
    }
    let (model, access) = read(
        "SELECT '{s}.segment_model'::regclass::oid, '{s}.segment_model_access'::regclass::oid",
        &[],
        |t| {
            let row = t.first();
            Some((
                row.get::<pg_sys::Oid>(1).ok()??,
                row.get::<pg_sys::Oid>(2).ok()??,
            ))
        },
    )
    .unwrap_or_else(|| {
        crate::errors::raise(
            pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "the model catalog's tables are missing",
            Some("Reinstall the extension: DROP EXTENSION customer_segment; CREATE EXTENSION customer_segment;"),
        )
    });
    // SAFETY: relations opened and closed here; get_attnum reads the syscache.
    let relations = unsafe {
        CatalogRelations {
            model,
            model_key: primary_key(model),
            model_name: pg_sys::get_attnum(model, c"name".as_ptr()),
            model_version: pg_sys::get_attnum(model, c"version".as_ptr()),
            access,
            access_key: primary_key(access),
            access_name: pg_sys::get_attnum(access, c"name".as_ptr()),
        }
    };
    RELATIONS.with(|r| r.set(Some(relations)));
    relations
}

/// The primary key index of a relation.
///
/// # Safety
/// `relation` is a table's OID.
unsafe fn primary_key(relation: pg_sys::Oid) -> pg_sys::Oid {
    let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let rel = pg_sys::table_open(relation, lock);
    // PostgreSQL 18 added `deferrable_ok`; the catalog's primary keys are not deferrable.
    #[cfg(not(feature = "pg18"))]
    let key = pg_sys::RelationGetPrimaryKeyIndex(rel);
    #[cfg(feature = "pg18")]
    let key = pg_sys::RelationGetPrimaryKeyIndex(rel, false);
    pg_sys::table_close(rel, lock);
    key
}

/// The row of version `version` of model `name` (the newest one when None) that the statement's
/// snapshot sees, whoever may read it; None without an active snapshot or without such a row.
pub(super) fn model_row(
    r: &CatalogRelations,
    name: &str,
    version: Option<i32>,
) -> Option<RowIdentity> {
    // SAFETY: the keys name the index's columns with their types' equality functions.
    unsafe {
        let mut keys = vec![key(r.model_name, pg_sys::F_TEXTEQ, text_datum(name))];
        if let Some(v) = version {
            keys.push(key(
                r.model_version,
                pg_sys::F_INT4EQ,
                pg_sys::Datum::from(v),
            ));
        }
        // The key is (name, version): backwards, the first row is the newest version.
        first_row(r.model, r.model_key, &mut keys, Some(r.model_version))
    }
}

/// The `segment_model_access` row of `name` that the statement's snapshot sees.
pub(super) fn access_row(r: &CatalogRelations, name: &str) -> Option<RowIdentity> {
    // SAFETY: as in model_row.
    unsafe {
        let mut keys = vec![key(r.access_name, pg_sys::F_TEXTEQ, text_datum(name))];
        first_row(r.access, r.access_key, &mut keys, None)
    }
}

/// A text datum in the current memory context.
fn text_datum(s: &str) -> pg_sys::Datum {
    // SAFETY: copies `s` into a palloc'd text.
    unsafe {
        pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(
            s.as_ptr().cast(),
            s.len() as i32,
        ))
    }
}

/// An equality key on a heap attribute (the collation is set from the index in `first_row`).
fn key(attribute: i16, procedure: u32, argument: pg_sys::Datum) -> pg_sys::ScanKeyData {
    // SAFETY: a zeroed ScanKeyData is filled by ScanKeyEntryInitialize.
    let mut key: pg_sys::ScanKeyData = unsafe { std::mem::zeroed() };
    unsafe {
        pg_sys::ScanKeyEntryInitialize(
            &mut key,
            0,
            attribute,
            pg_sys::BTEqualStrategyNumber as u16,
            pg_sys::Oid::INVALID,
            pg_sys::Oid::INVALID,
            pg_sys::Oid::from(procedure),
            argument,
        );
    }
    key
}

/// The last row in index order matching `keys`, under the active snapshot.
///
/// # Safety
/// `keys` are equality keys on columns of `index`, an index of `relation`.
unsafe fn first_row(
    relation: pg_sys::Oid,
    index: pg_sys::Oid,
    keys: &mut [pg_sys::ScanKeyData],
    version: Option<i16>,
) -> Option<RowIdentity> {
    if !pg_sys::ActiveSnapshotSet() {
        return None;
    }
    let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let rel = pg_sys::table_open(relation, lock);
    let idx = pg_sys::index_open(index, lock);
    // The index compares text under its own collation (the column's): a key under another one
    // could miss in a non-deterministic collation.
    for (k, at) in keys.iter_mut().zip(0..) {
        k.sk_collation = *(*idx).rd_indcollation.add(at);
    }
    let scan = pg_sys::systable_beginscan_ordered(
        rel,
        idx,
        pg_sys::GetActiveSnapshot(),
        keys.len() as i32,
        keys.as_mut_ptr(),
    );
    let tuple =
        pg_sys::systable_getnext_ordered(scan, pg_sys::ScanDirection::BackwardScanDirection);
    let found = if tuple.is_null() {
        None
    } else {
        let v = match version {
            Some(attribute) => {
                let mut null = false;
                let d = pg_sys::heap_getattr(tuple, attribute as i32, (*rel).rd_att, &mut null);
                if null {
                    0
                } else {
                    d.value() as i32
                }
            }
            None => 0,
        };
        let t_self = (*tuple).t_self;
        Some(RowIdentity {
            version: v,
            xmin: (*(*tuple).t_data).t_choice.t_heap.t_xmin.into(),
            block: ((t_self.ip_blkid.bi_hi as u32) << 16) | t_self.ip_blkid.bi_lo as u32,
            offset: t_self.ip_posid,
        })
    };
    pg_sys::systable_endscan_ordered(scan);
    pg_sys::index_close(idx, lock);
    pg_sys::table_close(rel, lock);
    found
}
