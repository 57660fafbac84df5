//! What the segments are and how good they are: metrics (inertia, silhouette, Calinski-Harabasz,
//! Davies-Bouldin, adjusted Rand), profiles and automatic labels, drift between two sets of rows,
//! and what each segment is worth (`summary`).

pub mod drift;
pub mod drivers;
pub mod metrics;
pub mod profile;
pub mod summary;
