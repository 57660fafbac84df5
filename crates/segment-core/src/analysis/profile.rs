//! What a segment looks like in the analyst's units: sizes, means, medians, how far each segment
//! sits from the whole in standard deviations, which features separate the segments (ANOVA F),
//! and a readable automatic name built from that.
//!
//! Means and medians are in original units. The comparisons (`difference_sd`, ANOVA F, the
//! labels and the profile plot) are made on the scale the model clusters on: for a feature in
//! the `log` option that is log(1 + x), whose means and spreads the profile keeps beside the raw
//! ones (`LogScale`); a segment of 4 purchases against 1.5 is far apart in log units although
//! both sit within half a raw standard deviation of a long-tailed mean.

use crate::cluster::dbscan::NOISE;
use crate::parallel::Pace;
use crate::prep::matrix::FeatureMatrix;
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
    /// One-way ANOVA F statistic of each feature across segments (scikit-learn's `f_classif`),
    /// on the scale the model clusters on (log(1 + x) for a log feature): between-segment over
    /// within-segment variance. Larger separates the segments more; infinite when the segments
    /// differ and nothing varies within them (a perfect separator). None when undefined (one
    /// segment, as many segments as rows, or no spread at all). Stored as the string
    /// "Infinity" when infinite (JSON has no such number).
    #[serde(with = "f_values")]
    pub anova_f: Vec<Option<f64>>,
    /// The features the model clusters as log(1 + x), measured in those units. None when there
    /// are none, and in models fitted before 0.2.0 (their comparisons are on raw values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_scale: Option<LogScale>,
}

/// Means and spreads of the log features in log(1 + x) units: what `difference_sd`, the labels
/// and the profile plot compare for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogScale {
    /// The matrix columns in log units, ascending.
    pub columns: Vec<usize>,
    /// means[segment][i]: the segment's mean of log(1 + x) of column `columns[i]`.
    pub means: Vec<Vec<f64>>,
    pub overall_mean: Vec<f64>,
    /// Population standard deviation of log(1 + x) over the training rows.
    pub overall_sd: Vec<f64>,
}

/// A feature's name as the comparisons read it when it is in log units.
pub fn log_name(feature: &str) -> String {
    format!("log(1 + {feature})")
}

/// `anova_f` in JSON: a number, null (undefined), or "Infinity".
mod f_values {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum F {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(values: &[Option<f64>], s: S) -> Result<S::Ok, S::Error> {
        let out: Vec<Option<F>> = values
            .iter()
            .map(|v| {
                v.map(|f| {
                    if f == f64::INFINITY {
                        F::Text("Infinity".into())
                    } else {
                        F::Number(f)
                    }
                })
            })
            .collect();
        out.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Option<f64>>, D::Error> {
        let read: Vec<Option<F>> = Vec::deserialize(d)?;
        read.into_iter()
            .map(|v| match v {
                None => Ok(None),
                Some(F::Number(f)) => Ok(Some(f)),
                Some(F::Text(t)) if t == "Infinity" => Ok(Some(f64::INFINITY)),
                Some(F::Text(t)) => Err(serde::de::Error::custom(format!(
                    "an ANOVA F is a number, null or \"Infinity\", not \"{t}\""
                ))),
            })
            .collect()
    }
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
            log_scale: None,
        }
    }

    /// Where matrix column `j` sits among the log scale's columns, if it is one.
    fn log_position(&self, j: usize) -> Option<(&LogScale, usize)> {
        let ls = self.log_scale.as_ref()?;
        ls.columns.binary_search(&j).ok().map(|i| (ls, i))
    }

    /// Whether the comparisons of matrix column `j` are in log(1 + x) units.
    pub fn compares_log(&self, j: usize) -> bool {
        self.log_position(j).is_some()
    }

    /// Each matrix column's name as the comparisons read it: `log(1 + x)` for a column compared
    /// in log units, the name itself otherwise.
    pub fn compared_on(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .enumerate()
            .map(|(j, n)| {
                if self.compares_log(j) {
                    log_name(n)
                } else {
                    n.clone()
                }
            })
            .collect()
    }

    /// What `segment_profile` says (a NOTICE) of a profile that compares features in log units:
    /// "difference_sd and anova_f of frequency and monetary are in log(1 + x) units, ...". None
    /// when every feature is compared on its own values.
    pub fn scale_note(&self, names: &[String]) -> Option<String> {
        let ls = self.log_scale.as_ref()?;
        let named: Vec<&str> = ls.columns.iter().map(|&j| names[j].as_str()).collect();
        let list = match named.as_slice() {
            [] => return None,
            [one] => one.to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        Some(format!(
            "difference_sd and anova_f of {list} are in log(1 + x) units, the scale the model clusters on; segment_mean, segment_median and overall_mean are in original units"
        ))
    }

    /// (segment mean - overall mean) / overall sd on the scale the model clusters on (log(1 +
    /// x) for a log feature); None for a feature constant on that scale.
    pub fn difference_sd(&self, segment: usize, feature: usize) -> Option<f64> {
        let (mean, overall, sd) = match self.log_position(feature) {
            Some((ls, i)) => (ls.means[segment][i], ls.overall_mean[i], ls.overall_sd[i]),
            None => (
                self.means[segment][feature],
                self.overall_mean[feature],
                self.overall_sd[feature],
            ),
        };
        (sd > 0.0).then(|| (mean - overall) / sd)
    }

    /// `difference_sd` of every segment and feature, `[segment][feature]`.
    pub fn differences_sd(&self) -> Vec<Vec<Option<f64>>> {
        (0..self.sizes.len())
            .map(|s| {
                (0..self.overall_sd.len())
                    .map(|j| self.difference_sd(s, j))
                    .collect()
            })
            .collect()
    }

    /// Checks the shape of a stored profile for `k` segments, `d` matrix columns and the given
    /// log columns.
    pub fn validate(&self, k: usize, d: usize, log_mask: &[bool]) -> Result<(), String> {
        let bad = || Err("stored model's profile does not match its segments".to_string());
        if self.sizes.len() != k
            || self.means.len() != k
            || self.medians.len() != k
            || self.means.iter().chain(&self.medians).any(|m| m.len() != d)
            || self.overall_mean.len() != d
            || self.overall_sd.len() != d
            || self.anova_f.len() != d
        {
            return bad();
        }
        if let Some(ls) = &self.log_scale {
            let log_columns: Vec<usize> = (0..d).filter(|&j| log_mask[j]).collect();
            let l = ls.columns.len();
            if ls.columns != log_columns
                || ls.means.len() != k
                || ls.means.iter().any(|m| m.len() != l)
                || ls.overall_mean.len() != l
                || ls.overall_sd.len() != l
            {
                return bad();
            }
        }
        Ok(())
    }

    /// Gives segment i the id `new_id[i]`: what is stored per segment moves with it.
    pub fn renumber(&mut self, new_id: &[u32]) {
        fn permute<T: Clone>(v: &mut [T], new_id: &[u32]) {
            let old = v.to_vec();
            for (i, item) in old.into_iter().enumerate() {
                v[new_id[i] as usize] = item;
            }
        }
        permute(&mut self.sizes, new_id);
        permute(&mut self.means, new_id);
        permute(&mut self.medians, new_id);
        if let Some(ls) = &mut self.log_scale {
            permute(&mut ls.means, new_id);
        }
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
        let d = matrix.n_cols();
        let (mut unscaled, mut raw) = (vec![0.0; d], vec![0.0; d]);
        let mut acc = ProfileAccumulator::with_log(k, d, log_mask);
        let mut pace = Pace::new(check);
        for (row, &l) in matrix.rows().zip(labels) {
            pace.add(8 * d);
            raw_row(scaler, log_mask, row, &mut unscaled, &mut raw);
            acc.push_both(&raw, &unscaled, l);
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

/// Running mean and sum of squared deviations (Welford's updates: one pass, numerically stable,
/// and exact for a constant column) of `width` columns for each of `groups` groups, with each
/// column's sum, least and greatest value for the means reported.
struct Moments {
    width: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
    sum: Vec<f64>,
    min: Vec<f64>,
    max: Vec<f64>,
}

impl Moments {
    fn new(groups: usize, width: usize) -> Moments {
        let n = groups * width;
        Moments {
            width,
            mean: vec![0.0; n],
            m2: vec![0.0; n],
            sum: vec![0.0; n],
            min: vec![f64::INFINITY; n],
            max: vec![f64::NEG_INFINITY; n],
        }
    }

    /// Adds a row to group `g`, which now holds `n` rows.
    #[inline]
    fn push(&mut self, g: usize, values: impl Iterator<Item = f64>, n: f64) {
        let at = g * self.width;
        let range = at..at + self.width;
        let (mean, m2) = (&mut self.mean[range.clone()], &mut self.m2[range.clone()]);
        let (sum, min, max) = (
            &mut self.sum[range.clone()],
            &mut self.min[range.clone()],
            &mut self.max[range],
        );
        for (j, x) in values.enumerate() {
            let delta = x - mean[j];
            mean[j] += delta / n;
            m2[j] += delta * (x - mean[j]);
            sum[j] += x;
            min[j] = min[j].min(x);
            max[j] = max[j].max(x);
        }
    }

    /// The means of group `g` of `n` rows as reported: the sum over the count, which is exact
    /// (correctly rounded) for whole numbers such as one-hot 0s and 1s, kept within the least and
    /// greatest value (so a constant column's mean is its value); 0 for a group without rows.
    fn means(&self, g: usize, n: u64) -> Vec<f64> {
        let at = g * self.width;
        (at..at + self.width)
            .map(|i| {
                if n == 0 {
                    0.0
                } else {
                    (self.sum[i] / n as f64).clamp(self.min[i], self.max[i])
                }
            })
            .collect()
    }

    /// Population standard deviations of group `g` of `n` rows.
    fn sds(&self, g: usize, n: u64) -> Vec<f64> {
        self.m2[g * self.width..(g + 1) * self.width]
            .iter()
            .map(|m2| (m2 / n.max(1) as f64).sqrt())
            .collect()
    }

    /// One-way ANOVA F of column `j` across the groups of `sizes` (`f_classif`): None when
    /// undefined (fewer than two groups with rows, no more rows than groups, or no spread at
    /// all), infinite when the groups' means differ and nothing varies within them.
    fn anova(&self, j: usize, sizes: &[u64]) -> Option<f64> {
        let clustered: u64 = sizes.iter().sum();
        let occupied: Vec<usize> = (0..sizes.len()).filter(|&s| sizes[s] > 0).collect();
        if occupied.len() < 2 || clustered <= occupied.len() as u64 {
            return None;
        }
        let mean = |s: usize| self.mean[s * self.width + j];
        let within: f64 = occupied.iter().map(|&s| self.m2[s * self.width + j]).sum();
        if within == 0.0 {
            // Welford's means of a constant group are its value exactly: equal means are a
            // feature constant over every row (undefined), different ones a perfect separator.
            let first = mean(occupied[0]);
            return occupied
                .iter()
                .any(|&s| mean(s) != first)
                .then_some(f64::INFINITY);
        }
        let grand = occupied
            .iter()
            .map(|&s| mean(s) * sizes[s] as f64)
            .sum::<f64>()
            / clustered as f64;
        let between: f64 = occupied
            .iter()
            .map(|&s| sizes[s] as f64 * (mean(s) - grand).powi(2))
            .sum();
        let df_between = (occupied.len() - 1) as f64;
        let df_within = (clustered - occupied.len() as u64) as f64;
        Some((between / df_between) / (within / df_within))
    }
}

/// Sizes, means and spreads of rows streamed one at a time, per segment and overall, in original
/// units, and for the log features also in the log units the model clusters on.
pub struct ProfileAccumulator {
    k: usize,
    sizes: Vec<u64>,
    n: u64,
    /// Per segment, and overall (group 0), in original units.
    segments: Moments,
    overall: Moments,
    /// The matrix columns in log units, and their moments in those units.
    log_columns: Vec<usize>,
    log_segments: Moments,
    log_overall: Moments,
}

impl ProfileAccumulator {
    /// An accumulator of rows with no log features (or whose log units are not wanted).
    pub fn new(k: usize, d: usize) -> ProfileAccumulator {
        ProfileAccumulator::with_log(k, d, &[])
    }

    /// An accumulator that also measures the columns of `log_mask` in log units (rows then
    /// come through `push_both`).
    pub fn with_log(k: usize, d: usize, log_mask: &[bool]) -> ProfileAccumulator {
        let log_columns: Vec<usize> = (0..d)
            .filter(|&j| log_mask.get(j).copied().unwrap_or(false))
            .collect();
        let l = log_columns.len();
        ProfileAccumulator {
            k,
            sizes: vec![0; k],
            n: 0,
            segments: Moments::new(k, d),
            overall: Moments::new(1, d),
            log_columns,
            log_segments: Moments::new(k, l),
            log_overall: Moments::new(1, l),
        }
    }

    /// One row in original units with its segment (or `NOISE`: counted overall only), for an
    /// accumulator without log columns.
    #[inline]
    pub fn push(&mut self, raw: &[f64], label: u32) {
        debug_assert!(self.log_columns.is_empty(), "log columns need push_both");
        self.push_both(raw, raw, label);
    }

    /// One row in original units and in the units the model clusters on before scaling
    /// (`unscaled`: log(1 + x) for a log feature), with its segment (or `NOISE`).
    #[inline]
    pub fn push_both(&mut self, raw: &[f64], unscaled: &[f64], label: u32) {
        self.n += 1;
        let n = self.n as f64;
        let logs = &self.log_columns;
        self.overall.push(0, raw.iter().copied(), n);
        self.log_overall
            .push(0, logs.iter().map(|&j| unscaled[j]), n);
        if label == NOISE {
            return;
        }
        let s = label as usize;
        self.sizes[s] += 1;
        let ns = self.sizes[s] as f64;
        self.segments.push(s, raw.iter().copied(), ns);
        self.log_segments
            .push(s, logs.iter().map(|&j| unscaled[j]), ns);
    }

    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// The profile, with medians measured elsewhere (`medians[segment][feature]`).
    pub fn finish(self, medians: Vec<Vec<f64>>) -> Profile {
        let k = self.k;
        let d = self.segments.width;
        let means: Vec<Vec<f64>> = (0..k)
            .map(|s| self.segments.means(s, self.sizes[s]))
            .collect();
        let mut anova_f: Vec<Option<f64>> = (0..d)
            .map(|j| self.segments.anova(j, &self.sizes))
            .collect();
        for (i, &j) in self.log_columns.iter().enumerate() {
            anova_f[j] = self.log_segments.anova(i, &self.sizes);
        }
        let log_scale = (!self.log_columns.is_empty()).then(|| LogScale {
            means: (0..k)
                .map(|s| self.log_segments.means(s, self.sizes[s]))
                .collect(),
            overall_mean: self.log_overall.means(0, self.n),
            overall_sd: self.log_overall.sds(0, self.n),
            columns: self.log_columns,
        });
        Profile {
            sizes: self.sizes,
            means,
            medians,
            overall_mean: self.overall.means(0, self.n),
            overall_sd: self.overall.sds(0, self.n),
            anova_f,
            log_scale,
        }
    }
}

/// `v` rounded to the nearest integer when it is within `tolerance` of it (the rounding error of
/// undoing the scaling: a one-hot 0 comes back as -5.55e-17), with no negative zero.
#[inline]
fn snap(v: f64, tolerance: f64) -> f64 {
    let r = v.round();
    if (v - r).abs() <= tolerance {
        r + 0.0
    } else {
        v
    }
}

/// Feature `j`'s value `v` of the scaled matrix before scaling (in the units the model clusters
/// on: log(1 + x) for a log feature) and in original units (then exp(x) - 1 for a log feature).
/// A result within rounding error of an integer is that integer, so a one-hot or 0/1 column's
/// values, and the shares the profile averages from them, are exact.
#[inline]
pub fn unscaled_and_raw(scaler: &Scaler, log_mask: &[bool], j: usize, v: f64) -> (f64, f64) {
    let x = scaler.inverse_value(j, v);
    // (v * scale + offset) is off by a few units in the last place of its terms.
    let tolerance = 8.0 * f64::EPSILON * ((v * scaler.scale[j]).abs() + scaler.offset[j].abs());
    let x = snap(x, tolerance);
    if log_mask.get(j).copied().unwrap_or(false) {
        let r = x.exp_m1();
        (
            x,
            snap(
                r,
                (1.0 + r.abs()) * tolerance + 4.0 * f64::EPSILON * r.abs(),
            ),
        )
    } else {
        (x, x)
    }
}

/// Feature `j`'s value `v` of the scaled matrix in original units (`unscaled_and_raw`'s second).
#[inline]
pub fn raw_value(scaler: &Scaler, log_mask: &[bool], j: usize, v: f64) -> f64 {
    unscaled_and_raw(scaler, log_mask, j, v).1
}

/// A scaled row before scaling and in original units (`unscaled_and_raw` of each value).
#[inline]
pub fn raw_row(
    scaler: &Scaler,
    log_mask: &[bool],
    row: &[f64],
    unscaled: &mut [f64],
    raw: &mut [f64],
) {
    for (j, &v) in row.iter().enumerate() {
        (unscaled[j], raw[j]) = unscaled_and_raw(scaler, log_mask, j, v);
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

/// What the labels (and the report's sentences) know of a matrix column.
pub enum Column<'a> {
    /// A numeric feature; `flag` when its training values are 0 and 1 only.
    Number { feature: &'a str, flag: bool },
    /// A one-hot column of a text or boolean feature; `yes` when the feature's two values read
    /// as no/yes (false/true, 0/1, n/y, f/t): Some(true) on the yes column, Some(false) on the no.
    Value {
        feature: &'a str,
        value: &'a str,
        yes: Option<bool>,
    },
}

/// Whether a numeric column's training values are 0 and 1 only: with overall mean p in (0, 1),
/// values in [0, 1] have a variance of at most p (1 - p), reached only when each is 0 or 1.
fn is_flag(profile: &Profile, j: usize) -> bool {
    let (p, sd) = (profile.overall_mean[j], profile.overall_sd[j]);
    let bound = p * (1.0 - p);
    p > 0.0
        && p < 1.0
        && (sd * sd - bound).abs() <= 1e-9 * bound
        && profile.means.iter().all(|m| (0.0..=1.0).contains(&m[j]))
}

/// Which of a categorical feature's two values is the "yes" one, if they read as no/yes.
fn yes_value(values: &[String]) -> Option<&str> {
    const PAIRS: [(&str, &str); 5] = [
        ("false", "true"),
        ("no", "yes"),
        ("0", "1"),
        ("n", "y"),
        ("f", "t"),
    ];
    let [a, b] = values else { return None };
    let (la, lb) = (a.to_lowercase(), b.to_lowercase());
    PAIRS.iter().find_map(|&(no, yes)| {
        if (la.as_str(), lb.as_str()) == (no, yes) {
            Some(b.as_str())
        } else if (la.as_str(), lb.as_str()) == (yes, no) {
            Some(a.as_str())
        } else {
            None
        }
    })
}

/// Every matrix column of the profile as the labels read it: a number (a flag when its training
/// values are 0 and 1 only), or one value of a one-hot encoded text or boolean feature.
pub fn feature_columns<'a>(
    profile: &Profile,
    features: &'a [String],
    categories: &'a [Option<Vec<String>>],
) -> Vec<Column<'a>> {
    let mut columns: Vec<Column> = Vec::new();
    for (f, feature) in features.iter().enumerate() {
        match categories.get(f).and_then(|c| c.as_ref()) {
            Some(values) => {
                let yes = yes_value(values);
                columns.extend(values.iter().map(|v| Column::Value {
                    feature,
                    value: v,
                    yes: yes.map(|y| y == v),
                }));
            }
            None => {
                let j = columns.len();
                columns.push(Column::Number {
                    feature,
                    flag: j < profile.overall_mean.len() && is_flag(profile, j),
                });
            }
        }
    }
    columns.truncate(profile.overall_mean.len());
    columns
}

/// The columns that set segment `s` apart, most first: (column, difference in standard
/// deviations) for those at least half a standard deviation from the overall mean, on the scale
/// the model compares on (`Profile::difference_sd`). A one-hot column counts only when its value
/// is common in the segment: "rarely x" only restates that another value of the same feature is
/// common. What the labels name and the report's sentences say.
pub fn distinguishing(profile: &Profile, columns: &[Column], s: usize) -> Vec<(usize, f64)> {
    let mut r: Vec<(usize, f64)> = (0..columns.len())
        .filter_map(|j| profile.difference_sd(s, j).map(|z| (j, z)))
        .filter(|(_, z)| z.abs() >= 0.5)
        .filter(|&(j, z)| z > 0.0 || matches!(columns[j], Column::Number { .. }))
        .collect();
    r.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    r
}

/// A segment's name from its most distinguishing features: the (up to) two features whose
/// segment mean is furthest from the overall mean (in standard deviations on the scale the model
/// compares on: `Profile::difference_sd`), at least half a standard deviation away, phrased
/// "high monetary · recent". Words for common customer features read naturally (low recency is
/// "recent", high frequency "frequent"); other numbers are "high x" / "low x", with "very" from
/// 1.5 standard deviations; a text value common in the segment is "x value". A flag (a numeric
/// feature of 0s and 1s, or a text or boolean feature whose two values read as no/yes) is "x:
/// yes" when every row of the segment has it, "x: no" when none has, else the share that has
/// it, "62% x". A segment close to the average on every feature is "typical".
///
/// `prefixes` (empty, or one per segment) go in front: "high churn risk: low tenure". Labels
/// are unique: when two segments would get the same words (in any order) and prefix, a third
/// feature is added to both, then the segment number.
pub fn automatic_labels(
    profile: &Profile,
    features: &[String],
    categories: &[Option<Vec<String>>],
    prefixes: &[String],
) -> Vec<String> {
    let k = profile.sizes.len();
    let columns = feature_columns(profile, features, categories);
    let parts: Vec<Vec<String>> = (0..k)
        .map(|s| {
            distinguishing(profile, &columns, s)
                .iter()
                .take(3)
                .map(|&(j, z)| {
                    let share = profile.means[s][j];
                    match columns[j] {
                        Column::Number {
                            feature,
                            flag: true,
                        } => flag_phrase(&feature.to_lowercase(), share),
                        Column::Number { feature, .. } => describe(feature, z),
                        Column::Value {
                            feature,
                            yes: Some(yes),
                            ..
                        } => flag_phrase(feature, if yes { share } else { 1.0 - share }),
                        Column::Value { feature, value, .. } => {
                            format!("{} {value}", feature.replace('_', " "))
                        }
                    }
                })
                .collect()
        })
        .collect();
    let prefix = |s: usize| prefixes.get(s).map(String::as_str).unwrap_or("");
    // The same words in any order, under the same prefix, are the same name.
    let key = |s: usize, words: usize| {
        let mut p: Vec<&String> = parts[s].iter().take(words).collect();
        p.sort();
        (prefix(s), p)
    };
    let shared = |words: &[usize]| -> Vec<bool> {
        let keys: Vec<_> = (0..k).map(|s| key(s, words[s])).collect();
        let mut count = std::collections::HashMap::new();
        for key in &keys {
            *count.entry(key.clone()).or_insert(0usize) += 1;
        }
        keys.iter().map(|key| count[key] > 1).collect()
    };
    let first = shared(&vec![2; k]);
    let words: Vec<usize> = first.iter().map(|&d| if d { 3 } else { 2 }).collect();
    let numbered = shared(&words);
    (0..k)
        .map(|s| {
            let text = parts[s]
                .iter()
                .take(words[s])
                .cloned()
                .collect::<Vec<_>>()
                .join(" · ");
            let name = match (prefix(s), text.is_empty()) {
                ("", true) => "typical".to_string(),
                ("", false) => text,
                (p, true) => p.to_string(),
                (p, false) => format!("{p}: {text}"),
            };
            if numbered[s] {
                format!("{name} (segment {s})")
            } else {
                name
            }
        })
        .collect()
}

/// A flag in words from the share of the segment that has it.
fn flag_phrase(feature: &str, share: f64) -> String {
    let plain = feature.replace('_', " ");
    if share >= 1.0 {
        format!("{plain}: yes")
    } else if share <= 0.0 {
        format!("{plain}: no")
    } else {
        format!("{:.0}% {plain}", (share * 100.0).round().clamp(1.0, 99.0))
    }
}

/// One numeric feature's deviation in words.
fn describe(feature: &str, z: f64) -> String {
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
        // Feature 1 is constant within segments and differs between them: a perfect separator,
        // F infinite (scikit-learn: inf).
        let x = FeatureMatrix::from_rows(vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0, 7.0, 5.0, 9.0, 5.0], 2);
        let p = Profile::measure(&x, &[0, 0, 0, 1, 1], 2, &identity(2), &[false, false]);
        assert_eq!(p.sizes, vec![3, 2]);
        assert_eq!(p.medians, vec![vec![2.0, 0.0], vec![8.0, 5.0]]);
        assert!(
            (p.anova_f[0].unwrap() - 32.4).abs() < 1e-9,
            "{:?}",
            p.anova_f
        );
        assert_eq!(p.anova_f[1], Some(f64::INFINITY));
        // Noise rows count overall but in no segment.
        let p = Profile::measure(&x, &[0, 0, 0, 1, NOISE], 2, &identity(2), &[false, false]);
        assert_eq!(p.sizes, vec![3, 1]);
        assert!((p.overall_mean[0] - 4.4).abs() < 1e-12);
        assert_eq!(p.medians[1], vec![7.0, 5.0]);
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// A profile of `means` against overall means and sds, ten rows a segment.
    fn of_means(means: Vec<Vec<f64>>, overall_mean: Vec<f64>, overall_sd: Vec<f64>) -> Profile {
        let (k, d) = (means.len(), overall_mean.len());
        Profile {
            sizes: vec![10; k],
            medians: vec![vec![0.0; d]; k],
            means,
            overall_mean,
            overall_sd,
            anova_f: vec![None; d],
            log_scale: None,
        }
    }

    #[test]
    fn labels_read_as_words_and_stay_distinct() {
        let features = names(&["recency_days", "frequency", "monetary"]);
        let p = of_means(
            vec![
                vec![10.0, 20.0, 900.0], // recent, very frequent, very high spend
                vec![300.0, 1.0, 50.0],  // lapsed, infrequent
                vec![100.0, 5.0, 300.0], // average
                vec![300.0, 1.0, 40.0],  // like segment 1
            ],
            vec![100.0, 5.0, 300.0],
            vec![100.0, 5.0, 300.0],
        );
        let labels = automatic_labels(&p, &features, &[], &[]);
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

    /// The same two features in another order are the same name: a churn model read "low
    /// tenure · internet service Fiber optic" and "internet service Fiber optic · low tenure".
    #[test]
    fn labels_are_unique_whatever_the_order() {
        let features = names(&["x", "y", "w"]);
        let p = of_means(
            vec![
                vec![1.2, 1.0, 0.6],
                vec![1.0, 1.2, -0.6],
                vec![1.2, 1.0, 0.0],
                vec![1.0, 1.2, 0.0],
            ],
            vec![0.0; 3],
            vec![1.0; 3],
        );
        assert_eq!(
            automatic_labels(&p, &features, &[], &[]),
            [
                "high x · high y · high w",
                "high y · high x · low w",
                // No third word tells 2 and 3 apart: their numbers do.
                "high x · high y (segment 2)",
                "high y · high x (segment 3)",
            ]
        );
        // Different prefixes already tell segments apart; the same prefix does not.
        let prefixes = names(&["high risk", "low risk", "high risk", "high risk"]);
        assert_eq!(
            automatic_labels(&p, &features, &[], &prefixes),
            [
                "high risk: high x · high y · high w",
                "low risk: high y · high x",
                "high risk: high x · high y (segment 2)",
                "high risk: high y · high x (segment 3)",
            ]
        );
    }

    /// A 0/1 column read "very high senior citizen"; flags read as yes/no or as a share.
    #[test]
    fn flags_read_as_yes_no_or_a_share() {
        // Measured on rows: senior_citizen is 0/1 (mean 0.3), tenure is not.
        let senior = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let tenure = [1.0, 2.0, 3.0, 40.0, 50.0, 60.0, 70.0, 2.0, 3.0, 4.0];
        let data: Vec<f64> = senior
            .iter()
            .zip(&tenure)
            .flat_map(|(a, b)| [*a, *b])
            .collect();
        let x = FeatureMatrix::from_rows(data, 2);
        let labels = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2];
        let p = Profile::measure(&x, &labels, 3, &identity(2), &[false, false]);
        let features = names(&["senior_citizen", "tenure"]);
        assert_eq!(
            automatic_labels(&p, &features, &[], &[]),
            [
                "senior citizen: yes · low tenure",
                "high tenure · senior citizen: no",
                "low tenure · senior citizen: no"
            ]
        );
        // Not every row: the share. Segment 0 holds two of the three seniors and a junior.
        let labels = [0, 0, 1, 0, 1, 1, 1, 2, 2, 2];
        let p = Profile::measure(&x, &labels, 3, &identity(2), &[false, false]);
        assert_eq!(
            automatic_labels(&p, &features, &[], &[])[0],
            "67% senior citizen"
        );
        // A boolean or yes/no text feature: the yes value's share, whichever column stands out.
        let categories = vec![Some(names(&["false", "true"])), None];
        let data: Vec<f64> = senior
            .iter()
            .zip(&tenure)
            .flat_map(|(a, b)| [1.0 - a, *a, *b])
            .collect();
        let x = FeatureMatrix::from_rows(data, 3);
        let labels = [0, 0, 0, 1, 1, 1, 1, 2, 2, 2];
        let p = Profile::measure(&x, &labels, 3, &identity(3), &[false; 3]);
        assert_eq!(
            automatic_labels(&p, &features, &categories, &[]),
            [
                "senior citizen: yes · low tenure",
                "high tenure · senior citizen: no",
                "low tenure · senior citizen: no"
            ]
        );
        let categories = vec![Some(names(&["No", "Yes"])), None];
        assert_eq!(
            automatic_labels(&p, &names(&["partner", "tenure"]), &categories, &[])[0],
            "partner: yes · low tenure"
        );
        // Other values read as before.
        let categories = vec![Some(names(&["retail", "web"])), None];
        assert_eq!(
            automatic_labels(&p, &names(&["channel", "tenure"]), &categories, &[])[0],
            "channel web · low tenure"
        );
    }

    /// A model of log(1 + x) compares log(1 + x): the profile of a log feature gives the
    /// differences, ANOVA F and labels of a model fitted on log(1 + x) itself, while its means
    /// stay raw. On raw values the whales' spread hides the segment of 1.5 purchases (within
    /// half a raw standard deviation of the mean: "typical").
    #[test]
    fn log_features_compare_on_the_log_scale() {
        let mut purchases: Vec<f64> = [1.0, 2.0].repeat(5);
        purchases.extend([3.0, 5.0].repeat(5));
        purchases.extend([30.0, 50.0, 400.0]);
        let labels: Vec<u32> = [vec![0; 10], vec![1; 10], vec![2; 3]].concat();
        let logged: Vec<f64> = purchases.iter().map(|x: &f64| x.ln_1p()).collect();
        let with_log = Profile::measure(
            &FeatureMatrix::from_rows(logged.clone(), 1),
            &labels,
            3,
            &identity(1),
            &[true],
        );
        let pre_logged = Profile::measure(
            &FeatureMatrix::from_rows(logged, 1),
            &labels,
            3,
            &identity(1),
            &[false],
        );
        let raw = Profile::measure(
            &FeatureMatrix::from_rows(purchases, 1),
            &labels,
            3,
            &identity(1),
            &[false],
        );
        // Means in raw units.
        for s in 0..3 {
            assert!((with_log.means[s][0] - raw.means[s][0]).abs() < 1e-12);
        }
        assert_eq!(with_log.means[0][0], 1.5);
        for s in 0..3 {
            let (a, b) = (with_log.difference_sd(s, 0), pre_logged.difference_sd(s, 0));
            assert!((a.unwrap() - b.unwrap()).abs() < 1e-12, "{a:?} {b:?}");
        }
        assert!(
            (with_log.anova_f[0].unwrap() / pre_logged.anova_f[0].unwrap() - 1.0).abs() < 1e-12
        );
        let f = names(&["frequency"]);
        assert_eq!(
            automatic_labels(&with_log, &f, &[], &[]),
            ["infrequent", "typical", "very frequent"]
        );
        assert_eq!(
            automatic_labels(&raw, &f, &[], &[]),
            [
                "typical (segment 0)",
                "typical (segment 1)",
                "very frequent"
            ]
        );
        assert_eq!(with_log.compared_on(&f), ["log(1 + frequency)"]);
        assert_eq!(
            with_log.scale_note(&f).unwrap(),
            "difference_sd and anova_f of frequency are in log(1 + x) units, the scale the model clusters on; segment_mean, segment_median and overall_mean are in original units"
        );
        assert_eq!(raw.scale_note(&f), None);
        assert_eq!(raw.compared_on(&f), ["frequency"]);
        // Stored and read back; renumbered with the segments.
        let back: Profile =
            serde_json::from_str(&serde_json::to_string(&with_log).unwrap()).unwrap();
        assert_eq!(back, with_log);
        let mut moved = with_log.clone();
        moved.renumber(&[2, 0, 1]);
        assert_eq!(moved.difference_sd(2, 0), with_log.difference_sd(0, 0));
        // A document without the log scale (fitted before 0.2.0) compares raw values.
        let mut old = with_log.clone();
        old.log_scale = None;
        assert_eq!(old.difference_sd(0, 0), raw.difference_sd(0, 0));
    }

    /// scikit-learn's f_classif on X = [[0, 1, 5], [0, 2, 5], [1, 3, 5], [1, 4, 5]], y = [0, 0,
    /// 1, 1] gives [inf, 8, nan]: a perfect separator is infinite (it ranked last as NULL), a
    /// constant feature undefined.
    #[test]
    fn anova_of_a_perfect_separator_is_infinite() {
        let x = FeatureMatrix::from_rows(
            vec![0.0, 1.0, 5.0, 0.0, 2.0, 5.0, 1.0, 3.0, 5.0, 1.0, 4.0, 5.0],
            3,
        );
        let p = Profile::measure(&x, &[0, 0, 1, 1], 2, &identity(3), &[false; 3]);
        assert_eq!(p.anova_f[0], Some(f64::INFINITY));
        assert!((p.anova_f[1].unwrap() - 8.0).abs() < 1e-12);
        assert_eq!(p.anova_f[2], None);
        // JSON has no infinity: stored as "Infinity" and read back.
        let text = serde_json::to_string(&p).unwrap();
        assert!(
            text.contains(r#""anova_f":["Infinity",8.0,null]"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Profile>(&text).unwrap(), p);
        let bad = text.replace("\"Infinity\"", "\"lots\"");
        assert!(serde_json::from_str::<Profile>(&bad).is_err());
    }

    /// Undoing a z-score leaves a one-hot 0 at -5.55e-17; the profile gives exact 0s and 1s, so
    /// a segment without the value has a share of 0 (not a negative one).
    #[test]
    fn one_hot_shares_are_exact() {
        let values = [0.0, 1.0, 1.0, 1.0, 1.0];
        let (mean, sd) = (0.8f64, (0.8f64 * (1.0 - 0.8)).sqrt());
        let scaler = Scaler {
            method: crate::prep::scaling::ScaleMethod::Zscore,
            offset: vec![mean],
            scale: vec![sd],
        };
        let scaled: Vec<f64> = values.iter().map(|x| (x - mean) / sd).collect();
        // The rounding this test is about.
        assert!(scaled
            .iter()
            .zip(&values)
            .any(|(v, x)| scaler.inverse_value(0, *v) != *x));
        let x = FeatureMatrix::from_rows(scaled, 1);
        let p = Profile::measure(&x, &[0, 1, 1, 2, 2], 3, &scaler, &[false]);
        assert_eq!(p.means, vec![vec![0.0], vec![1.0], vec![1.0]]);
        assert!(p.means[0][0].is_sign_positive());
        assert_eq!(p.medians, p.means);
        assert_eq!(p.overall_mean[0], 0.8);
        // Shares are sums of 0s and 1s over the count: 10 in 50 is 0.2 (a running mean gives
        // 0.20000000000000007).
        let x = FeatureMatrix::from_rows((1..=50).map(|i| f64::from(i % 5 == 0)).collect(), 1);
        let p = Profile::measure(&x, &[0; 50], 1, &identity(1), &[false]);
        assert_eq!((p.means[0][0], p.overall_mean[0]), (0.2, 0.2));
        // A constant column's mean is its value, although 0.1 + 0.1 + 0.1 is not 0.3.
        let x = FeatureMatrix::from_rows(vec![0.1; 3], 1);
        let p = Profile::measure(&x, &[0, 0, 0], 1, &identity(1), &[false]);
        assert_eq!((p.means[0][0], p.overall_mean[0]), (0.1, 0.1));
    }
}
