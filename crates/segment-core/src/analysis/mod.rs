//! What the segments are and how good they are: metrics (inertia, silhouette, Calinski-Harabasz,
//! Davies-Bouldin, adjusted Rand), profiles and automatic labels, drift between two sets of rows.

pub mod drift;
pub mod metrics;
pub mod profile;
