//! The SQL text of `segment_rfm`'s scores and segment names: the query runs where the
//! transactions are, so the scores are computed by PostgreSQL; `value::rfm::scores` is the same
//! rule in Rust (the tests hold the two equal).

use crate::value::rfm::{on_five, segment};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
