//! The core's estimators as linfa models: k-means, Gaussian mixtures, DBSCAN, Ward, the CART
//! tree and the random forest, behind linfa 0.8's traits, so a Rust user fits them as any linfa
//! model and a test can put linfa-clustering's or linfa-trees' estimator in their place.
//!
//! ```
//! use linfa::prelude::*;
//! use ndarray::array;
//! use segment_core::estimator::KMeans;
//!
//! let x = array![[0.0, 0.1], [0.2, 0.0], [9.0, 9.1], [9.2, 9.0]];
//! let model = KMeans::params(2).n_init(4).seed(7).fit(&DatasetBase::from(x.clone())).unwrap();
//! let labels = model.predict(&x);
//! assert_eq!(labels[0], labels[1]);
//! assert_ne!(labels[0], labels[2]);
//! ```
//!
//! Each estimator follows linfa's pattern: `<Model>::params(..)` gives parameters as given,
//! [`ParamGuard::check`] the checked ones (the only ones that implement `Fit`; linfa's blanket
//! impl lets the unchecked ones fit too, checking first), `Fit` the model, and
//! `PredictInplace` (hence `Predict`) a label per row. The clustering methods reuse the
//! checked parameters the SQL fit reads from its options (`cluster::dbscan::DbscanMethod`,
//! `cluster::ward::WardMethod`; `KMeansMethod` and `GmmMethod` with a seed beside them), so a
//! parameter is checked by one rule with one message. The estimators wrap the kernels
//! (`cluster::kmeans::fit`, `cluster::gmm::fit`, `cluster::dbscan::fit`, `cluster::ward::ward`,
//! `tree::fit`, `tree::forest::fit`); none of the math is here.
//!
//! What differs from the SQL fit: an estimator fits every row of the dataset it is given (no
//! `sample_rows`: sample first for Ward and DBSCAN, whose time grows with the square of the
//! rows), on f64 records (finite values only), with every core
//! (`std::thread::available_parallelism`; no result depends on the thread count). Errors are
//! `CoreError`s (`From<linfa::Error>` is in `error`). Targets are ignored by the clustering
//! estimators and are class labels (`usize`, any values) for the trees.
//!
//! What predict means: k-means the nearest centre; a mixture the most probable component;
//! DBSCAN the segment of the nearest core point within eps, `None` (noise) if there is none;
//! Ward the segment of the nearest fitted row (Ward's segments are not Voronoi cells, so nearest
//! centres would move fitted rows; this is the rule `segment_assign` uses); the trees the
//! majority class of the row's leaf, or the class of highest mean probability over the forest.
//! A row with another number of columns than the fit's is a panic, as in linfa.

use crate::cluster::dbscan::{self, DbscanMethod, DbscanOptions, Density, NOISE};
use crate::cluster::gmm::{self, GmmMethod, GmmOptions, Mixture, MixtureRule};
use crate::cluster::kmeans::{self, Centres, Engine, KMeansMethod, KMeansOptions};
use crate::cluster::ward::{self, WardMethod, WardOptions, WardSample};
use crate::cluster::Starts;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{check_range, ParamGuard};
use crate::prep::matrix::FeatureMatrix;
use crate::tree::cart::{self, Criterion, TreeParams};
use crate::tree::classify::{MaxFeatures, MAX_TREES};
use crate::tree::forest::{self, Forest, ForestParams, ForestRule};
use linfa::dataset::AsSingleTargets;
use linfa::param_guard::TransformGuard;
use linfa::traits::{Fit, PredictInplace, Transformer};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayBase, Data, Ix2};

/// Every core: no kernel's result depends on the count.
fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// No interrupt to honour outside PostgreSQL.
fn no_check() {}

/// The records as the kernels take them: contiguous, row-major, finite, at least one column.
fn matrix<D: Data<Elem = f64>>(x: &ArrayBase<D, Ix2>) -> CoreResult<FeatureMatrix> {
    if x.ncols() == 0 {
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            "the records have no columns",
        ));
    }
    if let Some((at, v)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            format!(
                "row {}, column {} is {v}: the estimators take finite values",
                at / x.ncols(),
                at % x.ncols()
            ),
        )
        .with_hint("Impute or drop the rows with missing values first."));
    }
    Ok(FeatureMatrix::from_rows(
        x.iter().copied().collect(),
        x.ncols(),
    ))
}

/// Calls `f` with each row of `x` as a slice (copied only when the row is not contiguous).
/// Panics when `x` has not `d` columns.
fn for_rows<D: Data<Elem = f64>>(x: &ArrayBase<D, Ix2>, d: usize, mut f: impl FnMut(&[f64])) {
    assert_eq!(x.ncols(), d, "the model was fitted on {d} columns");
    let mut buffer = vec![0.0; d];
    for row in x.rows() {
        match row.as_slice() {
            Some(s) => f(s),
            None => {
                buffer.iter_mut().zip(row).for_each(|(b, v)| *b = *v);
                f(&buffer)
            }
        }
    }
}

/// `out[i] = f(row i)`, after the checks every predict makes.
fn each_row<D: Data<Elem = f64>, T>(
    x: &ArrayBase<D, Ix2>,
    d: usize,
    out: &mut Array1<T>,
    mut f: impl FnMut(&[f64]) -> T,
) {
    assert_eq!(
        x.nrows(),
        out.len(),
        "The number of data points must match the number of output targets."
    );
    let mut at = out.iter_mut();
    for_rows(x, d, |row| *at.next().expect("as many rows") = f(row));
}

fn k_of(k: usize) -> i64 {
    i64::try_from(k).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------------
// k-means

/// k-means (`cluster::kmeans`: greedy k-means++ starts, Lloyd iterations), fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    centres: Centres,
    inertia: f64,
    iterations: u32,
    converged: bool,
}

/// The parameters of k-means as given (linfa's unchecked params); `check` gives
/// [`KMeansValidParams`]. Defaults: scikit-learn's (10 starts of at most 300 iterations, tol
/// 1e-4 relative to the mean variance), seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams(KMeansValidParams);

/// The checked parameters of k-means: the SQL fit's `KMeansMethod` (k given) and a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansValidParams {
    method: KMeansMethod,
    seed: u64,
}

impl KMeans {
    pub fn params(k: usize) -> KMeansParams {
        KMeansParams(KMeansValidParams {
            method: KMeansMethod {
                k: Some(k_of(k)),
                scan: None,
                starts: Starts::default(),
                sample_rows: None,
                engine: Engine::Memory,
                warm_start: false,
                shares: Default::default(),
            },
            seed: 0,
        })
    }

    /// The centres, one row each.
    pub fn centroids(&self) -> Array2<f64> {
        Array2::from_shape_vec(
            (self.centres.k(), self.centres.d()),
            self.centres.rows().to_vec(),
        )
        .expect("k x d centres")
    }

    /// Sum of squared distances of the fitted rows to their centres (linfa's `inertia` is the
    /// mean).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations of the best start.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Whether the best start converged before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }
}

impl KMeansParams {
    /// k-means++ starts; the lowest inertia wins.
    pub fn n_init(mut self, n_init: u64) -> Self {
        self.0.method.starts.n_init = n_init;
        self
    }

    /// Most Lloyd iterations per start.
    pub fn max_iter(mut self, max_iter: u64) -> Self {
        self.0.method.starts.max_iter = max_iter;
        self
    }

    /// A start stops when the centres move (sum of squares) by at most tol times the mean
    /// feature variance, or when no label changes.
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.method.starts.tol = tol;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for KMeansParams {
    type Checked = KMeansValidParams;
    type Error = CoreError;

    /// The checks of `segment_fit`'s kmeans options (`KMeansOptions::check`).
    fn check_ref(&self) -> CoreResult<&KMeansValidParams> {
        KMeansOptions(self.0.method.clone()).check()?;
        Ok(&self.0)
    }

    fn check(self) -> CoreResult<KMeansValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, CoreError> for KMeansValidParams {
    type Object = KMeans;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<KMeans> {
        let x = matrix(&dataset.records)?;
        let k = match self.method.k() {
            kmeans::KChoice::Given(k) => k,
            kmeans::KChoice::Scan(_) => unreachable!("KMeans::params gives k"),
        };
        let fit = kmeans::fit(
            &x,
            &self.method.lloyd(k, self.seed, threads()),
            &mut no_check,
        )?;
        Ok(KMeans {
            centres: fit.centres,
            inertia: fit.inertia,
            iterations: fit.iterations,
            converged: fit.converged,
        })
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for KMeans {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let mut scratch = vec![0.0; self.centres.k()];
        each_row(x, self.centres.d(), y, |row| {
            self.centres.nearest(row, &mut scratch).0 as usize
        });
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

// ---------------------------------------------------------------------------------------------
// Gaussian mixtures

/// A Gaussian mixture with full covariances (`cluster::gmm`: our EM, k-means starts), fitted.
#[derive(Debug, Clone)]
pub struct GaussianMixture {
    mixture: Mixture,
    means: Vec<Vec<f64>>,
    rule: MixtureRule,
    log_likelihood: f64,
    converged: bool,
}

/// The parameters of a Gaussian mixture as given; `check` gives
/// [`GaussianMixtureValidParams`]. Defaults as `segment_fit`'s: 10 EM starts of at most 300
/// iterations, tol 1e-4 on the mean log-likelihood per row, seed 0.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixtureParams(GaussianMixtureValidParams);

/// The checked parameters of a Gaussian mixture: the SQL fit's `GmmMethod` and a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixtureValidParams {
    method: GmmMethod,
    seed: u64,
}

impl GaussianMixture {
    pub fn params(k: usize) -> GaussianMixtureParams {
        GaussianMixtureParams(GaussianMixtureValidParams {
            method: GmmMethod {
                k: k_of(k),
                starts: Starts::default(),
                sample_rows: None,
                warm_start: false,
            },
            seed: 0,
        })
    }

    /// The component means, one row each.
    pub fn means(&self) -> Array2<f64> {
        let d = self.means.first().map_or(0, Vec::len);
        Array2::from_shape_vec((self.means.len(), d), self.means.concat()).expect("k x d means")
    }

    pub fn weights(&self) -> &[f64] {
        &self.mixture.weights
    }

    /// Mean log-likelihood per fitted row.
    pub fn log_likelihood(&self) -> f64 {
        self.log_likelihood
    }

    /// Whether the best start converged before `max_iter`.
    pub fn converged(&self) -> bool {
        self.converged
    }
}

impl GaussianMixtureParams {
    /// EM starts, each from one k-means++ / Lloyd run; the best likelihood wins.
    pub fn n_init(mut self, n_init: u64) -> Self {
        self.0.method.starts.n_init = n_init;
        self
    }

    /// Most EM iterations per start.
    pub fn max_iter(mut self, max_iter: u64) -> Self {
        self.0.method.starts.max_iter = max_iter;
        self
    }

    /// A start stops when the mean log-likelihood per row changes by less than tol.
    pub fn tol(mut self, tol: f64) -> Self {
        self.0.method.starts.tol = tol;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for GaussianMixtureParams {
    type Checked = GaussianMixtureValidParams;
    type Error = CoreError;

    /// The checks of `segment_fit`'s gmm options (`GmmOptions::check`).
    fn check_ref(&self) -> CoreResult<&GaussianMixtureValidParams> {
        let method = &self.0.method;
        GmmOptions(method.clone(), Some(method.k)).check()?;
        Ok(&self.0)
    }

    fn check(self) -> CoreResult<GaussianMixtureValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, CoreError> for GaussianMixtureValidParams {
    type Object = GaussianMixture;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<GaussianMixture> {
        let x = matrix(&dataset.records)?;
        let fit = gmm::fit(&x, &self.method.em(self.seed, threads()), &mut no_check)?;
        let rule = MixtureRule::new(&fit.mixture, &fit.means)
            .map_err(|e| CoreError::new(ErrorKind::InvalidData, e))?;
        Ok(GaussianMixture {
            mixture: fit.mixture,
            means: fit.means,
            rule,
            log_likelihood: fit.log_likelihood,
            converged: fit.converged,
        })
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for GaussianMixture {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let mut scratch = vec![0.0; self.means.len()];
        let d = self.means.first().map_or(0, Vec::len);
        each_row(x, d, y, |row| {
            self.rule.classify(row, &mut scratch).0 as usize
        });
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

// ---------------------------------------------------------------------------------------------
// DBSCAN

/// DBSCAN (`cluster::dbscan`, scikit-learn's labels), fitted: its core points.
#[derive(Debug, Clone, PartialEq)]
pub struct Dbscan {
    density: Density,
    d: usize,
    labels: Array1<Option<usize>>,
    k: usize,
}

impl Dbscan {
    /// The parameters as given are `DbscanOptions` (the SQL fit's; eps must be set), checked
    /// into `DbscanMethod`, which fits and also transforms as linfa's DBSCAN does.
    pub fn params(min_points: usize) -> DbscanOptions {
        DbscanOptions(
            DbscanMethod {
                eps: None,
                min_points: u64::try_from(min_points).unwrap_or(u64::MAX),
                sample_rows: None,
            },
            None,
        )
    }

    /// The fitted rows' segments (None: noise), as `Transformer::transform` gives them. A
    /// border row has the lowest segment among its core neighbours here, and the nearest core
    /// point's segment from `predict`: the two differ for a border row nearer to a later segment.
    pub fn labels(&self) -> &Array1<Option<usize>> {
        &self.labels
    }

    /// Segments found.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Core points found.
    pub fn core_points(&self) -> usize {
        self.density.core_labels.len()
    }
}

impl DbscanOptions {
    /// The neighbourhood radius (Euclidean; linfa's `tolerance`). Required.
    pub fn eps(mut self, eps: f64) -> Self {
        self.0.eps = Some(eps);
        self
    }
}

/// `DbscanOptions::transform` checks, then transforms (linfa's DBSCAN params do the same).
impl TransformGuard for DbscanOptions {}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, CoreError> for DbscanMethod {
    type Object = Dbscan;

    /// Fails when every row is noise (there is no segment to predict).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<Dbscan> {
        let x = matrix(&dataset.records)?;
        let fit = dbscan::fit(&x, self.eps(), self.min_points(), threads(), &mut no_check)?;
        Ok(Dbscan {
            density: fit.density,
            d: x.n_cols(),
            labels: fit.labels.iter().map(|&l| label(l)).collect(),
            k: fit.k,
        })
    }
}

fn label(l: u32) -> Option<usize> {
    (l != NOISE).then_some(l as usize)
}

/// The labels of the rows (None: noise), as linfa's `DbscanValidParams` transforms: every row is
/// noise when no segment is found.
///
/// # Panics
/// On records the fit refuses (no columns, a value that is not finite).
impl<D: Data<Elem = f64>> Transformer<&ArrayBase<D, Ix2>, Array1<Option<usize>>> for DbscanMethod {
    fn transform(&self, x: &ArrayBase<D, Ix2>) -> Array1<Option<usize>> {
        match self.fit(&DatasetBase::from(x.view())) {
            Ok(model) => model.labels,
            Err(e) if e.kind == ErrorKind::InsufficientData => Array1::from_elem(x.nrows(), None),
            Err(e) => panic!("{e}"),
        }
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<Option<usize>>> for Dbscan {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<Option<usize>>) {
        each_row(x, self.d, y, |row| label(self.density.classify(row)));
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<Option<usize>> {
        Array1::from_elem(x.nrows(), None)
    }
}

// ---------------------------------------------------------------------------------------------
// Ward

/// Agglomerative clustering with Ward's criterion (`cluster::ward`: the nearest-neighbour
/// chain), fitted: the fitted rows with their segments.
#[derive(Debug, Clone, PartialEq)]
pub struct Ward {
    sample: WardSample,
    d: usize,
    labels: Array1<usize>,
}

impl Ward {
    /// The parameters as given are `WardOptions` (the SQL fit's), checked into `WardMethod`.
    pub fn params(k: usize) -> WardOptions {
        let k = k_of(k);
        WardOptions(
            WardMethod {
                k,
                sample_rows: None,
            },
            Some(k),
        )
    }

    /// The dendrogram's segment of each fitted row (`0..k`, numbered by first row).
    pub fn labels(&self) -> &Array1<usize> {
        &self.labels
    }
}

impl<D: Data<Elem = f64>, T> Fit<ArrayBase<D, Ix2>, T, CoreError> for WardMethod {
    type Object = Ward;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<Ward> {
        let x = matrix(&dataset.records)?;
        kmeans::check_k(self.k(), x.n_rows())?;
        let labels = ward::ward(&x, self.k(), &mut no_check);
        Ok(Ward {
            sample: WardSample::new(&x, &labels),
            d: x.n_cols(),
            labels: labels.iter().map(|&l| l as usize).collect(),
        })
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for Ward {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        each_row(x, self.d, y, |row| self.sample.classify(row) as usize);
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

// ---------------------------------------------------------------------------------------------
// Trees

/// The rows, the targets as dense class codes, and the classes (sorted) the codes stand for.
fn classes<D: Data<Elem = f64>, T: AsSingleTargets<Elem = usize>>(
    dataset: &DatasetBase<ArrayBase<D, Ix2>, T>,
) -> CoreResult<(FeatureMatrix, Vec<u32>, Vec<usize>)> {
    let x = matrix(&dataset.records)?;
    let y = dataset.targets.as_single_targets();
    if y.len() != x.n_rows() {
        return Err(linfa::Error::MismatchedShapes(x.n_rows(), y.len()).into());
    }
    if y.is_empty() {
        return Err(linfa::Error::NotEnoughSamples.into());
    }
    let mut classes: Vec<usize> = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let codes = y
        .iter()
        .map(|v| classes.binary_search(v).expect("a class of its own") as u32)
        .collect();
    Ok((x, codes, classes))
}

/// Depth and leaf size as `segment_classify_fit` and `segment_churn_fit` check them.
fn check_tree(max_depth: usize, min_samples_leaf: usize) -> CoreResult<()> {
    check_range("max_depth", max_depth as u64, 1, 30)?;
    check_range("min_samples_leaf", min_samples_leaf as u64, 1, u64::MAX)
}

/// A classification tree (`tree::cart`: a row goes left when `x <= threshold`, no leaf merged),
/// fitted.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTree {
    tree: cart::Tree,
    d: usize,
    classes: Vec<usize>,
}

/// The parameters of a tree as given; `check` gives [`DecisionTreeValidParams`]. Defaults:
/// depth 5 and 20 rows a leaf (`segment_classify_fit`'s tree), Gini.
#[derive(Debug, Clone, Copy)]
pub struct DecisionTreeParams(DecisionTreeValidParams);

/// The checked parameters of a tree: the kernel's `TreeParams`, every feature tried per split.
#[derive(Debug, Clone, Copy)]
pub struct DecisionTreeValidParams(TreeParams);

impl DecisionTree {
    pub fn params() -> DecisionTreeParams {
        DecisionTreeParams(DecisionTreeValidParams(TreeParams {
            max_depth: 5,
            min_samples_leaf: 20,
            criterion: Criterion::Gini,
            max_features: None,
            seed: 0,
            exact: false,
        }))
    }

    /// The grown tree: nodes, splits, class counts, rules (`cart::Tree`). Leaf class counts are
    /// by class code, the position of the class in `classes`.
    pub fn tree(&self) -> &cart::Tree {
        &self.tree
    }

    /// The target values seen in the fit, in code order.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }
}

impl DecisionTreeParams {
    pub fn max_depth(mut self, max_depth: usize) -> Self {
        self.0 .0.max_depth = max_depth;
        self
    }

    /// Fewest training rows in a leaf.
    pub fn min_samples_leaf(mut self, min_samples_leaf: usize) -> Self {
        self.0 .0.min_samples_leaf = min_samples_leaf;
        self
    }

    pub fn criterion(mut self, criterion: Criterion) -> Self {
        self.0 .0.criterion = criterion;
        self
    }

    /// Splits over every feature's sorted rows instead of its bins (default false: bins, see
    /// `tree::hist`).
    pub fn exact(mut self, exact: bool) -> Self {
        self.0 .0.exact = exact;
        self
    }
}

impl ParamGuard for DecisionTreeParams {
    type Checked = DecisionTreeValidParams;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&DecisionTreeValidParams> {
        check_tree(self.0 .0.max_depth, self.0 .0.min_samples_leaf)?;
        Ok(&self.0)
    }

    fn check(self) -> CoreResult<DecisionTreeValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = usize>> Fit<ArrayBase<D, Ix2>, T, CoreError>
    for DecisionTreeValidParams
{
    type Object = DecisionTree;

    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<DecisionTree> {
        let (x, y, classes) = classes(dataset)?;
        let w = vec![1.0; x.n_rows()];
        let tree = crate::tree::fit(&x, &y, classes.len(), &w, self.0, &mut no_check);
        Ok(DecisionTree {
            tree,
            d: x.n_cols(),
            classes,
        })
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for DecisionTree {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        each_row(x, self.d, y, |row| {
            self.classes[self.tree.leaf_node(row).majority() as usize]
        });
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

/// A random forest of CART trees (`tree::forest`: bootstrap rows, a random subset of features
/// per split, mean class probabilities), fitted.
#[derive(Debug, Clone)]
pub struct RandomForest {
    forest: Forest,
    rule: ForestRule,
    d: usize,
    classes: Vec<usize>,
}

/// The parameters of a forest as given; `check` gives [`RandomForestValidParams`]. Defaults as
/// `segment_classify_fit`'s forest: 100 trees of depth 10, one row a leaf, sqrt features, Gini,
/// seed 0.
#[derive(Debug, Clone, Copy)]
pub struct RandomForestParams(RandomForestValidParams);

/// The checked parameters of a forest: the kernel's `ForestParams`, with the features tried per
/// split as a rule of the column count (`MaxFeatures`).
#[derive(Debug, Clone, Copy)]
pub struct RandomForestValidParams {
    forest: ForestParams,
    max_features: MaxFeatures,
}

impl RandomForest {
    pub fn params() -> RandomForestParams {
        RandomForestParams(RandomForestValidParams {
            forest: ForestParams {
                n_trees: 100,
                max_depth: 10,
                min_samples_leaf: 1,
                max_features: 1,
                criterion: Criterion::Gini,
                seed: 0,
                exact: false,
            },
            max_features: MaxFeatures::Sqrt,
        })
    }

    /// Per column, the mean normalized impurity decrease (scikit-learn's importances).
    pub fn importance(&self) -> &[f64] {
        &self.forest.importance
    }

    /// The target values seen in the fit, in the order of `predict_proba`'s columns.
    pub fn classes(&self) -> &[usize] {
        &self.classes
    }

    /// Mean class probabilities over the trees, one row per row of `x`, one column per class.
    pub fn predict_proba<D: Data<Elem = f64>>(&self, x: &ArrayBase<D, Ix2>) -> Array2<f64> {
        let mut out = Array2::zeros((x.nrows(), self.classes.len()));
        let mut rows = out.rows_mut().into_iter();
        for_rows(x, self.d, |row| {
            let mut o = rows.next().expect("as many rows");
            self.rule
                .proba(row, o.as_slice_mut().expect("a standard layout"));
        });
        out
    }
}

impl RandomForestParams {
    pub fn n_trees(mut self, n_trees: usize) -> Self {
        self.0.forest.n_trees = n_trees;
        self
    }

    pub fn max_depth(mut self, max_depth: usize) -> Self {
        self.0.forest.max_depth = max_depth;
        self
    }

    pub fn min_samples_leaf(mut self, min_samples_leaf: usize) -> Self {
        self.0.forest.min_samples_leaf = min_samples_leaf;
        self
    }

    pub fn max_features(mut self, max_features: MaxFeatures) -> Self {
        self.0.max_features = max_features;
        self
    }

    pub fn criterion(mut self, criterion: Criterion) -> Self {
        self.0.forest.criterion = criterion;
        self
    }

    pub fn seed(mut self, seed: u64) -> Self {
        self.0.forest.seed = seed;
        self
    }

    /// Splits over every feature's sorted rows instead of its bins (default false: bins, see
    /// `tree::hist`).
    pub fn exact(mut self, exact: bool) -> Self {
        self.0.forest.exact = exact;
        self
    }
}

impl ParamGuard for RandomForestParams {
    type Checked = RandomForestValidParams;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&RandomForestValidParams> {
        let f = &self.0.forest;
        check_tree(f.max_depth, f.min_samples_leaf)?;
        check_range("n_trees", f.n_trees as u64, 1, MAX_TREES)?;
        Ok(&self.0)
    }

    fn check(self) -> CoreResult<RandomForestValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl<D: Data<Elem = f64>, T: AsSingleTargets<Elem = usize>> Fit<ArrayBase<D, Ix2>, T, CoreError>
    for RandomForestValidParams
{
    type Object = RandomForest;

    /// No limit on the nodes (the SQL fit's `forest::MAX_NODES` is about storing them).
    fn fit(&self, dataset: &DatasetBase<ArrayBase<D, Ix2>, T>) -> CoreResult<RandomForest> {
        let (x, y, classes) = classes(dataset)?;
        let p = ForestParams {
            max_features: self.max_features.of(x.n_cols()),
            ..self.forest
        };
        let forest = forest::fit(
            &x,
            &y,
            classes.len(),
            &p,
            usize::MAX,
            threads(),
            &mut no_check,
        )?;
        Ok(RandomForest {
            rule: forest.rule(classes.len()),
            forest,
            d: x.n_cols(),
            classes,
        })
    }
}

impl<D: Data<Elem = f64>> PredictInplace<ArrayBase<D, Ix2>, Array1<usize>> for RandomForest {
    fn predict_inplace(&self, x: &ArrayBase<D, Ix2>, y: &mut Array1<usize>) {
        let mut proba = vec![0.0; self.classes.len()];
        each_row(x, self.d, y, |row| {
            self.classes[self.rule.proba(row, &mut proba) as usize]
        });
    }

    fn default_target(&self, x: &ArrayBase<D, Ix2>) -> Array1<usize> {
        Array1::zeros(x.nrows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::traits::Predict;
    use ndarray::array;

    fn blobs() -> Array2<f64> {
        // Two tight groups of four rows, far apart, and one row far from both.
        array![
            [0.0, 0.0],
            [0.1, 0.0],
            [0.0, 0.1],
            [0.1, 0.1],
            [5.0, 5.0],
            [5.1, 5.0],
            [5.0, 5.1],
            [5.1, 5.1],
            [20.0, -20.0]
        ]
    }

    /// Parameters are checked by the SQL fit's rules, with its messages, before any fit; the
    /// unchecked value fits only through the check (linfa's blanket `Fit`).
    #[test]
    fn parameters_are_checked_with_the_sql_messages() {
        let data = DatasetBase::from(blobs());
        let e = KMeans::params(2).n_init(0).check().unwrap_err();
        assert_eq!(e.message, "option n_init must be between 1 and 1000, not 0");
        let e = KMeans::params(0).fit(&data).unwrap_err();
        assert_eq!(e.message, "k must be between 1 and 1000, not 0");
        let e = GaussianMixture::params(2).tol(-1.0).fit(&data).unwrap_err();
        assert_eq!(e.message, "option tol must be a finite number >= 0, not -1");
        let e = Dbscan::params(3).check().unwrap_err();
        assert_eq!(e.message, "method dbscan needs the eps option");
        let e = Dbscan::params(3).eps(-1.0).transform(&blobs()).unwrap_err();
        assert_eq!(e.message, "option eps must be a finite number > 0, not -1");
        let e = Ward::params(1001).check().unwrap_err();
        assert_eq!(e.message, "k must be between 1 and 1000, not 1001");
        let e = DecisionTree::params().max_depth(31).check().unwrap_err();
        assert_eq!(
            e.message,
            "option max_depth must be between 1 and 30, not 31"
        );
        let e = RandomForest::params().n_trees(0).check().unwrap_err();
        assert_eq!(
            e.message,
            "option n_trees must be between 1 and 1000, not 0"
        );
        // k against the rows, at fit time.
        let e = Ward::params(10).fit(&data).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
    }

    #[test]
    fn records_must_be_finite() {
        let mut x = blobs();
        x[[3, 1]] = f64::NAN;
        let e = KMeans::params(2).fit(&DatasetBase::from(x)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidData);
        assert!(
            e.message.starts_with("row 3, column 1 is NaN"),
            "{}",
            e.message
        );
    }

    /// Ward predicts the nearest fitted row's segment: every fitted row gets its dendrogram
    /// segment back, a new row the segment of the fitted row nearest to it.
    #[test]
    fn ward_predicts_the_nearest_fitted_rows_segment() {
        let x = blobs();
        let model = Ward::params(3).fit(&DatasetBase::from(x.clone())).unwrap();
        assert_eq!(model.predict(&x), model.labels());
        assert_eq!(model.labels().to_vec(), vec![0, 0, 0, 0, 1, 1, 1, 1, 2]);
        assert_eq!(
            model.predict(&array![[4.0, 4.0], [14.0, -14.0]]).to_vec(),
            vec![1, 2]
        );
    }

    /// DBSCAN: the lone row is noise in the fit, and a new row far from every core point is
    /// noise in predict; a non-contiguous view predicts as the rows it shows.
    #[test]
    fn dbscan_noise_is_none() {
        let x = blobs();
        let params = Dbscan::params(3).eps(0.5).check().unwrap();
        let model = params.fit(&DatasetBase::from(x.clone())).unwrap();
        let labels = model.labels().to_vec();
        let expected = [[Some(0); 4], [Some(1); 4]].concat();
        assert_eq!(labels[..8], expected[..]);
        assert_eq!(labels[8], None);
        assert_eq!(params.transform(&x), *model.labels());
        // Three new rows as the columns of a row-major array: each row is strided.
        let by_column = array![[0.05, 5.05, 2.5], [0.05, 5.0, 2.5]];
        let view = by_column.t();
        assert!(view.row(0).as_slice().is_none());
        assert_eq!(model.predict(&view).to_vec(), vec![Some(0), Some(1), None]);
        // Every row noise: the transform says so, the fit refuses (nothing to predict).
        let lonely = Dbscan::params(20).eps(0.5).check().unwrap();
        assert!(lonely.transform(&x).iter().all(Option::is_none));
        assert!(lonely.fit(&DatasetBase::from(x)).is_err());
    }

    /// Trees take any usize labels and give them back.
    #[test]
    fn trees_give_back_the_labels_they_were_given() {
        let x = blobs();
        let y = array![7usize, 7, 7, 7, 3, 3, 3, 3, 3];
        let data = DatasetBase::new(x.clone(), y.clone());
        let tree = DecisionTree::params()
            .min_samples_leaf(1)
            .fit(&data)
            .unwrap();
        assert_eq!(tree.classes(), [3, 7]);
        assert_eq!(tree.predict(&x), y);
        let forest = RandomForest::params().n_trees(20).fit(&data).unwrap();
        assert_eq!(forest.predict(&x), y);
        let proba = forest.predict_proba(&x);
        assert!(proba[[0, 1]] > 0.5 && proba[[4, 0]] > 0.5);
        assert!(proba
            .rows()
            .into_iter()
            .all(|r| (r.sum() - 1.0).abs() < 1e-12));
    }
}
