//! One Lloyd step of k-means as a sum that can be split and merged: per centre, the sum and the
//! count of the rows nearest to it, and the rows' squared distances. This is the state of the SQL
//! aggregate `segment_kmeans_step`, so PostgreSQL's parallel aggregation (and a distributed
//! PostgreSQL such as Citus) can compute a step in pieces and combine them; `drive` runs whole
//! k-means fits on top of any such step function.
//!
//! The in-memory fit (`kmeans`) does the same arithmetic on a matrix it holds; with the same
//! starts, the two reach the same centres up to the order of floating-point sums.

use crate::cluster::kmeans::{self, Centres, MAX_K};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::prep::matrix::FeatureMatrix;
use crate::prep::preprocessor::Preprocessor;
use crate::progress::{self, Progress};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// The sums of one step over some rows.
#[derive(Debug, Clone)]
pub struct StepState {
    centres: Centres,
    sums: Vec<f64>,
    counts: Vec<u64>,
    inertia: f64,
    rows: u64,
    scratch: Vec<f64>,
    /// The row being added by `add_values` (kept to avoid an allocation per row).
    row: Vec<f64>,
    /// Raw rows (`add_raw`) go through it first: the step of a model's own preprocessing.
    prep: Option<Preprocessor>,
}

/// A finished step: what the aggregate returns (as JSON) and the driver reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Rows that took part.
    pub rows: u64,
    /// Sum of squared distances of the rows to their nearest given centre.
    pub inertia: f64,
    /// Rows nearest to each given centre.
    pub counts: Vec<u64>,
    /// The next centres: the mean of each centre's rows (a centre without rows stays put).
    pub centres: Vec<Vec<f64>>,
}

fn bad(message: impl Into<String>) -> CoreError {
    CoreError::invalid_parameter(message)
}

/// Serialized form: a tag, then k, d, rows (u64), inertia, centres, sums (f64), counts (u64),
/// little-endian.
const TAG: &[u8; 8] = b"cskstep1";

impl StepState {
    /// A step from `centres` (k rows of `d` values, row-major).
    pub fn new(centres: &[f64], d: usize) -> CoreResult<StepState> {
        if d == 0 || centres.is_empty() || !centres.len().is_multiple_of(d) {
            return Err(bad(format!(
                "segment_kmeans_step: {} centre values do not make rows of {d} features",
                centres.len()
            ))
            .with_hint(
                "Pass the centres as one array of k x d values (or a k x d array), row after row.",
            ));
        }
        let k = centres.len() / d;
        if k > MAX_K {
            return Err(bad(format!(
                "segment_kmeans_step: {k} centres, at most {MAX_K}"
            )));
        }
        if centres.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::new(
                ErrorKind::InvalidData,
                "segment_kmeans_step: a centre is not finite",
            ));
        }
        Ok(StepState {
            centres: Centres::new(centres.to_vec(), d),
            sums: vec![0.0; k * d],
            counts: vec![0; k],
            inertia: 0.0,
            rows: 0,
            scratch: vec![0.0; k],
            row: Vec::with_capacity(d),
            prep: None,
        })
    }

    /// A step over raw rows that `prep` (of width `d`) turns into scaled ones.
    pub fn with_preprocessor(centres: &[f64], prep: Preprocessor) -> CoreResult<StepState> {
        let mut state = StepState::new(centres, prep.width())?;
        state.prep = Some(prep);
        Ok(state)
    }

    pub fn d(&self) -> usize {
        self.centres.d()
    }

    /// Adds one row (already scaled like the centres).
    pub fn add(&mut self, row: &[f64]) -> CoreResult<()> {
        let d = self.d();
        if row.len() != d {
            return Err(bad(format!(
                "segment_kmeans_step: a row has {} features, the centres have {d}",
                row.len()
            )));
        }
        if row.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::new(
                ErrorKind::InvalidData,
                "segment_kmeans_step: a feature is NaN or infinite",
            )
            .with_hint("Filter such rows out, or leave NULL features out with a WHERE clause."));
        }
        let (c, dist) = self.centres.nearest(row, &mut self.scratch);
        let c = c as usize;
        self.counts[c] += 1;
        self.inertia += dist;
        self.rows += 1;
        for (s, v) in self.sums[c * d..(c + 1) * d].iter_mut().zip(row) {
            *s += v;
        }
        Ok(())
    }

    /// Adds one row given with its NULLs: a row with a NULL feature is left out (`Ok(false)`).
    pub fn add_values(&mut self, values: impl Iterator<Item = Option<f64>>) -> CoreResult<bool> {
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        let mut complete = true;
        for v in values {
            match v {
                Some(x) => row.push(x),
                None => complete = false,
            }
        }
        let added = if complete {
            self.add(&row).map(|_| true)
        } else {
            Ok(false)
        };
        self.row = row;
        added
    }

    /// Adds one raw row (NULL as None) through the state's preprocessing: log, imputation,
    /// scaling. A row the preprocessing skips (a NULL under impute skip) is left out (`Ok(false)`).
    pub fn add_raw(&mut self, values: impl Iterator<Item = Option<f64>>) -> CoreResult<bool> {
        let Some(prep) = &self.prep else {
            return Err(bad("segment_kmeans_step: this step has no preprocessing"));
        };
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        let mut not_finite = None;
        row.extend(values.map(|v| match v {
            Some(x) if !x.is_finite() => {
                not_finite.get_or_insert(x);
                f64::NAN
            }
            other => other.unwrap_or(f64::NAN),
        }));
        let added = if let Some(x) = not_finite {
            // NaN in the row stands for NULL: a NaN value must not pass as one.
            Err(CoreError::new(
                ErrorKind::InvalidData,
                format!(
                    "segment_kmeans_step: a feature is {}",
                    crate::error::pg_float_text(x)
                ),
            )
            .with_hint("Filter such rows out; NULL features follow the model's impute rule."))
        } else if row.len() != prep.width() {
            Err(bad(format!(
                "segment_kmeans_step: a row has {} features, the preprocessing {}",
                row.len(),
                prep.width()
            )))
        } else {
            match prep.apply(&mut row) {
                Ok(true) => self.add(&row).map(|_| true),
                other => other,
            }
        };
        self.row = row;
        added
    }

    /// Adds another part of the same step.
    pub fn merge(&mut self, other: &StepState) -> CoreResult<()> {
        if self.centres != other.centres {
            return Err(bad(
                "segment_kmeans_step: parts of one step were started from different centres",
            )
            .with_hint("Pass the same centres to every row of one aggregate call."));
        }
        self.sums
            .iter_mut()
            .zip(&other.sums)
            .for_each(|(a, b)| *a += b);
        self.counts
            .iter_mut()
            .zip(&other.counts)
            .for_each(|(a, b)| *a += b);
        self.inertia += other.inertia;
        self.rows += other.rows;
        Ok(())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let (k, d) = (self.centres.k(), self.d());
        let mut out = Vec::with_capacity(8 + 32 + 8 * (2 * k * d + k));
        out.extend_from_slice(TAG);
        for v in [k as u64, d as u64, self.rows] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.inertia.to_le_bytes());
        for c in 0..k {
            for v in self.centres.row(c) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for v in &self.sums {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in &self.counts {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads `to_bytes`' output; anything else is an error.
    pub fn from_bytes(bytes: &[u8]) -> CoreResult<StepState> {
        let broken = || bad("segment_kmeans_step: not a serialized step state");
        let rest = bytes.strip_prefix(TAG.as_slice()).ok_or_else(broken)?;
        let mut words = rest
            .chunks_exact(8)
            .map(|w| <[u8; 8]>::try_from(w).expect("8 bytes"));
        let mut next_u64 = || words.next().map(u64::from_le_bytes).ok_or_else(broken);
        let (k, d, rows) = (next_u64()? as usize, next_u64()? as usize, next_u64()?);
        if rest.len() % 8 != 0
            || k == 0
            || d == 0
            || k > MAX_K
            || d > 1 << 20
            || rest.len() != 8 * (4 + 2 * k * d + k)
        {
            return Err(broken());
        }
        let floats: Vec<f64> = rest[24..]
            .chunks_exact(8)
            .map(|w| f64::from_le_bytes(w.try_into().expect("8 bytes")))
            .collect();
        let (inertia, floats) = (floats[0], &floats[1..]);
        let centres = &floats[..k * d];
        let sums = floats[k * d..2 * k * d].to_vec();
        let counts = rest[8 * (4 + 2 * k * d)..]
            .chunks_exact(8)
            .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
            .collect();
        let mut state = StepState::new(centres, d)?;
        state.sums = sums;
        state.counts = counts;
        state.inertia = inertia;
        state.rows = rows;
        Ok(state)
    }

    pub fn result(&self) -> StepResult {
        let d = self.d();
        let centres = (0..self.centres.k())
            .map(|c| {
                let n = self.counts[c];
                if n == 0 {
                    self.centres.row(c).to_vec()
                } else {
                    self.sums[c * d..(c + 1) * d]
                        .iter()
                        .map(|s| s / n as f64)
                        .collect()
                }
            })
            .collect();
        StepResult {
            rows: self.rows,
            inertia: self.inertia,
            counts: self.counts.clone(),
            centres,
        }
    }
}

/// What `drive` found: the best start's centres (row-major) and how it got there.
#[derive(Debug, Clone)]
pub struct Driven {
    pub centres: Vec<f64>,
    pub inertia: f64,
    pub iterations: u32,
    pub converged: bool,
}

/// k-means by whole steps: for each of `n_init` starts, k-means++ on `sample` (seeded like the
/// in-memory fit, so the same rows give the same starts), then Lloyd steps computed by `step`
/// until the centres move by at most `tol` (scikit-learn's rule, `tol` already in scaled units;
/// a move of rounding size also ends it) or `max_iter`. The best start by the inertia of its
/// final centres wins.
#[allow(clippy::too_many_arguments)]
pub fn drive(
    sample: &FeatureMatrix,
    k: usize,
    n_init: u32,
    max_iter: u32,
    tol: f64,
    seed: u64,
    threads: usize,
    step: &mut dyn FnMut(&[f64]) -> CoreResult<StepResult>,
    check: &mut dyn FnMut(),
) -> CoreResult<Driven> {
    kmeans::check_k(k, sample.n_rows())?;
    let mut master = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut best: Option<Driven> = None;
    for s in 0..n_init {
        check();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(master.gen());
        let start = kmeans::plus_plus(sample, k, threads, &mut rng, check);
        let mut centres: Vec<f64> = (0..k).flat_map(|c| start.row(c).to_vec()).collect();
        let mut iterations = 0;
        let mut converged = false;
        // The scale of a rounding-only move: the squared size of the centres.
        let size: f64 = centres.iter().map(|v| v * v).sum::<f64>().max(1.0);
        while iterations < max_iter {
            check();
            let r = step(&centres)?;
            iterations += 1;
            progress::report(Progress::Iteration {
                start: s + 1,
                starts: n_init,
                iteration: iterations,
                inertia: r.inertia,
                rows: r.rows as usize,
            });
            let next: Vec<f64> = r.centres.concat();
            let shift: f64 = next
                .iter()
                .zip(&centres)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            centres = next;
            if shift <= tol || shift <= 1e-24 * size {
                converged = true;
                break;
            }
        }
        check();
        let inertia = step(&centres)?.inertia;
        if best.as_ref().is_none_or(|b| inertia < b.inertia) {
            best = Some(Driven {
                centres,
                inertia,
                iterations,
                converged,
            });
        }
    }
    best.ok_or_else(|| bad("n_init must be at least 1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kmeans::KMeansParams;

    fn blobs(n: usize) -> FeatureMatrix {
        let mut rows = Vec::new();
        for i in 0..n {
            let g = (i % 3) as f64;
            rows.extend([
                g * 5.0 + ((i * 7) % 11) as f64 * 0.1,
                g * -3.0 + ((i * 13) % 17) as f64 * 0.1,
            ]);
        }
        FeatureMatrix::from_rows(rows, 2)
    }

    fn step_over(
        x: &FeatureMatrix,
        parts: usize,
    ) -> impl FnMut(&[f64]) -> CoreResult<StepResult> + '_ {
        move |centres| {
            // Split the rows into parts, serialize each part, merge: what parallel workers do.
            let n = x.n_rows();
            let mut total: Option<StepState> = None;
            for p in 0..parts {
                let mut part = StepState::new(centres, x.n_cols())?;
                for i in (p * n / parts)..((p + 1) * n / parts) {
                    part.add(x.row(i))?;
                }
                let part = StepState::from_bytes(&part.to_bytes())?;
                match &mut total {
                    None => total = Some(part),
                    Some(t) => t.merge(&part)?,
                }
            }
            Ok(total.unwrap().result())
        }
    }

    #[test]
    fn a_step_is_the_mean_of_each_centres_rows() {
        let mut s = StepState::new(&[0.0, 0.0, 10.0, 10.0], 2).unwrap();
        for r in [[1.0, 1.0], [3.0, 1.0], [9.0, 9.0]] {
            s.add(&r).unwrap();
        }
        let r = s.result();
        assert_eq!(r.counts, vec![2, 1]);
        assert_eq!(r.centres, vec![vec![2.0, 1.0], vec![9.0, 9.0]]);
        assert_eq!(r.inertia, 2.0 + 10.0 + 2.0); // squared distances to (0, 0), (0, 0), (10, 10)
        assert_eq!(r.rows, 3);
    }

    #[test]
    fn parts_merge_to_the_whole() {
        let x = blobs(300);
        let centres = [0.0, 0.0, 5.0, -3.0, 10.0, -6.0];
        let whole = step_over(&x, 1)(&centres).unwrap();
        let parts = step_over(&x, 7)(&centres).unwrap();
        assert_eq!(whole.counts, parts.counts);
        for (a, b) in whole.centres.concat().iter().zip(parts.centres.concat()) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    /// Raw rows through the state's preprocessing give the step of the rows preprocessed by hand
    /// (log of the first column, mean imputation of the second, z-score): the same sums, bit for
    /// bit, and a NULL under impute skip leaves the row out.
    #[test]
    fn raw_rows_take_the_preprocessing() {
        use crate::prep::scaling::{Imputer, ScaleMethod, Scaler};
        let scaler = Scaler {
            method: ScaleMethod::Zscore,
            offset: vec![1.0, 4.0],
            scale: vec![0.5, 2.0],
        };
        let names = vec!["spend".to_string(), "visits".to_string()];
        let mean = Imputer::Mean {
            means: vec![0.0, 6.0],
        };
        let prep = Preprocessor::new(vec![true, false], mean, &scaler, names.clone());
        let centres = [0.0, 0.0, 3.0, 1.0];
        let raw = [
            [Some(0.0), Some(2.0)],
            [Some(20.0), None],
            [Some(3.0), Some(9.0)],
        ];
        let mut by_state = StepState::with_preprocessor(&centres, prep).unwrap();
        let mut by_hand = StepState::new(&centres, 2).unwrap();
        for r in raw {
            assert!(by_state.add_raw(r.into_iter()).unwrap());
            let x = [
                (r[0].unwrap().ln_1p() - 1.0) / 0.5,
                (r[1].unwrap_or(6.0) - 4.0) / 2.0,
            ];
            by_hand.add(&x).unwrap();
        }
        assert_eq!(by_state.result(), by_hand.result());
        let skip = Preprocessor::new(vec![false, false], Imputer::Skip, &scaler, names);
        let mut s = StepState::with_preprocessor(&centres, skip).unwrap();
        assert!(!s.add_raw([Some(1.0), None].into_iter()).unwrap());
        assert!(s.add_raw([Some(1.0)].into_iter()).is_err());
        assert!(s.add_raw([Some(-1.0), Some(1.0)].into_iter()).unwrap());
        assert_eq!(s.result().rows, 1);
        assert!(s.add_raw([Some(f64::NAN), Some(1.0)].into_iter()).is_err());
        assert!(s
            .add_raw([Some(1.0), Some(f64::INFINITY)].into_iter())
            .is_err());
        assert!(StepState::new(&centres, 2)
            .unwrap()
            .add_raw([Some(1.0), Some(1.0)].into_iter())
            .is_err());
    }

    #[test]
    fn bad_states_and_rows_are_errors() {
        assert!(StepState::new(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(StepState::new(&[f64::NAN, 2.0], 2).is_err());
        let mut s = StepState::new(&[0.0, 0.0], 2).unwrap();
        assert!(s.add(&[1.0]).is_err());
        assert!(s.add(&[1.0, f64::INFINITY]).is_err());
        let other = StepState::new(&[1.0, 1.0], 2).unwrap();
        assert!(s.merge(&other).is_err());
        assert!(!s.add_values([Some(1.0), None].into_iter()).unwrap());
        assert!(s.add_values([Some(1.0), Some(2.0)].into_iter()).unwrap());
        assert_eq!(s.result().rows, 1);
        let bytes = s.to_bytes();
        for cut in 0..bytes.len() {
            assert!(StepState::from_bytes(&bytes[..cut]).is_err());
        }
        assert!(StepState::from_bytes(b"cskstep1 and then some garbage bytes!!!!").is_err());
    }

    #[test]
    fn driving_steps_reaches_the_in_memory_fit() {
        let x = blobs(600);
        let params = KMeansParams {
            k: 3,
            n_init: 4,
            max_iter: 100,
            tol: 0.0,
            seed: 11,
            threads: 1,
        };
        let in_memory = kmeans::fit(&x, &params, &mut || {}).unwrap();
        let mut step = step_over(&x, 3);
        let driven = drive(&x, 3, 4, 100, 0.0, 11, 1, &mut step, &mut || {}).unwrap();
        let expected: Vec<f64> = (0..3)
            .flat_map(|c| in_memory.centres.row(c).to_vec())
            .collect();
        for (a, b) in driven.centres.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        assert!((driven.inertia - in_memory.inertia).abs() <= 1e-9 * in_memory.inertia);
        assert_eq!(driven.iterations, in_memory.iterations);
    }
}
