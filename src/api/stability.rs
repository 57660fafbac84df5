//! `segment_stability`: is each segment real? Its stability under bootstrap refits (Hennig's
//! clusterboot, in the core's `model::stability`), kept in the version's metrics
//! (`metrics.stability`) for the report.

use super::inspect::source_for;
use crate::catalog::{self, Access, Current};
use crate::errors::{raise, require, OrRaise};
use crate::gucs::{self, limits};
use crate::progress::{interrupt, with_notices};
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::budget::{self, Shape};
use segment_core::model::stability::{
    check_method, check_runs, stability, StabilityOptions, StabilityRows, StoredStability,
};
use segment_core::model::stored::StoredOptions;

/// Each segment's stability: `runs` bootstrap samples of the rows of `source` (default: the
/// relation the model was fitted on), the model's method refitted on each with its options and
/// k; a segment's stability is its mean Jaccard similarity to the most similar refit segment
/// over the rows drawn, `dissolved` the runs in which that was at most 0.5. Hennig's reading: at
/// most 0.5 the segment is not found again, 0.6 to 0.75 a pattern whose members are doubtful,
/// 0.85 and above highly stable; `stable` is stability >= the `threshold` option (0.75). Options:
/// `seed` (default the model's), `threshold`, `store` (default true: the result goes into the
/// version's metrics, which needs the right to manage the model).
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_stability(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
    runs: default!(Option<i32>, 20),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(label, String),
        name!(stability, Option<f64>),
        name!(dissolved, i32),
        name!(runs, i32),
        name!(stable, bool),
    ),
> {
    let name = require(model, "model").to_string();
    let runs = check_runs(require(runs, "runs").into()).or_raise();
    let given = StabilityOptions::read(&require(options, "options").0.to_string()).or_raise();
    let stored = match catalog::load_current(&name) {
        Current::One(stored) => *stored,
        Current::Grouped(_) => raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("model \"{name}\" is fitted per group: segment_stability assesses one model"),
            Some(&format!(
                "Assess each group's model, e.g. segment_stability('{name}/<value>'); \
                 SELECT name FROM segment_models lists them."
            )),
        ),
    };
    check_method(stored.model.method()).or_raise();
    let StoredOptions::Fit(fit_options) = &stored.options else {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is not a clustering model"),
            Some("segment_stability refits clustering models."),
        );
    };
    if given.store {
        // Before the work: storing the result needs the right to manage the model.
        let (access, owner) = catalog::access(&name);
        if access != Access::Manage {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!("storing the stability of model \"{name}\" in it needs the right to manage it"),
                Some("Pass options => '{\"store\": false}' to have the rows only, or ask its owner for the right to manage it (segment_grant)."),
            );
        }
        if let Some(rel) = &source {
            // What is read goes into the owner's model (as a refit's rows would).
            crate::stored_relation::check_owner_reads(&name, &owner, rel);
        }
    }
    let m = &stored.model;
    let seed = given.seed.unwrap_or(fit_options.seed());
    let result = with_notices("segment_stability", || {
        let src = source_for(&stored, source);
        let mut rows = StabilityRows::new(m, gucs::max_memory_bytes());
        source::for_each_row(&src, &m.categories, |row| rows.push(row)).or_raise();
        let shape = Shape::of(rows.rows(), &m.features, &m.categories);
        budget::stability(&shape, fit_options, limits())
            .check(gucs::max_memory_bytes())
            .or_raise();
        let n = rows.rows() as u64;
        let (x, labels) = rows.into_parts();
        let segments = stability(
            m,
            &x,
            &labels,
            fit_options,
            runs,
            seed,
            limits(),
            &mut interrupt,
        )
        .or_raise();
        StoredStability {
            runs,
            seed,
            threshold: given.threshold,
            source: src.sql_name.clone(),
            rows: n,
            segments,
        }
    });
    if given.store {
        let value = serde_json::to_string(&result).expect("stability serializes");
        catalog::set_metric(&name, stored.version, "stability", &value);
    }
    let labels = stored.labels();
    let threshold = given.threshold;
    TableIterator::new(result.segments.into_iter().map(move |s| {
        (
            s.segment as i32,
            labels[s.segment as usize].clone(),
            s.stability,
            s.dissolved as i32,
            s.runs as i32,
            s.stable(threshold),
        )
    }))
}
