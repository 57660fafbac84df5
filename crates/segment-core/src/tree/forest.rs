//! A random forest of CART trees (Breiman 2001, as scikit-learn's `RandomForestClassifier`):
//! each tree grows on a bootstrap sample of the rows (drawn with replacement; a row drawn c times
//! weighs c) and tries a random subset of `max_features` features at each split; a row's class
//! probabilities are the mean over the trees of its leaf's weighted class shares.
//!
//! Ours, on the CART of `cart`: linfa-trees has no forest, and its tree prunes leaves of the
//! same majority class (see `cart`), which would change the leaves' class shares that the mean
//! is taken over. Every column is binned once for the whole forest (`hist`) and each tree grows
//! on its bootstrap rows' bins; with `exact`, every feature is sorted once for the whole forest
//! and each tree filters those orders down to its bootstrap rows (O(features × rows)) instead of
//! sorting again. Trees are
//! grown on threads, a batch of `threads` trees at a time (the node limit is checked between
//! batches); the calling thread grows one of them checking for interrupts between nodes, and the
//! other threads stop at their next node once it unwinds (a tree on a million rows takes
//! seconds). Each tree has a generator of its own (from the seed and its index): the forest is
//! the same whatever the thread count.
//!
//! Stored compactly: per tree, arrays of split features, thresholds and children, and each
//! leaf's class totals as integers (bootstrap counts), not a JSON object per node.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::parallel;
use crate::prep::matrix::FeatureMatrix;
use crate::tree::cart::{self, Criterion, TreeParams};
use crate::tree::hist;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

/// Most nodes a stored forest may have (its document is read whole by every statement that
/// classifies with it: about 30 bytes a node).
pub const MAX_NODES: usize = 2_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForestParams {
    pub n_trees: usize,
    pub max_depth: usize,
    pub min_samples_leaf: usize,
    /// Features tried per split.
    pub max_features: usize,
    pub criterion: Criterion,
    pub seed: u64,
    /// Splits over every feature's sorted rows instead of its bins (`cart::TreeParams::exact`).
    pub exact: bool,
}

/// One tree, flattened. Node i is a split when `feature[i] >= 0`: a row goes to `next[i]` when
/// its value is <= `threshold[i]`, else to `next[i] + 1`. For a leaf, `next[i]` is the leaf's
/// index into `counts` (classes values per leaf: the bootstrap-weighted training rows of each
/// class, whole numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlatTree {
    pub feature: Vec<i32>,
    pub threshold: Vec<f64>,
    pub next: Vec<u32>,
    pub counts: Vec<u32>,
}

impl FlatTree {
    /// From a grown tree and its leaves' weighted class totals. `cart::grow` places a split's
    /// two children next to each other, left first: one index per split is enough.
    fn of(tree: &cart::Tree, leaf_weights: &[Vec<f64>]) -> FlatTree {
        let n = tree.nodes.len();
        let mut flat = FlatTree {
            feature: Vec::with_capacity(n),
            threshold: Vec::with_capacity(n),
            next: Vec::with_capacity(n),
            counts: Vec::new(),
        };
        for node in &tree.nodes {
            match (node.feature, node.leaf) {
                (Some(f), _) => {
                    debug_assert_eq!(node.right, node.left + 1);
                    flat.feature.push(f as i32);
                    flat.threshold.push(node.threshold);
                    flat.next.push(node.left as u32);
                }
                (None, leaf) => {
                    let leaf = leaf.expect("a node without a split is a leaf");
                    flat.feature.push(-1);
                    flat.threshold.push(0.0);
                    flat.next.push(leaf);
                }
            }
        }
        for w in leaf_weights {
            // Bootstrap weights are counts: whole numbers.
            flat.counts.extend(w.iter().map(|&v| v.round() as u32));
        }
        flat
    }

    /// The leaf a row ends in.
    #[inline]
    pub fn leaf_of(&self, row: &[f64]) -> usize {
        let mut at = 0;
        loop {
            let f = self.feature[at];
            if f < 0 {
                return self.next[at] as usize;
            }
            let left = self.next[at] as usize;
            at = if row[f as usize] <= self.threshold[at] {
                left
            } else {
                left + 1
            };
        }
    }

    /// The longest root-to-leaf path, in splits.
    pub fn depth(&self) -> usize {
        // Children come after their parent: one forward pass.
        let mut depth = vec![0usize; self.feature.len()];
        let mut deepest = 0;
        for i in 0..self.feature.len() {
            if self.feature[i] >= 0 {
                let left = self.next[i] as usize;
                depth[left] = depth[i] + 1;
                depth[left + 1] = depth[i] + 1;
            } else {
                deepest = deepest.max(depth[i]);
            }
        }
        deepest
    }

    pub fn leaves(&self) -> usize {
        self.feature.iter().filter(|&&f| f < 0).count()
    }

    /// Children after their parent (every walk ends), features in range, leaves numbered
    /// 0..leaves with `classes` totals each, at least one row per leaf.
    fn validate(&self, d: usize, classes: usize) -> Result<(), String> {
        let n = self.feature.len();
        if n == 0 || self.threshold.len() != n || self.next.len() != n {
            return Err("stored forest has a tree of mismatched arrays".into());
        }
        // Every node but the root is the child of exactly one split: a walk ends in one leaf.
        let mut parents = vec![0u32; n];
        for i in 0..n {
            let next = self.next[i] as usize;
            if self.feature[i] >= 0 && next + 1 < n {
                parents[next] += 1;
                parents[next + 1] += 1;
            }
        }
        if parents[0] != 0 || parents.iter().skip(1).any(|&p| p != 1) {
            return Err(
                "stored forest has a node that is not the child of exactly one split".into(),
            );
        }
        let mut leaves = Vec::new();
        for i in 0..n {
            let (f, next) = (self.feature[i], self.next[i] as usize);
            if f < 0 {
                leaves.push(next);
            } else if f as usize >= d
                || next <= i
                || next + 1 >= n
                || !self.threshold[i].is_finite()
            {
                return Err("stored forest has a bad split".into());
            }
        }
        leaves.sort_unstable();
        if leaves.iter().enumerate().any(|(i, &l)| l != i)
            || self.counts.len() != leaves.len() * classes
            || self
                .counts
                .chunks_exact(classes)
                .any(|c| c.iter().all(|&v| v == 0))
        {
            return Err("stored forest's leaves do not match its classes".into());
        }
        Ok(())
    }
}

/// A fitted forest: its trees and the mean of their feature importances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    pub trees: Vec<FlatTree>,
    /// Per matrix column, scikit-learn's `feature_importances_`: each tree's normalized impurity
    /// decrease, averaged over the trees that split, normalized to sum 1.
    pub importance: Vec<f64>,
}

impl Forest {
    pub fn validate(&self, d: usize, classes: usize) -> Result<(), String> {
        if self.trees.is_empty() || self.importance.len() != d {
            return Err("stored forest has no trees or does not match its features".into());
        }
        self.trees.iter().try_for_each(|t| t.validate(d, classes))
    }

    pub fn nodes(&self) -> usize {
        self.trees.iter().map(|t| t.feature.len()).sum()
    }

    /// The forest laid out for prediction (`ForestRule`): every tree's nodes in one array of
    /// 16-byte nodes, each leaf's class shares divided once.
    pub fn rule(&self, classes: usize) -> ForestRule {
        let mut nodes = Vec::with_capacity(self.nodes());
        let mut roots = Vec::with_capacity(self.trees.len());
        let mut depths = Vec::with_capacity(self.trees.len());
        let mut shares = Vec::new();
        for t in &self.trees {
            let (root, first_share) = (nodes.len() as u32, shares.len() as u32);
            roots.push(root);
            depths.push(t.depth() as u32);
            for i in 0..t.feature.len() {
                let (f, next) = (t.feature[i], t.next[i]);
                if f >= 0 {
                    nodes.push(RuleNode {
                        threshold: t.threshold[i],
                        feature: f as u32,
                        right: root + next + 1,
                    });
                } else {
                    // No value is <= NaN: every step from a leaf goes "right", to itself. The
                    // NaN's payload is where the leaf's shares start.
                    nodes.push(RuleNode {
                        threshold: f64::from_bits(
                            QUIET_NAN | u64::from(first_share + next * classes as u32),
                        ),
                        feature: 0,
                        right: root + i as u32,
                    });
                }
            }
            for c in t.counts.chunks_exact(classes) {
                let total: u64 = c.iter().map(|&v| v as u64).sum();
                shares.extend(c.iter().map(|&v| v as f64 / total as f64));
            }
        }
        let groups = roots
            .chunks(WALK)
            .zip(depths.chunks(WALK))
            .map(|(r, d)| {
                let mut at = [0u32; WALK];
                at[..r.len()].copy_from_slice(r);
                (at, r.len(), d.iter().copied().max().unwrap_or(0))
            })
            .collect();
        ForestRule {
            nodes,
            groups,
            shares,
            classes,
            trees: self.trees.len(),
        }
    }
}

/// A quiet NaN, whose low 51 bits are free for a payload.
const QUIET_NAN: u64 = 0x7FF8_0000_0000_0000;

/// Trees walked side by side for one row: their loads do not wait on each other.
const WALK: usize = 4;

/// A node of `ForestRule`: a row goes to `right - 1` when its value of `feature` is <=
/// `threshold`, else to `right` (a split's children are next to each other, left first). A
/// leaf's threshold is NaN and its `right` is itself: a walk that reached it stays; the NaN's
/// payload (its low 32 bits) is where its class shares start in `ForestRule::shares`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct RuleNode {
    threshold: f64,
    feature: u32,
    right: u32,
}

/// `Forest` ready to predict: a row walks `WALK` trees at a time, each step of each tree
/// without a branch, for as many steps as the deepest of them has splits (a walk that reached
/// its leaf stays there), so the loads of the trees overlap instead of each waiting on the last
/// (measured by benches/hist_forest.rs). Leaves' shares are then added in tree order: the sums
/// of the walk one tree after another.
#[derive(Debug, Clone)]
pub struct ForestRule {
    /// Every tree's nodes, tree after tree.
    nodes: Vec<RuleNode>,
    /// The trees' roots, `WALK` at a time: the roots, how many, the deepest one's depth.
    groups: Vec<([u32; WALK], usize, u32)>,
    /// Every leaf's class shares, `classes` a leaf.
    shares: Vec<f64>,
    classes: usize,
    trees: usize,
}

impl ForestRule {
    /// The class probabilities of a row into `out` (`classes` values), and the most probable
    /// class (the lowest on a tie, as scikit-learn's argmax).
    #[inline]
    pub fn proba(&self, row: &[f64], out: &mut [f64]) -> u32 {
        let c = self.classes;
        out[..c].fill(0.0);
        for &(roots, len, depth) in &self.groups {
            let mut at = roots;
            for _ in 0..depth {
                for a in &mut at {
                    let node = self.nodes[*a as usize];
                    // A NaN goes right, as in `FlatTree::leaf_of`.
                    let left = row[node.feature as usize] <= node.threshold;
                    *a = node.right - u32::from(left);
                }
            }
            for &a in &at[..len] {
                // The leaf was just read: its NaN's payload costs no further load.
                let s = self.nodes[a as usize].threshold.to_bits() as u32 as usize;
                for (o, v) in out[..c].iter_mut().zip(&self.shares[s..s + c]) {
                    *o += v;
                }
            }
        }
        let n = self.trees as f64;
        let mut best = 0;
        for k in 0..c {
            out[k] /= n;
            if out[k] > out[best] {
                best = k;
            }
        }
        best as u32
    }
}

/// Grows the forest on `x` with classes `y` (`0..classes`), refusing one of more than
/// `max_nodes` nodes (`MAX_NODES` in use). `check` runs on the calling thread between the
/// features of the sort and the nodes of the tree it grows, and while it waits for the others.
pub fn fit(
    x: &FeatureMatrix,
    y: &[u32],
    classes: usize,
    p: &ForestParams,
    max_nodes: usize,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<Forest> {
    let (n, d) = (x.n_rows(), x.n_cols());
    let threads = threads.max(1);
    // The columns binned once for every tree, or (exact) one sort of every row per feature, of
    // which each tree keeps its bootstrap rows.
    let binned = if p.exact {
        None
    } else {
        hist::bin(x, threads, check)
    };
    let rows = match &binned {
        Some(b) => Rows::Binned(b),
        None => Rows::Sorted(cart::sort_rows(x, check)),
    };
    let mut trees: Vec<Option<Grown>> = vec![None; p.n_trees];
    let mut nodes = 0;
    for (b, slots) in trees.chunks_mut(threads).enumerate() {
        let first = b * threads;
        {
            let mut items: Vec<(usize, &mut Option<Grown>)> = slots
                .iter_mut()
                .enumerate()
                .map(|(i, s)| (first + i, s))
                .collect();
            parallel::for_each_polled(&mut items, threads, check, |(t, slot), go_on| {
                **slot = grow_one(x, y, classes, p, *t, &rows, n, d, go_on);
            });
        }
        check();
        nodes += slots
            .iter()
            .flatten()
            .map(|(t, _)| t.feature.len())
            .sum::<usize>();
        if nodes > max_nodes {
            return Err(CoreError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "the forest has more than {max_nodes} nodes after {} of its {} trees, too many to store",
                    first + slots.len(),
                    p.n_trees
                ),
            )
            .with_hint("Lower max_depth or n_trees, or raise min_samples_leaf."));
        }
    }
    let (trees, importances): (Vec<FlatTree>, Vec<Vec<f64>>) = trees
        .into_iter()
        .map(|t| t.expect("every tree grown"))
        .unzip();
    // scikit-learn: the mean over trees that split of each tree's normalized importances.
    let mut importance = vec![0.0; d];
    let splitting: Vec<&Vec<f64>> = importances
        .iter()
        .filter(|imp| imp.iter().any(|&v| v > 0.0))
        .collect();
    for imp in &splitting {
        importance
            .iter_mut()
            .zip(imp.iter())
            .for_each(|(a, b)| *a += b);
    }
    let total: f64 = importance.iter().sum();
    if total > 0.0 {
        importance.iter_mut().for_each(|v| *v /= total);
    }
    Ok(Forest { trees, importance })
}

/// A grown tree and its normalized feature importances.
type Grown = (FlatTree, Vec<f64>);

/// What every tree grows from: the binned columns, or every feature's sorted rows.
enum Rows<'a> {
    Binned(&'a hist::Binned),
    Sorted(Vec<Vec<u32>>),
}

/// Tree `t`: its bootstrap draw, its rows (those drawn, or filtered from the forest's sort),
/// grown; with its normalized importances. None when `go_on` says stop.
#[allow(clippy::too_many_arguments)]
fn grow_one(
    x: &FeatureMatrix,
    y: &[u32],
    classes: usize,
    p: &ForestParams,
    t: usize,
    rows: &Rows,
    n: usize,
    d: usize,
    go_on: &mut dyn FnMut() -> bool,
) -> Option<Grown> {
    let seed = p.seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut drawn = vec![0u32; n];
    for _ in 0..n {
        drawn[rng.gen_range(0..n)] += 1;
    }
    let w: Vec<f64> = drawn.iter().map(|&c| c as f64).collect();
    let params = TreeParams {
        max_depth: p.max_depth,
        min_samples_leaf: p.min_samples_leaf,
        criterion: p.criterion,
        max_features: Some(p.max_features),
        seed: rng.gen(),
        exact: p.exact,
    };
    let (tree, leaf_weights) = match rows {
        Rows::Binned(binned) => {
            let mine: Vec<u32> = (0..n as u32).filter(|&i| drawn[i as usize] > 0).collect();
            drop(drawn);
            hist::grow(binned, y, classes, &w, mine, params, go_on)?
        }
        Rows::Sorted(sorted_all) => {
            let mut sorted: Vec<Vec<u32>> = Vec::with_capacity(d);
            for idx in sorted_all {
                if !go_on() {
                    return None;
                }
                sorted.push(
                    idx.iter()
                        .copied()
                        .filter(|&i| drawn[i as usize] > 0)
                        .collect(),
                );
            }
            drop(drawn);
            cart::grow(x, y, classes, &w, sorted, params, go_on)?
        }
    };
    Some((FlatTree::of(&tree, &leaf_weights), tree.importance(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two noisy classes along x0 and a third along x1, with two noise features.
    fn blobs(n: usize, seed: u64) -> (FeatureMatrix, Vec<u32>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut data = Vec::with_capacity(n * 4);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let class = (i % 3) as u32;
            let (a, b) = match class {
                0 => (0.0, 0.0),
                1 => (2.0, 0.0),
                _ => (1.0, 2.0),
            };
            data.extend([
                a + rng.gen_range(-1.2..1.2),
                b + rng.gen_range(-1.2..1.2),
                rng.gen_range(0.0..1.0),
                rng.gen_range(0.0..1.0),
            ]);
            y.push(class);
        }
        (FeatureMatrix::from_rows(data, 4), y)
    }

    fn params(n_trees: usize, seed: u64) -> ForestParams {
        ForestParams {
            n_trees,
            max_depth: 6,
            min_samples_leaf: 1,
            max_features: 2,
            criterion: Criterion::Gini,
            seed,
            exact: false,
        }
    }

    fn accuracy(rule: &ForestRule, x: &FeatureMatrix, y: &[u32]) -> f64 {
        let mut out = [0.0; 3];
        let hit = x
            .rows()
            .zip(y)
            .filter(|(r, &c)| rule.proba(r, &mut out) == c)
            .count();
        hit as f64 / y.len() as f64
    }

    #[test]
    fn the_same_forest_whatever_the_threads() {
        let (x, y) = blobs(600, 1);
        let one = fit(&x, &y, 3, &params(7, 5), MAX_NODES, 1, &mut || {}).unwrap();
        let three = fit(&x, &y, 3, &params(7, 5), MAX_NODES, 3, &mut || {}).unwrap();
        assert_eq!(one, three);
        let other = fit(&x, &y, 3, &params(7, 6), MAX_NODES, 1, &mut || {}).unwrap();
        assert_ne!(one, other);
        one.validate(4, 3).unwrap();
    }

    /// The calling thread checks between the nodes of the trees it grows (one tree on a million
    /// rows takes seconds), not only between trees: on one thread a forest checks at least once
    /// per node. A check that unwinds stops the forest, the other threads' trees too. On 3 threads the
    /// calling thread may grow few of the trees (the others take them first) and checks while
    /// it waits: rows enough that the trees take a while, on either path.
    #[test]
    fn checks_between_nodes_and_stops_every_tree() {
        let (x, y) = blobs(600, 1);
        let (big_x, big_y) = blobs(6000, 1);
        for exact in [true, false] {
            let p = |n_trees| ForestParams {
                exact,
                ..params(n_trees, 5)
            };
            let mut forest = None;
            let calls = crate::parallel::testing::checks(|check| {
                forest = Some(fit(&x, &y, 3, &p(3), MAX_NODES, 1, check).unwrap());
            });
            let nodes = forest.unwrap().nodes();
            assert!(
                nodes > 30 && calls >= nodes,
                "exact {exact}: {calls} checks, {nodes} nodes"
            );
            for threads in [1, 3] {
                crate::parallel::testing::stops_at(20, |check| {
                    let _ = fit(&big_x, &big_y, 3, &p(9), MAX_NODES, threads, check);
                });
            }
        }
    }

    #[test]
    fn probabilities_are_mean_leaf_shares_and_sum_to_one() {
        let (x, y) = blobs(300, 2);
        let forest = fit(&x, &y, 3, &params(5, 0), MAX_NODES, 2, &mut || {}).unwrap();
        let rule = forest.rule(3);
        let mut out = [0.0; 3];
        for row in x.rows().take(50) {
            let best = rule.proba(row, &mut out);
            assert!((out.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            // By hand: each tree's leaf shares, averaged.
            let mut mean = [0.0; 3];
            for tree in &forest.trees {
                let leaf = tree.leaf_of(row);
                let c = &tree.counts[leaf * 3..leaf * 3 + 3];
                let total: u32 = c.iter().sum();
                for k in 0..3 {
                    mean[k] += c[k] as f64 / total as f64 / 5.0;
                }
            }
            for k in 0..3 {
                assert!((mean[k] - out[k]).abs() < 1e-12);
            }
            assert!(out.iter().all(|&p| p <= out[best as usize]));
        }
    }

    #[test]
    fn bootstrap_counts_are_the_leaf_totals() {
        // Every tree's leaf totals add up to n draws.
        let (x, y) = blobs(200, 3);
        let forest = fit(&x, &y, 3, &params(4, 9), MAX_NODES, 1, &mut || {}).unwrap();
        for tree in &forest.trees {
            assert_eq!(tree.counts.iter().sum::<u32>(), 200);
        }
        let imp_sum: f64 = forest.importance.iter().sum();
        assert!((imp_sum - 1.0).abs() < 1e-12);
        // The noise features matter less than the informative ones.
        assert!(forest.importance[0] > forest.importance[2]);
        assert!(forest.importance[1] > forest.importance[3]);
    }

    /// Against the mean of single trees of five seeds (one tree is a noisy yardstick: either
    /// split search has seeds whose tree beats its forest on these blobs by a few rows).
    #[test]
    fn a_forest_beats_one_of_its_trees_on_held_out_rows() {
        let (x, y) = blobs(900, 4);
        let (x_test, y_test) = blobs(900, 44);
        for exact in [true, false] {
            let p = |n_trees, seed| ForestParams {
                exact,
                ..params(n_trees, seed)
            };
            let forest = fit(&x, &y, 3, &p(50, 1), MAX_NODES, 2, &mut || {}).unwrap();
            let a_forest = accuracy(&forest.rule(3), &x_test, &y_test);
            let a_tree = (1..=5)
                .map(|seed| {
                    let single = fit(&x, &y, 3, &p(1, seed), MAX_NODES, 1, &mut || {}).unwrap();
                    accuracy(&single.rule(3), &x_test, &y_test)
                })
                .sum::<f64>()
                / 5.0;
            assert!(
                a_forest > a_tree,
                "exact {exact}: forest {a_forest} vs trees {a_tree}"
            );
            assert!(a_forest > 0.8, "exact {exact}: forest accuracy {a_forest}");
        }
    }

    #[test]
    fn tampered_trees_are_refused() {
        let (x, y) = blobs(90, 5);
        let forest = fit(&x, &y, 3, &params(2, 0), MAX_NODES, 1, &mut || {}).unwrap();
        let mut bad = forest.clone();
        bad.trees[0].next[0] = 0; // the root's child is itself
        assert!(bad.validate(4, 3).is_err());
        let mut bad = forest.clone();
        bad.trees[1].counts.pop();
        assert!(bad.validate(4, 3).is_err());
        let mut bad = forest.clone();
        bad.trees[0].feature[0] = 4;
        assert!(bad.validate(4, 3).is_err());
        // A split whose children are another split's: not a tree.
        let mut bad = forest;
        let t = &mut bad.trees[0];
        if let Some(i) = (1..t.feature.len()).find(|&i| t.feature[i] >= 0) {
            t.next[i] = t.next[0];
            assert!(bad.validate(4, 3).is_err());
        }
    }

    #[test]
    fn too_many_nodes_is_an_error_not_a_huge_document() {
        let (x, y) = blobs(3000, 6);
        let p = ForestParams {
            max_depth: 30,
            ..params(4, 0)
        };
        let one = fit(&x, &y, 3, &params(1, 0), MAX_NODES, 1, &mut || {}).unwrap();
        let e = fit(&x, &y, 3, &p, one.nodes(), 1, &mut || {}).unwrap_err();
        assert!(
            e.message.contains("nodes after 1 of its 4 trees"),
            "{}",
            e.message
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("Lower max_depth or n_trees, or raise min_samples_leaf.")
        );
    }
}
