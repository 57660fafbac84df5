//! A warm start (`{"warm_start": true}`, BigQuery's `WARM_START`): a refit that starts from the
//! current version's centres (k-means), prototypes (k-prototypes) or mixture (gmm) instead of
//! fresh seeds. The refit scales its rows anew, so the current version's parameters are mapped
//! from its scaled units into the refit's: back to original (log) units through its scaler,
//! then through the refit's. Each segment then starts where its id was, so ids stay put by
//! construction and a slightly changed table needs few iterations.

use crate::cluster::gmm::Mixture;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{MethodRule, SegmentModel};
use crate::prep::encoding::Columns;
use crate::prep::scaling::Scaler;

/// The current version's parameters in the refit's scaled units.
#[derive(Debug, Clone, PartialEq)]
pub struct WarmStart {
    /// One centre per segment, on the refit's matrix columns.
    pub centres: Vec<Vec<f64>>,
    /// gmm: the weights and the covariances mapped with the centres.
    pub mixture: Option<Mixture>,
}

/// Maps `previous` into the units of a refit on `columns` whose log mask is `log_mask`, scaled
/// by `scaler`. Refuses what cannot start the refit: another method, other matrix columns
/// (features, or a category's values), another log option, another k.
pub fn warm_start(
    previous: &SegmentModel,
    method: &str,
    k: usize,
    columns: &Columns,
    log_mask: &[bool],
    scaler: &Scaler,
) -> CoreResult<WarmStart> {
    let refuse = |what: String| {
        CoreError::new(
            ErrorKind::InvalidParameter,
            format!("option warm_start needs a current version like this refit: {what}"),
        )
        .with_hint("Refit without warm_start (the ids are still matched to the current version's by centre).")
    };
    let previous_method = previous.rule.method().name();
    if previous_method != method {
        return Err(refuse(format!(
            "the current version is method {previous_method}, the refit {method}"
        )));
    }
    if previous.k() != k {
        return Err(refuse(format!(
            "the current version has {} segments, the refit asks for {k}",
            previous.k()
        )));
    }
    let old = previous.columns();
    if old.names != columns.names {
        let differ = columns
            .names
            .iter()
            .find(|n| !old.names.contains(n))
            .or_else(|| old.names.iter().find(|n| !columns.names.contains(n)))
            .cloned()
            .unwrap_or_default();
        return Err(refuse(format!(
            "its columns differ (\"{differ}\" is in one and not the other: a new feature, or a new value of a text feature)"
        )));
    }
    if previous.log_mask() != log_mask {
        return Err(refuse("the log option names other features".to_string()));
    }
    // In log units already (same mask): only the scalers differ, an affine map per column
    // z' = (z s + o - o') / s'.
    let centres = previous
        .centres
        .iter()
        .map(|c| {
            let mut c = c.clone();
            previous.scaler.inverse_row(&mut c);
            scaler.transform_row(&mut c);
            c
        })
        .collect();
    let mixture = match &previous.rule {
        MethodRule::Gmm { mixture } => {
            // Covariances scale by (s / s') on each side.
            let ratio: Vec<f64> = previous
                .scaler
                .scale
                .iter()
                .zip(&scaler.scale)
                .map(|(s, t)| s / t)
                .collect();
            let d = ratio.len();
            let covariances = mixture
                .covariances
                .iter()
                .map(|cov| {
                    (0..d * d)
                        .map(|at| cov[at] * ratio[at / d] * ratio[at % d])
                        .collect()
                })
                .collect();
            Some(Mixture {
                weights: mixture.weights.clone(),
                covariances,
            })
        }
        _ => None,
    };
    Ok(WarmStart { centres, mixture })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    #[test]
    fn centres_map_through_both_scalers() {
        let previous = tiny_model();
        let mut scaler = previous.scaler.clone();
        scaler.offset.iter_mut().for_each(|o| *o += 1.0);
        scaler.scale.iter_mut().for_each(|s| *s *= 2.0);
        let columns = previous.columns();
        let start = warm_start(
            &previous,
            previous.rule.method().name(),
            previous.k(),
            &columns,
            &previous.log_mask(),
            &scaler,
        )
        .unwrap();
        for (new, old) in start.centres.iter().zip(previous.centres_original()) {
            let mut back = new.clone();
            scaler.inverse_row(&mut back);
            for (a, b) in back.iter().zip(&old) {
                assert!((a - b).abs() < 1e-9, "{back:?} {old:?}");
            }
        }
    }

    #[test]
    fn refuses_another_k_method_or_columns() {
        let previous = tiny_model();
        let columns = previous.columns();
        let mask = previous.log_mask();
        let s = &previous.scaler;
        let method = previous.rule.method().name();
        let e = warm_start(&previous, method, previous.k() + 1, &columns, &mask, s).unwrap_err();
        assert!(e.message.contains("segments"), "{}", e.message);
        let e = warm_start(&previous, "gmm", previous.k(), &columns, &mask, s).unwrap_err();
        assert!(e.message.contains("method"), "{}", e.message);
        let mut other = columns.clone();
        other.names[0] = "other".into();
        let e = warm_start(&previous, method, previous.k(), &other, &mask, s).unwrap_err();
        assert!(e.message.contains("\"other\""), "{}", e.message);
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
    }
}

#[cfg(test)]
mod refit_tests {
    use crate::model::fit::tests::{built, options, LIMITS};
    use crate::model::fit::{fit_model, fit_model_from};
    use crate::prep::preprocessor::fit_matrix;
    use crate::prep::scaling::ScaleMethod;

    /// Four blobs of `n` rows each; `shift` moves every row (a month of slightly different
    /// customers).
    fn blobs(n: usize, shift: f64) -> Vec<[f64; 2]> {
        let centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]];
        (0..4 * n)
            .map(|i| {
                let c = centres[i % 4];
                let a = ((i * 7919) % 1000) as f64 / 1000.0 - 0.5;
                let b = ((i * 104_729) % 997) as f64 / 997.0 - 0.5;
                [c[0] + 3.0 * a + shift, c[1] + 3.0 * b - shift]
            })
            .collect()
    }

    fn names() -> Vec<String> {
        vec!["x".into(), "y".into()]
    }

    #[test]
    fn warm_refit_starts_at_the_current_centres() {
        for method in ["kmeans", "gmm"] {
            let cold = options(&format!(r#"{{"method": "{method}"}}"#), Some(4));
            let warm = options(
                &format!(r#"{{"method": "{method}", "warm_start": true}}"#),
                Some(4),
            );
            let prepared = || fit_matrix(built(&blobs(500, 0.0)), ScaleMethod::Zscore);
            let (current, _, _) =
                fit_model(prepared(), names(), vec![], &cold, LIMITS, &mut || {}).unwrap();
            // The same rows again: the current centres are a fixed point.
            let (again, report, _) = fit_model_from(
                prepared(),
                names(),
                vec![],
                &warm,
                Some(&current),
                LIMITS,
                &mut || {},
            )
            .unwrap();
            for (a, b) in again.centres.iter().zip(&current.centres) {
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() < 1e-3, "{method}: {a:?} {b:?}");
                }
            }
            if method == "kmeans" {
                assert!(report.iterations.unwrap() <= 2, "{report:?}");
            }
            // Moved rows: a few iterations, and the same answer as a cold refit.
            let moved = || fit_matrix(built(&blobs(500, 0.7)), ScaleMethod::Zscore);
            let (w, wr, _) = fit_model_from(
                moved(),
                names(),
                vec![],
                &warm,
                Some(&current),
                LIMITS,
                &mut || {},
            )
            .unwrap();
            let (c, cr, _) =
                fit_model(moved(), names(), vec![], &cold, LIMITS, &mut || {}).unwrap();
            assert!(
                (wr.inertia - cr.inertia).abs() <= 1e-6 * cr.inertia,
                "{method}: {wr:?} {cr:?}"
            );
            let mut wc = w.centres_original();
            let mut cc = c.centres_original();
            wc.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
            cc.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
            for (a, b) in wc.iter().zip(&cc) {
                for (x, y) in a.iter().zip(b) {
                    assert!((x - y).abs() < 1e-3, "{method}: {a:?} {b:?}");
                }
            }
        }
    }

    #[test]
    fn warm_start_without_a_current_version_or_with_a_scan_is_refused() {
        let warm = options(r#"{"warm_start": true}"#, Some(4));
        let prepared = fit_matrix(built(&blobs(50, 0.0)), ScaleMethod::Zscore);
        let e =
            fit_model_from(prepared, names(), vec![], &warm, None, LIMITS, &mut || {}).unwrap_err();
        assert_eq!(
            e.message,
            "option warm_start needs a current version to start from"
        );
        let e =
            crate::model::options::FitOptions::for_fit(r#"{"warm_start": true, "k_min": 3}"#, None)
                .unwrap_err();
        assert!(e.message.contains("k_min"), "{}", e.message);
        let e = crate::model::options::FitOptions::for_fit(
            r#"{"warm_start": true, "method": "dbscan"}"#,
            None,
        )
        .unwrap_err();
        assert!(e.message.contains("warm_start"), "{}", e.message);
    }
}
