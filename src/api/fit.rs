//! `segment_fit`: validate, read, fit in the core, store a new model version.

use super::groups;
use super::kmeans_step;
use crate::catalog;
use crate::errors::{require, OrRaise};
use crate::fitting::{store, FitRow};
use crate::gucs::{self, limits};
use crate::progress::interrupt;
use crate::progress::with_notices;
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation};
use segment_core::error::CoreResult;
use segment_core::model::budget::{self, Shape};
use segment_core::model::choose_k::{choose_k, edge_note};
use segment_core::model::document::{Meaning, SegmentModel};
use segment_core::model::fit::fit_model_from;
use segment_core::model::fit::FitReport;
use segment_core::model::options::{Engine, FitOptions};
use segment_core::model::streaming;
use segment_core::model::streaming::Refinement;
use segment_core::prep::preprocessor::fit_matrix;

/// Clusters the rows of `source` on `features` with the method in the options (k-means by
/// default; gmm, hierarchical, dbscan) and stores the model as a new version of `name`
/// (default: the relation's name). With k NULL, k is chosen by
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
        name!(iterations, Option<i32>),
        name!(silhouette_rows, i64),
        name!(method, String),
        name!(rows_fitted, i64),
    ),
> {
    let rel = require(source, "source");
    let features = require(features, "features");
    let options = require(options, "options");
    // The options and k together: each method's rule for k is checked with its options.
    let options = FitOptions::for_fit(&options.0.to_string(), k.map(i64::from)).or_raise();
    let rows = with_notices("segment_fit", move || {
        fit_and_store(rel, features, name, options)
    });
    TableIterator::new(rows.into_iter().map(FitRow::into_sql))
}

/// Reads, fits and stores a new version of `name` (default: the relation's name): one row, or
/// with the group_by option the per-group model's row and then one per fitted group.
pub fn fit_and_store(
    rel: PgRelation,
    features: Vec<Option<String>>,
    name: Option<String>,
    options: FitOptions,
) -> Vec<FitRow> {
    let source = source::validate(&rel, features);
    let name = name.unwrap_or_else(|| source.relname.clone());
    catalog::check_fit_name(&name);
    let meaning = Meaning {
        features: source.features.clone(),
        method: options.method().name().to_string(),
        group_by: options.group_by().map(str::to_string),
        label: None,
    };
    catalog::check_meaning(&name, &meaning, options.replace(), catalog::MadeBy::Fit);
    if let Some(group_by) = options.group_by() {
        source::check_group_column(&rel, group_by, &source.features);
        return groups::fit_and_store(&source, group_by, &name, &options);
    }

    let categories =
        source::learn_categories(&source, options.max_categories(), options.categorical())
            .or_raise();
    // A warm start refits from the current version (k NULL: its k).
    let previous = options
        .warm_start()
        .then(|| catalog::current_model(&name).map(|(_, m)| m))
        .flatten();
    let options = match (&previous, options.k()) {
        (Some(p), None) => options.with_k(p.k()).or_raise(),
        _ => options,
    };
    let (model, report, scores) = if options.streams() {
        let (model, report) = fit_streaming(&source, categories, &options);
        (model, report, None)
    } else {
        let built = source::read_matrix(&source, &categories, &options, gucs::max_memory_bytes())
            .or_raise();
        // The matrix is held; the method's working memory is not taken yet.
        let shape = Shape::of(built.matrix.n_rows(), &source.features, &categories);
        budget::fit(&shape, &options, limits())
            .check(gucs::max_memory_bytes())
            .or_raise();
        fit_model_from(
            fit_matrix(built, options.scale()),
            source.features.clone(),
            categories,
            &options,
            previous.as_ref(),
            limits(),
            &mut interrupt,
        )
        .or_raise()
    };
    crate::warnings::near_constant("segment_fit", "", &report.near_constant);
    vec![store(
        &name,
        &source.sql_name,
        &options,
        model,
        &report,
        scores,
        None,
    )]
}

/// minibatch_kmeans, and k-means with engine aggregate: the source is read several times
/// (summary, epochs or aggregate steps, final pass), never held.
fn fit_streaming(
    source: &source::Source,
    categories: Vec<Option<Vec<String>>>,
    options: &FitOptions,
) -> (SegmentModel, FitReport) {
    streaming::check_options(options).or_raise();
    let mut query: Option<(String, Vec<f64>)> = None;
    let mut by_steps = |model: &SegmentModel, centres: &[f64]| {
        let (q, prep) = query.get_or_insert_with(|| {
            (
                kmeans_step::step_query(source),
                model.preprocessor().to_floats(),
            )
        });
        Ok(kmeans_step::run_step(q, centres, prep))
    };
    // The aggregate's steps run as SQL over the source; mini-batches in the core.
    let refinement = if options.engine() == Engine::Aggregate {
        Refinement::Steps(&mut by_steps)
    } else {
        Refinement::MiniBatch
    };
    let mut scan = |f: &mut dyn FnMut(&[Option<f64>]) -> CoreResult<()>| {
        source::for_each_row(source, &categories, |row| f(row))
    };
    streaming::fit(
        refinement,
        &mut scan,
        source.features.clone(),
        categories.clone(),
        options,
        limits(),
        gucs::max_memory_bytes(),
        &mut interrupt,
    )
    .or_raise()
}

/// Fits k-means for every k from `k_min` to `k_max` on the same rows and options as
/// `segment_fit` would, stores nothing, and scores each k: inertia, silhouette (on a seeded sample
/// above customer_segment.silhouette_sample rows; `silhouette_rows` says how many), Calinski-
/// Harabasz (higher is better) and Davies-Bouldin (lower is better). `recommended` marks one row:
/// the highest silhouette, the smaller k on a tie.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
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
        name!(note, Option<String>),
    ),
> {
    with_notices("segment_choose_k", move || {
        let rel = require(source, "source");
        let features = require(features, "features");
        let k_min = require(k_min, "k_min");
        let k_max = require(k_max, "k_max");
        let options = require(options, "options");
        let options =
            FitOptions::for_choose_k(&options.0.to_string(), k_min.into(), k_max.into()).or_raise();
        let source = source::validate(&rel, features);
        let categories =
            source::learn_categories(&source, options.max_categories(), options.categorical())
                .or_raise();
        let built = source::read_matrix(&source, &categories, &options, gucs::max_memory_bytes())
            .or_raise();
        crate::warnings::near_constant("segment_choose_k", "", &built.near_constant);
        let shape = Shape::of(built.matrix.n_rows(), &source.features, &categories);
        budget::choose_k(&shape, k_max as usize, limits())
            .check(gucs::max_memory_bytes())
            .or_raise();
        let scores = choose_k(
            &fit_matrix(built, options.scale()),
            &options,
            limits(),
            &mut interrupt,
        )
        .or_raise();
        // A recommendation at the edge of the range says so, on its row and as a NOTICE.
        let note = edge_note(&scores);
        if let Some(note) = &note {
            pgrx::notice!("segment_choose_k: {note}");
        }
        TableIterator::new(scores.into_iter().map(move |s| {
            (
                s.k as i32,
                s.inertia,
                s.silhouette,
                s.calinski_harabasz,
                s.davies_bouldin,
                s.recommended,
                s.silhouette_rows as i64,
                note.clone().filter(|_| s.recommended),
            )
        }))
    })
}
