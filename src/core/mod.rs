//! The pure-Rust core: no pgrx types here, everything unit-tested with `cargo test`.

pub mod error;
pub mod fit;
pub mod kmeans;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod options;
pub mod parallel;
pub mod preprocess;
