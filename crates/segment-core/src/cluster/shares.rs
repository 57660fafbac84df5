//! The `min_share` and `max_share` options of method kmeans (segment size bounds, fitted by
//! `cluster::constrained`): read, checked against k and the other options, and turned into row
//! counts for a fit.

use crate::error::{CoreError, CoreResult};
use crate::params::Given;
use serde::Serialize;

/// Largest k the size bounds take: each augmentation of the assignment step is a Dijkstra over
/// the k segments (O(k²)), and each pair of segments keeps its candidates.
pub const MAX_CONSTRAINED_K: usize = 100;

/// The `min_share` and `max_share` options of method kmeans: each segment's share of the training
/// rows, at least and at most (None: no bound). Serialized only when given.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Shares {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_share: Option<f64>,
}

impl Shares {
    pub const KEYS: [&'static str; 2] = ["min_share", "max_share"];

    pub fn read(given: &Given) -> Shares {
        Shares {
            min_share: given.number("min_share"),
            max_share: given.number("max_share"),
        }
    }

    /// Whether a bound is given (the fit is then constrained).
    pub fn is_set(&self) -> bool {
        self.min_share.is_some() || self.max_share.is_some()
    }

    pub fn min_share(&self) -> Option<f64> {
        self.min_share
    }

    pub fn max_share(&self) -> Option<f64> {
        self.max_share
    }

    /// The option an error about both names: the one given (min_share when both are).
    fn key(&self) -> &'static str {
        if self.min_share.is_some() {
            "min_share"
        } else {
            "max_share"
        }
    }

    /// Range checks, then the rules with k and the other options: 0 < min_share <= 1/k <=
    /// max_share <= 1, k given (at most `MAX_CONSTRAINED_K`), engine memory (`aggregate` false), no sample_rows.
    pub fn check(
        &self,
        k: Option<i64>,
        aggregate: bool,
        sample_rows: Option<u64>,
    ) -> CoreResult<()> {
        if !self.is_set() {
            return Ok(());
        }
        for (key, value, example) in [
            (
                "min_share",
                self.min_share,
                "0.05 for segments of at least 5% of the rows",
            ),
            (
                "max_share",
                self.max_share,
                "0.4 for segments of at most 40% of the rows",
            ),
        ] {
            if let Some(v) = value {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(CoreError::invalid_parameter(format!(
                        "option {key} must be a number above 0 and at most 1, not {v}"
                    ))
                    .with_hint(format!("A share of the training rows, e.g. {example}.")));
                }
            }
        }
        let key = self.key();
        let Some(k) = k else {
            return Err(CoreError::invalid_parameter(format!("option {key} needs k"))
                .with_hint(
                    "The bounds are shares of k segments: choose k first (segment_choose_k, without them), then pass it to segment_fit.",
                ));
        };
        if k > MAX_CONSTRAINED_K as i64 {
            return Err(CoreError::invalid_parameter(format!(
                "option {key} takes k up to {MAX_CONSTRAINED_K}, not {k}"
            ))
            .with_hint("Fit fewer segments, or leave min_share and max_share out."));
        }
        let k = k.max(1) as f64;
        if let Some(min) = self.min_share {
            if min * k > 1.0 {
                return Err(CoreError::invalid_parameter(format!(
                    "option min_share {min} asks for {k} segments of at least {}% of the rows each: min_share × k must be at most 1",
                    percent(min)
                ))
                .with_hint(format!(
                    "Use a min_share of at most 1/k, e.g. {}, or fewer segments.",
                    decimals(1.0 / k, false)
                )));
            }
        }
        if let Some(max) = self.max_share {
            if max * k < 1.0 {
                return Err(CoreError::invalid_parameter(format!(
                    "option max_share {max} leaves {k} segments of at most {}% of the rows each, too few for every row: max_share × k must be at least 1",
                    percent(max)
                ))
                .with_hint(format!(
                    "Use a max_share of at least 1/k, e.g. {}, or more segments.",
                    decimals(1.0 / k, true)
                )));
            }
        }
        if aggregate {
            return Err(CoreError::invalid_parameter(format!(
                "option {key} needs engine memory: the constrained assignment weighs every row against the others"
            ))
            .with_hint("Leave engine out (memory), or leave min_share and max_share out."));
        }
        if sample_rows.is_some() {
            return Err(CoreError::invalid_parameter(format!(
                "option {key} bounds the segments of every training row: it does not combine with sample_rows"
            ))
            .with_hint("Leave sample_rows out (the constrained fit runs on every row), or fit a sampled view."));
        }
        Ok(())
    }

    /// The bounds in rows for `n` training rows in `k` segments: at least ceil(min_share × n)
    /// (and 1), at most floor(max_share × n) (a hair of rounding aside). When k such minimums
    /// exceed n (min_share = 1/k and n not a multiple of k), the minimum is floor(n / k); when k
    /// maximums fall short of n, the maximum is ceil(n / k): equal sizes, within one row.
    pub fn rows(&self, n: usize, k: usize) -> SizeBounds {
        let k = k.max(1);
        let nf = n as f64;
        let mut min = self
            .min_share
            .map_or(0, |s| (s * nf - 1e-9).ceil().max(0.0) as usize)
            .max(1);
        let mut max = self
            .max_share
            .map_or(n, |s| (s * nf + 1e-9).floor() as usize)
            .min(n);
        if min.saturating_mul(k) > n {
            min = n / k;
        }
        if max.saturating_mul(k) < n {
            max = n.div_ceil(k);
        }
        SizeBounds { min, max }
    }
}

/// `share` as a percentage, without trailing zeros.
fn percent(share: f64) -> String {
    let text = format!("{:.4}", share * 100.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `v` to 4 decimals, rounded down (or up): a value on the right side of 1/k.
fn decimals(v: f64, up: bool) -> String {
    let scaled = v * 10_000.0;
    let r = if up { scaled.ceil() } else { scaled.floor() };
    let text = format!("{:.4}", r / 10_000.0);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Least and most rows of every segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeBounds {
    pub min: usize,
    pub max: usize,
}

impl SizeBounds {
    /// Whether k segments can hold n rows within the bounds.
    pub(crate) fn feasible(&self, n: usize, k: usize) -> bool {
        self.min <= self.max && self.min.saturating_mul(k) <= n && self.max.saturating_mul(k) >= n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn shares_are_checked_with_k_and_the_other_options() {
        let s = |min: Option<f64>, max: Option<f64>| Shares {
            min_share: min,
            max_share: max,
        };
        let memory = false;
        assert!(s(Some(0.25), Some(0.25))
            .check(Some(4), memory, None)
            .is_ok());
        assert!(s(None, None).check(None, true, Some(5)).is_ok());
        for (shares, k, aggregate, sample, message, hint) in [
            (s(Some(0.0), None), Some(3), memory, None,
             "option min_share must be a number above 0 and at most 1, not 0",
             "A share of the training rows, e.g. 0.05 for segments of at least 5% of the rows."),
            (s(None, Some(1.5)), Some(3), memory, None,
             "option max_share must be a number above 0 and at most 1, not 1.5",
             "A share of the training rows, e.g. 0.4 for segments of at most 40% of the rows."),
            (s(Some(0.3), None), Some(4), memory, None,
             "option min_share 0.3 asks for 4 segments of at least 30% of the rows each: min_share × k must be at most 1",
             "Use a min_share of at most 1/k, e.g. 0.25, or fewer segments."),
            (s(None, Some(0.3)), Some(3), memory, None,
             "option max_share 0.3 leaves 3 segments of at most 30% of the rows each, too few for every row: max_share × k must be at least 1",
             "Use a max_share of at least 1/k, e.g. 0.3334, or more segments."),
            (s(Some(0.1), None), None, memory, None,
             "option min_share needs k",
             "The bounds are shares of k segments: choose k first (segment_choose_k, without them), then pass it to segment_fit."),
            (s(None, Some(0.9)), Some(101), memory, None,
             "option max_share takes k up to 100, not 101",
             "Fit fewer segments, or leave min_share and max_share out."),
            (s(Some(0.1), None), Some(3), true, None,
             "option min_share needs engine memory: the constrained assignment weighs every row against the others",
             "Leave engine out (memory), or leave min_share and max_share out."),
            (s(None, Some(0.5)), Some(3), memory, Some(1000),
             "option max_share bounds the segments of every training row: it does not combine with sample_rows",
             "Leave sample_rows out (the constrained fit runs on every row), or fit a sampled view."),
        ] {
            let e = shares.check(k, aggregate, sample).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter);
            assert_eq!((e.message.as_str(), e.hint.as_deref()), (message, Some(hint)));
        }
        // NaN is out of range too (JSON has none, but a Rust caller may pass one).
        assert!(s(Some(f64::NAN), None)
            .check(Some(2), memory, None)
            .is_err());
    }
}
