//! Churn trees: the options of a churn fit, which label value counts as churn, and what a churn
//! model stores beyond a segment model (`Churn`: the tree and how its leaves read as risk).
//! The fit itself, which builds the stored model, is `model::churn_fit`; the leaves' rules as
//! SQL are `sql::rules`.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{check_range, Given, Key, Kind};
use crate::prep::scaling::ImputeMethod;
use crate::tree::cart::{Criterion, Tree};
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

/// Options of `segment_churn_fit` (stored with the model as JSON; read by `from_json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// Text features whose values read as numbers, one-hot encoded on purpose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
    /// Splits over every feature's sorted rows instead of its bins (`tree::hist`).
    pub exact: bool,
    /// The fit may change what an existing model name means (its features or label): a call
    /// option, not stored.
    #[serde(skip_serializing)]
    pub replace: bool,
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
            max_categories: crate::prep::encoding::DEFAULT_MAX_CATEGORIES,
            categorical: Vec::new(),
            exact: false,
            replace: false,
        }
    }
}

/// The keys of `segment_churn_fit`'s options and their kinds.
pub const OPTION_KEYS: [Key; 12] = [
    Key::new("max_depth", Kind::PositiveInteger),
    Key::new("min_samples_leaf", Kind::PositiveInteger),
    Key::new("criterion", Kind::OneOf(&["gini", "entropy"])),
    Key::new("test_fraction", Kind::Number),
    Key::new("seed", Kind::NonNegativeInteger),
    Key::new("class_weight", Kind::OneOf(&["none", "balanced"])),
    Key::nullable("positive", Kind::Text),
    Key::new("impute", Kind::OneOf(&["skip", "mean", "median", "error"])),
    Key::new("max_categories", Kind::PositiveInteger),
    Key::new("categorical", Kind::Strings),
    Key::new("exact", Kind::Boolean),
    Key::new("replace", Kind::Boolean),
];

impl ChurnOptions {
    /// Reads the options key by key (plain-word errors, the nearest key for an unknown one) and
    /// checks them.
    pub fn from_json(text: &str) -> CoreResult<ChurnOptions> {
        let given = Given::from_json(text, None, &OPTION_KEYS)?;
        let d = ChurnOptions::default();
        let max_depth = given.integer("max_depth").unwrap_or(d.max_depth.into());
        check_range("max_depth", max_depth, 1, 30)?;
        let min_samples_leaf = given
            .integer("min_samples_leaf")
            .unwrap_or(d.min_samples_leaf.into());
        if min_samples_leaf < 1 {
            return Err(CoreError::invalid_parameter(
                "option min_samples_leaf must be at least 1",
            ));
        }
        let max_categories = given
            .integer("max_categories")
            .unwrap_or(d.max_categories.into());
        check_range(
            "max_categories",
            max_categories,
            1,
            crate::prep::encoding::MAX_CATEGORIES.into(),
        )?;
        let o = ChurnOptions {
            max_depth: max_depth as u32,
            // Checked >= 1; a leaf larger than the rows is one leaf, so a cut is harmless.
            min_samples_leaf: u32::try_from(min_samples_leaf).unwrap_or(u32::MAX),
            criterion: given.choice("criterion").unwrap_or(d.criterion),
            test_fraction: given.number("test_fraction").unwrap_or(d.test_fraction),
            seed: given.integer("seed").unwrap_or(d.seed),
            class_weight: given.choice("class_weight").unwrap_or(d.class_weight),
            positive: given.text("positive").map(str::to_string),
            impute: given.choice("impute").unwrap_or(d.impute),
            max_categories: max_categories as u32,
            categorical: given
                .strings("categorical")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            exact: given.boolean("exact").unwrap_or(d.exact),
            replace: given.boolean("replace").unwrap_or(false),
        };
        if !(o.test_fraction > 0.0 && o.test_fraction < 1.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option test_fraction must be between 0 and 1 (exclusive), not {}",
                o.test_fraction
            ))
            .with_hint("The held-out share scores the tree, e.g. 0.2."));
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

impl Churn {
    /// How a leaf of this churn rate reads in its label: "high churn risk" when the tree
    /// predicts churn for it (its rate is at least `threshold`), "above-average churn risk" when
    /// its rate is above the base rate, "low churn risk" otherwise.
    pub fn risk(&self, rate: f64) -> &'static str {
        if rate >= self.threshold {
            "high churn risk"
        } else if rate > self.base_rate {
            "above-average churn risk"
        } else {
            "low churn risk"
        }
    }

    /// A leaf's churn rate over the training base rate (0 when no training row churned, where
    /// every leaf's rate is 0 too).
    pub fn lift(&self, rate: f64) -> f64 {
        if self.base_rate > 0.0 {
            rate / self.base_rate
        } else {
            0.0
        }
    }
}

/// The churn tree as indented text, one node per line (four spaces a level): each split with its
/// rows and churn rate, its children headed by their condition on the matrix column `columns`
/// names (left `<=`, right `>`), each leaf with its segment, rows and churn rate.
pub fn tree_text(tree: &Tree, columns: &[String]) -> String {
    let mut out = String::new();
    // (node, depth, head): depth first, the left child first.
    let mut stack = vec![(0usize, 0usize, "all: ".to_string())];
    while let Some((at, indent, head)) = stack.pop() {
        let Some(node) = tree.nodes.get(at) else {
            continue;
        };
        let pad = "    ".repeat(indent);
        let churn = 100.0 * node.churn_rate();
        match node.feature {
            Some(f) => {
                out.push_str(&format!(
                    "{pad}{head}{} rows, churn {churn:.1}%\n",
                    node.rows
                ));
                let c = &columns[f];
                let t = node.threshold;
                stack.push((node.right, indent + 1, format!("{c} > {t}: ")));
                stack.push((node.left, indent + 1, format!("{c} <= {t}: ")));
            }
            None => out.push_str(&format!(
                "{pad}{head}segment {} · {} rows, churn {churn:.1}%\n",
                node.leaf.unwrap_or(0),
                node.rows,
            )),
        }
    }
    out
}

/// A churn fit's labels: the value that counts as churn (`choose_positive`, shown the label's
/// values in byte order, so that "the first value" of an error reads the same whatever order the
/// rows came in) and, per row, whether its code (an index into `values`) is that value.
pub fn code_positive(
    label: &str,
    values: &[String],
    codes: &[u32],
    asked: Option<&str>,
) -> CoreResult<(String, Vec<bool>)> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let positive = choose_positive(label, &sorted, asked)?;
    // choose_positive returns one of the values.
    let code = values.iter().position(|v| *v == positive).unwrap_or(0) as u32;
    Ok((positive, codes.iter().map(|&c| c == code).collect()))
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
    fn positive_codes_follow_the_value_not_its_position() {
        // Values in order of appearance: "yes" came first, so code 0 is churn.
        let values = vec!["yes".to_string(), "no".to_string()];
        let (positive, y) = code_positive("y", &values, &[0, 1, 1, 0], None).unwrap();
        assert_eq!(positive, "yes");
        assert_eq!(y, vec![true, false, false, true]);
        // An asked value: "no" (code 1) is churn.
        let (positive, y) = code_positive("y", &values, &[0, 1, 1, 0], Some("no")).unwrap();
        assert_eq!(positive, "no");
        assert_eq!(y, vec![false, true, true, false]);
        // Neither value reads as churn: the error lists them in byte order, whatever order the
        // rows gave, and proposes the second.
        let values = vec!["stayed".to_string(), "moved".to_string()];
        let e = code_positive("y", &values, &[0, 1], None).unwrap_err();
        assert_eq!(
            e.message,
            "label column \"y\" holds moved and stayed: say which one counts as churn"
        );
        assert_eq!(
            e.hint.as_deref(),
            Some(r#"Pass options '{"positive": "stayed"}'."#)
        );
    }

    /// A root split on tenure at 2.5 over 10 rows (7 churned): 3 of 4 stay on the left, all 6
    /// churn on the right.
    #[test]
    fn tree_text_by_hand() {
        use crate::tree::cart::Node;
        let node = |feature, left, right, leaf, rows, counts: [u64; 2]| Node {
            feature,
            threshold: 2.5,
            left,
            right,
            leaf,
            rows,
            counts: counts.to_vec(),
            gain: 0.0,
        };
        let tree = Tree {
            nodes: vec![
                node(Some(1), 1, 2, None, 10, [3, 7]),
                node(None, 0, 0, Some(0), 4, [3, 1]),
                node(None, 0, 0, Some(1), 6, [0, 6]),
            ],
        };
        let columns = vec!["age".to_string(), "tenure".to_string()];
        assert_eq!(
            tree_text(&tree, &columns),
            "all: 10 rows, churn 70.0%\n\
             \x20   tenure <= 2.5: segment 0 · 4 rows, churn 25.0%\n\
             \x20   tenure > 2.5: segment 1 · 6 rows, churn 100.0%\n"
        );
        // One leaf: the whole tree is one line.
        let leaf = Tree {
            nodes: vec![node(None, 0, 0, Some(0), 5, [5, 0])],
        };
        assert_eq!(
            tree_text(&leaf, &columns),
            "all: segment 0 · 5 rows, churn 0.0%\n"
        );
    }

    #[test]
    fn lift_over_the_base_rate() {
        let churn = |base_rate: f64| Churn {
            label: "y".into(),
            positive: "1".into(),
            tree: crate::tree::cart::Tree { nodes: vec![] },
            base_rate,
            threshold: 0.5,
        };
        assert_eq!(churn(0.25).lift(0.5), 2.0);
        assert_eq!(churn(0.25).lift(0.0), 0.0);
        // No training row churned: no lift to speak of.
        assert_eq!(churn(0.0).lift(0.0), 0.0);
    }

    #[test]
    fn risk_words() {
        let churn = |threshold: f64| Churn {
            label: "y".into(),
            positive: "1".into(),
            tree: crate::tree::cart::Tree { nodes: vec![] },
            base_rate: 0.2,
            threshold,
        };
        let c = churn(0.5);
        assert_eq!(c.risk(0.5), "high churn risk");
        assert_eq!(c.risk(0.49), "above-average churn risk");
        assert_eq!(c.risk(0.2), "low churn risk");
        assert_eq!(c.risk(0.0), "low churn risk");
        // class_weight balanced: a leaf predicts churn from the base rate.
        assert_eq!(churn(0.2).risk(0.21), "high churn risk");
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

    #[test]
    fn option_errors_are_in_plain_words() {
        for (text, message, hint) in [
            (
                r#"{"criterion": "chaos"}"#,
                r#"criterion must be "gini" or "entropy", got the string "chaos""#,
                None,
            ),
            (
                r#"{"max_depth": "4"}"#,
                r#"max_depth must be a positive integer, got the string "4""#,
                None,
            ),
            (
                r#"{"positive": 1}"#,
                "positive must be a string, got the number 1",
                None,
            ),
            (
                r#"{"exact": 1}"#,
                "exact must be true or false, got the number 1",
                None,
            ),
            (
                r#"{"max_dpeth": 4}"#,
                r#"unknown option "max_dpeth""#,
                Some(r#"Did you mean "max_depth"?"#),
            ),
            (
                r#"{"min_samples": 4}"#,
                r#"unknown option "min_samples""#,
                None,
            ),
            (
                r#"{"max_depth": 0}"#,
                "option max_depth must be between 1 and 30, not 0",
                None,
            ),
        ] {
            let e = ChurnOptions::from_json(text).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!(e.message, message);
            if hint.is_some() {
                assert_eq!(e.hint.as_deref(), hint);
            }
        }
    }

    #[test]
    fn every_listed_value_is_taken() {
        for key in OPTION_KEYS {
            if let Kind::OneOf(values) = key.kind {
                for value in values {
                    let text = serde_json::json!({ key.name: value }).to_string();
                    let o = ChurnOptions::from_json(&text).unwrap();
                    let back = serde_json::to_value(&o).unwrap();
                    assert_eq!(back[key.name], serde_json::json!(value), "{text}");
                }
            }
        }
    }

    #[test]
    fn stored_options_read_back() {
        let o = ChurnOptions::from_json(
            r#"{"max_depth": 4, "criterion": "entropy", "class_weight": "balanced",
                "positive": "yes", "impute": "mean", "seed": 3, "test_fraction": 0.3,
                "min_samples_leaf": 7, "max_categories": 9, "exact": true}"#,
        )
        .unwrap();
        assert!(o.exact);
        assert_eq!(o.criterion, Criterion::Entropy);
        assert_eq!(o.class_weight, ClassWeight::Balanced);
        assert_eq!(o.positive.as_deref(), Some("yes"));
        let stored = serde_json::to_string(&o).unwrap();
        assert_eq!(ChurnOptions::from_json(&stored).unwrap(), o);
        let stored = serde_json::to_string(&ChurnOptions::default()).unwrap();
        assert!(stored.contains(r#""positive":null"#));
        assert_eq!(
            ChurnOptions::from_json(&stored).unwrap(),
            ChurnOptions::default()
        );
    }
}
