//! Drift: how the segments of a model's training rows compare with the segments of the rows now.
//! The population stability index (PSI) of the segment shares, per segment and in total, and
//! each segment's feature means moved, in training standard deviations.
//!
//! PSI = Σ (now − fit) × ln(now / fit) over the segments' shares. The usual reading: below 0.1
//! stable, 0.1 to 0.25 worth watching, above 0.25 shifted enough to refit. A share of 0 is
//! floored at `SHARE_FLOOR` inside the logarithm (a segment that lost every row would otherwise
//! give an infinite index).

use crate::analysis::profile::Profile;

pub const WATCH: f64 = 0.1;
pub const REFIT: f64 = 0.25;
pub const SHARE_FLOOR: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDrift {
    pub share_fit: f64,
    pub share_now: f64,
    /// This segment's term of the PSI.
    pub psi: f64,
    /// Per matrix column: (mean now − mean at fit) / training standard deviation; None when the
    /// segment has no rows now, or the feature did not vary in training and moved.
    pub mean_shift: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub segments: Vec<SegmentDrift>,
    pub psi_total: f64,
}

/// "stable", "watch" or "refit" for a total PSI.
pub fn advice(psi_total: f64) -> &'static str {
    if psi_total < WATCH {
        "stable"
    } else if psi_total < REFIT {
        "watch"
    } else {
        "refit"
    }
}

/// One PSI term for a segment's share at fit time and now.
pub fn psi_term(share_fit: f64, share_now: f64) -> f64 {
    (share_now - share_fit) * (share_now.max(SHARE_FLOOR) / share_fit.max(SHARE_FLOOR)).ln()
}

fn shares(sizes: &[u64]) -> Vec<f64> {
    let total: u64 = sizes.iter().sum();
    sizes
        .iter()
        .map(|&s| {
            if total == 0 {
                0.0
            } else {
                s as f64 / total as f64
            }
        })
        .collect()
}

/// Compares the training profile with the profile of the rows now (same segments and columns).
pub fn drift(fit: &Profile, now: &Profile) -> Drift {
    let (before, after) = (shares(&fit.sizes), shares(&now.sizes));
    let segments: Vec<SegmentDrift> = (0..fit.sizes.len())
        .map(|s| SegmentDrift {
            share_fit: before[s],
            share_now: after[s],
            psi: psi_term(before[s], after[s]),
            mean_shift: (0..fit.overall_sd.len())
                .map(|j| {
                    if now.sizes[s] == 0 || fit.sizes[s] == 0 {
                        return None;
                    }
                    let moved = now.means[s][j] - fit.means[s][j];
                    match fit.overall_sd[j] {
                        sd if sd > 0.0 => Some(moved / sd),
                        _ if moved == 0.0 => Some(0.0),
                        _ => None,
                    }
                })
                .collect(),
        })
        .collect();
    let psi_total = segments.iter().map(|s| s.psi).sum();
    Drift {
        segments,
        psi_total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(sizes: Vec<u64>, means: Vec<Vec<f64>>, sd: Vec<f64>) -> Profile {
        let d = sd.len();
        Profile {
            medians: means.clone(),
            sizes,
            means,
            overall_mean: vec![0.0; d],
            overall_sd: sd,
            anova_f: vec![None; d],
            log_scale: None,
        }
    }

    #[test]
    fn the_same_rows_give_zero() {
        let p = profile(vec![30, 70], vec![vec![1.0], vec![5.0]], vec![2.0]);
        let d = drift(&p, &p);
        assert_eq!(d.psi_total, 0.0);
        assert_eq!(advice(d.psi_total), "stable");
        assert!(d.segments.iter().all(|s| s.mean_shift == vec![Some(0.0)]));
    }

    #[test]
    fn psi_by_hand() {
        // Shares 0.3 / 0.7 at fit, 0.5 / 0.5 now:
        // (0.5 - 0.3) ln(0.5 / 0.3) + (0.5 - 0.7) ln(0.5 / 0.7) = 0.1021651 + 0.0672944.
        let fit = profile(vec![30, 70], vec![vec![1.0], vec![5.0]], vec![2.0]);
        let now = profile(vec![50, 50], vec![vec![2.0], vec![5.0]], vec![9.0]);
        let d = drift(&fit, &now);
        let expected = 0.2 * (0.5f64 / 0.3).ln() + -0.2 * (0.5f64 / 0.7).ln();
        assert!((d.psi_total - expected).abs() < 1e-15);
        assert!((d.psi_total - 0.169_459_5).abs() < 1e-6);
        assert_eq!(advice(d.psi_total), "watch");
        // Segment 0's mean moved by 1, the training sd is 2 (not today's 9).
        assert_eq!(d.segments[0].mean_shift, vec![Some(0.5)]);
    }

    #[test]
    fn an_emptied_segment_is_finite_and_calls_for_a_refit() {
        let fit = profile(vec![50, 50], vec![vec![1.0], vec![5.0]], vec![1.0]);
        let now = profile(vec![100, 0], vec![vec![1.0], vec![0.0]], vec![1.0]);
        let d = drift(&fit, &now);
        assert!(d.psi_total.is_finite() && d.psi_total > REFIT);
        assert_eq!(advice(d.psi_total), "refit");
        assert_eq!(d.segments[1].mean_shift, vec![None]);
    }
}
