//! Churn models in SQL: `segment_churn_fit`, `segment_churn_rules`, `segment_churn_importance`,
//! `segment_churn_tree` (the per-row `segment_churn_predict` / `segment_churn_assign` live in
//! assign.rs with the other row functions).

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, require, OrRaise};
use crate::gucs;
use crate::progress::interrupt;
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::budget;
use segment_core::model::churn_fit;
use segment_core::model::document::{Meaning, Method};
use segment_core::prep::builder::MatrixBuilder;
use segment_core::sql::rules;
use segment_core::tree::churn::{self, ChurnOptions};

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
    let rel = require(source, "source");
    let features = require(features, "features");
    let label = require(label, "label");
    let options = require(options, "options");
    let options = ChurnOptions::from_json(&options.0.to_string()).or_raise();
    let src = source::validate(&rel, features);
    source::check_label(
        &rel,
        &src.features,
        &label,
        "Pass the column that says whether the customer churned.",
        "A label is boolean, an integer 0/1, or text with two values.",
    );
    let name = name.unwrap_or_else(|| format!("{}_churn", src.relname));
    catalog::check_fit_name(&name);
    let meaning = Meaning {
        features: src.features.clone(),
        method: Method::ChurnTree.name().to_string(),
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
    // At most 3 values are kept: a third one is already an error (choose_positive says so).
    let labels = source::read_labelled(
        &src,
        &categories,
        &label,
        &mut builder,
        3,
        || Ok(2),
        "Filter those rows out with a view: a churn model learns from known outcomes.",
    );
    // The matrix and labels are held; the split, the training copy and the tree are not yet.
    let shape = budget::Shape::of(labels.codes.len(), &src.features, &categories);
    budget::churn(&shape, &options)
        .check(gucs::max_memory_bytes())
        .or_raise();
    let positive = churn::choose_positive(
        &label,
        &sorted(&mut labels.values.clone()),
        options.positive.as_deref(),
    )
    .or_raise();
    let positive_code = labels
        .values
        .iter()
        .position(|v| *v == positive)
        .expect("positive is one of the values") as u32;
    let y: Vec<bool> = labels.codes.iter().map(|&c| c == positive_code).collect();
    let built = builder.finish().or_raise();
    crate::warnings::near_constant("segment_churn_fit", "", &built.near_constant);
    let (model, report) = churn_fit::fit(
        built.matrix,
        y,
        built.imputer,
        built.rows_skipped,
        src.features.clone(),
        categories,
        label.clone(),
        positive.clone(),
        &options,
        &mut interrupt,
    )
    .or_raise();
    let metrics = serde_json::json!({
        "label": label,
        "positive": positive,
        "base_rate": model.churn().map(|c| c.base_rate),
        "leaves": report.leaves,
        "depth": report.depth,
        "rows_train": report.rows_train,
        "rows_test": report.rows_test,
        "accuracy": report.accuracy,
        "precision": report.precision,
        "recall": report.recall,
        "f1": report.f1,
        "roc_auc": report.roc_auc,
        "confusion": {
            "true_positives": report.true_positives,
            "false_positives": report.false_positives,
            "true_negatives": report.true_negatives,
            "false_negatives": report.false_negatives,
        },
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

/// Byte order, so that "the first value" reads the same everywhere.
fn sorted(values: &mut [String]) -> Vec<String> {
    values.sort();
    values.to_vec()
}

fn load_churn(model: Option<&str>) -> segment_core::model::document::SegmentModel {
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
    let m = load_churn(model);
    let churn = m.churn().expect("checked");
    let rules = rules::rules_sql(&m);
    let rows: Vec<_> = churn
        .tree
        .leaves()
        .iter()
        .zip(rules)
        .enumerate()
        .map(|(s, (leaf, rule))| {
            let rate = leaf.churn_rate();
            (
                s as i32,
                rule,
                m.profile.sizes[s] as i64,
                leaf.rows as i64,
                rate,
                if churn.base_rate > 0.0 {
                    rate / churn.base_rate
                } else {
                    0.0
                },
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// Each matrix column's share of the tree's total impurity decrease (scikit-learn's
/// feature_importances_), largest first; one-hot columns are named "feature=value".
#[pg_extern(stable, parallel_safe)]
fn segment_churn_importance(
    model: Option<&str>,
) -> TableIterator<'static, (name!(feature, String), name!(importance, f64))> {
    let m = load_churn(model);
    let columns = m.columns().names;
    let imp = m.churn().expect("checked").tree.importance(columns.len());
    let mut rows: Vec<(String, f64)> = columns.into_iter().zip(imp).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    TableIterator::new(rows)
}

/// The tree as indented text, one node per line, readable in psql: each split with its
/// condition, each leaf with its segment, training rows and churn rate.
#[pg_extern(stable, parallel_safe)]
fn segment_churn_tree(model: Option<&str>) -> String {
    let m = load_churn(model);
    let churn = m.churn().expect("checked");
    let columns = m.columns().names;
    let mut out = String::new();
    fn walk(
        t: &segment_core::tree::cart::Tree,
        columns: &[String],
        at: usize,
        indent: usize,
        head: &str,
        out: &mut String,
    ) {
        let node = &t.nodes[at];
        let pad = "    ".repeat(indent);
        let rate = node.churn_rate();
        match (node.feature, node.leaf) {
            (Some(f), _) => {
                out.push_str(&format!(
                    "{pad}{head}{} rows, churn {:.1}%\n",
                    node.rows,
                    100.0 * rate
                ));
                let c = &columns[f];
                walk(
                    t,
                    columns,
                    node.left,
                    indent + 1,
                    &format!("{c} <= {}: ", node.threshold),
                    out,
                );
                walk(
                    t,
                    columns,
                    node.right,
                    indent + 1,
                    &format!("{c} > {}: ", node.threshold),
                    out,
                );
            }
            (None, leaf) => out.push_str(&format!(
                "{pad}{head}segment {} · {} rows, churn {:.1}%\n",
                leaf.unwrap_or(0),
                node.rows,
                100.0 * rate
            )),
        }
    }
    walk(&churn.tree, &columns, 0, 0, "all: ", &mut out);
    out
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
    let depth = require(max_depth, "max_depth");
    if !(1..=10).contains(&depth) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("max_depth must be between 1 and 10, not {depth}"),
            Some("Shallow trees give short rules; 3 is the default."),
        );
    }
    let stored = catalog::load(name, None);
    if stored.model.churn().is_some() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a churn model: its leaves have rules already"),
            Some("Use segment_churn_rules."),
        );
    }
    let src = super::inspect::source_for(&stored, source);
    let m = &stored.model;
    let assigner = m.assigner();
    let k = m.k();
    let columns = m.columns();
    let mut builder = MatrixBuilder::new(
        columns.names.clone(),
        segment_core::prep::scaling::ImputeMethod::Skip,
        gucs::max_memory_bytes(),
    );
    let mut labels: Vec<u32> = Vec::new();
    let mut raw = vec![0.0; columns.width()];
    let mut scratch = vec![0.0; k];
    let mut noise = false;
    source::for_each_row(&src, &m.categories, |row| {
        if row.iter().any(|v| v.is_none()) {
            return Ok(());
        }
        segment_core::prep::matrix::fill_nan(&mut raw, row, assigner.columns())?;
        let Some(label) = assigner.label_raw(&mut raw, &mut scratch)? else {
            return Ok(());
        };
        builder.push(row)?;
        let class = if label == segment_core::cluster::dbscan::NOISE {
            noise = true;
            k as u32
        } else {
            label
        };
        labels.push(class);
        Ok(())
    })
    .or_raise();
    if labels.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "the relation has no rows without NULL features to describe",
            None,
        );
    }
    let classes = if noise { k + 1 } else { k };
    let shape = budget::Shape::of(labels.len(), &m.features, &m.categories);
    budget::rules(&shape, classes, depth as usize)
        .check(gucs::max_memory_bytes())
        .or_raise();
    let built = builder.finish().or_raise();
    let (rules, fidelity) = rules::surrogate_rules(
        &built.matrix,
        &labels,
        classes,
        depth as usize,
        &m.features,
        &m.categories,
        &rules::Nulls::of(m),
        &mut interrupt,
    );
    let labels = stored.labels();
    TableIterator::new(rules.into_iter().map(move |r| {
        let (segment, label) = match labels.get(r.segment as usize) {
            Some(label) => (r.segment as i32, label.clone()),
            None => (-1, "noise".to_string()),
        };
        (
            segment,
            label,
            r.rule,
            r.rows as i64,
            r.captured,
            r.precision,
            fidelity,
        )
    }))
}
