//! DBSCAN: linfa-clustering finds the clusters of the (sampled) training rows; the model keeps
//! the core points, so a new row joins the segment of its nearest core point within eps, or is
//! noise (segment -1).

use crate::cluster::{check_sample_rows, MAX_SAMPLE_ROWS};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{check_range, Given};
use crate::prep::matrix::FeatureMatrix;
use linfa::prelude::*;
use linfa_clustering::Dbscan;
use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// The `segment_fit` options of method dbscan beyond those of every method.
#[derive(Debug, Clone, PartialEq)]
pub struct DbscanOptions {
    /// Neighbourhood radius in scaled units: required.
    pub eps: Option<f64>,
    /// Rows (itself included) within eps that make a row a core point.
    pub min_points: u64,
    /// Default `DEFAULT_SAMPLE_ROWS`.
    pub sample_rows: Option<u64>,
}

impl DbscanOptions {
    pub const KEYS: [&'static str; 3] = ["eps", "min_points", "sample_rows"];

    pub fn read(given: &Given) -> DbscanOptions {
        DbscanOptions {
            eps: given.number("eps"),
            min_points: given.integer("min_points").unwrap_or(5),
            sample_rows: given.integer("sample_rows"),
        }
    }
}

impl crate::params::ParamGuard for DbscanOptions {
    fn check_ref(&self) -> CoreResult<&Self> {
        match self.eps {
            None => {
                return Err(CoreError::invalid_parameter("method dbscan needs the eps option")
                    .with_hint(r#"Pass the neighbourhood radius in scaled units, e.g. '{"method": "dbscan", "eps": 0.5}'."#))
            }
            Some(eps) if !(eps.is_finite() && eps > 0.0) => {
                return Err(CoreError::invalid_parameter(format!(
                    "option eps must be a finite number > 0, not {eps}"
                )))
            }
            Some(_) => {}
        }
        check_range("min_points", self.min_points, 1, 10_000)?;
        check_sample_rows(self.sample_rows, MAX_SAMPLE_ROWS, "dbscan")?;
        Ok(self)
    }
}

/// The stored density model (scaled units).
/// Label of a training row that belongs to no segment (DBSCAN noise). Such rows count in the
/// overall mean and standard deviation, not in any segment.
pub const NOISE: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Density {
    pub eps: f64,
    pub min_points: u32,
    /// Core points, row-major, sorted by their first coordinate.
    pub core_points: Vec<f64>,
    /// The segment of each core point.
    pub core_labels: Vec<u32>,
}

#[derive(Debug)]
pub struct DensityFit {
    pub density: Density,
    /// Per training row: its cluster `0..k` or `NOISE`.
    pub labels: Vec<u32>,
    pub k: usize,
}

pub fn fit(x: &FeatureMatrix, eps: f64, min_points: u32) -> CoreResult<DensityFit> {
    let (n, d) = (x.n_rows(), x.n_cols());
    let view = ArrayView2::from_shape((n, d), x.as_slice()).expect("row-major n x d");
    let memberships = Dbscan::params(min_points as usize)
        .tolerance(eps)
        .check()
        .map_err(|e| CoreError::invalid_parameter(format!("invalid DBSCAN parameters: {e}")))?
        .transform(&view);
    let labels: Vec<u32> = memberships
        .iter()
        .map(|m| m.map_or(NOISE, |c| c as u32))
        .collect();
    let k = labels
        .iter()
        .filter(|&&l| l != NOISE)
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    if k == 0 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!("DBSCAN found no segment: every row is noise at eps {eps} and min_points {min_points}"),
        )
        .with_hint("Raise eps or lower min_points (distances are in scaled units: with zscore, standard deviations)."));
    }
    // Core points: at least min_points rows (itself included) within eps, as DBSCAN counts them.
    let index = CommonNearestNeighbour::KdTree
        .from_batch(&view, L2Dist)
        .map_err(|e| CoreError::invalid_parameter(format!("could not index the rows: {e}")))?;
    let mut cores: Vec<(usize, u32)> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        if l == NOISE {
            continue;
        }
        let within = index
            .within_range(view.row(i), eps)
            .map_err(|e| CoreError::invalid_parameter(format!("neighbour search failed: {e}")))?;
        if within.len() >= min_points as usize {
            cores.push((i, l));
        }
    }
    cores.sort_by(|a, b| x.row(a.0)[0].total_cmp(&x.row(b.0)[0]).then(a.0.cmp(&b.0)));
    let density = Density {
        eps,
        min_points,
        core_points: cores
            .iter()
            .flat_map(|&(i, _)| x.row(i).iter().copied())
            .collect(),
        core_labels: cores.iter().map(|&(_, l)| l).collect(),
    };
    Ok(DensityFit { density, labels, k })
}

impl Density {
    /// The segment of the nearest core point within eps, or `NOISE`. Core points are sorted by
    /// their first coordinate, so only those within eps of it on that axis are measured.
    pub fn classify(&self, x: &[f64]) -> u32 {
        let d = x.len();
        let n = self.core_labels.len();
        let first = |i: usize| self.core_points[i * d];
        let start = partition_point(n, |i| first(i) < x[0] - self.eps);
        let eps2 = self.eps * self.eps;
        let mut best = (f64::INFINITY, NOISE);
        for i in start..n {
            if first(i) > x[0] + self.eps {
                break;
            }
            let d2: f64 = self.core_points[i * d..(i + 1) * d]
                .iter()
                .zip(x)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            if d2 <= eps2 && d2 < best.0 {
                best = (d2, self.core_labels[i]);
            }
        }
        best.1
    }

    /// Gives segment i the id `new_id[i]`.
    pub fn renumber(&mut self, new_id: &[u32]) {
        for l in &mut self.core_labels {
            *l = new_id[*l as usize];
        }
    }
}

/// First index in `0..n` for which `is_before` is false (`is_before` is monotone).
fn partition_point(n: usize, is_before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if is_before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_groups_and_an_outlier() {
        // Group A around 0, group B around 10 (1-D spacing 0.1), one row at 50.
        let mut data = Vec::new();
        for i in 0..10 {
            data.push(i as f64 * 0.1);
            data.push(0.0);
        }
        for i in 0..10 {
            data.push(10.0 + i as f64 * 0.1);
            data.push(0.0);
        }
        data.extend_from_slice(&[50.0, 0.0]);
        let x = FeatureMatrix::from_rows(data, 2);
        let fit = fit(&x, 0.25, 3).unwrap();
        assert_eq!(fit.k, 2);
        assert_eq!(fit.labels[20], NOISE);
        assert!(fit.labels[..10].iter().all(|&l| l == fit.labels[0]));
        assert!(fit.labels[10..20].iter().all(|&l| l == fit.labels[10]));
        assert_ne!(fit.labels[0], fit.labels[10]);
        // Every row of a line with spacing 0.1 has >= 3 neighbours within 0.25: all are cores.
        assert_eq!(fit.density.core_labels.len(), 20);
        // A new row joins the segment of the nearest core point within eps, else noise.
        assert_eq!(fit.density.classify(&[0.5, 0.1]), fit.labels[0]);
        assert_eq!(fit.density.classify(&[10.95, 0.0]), fit.labels[10]);
        assert_eq!(fit.density.classify(&[5.0, 0.0]), NOISE);
        assert_eq!(fit.density.classify(&[0.5, 0.3]), NOISE);
        let e = super::fit(&x, 0.01, 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
    }
}
