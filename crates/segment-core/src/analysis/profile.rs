//! What a segment looks like in the analyst's units: sizes, means, medians, how far each segment
//! sits from the whole in standard deviations, which features separate the segments (ANOVA F),
//! and a readable automatic name built from that.

use crate::cluster::dbscan::NOISE;
use crate::parallel::Pace;
use crate::prep::matrix::FeatureMatrix;
use crate::prep::scaling::undo_log;
use crate::prep::scaling::Scaler;
use serde::{Deserialize, Serialize};

/// Measured on the training rows at fit time, in original units (scaling undone, log features
/// through exp(x) - 1), so a log feature's mean is the mean of its raw values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub sizes: Vec<u64>,
    /// means[segment][feature]
    pub means: Vec<Vec<f64>>,
    /// medians[segment][feature] (the mean of the two middle values for an even count).
    pub medians: Vec<Vec<f64>>,
    pub overall_mean: Vec<f64>,
    /// Population standard deviation of each feature over the training rows.
    pub overall_sd: Vec<f64>,
    /// One-way ANOVA F statistic of each feature across segments (scikit-learn's `f_classif`):
    /// between-segment over within-segment variance. Larger separates the segments more. None
    /// when undefined (one segment, as many segments as rows, or no spread within segments).
    pub anova_f: Vec<Option<f64>>,
}

impl Profile {
    /// A profile with no segments, filled in once the segments are known.
    pub fn empty() -> Profile {
        Profile {
            sizes: vec![],
            means: vec![],
            medians: vec![],
            overall_mean: vec![],
            overall_sd: vec![],
            anova_f: vec![],
        }
    }

    /// (segment mean - overall mean) / overall sd; None for a constant feature.
    pub fn difference_sd(&self, segment: usize, feature: usize) -> Option<f64> {
        let sd = self.overall_sd[feature];
        (sd > 0.0).then(|| (self.means[segment][feature] - self.overall_mean[feature]) / sd)
    }

    /// Profiles the scaled training matrix labelled with segments `0..k` (or `NOISE`).
    pub fn measure(
        matrix: &FeatureMatrix,
        labels: &[u32],
        k: usize,
        scaler: &Scaler,
        log_mask: &[bool],
    ) -> Profile {
        Profile::measure_checked(matrix, labels, k, scaler, log_mask, &mut || {})
    }

    /// `measure`, calling `check` every few milliseconds of work (a profile of millions of rows
    /// takes a second).
    pub fn measure_checked(
        matrix: &FeatureMatrix,
        labels: &[u32],
        k: usize,
        scaler: &Scaler,
        log_mask: &[bool],
        check: &mut dyn FnMut(),
    ) -> Profile {
        let to_raw = |row: &[f64], raw: &mut [f64]| {
            raw.copy_from_slice(row);
            scaler.inverse_row(raw);
            undo_log(log_mask, raw);
        };
        let d = matrix.n_cols();
        let mut raw = vec![0.0; d];
        let mut acc = ProfileAccumulator::new(k, d);
        let mut pace = Pace::new(check);
        for (row, &l) in matrix.rows().zip(labels) {
            pace.add(8 * d);
            to_raw(row, &mut raw);
            acc.push(&raw, l);
        }
        let medians = segment_medians(
            matrix,
            labels,
            k,
            &|j, v| raw_value(scaler, log_mask, j, v),
            check,
        );
        acc.finish(medians)
    }
}

/// Sizes, means and spreads of rows streamed one at a time (Welford's updates: one pass,
/// numerically stable), per segment and overall, in original units.
pub struct ProfileAccumulator {
    k: usize,
    d: usize,
    sizes: Vec<u64>,
    /// Per segment and feature (`s * d + j`): running mean and sum of squared deviations.
    means: Vec<f64>,
    m2: Vec<f64>,
    n: u64,
    overall_mean: Vec<f64>,
    overall_m2: Vec<f64>,
}

impl ProfileAccumulator {
    pub fn new(k: usize, d: usize) -> ProfileAccumulator {
        ProfileAccumulator {
            k,
            d,
            sizes: vec![0; k],
            means: vec![0.0; k * d],
            m2: vec![0.0; k * d],
            n: 0,
            overall_mean: vec![0.0; d],
            overall_m2: vec![0.0; d],
        }
    }

    /// One row in original units with its segment (or `NOISE`: counted overall only).
    #[inline]
    pub fn push(&mut self, raw: &[f64], label: u32) {
        self.n += 1;
        let n = self.n as f64;
        for (j, &x) in raw.iter().enumerate() {
            let delta = x - self.overall_mean[j];
            self.overall_mean[j] += delta / n;
            self.overall_m2[j] += delta * (x - self.overall_mean[j]);
        }
        if label == NOISE {
            return;
        }
        let s = label as usize;
        self.sizes[s] += 1;
        let ns = self.sizes[s] as f64;
        let (means, m2) = (
            &mut self.means[s * self.d..(s + 1) * self.d],
            &mut self.m2[s * self.d..(s + 1) * self.d],
        );
        for (j, &x) in raw.iter().enumerate() {
            let delta = x - means[j];
            means[j] += delta / ns;
            m2[j] += delta * (x - means[j]);
        }
    }

    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// The profile, with medians measured elsewhere (`medians[segment][feature]`).
    pub fn finish(self, medians: Vec<Vec<f64>>) -> Profile {
        let (k, d) = (self.k, self.d);
        let means: Vec<Vec<f64>> = (0..k)
            .map(|s| self.means[s * d..(s + 1) * d].to_vec())
            .collect();
        let overall_sd = self
            .overall_m2
            .iter()
            .map(|m2| (m2 / self.n.max(1) as f64).sqrt())
            .collect();
        let clustered: u64 = self.sizes.iter().sum();
        let occupied = self.sizes.iter().filter(|&&s| s > 0).count();
        let mut anova_f = vec![None; d];
        if occupied >= 2 && clustered > occupied as u64 {
            for (j, f) in anova_f.iter_mut().enumerate() {
                let grand = (0..k)
                    .map(|s| means[s][j] * self.sizes[s] as f64)
                    .sum::<f64>()
                    / clustered as f64;
                let between: f64 = (0..k)
                    .map(|s| self.sizes[s] as f64 * (means[s][j] - grand).powi(2))
                    .sum();
                let within: f64 = (0..k).map(|s| self.m2[s * d + j]).sum();
                let df_between = (occupied - 1) as f64;
                let df_within = (clustered - occupied as u64) as f64;
                if within > 0.0 {
                    *f = Some((between / df_between) / (within / df_within));
                }
            }
        }
        Profile {
            sizes: self.sizes,
            means,
            medians,
            overall_mean: self.overall_mean,
            overall_sd,
            anova_f,
        }
    }
}

/// Feature `j`'s value `v` of the scaled matrix in original units (scaling undone, then
/// exp(x) - 1 for a log feature): `Profile::measure`'s row transform for one value.
#[inline]
pub fn raw_value(scaler: &Scaler, log_mask: &[bool], j: usize, v: f64) -> f64 {
    let v = scaler.inverse_value(j, v);
    if log_mask.get(j).copied().unwrap_or(false) {
        v.exp_m1()
    } else {
        v
    }
}

/// Per segment and feature, the median raw value (`to_raw(j, v)` turns feature j's scaled value
/// into original units). One column at a time is gathered, grouped by segment, into one buffer of
/// n values (8 bytes a row on top of the matrix). Only that column's value is transformed: a whole
/// row per column made this O(n d²) and a fifth of a 1M x 8 fit. `check` every few
/// milliseconds of work.
pub fn segment_medians(
    matrix: &FeatureMatrix,
    labels: &[u32],
    k: usize,
    to_raw: &dyn Fn(usize, f64) -> f64,
    check: &mut dyn FnMut(),
) -> Vec<Vec<f64>> {
    let d = matrix.n_cols();
    let mut sizes = vec![0usize; k];
    for &l in labels.iter().filter(|&&l| l != NOISE) {
        sizes[l as usize] += 1;
    }
    let mut start = vec![0usize; k + 1];
    for s in 0..k {
        start[s + 1] = start[s] + sizes[s];
    }
    let mut buffer = vec![0.0; start[k]];
    let mut medians = vec![vec![f64::NAN; d]; k];
    let mut pace = Pace::new(check);
    for j in 0..d {
        let mut next = start.clone();
        for (row, &l) in matrix.rows().zip(labels) {
            // A value moved, then a share of a selection (linear, a few steps a value).
            pace.add(16);
            if l == NOISE {
                continue;
            }
            buffer[next[l as usize]] = to_raw(j, row[j]);
            next[l as usize] += 1;
        }
        for s in 0..k {
            medians[s][j] = median(&mut buffer[start[s]..start[s + 1]]);
        }
    }
    medians
}

/// The median of a slice (reordered in place); NaN when empty.
pub fn median(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = values[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("n >= 2");
    (lower + upper) / 2.0
}

/// A segment's name from its most distinguishing features: the (up to) two features whose
/// segment mean is furthest from the overall mean, at least half a standard deviation away,
/// phrased "high monetary · recent". Words for common customer features read naturally (low
/// recency is "recent", high frequency "frequent"); anything else is "high x" / "low x", with
/// "very" from 1.5 standard deviations. A segment close to the average on every feature is
/// "typical". When two segments would get the same name, a third feature is added, then the
/// segment number.
pub fn automatic_labels(profile: &Profile, features: &[String]) -> Vec<String> {
    let k = profile.sizes.len();
    let ranked: Vec<Vec<(usize, f64)>> = (0..k)
        .map(|s| {
            let mut r: Vec<(usize, f64)> = (0..features.len())
                .filter_map(|j| profile.difference_sd(s, j).map(|z| (j, z)))
                .filter(|(_, z)| z.abs() >= 0.5)
                // A one-hot column says something when its value is common in the segment;
                // "rarely x" only restates that another value of the same feature is common.
                .filter(|&(j, z)| z > 0.0 || !features[j].contains('='))
                .collect();
            r.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            r
        })
        .collect();
    let name = |s: usize, words: usize| -> String {
        let parts: Vec<String> = ranked[s]
            .iter()
            .take(words)
            .map(|&(j, z)| describe(&features[j], z))
            .collect();
        if parts.is_empty() {
            "typical".to_string()
        } else {
            parts.join(" · ")
        }
    };
    let mut labels: Vec<String> = (0..k).map(|s| name(s, 2)).collect();
    let duplicated =
        |labels: &[String], s: usize| labels.iter().filter(|l| **l == labels[s]).count() > 1;
    let longer: Vec<String> = (0..k)
        .map(|s| {
            if duplicated(&labels, s) {
                name(s, 3)
            } else {
                labels[s].clone()
            }
        })
        .collect();
    labels = longer;
    let numbered: Vec<String> = (0..k)
        .map(|s| {
            if duplicated(&labels, s) {
                format!("{} (segment {s})", labels[s])
            } else {
                labels[s].clone()
            }
        })
        .collect();
    numbered
}

/// One feature's deviation in words.
fn describe(feature: &str, z: f64) -> String {
    // A one-hot column "channel=retail": its mean is the share of the segment with that value.
    if let Some((name, value)) = feature.split_once('=') {
        let plain = name.replace('_', " ");
        return if z > 0.0 {
            format!("{plain} {value}")
        } else {
            format!("rarely {plain} {value}")
        };
    }
    let lower = feature.to_lowercase();
    let plain = lower.replace('_', " ");
    let high = z > 0.0;
    let very = if z.abs() >= 1.5 { "very " } else { "" };
    let word = if lower.contains("recency") || lower.contains("days_since") {
        // Recency counts days since the last purchase: low is good news.
        if high {
            "lapsed"
        } else {
            "recent"
        }
    } else if lower.contains("frequency") {
        if high {
            "frequent"
        } else {
            "infrequent"
        }
    } else {
        return format!("{very}{} {plain}", if high { "high" } else { "low" });
    };
    format!("{very}{word}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(d: usize) -> Scaler {
        Scaler::identity(d)
    }

    /// Profiling checks every few milliseconds of work: ten times the rows, about ten times
    /// the checks (a profile of millions of rows takes a second).
    #[test]
    fn measure_checks_as_it_goes() {
        let calls = |n: usize| {
            let x = FeatureMatrix::from_rows((0..2 * n).map(|i| (i % 97) as f64).collect(), 2);
            let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
            crate::parallel::testing::checks(|check| {
                Profile::measure_checked(&x, &labels, 3, &identity(2), &[false, false], check);
            })
        };
        let (small, large) = (calls(100_000), calls(1_000_000));
        // 10^6 rows of 2 features: 16 units a row for the means, 16 a value for the medians.
        assert!(small <= 2 && large >= 10, "{small} {large}");
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn anova_and_medians_by_hand() {
        // Feature 0: segment 0 = {1, 2, 3}, segment 1 = {7, 9}.
        // Grand mean 4.4; between SS = 3 (2 - 4.4)^2 + 2 (8 - 4.4)^2 = 17.28 + 25.92 = 43.2
        // within SS = 2 + 2 = 4; F = (43.2 / 1) / (4 / 3) = 32.4.
        // Feature 1 is constant within segments: F undefined.
        let x = FeatureMatrix::from_rows(vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 7.0, 5.0, 9.0, 5.0], 2);
        let p = Profile::measure(&x, &[0, 0, 0, 1, 1], 2, &identity(2), &[false, false]);
        assert_eq!(p.sizes, vec![3, 2]);
        assert_eq!(p.medians, vec![vec![2.0, 0.0], vec![8.0, 5.0]]);
        assert!(
            (p.anova_f[0].unwrap() - 32.4).abs() < 1e-9,
            "{:?}",
            p.anova_f
        );
        assert_eq!(p.anova_f[1], None);
        // Noise rows count overall but in no segment.
        let p = Profile::measure(&x, &[0, 0, 0, 1, NOISE], 2, &identity(2), &[false, false]);
        assert_eq!(p.sizes, vec![3, 1]);
        assert!((p.overall_mean[0] - 4.4).abs() < 1e-12);
        assert_eq!(p.medians[1], vec![7.0, 5.0]);
    }

    #[test]
    fn labels_read_as_words_and_stay_distinct() {
        let features: Vec<String> = ["recency_days", "frequency", "monetary"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let p = Profile {
            sizes: vec![10, 10, 10, 10],
            means: vec![
                vec![10.0, 20.0, 900.0], // recent, very frequent, very high spend
                vec![300.0, 1.0, 50.0],  // lapsed, infrequent
                vec![100.0, 5.0, 300.0], // average
                vec![300.0, 1.0, 40.0],  // like segment 1
            ],
            medians: vec![vec![0.0; 3]; 4],
            overall_mean: vec![100.0, 5.0, 300.0],
            overall_sd: vec![100.0, 5.0, 300.0],
            anova_f: vec![None; 3],
        };
        let labels = automatic_labels(&p, &features);
        assert_eq!(labels[0], "very frequent · very high monetary");
        assert_eq!(labels[2], "typical");
        // Segments 1 and 3 share their two strongest words; a third does not separate them
        // (both low monetary), so the segment number does.
        assert_eq!(
            labels[1],
            "very lapsed · low monetary · infrequent (segment 1)"
        );
        assert_eq!(
            labels[3],
            "very lapsed · low monetary · infrequent (segment 3)"
        );
    }
}
