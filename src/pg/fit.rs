//! `segment_fit`: validate, read, fit in the core, store a new model version.

use super::catalog::{self, NewVersion};
use super::errors::{require, OrRaise};
use super::source;
use crate::core::fit::{fit_kmeans, Limits};
use crate::core::kmeans;
use crate::core::options::FitOptions;
use crate::gucs;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};

/// Clusters the rows of `source` on `features` with k-means and stores the model as a new
/// version of `name` (default: the relation's name). Returns one row describing the fit.
// The row type stays inline: pgrx reads the `name!` columns from the signature itself.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_fit(
    source: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    k: Option<i32>,
    name: default!(Option<String>, "NULL"),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model, String),
        name!(version, i32),
        name!(segments, i32),
        name!(rows_used, i64),
        name!(rows_skipped, i64),
        name!(inertia, f64),
        name!(silhouette, Option<f64>),
        name!(iterations, i32),
    ),
> {
    let rel = require(source, "source");
    let features = require(features, "features");
    let k = require(k, "k");
    let options = require(options, "options");
    let k = kmeans::check_k_range(k as i64).or_raise();
    let options = FitOptions::from_json(&options.0.to_string()).or_raise();
    let source = source::validate(&rel, features);
    let name = name.unwrap_or_else(|| source.relname.clone());
    catalog::check_name(&name);

    let built = source::read_matrix(&source, options.impute, gucs::max_memory_bytes()).or_raise();
    let limits = Limits {
        threads: gucs::threads(),
        silhouette_rows: gucs::silhouette_sample(),
    };
    let (model, report) = fit_kmeans(
        built,
        source.features.clone(),
        k,
        &options,
        limits,
        &mut || {
            pgrx::check_for_interrupts!();
        },
    )
    .or_raise();

    let metrics = serde_json::json!({
        "inertia": report.inertia,
        "silhouette": report.silhouette,
        "silhouette_rows": report.silhouette_rows,
        "iterations": report.iterations,
        "converged": report.converged,
    });
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &source.sql_name,
        options: serde_json::to_string(&options).expect("options serialize"),
        model: model.to_json(),
        metrics: metrics.to_string(),
        rows_used: report.rows_used as i64,
        rows_skipped: report.rows_skipped as i64,
    });
    TableIterator::once((
        name,
        version,
        report.k as i32,
        report.rows_used as i64,
        report.rows_skipped as i64,
        report.inertia,
        report.silhouette,
        report.iterations as i32,
    ))
}
