//! The core's estimators and linfa's, swapped behind the same trait calls: each test fits the
//! same rows through one generic function over linfa's traits, once with our estimator and once
//! with linfa-clustering's or linfa-trees', and compares the results by a measure neither side
//! computes (the adjusted Rand index between labelings, label equality, held-out accuracy).

use linfa::prelude::*;
use linfa::traits::Transformer;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use segment_core::analysis::metrics::adjusted_rand_index;
use segment_core::estimator;

type Data = DatasetBase<Array2<f64>, Array1<usize>>;

/// Fits `params` on `train` and predicts `test`: the one code path both sides go through.
fn fit_predict<P, E>(params: &P, train: &Data, test: &Array2<f64>) -> Array1<usize>
where
    P: Fit<Array2<f64>, Array1<usize>, E>,
    P::Object: PredictInplace<Array2<f64>, Array1<usize>>,
    E: std::error::Error + From<linfa::Error>,
{
    let model = params.fit(train).unwrap_or_else(|e| panic!("fit: {e}"));
    model.predict(test)
}

/// DBSCAN's labels of `x`, as linfa's checked DBSCAN parameters give them.
fn dbscan_labels<P>(params: &P, x: &Array2<f64>) -> Array1<Option<usize>>
where
    P: for<'a> Transformer<&'a Array2<f64>, Array1<Option<usize>>>,
{
    params.transform(x)
}

/// `n` rows of `d` features around `k` centres 10 apart (one per axis, both signs), standard
/// deviation 1; the target is the blob. Rows in a seeded random order.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f64>, Array1<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let noise = Normal::new(0.0, 1.0).unwrap();
    let mut x = Array2::zeros((n, d));
    let mut y = Array1::zeros(n);
    for i in 0..n {
        let b = rng.gen_range(0..k);
        y[i] = b;
        for j in 0..d {
            let centre = if j == b % d {
                if (b / d).is_multiple_of(2) {
                    10.0
                } else {
                    -10.0
                }
            } else {
                0.0
            };
            x[[i, j]] = centre + noise.sample(&mut rng);
        }
    }
    (x, y)
}

fn ari(a: &Array1<usize>, b: &Array1<usize>) -> f64 {
    let code = |l: &Array1<usize>| l.iter().map(|&v| v as u32).collect::<Vec<_>>();
    adjusted_rand_index(&code(a), &code(b))
}

fn accuracy(predicted: &Array1<usize>, truth: &Array1<usize>) -> f64 {
    let right = predicted.iter().zip(truth).filter(|(p, t)| p == t).count();
    right as f64 / truth.len() as f64
}

/// The measure tells labelings apart: a random labeling of the same rows scores near 0.
#[test]
fn ari_tells_a_random_labeling_apart() {
    let (_, truth) = blobs(2000, 4, 4, 1);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
    let random: Array1<usize> = (0..truth.len()).map(|_| rng.gen_range(0..4)).collect();
    assert!(ari(&truth, &random).abs() < 0.05);
    assert_eq!(ari(&truth, &truth), 1.0);
}

/// k-means: ours and linfa-clustering's `KMeans` label held-out rows of four well-separated
/// blobs alike (ARI >= 0.99 with each other and with the blobs).
#[test]
fn kmeans_swaps_with_linfa_kmeans() {
    let (x, y) = blobs(3000, 4, 4, 3);
    let (test_x, test_y) = blobs(1000, 4, 4, 4);
    let train = DatasetBase::new(x, y);
    let ours = fit_predict(&estimator::KMeans::params(4).seed(5), &train, &test_x);
    let theirs = fit_predict(
        &linfa_clustering::KMeans::params_with_rng(4, Xoshiro256PlusPlus::seed_from_u64(5)),
        &train,
        &test_x,
    );
    assert!(
        ari(&ours, &theirs) >= 0.99,
        "ours vs linfa {}",
        ari(&ours, &theirs)
    );
    assert!(
        ari(&ours, &test_y) >= 0.99,
        "ours vs blobs {}",
        ari(&ours, &test_y)
    );
}

/// Gaussian mixtures: ours and linfa-clustering's `GaussianMixtureModel` likewise.
#[test]
fn gmm_swaps_with_linfa_gaussian_mixture() {
    let (x, y) = blobs(3000, 3, 3, 6);
    let (test_x, test_y) = blobs(1000, 3, 3, 7);
    let train = DatasetBase::new(x, y);
    let ours = fit_predict(
        &estimator::GaussianMixture::params(3).n_init(2).seed(8),
        &train,
        &test_x,
    );
    let theirs = fit_predict(
        &linfa_clustering::GaussianMixtureModel::params_with_rng(
            3,
            Xoshiro256PlusPlus::seed_from_u64(8),
        ),
        &train,
        &test_x,
    );
    assert!(
        ari(&ours, &theirs) >= 0.99,
        "ours vs linfa {}",
        ari(&ours, &theirs)
    );
    assert!(
        ari(&ours, &test_y) >= 0.99,
        "ours vs blobs {}",
        ari(&ours, &test_y)
    );
}

/// Ward: linfa has no agglomerative clustering, so linfa's k-means stands in: on well-separated
/// blobs both find the blobs.
#[test]
fn ward_swaps_with_linfa_kmeans_on_blobs() {
    let (x, y) = blobs(800, 4, 4, 9);
    let (test_x, _) = blobs(400, 4, 4, 10);
    let train = DatasetBase::new(x, y);
    let ours = fit_predict(&estimator::Ward::params(4), &train, &test_x);
    let theirs = fit_predict(
        &linfa_clustering::KMeans::params_with_rng(4, Xoshiro256PlusPlus::seed_from_u64(11)),
        &train,
        &test_x,
    );
    assert!(
        ari(&ours, &theirs) >= 0.99,
        "ours vs linfa {}",
        ari(&ours, &theirs)
    );
}

/// DBSCAN: three tight blobs and five lone rows; ours and linfa-clustering's `Dbscan` give the
/// same labels, row for row (segments numbered by their first core row on both sides, the lone
/// rows and a blob's far tail noise).
#[test]
fn dbscan_swaps_with_linfa_dbscan() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(12);
    let noise = Normal::new(0.0, 0.3).unwrap();
    let centres = [(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)];
    let mut rows = Vec::new();
    for i in 0..600 {
        let (cx, cy) = centres[rng.gen_range(0..3)];
        rows.push([cx + noise.sample(&mut rng), cy + noise.sample(&mut rng)]);
        if i % 120 == 60 {
            rows.push([20.0 + i as f64, -20.0]);
        }
    }
    let x = Array2::from_shape_vec((rows.len(), 2), rows.concat()).unwrap();
    let ours = dbscan_labels(&estimator::Dbscan::params(5).eps(0.5).check().unwrap(), &x);
    let theirs = dbscan_labels(
        &linfa_clustering::Dbscan::params(5)
            .tolerance(0.5)
            .check()
            .unwrap(),
        &x,
    );
    assert_eq!(ours, theirs);
    // The lone rows are noise, and few blob rows (a blob's far tail).
    let lone: Vec<bool> = x.rows().into_iter().map(|r| r[0] >= 20.0).collect();
    assert_eq!(lone.iter().filter(|&&l| l).count(), 5);
    assert!(lone.iter().zip(&ours).all(|(&l, o)| !l || o.is_none()));
    assert!(ours.iter().filter(|l| l.is_none()).count() <= 5 + 6);
    assert_eq!(ours.iter().flatten().max(), Some(&2));
}

/// Rows whose class is a rule on two of six features, with 10% of the labels flipped.
fn classes(n: usize, seed: u64) -> (Array2<f64>, Array1<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 6), |_| rng.gen_range(-1.0..1.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let class = if r[0] > 0.3 {
                2
            } else if r[1] > -0.2 {
                1
            } else {
                0
            };
            if rng.gen_bool(0.1) {
                (class + 1) % 3
            } else {
                class
            }
        })
        .collect();
    (x, y)
}

/// The tree: ours and linfa-trees' `DecisionTree` (same depth, Gini) are within 2 points of
/// held-out accuracy of each other, and both near the 90% the flipped labels allow.
#[test]
fn tree_swaps_with_linfa_decision_tree() {
    let (x, y) = classes(4000, 13);
    let (test_x, test_y) = classes(2000, 14);
    let train = DatasetBase::new(x, y);
    let ours = fit_predict(
        &estimator::DecisionTree::params()
            .max_depth(6)
            .min_samples_leaf(5),
        &train,
        &test_x,
    );
    let theirs = fit_predict(
        &linfa_trees::DecisionTree::<f64, usize>::params()
            .max_depth(Some(6))
            .min_weight_leaf(5.0),
        &train,
        &test_x,
    );
    let (a_ours, a_theirs) = (accuracy(&ours, &test_y), accuracy(&theirs, &test_y));
    assert!(
        (a_ours - a_theirs).abs() <= 0.02,
        "ours {a_ours}, linfa {a_theirs}"
    );
    assert!(a_ours >= 0.85, "ours {a_ours}");
}

/// The forest: linfa-trees has none, so its tree stands in; the forest is at least as accurate
/// on held-out rows, within a point.
#[test]
fn forest_swaps_with_linfa_decision_tree() {
    let (x, y) = classes(4000, 15);
    let (test_x, test_y) = classes(2000, 16);
    let train = DatasetBase::new(x, y);
    let ours = fit_predict(
        &estimator::RandomForest::params()
            .n_trees(50)
            .max_depth(8)
            .min_samples_leaf(5)
            .seed(17),
        &train,
        &test_x,
    );
    let theirs = fit_predict(
        &linfa_trees::DecisionTree::<f64, usize>::params()
            .max_depth(Some(8))
            .min_weight_leaf(5.0),
        &train,
        &test_x,
    );
    let (a_ours, a_theirs) = (accuracy(&ours, &test_y), accuracy(&theirs, &test_y));
    assert!(a_ours >= a_theirs - 0.01, "ours {a_ours}, linfa {a_theirs}");
    assert!(a_ours >= 0.85, "ours {a_ours}");
}
