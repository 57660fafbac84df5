//! The model catalog (`segment_model` and `segment_model_access`, created by sql/catalog.sql),
//! one job per module:
//! - `statements`: the extension's schema and the pinned-search-path runner every statement uses;
//! - `access`: who may do what with a name, and the errors for a missing or forbidden model;
//! - `privileges`: granting and revoking use and management;
//! - `lock`: the per-name lock that serializes changes of one name;
//! - `read_version`: the one reader of a stored version, and its errors;
//! - `write_version`: a new version (its meaning checked), segment labels, and a key of its
//!   metrics (segment_stability's result);
//! - `group_models`: a per-group model's group models, as changes follow them;
//! - `dependent_views`: the views that read a model, found through pg_depend;
//! - `drop` and `prune`: deleting a model, or its old versions;
//! - `shipped` and `plan_invalidation`: a model carried in a plan, and dropping such plans
//!   after a change;
//! - `model_cache` over `row_identity`: the models the row functions use, kept across statements
//!   while the row each statement would read is the one they were parsed from.

mod access;
mod dependent_views;
mod drop;
mod group_models;
mod lock;
mod model_cache;
mod plan_invalidation;
mod privileges;
mod prune;
mod read_version;
mod row_identity;
mod shipped;
mod statements;
mod write_version;

pub use access::{access, check_fit_name, Access};
pub use drop::drop_model;
#[cfg(any(test, feature = "pg_test"))]
pub use model_cache::contents as model_cache_contents;
pub use model_cache::{rows_group_model, rows_model, RowsModel};
pub use plan_invalidation::invalidate_shipped_plans;
pub use privileges::{inherit_access, set_privilege, Privilege};
pub use prune::prune_versions;
pub use read_version::{
    bad_field, current_model, document, find_row, load, load_current, load_stored, metrics,
    read_row, Current, Stored, StoredIndex, StoredRow,
};
pub use shipped::{check_shipped_role, shipped, shipped_labels};
pub use statements::schema;
pub use write_version::{check_meaning, insert, set_label, set_metric, MadeBy, NewVersion};

/// Registers the catalog's invalidation callbacks; called once, from `_PG_init`.
pub fn init() {
    statements::init();
    model_cache::init();
}
