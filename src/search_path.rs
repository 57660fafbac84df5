//! Running the extension's own SQL with `search_path = pg_catalog, pg_temp`.
//!
//! Every query the extension builds (catalog reads and writes, reading a source) runs inside
//! [`pinned`], so nothing a caller put on their search_path — an operator `=` for text, a function
//! named like a built-in, a table named like the catalog — can be picked up instead of the real
//! one. It is what a function's `SET search_path` clause does, scoped to the SPI work only:
//! `segment_assign` stays free of per-call settings and can still run in parallel workers
//! (a GUC_ACTION_SAVE change is allowed there).

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::spi::Spi;
use std::ffi::CStr;

/// Runs `f` with the search path pinned, restoring the caller's afterwards. On an error the
/// (sub)transaction's abort pops the setting, as it does for `SET` clauses.
pub fn pinned<R>(f: impl FnOnce() -> R) -> R {
    with_setting(c"search_path", c"pg_catalog, pg_temp", f)
}

/// Runs `f` with the server setting `name` at `value` (a bad value is the setting's own ERROR),
/// restoring the caller's afterwards, as a function's `SET` clause does.
pub fn with_setting<R>(name: &CStr, value: &CStr, f: impl FnOnce() -> R) -> R {
    // SAFETY: the nest level pushed here is popped below or by the abort that an error causes;
    // the strings outlive the call (set_config_option copies the value).
    unsafe {
        let level = pg_sys::NewGUCNestLevel();
        pg_sys::set_config_option(
            name.as_ptr(),
            value.as_ptr(),
            pg_sys::GucContext::PGC_USERSET,
            pg_sys::GucSource::PGC_S_SESSION,
            pg_sys::GucAction::GUC_ACTION_SAVE,
            true,
            0,
            false,
        );
        let result = f();
        pg_sys::AtEOXact_GUC(true, level);
        result
    }
}

/// The first column of the first row of a read-only query, as text, run pinned. A read-only SPI
/// call: `Spi::get_one` would mark the transaction mutable, which assigns an XID (and fails in a
/// parallel worker running segment_assign).
pub fn select_text(query: &str, args: &[DatumWithOid]) -> Option<String> {
    pinned(|| {
        Spi::connect(|client| {
            client
                .select(query, Some(1), args)
                .ok()?
                .first()
                .get_one::<String>()
                .ok()
                .flatten()
        })
    })
}
