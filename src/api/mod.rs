//! The SQL surface: one file per feature, each `#[pg_extern]` a few lines over a core call.
//! Below it: `catalog` (stored models), `source` (reading rows), `errors`, `gucs`, `planner`,
//! `progress`, `search_path`.

mod anomalies;
mod assign;
mod catalog_changes;
mod churn;
mod classify;
mod clv;
mod drivers;
mod exchange;
mod fit;
mod groups;
mod inspect;
mod kmeans_step;
mod monitor;
mod plots;
mod privileges;
mod prune;
mod report;
mod rfm;
mod stability;
mod summary;
mod supervised;
mod update;
mod views;
