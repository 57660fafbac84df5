//! Customer value from transactions: RFM scores and segment names (`rfm`), and customer lifetime
//! value with the BG/NBD and Gamma-Gamma models (`clv`) fitted on and scoring each customer's
//! calibration summary (`clv_customers`).

pub mod clv;
pub mod clv_customers;
pub mod rfm;
