//! Builds a `FeatureMatrix` row by row while the source is read, with the NULL policy (`impute`)
//! and the finiteness check applied on the way in.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::prep::matrix::{matrix_bytes, not_finite, FeatureMatrix};
use crate::prep::scaling::{
    check_log_input, near_constant_columns, ImputeMethod, Imputer, NearConstant,
};

/// Checks one source row before it is used: NaN and ±Infinity are refused (naming the column),
/// so are negative values of log columns, and NULLs under `impute = error`. Returns whether the
/// row has a NULL.
pub fn check_row(
    names: &[String],
    log: &[bool],
    impute: ImputeMethod,
    values: &[Option<f64>],
) -> CoreResult<bool> {
    debug_assert_eq!(values.len(), names.len());
    let mut has_null = false;
    for (j, v) in values.iter().enumerate() {
        match v {
            Some(x) if !x.is_finite() => return Err(not_finite(&names[j], *x)),
            Some(x) if log[j] => check_log_input(&names[j], *x)?,
            Some(_) => {}
            None => {
                has_null = true;
                if impute == ImputeMethod::Error {
                    return Err(CoreError::new(
                        ErrorKind::NullValue,
                        format!("feature column \"{}\" contains NULL", names[j]),
                    )
                    .with_hint(
                        r#"Use options '{"impute": "skip"}' to leave such rows out or '{"impute": "mean"}' to fill them."#,
                    ));
                }
            }
        }
    }
    Ok(has_null)
}

/// Collects rows as they are read. NULLs arrive as `None`.
pub struct MatrixBuilder {
    names: Vec<String>,
    impute: ImputeMethod,
    max_bytes: usize,
    data: Vec<f64>,
    rows_skipped: u64,
    /// Per column: count of NULLs seen in kept rows (only with `impute = mean`).
    nulls_per_column: Vec<u64>,
    /// Per column: replace x by log(1 + x) on the way in (the `log` option).
    log: Vec<bool>,
}

impl MatrixBuilder {
    pub fn new(names: Vec<String>, impute: ImputeMethod, max_bytes: usize) -> MatrixBuilder {
        let n = names.len();
        assert!(n > 0, "a matrix needs at least one column");
        MatrixBuilder {
            names,
            impute,
            max_bytes,
            data: Vec::new(),
            rows_skipped: 0,
            nulls_per_column: vec![0; n],
            log: vec![false; n],
        }
    }

    /// Columns to take as log(1 + x) (NULLs stay NULL; means for imputation are in log units).
    pub fn with_log(mut self, log: Vec<bool>) -> MatrixBuilder {
        assert_eq!(log.len(), self.names.len());
        self.log = log;
        self
    }

    pub fn rows_read(&self) -> u64 {
        (self.data.len() / self.names.len()) as u64 + self.rows_skipped
    }

    /// Adds one source row. Rejects NaN and ±Infinity (naming the column); applies the NULL policy.
    /// Returns whether the row was kept (false: skipped for a NULL).
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<bool> {
        let has_null = check_row(&self.names, &self.log, self.impute, values)?;
        if has_null && self.impute == ImputeMethod::Skip {
            self.rows_skipped += 1;
            return Ok(false);
        }
        if matrix_bytes(self.data.len() / self.names.len() + 1, self.names.len()) > self.max_bytes {
            return Err(CoreError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "the feature matrix would exceed customer_segment.max_memory_mb ({} MB) after {} rows",
                    self.max_bytes / (1024 * 1024),
                    self.data.len() / self.names.len()
                ),
            )
            .with_hint(
                "Raise customer_segment.max_memory_mb, or fit on a smaller view of the source.",
            ));
        }
        for (j, v) in values.iter().enumerate() {
            match v {
                Some(x) if self.log[j] => self.data.push(x.ln_1p()),
                Some(x) => self.data.push(*x),
                None => {
                    // NaN marks a NULL: real NaNs were rejected above, so the marker is unambiguous.
                    self.nulls_per_column[j] += 1;
                    self.data.push(f64::NAN);
                }
            }
        }
        Ok(true)
    }

    /// Ends reading: fills NULLs by the impute policy and returns the matrix with its imputer.
    pub fn finish(self) -> CoreResult<BuiltMatrix> {
        let n_cols = self.names.len();
        let mut matrix = FeatureMatrix::from_rows(self.data, n_cols);
        let imputer = match self.impute {
            ImputeMethod::Skip => Imputer::Skip,
            ImputeMethod::Error => Imputer::Error,
            ImputeMethod::Mean | ImputeMethod::Median => {
                let n = matrix.n_rows() as u64;
                if let Some(j) = (0..n_cols).find(|&j| n > 0 && self.nulls_per_column[j] == n) {
                    return Err(CoreError::new(
                        ErrorKind::InsufficientData,
                        format!("feature column \"{}\" is NULL in every row", self.names[j]),
                    )
                    .with_hint("Remove the column from the features array."));
                }
                let mut column = Vec::new();
                let values: Vec<f64> = (0..n_cols)
                    .map(|j| {
                        column.clear();
                        column.extend(matrix.rows().map(|r| r[j]).filter(|x| !x.is_nan()));
                        if column.is_empty() {
                            0.0
                        } else if self.impute == ImputeMethod::Mean {
                            column.iter().sum::<f64>() / column.len() as f64
                        } else {
                            column.sort_by(f64::total_cmp);
                            crate::prep::scaling::percentile(&column, 50.0)
                        }
                    })
                    .collect();
                if self.nulls_per_column.iter().any(|&c| c > 0) {
                    for row in matrix.as_mut_slice().chunks_exact_mut(n_cols) {
                        for (x, m) in row.iter_mut().zip(&values) {
                            if x.is_nan() {
                                *x = *m;
                            }
                        }
                    }
                }
                if self.impute == ImputeMethod::Mean {
                    Imputer::Mean { means: values }
                } else {
                    Imputer::Median { medians: values }
                }
            }
        };
        Ok(BuiltMatrix {
            near_constant: near_constant_columns(&matrix, &self.names),
            matrix,
            imputer,
            rows_skipped: self.rows_skipped,
        })
    }
}

pub struct BuiltMatrix {
    pub matrix: FeatureMatrix,
    pub imputer: Imputer,
    pub rows_skipped: u64,
    /// Its (nearly) constant columns: every fit warns about them, and scaling leaves them be.
    pub near_constant: Vec<NearConstant>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn skip_counts_rows_with_nulls() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Skip, usize::MAX);
        b.push(&[Some(1.0), Some(2.0)]).unwrap();
        b.push(&[None, Some(2.0)]).unwrap();
        b.push(&[Some(3.0), Some(4.0)]).unwrap();
        assert_eq!(b.rows_read(), 3);
        let built = b.finish().unwrap();
        assert_eq!(built.matrix.as_slice(), &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(built.rows_skipped, 1);
        assert_eq!(built.imputer, Imputer::Skip);
    }

    #[test]
    fn mean_fills_nulls_with_the_column_mean() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Mean, usize::MAX);
        b.push(&[Some(1.0), None]).unwrap();
        b.push(&[Some(3.0), Some(10.0)]).unwrap();
        b.push(&[None, Some(20.0)]).unwrap();
        let built = b.finish().unwrap();
        assert_eq!(built.matrix.as_slice(), &[1.0, 15.0, 3.0, 10.0, 2.0, 20.0]);
        assert_eq!(
            built.imputer,
            Imputer::Mean {
                means: vec![2.0, 15.0]
            }
        );
    }

    #[test]
    fn median_fills_nulls_with_the_column_median() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Median, usize::MAX);
        b.push(&[Some(1.0), None]).unwrap();
        b.push(&[Some(3.0), Some(10.0)]).unwrap();
        b.push(&[None, Some(20.0)]).unwrap();
        b.push(&[Some(100.0), Some(40.0)]).unwrap();
        let built = b.finish().unwrap();
        // a: median of 1, 3, 100 = 3; b: median of 10, 20, 40 = 20
        assert_eq!(
            built.imputer,
            Imputer::Median {
                medians: vec![3.0, 20.0]
            }
        );
        assert_eq!(built.matrix.row(0), &[1.0, 20.0]);
        assert_eq!(built.matrix.row(2), &[3.0, 20.0]);
    }

    #[test]
    fn mean_of_an_all_null_column_is_an_error_naming_it() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Mean, usize::MAX);
        b.push(&[Some(1.0), None]).unwrap();
        let e = b.finish().err().unwrap();
        assert!(e.message.contains("\"b\""), "{}", e.message);
    }

    #[test]
    fn error_policy_names_the_column() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Error, usize::MAX);
        let e = b.push(&[Some(1.0), None]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NullValue);
        assert!(e.message.contains("\"b\""));
    }

    #[test]
    fn non_finite_values_are_rejected_by_column() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut b = MatrixBuilder::new(names(), ImputeMethod::Skip, usize::MAX);
            let e = b.push(&[Some(bad), Some(1.0)]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidData);
            assert!(e.message.contains("\"a\""));
        }
    }

    #[test]
    fn log_columns_are_log1p_and_negative_values_refused() {
        let mut b =
            MatrixBuilder::new(names(), ImputeMethod::Skip, usize::MAX).with_log(vec![false, true]);
        b.push(&[Some(-5.0), Some(0.0)]).unwrap();
        b.push(&[Some(1.0), Some(std::f64::consts::E - 1.0)])
            .unwrap();
        let e = b.push(&[Some(1.0), Some(-0.5)]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidData);
        assert!(
            e.message.contains("\"b\"") && e.message.contains("-0.5"),
            "{}",
            e.message
        );
        let m = b.finish().unwrap().matrix;
        assert_eq!(m.row(0), &[-5.0, 0.0]);
        assert!((m.row(1)[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn memory_limit_is_enforced() {
        let mut b = MatrixBuilder::new(names(), ImputeMethod::Skip, 32);
        b.push(&[Some(1.0), Some(2.0)]).unwrap();
        b.push(&[Some(1.0), Some(2.0)]).unwrap();
        let e = b.push(&[Some(1.0), Some(2.0)]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
    }
}
