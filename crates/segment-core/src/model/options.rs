//! `segment_fit` options: parsed from the caller's JSON, unknown keys rejected, ranges checked.

use crate::error::{CoreError, CoreResult};
use crate::model::document::Method;
use crate::params::options_object;
use crate::prep::encoding::{DEFAULT_MAX_CATEGORIES, MAX_CATEGORIES};
use crate::prep::scaling::{ImputeMethod, ScaleMethod};
use serde::{Deserialize, Serialize};

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
    fn is_memory(&self) -> bool {
        *self == Engine::Memory
    }
}

/// Options of a fit. Defaults follow scikit-learn where it has one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitOptions {
    pub method: Method,
    pub scale: ScaleMethod,
    pub impute: ImputeMethod,
    /// Seed of every random choice (k-means++ starts, silhouette sample).
    pub seed: u64,
    /// Number of k-means++ starts; the run with the lowest inertia wins.
    pub n_init: u32,
    /// Maximum Lloyd iterations per start.
    pub max_iter: u32,
    /// Convergence tolerance, scikit-learn's meaning: stop when the summed squared centre shift is
    /// at most `tol` times the mean feature variance (of the scaled matrix).
    pub tol: f64,
    /// Feature columns replaced by log(1 + x) before imputation and scaling (skewed spend);
    /// a negative value in one of them is an error.
    pub log: Vec<String>,
    /// The k range `segment_fit` scans when it is called with k NULL (see `choose_k`).
    pub k_min: u32,
    pub k_max: u32,
    /// DBSCAN: neighbourhood radius in scaled units (required for method dbscan).
    pub eps: Option<f64>,
    /// DBSCAN: rows (itself included) within eps that make a row a core point.
    pub min_points: u32,
    /// Fit on a seeded uniform sample of at most this many rows, then assign every row (the
    /// profile covers all rows). Default: every row for kmeans and gmm, `DEFAULT_SAMPLE_ROWS`
    /// for hierarchical and dbscan (quadratic or core-point bound).
    pub sample_rows: Option<u64>,
    /// Most distinct values a text or boolean feature may have (one matrix column each).
    pub max_categories: u32,
    /// minibatch_kmeans: rows per update, and passes over the source.
    pub batch_size: u32,
    pub epochs: u32,
    /// k-means only: where the Lloyd steps run (absent from stored options when `memory`).
    #[serde(skip_serializing_if = "Engine::is_memory")]
    pub engine: Engine,
    /// Fit one model per value of this column (see `groups`); absent from stored options when
    /// not set, like the next one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// With group_by: groups with fewer usable rows are not fitted (their rows get no segment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_group_rows: Option<u32>,
}

/// Default sample for the methods whose cost grows faster than the rows.
pub const DEFAULT_SAMPLE_ROWS: u64 = 5_000;
/// Largest sample hierarchical and dbscan accept (time is quadratic in it).
pub const MAX_SAMPLE_ROWS: u64 = 50_000;

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            scale: ScaleMethod::Zscore,
            impute: ImputeMethod::Skip,
            seed: 0,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            log: Vec::new(),
            k_min: 2,
            k_max: 10,
            method: Method::Kmeans,
            eps: None,
            min_points: 5,
            sample_rows: None,
            max_categories: DEFAULT_MAX_CATEGORIES,
            batch_size: 1024,
            epochs: 5,
            engine: Engine::Memory,
            group_by: None,
            min_group_rows: None,
        }
    }
}

pub const MAX_N_INIT: u32 = 1000;
pub const MAX_ITER: u32 = 100_000;

impl FitOptions {
    /// Parses a JSON object (the `options jsonb` argument as text) and validates every value.
    pub fn from_json(text: &str) -> CoreResult<FitOptions> {
        let value = options_object(
            text,
            Some(r#"Pass options like '{"seed": 7, "scale": "minmax"}'."#),
        )?;
        let options: FitOptions = serde_json::from_value(value).map_err(|e| {
            CoreError::invalid_parameter(format!("invalid option: {e}")).with_hint(
                "Known options: method (kmeans | gmm | hierarchical | dbscan | minibatch_kmeans), eps, min_points, sample_rows, max_categories, batch_size, epochs, engine (memory | aggregate), scale (zscore | minmax | robust | none), impute (skip | mean | median | error), \
                 seed, n_init, max_iter, tol, log (array of feature names), k_min, k_max, group_by (a column), min_group_rows.",
            )
        })?;
        options.validate()?;
        Ok(options)
    }

    /// The sample size of this fit (None: every row).
    pub fn sample_limit(&self) -> Option<u64> {
        self.sample_rows.or(match self.method {
            Method::Hierarchical | Method::Dbscan => Some(DEFAULT_SAMPLE_ROWS),
            Method::Kmeans | Method::Gmm | Method::MinibatchKmeans | Method::ChurnTree => None,
        })
    }

    /// Per feature, whether the `log` option names it; every name must be a feature.
    pub fn log_mask(&self, features: &[String]) -> CoreResult<Vec<bool>> {
        if let Some(bad) = self.log.iter().find(|l| !features.contains(l)) {
            return Err(CoreError::invalid_parameter(format!(
                "option log names \"{bad}\", which is not one of the features"
            ))
            .with_hint("List feature columns only, e.g. {\"log\": [\"monetary\"]}."));
        }
        Ok(features.iter().map(|f| self.log.contains(f)).collect())
    }

    pub fn validate(&self) -> CoreResult<()> {
        if self.n_init == 0 || self.n_init > MAX_N_INIT {
            return Err(CoreError::invalid_parameter(format!(
                "option n_init must be between 1 and {MAX_N_INIT}, not {}",
                self.n_init
            )));
        }
        if self.max_iter == 0 || self.max_iter > MAX_ITER {
            return Err(CoreError::invalid_parameter(format!(
                "option max_iter must be between 1 and {MAX_ITER}, not {}",
                self.max_iter
            )));
        }
        if self.method == Method::ChurnTree {
            return Err(CoreError::invalid_parameter(
                "method churn_tree is fitted by segment_churn_fit",
            )
            .with_hint("Call segment_churn_fit(source, features, label)."));
        }
        match (self.method, self.eps) {
            (Method::Dbscan, None) => {
                return Err(CoreError::invalid_parameter("method dbscan needs the eps option")
                    .with_hint(r#"Pass the neighbourhood radius in scaled units, e.g. '{"method": "dbscan", "eps": 0.5}'."#))
            }
            (Method::Dbscan, Some(eps)) if !(eps.is_finite() && eps > 0.0) => {
                return Err(CoreError::invalid_parameter(format!(
                    "option eps must be a finite number > 0, not {eps}"
                )))
            }
            (Method::Dbscan, _) => {}
            (_, Some(_)) => {
                return Err(CoreError::invalid_parameter(
                    "option eps applies to method dbscan only",
                ))
            }
            _ => {}
        }
        if self.max_categories < 1 || self.max_categories > MAX_CATEGORIES {
            return Err(CoreError::invalid_parameter(format!(
                "option max_categories must be between 1 and {MAX_CATEGORIES}, not {}",
                self.max_categories
            )));
        }
        if self.batch_size < 1 || self.batch_size > 1_000_000 {
            return Err(CoreError::invalid_parameter(format!(
                "option batch_size must be between 1 and 1000000, not {}",
                self.batch_size
            )));
        }
        if self.epochs < 1 || self.epochs > 1000 {
            return Err(CoreError::invalid_parameter(format!(
                "option epochs must be between 1 and 1000, not {}",
                self.epochs
            )));
        }
        if self.min_points < 1 || self.min_points > 10_000 {
            return Err(CoreError::invalid_parameter(format!(
                "option min_points must be between 1 and 10000, not {}",
                self.min_points
            )));
        }
        if let Some(s) = self.sample_rows {
            let max = match self.method {
                Method::Hierarchical | Method::Dbscan => MAX_SAMPLE_ROWS,
                Method::Kmeans | Method::Gmm | Method::MinibatchKmeans | Method::ChurnTree => {
                    u64::MAX
                }
            };
            if s < 2 || s > max {
                return Err(CoreError::invalid_parameter(format!(
                    "option sample_rows must be between 2 and {max} for method {}, not {s}",
                    self.method.name()
                ))
                .with_hint("Hierarchical and DBSCAN fits grow quadratically with the sample."));
            }
        }
        if self.engine == Engine::Aggregate {
            if self.method != Method::Kmeans {
                return Err(CoreError::invalid_parameter(format!(
                    "option engine aggregate runs k-means only, not method {}",
                    self.method.name()
                )));
            }
            if self.scale == ScaleMethod::Robust || self.impute == ImputeMethod::Median {
                return Err(CoreError::invalid_parameter(
                    "option engine aggregate streams the rows: it cannot take medians (scale robust, impute median)",
                )
                .with_hint("Use scale zscore, minmax or none and impute skip, mean or error."));
            }
        }
        match (&self.group_by, self.min_group_rows) {
            (Some(g), _) if g.is_empty() => {
                return Err(CoreError::invalid_parameter(
                    "option group_by must name a column",
                ))
            }
            (Some(_), _) if self.method == Method::MinibatchKmeans || !self.engine.is_memory() => {
                return Err(CoreError::invalid_parameter(format!(
                    "option group_by fits each group in memory: it does not combine with {}",
                    if self.engine.is_memory() {
                        "method minibatch_kmeans"
                    } else {
                        "engine aggregate"
                    }
                ))
                .with_hint("Fit a view per group with minibatch_kmeans, or leave group_by out."))
            }
            (Some(_), Some(m)) if !(1..=1_000_000_000).contains(&m) => {
                return Err(CoreError::invalid_parameter(format!(
                    "option min_group_rows must be between 1 and 1000000000, not {m}"
                )))
            }
            (None, Some(_)) => {
                return Err(CoreError::invalid_parameter(
                    "option min_group_rows applies with group_by only",
                ))
            }
            _ => {}
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(CoreError::invalid_parameter(format!(
                "option tol must be a finite number >= 0, not {}",
                self.tol
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn empty_object_gives_defaults() {
        assert_eq!(FitOptions::from_json("{}").unwrap(), FitOptions::default());
    }

    #[test]
    fn values_are_read() {
        let o = FitOptions::from_json(
            r#"{"scale":"minmax","impute":"mean","seed":7,"n_init":3,"max_iter":50,"tol":0,"k_min":3,"k_max":7}"#,
        )
        .unwrap();
        assert_eq!(o.scale, ScaleMethod::Minmax);
        assert_eq!(o.impute, ImputeMethod::Mean);
        assert_eq!((o.seed, o.n_init, o.max_iter, o.tol), (7, 3, 50, 0.0));
        assert_eq!((o.k_min, o.k_max), (3, 7));
        let o = FitOptions::from_json(r#"{"log": ["b"]}"#).unwrap();
        let features = vec!["a".to_string(), "b".to_string()];
        assert_eq!(o.log_mask(&features).unwrap(), vec![false, true]);
        let o = FitOptions::from_json(r#"{"log": ["c"]}"#).unwrap();
        assert!(o.log_mask(&features).unwrap_err().message.contains("\"c\""));
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let e = FitOptions::from_json(r#"{"sede": 1}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert!(e.message.contains("sede"), "{}", e.message);
    }

    #[test]
    fn bad_values_are_rejected() {
        for bad in [
            r#"{"scale":"log"}"#,
            r#"{"n_init":0}"#,
            r#"{"max_iter":-1}"#,
            r#"{"tol":-1}"#,
            r#"{"seed":"x"}"#,
            r#"{"group_by":""}"#,
            r#"{"min_group_rows":5}"#,
            r#"{"group_by":"region","min_group_rows":0}"#,
            r#"{"group_by":"region","method":"minibatch_kmeans"}"#,
            r#"{"group_by":"region","engine":"aggregate"}"#,
            r#"[1,2]"#,
            r#"not json"#,
        ] {
            let e = FitOptions::from_json(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter, "{bad}");
        }
    }
}
