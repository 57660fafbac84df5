//! RFM (recency, frequency, monetary): the scoring rule and the segment names, written as SQL for
//! the query src/pg/rfm.rs builds (the server aggregates, scores and streams the rows), and in
//! Rust for the tests.

use super::error::{CoreError, CoreResult};
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct RfmOptions {
    pub returns: Returns,
}

impl RfmOptions {
    pub fn from_json(text: &str) -> CoreResult<RfmOptions> {
        let value = super::options::options_object(text, None)?;
        serde_json::from_value(value).map_err(|e| {
            CoreError::invalid_parameter(format!("invalid option: {e}"))
                .with_hint("Known options: returns (net | ignore).")
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

/// The value a score ranks, as SQL over a column of the `customers` CTE: the column itself when
/// a higher value is better, negated when lower is better (recency, a day count: its negation
/// cannot overflow), so that the score rises with it.
pub fn score_value(column: &str, higher_is_better: bool) -> String {
    if higher_is_better {
        column.to_string()
    } else {
        format!("(-{column})")
    }
}

/// A scalar subquery over the `customers` CTE giving the breaks of the score of `value` (see
/// `score_value`): the ascending array with which `1 + width_bucket(value, breaks)` is the score
/// 1 + floor(bins x (customers with a smaller value) / customers).
///
/// Over the distinct values, ascending, the customers below a value are the running count minus
/// its own; a value where the score rises by j enters the array j times (j > 1 when a large tie
/// skips scores). `width_bucket` counts the breaks <= value: the rises reached, so the score.
/// No rise at all (one bin, or one value) is the empty array, not NULL: every score 1.
/// `width_bucket` compares like PostgreSQL's sort, NaN above every number, so a NaN spend (from a
/// NaN amount) is scored like any other value.
/// Equal values share a score whatever the row order. Windows over the distinct values (a small
/// sort) replace a window sort of every customer per score (9.7 s against 10.9 s on 1M
/// customers), and a binary search per customer replaces joining every customer back to a
/// (value, score) lookup (EXPLAIN ANALYZE on 1M customers: the three joins and their output took
/// about 1 s, the pass over the customers with `width_bucket` takes 0.5 s). `value` is an
/// expression of checked identifiers; the sums are numeric: cast back to integers so that the
/// division floors (a numeric quotient would round).
pub fn score_breaks_sql(value: &str, bins: usize) -> String {
    format!(
        "SELECT COALESCE(pg_catalog.array_agg(v ORDER BY v), '{{}}') \
         FROM (SELECT v, score - pg_catalog.lag(score, 1, 1) OVER (ORDER BY v) AS rise \
               FROM (SELECT v, (1 + {bins} * ((pg_catalog.sum(n) OVER (ORDER BY v))::int8 - n) \
                                / (pg_catalog.sum(n) OVER ())::int8)::int4 AS score \
                     FROM (SELECT {value} AS v, pg_catalog.count(*) AS n FROM customers GROUP BY 1) d) s) r, \
              pg_catalog.generate_series(1, rise) \
         WHERE rise > 0"
    )
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

/// The segment name as a SQL expression over two 1..bins score columns: a subscript of a
/// constant array holding the name of every (R, F) pair, made from `segment` itself (one
/// multiplication and a subscript per customer; the CASE of eleven ranges it replaces was
/// evaluated on every row).
pub fn segment_sql(r: &str, f: &str, bins: usize) -> String {
    // The names hold no quote, comma or brace: each is one double-quoted array element.
    let mut names = Vec::with_capacity(bins * bins);
    for r in 1..=bins as u32 {
        for f in 1..=bins as u32 {
            names.push(format!(
                "\"{}\"",
                segment(on_five(r, bins), on_five(f, bins))
            ));
        }
    }
    format!(
        "('{{{}}}'::text[])[({r} - 1) * {bins} + {f}]",
        names.join(",")
    )
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

    /// `score_breaks_sql` in Rust: the breaks of `values` (higher is better).
    fn score_breaks(values: &[f64], bins: usize) -> Vec<f64> {
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        for v in sorted {
            match distinct.last_mut() {
                Some((last, n)) if last.total_cmp(&v).is_eq() => *n += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let (mut below, mut previous, mut breaks) = (0, 1, Vec::new());
        for (v, n) in distinct {
            let score = 1 + bins * below / values.len();
            breaks.extend(std::iter::repeat_n(v, score - previous));
            (below, previous) = (below + n, score);
        }
        breaks
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
    fn sql_names_like_the_table() {
        // Element (r - 1) * bins + f (1-based) of the array names (r, f).
        let sql = segment_sql("r", "f", 5);
        assert!(sql.ends_with("::text[])[(r - 1) * 5 + f]"), "{sql}");
        let names: Vec<&str> = sql
            .split("'{")
            .nth(1)
            .and_then(|s| s.split("}'").next())
            .unwrap()
            .split(',')
            .map(|n| n.trim_matches('"'))
            .collect();
        assert_eq!(names.len(), 25);
        assert_eq!(names[0], "Lost"); // (1, 1)
        assert_eq!(names[4], "Cannot lose them"); // (1, 5)
        assert_eq!(names[24], "Champions"); // (5, 5)
        for bins in [1, 3, 7] {
            let sql = segment_sql("r", "f", bins);
            assert_eq!(sql.matches('"').count(), 2 * bins * bins, "{bins}");
        }
        assert_eq!(score_value("recency_days", false), "(-recency_days)");
        assert!(score_breaks_sql("frequency", 5).contains("SELECT frequency AS v"));
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
