//! `segment_fit`: validate, read, fit in the core, store a new model version.

use super::catalog::{self, NewVersion};
use super::errors::{require, OrRaise};
use super::source;
use crate::core::fit::{auto_k, check_k_scan, choose_k, fit_kmeans, prepare, Limits};
use crate::core::kmeans;
use crate::core::options::FitOptions;
use crate::gucs;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};

/// Clusters the rows of `source` on `features` with k-means and stores the model as a new
/// version of `name` (default: the relation's name). With k NULL, k is chosen by
/// `segment_choose_k`'s rule over the options k_min..k_max (the scores go to the model's
/// metrics). Returns one row describing the fit.
// The row type stays inline: pgrx reads the `name!` columns from the signature itself.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_fit(
    source: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    k: default!(Option<i32>, "NULL"),
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
        name!(silhouette_rows, i64),
    ),
> {
    let rel = require(source, "source");
    let features = require(features, "features");
    let options = require(options, "options");
    let k = k.map(|k| kmeans::check_k_range(k as i64).or_raise());
    let options = FitOptions::from_json(&options.0.to_string()).or_raise();
    if k.is_none() {
        check_k_scan(options.k_min as i64, options.k_max as i64).or_raise();
    }
    let source = source::validate(&rel, features);
    let name = name.unwrap_or_else(|| source.relname.clone());
    catalog::check_name(&name);

    let built = source::read_matrix(&source, &options, gucs::max_memory_bytes()).or_raise();
    let prepared = prepare(built, &options);
    let (k, scores) = match k {
        Some(k) => (k, None),
        None => {
            let (k, scores) = auto_k(&prepared, &options, limits(), &mut interrupt).or_raise();
            (k, Some(scores))
        }
    };
    let (model, report) = fit_kmeans(
        prepared,
        source.features.clone(),
        k,
        &options,
        limits(),
        &mut interrupt,
    )
    .or_raise();

    let metrics = serde_json::json!({
        "inertia": report.inertia,
        "silhouette": report.silhouette,
        "silhouette_rows": report.silhouette_rows,
        "iterations": report.iterations,
        "converged": report.converged,
        "k_chosen": scores.map(|scores| serde_json::json!({
            "rule": "highest silhouette",
            "scores": scores.iter().map(|s| serde_json::json!({
                "k": s.k,
                "inertia": s.inertia,
                "silhouette": s.silhouette,
                "calinski_harabasz": s.calinski_harabasz,
                "davies_bouldin": s.davies_bouldin,
            })).collect::<Vec<_>>(),
        })),
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
        report.silhouette_rows as i64,
    ))
}

fn limits() -> Limits {
    Limits {
        threads: gucs::threads(),
        silhouette_rows: gucs::silhouette_sample(),
    }
}

/// Called by the core between steps: lets statement_timeout and cancel stop a long fit.
fn interrupt() {
    pgrx::check_for_interrupts!();
}

/// Fits k-means for every k from `k_min` to `k_max` on the same rows and options as
/// `segment_fit` would, stores nothing, and scores each k: inertia, silhouette (on a seeded sample
/// above customer_segment.silhouette_sample rows; `silhouette_rows` says how many), Calinski-
/// Harabasz (higher is better) and Davies-Bouldin (lower is better). `recommended` marks one row:
/// the highest silhouette, the smaller k on a tie.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_choose_k(
    source: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    k_min: default!(Option<i32>, 2),
    k_max: default!(Option<i32>, 10),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(k, i32),
        name!(inertia, f64),
        name!(silhouette, Option<f64>),
        name!(calinski_harabasz, Option<f64>),
        name!(davies_bouldin, Option<f64>),
        name!(recommended, bool),
        name!(silhouette_rows, i64),
    ),
> {
    let rel = require(source, "source");
    let features = require(features, "features");
    let k_min = require(k_min, "k_min");
    let k_max = require(k_max, "k_max");
    let options = require(options, "options");
    check_k_scan(k_min as i64, k_max as i64).or_raise();
    let options = FitOptions::from_json(&options.0.to_string()).or_raise();
    let source = source::validate(&rel, features);
    let built = source::read_matrix(&source, &options, gucs::max_memory_bytes()).or_raise();
    let scores = choose_k(
        &prepare(built, &options),
        k_min as i64,
        k_max as i64,
        &options,
        limits(),
        &mut interrupt,
    )
    .or_raise();
    TableIterator::new(scores.into_iter().map(|s| {
        (
            s.k as i32,
            s.inertia,
            s.silhouette,
            s.calinski_harabasz,
            s.davies_bouldin,
            s.recommended,
            s.silhouette_rows as i64,
        )
    }))
}
