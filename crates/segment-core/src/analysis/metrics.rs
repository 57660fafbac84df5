//! Clustering quality measures.

use crate::parallel;
use crate::prep::matrix::FeatureMatrix;
use rand::seq::index::sample;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Mean silhouette coefficient (Rousseeuw 1987), Euclidean, as scikit-learn's `silhouette_score`.
/// Quadratic in rows, so above `max_rows` it is computed on a seeded uniform sample of rows
/// (distances among the sample only, like scikit-learn's `sample_size`). Returns the value and
/// the number of rows it used, or None when it is undefined (fewer than 2 segments present, or
/// every row in its own segment). `check` runs on the calling thread every few milliseconds of
/// work (150,000 sampled rows are about 10^11 operations).
pub fn silhouette(
    x: &FeatureMatrix,
    labels: &[u32],
    k: usize,
    max_rows: usize,
    seed: u64,
    threads: usize,
    check: &mut dyn FnMut(),
) -> Option<(f64, usize)> {
    let n = x.n_rows();
    let rows: Vec<usize> = if n > max_rows && max_rows > 0 {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut idx = sample(&mut rng, n, max_rows).into_vec();
        idx.sort_unstable();
        idx
    } else {
        (0..n).collect()
    };
    let m = rows.len();
    let d = x.n_cols();
    let sample_labels: Vec<usize> = rows.iter().map(|&i| labels[i] as usize).collect();
    let mut sizes = vec![0usize; k];
    for &l in &sample_labels {
        sizes[l] += 1;
    }
    let present = sizes.iter().filter(|&&s| s > 0).count();
    if present < 2 || present == m {
        return None;
    }
    // The sample grouped by segment (stable: by row within a segment) and stored feature-major:
    // a row's distances to one segment's rows are then one contiguous run per feature, which
    // vectorizes with the square roots (scattering each distance to its segment's sum did not).
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by_key(|&i| sample_labels[i]);
    let mut first = vec![0usize; k + 1];
    for c in 0..k {
        first[c + 1] = first[c] + sizes[c];
    }
    let mut columns = vec![0.0; d * m];
    for (at, &i) in order.iter().enumerate() {
        for (j, &v) in x.row(rows[i]).iter().enumerate() {
            columns[j * m + at] = v;
        }
    }
    let grouped = Grouped {
        columns: &columns,
        m,
        d,
    };
    // Each row's coefficient (NaN for a row that adds nothing) on threads, in items of about
    // `CHECK_WORK` operations (each row measures m distances) with an interrupt check between
    // them; then blocks of 256 rows (in grouped order) sum their own, and blocks add up in order:
    // the result depends neither on the thread count nor on the item size.
    let mut coefficients = vec![f64::NAN; m];
    let rows_per_item = (parallel::CHECK_WORK / (m * (d + 2))).clamp(1, m);
    let mut items: Vec<(usize, &mut [f64])> = coefficients
        .chunks_mut(rows_per_item)
        .enumerate()
        .map(|(at, out)| (at * rows_per_item, out))
        .collect();
    parallel::for_each_checked(&mut items, threads, check, |(start, out)| {
        let mut xi = vec![0.0; d];
        // The segment of the item's first row: the last segment starting at or before it.
        let mut own = first.partition_point(|&f| f <= *start) - 1;
        for (at, coefficient) in out.iter_mut().enumerate() {
            let i = *start + at;
            while i >= first[own + 1] {
                own += 1;
            }
            // A row alone in its segment has silhouette 0 (scikit-learn's convention).
            if sizes[own] <= 1 {
                continue;
            }
            for (j, v) in xi.iter_mut().enumerate() {
                *v = columns[j * m + i];
            }
            let mean_to = |c: usize, count: usize| {
                grouped.distance_sum(&xi, first[c], first[c + 1]) / count as f64
            };
            let a = mean_to(own, sizes[own] - 1);
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| mean_to(c, sizes[c]))
                .fold(f64::INFINITY, f64::min);
            *coefficient = (b - a) / a.max(b);
        }
    });
    let blocks: Vec<f64> = coefficients
        .chunks(256)
        .map(|block| {
            let mut total = 0.0;
            for &s in block {
                if s.is_finite() {
                    total += s;
                }
            }
            total
        })
        .collect();
    let total: f64 = blocks.iter().sum();
    Some((total / m as f64, m))
}

/// Silhouette's sample, feature-major: feature j of row i at `columns[j * m + i]`.
struct Grouped<'a> {
    columns: &'a [f64],
    m: usize,
    d: usize,
}

impl Grouped<'_> {
    /// Sum of Euclidean distances from `xi` to rows `lo..hi`. Compiled for AVX-512, AVX2 and
    /// baseline x86-64, the widest the CPU has chosen at run time (as k-means' assignment loop);
    /// no FMA, so every variant gives the same sums.
    fn distance_sum(&self, xi: &[f64], lo: usize, hi: usize) -> f64 {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { self.distance_sum_avx512(xi, lo, hi) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                return unsafe { self.distance_sum_avx2(xi, lo, hi) };
            }
        }
        self.distance_sum_generic(xi, lo, hi)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn distance_sum_avx512(&self, xi: &[f64], lo: usize, hi: usize) -> f64 {
        self.distance_sum_generic(xi, lo, hi)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn distance_sum_avx2(&self, xi: &[f64], lo: usize, hi: usize) -> f64 {
        self.distance_sum_generic(xi, lo, hi)
    }

    /// Eight rows at a time in lanes, then the rest one by one.
    #[inline(always)]
    fn distance_sum_generic(&self, xi: &[f64], lo: usize, hi: usize) -> f64 {
        const LANES: usize = 8;
        let (m, d) = (self.m, self.d);
        let mut sums = [0.0f64; LANES];
        let mut j = lo;
        while j + LANES <= hi {
            let mut dist = [0.0f64; LANES];
            for (f, &xf) in xi.iter().enumerate().take(d) {
                let col: &[f64; LANES] = self.columns[f * m + j..f * m + j + LANES]
                    .try_into()
                    .expect("LANES values");
                for l in 0..LANES {
                    let t = xf - col[l];
                    dist[l] += t * t;
                }
            }
            for l in 0..LANES {
                sums[l] += dist[l].sqrt();
            }
            j += LANES;
        }
        let mut rest = 0.0;
        for j in j..hi {
            let dist: f64 = xi
                .iter()
                .enumerate()
                .map(|(f, &xf)| (xf - self.columns[f * m + j]).powi(2))
                .sum();
            rest += dist.sqrt();
        }
        sums.iter().sum::<f64>() + rest
    }
}

/// Per-segment sizes and means of the rows (segments with no row keep a zero mean, size 0).
fn segment_means(x: &FeatureMatrix, labels: &[u32], k: usize) -> (Vec<usize>, Vec<f64>) {
    let d = x.n_cols();
    let mut sizes = vec![0usize; k];
    let mut means = vec![0.0; k * d];
    for (row, &l) in x.rows().zip(labels) {
        let l = l as usize;
        sizes[l] += 1;
        means[l * d..(l + 1) * d]
            .iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v);
    }
    for (c, &size) in sizes.iter().enumerate() {
        if size > 0 {
            means[c * d..(c + 1) * d]
                .iter_mut()
                .for_each(|m| *m /= size as f64);
        }
    }
    (sizes, means)
}

/// Calinski-Harabasz index (variance ratio criterion), as scikit-learn's
/// `calinski_harabasz_score`: between-segment over within-segment dispersion, each divided by
/// its degrees of freedom. Higher is better. None when fewer than 2 segments are present or
/// every row is its own segment.
pub fn calinski_harabasz(x: &FeatureMatrix, labels: &[u32], k: usize) -> Option<f64> {
    let (n, d) = (x.n_rows(), x.n_cols());
    let (sizes, means) = segment_means(x, labels, k);
    let present = sizes.iter().filter(|&&s| s > 0).count();
    if present < 2 || present >= n {
        return None;
    }
    let mut overall = vec![0.0; d];
    for row in x.rows() {
        overall.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    overall.iter_mut().for_each(|m| *m /= n as f64);
    let mut within = 0.0;
    for (row, &l) in x.rows().zip(labels) {
        let c = &means[l as usize * d..(l as usize + 1) * d];
        within += row
            .iter()
            .zip(c)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>();
    }
    let between: f64 = (0..k)
        .filter(|&c| sizes[c] > 0)
        .map(|c| {
            let m = &means[c * d..(c + 1) * d];
            sizes[c] as f64
                * m.iter()
                    .zip(&overall)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
        })
        .sum();
    if within == 0.0 {
        return Some(1.0); // scikit-learn's convention for zero within-dispersion
    }
    Some(between * (n - present) as f64 / (within * (present - 1) as f64))
}

/// Davies-Bouldin index, as scikit-learn's `davies_bouldin_score`: the mean over segments of the
/// worst ratio of summed spreads to centre distance. Lower is better. None with fewer than 2
/// segments present.
pub fn davies_bouldin(x: &FeatureMatrix, labels: &[u32], k: usize) -> Option<f64> {
    let d = x.n_cols();
    let (sizes, means) = segment_means(x, labels, k);
    let present: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    if present.len() < 2 {
        return None;
    }
    let dist = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q) * (p - q))
            .sum::<f64>()
            .sqrt()
    };
    let mut spread = vec![0.0; k];
    for (row, &l) in x.rows().zip(labels) {
        let l = l as usize;
        spread[l] += dist(row, &means[l * d..(l + 1) * d]);
    }
    for &c in &present {
        spread[c] /= sizes[c] as f64;
    }
    if present.iter().all(|&c| spread[c] == 0.0) {
        return Some(0.0);
    }
    let mut total = 0.0;
    for &i in &present {
        let mut worst: f64 = 0.0;
        for &j in &present {
            if i == j {
                continue;
            }
            let gap = dist(&means[i * d..(i + 1) * d], &means[j * d..(j + 1) * d]);
            let r = (spread[i] + spread[j]) / gap;
            // Coincident centres give an infinite ratio; scikit-learn replaces it by 0.
            worst = worst.max(if r.is_finite() { r } else { 0.0 });
        }
        total += worst;
    }
    Some(total / present.len() as f64)
}

/// Adjusted Rand index (Hubert & Arabie 1985) between two labelings of the same rows.
pub fn adjusted_rand_index(a: &[u32], b: &[u32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len();
    let ka = a.iter().max().map_or(0, |&m| m as usize + 1);
    let kb = b.iter().max().map_or(0, |&m| m as usize + 1);
    let mut table = vec![0u64; ka * kb];
    for (&i, &j) in a.iter().zip(b) {
        table[i as usize * kb + j as usize] += 1;
    }
    let c2 = |v: u64| (v * v.saturating_sub(1)) as f64 / 2.0;
    let sum_cells: f64 = table.iter().map(|&v| c2(v)).sum();
    let sum_a: f64 = (0..ka)
        .map(|i| c2(table[i * kb..(i + 1) * kb].iter().sum()))
        .sum();
    let sum_b: f64 = (0..kb)
        .map(|j| c2((0..ka).map(|i| table[i * kb + j]).sum()))
        .sum();
    let expected = sum_a * sum_b / c2(n as u64);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        return 1.0;
    }
    (sum_cells - expected) / (max - expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silhouette_by_hand() {
        // Points 0, 1 in segment 0 and 4 in segment 1 (1-D).
        // row 0: a = 1, b = 4 -> 0.75; row 1: a = 1, b = 3 -> 2/3; row 2 alone -> 0.
        let x = FeatureMatrix::from_rows(vec![0.0, 1.0, 4.0], 1);
        let (s, used) = silhouette(&x, &[0, 0, 1], 2, 100, 0, 2, &mut || {}).unwrap();
        assert_eq!(used, 3);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    /// The grouped, vectorized kernel against the definition computed plainly, on rows whose
    /// counts per segment are not multiples of the lane width, singletons and an empty segment
    /// included.
    #[test]
    fn silhouette_matches_the_definition() {
        use rand::Rng;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for (n, d, k) in [(3, 1, 3), (37, 3, 4), (200, 8, 5), (129, 11, 9)] {
            let x =
                FeatureMatrix::from_rows((0..n * d).map(|_| rng.gen::<f64>() * 4.0).collect(), d);
            let mut labels: Vec<u32> = (0..n).map(|_| rng.gen_range(0..k as u32 - 1)).collect();
            // Segments 0 and k - 2 present, k - 1 empty.
            labels[0] = k as u32 - 2;
            labels[1] = 0;
            let plain = {
                let sizes: Vec<usize> = (0..k)
                    .map(|c| labels.iter().filter(|&&l| l == c as u32).count())
                    .collect();
                let mut total = 0.0;
                for i in 0..n {
                    let own = labels[i] as usize;
                    if sizes[own] <= 1 {
                        continue;
                    }
                    let mut per = vec![0.0; k];
                    for j in 0..n {
                        let dist: f64 = x
                            .row(i)
                            .iter()
                            .zip(x.row(j))
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum();
                        per[labels[j] as usize] += dist.sqrt();
                    }
                    let a = per[own] / (sizes[own] - 1) as f64;
                    let b = (0..k)
                        .filter(|&c| c != own && sizes[c] > 0)
                        .map(|c| per[c] / sizes[c] as f64)
                        .fold(f64::INFINITY, f64::min);
                    total += (b - a) / a.max(b);
                }
                total / n as f64
            };
            let (s, used) = silhouette(&x, &labels, k, n, 0, 2, &mut || {}).unwrap();
            assert_eq!(used, n);
            assert!(
                (s - plain).abs() < 1e-12,
                "n={n} d={d} k={k}: {s} vs {plain}"
            );
        }
    }

    /// The silhouette checks for interrupts in proportion to its work (quadratic in the rows),
    /// and a check that unwinds stops it, on one thread or several.
    #[test]
    fn silhouette_checks_as_it_goes_and_stops() {
        let rows = |n: usize| {
            let data: Vec<f64> = (0..n * 2).map(|i| ((i * 7919) % 1000) as f64).collect();
            let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
            (FeatureMatrix::from_rows(data, 2), labels)
        };
        let calls = |n: usize| {
            let (x, labels) = rows(n);
            parallel::testing::checks(|check| {
                silhouette(&x, &labels, 3, n, 0, 1, check).unwrap();
            })
        };
        let (small, large) = (calls(1000), calls(4000));
        // 4000² x 4 operations are 15 times CHECK_WORK: at least that many checks.
        assert!(large >= 15 && large > 8 * small, "{small} {large}");
        let (x, labels) = rows(4000);
        for threads in [1, 2] {
            parallel::testing::stops_at(2, |check| {
                silhouette(&x, &labels, 3, 4000, 0, threads, check);
            });
        }
    }

    #[test]
    fn silhouette_undefined_cases() {
        let x = FeatureMatrix::from_rows(vec![0.0, 1.0, 4.0], 1);
        assert!(silhouette(&x, &[0, 0, 0], 1, 100, 0, 2, &mut || {}).is_none());
        assert!(silhouette(&x, &[0, 1, 2], 3, 100, 0, 2, &mut || {}).is_none());
    }

    #[test]
    fn silhouette_is_sampled_above_the_limit_and_seeded() {
        let data: Vec<f64> = (0..1000)
            .map(|i| (i % 2) as f64 * 10.0 + (i as f64) * 1e-3)
            .collect();
        let labels: Vec<u32> = (0..1000).map(|i| (i % 2) as u32).collect();
        let x = FeatureMatrix::from_rows(data, 1);
        let (s1, used) = silhouette(&x, &labels, 2, 100, 5, 1, &mut || {}).unwrap();
        let (s2, _) = silhouette(&x, &labels, 2, 100, 5, 3, &mut || {}).unwrap();
        assert_eq!(used, 100);
        assert_eq!(s1, s2);
        assert!(s1 > 0.8);
    }

    /// Reference values from scikit-learn 1.9.1 on the same rows and labels.
    #[test]
    fn calinski_harabasz_and_davies_bouldin_match_scikit_learn() {
        let x = FeatureMatrix::from_rows(
            vec![
                0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 10.0, 10.0, 11.0, 10.0, 10.0, 11.0, 5.0, 5.0,
            ],
            2,
        );
        let three = [0, 0, 0, 1, 1, 1, 2];
        let two = [0, 0, 0, 1, 1, 1, 1];
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
        assert!(close(
            calinski_harabasz(&x, &three, 3).unwrap(),
            225.14285714285722
        ));
        assert!(close(
            davies_bouldin(&x, &three, 3).unwrap(),
            0.09689958573936937
        ));
        assert!(close(
            calinski_harabasz(&x, &two, 2).unwrap(),
            28.403361344537817
        ));
        assert!(close(
            davies_bouldin(&x, &two, 2).unwrap(),
            0.28881285122496453
        ));
        let (s, _) = silhouette(&x, &two, 2, 100, 0, 1, &mut || {}).unwrap();
        assert!(close(s, 0.7004364840610167));
        assert!(calinski_harabasz(&x, &[0; 7], 1).is_none());
        assert!(davies_bouldin(&x, &[0; 7], 1).is_none());
    }

    #[test]
    fn ari_known_values() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        // Values from scikit-learn 1.x adjusted_rand_score on the same labelings.
        let v = adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((v - 0.5714285714285714).abs() < 1e-12, "{v}");
        let v = adjusted_rand_index(&[0, 0, 0, 1, 1, 1], &[0, 1, 2, 0, 1, 2]);
        assert!((v + 0.36363636363636365).abs() < 1e-12, "{v}");
    }
}
