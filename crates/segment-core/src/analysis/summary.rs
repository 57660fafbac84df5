//! What each segment is worth (`segment_summary`): per segment its rows and their share, and per
//! measure column (revenue, margin, churned, …) the mean, the total and the segment's share of the
//! source's total — "14% of customers, 41% of revenue". The shell groups the source's rows by
//! segment in SQL (`sql::summary::query`, so that the grouping can run where the rows
//! are) and hands the per-segment sums here.

/// One measure's sum over a segment's rows, and how many of them had a value (not NULL).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasureSum {
    pub total: f64,
    pub values: u64,
}

/// A segment's rows as the grouping query counts them.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentSums {
    /// A per-group model's group (the grouping column's value as text); None for one model.
    pub group: Option<String>,
    /// None: the rows no segment was given to (a NULL feature under `impute: skip`, a group that
    /// was not fitted); -1: dbscan's noise.
    pub segment: Option<i32>,
    pub rows: u64,
    /// One per measure, in the order the measures were given.
    pub measures: Vec<MeasureSum>,
}

/// One row of the summary: a segment, and one of its measures (None when no measure was asked
/// for: one row a segment then).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    pub group: Option<String>,
    pub segment: Option<i32>,
    pub rows: u64,
    /// The segment's rows over all rows of the source.
    pub share: f64,
    pub measure: Option<usize>,
    /// Over the segment's rows with a value; None when none has one.
    pub mean: Option<f64>,
    /// The sum of the values (0 when none has one, as `coalesce(sum(x), 0)`).
    pub total: Option<f64>,
    /// The segment's total over the source's total; None when that is 0 (no share of nothing).
    pub share_of_total: Option<f64>,
    /// The segment's rows whose measure is NULL.
    pub nulls: u64,
}

/// The summary of `segments` with `measures` measures each: rows in the order given (the query
/// sorts them by group and segment), each segment's share of all rows, and per measure the
/// share of the sum over every segment (NULL segment included: the source's total).
pub fn summarise(segments: &[SegmentSums], measures: usize) -> Vec<SummaryRow> {
    let all_rows: u64 = segments.iter().map(|s| s.rows).sum();
    let totals: Vec<f64> = (0..measures)
        .map(|j| segments.iter().map(|s| s.measures[j].total).sum())
        .collect();
    let share = |rows: u64| {
        if all_rows == 0 {
            0.0
        } else {
            rows as f64 / all_rows as f64
        }
    };
    let mut out = Vec::with_capacity(segments.len() * measures.max(1));
    for s in segments {
        let row = |measure, mean, total, share_of_total, nulls| SummaryRow {
            group: s.group.clone(),
            segment: s.segment,
            rows: s.rows,
            share: share(s.rows),
            measure,
            mean,
            total,
            share_of_total,
            nulls,
        };
        if measures == 0 {
            out.push(row(None, None, None, None, 0));
            continue;
        }
        for (j, m) in s.measures.iter().enumerate() {
            let mean = (m.values > 0).then(|| m.total / m.values as f64);
            let share_of_total = (totals[j] != 0.0).then(|| m.total / totals[j]);
            out.push(row(
                Some(j),
                mean,
                Some(m.total),
                share_of_total,
                s.rows - m.values.min(s.rows),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(segment: Option<i32>, rows: u64, measures: &[(f64, u64)]) -> SegmentSums {
        SegmentSums {
            group: None,
            segment,
            rows,
            measures: measures
                .iter()
                .map(|&(total, values)| MeasureSum { total, values })
                .collect(),
        }
    }

    #[test]
    fn shares_of_rows_and_of_totals_by_hand() {
        // 14 of 100 customers bring 41 of 100 in revenue.
        let rows = summarise(
            &[
                seg(Some(0), 14, &[(41.0, 14)]),
                seg(Some(1), 86, &[(59.0, 80)]),
            ],
            1,
        );
        assert_eq!(rows.len(), 2);
        assert!((rows[0].share - 0.14).abs() < 1e-15);
        assert_eq!(rows[0].share_of_total, Some(0.41));
        assert_eq!(rows[0].mean, Some(41.0 / 14.0));
        assert_eq!(rows[0].nulls, 0);
        // 6 of segment 1's rows have no revenue: its mean is over the 80 that have.
        assert_eq!(rows[1].nulls, 6);
        assert_eq!(rows[1].mean, Some(59.0 / 80.0));
        assert_eq!(rows[1].measure, Some(0));
    }

    #[test]
    fn the_rows_without_a_segment_count_in_the_totals() {
        let rows = summarise(
            &[seg(Some(0), 3, &[(30.0, 3)]), seg(None, 1, &[(10.0, 1)])],
            1,
        );
        assert_eq!(rows[0].share, 0.75);
        assert_eq!(rows[0].share_of_total, Some(0.75));
        assert_eq!(rows[1].segment, None);
        assert_eq!(rows[1].share_of_total, Some(0.25));
    }

    #[test]
    fn a_measure_with_no_values_or_a_zero_total_has_no_mean_or_share() {
        let rows = summarise(
            &[
                seg(Some(0), 2, &[(0.0, 0), (5.0, 2)]),
                seg(Some(1), 2, &[(0.0, 0), (-5.0, 2)]),
            ],
            2,
        );
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].mean, None);
        assert_eq!(rows[0].total, Some(0.0));
        assert_eq!(rows[0].nulls, 2);
        // 5 and -5 sum to nothing: no share of a zero total.
        assert_eq!(rows[1].share_of_total, None);
        assert_eq!(rows[1].mean, Some(2.5));
    }

    #[test]
    fn without_measures_one_row_a_segment_and_an_empty_source_has_no_shares() {
        let rows = summarise(&[seg(Some(0), 5, &[]), seg(Some(1), 15, &[])], 0);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].share, 0.75);
        assert_eq!(rows[1].measure, None);
        assert!(summarise(&[], 2).is_empty());
    }
}
