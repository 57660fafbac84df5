//! Reading models back: centres, profiles, dropping.

use super::catalog;
use super::errors::require;
use pgrx::prelude::*;

/// Centre of every segment in original units (long form: one row per segment and feature).
#[pg_extern(stable, parallel_safe)]
fn segment_centroids(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(feature, String),
        name!(value, f64),
    ),
> {
    let name = require(model, "model");
    let (_, m) = catalog::load(name);
    let rows: Vec<_> = m
        .centres_original()
        .into_iter()
        .enumerate()
        .flat_map(|(s, centre)| {
            m.features
                .clone()
                .into_iter()
                .zip(centre)
                .map(move |(f, v)| (s as i32, f, v))
        })
        .collect();
    TableIterator::new(rows)
}

/// Per segment and feature: segment size and share of rows, the segment's mean against the
/// overall mean, and the difference in overall standard deviations (NULL for a constant feature).
/// Measured on the training rows at fit time.
// The row type stays inline: pgrx reads the `name!` columns from the signature itself.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_profile(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(size, i64),
        name!(share, f64),
        name!(feature, String),
        name!(segment_mean, f64),
        name!(overall_mean, f64),
        name!(difference_sd, Option<f64>),
    ),
> {
    let name = require(model, "model");
    let (_, m) = catalog::load(name);
    let p = &m.profile;
    let total: u64 = p.sizes.iter().sum();
    let mut rows = Vec::with_capacity(m.k() * m.features.len());
    for (s, (&size, means)) in p.sizes.iter().zip(&p.means).enumerate() {
        for (j, f) in m.features.iter().enumerate() {
            let sd = p.overall_sd[j];
            rows.push((
                s as i32,
                size as i64,
                size as f64 / total.max(1) as f64,
                f.clone(),
                means[j],
                p.overall_mean[j],
                (sd > 0.0).then(|| (means[j] - p.overall_mean[j]) / sd),
            ));
        }
    }
    TableIterator::new(rows)
}

/// Drops every version of a model. Returns the number of versions dropped.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_drop(model: Option<&str>) -> i64 {
    catalog::drop_model(require(model, "model"))
}
