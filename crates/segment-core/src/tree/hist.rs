//! Histogram splits for `cart` (as LightGBM, scikit-learn's HistGradientBoosting and oneDAL):
//! each column is binned once per fit into at most `MAX_BINS` bins (one bin per distinct value
//! when it has that few, else quantile bins of the rows), stored as one byte a value, column by
//! column; a node's split is found on its per-bin class totals instead of its rows sorted by every
//! feature, and a split moves only the node's row list (one pass), not every feature's order.
//!
//! The tree that comes out is a `cart::Tree` like the exact path's, and reads the same: a split
//! between the bins that end at training value `a` and start at training value `b` (the next bin
//! with rows in the node) has the exact path's threshold, the midpoint of `a` and `b` (`a` when
//! the midpoint rounds up to `b`), so `x <= threshold` sends every training row where its bin
//! does, rules are exact SQL, and a stored tree predicts from its f64 thresholds alone. On a
//! column of at most `MAX_BINS` distinct values the candidate splits are exactly the exact
//! path's, searched in the same order with the same ties: the same tree (tested), up to the
//! rounding of sums of non-integer row weights.
//!
//! Histograms of every column are kept per node when every column is searched (a single tree):
//! the smaller child's are built from its rows and the larger's are its parent's minus them (the
//! subtraction trick). A forest's trees try a few columns per node (`max_features`) and build
//! just those, which costs less than building every column even with subtraction.
//!
//! The matrix is finite (the reads refuse NaN and infinities, NULLs are skipped or imputed
//! before); a column that is not gives `None` and the caller takes the exact path, so whatever a
//! non-finite value does there it still does.

use crate::parallel;
use crate::prep::matrix::FeatureMatrix;
use crate::tree::cart::{impurity, next_feature, Node, Tree, TreeParams};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

/// Most bins a column has (a bin code is a byte).
pub const MAX_BINS: usize = 255;

/// Largest histogram set (every column's bins) a node keeps for the subtraction trick; above it
/// (many columns and classes) each node builds the columns it searches. A tree holds at most
/// `max_depth + 2` sets at once.
pub const MAX_SET_BYTES: usize = 1 << 20;

/// The columns of a matrix binned: codes, and each bin's smallest and largest training value.
#[derive(Debug, Clone)]
pub struct Binned {
    n: usize,
    /// Column-major: column j's codes are `codes[j * n..(j + 1) * n]`.
    codes: Vec<u8>,
    lower: Vec<Vec<f64>>,
    upper: Vec<Vec<f64>>,
    /// Per column, the index of its first bin in a histogram set; last, the set's bins.
    offset: Vec<usize>,
}

impl Binned {
    pub fn n_rows(&self) -> usize {
        self.n
    }

    pub fn n_cols(&self) -> usize {
        self.lower.len()
    }

    /// Bins of column j.
    pub fn bins(&self, j: usize) -> usize {
        self.lower[j].len()
    }

    /// Column j's training values' bin codes.
    pub fn column(&self, j: usize) -> &[u8] {
        &self.codes[j * self.n..(j + 1) * self.n]
    }

    /// The threshold of a split whose left side ends with bin `a` and whose right side starts
    /// with bin `b` of column j: the midpoint of the two training values, as the exact path.
    pub fn threshold(&self, j: usize, a: usize, b: usize) -> f64 {
        midpoint(self.upper[j][a], self.lower[j][b])
    }
}

/// The exact path's threshold between adjacent distinct values a < b: their midpoint, or a when
/// the midpoint rounds up to b.
fn midpoint(a: f64, b: f64) -> f64 {
    let t = a + (b - a) / 2.0;
    if t >= b {
        a
    } else {
        t
    }
}

/// Bytes `bin` holds beyond the matrix: the codes, and while a column is binned on each of
/// `threads` threads, its values sorted.
pub fn bin_bytes(rows: usize, d: usize, threads: usize) -> usize {
    rows * d + threads.max(1).min(d.max(1)) * rows * 8 + d * MAX_BINS * 16
}

/// Bins every column of `x` on up to `threads` threads, `check` between columns. None when a
/// value is not finite.
pub fn bin(x: &FeatureMatrix, threads: usize, check: &mut dyn FnMut()) -> Option<Binned> {
    let (n, d) = (x.n_rows(), x.n_cols());
    if n == 0 || d == 0 || x.as_slice().iter().any(|v| !v.is_finite()) {
        return None;
    }
    type Column = (usize, Vec<f64>, Vec<f64>, Vec<u8>);
    let mut columns: Vec<Column> = (0..d).map(|j| (j, vec![], vec![], vec![])).collect();
    parallel::for_each_checked(&mut columns, threads, check, |(j, lower, upper, codes)| {
        let mut values: Vec<f64> = x.rows().map(|r| r[*j]).collect();
        values.sort_unstable_by(f64::total_cmp);
        (*lower, *upper) = edges(&values);
        drop(values);
        *codes = x
            .rows()
            .map(|r| {
                let v = r[*j];
                // The first bin whose largest value is >= v (-0.0 and 0.0 share a bin).
                upper.partition_point(|&u| u < v) as u8
            })
            .collect();
    });
    let mut codes = Vec::with_capacity(n * d);
    let mut lower = Vec::with_capacity(d);
    let mut upper = Vec::with_capacity(d);
    let mut offset = Vec::with_capacity(d + 1);
    let mut at = 0;
    for (_, lo, up, c) in columns {
        offset.push(at);
        at += lo.len();
        codes.extend_from_slice(&c);
        lower.push(lo);
        upper.push(up);
    }
    offset.push(at);
    Some(Binned {
        n,
        codes,
        lower,
        upper,
        offset,
    })
}

/// The bins of a sorted column, as (smallest, largest) values: one per distinct value when there
/// are at most `MAX_BINS`; else quantile bins, a bin starting at the value where the rows before
/// it cross the next multiple of n / MAX_BINS, and a value holding at least that many rows alone
/// in its bin (LightGBM's rule), unless that makes too many bins.
fn edges(sorted: &[f64]) -> (Vec<f64>, Vec<f64>) {
    // Distinct values (by ==: -0.0 and 0.0 are one) with their rows before them and their rows.
    let mut groups: Vec<(f64, f64, usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=sorted.len() {
        if i == sorted.len() || sorted[i] != sorted[start] {
            groups.push((sorted[start], sorted[i - 1], start, i - start));
            start = i;
        }
    }
    if groups.len() <= MAX_BINS {
        return groups.iter().map(|g| (g.0, g.1)).unzip();
    }
    let n = sorted.len() as u128;
    let slot = |before: usize| (before as u128 * MAX_BINS as u128 / n) as usize;
    let heavy = |rows: usize| rows as u128 * MAX_BINS as u128 >= n;
    let bins = |alone: bool| {
        let (mut lower, mut upper) = (Vec::new(), Vec::<f64>::new());
        let mut current = usize::MAX;
        let mut last_heavy = false;
        for &(lo, hi, before, rows) in &groups {
            let own = alone && heavy(rows);
            if upper.is_empty() || slot(before) != current || own || last_heavy {
                lower.push(lo);
                upper.push(hi);
                current = slot(before);
            } else if let Some(u) = upper.last_mut() {
                *u = hi;
            }
            last_heavy = own;
        }
        (lower, upper)
    };
    let (lower, upper) = bins(true);
    if upper.len() <= MAX_BINS {
        return (lower, upper);
    }
    // Slots alone: a bin starts only at a new slot, and there are MAX_BINS slots.
    bins(false)
}

/// Per-bin class weights (`classes` a bin) and rows of a node, for one column or a whole set.
#[derive(Debug, Clone)]
struct Hist {
    w: Vec<f64>,
    n: Vec<u32>,
}

impl Hist {
    fn zeros(bins: usize, classes: usize) -> Hist {
        Hist {
            w: vec![0.0; bins * classes],
            n: vec![0; bins],
        }
    }

    fn clear(&mut self, bins: usize, classes: usize) {
        self.w.clear();
        self.w.resize(bins * classes, 0.0);
        self.n.clear();
        self.n.resize(bins, 0);
    }

    /// Adds the rows (codes `col`, classes `ny`, weights `nw` in the rows' order) at bin
    /// offset `at`.
    fn add(&mut self, at: usize, classes: usize, col: &[u8], rows: &[u32], ny: &[u32], nw: &[f64]) {
        let (w, n) = (&mut self.w[at * classes..], &mut self.n[at..]);
        for ((&i, &c), &v) in rows.iter().zip(ny).zip(nw) {
            let b = col[i as usize] as usize;
            w[b * classes + c as usize] += v;
            n[b] += 1;
        }
    }

    /// self -= other.
    fn subtract(&mut self, other: &Hist) {
        self.w.iter_mut().zip(&other.w).for_each(|(a, b)| *a -= b);
        self.n.iter_mut().zip(&other.n).for_each(|(a, b)| *a -= b);
    }
}

/// The best split found in a node: column, the last bin on the left and the first on the right
/// (with rows in the node), weighted child impurity.
#[derive(Clone, Copy)]
struct Split {
    feature: usize,
    left_bin: usize,
    right_bin: usize,
    score: f64,
}

/// What a node's search works with.
struct Search<'a> {
    classes: usize,
    p: TreeParams,
    weights: &'a [f64],
    wall: f64,
    rows: usize,
}

impl Search<'_> {
    /// The exact path's scan over the distinct values of a column in a node, on its histogram:
    /// candidates after each bin with rows but the last, both sides keeping `min_samples_leaf`
    /// rows, the first of equal scores kept. Updates `best`.
    fn scan(&self, j: usize, w: &[f64], n: &[u32], best: &mut Option<Split>) {
        let c = self.classes;
        let mut left = vec![0.0; c];
        let mut right = vec![0.0; c];
        let (mut lall, mut left_rows) = (0.0, 0usize);
        let mut prev: Option<usize> = None;
        for b in 0..n.len() {
            if n[b] == 0 {
                continue;
            }
            if let Some(a) = prev {
                if left_rows >= self.p.min_samples_leaf
                    && self.rows - left_rows >= self.p.min_samples_leaf
                {
                    for ((r, t), l) in right.iter_mut().zip(self.weights).zip(&left) {
                        *r = t - l;
                    }
                    let score = (lall * impurity(self.p.criterion, &left, lall)
                        + (self.wall - lall)
                            * impurity(self.p.criterion, &right, self.wall - lall))
                        / self.wall;
                    if best.is_none_or(|s| score < s.score - 1e-15) {
                        *best = Some(Split {
                            feature: j,
                            left_bin: a,
                            right_bin: b,
                            score,
                        });
                    }
                }
            }
            for (l, v) in left.iter_mut().zip(&w[b * c..(b + 1) * c]) {
                *l += v;
                lall += v;
            }
            left_rows += n[b] as usize;
            prev = Some(b);
        }
    }
}

/// `cart::grow` on histograms: a tree on the rows `rows` (indexes into the binned matrix,
/// ascending), with classes `y`, weights `w` (both over every binned row). The same nodes in the
/// same order as the exact path, the same `go_on` contract: between nodes and between the
/// columns a node builds and searches; None when it says stop.
pub fn grow(
    binned: &Binned,
    y: &[u32],
    classes: usize,
    w: &[f64],
    mut rows: Vec<u32>,
    p: TreeParams,
    go_on: &mut dyn FnMut() -> bool,
) -> Option<(Tree, Vec<Vec<f64>>)> {
    let d = binned.n_cols();
    let c = classes;
    let m = rows.len();
    let mut rng = p
        .max_features
        .map(|_| Xoshiro256PlusPlus::seed_from_u64(p.seed));
    let budget = p.max_features.unwrap_or(d).clamp(1, d.max(1));
    let set_bins = binned.offset[d];
    let keep_sets = budget == d && set_bins * (c * 8 + 4) <= MAX_SET_BYTES;
    let total_weight: f64 = rows.iter().map(|&i| w[i as usize]).sum();
    let mut nodes = vec![Node::empty(c)];
    let mut leaf_weights: Vec<Vec<f64>> = Vec::new();
    let mut buffer: Vec<u32> = Vec::with_capacity(m);
    let (mut ny, mut nw): (Vec<u32>, Vec<f64>) = (Vec::with_capacity(m), Vec::with_capacity(m));
    let mut scratch = Hist::zeros(MAX_BINS, c);
    let mut order: Vec<usize> = (0..d).collect();
    // (node, rows, depth, the node's histogram set when kept); depth first, left child first.
    let mut stack: Vec<(usize, std::ops::Range<usize>, usize, Option<Hist>)> =
        vec![(0, 0..m, 0, None)];
    while let Some((at, range, depth, mut set)) = stack.pop() {
        if !go_on() {
            return None;
        }
        let node_rows = &rows[range.clone()];
        ny.clear();
        nw.clear();
        let mut weights = vec![0.0; c];
        let mut counts = vec![0u64; c];
        for &i in node_rows {
            let (class, v) = (y[i as usize], w[i as usize]);
            weights[class as usize] += v;
            counts[class as usize] += 1;
            ny.push(class);
            nw.push(v);
        }
        let wall: f64 = weights.iter().sum();
        nodes[at].rows = node_rows.len() as u64;
        nodes[at].counts = counts;
        let parent = impurity(p.criterion, &weights, wall);
        let mut best = None;
        if depth < p.max_depth && node_rows.len() >= 2 * p.min_samples_leaf && parent > 0.0 {
            if keep_sets && set.is_none() {
                let mut s = Hist::zeros(set_bins, c);
                for j in 0..d {
                    if !go_on() {
                        return None;
                    }
                    s.add(binned.offset[j], c, binned.column(j), node_rows, &ny, &nw);
                }
                set = Some(s);
            }
            let search = Search {
                classes: c,
                p,
                weights: &weights,
                wall,
                rows: node_rows.len(),
            };
            order.iter_mut().enumerate().for_each(|(k, o)| *o = k);
            let mut tried = 0;
            for k in 0..d {
                if tried == budget {
                    break;
                }
                let j = next_feature(&mut order, k, rng.as_mut());
                let bins = binned.bins(j);
                let (hw, hn) = match &set {
                    Some(s) => {
                        let o = binned.offset[j];
                        (&s.w[o * c..(o + bins) * c], &s.n[o..o + bins])
                    }
                    None => {
                        scratch.clear(bins, c);
                        scratch.add(0, c, binned.column(j), node_rows, &ny, &nw);
                        (&scratch.w[..], &scratch.n[..])
                    }
                };
                if hn.iter().filter(|&&r| r > 0).count() < 2 {
                    continue; // constant in this node
                }
                if !go_on() {
                    return None;
                }
                tried += 1;
                search.scan(j, hw, hn, &mut best);
            }
        }
        let Some(split) = best.filter(|b: &Split| parent - b.score > 1e-12) else {
            nodes[at].leaf = Some(leaf_weights.len() as u32);
            leaf_weights.push(weights);
            continue;
        };
        // Stable partition of the node's rows: the left ones first, each side in its order.
        let col = binned.column(split.feature);
        let cut = split.left_bin as u8;
        buffer.clear();
        let part = &mut rows[range.clone()];
        let mut n_left = 0;
        for k in 0..part.len() {
            let i = part[k];
            if col[i as usize] <= cut {
                part[n_left] = i;
                n_left += 1;
            } else {
                buffer.push(i);
            }
        }
        part[n_left..].copy_from_slice(&buffer);
        let mid = range.start + n_left;
        // The children's sets: the smaller built, the larger the parent's minus it.
        let (left_set, right_set) = match set.take() {
            Some(mut parent_set) if depth + 1 < p.max_depth => {
                let left_smaller = n_left <= range.len() - n_left;
                let small = if left_smaller {
                    range.start..mid
                } else {
                    mid..range.end
                };
                let small_rows = &rows[small];
                ny.clear();
                nw.clear();
                ny.extend(small_rows.iter().map(|&i| y[i as usize]));
                nw.extend(small_rows.iter().map(|&i| w[i as usize]));
                let mut s = Hist::zeros(set_bins, c);
                for j in 0..d {
                    if !go_on() {
                        return None;
                    }
                    s.add(binned.offset[j], c, binned.column(j), small_rows, &ny, &nw);
                }
                parent_set.subtract(&s);
                if left_smaller {
                    (Some(s), Some(parent_set))
                } else {
                    (Some(parent_set), Some(s))
                }
            }
            _ => (None, None),
        };
        let (left, right) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::empty(c));
        nodes.push(Node::empty(c));
        let node = &mut nodes[at];
        node.feature = Some(split.feature);
        node.threshold = binned.threshold(split.feature, split.left_bin, split.right_bin);
        node.left = left;
        node.right = right;
        node.gain = wall / total_weight * (parent - split.score);
        // Right pushed first: the left subtree is numbered first.
        stack.push((right, mid..range.end, depth + 1, right_set));
        stack.push((left, range.start..mid, depth + 1, left_set));
    }
    Some((Tree { nodes }, leaf_weights))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::cart::Criterion;
    use crate::tree::forest::{self, ForestParams, MAX_NODES};
    use rand::Rng;

    fn params(max_depth: usize, min_samples_leaf: usize, criterion: Criterion) -> TreeParams {
        TreeParams {
            max_depth,
            min_samples_leaf,
            criterion,
            max_features: None,
            seed: 0,
            exact: false,
        }
    }

    /// n rows x d columns of `levels` distinct values each (scaled, shifted, some negative and a
    /// -0.0 among them), three classes by a noisy rule on the first two.
    fn few_values(n: usize, d: usize, levels: u64, seed: u64) -> (FeatureMatrix, Vec<u32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut data = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d)
                .map(|j| {
                    let v = rng.gen_range(0..levels) as f64 - (levels / 3) as f64;
                    if v == 0.0 && j % 2 == 1 {
                        -0.0
                    } else {
                        v * (0.37 + j as f64)
                    }
                })
                .collect();
            let score = row[0] + 0.7 * row[1.min(d - 1)] + rng.gen_range(-3.0..3.0);
            y.push(if score > 4.0 {
                2
            } else if score > -2.0 {
                1
            } else {
                0
            });
            data.extend(row);
        }
        (FeatureMatrix::from_rows(data, d), y)
    }

    /// Continuous columns (far more than MAX_BINS distinct values), two classes by a noisy rule.
    fn continuous(n: usize, d: usize, seed: u64) -> (FeatureMatrix, Vec<u32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut data = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d).map(|_| rng.gen_range(-10.0..10.0)).collect();
            let s = row[0] * row[1 % d] / 10.0 + row[2 % d] + rng.gen_range(-4.0..4.0);
            y.push((s > 0.5) as u32);
            data.extend(row);
        }
        (FeatureMatrix::from_rows(data, d), y)
    }

    #[test]
    fn few_distinct_values_get_a_bin_each() {
        let x = FeatureMatrix::from_rows(vec![3.0, 1.0, -0.0, 3.0, 0.0, 1.0, 2.5], 1);
        let b = bin(&x, 1, &mut || {}).unwrap();
        assert_eq!(b.bins(0), 4);
        assert_eq!(b.column(0), &[3, 1, 0, 3, 0, 1, 2]);
        // -0.0 and 0.0 are one value, as == (and the exact path) has it.
        assert_eq!(b.threshold(0, 0, 1), 0.5);
        assert_eq!(b.threshold(0, 1, 3), 2.0);
        // A value that is not finite: no bins (the exact path takes it).
        let x = FeatureMatrix::from_rows(vec![1.0, f64::NAN], 1);
        assert!(bin(&x, 1, &mut || {}).is_none());
        let x = FeatureMatrix::from_rows(vec![1.0, f64::INFINITY], 1);
        assert!(bin(&x, 1, &mut || {}).is_none());
    }

    /// Many distinct values: at most MAX_BINS bins of about n / MAX_BINS rows, in value order,
    /// and a value holding many rows in a bin of its own.
    #[test]
    fn many_distinct_values_get_quantile_bins() {
        let n = 10_000;
        let mut values: Vec<f64> = (0..n).map(|i| ((i * 7919) % n) as f64 * 0.01).collect();
        // 1,000 rows of 42.0 (a heavy value).
        values[..1000].fill(42.0);
        let x = FeatureMatrix::from_rows(values.clone(), 1);
        let b = bin(&x, 1, &mut || {}).unwrap();
        assert!(b.bins(0) <= MAX_BINS && b.bins(0) > 200, "{}", b.bins(0));
        let mut rows = vec![0usize; b.bins(0)];
        for (&v, &c) in values.iter().zip(b.column(0)) {
            let c = c as usize;
            rows[c] += 1;
            assert!(b.lower[0][c] <= v && v <= b.upper[0][c]);
        }
        let heavy = b.column(0)[0] as usize;
        assert_eq!((b.lower[0][heavy], b.upper[0][heavy]), (42.0, 42.0));
        assert_eq!(rows[heavy], 1000 + 1); // and the one 42.0 of the sequence
        let most = rows
            .iter()
            .enumerate()
            .filter(|&(c, _)| c != heavy)
            .map(|(_, &r)| r)
            .max()
            .unwrap();
        assert!(most <= 2 * n / MAX_BINS, "{most}");
        for c in 1..b.bins(0) {
            assert!(b.upper[0][c - 1] < b.lower[0][c]);
        }
    }

    /// On columns of at most MAX_BINS distinct values, the histogram tree is the exact tree:
    /// every node, threshold, count and gain, whatever the depth, leaf size and criterion.
    #[test]
    fn the_exact_tree_on_few_distinct_values() {
        for (seed, levels, d) in [(1, 7, 3), (2, 40, 5), (3, 255, 4), (4, 2, 6)] {
            let (x, y) = few_values(1500, d, levels, seed);
            let w = vec![1.0; y.len()];
            for (depth, leaf, criterion) in [
                (3, 1, Criterion::Gini),
                (8, 5, Criterion::Entropy),
                (12, 1, Criterion::Gini),
            ] {
                let p = params(depth, leaf, criterion);
                let hist = crate::tree::fit(&x, &y, 3, &w, p, &mut || {});
                let exact =
                    crate::tree::fit(&x, &y, 3, &w, TreeParams { exact: true, ..p }, &mut || {});
                assert!(hist.nodes.len() > 3, "seed {seed}: a stump");
                assert_eq!(hist, exact, "seed {seed}, depth {depth}");
            }
        }
    }

    /// The same on forests (bootstrap weights, a few features a split): the same forest.
    #[test]
    fn the_exact_forest_on_few_distinct_values() {
        let (x, y) = few_values(800, 5, 30, 9);
        for max_features in [2, 5] {
            let p = ForestParams {
                n_trees: 12,
                max_depth: 8,
                min_samples_leaf: 1,
                max_features,
                criterion: Criterion::Gini,
                seed: 3,
                exact: false,
            };
            let hist = forest::fit(&x, &y, 3, &p, MAX_NODES, 2, &mut || {}).unwrap();
            let exact = forest::fit(
                &x,
                &y,
                3,
                &ForestParams { exact: true, ..p },
                MAX_NODES,
                2,
                &mut || {},
            )
            .unwrap();
            assert_eq!(hist, exact, "max_features {max_features}");
        }
    }

    /// On continuous columns every threshold is the midpoint of two training values of its
    /// column (the edges of two bins), with none of the node's rows strictly between them: the
    /// split the bins make. At the root, whose rows are all of them, the two are adjacent
    /// training values, as the exact path's. And the stored tree, walked from its f64
    /// thresholds, sends every training row to the leaf that counted it.
    #[test]
    fn thresholds_are_midpoints_of_training_values() {
        let (x, y) = continuous(5000, 4, 5);
        let tree = crate::tree::fit(
            &x,
            &y,
            2,
            &vec![1.0; 5000],
            params(10, 3, Criterion::Gini),
            &mut || {},
        );
        let mut columns: Vec<Vec<f64>> = (0..4).map(|j| x.rows().map(|r| r[j]).collect()).collect();
        for c in &mut columns {
            c.sort_by(f64::total_cmp);
            c.dedup();
        }
        // Per split node, the largest value of its rows that goes left and the smallest that
        // goes right.
        let mut around = vec![(f64::NEG_INFINITY, f64::INFINITY); tree.nodes.len()];
        for r in x.rows() {
            let mut at = 0;
            while let Some(f) = tree.nodes[at].feature {
                let node = &tree.nodes[at];
                let (u, l) = &mut around[at];
                if r[f] <= node.threshold {
                    *u = u.max(r[f]);
                    at = node.left;
                } else {
                    *l = l.min(r[f]);
                    at = node.right;
                }
            }
        }
        let mut splits = 0;
        for (at, node) in tree.nodes.iter().enumerate() {
            let Some(f) = node.feature else { continue };
            let (t, (u, l)) = (node.threshold, around[at]);
            let c = &columns[f];
            let (from, to) = (
                c.partition_point(|&v| v < u),
                c.partition_point(|&v| v <= l),
            );
            let edges = &c[from..to];
            let found = edges
                .iter()
                .any(|&p| p <= t && edges.iter().any(|&q| q > t && midpoint(p, q) == t));
            assert!(found, "node {at}: {t} between {u} and {l}");
            if at == 0 {
                let after = c.partition_point(|&v| v <= t);
                assert_eq!(t, midpoint(c[after - 1], c[after]));
            }
            splits += 1;
        }
        assert!(splits > 50, "{splits} splits");
        let mut rows = vec![0u64; tree.leaves().len()];
        for r in x.rows() {
            rows[tree.leaf_of(r) as usize] += 1;
        }
        let counted: Vec<u64> = tree.leaves().iter().map(|l| l.rows).collect();
        assert_eq!(rows, counted);
        tree.validate(4).unwrap();
    }

    /// A forest on bins: the same whatever the thread count, the same again for the same seed,
    /// another for another seed.
    #[test]
    fn the_same_forest_whatever_the_threads_and_by_seed() {
        let (x, y) = continuous(3000, 5, 6);
        let p = |seed| ForestParams {
            n_trees: 9,
            max_depth: 8,
            min_samples_leaf: 1,
            max_features: 2,
            criterion: Criterion::Entropy,
            seed,
            exact: false,
        };
        let fit = |seed, threads| {
            forest::fit(&x, &y, 2, &p(seed), MAX_NODES, threads, &mut || {}).unwrap()
        };
        let one = fit(4, 1);
        assert_eq!(one, fit(4, 3));
        assert_eq!(one, fit(4, 2));
        assert_ne!(one, fit(5, 2));
        one.validate(5, 2).unwrap();
    }

    /// The bank contacts (4,521 rows: age, balance, day, duration, campaign, pdays, previous and
    /// one-hot job, marital, education, housing, loan, contact, month, poutcome; label y), five
    /// folds held out in turn: the histogram tree and forest score within 0.005 of the exact
    /// ones over the folds.
    #[test]
    fn held_out_accuracy_on_the_bank_contacts_matches_exact_splits() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let text =
            std::fs::read_to_string(format!("{root}/tests/data/bank_marketing/bank.csv")).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |name: &str| head.iter().position(|h| *h == name).unwrap();
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let numeric = [
            "age", "balance", "day", "duration", "campaign", "pdays", "previous",
        ]
        .map(at);
        let categorical = [
            "job",
            "marital",
            "education",
            "housing",
            "loan",
            "contact",
            "month",
            "poutcome",
        ]
        .map(at);
        let mut levels: Vec<Vec<&str>> = Vec::new();
        for &c in &categorical {
            let mut v: Vec<&str> = rows.iter().map(|r| r[c]).collect();
            v.sort_unstable();
            v.dedup();
            levels.push(v);
        }
        let d = numeric.len() + levels.iter().map(Vec::len).sum::<usize>();
        let mut data = Vec::with_capacity(rows.len() * d);
        for r in &rows {
            data.extend(numeric.iter().map(|&c| r[c].parse::<f64>().unwrap()));
            for (l, &c) in levels.iter().zip(&categorical) {
                data.extend(l.iter().map(|v| (*v == r[c]) as u32 as f64));
            }
        }
        let x = FeatureMatrix::from_rows(data, d);
        let y: Vec<u32> = rows.iter().map(|r| (r[at("y")] == "yes") as u32).collect();
        let n = y.len();
        let folds = 5;
        let (mut hits, mut total) = ([[0usize; 2]; 2], 0);
        for fold in 0..folds {
            let train: Vec<usize> = (0..n).filter(|i| i % folds != fold).collect();
            let test: Vec<usize> = (0..n).filter(|i| i % folds == fold).collect();
            let xt = x.select_rows(&train);
            let yt: Vec<u32> = train.iter().map(|&i| y[i]).collect();
            total += test.len();
            for (k, exact) in [false, true].into_iter().enumerate() {
                let tree = crate::tree::fit(
                    &xt,
                    &yt,
                    2,
                    &vec![1.0; yt.len()],
                    TreeParams {
                        exact,
                        ..params(5, 20, Criterion::Gini)
                    },
                    &mut || {},
                );
                hits[0][k] += test
                    .iter()
                    .filter(|&&i| tree.leaf_node(x.row(i)).majority() == y[i])
                    .count();
                let p = ForestParams {
                    n_trees: 40,
                    max_depth: 10,
                    min_samples_leaf: 1,
                    max_features: (d as f64).sqrt() as usize,
                    criterion: Criterion::Gini,
                    seed: fold as u64,
                    exact,
                };
                let rule = forest::fit(&xt, &yt, 2, &p, MAX_NODES, 2, &mut || {})
                    .unwrap()
                    .rule(2);
                let mut out = [0.0; 2];
                hits[1][k] += test
                    .iter()
                    .filter(|&&i| rule.proba(x.row(i), &mut out) == y[i])
                    .count();
            }
        }
        for (what, h) in ["tree", "forest"].iter().zip(hits) {
            let (hist, exact) = (h[0] as f64 / total as f64, h[1] as f64 / total as f64);
            assert!(
                (hist - exact).abs() <= 0.005,
                "{what}: histogram {hist:.4}, exact {exact:.4}"
            );
            assert!(hist > 0.88, "{what}: {hist}");
        }
    }

    /// The fit checks between the columns it bins, the nodes, and the columns each node builds
    /// and searches; a check that unwinds stops it.
    #[test]
    fn checks_between_columns_and_nodes() {
        let (x, y) = continuous(2000, 6, 8);
        let mut nodes = 0;
        let calls = crate::parallel::testing::checks(|check| {
            nodes = crate::tree::fit(
                &x,
                &y,
                2,
                &[1.0; 2000],
                params(6, 1, Criterion::Gini),
                check,
            )
            .nodes
            .len();
        });
        assert!(calls >= nodes + 3 * 6, "{calls} checks, {nodes} nodes");
        crate::parallel::testing::stops_at(15, |check| {
            crate::tree::fit(
                &x,
                &y,
                2,
                &[1.0; 2000],
                params(6, 1, Criterion::Gini),
                check,
            );
        });
    }
}
