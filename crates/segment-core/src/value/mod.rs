//! Customer value from transactions: RFM scores and segment names (`rfm`), and customer lifetime
//! value with the BG/NBD and Gamma-Gamma models (`clv`).

pub mod clv;
pub mod rfm;
