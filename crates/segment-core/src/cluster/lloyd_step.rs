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

/// How one step places rows: the centres, and for raw rows the model's preprocessing. It is
/// built once from the aggregate's constant arguments and kept by the caller across rows; the
/// sums live apart, in a flat `StepSums` byte string (the aggregate's state), so a distributed
/// PostgreSQL can ship partial states between nodes as plain `bytea`.
#[derive(Debug, Clone)]
pub struct StepPlan {
    centres: Centres,
    prep: Option<Preprocessor>,
    /// Fingerprint of the centres and preprocessing (`plan_key`), written into every state
    /// started from this plan: states of different plans are never merged, and a caller can
    /// tell whether a cached plan serves a given state.
    key: u64,
    scratch: Vec<f64>,
    /// The row being placed (kept to avoid an allocation per row).
    row: Vec<f64>,
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

/// The fingerprint of a step's arguments: FNV-1a over the width `d` and the bit patterns of the
/// centres and the preprocessing array as given. Our own rather than `std::hash`, whose algorithm
/// may change between Rust releases: states cross processes and nodes, which must agree on it.
/// It tells states of different steps apart (merging them is refused); a caller keeping a plan
/// across calls compares the arguments themselves before reusing it.
pub fn plan_key(d: usize, centres: &[f64], preprocessing: &[f64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |v: u64| {
        for b in v.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(d as u64);
    eat(centres.len() as u64);
    centres.iter().for_each(|v| eat(v.to_bits()));
    eat(preprocessing.len() as u64);
    preprocessing.iter().for_each(|v| eat(v.to_bits()));
    h
}

impl StepPlan {
    /// A plan for rows already scaled like `centres` (k rows of `d` values, row-major).
    pub fn new(centres: &[f64], d: usize) -> CoreResult<StepPlan> {
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
        Ok(StepPlan {
            centres: Centres::new(centres.to_vec(), d),
            prep: None,
            key: plan_key(d, centres, &[]),
            scratch: vec![0.0; k],
            row: Vec::with_capacity(d),
        })
    }

    /// A plan for raw rows that `prep` (of width `d`) turns into scaled ones.
    pub fn with_preprocessor(centres: &[f64], prep: Preprocessor) -> CoreResult<StepPlan> {
        let floats = prep.to_floats();
        StepPlan::for_arguments(centres, prep.width(), Some(&floats))
    }

    /// The plan of the aggregate's arguments: `centres` for rows of `d` features, and for raw
    /// rows the model's preprocessing array (`Preprocessor::to_floats`), keyed on the arrays
    /// exactly as given.
    pub fn for_arguments(
        centres: &[f64],
        d: usize,
        preprocessing: Option<&[f64]>,
    ) -> CoreResult<StepPlan> {
        let Some(floats) = preprocessing else {
            return StepPlan::new(centres, d);
        };
        let prep = Preprocessor::from_floats(floats)?;
        if prep.width() != d {
            return Err(bad(format!(
                "segment_kmeans_step: a row has {d} features, the preprocessing {}",
                prep.width()
            )));
        }
        let mut plan = StepPlan::new(centres, d)?;
        plan.key = plan_key(d, centres, floats);
        plan.prep = Some(prep);
        Ok(plan)
    }

    pub fn d(&self) -> usize {
        self.centres.d()
    }

    pub fn k(&self) -> usize {
        self.centres.k()
    }

    pub fn key(&self) -> u64 {
        self.key
    }

    /// A new, empty state of this plan (see `StepSums` for the layout).
    pub fn start(&self) -> Vec<u8> {
        let (k, d) = (self.k(), self.d());
        let mut out = vec![0u8; StepSums::size(k, d)];
        out[..8].copy_from_slice(TAG);
        for (at, v) in [(8, k as u64), (16, d as u64), (40, self.key)] {
            out[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        for (i, v) in self.centres.rows().iter().enumerate() {
            let at = CENTRES + 8 * i;
            out[at..at + 8].copy_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Adds one row (already scaled like the centres) to `state`, a state of this plan.
    pub fn add(&mut self, state: &mut [u8], row: &[f64]) -> CoreResult<()> {
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
        StepSums::add(state, self.k(), c as usize, dist, row);
        Ok(())
    }

    /// Adds one row given with its NULLs: a row with a NULL feature is left out (`Ok(false)`).
    pub fn add_values(
        &mut self,
        state: &mut [u8],
        values: impl Iterator<Item = Option<f64>>,
    ) -> CoreResult<bool> {
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
            self.add(state, &row).map(|_| true)
        } else {
            Ok(false)
        };
        self.row = row;
        added
    }

    /// Adds one raw row (NULL as None) through the plan's preprocessing: log, imputation,
    /// scaling. A row the preprocessing skips (a NULL under impute skip) is left out (`Ok(false)`).
    pub fn add_raw(
        &mut self,
        state: &mut [u8],
        values: impl Iterator<Item = Option<f64>>,
    ) -> CoreResult<bool> {
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
                Ok(true) => self.add(state, &row).map(|_| true),
                other => other,
            }
        };
        self.row = row;
        added
    }
}

/// Serialized form of a step's sums, which is also the aggregate's state, updated in place row
/// by row: a tag, then k, d, rows (u64), inertia (f64), the plan's key (u64), the centres, the
/// sums (f64, k x d each), the counts (u64, k), all little-endian. Read and written with byte
/// copies, never as aligned `f64`s: PostgreSQL may hand the state back at any alignment (a short
/// varlena header, a value read from a tuple).
pub struct StepSums;

const TAG: &[u8; 8] = b"cskstep2";
const ROWS: usize = 24;
const INERTIA: usize = 32;
const KEY: usize = 40;
const CENTRES: usize = 48;

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn read_f64(bytes: &[u8], at: usize) -> f64 {
    f64::from_bits(read_u64(bytes, at))
}

fn write_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn write_f64(bytes: &mut [u8], at: usize, v: f64) {
    write_u64(bytes, at, v.to_bits());
}

impl StepSums {
    /// Bytes of a state with `k` centres of `d` features.
    pub fn size(k: usize, d: usize) -> usize {
        CENTRES + 8 * (2 * k * d + k)
    }

    /// (k, d, key) of a well-formed state; anything else is an error.
    pub fn check(bytes: &[u8]) -> CoreResult<(usize, usize, u64)> {
        let broken = || bad("segment_kmeans_step: not a step state");
        if bytes.len() < CENTRES || &bytes[..8] != TAG {
            return Err(broken());
        }
        let (k, d) = (read_u64(bytes, 8), read_u64(bytes, 16));
        if k == 0 || d == 0 || k > MAX_K as u64 || d > 1 << 20 {
            return Err(broken());
        }
        let (k, d) = (k as usize, d as usize);
        if bytes.len() != StepSums::size(k, d) {
            return Err(broken());
        }
        Ok((k, d, read_u64(bytes, KEY)))
    }

    /// The key of a state `check` accepted.
    pub fn key(bytes: &[u8]) -> u64 {
        read_u64(bytes, KEY)
    }

    fn add(bytes: &mut [u8], k: usize, c: usize, dist: f64, row: &[f64]) {
        let d = row.len();
        write_u64(bytes, ROWS, read_u64(bytes, ROWS) + 1);
        write_f64(bytes, INERTIA, read_f64(bytes, INERTIA) + dist);
        let sums = CENTRES + 8 * (k * d + c * d);
        for (j, v) in row.iter().enumerate() {
            let at = sums + 8 * j;
            write_f64(bytes, at, read_f64(bytes, at) + v);
        }
        let count = CENTRES + 8 * (2 * k * d + c);
        write_u64(bytes, count, read_u64(bytes, count) + 1);
    }

    /// Adds `other`, another part of the same step, into `state`.
    pub fn merge(state: &mut [u8], other: &[u8]) -> CoreResult<()> {
        let (k, d, key) = StepSums::check(state)?;
        let (k2, d2, key2) = StepSums::check(other)?;
        if (k, d, key) != (k2, d2, key2)
            || state[CENTRES..][..8 * k * d] != other[CENTRES..][..8 * k * d]
        {
            return Err(bad(
                "segment_kmeans_step: parts of one step were started from different centres",
            )
            .with_hint("Pass the same centres to every row of one aggregate call."));
        }
        write_u64(state, ROWS, read_u64(state, ROWS) + read_u64(other, ROWS));
        write_f64(
            state,
            INERTIA,
            read_f64(state, INERTIA) + read_f64(other, INERTIA),
        );
        for i in 0..k * d {
            let at = CENTRES + 8 * (k * d + i);
            write_f64(state, at, read_f64(state, at) + read_f64(other, at));
        }
        for c in 0..k {
            let at = CENTRES + 8 * (2 * k * d + c);
            write_u64(state, at, read_u64(state, at) + read_u64(other, at));
        }
        Ok(())
    }

    /// The finished step of a state.
    pub fn result(bytes: &[u8]) -> CoreResult<StepResult> {
        let (k, d, _) = StepSums::check(bytes)?;
        let counts: Vec<u64> = (0..k)
            .map(|c| read_u64(bytes, CENTRES + 8 * (2 * k * d + c)))
            .collect();
        let centres = (0..k)
            .map(|c| {
                (0..d)
                    .map(|j| {
                        let n = counts[c];
                        if n == 0 {
                            read_f64(bytes, CENTRES + 8 * (c * d + j))
                        } else {
                            read_f64(bytes, CENTRES + 8 * (k * d + c * d + j)) / n as f64
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(StepResult {
            rows: read_u64(bytes, ROWS),
            inertia: read_f64(bytes, INERTIA),
            counts,
            centres,
        })
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
            // Split the rows into parts, each with a plan of its own, merge the states: what
            // parallel workers and shards do.
            let n = x.n_rows();
            let mut total: Option<Vec<u8>> = None;
            for p in 0..parts {
                let mut plan = StepPlan::new(centres, x.n_cols())?;
                let mut part = plan.start();
                for i in (p * n / parts)..((p + 1) * n / parts) {
                    plan.add(&mut part, x.row(i))?;
                }
                match &mut total {
                    None => total = Some(part),
                    Some(t) => StepSums::merge(t, &part)?,
                }
            }
            StepSums::result(&total.unwrap())
        }
    }

    #[test]
    fn a_step_is_the_mean_of_each_centres_rows() {
        let mut plan = StepPlan::new(&[0.0, 0.0, 10.0, 10.0], 2).unwrap();
        let mut s = plan.start();
        for r in [[1.0, 1.0], [3.0, 1.0], [9.0, 9.0]] {
            plan.add(&mut s, &r).unwrap();
        }
        let r = StepSums::result(&s).unwrap();
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
        let mut by_state = StepPlan::with_preprocessor(&centres, prep).unwrap();
        let mut by_hand = StepPlan::new(&centres, 2).unwrap();
        let (mut a, mut b) = (by_state.start(), by_hand.start());
        for r in raw {
            assert!(by_state.add_raw(&mut a, r.into_iter()).unwrap());
            let x = [
                (r[0].unwrap().ln_1p() - 1.0) / 0.5,
                (r[1].unwrap_or(6.0) - 4.0) / 2.0,
            ];
            by_hand.add(&mut b, &x).unwrap();
        }
        assert_eq!(StepSums::result(&a).unwrap(), StepSums::result(&b).unwrap());
        // The preprocessing is part of the plan's key: the two states are not parts of one step.
        assert_ne!(by_state.key(), by_hand.key());
        assert!(StepSums::merge(&mut a, &b).is_err());
        let skip = Preprocessor::new(vec![false, false], Imputer::Skip, &scaler, names);
        let mut p = StepPlan::with_preprocessor(&centres, skip).unwrap();
        let mut s = p.start();
        assert!(!p.add_raw(&mut s, [Some(1.0), None].into_iter()).unwrap());
        assert!(p.add_raw(&mut s, [Some(1.0)].into_iter()).is_err());
        assert!(p
            .add_raw(&mut s, [Some(-1.0), Some(1.0)].into_iter())
            .unwrap());
        assert_eq!(StepSums::result(&s).unwrap().rows, 1);
        assert!(p
            .add_raw(&mut s, [Some(f64::NAN), Some(1.0)].into_iter())
            .is_err());
        assert!(p
            .add_raw(&mut s, [Some(1.0), Some(f64::INFINITY)].into_iter())
            .is_err());
        let mut no_prep = StepPlan::new(&centres, 2).unwrap();
        let mut s = no_prep.start();
        assert!(no_prep
            .add_raw(&mut s, [Some(1.0), Some(1.0)].into_iter())
            .is_err());
    }

    #[test]
    fn bad_states_and_rows_are_errors() {
        assert!(StepPlan::new(&[1.0, 2.0, 3.0], 2).is_err());
        assert!(StepPlan::new(&[f64::NAN, 2.0], 2).is_err());
        let mut plan = StepPlan::new(&[0.0, 0.0], 2).unwrap();
        let mut s = plan.start();
        assert!(plan.add(&mut s, &[1.0]).is_err());
        assert!(plan.add(&mut s, &[1.0, f64::INFINITY]).is_err());
        let other = StepPlan::new(&[1.0, 1.0], 2).unwrap().start();
        assert!(StepSums::merge(&mut s, &other).is_err());
        assert!(!plan
            .add_values(&mut s, [Some(1.0), None].into_iter())
            .unwrap());
        assert!(plan
            .add_values(&mut s, [Some(1.0), Some(2.0)].into_iter())
            .unwrap());
        assert_eq!(StepSums::result(&s).unwrap().rows, 1);
        assert_eq!(StepSums::check(&s).unwrap(), (1, 2, plan.key()));
        for cut in 0..s.len() {
            assert!(StepSums::check(&s[..cut]).is_err());
            assert!(StepSums::result(&s[..cut]).is_err());
        }
        let mut longer = s.clone();
        longer.push(0);
        assert!(StepSums::check(&longer).is_err());
        assert!(StepSums::check(b"cskstep2 and then some garbage bytes!!!!!!!!!!!!!!").is_err());
        // The version 1 layout (an internal state's serial form) is not a state any more.
        let mut v1 = s.clone();
        v1[..8].copy_from_slice(b"cskstep1");
        assert!(StepSums::check(&v1).is_err());
    }

    /// A state read at any alignment (PostgreSQL may hand one back behind a 1-byte header)
    /// gives the same step.
    #[test]
    fn states_work_at_any_alignment() {
        let x = blobs(90);
        let mut plan = StepPlan::new(&[0.0, 0.0, 5.0, -3.0], 2).unwrap();
        let whole = {
            let mut s = plan.start();
            (0..90).for_each(|i| plan.add(&mut s, x.row(i)).unwrap());
            StepSums::result(&s).unwrap()
        };
        for shift in 1..8 {
            let mut buffer = vec![0u8; shift];
            buffer.extend(plan.start());
            let s = &mut buffer[shift..];
            (0..90).for_each(|i| plan.add(s, x.row(i)).unwrap());
            assert_eq!(StepSums::result(s).unwrap(), whole);
        }
    }

    #[test]
    fn keys_tell_plans_apart() {
        assert_eq!(plan_key(2, &[1.0, 2.0], &[]), plan_key(2, &[1.0, 2.0], &[]));
        assert_ne!(plan_key(2, &[1.0, 2.0], &[]), plan_key(2, &[2.0, 1.0], &[]));
        assert_ne!(plan_key(2, &[1.0, 2.0], &[]), plan_key(2, &[1.0], &[2.0]));
        assert_ne!(plan_key(1, &[0.0], &[]), plan_key(1, &[-0.0], &[]));
        // The same numbers as 3 centres of 2 features, or 2 of 3.
        let six = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_ne!(plan_key(2, &six, &[]), plan_key(3, &six, &[]));
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
