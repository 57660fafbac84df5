//! Fits a churn model: the seeded stratified train/test split, the classification tree on the
//! training rows, held-out scores, and the stored model whose leaves are churn-risk segments.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::budget::{self, Estimate, Shape};
use crate::model::document::{Method, MethodRule, SegmentModel};
use crate::model::holdout::stratified_split;
use crate::model::supervised::{Fitted, Supervised};
use crate::prep::builder::BuiltMatrix;
use crate::prep::matrix::FeatureMatrix;
use crate::prep::scaling::{ImputeMethod, Imputer};
use crate::tree::cart::{self, TreeParams};
use crate::tree::churn::{code_positive, Churn, ChurnOptions, ClassWeight};

/// Held-out scores of a churn tree.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnReport {
    pub leaves: usize,
    pub depth: usize,
    pub rows_train: u64,
    pub rows_test: u64,
    pub rows_skipped: u64,
    pub accuracy: f64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub roc_auc: Option<f64>,
    pub true_positives: u64,
    pub false_positives: u64,
    pub true_negatives: u64,
    pub false_negatives: u64,
}

/// Fits the churn tree on a (unscaled, imputed) matrix and its labels, scores it on the held-out
/// rows, and builds the stored model: leaves are segments, profiled over every row.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    matrix: FeatureMatrix,
    y: Vec<bool>,
    imputer: Imputer,
    rows_skipped: u64,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    label: String,
    positive: String,
    options: &ChurnOptions,
    check: &mut dyn FnMut(),
) -> CoreResult<(SegmentModel, ChurnReport)> {
    let n_pos = y.iter().filter(|&&v| v).count();
    if n_pos < 2 || y.len() - n_pos < 2 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "label column \"{label}\" needs at least 2 rows of each class among the usable rows; it has {n_pos} churned and {} not",
                y.len() - n_pos
            ),
        ));
    }
    let codes: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let (train, test) = stratified_split(&codes, 2, options.test_fraction, options.seed);
    let x_train = matrix.select_rows(&train);
    let y_train: Vec<bool> = train.iter().map(|&i| y[i]).collect();
    let train_pos = y_train.iter().filter(|&&v| v).count() as f64;
    let n_train = y_train.len() as f64;
    let (w_pos, w_neg) = match options.class_weight {
        ClassWeight::None => (1.0, 1.0),
        ClassWeight::Balanced => (
            n_train / (2.0 * train_pos),
            n_train / (2.0 * (n_train - train_pos)),
        ),
    };
    let w: Vec<f64> = y_train
        .iter()
        .map(|&v| if v { w_pos } else { w_neg })
        .collect();
    let classes: Vec<u32> = y_train.iter().map(|&v| v as u32).collect();
    let tree = crate::tree::fit(
        &x_train,
        &classes,
        2,
        &w,
        TreeParams {
            max_depth: options.max_depth as usize,
            min_samples_leaf: options.min_samples_leaf as usize,
            criterion: options.criterion,
            max_features: None,
            seed: 0,
            exact: options.exact,
        },
        check,
    );
    drop(x_train);
    let base_rate = train_pos / n_train;
    let threshold = match options.class_weight {
        ClassWeight::None => 0.5,
        ClassWeight::Balanced => base_rate,
    };
    let churn = Churn {
        label,
        positive,
        tree,
        base_rate,
        threshold,
    };

    // Held-out scores.
    let (mut tp, mut fp, mut tn, mut fneg) = (0u64, 0u64, 0u64, 0u64);
    let mut scores = Vec::with_capacity(test.len());
    let mut truth = Vec::with_capacity(test.len());
    for &i in &test {
        let p = churn.tree.leaf_node(matrix.row(i)).churn_rate();
        let predicted = p >= threshold;
        match (predicted, y[i]) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fneg += 1,
        }
        scores.push(p);
        truth.push(y[i]);
    }
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fneg);
    let f1 = match (precision, recall) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    let report = ChurnReport {
        leaves: churn.tree.leaves().len(),
        depth: churn.tree.depth(),
        rows_train: train.len() as u64,
        rows_test: test.len() as u64,
        rows_skipped,
        accuracy: (tp + tn) as f64 / test.len().max(1) as f64,
        precision,
        recall,
        f1,
        roc_auc: cart::roc_auc(&scores, &truth),
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fneg,
    };

    // The stored model: leaves are segments, profiled (and centred) over every row.
    let k = report.leaves;
    let labels: Vec<u32> = matrix.rows().map(|r| churn.tree.leaf_of(r)).collect();
    let model = SegmentModel::unscaled(
        features,
        categories,
        imputer,
        &matrix,
        &labels,
        k,
        MethodRule::ChurnTree { churn },
    );
    Ok((model, report))
}

/// The metrics stored with a churn model's version: the label and its churn value, the training
/// base rate, the tree's shape and its held-out scores.
pub fn metrics(
    report: &ChurnReport,
    label: &str,
    positive: &str,
    base_rate: Option<f64>,
) -> serde_json::Value {
    serde_json::json!({
        "label": label,
        "positive": positive,
        "base_rate": base_rate,
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
    })
}

/// A churn label as the tree learns it: the label column, the value that counts as churn, and
/// per row whether it churned.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnLabels {
    pub label: String,
    pub positive: String,
    pub y: Vec<bool>,
}

impl Supervised for ChurnOptions {
    type Labels = ChurnLabels;
    type Report = ChurnReport;

    fn method(&self) -> Method {
        Method::ChurnTree
    }

    fn impute(&self) -> ImputeMethod {
        self.impute
    }

    fn max_categories(&self) -> u32 {
        self.max_categories
    }

    fn categorical(&self) -> &[String] {
        &self.categorical
    }

    fn replace(&self) -> bool {
        self.replace
    }

    /// One tree, grown on one thread.
    fn threaded(&self) -> bool {
        false
    }

    /// Three: a third value is already an error, which names it (`choose_positive`).
    fn max_values(&self) -> usize {
        3
    }

    /// Any further value reads as the third: the error is the same.
    fn past_max_values(&self, _label: &str) -> CoreResult<u32> {
        Ok(2)
    }

    fn estimate(&self, shape: &Shape, _values: usize, _threads: usize) -> Estimate {
        budget::churn(shape, self)
    }

    fn code(&self, label: &str, values: &[String], codes: &[u32]) -> CoreResult<ChurnLabels> {
        let (positive, y) = code_positive(label, values, codes, self.positive.as_deref())?;
        Ok(ChurnLabels {
            label: label.to_string(),
            positive,
            y,
        })
    }

    fn fit(
        &self,
        built: BuiltMatrix,
        labels: ChurnLabels,
        features: Vec<String>,
        categories: Vec<Option<Vec<String>>>,
        _threads: usize,
        check: &mut dyn FnMut(),
    ) -> CoreResult<Fitted<ChurnReport>> {
        let (model, report) = fit(
            built.matrix,
            labels.y,
            built.imputer,
            built.rows_skipped,
            features,
            categories,
            labels.label.clone(),
            labels.positive.clone(),
            self,
            check,
        )?;
        let base_rate = model.churn().map(|c| c.base_rate);
        Ok(Fitted {
            metrics: metrics(&report, &labels.label, &labels.positive, base_rate),
            rows_used: report.rows_train + report.rows_test,
            rows_skipped: report.rows_skipped,
            model,
            report,
        })
    }
}
