//! A classification tree (CART) whose leaves are segments: churn-risk segments for a churn
//! label (two classes), or a readable surrogate of a clustering model (one class per segment).
//!
//! Our own rather than linfa-trees' `DecisionTree`, for three reasons measured on linfa-trees
//! 0.8.1 and read in its source: its fit prunes every pair of
//! sibling leaves that predict the same majority class, so on churn data (mostly "stays") the
//! leaves that separate a 5% from a 40% churn rate are merged away, and those leaves are the
//! segments; its predict sends a row left on `<` while training split on `<=`, so rules printed
//! from the training splits disagree with its predictions; and every node rescans every row of
//! every feature (4.2x scikit-learn's time at depth 12). Here a row goes left when
//! `x <= threshold` both in training and in prediction, and no leaf is merged.
//!
//! Splits are found on histograms by default (`hist`, as LightGBM, scikit-learn's
//! HistGradientBoosting and oneDAL): each column binned once per fit into at most 255 bins (one a
//! distinct value when it has that few), a node's split searched over its per-bin class totals,
//! a split moving only the node's row list. The thresholds are the exact path's kind, midpoints
//! of two training values, so rules stay exact SQL and stored trees predict from their f64
//! thresholds; on columns of at most 255 distinct values the tree is the exact one (tested).
//! Why: the exact path below (`TreeParams::exact`, the `exact` option) sorts every feature once
//! and partitions every feature's order stably at each split, O(features x rows) per level for
//! every tree of a forest; on 1M rows x 8 a 100-tree forest of depth 10 took 86.8 s against
//! 10.4 s for scikit-learn-intelex. On histograms, `benches/hist_forest.rs` (200k rows x 8, the
//! same forest, 2 threads) fits 7.7x faster than the exact path at held-out accuracy 0.0005
//! lower, and `benches/classify.py` at 1M rows fits in 12.4 s, 0.85x scikit-learn-intelex's
//! time, at held-out accuracy 0.8368 against 0.8371 exact (docs/performance.md).

use crate::prep::matrix::FeatureMatrix;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Criterion {
    #[default]
    Gini,
    Entropy,
}

#[derive(Debug, Clone, Copy)]
pub struct TreeParams {
    pub max_depth: usize,
    /// Fewest training rows in a leaf (scikit-learn's min_samples_leaf).
    pub min_samples_leaf: usize,
    pub criterion: Criterion,
    /// Features tried per split (a random forest's subset, scikit-learn's max_features); None
    /// tries every feature. Drawn from a generator seeded with `seed`: features that are
    /// constant within the node do not count, so a split is found whenever one exists.
    pub max_features: Option<usize>,
    pub seed: u64,
    /// Splits searched over each feature's sorted rows (every midpoint between distinct
    /// values) rather than over its bins (`hist`): the same tree on columns of at most
    /// `hist::MAX_BINS` distinct values, slower on large ones.
    pub exact: bool,
}

/// A node. Internal nodes have `feature`; leaves have `leaf` (their segment id, numbered left to
/// right). Counts are unweighted training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<usize>,
    #[serde(default)]
    pub threshold: f64,
    #[serde(default)]
    pub left: usize,
    #[serde(default)]
    pub right: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaf: Option<u32>,
    pub rows: u64,
    /// Unweighted training rows of each class.
    pub counts: Vec<u64>,
    /// Weighted impurity decrease of this split, times the node's share of the training weight
    /// (scikit-learn's importance contribution).
    #[serde(default)]
    pub gain: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// nodes[0] is the root.
    pub nodes: Vec<Node>,
}

impl Node {
    /// A node not yet grown: no split, no leaf, no rows (both growers start each node so).
    pub(crate) fn empty(classes: usize) -> Node {
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

    /// Training rows of class 1 (churned, for a churn tree).
    pub fn positives(&self) -> u64 {
        self.counts.get(1).copied().unwrap_or(0)
    }

    /// Share of its training rows in class 1: a leaf's churn rate, the probability
    /// `segment_churn_predict` returns.
    pub fn churn_rate(&self) -> f64 {
        self.positives() as f64 / self.rows.max(1) as f64
    }

    /// The class with the most training rows (the lowest on a tie).
    pub fn majority(&self) -> u32 {
        let mut best = 0;
        for (c, &n) in self.counts.iter().enumerate() {
            if n > self.counts[best] {
                best = c;
            }
        }
        best as u32
    }
}

/// Impurity of weighted class totals `w` summing to `total`.
pub(crate) fn impurity(criterion: Criterion, w: &[f64], total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    match criterion {
        Criterion::Gini => 1.0 - w.iter().map(|v| (v / total) * (v / total)).sum::<f64>(),
        Criterion::Entropy => w
            .iter()
            .map(|v| v / total)
            .filter(|&p| p > 0.0)
            .map(|p| -p * p.log2())
            .sum(),
    }
}

/// Per feature, the indexes of every row sorted by the feature's value (ties by index): what
/// `grow` starts from. `check` between features. Sorted as pairs of the value's `total_cmp` key
/// and the index, in place of looking each value up from the index: the same order, about three
/// times sooner on a million rows.
pub fn sort_rows(x: &FeatureMatrix, check: &mut dyn FnMut()) -> Vec<Vec<u32>> {
    let mut keyed: Vec<(i64, u32)> = Vec::with_capacity(x.n_rows());
    (0..x.n_cols())
        .map(|j| {
            check();
            keyed.clear();
            keyed.extend(x.rows().enumerate().map(|(i, row)| {
                // f64::total_cmp's own key: the bits, the magnitude flipped for negatives.
                let bits = row[j].to_bits() as i64;
                (bits ^ (((bits >> 63) as u64) >> 1) as i64, i as u32)
            }));
            keyed.sort_unstable();
            keyed.iter().map(|&(_, i)| i).collect()
        })
        .collect()
}

/// Fits a tree on the rows of `sorted` (each feature's row indexes into `x`, sorted as
/// `sort_rows` does; a forest passes its bootstrap rows, filtered from one sort of every row).
/// Returns the tree and each leaf's weighted class totals (by leaf id). `go_on` is called
/// between nodes and between the features each node searches and partitions (a root of a
/// million rows takes a while); when it returns false, the growing stops and gives None.
pub fn grow(
    x: &FeatureMatrix,
    y: &[u32],
    classes: usize,
    w: &[f64],
    mut sorted: Vec<Vec<u32>>,
    p: TreeParams,
    go_on: &mut dyn FnMut() -> bool,
) -> Option<(Tree, Vec<Vec<f64>>)> {
    let n = sorted.first().map_or(0, Vec::len);
    let value = |i: u32, j: usize| x.row(i as usize)[j];
    let mut rng = p
        .max_features
        .map(|_| Xoshiro256PlusPlus::seed_from_u64(p.seed));
    let total_weight: f64 = sorted[0].iter().map(|&i| w[i as usize]).sum();
    let mut goes_left = vec![false; x.n_rows()];
    let mut buffer: Vec<u32> = Vec::with_capacity(n);
    let mut nodes: Vec<Node> = Vec::new();
    let mut leaf_weights: Vec<Vec<f64>> = Vec::new();
    // (node index, range, depth); depth-first, left child first, so leaves number left to right.
    let mut stack = vec![(0usize, 0..n, 0usize)];
    nodes.push(Node::empty(classes));
    while let Some((at, range, depth)) = stack.pop() {
        if !go_on() {
            return None;
        }
        let rows = &sorted[0][range.clone()];
        let mut weights = vec![0.0; classes];
        let mut counts = vec![0u64; classes];
        for &i in rows {
            weights[y[i as usize] as usize] += w[i as usize];
            counts[y[i as usize] as usize] += 1;
        }
        let wall: f64 = weights.iter().sum();
        nodes[at].rows = rows.len() as u64;
        nodes[at].counts = counts;
        let parent = impurity(p.criterion, &weights, wall);
        let best = if depth < p.max_depth && rows.len() >= 2 * p.min_samples_leaf && parent > 0.0 {
            best_split(
                x,
                y,
                w,
                &sorted,
                range.clone(),
                p,
                &weights,
                wall,
                rng.as_mut(),
                go_on,
            )?
        } else {
            None
        };
        let Some((feature, threshold, child_impurity)) = best.filter(|b| parent - b.2 > 1e-12)
        else {
            nodes[at].leaf = Some(leaf_weights.len() as u32);
            leaf_weights.push(weights);
            continue;
        };
        // Stable partition of every feature's range: the left rows first, in sorted order.
        for &i in &sorted[feature][range.clone()] {
            goes_left[i as usize] = value(i, feature) <= threshold;
        }
        let mut n_left = 0;
        for idx in sorted.iter_mut() {
            if !go_on() {
                return None;
            }
            buffer.clear();
            let part = &mut idx[range.clone()];
            buffer.extend(part.iter().copied().filter(|&i| goes_left[i as usize]));
            n_left = buffer.len();
            buffer.extend(part.iter().copied().filter(|&i| !goes_left[i as usize]));
            part.copy_from_slice(&buffer);
        }
        let (left, right) = (nodes.len(), nodes.len() + 1);
        nodes.push(Node::empty(classes));
        nodes.push(Node::empty(classes));
        let node = &mut nodes[at];
        node.feature = Some(feature);
        node.threshold = threshold;
        node.left = left;
        node.right = right;
        node.gain = wall / total_weight * (parent - child_impurity);
        let mid = range.start + n_left;
        // Right pushed first: the left subtree is numbered first.
        stack.push((right, mid..range.end, depth + 1));
        stack.push((left, range.start..mid, depth + 1));
    }
    Some((Tree { nodes }, leaf_weights))
}

/// The split of a node's rows with the lowest weighted child impurity: (feature, threshold,
/// impurity). Thresholds are midpoints between consecutive distinct values; both sides keep at
/// least `min_samples_leaf` rows. Ties keep the first feature tried and the lowest threshold.
/// The feature a split search tries in place `at`: with a generator (a forest's `max_features`),
/// a uniform draw among those not yet tried (a partial Fisher-Yates shuffle of `order`); without,
/// `order[at]`. The exact and the histogram search (`tree::hist`) both draw through here, so
/// for one seed they try the same features in the same order.
pub(crate) fn next_feature(
    order: &mut [usize],
    at: usize,
    rng: Option<&mut Xoshiro256PlusPlus>,
) -> usize {
    if let Some(rng) = rng {
        let pick = rng.gen_range(at..order.len());
        order.swap(at, pick);
    }
    order[at]
}

/// With `p.max_features`, features are tried in an order drawn from `rng` until that many that
/// are not constant in the node have been (as scikit-learn: constant ones do not count).
/// `go_on` before each feature searched: None when it says stop, else the best split if any.
#[allow(clippy::too_many_arguments)]
fn best_split(
    x: &FeatureMatrix,
    y: &[u32],
    w: &[f64],
    sorted: &[Vec<u32>],
    range: std::ops::Range<usize>,
    p: TreeParams,
    weights: &[f64],
    wall: f64,
    mut rng: Option<&mut Xoshiro256PlusPlus>,
    go_on: &mut dyn FnMut() -> bool,
) -> Option<Option<(usize, f64, f64)>> {
    let m = range.len();
    let d = sorted.len();
    let mut best: Option<(usize, f64, f64)> = None;
    let mut left = vec![0.0; weights.len()];
    let mut right = vec![0.0; weights.len()];
    let mut order: Vec<usize> = (0..d).collect();
    let budget = p.max_features.unwrap_or(d).clamp(1, d);
    let mut tried = 0;
    for at in 0..d {
        if tried == budget {
            break;
        }
        let j = next_feature(&mut order, at, rng.as_deref_mut());
        let rows = &sorted[j][range.clone()];
        let (first, last) = (rows[0] as usize, rows[m - 1] as usize);
        if x.row(first)[j] == x.row(last)[j] {
            continue; // constant in this node
        }
        if !go_on() {
            return None;
        }
        tried += 1;
        left.fill(0.0);
        let mut lall = 0.0;
        for (count, pair) in rows.windows(2).enumerate() {
            let i = pair[0] as usize;
            lall += w[i];
            left[y[i] as usize] += w[i];
            let left_rows = count + 1;
            if left_rows < p.min_samples_leaf || m - left_rows < p.min_samples_leaf {
                continue;
            }
            let (a, b) = (x.row(i)[j], x.row(pair[1] as usize)[j]);
            if a == b {
                continue;
            }
            for ((r, t), l) in right.iter_mut().zip(weights).zip(&left) {
                *r = t - l;
            }
            let score = (lall * impurity(p.criterion, &left, lall)
                + (wall - lall) * impurity(p.criterion, &right, wall - lall))
                / wall;
            if best.is_none_or(|(_, _, s)| score < s - 1e-15) {
                let mut threshold = a + (b - a) / 2.0;
                // The midpoint of two adjacent floats can round up to b: keep a.
                if threshold >= b {
                    threshold = a;
                }
                best = Some((j, threshold, score));
            }
        }
    }
    Some(best)
}

/// One condition of a rule: feature <= threshold, or feature > threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub feature: usize,
    pub le: bool,
    pub threshold: f64,
}

impl Tree {
    /// The node a row ends in (a leaf).
    pub fn leaf_node(&self, row: &[f64]) -> &Node {
        let mut node = &self.nodes[0];
        while let Some(f) = node.feature {
            node = if row[f] <= node.threshold {
                &self.nodes[node.left]
            } else {
                &self.nodes[node.right]
            };
        }
        node
    }

    pub fn leaf_of(&self, row: &[f64]) -> u32 {
        self.leaf_node(row).leaf.expect("walks end in leaves")
    }

    pub fn leaves(&self) -> Vec<&Node> {
        let mut out: Vec<&Node> = self.nodes.iter().filter(|n| n.leaf.is_some()).collect();
        out.sort_by_key(|n| n.leaf);
        out
    }

    pub fn depth(&self) -> usize {
        fn go(t: &Tree, at: usize) -> usize {
            match t.nodes[at].feature {
                None => 0,
                Some(_) => 1 + go(t, t.nodes[at].left).max(go(t, t.nodes[at].right)),
            }
        }
        go(self, 0)
    }

    /// Per leaf (by segment id), the path from the root, simplified to the tightest bound per
    /// feature and direction, in first-use order.
    pub fn rules(&self) -> Vec<Vec<Condition>> {
        let mut out = vec![Vec::new(); self.leaves().len()];
        let mut stack: Vec<(usize, Vec<Condition>)> = vec![(0, Vec::new())];
        while let Some((at, path)) = stack.pop() {
            let node = &self.nodes[at];
            match node.feature {
                None => out[node.leaf.expect("leaf") as usize] = simplify(&path),
                Some(f) => {
                    for (child, le) in [(node.left, true), (node.right, false)] {
                        let mut p = path.clone();
                        p.push(Condition {
                            feature: f,
                            le,
                            threshold: node.threshold,
                        });
                        stack.push((child, p));
                    }
                }
            }
        }
        out
    }

    /// scikit-learn's feature importance: each feature's total weighted impurity decrease,
    /// normalized to sum 1 (all zeros for a single leaf).
    pub fn importance(&self, d: usize) -> Vec<f64> {
        let mut imp = vec![0.0; d];
        for n in &self.nodes {
            if let Some(f) = n.feature {
                imp[f] += n.gain;
            }
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            imp.iter_mut().for_each(|v| *v /= total);
        }
        imp
    }

    /// The same partition by majority class with fewer leaves: a split whose two sides end in
    /// leaves of the same majority class becomes a leaf (bottom up), leaves renumbered left to
    /// right. For describing segments, where such a split says nothing.
    pub fn merged_by_majority(&self) -> Tree {
        fn build(t: &Tree, at: usize, out: &mut Vec<Node>) -> usize {
            let node = &t.nodes[at];
            let me = out.len();
            out.push(Node {
                leaf: None,
                ..node.clone()
            });
            if node.feature.is_some() {
                let left = build(t, node.left, out);
                let right = build(t, node.right, out);
                let (l, r) = (&out[left], &out[right]);
                if l.feature.is_none() && r.feature.is_none() && l.majority() == r.majority() {
                    out.truncate(me + 1);
                    out[me].feature = None;
                } else {
                    out[me].left = left;
                    out[me].right = right;
                }
            }
            me
        }
        let mut nodes = Vec::with_capacity(self.nodes.len());
        build(self, 0, &mut nodes);
        let mut next = 0;
        // Depth-first, left first: the same left-to-right order as a fitted tree.
        let mut stack = vec![0usize];
        while let Some(at) = stack.pop() {
            match nodes[at].feature {
                None => {
                    nodes[at].leaf = Some(next);
                    next += 1;
                }
                Some(_) => {
                    stack.push(nodes[at].right);
                    stack.push(nodes[at].left);
                }
            }
        }
        Tree { nodes }
    }

    /// Checks a stored tree: children in range and after their parent (so every walk from the
    /// root ends: a child pointing back would loop forever), every node but the root the child
    /// of exactly one split (shared children would make the paths that `rules` walks grow
    /// exponentially), leaves numbered 0..leaves, finite thresholds.
    pub fn validate(&self, d: usize) -> Result<(), String> {
        let n = self.nodes.len();
        let mut parents = vec![0u32; n];
        for node in self.nodes.iter().filter(|n| n.feature.is_some()) {
            for child in [node.left, node.right] {
                if let Some(p) = parents.get_mut(child) {
                    *p += 1;
                }
            }
        }
        if parents.iter().skip(1).any(|&p| p != 1) || parents.first().is_some_and(|&p| p != 0) {
            return Err("stored tree has a node that is not the child of exactly one split".into());
        }
        let mut leaves: Vec<u32> = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            match (node.feature, node.leaf) {
                (Some(f), None) => {
                    if f >= d
                        || node.left >= n
                        || node.right >= n
                        || node.left <= i
                        || node.right <= i
                        || !node.threshold.is_finite()
                    {
                        return Err("stored tree has a bad split".into());
                    }
                }
                (None, Some(l)) => leaves.push(l),
                _ => return Err("stored tree has a node that is neither split nor leaf".into()),
            }
        }
        leaves.sort_unstable();
        if n == 0 || leaves.iter().enumerate().any(|(i, &l)| l as usize != i) {
            return Err("stored tree's leaves are not numbered 0..leaves".into());
        }
        Ok(())
    }
}

/// Keeps, per feature, the tightest `<=` and the tightest `>` of a path.
fn simplify(path: &[Condition]) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    for c in path {
        match out
            .iter_mut()
            .find(|o| o.feature == c.feature && o.le == c.le)
        {
            Some(o) if c.le => o.threshold = o.threshold.min(c.threshold),
            Some(o) => o.threshold = o.threshold.max(c.threshold),
            None => out.push(*c),
        }
    }
    out
}

/// Area under the ROC curve of scores against labels (ties count half: the Mann-Whitney U).
/// None without both classes.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    // Sum of the positives' ranks, tied scores taking their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += pairs[i..j].iter().filter(|p| p.1).count() as f64 * avg_rank;
        i = j;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::fit;

    const PARAMS: TreeParams = TreeParams {
        max_depth: 3,
        min_samples_leaf: 1,
        criterion: Criterion::Gini,
        max_features: None,
        seed: 0,
        exact: false,
    };

    /// The sort and every node check between features (a node of a million rows takes a
    /// while), so a tree of one split on d features checks at least 3d times: sorting,
    /// searching and partitioning; and a deeper tree once more per node. A check that unwinds
    /// stops the fit.
    #[test]
    fn checks_between_features_and_nodes() {
        let rows = |d: usize| {
            let data: Vec<f64> = (0..200 * d).map(|i| ((i * 7919) % 211) as f64).collect();
            let y: Vec<u32> = (0..200).map(|i| (i % 2) as u32).collect();
            (FeatureMatrix::from_rows(data, d), y)
        };
        let calls = |d: usize, max_depth: usize| {
            let (x, y) = rows(d);
            let p = TreeParams {
                max_depth,
                ..PARAMS
            };
            let mut nodes = 0;
            let calls = crate::parallel::testing::checks(|check| {
                nodes = fit(&x, &y, 2, &[1.0; 200], p, check).nodes.len();
            });
            (calls, nodes)
        };
        for d in [2, 8] {
            let (one_split, nodes) = calls(d, 1);
            assert_eq!(nodes, 3);
            assert!(one_split >= 3 * d, "d={d}: {one_split}");
            let (deep, nodes) = calls(d, 8);
            assert!(
                nodes > 20 && deep >= nodes + 3 * d,
                "d={d}: {deep}, {nodes} nodes"
            );
        }
        let (x, y) = rows(8);
        crate::parallel::testing::stops_at(12, |check| {
            fit(&x, &y, 2, &[1.0; 200], PARAMS, check);
        });
    }

    /// The sort of `sort_rows` (pairs of keys and indexes) gives the order a sort by value and
    /// index gives, negative zeros, infinities and ties included.
    #[test]
    fn sort_rows_orders_by_value_then_index() {
        let values = [
            3.0,
            -0.0,
            0.0,
            -1.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.0,
            -0.0,
            1e-300,
            -1e300,
        ];
        let x = FeatureMatrix::from_rows(values.to_vec(), 1);
        let mut expected: Vec<u32> = (0..values.len() as u32).collect();
        expected.sort_by(|&a, &b| {
            values[a as usize]
                .total_cmp(&values[b as usize])
                .then(a.cmp(&b))
        });
        assert_eq!(sort_rows(&x, &mut || {}), vec![expected]);
    }

    #[test]
    fn splits_by_hand() {
        // x0 separates perfectly at 2.5; x1 is noise.
        let x = FeatureMatrix::from_rows(vec![1.0, 5.0, 2.0, 1.0, 3.0, 5.0, 4.0, 1.0], 2);
        let y = [0, 0, 1, 1];
        let t = fit(&x, &y, 2, &[1.0; 4], PARAMS, &mut || {});
        assert_eq!(t.nodes[0].feature, Some(0));
        assert_eq!(t.nodes[0].threshold, 2.5);
        assert_eq!(t.leaves().len(), 2);
        assert_eq!(t.leaf_of(&[2.5, 0.0]), 0); // <= goes left, as in training
        assert_eq!(t.leaf_of(&[2.6, 0.0]), 1);
        let rules = t.rules();
        assert_eq!(
            rules[0],
            vec![Condition {
                feature: 0,
                le: true,
                threshold: 2.5
            }]
        );
        assert_eq!(t.importance(2), vec![1.0, 0.0]);
        assert_eq!(t.leaves()[1].positives(), 2);
        t.validate(2).unwrap();
    }

    #[test]
    fn a_stored_tree_whose_child_points_back_is_refused() {
        // Found by the property tests: a tampered child index made leaf_node loop forever.
        let x = FeatureMatrix::from_rows(vec![1.0, 2.0, 3.0, 4.0], 1);
        let t = fit(&x, &[0, 0, 1, 1], 2, &[1.0; 4], PARAMS, &mut || {});
        t.validate(1).unwrap();
        let mut bad = t.clone();
        bad.nodes[0].left = 0;
        assert!(bad.validate(1).is_err());
        let mut bad = t.clone();
        bad.nodes[0].right = 0;
        assert!(bad.validate(1).is_err());
        // Found in review: two splits sharing a child multiply the paths rules() walks.
        let mut bad = t.clone();
        bad.nodes[0].right = bad.nodes[0].left;
        assert_eq!(
            bad.validate(1).unwrap_err(),
            "stored tree has a node that is not the child of exactly one split"
        );
    }

    /// x = 0..11 with churn at 5 and 8..11, depth 2, at least 4 rows a leaf: leaves 0/4, 1/4
    /// and 4/4 by x.
    fn three_leaves() -> Tree {
        let xs: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let y = [0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1];
        let x = FeatureMatrix::from_rows(xs, 1);
        let params = TreeParams {
            max_depth: 2,
            min_samples_leaf: 4,
            criterion: Criterion::Entropy,
            max_features: None,
            seed: 0,
            exact: false,
        };
        fit(&x, &y, 2, &[1.0; 12], params, &mut || {})
    }

    #[test]
    fn leaves_with_the_same_majority_are_kept() {
        // Best root split at 7.5 (entropy 0.362 against 0.646 at 6.5), then the left half at
        // 3.5: churn rates 0/4, 1/4 and 4/4. linfa would merge the two "stays" leaves.
        let t = three_leaves();
        let rates: Vec<(u64, u64)> = t.leaves().iter().map(|l| (l.positives(), l.rows)).collect();
        assert_eq!(rates, vec![(0, 4), (1, 4), (4, 4)]);
        // Rules agree with prediction for every row.
        for i in 0..12 {
            let leaf = t.leaf_of(&[i as f64]) as usize;
            let holds = t.rules()[leaf].iter().all(|c| {
                if c.le {
                    (i as f64) <= c.threshold
                } else {
                    (i as f64) > c.threshold
                }
            });
            assert!(holds);
        }
    }

    /// linfa-trees as the oracle where its pruning and `<` cannot differ from us: the root split
    /// of stumps whose two sides predict different classes.
    #[test]
    fn root_split_matches_linfa_trees() {
        use linfa::prelude::*;
        use linfa_trees::DecisionTree;
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut compared = 0;
        for _ in 0..20 {
            let n = 200;
            let data: Vec<f64> = (0..n * 3).map(|_| (next() * 100.0).round()).collect();
            let y: Vec<u32> = (0..n)
                .map(|i| (data[i * 3 + 1] + 20.0 * next() > 60.0) as u32)
                .collect();
            let x = FeatureMatrix::from_rows(data.clone(), 3);
            let ours = fit(
                &x,
                &y,
                2,
                &vec![1.0; n],
                TreeParams {
                    max_depth: 1,
                    min_samples_leaf: 1,
                    criterion: Criterion::Gini,
                    max_features: None,
                    seed: 0,
                    exact: false,
                },
                &mut || {},
            );
            let records = ndarray::Array2::from_shape_vec((n, 3), data).unwrap();
            let targets = ndarray::Array1::from_iter(y.iter().map(|&b| b as usize));
            let theirs = DecisionTree::params()
                .max_depth(Some(1))
                .min_weight_leaf(1.0)
                .min_weight_split(2.0)
                .fit(&DatasetBase::new(records, targets))
                .unwrap();
            let root = theirs.root_node();
            if root.is_leaf() {
                continue; // pruned: both sides had the same majority
            }
            let (f, t, _) = root.split();
            assert_eq!(ours.nodes[0].feature, Some(f));
            assert_eq!(ours.nodes[0].threshold, t);
            compared += 1;
        }
        assert!(compared >= 15, "only {compared} stumps compared");
    }

    #[test]
    fn merging_keeps_the_majority_partition() {
        // Leaves (0/4, 1/4, 4/4) by x: the first two both have majority 0 and merge.
        let t = three_leaves();
        let m = t.merged_by_majority();
        m.validate(1).unwrap();
        let leaves: Vec<(u32, u64)> = m.leaves().iter().map(|l| (l.majority(), l.rows)).collect();
        assert_eq!(leaves, vec![(0, 8), (1, 4)]);
        for i in 0..12 {
            let a = t.leaf_node(&[i as f64]).majority();
            let b = m.leaf_node(&[i as f64]).majority();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn auc_by_hand() {
        assert_eq!(
            roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[0.5], &[true]), None);
    }
}
