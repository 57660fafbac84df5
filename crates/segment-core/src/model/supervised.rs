//! What the supervised fits (a churn tree, a classifier) share once the labelled rows are read:
//! the memory check, the labels coded as the fit learns them, the matrix finished, the fit, and
//! the metrics stored with the version (`train`, over the `Supervised` options of each fit); and
//! a stored supervised model's feature importance as `segment_churn_importance` and
//! `segment_classify_importance` show it (`importance`).

use crate::error::CoreResult;
use crate::model::budget::{Estimate, Shape};
use crate::model::document::{Method, SegmentModel};
use crate::prep::builder::{BuiltMatrix, MatrixBuilder};
use crate::prep::scaling::{ImputeMethod, NearConstant};

/// A supervised fit's result: the model to store, its metrics, and the fit's own report.
#[derive(Debug, Clone)]
pub struct Fitted<R> {
    pub model: SegmentModel,
    /// The metrics document stored with the version (held-out scores, the label...).
    pub metrics: serde_json::Value,
    /// Rows trained on or held out, and rows left out for a NULL feature.
    pub rows_used: u64,
    pub rows_skipped: u64,
    pub report: R,
}

/// The options of a supervised fit: how its rows are read, and how its labels are coded and
/// learnt. `ChurnOptions` and `ClassifyOptions` are the two.
pub trait Supervised {
    /// The labels as the fit learns them.
    type Labels;
    /// What the fit reports beside the model.
    type Report;

    /// The method the stored model has.
    fn method(&self) -> Method;
    fn impute(&self) -> ImputeMethod;
    fn max_categories(&self) -> u32;
    /// Text features whose values read as numbers, one-hot encoded on purpose.
    fn categorical(&self) -> &[String];
    /// The fit may change what an existing model name means.
    fn replace(&self) -> bool;
    /// Whether the fit runs on threads (else it is given one, and the thread settings are not
    /// read: a churn fit never refused a setting above its ceiling).
    fn threaded(&self) -> bool;
    /// Distinct label values kept while reading...
    fn max_values(&self) -> usize;
    /// ...and what a row with one more value takes: a code, or an error.
    fn past_max_values(&self, label: &str) -> CoreResult<u32>;
    /// The fit's memory once `shape` rows with `values` distinct labels are read.
    fn estimate(&self, shape: &Shape, values: usize, threads: usize) -> Estimate;
    /// Codes the label column read as `values` (order of appearance) and each row's index into
    /// them, or refuses a label this fit cannot learn.
    fn code(&self, label: &str, values: &[String], codes: &[u32]) -> CoreResult<Self::Labels>;
    /// Fits, scores and builds the stored model and its metrics.
    fn fit(
        &self,
        built: BuiltMatrix,
        labels: Self::Labels,
        features: Vec<String>,
        categories: Vec<Option<Vec<String>>>,
        threads: usize,
        check: &mut dyn FnMut(),
    ) -> CoreResult<Fitted<Self::Report>>;
}

/// A supervised fit's source as read: its features and their categories, the label column, the
/// rows kept (the builder, not yet finished) and their labels: the distinct values in order of
/// appearance and each row's index into them.
pub struct Labelled {
    pub features: Vec<String>,
    pub categories: Vec<Option<Vec<String>>>,
    pub label: String,
    pub builder: MatrixBuilder,
    pub values: Vec<String>,
    pub codes: Vec<u32>,
}

/// A supervised fit from its rows as read: refuses it when the fit would need more than
/// `max_bytes` (the matrix and labels are held, the split and the training copy are not yet),
/// codes the labels (refusing a label the fit cannot learn), finishes the matrix and shows
/// `near_constant` its (nearly) constant columns before the fit runs, then fits.
pub fn train<O: Supervised>(
    options: &O,
    read: Labelled,
    max_bytes: usize,
    threads: usize,
    near_constant: &mut dyn FnMut(&[NearConstant]),
    check: &mut dyn FnMut(),
) -> CoreResult<Fitted<O::Report>> {
    let shape = Shape::of(read.codes.len(), &read.features, &read.categories);
    options
        .estimate(&shape, read.values.len(), threads)
        .check(max_bytes)?;
    let labels = options.code(&read.label, &read.values, &read.codes)?;
    drop(read.codes);
    let built = read.builder.finish()?;
    near_constant(&built.near_constant);
    options.fit(
        built,
        labels,
        read.features,
        read.categories,
        threads,
        check,
    )
}

/// Matrix columns named with their importance, largest first (ties by name).
pub fn ranked(columns: Vec<String>, importance: Vec<f64>) -> Vec<(String, f64)> {
    let mut rows: Vec<(String, f64)> = columns.into_iter().zip(importance).collect();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

/// A churn model's or a classifier's feature importance per matrix column (scikit-learn's
/// feature_importances_: a forest's is the mean over its trees), one-hot columns named
/// "feature=value", largest first; empty for a clustering model.
pub fn importance(model: &SegmentModel) -> Vec<(String, f64)> {
    let columns = model.columns();
    let importance = match model.churn() {
        Some(churn) => churn.tree.importance(columns.width()),
        None => model.class_importance().unwrap_or_default(),
    };
    ranked(columns.names, importance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::tree::churn::ChurnOptions;
    use crate::tree::classify::ClassifyOptions;

    #[test]
    fn importance_ranked_largest_first_then_by_name() {
        let names = ["tenure", "age", "plan=basic"].map(String::from).to_vec();
        assert_eq!(
            ranked(names, vec![0.25, 0.25, 0.5]),
            vec![
                ("plan=basic".to_string(), 0.5),
                ("age".to_string(), 0.25),
                ("tenure".to_string(), 0.25),
            ]
        );
    }

    /// 20 rows, a constant column c, and the label "no" for x in 0..=9, "yes" for x in 20..=29
    /// (read in that order). Whichever rows are held out, the tree's split lies halfway between
    /// a training x at most 9 and one at least 20, so strictly between 9 and 20: every held-out
    /// row is predicted right.
    fn rows(impute: ImputeMethod, max_bytes: usize) -> Labelled {
        let names = vec!["x".to_string(), "c".to_string()];
        let mut builder = MatrixBuilder::new(names.clone(), impute, max_bytes);
        for i in 0..20 {
            let x = if i < 10 { i } else { i + 10 };
            builder.push(&[Some(f64::from(x)), Some(1.0)]).unwrap();
        }
        Labelled {
            features: names,
            categories: vec![],
            label: "left".into(),
            builder,
            values: vec!["no".into(), "yes".into()],
            codes: (0..20).map(|i| u32::from(i >= 10)).collect(),
        }
    }

    #[test]
    fn a_churn_fit_from_its_rows() {
        let options = ChurnOptions::from_json(r#"{"min_samples_leaf": 1}"#).unwrap();
        let mut warned = Vec::new();
        let fitted = train(
            &options,
            rows(ImputeMethod::Skip, usize::MAX),
            usize::MAX,
            1,
            &mut |c| warned.extend(c.iter().map(|c| c.column.clone())),
            &mut || {},
        )
        .unwrap();
        assert_eq!(warned, vec!["c".to_string()]);
        // 20% held out of each class: 2 + 2, all predicted right.
        assert_eq!((fitted.rows_used, fitted.rows_skipped), (20, 0));
        let r = &fitted.report;
        assert_eq!((r.rows_train, r.rows_test, r.leaves), (16, 4, 2));
        assert_eq!((r.true_positives, r.true_negatives), (2, 2));
        let churn = fitted.model.churn().unwrap();
        assert_eq!(churn.positive, "yes");
        let t = churn.tree.nodes[0].threshold;
        assert!(t > 9.0 && t < 20.0, "{t}");
        let m = &fitted.metrics;
        assert_eq!(m["label"], "left");
        assert_eq!(m["positive"], "yes");
        assert_eq!(m["base_rate"], 0.5);
        assert_eq!(m["accuracy"], 1.0);
        assert_eq!(m["confusion"]["false_negatives"], 0);
        assert_eq!(
            importance(&fitted.model),
            vec![("x".to_string(), 1.0), ("c".to_string(), 0.0)]
        );
    }

    #[test]
    fn a_classifier_fit_from_its_rows_orders_its_classes() {
        let options = ClassifyOptions::from_json(r#"{"min_samples_leaf": 1}"#).unwrap();
        let mut read = rows(ImputeMethod::Skip, usize::MAX);
        // Integers: class "9" (x up to 9) comes before class "10".
        read.values = vec!["9".into(), "10".into()];
        let fitted = train(&options, read, usize::MAX, 1, &mut |_| {}, &mut || {}).unwrap();
        let classes = fitted.model.classes().unwrap();
        assert_eq!(classes.values, vec!["9".to_string(), "10".to_string()]);
        let mut scratch = vec![0.0; 2];
        let assigner = fitted.model.assigner();
        assert_eq!(
            assigner.label_raw(&mut [3.0, 1.0], &mut scratch).unwrap(),
            Some(0)
        );
        assert_eq!(fitted.report.scores.accuracy, 1.0);
        let m = &fitted.metrics;
        assert_eq!(m["classes"], serde_json::json!(["9", "10"]));
        assert_eq!(m["per_class"][1]["class"], "10");
        assert_eq!(m["per_class"][1]["support"], 2);
    }

    /// The memory check comes first, before a label the fit cannot learn is refused; the label
    /// is refused before the matrix is finished.
    #[test]
    fn refusals_come_in_order() {
        let options = ChurnOptions::default();
        let mut read = rows(ImputeMethod::Skip, usize::MAX);
        read.values = vec!["stayed".into(), "moved".into()];
        let e = train(&options, read, 100, 1, &mut |_| {}, &mut || {})
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
        let mut read = rows(ImputeMethod::Skip, usize::MAX);
        read.values = vec!["stayed".into(), "moved".into()];
        let mut warned = false;
        let e = train(
            &options,
            read,
            usize::MAX,
            1,
            &mut |_| warned = true,
            &mut || {},
        )
        .err()
        .unwrap();
        assert!(
            e.message.ends_with("say which one counts as churn"),
            "{}",
            e.message
        );
        assert!(!warned);
    }
}
