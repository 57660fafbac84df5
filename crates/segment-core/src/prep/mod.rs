//! Rows into numbers: the feature matrix and its builder, one-hot encoding of text and boolean
//! columns, log, imputation and scaling, PostgreSQL numerics read from their digits. Everything a
//! fit learns about the columns before any method sees them, and what assignment replays on a new
//! row.

pub mod builder;
pub mod encoding;
pub mod matrix;
pub mod numeric;
pub mod preprocessor;
pub mod reservoir;
pub mod scaling;
