//! Preprocessing stored with a model and replayed at assign time: NULL imputation and scaling.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::prep::matrix::FeatureMatrix;
use serde::{Deserialize, Serialize};

/// How feature columns are put on a common scale before clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMethod {
    /// (x - mean) / standard deviation (population), like scikit-learn's StandardScaler.
    #[default]
    Zscore,
    /// (x - min) / (max - min), into [0, 1].
    Minmax,
    /// (x - median) / interquartile range, like scikit-learn's RobustScaler: outliers (a few huge
    /// spenders) do not squeeze everyone else together.
    Robust,
    /// Raw values.
    None,
}

/// What to do with a NULL in a feature column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ImputeMethod {
    /// Leave the row out of the fit (counted in rows_skipped); assign returns NULL for it.
    #[default]
    Skip,
    /// Replace by the column's mean over the rows read; the means are stored with the model.
    Mean,
    /// Replace by the column's median (robust to a few extreme values); stored with the model.
    Median,
    /// Raise an error naming the column.
    Error,
}

/// What assign does with a NULL feature, fixed at fit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Imputer {
    /// A row with a NULL feature gets no segment (NULL).
    Skip,
    /// A NULL feature is an error.
    Error,
    /// A NULL feature takes the training mean of its column.
    Mean { means: Vec<f64> },
    /// A NULL feature takes the training median of its column.
    Median { medians: Vec<f64> },
}

/// A value of a column named in the `log` option must be >= 0 (log(1 + x) of it is then finite).
/// `segment_rfm`'s monetary columns are negative for a customer whose returns exceed their
/// purchases (returns are netted by default): their hint names the RFM option that keeps them
/// >= 0.
pub fn check_log_input(feature: &str, x: f64) -> CoreResult<()> {
    if x < 0.0 {
        let hint = if matches!(feature, "monetary_total" | "monetary_average") {
            r#"segment_rfm nets returns into the monetary value by default, so a customer who returned more than they bought is negative: make the RFM table with options => '{"returns": "ignore"}' (purchases only), or leave the column out of the log option."#
        } else {
            "Leave the column out of the log option, or shift or filter its values."
        };
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            format!("feature column \"{feature}\" has the negative value {x}, which the log option cannot take"),
        )
        .with_hint(hint));
    }
    Ok(())
}

/// A column is nearly constant when its standard deviation (population) is at most this share of
/// its root mean square: its values agree in about their first six significant digits (a
/// P(alive) of 1 - 1e-9 for every customer, say). Z-scoring such a column would blow those
/// differences up to a unit of distance, as large as any real feature's; fits leave it unscaled
/// (scale 1, as for a constant column) and warn, naming it. Columns of quantities far from zero
/// with a real spread (years: 2010 and 2011, 2.5e-4) stay above it.
pub const NEAR_CONSTANT: f64 = 1e-6;

/// A (nearly) constant column of a fit's matrix, after log and imputation.
#[derive(Debug, Clone, PartialEq)]
pub struct NearConstant {
    /// The matrix column's position.
    pub index: usize,
    /// The matrix column's name: the feature, or a categorical feature's `feature=value`.
    pub column: String,
    /// Its standard deviation (population) and root mean square.
    pub sd: f64,
    pub rms: f64,
}

impl NearConstant {
    pub fn message(&self) -> String {
        if self.sd == 0.0 {
            format!(
                "feature column \"{}\" is constant ({}) in the rows used",
                self.column,
                short(self.rms)
            )
        } else {
            format!(
                "feature column \"{}\" is nearly constant: its standard deviation {} is below {NEAR_CONSTANT:e} of its root mean square {}",
                self.column,
                short(self.sd),
                short(self.rms)
            )
        }
    }

    pub fn hint(&self) -> &'static str {
        "A (nearly) constant column cannot separate the rows: leave it out of the features. Fits that scale their features leave it unscaled, so it does not shape the segments."
    }
}

/// `x` to four significant digits for a message: scientific notation below 1e-3 and from 1e5
/// on, trailing zeros dropped.
pub(crate) fn short(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    if x.abs() < 1e-3 || x.abs() >= 1e5 {
        return format!("{x:.3e}");
    }
    let decimals = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Whether a column of this standard deviation and root mean square is nearly constant (see
/// `NEAR_CONSTANT`); a column of zeros is.
pub fn is_near_constant(sd: f64, rms: f64) -> bool {
    sd <= NEAR_CONSTANT * rms
}

/// Per column: standard deviation (population, two passes) and root mean square.
fn spread(x: &FeatureMatrix) -> Vec<(f64, f64)> {
    let d = x.n_cols();
    let n = x.n_rows().max(1) as f64;
    let mut mean = vec![0.0; d];
    for row in x.rows() {
        mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = vec![0.0; d];
    for row in x.rows() {
        for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    var.iter()
        .zip(&mean)
        .map(|(s, m)| {
            let var = s / n;
            (var.sqrt(), (m * m + var).sqrt())
        })
        .collect()
}

/// The (nearly) constant columns of a matrix, named by `names` (none without rows).
pub fn near_constant_columns(x: &FeatureMatrix, names: &[String]) -> Vec<NearConstant> {
    if x.n_rows() == 0 {
        return Vec::new();
    }
    near_constant_of(spread(x), names)
}

/// The (nearly) constant columns among columns of these (standard deviation, root mean square)
/// pairs, named by `names`: one rule for the in-memory matrix and the streaming moments.
pub fn near_constant_of(
    spread: impl IntoIterator<Item = (f64, f64)>,
    names: &[String],
) -> Vec<NearConstant> {
    spread
        .into_iter()
        .zip(names)
        .enumerate()
        .filter(|(_, ((sd, rms), _))| is_near_constant(*sd, *rms))
        .map(|(index, ((sd, rms), name))| NearConstant {
            index,
            column: name.clone(),
            sd,
            rms,
        })
        .collect()
}

impl Imputer {
    /// The per-column values NULLs are replaced with, when the policy fills.
    pub fn fill_values(&self) -> Option<&[f64]> {
        match self {
            Imputer::Mean { means } => Some(means),
            Imputer::Median { medians } => Some(medians),
            Imputer::Skip | Imputer::Error => None,
        }
    }
}

/// An affine map per column, `(x - offset) / scale`, that covers z-score, min-max and identity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub method: ScaleMethod,
    pub offset: Vec<f64>,
    pub scale: Vec<f64>,
}

impl Scaler {
    /// No scaling on `d` columns: what trees use (they split on raw values).
    pub fn identity(d: usize) -> Scaler {
        Scaler {
            method: ScaleMethod::None,
            offset: vec![0.0; d],
            scale: vec![1.0; d],
        }
    }

    /// Learns the scaling from the matrix. A constant column gets scale 1 (as scikit-learn does),
    /// so it neither divides by zero nor weighs in on distances; so does a nearly constant one
    /// (`NEAR_CONSTANT`), whose differences scaling would blow up.
    pub fn fit(method: ScaleMethod, x: &FeatureMatrix) -> Scaler {
        let flat: Vec<bool> = if x.n_rows() == 0 {
            vec![false; x.n_cols()]
        } else {
            spread(x)
                .into_iter()
                .map(|(sd, rms)| is_near_constant(sd, rms))
                .collect()
        };
        Scaler::fit_flat(method, x, &flat)
    }

    /// `fit` with the (nearly) constant columns already known: `flat` per column.
    pub fn fit_flat(method: ScaleMethod, x: &FeatureMatrix, flat: &[bool]) -> Scaler {
        let mut scaler = Scaler::fit_spread(method, x);
        for (s, &f) in scaler.scale.iter_mut().zip(flat) {
            if f {
                *s = 1.0;
            }
        }
        scaler
    }

    fn fit_spread(method: ScaleMethod, x: &FeatureMatrix) -> Scaler {
        let d = x.n_cols();
        let n = x.n_rows().max(1) as f64;
        let (offset, scale) = match method {
            ScaleMethod::None => (vec![0.0; d], vec![1.0; d]),
            ScaleMethod::Zscore => {
                let mut mean = vec![0.0; d];
                for row in x.rows() {
                    for (m, v) in mean.iter_mut().zip(row) {
                        *m += v;
                    }
                }
                mean.iter_mut().for_each(|m| *m /= n);
                // Two passes: numerically safer than sum of squares for large offsets.
                let mut var = vec![0.0; d];
                for row in x.rows() {
                    for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                        *s += (v - m) * (v - m);
                    }
                }
                let std = var.iter().map(|s| (s / n).sqrt()).map(non_zero).collect();
                (mean, std)
            }
            ScaleMethod::Robust => {
                let mut column = Vec::with_capacity(x.n_rows());
                let (mut centre, mut iqr) = (Vec::with_capacity(d), Vec::with_capacity(d));
                for j in 0..d {
                    column.clear();
                    column.extend(x.rows().map(|r| r[j]));
                    column.sort_by(f64::total_cmp);
                    centre.push(percentile(&column, 50.0));
                    iqr.push(non_zero(
                        percentile(&column, 75.0) - percentile(&column, 25.0),
                    ));
                }
                (centre, iqr)
            }
            ScaleMethod::Minmax => {
                let mut lo = vec![f64::INFINITY; d];
                let mut hi = vec![f64::NEG_INFINITY; d];
                for row in x.rows() {
                    for j in 0..d {
                        lo[j] = lo[j].min(row[j]);
                        hi[j] = hi[j].max(row[j]);
                    }
                }
                if x.n_rows() == 0 {
                    (vec![0.0; d], vec![1.0; d])
                } else {
                    let range = lo.iter().zip(&hi).map(|(l, h)| non_zero(h - l)).collect();
                    (lo, range)
                }
            }
        };
        Scaler {
            method,
            offset,
            scale,
        }
    }

    /// `1 / scale` per column. Scaling multiplies by it rather than dividing (a division per
    /// feature was a fifth of the per-row assign cost); fit and assign both go through
    /// `apply`, so training rows and assigned rows are scaled bit for bit alike.
    pub fn inverse_scale(&self) -> Vec<f64> {
        self.scale.iter().map(|s| 1.0 / s).collect()
    }

    #[inline(always)]
    pub fn apply(offset: &[f64], inverse_scale: &[f64], row: &mut [f64]) {
        for ((v, o), i) in row.iter_mut().zip(offset).zip(inverse_scale) {
            *v = (*v - o) * i;
        }
    }

    pub fn transform_row(&self, row: &mut [f64]) {
        Self::apply(&self.offset, &self.inverse_scale(), row);
    }

    pub fn transform(&self, x: &mut FeatureMatrix) {
        let d = x.n_cols();
        let inverse = self.inverse_scale();
        for row in x.as_mut_slice().chunks_exact_mut(d) {
            Self::apply(&self.offset, &inverse, row);
        }
    }

    /// Column `j`'s value back to original units (`inverse_row` for one value).
    #[inline]
    pub fn inverse_value(&self, j: usize, v: f64) -> f64 {
        v * self.scale[j] + self.offset[j]
    }

    /// Back to original units.
    pub fn inverse_row(&self, row: &mut [f64]) {
        for ((v, o), s) in row.iter_mut().zip(&self.offset).zip(&self.scale) {
            *v = *v * s + o;
        }
    }
}

/// Percentile of sorted values with linear interpolation (numpy's default method).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn non_zero(s: f64) -> f64 {
    if s > 0.0 && s.is_finite() {
        s
    } else {
        1.0
    }
}

/// exp(x) - 1 for the log features of a row in log units.
pub fn undo_log(mask: &[bool], row: &mut [f64]) {
    for (v, &is_log) in row.iter_mut().zip(mask) {
        if is_log {
            *v = v.exp_m1();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> FeatureMatrix {
        FeatureMatrix::from_rows(vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 6.0, 5.0], 2)
    }

    #[test]
    fn zscore_matches_hand_computation() {
        let s = Scaler::fit(ScaleMethod::Zscore, &m());
        // column 0: mean 3, population variance (4+1+0+9)/4 = 3.5
        assert_eq!(s.offset, vec![3.0, 5.0]);
        assert!((s.scale[0] - 3.5f64.sqrt()).abs() < 1e-15);
        assert_eq!(s.scale[1], 1.0, "constant column keeps scale 1");
        let mut x = m();
        s.transform(&mut x);
        let col0: Vec<f64> = x.rows().map(|r| r[0]).collect();
        let mean: f64 = col0.iter().sum::<f64>() / 4.0;
        let var: f64 = col0.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
        assert!(mean.abs() < 1e-15 && (var - 1.0).abs() < 1e-12);
        assert!(x.rows().all(|r| r[1] == 0.0));
    }

    #[test]
    fn minmax_maps_into_unit_interval_and_back() {
        let s = Scaler::fit(ScaleMethod::Minmax, &m());
        let mut row = [6.0, 5.0];
        s.transform_row(&mut row);
        assert_eq!(row, [1.0, 0.0]);
        let mut row = [1.0, 5.0];
        s.transform_row(&mut row);
        assert_eq!(row[0], 0.0);
        s.inverse_row(&mut row);
        assert_eq!(row, [1.0, 5.0]);
    }

    /// scikit-learn 1.9.1 RobustScaler on the same rows: center_ [3, 5], scale_ [4, 1], and
    /// transform([[4, 5]]) = [[0.25, 0]].
    #[test]
    fn robust_matches_scikit_learn() {
        let x =
            FeatureMatrix::from_rows(vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 6.0, 5.0, 100.0, 5.0], 2);
        let s = Scaler::fit(ScaleMethod::Robust, &x);
        assert_eq!(
            (s.offset.clone(), s.scale.clone()),
            (vec![3.0, 5.0], vec![4.0, 1.0])
        );
        let mut row = [4.0, 5.0];
        s.transform_row(&mut row);
        assert_eq!(row, [0.25, 0.0]);
    }

    #[test]
    fn none_is_identity() {
        let s = Scaler::fit(ScaleMethod::None, &m());
        let mut row = [7.5, -2.0];
        s.transform_row(&mut row);
        assert_eq!(row, [7.5, -2.0]);
    }

    /// Columns: P(alive)-like values 1 - 1e-9 apart (nearly constant), years 2010/2011 (a real
    /// spread far from zero), a constant 5, zeros. By hand: the first column's mean is 1, its
    /// standard deviation sqrt(2e-18 / 4) = 7.07e-10, below 1e-6 of its root mean square 1.
    #[test]
    fn nearly_constant_columns_are_found_and_left_unscaled() {
        let x = FeatureMatrix::from_rows(
            vec![
                1.0,
                2010.0,
                5.0,
                0.0, //
                1.0 + 1e-9,
                2011.0,
                5.0,
                0.0, //
                1.0 - 1e-9,
                2010.0,
                5.0,
                0.0, //
                1.0,
                2011.0,
                5.0,
                0.0,
            ],
            4,
        );
        let names: Vec<String> = ["p_alive", "year", "five", "zero"]
            .map(String::from)
            .to_vec();
        let found = near_constant_columns(&x, &names);
        assert_eq!(
            found.iter().map(|c| c.index).collect::<Vec<_>>(),
            vec![0, 2, 3]
        );
        assert!(
            (found[0].sd - 0.5f64.sqrt() * 1e-9).abs() < 1e-15,
            "{found:?}"
        );
        assert!((found[0].rms - 1.0).abs() < 1e-12);
        assert_eq!(
            found[0].message(),
            "feature column \"p_alive\" is nearly constant: its standard deviation 7.071e-10 is below 1e-6 of its root mean square 1"
        );
        assert_eq!(
            found[1].message(),
            "feature column \"five\" is constant (5) in the rows used"
        );
        assert_eq!(
            found[2].message(),
            "feature column \"zero\" is constant (0) in the rows used"
        );
        // Years: sd 0.5 of rms 2010.5, 2.5e-4: a spread.
        assert!(!is_near_constant(0.5, 2010.5));
        for method in [
            ScaleMethod::Zscore,
            ScaleMethod::Minmax,
            ScaleMethod::Robust,
        ] {
            let s = Scaler::fit(method, &x);
            assert_eq!(
                (s.scale[0], s.scale[2], s.scale[3]),
                (1.0, 1.0, 1.0),
                "{method:?}"
            );
            assert!(s.scale[1] > 0.4 && s.scale[1] <= 1.0, "{method:?}: {s:?}");
            // Before, z-score blew the 1e-9 differences up to about 1.4 units.
            let mut row = [1.0 + 1e-9, 2011.0, 5.0, 0.0];
            s.transform_row(&mut row);
            assert!(row[0].abs() < 1e-8, "{method:?}: {row:?}");
        }
        assert!(near_constant_columns(&FeatureMatrix::from_rows(vec![], 4), &names).is_empty());
    }

    #[test]
    fn short_numbers_for_messages() {
        assert_eq!(short(6874.219), "6874");
        assert_eq!(short(0.014654), "0.01465");
        assert_eq!(short(1.92), "1.92");
        assert_eq!(short(1.0), "1");
        assert_eq!(short(1.137e-6), "1.137e-6");
        assert_eq!(short(25_000.0), "25000");
        assert_eq!(short(2.5e5), "2.500e5");
        assert_eq!(short(-0.5), "-0.5");
        assert_eq!(short(0.0), "0");
    }
}
