//! Choosing k: k-means fitted for every k of a range on the same scaled matrix, each scored
//! (silhouette, Calinski-Harabasz, Davies-Bouldin), one recommended (`segment_choose_k`, and
//! `segment_fit` with k NULL through [`auto_k`]), and a note when the pick is at the edge of the
//! range.

use crate::analysis::metrics;
use crate::cluster::kmeans::{self, KChoice, KMeansMethod, KRange};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::limits::Limits;
use crate::model::options::{FitOptions, MethodParams};
use crate::prep::preprocessor::Prepared;

/// One row of `segment_choose_k`.
#[derive(Debug, Clone, PartialEq)]
pub struct KScore {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub silhouette_rows: u64,
    pub calinski_harabasz: Option<f64>,
    pub davies_bouldin: Option<f64>,
    pub recommended: bool,
}

/// Checks a k range against the rows that survived reading: the top of the range is k_max,
/// which the caller may not have passed (segment_choose_k's default is 10), so the message says
/// k_max and the hint the call that fits the rows.
fn check_k_scan_rows(k_min: usize, k_max: usize, rows: usize) -> CoreResult<()> {
    kmeans::check_k(1, rows)?; // an empty source gets the usual message
    if k_max <= rows {
        return Ok(());
    }
    let hint = if k_min <= rows {
        format!("Lower k_max (segment_choose_k's fourth argument, 10 by default) to at most {rows}: segment_choose_k(source, features, {k_min}, {rows}).")
    } else {
        format!("Scores of k need more rows than segments: fit on a source with more than {k_min} usable rows.")
    };
    Err(CoreError::new(
        ErrorKind::InsufficientData,
        format!(
            "k_max = {k_max} (the top of the k range) is larger than the number of usable rows ({rows})"
        ),
    )
    .with_hint(hint))
}

/// The range and parameters of a k-means scan (`segment_choose_k`, or `segment_fit` with k NULL).
fn scan_of(options: &FitOptions) -> CoreResult<(&KMeansMethod, KRange)> {
    match options.params() {
        MethodParams::Kmeans(p) => match p.k() {
            KChoice::Scan(range) => Ok((p, range)),
            KChoice::Given(k) => Err(CoreError::invalid_parameter(format!(
                "k = {k} is given: there is no k range to scan"
            ))),
        },
        other => Err(CoreError::invalid_parameter(format!(
            "a k scan fits k-means, not method {}",
            other.method().name()
        ))),
    }
}

/// The k that `segment_fit` uses when called with k NULL: `choose_k` over the options' range,
/// with k_max lowered to rows - 1 (a silhouette needs a segment with two rows). Returns the k
/// and the scores it was chosen from.
pub fn auto_k(
    prepared: &Prepared,
    options: &FitOptions,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<(usize, Vec<KScore>)> {
    let (method, range) = scan_of(options)?;
    let rows = prepared.matrix.n_rows();
    kmeans::check_k(1, rows)?; // an empty source gets the usual message
    let (k_min, k_max) = (range.k_min(), range.k_max().min(rows.saturating_sub(1)));
    if rows < 3 || k_max < k_min {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "{rows} usable rows are too few to choose k between {} and {}",
                range.k_min(),
                range.k_max()
            ),
        )
        .with_hint("Pass k explicitly, or lower the k_min option."));
    }
    let scores = scan(
        prepared,
        k_min,
        k_max,
        method,
        options.seed(),
        limits,
        check,
    )?;
    let k = scores.iter().find(|s| s.recommended).map_or(k_min, |s| s.k);
    Ok((k, scores))
}

/// Fits k-means for every k of the options' range (`FitOptions::for_choose_k`) on the same
/// scaled matrix and scores each. Recommendation rule: the k with the highest silhouette (the
/// smaller k on a tie); when no silhouette is defined, the k with the highest Calinski-Harabasz
/// index.
pub fn choose_k(
    prepared: &Prepared,
    options: &FitOptions,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<Vec<KScore>> {
    let (method, range) = scan_of(options)?;
    check_k_scan_rows(range.k_min(), range.k_max(), prepared.matrix.n_rows())?;
    scan(
        prepared,
        range.k_min(),
        range.k_max(),
        method,
        options.seed(),
        limits,
        check,
    )
}

fn scan(
    prepared: &Prepared,
    k_min: usize,
    k_max: usize,
    method: &KMeansMethod,
    seed: u64,
    limits: Limits,
    check: &mut dyn FnMut(),
) -> CoreResult<Vec<KScore>> {
    let matrix = &prepared.matrix;
    let mut scores = Vec::with_capacity(k_max - k_min + 1);
    for k in k_min..=k_max {
        let fit = kmeans::fit(matrix, &method.lloyd(k, seed, limits.threads), check)?;
        let sil = metrics::silhouette(
            matrix,
            &fit.labels,
            k,
            limits.silhouette_rows,
            seed,
            limits.threads,
            check,
        );
        scores.push(KScore {
            k,
            inertia: fit.inertia,
            silhouette: sil.map(|(s, _)| s),
            silhouette_rows: sil.map_or(0, |(_, m)| m as u64),
            calinski_harabasz: metrics::calinski_harabasz(matrix, &fit.labels, k),
            davies_bouldin: metrics::davies_bouldin(matrix, &fit.labels, k),
            recommended: false,
        });
    }
    let key = |s: &KScore| {
        s.silhouette
            .or(s.calinski_harabasz)
            .unwrap_or(f64::NEG_INFINITY)
    };
    let uses_silhouette = scores.iter().any(|s| s.silhouette.is_some());
    let best = (0..scores.len())
        .filter(|&i| !uses_silhouette || scores[i].silhouette.is_some())
        .fold(None, |best: Option<usize>, i| match best {
            Some(b) if key(&scores[b]) >= key(&scores[i]) => Some(b),
            _ => Some(i),
        });
    if let Some(b) = best {
        scores[b].recommended = true;
    }
    Ok(scores)
}

/// Why a recommended k needs a second look, if it does: it is the top of the scanned range (the
/// silhouette may still rise beyond it), or the bottom when the range did not start at 2; and
/// which of the other two criteria (Calinski-Harabasz's highest, Davies-Bouldin's lowest) point
/// elsewhere. None when the recommendation is inside the range, or there is none.
pub fn edge_note(scores: &[KScore]) -> Option<String> {
    let chosen = scores.iter().find(|s| s.recommended)?;
    let (first, last) = (scores.first()?.k, scores.last()?.k);
    let edge = if first == last {
        return None;
    } else if chosen.k == last {
        format!(
            "k = {} is the top of the range scanned ({first}..{last}): the silhouette may still rise above it; widen the range (k_max)",
            chosen.k
        )
    } else if chosen.k == first && first > 2 {
        format!(
            "k = {} is the bottom of the range scanned ({first}..{last}): a smaller k may score higher; widen the range (k_min)",
            chosen.k
        )
    } else {
        return None;
    };
    let best_by = |value: fn(&KScore) -> Option<f64>, higher: bool| {
        scores
            .iter()
            .filter_map(|s| Some((s.k, value(s)?)))
            .fold(None, |best: Option<(usize, f64)>, (k, v)| match best {
                Some((_, b)) if (higher && b >= v) || (!higher && b <= v) => best,
                _ => Some((k, v)),
            })
            .map(|(k, _)| k)
    };
    let others: Vec<String> = [
        ("Calinski-Harabasz", best_by(|s| s.calinski_harabasz, true)),
        ("Davies-Bouldin", best_by(|s| s.davies_bouldin, false)),
    ]
    .into_iter()
    .filter_map(|(name, k)| {
        k.filter(|&k| k != chosen.k)
            .map(|k| format!("{name} prefers k = {k}"))
    })
    .collect();
    Some(if others.is_empty() {
        edge
    } else {
        format!("{edge}; {}", others.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fit::tests::{built, grid, options, scan_options, LIMITS};
    use crate::parallel;
    use crate::prep::preprocessor::fit_matrix;
    use crate::prep::scaling::ScaleMethod;

    fn score(k: usize, silhouette: f64, ch: f64, db: f64, recommended: bool) -> KScore {
        KScore {
            k,
            inertia: 0.0,
            silhouette: Some(silhouette),
            silhouette_rows: 10,
            calinski_harabasz: Some(ch),
            davies_bouldin: Some(db),
            recommended,
        }
    }

    /// A recommendation at the top of the range says so and names the criteria that disagree;
    /// one inside the range, or at k = 2, says nothing.
    #[test]
    fn edge_of_the_range_is_said() {
        let top = vec![
            score(2, 0.3, 50.0, 0.9, false),
            score(3, 0.4, 60.0, 0.8, false),
            score(4, 0.5, 40.0, 0.85, true),
        ];
        let note = edge_note(&top).unwrap();
        assert!(
            note.starts_with("k = 4 is the top of the range scanned (2..4)"),
            "{note}"
        );
        assert!(note.contains("Calinski-Harabasz prefers k = 3"), "{note}");
        assert!(note.contains("Davies-Bouldin prefers k = 3"), "{note}");
        let inside = vec![
            score(2, 0.3, 50.0, 0.9, false),
            score(3, 0.5, 60.0, 0.8, true),
            score(4, 0.4, 40.0, 0.85, false),
        ];
        assert_eq!(edge_note(&inside), None);
        let at_two = vec![
            score(2, 0.6, 70.0, 0.5, true),
            score(3, 0.4, 60.0, 0.8, false),
        ];
        assert_eq!(edge_note(&at_two), None);
        let bottom = vec![
            score(3, 0.6, 70.0, 0.5, true),
            score(4, 0.4, 60.0, 0.8, false),
        ];
        assert!(edge_note(&bottom)
            .unwrap()
            .contains("bottom of the range scanned (3..4)"));
        assert_eq!(edge_note(&[score(5, 0.6, 1.0, 1.0, true)]), None);
    }

    /// choose_k checks inside each fit and each silhouette (quadratic in the rows: 10,000 rows
    /// are about 10^9 operations a k): four times the rows, well over four times the checks.
    /// A check that unwinds stops it.
    #[test]
    fn choose_k_checks_as_it_goes_and_stops() {
        let options = FitOptions::for_choose_k(r#"{"n_init": 1}"#, 2, 3).unwrap();
        let calls = |n: usize| {
            let prepared = grid(n);
            parallel::testing::checks(|check| {
                choose_k(&prepared, &options, LIMITS, check).unwrap();
            })
        };
        let (small, large) = (calls(2_500), calls(10_000));
        // The silhouettes of 10,000 rows alone: 2 x 10,000² x 4 / CHECK_WORK, about 190.
        assert!(large >= 190 && large > 4 * small, "{small} {large}");
        let prepared = grid(10_000);
        parallel::testing::stops_at(100, |check| {
            let _ = choose_k(&prepared, &options, LIMITS, check);
        });
    }

    /// Labelling every row through the stored rule checks between small items of rows: each
    /// row of DBSCAN or Ward measures the points near it. Fits of 500 sampled rows on 10,000
    /// and on 50,000 rows: at least one check an item of the 50,000, and a check that unwinds
    /// stops the fit.
    #[test]
    fn choose_k_scores_every_k_and_recommends_the_true_one() {
        // Three tight groups: k = 3 has the best silhouette.
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..10 {
                rows.push([cx + (i % 3) as f64 * 0.1, cy + (i / 3) as f64 * 0.1]);
            }
        }
        let scores = choose_k(
            &fit_matrix(built(&rows), ScaleMethod::Zscore),
            &scan_options(2, 6),
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(
            scores.iter().map(|s| s.k).collect::<Vec<_>>(),
            vec![2, 3, 4, 5, 6]
        );
        assert_eq!(scores.iter().filter(|s| s.recommended).count(), 1);
        assert!(scores[1].recommended, "{scores:?}");
        assert!(scores
            .windows(2)
            .all(|w| w[1].inertia <= w[0].inertia * 1.0001));
        assert!(scores
            .iter()
            .all(|s| s.calinski_harabasz.is_some() && s.davies_bouldin.is_some()));
        assert_eq!(scores[0].silhouette_rows, 30);
    }

    #[test]
    fn a_k_range_above_the_rows_names_k_max() {
        assert!(check_k_scan_rows(2, 3, 3).is_ok());
        // segment_choose_k on 3 rows with its default range 2..10: no k was passed.
        let e = check_k_scan_rows(2, 10, 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
        assert_eq!(
            e.message,
            "k_max = 10 (the top of the k range) is larger than the number of usable rows (3)"
        );
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .ends_with("segment_choose_k(source, features, 2, 3)."),
            "{:?}",
            e.hint
        );
        let e = check_k_scan_rows(5, 10, 3).unwrap_err();
        assert!(e
            .hint
            .as_deref()
            .unwrap()
            .contains("more than 5 usable rows"));
        let e = check_k_scan_rows(2, 10, 0).unwrap_err();
        assert!(e.message.contains("no usable rows"), "{}", e.message);
    }

    #[test]
    fn auto_k_picks_the_recommended_k_and_caps_k_max_at_the_rows() {
        let mut rows = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)] {
            for i in 0..4 {
                rows.push([cx + (i % 2) as f64 * 0.1, cy + (i / 2) as f64 * 0.1]);
            }
        }
        let options = options("{}", None);
        let (k, scores) = auto_k(
            &fit_matrix(built(&rows), options.scale()),
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(k, 3);
        // 12 rows: k_max 10 stays; with 5 rows it would be lowered to 4.
        assert_eq!(scores.last().unwrap().k, 10);
        let few = &rows[..5];
        let (_, scores) = auto_k(
            &fit_matrix(built(few), options.scale()),
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap();
        assert_eq!(scores.last().unwrap().k, 4);
        let e = auto_k(
            &fit_matrix(built(&rows[..2]), options.scale()),
            &options,
            LIMITS,
            &mut || {},
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
    }

    #[test]
    fn choose_k_range_is_checked() {
        // The range is checked with the options, before any row is read.
        for (lo, hi) in [(1, 3), (3, 2), (2, 60)] {
            let e = FitOptions::for_choose_k("{}", lo, hi).unwrap_err();
            assert_eq!(
                e.kind,
                crate::error::ErrorKind::InvalidParameter,
                "{lo}..{hi}"
            );
        }
        // Then against the rows.
        let rows = [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]];
        let e = choose_k(
            &fit_matrix(built(&rows), ScaleMethod::Zscore),
            &scan_options(2, 4),
            LIMITS,
            &mut || {},
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::InsufficientData);
        // A scan needs k-means options with a range.
        let given = options("{}", Some(3));
        let e = choose_k(
            &fit_matrix(built(&rows), ScaleMethod::Zscore),
            &given,
            LIMITS,
            &mut || {},
        );
        assert!(e.is_err());
    }
}
