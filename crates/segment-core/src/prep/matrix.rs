//! The feature matrix: one contiguous row-major block of f64 (what the k-means kernel and ndarray
//! views want). `builder` fills it row by row while a source is read.

use crate::error::{pg_float_text, CoreError, CoreResult, ErrorKind};

/// Rows × columns of f64, row-major, contiguous (what the k-means kernel and ndarray views want).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    data: Vec<f64>,
    n_cols: usize,
}

impl FeatureMatrix {
    pub fn from_rows(data: Vec<f64>, n_cols: usize) -> FeatureMatrix {
        assert!(
            n_cols > 0 && data.len().is_multiple_of(n_cols),
            "ragged matrix"
        );
        FeatureMatrix { data, n_cols }
    }

    pub fn n_rows(&self) -> usize {
        self.data.len() / self.n_cols
    }

    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.n_cols..(i + 1) * self.n_cols]
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [f64] {
        &mut self.data
    }

    /// The rows at `rows` (indexes), in that order, as a matrix of their own.
    pub fn select_rows(&self, rows: &[usize]) -> FeatureMatrix {
        let mut data = Vec::with_capacity(rows.len() * self.n_cols);
        for &i in rows {
            data.extend_from_slice(self.row(i));
        }
        FeatureMatrix::from_rows(data, self.n_cols)
    }

    pub fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.data.chunks_exact(self.n_cols)
    }
}

/// Bytes a matrix of `rows` × `cols` f64 takes.
/// Copies a source row into raw values, NULL as NaN (what `Assigner` expects). A NaN or
/// infinite value is refused naming its column (`columns`: the matrix column names): in the raw
/// row NaN means NULL, so it must not pass as one.
#[inline]
pub fn fill_nan(row: &mut [f64], values: &[Option<f64>], columns: &[String]) -> CoreResult<()> {
    for (j, (slot, v)) in row.iter_mut().zip(values).enumerate() {
        *slot = match v {
            None => f64::NAN,
            Some(x) if x.is_finite() => *x,
            Some(x) => return Err(not_finite(&columns[j], *x)),
        };
    }
    Ok(())
}

/// The error of a NaN or infinite value in a feature column.
#[cold]
pub fn not_finite(column: &str, x: f64) -> CoreError {
    CoreError::new(
        ErrorKind::InvalidData,
        format!("feature column \"{column}\" contains {}", pg_float_text(x)),
    )
    .with_hint(
        "Filter those rows out with a view, or replace the value with NULL \
         (NULLs follow the impute option).",
    )
}

/// Bytes a matrix of `rows` × `cols` f64 takes.
pub fn matrix_bytes(rows: usize, cols: usize) -> usize {
    rows.saturating_mul(cols)
        .saturating_mul(std::mem::size_of::<f64>())
}
