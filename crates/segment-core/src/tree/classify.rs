//! Classifiers into known segments: the options of `segment_classify_fit` (a CART tree or a
//! random forest) and what a classifier stores beyond a segment model (`Classes`: the label
//! column and its values, whose order is the order of the probabilities). The fit is
//! `model::classify_fit`; the tree is `cart`, the forest `forest`.

use crate::error::{CoreError, CoreResult};
use crate::params::{check_range, does_not_apply, Given, Key, Kind};
use crate::prep::scaling::ImputeMethod;
use crate::tree::cart::Criterion;
use serde::{Deserialize, Serialize};

/// Default and largest number of classes a label may have.
pub const DEFAULT_MAX_CLASSES: u32 = 50;
pub const MAX_CLASSES: u32 = 1000;
/// Most trees in a forest.
pub const MAX_TREES: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClassifierMethod {
    /// One CART tree: its leaves' rules are the explanation.
    #[default]
    Tree,
    /// A random forest: bootstrap rows, a random subset of features per split.
    Forest,
}

/// Features tried per split of a forest's trees (scikit-learn's max_features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MaxFeatures {
    /// The square root of the matrix columns, rounded down (at least 1).
    #[default]
    Sqrt,
    /// log2 of the matrix columns, rounded down (at least 1).
    Log2,
    /// Every column: bagged trees.
    All,
}

impl MaxFeatures {
    /// Features tried per split among `d` matrix columns (one-hot columns count one each, as in
    /// scikit-learn on one-hot data).
    pub fn of(self, d: usize) -> usize {
        let n = match self {
            MaxFeatures::Sqrt => (d as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (d as f64).log2().floor() as usize,
            MaxFeatures::All => d,
        };
        n.clamp(1, d.max(1))
    }
}

/// Options of `segment_classify_fit` (stored with the model as JSON; read by `from_json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifyOptions {
    pub method: ClassifierMethod,
    pub max_depth: u32,
    pub min_samples_leaf: u32,
    pub criterion: Criterion,
    /// Forest only.
    pub n_trees: u32,
    pub max_features: MaxFeatures,
    /// Share of each class's rows held out to score the classifier.
    pub test_fraction: f64,
    pub seed: u64,
    pub impute: ImputeMethod,
    pub max_categories: u32,
    /// Text features whose values read as numbers, one-hot encoded on purpose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categorical: Vec<String>,
    pub max_classes: u32,
    /// Splits over every feature's sorted rows instead of its bins (`tree::hist`), tree or
    /// forest.
    pub exact: bool,
    /// The fit may change what an existing model name means: a call option, not stored.
    #[serde(skip_serializing)]
    pub replace: bool,
}

/// The keys of `segment_classify_fit`'s options and their kinds.
pub const OPTION_KEYS: [Key; 15] = [
    Key::new("method", Kind::OneOf(&["tree", "forest"])),
    Key::new("max_depth", Kind::PositiveInteger),
    Key::new("min_samples_leaf", Kind::PositiveInteger),
    Key::new("criterion", Kind::OneOf(&["gini", "entropy"])),
    Key::new("n_trees", Kind::PositiveInteger),
    Key::new("max_features", Kind::OneOf(&["sqrt", "log2", "all"])),
    Key::new("test_fraction", Kind::Number),
    Key::new("seed", Kind::NonNegativeInteger),
    Key::new("impute", Kind::OneOf(&["skip", "mean", "median", "error"])),
    Key::new("max_categories", Kind::PositiveInteger),
    Key::new("categorical", Kind::Strings),
    Key::new("max_classes", Kind::PositiveInteger),
    Key::new("exact", Kind::Boolean),
    Key::new("replace", Kind::Boolean),
    // Read by nothing: listed so that a churn option names its function in the error.
    Key::nullable("positive", Kind::Text),
];

/// Keys a forest has and a tree does not.
pub const FOREST_KEYS: [&str; 2] = ["n_trees", "max_features"];

impl ClassifyOptions {
    /// Reads the options key by key (plain-word errors, the nearest key for an unknown one) and
    /// checks them. Defaults: a tree of depth 5 with 20 rows a leaf (readable rules, as the
    /// churn tree); a forest of 100 trees of depth 10, one row a leaf, sqrt features.
    pub fn from_json(text: &str) -> CoreResult<ClassifyOptions> {
        let given = Given::from_json(text, None, &OPTION_KEYS)?;
        let method: ClassifierMethod = given.choice("method").unwrap_or_default();
        if given.has("positive") {
            return Err(CoreError::invalid_parameter(
                "option \"positive\" does not apply to segment_classify_fit: every class is a class",
            )
            .with_hint("For a two-class churn model with churn rules, use segment_churn_fit."));
        }
        if method == ClassifierMethod::Tree {
            if let Some(key) = FOREST_KEYS.iter().find(|k| given.has(k)) {
                let keys: Vec<&str> = OPTION_KEYS
                    .iter()
                    .map(|k| k.name)
                    .filter(|k| !FOREST_KEYS.contains(k) && *k != "positive")
                    .collect();
                let e = does_not_apply(key, "method tree", &keys);
                return Err(e.with_hint(format!(
                    "{key} is an option of method forest: pass {{\"method\": \"forest\", \"{key}\": ...}}."
                )));
            }
        }
        let (depth, leaf) = match method {
            ClassifierMethod::Tree => (5, 20),
            ClassifierMethod::Forest => (10, 1),
        };
        let max_depth = given.integer("max_depth").unwrap_or(depth);
        check_range("max_depth", max_depth, 1, 30)?;
        let min_samples_leaf = given.integer("min_samples_leaf").unwrap_or(leaf);
        check_range("min_samples_leaf", min_samples_leaf, 1, u32::MAX as u64)?;
        let n_trees = given.integer("n_trees").unwrap_or(100);
        check_range("n_trees", n_trees, 1, MAX_TREES)?;
        let max_categories = given
            .integer("max_categories")
            .unwrap_or(crate::prep::encoding::DEFAULT_MAX_CATEGORIES.into());
        check_range(
            "max_categories",
            max_categories,
            1,
            crate::prep::encoding::MAX_CATEGORIES.into(),
        )?;
        let max_classes = given
            .integer("max_classes")
            .unwrap_or(DEFAULT_MAX_CLASSES.into());
        check_range("max_classes", max_classes, 2, MAX_CLASSES.into())?;
        let o = ClassifyOptions {
            method,
            max_depth: max_depth as u32,
            min_samples_leaf: min_samples_leaf as u32,
            criterion: given.choice("criterion").unwrap_or_default(),
            n_trees: n_trees as u32,
            max_features: given.choice("max_features").unwrap_or_default(),
            test_fraction: given.number("test_fraction").unwrap_or(0.2),
            seed: given.integer("seed").unwrap_or(0),
            impute: given.choice("impute").unwrap_or(ImputeMethod::Skip),
            max_categories: max_categories as u32,
            categorical: given
                .strings("categorical")
                .map(<[String]>::to_vec)
                .unwrap_or_default(),
            max_classes: max_classes as u32,
            exact: given.boolean("exact").unwrap_or(false),
            replace: given.boolean("replace").unwrap_or(false),
        };
        if !(o.test_fraction > 0.0 && o.test_fraction < 1.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option test_fraction must be between 0 and 1 (exclusive), not {}",
                o.test_fraction
            ))
            .with_hint("The held-out share of each class scores the classifier, e.g. 0.2."));
        }
        Ok(o)
    }
}

/// What a classifier stores beyond a segment model: the label column and its classes, in the
/// order of the segment ids and of `segment_classify_proba`'s elements (numeric order when every
/// value is an integer, byte order of the values as text otherwise: `Classes::ordered`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classes {
    pub label: String,
    pub values: Vec<String>,
}

impl Classes {
    /// The classes of a label read as `values` (in order of appearance) and each row's code into
    /// them, put in the documented order (numeric when every value is an integer, byte order of
    /// the text otherwise): the classes, and the codes renumbered to follow.
    pub fn ordered(label: &str, values: &[String], codes: &[u32]) -> (Classes, Vec<u32>) {
        let mut order: Vec<usize> = (0..values.len()).collect();
        let numbers: Option<Vec<i64>> = values.iter().map(|v| v.parse().ok()).collect();
        match numbers {
            Some(n) => order.sort_by_key(|&i| n[i]),
            None => order.sort_by(|&a, &b| values[a].as_bytes().cmp(values[b].as_bytes())),
        }
        let mut new_code = vec![0u32; values.len()];
        for (new, &old) in order.iter().enumerate() {
            new_code[old] = new as u32;
        }
        let classes = Classes {
            label: label.to_string(),
            values: order.iter().map(|&i| values[i].clone()).collect(),
        };
        (
            classes,
            codes.iter().map(|&c| new_code[c as usize]).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_differ_by_method() {
        let t = ClassifyOptions::from_json("{}").unwrap();
        assert_eq!(
            (t.method, t.max_depth, t.min_samples_leaf),
            (ClassifierMethod::Tree, 5, 20)
        );
        let f = ClassifyOptions::from_json(r#"{"method": "forest"}"#).unwrap();
        assert_eq!(
            (f.max_depth, f.min_samples_leaf, f.n_trees, f.max_features),
            (10, 1, 100, MaxFeatures::Sqrt)
        );
    }

    #[test]
    fn bad_options_are_named() {
        for (text, message) in [
            (
                r#"{"n_trees": 10}"#,
                "option \"n_trees\" does not apply to method tree",
            ),
            (
                r#"{"method": "forest", "n_trees": 0}"#,
                "option n_trees must be between 1 and 1000, not 0",
            ),
            (
                r#"{"max_depth": 31}"#,
                "option max_depth must be between 1 and 30, not 31",
            ),
            (
                r#"{"test_fraction": 1}"#,
                "option test_fraction must be between 0 and 1 (exclusive), not 1",
            ),
            (
                r#"{"positive": "yes"}"#,
                "option \"positive\" does not apply to segment_classify_fit: every class is a class",
            ),
            (
                r#"{"max_classes": 1}"#,
                "option max_classes must be between 2 and 1000, not 1",
            ),
        ] {
            let e = ClassifyOptions::from_json(text).unwrap_err();
            assert!(e.message.starts_with(message), "{text}: {}", e.message);
        }
        let e = ClassifyOptions::from_json(r#"{"n_tree": 10}"#).unwrap_err();
        assert_eq!(e.message, "unknown option \"n_tree\"");
        assert!(e.hint.unwrap().contains("n_trees"));
    }

    /// `exact` (sorted-row splits) applies to a tree and a forest, is false by default, is
    /// stored with the options, and must be a boolean.
    #[test]
    fn exact_is_a_boolean_of_both_methods() {
        assert!(!ClassifyOptions::from_json("{}").unwrap().exact);
        for text in [
            r#"{"exact": true}"#,
            r#"{"method": "forest", "exact": true}"#,
        ] {
            let o = ClassifyOptions::from_json(text).unwrap();
            assert!(o.exact, "{text}");
            assert_eq!(serde_json::to_value(&o).unwrap()["exact"], true);
        }
        let e = ClassifyOptions::from_json(r#"{"exact": "yes"}"#).unwrap_err();
        assert!(e.message.starts_with("exact must be"), "{}", e.message);
    }

    #[test]
    fn classes_in_numeric_or_byte_order() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Integers: 2 < 9 < 10 (as text, "10" would come first).
        let (classes, codes) = Classes::ordered("tier", &strings(&["10", "9", "2"]), &[0, 1, 2, 0]);
        assert_eq!(classes.label, "tier");
        assert_eq!(classes.values, strings(&["2", "9", "10"]));
        assert_eq!(codes, vec![2, 1, 0, 2]);
        // Text: byte order puts the capital first ('B' is 66, 'a' 97).
        let (classes, codes) = Classes::ordered("p", &strings(&["b", "B", "a"]), &[0, 1, 2]);
        assert_eq!(classes.values, strings(&["B", "a", "b"]));
        assert_eq!(codes, vec![2, 0, 1]);
        // One value that is not an integer: every value orders as text.
        let (classes, codes) = Classes::ordered("p", &strings(&["x", "10", "9"]), &[0, 1, 2]);
        assert_eq!(classes.values, strings(&["10", "9", "x"]));
        assert_eq!(codes, vec![2, 0, 1]);
    }

    #[test]
    fn max_features_of_the_columns() {
        assert_eq!(MaxFeatures::Sqrt.of(21), 4);
        assert_eq!(MaxFeatures::Log2.of(21), 4);
        assert_eq!(MaxFeatures::All.of(21), 21);
        assert_eq!(MaxFeatures::Sqrt.of(1), 1);
        assert_eq!(MaxFeatures::Log2.of(1), 1);
    }
}
