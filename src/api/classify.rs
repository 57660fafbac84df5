//! Classifiers into known segments in SQL: `segment_classify_fit`, `segment_classify_report`,
//! `segment_classify_classes`, `segment_classify_rules`, `segment_classify_importance` (the
//! per-row `segment_classify` / `segment_classify_proba` are row functions, with the others in
//! api/assign/).

use super::supervised::{self, Spec};
use crate::catalog;
use crate::errors::{raise, require};
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::classify_fit::stored_class_scores;
use segment_core::model::document::SegmentModel;
use segment_core::model::supervised::importance;
use segment_core::sql::rules::classifier_rules;
use segment_core::tree::classify::{Classes, ClassifyOptions};

const CLASSIFY: Spec = Spec {
    function: "segment_classify_fit",
    default_name: |relation, label| format!("{relation}_{label}"),
    missing_label: "Pass the column that holds each row's known segment.",
    label_types: "A label is boolean, an integer, or text.",
    null_label: "Filter those rows out with a view: a classifier learns from labelled rows only; classify the others with segment_classify afterwards.",
};

/// Trains a classifier on labelled rows (label: boolean, integer or text, at least two values)
/// and stores it as a model whose segments are the label's classes: one CART tree, or a random
/// forest with `{"method": "forest"}`. Scores it on a seeded, stratified held-out share of each
/// class; per-class scores are in `segment_classify_report`.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_classify_fit(
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
        name!(method, String),
        name!(classes, i32),
        name!(rows_train, i64),
        name!(rows_test, i64),
        name!(rows_skipped, i64),
        name!(accuracy, f64),
        name!(macro_f1, f64),
    ),
> {
    let (name, version, fitted) = supervised::fit(
        &CLASSIFY,
        source,
        features,
        label,
        name,
        options,
        ClassifyOptions::from_json,
    );
    let report = fitted.report;
    TableIterator::once((
        name,
        version,
        fitted.model.method().name().to_string(),
        fitted.model.k() as i32,
        report.rows_train as i64,
        report.rows_test as i64,
        report.rows_skipped as i64,
        report.scores.accuracy,
        report.scores.macro_f1,
    ))
}

/// A classifier's current version (or a clear error for another kind of model).
fn load_classifier(model: Option<&str>) -> catalog::Stored {
    let name = require(model, "model");
    let stored = catalog::load(name, None);
    if stored.model.classes().is_none() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "model \"{name}\" is a {} model, not a classifier",
                stored.model.method().name()
            ),
            Some("Fit a classifier with segment_classify_fit."),
        );
    }
    stored
}

fn classes_of(m: &SegmentModel) -> &Classes {
    m.classes().expect("checked by load_classifier")
}

/// The classes of a classifier in the order of its segment ids and of the elements of
/// `segment_classify_proba` (numeric order for an integer label, byte order otherwise).
#[pg_extern(stable, parallel_safe)]
fn segment_classify_classes(model: Option<&str>) -> Vec<String> {
    classes_of(&load_classifier(model).model).values.clone()
}

/// Held-out scores of a classifier, one row per class: precision, recall and F1 (NULL where
/// undefined: no row predicted, or none held out), and the held-out rows of the class.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_classify_report(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(class, String),
        name!(precision, Option<f64>),
        name!(recall, Option<f64>),
        name!(f1, Option<f64>),
        name!(support, i64),
    ),
> {
    let name = require(model, "model");
    let stored = load_classifier(Some(name));
    let metrics = catalog::metrics(name, stored.version);
    let scores = stored_class_scores(&metrics).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
            format!(
                "model \"{name}\" has no held-out scores (it was imported without its metrics)"
            ),
            Some("Refit it with segment_classify_fit to score it."),
        )
    });
    TableIterator::new(
        scores
            .into_iter()
            .map(|c| (c.class, c.precision, c.recall, c.f1, c.support)),
    )
}

/// A tree classifier's leaves, one row each: the class it predicts, the rule as a SQL boolean
/// expression over the source's own columns (exact on every row, NULLs included), the fitted rows
/// it holds (train and test: what `SELECT count(*) FROM source WHERE <rule>` counts), its
/// training rows, and the share of them in the predicted class. A forest has no leaves of its
/// own: describe it with `segment_rules(model)` (a surrogate tree and its fidelity).
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_classify_rules(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(leaf, i32),
        name!(class, String),
        name!(rule, String),
        name!(rows, i64),
        name!(training_rows, i64),
        name!(probability, f64),
    ),
> {
    let name = require(model, "model");
    let m = load_classifier(Some(name)).model;
    let Some(leaves) = classifier_rules(&m) else {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a random forest: it has no single set of leaves"),
            Some("Describe it with segment_rules(model), a surrogate tree whose fidelity says how well its rules follow the forest, and segment_classify_importance(model)."),
        );
    };
    TableIterator::new(leaves.into_iter().map(|l| {
        (
            l.leaf as i32,
            l.class,
            l.rule,
            l.rows as i64,
            l.training_rows as i64,
            l.probability,
        )
    }))
}

/// Each matrix column's share of the classifier's impurity decrease (scikit-learn's
/// feature_importances_; for a forest, the mean over its trees), largest first; one-hot columns
/// are named "feature=value".
#[pg_extern(stable, parallel_safe)]
fn segment_classify_importance(
    model: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    TableIterator::new(importance(&load_classifier(model).model))
}
