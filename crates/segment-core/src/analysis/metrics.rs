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
/// every row in its own segment).
pub fn silhouette(
    x: &FeatureMatrix,
    labels: &[u32],
    k: usize,
    max_rows: usize,
    seed: u64,
    threads: usize,
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
    // The sample, contiguous: the quadratic loop below then stays in cache.
    let sample: Vec<f64> = rows
        .iter()
        .flat_map(|&i| x.row(i).iter().copied())
        .collect();
    let sample_labels: Vec<usize> = rows.iter().map(|&i| labels[i] as usize).collect();
    let mut sizes = vec![0usize; k];
    for &l in &sample_labels {
        sizes[l] += 1;
    }
    let present = sizes.iter().filter(|&&s| s > 0).count();
    if present < 2 || present == m {
        return None;
    }
    // Rows are cut into blocks, each block sums its own coefficients, blocks add up in order:
    // the result does not depend on the thread count.
    let mut items: Vec<(std::ops::Range<usize>, f64)> = (0..m)
        .step_by(256)
        .map(|lo| (lo..(lo + 256).min(m), 0.0))
        .collect();
    parallel::for_each(&mut items, threads, |(range, total)| {
        let mut per_cluster = vec![0.0; k];
        for i in range.clone() {
            per_cluster.fill(0.0);
            let xi = &sample[i * d..(i + 1) * d];
            for (xj, &lj) in sample.chunks_exact(d).zip(&sample_labels) {
                let dist: f64 = xi
                    .iter()
                    .zip(xj)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                per_cluster[lj] += dist;
            }
            let own = sample_labels[i];
            // A row alone in its segment has silhouette 0 (scikit-learn's convention).
            if sizes[own] <= 1 {
                continue;
            }
            let a = per_cluster[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own && sizes[c] > 0)
                .map(|c| per_cluster[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let s = (b - a) / a.max(b);
            if s.is_finite() {
                *total += s;
            }
        }
    });
    let total: f64 = items.iter().map(|(_, t)| t).sum();
    Some((total / m as f64, m))
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
        let (s, used) = silhouette(&x, &[0, 0, 1], 2, 100, 0, 2).unwrap();
        assert_eq!(used, 3);
        assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn silhouette_undefined_cases() {
        let x = FeatureMatrix::from_rows(vec![0.0, 1.0, 4.0], 1);
        assert!(silhouette(&x, &[0, 0, 0], 1, 100, 0, 2).is_none());
        assert!(silhouette(&x, &[0, 1, 2], 3, 100, 0, 2).is_none());
    }

    #[test]
    fn silhouette_is_sampled_above_the_limit_and_seeded() {
        let data: Vec<f64> = (0..1000)
            .map(|i| (i % 2) as f64 * 10.0 + (i as f64) * 1e-3)
            .collect();
        let labels: Vec<u32> = (0..1000).map(|i| (i % 2) as u32).collect();
        let x = FeatureMatrix::from_rows(data, 1);
        let (s1, used) = silhouette(&x, &labels, 2, 100, 5, 1).unwrap();
        let (s2, _) = silhouette(&x, &labels, 2, 100, 5, 3).unwrap();
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
        let (s, _) = silhouette(&x, &two, 2, 100, 0, 1).unwrap();
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
