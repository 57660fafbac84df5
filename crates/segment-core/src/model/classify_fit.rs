//! Fits a classifier into known segments: the seeded stratified train/test split, a CART tree
//! or a random forest on the training rows, held-out scores per class, and the stored model whose
//! segments are the label's classes.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::budget::{self, Estimate, Shape};
use crate::model::document::{Method, MethodRule, SegmentModel};
use crate::model::holdout::{score, stratified_split, Scores};
use crate::model::supervised::{Fitted, Supervised};
use crate::parallel::{self, ROW_ITEM};
use crate::prep::builder::BuiltMatrix;
use crate::prep::matrix::FeatureMatrix;
use crate::prep::scaling::{ImputeMethod, Imputer};
use crate::tree::cart::TreeParams;
use crate::tree::classify::{Classes, ClassifierMethod, ClassifyOptions, MAX_CLASSES};
use crate::tree::forest::{self, ForestParams};

/// What a classifier fit reports beside the stored model.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassifyReport {
    pub rows_train: u64,
    pub rows_test: u64,
    pub rows_skipped: u64,
    /// Held-out scores, per class in the order of `Classes::values`.
    pub scores: Scores,
    /// A tree's leaves and depth; for a forest, the mean over its trees.
    pub leaves: f64,
    pub depth: f64,
    /// Features tried per split (every column for a tree).
    pub max_features: usize,
}

/// Refuses a label that cannot train a classifier: one class only, or a class too rare to have
/// a row on each side of the split. `counts` are the usable rows per class.
pub fn check_classes(classes: &Classes, counts: &[u64]) -> CoreResult<()> {
    let label = &classes.label;
    if classes.values.len() < 2 {
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            format!(
                "label column \"{label}\" has one value ({}) in the usable rows; a classifier needs at least two",
                classes.values.join(", ")
            ),
        )
        .with_hint("Classify into segments the rows actually differ in; check the view's filter."));
    }
    if let Some(c) = counts.iter().position(|&n| n < 2) {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "class \"{}\" of label column \"{label}\" has {} usable row; every class needs at least 2 (one to train on, one to hold out)",
                classes.values[c], counts[c]
            ),
        )
        .with_hint("Filter the rare class out with a view, or merge it into another class."));
    }
    Ok(())
}

/// Fits the classifier on an (unscaled, imputed) matrix and its classes `y` (indexes into
/// `classes.values`), scores it on the held-out rows, and builds the stored model: the segments
/// are the classes, profiled over every row by its true class.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    matrix: FeatureMatrix,
    y: Vec<u32>,
    classes: Classes,
    imputer: Imputer,
    rows_skipped: u64,
    features: Vec<String>,
    categories: Vec<Option<Vec<String>>>,
    options: &ClassifyOptions,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<(SegmentModel, ClassifyReport)> {
    let k = classes.values.len();
    let mut counts = vec![0u64; k];
    for &c in &y {
        counts[c as usize] += 1;
    }
    check_classes(&classes, &counts)?;
    let (train, test) = stratified_split(&y, k, options.test_fraction, options.seed);
    let x_train = matrix.select_rows(&train);
    let y_train: Vec<u32> = train.iter().map(|&i| y[i]).collect();
    let d = matrix.n_cols();
    let (rule, leaves, depth, max_features) = match options.method {
        ClassifierMethod::Tree => {
            let tree = crate::tree::fit(
                &x_train,
                &y_train,
                k,
                &vec![1.0; y_train.len()],
                TreeParams {
                    max_depth: options.max_depth as usize,
                    min_samples_leaf: options.min_samples_leaf as usize,
                    criterion: options.criterion,
                    max_features: None,
                    seed: options.seed,
                    exact: options.exact,
                },
                check,
            );
            let mut leaf_rows = vec![0u64; tree.leaves().len()];
            for row in matrix.rows() {
                leaf_rows[tree.leaf_of(row) as usize] += 1;
            }
            let (leaves, depth) = (leaf_rows.len() as f64, tree.depth() as f64);
            let rule = MethodRule::DecisionTree {
                classes: classes.clone(),
                tree,
                leaf_rows,
            };
            (rule, leaves, depth, d)
        }
        ClassifierMethod::Forest => {
            let max_features = options.max_features.of(d);
            let forest = forest::fit(
                &x_train,
                &y_train,
                k,
                &ForestParams {
                    n_trees: options.n_trees as usize,
                    max_depth: options.max_depth as usize,
                    min_samples_leaf: options.min_samples_leaf as usize,
                    max_features,
                    criterion: options.criterion,
                    seed: options.seed,
                    exact: options.exact,
                },
                forest::MAX_NODES,
                threads,
                check,
            )?;
            let n = forest.trees.len() as f64;
            let leaves = forest.trees.iter().map(|t| t.leaves() as f64).sum::<f64>() / n;
            let depth = forest.trees.iter().map(|t| t.depth() as f64).sum::<f64>() / n;
            let rule = MethodRule::RandomForest {
                classes: classes.clone(),
                forest,
            };
            (rule, leaves, depth, max_features)
        }
    };
    drop(x_train);
    check();

    // The stored model: segments are classes, profiled (and centred) by true class over every
    // row.
    let model = SegmentModel::unscaled(features, categories, imputer, &matrix, &y, k, rule);

    // Held-out scores through the stored model's own rule: on threads, in small items of rows
    // with an interrupt check between them (a row goes down every tree of a forest).
    let assigner = model.assigner();
    let truth: Vec<u32> = test.iter().map(|&i| y[i]).collect();
    let mut predicted = vec![0u32; test.len()];
    let mut items: Vec<_> = test
        .chunks(ROW_ITEM)
        .zip(predicted.chunks_mut(ROW_ITEM))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(rows, out)| {
        let mut scratch = vec![0.0; k];
        for (&i, p) in rows.iter().zip(out.iter_mut()) {
            *p = assigner.label_scaled(matrix.row(i), &mut scratch);
        }
    });
    let report = ClassifyReport {
        rows_train: train.len() as u64,
        rows_test: test.len() as u64,
        rows_skipped,
        scores: score(&truth, &predicted, k),
        leaves,
        depth,
        max_features,
    };
    Ok((model, report))
}

/// The metrics stored with a classifier's version: the label and its classes, the rows, the
/// held-out scores (per class in the order of the classes, and the confusion matrix), and the
/// tree's or forest's shape.
pub fn metrics(classes: &Classes, report: &ClassifyReport) -> serde_json::Value {
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
    serde_json::json!({
        "label": classes.label,
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
    })
}

/// One class's held-out scores as `metrics` stored them (`segment_classify_report`'s row).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredClassScore {
    pub class: String,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    pub support: i64,
}

/// The per-class scores of stored metrics, in class order; None when the metrics have none (a
/// model imported without them). A field missing from a class reads as NULL (a score), "" (the
/// class) or 0 (the support).
pub fn stored_class_scores(metrics: &serde_json::Value) -> Option<Vec<StoredClassScore>> {
    let classes = metrics.get("per_class")?.as_array()?;
    Some(
        classes
            .iter()
            .map(|c| StoredClassScore {
                class: c["class"].as_str().unwrap_or_default().to_string(),
                precision: c["precision"].as_f64(),
                recall: c["recall"].as_f64(),
                f1: c["f1"].as_f64(),
                support: c["support"].as_i64().unwrap_or(0),
            })
            .collect(),
    )
}

impl Supervised for ClassifyOptions {
    type Labels = (Classes, Vec<u32>);
    type Report = ClassifyReport;

    fn method(&self) -> Method {
        match self.method {
            ClassifierMethod::Tree => Method::DecisionTree,
            ClassifierMethod::Forest => Method::RandomForest,
        }
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

    /// A forest's trees grow on threads; either scores its held-out rows on them.
    fn threaded(&self) -> bool {
        true
    }

    fn max_values(&self) -> usize {
        self.max_classes as usize
    }

    /// A limit, not a row's fault (InvalidData would be counted per row by the scan).
    fn past_max_values(&self, label: &str) -> CoreResult<u32> {
        Err(CoreError::new(
            ErrorKind::ResourceLimit,
            format!(
                "label column \"{label}\" has more than {} distinct values",
                self.max_classes
            ),
        )
        .with_hint(format!(
            "Group rare segments in a view, or raise the max_classes option (at most {MAX_CLASSES})."
        )))
    }

    fn estimate(&self, shape: &Shape, values: usize, threads: usize) -> Estimate {
        budget::classify(shape, values, self, threads)
    }

    /// The classes in their documented order (`Classes::ordered`); a label the classifier
    /// cannot learn is refused by the fit, which counts the rows of each class.
    fn code(
        &self,
        label: &str,
        values: &[String],
        codes: &[u32],
    ) -> CoreResult<(Classes, Vec<u32>)> {
        Ok(Classes::ordered(label, values, codes))
    }

    fn fit(
        &self,
        built: BuiltMatrix,
        (classes, y): (Classes, Vec<u32>),
        features: Vec<String>,
        categories: Vec<Option<Vec<String>>>,
        threads: usize,
        check: &mut dyn FnMut(),
    ) -> CoreResult<Fitted<ClassifyReport>> {
        let (model, report) = fit(
            built.matrix,
            y,
            classes.clone(),
            built.imputer,
            built.rows_skipped,
            features,
            categories,
            self,
            threads,
            check,
        )?;
        Ok(Fitted {
            metrics: metrics(&classes, &report),
            rows_used: report.rows_train + report.rows_test,
            rows_skipped: report.rows_skipped,
            model,
            report,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::classify::MaxFeatures;

    fn classes(values: &[&str]) -> Classes {
        Classes {
            label: "persona".into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    /// Three classes by x0 thresholds 10 and 20, x1 noise; 300 rows.
    fn three_bands() -> (FeatureMatrix, Vec<u32>) {
        let mut data = Vec::new();
        let mut y = Vec::new();
        for i in 0..300u32 {
            let x0 = (i % 30) as f64;
            data.extend([x0, ((i * 7919) % 13) as f64]);
            y.push(if x0 < 10.0 {
                0
            } else if x0 < 20.0 {
                1
            } else {
                2
            });
        }
        (FeatureMatrix::from_rows(data, 2), y)
    }

    /// `fit` on `three_bands` with classes a, b, c.
    fn fit_bands(o: &ClassifyOptions, threads: usize) -> (SegmentModel, ClassifyReport) {
        let (x, y) = three_bands();
        fit(
            x,
            y,
            classes(&["a", "b", "c"]),
            Imputer::Skip,
            0,
            vec!["x0".into(), "x1".into()],
            vec![],
            o,
            threads,
            &mut || {},
        )
        .unwrap()
    }

    #[test]
    fn a_tree_learns_bands_exactly_and_stores_its_classes() {
        let o = ClassifyOptions::from_json(r#"{"min_samples_leaf": 5}"#).unwrap();
        let (model, report) = fit_bands(&o, 1);
        assert_eq!(report.scores.accuracy, 1.0);
        assert_eq!(report.scores.macro_f1, 1.0);
        assert_eq!((report.rows_train, report.rows_test), (240, 60));
        assert_eq!(report.leaves, 3.0);
        let back = SegmentModel::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        let a = back.assigner();
        let mut s = vec![0.0; 3];
        assert_eq!(a.label_raw(&mut [15.0, 3.0], &mut s).unwrap(), Some(1));
        let mut p = vec![0.0; 3];
        assert!(a.class_proba(&mut [25.0, 3.0], &mut p).unwrap());
        assert_eq!(p, vec![0.0, 0.0, 1.0]);
        assert_eq!(back.profile.sizes, vec![100, 100, 100]);
        assert_eq!(back.meaning().label.as_deref(), Some("persona"));
        assert_eq!(back.meaning().method, "decision_tree");
    }

    #[test]
    fn a_forest_scores_and_round_trips() {
        let o = ClassifyOptions::from_json(
            r#"{"method": "forest", "n_trees": 20, "max_features": "all"}"#,
        )
        .unwrap();
        assert_eq!(o.max_features, MaxFeatures::All);
        let (model, report) = fit_bands(&o, 2);
        assert!(report.scores.accuracy > 0.95, "{:?}", report.scores);
        assert_eq!(report.max_features, 2);
        let back = SegmentModel::from_json(&model.to_json()).unwrap();
        assert_eq!(back, model);
        let mut p = vec![0.0; 3];
        assert!(back
            .assigner()
            .class_proba(&mut [5.0, 1.0], &mut p)
            .unwrap());
        assert!(p[0] > 0.9 && (p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    /// What `metrics` stores per class reads back as `segment_classify_report` shows it: three
    /// bands, each held out 20 rows of its 100 and each predicted right.
    #[test]
    fn stored_scores_read_back() {
        let o = ClassifyOptions::from_json(r#"{"min_samples_leaf": 5}"#).unwrap();
        let (_, report) = fit_bands(&o, 1);
        let m = metrics(&classes(&["a", "b", "c"]), &report);
        let back = stored_class_scores(&m).unwrap();
        let want = |class: &str| StoredClassScore {
            class: class.into(),
            precision: Some(1.0),
            recall: Some(1.0),
            f1: Some(1.0),
            support: 20,
        };
        assert_eq!(back, vec![want("a"), want("b"), want("c")]);
        assert_eq!(
            m["confusion"],
            serde_json::json!([[20, 0, 0], [0, 20, 0], [0, 0, 20]])
        );
        // Imported without metrics, or with a class missing its scores.
        assert_eq!(stored_class_scores(&serde_json::json!({})), None);
        let partial = serde_json::json!({"per_class": [{"class": "a"}]});
        assert_eq!(
            stored_class_scores(&partial).unwrap(),
            vec![StoredClassScore {
                class: "a".into(),
                precision: None,
                recall: None,
                f1: None,
                support: 0,
            }]
        );
    }

    #[test]
    fn too_many_classes_is_a_limit() {
        let o = ClassifyOptions::from_json(r#"{"max_classes": 4}"#).unwrap();
        assert_eq!(o.max_values(), 4);
        let e = o.past_max_values("persona").unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
        assert_eq!(
            e.message,
            "label column \"persona\" has more than 4 distinct values"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("Group rare segments in a view, or raise the max_classes option (at most 1000).")
        );
    }

    #[test]
    fn rare_and_single_classes_are_refused() {
        let e = check_classes(&classes(&["a", "b"]), &[10, 1]).unwrap_err();
        assert_eq!(
            e.message,
            "class \"b\" of label column \"persona\" has 1 usable row; every class needs at least 2 (one to train on, one to hold out)"
        );
        let e = check_classes(&classes(&["a"]), &[10]).unwrap_err();
        assert!(e.message.contains("has one value (a)"), "{}", e.message);
    }
}
