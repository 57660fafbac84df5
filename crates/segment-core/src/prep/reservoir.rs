//! A seeded uniform sample of rows read once (reservoir sampling, Algorithm R): the streaming
//! fits' sample for k-means++ starts and medians, and the rows a scatter plot draws.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Up to `cap` rows of width `d`; after `n` pushes every row pushed so far is in the sample with
/// probability cap / n. The same rows in the same order and seed give the same sample.
pub struct Reservoir {
    cap: usize,
    d: usize,
    rows: Vec<f64>,
    seen: u64,
    rng: Xoshiro256PlusPlus,
}

impl Reservoir {
    pub fn new(cap: usize, d: usize, seed: u64) -> Reservoir {
        Reservoir {
            cap,
            d,
            rows: Vec::new(),
            seen: 0,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
        }
    }

    /// Offers one row; returns the slot it took (which may replace an earlier row), or None
    /// when it is not kept. Callers that keep something per row store it at the same slot.
    pub fn push(&mut self, row: &[f64]) -> Option<usize> {
        self.seen += 1;
        let held = self.rows.len() / self.d;
        if held < self.cap {
            self.rows.extend_from_slice(row);
            return Some(held);
        }
        let at = self.rng.gen_range(0..self.seen) as usize;
        (at < self.cap).then(|| {
            self.rows[at * self.d..(at + 1) * self.d].copy_from_slice(row);
            at
        })
    }

    /// Rows offered so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The sample, row-major.
    pub fn into_rows(self) -> Vec<f64> {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fewer rows than the cap are all kept in order; more are kept each with probability
    /// cap / rows (over many seeds every row's share is near cap / rows).
    #[test]
    fn every_row_is_equally_likely() {
        let mut small = Reservoir::new(10, 1, 1);
        for i in 0..5 {
            assert_eq!(small.push(&[i as f64]), Some(i));
        }
        assert_eq!(small.into_rows(), vec![0.0, 1.0, 2.0, 3.0, 4.0]);
        let (rows, cap, seeds) = (50usize, 5usize, 4000u64);
        let mut kept = vec![0u32; rows];
        for seed in 0..seeds {
            let mut r = Reservoir::new(cap, 1, seed);
            for i in 0..rows {
                r.push(&[i as f64]);
            }
            assert_eq!(r.seen(), rows as u64);
            for v in r.into_rows() {
                kept[v as usize] += 1;
            }
        }
        let expected = seeds as f64 * cap as f64 / rows as f64; // 400
        for k in kept {
            assert!(
                (k as f64 - expected).abs() < 0.2 * expected,
                "{k} vs {expected}"
            );
        }
    }
}
