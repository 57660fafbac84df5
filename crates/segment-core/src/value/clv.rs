//! Customer lifetime value for non-contractual customers: BG/NBD (Fader, Hardie & Lee 2005,
//! "Counting Your Customers the Easy Way") for purchase counts and dropout, Gamma-Gamma (Fader,
//! Hardie & Lee 2005, "RFM and CLV") for spend per purchase; maximum likelihood in log space.
//!
//! Both likelihoods are maximized over log parameters by L-BFGS (the argmin crate, More-Thuente
//! line search) with their gradients in closed form (digamma terms, computed once per distinct
//! purchase count and evaluation). On 200,000 simulated customers (one run, two threads) BG/NBD
//! took 25 evaluations and 0.21 s where our Nelder-Mead, used before, took 360 and 3.24 s to the
//! same optimum; Gamma-Gamma 30 and 0.04 s against 305 and 0.27 s. Nelder-Mead stays as the
//! fallback where the line search fails or stops short (a likelihood that overflows far from the
//! optimum, say).

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{Key, Kind};
use crate::prep::scaling::short;
use argmin::core::{CostFunction, Executor, Gradient, State, TerminationReason, TerminationStatus};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};

/// The keys of `segment_clv_fit`'s options and their kinds: the time unit, what counts as one
/// purchase occasion, the fit's L2 penalty, and whether the fit may change what an existing model
/// name means.
pub const OPTION_KEYS: [Key; 4] = [
    Key::new("unit", Kind::OneOf(&["day", "week", "month"])),
    Key::new("occasion", Kind::OneOf(&["day", "transaction"])),
    Key::new("penalizer", Kind::Number),
    Key::new("replace", Kind::Boolean),
];

/// Options of `segment_clv_fit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClvOptions {
    /// day | week | month (365.25 / 12 days).
    pub unit: String,
    /// What counts as one purchase occasion: "day" (a calendar day, as the papers do) or
    /// "transaction" (every distinct time value).
    pub occasion: String,
    pub penalizer: f64,
    /// The fit may change what an existing model name means (its columns or method): a call
    /// option, not stored.
    #[serde(skip_serializing)]
    pub replace: bool,
}

impl Default for ClvOptions {
    fn default() -> Self {
        ClvOptions {
            unit: "week".into(),
            occasion: "day".into(),
            penalizer: 0.0,
            replace: false,
        }
    }
}

impl ClvOptions {
    pub fn days_per_unit(&self) -> f64 {
        match self.unit.as_str() {
            "day" => 1.0,
            "week" => 7.0,
            _ => 365.25 / 12.0,
        }
    }

    /// Reads the options object key by key and checks the penalty.
    pub fn from_value(options: &serde_json::Value) -> CoreResult<ClvOptions> {
        let given = crate::params::Given::read(options, &OPTION_KEYS)?;
        let d = ClvOptions::default();
        let o = ClvOptions {
            unit: given.text("unit").map_or(d.unit, str::to_string),
            occasion: given.text("occasion").map_or(d.occasion, str::to_string),
            penalizer: given.number("penalizer").unwrap_or(d.penalizer),
            replace: given.boolean("replace").unwrap_or(false),
        };
        if !(o.penalizer.is_finite() && o.penalizer >= 0.0) {
            return Err(CoreError::invalid_parameter(format!(
                "option penalizer must be a finite number >= 0, not {}",
                o.penalizer
            )));
        }
        Ok(o)
    }
}

fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

fn log_add(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ψ(x), the derivative of ln Γ, for x > 0: the recurrence ψ(x) = ψ(x + 1) - 1/x up to x >= 10,
/// then the asymptotic series (error below 1e-13 there).
fn digamma(mut x: f64) -> f64 {
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    let series =
        f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))));
    shift + x.ln() - 0.5 / x - series
}

/// One customer's calibration summary: repeat purchase occasions x, time of the last one t_x
/// and age T, both from the first purchase, in the model's time unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct History {
    pub x: f64,
    pub t_x: f64,
    pub t: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub gamma: f64,
}

impl BgNbd {
    /// ln L of one customer (equation 6 of the paper, in log space: no overflow for customers
    /// with hundreds of purchases).
    pub fn log_likelihood(&self, h: &History) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let common = ln_gamma(r + h.x) - ln_gamma(r) + r * alpha.ln();
        let stays = ln_beta(a, b + h.x) - ln_beta(a, b) - (r + h.x) * (alpha + h.t).ln();
        if h.x > 0.0 {
            let dropped =
                ln_beta(a + 1.0, b + h.x - 1.0) - ln_beta(a, b) - (r + h.x) * (alpha + h.t_x).ln();
            common + log_add(stays, dropped)
        } else {
            common + stays
        }
    }

    /// P(alive | x, t_x, T) (equation 11).
    pub fn p_alive(&self, h: &History) -> f64 {
        if h.x == 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let ln_ratio =
            (a / (b + h.x - 1.0)).ln() + (r + h.x) * ((alpha + h.t) / (alpha + h.t_x)).ln();
        1.0 / (1.0 + ln_ratio.exp())
    }

    /// Expected purchases in the next `t` periods given the history (equation 10).
    pub fn expected_purchases(&self, h: &History, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (x, tx, big_t) = (h.x, h.t_x, h.t);
        let z = t / (alpha + big_t + t);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = 1.0 - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x) * hyp;
        let denominator = if x > 0.0 {
            1.0 + (a / (b + x - 1.0)) * ((alpha + big_t) / (alpha + tx)).powf(r + x)
        } else {
            1.0
        };
        first * second / denominator
    }

    /// Expected purchases in the next `horizon` periods and their value: `spend` per purchase
    /// times the purchases expected in each period (the last one may be partial), discounted
    /// by (1 + discount)^period. Each period's expectation is computed once (E[0] = 0).
    pub fn value(&self, h: &History, spend: f64, horizon: f64, discount: f64) -> (f64, f64) {
        let whole = horizon.floor() as usize;
        let mut clv = 0.0;
        let (mut before, mut previous) = (0.0, 0.0);
        for step in 1..=whole + 1 {
            let t = (step as f64).min(horizon);
            if t <= before {
                break;
            }
            let e = self.expected_purchases(h, t);
            clv += spend * (e - previous) / (1.0 + discount).powf(t);
            (before, previous) = (t, e);
        }
        (previous, clv)
    }

    /// Expected purchases of a new customer in `t` periods (equation 7): for checks.
    pub fn expected_new(&self, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let z = t / (alpha + t);
        (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z))
    }
}

/// The Gauss hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its series (the
/// arguments here always give z < 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..10_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

impl GammaGamma {
    /// ln L of one repeat customer's mean spend `m` over `x` purchases (constants dropped).
    pub fn log_likelihood(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q)
            + q * gamma.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (gamma + m * x).ln()
    }

    /// E[M | x, mean m]: the expected spend per purchase of a customer (equation 5 of the RFM
    /// and CLV paper); the population mean p gamma / (q - 1) for a customer without repeats.
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        let GammaGamma { p, q, gamma } = *self;
        let population = p * gamma / (q - 1.0);
        if x == 0.0 {
            return population;
        }
        let weight = (q - 1.0) / (p * x + q - 1.0);
        weight * population + (1.0 - weight) * m
    }
}

/// Result of a minimization.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub point: Vec<f64>,
    pub value: f64,
    pub converged: bool,
    pub evaluations: usize,
}

/// Nelder-Mead minimization from `start` (standard coefficients 1, 2, 0.5, 0.5), restarted from
/// the best point until a restart no longer improves: restarts guard against a collapsed simplex.
/// `check` runs before each evaluation and is handed to `f` (an evaluation over millions of
/// customers checks inside too).
pub fn nelder_mead(
    f: &mut Value,
    start: &[f64],
    step: f64,
    tolerance: f64,
    max_evaluations: usize,
    check: &mut dyn FnMut(),
) -> Minimum {
    let n = start.len();
    let mut evaluations = 0;
    let mut eval = |p: &[f64], evaluations: &mut usize| {
        *evaluations += 1;
        check();
        let v = f(p, &mut *check);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut best = start.to_vec();
    let mut best_value = eval(&best, &mut evaluations);
    let mut converged = false;
    for _restart in 0..10 {
        let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
        simplex.push((best.clone(), best_value));
        for i in 0..n {
            let mut p = best.clone();
            p[i] += step;
            let v = eval(&p, &mut evaluations);
            simplex.push((p, v));
        }
        converged = false;
        while evaluations < max_evaluations {
            simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
            let spread = simplex[n].1 - simplex[0].1;
            if spread.abs() <= tolerance * (1.0 + simplex[0].1.abs()) {
                converged = true;
                break;
            }
            let centroid: Vec<f64> = (0..n)
                .map(|j| simplex[..n].iter().map(|(p, _)| p[j]).sum::<f64>() / n as f64)
                .collect();
            let towards = |coef: f64, worst: &[f64]| -> Vec<f64> {
                (0..n)
                    .map(|j| centroid[j] + coef * (worst[j] - centroid[j]))
                    .collect()
            };
            let worst = simplex[n].0.clone();
            let reflected = towards(-1.0, &worst);
            let fr = eval(&reflected, &mut evaluations);
            if fr < simplex[0].1 {
                let expanded = towards(-2.0, &worst);
                let fe = eval(&expanded, &mut evaluations);
                simplex[n] = if fe < fr {
                    (expanded, fe)
                } else {
                    (reflected, fr)
                };
            } else if fr < simplex[n - 1].1 {
                simplex[n] = (reflected, fr);
            } else {
                let contracted = if fr < simplex[n].1 {
                    towards(-0.5, &worst)
                } else {
                    towards(0.5, &worst)
                };
                let fc = eval(&contracted, &mut evaluations);
                if fc < simplex[n].1.min(fr) {
                    simplex[n] = (contracted, fc);
                } else {
                    let best_point = simplex[0].0.clone();
                    for item in simplex.iter_mut().skip(1) {
                        let p: Vec<f64> = (0..n)
                            .map(|j| best_point[j] + 0.5 * (item.0[j] - best_point[j]))
                            .collect();
                        let v = eval(&p, &mut evaluations);
                        *item = (p, v);
                    }
                }
            }
        }
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let improved = simplex[0].1 < best_value - tolerance * (1.0 + best_value.abs());
        best = simplex[0].0.clone();
        best_value = simplex[0].1;
        if !improved || evaluations >= max_evaluations {
            break;
        }
    }
    Minimum {
        point: best,
        value: best_value,
        converged,
        evaluations,
    }
}

/// Identical histories fitted once, weighted by how many customers share them.
fn compress(histories: &[History]) -> Vec<(History, f64)> {
    let mut sorted: Vec<History> = histories.to_vec();
    sorted.sort_by(|a, b| {
        a.x.total_cmp(&b.x)
            .then(a.t_x.total_cmp(&b.t_x))
            .then(a.t.total_cmp(&b.t))
    });
    let mut out: Vec<(History, f64)> = Vec::new();
    for h in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == h => *n += 1.0,
            _ => out.push((h, 1.0)),
        }
    }
    out
}

/// BG/NBD's data, arranged for its likelihood: identical histories once with their count, and
/// the distinct purchase counts (the ln Γ, ln B and ψ terms depend on x alone, so they are
/// computed once per distinct x and evaluation). Sums run on threads over fixed blocks added in
/// order, so they do not depend on the thread count.
struct BgNbdData {
    data: Vec<(History, f64)>,
    xs: Vec<f64>,
    /// Per entry of `data`: its x's index in `xs`.
    group: Vec<u32>,
    blocks: Vec<std::ops::Range<usize>>,
}

impl BgNbdData {
    fn new(histories: &[History]) -> BgNbdData {
        let data = compress(histories);
        let mut xs: Vec<f64> = Vec::new();
        let group: Vec<u32> = data
            .iter()
            .map(|(h, _)| {
                if xs.last() != Some(&h.x) {
                    xs.push(h.x);
                }
                (xs.len() - 1) as u32
            })
            .collect();
        let blocks = (0..data.len())
            .step_by(crate::parallel::BLOCK_ROWS)
            .map(|lo| lo..(lo + crate::parallel::BLOCK_ROWS).min(data.len()))
            .collect();
        BgNbdData {
            data,
            xs,
            group,
            blocks,
        }
    }

    fn customers(&self) -> f64 {
        self.data.iter().map(|(_, n)| n).sum()
    }

    /// ln L and its gradient in (r, alpha, a, b); `check` between blocks of customers.
    fn value_and_gradient(
        &self,
        params: &BgNbd,
        threads: usize,
        check: &mut dyn FnMut(),
    ) -> (f64, [f64; 4]) {
        let BgNbd { r, alpha, a, b } = *params;
        let base = ln_beta(a, b);
        let (psi_r, psi_a, psi_b, psi_ab, psi_a1) = (
            digamma(r),
            digamma(a),
            digamma(b),
            digamma(a + b),
            digamma(a + 1.0),
        );
        // Per distinct x: the terms of ln L and of its derivatives that depend on x alone.
        let terms: Vec<XTerms> = self
            .xs
            .iter()
            .map(|&x| {
                let psi_abx = digamma(a + b + x);
                XTerms {
                    common: ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln(),
                    stays: ln_beta(a, b + x) - base,
                    dropped: if x > 0.0 {
                        ln_beta(a + 1.0, b + x - 1.0) - base
                    } else {
                        f64::NEG_INFINITY
                    },
                    common_r: digamma(r + x) - psi_r + alpha.ln(),
                    stays_a: psi_ab - psi_abx,
                    stays_b: digamma(b + x) - psi_abx - psi_b + psi_ab,
                    dropped_a: psi_a1 - psi_abx - psi_a + psi_ab,
                    dropped_b: if x > 0.0 {
                        digamma(b + x - 1.0) - psi_abx - psi_b + psi_ab
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let mut partial: Vec<(std::ops::Range<usize>, [f64; 5])> =
            self.blocks.iter().map(|b| (b.clone(), [0.0; 5])).collect();
        crate::parallel::for_each_checked(&mut partial, threads, check, |(range, sums)| {
            for i in range.clone() {
                let (h, n) = &self.data[i];
                let t = &terms[self.group[i] as usize];
                let (ln_t, rx) = ((alpha + h.t).ln(), r + h.x);
                let stays = t.stays - rx * ln_t;
                // The row's ln L is common + ln(e^stays + e^dropped); the weights are the two
                // parts' shares of that sum.
                let (term, w_stays, w_dropped, ln_tx) = if h.x > 0.0 {
                    let ln_tx = (alpha + h.t_x).ln();
                    let dropped = t.dropped - rx * ln_tx;
                    let total = log_add(stays, dropped);
                    (total, (stays - total).exp(), (dropped - total).exp(), ln_tx)
                } else {
                    (stays, 1.0, 0.0, 0.0)
                };
                sums[0] += n * (t.common + term);
                sums[1] += n * (t.common_r - w_stays * ln_t - w_dropped * ln_tx);
                sums[2] += n
                    * (r / alpha
                        - w_stays * rx / (alpha + h.t)
                        - if h.x > 0.0 {
                            w_dropped * rx / (alpha + h.t_x)
                        } else {
                            0.0
                        });
                sums[3] += n * (w_stays * t.stays_a + w_dropped * t.dropped_a);
                sums[4] += n * (w_stays * t.stays_b + w_dropped * t.dropped_b);
            }
        });
        let mut sum = [0.0; 5];
        for (_, p) in &partial {
            sum.iter_mut().zip(p).for_each(|(s, v)| *s += v);
        }
        (sum[0], [sum[1], sum[2], sum[3], sum[4]])
    }
}

impl BgNbdData {
    /// ln L and its gradient in (r, alpha) of the NBD: BG/NBD's limit without dropout (a -> 0 with
    /// a / b -> 0, where ln B(a, b + x) - ln B(a, b) -> 0 and the dropped part vanishes), every
    /// customer alive through T: ln Γ(r + x) - ln Γ(r) + r ln α - (r + x) ln(α + T).
    fn no_dropout_value_and_gradient(
        &self,
        r: f64,
        alpha: f64,
        threads: usize,
        check: &mut dyn FnMut(),
    ) -> (f64, [f64; 2]) {
        let (ln_gamma_r, psi_r, ln_alpha) = (ln_gamma(r), digamma(r), alpha.ln());
        let terms: Vec<(f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                (
                    ln_gamma(r + x) - ln_gamma_r + r * ln_alpha,
                    digamma(r + x) - psi_r + ln_alpha,
                )
            })
            .collect();
        let mut partial: Vec<(std::ops::Range<usize>, [f64; 3])> =
            self.blocks.iter().map(|b| (b.clone(), [0.0; 3])).collect();
        crate::parallel::for_each_checked(&mut partial, threads, check, |(range, sums)| {
            for i in range.clone() {
                let (h, n) = &self.data[i];
                let (common, common_r) = terms[self.group[i] as usize];
                let (ln_t, rx) = ((alpha + h.t).ln(), r + h.x);
                sums[0] += n * (common - rx * ln_t);
                sums[1] += n * (common_r - ln_t);
                sums[2] += n * (r / alpha - rx / (alpha + h.t));
            }
        });
        let mut sum = [0.0; 3];
        for (_, p) in &partial {
            sum.iter_mut().zip(p).for_each(|(s, v)| *s += v);
        }
        (sum[0], [sum[1], sum[2]])
    }
}

/// The parts of one purchase count's BG/NBD log-likelihood and derivatives that do not depend
/// on the customer's times.
struct XTerms {
    common: f64,
    stays: f64,
    dropped: f64,
    /// d common / dr.
    common_r: f64,
    stays_a: f64,
    stays_b: f64,
    dropped_a: f64,
    dropped_b: f64,
}

/// An objective's value at a point (given the caller's interrupt check, for an objective long
/// enough to need it).
pub type Value<'a> = dyn FnMut(&[f64], &mut dyn FnMut()) -> f64 + 'a;

/// A smooth objective: its value and gradient at a point (given the caller's interrupt check,
/// for an objective long enough to need it).
pub type ValueAndGradient<'a> = dyn FnMut(&[f64], &mut dyn FnMut()) -> (f64, Vec<f64>) + 'a;

/// A point with the objective's value and gradient there.
type Evaluated = (Vec<f64>, f64, Vec<f64>);

/// `f` (value and gradient at one point) as argmin sees it: one evaluation per point however
/// often argmin asks for the cost and the gradient there, and `check` before each.
struct Smooth<'a> {
    f: RefCell<&'a mut ValueAndGradient<'a>>,
    check: RefCell<&'a mut dyn FnMut()>,
    last: RefCell<Option<Evaluated>>,
    evaluations: &'a Cell<usize>,
}

impl Smooth<'_> {
    fn at(&self, p: &[f64]) -> (f64, Vec<f64>) {
        if let Some((q, v, g)) = self.last.borrow().as_ref() {
            if q == p {
                return (*v, g.clone());
            }
        }
        let mut check = self.check.borrow_mut();
        check();
        self.evaluations.set(self.evaluations.get() + 1);
        let (v, g) = (self.f.borrow_mut())(p, &mut **check);
        *self.last.borrow_mut() = Some((p.to_vec(), v, g.clone()));
        (v, g)
    }
}

impl CostFunction for Smooth<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        match self.at(p).0 {
            v if v.is_finite() => Ok(v),
            _ => Err(argmin::core::Error::msg("the likelihood overflows here")),
        }
    }
}

impl Gradient for Smooth<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        Ok(self.at(p).1)
    }
}

/// Maximizes a penalized log-likelihood over the logs of its `dims` parameters, from all
/// parameters 1. `ll(theta)` is ln L and its gradient in theta. The objective is the negative
/// log-likelihood per customer (so that tolerances do not depend on how many there are) plus
/// penalizer x the sum of squared parameters (lifetimes' convention). The minimum's point is in
/// log space.
fn maximize_in_log_space(
    ll: impl Fn(&[f64], &mut dyn FnMut()) -> (f64, Vec<f64>),
    dims: usize,
    penalizer: f64,
    customers: f64,
    check: &mut dyn FnMut(),
) -> Minimum {
    let mut objective = |u: &[f64], check: &mut dyn FnMut()| -> (f64, Vec<f64>) {
        let theta: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        let (ll, grad) = ll(&theta, check);
        let penalty: f64 = theta.iter().map(|v| v * v).sum::<f64>() * penalizer;
        let gradient = theta
            .iter()
            .zip(&grad)
            .map(|(t, g)| (-t * g + 2.0 * penalizer * t * t) / customers)
            .collect();
        ((-ll + penalty) / customers, gradient)
    };
    minimize(&mut objective, &vec![0.0; dims], check)
}

/// Minimizes `f` (its value and gradient at a point) from `start` by L-BFGS; if the line search
/// fails or stops short of convergence, Nelder-Mead goes on from the best point found.
pub fn minimize(f: &mut ValueAndGradient, start: &[f64], check: &mut dyn FnMut()) -> Minimum {
    let evaluations = Cell::new(0);
    let (best, converged) = {
        let problem = Smooth {
            f: RefCell::new(&mut *f),
            check: RefCell::new(&mut *check),
            last: RefCell::new(None),
            evaluations: &evaluations,
        };
        let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
            .with_tolerance_grad(1e-9)
            .expect("a tolerance >= 0");
        let run = Executor::new(problem, solver)
            .configure(|state| state.param(start.to_vec()).max_iters(1000))
            .run();
        match run {
            Ok(result) => {
                let state = result.state();
                let converged = matches!(
                    state.get_termination_status(),
                    TerminationStatus::Terminated(TerminationReason::SolverConverged)
                );
                (
                    state
                        .get_best_param()
                        .cloned()
                        .filter(|_| state.get_best_cost().is_finite()),
                    converged,
                )
            }
            Err(_) => (None, false),
        }
    };
    match best {
        Some(point) if converged => {
            let value = f(&point, check).0;
            Minimum {
                point,
                value,
                converged,
                evaluations: evaluations.get() + 1,
            }
        }
        other => {
            let from = other.unwrap_or_else(|| start.to_vec());
            let mut value_only = |p: &[f64], check: &mut dyn FnMut()| f(p, check).0;
            let mut m = nelder_mead(&mut value_only, &from, 0.5, 1e-12, 20_000, check);
            m.evaluations += evaluations.get();
            m
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    pub params: BgNbd,
    /// Total log-likelihood (without the penalty).
    pub log_likelihood: f64,
    pub converged: bool,
    /// The log-likelihood of the best fit without dropout (the NBD, BG/NBD's boundary a -> 0,
    /// b -> ∞; same penalizer), for `boundary_warnings`.
    pub no_dropout_log_likelihood: f64,
}

/// Maximum likelihood BG/NBD. `penalizer` adds penalizer x sum of squared parameters to the
/// negative log-likelihood (lifetimes' convention); 0 is plain MLE.
pub fn fit_bgnbd(
    histories: &[History],
    penalizer: f64,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<BgNbdFit> {
    if histories.is_empty() {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "no customer has a purchase in the calibration period",
        ));
    }
    if histories.iter().all(|h| h.x == 0.0) {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "no customer made a repeat purchase in the calibration period: BG/NBD cannot tell how often customers buy",
        )
        .with_hint("Move calibration_end later, or use a finer time unit."));
    }
    let prepared = BgNbdData::new(histories);
    check();
    let value_and_gradient = |params: &BgNbd, check: &mut dyn FnMut()| {
        prepared.value_and_gradient(params, threads, check)
    };
    let m = maximize_in_log_space(
        |t, check| {
            let params = BgNbd {
                r: t[0],
                alpha: t[1],
                a: t[2],
                b: t[3],
            };
            let (ll, grad) = value_and_gradient(&params, check);
            (ll, grad.to_vec())
        },
        4,
        penalizer,
        prepared.customers(),
        check,
    );
    let params = BgNbd {
        r: m.point[0].exp(),
        alpha: m.point[1].exp(),
        a: m.point[2].exp(),
        b: m.point[3].exp(),
    };
    let log_likelihood = value_and_gradient(&params, check).0;
    // Without dropout t_x plays no part: histories with the same x and T are fitted once.
    let by_age: Vec<History> = histories
        .iter()
        .map(|h| History { t_x: 0.0, ..*h })
        .collect();
    let ages = BgNbdData::new(&by_age);
    drop(by_age);
    check();
    let no_dropout = maximize_in_log_space(
        |t, check| {
            let (ll, grad) = ages.no_dropout_value_and_gradient(t[0], t[1], threads, check);
            (ll, grad.to_vec())
        },
        2,
        penalizer,
        ages.customers(),
        check,
    );
    let (r0, alpha0) = (no_dropout.point[0].exp(), no_dropout.point[1].exp());
    Ok(BgNbdFit {
        log_likelihood,
        params,
        converged: m.converged,
        no_dropout_log_likelihood: ages
            .no_dropout_value_and_gradient(r0, alpha0, threads, check)
            .0,
    })
}

/// BG/NBD's dropout counts as identified when its log-likelihood exceeds the best fit without
/// dropout (the NBD) by more than this: half the 95% quantile of χ² with one degree of freedom,
/// the likelihood-ratio test of "no customer ever drops out".
pub const DROPOUT_EVIDENCE: f64 = 1.92;

/// A shape parameter (r, a, b, p, q: no unit) outside [1 / RUN_OFF, RUN_OFF] ran off: the
/// likelihood is flat in its direction and the optimizer stopped wherever it got tired. (α and
/// γ are in the units of time and money, so no bound applies to them.)
pub const RUN_OFF: f64 = 1e4;

/// What `segment_clv_fit` says to do when `boundary_warnings` is not empty.
pub const BOUNDARY_HINT: &str = "P(alive) from this model says nothing about who is still a customer: do not segment on p_alive. The calibration period may be too short to see customers leave (move calibration_end later), or the customers may really keep buying (wholesale accounts): use expected_purchases and clv, or recency itself. See \"Fits at the boundary\" in docs/clv.md.";

/// Fits at the boundary of the parameter space: BG/NBD's dropout not identified (its fit no
/// better than the NBD's, `DROPOUT_EVIDENCE`), shape parameters that ran off (`RUN_OFF`). One
/// sentence each, empty for a fit in the interior.
pub fn boundary_warnings(bg: &BgNbdFit, gg: &GammaGammaFit) -> Vec<String> {
    let mut out = Vec::new();
    let gain = bg.log_likelihood - bg.no_dropout_log_likelihood;
    let BgNbd { r, a, b, .. } = bg.params;
    // A NaN gain (a failed fit) counts as no evidence either.
    let not_identified = !matches!(
        gain.partial_cmp(&DROPOUT_EVIDENCE),
        Some(std::cmp::Ordering::Greater)
    );
    if not_identified {
        out.push(format!(
            "dropout is not identified: BG/NBD (a = {}, b = {}) fits no better than a model in which no customer ever drops out (log-likelihood {} above it, not more than {DROPOUT_EVIDENCE}), so P(alive) is about 1 for every customer",
            short(a),
            short(b),
            short(gain),
        ));
    }
    let shapes = [
        ("r", r),
        ("a", a),
        ("b", b),
        ("p", gg.params.p),
        ("q", gg.params.q),
    ];
    let ran_off: Vec<String> = shapes
        .iter()
        .filter(|(name, v)| {
            let dropout = matches!(*name, "a" | "b");
            !((1.0 / RUN_OFF..=RUN_OFF).contains(v) || (dropout && not_identified))
        })
        .map(|(name, v)| format!("{name} = {}", short(*v)))
        .collect();
    match ran_off.as_slice() {
        [] => {}
        [one] => out.push(format!(
            "parameter {one} ran off (outside 1e-4..1e4): the likelihood is flat in its direction"
        )),
        many => out.push(format!(
            "parameters {} ran off (outside 1e-4..1e4): the likelihood is flat in their directions",
            many.join(", ")
        )),
    }
    out
}

/// Gamma-Gamma's data, sorted by x: ln Γ and ψ of p x and p x + q are computed once per
/// distinct x and evaluation; each customer keeps ln m and ln x. Sums run on threads over fixed
/// blocks added in order.
struct GammaGammaData {
    xs: Vec<f64>,
    /// Per customer: its x's index in `xs`, x, mean spend m, ln m, ln x.
    rows: Vec<(u32, f64, f64, f64, f64)>,
    blocks: Vec<std::ops::Range<usize>>,
}

impl GammaGammaData {
    fn new(mut data: Vec<(f64, f64)>) -> GammaGammaData {
        data.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut xs: Vec<f64> = Vec::new();
        let rows: Vec<(u32, f64, f64, f64, f64)> = data
            .iter()
            .map(|&(x, m)| {
                if xs.last() != Some(&x) {
                    xs.push(x);
                }
                ((xs.len() - 1) as u32, x, m, m.ln(), x.ln())
            })
            .collect();
        let blocks = (0..rows.len())
            .step_by(crate::parallel::BLOCK_ROWS)
            .map(|lo| lo..(lo + crate::parallel::BLOCK_ROWS).min(rows.len()))
            .collect();
        GammaGammaData { xs, rows, blocks }
    }

    /// ln L and its gradient in (p, q, gamma); `check` between blocks of customers.
    fn value_and_gradient(
        &self,
        params: &GammaGamma,
        threads: usize,
        check: &mut dyn FnMut(),
    ) -> (f64, [f64; 3]) {
        let GammaGamma { p, q, gamma } = *params;
        let (ln_gamma_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), gamma.ln());
        // Per x: ln Γ(px + q) - ln Γ(px), ψ(px + q), ψ(px).
        let terms: Vec<(f64, f64, f64)> = self
            .xs
            .iter()
            .map(|&x| {
                let px = p * x;
                (
                    ln_gamma(px + q) - ln_gamma(px),
                    digamma(px + q),
                    digamma(px),
                )
            })
            .collect();
        let mut partial: Vec<(std::ops::Range<usize>, [f64; 4])> =
            self.blocks.iter().map(|b| (b.clone(), [0.0; 4])).collect();
        crate::parallel::for_each_checked(&mut partial, threads, check, |(range, sums)| {
            for &(g, x, m, ln_m, ln_x) in &self.rows[range.clone()] {
                let (ln_ratio, psi_pxq, psi_px) = terms[g as usize];
                let px = p * x;
                let ln_rest = (gamma + m * x).ln();
                sums[0] += ln_ratio - ln_gamma_q + q * ln_g + (px - 1.0) * ln_m + px * ln_x
                    - (px + q) * ln_rest;
                sums[1] += x * (psi_pxq - psi_px + ln_m + ln_x - ln_rest);
                sums[2] += psi_pxq - psi_q + ln_g - ln_rest;
                sums[3] += q / gamma - (px + q) / (gamma + m * x);
            }
        });
        let mut sum = [0.0; 4];
        for (_, s) in &partial {
            sum.iter_mut().zip(s).for_each(|(t, v)| *t += v);
        }
        (sum[0], [sum[1], sum[2], sum[3]])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GammaGammaFit {
    pub params: GammaGamma,
    pub log_likelihood: f64,
    pub converged: bool,
}

/// Maximum likelihood Gamma-Gamma on repeat customers' (x, mean spend).
pub fn fit_gamma_gamma(
    spend: &[(f64, f64)],
    penalizer: f64,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<GammaGammaFit> {
    let data: Vec<(f64, f64)> = spend
        .iter()
        .copied()
        .filter(|&(x, m)| x > 0.0 && m > 0.0)
        .collect();
    if data.len() < 2 {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            "fewer than 2 customers have repeat purchases with a positive spend: Gamma-Gamma cannot be fitted",
        ));
    }
    let prepared = GammaGammaData::new(data);
    check();
    let value_and_gradient = |params: &GammaGamma, check: &mut dyn FnMut()| {
        prepared.value_and_gradient(params, threads, check)
    };
    let m = maximize_in_log_space(
        |t, check| {
            let params = GammaGamma {
                p: t[0],
                q: t[1],
                gamma: t[2],
            };
            let (ll, grad) = value_and_gradient(&params, check);
            (ll, grad.to_vec())
        },
        3,
        penalizer,
        prepared.rows.len() as f64,
        check,
    );
    let params = GammaGamma {
        p: m.point[0].exp(),
        q: m.point[1].exp(),
        gamma: m.point[2].exp(),
    };
    Ok(GammaGammaFit {
        log_likelihood: value_and_gradient(&params, check).0,
        params,
        converged: m.converged,
    })
}

#[cfg(test)]
mod options_tests {
    use super::*;
    use crate::params::Given;

    #[test]
    fn options_are_read_in_plain_words() {
        let given = Given::from_json(
            r#"{"unit": "day", "occasion": "transaction", "penalizer": 0.1}"#,
            None,
            &OPTION_KEYS,
        )
        .unwrap();
        assert_eq!(given.text("unit"), Some("day"));
        assert_eq!(given.text("occasion"), Some("transaction"));
        assert_eq!(given.number("penalizer"), Some(0.1));
        let e = Given::from_json(r#"{"unit": "year"}"#, None, &OPTION_KEYS).unwrap_err();
        assert_eq!(
            e.message,
            r#"unit must be "day", "week" or "month", got the string "year""#
        );
        let e = Given::from_json(r#"{"penalizer": "0.1"}"#, None, &OPTION_KEYS).unwrap_err();
        assert_eq!(
            e.message,
            r#"penalizer must be a number, got the string "0.1""#
        );
        let e = Given::from_json(r#"{"units": "day"}"#, None, &OPTION_KEYS).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some(r#"Did you mean "unit"?"#));
        let e = Given::from_json(r#"{"time_unit": "day"}"#, None, &OPTION_KEYS).unwrap_err();
        assert_eq!(
            e.hint.as_deref(),
            Some("Known options: unit, occasion, penalizer, replace.")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parallel::BLOCK_ROWS;

    /// The published BG/NBD parameters of the CDNOW sample.
    const CDNOW: BgNbd = BgNbd {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    #[test]
    fn value_without_discount_is_spend_times_purchases() {
        let h = History {
            x: 3.0,
            t_x: 20.0,
            t: 38.0,
        };
        let (expected, clv) = CDNOW.value(&h, 25.0, 52.5, 0.0);
        assert_eq!(expected, CDNOW.expected_purchases(&h, 52.5));
        assert!((clv - 25.0 * expected).abs() < 1e-9);
        let (_, discounted) = CDNOW.value(&h, 25.0, 52.5, 0.01);
        assert!(discounted < clv && discounted > 0.0);
    }

    #[test]
    fn nelder_mead_finds_rosenbrocks_minimum() {
        let f = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let m = nelder_mead(
            &mut |p, _| f(p),
            &[-1.2, 1.0],
            0.5,
            1e-15,
            10_000,
            &mut || {},
        );
        assert!(
            (m.point[0] - 1.0).abs() < 1e-4 && (m.point[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
    }

    /// Nelder-Mead checks before every evaluation (it checked when the count hit a multiple of
    /// 64, which a step of two or more evaluations can jump over), and an evaluation over many
    /// customers checks between their blocks; a check that unwinds stops a fit.
    #[test]
    fn fits_check_every_evaluation_and_block() {
        let f = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let mut m = None;
        let calls = crate::parallel::testing::checks(|check| {
            m = Some(nelder_mead(
                &mut |p, _| f(p),
                &[-1.2, 1.0],
                0.5,
                1e-15,
                10_000,
                check,
            ));
        });
        assert!(calls >= m.unwrap().evaluations, "{calls}");
        let (hs, _) = simulated(5_000, 3);
        let many: Vec<History> = (0..8).flat_map(|_| hs.iter().copied()).collect();
        let blocks = |hs: &[History]| {
            let data = BgNbdData::new(hs);
            crate::parallel::testing::checks(|check| {
                data.value_and_gradient(&CDNOW, 1, check);
            })
        };
        // Distinct histories are fitted once, 8,192 to a block.
        let distinct = compress(&hs).len();
        assert_eq!(blocks(&hs), distinct.div_ceil(BLOCK_ROWS));
        let spread: Vec<History> = many
            .iter()
            .enumerate()
            .map(|(i, h)| History {
                t: h.t + (i / hs.len()) as f64 * 1e-3,
                ..*h
            })
            .collect();
        assert_eq!(blocks(&spread), (8 * distinct).div_ceil(BLOCK_ROWS));
        for threads in [1, 2] {
            crate::parallel::testing::stops_at(5, |check| {
                let _ = fit_bgnbd(&spread, 0.0, threads, check);
            });
        }
    }

    #[test]
    fn hypergeometric_known_values() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.9] {
            let exact = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - exact).abs() < 1e-10);
        }
        assert_eq!(hyp2f1(2.0, 3.0, 4.0, 0.0), 1.0);
    }

    #[test]
    fn likelihood_stays_finite_for_heavy_buyers() {
        let m = CDNOW;
        let h = History {
            x: 500.0,
            t_x: 38.0,
            t: 39.0,
        };
        assert!(m.log_likelihood(&h).is_finite());
        assert!(m.p_alive(&h) > 0.0 && m.p_alive(&h) <= 1.0);
        assert!(m.expected_purchases(&h, 10.0).is_finite());
    }

    #[test]
    fn expected_purchases_of_a_new_customer_is_the_limit() {
        // With x = 0 and T = 0 the conditional expectation is the unconditional one.
        let m = CDNOW;
        let h = History {
            x: 0.0,
            t_x: 0.0,
            t: 0.0,
        };
        assert!((m.expected_purchases(&h, 39.0) - m.expected_new(39.0)).abs() < 1e-9);
    }

    #[test]
    fn grouped_likelihood_equals_the_per_customer_one() {
        let hs = [
            History {
                x: 0.0,
                t_x: 0.0,
                t: 30.0,
            },
            History {
                x: 2.0,
                t_x: 10.0,
                t: 38.0,
            },
            History {
                x: 2.0,
                t_x: 12.0,
                t: 38.0,
            },
            History {
                x: 2.0,
                t_x: 10.0,
                t: 38.0,
            },
            History {
                x: 7.0,
                t_x: 35.5,
                t: 36.0,
            },
        ];
        let fit = fit_bgnbd(&hs, 0.0, 2, &mut || {}).unwrap();
        let direct: f64 = hs.iter().map(|h| fit.params.log_likelihood(h)).sum();
        assert!((fit.log_likelihood - direct).abs() < 1e-9 * direct.abs());
    }

    #[test]
    fn recovers_parameters_from_simulated_customers() {
        // Simulate BG/NBD customers with known parameters, fit, compare.
        let truth = BgNbd {
            r: 0.5,
            alpha: 6.0,
            a: 0.8,
            b: 2.5,
        };
        // Drawn from the same parameters as `truth`.
        let (hs, _) = simulated(20_000, 1);
        let fit = fit_bgnbd(&hs, 0.0, 2, &mut || {}).unwrap();
        let p = fit.params;
        for (got, want) in [
            (p.r, truth.r),
            (p.alpha, truth.alpha),
            (p.a, truth.a),
            (p.b, truth.b),
        ] {
            assert!((got / want - 1.0).abs() < 0.15, "{p:?}");
        }
        assert!(fit.converged);
    }

    #[test]
    fn digamma_known_values() {
        // psi(1) = -Euler's gamma, psi(1/2) = -gamma - 2 ln 2, psi(10) from its series.
        for (x, want) in [
            (1.0, -0.5772156649015329),
            (0.5, -1.9635100260214235),
            (10.0, 2.251752589066721),
            (0.01, -100.56088545786867),
        ] {
            assert!(
                (digamma(x) - want).abs() < 1e-12 * want.abs().max(1.0),
                "psi({x})"
            );
        }
    }

    /// Simulated customers of both models (BG/NBD r 0.5, alpha 6, a 0.8, b 2.5 over 30-50 weeks;
    /// Gamma-Gamma p 6, q 4, gamma 15), for the fits in these tests.
    fn simulated(n: usize, seed: u64) -> (Vec<History>, Vec<(f64, f64)>) {
        use rand::{Rng, SeedableRng};
        use rand_distr::{Beta, Distribution, Gamma};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let (lambda, drop) = (
            Gamma::new(0.5, 1.0 / 6.0).unwrap(),
            Beta::new(0.8, 2.5).unwrap(),
        );
        let nu = Gamma::new(4.0, 1.0 / 15.0).unwrap();
        let (mut hs, mut spend) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let (l, p, v): (f64, f64, f64) = (
                lambda.sample(&mut rng),
                drop.sample(&mut rng),
                nu.sample(&mut rng),
            );
            let big_t = 30.0 + rng.gen::<f64>() * 20.0;
            let (mut t, mut x, mut tx) = (0.0, 0.0, 0.0);
            loop {
                t += -rng.gen::<f64>().ln() / l;
                if t > big_t {
                    break;
                }
                x += 1.0;
                tx = t;
                if rng.gen::<f64>() < p {
                    break;
                }
            }
            hs.push(History {
                x,
                t_x: tx,
                t: big_t,
            });
            if x > 0.0 {
                let per = Gamma::new(6.0, 1.0 / v).unwrap();
                let total: f64 = (0..x as usize).map(|_| per.sample(&mut rng)).sum();
                spend.push((x, total / x));
            }
        }
        (hs, spend)
    }

    /// L-BFGS reaches the optimum Nelder-Mead (the optimizer before it) reaches, on both models,
    /// plain and penalized: the same log-likelihood to 1e-9 and parameters to 1e-4.
    #[test]
    fn lbfgs_reaches_nelder_meads_optimum() {
        let (hs, spend) = simulated(5_000, 3);
        for penalizer in [0.0, 0.01] {
            let fit = fit_bgnbd(&hs, penalizer, 2, &mut || {}).unwrap();
            let data = compress(&hs);
            let mut negative = |u: &[f64]| {
                let b = BgNbd {
                    r: u[0].exp(),
                    alpha: u[1].exp(),
                    a: u[2].exp(),
                    b: u[3].exp(),
                };
                -data
                    .iter()
                    .map(|(h, n)| n * b.log_likelihood(h))
                    .sum::<f64>()
                    + penalizer * (b.r.powi(2) + b.alpha.powi(2) + b.a.powi(2) + b.b.powi(2))
            };
            let p = fit.params;
            assert!(fit.converged);
            assert_nelder_mead_agrees(&mut negative, &[p.r, p.alpha, p.a, p.b], penalizer);

            let gg = fit_gamma_gamma(&spend, penalizer, 2, &mut || {}).unwrap();
            let mut negative = |u: &[f64]| {
                let g = GammaGamma {
                    p: u[0].exp(),
                    q: u[1].exp(),
                    gamma: u[2].exp(),
                };
                -spend
                    .iter()
                    .map(|&(x, m)| g.log_likelihood(x, m))
                    .sum::<f64>()
                    + penalizer * (g.p.powi(2) + g.q.powi(2) + g.gamma.powi(2))
            };
            let p = gg.params;
            assert!(gg.converged);
            assert_nelder_mead_agrees(&mut negative, &[p.p, p.q, p.gamma], penalizer);
        }
    }

    /// Nelder-Mead (the optimizer before L-BFGS) on `negative` (over log parameters) from all
    /// parameters 1 reaches the value of `theta` to 1e-9 and its logs to 1e-4.
    fn assert_nelder_mead_agrees(
        negative: &mut dyn FnMut(&[f64]) -> f64,
        theta: &[f64],
        penalizer: f64,
    ) {
        let ours: Vec<f64> = theta.iter().map(|t| t.ln()).collect();
        let nm = nelder_mead(
            &mut |p, _| negative(p),
            &vec![0.0; theta.len()],
            0.5,
            1e-12,
            20_000,
            &mut || {},
        );
        assert!(
            (negative(&ours) - nm.value).abs() < 1e-9 * nm.value.abs(),
            "penalizer {penalizer}: {ours:?} vs {:?}",
            nm.point
        );
        for (o, n) in ours.iter().zip(&nm.point) {
            assert!(
                (o - n).abs() < 1e-4,
                "penalizer {penalizer}: {ours:?} vs {:?}",
                nm.point
            );
        }
    }

    /// `analytic` against central differences of `negative` (over log parameters) at `theta`.
    fn assert_gradient(negative: &dyn Fn(&[f64]) -> f64, theta: &[f64], analytic: &[f64]) {
        let u0: Vec<f64> = theta.iter().map(|t| t.ln()).collect();
        let h = 1e-6;
        for i in 0..u0.len() {
            let (mut up, mut down) = (u0.clone(), u0.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (negative(&up) - negative(&down)) / (2.0 * h);
            assert!(
                (numeric - analytic[i]).abs() < 1e-5 * numeric.abs().max(1.0),
                "{i}: {numeric} vs {analytic:?}"
            );
        }
    }

    /// d(-ln L)/d(ln theta) of BG/NBD from the closed-form gradient.
    fn bgnbd_objective_gradient(hs: &[History], p: &BgNbd) -> Vec<f64> {
        let g = BgNbdData::new(hs).value_and_gradient(p, 2, &mut || {}).1;
        let theta = [p.r, p.alpha, p.a, p.b];
        (0..4).map(|i| -theta[i] * g[i]).collect()
    }

    /// d(-ln L)/d(ln theta) of Gamma-Gamma from the closed-form gradient.
    fn gamma_gamma_objective_gradient(spend: &[(f64, f64)], p: &GammaGamma) -> Vec<f64> {
        let g = GammaGammaData::new(spend.to_vec())
            .value_and_gradient(p, 2, &mut || {})
            .1;
        let theta = [p.p, p.q, p.gamma];
        (0..3).map(|i| -theta[i] * g[i]).collect()
    }

    /// The closed-form gradients against central differences of the likelihoods.
    #[test]
    fn gradients_match_finite_differences() {
        let (hs, spend) = simulated(300, 4);
        let bg = BgNbd {
            r: 0.7,
            alpha: 4.0,
            a: 1.1,
            b: 2.0,
        };
        let gg = GammaGamma {
            p: 5.0,
            q: 3.5,
            gamma: 12.0,
        };
        let negative = |u: &[f64]| {
            let b = BgNbd {
                r: u[0].exp(),
                alpha: u[1].exp(),
                a: u[2].exp(),
                b: u[3].exp(),
            };
            -hs.iter().map(|h| b.log_likelihood(h)).sum::<f64>()
        };
        assert_gradient(
            &negative,
            &[bg.r, bg.alpha, bg.a, bg.b],
            &bgnbd_objective_gradient(&hs, &bg),
        );
        let negative = |u: &[f64]| {
            let g = GammaGamma {
                p: u[0].exp(),
                q: u[1].exp(),
                gamma: u[2].exp(),
            };
            -spend
                .iter()
                .map(|&(x, m)| g.log_likelihood(x, m))
                .sum::<f64>()
        };
        assert_gradient(
            &negative,
            &[gg.p, gg.q, gg.gamma],
            &gamma_gamma_objective_gradient(&spend, &gg),
        );
    }

    /// Days since 1970-01-01 of a "YYYY-MM-DD..." text (the civil-from-days inverse).
    fn day_number(text: &str) -> i64 {
        let (y, m, d): (i64, i64, i64) = (
            text[0..4].parse().unwrap(),
            text[5..7].parse().unwrap(),
            text[8..10].parse().unwrap(),
        );
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }

    /// The Online Retail sample's histories by docs/clv.md (purchases: amount >= 0 with a
    /// customer, at or before midnight of `end`; occasions are days; weeks).
    fn retail_histories(end: &str) -> Vec<History> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let csv = std::fs::read_to_string(format!(
            "{root}/tests/data/online_retail/online_retail_sample.csv"
        ))
        .unwrap();
        let end_day = day_number(end);
        let mut days: std::collections::BTreeMap<&str, std::collections::BTreeSet<i64>> =
            Default::default();
        for line in csv.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (customer, at, amount) = (f[1], f[2], f[3].parse::<f64>().unwrap());
            let day = day_number(at);
            let by_end = day < end_day || (day == end_day && &at[11..] == "00:00:00");
            if !customer.is_empty() && amount >= 0.0 && by_end {
                days.entry(customer).or_default().insert(day);
            }
        }
        days.values()
            .map(|d| {
                let (first, last) = (*d.first().unwrap(), *d.last().unwrap());
                History {
                    x: (d.len() - 1) as f64,
                    t_x: (last - first) as f64 / 7.0,
                    t: (end_day - first) as f64 / 7.0,
                }
            })
            .collect()
    }

    /// On the Online Retail sample, against the lifetimes package (tests/reference/retail_clv.py):
    /// the same log-likelihood, the same purchase rates (r, α), and at the boundary the same
    /// flight of a to 0 and b to infinity; the dropout warning where the fit is no better than the
    /// model without dropout (the reference's own NBD fit), none where it is.
    #[test]
    fn retail_boundary_matches_lifetimes() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let reference =
            std::fs::read_to_string(format!("{root}/tests/reference/retail_clv_lifetimes.csv"))
                .unwrap();
        let (_, spend) = simulated(2_000, 5);
        let gg = fit_gamma_gamma(&spend, 0.0, 2, &mut || {}).unwrap();
        for line in reference.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let v = |i: usize| f[i].parse::<f64>().unwrap();
            let hs = retail_histories(f[0]);
            assert_eq!(hs.len() as f64, v(1), "{}", f[0]);
            assert_eq!(hs.iter().filter(|h| h.x > 0.0).count() as f64, v(2));
            let fit = fit_bgnbd(&hs, 0.0, 2, &mut || {}).unwrap();
            let p = fit.params;
            let (ll, no_dropout) = (v(7), v(8));
            // Both maxima: ours at least as high as lifetimes' (up to 1e-7 per customer).
            assert!(
                fit.log_likelihood > ll - 1e-7 * hs.len() as f64,
                "{}: {fit:?}",
                f[0]
            );
            assert!(
                (fit.log_likelihood - ll).abs() < 1e-4,
                "{}: {fit:?} vs {ll}",
                f[0]
            );
            assert!(
                (fit.no_dropout_log_likelihood - no_dropout).abs() < 1e-6,
                "{fit:?}"
            );
            assert!(
                (p.r / v(3) - 1.0).abs() < 2e-3 && (p.alpha / v(4) - 1.0).abs() < 2e-3,
                "{p:?}"
            );
            let warnings = boundary_warnings(&fit, &gg);
            let gain = ll - no_dropout;
            if gain < DROPOUT_EVIDENCE {
                assert!(
                    warnings[0].starts_with("dropout is not identified"),
                    "{warnings:?}"
                );
            } else {
                assert!(warnings.is_empty(), "{warnings:?}");
                assert!((p.a / v(5) - 1.0).abs() < 0.05 && (p.b / v(6) - 1.0).abs() < 0.05);
            }
            if v(5) < 1e-4 {
                // The boundary itself: both ran off, as lifetimes' did (a 1.1e-6, b 6874).
                assert!(p.a < 1e-4 && p.b > 1e3 && p.a / p.b < 1e-8, "{p:?}");
            }
        }
    }

    /// A fit in the interior (the simulated customers of r 0.5, a 0.8, b 2.5) warns of nothing;
    /// customers who never drop out (everyone alive, buying at their rate through T) put the fit
    /// at the boundary, and the warning says so; a shape parameter out of range is named.
    #[test]
    fn boundary_warnings_by_case() {
        let (hs, spend) = simulated(5_000, 3);
        let (bg, gg) = (
            fit_bgnbd(&hs, 0.0, 2, &mut || {}).unwrap(),
            fit_gamma_gamma(&spend, 0.0, 2, &mut || {}).unwrap(),
        );
        assert!(
            bg.log_likelihood - bg.no_dropout_log_likelihood > 100.0,
            "{bg:?}"
        );
        assert!(boundary_warnings(&bg, &gg).is_empty());
        // Poisson buyers with gamma rates and no dropout, over 52 weeks.
        use rand::{Rng, SeedableRng};
        use rand_distr::{Distribution, Gamma};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(9);
        let lambda = Gamma::new(0.7, 1.0 / 8.0).unwrap();
        let stay: Vec<History> = (0..3_000)
            .map(|_| {
                let l: f64 = lambda.sample(&mut rng);
                let (mut t, mut x, mut tx) = (0.0, 0.0, 0.0);
                loop {
                    t += -rng.gen::<f64>().ln() / l;
                    if t > 52.0 {
                        break;
                    }
                    (x, tx) = (x + 1.0, t);
                }
                History {
                    x,
                    t_x: tx,
                    t: 52.0,
                }
            })
            .collect();
        let fit = fit_bgnbd(&stay, 0.0, 2, &mut || {}).unwrap();
        let warnings = boundary_warnings(&fit, &gg);
        assert!(
            fit.log_likelihood - fit.no_dropout_log_likelihood < DROPOUT_EVIDENCE,
            "{fit:?}"
        );
        assert!(
            warnings[0].starts_with("dropout is not identified: BG/NBD (a = "),
            "{warnings:?}"
        );
        // a and b are folded into that sentence, not repeated.
        assert!(warnings
            .iter()
            .skip(1)
            .all(|w| !w.contains("parameter a ") && !w.contains("parameter b ")));
        let mut two = gg.clone();
        (two.params.p, two.params.q) = (3e-5, 2.5e4);
        assert_eq!(
            boundary_warnings(&bg, &two),
            vec!["parameters p = 3.000e-5, q = 25000 ran off (outside 1e-4..1e4): the likelihood is flat in their directions".to_string()]
        );
        let mut far = gg.clone();
        far.params.q = 2.5e4;
        let w = boundary_warnings(&bg, &far);
        assert_eq!(
            w,
            vec!["parameter q = 25000 ran off (outside 1e-4..1e4): the likelihood is flat in its direction".to_string()]
        );
    }

    /// The no-dropout likelihood's gradient against central differences.
    #[test]
    fn no_dropout_gradient_matches_finite_differences() {
        let (hs, _) = simulated(300, 4);
        let data = BgNbdData::new(&hs);
        let (r, alpha) = (0.7, 4.0);
        let g = data
            .no_dropout_value_and_gradient(r, alpha, 2, &mut || {})
            .1;
        let negative = |u: &[f64]| {
            -data
                .no_dropout_value_and_gradient(u[0].exp(), u[1].exp(), 1, &mut || {})
                .0
        };
        let analytic = [-r * g[0], -alpha * g[1]];
        assert_gradient(&negative, &[r, alpha], &analytic);
        // By hand for one customer: x 2, T 10, r 0.7, alpha 4.
        let one = BgNbdData::new(&[History {
            x: 2.0,
            t_x: 5.0,
            t: 10.0,
        }]);
        let ll = one.no_dropout_value_and_gradient(r, alpha, 1, &mut || {}).0;
        let by_hand = libm::lgamma(2.7) - libm::lgamma(0.7) + 0.7 * 4f64.ln() - 2.7 * 14f64.ln();
        assert!((ll - by_hand).abs() < 1e-12);
    }
}
