//! Memory estimates of the fits, checked against `customer_segment.max_memory_mb` before a fit
//! allocates its working memory.
//!
//! The feature matrix is held to the limit while it is read (`prep::builder`); what a method
//! takes on top of it (sort orders, labels, samples, trees, the silhouette's sample) is known
//! once the rows are counted, before the method runs. Each estimate adds, term by term, what is
//! alive at the method's peak, read off the code of the method (`cluster`, `tree`, `value`,
//! `model::fit`): arrays of the rows' length or of a sample's are counted, terms of k × d or
//! fewer values are counted where they repeat per block of rows and left out otherwise (a few
//! kilobytes). Everything alive together is summed even where two peaks do not overlap exactly,
//! so an estimate errs high, never low by more than allocator overhead. A fit is refused when
//! what it already holds plus what it would allocate is above the limit: `54000` (a program
//! limit), with the estimate, the limit and the option or setting that lowers it.
//!
//! The estimate is a function of sizes only (rows, columns, k, options, threads), so a unit test
//! can check it against a hand count, and SQL can show it before anything is taken.

use crate::cluster::constrained;
use crate::cluster::kmeans::{KChoice, SEED_SAMPLE_ROWS};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::Method;
use crate::model::limits::Limits;
use crate::model::options::{FitOptions, MethodParams};
use crate::parallel::BLOCK_ROWS;
use crate::prep::encoding::Columns;
use crate::tree::churn::ChurnOptions;
use crate::tree::classify::{ClassifierMethod, ClassifyOptions};
use crate::tree::forest::MAX_NODES;
use crate::tree::hist;

const F64: usize = 8;
const U32: usize = 4;
const USIZE: usize = 8;
const MB: usize = 1024 * 1024;

/// One tree node while it grows (`cart::Node`: 88 bytes on 64-bit targets), with its class
/// counts' allocation header and a leaf's weights vector header; each class adds a u64 count and
/// an f64 weight. A unit test checks the struct still fits.
const NODE_BYTES: usize = 128;
const NODE_BYTES_PER_CLASS: usize = 16;
/// One stored forest node (`FlatTree`: feature i32, threshold f64, next u32); a leaf adds one u32
/// count per class (counted for every node: an upper bound, leaves are about half).
const FLAT_NODE_BYTES: usize = 16;

/// What a fit is about to hold, and how to make it smaller.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The call, as the error names it: "segment_fit with method gmm".
    pub what: String,
    /// Bytes already held when the check runs: the feature matrix (or matrices) and labels read.
    pub held: usize,
    /// Bytes the fit would allocate on top, at its peak.
    pub work: usize,
    /// What lowers it: fewer rows, an option, a setting.
    pub hint: String,
}

impl Estimate {
    pub fn total(&self) -> usize {
        self.held.saturating_add(self.work)
    }

    /// Refuses the fit when its total is above `limit` bytes (`customer_segment.max_memory_mb`):
    /// a `ResourceLimit` error (54000) giving the estimate in MB and the limit. The total and
    /// what is read are rounded up to a tenth of a MB (an estimate over the limit never prints
    /// as equal to it), what the fit takes is their difference (the parts add up).
    pub fn check(&self, limit: usize) -> CoreResult<()> {
        if self.total() <= limit {
            return Ok(());
        }
        let (total, held) = (tenths(self.total()), tenths(self.held));
        Err(CoreError::new(
            ErrorKind::ResourceLimit,
            format!(
                "{} needs an estimated {} MB ({} MB read, {} MB to fit), more than customer_segment.max_memory_mb ({} MB)",
                self.what,
                shown(total),
                shown(held),
                shown(total - held),
                limit / MB,
            ),
        )
        .with_hint(format!(
            "{} Or raise customer_segment.max_memory_mb (up to customer_segment.max_memory_mb_limit, which only a superuser sets).",
            self.hint
        )))
    }

    /// The same estimate with `bytes` more held (a per-group fit: the other groups' matrices).
    pub fn holding(mut self, bytes: usize) -> Estimate {
        self.held = self.held.saturating_add(bytes);
        self
    }
}

/// Tenths of a megabyte, rounded up.
fn tenths(bytes: usize) -> usize {
    bytes.saturating_mul(10).div_ceil(MB)
}

fn shown(tenths: usize) -> String {
    format!("{}.{}", tenths / 10, tenths % 10)
}

/// The rows a fit has read and how its columns split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub rows: usize,
    /// Matrix columns: the numbers and every category's one-hot column.
    pub width: usize,
    /// Numeric features (k-prototypes keeps them as numbers)...
    pub numeric: usize,
    /// ...and categorical features (one code per row each).
    pub categorical: usize,
}

impl Shape {
    pub fn of(rows: usize, features: &[String], categories: &[Option<Vec<String>>]) -> Shape {
        let columns = Columns::of(features, categories);
        let (numeric, slices) = columns.split(categories);
        Shape {
            rows,
            width: columns.width(),
            numeric: numeric.len(),
            categorical: slices.len(),
        }
    }

    /// Numbers only (a matrix whose columns are not split).
    pub fn numbers(rows: usize, width: usize) -> Shape {
        Shape {
            rows,
            width,
            numeric: width,
            categorical: 0,
        }
    }

    fn matrix(&self) -> usize {
        self.rows * self.width * F64
    }
}

/// `rand::seq::index::sample` of `m` out of `n`: a permutation of n u32 (or, when m is tiny
/// against n, a set of m, which is smaller), then the m indexes kept.
fn index_sample(n: usize, m: usize) -> usize {
    if m < n {
        n * U32 + m * USIZE
    } else {
        0
    }
}

/// A seeded sample of `s` of the `n` rows, copied (`FeatureMatrix::select_rows`).
fn sample_copy(n: usize, d: usize, s: usize) -> usize {
    if s < n {
        index_sample(n, s) + s * d * F64
    } else {
        0
    }
}

/// `analysis::metrics::silhouette` on `n` rows: a sample of at most `max_rows`, its labels and
/// order, the sample copied feature-major, each row's coefficient, the work items (at most one a
/// row) and the block sums. It never holds the m² distances: its time is quadratic in the sample
/// (`customer_segment.silhouette_sample`, under its ceiling), its memory linear.
fn silhouette(n: usize, d: usize, k: usize, max_rows: usize) -> usize {
    let m = if max_rows > 0 && n > max_rows {
        max_rows
    } else {
        n
    };
    let rows = if m < n { index_sample(n, m) } else { m * USIZE };
    rows + m * USIZE // labels
        + m * USIZE // order
        + m * d * F64 // columns
        + 2 * (k + 1) * USIZE // sizes, first
        + m * F64 // coefficients
        + m * 3 * USIZE // items: at most one a row
        + m.div_ceil(256) * F64 // block sums
}

/// `cluster::kmeans::fit` on `r` rows: the current start's labels and the best start's, the
/// per-block sums, the centres, and the seeding's sample (above `SEED_SAMPLE_ROWS` or 100 k rows)
/// with its distances.
fn kmeans(r: usize, d: usize, k: usize) -> usize {
    let labels = 2 * r * U32;
    let blocks = r.div_ceil(BLOCK_ROWS) * (k * d * F64 + 2 * k * USIZE + 4 * USIZE);
    let centres = 4 * k * d * F64;
    let limit = SEED_SAMPLE_ROWS.max(100 * k);
    let seeded = r.min(limit);
    let seed_sample = if r > limit {
        limit * USIZE + limit * d * F64
    } else {
        0
    };
    labels + blocks + centres + seed_sample + seeded * F64
}

/// `cluster::constrained::fit` on `r` rows: k-means' (`kmeans`), the previous step's labels,
/// each block's nearest-centre counts, and a step's candidate moves
/// (`constrained::candidate_bound`, 16 bytes each) with their per-pair bookkeeping; from
/// 4 × `constrained::SAMPLE_ROWS` rows, the sample whose steps give starting prices (drawn and
/// copied) with a step's working memory on it.
fn constrained_kmeans(r: usize, d: usize, k: usize, threads: usize) -> usize {
    let step = |r: usize| {
        r.div_ceil(BLOCK_ROWS) * k * USIZE
            + constrained::candidate_bound(r, k, threads) * constrained::CANDIDATE_BYTES
            + constrained::pair_bytes(k, threads)
    };
    let s = constrained::SAMPLE_ROWS;
    let sample = if r >= 4 * s {
        index_sample(r, s)
            + s * d * F64
            + 2 * s * U32
            + s.div_ceil(BLOCK_ROWS) * (k * d * F64 + 3 * k * USIZE)
            + step(s)
    } else {
        0
    };
    kmeans(r, d, k) + r * U32 + step(r) + sample
}

/// `cluster::gmm::fit`: each start is seeded by a k-means fit; per block of rows the
/// responsibility-weighted sums (weight, first moment, packed second moment, memberships, a row);
/// the distinct-rows check (k rows); the parameters and their inverse factors.
fn gmm(r: usize, d: usize, k: usize) -> usize {
    let tri = d * (d + 1) / 2;
    kmeans(r, d, k)
        + r.div_ceil(BLOCK_ROWS) * (2 * k + k * d + k * tri + d) * F64
        + k * (d * F64 + 64)
        + 4 * k * d * d * F64
}

/// `cluster::ward::ward` and `WardSample` on `s` rows: centroids, sizes, alive flags, merges
/// (height and two indexes), the chain, the union-find parents, ids and labels, and the stored
/// sample (points sorted, their order and labels); the fit's dendrogram agreement (a label per
/// row). Linear: the nearest-neighbour chain never holds the condensed distances.
fn ward(s: usize, d: usize) -> usize {
    s * (d * F64 // centroids
        + F64 // sizes
        + 1 // alive
        + (F64 + 2 * USIZE) // merges
        + USIZE // chain
        + USIZE // parents
        + U32 // ids
        + U32 // labels
        + (d * F64 + USIZE + U32) // WardSample: points, order, labels
        + U32) // nearest-centre labels for centre_agreement
}

/// `cluster::dbscan::fit` on `s` rows: the rows sorted on the first feature and their order;
/// neighbour counts and core flags (neighbour lists are never kept); union-find parents, each
/// root's first row, the roots and their segments; labels; the core points, their order and
/// labels.
fn dbscan(s: usize, d: usize) -> usize {
    s * (USIZE + d * F64 // Sweep: order, rows
        + U32 // counts
        + 2 // core, core_at
        + USIZE // parent
        + USIZE // first_row
        + USIZE // roots
        + U32 // segment_of_root
        + U32 // labels
        + 2 * USIZE // cores (row, label)
        + d * F64 + U32) // core points and labels
}

/// `cluster::kprototypes::fit` on `r` rows: the rows split into numbers and codes; one start's
/// distances to the nearest prototype (seeding), labels, dissimilarities and the order of an
/// empty prototype's fix; the best start's labels; per block its sums (and one total).
fn kprototypes(r: usize, shape: &Shape, k: usize) -> usize {
    let (p, q) = (shape.numeric, shape.categorical);
    let levels = shape.width - p;
    r * (p * F64 + q * U32) // Mixed
        + r * (F64 + U32 + F64 + USIZE + U32) // closest, labels, dissim, by_distance, best labels
        + (r.div_ceil(BLOCK_ROWS) + 1) * k * (USIZE + p * F64 + levels * USIZE)
}

/// What `model::fit::fit_model` allocates over every row after the method: each row's label
/// (and k-means' own labels kept beside them), a column for robust scaling or median
/// imputation, the silhouette; a mixture's log-likelihood of each row; k-prototypes measures the
/// silhouette on a weighted copy of the matrix, DBSCAN on a copy of its rows that are not noise.
/// Unscored (a bootstrap refit of `model::stability`): the labels and the column only.
fn fit_tail(
    n: usize,
    d: usize,
    k: usize,
    method: Method,
    silhouette_rows: usize,
    scored: bool,
) -> usize {
    if !scored {
        return n * U32 + n * F64;
    }
    let copy = match method {
        Method::Kprototypes => n * d * F64,
        Method::Dbscan => n * d * F64 + n * USIZE + n * U32,
        _ => 0,
    };
    // Every row's anomaly score (`model::anomaly`; a mixture's log-likelihood is their sum),
    // sorted in place for the threshold. DBSCAN has none.
    let anomaly = match method {
        Method::Dbscan => 0,
        _ => n * F64,
    };
    n * U32 + n * F64 + copy + anomaly + silhouette(n, d, k, silhouette_rows)
}

/// `model::choose_k::choose_k` from `k_min` to `k_max` on `n` rows: one k-means fit and its scores at a
/// time (the largest k is the largest).
fn choose_k_work(n: usize, d: usize, k_max: usize, silhouette_rows: usize) -> usize {
    kmeans(n, d, k_max) + silhouette(n, d, k_max, silhouette_rows) + 2 * k_max * d * F64
}

fn method_hint(method: Method) -> &'static str {
    match method {
        Method::Kmeans => "Fit fewer rows (a sampled view), lower k, or use method minibatch_kmeans, which holds a sample only.",
        Method::Gmm => "Fit fewer rows (the sample_rows option or a sampled view), fewer features or a lower k.",
        Method::Hierarchical | Method::Dbscan => "Lower the sample_rows option, or fit fewer rows through a view (every row is labelled after the fit).",
        Method::Kprototypes => "Fit fewer rows (the sample_rows option or a sampled view), or fewer categorical values (max_categories).",
        _ => "Fit fewer rows through a view.",
    }
}

/// `segment_fit` in memory (the methods of `model::fit::fit_model`; a k-means scan first
/// chooses k over its range): the matrix read, then the larger of the choice of k and the fit (a
/// sample of `options.sample_limit()` rows copied, the method on it, and what `fit_model` does
/// over every row afterwards).
pub fn fit(shape: &Shape, options: &FitOptions, limits: Limits) -> Estimate {
    let method_name = options.method();
    let (fitting, choosing) = fit_work(shape, options, limits, true);
    Estimate {
        what: format!("segment_fit with method {}", method_name.name()),
        held: shape.matrix(),
        work: fitting.max(choosing),
        hint: method_hint(method_name).to_string(),
    }
}

/// What `fit` takes on top of the matrix: (the fit, the choice of k), `scored` or not.
fn fit_work(shape: &Shape, options: &FitOptions, limits: Limits, scored: bool) -> (usize, usize) {
    let (n, d) = (shape.rows, shape.width);
    let s = options.sample_limit().map_or(n, |s| (s as usize).min(n));
    let method_name = options.method();
    let (k, choosing) = match options.params() {
        MethodParams::Kmeans(p) => match p.k() {
            KChoice::Given(k) => (k, 0),
            KChoice::Scan(range) => (
                range.k_max(),
                choose_k_work(n, d, range.k_max(), limits.silhouette_rows),
            ),
        },
        // DBSCAN finds its own k: at most one segment per min_points rows of the sample.
        MethodParams::Dbscan(p) => (s / (p.min_points().max(1) as usize), 0),
        other => (other.k().unwrap_or(1), 0),
    };
    let method = match options.params() {
        MethodParams::Kmeans(p) if p.shares().is_set() => {
            constrained_kmeans(s, d, k, limits.threads)
        }
        MethodParams::Kmeans(_) => kmeans(s, d, k),
        MethodParams::Gmm(_) => gmm(s, d, k),
        MethodParams::Hierarchical(_) => ward(s, d),
        MethodParams::Dbscan(_) => dbscan(s, d),
        MethodParams::Kprototypes(_) => kprototypes(s, shape, k),
        MethodParams::MinibatchKmeans(_) => 0,
    };
    let tail = fit_tail(n, d, k, method_name, limits.silhouette_rows, scored);
    (sample_copy(n, d, s) + method + tail, choosing)
}

/// `segment_stability`: the rows read in the model's units with a label each, then one bootstrap
/// run at a time (the runs do not add up): the draw (an index a row), the rows drawn copied, the
/// method refitted on them as `fit` without its scores, and each row's refit label.
pub fn stability(shape: &Shape, options: &FitOptions, limits: Limits) -> Estimate {
    let (n, d) = (shape.rows, shape.width);
    let (refit, _) = fit_work(shape, options, limits, false);
    Estimate {
        what: format!(
            "segment_stability of a model with method {}",
            options.method().name()
        ),
        held: shape.matrix() + n * U32,
        work: n * USIZE + n * d * F64 + refit + n * U32,
        hint: format!(
            "Assess the model on a sampled view of its rows (the source argument). {}",
            match options.method() {
                Method::Hierarchical | Method::Dbscan =>
                    "Each refit samples as the fit did (its sample_rows option).",
                _ => "",
            }
        )
        .trim_end()
        .to_string(),
    }
}

/// `segment_choose_k`: k-means for every k of the range on the same matrix, one at a time.
pub fn choose_k(shape: &Shape, k_max: usize, limits: Limits) -> Estimate {
    Estimate {
        what: "segment_choose_k".to_string(),
        held: shape.matrix(),
        work: choose_k_work(shape.rows, shape.width, k_max, limits.silhouette_rows),
        hint: "Scan a sampled view of the rows (k chosen on a seeded sample carries over), a narrower k range, or lower customer_segment.silhouette_sample.".to_string(),
    }
}

/// Nodes a tree on `rows` rows can grow: a full tree of `max_depth` splits, or two per leaf of
/// `min_leaf` rows, whichever is fewer.
fn tree_nodes(rows: usize, max_depth: usize, min_leaf: usize) -> usize {
    let by_depth = (1usize << (max_depth + 1).min(62)) - 1;
    let by_rows = 2 * (rows / min_leaf.max(1)).max(1) - 1;
    by_depth.min(by_rows)
}

fn node_bytes(classes: usize) -> usize {
    NODE_BYTES + NODE_BYTES_PER_CLASS * classes
}

/// `tree::cart::sort_rows` of `rows` rows: every feature's row order, and the (key, row) pairs one
/// feature is sorted as.
fn sort(rows: usize, d: usize) -> usize {
    d * rows * U32 + rows * 16
}

/// `tree::cart::grow` on `rows` rows of `x_rows`: their orders on every feature (`sort`'s, or a
/// forest tree's copy of its bootstrap rows), the weights, the partition flags (over all of
/// `x_rows`) and buffer, the nodes.
fn grow(
    rows: usize,
    x_rows: usize,
    d: usize,
    classes: usize,
    max_depth: usize,
    min_leaf: usize,
) -> usize {
    d * rows * U32
        + rows * F64
        + x_rows
        + rows * U32
        + tree_nodes(rows, max_depth, min_leaf) * node_bytes(classes)
}

/// `tree::hist::grow` on `rows` rows: their list and the partition's buffer, each node's
/// classes and weights gathered, the histogram sets the nodes keep (at most `max_depth + 2` of
/// at most `hist::MAX_SET_BYTES`) and one column's, the nodes.
fn grow_hist(rows: usize, d: usize, classes: usize, max_depth: usize, min_leaf: usize) -> usize {
    let column = hist::MAX_BINS * (classes * F64 + U32);
    rows * (U32 + U32 + U32 + F64)
        + (max_depth + 2) * (d * column).min(hist::MAX_SET_BYTES)
        + column
        + tree_nodes(rows, max_depth, min_leaf) * node_bytes(classes)
}

/// `tree::fit`: the sort, then the tree grown on it (the orders are the same memory); or
/// (not `exact`) the columns binned, the weights and the tree grown on the bins.
fn tree(
    rows: usize,
    d: usize,
    classes: usize,
    max_depth: usize,
    min_leaf: usize,
    exact: bool,
) -> usize {
    if exact {
        rows * 16 + grow(rows, rows, d, classes, max_depth, min_leaf)
    } else {
        hist::bin_bytes(rows, d, 1) + rows * F64 + grow_hist(rows, d, classes, max_depth, min_leaf)
    }
}

/// A seeded stratified split of `n` rows holding out `test_fraction` of each of `classes`
/// classes (at least one a class): the rows of each class, then the two lists. Returns (bytes,
/// training rows, held-out rows), the row counts as upper bounds.
fn split(n: usize, classes: usize, test_fraction: f64) -> (usize, usize, usize) {
    let test = ((n as f64 * test_fraction).ceil() as usize + classes).min(n);
    let train = n - (n as f64 * test_fraction).floor() as usize;
    (n * USIZE + (train + test) * USIZE, train, test)
}

/// Distinct rows of a bootstrap draw of n from n: 1 - (1 - 1/n)^n, about 1 - 1/e = 0.632 of
/// them, taken as 0.64.
fn bootstrap_rows(n: usize) -> usize {
    (n * 16).div_ceil(25).min(n)
}

/// `segment_classify_fit`: the matrix and labels read (the labels' codes and classes, a u32 each
/// a row), the split, the training rows copied, and one tree, or a forest: one sort of every
/// feature for all trees, `threads` trees growing at once (each with its bootstrap counts and
/// weights, its bootstrap rows of every feature's order, its nodes), the stored trees (at most
/// `MAX_NODES` and one batch).
pub fn classify(
    shape: &Shape,
    classes: usize,
    options: &ClassifyOptions,
    threads: usize,
) -> Estimate {
    let (n, d) = (shape.rows, shape.width);
    let (split_bytes, train, test) = split(n, classes, options.test_fraction);
    let (depth, leaf) = (
        options.max_depth as usize,
        options.min_samples_leaf as usize,
    );
    let training = train * d * F64 + train * U32;
    let grow = match options.method {
        ClassifierMethod::Tree => tree(train, d, classes, depth, leaf, options.exact),
        ClassifierMethod::Forest => {
            let n_trees = options.n_trees as usize;
            let at_once = threads.max(1).min(n_trees);
            let boot = bootstrap_rows(train);
            let nodes = tree_nodes(boot, depth, leaf);
            let stored = (n_trees * nodes).min(MAX_NODES + at_once * nodes)
                * (FLAT_NODE_BYTES + classes * U32);
            if options.exact {
                let one = train * U32 // bootstrap counts
                    + grow(boot, train, d, classes, depth, leaf)
                    + (train - boot) * F64; // the weights are over every training row
                sort(train, d) + at_once * one + stored
            } else {
                // The columns binned once; each tree its bootstrap counts and weights (over
                // every training row) and its growing on its drawn rows.
                let one = train * (U32 + F64) + grow_hist(boot, d, classes, depth, leaf);
                hist::bin_bytes(train, d, threads) + at_once * one + stored
            }
        }
    };
    let scoring = 2 * test * U32;
    Estimate {
        what: format!(
            "segment_classify_fit with method {}",
            match options.method {
                ClassifierMethod::Tree => "tree",
                ClassifierMethod::Forest => "forest",
            }
        ),
        held: shape.matrix() + 2 * n * U32,
        work: split_bytes + training + grow + scoring,
        hint: match options.method {
            ClassifierMethod::Tree => "Train on fewer rows through a sampled view, or lower max_depth.",
            ClassifierMethod::Forest => "Train on fewer rows through a sampled view, lower max_depth or raise min_samples_leaf, or lower customer_segment.threads (trees grow that many at once).",
        }
        .to_string(),
    }
}

/// `segment_churn_fit`: the matrix and labels read (a bool and a u32 code a row), the labels as
/// classes, the split, the training rows copied with their labels, weights and classes, the tree
/// on them, and the held-out scores.
pub fn churn(shape: &Shape, options: &ChurnOptions) -> Estimate {
    let (n, d) = (shape.rows, shape.width);
    let (split_bytes, train, test) = split(n, 2, options.test_fraction);
    let work = n * U32
        + split_bytes
        + train * (d * F64 + 1 + U32) // rows, labels, classes (the weights: in `tree`)
        + tree(
            train,
            d,
            2,
            options.max_depth as usize,
            options.min_samples_leaf as usize,
            options.exact,
        )
        + test * (F64 + 1);
    Estimate {
        what: "segment_churn_fit".to_string(),
        held: shape.matrix() + n * (1 + U32),
        work,
        hint: "Train on fewer rows through a sampled view.".to_string(),
    }
}

/// `segment_rules`: the rows read with their segments, and a surrogate tree on all of them
/// (depth `max_depth`, leaves of at least 1 row in 200).
pub fn rules(shape: &Shape, classes: usize, max_depth: usize) -> Estimate {
    let n = shape.rows;
    Estimate {
        what: "segment_rules".to_string(),
        held: shape.matrix() + n * U32,
        work: tree(n, shape.width, classes, max_depth, (n / 200).max(1), true),
        hint: "Describe a sampled view of the rows (pass it as source).".to_string(),
    }
}

/// Per customer of a CLV summary list as `segment_clv_fit` and `segment_clv` hold it: the
/// summary (customer text header 24, history x, t_x, T 24, mean repeat spend 16), twice for
/// the growing list's spare capacity, and the text's allocation overhead.
const CLV_SUMMARY_BYTES: usize = 2 * 64 + 16;
/// Per customer of the BG/NBD fit: the histories, their sorted copy, the compressed histories
/// with counts, and each one's group.
const CLV_BGNBD_BYTES: usize = 24 + 24 + 32 + U32;
/// Per repeat customer of the Gamma-Gamma fit: (x, mean spend) pairs, their filtered copy, and
/// the prepared rows (group, x, m, ln m, ln x).
const CLV_GAMMA_GAMMA_BYTES: usize = 16 + 16 + 40;

/// The per-customer summaries of a CLV model's source, `customers` of them whose ids take
/// `name_bytes` bytes of text in all (`segment_clv`, and the first part of `segment_clv_fit`).
pub fn clv_summaries(customers: usize, name_bytes: usize) -> usize {
    customers * CLV_SUMMARY_BYTES + name_bytes
}

/// What `segment_clv_fit` takes on top of `customers` summaries, `repeat` of them with a repeat
/// purchase: the BG/NBD and Gamma-Gamma fits' data.
fn clv_fit_work(customers: usize, repeat: usize) -> usize {
    customers * CLV_BGNBD_BYTES + repeat * CLV_GAMMA_GAMMA_BYTES
}

/// `clv_fit(..).total()` without building the estimate: cheap enough to compare with the limit
/// as each customer's summary is added.
pub fn clv_fit_bytes(customers: usize, repeat: usize, name_bytes: usize) -> usize {
    clv_summaries(customers, name_bytes) + clv_fit_work(customers, repeat)
}

/// `segment_clv_fit` over `customers` summaries (`repeat` of them with a repeat purchase; while
/// reading, before that count is known, pass `customers`): the summaries, then the BG/NBD and
/// Gamma-Gamma fits' data. The shell compares `clv_fit_bytes` with the limit as each summary is
/// added (so the list stops growing at the limit) and checks this estimate once more before the
/// fits, with the repeat customers counted.
pub fn clv_fit(customers: usize, repeat: usize, name_bytes: usize) -> Estimate {
    Estimate {
        what: "segment_clv_fit".to_string(),
        held: clv_summaries(customers, name_bytes),
        work: clv_fit_work(customers, repeat),
        hint: CLV_HINT.to_string(),
    }
}

/// `segment_clv`: the summaries it scores (`clv_summaries`), checked as each is added.
pub fn clv_scores(customers: usize, name_bytes: usize) -> Estimate {
    Estimate {
        what: "segment_clv".to_string(),
        held: clv_summaries(customers, name_bytes),
        work: 0,
        hint: CLV_HINT.to_string(),
    }
}

const CLV_HINT: &str = "Use fewer customers: a view of the transactions of a sample of customer ids (all of each one's transactions).";

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        threads: 1,
        silhouette_rows: 10_000,
    };

    fn options(json: &str, k: Option<i64>) -> FitOptions {
        FitOptions::for_fit(json, k).unwrap()
    }

    #[test]
    fn node_constants_cover_the_structs() {
        // The node, a leaf's weights vector, and the allocation header of its counts.
        assert!(
            std::mem::size_of::<crate::tree::cart::Node>() + std::mem::size_of::<Vec<f64>>() + 16
                <= NODE_BYTES
        );
        assert_eq!(
            std::mem::size_of::<crate::value::clv::History>(),
            24,
            "CLV_BGNBD_BYTES counts a history as 24 bytes"
        );
    }

    /// The silhouette below its sample: every row, m = n = 1,000, d = 4, k = 3.
    /// rows 8,000 + labels 8,000 + order 8,000 + columns 32,000 + sizes/first 64 + coefficients
    /// 8,000 + items 24,000 + 4 block sums 32.
    #[test]
    fn silhouette_by_hand() {
        assert_eq!(silhouette(1_000, 4, 3, 10_000), 88_096);
        // Sampled: 100,000 rows to 10,000: permutation 400,000 + indexes 80,000, then the
        // sample's labels, order, columns (80,000 + 80,000 + 320,000), 64, coefficients 80,000,
        // items 240,000, 40 block sums 320.
        assert_eq!(
            silhouette(100_000, 4, 3, 10_000),
            400_000 + 80_000 + 80_000 + 80_000 + 320_000 + 64 + 80_000 + 240_000 + 320
        );
    }

    /// k-means on 20,000 rows x 4, k = 3: labels 2 x 80,000; 3 blocks of 96 + 48 + 32 = 176;
    /// centres 4 x 96; no seed sample (below 100,000), its distances 160,000.
    #[test]
    fn kmeans_by_hand() {
        assert_eq!(kmeans(20_000, 4, 3), 160_000 + 3 * 176 + 384 + 160_000);
        // Above the seeding sample: 200,000 rows, the sample of 100,000 copied.
        assert_eq!(
            kmeans(200_000, 2, 2),
            1_600_000 + 25 * (32 + 32 + 32) + 128 + (800_000 + 1_600_000) + 800_000
        );
    }

    /// Constrained k-means on 20,000 rows x 4, k = 3, one thread: k-means' terms, the previous
    /// labels 80,000, 3 blocks of 3 nearest counts 72; rounds of 13,333 rows (4 candidates a
    /// row over the 6 pairs), so per other segment (2) the kept candidates min(20,000, 3 x
    /// 26,667), one group of 2 blocks 16,384 and a round's pushes 13,333, at 16 bytes; per pair
    /// (9) three `Cheapest` of 48 bytes and a heap header of 24.
    #[test]
    fn constrained_kmeans_by_hand() {
        assert_eq!(constrained::CANDIDATE_BYTES, 16);
        assert_eq!(
            constrained_kmeans(20_000, 4, 3, 1),
            kmeans(20_000, 4, 3)
                + 80_000
                + 72
                + 2 * (20_000 + 16_384 + 13_333) * 16
                + 9 * (3 * 48 + 24)
        );
        // From 65,536 rows, the sample of 16,384: drawn (a permutation of 4 bytes a row and
        // 8 a sample row) and copied, its labels, 2 blocks of sums and counts, a step on it.
        let s = 16_384;
        assert_eq!(
            constrained_kmeans(100_000, 4, 3, 1),
            kmeans(100_000, 4, 3)
                + 400_000
                + 13 * 24
                + 2 * (100_000 + 16_384 + 66_666) * 16
                + 9 * 168
                + (400_000 + s * 8)
                + s * 32
                + s * 8
                + 2 * (96 + 72)
                + 2 * 24
                + 2 * (s + 16_384 + 10_922) * 16
                + 9 * 168
        );
        let shape = Shape::numbers(20_000, 4);
        let e = fit(&shape, &options(r#"{"min_share": 0.2}"#, Some(3)), LIMITS);
        assert_eq!(
            e.work,
            constrained_kmeans(20_000, 4, 3, 1) + 80_000 + 160_000 + 160_000 + sil(3)
        );
    }

    /// The silhouette of 20,000 rows x 4 on its default sample of 10,000: permutation 80,000 and
    /// indexes 80,000, the sample's labels, order and columns (80,000 + 80,000 + 320,000),
    /// coefficients 80,000, items 240,000, 40 block sums 320, and 2 (k + 1) x 8 for the segments.
    fn sil(k: usize) -> usize {
        let s = 80_000 + 80_000 + 80_000 + 80_000 + 320_000 + 80_000 + 240_000 + 320 + 16 * (k + 1);
        assert_eq!(silhouette(20_000, 4, k, 10_000), s);
        s
    }

    #[test]
    fn fit_estimates_by_hand() {
        let shape = Shape::numbers(20_000, 4);
        let matrix = 640_000;
        // k-means, k = 3: the method, then a label a row 80,000, a column 160,000, an anomaly
        // score a row 160,000, the silhouette.
        let e = fit(&shape, &options("{}", Some(3)), LIMITS);
        assert_eq!(e.held, matrix);
        assert_eq!(
            e.work,
            kmeans(20_000, 4, 3) + 80_000 + 160_000 + 160_000 + sil(3)
        );
        assert_eq!(e.what, "segment_fit with method kmeans");
        // With k NULL, k-means chooses k up to k_max = 10 first: the larger of the choice (one
        // fit and its silhouette at a time, 2 x 10 x 4 centre values) and the fit at k_max.
        let auto = fit(&shape, &options("{}", None), LIMITS);
        let choosing = kmeans(20_000, 4, 10) + sil(10) + 2 * 10 * 32;
        let fitting = kmeans(20_000, 4, 10) + 400_000 + sil(10);
        assert_eq!(auto.work, choosing.max(fitting));
        // Ward on its default sample of 5,000: index sample 20,000 x 4 + 5,000 x 8, the copy
        // 5,000 x 32; per sample row 32 + 8 + 1 + 24 + 8 + 8 + 4 + 4 + (32 + 8 + 4) + 4 = 137.
        let ward_fit = fit(
            &shape,
            &options(r#"{"method": "hierarchical"}"#, Some(3)),
            LIMITS,
        );
        assert_eq!(
            ward_fit.work,
            (80_000 + 40_000 + 160_000) + 5_000 * 137 + 400_000 + sil(3)
        );
        // DBSCAN on 5,000: per row 8 + 32 + 4 + 2 + 8 + 8 + 8 + 4 + 4 + 16 + 32 + 4 = 130; the
        // copy of the rows that are not noise, 20,000 x (32 + 8 + 4); at most 5,000 / 5
        // segments.
        let db = fit(
            &shape,
            &options(r#"{"method": "dbscan", "eps": 0.5}"#, None),
            LIMITS,
        );
        assert_eq!(
            db.work,
            280_000 + 5_000 * 130 + 240_000 + 20_000 * 44 + sil(1_000)
        );
        // GMM, k = 2: k-means plus 3 blocks of (4 + 8 + 20 + 4) x 8, 2 x (32 + 64), 4 x 2 x 16 x 8;
        // after it, each row's log-likelihood 160,000.
        let g = fit(&shape, &options(r#"{"method": "gmm"}"#, Some(2)), LIMITS);
        assert_eq!(
            g.work,
            kmeans(20_000, 4, 2) + 3 * 36 * 8 + 192 + 1_024 + 240_000 + 160_000 + sil(2)
        );
        // A sample_rows option below the rows: the method on the sample, the tail on every row.
        let sampled = fit(
            &shape,
            &options(r#"{"method": "gmm", "sample_rows": 1000}"#, Some(2)),
            LIMITS,
        );
        assert_eq!(
            sampled.work,
            (80_000 + 8_000 + 32_000) + gmm(1_000, 4, 2) + 400_000 + sil(2)
        );
    }

    /// segment_stability on 20,000 rows x 4: held, the matrix 640,000 and a label a row 80,000;
    /// one run at a time: the draw 160,000, its rows 640,000, the refit (method, a label a row
    /// 80,000 and a column 160,000, no silhouette), each row's refit label 80,000.
    #[test]
    fn stability_by_hand() {
        let shape = Shape::numbers(20_000, 4);
        let e = stability(&shape, &options("{}", Some(3)), LIMITS);
        assert_eq!(e.held, 640_000 + 80_000);
        let refit = kmeans(20_000, 4, 3) + 80_000 + 160_000;
        assert_eq!(e.work, 160_000 + 640_000 + refit + 80_000);
        assert_eq!(e.what, "segment_stability of a model with method kmeans");
        // Ward refits its default sample of 5,000 (as the fit: see fit_estimates_by_hand).
        let w = stability(
            &shape,
            &options(r#"{"method": "hierarchical"}"#, Some(3)),
            LIMITS,
        );
        let refit = (80_000 + 40_000 + 160_000) + 5_000 * 137 + 240_000;
        assert_eq!(w.work, 160_000 + 640_000 + refit + 80_000);
        assert!(w.hint.ends_with("(its sample_rows option)."), "{}", w.hint);
    }

    /// k-prototypes on 20,000 rows of one number and one category of 3 values (4 columns),
    /// k = 2: per row 8 + 4 (split rows) + 32 (one start, best labels); 4 block sums of 2 x (8
    /// + 8 + 24); the weighted copy of the matrix 640,000.
    #[test]
    fn kprototypes_by_hand() {
        let features = vec!["spend".to_string(), "channel".to_string()];
        let categories = vec![
            None,
            Some(vec!["a".to_string(), "b".to_string(), "c".to_string()]),
        ];
        let shape = Shape::of(20_000, &features, &categories);
        assert_eq!(
            shape,
            Shape {
                rows: 20_000,
                width: 4,
                numeric: 1,
                categorical: 1
            }
        );
        assert_eq!(kprototypes(20_000, &shape, 2), 20_000 * 44 + 4 * 80);
        let e = fit(
            &shape,
            &options(r#"{"method": "kprototypes"}"#, Some(2)),
            LIMITS,
        );
        assert_eq!(e.work, 20_000 * 44 + 4 * 80 + 400_000 + 640_000 + sil(2));
    }

    /// A forest of 100 trees (depth 10, 1 row a leaf) on 10,000 rows x 4, 3 classes, 2
    /// threads: test rows at most 2,000 + 3, training 8,000; bootstrap rows 5,120. One sort of
    /// the training rows: 4 x 8,000 x 4 orders and 8,000 x 16 keys.
    #[test]
    fn forest_by_hand() {
        let o = ClassifyOptions::from_json(r#"{"method": "forest", "exact": true}"#).unwrap();
        let e = classify(&Shape::numbers(10_000, 4), 3, &o, 2);
        assert_eq!(e.held, 320_000 + 80_000);
        let split_bytes = 80_000 + (8_000 + 2_003) * 8;
        let training = 8_000 * 32 + 8_000 * 4;
        // Per tree: counts 32,000; sorts 4 x 5,120 x 4 = 81,920; weights 5,120 x 8 = 40,960
        // (and 2,880 x 8 = 23,040 more: they cover every training row); flags 8,000; buffer
        // 20,480; nodes min(2,047, 10,239) x (128 + 48).
        let one = 32_000 + 81_920 + 40_960 + 8_000 + 20_480 + 2_047 * 176 + 23_040;
        let stored = (100 * 2_047) * (16 + 12);
        let forest = 4 * 8_000 * 4 + 8_000 * 16 + 2 * one + stored;
        assert_eq!(e.work, split_bytes + training + forest + 2 * 2_003 * 4);
        // One thread holds one growing tree fewer.
        assert_eq!(
            classify(&Shape::numbers(10_000, 4), 3, &o, 1).work,
            e.work - one
        );

        // On histograms: the columns binned once (codes 8,000 x 4, two columns sorted at once
        // 2 x 8,000 x 8, bin edges 4 x 255 x 16); per tree its counts and weights over the
        // training rows, its rows, buffer, gathered classes and weights 5,120 x 20, 12 sets of
        // min(4 x 255 x (24 + 4), 1 MiB) and one column's, the nodes.
        let o = ClassifyOptions::from_json(r#"{"method": "forest"}"#).unwrap();
        let e = classify(&Shape::numbers(10_000, 4), 3, &o, 2);
        let bins = 32_000 + 128_000 + 16_320;
        let one = 8_000 * 12 + 5_120 * 20 + 12 * 28_560 + 7_140 + 2_047 * 176;
        let forest = bins + 2 * one + stored;
        assert_eq!(e.work, split_bytes + training + forest + 2 * 2_003 * 4);
    }

    #[test]
    fn tree_nodes_are_bounded_by_depth_and_leaf_rows() {
        assert_eq!(tree_nodes(1_000_000, 5, 1), 63);
        assert_eq!(tree_nodes(100, 30, 20), 9);
        assert_eq!(tree_nodes(10, 30, 20), 1);
    }

    #[test]
    fn churn_and_rules_by_hand() {
        let o = ChurnOptions::from_json(r#"{"exact": true}"#).unwrap();
        // 10,000 rows x 2: test at most 2,002, training 8,000; a tree of depth 5 on 20-row
        // leaves: min(63, 799) nodes of 128 + 32; its sort keys 8,000 x 16.
        let e = churn(&Shape::numbers(10_000, 2), &o);
        assert_eq!(e.held, 160_000 + 50_000);
        let tree_bytes = 8_000 * 16 + 2 * 8_000 * 4 + 8_000 * 8 + 8_000 + 8_000 * 4 + 63 * 160;
        assert_eq!(
            e.work,
            40_000 + (80_000 + 10_002 * 8) + 8_000 * 21 + tree_bytes + 2_002 * 9
        );
        // On histograms: codes 8,000 x 2, one column sorted 8,000 x 8, edges 2 x 255 x 16; the
        // weights; rows, buffer, gathered classes and weights 8,000 x 20, 7 sets of
        // 2 x 255 x (16 + 4) and one column's, the nodes.
        let o = ChurnOptions::from_json("{}").unwrap();
        let e = churn(&Shape::numbers(10_000, 2), &o);
        let tree_bytes =
            (16_000 + 64_000 + 8_160) + 8_000 * 8 + (8_000 * 20 + 7 * 10_200 + 5_100 + 63 * 160);
        assert_eq!(
            e.work,
            40_000 + (80_000 + 10_002 * 8) + 8_000 * 21 + tree_bytes + 2_002 * 9
        );
        let r = rules(&Shape::numbers(10_000, 2), 4, 3);
        assert_eq!(r.held, 160_000 + 40_000);
        assert_eq!(
            r.work,
            10_000 * 16 + 2 * 10_000 * 4 + 80_000 + 10_000 + 40_000 + 15 * (128 + 64)
        );
    }

    #[test]
    fn clv_by_hand() {
        // 1,000 customers with 10-byte ids, 400 repeat buyers.
        assert_eq!(clv_summaries(1_000, 10_000), 144_000 + 10_000);
        let e = clv_fit(1_000, 400, 10_000);
        assert_eq!(e.total(), 154_000 + 84_000 + 400 * 72);
        assert_eq!(clv_fit_bytes(1_000, 400, 10_000), e.total());
        assert_eq!(clv_scores(1_000, 10_000).total(), 154_000);
        // A million customers with 8-byte ids, all repeat buyers: 294 MB.
        assert_eq!(clv_fit_bytes(1_000_000, 1_000_000, 8_000_000), 308_000_000);
    }

    #[test]
    fn over_the_limit_is_refused_with_the_estimate() {
        let e = fit(&Shape::numbers(20_000, 4), &options("{}", Some(3)), LIMITS);
        assert!(e.total() > 2 * MB && e.total() < 3 * MB, "{}", e.total());
        let err = e.check(MB).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ResourceLimit);
        // 640,000 bytes read are 0.61 MB, shown 0.7; the total 2,321,296 bytes 2.21 MB, 2.3.
        assert_eq!(e.total(), 2_321_296);
        assert_eq!(
            err.message,
            "segment_fit with method kmeans needs an estimated 2.3 MB (0.7 MB read, 1.6 MB to fit), more than customer_segment.max_memory_mb (1 MB)"
        );
        let hint = err.hint.unwrap();
        assert!(hint.contains("minibatch_kmeans") && hint.contains("max_memory_mb_limit"));
        assert!(e.check(3 * MB).is_ok());
        assert!(e.check(e.total()).is_ok());
        // Another group's matrix held beside it counts.
        assert!(e.clone().holding(MB).check(e.total()).is_err());
    }
}
