//! Gaussian mixtures (full covariance): fitted by linfa-clustering's EM, stored as weights,
//! means (the model's centres) and covariances, and evaluated per row by our own code.
//!
//! Why the per-row part is ours: linfa's `predict` works on whole arrays and allocates per call,
//! and its log-probabilities are summed with `exp` then `ln` (no log-sum-exp), which underflows to
//! -inf for a row far from every component. `segment_assign` needs one row at a time, allocation
//! free, and finite answers.

use crate::cluster::{check_sample_rows, Starts};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::Given;
use crate::prep::matrix::FeatureMatrix;
use linfa::prelude::*;
use linfa_clustering::{GaussianMixtureModel, GmmError, GmmInitMethod};
use linfa_linalg::cholesky::Cholesky;
use linfa_linalg::triangular::{SolveTriangular, UPLO};
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
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
}

pub struct GmmParams {
    pub k: usize,
    pub n_init: u32,
    pub max_iter: u32,
    /// EM stops when the mean log-likelihood per row changes by less than this.
    pub tol: f64,
    pub seed: u64,
}

/// The `segment_fit` options of method gmm beyond those of every method (EM starts: `n_init`,
/// `max_iter`, `tol` on the mean log-likelihood).
#[derive(Debug, Clone, PartialEq)]
pub struct GmmOptions {
    pub starts: Starts,
    pub sample_rows: Option<u64>,
}

impl GmmOptions {
    pub const KEYS: [&'static str; 4] = ["n_init", "max_iter", "tol", "sample_rows"];

    pub fn read(given: &Given) -> GmmOptions {
        GmmOptions {
            starts: Starts::read(given),
            sample_rows: given.integer("sample_rows"),
        }
    }
}

impl crate::params::ParamGuard for GmmOptions {
    fn check_ref(&self) -> CoreResult<&Self> {
        self.starts.check_ref()?;
        check_sample_rows(self.sample_rows, u64::MAX, "gmm")?;
        Ok(self)
    }
}

/// Ridge added to covariance diagonals (scikit-learn's and linfa's `reg_covar` default).
pub const REG_COVAR: f64 = 1e-6;

/// Best of `n_init` EM runs by mean log-likelihood: the first started from linfa's k-means, the
/// others from random responsibilities, each with its own seed. (linfa's own `n_runs` continues
/// from the previous run's state instead of restarting, and its k-means start finds the same
/// partition for every seed, so neither explores other optima.)
pub fn fit(x: &FeatureMatrix, p: &GmmParams, check: &mut dyn FnMut()) -> CoreResult<MixtureFit> {
    let (n, d) = (x.n_rows(), x.n_cols());
    let view = ArrayView2::from_shape((n, d), x.as_slice()).expect("row-major n x d");
    let dataset = DatasetBase::from(view.to_owned());
    let mut best: Option<(f64, MixtureFit)> = None;
    let mut last_error = None;
    for run in 0..p.n_init as u64 {
        check();
        let rng = Xoshiro256PlusPlus::seed_from_u64(p.seed.wrapping_add(run));
        let init = if run == 0 {
            GmmInitMethod::KMeans
        } else {
            GmmInitMethod::Random
        };
        let model = match GaussianMixtureModel::params_with_rng(p.k, rng)
            .init_method(init)
            .n_runs(1)
            .max_n_iterations(p.max_iter as u64)
            .tolerance(p.tol)
            .reg_covariance(REG_COVAR)
            .fit(&dataset)
        {
            Ok(model) => model,
            Err(e) => {
                last_error = Some(e);
                continue;
            }
        };
        let fit = MixtureFit {
            means: model
                .means()
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect(),
            mixture: Mixture {
                weights: model.weights().to_vec(),
                covariances: model
                    .covariances()
                    .outer_iter()
                    .map(|c| c.iter().copied().collect())
                    .collect(),
            },
        };
        let Ok(rule) = MixtureRule::new(&fit.mixture, &fit.means) else {
            continue;
        };
        let mut scratch = vec![0.0; p.k];
        let ll = x
            .rows()
            .map(|row| rule.classify(row, &mut scratch).1)
            .sum::<f64>()
            / n as f64;
        if ll.is_finite() && best.as_ref().is_none_or(|(b, _)| ll > *b) {
            best = Some((ll, fit));
        }
    }
    match (best, last_error) {
        (Some((_, fit)), _) => Ok(fit),
        (None, Some(e)) => Err(gmm_error(e)),
        (None, None) => Err(CoreError::new(
            ErrorKind::InvalidData,
            "the Gaussian mixture fit became numerically unstable (rows far from every component)",
        )
        .with_hint("Try fewer segments, the log option for skewed features, or scale robust.")),
    }
}

fn gmm_error(e: GmmError) -> CoreError {
    let (message, hint) = match &e {
        GmmError::NotConverged(_) => (
            "the Gaussian mixture did not converge".to_string(),
            "Raise the max_iter option or loosen tol.",
        ),
        GmmError::EmptyCluster(_) => (
            "a Gaussian mixture component lost all its rows".to_string(),
            "Use fewer segments, or another seed.",
        ),
        _ => (
            format!("the Gaussian mixture could not be fitted: {e}"),
            "Use fewer segments, and check for constant or duplicated feature columns.",
        ),
    };
    CoreError::new(ErrorKind::InvalidData, message).with_hint(hint)
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
            // |L^-1 (x - mean)|^2, L^-1 lower triangular.
            let mut q = 0.0;
            for i in 0..d {
                let row = &inv[i * d..i * d + i + 1];
                let z: f64 = row
                    .iter()
                    .zip(x)
                    .zip(mean)
                    .map(|((a, xv), m)| a * (xv - m))
                    .sum();
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
}
