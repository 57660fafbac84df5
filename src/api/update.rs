//! `segment_update(model, source)`: a new version of a k-means model whose centres are moved
//! by the new rows only (`model::update`: streaming k-means' rule), without reading the rows it
//! was fitted on.

use super::inspect::source_for;
use crate::catalog::{self, Current};
use crate::errors::{raise, require, OrRaise};
use crate::fitting::store;
use crate::gucs;
use crate::progress::{interrupt, with_notices};
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::fit::FitReport;
use segment_core::model::stored::StoredOptions;
use segment_core::model::update::{update, UpdateParams, UpdateRows};

/// Moves the current version's centres by the rows of `source` (the new customers) and stores
/// the result as the next version: per segment, `w' = a w + m` and `c' = (a w c + s) / w'` (w
/// the rows the centre stands for, m and s the count and sum of its new rows, a the option
/// `forgetting`, default 1). One row per segment: its new rows, how far its centre moved, the
/// spread of its new rows about the old centre, the move as a share of that spread, and
/// `refit`, true beyond the option `refit_shift` (default 0.5), also said in a NOTICE.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_update(
    model: Option<&str>,
    source: Option<PgRelation>,
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model, String),
        name!(version, i32),
        name!(segment, i32),
        name!(new_rows, i64),
        name!(moved, f64),
        name!(spread, Option<f64>),
        name!(moved_share, Option<f64>),
        name!(refit, bool),
    ),
> {
    let name = require(model, "model").to_string();
    let rel = require(source, "source");
    let params = UpdateParams::read(&require(options, "options").0.to_string()).or_raise();
    let stored = match catalog::load_current(&name) {
        Current::One(stored) => *stored,
        Current::Grouped(_) => raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("model \"{name}\" is a per-group model: segment_update moves one model's centres"),
            Some("Refit the per-group model with segment_refit, or update a group's model (its name is in segment_groups) with a view of that group's new rows."),
        ),
    };
    let StoredOptions::Fit(fit_options) = &stored.options else {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is not a clustering model"),
            Some("segment_update moves k-means centres; refit other models with the function that fitted them."),
        );
    };
    crate::stored_relation::check_owner_reads(&name, &catalog::access(&name).1, &rel);
    let src = source_for(&stored, Some(rel));
    let model = &stored.model;
    let updated = with_notices("segment_update", || {
        let mut rows = UpdateRows::new(model, gucs::max_memory_bytes() as u64).or_raise();
        source::for_each_row(&src, &model.categories, |values| rows.push(values)).or_raise();
        update(model, rows, params, &mut interrupt).or_raise()
    });
    let report = FitReport {
        k: model.k(),
        rows_used: updated.rows_used,
        rows_skipped: updated.rows_skipped,
        inertia: updated.inertia,
        silhouette: None,
        silhouette_rows: 0,
        iterations: Some(1),
        converged: true,
        rows_fitted: updated.rows_used,
        rows_noise: 0,
        log_likelihood: None,
        bic: None,
        centre_agreement: None,
        gamma: None,
        near_constant: Vec::new(),
    };
    let row = store(
        &name,
        &src.sql_name,
        fit_options,
        updated.model,
        &report,
        None,
        None,
    );
    for &s in &updated.moved {
        let share = updated.shifts[s as usize].share().unwrap_or(0.0);
        pgrx::notice!(
            "model \"{name}\" version {}: segment {s} moved {share:.2} of its new rows' spread (above refit_shift {}): time to refit",
            row.version,
            params.refit_shift
        );
    }
    let version = row.version;
    let rows: Vec<_> = updated
        .shifts
        .iter()
        .enumerate()
        .map(|(s, shift)| {
            (
                name.clone(),
                version,
                s as i32,
                shift.rows as i64,
                shift.distance,
                shift.spread,
                shift.share(),
                updated.moved.contains(&(s as u32)),
            )
        })
        .collect();
    TableIterator::new(rows)
}
