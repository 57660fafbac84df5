//! The pure-Rust core: no pgrx types here, everything unit-tested with `cargo test`.

pub mod churn;
pub mod clv;
pub mod dbscan;
pub mod drift;
pub mod encoding;
pub mod error;
pub mod evaluate;
pub mod fit;
#[cfg(test)]
mod fuzz;
pub mod gmm;
pub mod groups;
pub mod kmeans;
pub mod lloyd_step;
pub mod matching;
pub mod matrix;
pub mod metrics;
pub mod minibatch;
pub mod model;
pub mod options;
pub mod parallel;
pub mod plot;
pub mod preprocess;
pub mod profile;
pub mod progress;
pub mod rfm;
pub mod tree;
pub mod ward;
