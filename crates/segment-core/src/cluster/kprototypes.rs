//! k-prototypes (Huang 1998): k-means for rows of numbers and categories. The dissimilarity of
//! a row to a prototype is the squared Euclidean distance of the (scaled) numbers plus γ times
//! the number of categories that differ from the prototype's; a prototype is the mean of its
//! rows' numbers and the mode of each of their categories. The objective (`cost`) is the sum of
//! each row's dissimilarity to its prototype, the `cost_` of the `kmodes` Python package.
//!
//! Ours: no Rust crate has it (linfa has none). Each start seeds its prototypes by D² sampling
//! under the same dissimilarity (k-means++ for mixed rows: Huang's and Cao's seedings pick only
//! the categorical part), then alternates batch assignment and update until no row moves, as
//! Lloyd does; the `kmodes` package moves rows one at a time. Assignment runs on threads in
//! fixed blocks reduced in block order, so a seed gives the same prototypes on any thread count.
//! An empty prototype takes the row farthest from its own (as scikit-learn's k-means relocates).
//! Ties go to the lowest prototype, a tied mode to the lowest category index (the values' sorted
//! order).

use crate::cluster::{needed_k, MethodParameters, Starts};
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::parallel::{self, BLOCK_ROWS};
use crate::params::{Given, ParamGuard};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;

/// A category that is not among a feature's levels (a value not seen at fit time).
pub const UNKNOWN: u32 = u32::MAX;

/// The checked parameters of method kprototypes: k, starts and iterations, and γ (None: the
/// default, see `default_gamma`). Only [`KPrototypesOptions::check`] makes one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KPrototypesMethod {
    k: i64,
    n_init: u64,
    max_iter: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    /// Start from the current version's prototypes (`fit_from`).
    #[serde(skip_serializing_if = "crate::cluster::is_false")]
    pub(crate) warm_start: bool,
}

/// The options of method kprototypes as given, with the call's k (linfa's unchecked params).
#[derive(Debug, Clone, PartialEq)]
pub struct KPrototypesOptions(KPrototypesMethod, Option<i64>);

impl KPrototypesOptions {
    pub const KEYS: [&'static str; 4] = ["n_init", "max_iter", "gamma", "warm_start"];

    pub fn read(given: &Given, k: Option<i64>) -> KPrototypesOptions {
        let starts = Starts::read(given);
        KPrototypesOptions(
            KPrototypesMethod {
                k: k.unwrap_or(0),
                n_init: starts.n_init,
                max_iter: starts.max_iter,
                gamma: given.number("gamma"),
                warm_start: given.boolean("warm_start").unwrap_or(false),
            },
            k,
        )
    }
}

impl ParamGuard for KPrototypesOptions {
    type Checked = KPrototypesMethod;
    type Error = CoreError;

    fn check_ref(&self) -> CoreResult<&KPrototypesMethod> {
        let o = &self.0;
        Starts {
            n_init: o.n_init,
            max_iter: o.max_iter,
            ..Starts::default()
        }
        .check()?;
        if let Some(g) = o.gamma {
            if !(g.is_finite() && g >= 0.0) {
                return Err(CoreError::invalid_parameter(format!(
                    "option gamma must be a finite number >= 0, not {g}"
                ))
                .with_hint("gamma weighs one mismatched category against squared scaled numbers; leave it out for half the mean standard deviation of the scaled numeric features."));
            }
        }
        needed_k(self.1, "kprototypes")?;
        Ok(o)
    }

    fn check(self) -> CoreResult<KPrototypesMethod> {
        self.check_ref()?;
        Ok(self.0)
    }
}

impl MethodParameters for KPrototypesMethod {
    fn k(&self) -> Option<usize> {
        Some(self.k as usize)
    }

    fn sample_limit(&self) -> Option<u64> {
        None
    }

    fn document(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }

    fn warm_start(&self) -> bool {
        self.warm_start
    }
}

impl KPrototypesMethod {
    pub fn k(&self) -> usize {
        self.k as usize
    }

    pub fn gamma(&self) -> Option<f64> {
        self.gamma
    }

    /// The runs of this fit, with γ (the given one, or the default measured on the rows).
    pub fn params(&self, gamma: f64, seed: u64, threads: usize) -> KPrototypesParams {
        KPrototypesParams {
            k: self.k(),
            n_init: self.n_init,
            max_iter: self.max_iter,
            gamma,
            seed,
            threads,
        }
    }
}

/// Rows split into their numbers (row-major, `p` a row, scaled) and their categories (row-major,
/// `q` a row, each an index into its feature's `levels`, or `UNKNOWN`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mixed {
    pub p: usize,
    pub numbers: Vec<f64>,
    pub levels: Vec<usize>,
    pub codes: Vec<u32>,
}

impl Mixed {
    pub fn n_rows(&self) -> usize {
        if self.levels.is_empty() {
            self.numbers.len() / self.p.max(1)
        } else {
            self.codes.len() / self.levels.len()
        }
    }

    fn q(&self) -> usize {
        self.levels.len()
    }

    fn numbers_of(&self, i: usize) -> &[f64] {
        &self.numbers[i * self.p..(i + 1) * self.p]
    }

    fn codes_of(&self, i: usize) -> &[u32] {
        let q = self.q();
        &self.codes[i * q..(i + 1) * q]
    }
}

/// γ when the options give none: half the mean standard deviation (population) of the numeric
/// columns, as the `kmodes` package picks it; 1 when there are no numbers (then only mismatches
/// count, and γ only scales the cost).
pub fn default_gamma(x: &Mixed) -> f64 {
    let (n, p) = (x.n_rows(), x.p);
    if p == 0 || n == 0 {
        return 1.0;
    }
    let mut sd_sum = 0.0;
    for j in 0..p {
        let mean = (0..n).map(|i| x.numbers[i * p + j]).sum::<f64>() / n as f64;
        let var = (0..n)
            .map(|i| (x.numbers[i * p + j] - mean).powi(2))
            .sum::<f64>()
            / n as f64;
        sd_sum += var.sqrt();
    }
    0.5 * sd_sum / p as f64
}

/// Per matrix column of `width`, the factor (1 for numbers, sqrt(γ / 2) on each categorical
/// feature's one-hot columns `(first, len)`) under which the squared Euclidean distance of a row
/// with one category per feature to a prototype is its dissimilarity: the space where scores
/// measured with distances (silhouette, inertia, refit matching) agree with k-prototypes.
pub fn distance_weights(width: usize, slices: &[(usize, usize)], gamma: f64) -> Vec<f64> {
    let mut w = vec![1.0; width];
    for &(start, len) in slices {
        w[start..start + len].fill((gamma / 2.0).sqrt());
    }
    w
}

/// The k prototypes: numbers (k × p) and modes (k × q).
#[derive(Debug, Clone, PartialEq)]
pub struct Prototypes {
    pub p: usize,
    pub q: usize,
    pub gamma: f64,
    pub numbers: Vec<f64>,
    pub modes: Vec<u32>,
}

impl Prototypes {
    pub fn k(&self) -> usize {
        self.modes
            .len()
            .checked_div(self.q)
            .unwrap_or(self.numbers.len() / self.p.max(1))
    }

    /// The dissimilarity of a row (its numbers and codes) to prototype `c`.
    #[inline]
    pub fn dissimilarity(&self, numbers: &[f64], codes: &[u32], c: usize) -> f64 {
        let centre = &self.numbers[c * self.p..(c + 1) * self.p];
        let d2: f64 = numbers
            .iter()
            .zip(centre)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        let modes = &self.modes[c * self.q..(c + 1) * self.q];
        let mismatches = codes.iter().zip(modes).filter(|(a, b)| a != b).count();
        d2 + self.gamma * mismatches as f64
    }

    /// The nearest prototype of a row (the lowest on a tie) and its dissimilarity.
    #[inline]
    pub fn nearest(&self, numbers: &[f64], codes: &[u32]) -> (u32, f64) {
        let mut best = (0u32, f64::INFINITY);
        for c in 0..self.k() {
            let d = self.dissimilarity(numbers, codes, c);
            if d < best.1 {
                best = (c as u32, d);
            }
        }
        best
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KPrototypesParams {
    pub k: usize,
    pub n_init: u64,
    pub max_iter: u64,
    pub gamma: f64,
    pub seed: u64,
    pub threads: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KPrototypesFit {
    pub prototypes: Prototypes,
    pub labels: Vec<u32>,
    /// The k-prototypes objective: the sum of each row's dissimilarity to its prototype.
    pub cost: f64,
    pub iterations: u32,
    /// The winning start stopped because no row moved (not at max_iter).
    pub converged: bool,
}

/// Fits k prototypes: `n_init` seeded starts, the lowest cost wins (the earliest on a tie).
/// `check` runs between blocks of rows and between prototypes of the seeding.
pub fn fit(
    x: &Mixed,
    params: &KPrototypesParams,
    check: &mut dyn FnMut(),
) -> CoreResult<KPrototypesFit> {
    let n = x.n_rows();
    if params.k == 0 || params.k > n {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "k = {} needs at least {} usable rows, there are {n}",
                params.k, params.k
            ),
        ));
    }
    let mut best: Option<KPrototypesFit> = None;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
    for _ in 0..params.n_init {
        let start_seed: u64 = rng.gen();
        let run = one_start(x, params, start_seed, check);
        if best.as_ref().is_none_or(|b| run.cost < b.cost) {
            best = Some(run);
        }
    }
    Ok(best.expect("n_init >= 1"))
}

/// D² seeding: the first prototype a random row, each next one a row drawn with probability
/// proportional to its dissimilarity to the nearest prototype so far. `check` before each
/// prototype (each reads every row).
fn seed(
    x: &Mixed,
    k: usize,
    gamma: f64,
    rng: &mut Xoshiro256PlusPlus,
    check: &mut dyn FnMut(),
) -> Prototypes {
    let (n, p, q) = (x.n_rows(), x.p, x.q());
    let mut protos = Prototypes {
        p,
        q,
        gamma,
        numbers: Vec::with_capacity(k * p),
        modes: Vec::with_capacity(k * q),
    };
    let push = |protos: &mut Prototypes, i: usize| {
        protos.numbers.extend_from_slice(x.numbers_of(i));
        protos.modes.extend_from_slice(x.codes_of(i));
    };
    push(&mut protos, rng.gen_range(0..n));
    let mut closest: Vec<f64> = (0..n)
        .map(|i| protos.dissimilarity(x.numbers_of(i), x.codes_of(i), 0))
        .collect();
    for c in 1..k {
        check();
        let total: f64 = closest.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.gen::<f64>() * total;
            let mut pick = n - 1;
            for (i, &d) in closest.iter().enumerate() {
                if target < d {
                    pick = i;
                    break;
                }
                target -= d;
            }
            pick
        } else {
            rng.gen_range(0..n) // every row equals a prototype: any row
        };
        push(&mut protos, pick);
        for (i, d) in closest.iter_mut().enumerate() {
            *d = d.min(protos.dissimilarity(x.numbers_of(i), x.codes_of(i), c));
        }
    }
    protos
}

/// A block of rows being assigned: its first row, its labels and dissimilarities, its sums.
type Block<'a> = (usize, &'a mut [u32], &'a mut [f64], Option<BlockSums>);

/// One block's assignment: labels, dissimilarities, and its sums for the update.
struct BlockSums {
    moved: bool,
    cost: f64,
    counts: Vec<u64>,
    numbers: Vec<f64>,
    /// Per prototype, per feature's levels (laid out by `offsets`): rows with that level.
    levels: Vec<u64>,
}

fn one_start(
    x: &Mixed,
    params: &KPrototypesParams,
    start_seed: u64,
    check: &mut dyn FnMut(),
) -> KPrototypesFit {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(start_seed);
    let protos = seed(x, params.k, params.gamma, &mut rng, check);
    run(x, params, protos, check)
}

/// Fits k-prototypes from given prototypes (a warm start: the current version's, in this fit's
/// units): one run, no seeding, so each segment keeps its prototype's id. `params.k`,
/// `n_init` and `seed` are not used; `params.gamma` must be the prototypes'.
pub fn fit_from(
    x: &Mixed,
    start: Prototypes,
    params: &KPrototypesParams,
    check: &mut dyn FnMut(),
) -> CoreResult<KPrototypesFit> {
    let k = start.k();
    if k == 0 || k > x.n_rows() || start.p != x.p || start.q != x.q() {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "the start's {k} prototypes do not fit {} usable rows of these columns",
                x.n_rows()
            ),
        ));
    }
    let params = KPrototypesParams {
        k,
        ..params.clone()
    };
    Ok(run(x, &params, start, check))
}

/// Alternates assignment and update from `protos` until no row moves or `max_iter`.
fn run(
    x: &Mixed,
    params: &KPrototypesParams,
    mut protos: Prototypes,
    check: &mut dyn FnMut(),
) -> KPrototypesFit {
    let (n, p, q, k) = (x.n_rows(), x.p, x.q(), params.k);
    let mut offsets = Vec::with_capacity(q);
    let mut all_levels = 0;
    for &l in &x.levels {
        offsets.push(all_levels);
        all_levels += l;
    }
    let mut labels = vec![u32::MAX; n];
    let mut dissim = vec![0.0; n];
    let mut iterations = 0u32;
    let mut converged = false;
    let mut cost;
    loop {
        // Assign every row to its nearest prototype, block by block.
        let mut blocks: Vec<Block> = labels
            .chunks_mut(BLOCK_ROWS)
            .zip(dissim.chunks_mut(BLOCK_ROWS))
            .enumerate()
            .map(|(b, (l, d))| (b * BLOCK_ROWS, l, d, None))
            .collect();
        parallel::for_each_checked(
            &mut blocks,
            params.threads,
            check,
            |(start, labels, dissim, out)| {
                let mut s = BlockSums {
                    moved: false,
                    cost: 0.0,
                    counts: vec![0; k],
                    numbers: vec![0.0; k * p],
                    levels: vec![0; k * all_levels],
                };
                for (r, (label, d)) in labels.iter_mut().zip(dissim.iter_mut()).enumerate() {
                    let i = *start + r;
                    let (nums, codes) = (x.numbers_of(i), x.codes_of(i));
                    let (c, dc) = protos.nearest(nums, codes);
                    s.moved |= *label != c;
                    *label = c;
                    *d = dc;
                    s.cost += dc;
                    let c = c as usize;
                    s.counts[c] += 1;
                    for (acc, v) in s.numbers[c * p..(c + 1) * p].iter_mut().zip(nums) {
                        *acc += v;
                    }
                    for (j, &code) in codes.iter().enumerate() {
                        if code != UNKNOWN {
                            s.levels[c * all_levels + offsets[j] + code as usize] += 1;
                        }
                    }
                }
                *out = Some(s);
            },
        );
        let mut total = BlockSums {
            moved: false,
            cost: 0.0,
            counts: vec![0; k],
            numbers: vec![0.0; k * p],
            levels: vec![0; k * all_levels],
        };
        for (_, _, _, s) in blocks {
            let s = s.expect("every block assigned");
            total.moved |= s.moved;
            total.cost += s.cost;
            total
                .counts
                .iter_mut()
                .zip(&s.counts)
                .for_each(|(a, b)| *a += b);
            total
                .numbers
                .iter_mut()
                .zip(&s.numbers)
                .for_each(|(a, b)| *a += b);
            total
                .levels
                .iter_mut()
                .zip(&s.levels)
                .for_each(|(a, b)| *a += b);
        }
        cost = total.cost;
        check();
        if !total.moved {
            converged = true;
            break;
        }
        if iterations as u64 >= params.max_iter {
            break;
        }
        iterations += 1;
        // Update: means and modes; an empty prototype takes the farthest row of a prototype
        // that keeps at least one.
        let mut empty: Vec<usize> = (0..k).filter(|&c| total.counts[c] == 0).collect();
        if !empty.is_empty() {
            let mut by_distance: Vec<usize> = (0..n).collect();
            by_distance.sort_by(|&a, &b| dissim[b].total_cmp(&dissim[a]).then(a.cmp(&b)));
            for i in by_distance {
                let Some(&c) = empty.first() else { break };
                let from = labels[i] as usize;
                if total.counts[from] <= 1 {
                    continue;
                }
                // Move row i's sums from its prototype to the empty one.
                total.counts[from] -= 1;
                total.counts[c] += 1;
                for j in 0..p {
                    let v = x.numbers[i * p + j];
                    total.numbers[from * p + j] -= v;
                    total.numbers[c * p + j] += v;
                }
                for (j, &code) in x.codes_of(i).iter().enumerate() {
                    if code != UNKNOWN {
                        total.levels[from * all_levels + offsets[j] + code as usize] -= 1;
                        total.levels[c * all_levels + offsets[j] + code as usize] += 1;
                    }
                }
                labels[i] = c as u32;
                empty.remove(0);
            }
        }
        for c in 0..k {
            let count = total.counts[c].max(1) as f64;
            for j in 0..p {
                protos.numbers[c * p + j] = total.numbers[c * p + j] / count;
            }
            for (j, &levels) in x.levels.iter().enumerate() {
                let counts = &total.levels[c * all_levels + offsets[j]..][..levels];
                let mut mode = 0;
                for (l, &v) in counts.iter().enumerate() {
                    if v > counts[mode] {
                        mode = l;
                    }
                }
                protos.modes[c * q + j] = mode as u32;
            }
        }
    }
    KPrototypesFit {
        prototypes: protos,
        labels,
        cost,
        iterations,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of one numeric feature and one category: two groups, (0, "a") and (10, "b"), with
    /// some rows of each group carrying the other's category.
    fn two_groups() -> Mixed {
        let mut numbers = Vec::new();
        let mut codes = Vec::new();
        for i in 0..40 {
            let group = i % 2;
            numbers.push(group as f64 * 10.0 + (i % 5) as f64 * 0.1);
            codes.push(if i % 10 == 0 { 1 - group } else { group } as u32);
        }
        Mixed {
            p: 1,
            numbers,
            levels: vec![2],
            codes,
        }
    }

    fn params(k: usize, gamma: f64, threads: usize) -> KPrototypesParams {
        KPrototypesParams {
            k,
            n_init: 5,
            max_iter: 100,
            gamma,
            seed: 3,
            threads,
        }
    }

    /// The assignment checks between blocks of rows, the seeding between prototypes: with one
    /// start of one iteration, each block more is a check more per pass; a check that unwinds
    /// stops the fit, on one thread or two.
    #[test]
    fn passes_check_between_blocks() {
        let rows = |blocks: usize| {
            let n = blocks * BLOCK_ROWS;
            Mixed {
                p: 1,
                numbers: (0..n)
                    .map(|i| (i % 2) as f64 * 10.0 + (i % 5) as f64)
                    .collect(),
                levels: vec![3],
                codes: (0..n as u32).map(|i| i % 3).collect(),
            }
        };
        let p = KPrototypesParams {
            n_init: 1,
            max_iter: 1,
            ..params(2, 0.5, 1)
        };
        let calls = |x: &Mixed| {
            crate::parallel::testing::checks(|check| {
                fit(x, &p, check).unwrap();
            })
        };
        let (small, large) = (rows(1), rows(6));
        let (a, b) = (calls(&small), calls(&large));
        // Two assignment passes (the first and the one after the update), five blocks more each.
        assert!(b >= a + 2 * 5, "{a} {b}");
        for threads in [1, 2] {
            let p = KPrototypesParams {
                threads,
                ..p.clone()
            };
            crate::parallel::testing::stops_at(3, |check| {
                let _ = fit(&large, &p, check);
            });
        }
    }

    #[test]
    fn finds_the_groups_with_means_and_modes() {
        let x = two_groups();
        let fit = fit(&x, &params(2, 0.5, 1), &mut || {}).unwrap();
        assert!(fit.converged);
        let (a, b) = (fit.labels[0], fit.labels[1]);
        assert_ne!(a, b);
        for i in 0..40 {
            assert_eq!(fit.labels[i], if i % 2 == 0 { a } else { b });
        }
        let p = &fit.prototypes;
        assert_eq!(p.modes[a as usize], 0);
        assert_eq!(p.modes[b as usize], 1);
        // Mean of group 0's numbers: (0 + 0.1 + 0.2 + 0.3 + 0.4) / 5 repeated = 0.2.
        assert!((p.numbers[a as usize] - 0.2).abs() < 1e-12);
        assert!((p.numbers[b as usize] - 10.2).abs() < 1e-12);
        // Cost by hand: numeric spread 2 × 20 rows × mean (x - 0.2)² = 40 × 0.02, and the 4 rows
        // with the other group's category cost γ each.
        assert!(
            (fit.cost - (40.0 * 0.02 + 4.0 * 0.5)).abs() < 1e-9,
            "{}",
            fit.cost
        );
    }

    #[test]
    fn the_same_fit_whatever_the_threads() {
        let mut numbers = Vec::new();
        let mut codes = Vec::new();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let n = 3 * BLOCK_ROWS + 17;
        for _ in 0..n {
            numbers.extend([rng.gen::<f64>(), rng.gen::<f64>() * 3.0]);
            codes.extend([rng.gen_range(0..3u32), rng.gen_range(0..4u32)]);
        }
        let x = Mixed {
            p: 2,
            numbers,
            levels: vec![3, 4],
            codes,
        };
        let one = fit(&x, &params(4, 0.3, 1), &mut || {}).unwrap();
        let three = fit(&x, &params(4, 0.3, 3), &mut || {}).unwrap();
        assert_eq!(one, three);
        // The reported cost is the cost of the labels under the prototypes.
        let again: f64 = (0..n)
            .map(|i| {
                one.prototypes
                    .dissimilarity(x.numbers_of(i), x.codes_of(i), one.labels[i] as usize)
            })
            .sum();
        assert!((again - one.cost).abs() < 1e-6 * one.cost);
    }

    #[test]
    fn gamma_zero_is_kmeans_on_the_numbers_and_numbers_alone_default_gamma() {
        let x = two_groups();
        let fit0 = fit(&x, &params(2, 0.0, 1), &mut || {}).unwrap();
        assert!((fit0.cost - 40.0 * 0.02).abs() < 1e-9);
        // Population standard deviation of the numbers: 5 (groups at 0.2 and 10.2) and the
        // spread within them: sqrt(25 + 0.02).
        let g = default_gamma(&x);
        assert!((g - 0.5 * (25.0f64 + 0.02).sqrt()).abs() < 1e-9, "{g}");
        let cats_only = Mixed {
            p: 0,
            numbers: vec![],
            levels: vec![2],
            codes: vec![0, 1],
        };
        assert_eq!(default_gamma(&cats_only), 1.0);
    }

    #[test]
    fn an_empty_prototype_takes_the_farthest_row() {
        // Three identical rows and one far row, k = 2 seeded on two identical rows is possible
        // only with duplicates: every start must still end with two non-empty segments.
        let x = Mixed {
            p: 1,
            numbers: vec![0.0, 0.0, 0.0, 5.0],
            levels: vec![1],
            codes: vec![0, 0, 0, 0],
        };
        for seed in 0..20 {
            let mut p = params(2, 1.0, 1);
            p.seed = seed;
            let f = fit(&x, &p, &mut || {}).unwrap();
            assert_eq!(f.cost, 0.0, "seed {seed}");
            assert_ne!(f.labels[0], f.labels[3]);
        }
    }

    #[test]
    fn options_are_checked() {
        let given = Given::from_json(
            r#"{"gamma": -1}"#,
            None,
            &[crate::params::Key::nullable(
                "gamma",
                crate::params::Kind::Number,
            )],
        )
        .unwrap();
        let e = KPrototypesOptions::read(&given, Some(3))
            .check()
            .unwrap_err();
        assert_eq!(
            e.message,
            "option gamma must be a finite number >= 0, not -1"
        );
    }

    /// The bank contacts as the reference script reads them: age, balance, duration, campaign
    /// z-scored (population sd), job, marital, education, housing, loan, contact as categories.
    fn bank() -> Mixed {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let text =
            std::fs::read_to_string(format!("{root}/tests/data/bank_marketing/bank.csv")).unwrap();
        let mut lines = text.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let at = |name: &str| head.iter().position(|h| *h == name).unwrap();
        let numeric = ["age", "balance", "duration", "campaign"].map(at);
        let categorical = ["job", "marital", "education", "housing", "loan", "contact"].map(at);
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let n = rows.len();
        let mut numbers = vec![0.0; n * 4];
        for (j, &c) in numeric.iter().enumerate() {
            let v: Vec<f64> = rows.iter().map(|r| r[c].parse().unwrap()).collect();
            let mean = v.iter().sum::<f64>() / n as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
            for i in 0..n {
                numbers[i * 4 + j] = (v[i] - mean) / sd;
            }
        }
        let mut levels = Vec::new();
        let mut codes = vec![0u32; n * 6];
        for (j, &c) in categorical.iter().enumerate() {
            let mut values: Vec<&str> = rows.iter().map(|r| r[c]).collect();
            values.sort_unstable();
            values.dedup();
            levels.push(values.len());
            for i in 0..n {
                codes[i * 6 + j] = values.iter().position(|v| *v == rows[i][c]).unwrap() as u32;
            }
        }
        Mixed {
            p: 4,
            numbers,
            levels,
            codes,
        }
    }

    /// The kmodes package's KPrototypes on the same rows and γ (tests/reference/
    /// bank_kprototypes.py): with as many starts (10), our cost is within 1% of its best.
    #[test]
    fn cost_reaches_kmodes_on_the_bank_contacts() {
        let x = bank();
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let reference =
            std::fs::read_to_string(format!("{root}/tests/reference/bank_kprototypes_cost.csv"))
                .unwrap();
        let mut best: Vec<(usize, f64, f64)> = Vec::new();
        for line in reference.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (k, gamma, cost) = (
                f[0].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            );
            match best.iter_mut().find(|b| b.0 == k) {
                Some(b) => b.2 = b.2.min(cost),
                None => best.push((k, gamma, cost)),
            }
        }
        assert!((default_gamma(&x) - best[0].1).abs() < 1e-12);
        let mut short = Vec::new();
        for (k, gamma, theirs) in best {
            let params = KPrototypesParams {
                k,
                n_init: 10,
                max_iter: 100,
                gamma,
                seed: 0,
                threads: 2,
            };
            let ours = fit(&x, &params, &mut || {}).unwrap();
            println!(
                "k={k}: ours {:.1}, kmodes {theirs:.1} ({:+.2}%)",
                ours.cost,
                100.0 * (ours.cost / theirs - 1.0)
            );
            if ours.cost > theirs * 1.01 {
                short.push(format!("k={k}: {} > 1.01 x {theirs}", ours.cost));
            }
        }
        assert!(short.is_empty(), "{short:?}");
    }
}
