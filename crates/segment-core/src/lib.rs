//! segment-core: the math of customer_segment, with no PostgreSQL in it (Cargo enforces that:
//! this crate does not depend on pgrx). The extension crate at the repository root is the SQL
//! shell over it: it reads rows, calls into this crate, stores and returns what it gets.
//!
//! # Layers
//! Each module imports only modules on its own level or below, never in a circle:
//!
//! | level | modules | what |
//! |---|---|---|
//! | 6 | `sql` | SQL text: quoting, segments and tree leaves as predicates, the RFM query's pieces |
//! | 5 | `model` | the stored document, its assigner, the fits that build it, groups, refits |
//! | 4 | `analysis`, `plot`, `estimator` | metrics, profiles and labels, drift; SVG pictures; the methods as linfa models (`Fit`, `PredictInplace`) |
//! | 3 | `cluster`, `tree`, `value` | the methods: clustering, trees, RFM and CLV |
//! | 2 | `prep` | the feature matrix, encoding, log, imputing, scaling, numerics from their digits |
//! | 1 | `error`, `params`, `spelling`, `parallel`, `progress` | errors with a kind, options objects read key by key, did-you-mean hints, row-block threads, progress reports |
//!
//! # Where a new method goes
//! A clustering method is one module in `cluster/` with its parameters (its options struct:
//! `KEYS`, `read`, `ParamGuard::check_ref`), a variant of `model::document::Method`, its keys
//! in `model::options::applicable_keys`, its rule in `model::assigner`, the arm that calls it
//! in `model::fit`, and tests beside each. The SQL shell changes only where the SQL surface does.

pub mod analysis;
pub mod cluster;
pub mod error;
pub mod estimator;
#[cfg(test)]
mod fuzz;
pub mod model;
pub mod parallel;
pub mod params;
pub mod plot;
pub mod prep;
pub mod progress;
pub mod report;
pub mod spelling;
pub mod sql;
pub mod tree;
pub mod value;
