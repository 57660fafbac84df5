//! Churn models in SQL: `segment_churn_fit`, `segment_churn_rules`, `segment_churn_importance`,
//! `segment_churn_tree` (the per-row `segment_churn_predict` / `segment_churn_assign` are row
//! functions, with the others in api/assign/).

use super::supervised::{self, Spec};
use crate::catalog;
use crate::errors::{raise, require, OrRaise};
use crate::gucs;
use crate::progress::interrupt;
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::document::SegmentModel;
use segment_core::model::supervised::importance;
use segment_core::sql::rules::{self, Surrogate};
use segment_core::tree::churn::{tree_text, ChurnOptions};

const CHURN: Spec = Spec {
    function: "segment_churn_fit",
    default_name: |relation, _| format!("{relation}_churn"),
    missing_label: "Pass the column that says whether the customer churned.",
    label_types: "A label is boolean, an integer 0/1, or text with two values.",
    null_label: "Filter those rows out with a view: a churn model learns from known outcomes.",
};

/// Trains a decision tree on a labelled history (label: boolean, integer 0/1, or text with two
/// values) and stores it as a model whose segments are the tree's leaves. Scores it on a
/// seeded, stratified held-out share of the rows. `rows_skipped` counts the rows left out for a
/// NULL feature under `impute: skip`.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_churn_fit(
    source: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    label: Option<String>,
    name: default!(Option<String>, "NULL"),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model, String),
        name!(version, i32),
        name!(leaves, i32),
        name!(depth, i32),
        name!(rows_train, i64),
        name!(rows_test, i64),
        name!(rows_skipped, i64),
        name!(accuracy, f64),
        name!(precision, Option<f64>),
        name!(recall, Option<f64>),
        name!(f1, Option<f64>),
        name!(roc_auc, Option<f64>),
        name!(true_positives, i64),
        name!(false_positives, i64),
        name!(true_negatives, i64),
        name!(false_negatives, i64),
    ),
> {
    let (name, version, fitted) = supervised::fit(
        &CHURN,
        source,
        features,
        label,
        name,
        options,
        ChurnOptions::from_json,
    );
    let report = fitted.report;
    TableIterator::once((
        name,
        version,
        report.leaves as i32,
        report.depth as i32,
        report.rows_train as i64,
        report.rows_test as i64,
        report.rows_skipped as i64,
        report.accuracy,
        report.precision,
        report.recall,
        report.f1,
        report.roc_auc,
        report.true_positives as i64,
        report.false_positives as i64,
        report.true_negatives as i64,
        report.false_negatives as i64,
    ))
}

fn load_churn(model: Option<&str>) -> SegmentModel {
    let name = require(model, "model");
    let m = catalog::load(name, None).model;
    if m.churn().is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "model \"{name}\" is a {} model, not a churn model",
                m.method().name()
            ),
            Some("Fit a churn model with segment_churn_fit; segment_profile describes clustering models."),
        );
    }
    m
}

/// One row per leaf (segment): the rule as a SQL boolean expression over the source's own
/// columns, the source rows the leaf holds (train and test: what `SELECT count(*) FROM source
/// WHERE <rule>` counts for rows without NULL features), its training rows, its training churn
/// rate, and the lift over the training base rate.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_churn_rules(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(rule, String),
        name!(rows, i64),
        name!(training_rows, i64),
        name!(churn_rate, f64),
        name!(lift, f64),
    ),
> {
    let rules = rules::churn_rules(&load_churn(model));
    TableIterator::new(rules.into_iter().map(|r| {
        (
            r.segment as i32,
            r.rule,
            r.rows as i64,
            r.training_rows as i64,
            r.churn_rate,
            r.lift,
        )
    }))
}

/// Each matrix column's share of the tree's total impurity decrease (scikit-learn's
/// feature_importances_), largest first; one-hot columns are named "feature=value".
#[pg_extern(stable, parallel_safe)]
fn segment_churn_importance(
    model: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    TableIterator::new(importance(&load_churn(model)))
}

/// The tree as indented text, one node per line, readable in psql: each split with its
/// condition, each leaf with its segment, training rows and churn rate.
#[pg_extern(stable, parallel_safe)]
fn segment_churn_tree(model: Option<&str>) -> String {
    let m = load_churn(model);
    let churn = m.churn().expect("checked by load_churn");
    tree_text(&churn.tree, &m.columns().names)
}

/// A clustering model's segments as plain SQL: a shallow decision tree (depth `max_depth`) is
/// fitted on the segments the model gives the rows of a relation (default: the one it was
/// fitted on), and each segment's rule is the OR of the leaves where it is the majority. Per
/// segment: its label (the one in force; a classifier's class), its rows, the share of them its
/// rule selects (`captured`), the share of the rule's rows that are in it (`precision`), and the
/// rules' fidelity (the share of all rows the rules put in the model's segment; the same on
/// every row). Noise (dbscan) is segment -1, labelled "noise". Rows with a NULL feature are left
/// out (a rule cannot say where NULLs go).
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_rules(
    model: Option<&str>,
    max_depth: default!(Option<i32>, 3),
    source: default!(Option<PgRelation>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(label, String),
        name!(rule, String),
        name!(rows, i64),
        name!(captured, f64),
        name!(precision, f64),
        name!(fidelity, f64),
    ),
> {
    let name = require(model, "model");
    let depth = rules::surrogate_depth(require(max_depth, "max_depth")).or_raise();
    let stored = catalog::load(name, None);
    let mut surrogate =
        Surrogate::new(name, &stored.model, depth, gucs::max_memory_bytes()).or_raise();
    let src = super::inspect::source_for(&stored, source);
    source::for_each_row(&src, &stored.model.categories, |row| surrogate.push(row)).or_raise();
    let (rules, fidelity) = surrogate
        .finish(&stored.labels(), &mut interrupt)
        .or_raise();
    TableIterator::new(rules.into_iter().map(move |r| {
        (
            r.segment,
            r.label,
            r.rule.rule,
            r.rule.rows as i64,
            r.rule.captured,
            r.rule.precision,
            fidelity,
        )
    }))
}
