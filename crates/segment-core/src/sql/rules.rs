//! Segments as SQL predicates: each leaf of a tree as a boolean expression over the source's own
//! columns, and a clustering model's segments through a shallow surrogate tree.

use crate::model::document::SegmentModel;
use crate::prep::encoding::Columns;
use crate::prep::matrix::FeatureMatrix;
use crate::sql::{quote_ident, quote_literal};
use crate::tree::cart::{self, Condition, Criterion, Tree, TreeParams};

/// Each leaf's rule as a SQL boolean expression over the source's own columns: numeric
/// conditions as `"col" <= 12.5`, one-hot columns as `"col" = 'value'` / `"col" <> 'value'`
/// (booleans as `= true`). An empty path (a tree of one leaf) is `true`. The rules describe rows
/// without NULL features (a NULL makes a condition unknown).
pub fn rules_sql(model: &SegmentModel) -> Vec<String> {
    match model.churn() {
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
    let tree = cart::fit(
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
}
