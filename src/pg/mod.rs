//! The SQL shell: `#[pg_extern]` functions, reading sources, the model catalog, error mapping.
//! No math here: everything numeric is in `crate::core`.

mod assign;
mod catalog;
mod churn;
mod clv;
mod errors;
mod exchange;
mod fit;
mod groups;
mod inspect;
mod kmeans_step;
mod monitor;
mod planner;
mod plots;
mod privileges;
mod progress;
mod rfm;
mod search_path;
mod source;
mod tests;
mod views;
