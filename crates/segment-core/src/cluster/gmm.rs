//! Gaussian mixtures (full covariance): fitted by our own EM, stored as weights, means (the
//! model's centres) and covariances, and evaluated per row by `MixtureRule`.
//!
//! Why the EM is ours and not linfa-clustering's `GaussianMixtureModel` (0.8.1), used before:
//! against scikit-learn's `GaussianMixture` with the same tol, max_iter and reg_covar
//! (tests/reference/gmm_restarts.py), linfa's best of 10 starts fell 0.03 nats per row short on
//! wholesale k 5 and bank k 3, and more starts hardly explored. The causes, in its source:
//! - its k-means start runs linfa's `KMeans` with that crate's default of 10 k-means++ runs and
//!   keeps the lowest inertia, so every seed starts EM from (nearly) the same partition: over
//!   seeds 0..9 it ended on one optimum for 8 of the 12 data set / k pairs. Starts cannot
//!   be given (only `KMeans` or `Random`), so no seeding of ours could fix that;
//! - its E-step sums `exp` and then takes `ln` (no log-sum-exp): a row far from every component
//!   turns the lower bound into -inf and the responsibilities into NaN;
//! - it has no per-iteration hook (a long fit could not honour a cancel), copies the matrix per
//!   component in every E-step and keeps n x k responsibilities.
//!
//! The EM here runs as scikit-learn's: a start's first responsibilities, then E-step (log-sum-exp,
//! by `MixtureRule`) and M-step (`REG_COVAR` added to the diagonals) until the lower bound, the
//! mean log-likelihood per row, changes by less than `tol` or `max_iter` iterations have run (a
//! start that runs out of iterations still counts, as in scikit-learn; the fit report says it did
//! not converge). The start with the best final mean log-likelihood wins. The E-step and the
//! M-step's sums are one pass over fixed row blocks on `threads`, added in block order: results do
//! not depend on the thread count, and memory is per block, not n x k.
//!
//! Starts are scikit-learn's `init_params="kmeans"`: each one k-means++ / Lloyd run of our
//! k-means, seeded for that start, gives the first responsibilities (1 for the row's cluster).
//! Random responsibilities (scikit-learn's `"random"`, what linfa's restarts used) were measured
//! and left out: they found other optima on the small reference sets, but on 100,000 rows every
//! component starts at the global mean and tol stops EM after 2 iterations on the one-Gaussian
//! solution (k 4: -8.75 nats per row against -7.81..-8.06 from k-means starts), so such starts are
//! wasted where fits are large.
//!
//! Why the per-row part is ours: `segment_assign` needs one row at a time, allocation free, and
//! finite answers for rows far from every component.

use crate::cluster::kmeans::{self, KMeansParams};
use crate::cluster::{check_sample_rows, needed_k, MethodParameters, Starts};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::parallel::{self, BLOCK_ROWS};
use crate::params::Given;
use crate::prep::matrix::FeatureMatrix;
use crate::progress::{self, Progress};
use linfa_linalg::cholesky::Cholesky;
use linfa_linalg::triangular::{SolveTriangular, UPLO};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The stored mixture (scaled units); component means are the model's centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    pub weights: Vec<f64>,
    /// One d x d covariance matrix per component, row-major.
    pub covariances: Vec<Vec<f64>>,
}

/// What the fit found: per component weights, means, covariances.
pub struct MixtureFit {
    pub mixture: Mixture,
    pub means: Vec<Vec<f64>>,
    /// Mean log-likelihood per row of the fitted rows under `mixture`.
    pub log_likelihood: f64,
    /// EM iterations of the winning start.
    pub iterations: u32,
    /// Whether the winning start's lower bound settled within `tol` before `max_iter`
    /// (scikit-learn keeps such a start too, with a warning).
    pub converged: bool,
}

pub struct GmmParams {
    pub k: usize,
    pub n_init: u32,
    pub max_iter: u32,
    /// EM stops when the mean log-likelihood per row changes by less than this.
    pub tol: f64,
    pub seed: u64,
    /// Threads for the passes over the rows (the result does not depend on them).
    pub threads: usize,
}

/// The checked parameters of method gmm (EM starts: `n_init`, `max_iter`, `tol` on the mean
/// log-likelihood): only [`GmmOptions::check`] makes one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GmmMethod {
    pub(crate) k: i64,
    #[serde(flatten)]
    pub(crate) starts: Starts,
    pub(crate) sample_rows: Option<u64>,
    /// Start EM from the current version's mixture (`fit_from`).
    #[serde(skip_serializing_if = "crate::cluster::is_false")]
    pub(crate) warm_start: bool,
}

/// The options of method gmm as given, with the call's k (linfa's unchecked params).
#[derive(Debug, Clone, PartialEq)]
pub struct GmmOptions(pub(crate) GmmMethod, pub(crate) Option<i64>);

impl GmmOptions {
    pub const KEYS: [&'static str; 5] = ["n_init", "max_iter", "tol", "sample_rows", "warm_start"];

    pub fn read(given: &Given, k: Option<i64>) -> GmmOptions {
        GmmOptions(
            GmmMethod {
                k: k.unwrap_or(0),
                starts: Starts::read(given),
                sample_rows: given.integer("sample_rows"),
                warm_start: given.boolean("warm_start").unwrap_or(false),
            },
            k,
        )
    }
}

impl crate::params::ParamGuard for GmmOptions {
    type Checked = GmmMethod;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&GmmMethod> {
        self.0.starts.check()?;
        check_sample_rows(self.0.sample_rows, u64::MAX, "gmm")?;
        needed_k(self.1, "gmm")?;
        Ok(&self.0)
    }

    fn check(self) -> CoreResult<GmmMethod> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MethodParameters for GmmMethod {
    fn k(&self) -> Option<usize> {
        Some(self.k as usize)
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

impl GmmMethod {
    pub fn k(&self) -> usize {
        self.k as usize
    }

    pub fn sample_rows(&self) -> Option<u64> {
        self.sample_rows
    }

    /// The EM runs of this fit.
    pub fn em(&self, seed: u64, threads: usize) -> GmmParams {
        GmmParams {
            k: self.k(),
            n_init: self.starts.n_init(),
            max_iter: self.starts.max_iter(),
            tol: self.starts.tol(),
            seed,
            threads,
        }
    }
}

/// Ridge added to covariance diagonals (scikit-learn's `reg_covar` default).
pub const REG_COVAR: f64 = 1e-6;

/// The k-means start of every EM start: scikit-learn's `KMeans` defaults (one k-means++ seeding,
/// Lloyd to tol 1e-4 of the mean variance or 300 iterations).
const KMEANS_MAX_ITER: u32 = 300;
const KMEANS_TOL: f64 = 1e-4;

/// Why a start gave no mixture.
#[derive(Debug, Clone, Copy, PartialEq)]
enum StartFailure {
    /// A component's responsibilities summed to (almost) nothing.
    EmptyComponent,
    /// A covariance was not positive definite even with `REG_COVAR`.
    Singular,
    /// The lower bound or a parameter stopped being finite.
    NotFinite,
}

/// EM from a given mixture (a warm start: the current version's weights, means and
/// covariances, in this fit's scaled units): one run, no k-means start, so each component keeps
/// its id. `p.k`, `n_init` and `seed` are not used.
pub fn fit_from(
    x: &FeatureMatrix,
    mixture: &Mixture,
    means: &[Vec<f64>],
    p: &GmmParams,
    check: &mut dyn FnMut(),
) -> CoreResult<MixtureFit> {
    let k = means.len();
    kmeans::check_k(k, x.n_rows())?;
    let params = Params {
        weights: mixture.weights.clone(),
        means: means.to_vec(),
        covariances: mixture.covariances.clone(),
    };
    let mut em = Em::new(x, k, p.threads);
    em.iterate(params, p, (1, 1), check).map_err(failure_error)
}

/// Best of `n_init` EM starts by mean log-likelihood (the module documentation says why the EM
/// is ours). `check` is called between steps (the shell passes its interrupt check).
pub fn fit(x: &FeatureMatrix, p: &GmmParams, check: &mut dyn FnMut()) -> CoreResult<MixtureFit> {
    kmeans::check_k(p.k, x.n_rows())?;
    // With fewer distinct rows than components, a k-means start leaves a component empty.
    let distinct = distinct_rows(x, p.k);
    if distinct < p.k {
        return Err(too_few_distinct_rows(p.k, distinct));
    }
    let mut master = Xoshiro256PlusPlus::seed_from_u64(p.seed);
    let mut em = Em::new(x, p.k, p.threads);
    let mut best: Option<MixtureFit> = None;
    let mut failure = None;
    for start in 0..p.n_init {
        check();
        let seed: u64 = master.gen();
        match em.run(seed, p, (start + 1, p.n_init), check) {
            Ok(fit) => {
                if best
                    .as_ref()
                    .is_none_or(|b| fit.log_likelihood > b.log_likelihood)
                {
                    best = Some(fit);
                }
            }
            Err(f) => failure = Some(f),
        }
    }
    best.ok_or_else(|| failure_error(failure.unwrap_or(StartFailure::NotFinite)))
}

fn too_few_distinct_rows(k: usize, distinct: usize) -> CoreError {
    CoreError::new(
        ErrorKind::InsufficientData,
        format!(
            "k = {k} is larger than the number of distinct rows ({distinct}): a Gaussian mixture \
             needs rows for every component"
        ),
    )
    .with_hint("Choose a k no larger than the number of distinct rows.")
}

fn failure_error(failure: StartFailure) -> CoreError {
    match failure {
        StartFailure::EmptyComponent => CoreError::new(
            ErrorKind::InvalidData,
            "a Gaussian mixture component lost all its rows",
        )
        .with_hint("Use fewer segments, or another seed."),
        StartFailure::Singular => CoreError::new(
            ErrorKind::InvalidData,
            "the Gaussian mixture could not be fitted: a component's covariance is singular",
        )
        .with_hint("Use fewer segments, and check for constant or duplicated feature columns."),
        StartFailure::NotFinite => CoreError::new(
            ErrorKind::InvalidData,
            "the Gaussian mixture fit became numerically unstable (rows far from every component)",
        )
        .with_hint("Try fewer segments, the log option for skewed features, or scale robust."),
    }
}

/// Distinct rows of `x`, counted up to `limit` (only for an error message).
fn distinct_rows(x: &FeatureMatrix, limit: usize) -> usize {
    let mut seen = std::collections::HashSet::new();
    for row in x.rows() {
        // +0.0 and -0.0 are the same value: normalise before comparing bits.
        seen.insert(row.iter().map(|v| (v + 0.0).to_bits()).collect::<Vec<_>>());
        if seen.len() >= limit {
            break;
        }
    }
    seen.len()
}

/// Per component sums of one block of rows, around a shift (the component's current mean, so
/// the second moments do not lose precision to the mean): sum of responsibilities r, of r z and
/// of r z z' (lower triangle, packed row by row), z = x - shift.
#[derive(Clone)]
struct BlockSums {
    weight: Vec<f64>,
    first: Vec<f64>,
    second: Vec<f64>,
    /// Sum of ln p(x) over the block's rows (E-steps only).
    log_likelihood: f64,
    memberships: Vec<f64>,
    z: Vec<f64>,
}

impl BlockSums {
    fn new(k: usize, d: usize) -> BlockSums {
        BlockSums {
            weight: vec![0.0; k],
            first: vec![0.0; k * d],
            second: vec![0.0; k * d * (d + 1) / 2],
            log_likelihood: 0.0,
            memberships: vec![0.0; k],
            z: vec![0.0; d],
        }
    }

    fn clear(&mut self) {
        self.weight.fill(0.0);
        self.first.fill(0.0);
        self.second.fill(0.0);
        self.log_likelihood = 0.0;
    }

    /// Adds row `x` with responsibility `r` to component `c`, whose shift is `shift`. (Index
    /// loops: several times faster than iterators in unoptimised test builds.)
    #[inline]
    #[allow(clippy::needless_range_loop)]
    fn add(&mut self, c: usize, r: f64, x: &[f64], shift: &[f64]) {
        let d = x.len();
        let tri = d * (d + 1) / 2;
        for i in 0..d {
            self.z[i] = x[i] - shift[i];
        }
        self.weight[c] += r;
        let first = &mut self.first[c * d..(c + 1) * d];
        let second = &mut self.second[c * tri..(c + 1) * tri];
        let mut at = 0;
        for i in 0..d {
            let rz = r * self.z[i];
            first[i] += rz;
            for j in 0..=i {
                second[at + j] += rz * self.z[j];
            }
            at += i + 1;
        }
    }
}

/// The state of one EM start, reused across starts: the rows, per-block sums, the current
/// parameters.
struct Em<'a> {
    x: &'a FeatureMatrix,
    k: usize,
    threads: usize,
    blocks: Vec<BlockSums>,
}

/// Parameters after an M-step.
struct Params {
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    covariances: Vec<Vec<f64>>,
}

impl<'a> Em<'a> {
    fn new(x: &'a FeatureMatrix, k: usize, threads: usize) -> Em<'a> {
        let n_blocks = x.n_rows().div_ceil(BLOCK_ROWS);
        Em {
            x,
            k,
            threads,
            blocks: vec![BlockSums::new(k, x.n_cols()); n_blocks],
        }
    }

    /// One start: k-means with `seed`, then EM until the lower bound settles or `max_iter`.
    fn run(
        &mut self,
        seed: u64,
        p: &GmmParams,
        (start, starts): (u32, u32),
        check: &mut dyn FnMut(),
    ) -> Result<MixtureFit, StartFailure> {
        let kp = KMeansParams {
            k: self.k,
            n_init: 1,
            max_iter: KMEANS_MAX_ITER,
            tol: KMEANS_TOL,
            seed,
            threads: self.threads,
        };
        // The k-means start's own progress reports (its start 1 of 1, its inertia) would read
        // as the mixture's: they are not passed on.
        let start_fit = progress::listen(|_| {}, || kmeans::fit(self.x, &kp, &mut *check))
            .map_err(|_| StartFailure::EmptyComponent)?;
        let shift: Vec<Vec<f64>> = (0..self.k)
            .map(|c| start_fit.centres.row(c).to_vec())
            .collect();
        self.hard_sums(&start_fit.labels, &shift, check);
        let params = self.m_step(&shift)?;
        self.iterate(params, p, (start, starts), check)
    }

    /// EM from `params` until the lower bound settles or `max_iter`.
    fn iterate(
        &mut self,
        mut params: Params,
        p: &GmmParams,
        (start, starts): (u32, u32),
        check: &mut dyn FnMut(),
    ) -> Result<MixtureFit, StartFailure> {
        let n = self.x.n_rows();
        let mut lower_bound = f64::NEG_INFINITY;
        let mut iterations = 0;
        let mut converged = false;
        while iterations < p.max_iter {
            let rule = rule_of(&params)?;
            let previous = lower_bound;
            lower_bound = self.e_step(&rule, &params.means, true, check) / n as f64;
            if !lower_bound.is_finite() {
                return Err(StartFailure::NotFinite);
            }
            params = self.m_step(&params.means)?;
            iterations += 1;
            progress::report(Progress::Iteration {
                start,
                starts,
                iteration: iterations,
                // EM's objective: the negative log-likelihood of the rows.
                inertia: -lower_bound * n as f64,
                rows: n,
            });
            if (lower_bound - previous).abs() < p.tol {
                converged = true;
                break;
            }
        }
        let rule = rule_of(&params)?;
        let log_likelihood = self.e_step(&rule, &params.means, false, check) / n as f64;
        if !log_likelihood.is_finite() {
            return Err(StartFailure::NotFinite);
        }
        Ok(MixtureFit {
            mixture: Mixture {
                weights: params.weights,
                covariances: params.covariances,
            },
            means: params.means,
            log_likelihood,
            iterations,
            converged,
        })
    }

    /// Block sums of a hard partition (responsibility 1 for the row's label); `check` between
    /// blocks.
    fn hard_sums(&mut self, labels: &[u32], shift: &[Vec<f64>], check: &mut dyn FnMut()) {
        let d = self.x.n_cols();
        let mut items: Vec<_> = self
            .x
            .as_slice()
            .chunks(BLOCK_ROWS * d)
            .zip(labels.chunks(BLOCK_ROWS))
            .zip(self.blocks.iter_mut())
            .collect();
        parallel::for_each_checked(&mut items, self.threads, check, |((rows, labels), b)| {
            b.clear();
            for (row, &l) in rows.chunks_exact(d).zip(labels.iter()) {
                b.add(l as usize, 1.0, row, &shift[l as usize]);
            }
        });
    }

    /// Every row's memberships under `rule`; returns the sum of ln p(x). With `accumulate`, the
    /// block sums of the M-step too, around `shift`. `check` between blocks (an E-step over 1M
    /// rows, k = 10, d = 10 is about 10^9 operations).
    fn e_step(
        &mut self,
        rule: &MixtureRule,
        shift: &[Vec<f64>],
        accumulate: bool,
        check: &mut dyn FnMut(),
    ) -> f64 {
        let d = self.x.n_cols();
        let k = self.k;
        let mut items: Vec<_> = self
            .x
            .as_slice()
            .chunks(BLOCK_ROWS * d)
            .zip(self.blocks.iter_mut())
            .collect();
        parallel::for_each_checked(&mut items, self.threads, check, |(rows, b)| {
            b.clear();
            let mut memberships = std::mem::take(&mut b.memberships);
            for row in rows.chunks_exact(d) {
                b.log_likelihood += rule.classify(row, &mut memberships).1;
                if accumulate {
                    for (c, &r) in memberships.iter().enumerate().take(k) {
                        // exp underflowed: adding zeros changes nothing.
                        if r > 0.0 {
                            b.add(c, r, row, &shift[c]);
                        }
                    }
                }
            }
            b.memberships = memberships;
        });
        self.blocks.iter().map(|b| b.log_likelihood).sum()
    }

    /// Weights, means and covariances (+ `REG_COVAR` on the diagonal) from the block sums, added
    /// in block order.
    fn m_step(&self, shift: &[Vec<f64>]) -> Result<Params, StartFailure> {
        let (k, d, n) = (self.k, self.x.n_cols(), self.x.n_rows());
        let tri = d * (d + 1) / 2;
        let mut weight = vec![0.0; k];
        let mut first = vec![0.0; k * d];
        let mut second = vec![0.0; k * tri];
        for b in &self.blocks {
            weight.iter_mut().zip(&b.weight).for_each(|(s, v)| *s += v);
            first.iter_mut().zip(&b.first).for_each(|(s, v)| *s += v);
            second.iter_mut().zip(&b.second).for_each(|(s, v)| *s += v);
        }
        let mut params = Params {
            weights: Vec::with_capacity(k),
            means: Vec::with_capacity(k),
            covariances: Vec::with_capacity(k),
        };
        for c in 0..k {
            let w = weight[c];
            // linfa's and scikit-learn's floor: below it the component has no rows left.
            if w.is_nan() || w < 10.0 * f64::EPSILON {
                return Err(StartFailure::EmptyComponent);
            }
            let delta: Vec<f64> = first[c * d..(c + 1) * d].iter().map(|s| s / w).collect();
            let mut cov = vec![0.0; d * d];
            let mut at = c * tri;
            for i in 0..d {
                for j in 0..=i {
                    let v = second[at + j] / w - delta[i] * delta[j];
                    cov[i * d + j] = v;
                    cov[j * d + i] = v;
                }
                cov[i * d + i] += REG_COVAR;
                at += i + 1;
            }
            let mean: Vec<f64> = shift[c].iter().zip(&delta).map(|(s, dl)| s + dl).collect();
            if !mean.iter().chain(&cov).all(|v| v.is_finite()) {
                return Err(StartFailure::NotFinite);
            }
            params.weights.push(w / n as f64);
            params.means.push(mean);
            params.covariances.push(cov);
        }
        Ok(params)
    }
}

fn rule_of(params: &Params) -> Result<MixtureRule, StartFailure> {
    let mixture = Mixture {
        weights: params.weights.clone(),
        covariances: params.covariances.clone(),
    };
    MixtureRule::new(&mixture, &params.means).map_err(|_| StartFailure::Singular)
}

/// A mixture prepared for per-row evaluation.
#[derive(Debug, Clone)]
pub struct MixtureRule {
    d: usize,
    means: Vec<f64>,
    /// Per component, the inverse of the Cholesky factor L of its covariance (lower, d x d).
    inverse_factors: Vec<f64>,
    /// Per component: ln weight - d/2 ln(2 pi) - ln det L.
    constants: Vec<f64>,
}

impl MixtureRule {
    /// Fails when a stored covariance is not positive definite (a damaged document).
    pub fn new(mixture: &Mixture, means: &[Vec<f64>]) -> Result<MixtureRule, String> {
        let d = means.first().map_or(0, |m| m.len());
        let mut inverse_factors = Vec::with_capacity(means.len() * d * d);
        let mut constants = Vec::with_capacity(means.len());
        for (c, (cov, w)) in mixture.covariances.iter().zip(&mixture.weights).enumerate() {
            let cov = Array2::from_shape_vec((d, d), cov.clone())
                .map_err(|_| format!("covariance {c} is not {d} x {d}"))?;
            let l = cov
                .cholesky()
                .map_err(|_| format!("covariance {c} is not positive definite"))?;
            let inverse = l
                .solve_triangular(&Array2::eye(d), UPLO::Lower)
                .map_err(|_| format!("covariance {c} is singular"))?;
            let log_det_l: f64 = (0..d).map(|i| l[[i, i]].ln()).sum();
            constants.push(w.ln() - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln() - log_det_l);
            inverse_factors.extend(inverse.iter().copied());
        }
        Ok(MixtureRule {
            d,
            means: means.concat(),
            inverse_factors,
            constants,
        })
    }

    /// ln(weight_c * N(x | mean_c, cov_c)) for every component into `out`.
    #[inline]
    pub fn weighted_log_densities(&self, x: &[f64], out: &mut [f64]) {
        let d = self.d;
        for (c, o) in out.iter_mut().enumerate() {
            let mean = &self.means[c * d..(c + 1) * d];
            let inv = &self.inverse_factors[c * d * d..(c + 1) * d * d];
            // |L^-1 (x - mean)|^2, L^-1 lower triangular. (Index loops: the same sums in the
            // same order as iterators, and several times faster in unoptimised test builds.)
            let mut q = 0.0;
            for i in 0..d {
                let row = &inv[i * d..i * d + i + 1];
                let mut z = 0.0;
                #[allow(clippy::needless_range_loop)]
                for j in 0..=i {
                    z += row[j] * (x[j] - mean[j]);
                }
                q += z * z;
            }
            *o = self.constants[c] - 0.5 * q;
        }
    }

    /// The most probable component, and ln p(x) (log-sum-exp, finite for any finite row).
    /// `scratch` needs one value per component; it is left holding the memberships.
    #[inline]
    pub fn classify(&self, x: &[f64], scratch: &mut [f64]) -> (u32, f64) {
        self.weighted_log_densities(x, scratch);
        let (best, max) =
            scratch
                .iter()
                .enumerate()
                .fold(
                    (0, f64::NEG_INFINITY),
                    |(b, m), (c, &v)| if v > m { (c, v) } else { (b, m) },
                );
        let mut total = 0.0;
        for v in scratch.iter_mut() {
            *v = (*v - max).exp();
            total += *v;
        }
        scratch.iter_mut().for_each(|v| *v /= total);
        (best as u32, max + total.ln())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn density_of_a_standard_normal_by_hand() {
        // One component, weight 1, identity covariance in 2-D: ln N(0) = -ln(2 pi).
        let m = Mixture {
            weights: vec![1.0],
            covariances: vec![vec![1.0, 0.0, 0.0, 1.0]],
        };
        let rule = MixtureRule::new(&m, &[vec![0.0, 0.0]]).unwrap();
        let mut s = [0.0];
        let (c, ll) = rule.classify(&[0.0, 0.0], &mut s);
        assert_eq!(c, 0);
        assert!((ll + (2.0 * std::f64::consts::PI).ln()).abs() < 1e-12);
        let (_, ll) = rule.classify(&[3.0, 4.0], &mut s);
        assert!((ll + (2.0 * std::f64::consts::PI).ln() + 12.5).abs() < 1e-12);
        assert_eq!(s, [1.0]);
    }

    #[test]
    fn correlated_covariance_and_far_rows_stay_finite() {
        // cov [[4, 2], [2, 3]]: det 8, inverse [[3, -2], [-2, 4]] / 8.
        let m = Mixture {
            weights: vec![0.5, 0.5],
            covariances: vec![vec![4.0, 2.0, 2.0, 3.0], vec![1.0, 0.0, 0.0, 1.0]],
        };
        let rule = MixtureRule::new(&m, &[vec![0.0, 0.0], vec![10.0, 10.0]]).unwrap();
        let mut out = [0.0; 2];
        rule.weighted_log_densities(&[1.0, 2.0], &mut out);
        let q = (3.0 * 1.0 - 2.0 * 2.0 * 1.0 * 2.0 + 4.0 * 4.0) / 8.0;
        let expect = 0.5f64.ln() - (2.0 * std::f64::consts::PI).ln() - 0.5 * 8f64.ln() - 0.5 * q;
        assert!((out[0] - expect).abs() < 1e-12, "{} {}", out[0], expect);
        // 1e4 away from both: exp underflows, log-sum-exp does not. The wider component wins
        // (Mahalanobis 0.375e8 against 0.998e8 for the unit one).
        let mut s = [0.0; 2];
        let (c, ll) = rule.classify(&[1e4, 1e4], &mut s);
        assert_eq!(c, 0);
        assert!(ll.is_finite());
        assert!((s[0] + s[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fit_finds_two_separated_groups() {
        let mut data = Vec::new();
        for i in 0..50 {
            let t = i as f64 / 50.0;
            data.extend_from_slice(&[t.sin() * 0.3, t.cos() * 0.3]);
            data.extend_from_slice(&[5.0 + t.cos() * 0.3, 5.0 + t.sin() * 0.2]);
        }
        let x = FeatureMatrix::from_rows(data, 2);
        let fit = fit(
            &x,
            &GmmParams {
                k: 2,
                n_init: 1,
                max_iter: 100,
                tol: 1e-4,
                seed: 0,
                threads: 1,
            },
            &mut || {},
        )
        .unwrap();
        let mut w = fit.mixture.weights.clone();
        w.sort_by(f64::total_cmp);
        assert!(
            (w[0] - 0.5).abs() < 1e-6 && (w[1] - 0.5).abs() < 1e-6,
            "{w:?}"
        );
        let rule = MixtureRule::new(&fit.mixture, &fit.means).unwrap();
        let mut s = [0.0; 2];
        let (a, _) = rule.classify(&[0.0, 0.0], &mut s);
        let (b, _) = rule.classify(&[5.0, 5.0], &mut s);
        assert_ne!(a, b);
    }

    fn params(k: usize, n_init: u32, threads: usize) -> GmmParams {
        GmmParams {
            k,
            n_init,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            threads,
        }
    }

    /// Degenerate data gives a mixture or an error with a hint, never a panic: a constant or
    /// collinear column is held up by reg_covar; fewer distinct rows than k is refused.
    #[test]
    fn degenerate_data_fits_or_says_why() {
        let constant: Vec<f64> = (0..40)
            .flat_map(|i| [(i % 7) as f64, 0.0, (i % 3) as f64 * 0.5])
            .collect();
        let collinear: Vec<f64> = (0..40)
            .flat_map(|i| [(i % 5) as f64, (i % 5) as f64 * 2.0 + 1.0])
            .collect();
        for (x, k) in [
            (FeatureMatrix::from_rows(constant, 3), 3),
            (FeatureMatrix::from_rows(collinear, 2), 3),
            (FeatureMatrix::from_rows(vec![1.0, 2.0], 2), 1),
            (
                FeatureMatrix::from_rows(vec![1.0, 2.0, 3.0, 5.0, 8.0, 13.0], 2),
                3,
            ),
        ] {
            let fit = fit(&x, &params(k, 3, 1), &mut || {}).unwrap();
            assert!(fit.log_likelihood.is_finite());
            assert!((fit.mixture.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
        let two: Vec<f64> = (0..40).flat_map(|i| [(i % 2) as f64, 1.0]).collect();
        for (x, k) in [
            (FeatureMatrix::from_rows(vec![1.0; 40], 2), 2),
            (FeatureMatrix::from_rows(two, 2), 3),
        ] {
            for n_init in [1, 4] {
                let e = fit(&x, &params(k, n_init, 1), &mut || {}).err().unwrap();
                assert_eq!(e.kind, ErrorKind::InsufficientData);
                assert!(e.message.contains("distinct rows"), "{}", e.message);
                assert!(e.hint.is_some());
            }
        }
        // Values near the top of the float range: a fit or an error, not a panic.
        let huge: Vec<f64> = (0..60)
            .map(|i| if i % 10 == 0 { 1e300 } else { i as f64 })
            .collect();
        if let Err(e) = fit(
            &FeatureMatrix::from_rows(huge, 2),
            &params(3, 2, 1),
            &mut || {},
        ) {
            assert!(e.hint.is_some());
        }
    }

    /// Rows are cut into fixed blocks added in order: the same mixture on 1 or 2 threads.
    #[test]
    fn threads_do_not_change_the_fit() {
        let mut state = 11u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 2 * BLOCK_ROWS + 100;
        let data: Vec<f64> = (0..n)
            .flat_map(|i| {
                let g = (i % 3) as f64 * 2.0;
                [g + next(), g * 0.5 + next()]
            })
            .collect();
        let x = FeatureMatrix::from_rows(data, 2);
        let one = fit(&x, &params(3, 2, 1), &mut || {}).unwrap();
        let two = fit(&x, &params(3, 2, 2), &mut || {}).unwrap();
        assert_eq!(one.mixture, two.mixture);
        assert_eq!(one.means, two.means);
    }

    /// check() runs between steps: a fit of several starts calls it many times.
    #[test]
    fn check_is_called_every_iteration() {
        let data: Vec<f64> = (0..200)
            .flat_map(|i| [(i % 4) as f64 + (i % 7) as f64 * 0.1, (i % 3) as f64])
            .collect();
        let x = FeatureMatrix::from_rows(data, 2);
        let mut calls = 0;
        let fit = fit(&x, &params(3, 2, 1), &mut || calls += 1).unwrap();
        assert!(calls as u32 > fit.iterations, "{calls} calls");
    }

    /// EM's passes check between blocks of rows (an E-step over a million rows, k = 10, d = 10,
    /// is 10^9 operations): with one EM iteration, six times the rows check at least about six
    /// times as often; a check that unwinds stops the fit, on one thread or two.
    #[test]
    fn passes_check_between_blocks() {
        let rows = |blocks: usize| {
            let data: Vec<f64> = (0..blocks * BLOCK_ROWS)
                .flat_map(|i| {
                    let g = (i % 3) as f64 * 4.0;
                    [g + ((i * 7919) % 101) as f64 / 101.0, (i % 7) as f64 * 0.1]
                })
                .collect();
            FeatureMatrix::from_rows(data, 2)
        };
        let p = GmmParams {
            max_iter: 1,
            ..params(3, 1, 1)
        };
        let calls = |x: &FeatureMatrix| {
            crate::parallel::testing::checks(|check| {
                fit(x, &p, check).unwrap();
            })
        };
        let (small, large) = (rows(1), rows(6));
        let (a, b) = (calls(&small), calls(&large));
        // The k-means start, the hard sums, one E-step and the last: 6 blocks each at least.
        assert!(b >= 4 * 6 && b > 4 * a, "{a} {b}");
        for threads in [1, 2] {
            let p = GmmParams { threads, ..p };
            crate::parallel::testing::stops_at(3, |check| {
                let _ = fit(&large, &p, check);
            });
        }
    }

    /// A matrix written by tests/reference/gmm_restarts.py (a header, then rows of numbers).
    fn reference_matrix(name: &str) -> FeatureMatrix {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let text =
            std::fs::read_to_string(format!("{root}/tests/reference/gmm_restarts_{name}.csv"))
                .unwrap();
        let mut lines = text.lines();
        let d = lines.next().unwrap().split(',').count();
        let data = lines
            .flat_map(|l| l.split(','))
            .map(|v| v.parse::<f64>().unwrap())
            .collect();
        FeatureMatrix::from_rows(data, d)
    }

    fn mean_log_likelihood(x: &FeatureMatrix, fit: &MixtureFit) -> f64 {
        let rule = MixtureRule::new(&fit.mixture, &fit.means).unwrap();
        let mut scratch = vec![0.0; fit.means.len()];
        x.rows()
            .map(|r| rule.classify(r, &mut scratch).1)
            .sum::<f64>()
            / x.n_rows() as f64
    }

    /// Issue item 10, on every data set the tests ship, k = 2..5 (tests/reference/
    /// gmm_restarts.py; same tol, max_iter and reg_covar, our defaults). A start is a draw, in
    /// scikit-learn as here: its own best over random_state 0..9 spans up to 0.24 nats per row
    /// for one start and 0.08 for ten on these sets. So the floor is the range scikit-learn's
    /// best of as many starts covers over random_state 0..9 (its minimum - 0.01); the table
    /// printed compares with its random_state 0. linfa's EM, used before, fell below it on
    /// wholesale k 5 with 10 starts (-6.326 against a floor of -6.322), its restarts reusing
    /// one k-means partition.
    #[test]
    fn restarts_reach_scikit_learn() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let reference =
            std::fs::read_to_string(format!("{root}/tests/reference/gmm_restarts.csv")).unwrap();
        let mut matrices = std::collections::HashMap::new();
        let mut short = Vec::new();
        for line in reference.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (name, k, n_init) = (f[0], f[1].parse().unwrap(), f[2].parse().unwrap());
            let (seed_0, seeds_min): (f64, f64) = (f[3].parse().unwrap(), f[4].parse().unwrap());
            let x = matrices
                .entry(name)
                .or_insert_with(|| reference_matrix(name));
            let params = GmmParams {
                k,
                n_init,
                max_iter: 300,
                tol: 1e-4,
                seed: 0,
                threads: 2,
            };
            let fit = fit(x, &params, &mut || {}).unwrap();
            let ours = mean_log_likelihood(x, &fit);
            assert!((ours - fit.log_likelihood).abs() < 1e-9);
            println!(
                "{name} k={k} n_init={n_init}: ours {ours:.4}, scikit-learn {seed_0:.4} \
                 (random_state 0..9: from {seeds_min:.4})"
            );
            let floor = seeds_min - 0.01;
            if ours < floor {
                short.push(format!(
                    "{name} k={k} n_init={n_init}: {ours:.4} < {floor:.4}"
                ));
            }
        }
        assert!(short.is_empty(), "below scikit-learn: {short:#?}");
    }
}
