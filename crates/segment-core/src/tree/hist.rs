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
use crate::tree::cart::{impurity, Node, Tree, TreeParams};
use rand::{Rng, SeedableRng};
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

fn new_node(classes: usize) -> Node {
    Node {
        feature: None,
        threshold: 0.0,
        left: 0,
        right: 0,
        leaf: None,
        rows: 0,
        counts: vec![0; classes],
        gain: 0.0,
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
    let mut nodes = vec![new_node(c)];
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
                if let Some(rng) = rng.as_mut() {
                    let pick = rng.gen_range(k..d);
                    order.swap(k, pick);
                }
                let j = order[k];
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
        nodes.push(new_node(c));
        nodes.push(new_node(c));
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
