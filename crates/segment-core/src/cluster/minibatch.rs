//! The mini-batch k-means update (Sculley 2010, as scikit-learn's MiniBatchKMeans without
//! reassignment). The streaming fit that drives it over a source is `model::streaming`.

use crate::cluster::kmeans::Centres;

/// One mini-batch update: each centre moves to the running mean of every row it has taken.
pub fn step(centres: &mut [f64], counts: &mut [f64], batch: &[f64], d: usize, scratch: &mut [f64]) {
    let k = counts.len();
    let current = Centres::new(centres.to_vec(), d);
    let mut sums = vec![0.0; k * d];
    let mut n = vec![0.0; k];
    for row in batch.chunks_exact(d) {
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
