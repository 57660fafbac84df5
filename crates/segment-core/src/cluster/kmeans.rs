//! k-means: greedy k-means++ starts and Lloyd iterations, on a contiguous f64 matrix.
//!
//! Our own kernel rather than linfa-clustering's `KMeans` 0.8.1, for three measured or structural
//! reasons (`tests` below keep linfa as the oracle):
//! - linfa's Lloyd step is ~5x slower per iteration than scikit-learn's on 1M x 8 rows, and the
//!   fit target is set relative to scikit-learn;
//! - linfa's fit has no per-iteration hook, so a long fit could not honour `statement_timeout` or
//!   a cancel; here the caller's `check` runs between every step;
//! - linfa's k-means++ seeding is crate-private (reachable only through a full fit, whose centre
//!   update also mixes in the old centre, m_k-means style).
//!
//! Results do not depend on the thread count: rows are cut into fixed blocks and block partial
//! sums are reduced in block order.

use crate::cluster::shares::Shares;
use crate::cluster::{check_sample_rows, MethodParameters, Starts};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::parallel::{self, BLOCK_ROWS};
use crate::params::{Given, ParamGuard};
use crate::prep::matrix::FeatureMatrix;
use crate::progress::{self, Progress};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Upper bound on k: far above any useful segmentation, low enough to keep per-block state small.
pub const MAX_K: usize = 1000;

/// Above this many rows (or 100 per centre, if more), each start's k-means++ runs on a seeded
/// uniform sample of that many rows: greedy k-means++ reads every row twice per centre, which on
/// 1M x 8 rows cost more than the Lloyd iterations after it (100 ms against about 35 ms, k = 8,
/// two threads). A sample of 100,000 rows puts ~12,000 under each of 8 centres, plenty to place
/// the starts; Lloyd then runs on every row.
pub const SEED_SAMPLE_ROWS: usize = 100_000;

#[derive(Debug, Clone)]
pub struct KMeansParams {
    pub k: usize,
    pub n_init: u32,
    pub max_iter: u32,
    /// scikit-learn's relative tolerance (see `FitOptions::tol`).
    pub tol: f64,
    pub seed: u64,
    pub threads: usize,
}

/// Where k-means' Lloyd steps are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// On a matrix held in the backend (the fastest on one server).
    #[default]
    Memory,
    /// By the SQL aggregate `segment_kmeans_step` over the source, one query per step: memory
    /// does not grow with the rows, PostgreSQL's parallel aggregation splits each step across
    /// workers, and a distributed PostgreSQL can push it to every shard.
    Aggregate,
}

impl Engine {
    pub fn is_memory(&self) -> bool {
        *self == Engine::Memory
    }
}

/// The k range a k-means fit scans when k is not given (the scores pick one: `model::choose_k::auto_k`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KRange {
    k_min: u64,
    k_max: u64,
}

impl KRange {
    pub fn k_min(&self) -> usize {
        self.k_min as usize
    }

    pub fn k_max(&self) -> usize {
        self.k_max as usize
    }
}

/// How many segments a k-means fit makes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KChoice {
    Given(usize),
    /// The k the scores recommend over this range.
    Scan(KRange),
}

/// The checked parameters of method kmeans (linfa's "valid params"): only
/// [`KMeansOptions::check`] makes one. Serialized, they are the method's part of the stored
/// options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KMeansMethod {
    /// The k given (None: chosen over `scan`).
    pub(crate) k: Option<i64>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) scan: Option<KRange>,
    #[serde(flatten)]
    pub(crate) starts: Starts,
    /// Fit on a seeded sample of this many rows (None: every row; with engine aggregate, the
    /// summary pass's sample).
    pub(crate) sample_rows: Option<u64>,
    /// Where the Lloyd steps run (absent from stored options when `memory`).
    #[serde(skip_serializing_if = "Engine::is_memory")]
    pub(crate) engine: Engine,
    /// Start from the current version's centres (`fit_from`) instead of k-means++ starts.
    #[serde(skip_serializing_if = "crate::cluster::is_false")]
    pub(crate) warm_start: bool,
    /// Bounds on the segments' shares of the rows (`cluster::constrained`; absent when not given;
    /// boxed, to keep the options small).
    #[serde(flatten)]
    pub(crate) shares: Box<Shares>,
}

/// The options of method kmeans as given, with the call's k (linfa's unchecked params).
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions(pub(crate) KMeansMethod);

impl KMeansOptions {
    pub const KEYS: [&'static str; 10] = [
        "n_init",
        "max_iter",
        "tol",
        "sample_rows",
        "engine",
        "k_min",
        "k_max",
        "warm_start",
        Shares::KEYS[0],
        Shares::KEYS[1],
    ];
    /// The keys that apply only when k is chosen (k NULL).
    pub const CHOOSE_K_KEYS: [&'static str; 2] = ["k_min", "k_max"];

    /// The given options, the defaults for the others (scikit-learn's; k from 2 to 10 when k is
    /// not given, which is the only case the range is kept).
    pub fn read(given: &Given, k: Option<i64>) -> KMeansOptions {
        KMeansOptions(KMeansMethod {
            k,
            scan: k.is_none().then(|| KRange {
                k_min: given.integer("k_min").unwrap_or(2),
                k_max: given.integer("k_max").unwrap_or(10),
            }),
            starts: Starts::read(given),
            sample_rows: given.integer("sample_rows"),
            engine: given.choice("engine").unwrap_or_default(),
            warm_start: given.boolean("warm_start").unwrap_or(false),
            shares: Box::new(Shares::read(given)),
        })
    }
}

impl ParamGuard for KMeansOptions {
    type Checked = KMeansMethod;
    type Error = CoreError;

    /// The options first, then k: given, or a range of 2 <= k_min <= k_max < k_min + 50
    /// (`check_k_scan`); engine aggregate needs k given.
    fn check_ref(&self) -> CoreResult<&KMeansMethod> {
        let o = &self.0;
        o.starts.check()?;
        check_sample_rows(o.sample_rows, u64::MAX, "kmeans")?;
        if let Some(scan) = &o.scan {
            for (key, k) in [("k_min", scan.k_min), ("k_max", scan.k_max)] {
                if k > MAX_K as u64 {
                    return Err(CoreError::invalid_parameter(format!(
                        "option {key} must be at most {MAX_K}, not {k}"
                    )));
                }
            }
        }
        if o.warm_start && o.engine == Engine::Aggregate {
            return Err(CoreError::invalid_parameter(
                "option warm_start fits in memory: it does not combine with engine aggregate",
            )
            .with_hint("Leave engine out to refit from the current centres in memory, or leave warm_start out."));
        }
        if let Some(k) = o.k {
            check_k_range(k)?;
        } else if o.engine == Engine::Aggregate {
            return Err(
                CoreError::invalid_parameter("option engine aggregate needs k")
                    .with_hint("Choose k with segment_choose_k, then pass it."),
            );
        }
        if let Some(scan) = &o.scan {
            check_k_scan(scan.k_min as i64, scan.k_max as i64)?;
        }
        o.shares
            .check(o.k, o.engine == Engine::Aggregate, o.sample_rows)?;
        if o.warm_start && o.shares.is_set() {
            return Err(CoreError::new(
                ErrorKind::NotSupported,
                "option warm_start does not combine with min_share or max_share yet: a bounded fit starts from its own seeds",
            )
            .with_hint("Refit with the bounds and without warm_start (ids are still matched by centre)."));
        }
        Ok(o)
    }

    fn check(self) -> CoreResult<KMeansMethod> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MethodParameters for KMeansMethod {
    fn k(&self) -> Option<usize> {
        match self.k() {
            KChoice::Given(k) => Some(k),
            KChoice::Scan(_) => None,
        }
    }

    fn sample_limit(&self) -> Option<u64> {
        self.sample_rows
    }

    fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn warm_start(&self) -> bool {
        self.warm_start
    }
}

impl KMeansMethod {
    pub fn k(&self) -> KChoice {
        match (self.k, self.scan) {
            (Some(k), _) => KChoice::Given(k as usize),
            (None, Some(scan)) => KChoice::Scan(scan),
            // `read` keeps a range whenever k is not given.
            (None, None) => KChoice::Scan(KRange {
                k_min: 2,
                k_max: 10,
            }),
        }
    }

    pub fn starts(&self) -> &Starts {
        &self.starts
    }

    pub fn sample_rows(&self) -> Option<u64> {
        self.sample_rows
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The size bounds (`cluster::constrained`): the fit is constrained when one is given.
    pub fn shares(&self) -> &Shares {
        &self.shares
    }

    /// The same parameters with k given (a scan's pick, a refit's k): k is checked again.
    pub fn with_k(&self, k: usize) -> CoreResult<KMeansMethod> {
        let mut given = KMeansOptions(self.clone());
        given.0.k = Some(k as i64);
        given.0.scan = None;
        given.check()
    }

    /// The Lloyd runs of this fit with `k` segments.
    pub fn lloyd(&self, k: usize, seed: u64, threads: usize) -> KMeansParams {
        KMeansParams {
            k,
            n_init: self.starts.n_init(),
            max_iter: self.starts.max_iter(),
            tol: self.starts.tol(),
            seed,
            threads,
        }
    }
}

/// Widest k range one scan may cover (each k is a full fit).
pub const MAX_K_RANGE: usize = 50;

/// Checks a k range before any data is read.
pub fn check_k_scan(k_min: i64, k_max: i64) -> CoreResult<(usize, usize)> {
    if k_min < 2 || k_max < k_min || k_max - k_min >= MAX_K_RANGE as i64 {
        return Err(CoreError::invalid_parameter(format!(
            "k_min and k_max must satisfy 2 <= k_min <= k_max < k_min + {MAX_K_RANGE}, not {k_min} and {k_max}"
        ))
        .with_hint("Scores such as the silhouette need at least 2 segments; scan a narrower range."));
    }
    Ok((k_min as usize, check_k_range(k_max)?))
}

#[derive(Debug, Clone)]
pub struct KMeansFit {
    pub centres: Centres,
    /// Segment of every row, consistent with `centres`.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centre (scikit-learn's `inertia_`).
    pub inertia: f64,
    /// Lloyd iterations of the winning start.
    pub iterations: u32,
    pub converged: bool,
}

/// k centres of d features, kept both row-major (to read) and feature-major (for the kernel: the
/// inner loop runs over the k centres of one feature, contiguous, which vectorizes).
#[derive(Debug, Clone, PartialEq)]
pub struct Centres {
    k: usize,
    d: usize,
    rows: Vec<f64>,
    by_feature: Vec<f64>,
}

impl Centres {
    pub fn new(rows: Vec<f64>, d: usize) -> Centres {
        assert!(d > 0 && !rows.is_empty() && rows.len().is_multiple_of(d));
        let k = rows.len() / d;
        let mut by_feature = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                by_feature[j * k + c] = rows[c * d + j];
            }
        }
        Centres {
            k,
            d,
            rows,
            by_feature,
        }
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn d(&self) -> usize {
        self.d
    }

    pub fn row(&self, c: usize) -> &[f64] {
        &self.rows[c * self.d..(c + 1) * self.d]
    }

    pub fn rows(&self) -> &[f64] {
        &self.rows
    }

    /// Nearest centre of `x` and its squared distance; ties go to the lowest index.
    /// `scratch` must hold k values; it is overwritten.
    #[inline(always)]
    pub fn nearest(&self, x: &[f64], scratch: &mut [f64]) -> (u32, f64) {
        let k = self.k;
        let dist = &mut scratch[..k];
        dist.fill(0.0);
        for (j, &xj) in x.iter().enumerate().take(self.d) {
            let col = &self.by_feature[j * k..(j + 1) * k];
            for (dd, &c) in dist.iter_mut().zip(col) {
                let t = xj - c;
                *dd += t * t;
            }
        }
        let mut best = 0;
        let mut best_d = dist[0];
        for (c, &dc) in dist.iter().enumerate().skip(1) {
            if dc < best_d {
                best = c;
                best_d = dc;
            }
        }
        (best as u32, best_d)
    }
}

impl Centres {
    /// `nearest` for a k fixed at compile time; same arithmetic in the same order.
    #[inline(always)]
    pub fn nearest_k<const K: usize>(&self, x: &[f64]) -> (u32, f64) {
        let dist = self.distances_k::<K>(x);
        let mut best = 0;
        let mut best_d = dist[0];
        for (c, &dc) in dist.iter().enumerate().skip(1) {
            if dc < best_d {
                best = c;
                best_d = dc;
            }
        }
        (best as u32, best_d)
    }

    /// `nearest` through the compile-time-k loop when k is small (the per-row assign path).
    #[inline]
    pub fn nearest_fast(&self, x: &[f64], scratch: &mut [f64]) -> (u32, f64) {
        macro_rules! fixed {
            ($($k:literal)*) => {
                match self.k {
                    $($k => self.nearest_k::<$k>(x),)*
                    _ => self.nearest(x, scratch),
                }
            };
        }
        fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }

    /// Squared distances of `x` to all K centres (K fixed at compile time).
    #[inline(always)]
    pub fn distances_k<const K: usize>(&self, x: &[f64]) -> [f64; K] {
        let mut dist = [0.0f64; K];
        for (j, &xj) in x.iter().enumerate().take(self.d) {
            let col: &[f64; K] = self.by_feature[j * K..(j + 1) * K]
                .try_into()
                .expect("k = K");
            for c in 0..K {
                let t = xj - col[c];
                dist[c] += t * t;
            }
        }
        dist
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Mean of the per-feature (population) variances: scikit-learn scales `tol` by it.
pub(crate) fn mean_variance(x: &FeatureMatrix) -> f64 {
    let (n, d) = (x.n_rows() as f64, x.n_cols());
    let mut mean = vec![0.0; d];
    for row in x.rows() {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = 0.0;
    for row in x.rows() {
        var += row
            .iter()
            .zip(&mean)
            .map(|(v, m)| (v - m) * (v - m))
            .sum::<f64>();
    }
    var / n / d as f64
}

/// Checks the requested k before any data is read.
pub fn check_k_range(k: i64) -> CoreResult<usize> {
    if k < 1 || k > MAX_K as i64 {
        return Err(CoreError::invalid_parameter(format!(
            "k must be between 1 and {MAX_K}, not {k}"
        ))
        .with_hint("k is the number of segments to find."));
    }
    Ok(k as usize)
}

/// Checks k against the rows that survived reading.
pub fn check_k(k: usize, usable_rows: usize) -> CoreResult<()> {
    check_k_range(k as i64)?;
    if usable_rows == 0 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "the source has no usable rows (it is empty, or every row has a NULL feature)",
        )
        .with_hint(r#"Check the source, or use options '{"impute": "mean"}' to fill NULLs."#));
    }
    if k > usable_rows {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!("k = {k} is larger than the number of usable rows ({usable_rows})"),
        )
        .with_hint("Choose a k no larger than the number of rows."));
    }
    Ok(())
}

/// Fits k-means. `check` is called between steps (the shell passes its interrupt check).
pub fn fit(x: &FeatureMatrix, p: &KMeansParams, check: &mut dyn FnMut()) -> CoreResult<KMeansFit> {
    check_k(p.k, x.n_rows())?;
    let tol = p.tol * mean_variance(x);
    let mut master = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let mut work = Lloyd::new(x, p.k, p.threads);
    let mut best: Option<KMeansFit> = None;
    for s in 0..p.n_init {
        check();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(master.gen());
        let start = seed(x, p.k, p.threads, &mut rng, check);
        let run = work.run(start, p.max_iter, tol, check, (s + 1, p.n_init));
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    Ok(best.expect("n_init >= 1"))
}

/// Fits k-means from given centres (a warm start: the current version's, mapped into this fit's
/// scaled units): one Lloyd run, no k-means++ and no other starts, so each segment keeps its
/// centre's id. `p.n_init` and `p.seed` are not used.
pub fn fit_from(
    x: &FeatureMatrix,
    start: Centres,
    p: &KMeansParams,
    check: &mut dyn FnMut(),
) -> CoreResult<KMeansFit> {
    check_k(start.k(), x.n_rows())?;
    if start.d() != x.n_cols() {
        return Err(CoreError::invalid_parameter(format!(
            "the start has {} columns, the rows {}",
            start.d(),
            x.n_cols()
        )));
    }
    let tol = p.tol * mean_variance(x);
    let mut work = Lloyd::new(x, start.k(), p.threads);
    Ok(work.run(start, p.max_iter, tol, check, (1, 1)))
}

/// Per-block partial results of one assignment pass.
#[derive(Clone)]
struct BlockStats {
    sums: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
    changed: u64,
    scratch: Vec<f64>,
}

struct Lloyd<'a> {
    x: &'a FeatureMatrix,
    k: usize,
    threads: usize,
    blocks: Vec<BlockStats>,
}

impl<'a> Lloyd<'a> {
    fn new(x: &'a FeatureMatrix, k: usize, threads: usize) -> Lloyd<'a> {
        let d = x.n_cols();
        let n_blocks = x.n_rows().div_ceil(BLOCK_ROWS);
        let block = BlockStats {
            sums: vec![0.0; k * d],
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
            scratch: vec![0.0; k],
        };
        Lloyd {
            x,
            k,
            threads,
            blocks: vec![block; n_blocks],
        }
    }

    /// One assignment pass: labels, per-block sums, counts, inertia and label changes; `check`
    /// between blocks (a pass over 1M rows with k = 100 takes about a second).
    fn assign(&mut self, centres: &Centres, labels: &mut [u32], check: &mut dyn FnMut()) {
        let d = self.x.n_cols();
        let mut items: Vec<_> = self
            .x
            .as_slice()
            .chunks(BLOCK_ROWS * d)
            .zip(labels.chunks_mut(BLOCK_ROWS))
            .zip(self.blocks.iter_mut())
            .collect();
        parallel::for_each_checked(&mut items, self.threads, check, |((rows, labels), b)| {
            assign_rows(centres, rows, labels, b)
        });
    }

    fn totals(&self) -> (Vec<f64>, Vec<u64>, f64, u64) {
        let d = self.x.n_cols();
        let mut sums = vec![0.0; self.k * d];
        let mut counts = vec![0; self.k];
        let (mut inertia, mut changed) = (0.0, 0);
        for b in &self.blocks {
            sums.iter_mut().zip(&b.sums).for_each(|(s, v)| *s += v);
            counts.iter_mut().zip(&b.counts).for_each(|(s, v)| *s += v);
            inertia += b.inertia;
            changed += b.changed;
        }
        (sums, counts, inertia, changed)
    }

    /// Lloyd iterations from `start` until labels stop changing, the centre shift falls to `tol`,
    /// or `max_iter`; then a last assignment so labels and inertia match the returned centres.
    fn run(
        &mut self,
        start: Centres,
        max_iter: u32,
        tol: f64,
        check: &mut dyn FnMut(),
        (start_no, starts): (u32, u32),
    ) -> KMeansFit {
        let d = self.x.n_cols();
        let mut labels = vec![u32::MAX; self.x.n_rows()];
        let mut centres = start;
        let mut iterations = 0;
        let mut converged = false;
        while iterations < max_iter {
            self.assign(&centres, &mut labels, check);
            iterations += 1;
            let (sums, counts, inertia, changed) = self.totals();
            progress::report(Progress::Iteration {
                start: start_no,
                starts,
                iteration: iterations,
                inertia,
                rows: self.x.n_rows(),
            });
            if changed == 0 {
                converged = true; // labels are stable: centres cannot move any more
                break;
            }
            let mut next = sums;
            let empty: Vec<usize> = (0..self.k).filter(|&c| counts[c] == 0).collect();
            for c in 0..self.k {
                if counts[c] > 0 {
                    next[c * d..(c + 1) * d]
                        .iter_mut()
                        .for_each(|v| *v /= counts[c] as f64);
                }
            }
            // Like scikit-learn: an empty cluster restarts at the row farthest from its centre.
            for (c, row) in empty
                .iter()
                .zip(farthest_rows(self.x, &centres, &labels, empty.len()))
            {
                next[c * d..(c + 1) * d].copy_from_slice(self.x.row(row));
            }
            let shift: f64 = (0..self.k)
                .map(|c| sq_dist(&next[c * d..(c + 1) * d], centres.row(c)))
                .sum();
            centres = Centres::new(next, d);
            if shift <= tol {
                converged = true;
                break;
            }
        }
        self.assign(&centres, &mut labels, check);
        let (_, _, inertia, _) = self.totals();
        KMeansFit {
            centres,
            labels,
            inertia,
            iterations,
            converged,
        }
    }
}

/// Assigns one block of rows and accumulates its partial sums. The loop is compiled three times
/// (baseline x86-64, AVX2, AVX-512) and the widest the CPU has is chosen at run time: the distance
/// loop over k centres of one feature is what vectorizes, and the baseline build has only SSE2.
/// No FMA is enabled, so every variant rounds alike and results stay identical.
fn assign_rows(centres: &Centres, rows: &[f64], labels: &mut [u32], b: &mut BlockStats) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { assign_rows_avx512(centres, rows, labels, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { assign_rows_avx2(centres, rows, labels, b) };
        }
    }
    assign_rows_generic(centres, rows, labels, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn assign_rows_avx512(
    centres: &Centres,
    rows: &[f64],
    labels: &mut [u32],
    b: &mut BlockStats,
) {
    assign_rows_generic(centres, rows, labels, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn assign_rows_avx2(
    centres: &Centres,
    rows: &[f64],
    labels: &mut [u32],
    b: &mut BlockStats,
) {
    assign_rows_generic(centres, rows, labels, b)
}

#[inline(always)]
fn assign_rows_generic(centres: &Centres, rows: &[f64], labels: &mut [u32], b: &mut BlockStats) {
    // Small k (the usual segmentation) gets a loop with k known at compile time: the distances
    // live in registers and the loops unroll (1M x 8 rows, k = 8, one thread: 34.5 ms -> 15.4 ms
    // per pass; see the ignored `timing` test).
    macro_rules! fixed {
        ($($k:literal)*) => {
            match centres.k() {
                $($k => assign_rows_k(centres, rows, labels, b, &FixedK::<$k>(centres)),)*
                _ => assign_rows_k(centres, rows, labels, b, &AnyK(centres)),
            }
        };
    }
    fixed!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
}

/// How a row finds its nearest centre inside `assign_rows_k`. A trait with `#[inline(always)]`
/// methods rather than a closure: once the core became a crate of its own, the closures stopped
/// being inlined into the AVX-512 / AVX2 copies of the loop and ran as plain x86-64 functions, one
/// call per row (a fit of 1M x 8 rows took about 25% more CPU time; measured with perf).
trait NearestCentre {
    fn nearest(&self, x: &[f64], scratch: &mut [f64]) -> (u32, f64);
}

/// k fixed at compile time.
struct FixedK<'a, const K: usize>(&'a Centres);

impl<const K: usize> NearestCentre for FixedK<'_, K> {
    #[inline(always)]
    fn nearest(&self, x: &[f64], _: &mut [f64]) -> (u32, f64) {
        self.0.nearest_k::<K>(x)
    }
}

/// Any k.
struct AnyK<'a>(&'a Centres);

impl NearestCentre for AnyK<'_> {
    #[inline(always)]
    fn nearest(&self, x: &[f64], scratch: &mut [f64]) -> (u32, f64) {
        self.0.nearest(x, scratch)
    }
}

#[inline(always)]
fn assign_rows_k(
    centres: &Centres,
    rows: &[f64],
    labels: &mut [u32],
    b: &mut BlockStats,
    rule: &impl NearestCentre,
) {
    let d = centres.d();
    b.sums.fill(0.0);
    b.counts.fill(0);
    b.inertia = 0.0;
    b.changed = 0;
    for (row, label) in rows.chunks_exact(d).zip(labels.iter_mut()) {
        let (c, dist) = rule.nearest(row, &mut b.scratch);
        if *label != c {
            b.changed += 1;
            *label = c;
        }
        let c = c as usize;
        b.counts[c] += 1;
        b.inertia += dist;
        for (s, v) in b.sums[c * d..(c + 1) * d].iter_mut().zip(row) {
            *s += v;
        }
    }
}

/// The `m` rows farthest from their own centre (distinct rows), farthest first.
fn farthest_rows(x: &FeatureMatrix, centres: &Centres, labels: &[u32], m: usize) -> Vec<usize> {
    if m == 0 {
        return Vec::new();
    }
    let mut top: Vec<(f64, usize)> = Vec::with_capacity(m + 1);
    for (i, (row, &l)) in x.rows().zip(labels).enumerate() {
        let dist = sq_dist(row, centres.row(l as usize));
        if top.len() < m || dist > top[top.len() - 1].0 {
            let at = top.partition_point(|&(t, _)| t >= dist);
            top.insert(at, (dist, i));
            top.truncate(m);
        }
    }
    top.into_iter().map(|(_, i)| i).collect()
}

/// One start's centres: greedy k-means++ on every row, or on a seeded sample above
/// `SEED_SAMPLE_ROWS` (see there).
pub fn seed(
    x: &FeatureMatrix,
    k: usize,
    threads: usize,
    rng: &mut Xoshiro256PlusPlus,
    check: &mut dyn FnMut(),
) -> Centres {
    let limit = SEED_SAMPLE_ROWS.max(100 * k);
    if x.n_rows() <= limit {
        return plus_plus(x, k, threads, rng, check);
    }
    plus_plus(&selection_sample(x, limit, rng), k, threads, rng, check)
}

/// `m` of the rows, each set of `m` equally likely, kept in row order without a sort: Knuth's
/// selection sampling (Algorithm S) over the row numbers, then one gather in order.
fn selection_sample(x: &FeatureMatrix, m: usize, rng: &mut Xoshiro256PlusPlus) -> FeatureMatrix {
    let n = x.n_rows();
    let mut rows = Vec::with_capacity(m);
    for i in 0..n {
        let needed = m - rows.len();
        if needed == 0 {
            break;
        }
        // Take row i with probability needed / (rows left, row i included).
        if (rng.gen::<f64>() * (n - i) as f64) < needed as f64 {
            rows.push(i);
        }
    }
    x.select_rows(&rows)
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007, with scikit-learn's 2 + ln k local trials):
/// each new centre is the best of several rows drawn with probability proportional to their
/// squared distance to the nearest centre so far.
pub fn plus_plus(
    x: &FeatureMatrix,
    k: usize,
    threads: usize,
    rng: &mut Xoshiro256PlusPlus,
    check: &mut dyn FnMut(),
) -> Centres {
    let (n, d) = (x.n_rows(), x.n_cols());
    let trials = 2 + (k as f64).ln() as usize;
    let mut chosen: Vec<f64> = Vec::with_capacity(k * d);
    chosen.extend_from_slice(x.row(rng.gen_range(0..n)));
    let mut min_d: Vec<f64> = vec![0.0; n];
    update_min_dist(x, &chosen[..d], &mut min_d, threads, true, check);
    let mut potential: f64 = block_sum(&min_d);
    let mut candidate_rows: Vec<usize> = Vec::with_capacity(trials);
    for _ in 1..k {
        candidate_rows.clear();
        if potential > 0.0 {
            let mut targets: Vec<f64> = (0..trials).map(|_| rng.gen::<f64>() * potential).collect();
            targets.sort_by(f64::total_cmp);
            let mut acc = 0.0;
            let mut t = 0;
            for (i, &di) in min_d.iter().enumerate() {
                acc += di;
                while t < trials && targets[t] < acc {
                    candidate_rows.push(i);
                    t += 1;
                }
                if t == trials {
                    break;
                }
            }
            // Rounding can leave targets at the very end: they go to the last row with weight.
            let last = min_d.iter().rposition(|&v| v > 0.0).unwrap_or(n - 1);
            candidate_rows.resize(trials, last);
        } else {
            // Every row sits on a centre already (duplicates): any row will do.
            candidate_rows.push(rng.gen_range(0..n));
        }
        let best = best_candidate(x, &candidate_rows, &min_d, threads, check);
        chosen.extend_from_slice(x.row(best));
        update_min_dist(x, x.row(best), &mut min_d, threads, false, check);
        potential = block_sum(&min_d);
    }
    Centres::new(chosen, d)
}

/// Sum in fixed blocks, reduced in order, so it does not depend on threads.
fn block_sum(v: &[f64]) -> f64 {
    v.chunks(BLOCK_ROWS).map(|b| b.iter().sum::<f64>()).sum()
}

/// min_d[i] = min(min_d[i], |x_i - centre|²), or = |x_i - centre|² when `first`.
fn update_min_dist(
    x: &FeatureMatrix,
    centre: &[f64],
    min_d: &mut [f64],
    threads: usize,
    first: bool,
    check: &mut dyn FnMut(),
) {
    let d = x.n_cols();
    let mut items: Vec<_> = x
        .as_slice()
        .chunks(BLOCK_ROWS * d)
        .zip(min_d.chunks_mut(BLOCK_ROWS))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(rows, md)| {
        for (row, m) in rows.chunks_exact(d).zip(md.iter_mut()) {
            let dist = sq_dist(row, centre);
            if first || dist < *m {
                *m = dist;
            }
        }
    });
}

/// The candidate row whose addition lowers the potential most (first one on ties).
fn best_candidate(
    x: &FeatureMatrix,
    candidates: &[usize],
    min_d: &[f64],
    threads: usize,
    check: &mut dyn FnMut(),
) -> usize {
    let d = x.n_cols();
    let cands = Centres::new(
        candidates
            .iter()
            .flat_map(|&i| x.row(i).iter().copied())
            .collect(),
        d,
    );
    let mut items: Vec<_> = x
        .as_slice()
        .chunks(BLOCK_ROWS * d)
        .zip(min_d.chunks(BLOCK_ROWS))
        .map(|(rows, md)| (rows, md, vec![0.0; cands.k()]))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(rows, md, pots)| {
        // The usual trial counts (2 + ln k) get a compile-time K, as in the Lloyd loop.
        macro_rules! fixed {
            ($($k:literal)*) => {
                match cands.k() {
                    $($k => for (row, &m) in rows.chunks_exact(d).zip(md.iter()) {
                        for (p, dist) in pots.iter_mut().zip(cands.distances_k::<$k>(row)) {
                            *p += dist.min(m);
                        }
                    },)*
                    _ => for (row, &m) in rows.chunks_exact(d).zip(md.iter()) {
                        for (c, p) in pots.iter_mut().enumerate() {
                            *p += sq_dist(row, cands.row(c)).min(m);
                        }
                    },
                }
            };
        }
        fixed!(1 2 3 4 5 6 7 8)
    });
    let mut totals = vec![0.0; cands.k()];
    for (_, _, pots) in &items {
        totals.iter_mut().zip(pots).for_each(|(t, p)| *t += p);
    }
    let mut best = 0;
    for t in 1..totals.len() {
        if totals[t] < totals[best] {
            best = t;
        }
    }
    candidates[best]
}

#[cfg(test)]
mod options_tests {
    use super::*;
    use crate::cluster::OPTION_KEYS;

    fn read(text: &str, k: Option<i64>) -> KMeansOptions {
        KMeansOptions::read(&Given::from_json(text, None, &OPTION_KEYS).unwrap(), k)
    }

    #[test]
    fn kmeans_options_are_read_and_checked() {
        let o = read(
            r#"{"n_init": 3, "engine": "aggregate", "k_max": 7, "sample_rows": 100}"#,
            Some(4),
        )
        .check()
        .unwrap();
        assert_eq!(o.starts().n_init(), 3);
        assert_eq!(o.engine(), Engine::Aggregate);
        assert_eq!((o.k(), o.sample_rows()), (KChoice::Given(4), Some(100)));
        let o = read(r#"{"k_max": 7}"#, None).check().unwrap();
        assert_eq!(o.k(), KChoice::Scan(KRange { k_min: 2, k_max: 7 }));
        assert_eq!(o.engine(), Engine::Memory);
        for (text, k, message) in [
            (r#"{"n_init": 0}"#, Some(3), "option n_init must be between 1 and 1000, not 0"),
            (
                r#"{"sample_rows": 1}"#,
                Some(3),
                "option sample_rows must be between 2 and 18446744073709551615 for method kmeans, not 1",
            ),
            (r#"{"k_max": 5000}"#, None, "option k_max must be at most 1000, not 5000"),
            ("{}", Some(0), "k must be between 1 and 1000, not 0"),
            (
                r#"{"k_min": 5, "k_max": 3}"#,
                None,
                "k_min and k_max must satisfy 2 <= k_min <= k_max < k_min + 50, not 5 and 3",
            ),
            (r#"{"engine": "aggregate"}"#, None, "option engine aggregate needs k"),
        ] {
            assert_eq!(read(text, k).check().unwrap_err().message, message, "{text}");
        }
    }

    #[test]
    fn with_k_checks_k_again() {
        let o = read("{}", None).check().unwrap();
        assert_eq!(o.with_k(3).unwrap().k(), KChoice::Given(3));
        assert!(o.with_k(5000).is_err());
        let lloyd = o.lloyd(3, 7, 2);
        assert_eq!(
            (lloyd.k, lloyd.n_init, lloyd.max_iter, lloyd.seed),
            (3, 10, 300, 7)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_clustering::KMeans;
    use ndarray::ArrayView2;

    fn params(k: usize) -> KMeansParams {
        KMeansParams {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            threads: 2,
        }
    }

    /// Gaussian-ish blobs from a seeded generator (sum of uniforms), deterministic.
    fn blobs(n_per: usize, centres: &[[f64; 2]], seed: u64) -> FeatureMatrix {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut data = Vec::new();
        for c in centres {
            for _ in 0..n_per {
                for cj in c {
                    let noise: f64 = (0..6).map(|_| rng.gen::<f64>() - 0.5).sum::<f64>() * 0.5;
                    data.push(cj + noise);
                }
            }
        }
        FeatureMatrix::from_rows(data, 2)
    }

    fn noop() -> impl FnMut() {
        || {}
    }

    #[test]
    fn hand_computed_two_clusters() {
        // Two obvious groups on a line: centres are the group means, inertia is by hand.
        let x = FeatureMatrix::from_rows(vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0], 1);
        let fit = fit(&x, &params(2), &mut noop()).unwrap();
        let mut c: Vec<f64> = fit.centres.rows().to_vec();
        c.sort_by(f64::total_cmp);
        assert_eq!(c, vec![1.0, 11.0]);
        assert_eq!(fit.inertia, 4.0);
        assert_eq!(fit.labels[0], fit.labels[2]);
        assert_ne!(fit.labels[0], fit.labels[3]);
        assert!(fit.converged);
    }

    #[test]
    fn fixed_k_kernels_agree_with_the_generic_one() {
        let x = blobs(50, &[[0.0, 0.0], [3.0, 3.0], [0.0, 4.0]], 9);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for k in [1, 2, 5, 8, 16, 17, 40] {
            let centres = Centres::new((0..k * 2).map(|_| rng.gen::<f64>() * 4.0).collect(), 2);
            let mut scratch = vec![0.0; k];
            for row in x.rows() {
                let generic = centres.nearest(row, &mut scratch);
                assert_eq!(centres.nearest_fast(row, &mut scratch), generic, "k={k}");
            }
        }
    }

    #[test]
    fn k_equal_to_rows_gives_zero_inertia() {
        let x = FeatureMatrix::from_rows(vec![0.0, 0.0, 5.0, 5.0, 9.0, 1.0], 2);
        let f = fit(&x, &params(3), &mut noop()).unwrap();
        assert_eq!(f.inertia, 0.0);
        let mut l = f.labels.clone();
        l.sort();
        assert_eq!(l, vec![0, 1, 2]);
    }

    #[test]
    fn duplicate_rows_do_not_break_seeding_or_produce_nan() {
        let x = FeatureMatrix::from_rows(vec![1.0; 20], 2);
        let f = fit(&x, &params(3), &mut noop()).unwrap();
        assert!(f.centres.rows().iter().all(|v| v.is_finite()));
        assert_eq!(f.inertia, 0.0);
    }

    #[test]
    fn k_checks() {
        let x = FeatureMatrix::from_rows(vec![1.0, 2.0], 1);
        assert_eq!(
            fit(&x, &params(3), &mut noop()).unwrap_err().kind,
            ErrorKind::InsufficientData
        );
        assert_eq!(
            fit(&x, &params(0), &mut noop()).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
        let empty = FeatureMatrix::from_rows(vec![], 1);
        assert_eq!(
            fit(&empty, &params(1), &mut noop()).unwrap_err().kind,
            ErrorKind::InsufficientData
        );
    }

    #[test]
    fn same_seed_same_model_any_thread_count() {
        let x = blobs(3000, &[[0.0, 0.0], [3.0, 3.0], [0.0, 4.0], [5.0, 0.0]], 1);
        let mut p = params(4);
        p.threads = 1;
        let a = fit(&x, &p, &mut noop()).unwrap();
        p.threads = 3;
        let b = fit(&x, &p, &mut noop()).unwrap();
        assert_eq!(a.centres, b.centres);
        assert_eq!(a.labels, b.labels);
        assert_eq!(a.inertia.to_bits(), b.inertia.to_bits());
        p.seed = 99;
        let c = fit(&x, &p, &mut noop()).unwrap();
        assert!(
            (c.inertia - a.inertia).abs() / a.inertia < 1e-9,
            "well separated: same optimum"
        );
    }

    /// Above SEED_SAMPLE_ROWS the starts come from a sample: still rows of the data, the same
    /// for any thread count, and the fit still finds well-separated segments.
    #[test]
    fn seeding_on_a_sample_above_the_limit() {
        let centres = [[0.0, 0.0], [8.0, 0.0], [0.0, 8.0], [8.0, 8.0]];
        let x = blobs(SEED_SAMPLE_ROWS / 4 + 5_000, &centres, 3);
        assert!(x.n_rows() > SEED_SAMPLE_ROWS);
        let start = |threads| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
            seed(&x, 4, threads, &mut rng, &mut noop())
        };
        let one = start(1);
        assert_eq!(one, start(3));
        for c in 0..4 {
            assert!(x.rows().any(|r| r == one.row(c)), "start {c} is not a row");
        }
        let fit = fit(
            &x,
            &KMeansParams {
                n_init: 1,
                ..params(4)
            },
            &mut noop(),
        )
        .unwrap();
        let n_per = x.n_rows() / 4;
        for (b, truth) in centres.iter().enumerate() {
            let label = fit.labels[b * n_per];
            assert!(fit.labels[b * n_per..(b + 1) * n_per]
                .iter()
                .all(|&l| l == label));
            let c = fit.centres.row(label as usize);
            assert!((c[0] - truth[0]).abs() < 0.05 && (c[1] - truth[1]).abs() < 0.05);
        }
    }

    #[test]
    fn check_is_called_and_can_stop_the_fit() {
        let x = blobs(500, &[[0.0, 0.0], [3.0, 3.0]], 2);
        let mut calls = 0;
        fit(&x, &params(2), &mut || calls += 1).unwrap();
        assert!(calls >= 10, "called between steps, got {calls}");
        let stopped = std::panic::catch_unwind(|| {
            fit(&x, &params(2), &mut || panic!("cancel")).unwrap();
        });
        assert!(stopped.is_err());
    }

    /// A Lloyd pass checks between blocks of rows (one over a million rows with k = 100 takes
    /// about a second): with one start of one iteration, six times the rows check about six
    /// times as often; a check that unwinds stops the fit, on one thread or two.
    #[test]
    fn passes_check_between_blocks() {
        let p = KMeansParams {
            k: 3,
            n_init: 1,
            max_iter: 1,
            tol: 0.0,
            seed: 0,
            threads: 1,
        };
        let rows = |blocks: usize| blobs(blocks * BLOCK_ROWS / 2, &[[0.0, 0.0], [3.0, 3.0]], 1);
        let calls = |x: &FeatureMatrix| {
            parallel::testing::checks(|check| {
                fit(x, &p, check).unwrap();
            })
        };
        let (small, large) = (rows(2), rows(12));
        let (a, b) = (calls(&small), calls(&large));
        // The iteration's pass and the last assignment: 12 blocks each, besides the seeding.
        assert!(b >= 2 * 12 && b > 4 * a, "{a} {b}");
        for threads in [1, 2] {
            let p = KMeansParams {
                threads,
                ..p.clone()
            };
            parallel::testing::stops_at(3, |check| {
                let _ = fit(&large, &p, check);
            });
        }
    }

    #[test]
    fn inertia_matches_labels_and_centres() {
        let x = blobs(700, &[[0.0, 0.0], [2.0, 2.5], [4.0, 0.0]], 3);
        let f = fit(&x, &params(3), &mut noop()).unwrap();
        let by_hand: f64 = x
            .rows()
            .zip(&f.labels)
            .map(|(r, &l)| sq_dist(r, f.centres.row(l as usize)))
            .sum();
        assert!((by_hand - f.inertia).abs() <= 1e-9 * by_hand);
        // Every row is labelled with its nearest centre.
        let mut scratch = vec![0.0; 3];
        assert!(x
            .rows()
            .zip(&f.labels)
            .all(|(r, &l)| f.centres.nearest(r, &mut scratch).0 == l));
    }

    /// linfa's k-means is the oracle: ours must reach as low an inertia, within 1% (the bar the
    /// scikit-learn quality test sets; k above the true blob count has several local optima).
    #[test]
    fn at_least_as_good_as_linfa() {
        let x = blobs(
            400,
            &[[0.0, 0.0], [2.0, 2.0], [0.0, 3.0], [3.0, 0.0], [1.5, 1.0]],
            4,
        );
        for k in [2, 3, 5, 7] {
            let ours = fit(&x, &params(k), &mut noop()).unwrap();
            let view = ArrayView2::from_shape((x.n_rows(), 2), x.as_slice()).unwrap();
            let ds = DatasetBase::from(view.to_owned());
            let model = KMeans::params_with_rng(k, rand_xoshiro::Xoshiro256Plus::seed_from_u64(1))
                .n_runs(10)
                .tolerance(1e-6)
                .fit(&ds)
                .unwrap();
            let labels = model.predict(&ds);
            // linfa's inertia() is a mean from before the last update: recompute the sum.
            let linfa_inertia: f64 = x
                .rows()
                .zip(labels.iter())
                .map(|(r, &l)| sq_dist(r, model.centroids().row(l).as_slice().unwrap()))
                .sum();
            assert!(
                ours.inertia <= linfa_inertia * 1.01,
                "k={k}: ours {} vs linfa {linfa_inertia}",
                ours.inertia
            );
        }
    }
}

#[cfg(test)]
mod timing {
    use super::*;

    /// Phase timings on 1M x 8 rows; run by hand:
    /// cargo test --release -p segment-core cluster::kmeans::timing::phases -- --ignored --nocapture
    #[test]
    #[ignore]
    fn phases() {
        let (n, d, k) = (1_000_000, 8, 8);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let data: Vec<f64> = (0..n * d)
            .map(|i| ((i / d) % k) as f64 * 3.0 + rng.gen::<f64>())
            .collect();
        let x = FeatureMatrix::from_rows(data, d);
        for threads in [1, 2] {
            let t = std::time::Instant::now();
            plus_plus(&x, k, threads, &mut rng, &mut || {});
            let all_rows_t = t.elapsed();
            let t = std::time::Instant::now();
            let start = seed(&x, k, threads, &mut rng, &mut || {});
            let seed_t = t.elapsed();
            let mut lloyd = Lloyd::new(&x, k, threads);
            let mut labels = vec![0u32; n];
            let t = std::time::Instant::now();
            for _ in 0..10 {
                lloyd.assign(&start, &mut labels, &mut || {});
            }
            println!(
                "threads={threads}: k-means++ on every row {all_rows_t:?}, on the seeding sample {seed_t:?}, one assignment pass {:?}",
                t.elapsed() / 10
            );
        }
    }
}
