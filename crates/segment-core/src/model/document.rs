//! The stored model: everything `segment_assign` needs (features, imputation, scaling, centres)
//! plus the profile computed at fit time, as one serde document with a format version.

use crate::analysis::profile::Profile;
use crate::cluster::dbscan::{Density, DensityRule};
use crate::cluster::gmm::{Mixture, MixtureRule};
use crate::cluster::kmeans::Centres;
use crate::cluster::ward::WardSample;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::anomaly::AnomalyThreshold;
use crate::model::assigner::{Assigner, PrototypeRule, Rule};
use crate::prep::encoding::{column_log_mask, Columns};
use crate::prep::preprocessor::Preprocessor;
use crate::prep::scaling::{undo_log, Imputer, Scaler};
use crate::tree::cart::Tree;
use crate::tree::churn::Churn;
use crate::tree::classify::Classes;
use crate::tree::forest::Forest;
use serde::{Deserialize, Serialize};

/// Bump when the document changes shape; `SegmentModel::from_json` says what it can read.
pub const FORMAT_VERSION: u32 = 1;

/// The clustering method; every method stores centres and assigns with `segment_assign`.
/// The `method` of an index document (no segment model has it).
pub const GROUPED: &str = "grouped";

/// Whether a stored document is a per-group index (checked before parsing it as a segment model).
pub fn is_index(document: &serde_json::Value) -> bool {
    document.get("method").and_then(|m| m.as_str()) == Some(GROUPED)
}

/// A stored segment model that cannot be read, with the way out.
fn bad_model(msg: String) -> CoreError {
    CoreError::new(ErrorKind::BadModel, msg)
        .with_hint("Refit the model with segment_fit, or drop it with segment_drop.")
}

/// The one check of a stored document's format version (every kind of document has one):
/// `what` names the document in the message.
pub fn check_format(document: &serde_json::Value, what: &str) -> Result<(), String> {
    let version = document.get("format_version").and_then(|v| v.as_u64());
    if version == Some(FORMAT_VERSION as u64) {
        return Ok(());
    }
    let found = version.map_or("none".to_string(), |v| v.to_string());
    Err(format!(
        "{what} has format version {found}, this version of customer_segment reads {FORMAT_VERSION}"
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
/// A method's name is its variant's in snake_case, in stored documents (serde) and everywhere
/// else ([`Method::name`], checked against serde by a test): one spelling.
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// k-means (our kernel): a row joins the nearest centre.
    #[default]
    Kmeans,
    /// Gaussian mixture, full covariances (our EM): a row joins the most probable component.
    Gmm,
    /// Agglomerative Ward on a sample; a row joins the nearest segment centre.
    Hierarchical,
    /// Mini-batch k-means over the streamed rows (memory independent of the rows): a row joins
    /// the nearest centre.
    MinibatchKmeans,
    /// A churn classification tree (`segment_churn_fit`): a row's segment is its leaf.
    ChurnTree,
    /// DBSCAN (linfa) on a sample; a row joins the segment of the nearest core point within
    /// eps, or is noise (segment -1).
    Dbscan,
    /// A classifier into known segments, one tree (`segment_classify_fit`): a row's segment is
    /// its leaf's majority class.
    DecisionTree,
    /// A classifier into known segments, a random forest (`segment_classify_fit` with method
    /// forest): a row's segment is its most probable class.
    RandomForest,
    /// k-prototypes (Huang 1998) for numbers and categories: a row joins the prototype of the
    /// lowest squared distance on the scaled numbers plus γ per mismatched category.
    Kprototypes,
}

/// What a model name means to the views, rules and reports that use it: the columns it reads
/// (for a CLV model its customer, time and amount columns), its method (for a per-group model,
/// its groups' method, and the grouping column) and, for a churn model, its label. A refit with
/// the same meaning (other k, options or rows) is a new version as always; one that changes the
/// meaning is refused unless the call says `replace` (the shell's `catalog::check_meaning`).
/// Each stored kind says its own: `SegmentModel::meaning`, `GroupIndex::meaning`,
/// `ClvModel::meaning`.
#[derive(Debug, Clone, PartialEq)]
pub struct Meaning {
    pub features: Vec<String>,
    pub method: String,
    pub group_by: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentModel {
    pub format_version: u32,
    /// Source column names: what `segment_assign` looks up in a row.
    pub features: Vec<String>,
    /// Empty when every feature is numeric; else one entry per feature: None for numeric, the
    /// one-hot values (sorted) for a text or boolean feature. The matrix columns every vector
    /// below is laid out on are `columns()`: a numeric feature is one column, a categorical one
    /// a column per value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Option<Vec<String>>>,
    /// Features taken as log(1 + x) before imputation and scaling (the `log` option).
    #[serde(default)]
    pub log: Vec<String>,
    pub imputer: Imputer,
    pub scaler: Scaler,
    /// One centre per segment, in scaled units (k-means centres, mixture means, member means for
    /// hierarchical and DBSCAN). Segment ids are indexes: 0 is the largest segment at a first fit.
    pub centres: Vec<Vec<f64>>,
    /// The method and what it stores to assign a row beyond the centres: the document's
    /// `method` key and, for some methods, one more key (`mixture`, `density`, `churn`).
    #[serde(flatten)]
    pub rule: MethodRule,
    pub profile: Profile,
    /// The threshold of `segment_anomaly` (`model::anomaly`): absent for DBSCAN (its noise rows
    /// are its anomalies), supervised models, streaming fits and documents written before 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<AnomalyThreshold>,
    /// After an incremental update (`model::update`): the rows each centre stands for, by
    /// segment. Absent after a fit, where they are the profile's sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
}

/// What each method stores to assign a row, told apart by the document's `method` key. Methods
/// that assign to the nearest centre store nothing more than the centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum MethodRule {
    Kmeans,
    /// The fitted sample with each point's dendrogram segment: a row joins its nearest sample
    /// point's segment. Documents written before the sample was kept have none: their rows join
    /// the nearest centre.
    Hierarchical {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sample: Option<WardSample>,
    },
    MinibatchKmeans,
    /// Weights and covariances: a row joins the most probable component.
    Gmm {
        mixture: Mixture,
    },
    /// eps and the core points: a row joins its nearest core point's segment within eps.
    Dbscan {
        density: Density,
    },
    /// The tree, the label and how leaves read as churn risk: a row's segment is its leaf.
    ChurnTree {
        churn: Churn,
    },
    /// The label's classes (the segments, in id order) and the tree: a row's segment is its
    /// leaf's majority class. `leaf_rows` counts the fitted rows (train and test) per leaf.
    DecisionTree {
        classes: Classes,
        tree: Tree,
        leaf_rows: Vec<u64>,
    },
    /// The label's classes and the forest: a row's segment is its most probable class.
    RandomForest {
        classes: Classes,
        forest: Forest,
    },
    /// γ, the weight of one mismatched category; the prototypes are the centres (scaled means
    /// on the numeric columns, each category's mode as a one-hot 1 on its columns).
    Kprototypes {
        gamma: f64,
    },
}

impl MethodRule {
    pub fn method(&self) -> Method {
        match self {
            MethodRule::Kmeans => Method::Kmeans,
            MethodRule::Hierarchical { .. } => Method::Hierarchical,
            MethodRule::MinibatchKmeans => Method::MinibatchKmeans,
            MethodRule::Gmm { .. } => Method::Gmm,
            MethodRule::Dbscan { .. } => Method::Dbscan,
            MethodRule::ChurnTree { .. } => Method::ChurnTree,
            MethodRule::DecisionTree { .. } => Method::DecisionTree,
            MethodRule::RandomForest { .. } => Method::RandomForest,
            MethodRule::Kprototypes { .. } => Method::Kprototypes,
        }
    }
}

/// The methods `segment_fit` fits (the others are fitted by `segment_churn_fit` and
/// `segment_classify_fit`), in the order errors list them.
pub const CLUSTERING_METHODS: [Method; 6] = [
    Method::Kmeans,
    Method::Gmm,
    Method::Hierarchical,
    Method::Dbscan,
    Method::MinibatchKmeans,
    Method::Kprototypes,
];

impl Method {
    pub const fn name(self) -> &'static str {
        match self {
            Method::Kmeans => "kmeans",
            Method::Gmm => "gmm",
            Method::Hierarchical => "hierarchical",
            Method::Dbscan => "dbscan",
            Method::MinibatchKmeans => "minibatch_kmeans",
            Method::ChurnTree => "churn_tree",
            Method::DecisionTree => "decision_tree",
            Method::RandomForest => "random_forest",
            Method::Kprototypes => "kprototypes",
        }
    }

    /// Whether its segments are classes of a label learned from labelled rows (churn trees and
    /// classifiers), not found in the data.
    pub fn is_supervised(self) -> bool {
        matches!(
            self,
            Method::ChurnTree | Method::DecisionTree | Method::RandomForest
        )
    }
}

impl SegmentModel {
    /// The stored model of a supervised fit (churn tree, classifier): rows in raw units (a tree
    /// needs no scale), segments `labels` (0..k) profiled over every row and centred on their
    /// means.
    pub fn unscaled(
        features: Vec<String>,
        categories: Vec<Option<Vec<String>>>,
        imputer: Imputer,
        matrix: &crate::prep::matrix::FeatureMatrix,
        labels: &[u32],
        k: usize,
        rule: MethodRule,
    ) -> SegmentModel {
        let d = matrix.n_cols();
        let scaler = Scaler::identity(d);
        let profile = Profile::measure(matrix, labels, k, &scaler, &vec![false; d]);
        SegmentModel {
            format_version: FORMAT_VERSION,
            features,
            categories,
            log: Vec::new(),
            imputer,
            scaler,
            centres: profile.means.clone(),
            rule,
            profile,
            anomaly: None,
            weights: None,
        }
    }

    pub fn k(&self) -> usize {
        self.centres.len()
    }

    pub fn method(&self) -> Method {
        self.rule.method()
    }

    /// Its features and method, and a churn model's label.
    pub fn meaning(&self) -> Meaning {
        Meaning {
            features: self.features.clone(),
            method: self.method().name().to_string(),
            group_by: None,
            label: self
                .churn()
                .map(|c| c.label.clone())
                .or_else(|| self.classes().map(|c| c.label.clone())),
        }
    }

    /// Each segment's label when the analyst has not named it: a classifier's class value, or
    /// words from the profile (`automatic_labels`) for the other models, after a churn leaf's
    /// risk ("high churn risk: low tenure").
    pub fn automatic_labels(&self) -> Vec<String> {
        if let Some(c) = self.classes() {
            return c.values.clone();
        }
        let risks: Vec<String> = match self.churn() {
            Some(churn) => churn
                .tree
                .leaves()
                .iter()
                .map(|leaf| churn.risk(leaf.churn_rate()).to_string())
                .collect(),
            None => Vec::new(),
        };
        crate::analysis::profile::automatic_labels(
            &self.profile,
            &self.features,
            &self.categories,
            &risks,
        )
    }

    /// k-prototypes only: `kprototypes::distance_weights` of its columns, read from the document
    /// (without preparing an assigner).
    pub fn distance_weights(&self) -> Option<Vec<f64>> {
        let MethodRule::Kprototypes { gamma } = self.rule else {
            return None;
        };
        let columns = self.columns();
        let (_, slices) = columns.split(&self.categories);
        Some(crate::cluster::kprototypes::distance_weights(
            columns.width(),
            &slices,
            gamma,
        ))
    }

    /// Classifiers only: each matrix column's share of the impurity decrease (a tree's, or the
    /// mean over a forest's trees).
    pub fn class_importance(&self) -> Option<Vec<f64>> {
        match &self.rule {
            MethodRule::DecisionTree { tree, .. } => Some(tree.importance(self.columns().width())),
            MethodRule::RandomForest { forest, .. } => Some(forest.importance.clone()),
            _ => None,
        }
    }

    /// Classifiers only: the label column and its classes (the segments, in id order).
    pub fn classes(&self) -> Option<&Classes> {
        match &self.rule {
            MethodRule::DecisionTree { classes, .. } | MethodRule::RandomForest { classes, .. } => {
                Some(classes)
            }
            _ => None,
        }
    }

    /// Churn models only: the tree and how its leaves read as churn risk.
    pub fn churn(&self) -> Option<&Churn> {
        match &self.rule {
            MethodRule::ChurnTree { churn } => Some(churn),
            _ => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model always serializes")
    }

    /// Reads a stored document, refusing other format versions and inconsistent shapes.
    pub fn from_json(text: &str) -> CoreResult<SegmentModel> {
        let head: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad_model(format!("stored model is not valid JSON: {e}")))?;
        SegmentModel::from_value(head)
    }

    /// `from_json` for a document already parsed.
    pub fn from_value(head: serde_json::Value) -> CoreResult<SegmentModel> {
        let bad = bad_model;
        if head.get("method").and_then(|m| m.as_str()) == Some("clv") {
            return Err(CoreError::new(
                ErrorKind::WrongModel,
                "is a customer lifetime value model, not a segment model",
            )
            .with_hint("Use segment_clv for it."));
        }
        if is_index(&head) {
            let by = head
                .get("group_by")
                .and_then(|g| g.as_str())
                .unwrap_or_default();
            return Err(CoreError::new(
                ErrorKind::WrongModel,
                format!("is fitted per group of \"{by}\", not one segment model"),
            )
            .with_hint("List its groups and their models with segment_groups(model); each group's model is named <model>/<value>."));
        }
        check_format(&head, "stored model").map_err(bad)?;
        let model: SegmentModel = serde_json::from_value(head)
            .map_err(|e| bad(format!("stored model is malformed: {e}")))?;
        model.validate().map_err(bad)?;
        Ok(model)
    }

    /// The matrix columns: feature names, "feature=value" for one-hot columns.
    pub fn columns(&self) -> Columns {
        Columns::of(&self.features, &self.categories)
    }

    fn validate(&self) -> Result<(), String> {
        if !self.categories.is_empty()
            && (self.categories.len() != self.features.len()
                || self.categories.iter().flatten().any(|c| c.is_empty()))
        {
            return Err("stored model's categories do not match its features".into());
        }
        if column_log_mask(&self.features, &self.categories, &self.log).is_err() {
            return Err("stored model takes the log of a categorical feature".into());
        }
        let d = self.columns().width();
        let k = self.centres.len();
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if d == 0 || k == 0 {
            return Err("stored model has no features or no segments".into());
        }
        if self.scaler.offset.len() != d || self.scaler.scale.len() != d {
            return Err("stored model's scaler does not match its features".into());
        }
        if !finite(&self.scaler.offset)
            || !self.scaler.scale.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err("stored model's scaler has non-finite or zero values".into());
        }
        if let Some(values) = self.imputer.fill_values() {
            if values.len() != d || !finite(values) {
                return Err("stored model's imputer does not match its features".into());
            }
        }
        if self.log.iter().any(|l| !self.features.contains(l)) {
            return Err("stored model's log features are not among its features".into());
        }
        if self.centres.iter().any(|c| c.len() != d || !finite(c)) {
            return Err("stored model's centres do not match its features".into());
        }
        if let Some(w) = &self.weights {
            if w.len() != k || !w.iter().all(|v| v.is_finite() && *v >= 0.0) {
                return Err("stored model's update weights do not match its segments".into());
            }
        }
        if let Some(a) = &self.anomaly {
            a.validate()
                .map_err(|e| format!("stored model's anomaly threshold: {}", e.message))?;
        }
        match &self.rule {
            MethodRule::ChurnTree { churn } => {
                churn.tree.validate(d)?;
                if churn.tree.leaves().len() != k {
                    return Err("stored model's tree leaves do not match its segments".into());
                }
            }
            MethodRule::DecisionTree {
                classes,
                tree,
                leaf_rows,
            } => {
                tree.validate(d)?;
                let leaves = tree.leaves();
                if classes.values.len() != k
                    || leaf_rows.len() != leaves.len()
                    || tree.nodes.iter().any(|n| n.counts.len() != k)
                {
                    return Err("stored model's tree does not match its classes".into());
                }
                // A leaf predicts by its counts: an empty one would predict nothing.
                if leaves.iter().any(|l| l.rows == 0) {
                    return Err("stored model's tree has an empty leaf".into());
                }
            }
            MethodRule::RandomForest { classes, forest } => {
                if classes.values.len() != k {
                    return Err("stored model's forest does not match its classes".into());
                }
                forest.validate(d, k)?;
            }
            MethodRule::Kprototypes { gamma } => {
                let columns = self.columns();
                let one_hot = |c: &[f64], j: usize, len: usize| {
                    let slice = &c[columns.offsets[j]..columns.offsets[j] + len];
                    slice.iter().filter(|&&v| v == 1.0).count() == 1
                        && slice.iter().all(|&v| v == 0.0 || v == 1.0)
                };
                let cats: Vec<(usize, usize)> = self
                    .categories
                    .iter()
                    .enumerate()
                    .filter_map(|(j, c)| c.as_ref().map(|v| (j, v.len())))
                    .collect();
                if !(gamma.is_finite() && *gamma >= 0.0)
                    || cats.is_empty()
                    || self
                        .centres
                        .iter()
                        .any(|c| cats.iter().any(|&(j, len)| !one_hot(c, j, len)))
                {
                    return Err(
                        "stored model's prototypes do not have one mode per category".into(),
                    );
                }
            }
            MethodRule::Gmm { mixture: mx } => {
                if mx.weights.len() != k
                    || mx.covariances.len() != k
                    || mx
                        .covariances
                        .iter()
                        .any(|c| c.len() != d * d || !finite(c))
                    || !mx.weights.iter().all(|w| w.is_finite() && *w > 0.0)
                {
                    return Err("stored model's mixture does not match its segments".into());
                }
                MixtureRule::new(mx, &self.centres)
                    .map_err(|e| format!("stored model's mixture is invalid: {e}"))?;
            }
            MethodRule::Dbscan { density: den } => {
                if !(den.eps.is_finite() && den.eps > 0.0)
                    || den.core_points.len() != den.core_labels.len() * d
                    || !finite(&den.core_points)
                    || den.core_labels.iter().any(|&l| l as usize >= k)
                {
                    return Err("stored model's core points do not match its segments".into());
                }
            }
            MethodRule::Hierarchical {
                sample: Some(sample),
            } => {
                if sample.labels.is_empty()
                    || sample.points.len() != sample.labels.len() * d
                    || !finite(&sample.points)
                    || sample.labels.iter().any(|&l| l as usize >= k)
                    || sample
                        .points
                        .chunks_exact(d)
                        .zip(sample.points.chunks_exact(d).skip(1))
                        .any(|(a, b)| a[0] > b[0])
                {
                    return Err("stored model's sample points do not match its segments".into());
                }
            }
            MethodRule::Kmeans
            | MethodRule::Hierarchical { sample: None }
            | MethodRule::MinibatchKmeans => {}
        }
        self.profile.validate(k, d, &self.log_mask())
    }

    /// Gives segment i the id `new_id[i]` (a permutation of `0..k`); everything stored per
    /// segment moves with it.
    pub fn renumber(&mut self, new_id: &[u32]) {
        fn permute<T: Clone>(v: &mut [T], new_id: &[u32]) {
            let old = v.to_vec();
            for (i, item) in old.into_iter().enumerate() {
                v[new_id[i] as usize] = item;
            }
        }
        assert_eq!(new_id.len(), self.k());
        permute(&mut self.centres, new_id);
        if let Some(w) = &mut self.weights {
            permute(w, new_id);
        }
        self.profile.renumber(new_id);
        match &mut self.rule {
            MethodRule::Gmm { mixture } => {
                permute(&mut mixture.weights, new_id);
                permute(&mut mixture.covariances, new_id);
            }
            MethodRule::Dbscan { density } => density.renumber(new_id),
            // A tree's leaves are its segments: their ids follow the tree, never renumbered.
            // A classifier's segments are its classes, in the label's order.
            MethodRule::ChurnTree { .. }
            | MethodRule::DecisionTree { .. }
            | MethodRule::RandomForest { .. } => {}
            MethodRule::Kprototypes { .. } => {}
            MethodRule::Hierarchical {
                sample: Some(sample),
            } => sample.renumber(new_id),
            MethodRule::Kmeans
            | MethodRule::Hierarchical { sample: None }
            | MethodRule::MinibatchKmeans => {}
        }
    }

    /// Per matrix column: whether it is in log units.
    pub fn log_mask(&self) -> Vec<bool> {
        column_log_mask(&self.features, &self.categories, &self.log)
            .expect("validated: log names numeric features")
    }

    /// Centres in original units, `[segment][feature]`. For a log feature that is exp(c) - 1 of
    /// the centre c found in log units.
    pub fn centres_original(&self) -> Vec<Vec<f64>> {
        let mask = self.log_mask();
        self.centres
            .iter()
            .map(|c| {
                let mut c = c.clone();
                self.scaler.inverse_row(&mut c);
                undo_log(&mask, &mut c);
                c
            })
            .collect()
    }

    /// The preprocessing every row goes through before the method's rule.
    pub fn preprocessor(&self) -> Preprocessor {
        Preprocessor::new(
            self.log_mask(),
            self.imputer.clone(),
            &self.scaler,
            self.columns().names,
        )
    }

    /// What `segment_assign` evaluates per row, laid out for speed.
    pub fn assigner(&self) -> Assigner {
        let columns = self.columns();
        let d = columns.width();
        let rule =
            match &self.rule {
                // from_json validated the mixture: the factorization succeeds.
                MethodRule::Gmm { mixture } => Rule::Mixture(
                    MixtureRule::new(mixture, &self.centres)
                        .expect("a validated mixture factorizes"),
                ),
                MethodRule::Dbscan { density } => {
                    Rule::Density(Box::new(DensityRule::new(density.clone())))
                }
                MethodRule::ChurnTree { churn } => Rule::Tree(Box::new(churn.clone())),
                MethodRule::DecisionTree { tree, .. } => Rule::ClassTree(Box::new(tree.clone())),
                MethodRule::RandomForest { forest, .. } => {
                    Rule::Forest(Box::new(forest.rule(self.centres.len())))
                }
                MethodRule::Kprototypes { gamma } => Rule::Prototypes(Box::new(
                    PrototypeRule::new(&self.centres, &self.categories, &columns, *gamma),
                )),
                MethodRule::Hierarchical {
                    sample: Some(sample),
                } => Rule::NearestPoint(sample.clone()),
                MethodRule::Kmeans
                | MethodRule::Hierarchical { sample: None }
                | MethodRule::MinibatchKmeans => Rule::NearestCentre,
            };
        Assigner {
            rule,
            centres: Centres::new(self.centres.concat(), d),
            prep: self.preprocessor(),
            features: self.features.clone(),
            categories: self.categories.clone(),
            offsets: columns.offsets,
            classes: self.classes().map(|c| c.values.clone()).unwrap_or_default(),
            anomaly: self.anomaly,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::prep::scaling::ScaleMethod;

    #[test]
    fn a_method_has_one_name() {
        let every = [
            Method::Kmeans,
            Method::Gmm,
            Method::Hierarchical,
            Method::Dbscan,
            Method::MinibatchKmeans,
            Method::ChurnTree,
            Method::DecisionTree,
            Method::RandomForest,
            Method::Kprototypes,
        ];
        for method in every {
            // The stored documents' spelling (serde) is `name`'s.
            assert_eq!(serde_json::to_value(method).unwrap(), method.name());
            let back: Method = serde_json::from_value(method.name().into()).unwrap();
            assert_eq!(back, method);
        }
        assert_eq!(
            CLUSTERING_METHODS.map(Method::name),
            crate::model::options::PUBLIC_METHODS
        );
        assert!(CLUSTERING_METHODS.iter().all(|m| !m.is_supervised()));
    }

    pub(crate) fn tiny_model() -> SegmentModel {
        SegmentModel {
            format_version: FORMAT_VERSION,
            features: vec!["a".into(), "b".into()],
            categories: vec![],
            log: vec![],
            imputer: Imputer::Mean {
                means: vec![5.0, 0.0],
            },
            scaler: Scaler {
                method: ScaleMethod::Zscore,
                offset: vec![5.0, 0.0],
                scale: vec![5.0, 1.0],
            },
            centres: vec![vec![-1.0, 0.0], vec![1.0, 0.0]],
            rule: MethodRule::Kmeans,
            profile: Profile {
                sizes: vec![2, 2],
                means: vec![vec![0.0, 0.0], vec![10.0, 0.0]],
                medians: vec![vec![0.0, 0.0], vec![10.0, 0.0]],
                overall_mean: vec![5.0, 0.0],
                overall_sd: vec![5.0, 0.0],
                anova_f: vec![None, None],
                log_scale: None,
            },
            anomaly: None,
            weights: None,
        }
    }

    /// Churn leaves name their risk before their features; every label is unique; a 0/1 flag
    /// reads as yes/no or a share.
    #[test]
    fn churn_labels_name_the_risk() {
        // Fiber customers in their first 20 months all churn, and one row in 7 of the others.
        let (mut data, mut y) = (Vec::new(), Vec::new());
        for i in 0..600usize {
            let (tenure, fiber, senior) = ((i % 60) as f64, i % 2 == 1, (i % 5 == 0) as u8);
            data.extend([
                tenure,
                f64::from(senior),
                f64::from(!fiber as u8),
                f64::from(fiber as u8),
            ]);
            y.push((fiber && tenure < 20.0) || i % 7 == 0);
        }
        let features: Vec<String> = ["tenure", "senior_citizen", "internet_service"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let categories = vec![None, None, Some(vec!["DSL".into(), "Fiber optic".into()])];
        let options = crate::tree::churn::ChurnOptions {
            max_depth: 3,
            min_samples_leaf: 10,
            ..Default::default()
        };
        let (model, _) = crate::model::churn_fit::fit(
            crate::prep::matrix::FeatureMatrix::from_rows(data, 4),
            y,
            Imputer::Skip,
            0,
            features,
            categories,
            "churn".into(),
            "true".into(),
            &options,
            &mut || {},
        )
        .unwrap();
        let churn = model.churn().unwrap();
        let labels = model.automatic_labels();
        for (label, leaf) in labels.iter().zip(churn.tree.leaves()) {
            let rate = leaf.churn_rate();
            let risk = if rate >= 0.5 {
                "high churn risk"
            } else if rate > churn.base_rate {
                "above-average churn risk"
            } else {
                "low churn risk"
            };
            assert!(
                label.starts_with(risk),
                "{label}: {rate} {}",
                churn.base_rate
            );
            assert!(!label.contains("very high senior"), "{label}");
        }
        let mut unique = labels.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), labels.len(), "{labels:?}");
        // The leaf of young fiber customers.
        let young_fiber = churn
            .tree
            .leaves()
            .iter()
            .position(|l| l.churn_rate() == 1.0)
            .unwrap();
        assert_eq!(
            labels[young_fiber], "high churn risk: low tenure · internet service Fiber optic",
            "{labels:?}"
        );
    }

    #[test]
    fn json_round_trip() {
        let m = tiny_model();
        assert_eq!(SegmentModel::from_json(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn other_format_versions_are_refused() {
        let mut v: serde_json::Value = serde_json::from_str(&tiny_model().to_json()).unwrap();
        v["format_version"] = 0.into();
        let e = SegmentModel::from_json(&v.to_string()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadModel);
        assert!(e.message.contains("format version 0"), "{}", e.message);
    }

    #[test]
    fn inconsistent_shapes_are_refused() {
        let mut m = tiny_model();
        m.centres[1].push(3.0);
        assert_eq!(
            SegmentModel::from_json(&m.to_json()).unwrap_err().kind,
            ErrorKind::BadModel
        );
        let mut m = tiny_model();
        m.scaler.scale[0] = 0.0;
        assert!(SegmentModel::from_json(&m.to_json()).is_err());
    }

    #[test]
    fn assign_scales_imputes_and_picks_nearest() {
        let a = tiny_model().assigner();
        let mut s = vec![0.0; 2];
        assert_eq!(a.assign(&mut [1.0, 0.0], &mut s).unwrap(), Some(0));
        assert_eq!(a.assign(&mut [9.0, 0.0], &mut s).unwrap(), Some(1));
        // NULL a -> mean 5 -> scaled 0, equidistant: ties go to the lowest segment.
        assert_eq!(a.assign(&mut [f64::NAN, 0.0], &mut s).unwrap(), Some(0));
        assert_eq!(
            tiny_model().centres_original(),
            vec![vec![0.0, 0.0], vec![10.0, 0.0]]
        );
    }

    #[test]
    fn explain_gives_distances_to_the_two_nearest_centres() {
        // Centres at scaled (-1, 0) and (1, 0); a = 4 scales to -0.2: distances 0.8 and 1.2.
        let a = tiny_model().assigner();
        let mut s = vec![0.0; 2];
        let e = a.explain(&mut [4.0, 0.0], &mut s).unwrap().unwrap();
        assert_eq!(e.segment, 0);
        assert!((e.distance - 0.8).abs() < 1e-12);
        let (second, d) = e.second.unwrap();
        assert_eq!(second, 1);
        assert!((d - 1.2).abs() < 1e-12);
        let mut m = tiny_model();
        m.imputer = Imputer::Skip;
        assert_eq!(
            m.assigner().explain(&mut [f64::NAN, 0.0], &mut s).unwrap(),
            None
        );
    }
}
