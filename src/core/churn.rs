//! Churn models: a classification tree on a labelled history whose leaves are churn-risk
//! segments. Options, the seeded stratified train/test split, held-out scores, the stored model,
//! and the leaves' rules as SQL.

use super::encoding::Columns;
use super::error::{CoreError, CoreResult, ErrorKind};
use super::matrix::FeatureMatrix;
use super::model::{Method, SegmentModel, FORMAT_VERSION};
use super::options::{ImputeMethod, ScaleMethod};
use super::preprocess::{Imputer, Scaler};
use super::profile::Profile;
use super::tree::{self, Condition, Criterion, Tree, TreeParams};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every row weighs 1.
    #[default]
    None,
    /// Each class weighs the same in total (scikit-learn's "balanced").
    Balanced,
}

/// Options of `segment_churn_fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnOptions {
    pub max_depth: u32,
    pub min_samples_leaf: u32,
    pub criterion: Criterion,
    /// Share of rows held out (stratified by the label) to score the tree.
    pub test_fraction: f64,
    pub seed: u64,
    pub class_weight: ClassWeight,
    /// The label value that counts as churn (as text). Default: true, 1, or a text value such
    /// as "yes" / "churned" when exactly one of the two values reads like that.
    pub positive: Option<String>,
    pub impute: ImputeMethod,
    pub max_categories: u32,
}

impl Default for ChurnOptions {
    fn default() -> Self {
        ChurnOptions {
            max_depth: 5,
            min_samples_leaf: 20,
            criterion: Criterion::Gini,
            test_fraction: 0.2,
            seed: 0,
            class_weight: ClassWeight::None,
            positive: None,
            impute: ImputeMethod::Skip,
            max_categories: super::encoding::DEFAULT_MAX_CATEGORIES,
        }
    }
}

impl ChurnOptions {
    pub fn from_json(text: &str) -> CoreResult<ChurnOptions> {
        let value = super::options::options_object(text, None)?;
        let o: ChurnOptions = serde_json::from_value(value).map_err(|e| {
            CoreError::invalid_parameter(format!("invalid option: {e}")).with_hint(
                "Known options: max_depth, min_samples_leaf, criterion (gini | entropy), test_fraction, \
                 seed, class_weight (none | balanced), positive, impute (skip | mean | median | error), max_categories.",
            )
        })?;
        if o.max_depth < 1 || o.max_depth > 30 {
            return Err(CoreError::invalid_parameter(format!(
                "option max_depth must be between 1 and 30, not {}",
                o.max_depth
            )));
        }
        if o.min_samples_leaf < 1 {
            return Err(CoreError::invalid_parameter(
                "option min_samples_leaf must be at least 1",
            ));
        }
        if !(o.test_fraction > 0.0 && o.test_fraction < 1.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option test_fraction must be between 0 and 1 (exclusive), not {}",
                o.test_fraction
            ))
            .with_hint("The held-out share scores the tree, e.g. 0.2."));
        }
        if o.max_categories < 1 || o.max_categories > super::encoding::MAX_CATEGORIES {
            return Err(CoreError::invalid_parameter(format!(
                "option max_categories must be between 1 and {}, not {}",
                super::encoding::MAX_CATEGORIES,
                o.max_categories
            )));
        }
        Ok(o)
    }
}

/// What a churn model stores beyond the segment model: the tree and how to read its leaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Churn {
    /// The label column and the value that counts as churn.
    pub label: String,
    pub positive: String,
    pub tree: Tree,
    /// Churn rate of the training rows.
    pub base_rate: f64,
    /// A leaf whose churn rate is at least this predicts churn: 0.5, or the base rate with
    /// class_weight balanced (the tree's weighted majority).
    pub threshold: f64,
}

/// Which of a label's two values counts as churn.
pub fn choose_positive(label: &str, values: &[String], asked: Option<&str>) -> CoreResult<String> {
    if values.len() != 2 {
        let what = if values.len() < 2 {
            format!("only one value ({})", values.join(", "))
        } else {
            format!(
                "more than two values ({}, ...)",
                values[..3.min(values.len())].join(", ")
            )
        };
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            format!("label column \"{label}\" has {what}; a churn model needs exactly two"),
        )
        .with_hint("Use a boolean, a 0/1 column, or a text column with two values."));
    }
    if let Some(p) = asked {
        return values
            .iter()
            .find(|v| v.as_str() == p)
            .cloned()
            .ok_or_else(|| {
                CoreError::invalid_parameter(format!(
                    "option positive is \"{p}\", but label column \"{label}\" holds {} and {}",
                    values[0], values[1]
                ))
            });
    }
    const CHURN_WORDS: [&str; 8] = ["true", "1", "yes", "y", "t", "churn", "churned", "left"];
    let matches: Vec<&String> = values
        .iter()
        .filter(|v| CHURN_WORDS.contains(&v.to_lowercase().as_str()))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(CoreError::invalid_parameter(format!(
            "label column \"{label}\" holds {} and {}: say which one counts as churn",
            values[0], values[1]
        ))
        .with_hint(format!(
            r#"Pass options '{{"positive": "{}"}}'."#,
            values[1].replace('"', "\\\"")
        ))),
    }
}

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

/// Rows per class held out: round(test_fraction x class rows), at least one row of each class
/// left to train on. Seeded and stratified: the same data and seed give the same split.
fn split(y: &[bool], test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for class in [false, true] {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        rows.shuffle(&mut rng);
        let n_test = ((rows.len() as f64 * test_fraction).round() as usize).min(rows.len() - 1);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
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
    let (train, test) = split(&y, options.test_fraction, options.seed);
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
    let tree = tree::fit(
        &x_train,
        &classes,
        2,
        &w,
        TreeParams {
            max_depth: options.max_depth as usize,
            min_samples_leaf: options.min_samples_leaf as usize,
            criterion: options.criterion,
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
        roc_auc: tree::roc_auc(&scores, &truth),
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fneg,
    };

    // The stored model: leaves are segments, profiled (and centred) over every row.
    let d = matrix.n_cols();
    let k = report.leaves;
    let labels: Vec<u32> = matrix.rows().map(|r| churn.tree.leaf_of(r)).collect();
    let scaler = Scaler {
        method: ScaleMethod::None,
        offset: vec![0.0; d],
        scale: vec![1.0; d],
    };
    let profile = Profile::measure(&matrix, &labels, k, &scaler, &vec![false; d]);
    let centres = profile.means.clone();
    let model = SegmentModel {
        format_version: FORMAT_VERSION,
        method: Method::ChurnTree,
        features,
        categories,
        log: Vec::new(),
        imputer,
        scaler,
        centres,
        mixture: None,
        density: None,
        churn: Some(churn),
        profile,
    };
    Ok((model, report))
}

/// A SQL identifier, always quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal that reads the same whatever standard_conforming_strings says.
pub fn quote_literal(value: &str) -> String {
    let body = value.replace('\'', "''");
    if body.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// Each leaf's rule as a SQL boolean expression over the source's own columns: numeric
/// conditions as `"col" <= 12.5`, one-hot columns as `"col" = 'value'` / `"col" <> 'value'`
/// (booleans as `= true`). An empty path (a tree of one leaf) is `true`. The rules describe rows
/// without NULL features (a NULL makes a condition unknown).
pub fn rules_sql(model: &SegmentModel) -> Vec<String> {
    match &model.churn {
        Some(churn) => tree_rules_sql(&churn.tree, &model.features, &model.categories),
        None => Vec::new(),
    }
}

/// `rules_sql` for any tree over the matrix columns of `features` and `categories`.
pub fn tree_rules_sql(
    tree: &Tree,
    features: &[String],
    categories: &[Option<Vec<String>>],
) -> Vec<String> {
    let columns = Columns::of(features, categories);
    // Per matrix column: its feature and, for one-hot, its value.
    let mut owner: Vec<(usize, Option<&str>)> = Vec::with_capacity(columns.width());
    for (j, _) in features.iter().enumerate() {
        match categories.get(j).and_then(|c| c.as_ref()) {
            Some(values) => owner.extend(values.iter().map(|v| (j, Some(v.as_str())))),
            None => owner.push((j, None)),
        }
    }
    let condition = |c: &Condition| -> String {
        let (j, value) = owner[c.feature];
        let col = quote_ident(&features[j]);
        match value {
            None => format!("{col} {} {}", if c.le { "<=" } else { ">" }, c.threshold),
            Some(v) => {
                // A one-hot column is 0 or 1: "<= t" (t < 1) means another value.
                let is = !c.le;
                let op = if is { "=" } else { "<>" };
                if v == "true" || v == "false" {
                    // A boolean feature's categories are 'false' / 'true'; ::text reads a boolean
                    // or a text column alike.
                    format!("{col}::text {op} '{v}'")
                } else {
                    format!("{col} {op} {}", quote_literal(v))
                }
            }
        }
    };
    tree.rules()
        .iter()
        .map(|path| {
            if path.is_empty() {
                "true".to_string()
            } else {
                path.iter().map(condition).collect::<Vec<_>>().join(" AND ")
            }
        })
        .collect()
}

/// A clustering model's segments as SQL: a shallow tree fitted on the model's own segments of
/// the rows (a surrogate), each segment's predicate the OR of the leaves where it is the
/// majority.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentRule {
    pub segment: u32,
    pub rule: String,
    /// Rows the model puts in the segment.
    pub rows: u64,
    /// Share of those rows the rule selects.
    pub captured: f64,
    /// Share of the rows the rule selects that the model puts in the segment.
    pub precision: f64,
}

/// Fits the surrogate on raw matrix rows labelled `0..classes` and returns one rule per class
/// and the fidelity: the share of rows the rules put in the model's segment.
#[allow(clippy::too_many_arguments)]
pub fn surrogate_rules(
    x: &FeatureMatrix,
    labels: &[u32],
    classes: usize,
    max_depth: usize,
    features: &[String],
    categories: &[Option<Vec<String>>],
    check: &mut dyn FnMut(),
) -> (Vec<SegmentRule>, f64) {
    let n = labels.len();
    let tree = tree::fit(
        x,
        labels,
        classes,
        &vec![1.0; n],
        TreeParams {
            max_depth,
            min_samples_leaf: 1.max(n / 200),
            criterion: Criterion::Gini,
        },
        check,
    )
    .merged_by_majority();
    let leaf_rules = tree_rules_sql(&tree, features, categories);
    let leaves = tree.leaves();
    let mut rules = Vec::with_capacity(classes);
    let mut agree = 0u64;
    for c in 0..classes {
        let mine: Vec<usize> = (0..leaves.len())
            .filter(|&l| leaves[l].majority() as usize == c && leaves[l].rows > 0)
            .collect();
        let rows: u64 = labels.iter().filter(|&&l| l as usize == c).count() as u64;
        let hit: u64 = mine.iter().map(|&l| leaves[l].counts[c]).sum();
        let selected: u64 = mine.iter().map(|&l| leaves[l].rows).sum();
        agree += hit;
        let rule = match mine.as_slice() {
            [] => "false".to_string(),
            [one] => leaf_rules[*one].clone(),
            many => many
                .iter()
                .map(|&l| format!("({})", leaf_rules[l]))
                .collect::<Vec<_>>()
                .join(" OR "),
        };
        rules.push(SegmentRule {
            segment: c as u32,
            rule,
            rows,
            captured: if rows > 0 {
                hit as f64 / rows as f64
            } else {
                0.0
            },
            precision: if selected > 0 {
                hit as f64 / selected as f64
            } else {
                0.0
            },
        });
    }
    (rules, agree as f64 / n.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_value_rules() {
        let two = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            choose_positive("y", &two("no", "yes"), None).unwrap(),
            "yes"
        );
        assert_eq!(
            choose_positive("y", &two("false", "true"), None).unwrap(),
            "true"
        );
        assert_eq!(choose_positive("y", &two("0", "1"), None).unwrap(), "1");
        assert_eq!(
            choose_positive("y", &two("a", "b"), Some("b")).unwrap(),
            "b"
        );
        let e = choose_positive("y", &two("stayed", "moved"), None).unwrap_err();
        assert!(e.message.contains("say which one"), "{}", e.message);
        assert!(choose_positive("y", &two("a", "b"), Some("c")).is_err());
        let e = choose_positive("y", &["no".to_string()], None).unwrap_err();
        assert!(e.message.contains("only one value"), "{}", e.message);
    }

    #[test]
    fn stratified_split_keeps_the_class_shares() {
        let y: Vec<bool> = (0..100).map(|i| i % 10 == 0).collect();
        let (train, test) = split(&y, 0.2, 7);
        assert_eq!((train.len(), test.len()), (80, 20));
        assert_eq!(test.iter().filter(|&&i| y[i]).count(), 2);
        assert_eq!(split(&y, 0.2, 7), (train, test));
    }

    #[test]
    fn surrogate_rules_reproduce_separable_segments() {
        // Segment 0: a <= 5; segment 1: a > 5 and channel 'web'; segment 2: the rest.
        let mut data = Vec::new();
        let mut labels = Vec::new();
        for i in 0..300 {
            let a = (i % 10) as f64;
            let web = (i % 3 == 0) as u32 as f64;
            data.extend_from_slice(&[a, 1.0 - web, web]);
            labels.push(if a <= 5.0 {
                0
            } else if web == 1.0 {
                1
            } else {
                2
            });
        }
        let x = FeatureMatrix::from_rows(data, 3);
        let features = vec!["a".to_string(), "channel".to_string()];
        let categories = vec![None, Some(vec!["shop".to_string(), "web".to_string()])];
        let (rules, fidelity) =
            surrogate_rules(&x, &labels, 3, 3, &features, &categories, &mut || {});
        assert_eq!(fidelity, 1.0);
        assert_eq!(rules[0].rule, "\"a\" <= 5.5");
        // channel=shop comes first among the equally good splits: "not shop" is "web" here.
        assert_eq!(rules[1].rule, "\"a\" > 5.5 AND \"channel\" <> 'shop'");
        assert!(rules
            .iter()
            .all(|r| r.captured == 1.0 && r.precision == 1.0));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            quote_ident("Contract \"type\""),
            "\"Contract \"\"type\"\"\""
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }

    #[test]
    fn options_are_checked() {
        for bad in [
            r#"{"max_depth": 0}"#,
            r#"{"test_fraction": 1}"#,
            r#"{"test_fraction": 0}"#,
            r#"{"criterion": "mse"}"#,
            r#"{"depth": 3}"#,
        ] {
            assert!(ChurnOptions::from_json(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ChurnOptions::from_json("{}").unwrap(),
            ChurnOptions::default()
        );
    }
}
