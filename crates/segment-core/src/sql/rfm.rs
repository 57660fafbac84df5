//! The SQL text of `segment_rfm`: its query (`query`), with each score's breaks and the segment
//! names. The query runs where the transactions are, so the scores are computed by
//! PostgreSQL; `value::rfm::scores` is the same rule in Rust (the tests hold the two equal).

use crate::value::rfm::{on_five, segment, Returns};

/// The quoted names `segment_rfm` reads: the relation (schema-qualified) and its customer, time
/// and amount columns, each quoted by the caller after checking it against the catalog.
pub struct Transactions<'a> {
    pub relation: &'a str,
    pub customer: &'a str,
    pub time: &'a str,
    pub amount: &'a str,
}

/// `segment_rfm`'s query, taking `as_of` as $1: the RFM rows, one per customer with a purchase up
/// to `as_of`, after a call of `left_out` (the quoted, schema-qualified name of a function of two
/// bigints, `segment_rfm_left_out`) with the counts of what is left out, for its NOTICE:
/// transactions with a NULL customer, time or amount, and those after `as_of`.
pub fn query(tx: &Transactions, bins: usize, returns: Returns, left_out: &str) -> String {
    let Transactions {
        relation,
        customer: c,
        time: t,
        amount: a,
    } = tx;
    // One scan of the transactions, grouped by customer: a transaction counts when its customer
    // is not NULL and its time is up to as_of; one that does not keeps a NULL day and amount, so
    // that it adds nothing to its group (no aggregate reads a value it did not read before), and
    // what is left out is counted in the same pass, as incomplete or late, under the conditions of
    // the count this replaces (a second scan of the transactions: about a second on 10M rows).
    // Groups without a purchase are kept only for those counts: `customers` is the groups with a
    // purchase (recency_days is NULL exactly when max(day) is), which the scores read. The counts
    // are summed once for the NOTICE (an InitPlan, a one-time filter evaluated before the first
    // row, also when there is none). Grouping by the customer column itself, not by an
    // expression, keeps the planner's estimate of the customers (a CASE key was estimated at 200
    // groups, and each score's breaks were then sorted instead of hashed).
    //
    // A purchase is a transaction with amount >= 0; a return has amount < 0. Each transaction's
    // purchase day is its day, NULL for a return (and for a NULL amount, which no aggregate
    // counts): max, min and count(DISTINCT) skip NULLs, so one CASE per transaction replaces a
    // FILTER per aggregate (measured: about a second on 10M rows), and "has a purchase" is
    // max(day) IS NOT NULL.
    let counts = format!("{c} IS NOT NULL AND {t} <= $1");
    let spent = match returns {
        Returns::Net => "",
        Returns::Ignore => " FILTER (WHERE day IS NOT NULL)",
    };
    let r = score_value("recency_days", false);
    let f = score_value("frequency", true);
    let m = score_value("monetary_total", true);
    let (r_breaks, f_breaks, m_breaks) = (
        score_breaks_sql(&r, bins),
        score_breaks_sql(&f, bins),
        score_breaks_sql(&m, bins),
    );
    let segment = segment_sql("r_score", "f_score", bins);
    // Grouped by the key in its own type (a text cast before grouping made the sort compare
    // strings: 4.4x the plain GROUP BY on 10M rows); its text form is taken per group. OFFSET 0
    // keeps the transactions' subquery apart, so each purchase day is computed once, before the
    // sort, which then carries a date instead of the time; flattened into the grouping, the CASE
    // ran once per aggregate reading it, after the sort (measured on 10M rows: about 1 s more).
    // The breaks are one row, materialized so that each score's subquery runs once.
    format!(
        "WITH grouped AS MATERIALIZED (
             SELECT customer::text AS customer,
                    $1::date - pg_catalog.max(day) AS recency_days,
                    pg_catalog.count(DISTINCT day) AS frequency,
                    COALESCE(pg_catalog.sum(amount){spent}, 0)::float8 AS monetary_total,
                    $1::date - pg_catalog.min(day) AS tenure_days,
                    pg_catalog.sum(incomplete) AS incomplete,
                    pg_catalog.sum(late) AS late
             FROM (SELECT {c} AS customer,
                          CASE WHEN {counts} AND {a} >= 0 THEN {t}::date END AS day,
                          CASE WHEN {counts} THEN {a} END AS amount,
                          CASE WHEN {c} IS NULL OR {t} IS NULL OR {a} IS NULL THEN 1 END
                              AS incomplete,
                          CASE WHEN {c} IS NOT NULL AND {a} IS NOT NULL AND {t} > $1 THEN 1 END
                              AS late
                   FROM {relation}
                   OFFSET 0) tx
             GROUP BY customer
             HAVING pg_catalog.max(day) IS NOT NULL OR pg_catalog.sum(incomplete) IS NOT NULL
                 OR pg_catalog.sum(late) IS NOT NULL),
         customers AS NOT MATERIALIZED (SELECT * FROM grouped WHERE recency_days IS NOT NULL),
         breaks AS MATERIALIZED (
             SELECT ({r_breaks}) AS r, ({f_breaks}) AS f, ({m_breaks}) AS m
             FROM (SELECT pg_catalog.count(*) AS total FROM customers) t)
         SELECT customer, recency_days, frequency, monetary_total, monetary_total / frequency,
                tenure_days, $1::date - tenure_days, $1::date - recency_days,
                r_score, f_score, m_score, {segment}
         FROM (SELECT c.*, 1 + pg_catalog.width_bucket({r}, b.r) AS r_score,
                      1 + pg_catalog.width_bucket({f}, b.f) AS f_score,
                      1 + pg_catalog.width_bucket({m}, b.m) AS m_score
               FROM customers c, breaks b) scored
         WHERE (SELECT {left_out}(COALESCE(pg_catalog.sum(incomplete), 0)::int8,
                                  COALESCE(pg_catalog.sum(late), 0)::int8)
                FROM grouped)"
    )
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
/// 1 + floor(bins x (customers with a smaller value) / customers). `total`, the count of the
/// customers, is a column of the query it is written in (counted once for the three scores).
///
/// Over the distinct values, ascending, the customers below a value are the running count minus
/// its own. The score reaches k + 1 at the first value with bins x below >= k x total (integers:
/// no division to round), so that value is the k-th break, k = 1..bins-1: a value where the score
/// rises by j is j of them (j > 1 when a large tie skips scores), and a score never reached has
/// none (NULL, removed). `width_bucket` counts the breaks <= value: the rises reached, so the
/// score. No rise at all (one bin, or one value) is the empty array, not NULL: every score 1.
/// `width_bucket` compares like PostgreSQL's sort, NaN above every number, so a NaN spend (from a
/// NaN amount) is scored like any other value.
/// Equal values share a score whatever the row order. Windows over the distinct values (a small
/// sort) replace a window sort of every customer per score (9.7 s against 10.9 s on 1M
/// customers), and a binary search per customer replaces joining every customer back to a
/// (value, score) lookup (EXPLAIN ANALYZE on 1M customers: the three joins and their output took
/// about 1 s, the pass over the customers with `width_bucket` takes 0.5 s). One window (the
/// running count) and one aggregate of bins - 1 filtered minimums replace three windows (the
/// running count, the total, the previous score) and a row per rise: on the spends, nearly one
/// distinct value per customer, about a third less. `value` is an expression of checked
/// identifiers; the running sum is numeric, cast back to an integer.
pub fn score_breaks_sql(value: &str, bins: usize) -> String {
    if bins == 1 {
        // No break; the empty array of the value's type.
        return format!(
            "SELECT COALESCE(pg_catalog.array_agg({value}), '{{}}') FROM customers WHERE false"
        );
    }
    let firsts: Vec<String> = (1..bins)
        .map(|k| format!("pg_catalog.min(v) FILTER (WHERE {bins} * below >= {k} * total)"))
        .collect();
    format!(
        "SELECT pg_catalog.array_remove(ARRAY[{}], NULL) \
         FROM (SELECT v, (pg_catalog.sum(n) OVER (ORDER BY v ROWS UNBOUNDED PRECEDING))::int8 - n AS below \
               FROM (SELECT {value} AS v, pg_catalog.count(*) AS n FROM customers GROUP BY 1) d) s",
        firsts.join(", ")
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

    #[test]
    fn query_reads_only_the_names_given_and_filters_returns_as_asked() {
        let tx = Transactions {
            relation: "public.tx",
            customer: "\"Customer\"",
            time: "at",
            amount: "amount",
        };
        let net = query(&tx, 5, Returns::Net, "s.segment_rfm_left_out");
        assert_eq!(net.matches("FROM public.tx").count(), 1, "one scan: {net}");
        assert!(net.contains("SELECT \"Customer\" AS customer"));
        assert!(net.contains("CASE WHEN \"Customer\" IS NOT NULL AND at <= $1 AND amount >= 0"));
        assert!(net.contains("COALESCE(pg_catalog.sum(amount), 0)"));
        // What is left out is counted as the second scan counted it, and said once.
        assert!(net.contains("\"Customer\" IS NULL OR at IS NULL OR amount IS NULL THEN 1"));
        assert!(net.contains("\"Customer\" IS NOT NULL AND amount IS NOT NULL AND at > $1 THEN 1"));
        assert_eq!(net.matches("s.segment_rfm_left_out(").count(), 1);
        let ignore = query(&tx, 5, Returns::Ignore, "s.segment_rfm_left_out");
        assert!(ignore.contains("sum(amount) FILTER (WHERE day IS NOT NULL)"));
        // Three score breaks and the segment names over bins 3.
        let three = query(&tx, 3, Returns::Net, "s.segment_rfm_left_out");
        assert_eq!(three.matches("width_bucket").count(), 3);
        assert!(three.contains("[(r_score - 1) * 3 + f_score]"));
    }
}
