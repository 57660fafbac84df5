//! What the extension knows of Citus (distributed PostgreSQL), in one place: whether it is
//! installed in this database, and whether a relation is one of its tables. Citus is optional:
//! every answer is "no" without it, and nothing here loads or calls Citus code.

use crate::search_path::select_text;
use pgrx::pg_sys;

/// Whether the citus extension is installed in the current database.
pub fn installed() -> bool {
    // SAFETY: a catalog lookup by name; missing_ok.
    unsafe { pg_sys::get_extension_oid(c"citus".as_ptr(), true) != pg_sys::InvalidOid }
}

/// Whether `relid` is a Citus table (distributed, reference or managed by Citus): its rows may
/// live on other nodes, which see neither this node's models nor its session.
pub fn is_citus_table(relid: pg_sys::Oid) -> bool {
    installed()
        && select_text(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)::text",
            &[pgrx::datum::DatumWithOid::from(relid)],
        )
        .as_deref()
            == Some("true")
}
