//! customer_segment: customer segmentation inside PostgreSQL.
//!
//! This crate is the SQL shell over `segment_core` (crates/segment-core), which holds every
//! algorithm and never sees PostgreSQL. Here: `api` (the SQL functions, one file per feature) over
//! the shell's services, each a module of its own: `catalog` (stored models and their privileges),
//! `source` (reading rows of a relation) over `query_rows` (the executor's rows handed to Rust one
//! by one), `stored_relation` (the relation a stored model names, opened without trusting the
//! name), `planner` (the planner support function of `segment_assign` and the other row functions),
//! `row_functions` (their table, from which build.rs writes their SQL forms), `errors` (core errors
//! to SQLSTATEs), `gucs` (settings), `progress` (NOTICEs of long fits), `search_path` (pinned for
//! every query the extension builds) and `citus` (whether Citus is there, and which tables are
//! its).
//! `api` imports the services; the services never import `api`.

mod api;
mod catalog;
mod citus;
mod errors;
mod fitting;
mod gucs;
mod planner;
mod progress;
mod query_rows;
/// The row functions (`segment_assign(model, row)` and the others), each declared once: read by
/// build.rs, which writes their SQL call forms, and by the planner. Most of the table is read by
/// build.rs only.
#[allow(dead_code)]
mod row_functions;
mod search_path;
mod source;
mod stored_relation;
mod tests;
mod warnings;

::pgrx::pg_module_magic!();

::pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);
// A COMMENT on every function and type pgrx generates, run after everything is created.
::pgrx::extension_sql_file!("../sql/comments.sql", name = "comments", finalize);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    // First: pgrx's own hook (registered as the library loaded) would put Rust stack frames in
    // user-facing errors when RUST_BACKTRACE is set (see errors::install_panic_hook).
    errors::install_panic_hook();
    gucs::init();
    catalog::init();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
