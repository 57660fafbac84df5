//! Rows of a source read through a stored model's own preprocessing (log, imputation, scaling
//! as stored), each with the segment the model gives it: what `segment_evaluate` scores and
//! `segment_stability` resamples. They are held in scaled units, so they are bounded by
//! `max_bytes` (`customer_segment.max_memory_mb`) while they arrive.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::assigner::Assigner;
use crate::prep::matrix::{fill_nan, matrix_bytes, FeatureMatrix};

pub struct LabelledRows {
    assigner: Assigner,
    data: Vec<f64>,
    labels: Vec<u32>,
    rows_skipped: u64,
    max_bytes: usize,
    /// What the rows are for and how to need fewer, for the error past `max_bytes`: "the rows
    /// to evaluate", "Raise customer_segment.max_memory_mb, or ...".
    purpose: &'static str,
    hint: &'static str,
    row: Vec<f64>,
    scratch: Vec<f64>,
}

impl LabelledRows {
    pub fn new(
        assigner: Assigner,
        max_bytes: usize,
        purpose: &'static str,
        hint: &'static str,
    ) -> LabelledRows {
        let (d, k) = (assigner.n_columns(), assigner.k());
        LabelledRows {
            assigner,
            data: Vec::new(),
            labels: Vec::new(),
            rows_skipped: 0,
            max_bytes,
            purpose,
            hint,
            row: vec![0.0; d],
            scratch: vec![0.0; k],
        }
    }

    /// One source row as matrix columns, NULLs as None. A row whose NULL the model skips is
    /// counted, not kept.
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        fill_nan(&mut self.row, values, self.assigner.columns())?;
        let Some(label) = self.assigner.label_raw(&mut self.row, &mut self.scratch)? else {
            self.rows_skipped += 1;
            return Ok(());
        };
        let d = self.row.len();
        if matrix_bytes(self.labels.len() + 1, d + 1) > self.max_bytes {
            return Err(CoreError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "{} would exceed customer_segment.max_memory_mb ({} MB) after {} rows",
                    self.purpose,
                    self.max_bytes / (1024 * 1024),
                    self.labels.len()
                ),
            )
            .with_hint(self.hint));
        }
        self.data.extend_from_slice(&self.row);
        self.labels.push(label);
        Ok(())
    }

    /// Rows kept so far.
    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn rows_skipped(&self) -> u64 {
        self.rows_skipped
    }

    pub fn assigner(&self) -> &Assigner {
        &self.assigner
    }

    /// The rows in scaled units, each one's segment, and the assigner that labelled them.
    pub fn into_parts(self) -> (FeatureMatrix, Vec<u32>, Assigner) {
        let d = self.row.len();
        (
            FeatureMatrix::from_rows(self.data, d),
            self.labels,
            self.assigner,
        )
    }
}
