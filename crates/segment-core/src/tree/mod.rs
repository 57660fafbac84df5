//! Classification trees: CART (`cart`, ours, with rules as paths of conditions), random forests
//! of it (`forest`), what a churn model adds to a tree (`churn`) and what a classifier into
//! known segments stores and takes as options (`classify`).

pub mod cart;
pub mod churn;
pub mod classify;
pub mod forest;
pub mod hist;
