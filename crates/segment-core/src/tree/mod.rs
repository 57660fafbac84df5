//! Classification trees: CART (`cart`, ours, with rules as paths of conditions) and what a churn
//! model adds to it (`churn`).

pub mod cart;
pub mod churn;
