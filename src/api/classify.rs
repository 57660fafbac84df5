//! Classifiers into known segments in SQL: `segment_classify_fit`, `segment_classify_report`,
//! `segment_classify_classes`, `segment_classify_rules`, `segment_classify_importance` (the
//! per-row `segment_classify` / `segment_classify_proba` live in assign.rs with the other row
//! functions).

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, require, OrRaise};
use crate::gucs;
use crate::progress::interrupt;
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::error::{CoreError, ErrorKind};
use segment_core::model::budget;
use segment_core::model::classify_fit;
use segment_core::model::document::{Meaning, Method, MethodRule, SegmentModel};
use segment_core::prep::builder::MatrixBuilder;
use segment_core::sql::rules::{tree_rules_sql, Nulls};
use segment_core::tree::classify::{Classes, ClassifierMethod, ClassifyOptions, MAX_CLASSES};

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
    let rel = require(source, "source");
    let features = require(features, "features");
    let label = require(label, "label");
    let options = require(options, "options");
    let options = ClassifyOptions::from_json(&options.0.to_string()).or_raise();
    let src = source::validate(&rel, features);
    source::check_label(
        &rel,
        &src.features,
        &label,
        "Pass the column that holds each row's known segment.",
        "A label is boolean, an integer, or text.",
    );
    let name = name.unwrap_or_else(|| format!("{}_{label}", src.relname));
    catalog::check_fit_name(&name);
    let method = match options.method {
        ClassifierMethod::Tree => Method::DecisionTree,
        ClassifierMethod::Forest => Method::RandomForest,
    };
    let meaning = Meaning {
        features: src.features.clone(),
        method: method.name().to_string(),
        group_by: None,
        label: Some(label.clone()),
    };
    catalog::check_meaning(&name, &meaning, options.replace, catalog::MadeBy::Fit);

    let categories =
        source::learn_categories(&src, options.max_categories, &options.categorical).or_raise();
    let columns = segment_core::prep::encoding::Columns::of(&src.features, &categories);
    let mut builder = MatrixBuilder::new(
        columns.names.clone(),
        options.impute,
        gucs::max_memory_bytes(),
    );
    let max_classes = options.max_classes as usize;
    let labels = source::read_labelled(
        &src,
        &categories,
        &label,
        &mut builder,
        max_classes,
        || {
            // A limit, not a row's fault (InvalidData would be counted per row by the scan).
            Err(CoreError::new(
                ErrorKind::ResourceLimit,
                format!("label column \"{label}\" has more than {max_classes} distinct values"),
            )
            .with_hint(format!(
                "Group rare segments in a view, or raise the max_classes option (at most {MAX_CLASSES})."
            )))
        },
        "Filter those rows out with a view: a classifier learns from labelled rows only; classify the others with segment_classify afterwards.",
    );
    // The matrix and labels are held; the split, the training copy and the trees are not yet.
    let shape = budget::Shape::of(labels.codes.len(), &src.features, &categories);
    budget::classify(&shape, labels.values.len(), &options, gucs::threads())
        .check(gucs::max_memory_bytes())
        .or_raise();
    // Classes in a documented order: numeric for integer labels, byte order otherwise; the
    // codes follow.
    let names = labels.values;
    let order = class_order(&names);
    let mut new_code = vec![0u32; names.len()];
    for (new, &old) in order.iter().enumerate() {
        new_code[old] = new as u32;
    }
    let y: Vec<u32> = labels.codes.iter().map(|&c| new_code[c as usize]).collect();
    let classes = Classes {
        label: label.clone(),
        values: order.iter().map(|&i| names[i].clone()).collect(),
    };
    let built = builder.finish().or_raise();
    crate::warnings::near_constant("segment_classify_fit", "", &built.near_constant);
    let (model, report) = classify_fit::fit(
        built.matrix,
        y,
        classes.clone(),
        built.imputer,
        built.rows_skipped,
        src.features.clone(),
        categories,
        &options,
        gucs::threads(),
        &mut interrupt,
    )
    .or_raise();
    let s = &report.scores;
    let per_class: Vec<serde_json::Value> = classes
        .values
        .iter()
        .zip(&s.per_class)
        .map(|(c, p)| {
            serde_json::json!({
                "class": c,
                "precision": p.precision,
                "recall": p.recall,
                "f1": p.f1,
                "support": p.support,
            })
        })
        .collect();
    let metrics = serde_json::json!({
        "label": label,
        "classes": classes.values,
        "rows_train": report.rows_train,
        "rows_test": report.rows_test,
        "accuracy": s.accuracy,
        "macro_f1": s.macro_f1,
        "per_class": per_class,
        "confusion": s.confusion,
        "leaves": report.leaves,
        "depth": report.depth,
        "max_features": report.max_features,
    });
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &src.sql_name,
        options: serde_json::to_string(&options).expect("options serialize"),
        model: model.to_json(),
        metrics: metrics.to_string(),
        rows_used: (report.rows_train + report.rows_test) as i64,
        rows_skipped: report.rows_skipped as i64,
        meaning,
        replace: options.replace,
        made_by: catalog::MadeBy::Fit,
    });
    TableIterator::once((
        name,
        version,
        method.name().to_string(),
        classes.values.len() as i32,
        report.rows_train as i64,
        report.rows_test as i64,
        report.rows_skipped as i64,
        s.accuracy,
        s.macro_f1,
    ))
}

/// Indexes of `names` in class order: numeric when every value is an integer, byte order of the
/// text otherwise.
fn class_order(names: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    let numbers: Option<Vec<i64>> = names.iter().map(|n| n.parse().ok()).collect();
    match numbers {
        Some(n) => order.sort_by_key(|&i| n[i]),
        None => order.sort_by(|&a, &b| names[a].as_bytes().cmp(names[b].as_bytes())),
    }
    order
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
    let rows: Vec<_> = metrics
        .get("per_class")
        .and_then(|p| p.as_array())
        .map(|classes| {
            classes
                .iter()
                .map(|c| {
                    (
                        c["class"].as_str().unwrap_or_default().to_string(),
                        c["precision"].as_f64(),
                        c["recall"].as_f64(),
                        c["f1"].as_f64(),
                        c["support"].as_i64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_NO_DATA_FOUND,
                format!(
                    "model \"{name}\" has no held-out scores (it was imported without its metrics)"
                ),
                Some("Refit it with segment_classify_fit to score it."),
            )
        });
    TableIterator::new(rows)
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
    let MethodRule::DecisionTree {
        classes,
        tree,
        leaf_rows,
    } = &m.rule
    else {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a random forest: it has no single set of leaves"),
            Some("Describe it with segment_rules(model), a surrogate tree whose fidelity says how well its rules follow the forest, and segment_classify_importance(model)."),
        );
    };
    let rules = tree_rules_sql(tree, &m.features, &m.categories, &Nulls::of(&m));
    let rows: Vec<_> = tree
        .leaves()
        .iter()
        .zip(rules)
        .enumerate()
        .map(|(l, (leaf, rule))| {
            let class = leaf.majority();
            (
                l as i32,
                classes.values[class as usize].clone(),
                rule,
                leaf_rows[l] as i64,
                leaf.rows as i64,
                leaf.counts[class as usize] as f64 / leaf.rows.max(1) as f64,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Each matrix column's share of the classifier's impurity decrease (scikit-learn's
/// feature_importances_; for a forest, the mean over its trees), largest first; one-hot columns
/// are named "feature=value".
#[pg_extern(stable, parallel_safe)]
fn segment_classify_importance(
    model: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    let m = load_classifier(model).model;
    let columns = m.columns().names;
    let imp = m.class_importance().unwrap_or_default();
    let mut rows: Vec<(String, f64)> = columns.into_iter().zip(imp).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    TableIterator::new(rows)
}
