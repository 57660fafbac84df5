//! Living with a model: `segment_drift` (how today's rows compare with the training rows) and
//! `segment_refit` (a new version with the same features and options).

use super::fit::fit_and_store;
use super::inspect::{fitted_relation, source_for};
use crate::catalog::{self, Current, Stored};
use crate::errors::{raise, require, OrRaise};
use crate::fitting::FitRow;
use crate::progress::with_notices;
use crate::source;
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};
use segment_core::model::document::Method;
use segment_core::model::monitor::{DriftNow, DriftReport};
use segment_core::model::stored::StoredOptions;

/// Per segment: its share of the training rows and of the rows of `source` now (default: the
/// relation it was fitted on), the population stability index (its term and the total), each
/// feature's segment mean moved (in training standard deviations), and advice from the total
/// PSI: stable (< 0.1), watch (< 0.25), refit. Streams the source. DBSCAN noise rows count in
/// no segment's share.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_drift(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(label, String),
        name!(share_fit, f64),
        name!(share_now, f64),
        name!(rows_now, i64),
        name!(psi, f64),
        name!(psi_total, f64),
        name!(mean_shift, Vec<Option<f64>>),
        name!(advice, String),
    ),
> {
    let name = require(model, "model");
    let stored = catalog::load(name, None);
    let m = &stored.model;
    if m.churn().is_some() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a churn model"),
            Some("segment_drift compares the segments of clustering models; refit churn models on fresh labels."),
        );
    }
    if m.classes().is_some() {
        // Its stored shares are the true classes', the rows' now would be predicted ones.
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a classifier"),
            Some("segment_drift compares the segments of clustering models; compare the shares segment_classify gives over time, and refit the classifier on fresh labels."),
        );
    }
    let DriftReport {
        drift: d,
        rows_now,
        advice,
    } = drift_of(&stored, source);
    let automatic = m.automatic_labels();
    let rows: Vec<_> = d
        .segments
        .into_iter()
        .enumerate()
        .map(|(s, seg)| {
            (
                s as i32,
                stored.label(s as u32, &automatic),
                seg.share_fit,
                seg.share_now,
                rows_now[s] as i64,
                seg.psi,
                d.psi_total,
                seg.mean_shift,
                advice.to_string(),
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// The drift of a clustering model's segments on `source` (default: the relation it was fitted
/// on): segment_drift's figures, also on segment_report's page.
pub fn drift_of(stored: &Stored, source: Option<PgRelation>) -> DriftReport {
    let m = &stored.model;
    let src = source_for(stored, source);
    let mut now = DriftNow::new(m);
    source::for_each_row(&src, &m.categories, |values| now.push(values)).or_raise();
    now.finish()
}

/// Fits a new version of a clustering model with its features, options and number of segments
/// (dbscan finds its own) on `source` (default: the relation it was fitted on). Segment ids are
/// matched to the current version's, as for any refit.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_refit(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
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
    let name = require(model, "model").to_string();
    let stored = match catalog::load_current(&name) {
        Current::One(stored) => *stored,
        Current::Grouped(stored) => {
            // A per-group model refits every group (with the k it was asked for).
            let rel = source.unwrap_or_else(|| {
                crate::stored_relation::open(&name, "source", &stored.source, false)
            });
            crate::stored_relation::check_owner_reads(&name, &catalog::access(&name).1, &rel);
            let features = stored.index.features.iter().cloned().map(Some).collect();
            // The options were read with the index's k (NULL: each group chose its own).
            let options = stored.options;
            let rows = with_notices("segment_refit", move || {
                fit_and_store(rel, features, Some(name), options)
            });
            return TableIterator::new(rows.into_iter().map(FitRow::into_sql));
        }
    };
    if stored.model.method().is_supervised() {
        let (what, function) = match stored.model.method() {
            Method::ChurnTree => ("a churn model", "segment_churn_fit"),
            _ => ("a classifier", "segment_classify_fit"),
        };
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is {what}"),
            Some(&format!(
                "Refit it with {function} on a relation with fresh labels."
            )),
        );
    }
    if let (Some((group_by, value)), None) = (&stored.group, &source) {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("model \"{name}\" is the group {group_by} = '{value}' of a per-group model"),
            Some("Refit the per-group model (it refits every group), or pass a view of this group's rows as source."),
        );
    }
    let rel = source.unwrap_or_else(|| fitted_relation(&stored));
    crate::stored_relation::check_owner_reads(&name, &catalog::access(&name).1, &rel);
    let features = stored.model.features.iter().cloned().map(Some).collect();
    // A clustering model's options were read with its k (`stored_options`): a refit fits it.
    let StoredOptions::Fit(options) = stored.options else {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is not a clustering model"),
            Some("Refit it with the function that fitted it."),
        );
    };
    let rows: Vec<FitRow> = with_notices("segment_refit", move || {
        fit_and_store(rel, features, Some(name), options)
    });
    TableIterator::new(rows.into_iter().map(FitRow::into_sql))
}
