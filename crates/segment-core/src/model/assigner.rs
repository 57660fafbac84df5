//! A stored model prepared for assignment: the row's preprocessing replayed (log, impute, scale)
//! and the method's rule (nearest centre, mixture, density core points, tree). `assign` allocates
//! nothing: it runs once per row in `segment_assign`.

use crate::cluster::dbscan::DensityRule;
use crate::cluster::gmm::MixtureRule;
use crate::cluster::kmeans::Centres;
use crate::cluster::ward::WardSample;
use crate::error::{CoreError, CoreResult};
use crate::model::anomaly::{Anomaly, AnomalyThreshold};
use crate::prep::preprocessor::Preprocessor;
use crate::tree::cart::Tree;
use crate::tree::churn::Churn;
use crate::tree::forest::ForestRule;

/// How a prepared row finds its segment.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    NearestCentre,
    /// Ward: the segment of the nearest fitted sample point.
    NearestPoint(WardSample),
    Mixture(MixtureRule),
    Density(Box<DensityRule>),
    Tree(Box<Churn>),
    /// A classifier tree: the leaf's majority class.
    ClassTree(Box<Tree>),
    /// A random forest: the class of highest mean leaf share.
    Forest(Box<ForestRule>),
    /// k-prototypes: the lowest squared distance on the numbers plus γ per mismatched category.
    Prototypes(Box<PrototypeRule>),
}

/// k-prototypes' rule on a scaled row of matrix columns: numeric columns as they are; each
/// categorical feature's one-hot columns read as one category, the column of the highest value
/// (the one 1 of a known value, the most frequent category when a NULL was imputed with the
/// columns' means), or none for a value not seen at fit time (all zeros), which matches no mode.
#[derive(Debug, Clone)]
pub struct PrototypeRule {
    gamma: f64,
    numeric: Vec<usize>,
    /// Per categorical feature: its first matrix column and its number of values.
    slices: Vec<(usize, usize)>,
    /// k × numeric columns.
    numbers: Vec<f64>,
    /// k × categorical features: the mode's index within its feature's values.
    modes: Vec<u32>,
}

impl PrototypeRule {
    pub fn new(
        centres: &[Vec<f64>],
        categories: &[Option<Vec<String>>],
        columns: &crate::prep::encoding::Columns,
        gamma: f64,
    ) -> PrototypeRule {
        let (numeric, slices) = columns.split(categories);
        let mut rule = PrototypeRule {
            gamma,
            numeric,
            slices,
            numbers: Vec::new(),
            modes: Vec::new(),
        };
        for c in centres {
            rule.numbers.extend(rule.numeric.iter().map(|&j| c[j]));
            let modes: Vec<u32> = rule.slices.iter().map(|&s| category_of(c, s)).collect();
            rule.modes.extend(modes);
        }
        rule
    }

    /// Each prototype's dissimilarity to a scaled row into `out` (k values).
    #[inline]
    pub fn dissimilarities(&self, row: &[f64], out: &mut [f64]) {
        let (p, q) = (self.numeric.len(), self.slices.len());
        for (c, o) in out.iter_mut().enumerate() {
            let centre = &self.numbers[c * p..(c + 1) * p];
            *o = self
                .numeric
                .iter()
                .zip(centre)
                .map(|(&j, m)| (row[j] - m) * (row[j] - m))
                .sum();
        }
        for (f, &slice) in self.slices.iter().enumerate() {
            let code = category_of(row, slice);
            for (c, o) in out.iter_mut().enumerate() {
                if self.modes[c * q + f] != code {
                    *o += self.gamma;
                }
            }
        }
    }

    /// The nearest prototype (the lowest on a tie); `scratch` needs k values.
    #[inline]
    pub fn classify(&self, row: &[f64], scratch: &mut [f64]) -> u32 {
        self.dissimilarities(row, scratch);
        let mut best = 0;
        for c in 1..scratch.len() {
            if scratch[c] < scratch[best] {
                best = c;
            }
        }
        best as u32
    }
}

/// The category a one-hot slice `(start, len)` of a row holds: the first column of the highest
/// value, `kprototypes::UNKNOWN` when every value is 0 (a value not seen at fit time).
#[inline]
pub fn category_of(row: &[f64], (start, len): (usize, usize)) -> u32 {
    let slice = &row[start..start + len];
    let mut best = 0;
    for (l, &v) in slice.iter().enumerate() {
        if v > slice[best] {
            best = l;
        }
    }
    if slice[best] > 0.0 {
        best as u32
    } else {
        crate::cluster::kprototypes::UNKNOWN
    }
}

/// A model prepared for assignment. `assign` allocates nothing.
#[derive(Debug, Clone)]
pub struct Assigner {
    pub(crate) rule: Rule,
    pub(crate) centres: Centres,
    /// Log, imputation and scaling of a raw row (it names the matrix columns in messages).
    pub(crate) prep: Preprocessor,
    pub(crate) features: Vec<String>,
    pub(crate) categories: Vec<Option<Vec<String>>>,
    /// First matrix column of each feature.
    pub(crate) offsets: Vec<usize>,
    /// A classifier's class values, by segment id (empty for other models).
    pub(crate) classes: Vec<String>,
    /// The stored anomaly threshold (`model::anomaly`), if the fit made one.
    pub(crate) anomaly: Option<AnomalyThreshold>,
}

impl Assigner {
    /// Width of a raw row: one value per matrix column.
    pub fn n_columns(&self) -> usize {
        self.prep.width()
    }

    pub fn columns(&self) -> &[String] {
        self.prep.columns()
    }

    /// The model's preprocessing.
    pub fn preprocessor(&self) -> &Preprocessor {
        &self.prep
    }

    /// The one-hot values of feature `j`, None when it is numeric.
    pub fn categories_of(&self, j: usize) -> Option<&[String]> {
        self.categories.get(j).and_then(|c| c.as_deref())
    }

    /// Whether any feature is one-hot encoded.
    pub fn has_categories(&self) -> bool {
        self.categories.iter().any(|c| c.is_some())
    }

    /// The matrix column feature `j` starts at.
    pub fn offset_of(&self, j: usize) -> usize {
        self.offsets[j]
    }

    pub fn k(&self) -> usize {
        self.centres.k()
    }

    /// A classifier's class value of segment `c`; None for other models.
    pub fn class_name(&self, c: u32) -> Option<&str> {
        self.classes.get(c as usize).map(String::as_str)
    }

    pub fn features(&self) -> &[String] {
        &self.features
    }

    #[inline]
    fn prepare_row(&self, row: &mut [f64]) -> CoreResult<bool> {
        self.prep.apply(row)
    }

    /// The segment of one row. `row` holds the raw feature values with NaN for NULL and is
    /// scaled in place; `scratch` needs `k()` values. `Ok(None)` when a NULL is skipped.
    #[inline]
    pub fn assign(&self, row: &mut [f64], scratch: &mut [f64]) -> CoreResult<Option<u32>> {
        if !self.prepare_row(row)? {
            return Ok(None);
        }
        Ok(Some(self.label_scaled(row, scratch)))
    }

    /// The segment of a row already in scaled units (`NOISE` for a DBSCAN outlier).
    #[inline]
    pub fn label_scaled(&self, row: &[f64], scratch: &mut [f64]) -> u32 {
        match &self.rule {
            Rule::NearestCentre => self.centres.nearest_fast(row, scratch).0,
            Rule::NearestPoint(sample) => sample.classify(row),
            Rule::Mixture(m) => m.classify(row, scratch).0,
            Rule::Density(den) => den.classify(row),
            Rule::Tree(churn) => churn.tree.leaf_of(row),
            Rule::ClassTree(tree) => tree.leaf_node(row).majority(),
            Rule::Forest(forest) => forest.proba(row, scratch),
            Rule::Prototypes(p) => p.classify(row, scratch),
        }
    }

    /// Classifiers only: the probability of each class into `out` (k values, in class order):
    /// a tree's leaf class shares, a forest's mean of them. `Ok(false)` when a NULL is skipped.
    pub fn class_proba(&self, row: &mut [f64], out: &mut [f64]) -> CoreResult<bool> {
        match &self.rule {
            Rule::ClassTree(tree) => {
                if !self.prepare_row(row)? {
                    return Ok(false);
                }
                let leaf = tree.leaf_node(row);
                for (o, &c) in out.iter_mut().zip(&leaf.counts) {
                    *o = c as f64 / leaf.rows as f64;
                }
                Ok(true)
            }
            Rule::Forest(forest) => {
                if !self.prepare_row(row)? {
                    return Ok(false);
                }
                forest.proba(row, out);
                Ok(true)
            }
            _ => Err(
                CoreError::wrong_model("class probabilities exist for classifiers only").with_hint(
                    "Fit one with segment_classify_fit; for a gmm model use segment_assign_proba.",
                ),
            ),
        }
    }

    /// Churn models only: the churn probability of a raw row (its leaf's training churn
    /// rate). `Ok(None)` when a NULL is skipped.
    pub fn churn_probability(&self, row: &mut [f64]) -> CoreResult<Option<f64>> {
        let Rule::Tree(churn) = &self.rule else {
            return Err(
                CoreError::wrong_model("churn probabilities exist for churn models only")
                    .with_hint("Fit one with segment_churn_fit."),
            );
        };
        if !self.prepare_row(row)? {
            return Ok(None);
        }
        // The leaf's own counts: no per-row lookup of the leaf list.
        Ok(Some(churn.tree.leaf_node(row).churn_rate()))
    }

    /// Mixture models only: the membership probability of each segment into `out` (k values)
    /// and the row's log-likelihood. `Ok(None)` when a NULL is skipped.
    pub fn memberships(&self, row: &mut [f64], out: &mut [f64]) -> CoreResult<Option<f64>> {
        let Rule::Mixture(m) = &self.rule else {
            return Err(CoreError::wrong_model(
                "membership probabilities exist for Gaussian mixture models only",
            )
            .with_hint(
                "Fit the model with options '{\"method\": \"gmm\"}', or use segment_assign (for a classifier, segment_classify_proba).",
            ));
        };
        if !self.prepare_row(row)? {
            return Ok(None);
        }
        Ok(Some(m.classify(row, out).1))
    }

    /// The row's anomaly verdict (`model::anomaly`): its segment, its score and the stored
    /// threshold. `Ok(None)` when a NULL is skipped.
    pub fn anomaly(&self, row: &mut [f64], scratch: &mut [f64]) -> CoreResult<Option<Anomaly>> {
        let Some(stored) = self.anomaly else {
            return Err(self.no_anomaly_threshold());
        };
        if !self.prepare_row(row)? {
            return Ok(None);
        }
        let (segment, score) = self.anomaly_score_scaled(row, scratch);
        Ok(Some(Anomaly {
            segment,
            score,
            threshold: stored.threshold,
        }))
    }

    fn no_anomaly_threshold(&self) -> CoreError {
        match &self.rule {
            Rule::Density(_) => CoreError::wrong_model(
                "a DBSCAN model marks its own anomalies: its noise rows, segment -1",
            )
            .with_hint("Select the rows where segment_assign(model, row) = -1."),
            Rule::Tree(_) | Rule::ClassTree(_) | Rule::Forest(_) => CoreError::wrong_model(
                "anomaly scores measure distances to segments found in the data: churn trees and classifiers have none",
            )
            .with_hint("Fit a clustering model with segment_fit to flag customers who fit no segment."),
            _ => CoreError::wrong_model(
                "this model version stores no anomaly threshold: it was fitted by a streaming method (minibatch_kmeans, engine aggregate) or before version 0.3",
            )
            .with_hint("Refit it with segment_fit in memory (method kmeans, gmm, hierarchical or kprototypes); option contamination sets the share flagged."),
        }
    }

    /// The segment and anomaly score of a row already in scaled units (`model::anomaly` says
    /// what the score is per method; NaN for models without one).
    pub fn anomaly_score_scaled(&self, row: &[f64], scratch: &mut [f64]) -> (u32, f64) {
        match &self.rule {
            Rule::Mixture(m) => {
                let (segment, log_likelihood) = m.classify(row, scratch);
                (segment, -log_likelihood)
            }
            Rule::Prototypes(p) => {
                let segment = p.classify(row, scratch);
                (segment, scratch[segment as usize].max(0.0).sqrt())
            }
            Rule::NearestCentre | Rule::NearestPoint(_) => {
                let segment = self.label_scaled(row, scratch);
                let d2: f64 = row
                    .iter()
                    .zip(self.centres.row(segment as usize))
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum();
                (segment, d2.sqrt())
            }
            _ => (self.label_scaled(row, scratch), f64::NAN),
        }
    }

    /// `memberships` for a row already in scaled units; returns its log-likelihood.
    pub fn memberships_scaled(&self, row: &mut [f64], out: &mut [f64]) -> f64 {
        match &self.rule {
            Rule::Mixture(m) => m.classify(row, out).1,
            _ => f64::NAN,
        }
    }

    /// k-prototypes only: `kprototypes::distance_weights` of its columns.
    pub fn distance_weights(&self) -> Option<Vec<f64>> {
        let Rule::Prototypes(p) = &self.rule else {
            return None;
        };
        Some(crate::cluster::kprototypes::distance_weights(
            self.n_columns(),
            &p.slices,
            p.gamma,
        ))
    }

    /// Whether the segments are told by distances to centres or to points (k-means, Ward):
    /// what `explain` can measure.
    pub fn is_centroid_model(&self) -> bool {
        matches!(self.rule, Rule::NearestCentre | Rule::NearestPoint(_))
    }

    /// Puts a raw row (NaN for NULL) in the model's scaled space in place: log features,
    /// imputation, scaling. `Ok(false)` when a NULL is skipped.
    pub fn scale_raw(&self, row: &mut [f64]) -> CoreResult<bool> {
        self.prepare_row(row)
    }

    /// The segment of one row of raw values (NaN for NULL), whatever the method: what
    /// `segment_assign` returns. `row` is scaled in place. `Ok(None)` when a NULL is skipped.
    pub fn label_raw(&self, row: &mut [f64], scratch: &mut [f64]) -> CoreResult<Option<u32>> {
        self.assign(row, scratch)
    }

    /// Segment centres in scaled units.
    pub fn centres(&self) -> &Centres {
        &self.centres
    }

    /// The segment of one row with how sure it is: the distance to its centre and to the
    /// runner-up centre (in scaled units). Same input rules as `assign`. For Ward the segment is
    /// the one `assign` gives (its nearest sample point's) and the runner-up the nearest other
    /// centre.
    pub fn explain(&self, row: &mut [f64], scratch: &mut [f64]) -> CoreResult<Option<Explanation>> {
        if !self.is_centroid_model() {
            return Err(CoreError::wrong_model(
                "segment_explain measures distances to centres: it explains k-means and hierarchical models only",
            )
            .with_hint("For a gmm model use segment_assign_proba, for a classifier segment_classify_proba."));
        }
        if !self.prepare_row(row)? {
            return Ok(None);
        }
        let (nearest, d2) = self.centres.nearest(row, scratch);
        // `nearest` left every squared distance in scratch.
        let (segment, d2) = match &self.rule {
            Rule::NearestPoint(sample) => {
                let s = sample.classify(row);
                (s, scratch[s as usize])
            }
            _ => (nearest, d2),
        };
        let second = (0..self.k()).filter(|&c| c != segment as usize).fold(
            None,
            |best: Option<(usize, f64)>, c| match best {
                Some((_, b)) if b <= scratch[c] => best,
                _ => Some((c, scratch[c])),
            },
        );
        Ok(Some(Explanation {
            segment,
            distance: d2.sqrt(),
            second: second.map(|(c, d)| (c as u32, d.sqrt())),
        }))
    }
}

/// See `Assigner::explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub segment: u32,
    pub distance: f64,
    /// The runner-up segment and its distance; None for a one-segment model.
    pub second: Option<(u32, f64)>,
}
