//! Clustering quality measures.

use super::matrix::FeatureMatrix;
use super::parallel;
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
