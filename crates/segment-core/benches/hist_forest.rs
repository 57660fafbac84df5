//! Times the random forest's histogram splits (`tree::hist`, the default) against its exact
//! splits over sorted rows (the `exact` option), fit and predict, in one run, and prints the
//! exact:histogram ratios (above 1: histograms are faster) with both held-out accuracies. Also
//! the prediction of `ForestRule` (every tree's nodes in one array of 16-byte nodes) against the
//! walk it replaced (`FlatTree::leaf_of` over three arrays per tree, a share table per tree).
//!
//!   cargo bench -p segment-core --bench hist_forest
//!   (BENCH_ROWS, default 200000: training rows, as many held out; BENCH_THREADS, default 2;
//!    BENCH_REPEAT, default 3: predictions timed, the median kept; the fits run once each;
//!    BENCH_EXACT=0 skips the exact forest)
//!
//! The forest of benches/classify.py: 100 trees, depth 10, one row a leaf, 2 of 8 features tried
//! per split, Gini. The rows: 8 uniform features, 5 classes by a rule on five of them (two
//! products, so no single axis separates them), 2% of labels redrawn at random.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use segment_core::prep::matrix::FeatureMatrix;
use segment_core::tree::cart::Criterion;
use segment_core::tree::forest::{self, Forest, ForestParams, ForestRule, MAX_NODES};
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rows(n: usize, seed: u64) -> (FeatureMatrix, Vec<u32>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut data = Vec::with_capacity(n * 8);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let r: Vec<f64> = (0..8).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let class = if r[0] + 0.5 * r[2] > 0.6 {
            4
        } else if r[1] * r[3] > 0.1 {
            3
        } else if r[4] - r[0] > 0.4 {
            2
        } else if r[2] * r[4] < -0.05 {
            1
        } else {
            0
        };
        y.push(if rng.gen_bool(0.02) {
            rng.gen_range(0..5)
        } else {
            class
        });
        data.extend(r);
    }
    (FeatureMatrix::from_rows(data, 8), y)
}

fn seconds<T>(f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed().as_secs_f64(), std::hint::black_box(out))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Every row's class through `ForestRule::proba`.
fn predict(rule: &ForestRule, x: &FeatureMatrix) -> Vec<u32> {
    let mut out = [0.0; 5];
    x.rows().map(|r| rule.proba(r, &mut out)).collect()
}

/// The walk `ForestRule` replaced: per tree `FlatTree::leaf_of` and a table of leaf shares.
fn predict_before(forest: &Forest, x: &FeatureMatrix) -> Vec<u32> {
    let c = 5;
    let shares: Vec<Vec<f64>> = forest
        .trees
        .iter()
        .map(|t| {
            t.counts
                .chunks_exact(c)
                .flat_map(|k| {
                    let total: u64 = k.iter().map(|&v| v as u64).sum();
                    k.iter().map(move |&v| v as f64 / total as f64)
                })
                .collect()
        })
        .collect();
    let mut out = [0.0; 5];
    x.rows()
        .map(|row| {
            out.fill(0.0);
            for (tree, s) in forest.trees.iter().zip(&shares) {
                let leaf = tree.leaf_of(row);
                for (o, v) in out.iter_mut().zip(&s[leaf * c..(leaf + 1) * c]) {
                    *o += v;
                }
            }
            let n = forest.trees.len() as f64;
            let mut best = 0;
            for k in 0..c {
                out[k] /= n;
                if out[k] > out[best] {
                    best = k;
                }
            }
            best as u32
        })
        .collect()
}

fn accuracy(predicted: &[u32], y: &[u32]) -> f64 {
    predicted.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

fn main() {
    let n = env("BENCH_ROWS", 200_000);
    let threads = env("BENCH_THREADS", 2);
    let repeat = env("BENCH_REPEAT", 3).max(1);
    let (x, y) = rows(n, 1);
    let (x_test, y_test) = rows(n, 2);
    println!("forest: {n} rows x 8, 100 trees, depth 10, 2 features a split, {threads} threads");
    let mut fits = Vec::new();
    let with_exact = env("BENCH_EXACT", 1) != 0;
    for exact in [false, true] {
        if exact && !with_exact {
            break;
        }
        let p = ForestParams {
            n_trees: 100,
            max_depth: 10,
            min_samples_leaf: 1,
            max_features: 2,
            criterion: Criterion::Gini,
            seed: 0,
            exact,
        };
        let (secs, forest) =
            seconds(|| forest::fit(&x, &y, 5, &p, MAX_NODES, threads, &mut || {}).unwrap());
        let rule = forest.rule(5);
        let mut times: Vec<f64> = (0..repeat)
            .map(|_| seconds(|| predict(&rule, &x_test)).0)
            .collect();
        let predict_secs = median(&mut times);
        let acc = accuracy(&predict(&rule, &x_test), &y_test);
        let name = if exact { "exact" } else { "histogram" };
        println!(
            "  {name:>9}: fit {secs:8.2} s, predict {predict_secs:6.3} s (one thread), held-out accuracy {acc:.4}, {} nodes",
            forest.nodes()
        );
        fits.push((secs, predict_secs, acc, forest));
    }
    if let [h, e] = &fits[..] {
        println!(
            "  exact:histogram fit {:.2}x, predict {:.2}x; accuracy histogram - exact {:+.4}",
            e.0 / h.0,
            e.1 / h.1,
            h.2 - e.2
        );
    }
    let forest = &fits[0].3;
    let rule = forest.rule(5);
    let mut before: Vec<f64> = Vec::new();
    let mut after: Vec<f64> = Vec::new();
    for _ in 0..repeat {
        before.push(seconds(|| predict_before(forest, &x_test)).0);
        after.push(seconds(|| predict(&rule, &x_test)).0);
    }
    assert_eq!(predict_before(forest, &x_test), predict(&rule, &x_test));
    let (b, a) = (median(&mut before), median(&mut after));
    println!(
        "predict (histogram forest, {n} rows, one thread): three arrays {b:.3} s, packed nodes {a:.3} s: {:.2}x",
        b / a
    );
}
