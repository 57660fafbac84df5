//! RFM (recency, frequency, monetary): the scoring rule and the segment names. The query that
//! scores in the server is `sql::rfm::query`; here the same rule in Rust, for the tests.

use crate::error::{CoreError, CoreResult};
use crate::params::{Given, Key, Kind};
use serde::{Deserialize, Serialize};

/// What a negative amount (a return) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Returns {
    /// Returns reduce the customer's monetary value (net spend).
    #[default]
    Net,
    /// Returns are left out.
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RfmOptions {
    pub returns: Returns,
}

/// The keys of `segment_rfm`'s options and their kinds.
pub const OPTION_KEYS: [Key; 1] = [Key::new("returns", Kind::OneOf(&["net", "ignore"]))];

impl RfmOptions {
    /// Reads the options key by key (plain-word errors, the nearest key for an unknown one).
    pub fn from_json(text: &str) -> CoreResult<RfmOptions> {
        let given = Given::from_json(text, None, &OPTION_KEYS)?;
        Ok(RfmOptions {
            returns: given.choice("returns").unwrap_or_default(),
        })
    }
}

pub const MAX_BINS: i32 = 100;

pub fn check_bins(bins: i32) -> CoreResult<usize> {
    if !(1..=MAX_BINS).contains(&bins) {
        return Err(CoreError::invalid_parameter(format!(
            "bins must be between 1 and {MAX_BINS}, not {bins}"
        ))
        .with_hint("Scores go from 1 to bins; 5 is the usual choice."));
    }
    Ok(bins as usize)
}

/// The same rule in Rust, for the tests (and as its executable definition). Values are ordered
/// as PostgreSQL orders floats: NaN above every number.
pub fn scores(values: &[f64], bins: usize, higher_is_better: bool) -> Vec<u32> {
    let n = values.len();
    let mut sorted: Vec<f64> = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    values
        .iter()
        .map(|&v| {
            let worse = if higher_is_better {
                sorted.partition_point(|x| x.total_cmp(&v).is_lt())
            } else {
                n - sorted.partition_point(|x| x.total_cmp(&v).is_le())
            };
            (1 + bins * worse / n.max(1)) as u32
        })
        .collect()
}

/// The score on the usual 1..5 scale: 1 + floor((score - 1) x 5 / bins).
pub fn on_five(score: u32, bins: usize) -> u32 {
    1 + (score - 1) * 5 / bins as u32
}

/// An inclusive range of 1..5 scores.
pub type Scores = (u32, u32);

/// The widely used RFM segment names, on recency and frequency scores (1..5, 5 best): the first
/// row whose ranges hold (R, F) names it. "Lost" (R 1, F 1) comes before "Hibernating", which
/// takes the rest of that corner; every other pair is in exactly one row. Monetary does not
/// enter the name, as in the usual scheme.
pub const SEGMENTS: [(&str, Scores, Scores); 11] = [
    ("Lost", (1, 1), (1, 1)),
    ("Champions", (5, 5), (4, 5)),
    ("Loyal", (3, 4), (4, 5)),
    ("Potential loyalist", (4, 5), (2, 3)),
    ("New customers", (5, 5), (1, 1)),
    ("Promising", (4, 4), (1, 1)),
    ("Need attention", (3, 3), (3, 3)),
    ("About to sleep", (3, 3), (1, 2)),
    ("At risk", (1, 2), (3, 4)),
    ("Cannot lose them", (1, 2), (5, 5)),
    ("Hibernating", (1, 2), (1, 2)),
];

/// The segment of 1..5 recency and frequency scores.
pub fn segment(r: u32, f: u32) -> &'static str {
    SEGMENTS
        .iter()
        .find(|(_, (r0, r1), (f0, f1))| (*r0..=*r1).contains(&r) && (*f0..=*f1).contains(&f))
        .map(|(name, _, _)| *name)
        .expect("the table covers every (R, F) pair")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_read_in_plain_words() {
        assert_eq!(RfmOptions::from_json("{}").unwrap().returns, Returns::Net);
        let o = RfmOptions::from_json(r#"{"returns": "net"}"#).unwrap();
        assert_eq!(o.returns, Returns::Net);
        let o = RfmOptions::from_json(r#"{"returns": "ignore"}"#).unwrap();
        assert_eq!(o.returns, Returns::Ignore);
        let e = RfmOptions::from_json(r#"{"returns": "sometimes"}"#).unwrap_err();
        assert_eq!(
            e.message,
            r#"returns must be "net" or "ignore", got the string "sometimes""#
        );
        let e = RfmOptions::from_json(r#"{"return": "net"}"#).unwrap_err();
        assert_eq!(e.message, r#"unknown option "return""#);
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "returns"?"#));
    }

    #[test]
    fn quantile_scores_share_ties() {
        // 10 distinct values in 5 bins: two per score.
        let v: Vec<f64> = (1..=10).map(|x| x as f64).collect();
        assert_eq!(scores(&v, 5, true), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        // Lower is better for recency: the smallest gets 5.
        assert_eq!(scores(&v, 5, false), vec![5, 5, 4, 4, 3, 3, 2, 2, 1, 1]);
        // Ties share a score, independent of order.
        assert_eq!(scores(&[3.0, 1.0, 3.0, 3.0], 4, true), vec![2, 1, 2, 2]);
        // One bin, and more bins than values.
        assert_eq!(scores(&[7.0, 1.0], 1, true), vec![1, 1]);
        assert_eq!(scores(&[7.0, 1.0], 10, true), vec![6, 1]);
        assert_eq!(scores(&[2.0, 2.0], 5, false), vec![1, 1]);
        // NaN ranks above every number, as PostgreSQL orders floats.
        assert_eq!(scores(&[f64::NAN, 1.0, 2.0], 3, true), vec![3, 1, 2]);
    }

    /// `score_breaks_sql` in Rust: the breaks of `values` (higher is better), the k-th the first
    /// distinct value with bins x below >= k x total.
    fn score_breaks(values: &[f64], bins: usize) -> Vec<f64> {
        let distinct = distinct_counts(values);
        (1..bins)
            .filter_map(|k| {
                let mut below = 0;
                distinct.iter().find_map(|&(v, n)| {
                    let reached = bins * below >= k * values.len();
                    below += n;
                    reached.then_some(v)
                })
            })
            .collect()
    }

    /// The breaks as the query found them before (three windows): each distinct value once per
    /// score its running count raises (the previous score starting at 1).
    fn score_breaks_by_rises(values: &[f64], bins: usize) -> Vec<f64> {
        let (mut below, mut previous, mut breaks) = (0, 1, Vec::new());
        for (v, n) in distinct_counts(values) {
            let score = 1 + bins * below / values.len();
            breaks.extend(std::iter::repeat_n(v, score - previous));
            (below, previous) = (below + n, score);
        }
        breaks
    }

    /// The distinct values, ascending as PostgreSQL sorts floats, with their counts.
    fn distinct_counts(values: &[f64]) -> Vec<(f64, usize)> {
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        for v in sorted {
            match distinct.last_mut() {
                Some((last, n)) if last.total_cmp(&v).is_eq() => *n += 1,
                _ => distinct.push((v, 1)),
            }
        }
        distinct
    }

    /// The score read from the breaks (what `1 + width_bucket` does) is the score of the rule.
    #[test]
    fn breaks_give_the_quantile_scores() {
        let from_breaks = |values: &[f64], bins| {
            let breaks = score_breaks(values, bins);
            assert!(breaks.windows(2).all(|w| w[0] <= w[1]), "{breaks:?}");
            values
                .iter()
                .map(|&v| 1 + breaks.iter().filter(|&&b| b <= v).count() as u32)
                .collect::<Vec<_>>()
        };
        let cases: Vec<Vec<f64>> = vec![
            (1..=10).map(f64::from).collect(),
            vec![3.0, 1.0, 3.0, 3.0],
            vec![7.0, 1.0],
            vec![2.0, 2.0],
            vec![5.0],
            // A large tie at the bottom skips scores: 1 jumps to 4 (6 of 8 below the 9s).
            vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0, 9.0],
            // Pseudo-random values with ties, and negated values as for recency.
            (0..997u64).map(|i| ((i * 7919) % 113) as f64).collect(),
            (0..500u64)
                .map(|i| -(((i * 31) % 17) as f64) * 0.5)
                .collect(),
        ];
        for values in &cases {
            for bins in [1, 2, 3, 5, 7, 10, 100] {
                assert_eq!(
                    score_breaks(values, bins),
                    score_breaks_by_rises(values, bins),
                    "{values:?} {bins}"
                );
                assert_eq!(
                    from_breaks(values, bins),
                    scores(values, bins, true),
                    "{values:?} {bins}"
                );
                let negated: Vec<f64> = values.iter().map(|v| -v).collect();
                assert_eq!(
                    from_breaks(&negated, bins),
                    scores(values, bins, false),
                    "{values:?} {bins}"
                );
            }
        }
        assert_eq!(
            score_breaks(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0, 9.0], 5),
            vec![9.0; 3]
        );
    }

    #[test]
    fn every_pair_has_one_name() {
        for r in 1..=5 {
            for f in 1..=5 {
                let name = segment(r, f);
                let matches = SEGMENTS
                    .iter()
                    .filter(|(_, (r0, r1), (f0, f1))| {
                        (*r0..=*r1).contains(&r) && (*f0..=*f1).contains(&f)
                    })
                    .count();
                // Only (1, 1) is in two ranges (Lost, then Hibernating); Lost comes first.
                assert_eq!(matches, if (r, f) == (1, 1) { 2 } else { 1 }, "{r} {f}");
                assert!(!name.is_empty());
            }
        }
        assert_eq!(segment(5, 5), "Champions");
        assert_eq!(segment(1, 5), "Cannot lose them");
        assert_eq!(segment(2, 1), "Hibernating");
        assert_eq!(segment(1, 1), "Lost");
        assert_eq!(on_five(10, 10), 5);
        assert_eq!(on_five(1, 10), 1);
        assert_eq!(on_five(1, 1), 1);
        assert_eq!(on_five(3, 3), 4);
    }
}
