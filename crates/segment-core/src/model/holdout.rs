//! Held-out scoring of the supervised fits (churn trees, classifiers): the seeded stratified
//! split and the per-class scores of predictions against the truth.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Rows per class held out: round(test_fraction × class rows), at least one (an empty held-out
/// set would score nothing) and at least one row of each class left to train on. Seeded and stratified: the same data and seed give the same split. Returns
/// (train, test) row indexes, each ascending.
pub fn stratified_split(
    y: &[u32],
    classes: usize,
    test_fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &c) in y.iter().enumerate() {
        by_class[c as usize].push(i);
    }
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut rows in by_class.into_iter().filter(|r| !r.is_empty()) {
        rows.shuffle(&mut rng);
        let n_test = ((rows.len() as f64 * test_fraction).round() as usize)
            .max(1)
            .min(rows.len() - 1);
        test.extend_from_slice(&rows[..n_test]);
        train.extend_from_slice(&rows[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// One class's held-out scores. Precision is None when nothing was predicted in the class,
/// recall when the held-out rows have none of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScore {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
    /// Held-out rows of the class.
    pub support: u64,
}

/// Held-out scores of predictions against the truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    /// Mean F1 over the classes present in the truth or the predictions, an undefined F1
    /// counting 0 (scikit-learn's `f1_score(average="macro", zero_division=0)`).
    pub macro_f1: f64,
    pub per_class: Vec<ClassScore>,
    /// `confusion[truth][predicted]`.
    pub confusion: Vec<Vec<u64>>,
}

/// Scores `predicted` against `truth` (both `0..classes`).
pub fn score(truth: &[u32], predicted: &[u32], classes: usize) -> Scores {
    let mut confusion = vec![vec![0u64; classes]; classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t as usize][p as usize] += 1;
    }
    let hits: u64 = (0..classes).map(|c| confusion[c][c]).sum();
    let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
    let mut per_class = Vec::with_capacity(classes);
    let (mut f1_sum, mut present) = (0.0, 0usize);
    for (c, row) in confusion.iter().enumerate() {
        let support: u64 = row.iter().sum();
        let predicted_c: u64 = confusion.iter().map(|r| r[c]).sum();
        let precision = ratio(row[c], predicted_c);
        let recall = ratio(row[c], support);
        let f1 = match (precision, recall) {
            (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        if support > 0 || predicted_c > 0 {
            present += 1;
            f1_sum += f1.unwrap_or(0.0);
        }
        per_class.push(ClassScore {
            precision,
            recall,
            f1,
            support,
        });
    }
    Scores {
        accuracy: hits as f64 / truth.len().max(1) as f64,
        macro_f1: f1_sum / present.max(1) as f64,
        per_class,
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stratified_split_keeps_the_class_shares() {
        let y: Vec<u32> = (0..100).map(|i| (i % 10 == 0) as u32).collect();
        let (train, test) = stratified_split(&y, 2, 0.2, 7);
        assert_eq!((train.len(), test.len()), (80, 20));
        assert_eq!(test.iter().filter(|&&i| y[i] == 1).count(), 2);
        assert_eq!(stratified_split(&y, 2, 0.2, 7), (train, test));
        // Three classes of 10, 20 and 1 rows: 2, 4 and 0 held out (one row always trains).
        let y: Vec<u32> = (0..31)
            .map(|i| {
                if i < 10 {
                    0
                } else if i < 30 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let (train, test) = stratified_split(&y, 3, 0.2, 1);
        assert_eq!(test.len(), 6);
        assert!(train.contains(&30));
        // A share that rounds to nothing still holds one row of each class out.
        let (_, test) = stratified_split(&y[..30], 2, 0.01, 1);
        assert_eq!(test.len(), 2);
    }

    #[test]
    fn scores_by_hand() {
        // scikit-learn: precision_recall_fscore_support([0,0,1,1,2,2], [0,1,1,1,0,2]) gives
        // precision (0.5, 0.667, 1), recall (0.5, 1, 0.5), f1 (0.5, 0.8, 0.667).
        let s = score(&[0, 0, 1, 1, 2, 2], &[0, 1, 1, 1, 0, 2], 3);
        assert!((s.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let f1: Vec<f64> = s.per_class.iter().map(|c| c.f1.unwrap()).collect();
        for (a, b) in f1.iter().zip([0.5, 0.8, 2.0 / 3.0]) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((s.macro_f1 - (0.5 + 0.8 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(s.confusion[2], vec![1, 0, 1]);
        // A class never predicted: precision undefined, F1 counted 0 in the macro mean; a class
        // absent from truth and predictions is left out of it.
        let s = score(&[0, 1], &[0, 0], 3);
        assert_eq!(s.per_class[1].precision, None);
        assert_eq!(s.per_class[1].recall, Some(0.0));
        assert!((s.macro_f1 - (2.0 / 3.0) / 2.0).abs() < 1e-12);
    }
}
