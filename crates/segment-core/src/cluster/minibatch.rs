//! The mini-batch k-means update (Sculley 2010, as scikit-learn's MiniBatchKMeans without
//! reassignment). The streaming fit that drives it over a source is `model::streaming`.

use crate::cluster::kmeans::Centres;
use crate::cluster::{check_sample_rows, needed_k, MethodParameters, Starts};
use crate::error::{CoreError, CoreResult};
use crate::parallel::Pace;
use crate::params::{check_range, Given, ParamGuard};
use serde::Serialize;

/// The checked parameters of method minibatch_kmeans: k, the k-means starts on the sample
/// (`n_init`, `max_iter`, `tol`, which also stops the epochs), rows per update, passes over the
/// source, and the reservoir sample. Only [`MiniBatchOptions::check`] makes one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MiniBatchMethod {
    k: i64,
    #[serde(flatten)]
    starts: Starts,
    batch_size: u64,
    epochs: u64,
    /// Default `model::streaming::DEFAULT_SAMPLE_ROWS`.
    sample_rows: Option<u64>,
}

/// The options of method minibatch_kmeans as given, with the call's k (linfa's unchecked
/// params).
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchOptions(MiniBatchMethod, Option<i64>);

impl MiniBatchOptions {
    pub const KEYS: [&'static str; 6] = [
        "n_init",
        "max_iter",
        "tol",
        "batch_size",
        "epochs",
        "sample_rows",
    ];

    pub fn read(given: &Given, k: Option<i64>) -> MiniBatchOptions {
        MiniBatchOptions(
            MiniBatchMethod {
                k: k.unwrap_or(0),
                starts: Starts::read(given),
                batch_size: given.integer("batch_size").unwrap_or(1024),
                epochs: given.integer("epochs").unwrap_or(5),
                sample_rows: given.integer("sample_rows"),
            },
            k,
        )
    }
}

impl ParamGuard for MiniBatchOptions {
    type Checked = MiniBatchMethod;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&MiniBatchMethod> {
        let o = &self.0;
        o.starts.check()?;
        check_range("batch_size", o.batch_size, 1, 1_000_000)?;
        check_range("epochs", o.epochs, 1, 1000)?;
        check_sample_rows(o.sample_rows, u64::MAX, "minibatch_kmeans")?;
        needed_k(self.1, "minibatch_kmeans")?;
        Ok(o)
    }

    fn check(self) -> CoreResult<MiniBatchMethod> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MethodParameters for MiniBatchMethod {
    fn k(&self) -> Option<usize> {
        Some(self.k as usize)
    }

    fn sample_limit(&self) -> Option<u64> {
        // The reservoir (`model::streaming`) is not a sample the method is fitted on: every row
        // goes through the mini-batch updates.
        None
    }

    fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl MiniBatchMethod {
    pub fn k(&self) -> usize {
        self.k as usize
    }

    pub fn starts(&self) -> &Starts {
        &self.starts
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size as usize
    }

    pub fn epochs(&self) -> u32 {
        self.epochs as u32
    }

    pub fn sample_rows(&self) -> Option<u64> {
        self.sample_rows
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
