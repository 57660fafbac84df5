//! DBSCAN on the (sampled) training rows, as scikit-learn's `DBSCAN`: a row with at least
//! `min_points` rows within eps (itself included) is a core point; core points within eps of each
//! other share a segment; a non-core row within eps of a core point joins the lowest-numbered such
//! segment; segments are numbered in the order of their first row. The model keeps the core
//! points, so a new row joins the segment of its nearest core point within eps, or is noise
//! (segment -1).
//!
//! Our own rather than linfa-clustering's `Dbscan` 0.8.1 (kept as the tests' oracle): its k-d
//! tree returns every neighbour list in full, and wide neighbourhoods make them most of the rows.
//! On 5,000 z-scored rows of eight blobs at eps 1.5, `segment_fit` with linfa's DBSCAN (and a
//! second neighbour count for the core points) took 0.58 s, 14x scikit-learn-intelex's
//! `DBSCAN`, in benches/methods.py before it was replaced (docs/performance.md); on the same
//! kind of rows benches/linfa_ratio.rs times linfa's labels at 3.5x ours (one run, 2 cores).
//! Here rows are sorted on one feature and only pairs within eps on it are measured; neighbour
//! lists are never stored (counts stopped at min_points, then a union-find over core pairs that
//! skips pairs already joined, then border rows).

use crate::cluster::{check_sample_rows, MethodParameters, DEFAULT_SAMPLE_ROWS, MAX_SAMPLE_ROWS};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::parallel::{self, Pace};
use crate::params::{check_range, Given, ParamGuard};
use crate::prep::matrix::FeatureMatrix;
use serde::{Deserialize, Serialize};

/// The checked parameters of method dbscan (which finds k itself): only
/// [`DbscanOptions::check`] makes one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbscanMethod {
    /// Neighbourhood radius in scaled units: required.
    pub(crate) eps: Option<f64>,
    /// Rows (itself included) within eps that make a row a core point.
    pub(crate) min_points: u64,
    /// Default `DEFAULT_SAMPLE_ROWS`.
    pub(crate) sample_rows: Option<u64>,
}

/// The options of method dbscan as given, with the call's k, which must be NULL (linfa's
/// unchecked params).
#[derive(Debug, Clone, PartialEq)]
pub struct DbscanOptions(pub(crate) DbscanMethod, pub(crate) Option<i64>);

impl DbscanOptions {
    pub const KEYS: [&'static str; 3] = ["eps", "min_points", "sample_rows"];

    pub fn read(given: &Given, k: Option<i64>) -> DbscanOptions {
        DbscanOptions(
            DbscanMethod {
                eps: given.number("eps"),
                min_points: given.integer("min_points").unwrap_or(5),
                sample_rows: given.integer("sample_rows"),
            },
            k,
        )
    }
}

impl ParamGuard for DbscanOptions {
    type Checked = DbscanMethod;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&DbscanMethod> {
        let o = &self.0;
        match o.eps {
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
        check_range("min_points", o.min_points, 1, 10_000)?;
        check_sample_rows(o.sample_rows, MAX_SAMPLE_ROWS, "dbscan")?;
        if let Some(k) = self.1 {
            crate::cluster::kmeans::check_k_range(k)?;
            return Err(CoreError::invalid_parameter(
                "method dbscan finds the number of segments itself: k must be NULL",
            )
            .with_hint(r#"Call segment_fit(source, features, NULL, options => '{"method": "dbscan", "eps": 0.5}')."#));
        }
        Ok(o)
    }

    fn check(self) -> CoreResult<DbscanMethod> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MethodParameters for DbscanMethod {
    fn k(&self) -> Option<usize> {
        None
    }

    fn sample_limit(&self) -> Option<u64> {
        Some(self.sample_rows.unwrap_or(DEFAULT_SAMPLE_ROWS))
    }

    fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl DbscanMethod {
    pub fn eps(&self) -> f64 {
        // `check` refuses a missing eps.
        self.eps.unwrap_or(f64::NAN)
    }

    pub fn min_points(&self) -> u32 {
        self.min_points as u32
    }

    pub fn sample_rows(&self) -> Option<u64> {
        self.sample_rows
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
    /// Per training row: whether it is a core point (its label is then the one
    /// [`Density::classify`] gives it, as a noise row's is; a border row's may differ).
    pub core: Vec<bool>,
    pub k: usize,
}

/// Fits DBSCAN. `check` runs on the calling thread every few milliseconds of work: with an eps
/// wide on the first feature, every step below measures up to n² / 2 pairs.
pub fn fit(
    x: &FeatureMatrix,
    eps: f64,
    min_points: u32,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<DensityFit> {
    let n = x.n_rows();
    let sweep = Sweep::new(x, eps);
    check();
    // 1. Core points: count the rows within eps of each row (itself included), up to min_points.
    let mut counts = vec![0u32; n];
    let mut items: Vec<(usize, &mut [u32])> = counts
        .chunks_mut(BLOCK)
        .enumerate()
        .map(|(b, c)| (b * BLOCK, c))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(first, block)| {
        for (at, count) in block.iter_mut().enumerate() {
            let mut c = 0;
            sweep.for_each_within(*first + at, |_| {
                c += 1;
                c < min_points
            });
            *count = c;
        }
    });
    let core: Vec<bool> =
        sweep
            .order
            .iter()
            .zip(&counts)
            .fold(vec![false; n], |mut core, (&row, &c)| {
                core[row] = c >= min_points;
                core
            });
    // 2. Segments: core points within eps of each other, joined (positions in sorted order). A
    // pair already in one set is not measured: in a wide segment most pairs are.
    let core_at: Vec<bool> = sweep.order.iter().map(|&row| core[row]).collect();
    let mut parent: Vec<usize> = (0..n).collect();
    let d = x.n_cols();
    let mut pace = Pace::new(check);
    for p in (0..n).filter(|&p| core_at[p]) {
        let x = sweep.row(p);
        let mut measured = 0;
        for (q, &is_core) in core_at.iter().enumerate().skip(p + 1) {
            let y = sweep.row(q);
            if y[0] > x[0] + eps {
                break;
            }
            measured += 1;
            if is_core && find(&mut parent, p) != find(&mut parent, q) && sweep.within(x, y) {
                union(&mut parent, p, q);
            }
        }
        pace.add(1 + measured * d);
    }
    // Numbered in the order of each segment's first row, as scikit-learn discovers them.
    let mut first_row = vec![usize::MAX; n];
    for p in (0..n).filter(|&p| core[sweep.order[p]]) {
        let root = find(&mut parent, p);
        first_row[root] = first_row[root].min(sweep.order[p]);
    }
    let mut roots: Vec<usize> = (0..n).filter(|&r| first_row[r] != usize::MAX).collect();
    roots.sort_by_key(|&r| first_row[r]);
    let mut segment_of_root = vec![NOISE; n];
    for (id, &r) in roots.iter().enumerate() {
        segment_of_root[r] = id as u32;
    }
    let k = roots.len();
    if k == 0 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!("DBSCAN found no segment: every row is noise at eps {eps} and min_points {min_points}"),
        )
        .with_hint("Raise eps or lower min_points (distances are in scaled units: with zscore, standard deviations)."));
    }
    // 3. Rows: a core point's segment; a border row the lowest segment among its core
    // neighbours (scikit-learn expands segments in order, and the first to reach a row keeps it).
    let mut labels = vec![NOISE; n];
    for p in 0..n {
        let row = sweep.order[p];
        labels[row] = if core[row] {
            segment_of_root[find(&mut parent, p)]
        } else {
            let mut lowest = NOISE;
            let measured = sweep.for_each_within(p, |q| {
                if core_at[q] {
                    lowest = lowest.min(segment_of_root[find_const(&parent, q)]);
                }
                lowest != 0 // nothing is lower than segment 0
            });
            pace.add(measured * d);
            lowest
        };
        pace.add(1);
    }
    let mut cores: Vec<(usize, u32)> = (0..n)
        .filter(|&i| core[i])
        .map(|i| (i, labels[i]))
        .collect();
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
    Ok(DensityFit {
        density,
        labels,
        core,
        k,
    })
}

/// Rows per parallel block of the neighbour counts.
const BLOCK: usize = 256;

/// The rows sorted on their first feature, copied in that order: the rows within eps of a row
/// lie in a window of that order, found by binary search.
struct Sweep {
    /// Original row of each sorted position.
    order: Vec<usize>,
    rows: Vec<f64>,
    d: usize,
    eps: f64,
}

impl Sweep {
    fn new(x: &FeatureMatrix, eps: f64) -> Sweep {
        let d = x.n_cols();
        let mut order: Vec<usize> = (0..x.n_rows()).collect();
        order.sort_by(|&a, &b| x.row(a)[0].total_cmp(&x.row(b)[0]).then(a.cmp(&b)));
        let mut rows = Vec::with_capacity(x.n_rows() * d);
        for &i in &order {
            rows.extend_from_slice(x.row(i));
        }
        Sweep {
            order,
            rows,
            d,
            eps,
        }
    }

    fn row(&self, p: usize) -> &[f64] {
        &self.rows[p * self.d..(p + 1) * self.d]
    }

    /// Calls `f` with every position within eps of position `p` (itself included) until it
    /// returns false; returns how many positions it measured.
    #[inline]
    fn for_each_within(&self, p: usize, mut f: impl FnMut(usize) -> bool) -> usize {
        let n = self.order.len();
        let x = self.row(p);
        let start = partition_point(n, |q| self.rows[q * self.d] < x[0] - self.eps);
        for q in start..n {
            let y = self.row(q);
            if y[0] > x[0] + self.eps {
                return q - start;
            }
            if self.within(x, y) && !f(q) {
                return q + 1 - start;
            }
        }
        n - start
    }

    /// Whether two rows are within eps of each other.
    #[inline]
    fn within(&self, x: &[f64], y: &[f64]) -> bool {
        let d2: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
        d2 <= self.eps * self.eps
    }
}

fn find(parent: &mut [usize], mut p: usize) -> usize {
    while parent[p] != p {
        parent[p] = parent[parent[p]];
        p = parent[p];
    }
    p
}

fn find_const(parent: &[usize], mut p: usize) -> usize {
    while parent[p] != p {
        p = parent[p];
    }
    p
}

/// Joins two sets under the lower root, so the result does not depend on the order of unions.
fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

impl Density {
    /// The segment of the nearest core point within eps, or `NOISE` (of equally near ones, the
    /// first in sorted order). Core points are sorted by their first coordinate, so only those
    /// within eps of it on that axis are candidates; they are measured outwards from the row's
    /// own first coordinate, and a side stops once its gap on that axis alone is more than the
    /// nearest distance found (a squared distance is at least its first term, also in floating
    /// point: the sum only adds terms >= 0). Scanning the whole window in order (the earlier
    /// form, same answers) made labelling the training rows of a one-segment fit on 5,000
    /// z-scored bench rows (eps 1.5) 117-142 ms, almost half of the fit (one run, 2 cores).
    pub fn classify(&self, x: &[f64]) -> u32 {
        self.classify_within(None, x)
    }

    /// `classify`, stopping as soon as every candidate not yet measured has the label of the
    /// nearest one so far (`runs`: [`Density::runs`]).
    fn classify_within(&self, runs: Option<&LabelRuns>, x: &[f64]) -> u32 {
        let d = x.len();
        let n = self.core_labels.len();
        let first = |i: usize| self.core_points[i * d];
        let (x0, eps2) = (x[0], self.eps * self.eps);
        let start = partition_point(n, |i| first(i) < x0 - self.eps);
        let end = start + partition_point(n - start, |i| first(start + i) <= x0 + self.eps);
        let mid = start + partition_point(end - start, |i| first(start + i) < x0);
        // (squared distance, position) of the nearest so far: the lowest such pair wins.
        let mut best: Option<(f64, usize)> = None;
        let consider = |i: usize, best: &mut Option<(f64, usize)>| {
            let d2: f64 = self.core_points[i * d..(i + 1) * d]
                .iter()
                .zip(x)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            if d2 <= eps2 && best.is_none_or(|(b, at)| d2 < b || (d2 == b && i < at)) {
                *best = Some((d2, i));
            }
        };
        let (mut left, mut right) = (mid, mid);
        while left > start || right < end {
            let bound = best.map_or(eps2, |(b, _)| b);
            if right < end {
                let gap = first(right) - x0;
                if gap * gap > bound {
                    right = end;
                } else {
                    consider(right, &mut best);
                    right += 1;
                }
            }
            if left > start {
                let gap = first(left - 1) - x0;
                if gap * gap > bound {
                    left = start;
                } else {
                    consider(left - 1, &mut best);
                    left -= 1;
                }
            }
            if let (Some((_, at)), Some(runs)) = (best, runs) {
                let label = self.core_labels[at];
                let same = |i: usize| self.core_labels[i] == label;
                let left_done =
                    left == start || (same(left - 1) && runs.first[left - 1] as usize <= start);
                let right_done =
                    right == end || (same(right) && runs.last[right] as usize >= end - 1);
                if left_done && right_done {
                    break;
                }
            }
        }
        best.map_or(NOISE, |(_, i)| self.core_labels[i])
    }

    /// For each core point, the first and last position of the run of core points (in sorted
    /// order) that share its label.
    fn runs(&self) -> LabelRuns {
        let n = self.core_labels.len();
        let (mut first, mut last) = (vec![0u32; n], vec![0u32; n]);
        for i in 1..n {
            first[i] = if self.core_labels[i] == self.core_labels[i - 1] {
                first[i - 1]
            } else {
                i as u32
            };
        }
        for i in (0..n).rev() {
            last[i] = if i + 1 < n && self.core_labels[i] == self.core_labels[i + 1] {
                last[i + 1]
            } else {
                i as u32
            };
        }
        LabelRuns { first, last }
    }

    /// Gives segment i the id `new_id[i]`.
    pub fn renumber(&mut self, new_id: &[u32]) {
        for l in &mut self.core_labels {
            *l = new_id[*l as usize];
        }
    }
}

/// Runs of equal labels among the sorted core points: see [`DensityRule`].
#[derive(Debug, Clone)]
struct LabelRuns {
    first: Vec<u32>,
    last: Vec<u32>,
}

/// A density model ready to classify many rows: [`Density::classify`]'s answers, but a row stops
/// being measured once every core point left in its window has the label of the nearest found
/// so far (then no nearer one can change the answer). With one segment, that is the first core
/// point within eps: on 50,000 bench rows (eps 1.5, one segment, 5,000 core points) labelling the
/// rows outside the fitted sample took 2.1-2.5 s by nearest core point alone (one run, 2 cores).
#[derive(Debug, Clone)]
pub struct DensityRule {
    density: Density,
    runs: LabelRuns,
}

impl DensityRule {
    pub fn new(density: Density) -> DensityRule {
        let runs = density.runs();
        DensityRule { density, runs }
    }

    pub fn classify(&self, x: &[f64]) -> u32 {
        self.density.classify_within(Some(&self.runs), x)
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
        let fit = fit(&x, 0.25, 3, 2, &mut || {}).unwrap();
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
        let e = super::fit(&x, 0.01, 3, 2, &mut || {}).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InsufficientData);
    }

    /// With eps wide on the first feature, every step measures about n² / 2 pairs: the checks
    /// grow with that work, and a check that unwinds stops the fit, on one thread or two.
    #[test]
    fn checks_grow_with_the_work_and_stop_it() {
        // Rows in threes on the second feature, all within eps on the first: each row has 3
        // neighbours and measures every other row.
        let rows = |n: usize| {
            let data: Vec<f64> = (0..n)
                .flat_map(|i| [(i % 10) as f64 * 0.01, (i / 3) as f64])
                .collect();
            FeatureMatrix::from_rows(data, 2)
        };
        let calls = |n: usize| {
            let x = rows(n);
            crate::parallel::testing::checks(|check| {
                fit(&x, 0.5, 3, 1, check).unwrap();
            })
        };
        let (small, large) = (calls(1000), calls(8000));
        assert!(large >= 40 && large > 8 * small, "{small} {large}");
        let x = rows(8000);
        for threads in [1, 2] {
            crate::parallel::testing::stops_at(3, |check| {
                let _ = fit(&x, 0.5, 3, threads, check);
            });
        }
    }

    /// `classify` (measured outwards from the row on the first axis) and `DensityRule::classify`
    /// (which also stops once the label is settled) give what scanning every core point does:
    /// the lowest (squared distance, position) within eps, on rows with ties (a coarse grid,
    /// duplicates), rows outside the core points' range, and several segments side by side.
    #[test]
    fn classify_is_the_first_nearest_core_point_within_eps() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        let mut most_segments = 0;
        for (n, d, eps, grid, clumps) in [
            (400, 2, 0.5, true, 1.0),
            (600, 3, 0.8, false, 1.0),
            (300, 8, 2.5, false, 1.0),
            (800, 2, 0.15, false, 0.3),
            (800, 3, 0.26, true, 0.25),
        ] {
            let value = |rng: &mut rand_xoshiro::Xoshiro256PlusPlus| {
                // clumps < 1: values near the corners of a coarse lattice (several segments).
                let v = if clumps < 1.0 {
                    (rng.gen_range(0..4) as f64) + rng.gen::<f64>() * clumps
                } else {
                    rng.gen::<f64>() * 4.0
                };
                if grid {
                    (v * 4.0).round() / 4.0
                } else {
                    v
                }
            };
            let data: Vec<f64> = (0..n * d).map(|_| value(&mut rng)).collect();
            let x = FeatureMatrix::from_rows(data, d);
            let fit = fit(&x, eps, 3, 2, &mut || {}).unwrap();
            most_segments = most_segments.max(fit.k);
            let density = &fit.density;
            let rule = DensityRule::new(density.clone());
            let plain = |row: &[f64]| {
                let mut best = (f64::INFINITY, NOISE);
                for (c, &l) in density
                    .core_points
                    .chunks_exact(d)
                    .zip(&density.core_labels)
                {
                    let d2: f64 = c.iter().zip(row).map(|(a, b)| (a - b) * (a - b)).sum();
                    if d2 <= eps * eps && d2 < best.0 {
                        best = (d2, l);
                    }
                }
                best.1
            };
            for _ in 0..2000 {
                let row: Vec<f64> = (0..d).map(|_| value(&mut rng) * 1.5 - 1.0).collect();
                assert_eq!(density.classify(&row), plain(&row), "{row:?}");
                assert_eq!(rule.classify(&row), plain(&row), "{row:?}");
            }
            for (i, row) in x.rows().enumerate() {
                let label = density.classify(row);
                assert_eq!(label, plain(row));
                assert_eq!(rule.classify(row), label);
                if fit.core[i] || fit.labels[i] == NOISE {
                    assert_eq!(label, fit.labels[i]);
                }
            }
        }
        assert!(most_segments > 4, "{most_segments}");
    }

    /// scikit-learn's algorithm written plainly (all neighbour lists, then a depth-first
    /// expansion from each unlabelled core point in row order): the reference for labels.
    fn reference(x: &FeatureMatrix, eps: f64, min_points: usize) -> Vec<u32> {
        let n = x.n_rows();
        let within = |i: usize| -> Vec<usize> {
            (0..n)
                .filter(|&j| {
                    x.row(i)
                        .iter()
                        .zip(x.row(j))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        <= eps * eps
                })
                .collect()
        };
        let neighbours: Vec<Vec<usize>> = (0..n).map(within).collect();
        let core: Vec<bool> = neighbours.iter().map(|v| v.len() >= min_points).collect();
        let mut labels = vec![NOISE; n];
        let mut next = 0;
        for i in 0..n {
            if labels[i] != NOISE || !core[i] {
                continue;
            }
            let mut stack = vec![i];
            while let Some(p) = stack.pop() {
                if labels[p] != NOISE {
                    continue;
                }
                labels[p] = next;
                if core[p] {
                    stack.extend(neighbours[p].iter().filter(|&&q| labels[q] == NOISE));
                }
            }
            next += 1;
        }
        labels
    }

    #[test]
    fn labels_match_scikit_learns_algorithm() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let (mut borders, mut noisy, mut segments) = (0, 0, 0);
        for (n, d, eps, min_points) in [
            (300, 2, 0.12, 6),
            (500, 3, 0.3, 8),
            (400, 5, 0.6, 6),
            (200, 1, 0.01, 2),
        ] {
            // Clumps (a fifth of the rows scattered), so there are cores, borders, and noise.
            let mut data = Vec::with_capacity(n * d);
            for i in 0..n {
                let scattered = i % 5 == 0;
                for _ in 0..d {
                    let centre = (i % 4) as f64 * 2.0;
                    data.push(if scattered {
                        rng.gen::<f64>() * 8.0
                    } else {
                        centre + rng.gen::<f64>() * 0.6
                    });
                }
            }
            let x = FeatureMatrix::from_rows(data, d);
            let expected = reference(&x, eps, min_points);
            match fit(&x, eps, min_points as u32, 3, &mut || {}) {
                Ok(fit) => {
                    assert_eq!(fit.labels, expected, "n={n} d={d} eps={eps}");
                    let noise = expected.iter().filter(|&&l| l == NOISE).count();
                    borders += n - noise - fit.density.core_labels.len();
                    noisy += noise;
                    segments = segments.max(fit.k);
                    assert_eq!(
                        fit.k,
                        expected
                            .iter()
                            .filter(|&&l| l != NOISE)
                            .map(|&l| l as usize + 1)
                            .max()
                            .unwrap()
                    );
                }
                Err(_) => assert!(expected.iter().all(|&l| l == NOISE)),
            }
        }
        // The cases cover border rows, noise and several segments.
        assert!(borders > 0 && noisy > 0 && segments > 1);
    }

    /// linfa's DBSCAN (the implementation this replaced) finds the same core points and splits
    /// them the same way.
    #[test]
    fn core_points_and_segments_agree_with_linfa() {
        use linfa::prelude::*;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(8);
        let (n, d) = (600, 2);
        let data: Vec<f64> = (0..n * d)
            .map(|i| ((i / d) % 3) as f64 * 2.0 + rng.gen::<f64>())
            .collect();
        let x = FeatureMatrix::from_rows(data, d);
        let ours = fit(&x, 0.15, 5, 2, &mut || {}).unwrap();
        let view = ndarray::ArrayView2::from_shape((n, d), x.as_slice()).unwrap();
        let theirs = linfa_clustering::Dbscan::params(5)
            .tolerance(0.15)
            .transform(&view)
            .unwrap();
        // The same pairs of core points share a segment.
        let cores: Vec<usize> = (0..n)
            .filter(|&i| {
                let p = x.row(i);
                ours.density.core_points.chunks_exact(d).any(|c| c == p)
            })
            .collect();
        assert!(cores.len() > 100);
        for &i in &cores {
            assert!(theirs[i].is_some());
            for &j in &cores {
                assert_eq!(ours.labels[i] == ours.labels[j], theirs[i] == theirs[j]);
            }
        }
    }
}
