//! Customers who fit no segment (BigQuery's `ML.DETECT_ANOMALIES` for k-means): a row's anomaly
//! score is how far it lies from its own segment, and a row is an anomaly when its score is
//! above the threshold the fit stored, the `1 - contamination` quantile of the training rows'
//! scores. So about a `contamination` share of the training rows are anomalies, and new rows
//! are judged by the same yardstick.
//!
//! The score, by method:
//! - k-means, minibatch_kmeans, hierarchical: the Euclidean distance, in the model's scaled
//!   units, from the row to its segment's centre;
//! - k-prototypes: the square root of its dissimilarity to its prototype (squared distance on
//!   the numbers plus γ per mismatched category), the same yardstick in the same units;
//! - gmm: the negative log-likelihood of the row under the mixture (scikit-learn's
//!   `-score_samples`): rare rows score high wherever they sit.
//!
//! DBSCAN has no threshold: its noise rows (segment -1) are its anomalies.

use crate::error::{CoreError, CoreResult};
use crate::prep::scaling::percentile;
use serde::{Deserialize, Serialize};

/// The share of training rows flagged when the options say nothing.
pub const DEFAULT_CONTAMINATION: f64 = 0.01;
/// The largest share a fit may flag: beyond it, "anomaly" means a segment of its own.
pub const MAX_CONTAMINATION: f64 = 0.5;

/// What a fit stores to flag anomalies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnomalyThreshold {
    /// The share of the training rows above the threshold (the option).
    pub contamination: f64,
    /// The `1 - contamination` quantile of the training rows' scores (numpy's linear method).
    pub threshold: f64,
    /// How many training rows were scored.
    pub rows: u64,
}

/// One row's verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    pub segment: u32,
    pub score: f64,
    pub threshold: f64,
}

impl Anomaly {
    /// Above the threshold (a row exactly on it is not).
    pub fn is_anomaly(&self) -> bool {
        self.score > self.threshold
    }
}

/// Checks a contamination: a share in (0, `MAX_CONTAMINATION`].
pub fn check_contamination(c: f64) -> CoreResult<f64> {
    if c.is_finite() && c > 0.0 && c <= MAX_CONTAMINATION {
        Ok(c)
    } else {
        Err(CoreError::invalid_parameter(format!(
            "option contamination must be a share above 0 and at most {MAX_CONTAMINATION}, not {c}"
        ))
        .with_hint(
            "Pass the share of training rows to flag, e.g. {\"contamination\": 0.01} for 1%.",
        ))
    }
}

impl AnomalyThreshold {
    /// The threshold of the training rows' `scores` (any order; NaN scores are not counted).
    /// None without a finite score.
    pub fn of(mut scores: Vec<f64>, contamination: f64) -> Option<AnomalyThreshold> {
        scores.retain(|s| s.is_finite());
        if scores.is_empty() {
            return None;
        }
        scores.sort_unstable_by(f64::total_cmp);
        Some(AnomalyThreshold {
            contamination,
            threshold: percentile(&scores, 100.0 * (1.0 - contamination)),
            rows: scores.len() as u64,
        })
    }

    /// A stored threshold read back (untrusted): finite, its share in range.
    pub fn validate(&self) -> CoreResult<()> {
        check_contamination(self.contamination)?;
        if !self.threshold.is_finite() {
            return Err(CoreError::invalid_parameter(
                "the stored anomaly threshold is not a finite number",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threshold_is_numpys_linear_quantile() {
        // numpy.quantile(np.arange(1, 101), 0.99) = 99.01; np.quantile([1, 2, 3, 4], 0.9) = 3.7
        let t = AnomalyThreshold::of((1..=100).map(f64::from).collect(), 0.01).unwrap();
        assert!((t.threshold - 99.01).abs() < 1e-9, "{t:?}");
        assert_eq!(t.rows, 100);
        let t = AnomalyThreshold::of(vec![4.0, 1.0, f64::NAN, 3.0, 2.0], 0.1).unwrap();
        assert!((t.threshold - 3.7).abs() < 1e-9, "{t:?}");
        assert_eq!(t.rows, 4);
        assert!(AnomalyThreshold::of(vec![f64::NAN], 0.1).is_none());
    }

    #[test]
    fn contamination_is_a_share() {
        for bad in [0.0, -0.1, 0.51, f64::NAN, f64::INFINITY] {
            let e = check_contamination(bad).unwrap_err();
            assert!(
                e.message.starts_with("option contamination"),
                "{}",
                e.message
            );
        }
        assert_eq!(check_contamination(0.5).unwrap(), 0.5);
        let stored = AnomalyThreshold {
            contamination: 0.01,
            threshold: f64::NAN,
            rows: 3,
        };
        assert!(stored.validate().is_err());
    }

    #[test]
    fn a_row_on_the_threshold_is_not_an_anomaly() {
        let a = Anomaly {
            segment: 0,
            score: 2.0,
            threshold: 2.0,
        };
        assert!(!a.is_anomaly());
        assert!(Anomaly { score: 2.5, ..a }.is_anomaly());
    }
}
