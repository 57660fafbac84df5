//! Segments as SQL predicates: each leaf of a tree as a boolean expression over the source's own
//! columns (a churn model's leaves with their churn rate and lift, a tree classifier's with its
//! class), and a clustering model's segments through a shallow surrogate tree (`Surrogate`: fed
//! the rows, it labels them with the model and fits the tree).

use crate::cluster::dbscan::NOISE;
use crate::error::{CoreError, CoreResult};
use crate::model::assigner::Assigner;
use crate::model::budget;
use crate::model::document::{MethodRule, SegmentModel};
use crate::prep::builder::MatrixBuilder;
use crate::prep::encoding::Columns;
use crate::prep::matrix::{fill_nan, FeatureMatrix};
use crate::prep::scaling::{undo_log, ImputeMethod};
use crate::sql::{quote_ident, quote_literal};
use crate::tree::cart::{Condition, Criterion, Tree, TreeParams};

/// How a model treats a NULL feature, which a rule must say in SQL to select exactly the rows
/// the model assigns: `Skip` (impute skip, and impute error, which raises) gives such a row no
/// segment, so every rule requires every feature to be present; `Fill` replaces it, per matrix
/// column, by the value in raw units (the training mean or median).
#[derive(Debug, Clone, PartialEq)]
pub enum Nulls {
    Skip,
    Fill(Vec<f64>),
}

impl Nulls {
    /// The NULL policy of a stored model.
    pub fn of(model: &SegmentModel) -> Nulls {
        match model.imputer.fill_values() {
            None => Nulls::Skip,
            Some(values) => {
                // Fill values are stored in log units for log features: rules read raw columns.
                let mut raw = values.to_vec();
                undo_log(&model.log_mask(), &mut raw);
                Nulls::Fill(raw)
            }
        }
    }
}

/// Each leaf's rule as a SQL boolean expression over the source's own columns: numeric
/// conditions as `"col" <= 12.5`, one-hot columns as `"col" = 'value'` / `"col" <> 'value'`
/// (booleans as `::text = 'true'`), with the model's NULL policy in the SQL: under `Skip` every
/// rule starts with `num_nulls("a", "b", ...) = 0` over every feature; under `Fill` a condition reads
/// `coalesce("col", 2283.3) <= 5262.2` (a one-hot one `COALESCE("col" = 'v', false)`). So each
/// rule selects exactly the rows the tree puts in its leaf, NULLs included. An empty path (a tree
/// of one leaf) is `true` under `Fill`.
pub fn rules_sql(model: &SegmentModel) -> Vec<String> {
    match model.churn() {
        Some(churn) => tree_rules_sql(
            &churn.tree,
            &model.features,
            &model.categories,
            &Nulls::of(model),
        ),
        None => Vec::new(),
    }
}

/// `rules_sql` for any tree over the matrix columns of `features` and `categories`.
pub fn tree_rules_sql(
    tree: &Tree,
    features: &[String],
    categories: &[Option<Vec<String>>],
    nulls: &Nulls,
) -> Vec<String> {
    let (present, paths) = leaf_conditions(tree, features, categories, nulls);
    paths
        .into_iter()
        .map(|path| join_and(present.iter().cloned().chain(path)))
        .collect()
}

/// A churn model's leaf (segment) as `segment_churn_rules` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnRule {
    pub segment: u32,
    /// The leaf's rule in SQL (`rules_sql`).
    pub rule: String,
    /// Rows of the fit (train and test) the model puts in the leaf.
    pub rows: u64,
    pub training_rows: u64,
    /// Share of the leaf's training rows that churned.
    pub churn_rate: f64,
    /// The churn rate over the training base rate.
    pub lift: f64,
}

/// Every leaf of a churn model with its rule, rows, churn rate and lift, by segment id (none for
/// another kind of model).
pub fn churn_rules(model: &SegmentModel) -> Vec<ChurnRule> {
    let Some(churn) = model.churn() else {
        return Vec::new();
    };
    churn
        .tree
        .leaves()
        .iter()
        .zip(rules_sql(model))
        .enumerate()
        .map(|(s, (leaf, rule))| {
            let rate = leaf.churn_rate();
            ChurnRule {
                segment: s as u32,
                rule,
                rows: model.profile.sizes.get(s).copied().unwrap_or(0),
                training_rows: leaf.rows,
                churn_rate: rate,
                lift: churn.lift(rate),
            }
        })
        .collect()
}

/// A tree classifier's leaf as `segment_classify_rules` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassLeaf {
    pub leaf: u32,
    /// The class it predicts: the majority of its training rows (the lowest on a tie).
    pub class: String,
    pub rule: String,
    /// Rows of the fit (train and test) that end in the leaf.
    pub rows: u64,
    pub training_rows: u64,
    /// Share of its training rows in the predicted class.
    pub probability: f64,
}

/// Every leaf of a tree classifier, by leaf id; None for a model that has no single tree (a
/// forest, a clustering model).
pub fn classifier_rules(model: &SegmentModel) -> Option<Vec<ClassLeaf>> {
    let MethodRule::DecisionTree {
        classes,
        tree,
        leaf_rows,
    } = &model.rule
    else {
        return None;
    };
    let rules = tree_rules_sql(tree, &model.features, &model.categories, &Nulls::of(model));
    let leaves = tree
        .leaves()
        .iter()
        .zip(rules)
        .enumerate()
        .map(|(l, (leaf, rule))| {
            let class = leaf.majority() as usize;
            ClassLeaf {
                leaf: l as u32,
                class: classes.values.get(class).cloned().unwrap_or_default(),
                rule,
                rows: leaf_rows.get(l).copied().unwrap_or(0),
                training_rows: leaf.rows,
                probability: leaf.counts.get(class).copied().unwrap_or(0) as f64
                    / leaf.rows.max(1) as f64,
            }
        })
        .collect();
    Some(leaves)
}

/// The parts joined with AND; `true` when there are none.
fn join_and(parts: impl Iterator<Item = String>) -> String {
    let parts: Vec<String> = parts.collect();
    if parts.is_empty() {
        "true".to_string()
    } else {
        parts.join(" AND ")
    }
}

/// What every leaf's rule requires (under `Skip`, that no feature is NULL: `"a" IS NOT NULL` or
/// `num_nulls("a", "b", ...) = 0`), and each leaf's own conditions, in SQL.
fn leaf_conditions(
    tree: &Tree,
    features: &[String],
    categories: &[Option<Vec<String>>],
    nulls: &Nulls,
) -> (Option<String>, Vec<Vec<String>>) {
    let columns = Columns::of(features, categories);
    // Per matrix column: its feature and, for one-hot, its value.
    let mut owner: Vec<(usize, Option<&str>)> = Vec::with_capacity(columns.width());
    for (j, _) in features.iter().enumerate() {
        match categories.get(j).and_then(|c| c.as_ref()) {
            Some(values) => owner.extend(values.iter().map(|v| (j, Some(v.as_str())))),
            None => owner.push((j, None)),
        }
    }
    let fill = |c: usize| match nulls {
        Nulls::Fill(values) => Some(values[c]),
        Nulls::Skip => None,
    };
    let condition = |c: &Condition| -> String {
        let (j, value) = owner[c.feature];
        let col = quote_ident(&features[j]);
        match value {
            None => {
                let op = if c.le { "<=" } else { ">" };
                match fill(c.feature) {
                    None => format!("{col} {op} {}", c.threshold),
                    Some(f) => format!("coalesce({col}, {f}) {op} {}", c.threshold),
                }
            }
            Some(v) => {
                // A one-hot column is 0 or 1: "<= t" (t < 1) means another value.
                let is = !c.le;
                let op = if is { "=" } else { "<>" };
                let test = if v == "true" || v == "false" {
                    // A boolean feature's categories are 'false' / 'true'; ::text reads a boolean
                    // or a text column alike.
                    format!("{col}::text {op} '{v}'")
                } else {
                    format!("{col} {op} {}", quote_literal(v))
                };
                match fill(c.feature) {
                    None => test,
                    // A NULL takes the column's fill value, so the condition is a constant.
                    Some(f) => {
                        let holds = if c.le {
                            f <= c.threshold
                        } else {
                            f > c.threshold
                        };
                        format!("COALESCE({test}, {holds})")
                    }
                }
            }
        }
    };
    let present = match (nulls, features) {
        (Nulls::Fill(_), _) => None,
        (Nulls::Skip, [one]) => Some(format!("{} IS NOT NULL", quote_ident(one))),
        // One term however many features: num_nulls counts the NULL arguments.
        (Nulls::Skip, many) => {
            let columns: Vec<String> = many.iter().map(|f| quote_ident(f)).collect();
            Some(format!("num_nulls({}) = 0", columns.join(", ")))
        }
    };
    let paths = tree
        .rules()
        .iter()
        .map(|path| path.iter().map(condition).collect())
        .collect();
    (present, paths)
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
    nulls: &Nulls,
    check: &mut dyn FnMut(),
) -> (Vec<SegmentRule>, f64) {
    let n = labels.len();
    let tree = crate::tree::fit(
        x,
        labels,
        classes,
        &vec![1.0; n],
        TreeParams {
            max_depth,
            min_samples_leaf: 1.max(n / 200),
            criterion: Criterion::Gini,
            max_features: None,
            seed: 0,
            // The surrogate tree keeps its sorted-row splits (a sample of at most a few
            // hundred thousand rows).
            exact: true,
        },
        check,
    )
    .merged_by_majority();
    let (present, paths) = leaf_conditions(&tree, features, categories, nulls);
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
        // The NULL policy once per rule, before the OR of its leaves' conditions.
        let rule = match mine.as_slice() {
            [] => "false".to_string(),
            [one] => join_and(present.iter().cloned().chain(paths[*one].iter().cloned())),
            many => {
                let any = many
                    .iter()
                    .map(|&l| format!("({})", join_and(paths[l].iter().cloned())))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                match &present {
                    Some(p) => format!("{p} AND ({any})"),
                    None => any,
                }
            }
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

/// Deepest surrogate tree `segment_rules` fits: deeper trees give rules too long to read.
pub const MAX_SURROGATE_DEPTH: i32 = 10;

/// Checks `segment_rules`' max_depth (1 to `MAX_SURROGATE_DEPTH`).
pub fn surrogate_depth(depth: i32) -> CoreResult<usize> {
    if !(1..=MAX_SURROGATE_DEPTH).contains(&depth) {
        return Err(CoreError::invalid_parameter(format!(
            "max_depth must be between 1 and {MAX_SURROGATE_DEPTH}, not {depth}"
        ))
        .with_hint("Shallow trees give short rules; 3 is the default."));
    }
    Ok(depth as usize)
}

/// A segment of `segment_rules`: its id (-1 for noise) and label, and its surrogate rule.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedSegment {
    pub segment: i32,
    pub label: String,
    pub rule: SegmentRule,
}

/// `segment_rules` as an accumulator: fed a relation's rows (NULLs as None), it keeps each row
/// without a NULL feature with the segment the model gives it, then fits the surrogate tree on
/// them. Noise (DBSCAN) is one more class after the segments.
pub struct Surrogate<'m> {
    model: &'m SegmentModel,
    assigner: Assigner,
    depth: usize,
    max_bytes: usize,
    builder: MatrixBuilder,
    /// Per kept row: its segment, or `k` for noise.
    labels: Vec<u32>,
    noise: bool,
    raw: Vec<f64>,
    scratch: Vec<f64>,
}

impl<'m> Surrogate<'m> {
    /// A surrogate of depth `depth` (checked by `surrogate_depth`) for the model named `name`,
    /// holding at most `max_bytes`. A churn model is refused: its leaves are rules already.
    pub fn new(
        name: &str,
        model: &'m SegmentModel,
        depth: usize,
        max_bytes: usize,
    ) -> CoreResult<Surrogate<'m>> {
        if model.churn().is_some() {
            return Err(CoreError::wrong_model(format!(
                "model \"{name}\" is a churn model: its leaves have rules already"
            ))
            .with_hint("Use segment_churn_rules."));
        }
        let columns = model.columns();
        let assigner = model.assigner();
        Ok(Surrogate {
            model,
            raw: vec![0.0; columns.width()],
            scratch: vec![0.0; model.k()],
            builder: MatrixBuilder::new(columns.names, ImputeMethod::Skip, max_bytes),
            assigner,
            depth,
            max_bytes,
            labels: Vec::new(),
            noise: false,
        })
    }

    /// One row as matrix columns. A row with a NULL feature is left out: a rule cannot say where
    /// the model's imputation would put it and also read as plain SQL.
    pub fn push(&mut self, row: &[Option<f64>]) -> CoreResult<()> {
        if row.iter().any(Option::is_none) {
            return Ok(());
        }
        fill_nan(&mut self.raw, row, self.assigner.columns())?;
        match self.assigner.label_raw(&mut self.raw, &mut self.scratch)? {
            Some(segment) => self.add(row, segment),
            None => Ok(()),
        }
    }

    /// Keeps a row with the segment the model gave it (`NOISE` for noise).
    fn add(&mut self, row: &[Option<f64>], segment: u32) -> CoreResult<()> {
        self.builder.push(row)?;
        let class = if segment == NOISE {
            self.noise = true;
            self.model.k() as u32
        } else {
            segment
        };
        self.labels.push(class);
        Ok(())
    }

    /// Fits the surrogate on the rows kept (refused when there are none, or when it would need
    /// more than `max_bytes`): one rule per segment, labelled from `labels` (the labels in force,
    /// by segment id), noise last as segment -1 "noise"; and the rules' fidelity. `check` between
    /// the tree's steps.
    pub fn finish(
        self,
        labels: &[String],
        check: &mut dyn FnMut(),
    ) -> CoreResult<(Vec<DescribedSegment>, f64)> {
        if self.labels.is_empty() {
            return Err(CoreError::invalid_parameter(
                "the relation has no rows without NULL features to describe",
            ));
        }
        let k = self.model.k();
        let classes = if self.noise { k + 1 } else { k };
        let shape = budget::Shape::of(
            self.labels.len(),
            &self.model.features,
            &self.model.categories,
        );
        budget::rules(&shape, classes, self.depth).check(self.max_bytes)?;
        let built = self.builder.finish()?;
        let (rules, fidelity) = surrogate_rules(
            &built.matrix,
            &self.labels,
            classes,
            self.depth,
            &self.model.features,
            &self.model.categories,
            &Nulls::of(self.model),
            check,
        );
        let described = rules
            .into_iter()
            .map(|rule| {
                let (segment, label) = match labels.get(rule.segment as usize) {
                    Some(label) if (rule.segment as usize) < k => {
                        (rule.segment as i32, label.clone())
                    }
                    _ => (-1, "noise".to_string()),
                };
                DescribedSegment {
                    segment,
                    label,
                    rule,
                }
            })
            .collect();
        Ok((described, fidelity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::model::document::tests::tiny_model;
    use crate::prep::scaling::Imputer;
    use crate::tree::cart::Node;
    use crate::tree::churn::Churn;
    use crate::tree::classify::Classes;

    /// A root split on tenure at 2.5 whose leaves hold `left` and `right` training rows per class.
    fn stump(left: Vec<u64>, right: Vec<u64>) -> Tree {
        let node = |feature, left, right, leaf, counts: Vec<u64>| Node {
            feature,
            threshold: 2.5,
            left,
            right,
            leaf,
            rows: counts.iter().sum(),
            gain: 0.0,
            counts,
        };
        let root: Vec<u64> = left.iter().zip(&right).map(|(a, b)| a + b).collect();
        Tree {
            nodes: vec![
                node(Some(0), 1, 2, None, root),
                node(None, 0, 0, Some(0), left),
                node(None, 0, 0, Some(1), right),
            ],
        }
    }

    /// 12 rows of tenure 0..11: 3 at or below 2.5, 9 above.
    fn tenure_rows() -> FeatureMatrix {
        FeatureMatrix::from_rows((0..12).map(f64::from).collect(), 1)
    }

    #[test]
    fn churn_leaves_with_rate_and_lift() {
        // Training: 4 rows left (1 churned), 6 right (all churned): base rate 7/10.
        let tree = stump(vec![3, 1], vec![0, 6]);
        let x = tenure_rows();
        let leaves: Vec<u32> = x.rows().map(|r| tree.leaf_of(r)).collect();
        let churn = Churn {
            label: "churned".into(),
            positive: "true".into(),
            tree,
            base_rate: 0.7,
            threshold: 0.5,
        };
        let model = SegmentModel::unscaled(
            vec!["tenure".into()],
            vec![],
            Imputer::Skip,
            &x,
            &leaves,
            2,
            MethodRule::ChurnTree { churn },
        );
        let rules = churn_rules(&model);
        assert_eq!(
            rules,
            vec![
                ChurnRule {
                    segment: 0,
                    rule: "\"tenure\" IS NOT NULL AND \"tenure\" <= 2.5".into(),
                    rows: 3,
                    training_rows: 4,
                    churn_rate: 0.25,
                    lift: 0.25 / 0.7,
                },
                ChurnRule {
                    segment: 1,
                    rule: "\"tenure\" IS NOT NULL AND \"tenure\" > 2.5".into(),
                    rows: 9,
                    training_rows: 6,
                    churn_rate: 1.0,
                    lift: 1.0 / 0.7,
                },
            ]
        );
        assert_eq!(classifier_rules(&model), None);
        assert!(churn_rules(&tiny_model()).is_empty());
    }

    #[test]
    fn classifier_leaves_with_class_and_probability() {
        // Left leaf: classes (1, 3, 0) -> "b" at 3/4; right leaf: (0, 0, 6) -> "c" at 1.
        let tree = stump(vec![1, 3, 0], vec![0, 0, 6]);
        let x = tenure_rows();
        let truth: Vec<u32> = (0..12).map(|i| if i < 3 { 1 } else { 2 }).collect();
        let model = SegmentModel::unscaled(
            vec!["tenure".into()],
            vec![],
            // A NULL tenure is read as 2: the rule says so with coalesce.
            Imputer::Mean { means: vec![2.0] },
            &x,
            &truth,
            3,
            MethodRule::DecisionTree {
                classes: Classes {
                    label: "tier".into(),
                    values: vec!["a".into(), "b".into(), "c".into()],
                },
                tree,
                leaf_rows: vec![3, 9],
            },
        );
        let leaves = classifier_rules(&model).unwrap();
        assert_eq!(
            leaves,
            vec![
                ClassLeaf {
                    leaf: 0,
                    class: "b".into(),
                    rule: "coalesce(\"tenure\", 2) <= 2.5".into(),
                    rows: 3,
                    training_rows: 4,
                    probability: 0.75,
                },
                ClassLeaf {
                    leaf: 1,
                    class: "c".into(),
                    rule: "coalesce(\"tenure\", 2) > 2.5".into(),
                    rows: 9,
                    training_rows: 6,
                    probability: 1.0,
                },
            ]
        );
    }

    #[test]
    fn surrogate_depth_is_checked() {
        assert_eq!(surrogate_depth(3).unwrap(), 3);
        assert_eq!(surrogate_depth(10).unwrap(), 10);
        for bad in [0, 11, -1] {
            let e = surrogate_depth(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(
                e.message,
                format!("max_depth must be between 1 and 10, not {bad}")
            );
        }
    }

    /// tiny_model: two k-means segments split at a = 5 (centres a = 0 and a = 10), NULLs read as
    /// the mean a = 5.
    #[test]
    fn surrogate_of_a_clustering_model() {
        let model = tiny_model();
        let labels = ["low".to_string(), "high".to_string()];
        let mut s = Surrogate::new("m", &model, 3, usize::MAX).unwrap();
        for a in [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0] {
            s.push(&[Some(a), Some(0.0)]).unwrap();
        }
        // Left out: a rule cannot place a NULL the way plain SQL reads it.
        s.push(&[None, Some(0.0)]).unwrap();
        let (rules, fidelity) = s.finish(&labels, &mut || {}).unwrap();
        assert_eq!(fidelity, 1.0);
        let got: Vec<(i32, &str, &str, u64, f64, f64)> = rules
            .iter()
            .map(|r| {
                (
                    r.segment,
                    r.label.as_str(),
                    r.rule.rule.as_str(),
                    r.rule.rows,
                    r.rule.captured,
                    r.rule.precision,
                )
            })
            .collect();
        // The split is halfway between a = 4 and a = 6; b is constant.
        assert_eq!(
            got,
            vec![
                (0, "low", "coalesce(\"a\", 5) <= 5", 5, 1.0, 1.0),
                (1, "high", "coalesce(\"a\", 5) > 5", 5, 1.0, 1.0),
            ]
        );
    }

    #[test]
    fn noise_is_a_last_class_named_noise() {
        let model = tiny_model();
        let labels = ["low".to_string(), "high".to_string()];
        let mut s = Surrogate::new("m", &model, 3, usize::MAX).unwrap();
        for a in [0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10.0] {
            s.push(&[Some(a), Some(0.0)]).unwrap();
        }
        for _ in 0..2 {
            s.add(&[Some(20.0), Some(0.0)], NOISE).unwrap();
        }
        let (rules, fidelity) = s.finish(&labels, &mut || {}).unwrap();
        assert_eq!(fidelity, 1.0);
        // Root at 5 (weighted Gini 7/12 x 20/49 against 10/12 x 1/2 at 15), then 15 on the right.
        let got: Vec<(i32, &str, &str, u64)> = rules
            .iter()
            .map(|r| {
                (
                    r.segment,
                    r.label.as_str(),
                    r.rule.rule.as_str(),
                    r.rule.rows,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, "low", "coalesce(\"a\", 5) <= 5", 5),
                (
                    1,
                    "high",
                    "coalesce(\"a\", 5) > 5 AND coalesce(\"a\", 5) <= 15",
                    5
                ),
                (-1, "noise", "coalesce(\"a\", 5) > 15", 2),
            ]
        );
    }

    #[test]
    fn surrogate_refusals() {
        let model = tiny_model();
        let mut s = Surrogate::new("m", &model, 3, usize::MAX).unwrap();
        s.push(&[None, Some(1.0)]).unwrap();
        let e = s.finish(&[], &mut || {}).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            "the relation has no rows without NULL features to describe"
        );
        let tree = stump(vec![3, 1], vec![0, 6]);
        let x = tenure_rows();
        let leaves: Vec<u32> = x.rows().map(|r| tree.leaf_of(r)).collect();
        let churn = SegmentModel::unscaled(
            vec!["tenure".into()],
            vec![],
            Imputer::Skip,
            &x,
            &leaves,
            2,
            MethodRule::ChurnTree {
                churn: Churn {
                    label: "churned".into(),
                    positive: "true".into(),
                    tree,
                    base_rate: 0.7,
                    threshold: 0.5,
                },
            },
        );
        let e = Surrogate::new("c", &churn, 3, usize::MAX).err().unwrap();
        assert_eq!(e.kind, ErrorKind::WrongModel);
        assert_eq!(
            e.message,
            "model \"c\" is a churn model: its leaves have rules already"
        );
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
        let (rules, fidelity) = surrogate_rules(
            &x,
            &labels,
            3,
            3,
            &features,
            &categories,
            &Nulls::Skip,
            &mut || {},
        );
        assert_eq!(fidelity, 1.0);
        // Under impute skip a row with any NULL feature has no segment: every rule says so.
        let present = "num_nulls(\"a\", \"channel\") = 0";
        assert_eq!(rules[0].rule, format!("{present} AND \"a\" <= 5.5"));
        // channel=shop comes first among the equally good splits: "not shop" is "web" here.
        assert_eq!(
            rules[1].rule,
            format!("{present} AND \"a\" > 5.5 AND \"channel\" <> 'shop'")
        );
        assert!(rules
            .iter()
            .all(|r| r.captured == 1.0 && r.precision == 1.0));
        // Under imputation a NULL takes the fill value: a = 2 (segment 0), channel columns
        // shop = 0.25, web = 0.75 (so "channel <> 'shop'" holds for a NULL: 0.25 <= 0.5).
        let fill = Nulls::Fill(vec![2.0, 0.25, 0.75]);
        let (rules, _) =
            surrogate_rules(&x, &labels, 3, 3, &features, &categories, &fill, &mut || {});
        assert_eq!(rules[0].rule, "coalesce(\"a\", 2) <= 5.5");
        assert_eq!(
            rules[1].rule,
            "coalesce(\"a\", 2) > 5.5 AND COALESCE(\"channel\" <> 'shop', true)"
        );
    }

    /// A segment of two leaves states the NULL policy once, before the OR of the leaves (it was
    /// repeated in every branch: a 12-column num_nulls per leaf).
    #[test]
    fn a_rule_of_several_leaves_states_the_nulls_once() {
        // Segment 0: a <= 2 or a >= 8; segment 1: the middle.
        let data: Vec<f64> = (0..100).flat_map(|i| [(i % 10) as f64, 1.0]).collect();
        let labels: Vec<u32> = (0..100)
            .map(|i| u32::from((3..8).contains(&(i % 10))))
            .collect();
        let x = FeatureMatrix::from_rows(data, 2);
        let features = vec!["a".to_string(), "b".to_string()];
        let (rules, fidelity) =
            surrogate_rules(&x, &labels, 2, 3, &features, &[], &Nulls::Skip, &mut || {});
        assert_eq!(fidelity, 1.0);
        assert_eq!(
            rules[0].rule,
            "num_nulls(\"a\", \"b\") = 0 AND ((\"a\" <= 2.5) OR (\"a\" > 7.5))"
        );
        assert_eq!(
            rules[1].rule,
            "num_nulls(\"a\", \"b\") = 0 AND \"a\" > 2.5 AND \"a\" <= 7.5"
        );
        let (rules, _) = surrogate_rules(
            &x,
            &labels,
            2,
            3,
            &features,
            &[],
            &Nulls::Fill(vec![5.0, 1.0]),
            &mut || {},
        );
        assert_eq!(
            rules[0].rule,
            "(coalesce(\"a\", 5) <= 2.5) OR (coalesce(\"a\", 5) > 7.5)"
        );
    }
}
