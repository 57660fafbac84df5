//! Invalidating the cached plans that may carry a shipped model, after a catalog change.

use super::statements::read;
use pgrx::prelude::*;

/// Makes every cached plan that may carry a shipped model (`shipped`, `shipped_labels`) plan
/// again, in every session, once this transaction commits: a prepared statement then serves the
/// new version, and after a drop or a revoke it fails as an unprepared one would. Called by the
/// catalog's trigger (api/catalog_changes.rs) after every change. How: a catalog-cache
/// invalidation of the pg_proc rows of the functions involved. PostgreSQL records every user
/// function a cached query calls (the query's list, which Citus's rebuilt plans keep) and every
/// function its plan calls (where an inlined SQL function's `segment_assign` shows as the
/// `*_shipped` call), and drops the plans of a function whose row is invalidated: the functions
/// with the planner support function and their shipped forms.
pub fn invalidate_shipped_plans() {
    let oids: Vec<pg_sys::Oid> = read(
        "SELECT p.oid FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass \
              AND d.objid = p.oid AND d.deptype = 'e' \
         JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_segment' \
         WHERE p.prosupport::oid <> 0 OR p.proname LIKE '%\\_shipped'",
        &[],
        |t| {
            Some(
                t.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default();
    // SAFETY: pg_proc opened and closed here; each tuple is released after use. Invalidating a
    // tuple that did not change is allowed (its cache entry is just read again).
    unsafe {
        let rel = pg_sys::table_open(
            pg_sys::ProcedureRelationId,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
        );
        for oid in oids {
            let tuple = pg_sys::SearchSysCache1(
                pg_sys::SysCacheIdentifier::PROCOID as i32,
                pg_sys::Datum::from(oid),
            );
            if !tuple.is_null() {
                pg_sys::CacheInvalidateHeapTuple(rel, tuple, std::ptr::null_mut());
                pg_sys::ReleaseSysCache(tuple);
            }
        }
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}
