//! What the server decides for every fit rather than the call: its own module, below the fits
//! and the k scan that all take it (`fit`, `choose_k`, `streaming`, `group_fit`, `evaluate`,
//! `budget`), so none of them imports another for it.

/// Settings that come from the server rather than the call (the shell reads them from its
/// settings, each capped by the superuser's limit).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub threads: usize,
    /// Silhouette is quadratic: above this many rows it is computed on a seeded sample.
    pub silhouette_rows: usize,
}
