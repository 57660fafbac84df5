//! customer_segment: customer segmentation inside PostgreSQL.
//!
//! `core` is pure Rust (no pgrx types) and holds every algorithm; `pg` is the SQL shell around
//! it. See README.md for the SQL surface and DESIGN notes.

pub mod core;
mod gucs;
mod pg;

::pgrx::pg_module_magic!();

::pgrx::extension_sql_file!("../sql/catalog.sql", name = "catalog", bootstrap);

#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    gucs::init();
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
