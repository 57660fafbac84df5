//! An incremental update (`segment_update`): a new version whose centres are the current ones
//! moved by new rows only, without reading the rows the model was fitted on — streaming
//! k-means' rule (as Spark's `StreamingKMeans` states it, and scikit-learn's
//! `MiniBatchKMeans.partial_fit` with a forgetting factor of 1):
//!
//! ```text
//! w' = a w + m          c' = (a w c + s) / w'
//! ```
//!
//! per segment, where `c` is its centre, `w` the rows it stands for (at a first update its
//! training rows), `m` and `s` the count and sum of the new rows nearest to it, and `a` in
//! (0, 1] the forgetting factor: with 1 every row ever seen weighs the same, with 0.5 the rows
//! before this batch count half. The model's scaling is kept (the new rows are scaled as the
//! training rows were), so units and ids stay put.
//!
//! How far each centre moved is measured against the spread of its new rows (their root mean
//! squared distance to the old centre): beyond `refit_shift` times that, the segment has
//! changed enough that a full refit (or a warm start) should look at it again.
//!
//! The new version's profile describes the new rows (their segments under the new centres);
//! its anomaly threshold is the current version's, the same yardstick as before.

use crate::analysis::profile::Profile;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{MethodRule, SegmentModel};
use crate::params::{Given, Key, Kind};
use crate::prep::matrix::{fill_nan, FeatureMatrix};
use crate::prep::preprocessor::Preprocessor;

/// The options of `segment_update`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UpdateParams {
    /// `a` above: how much the rows before this batch still weigh.
    pub forgetting: f64,
    /// A centre that moved more than this many times its new rows' spread is reported.
    pub refit_shift: f64,
}

impl Default for UpdateParams {
    fn default() -> Self {
        UpdateParams {
            forgetting: 1.0,
            refit_shift: 0.5,
        }
    }
}

const KEYS: [Key; 2] = [
    Key::new("forgetting", Kind::Number),
    Key::new("refit_shift", Kind::Number),
];

impl UpdateParams {
    /// `segment_update`'s options (a JSON object), checked.
    pub fn read(text: &str) -> CoreResult<UpdateParams> {
        let given = Given::from_json(
            text,
            Some(r#"Pass options like '{"forgetting": 0.9}'."#),
            &KEYS,
        )?;
        let d = UpdateParams::default();
        let p = UpdateParams {
            forgetting: given.number("forgetting").unwrap_or(d.forgetting),
            refit_shift: given.number("refit_shift").unwrap_or(d.refit_shift),
        };
        if !(p.forgetting > 0.0 && p.forgetting <= 1.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option forgetting must be above 0 and at most 1, not {}",
                p.forgetting
            ))
            .with_hint("1 weighs every row ever seen alike; 0.5 halves the weight of the rows before this batch."));
        }
        if !(p.refit_shift.is_finite() && p.refit_shift > 0.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option refit_shift must be a number above 0, not {}",
                p.refit_shift
            ))
            .with_hint("It is a share of a segment's spread, e.g. 0.5."));
        }
        Ok(p)
    }
}

/// The new rows, read one by one and put in the model's scaled units.
pub struct UpdateRows {
    prep: Preprocessor,
    row: Vec<f64>,
    data: Vec<f64>,
    /// Rows the model skips (a NULL feature under `impute: skip`).
    pub skipped: u64,
    max_bytes: u64,
}

impl UpdateRows {
    /// Refuses the models an update does not apply to (it moves centres: k-means and
    /// minibatch_kmeans). `max_bytes` bounds the rows held.
    pub fn new(model: &SegmentModel, max_bytes: u64) -> CoreResult<UpdateRows> {
        match model.rule {
            MethodRule::Kmeans | MethodRule::MinibatchKmeans => {}
            _ => {
                return Err(CoreError::new(
                    ErrorKind::WrongModel,
                    format!(
                        "segment_update moves k-means centres: a {} model has more than centres to move",
                        model.rule.method().name()
                    ),
                )
                .with_hint("Refit it on the old and new rows, with {\"warm_start\": true} to start from the current version (kmeans, gmm, kprototypes)."))
            }
        }
        Ok(UpdateRows {
            prep: model.preprocessor(),
            row: vec![0.0; model.columns().width()],
            data: Vec::new(),
            skipped: 0,
            max_bytes,
        })
    }

    /// One source row, NULLs as None.
    pub fn push(&mut self, values: &[Option<f64>]) -> CoreResult<()> {
        fill_nan(&mut self.row, values, self.prep.columns())?;
        if !self.prep.apply(&mut self.row)? {
            self.skipped += 1;
            return Ok(());
        }
        if ((self.data.len() + self.row.len()) * 8) as u64 > self.max_bytes {
            return Err(CoreError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "segment_update holds the new rows, and they need more than customer_segment.max_memory_mb ({} MB)",
                    self.max_bytes / (1024 * 1024)
                ),
            )
            .with_hint("Update in smaller batches (a view per week, say), or raise customer_segment.max_memory_mb (up to customer_segment.max_memory_mb_limit)."));
        }
        self.data.extend_from_slice(&self.row);
        Ok(())
    }

    fn into_matrix(self) -> FeatureMatrix {
        FeatureMatrix::from_rows(self.data, self.row.len())
    }
}

/// How one segment moved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shift {
    /// New rows nearest to its old centre.
    pub rows: u64,
    /// Distance between the old and the new centre, in scaled units.
    pub distance: f64,
    /// Root mean squared distance of those rows to the old centre (None without rows).
    pub spread: Option<f64>,
}

impl Shift {
    /// The move as a share of the spread (None without rows).
    pub fn share(&self) -> Option<f64> {
        self.spread.filter(|s| *s > 0.0).map(|s| self.distance / s)
    }
}

/// What an update made.
#[derive(Debug, Clone, PartialEq)]
pub struct Updated {
    pub model: SegmentModel,
    /// Per segment.
    pub shifts: Vec<Shift>,
    /// The segments that moved more than `refit_shift` of their spread.
    pub moved: Vec<u32>,
    pub rows_used: u64,
    pub rows_skipped: u64,
    /// Sum of squared distances of the new rows to their new centres.
    pub inertia: f64,
}

/// Moves `previous`'s centres by the new `rows` (see the module documentation).
pub fn update(
    previous: &SegmentModel,
    rows: UpdateRows,
    params: UpdateParams,
    check: &mut dyn FnMut(),
) -> CoreResult<Updated> {
    let rows_skipped = rows.skipped;
    let x = rows.into_matrix();
    let (k, d, n) = (previous.k(), x.n_cols(), x.n_rows());
    if n == 0 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "segment_update found no usable new rows",
        )
        .with_hint("Pass a relation with the new customers' rows (a NULL feature skips a row under impute skip)."));
    }
    let old = previous.assigner();
    let mut scratch = vec![0.0; k];
    let mut counts = vec![0u64; k];
    let mut sums = vec![0.0; k * d];
    let mut squares = vec![0.0; k];
    for (i, row) in x.rows().enumerate() {
        if i % 65_536 == 0 {
            check();
        }
        let c = old.label_scaled(row, &mut scratch) as usize;
        counts[c] += 1;
        let centre = &previous.centres[c];
        let mut d2 = 0.0;
        for ((s, v), m) in sums[c * d..(c + 1) * d].iter_mut().zip(row).zip(centre) {
            *s += v;
            d2 += (v - m) * (v - m);
        }
        squares[c] += d2;
    }
    let weights: Vec<f64> = match &previous.weights {
        Some(w) => w.clone(),
        None => previous.profile.sizes.iter().map(|&s| s as f64).collect(),
    };
    let a = params.forgetting;
    let mut model = previous.clone();
    let mut new_weights = Vec::with_capacity(k);
    let mut shifts = Vec::with_capacity(k);
    for c in 0..k {
        let w = a * weights.get(c).copied().unwrap_or(0.0) + counts[c] as f64;
        new_weights.push(w);
        if counts[c] > 0 && w > 0.0 {
            let centre = &mut model.centres[c];
            for (j, v) in centre.iter_mut().enumerate() {
                *v = (a * weights.get(c).copied().unwrap_or(0.0) * *v + sums[c * d + j]) / w;
            }
        }
        let distance = model.centres[c]
            .iter()
            .zip(&previous.centres[c])
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt();
        shifts.push(Shift {
            rows: counts[c],
            distance,
            spread: (counts[c] > 0).then(|| (squares[c] / counts[c] as f64).sqrt()),
        });
    }
    model.weights = Some(new_weights);
    check();
    // The new rows under the new centres: the profile of the new version, and its inertia.
    let new = model.assigner();
    let mut labels = Vec::with_capacity(n);
    let mut inertia = 0.0;
    for (i, row) in x.rows().enumerate() {
        if i % 65_536 == 0 {
            check();
        }
        let c = new.label_scaled(row, &mut scratch);
        inertia += row
            .iter()
            .zip(&model.centres[c as usize])
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>();
        labels.push(c);
    }
    model.profile =
        Profile::measure_checked(&x, &labels, k, &model.scaler, &model.log_mask(), check);
    let moved = shifts
        .iter()
        .enumerate()
        .filter(|(_, s)| s.share().is_some_and(|r| r > params.refit_shift))
        .map(|(c, _)| c as u32)
        .collect();
    Ok(Updated {
        model,
        shifts,
        moved,
        rows_used: n as u64,
        rows_skipped,
        inertia,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    fn rows(model: &SegmentModel, values: &[[f64; 2]]) -> UpdateRows {
        let mut r = UpdateRows::new(model, u64::MAX).unwrap();
        for v in values {
            r.push(&[Some(v[0]), Some(v[1])]).unwrap();
        }
        r
    }

    #[test]
    fn centres_move_by_the_streaming_rule() {
        // The tiny model: zscore a with offset 5, scale 5; centres -1 and 1 (a = 0 and a = 10),
        // two training rows each.
        let model = tiny_model();
        let new = [[2.0, 0.0], [4.0, 0.0], [10.0, 0.0]];
        let up = update(
            &model,
            rows(&model, &new),
            UpdateParams::default(),
            &mut || {},
        )
        .unwrap();
        // Segment 0: rows a = 2 and 4 (scaled -0.6, -0.2): (2 * -1 + -0.8) / 4 = -0.7.
        assert!(
            (up.model.centres[0][0] + 0.7).abs() < 1e-12,
            "{:?}",
            up.model.centres
        );
        // Segment 1: row a = 10 (scaled 1): stays at 1, weight 3.
        assert!((up.model.centres[1][0] - 1.0).abs() < 1e-12);
        assert_eq!(up.model.weights, Some(vec![4.0, 3.0]));
        assert_eq!((up.shifts[0].rows, up.shifts[1].rows), (2, 1));
        // Spread of segment 0's new rows about -1: sqrt((0.16 + 0.64) / 2) = sqrt(0.4).
        let s = up.shifts[0];
        assert!((s.distance - 0.3).abs() < 1e-12);
        assert!((s.spread.unwrap() - 0.4f64.sqrt()).abs() < 1e-12);
        // 0.3 / 0.632 = 0.47: below the default 0.5.
        assert!(up.moved.is_empty());
        // Forgetting 0.5: (0.5 * 2 * -1 + -0.8) / 3 = -0.6.
        let p = UpdateParams {
            forgetting: 0.5,
            ..UpdateParams::default()
        };
        let up = update(&model, rows(&model, &new), p, &mut || {}).unwrap();
        assert!((up.model.centres[0][0] + 0.6).abs() < 1e-12);
        assert_eq!(up.moved, vec![0]); // 0.4 / 0.632 = 0.63 > 0.5
        assert_eq!(up.model.profile.sizes, vec![2, 1]);
        // A second update starts from the stored weights, not the profile's sizes.
        let again = update(
            &up.model,
            rows(&up.model, &[[10.0, 0.0]]),
            UpdateParams::default(),
            &mut || {},
        )
        .unwrap();
        assert_eq!(again.model.weights, Some(vec![3.0, 3.0]));
    }

    #[test]
    fn bad_options_and_inputs_are_refused() {
        for (text, starts) in [
            (r#"{"forgetting": 0}"#, "option forgetting"),
            (r#"{"forgetting": 1.5}"#, "option forgetting"),
            (r#"{"refit_shift": -1}"#, "option refit_shift"),
        ] {
            let e = UpdateParams::read(text).unwrap_err();
            assert!(e.message.starts_with(starts), "{}", e.message);
        }
        assert!(UpdateParams::read(r#"{"forgeting": 0.5}"#).is_err());
        let model = tiny_model();
        let e = update(
            &model,
            rows(&model, &[]),
            UpdateParams::default(),
            &mut || {},
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
        let mut small = UpdateRows::new(&model, 20).unwrap();
        small.push(&[Some(1.0), Some(1.0)]).unwrap();
        let e = small.push(&[Some(1.0), Some(1.0)]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
    }
}
