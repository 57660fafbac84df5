//! How the catalog runs its statements: the tables are named through the extension's own
//! schema (looked up in pg_extension, cached per backend), and every statement runs with the
//! search path pinned, so a caller's search_path cannot redirect it.

use crate::errors::raise;
use crate::search_path::{pinned, select_text};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The extension's schema, quoted.
pub fn schema() -> String {
    if let Some(s) = SCHEMA.with(|c| c.borrow().clone()) {
        return s;
    }
    let schema = select_text(
        "SELECT n.nspname::text FROM pg_catalog.pg_extension e \
         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
         WHERE e.extname = 'customer_segment'",
        &[],
    )
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "extension \"customer_segment\" is not installed in this database",
            Some("Run CREATE EXTENSION customer_segment."),
        )
    });
    let quoted = pgrx::spi::quote_identifier(schema);
    SCHEMA.with(|c| *c.borrow_mut() = Some(quoted.clone()));
    quoted
}

thread_local! {
    /// The extension's schema, read once per backend (every catalog read needs it). It lives as
    /// long as no function changes: CREATE, DROP and ALTER EXTENSION ... SET SCHEMA all change
    /// pg_proc, whose invalidations clear it (`forget_schema`).
    static SCHEMA: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Registers the invalidation that clears the cached schema; called once, from `_PG_init`.
pub fn init() {
    unsafe extern "C-unwind" fn forget_schema(_: pg_sys::Datum, _: i32, _: u32) {
        SCHEMA.with(|c| *c.borrow_mut() = None);
    }
    // SAFETY: registering a syscache callback from _PG_init is what the API is for; the
    // callback touches only this module's cache.
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::PROCOID as i32,
            Some(forget_schema),
            pg_sys::Datum::from(0usize),
        );
    }
}

/// Runs a read-only query with the search path pinned; `{s}` in `query` is the extension schema.
pub(super) fn read<R>(
    query: &str,
    args: &[DatumWithOid],
    row: impl for<'c> FnOnce(pgrx::spi::SpiTupleTable<'c>) -> Option<R>,
) -> Option<R> {
    let query = query.replace("{s}", &schema());
    pinned(|| Spi::connect(|client| row(client.select(query.as_str(), None, args).ok()?)))
}

/// Runs a writing query with the search path pinned; returns the rows it affected.
pub(super) fn write(query: &str, args: &[DatumWithOid]) -> usize {
    let query = query.replace("{s}", &schema());
    pinned(|| {
        Spi::connect_mut(|client| {
            client
                .update(query.as_str(), None, args)
                .map(|t| t.len())
                .unwrap_or_else(|e| {
                    raise(
                        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                        format!("could not write the model catalog: {e}"),
                        None,
                    )
                })
        })
    })
}
