//! The one preprocessing type: what a fit learns about the columns (which take log(1 + x), how a
//! NULL is filled, how each column is scaled) and what every path replays on a raw row. The
//! in-memory fit learns it from the whole matrix (`fit_matrix`), the streaming fits from column
//! moments gathered in one pass (`Moments`); assign, the mini-batch epochs, the final passes and
//! the SQL aggregate of a k-means step all apply it with `apply`.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::prep::builder::BuiltMatrix;
use crate::prep::matrix::FeatureMatrix;
use crate::prep::scaling::{
    check_log_input, is_near_constant, near_constant_of, ImputeMethod, Imputer, NearConstant,
    ScaleMethod, Scaler,
};

/// Learned preprocessing, laid out for a per-row `apply` that allocates nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessor {
    /// Per matrix column: whether it takes log(1 + x) first.
    log: Vec<bool>,
    imputer: Imputer,
    offset: Vec<f64>,
    inverse_scale: Vec<f64>,
    /// Matrix column names, for messages.
    columns: Vec<String>,
}

impl Preprocessor {
    pub fn new(log: Vec<bool>, imputer: Imputer, scaler: &Scaler, columns: Vec<String>) -> Self {
        Preprocessor {
            log,
            imputer,
            offset: scaler.offset.clone(),
            inverse_scale: scaler.inverse_scale(),
            columns,
        }
    }

    /// Width of a raw row: one value per matrix column.
    pub fn width(&self) -> usize {
        self.offset.len()
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Turns raw feature values (NaN for NULL) into the model's scaled space in place: log
    /// features, imputation, scaling. `Ok(false)` when a NULL is skipped (no segment).
    #[inline]
    pub fn apply(&self, row: &mut [f64]) -> CoreResult<bool> {
        for (j, v) in row.iter_mut().enumerate() {
            if self.log[j] && !v.is_nan() {
                check_log_input(&self.columns[j], *v)?;
                *v = v.ln_1p();
            }
            if v.is_nan() {
                match &self.imputer {
                    Imputer::Skip => return Ok(false),
                    Imputer::Mean { means } => *v = means[j],
                    Imputer::Median { medians } => *v = medians[j],
                    Imputer::Error => return Err(CoreError::new(
                        ErrorKind::NullValue,
                        format!("feature \"{}\" is NULL", self.columns[j]),
                    )
                    .with_hint(
                        "The model was fitted with impute = error: NULL features are not allowed.",
                    )),
                }
            }
        }
        Scaler::apply(&self.offset, &self.inverse_scale, row);
        Ok(true)
    }

    /// The preprocessing as one array of numbers, to travel as a query parameter (the SQL
    /// aggregate of a k-means step applies it on every row):
    /// `[ENCODING, d, imputer (0 skip, 1 error, 2 fill), log (d × 0/1), fill (d, NaN without
    /// fill), offset (d), inverse scale (d)]`. Column names do not travel: messages name columns
    /// by position.
    pub fn to_floats(&self) -> Vec<f64> {
        let d = self.width();
        let (kind, fill) = match &self.imputer {
            Imputer::Skip => (0.0, None),
            Imputer::Error => (1.0, None),
            Imputer::Mean { means: v } | Imputer::Median { medians: v } => (2.0, Some(v)),
        };
        let mut out = Vec::with_capacity(3 + 4 * d);
        out.extend([ENCODING, d as f64, kind]);
        out.extend(self.log.iter().map(|&l| if l { 1.0 } else { 0.0 }));
        match fill {
            Some(v) => out.extend_from_slice(v),
            None => out.extend(std::iter::repeat_n(f64::NAN, d)),
        }
        out.extend_from_slice(&self.offset);
        out.extend_from_slice(&self.inverse_scale);
        out
    }

    /// Reads `to_floats`' array back, refusing anything else.
    pub fn from_floats(values: &[f64]) -> CoreResult<Preprocessor> {
        let bad = || {
            CoreError::invalid_parameter("the preprocessing array is not one written by customer_segment")
                .with_hint("Pass the array a k-means fit with engine aggregate builds; do not write it by hand.")
        };
        let [version, d, kind, rest @ ..] = values else {
            return Err(bad());
        };
        let d_ok = d.fract() == 0.0 && *d >= 1.0 && rest.len() as f64 == 4.0 * d;
        if *version != ENCODING || !d_ok {
            return Err(bad());
        }
        let d = *d as usize;
        let (log, rest) = rest.split_at(d);
        let (fill, rest) = rest.split_at(d);
        let (offset, inverse_scale) = rest.split_at(d);
        let imputer = match *kind {
            0.0 => Imputer::Skip,
            1.0 => Imputer::Error,
            2.0 if fill.iter().all(|v| v.is_finite()) => Imputer::Mean {
                means: fill.to_vec(),
            },
            _ => return Err(bad()),
        };
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !log.iter().all(|&l| l == 0.0 || l == 1.0)
            || !finite(offset)
            || !inverse_scale.iter().all(|s| s.is_finite() && *s > 0.0)
        {
            return Err(bad());
        }
        Ok(Preprocessor {
            log: log.iter().map(|&l| l == 1.0).collect(),
            imputer,
            offset: offset.to_vec(),
            inverse_scale: inverse_scale.to_vec(),
            columns: (1..=d).map(|j| format!("feature {j}")).collect(),
        })
    }
}

/// Version tag of `Preprocessor::to_floats`.
const ENCODING: f64 = 1.0;

/// A matrix read whole, in the scaled space of the preprocessing learned from it: the builder
/// applied log and imputation while reading; the scaler is learned here, on the imputed matrix.
pub struct Prepared {
    pub matrix: FeatureMatrix,
    pub imputer: Imputer,
    pub scaler: Scaler,
    pub rows_skipped: u64,
    /// The (nearly) constant columns, left unscaled (the fit's report repeats them).
    pub near_constant: Vec<NearConstant>,
}

/// The in-memory fit's preprocessing: the scaler learned on the whole (imputed) matrix, which it
/// then scales in place. Medians and the robust scale need every value: streaming fits use
/// `Moments` instead and refuse them.
pub fn fit_matrix(built: BuiltMatrix, scale: ScaleMethod) -> Prepared {
    let BuiltMatrix {
        mut matrix,
        imputer,
        rows_skipped,
        near_constant,
    } = built;
    let mut flat = vec![false; matrix.n_cols()];
    near_constant.iter().for_each(|c| flat[c.index] = true);
    let scaler = Scaler::fit_flat(scale, &matrix, &flat);
    scaler.transform(&mut matrix);
    Prepared {
        matrix,
        imputer,
        scaler,
        rows_skipped,
        near_constant,
    }
}

/// Running per-column statistics of non-NULL values (Welford).
#[derive(Clone, Default)]
struct ColumnStats {
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl ColumnStats {
    fn push(&mut self, x: f64) {
        if self.count == 0 {
            self.min = x;
            self.max = x;
        }
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }
}

/// The streaming fits' preprocessing, learned in one pass over rows already in log units (NaN
/// for NULL): per column count, mean, spread, minimum and maximum.
pub struct Moments {
    stats: Vec<ColumnStats>,
    rows: u64,
}

impl Moments {
    pub fn new(d: usize) -> Moments {
        Moments {
            stats: vec![ColumnStats::default(); d],
            rows: 0,
        }
    }

    /// One row that the fit uses (after log; NaN for a NULL that will be imputed).
    pub fn push(&mut self, row: &[f64]) {
        for (s, &x) in self.stats.iter_mut().zip(row) {
            if !x.is_nan() {
                s.push(x);
            }
        }
        self.rows += 1;
    }

    /// Refuses what moments cannot give, before any row is read: medians need every value.
    pub fn supports(impute: ImputeMethod, scale: ScaleMethod) -> CoreResult<()> {
        if scale == ScaleMethod::Robust || impute == ImputeMethod::Median {
            return Err(CoreError::invalid_parameter(
                "method minibatch_kmeans streams the rows: it cannot take medians (scale robust, impute median)",
            )
            .with_hint("Use scale zscore, minmax or none and impute skip, mean or error."));
        }
        Ok(())
    }

    /// The first column without any value, if any.
    pub fn empty_column(&self) -> Option<usize> {
        self.stats.iter().position(|s| s.count == 0)
    }

    /// The imputer and scaler these moments give. Mean imputation only, and the z-score, min-max
    /// or no scale: medians need every value.
    pub fn finish(
        &self,
        impute: ImputeMethod,
        scale: ScaleMethod,
    ) -> CoreResult<(Imputer, Scaler)> {
        Moments::supports(impute, scale)?;
        let d = self.stats.len();
        let imputer = match impute {
            ImputeMethod::Skip => Imputer::Skip,
            ImputeMethod::Error => Imputer::Error,
            ImputeMethod::Mean | ImputeMethod::Median => Imputer::Mean {
                means: self.stats.iter().map(|s| s.mean).collect(),
            },
        };
        // Imputed values sit on the mean: they add rows to the spread's denominator, nothing to
        // its numerator, as when the in-memory path scales the imputed matrix.
        let non_zero = |s: f64| if s > 0.0 && s.is_finite() { s } else { 1.0 };
        let flat = self.flat();
        let (offset, scale_values) = match scale {
            ScaleMethod::Zscore => (
                self.stats.iter().map(|s| s.mean).collect(),
                self.stats
                    .iter()
                    .map(|s| non_zero((s.m2 / self.rows as f64).sqrt()))
                    .collect(),
            ),
            ScaleMethod::Minmax => (
                self.stats.iter().map(|s| s.min).collect(),
                self.stats.iter().map(|s| non_zero(s.max - s.min)).collect(),
            ),
            ScaleMethod::None | ScaleMethod::Robust => (vec![0.0; d], vec![1.0; d]),
        };
        // (Nearly) constant columns stay unscaled, as `Scaler::fit` leaves them.
        let scale_values = scale_values
            .into_iter()
            .zip(&flat)
            .map(|(s, &f)| if f { 1.0 } else { s })
            .collect();
        Ok((
            imputer,
            Scaler {
                method: scale,
                offset,
                scale: scale_values,
            },
        ))
    }

    /// Per column: standard deviation and root mean square over the rows used (imputed values
    /// sit on the mean).
    fn spread(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let rows = self.rows.max(1) as f64;
        self.stats.iter().map(move |s| {
            let var = s.m2 / rows;
            (var.sqrt(), (s.mean * s.mean + var).sqrt())
        })
    }

    fn flat(&self) -> Vec<bool> {
        self.spread()
            .map(|(sd, rms)| self.rows > 0 && is_near_constant(sd, rms))
            .collect()
    }

    /// The (nearly) constant columns (see `scaling::NEAR_CONSTANT`), named by `names`.
    pub fn near_constant(&self, names: &[String]) -> Vec<NearConstant> {
        if self.rows == 0 {
            return Vec::new();
        }
        near_constant_of(self.spread(), names)
    }

    /// Mean variance of the scaled columns (the k-means tolerance's unit).
    pub fn scaled_mean_variance(&self, scaler: &Scaler) -> f64 {
        let d = self.stats.len();
        self.stats
            .iter()
            .zip(&scaler.scale)
            .map(|(s, sc)| s.m2 / self.rows.max(1) as f64 / (sc * sc))
            .sum::<f64>()
            / d as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prep::builder::MatrixBuilder;

    fn names() -> Vec<String> {
        vec!["spend".into(), "visits".into()]
    }

    fn rows() -> Vec<[Option<f64>; 2]> {
        vec![
            [Some(0.0), Some(1.0)],
            [Some(9.0), None],
            [Some(99.0), Some(3.0)],
            [None, Some(5.0)],
        ]
    }

    /// The streaming moments learn the in-memory fit's imputer and scaler (mean imputation,
    /// z-score and min-max), and both apply alike to a new row.
    #[test]
    fn moments_learn_what_the_whole_matrix_learns() {
        let log = vec![true, false];
        for scale in [ScaleMethod::Zscore, ScaleMethod::Minmax, ScaleMethod::None] {
            let mut builder =
                MatrixBuilder::new(names(), ImputeMethod::Mean, usize::MAX).with_log(log.clone());
            let mut moments = Moments::new(2);
            for r in rows() {
                builder.push(&r).unwrap();
                let logged: Vec<f64> = r
                    .iter()
                    .zip(&log)
                    .map(|(v, &l)| match v {
                        Some(x) if l => x.ln_1p(),
                        Some(x) => *x,
                        None => f64::NAN,
                    })
                    .collect();
                moments.push(&logged);
            }
            let whole = fit_matrix(builder.finish().unwrap(), scale);
            let (imputer, scaler) = moments.finish(ImputeMethod::Mean, scale).unwrap();
            let (a, b) = (
                whole.imputer.fill_values().unwrap(),
                imputer.fill_values().unwrap(),
            );
            for j in 0..2 {
                assert!((a[j] - b[j]).abs() < 1e-12);
                assert!((whole.scaler.offset[j] - scaler.offset[j]).abs() < 1e-12);
                assert!(
                    (whole.scaler.scale[j] - scaler.scale[j]).abs() < 1e-12,
                    "{scale:?}"
                );
            }
            let p = Preprocessor::new(log.clone(), imputer, &scaler, names());
            let q = Preprocessor::new(log.clone(), whole.imputer, &whole.scaler, names());
            let (mut x, mut y) = ([20.0, f64::NAN], [20.0, f64::NAN]);
            assert!(p.apply(&mut x).unwrap() && q.apply(&mut y).unwrap());
            assert!((x[0] - y[0]).abs() < 1e-12 && (x[1] - y[1]).abs() < 1e-12);
        }
    }

    /// By hand: log(1 + 9) = ln 10, scaled by offset 1 and scale 2; a NULL takes the fill, then
    /// the scale; under skip a NULL row is no row; under error it names the column.
    #[test]
    fn apply_by_hand() {
        let scaler = Scaler {
            method: ScaleMethod::Zscore,
            offset: vec![1.0, 10.0],
            scale: vec![2.0, 5.0],
        };
        let fill = Imputer::Mean {
            means: vec![0.0, 20.0],
        };
        let p = Preprocessor::new(vec![true, false], fill, &scaler, names());
        let mut row = [9.0, f64::NAN];
        assert!(p.apply(&mut row).unwrap());
        assert!((row[0] - (10f64.ln() - 1.0) / 2.0).abs() < 1e-15);
        assert_eq!(row[1], 2.0);
        let skip = Preprocessor::new(vec![false, false], Imputer::Skip, &scaler, names());
        assert!(!skip.apply(&mut [1.0, f64::NAN]).unwrap());
        let error = Preprocessor::new(vec![false, false], Imputer::Error, &scaler, names());
        let e = error.apply(&mut [f64::NAN, 1.0]).unwrap_err();
        assert!(e.message.contains("\"spend\""), "{}", e.message);
        let e = p.apply(&mut [-2.0, 1.0]).unwrap_err();
        assert!(e.message.contains("negative"), "{}", e.message);
    }

    /// The array form reads back to a preprocessor that applies identically; anything else is
    /// refused.
    #[test]
    fn floats_round_trip_and_refuse_other_arrays() {
        let scaler = Scaler {
            method: ScaleMethod::Minmax,
            offset: vec![1.0, -3.5],
            scale: vec![0.25, 7.0],
        };
        for imputer in [
            Imputer::Skip,
            Imputer::Error,
            Imputer::Mean {
                means: vec![0.5, 2.0],
            },
        ] {
            let p = Preprocessor::new(vec![false, true], imputer, &scaler, names());
            let q = Preprocessor::from_floats(&p.to_floats()).unwrap();
            for raw in [[3.0, 4.0], [f64::NAN, 1.0], [2.0, f64::NAN]] {
                let (mut a, mut b) = (raw, raw);
                let (ra, rb) = (
                    p.apply(&mut a).is_ok_and(|x| x),
                    q.apply(&mut b).is_ok_and(|x| x),
                );
                assert_eq!(ra, rb);
                if ra {
                    assert_eq!(a, b);
                }
            }
        }
        let good =
            Preprocessor::new(vec![false, false], Imputer::Skip, &scaler, names()).to_floats();
        let mut wrong_version = good.clone();
        wrong_version[0] = 2.0;
        let mut zero_scale = good.clone();
        zero_scale[good.len() - 1] = f64::INFINITY;
        for bad in [
            vec![],
            good[..good.len() - 1].to_vec(),
            wrong_version,
            zero_scale,
        ] {
            assert!(Preprocessor::from_floats(&bad).is_err());
        }
    }

    /// The streaming moments find the (nearly) constant columns the whole matrix does, and leave
    /// them unscaled alike.
    #[test]
    fn moments_find_the_nearly_constant_columns() {
        let names: Vec<String> = vec!["flat".into(), "spend".into()];
        let rows = [
            [1.0, 3.0],
            [1.0 + 2e-9, 9.0],
            [1.0, 27.0],
            [1.0 - 2e-9, 81.0],
        ];
        for scale in [ScaleMethod::Zscore, ScaleMethod::Minmax] {
            let mut builder = MatrixBuilder::new(names.clone(), ImputeMethod::Mean, usize::MAX);
            let mut moments = Moments::new(2);
            for r in rows {
                builder.push(&[Some(r[0]), Some(r[1])]).unwrap();
                moments.push(&r);
            }
            let built = builder.finish().unwrap();
            assert_eq!(built.near_constant.len(), 1);
            let streamed = moments.near_constant(&names);
            assert_eq!(streamed.len(), 1);
            assert_eq!(
                (streamed[0].index, &streamed[0].column),
                (0, &built.near_constant[0].column)
            );
            assert!((streamed[0].sd / built.near_constant[0].sd - 1.0).abs() < 1e-6);
            let whole = fit_matrix(built, scale);
            let (_, scaler) = moments.finish(ImputeMethod::Mean, scale).unwrap();
            assert_eq!(whole.scaler.scale[0], 1.0);
            assert_eq!(scaler.scale[0], 1.0);
            assert!((whole.scaler.scale[1] - scaler.scale[1]).abs() < 1e-9);
            assert_eq!(whole.near_constant[0].column, "flat");
        }
    }
}
