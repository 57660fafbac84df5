//! Living with a model: how the segments of the rows now compare with the training rows
//! (`DriftNow`, for `segment_drift`). The shell feeds the source's rows; the model's own
//! preprocessing assigns each, and the row goes back to original units (imputed as the fit saw
//! it) to be profiled beside the training profile (`analysis::drift`).

use crate::analysis::drift::{advice, drift, Drift};
use crate::analysis::profile::ProfileAccumulator;
use crate::error::CoreResult;
use crate::model::assigner::Assigner;
use crate::model::document::SegmentModel;
use crate::prep::matrix::fill_nan;
use crate::prep::scaling::undo_log;

/// The rows now, profiled by segment as they arrive.
pub struct DriftNow<'m> {
    model: &'m SegmentModel,
    assigner: Assigner,
    log: Vec<bool>,
    profile: ProfileAccumulator,
    row: Vec<f64>,
    raw: Vec<f64>,
    scratch: Vec<f64>,
}

/// What `segment_drift` reports: the drift, each segment's rows now, and the advice from the
/// total PSI.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    pub drift: Drift,
    pub rows_now: Vec<u64>,
    pub advice: &'static str,
}

impl<'m> DriftNow<'m> {
    pub fn new(model: &'m SegmentModel) -> DriftNow<'m> {
        let (k, d) = (model.k(), model.columns().width());
        DriftNow {
            model,
            assigner: model.assigner(),
            log: model.log_mask(),
            profile: ProfileAccumulator::new(k, d),
            row: vec![0.0; d],
            raw: vec![0.0; d],
            scratch: vec![0.0; k],
        }
    }

    /// One source row, NULLs as None. A row the model puts in no segment (a NULL it skips,
    /// DBSCAN noise) counts in no segment's share.
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        fill_nan(&mut self.row, values, self.assigner.columns())?;
        if let Some(label) = self.assigner.label_raw(&mut self.row, &mut self.scratch)? {
            self.raw.copy_from_slice(&self.row);
            self.model.scaler.inverse_row(&mut self.raw);
            undo_log(&self.log, &mut self.raw);
            self.profile.push(&self.raw, label);
        }
        Ok(())
    }

    pub fn finish(self) -> DriftReport {
        let k = self.model.k();
        let now = self.profile.finish(vec![vec![]; k]);
        let drift = drift(&self.model.profile, &now);
        DriftReport {
            advice: advice(drift.psi_total),
            rows_now: now.sizes,
            drift,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    #[test]
    fn drift_by_hand() {
        // The tiny model's training rows: two in each segment (a = 0 and a = 10), sd of a 5.
        let model = tiny_model();
        let mut now = DriftNow::new(&model);
        for a in [0.0, 0.0, 2.0, 10.0] {
            now.push(&[Some(a), Some(0.0)]).unwrap();
        }
        let report = now.finish();
        assert_eq!(report.rows_now, vec![3, 1]);
        let s = &report.drift.segments;
        assert_eq!((s[0].share_fit, s[0].share_now), (0.5, 0.75));
        // PSI = 0.25 ln 1.5 + 0.25 ln 2, above the refit threshold 0.25.
        let psi = 0.25 * 1.5f64.ln() + 0.25 * 2f64.ln();
        assert!((report.drift.psi_total - psi).abs() < 1e-12, "{report:?}");
        assert_eq!(report.advice, "refit");
        // Segment 0's mean of a moved from 0 to 2/3: 2/15 training sds, in original units.
        let shift = s[0].mean_shift[0].unwrap();
        assert!((shift - 2.0 / 15.0).abs() < 1e-12, "{shift}");
        assert_eq!(s[1].mean_shift[0], Some(0.0));
    }
}
