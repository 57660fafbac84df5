//! The mini-batch k-means update (Sculley 2010, as scikit-learn's MiniBatchKMeans without
//! reassignment). The streaming fit that drives it over a source is `model::streaming`.

use crate::cluster::kmeans::Centres;
use crate::cluster::{check_sample_rows, Starts};
use crate::error::CoreResult;
use crate::parallel::Pace;
use crate::params::{check_range, Given, ParamGuard};

/// The `segment_fit` options of method minibatch_kmeans beyond those of every method: the
/// k-means starts on the sample (`n_init`, `max_iter`, `tol`, which also stops the epochs),
/// rows per update, passes over the source, and the reservoir sample.
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchOptions {
    pub starts: Starts,
    pub batch_size: u64,
    pub epochs: u64,
    /// Default `model::streaming::DEFAULT_SAMPLE_ROWS`.
    pub sample_rows: Option<u64>,
}

impl MiniBatchOptions {
    pub const KEYS: [&'static str; 6] = [
        "n_init",
        "max_iter",
        "tol",
        "batch_size",
        "epochs",
        "sample_rows",
    ];

    pub fn read(given: &Given) -> MiniBatchOptions {
        MiniBatchOptions {
            starts: Starts::read(given),
            batch_size: given.integer("batch_size").unwrap_or(1024),
            epochs: given.integer("epochs").unwrap_or(5),
            sample_rows: given.integer("sample_rows"),
        }
    }
}

impl ParamGuard for MiniBatchOptions {
    fn check_ref(&self) -> CoreResult<&Self> {
        self.starts.check_ref()?;
        check_range("batch_size", self.batch_size, 1, 1_000_000)?;
        check_range("epochs", self.epochs, 1, 1000)?;
        check_sample_rows(self.sample_rows, u64::MAX, "minibatch_kmeans")?;
        Ok(self)
    }
}

/// One mini-batch update: each centre moves to the running mean of every row it has taken.
/// `pace` counts the work (a batch may hold a million rows).
pub fn step(
    centres: &mut [f64],
    counts: &mut [f64],
    batch: &[f64],
    d: usize,
    scratch: &mut [f64],
    pace: &mut Pace,
) {
    let k = counts.len();
    let current = Centres::new(centres.to_vec(), d);
    let mut sums = vec![0.0; k * d];
    let mut n = vec![0.0; k];
    for row in batch.chunks_exact(d) {
        pace.add(k * d);
        let c = current.nearest(row, scratch).0 as usize;
        n[c] += 1.0;
        sums[c * d..(c + 1) * d]
            .iter_mut()
            .zip(row)
            .for_each(|(s, x)| *s += x);
    }
    for c in 0..k {
        if n[c] > 0.0 {
            counts[c] += n[c];
            for j in 0..d {
                let centre = &mut centres[c * d + j];
                *centre += (sums[c * d + j] - n[c] * *centre) / counts[c];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::CHECK_WORK;

    /// A batch (up to a million rows) checks every `CHECK_WORK` units: k x d a row.
    #[test]
    fn a_batch_checks_as_it_goes() {
        let (k, d) = (16, 8);
        let rows = 4 * CHECK_WORK / (k * d);
        let batch: Vec<f64> = (0..rows * d).map(|i| (i % 13) as f64).collect();
        let mut centres: Vec<f64> = (0..k * d).map(|i| (i % 7) as f64).collect();
        let mut counts = vec![0.0; k];
        let calls = crate::parallel::testing::checks(|check| {
            let mut pace = Pace::new(check);
            step(
                &mut centres,
                &mut counts,
                &batch,
                d,
                &mut vec![0.0; k],
                &mut pace,
            );
        });
        assert_eq!(calls, 4);
        assert_eq!(counts.iter().sum::<f64>(), rows as f64);
    }
}
