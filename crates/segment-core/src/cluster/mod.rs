//! The clustering methods, each on a scaled `FeatureMatrix`: k-means (our kernel), the k-means
//! Lloyd step as sums that can be combined across workers, the mini-batch update, Gaussian
//! mixtures (our EM), DBSCAN (ours), Ward (ours) and k-prototypes for numbers with categories
//! (ours). A method returns
//! labels and its own rule (centres, mixture, core points); `model::fit` turns that into a stored
//! model.

pub mod constrained;
pub mod dbscan;
pub mod gmm;
pub mod kmeans;
pub mod kprototypes;
pub mod lloyd_step;
pub mod minibatch;
pub mod shares;
pub mod ward;

use crate::error::{CoreError, CoreResult};
use crate::params::{check_range, Given, Key, Kind};
use serde::Serialize;

/// Most k-means++ (or EM) starts a fit may ask for.
pub const MAX_N_INIT: u32 = 1000;
/// Most iterations per start.
pub const MAX_ITER: u32 = 100_000;
/// Default sample of the methods whose cost grows faster than the rows (hierarchical, dbscan).
pub const DEFAULT_SAMPLE_ROWS: u64 = 5_000;
/// Largest sample hierarchical and dbscan accept (time is quadratic in it).
pub const MAX_SAMPLE_ROWS: u64 = 50_000;

/// The keys of the methods' options and their kinds (`segment_fit` reads every one of them;
/// which apply to which method is each method's `KEYS`).
pub const OPTION_KEYS: [Key; 15] = [
    Key::new("n_init", Kind::PositiveInteger),
    Key::new("max_iter", Kind::PositiveInteger),
    Key::new("tol", Kind::Number),
    Key::nullable("sample_rows", Kind::PositiveInteger),
    Key::new("engine", Kind::OneOf(&["memory", "aggregate"])),
    Key::new("k_min", Kind::PositiveInteger),
    Key::new("k_max", Kind::PositiveInteger),
    Key::nullable("eps", Kind::Number),
    Key::new("min_points", Kind::PositiveInteger),
    Key::new("batch_size", Kind::PositiveInteger),
    Key::new("epochs", Kind::PositiveInteger),
    Key::nullable("gamma", Kind::Number),
    Key::new("warm_start", Kind::Boolean),
    Key::nullable("min_share", Kind::Number),
    Key::nullable("max_share", Kind::Number),
];

/// Starts and stopping rule of the iterative methods (kmeans, gmm, minibatch_kmeans,
/// kprototypes): `n_init` starts of at most `max_iter` iterations, stopping below `tol`. A part
/// of each method's parameters, checked with them (`check`); the getters are for checked values
/// (both counts then fit in a u32).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Starts {
    pub(crate) n_init: u64,
    pub(crate) max_iter: u64,
    pub(crate) tol: f64,
}

impl Default for Starts {
    /// scikit-learn's defaults.
    fn default() -> Self {
        Starts {
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
        }
    }
}

impl Starts {
    pub const KEYS: [&'static str; 3] = ["n_init", "max_iter", "tol"];

    /// The given values, the defaults for the others.
    pub fn read(given: &Given) -> Starts {
        let d = Starts::default();
        Starts {
            n_init: given.integer("n_init").unwrap_or(d.n_init),
            max_iter: given.integer("max_iter").unwrap_or(d.max_iter),
            tol: given.number("tol").unwrap_or(d.tol),
        }
    }

    pub fn check(&self) -> CoreResult<()> {
        check_range("n_init", self.n_init, 1, MAX_N_INIT.into())?;
        check_range("max_iter", self.max_iter, 1, MAX_ITER.into())?;
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(CoreError::invalid_parameter(format!(
                "option tol must be a finite number >= 0, not {}",
                self.tol
            )));
        }
        Ok(())
    }

    pub fn n_init(&self) -> u32 {
        self.n_init.min(MAX_N_INIT.into()) as u32
    }

    pub fn max_iter(&self) -> u32 {
        self.max_iter.min(MAX_ITER.into()) as u32
    }

    pub fn tol(&self) -> f64 {
        self.tol
    }
}

/// What a method's checked parameters tell the fit around it (`model::options::MethodParams`
/// asks each method's through this trait, so a new method adds no arm there beyond its own).
pub trait MethodParameters {
    /// The k asked for: None when the method finds it (dbscan) or k-means scans a range.
    fn k(&self) -> Option<usize>;
    /// The most rows the method is fitted on (a seeded sample; None: every row).
    fn sample_limit(&self) -> Option<u64>;
    /// The parameters as the stored options hold them (the method's own keys, k among them).
    fn document(&self) -> serde_json::Value;
    /// Whether the fit starts from the current version's centres (the `warm_start` option of
    /// the methods that iterate from a start: kmeans, gmm, kprototypes).
    fn warm_start(&self) -> bool {
        false
    }
}

/// Serde's `skip_serializing_if` for the `warm_start` flags: stored only when set.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// The k of a method that needs it given: in 1..=`kmeans::MAX_K`, or an error naming the method.
pub(crate) fn needed_k(k: Option<i64>, method: &str) -> CoreResult<i64> {
    match k {
        Some(k) => kmeans::check_k_range(k).map(|_| k),
        None => Err(
            CoreError::invalid_parameter(format!("method {method} needs k"))
                .with_hint("Choose k with segment_choose_k (k-means scores), then pass it."),
        ),
    }
}

/// Checks the `sample_rows` option of `method`: at least 2 rows, at most `max`.
pub fn check_sample_rows(sample_rows: Option<u64>, max: u64, method: &str) -> CoreResult<()> {
    match sample_rows {
        Some(s) if s < 2 || s > max => Err(CoreError::invalid_parameter(format!(
            "option sample_rows must be between 2 and {max} for method {method}, not {s}"
        ))
        .with_hint("Hierarchical and DBSCAN fits grow quadratically with the sample.")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_checked() {
        let given = Given::from_json("{}", None, &OPTION_KEYS).unwrap();
        let starts = Starts::read(&given);
        assert_eq!(
            (starts.n_init, starts.max_iter, starts.tol),
            (10, 300, 1e-4)
        );
        assert!(starts.check().is_ok());
        for (text, message) in [
            (
                r#"{"n_init": 0}"#,
                "option n_init must be between 1 and 1000, not 0",
            ),
            (
                r#"{"n_init": 5000000000}"#,
                "option n_init must be between 1 and 1000, not 5000000000",
            ),
            (
                r#"{"max_iter": 1000000000}"#,
                "option max_iter must be between 1 and 100000, not 1000000000",
            ),
            (
                r#"{"tol": -1}"#,
                "option tol must be a finite number >= 0, not -1",
            ),
        ] {
            let given = Given::from_json(text, None, &OPTION_KEYS).unwrap();
            let e = Starts::read(&given).check().unwrap_err();
            assert_eq!(e.message, message);
        }
    }

    #[test]
    fn sample_rows_has_a_floor_and_the_method_ceiling() {
        assert!(check_sample_rows(None, 10, "x").is_ok());
        assert!(check_sample_rows(Some(2), 10, "x").is_ok());
        let e = check_sample_rows(Some(11), 10, "hierarchical").unwrap_err();
        assert_eq!(
            e.message,
            "option sample_rows must be between 2 and 10 for method hierarchical, not 11"
        );
        assert!(check_sample_rows(Some(1), u64::MAX, "kmeans").is_err());
    }
}
