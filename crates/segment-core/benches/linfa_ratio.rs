//! Times the core's estimators against linfa's in one run, through the same linfa trait calls
//! (`segment_core::estimator`), and prints linfa:ours ratios (above 1: ours is faster). Both
//! sides use every core (linfa's k-means through ndarray's rayon; ours through its row-block
//! threads); the trees run on one thread on both sides. Machines are noisy: each figure is the
//! median of BENCH_REPEAT (default 5) interleaved repeats, with the range of the repeats' ratios;
//! nothing is asserted.
//!
//!   cargo bench -p segment-core --bench linfa_ratio
//!   (BENCH_ROWS, default 100000: the k-means and tree rows; BENCH_REPEAT)
//!
//! - k-means per Lloyd iteration: k 8 on BENCH_ROWS x 8 uniform rows (on blobs both sides
//!   converge within a few iterations, too few to time), one start, tolerance 0; the time of a
//!   5-iteration fit taken from a 45-iteration one, over the iterations between (seeding and the
//!   copy of the records cancel out). Ours stops early only when no label changes: it says so.
//! - CART: depth 12, one row a leaf, Gini, on BENCH_ROWS x 8 rows whose three classes follow a
//!   rule with 10% of labels flipped; the whole fit.
//! - DBSCAN: eps 1.5, min_points 5 on 5,000 rows of eight Gaussian blobs (the generator of
//!   benches/fit_assign.py, whose first 5,000 rows benches/methods.py fits), z-scored: the case
//!   `cluster::dbscan`'s documentation cites; the labels of every row, through `Transformer`.

use linfa::prelude::*;
use linfa::traits::Transformer;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use segment_core::estimator;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// benches/fit_assign.py's customers: row i in blob b = i mod 8, feature j centred at
/// 3 ((b >> (j mod 3)) & 1) + (j mod 2) b / 2, standard normal noise.
fn blobs(n: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    Array2::from_shape_fn((n, 8), |(i, j)| {
        let b = i % 8;
        let noise: f64 = StandardNormal.sample(&mut rng);
        3.0 * ((b >> (j % 3)) & 1) as f64 + (j % 2) as f64 * b as f64 * 0.5 + noise
    })
}

fn zscore(mut x: Array2<f64>) -> Array2<f64> {
    let mean = x.mean_axis(Axis(0)).unwrap();
    let sd = x.std_axis(Axis(0), 0.0);
    for mut row in x.rows_mut() {
        row -= &mean;
        row /= &sd;
    }
    x
}

/// Three classes by a rule on three of eight features, 10% of labels flipped.
fn classes(n: usize, seed: u64) -> (Array2<f64>, Array1<usize>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, 8), |_| rng.gen_range(-1.0..1.0));
    let y = x
        .rows()
        .into_iter()
        .map(|r| {
            let class = if r[0] + 0.5 * r[2] > 0.3 {
                2
            } else if r[1] * r[3] > -0.1 {
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

fn seconds<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64(), std::hint::black_box(out))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// One line: the median times and the median and range of the repeats' linfa:ours ratios.
fn report(what: &str, unit: &str, ours: &[f64], theirs: &[f64]) {
    let ratios: Vec<f64> = ours.iter().zip(theirs).map(|(o, t)| t / o).collect();
    let (lo, hi) = ratios.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
        (lo.min(r), hi.max(r))
    });
    println!(
        "{what:<50} ours {:>9.3} {unit}  linfa {:>9.3} {unit}  linfa:ours {:>6.2} (range {:.2}-{:.2}, {} repeats)",
        median(ours) * 1e3,
        median(theirs) * 1e3,
        median(&ratios),
        lo,
        hi,
        ratios.len()
    );
}

fn main() {
    let rows = env("BENCH_ROWS", 100_000);
    let repeat = env("BENCH_REPEAT", 5).max(1);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("linfa:ours, {rows} rows, {repeat} repeats, {threads} cores");

    // k-means per Lloyd iteration.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let data = DatasetBase::from(Array2::from_shape_fn((rows, 8), |_| rng.gen::<f64>()));
    let (short, long) = (5u64, 45u64);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 0..repeat as u64 {
        let ours_fit = |iterations: u64| {
            let params = estimator::KMeans::params(8)
                .n_init(1)
                .max_iter(iterations)
                .tol(0.0)
                .seed(r);
            let (t, model) = seconds(|| params.fit(&data).unwrap());
            (t, model.iterations())
        };
        let (t_short, i_short) = ours_fit(short);
        let (t_long, i_long) = ours_fit(long);
        if i_long as u64 != long {
            println!("  (ours converged after {i_long} iterations of {long})");
        }
        ours.push((t_long - t_short) / (i_long - i_short).max(1) as f64);
        let theirs_fit = |iterations: u64| {
            let params =
                linfa_clustering::KMeans::params_with_rng(8, Xoshiro256PlusPlus::seed_from_u64(r))
                    .n_runs(1)
                    .max_n_iterations(iterations)
                    .tolerance(f64::MIN_POSITIVE);
            seconds(|| params.fit(&data).unwrap()).0
        };
        // linfa stops on a centre shift below its tolerance: never, at the smallest positive.
        let t_short = theirs_fit(short);
        let t_long = theirs_fit(long);
        theirs.push((t_long - t_short) / (long - short) as f64);
    }
    report(
        &format!("k-means k 8, per Lloyd iteration, {rows} x 8"),
        "ms",
        &ours,
        &theirs,
    );

    // CART, depth 12.
    let (x, y) = classes(rows, 2);
    let data = DatasetBase::new(x, y);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let params = estimator::DecisionTree::params()
            .max_depth(12)
            .min_samples_leaf(1);
        ours.push(seconds(|| params.fit(&data).unwrap()).0);
        let params = linfa_trees::DecisionTree::<f64, usize>::params()
            .max_depth(Some(12))
            .min_weight_leaf(1.0);
        theirs.push(seconds(|| params.fit(&data).unwrap()).0);
    }
    report(
        &format!("CART depth 12, fit, {rows} x 8"),
        "ms",
        &ours,
        &theirs,
    );

    // DBSCAN.
    let x = zscore(blobs(5_000, 3));
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let ours_params = estimator::Dbscan::params(5).eps(1.5).check().unwrap();
    let theirs_params = linfa_clustering::Dbscan::params(5)
        .tolerance(1.5)
        .check()
        .unwrap();
    let mut differ = 0;
    for _ in 0..repeat {
        let (t, a) = seconds(|| ours_params.transform(&x));
        ours.push(t);
        let (t, b) = seconds(|| theirs_params.transform(&x));
        theirs.push(t);
        differ = a.iter().zip(&b).filter(|(a, b)| a != b).count();
    }
    if differ > 0 {
        println!("  (the two DBSCANs label {differ} rows differently)");
    }
    report(
        "DBSCAN eps 1.5, min_points 5, 5000 x 8 z-scored",
        "ms",
        &ours,
        &theirs,
    );
}
