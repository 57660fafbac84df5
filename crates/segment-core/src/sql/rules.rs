//! Segments as SQL predicates: each leaf of a tree as a boolean expression over the source's own
//! columns, and a clustering model's segments through a shallow surrogate tree.

use crate::model::document::SegmentModel;
use crate::prep::encoding::Columns;
use crate::prep::matrix::FeatureMatrix;
use crate::prep::scaling::undo_log;
use crate::sql::{quote_ident, quote_literal};
use crate::tree::cart::{self, Condition, Criterion, Tree, TreeParams};

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
    let tree = cart::fit(
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

#[cfg(test)]
mod tests {
    use super::*;

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
