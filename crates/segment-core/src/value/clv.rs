//! Customer lifetime value for non-contractual customers: BG/NBD (Fader, Hardie & Lee 2005,
//! "Counting Your Customers the Easy Way") for purchase counts and dropout, Gamma-Gamma (Fader,
//! Hardie & Lee 2005, "RFM and CLV") for spend per purchase; maximum likelihood in log space.
//!
//! The optimizer is our own Nelder-Mead on log parameters: the stack has no optimizer crate,
//! the problems have 3 or 4 parameters, and the likelihoods are smooth; a well-known simplex
//! method with restarts is small and is tested here on Rosenbrock's function.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::params::{Key, Kind};
use serde::{Deserialize, Serialize};

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
pub fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
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
        let v = f(p);
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
            if evaluations % 64 == 0 {
                check();
            }
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

#[derive(Debug, Clone, PartialEq)]
pub struct BgNbdFit {
    pub params: BgNbd,
    /// Total log-likelihood (without the penalty).
    pub log_likelihood: f64,
    pub converged: bool,
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
    let data = compress(histories);
    // The ln Gamma and ln Beta terms depend on x only: computed once per distinct x and
    // evaluation. The sum over histories runs on `threads` in fixed blocks added in order, so
    // the result does not depend on the thread count.
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
    let blocks: Vec<std::ops::Range<usize>> = (0..data.len())
        .step_by(crate::parallel::BLOCK_ROWS)
        .map(|lo| lo..(lo + crate::parallel::BLOCK_ROWS).min(data.len()))
        .collect();
    let total = |params: &BgNbd| -> f64 {
        let BgNbd { r, alpha, a, b } = *params;
        let base = ln_beta(a, b);
        let terms: Vec<(f64, f64, f64)> = xs
            .iter()
            .map(|&x| {
                let common = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
                let stays = ln_beta(a, b + x) - base;
                let dropped = if x > 0.0 {
                    ln_beta(a + 1.0, b + x - 1.0) - base
                } else {
                    f64::NEG_INFINITY
                };
                (common, stays, dropped)
            })
            .collect();
        let mut partial: Vec<(std::ops::Range<usize>, f64)> =
            blocks.iter().map(|b| (b.clone(), 0.0)).collect();
        crate::parallel::for_each(&mut partial, threads, |(range, sum)| {
            for i in range.clone() {
                let (h, n) = &data[i];
                let (common, stays, dropped) = terms[group[i] as usize];
                let s = stays - (r + h.x) * (alpha + h.t).ln();
                let term = if h.x > 0.0 {
                    log_add(s, dropped - (r + h.x) * (alpha + h.t_x).ln())
                } else {
                    s
                };
                *sum += n * (common + term);
            }
        });
        partial.iter().map(|(_, s)| s).sum()
    };
    let mut negative = |p: &[f64]| {
        let params = BgNbd {
            r: p[0].exp(),
            alpha: p[1].exp(),
            a: p[2].exp(),
            b: p[3].exp(),
        };
        -total(&params)
            + penalizer
                * (params.r.powi(2) + params.alpha.powi(2) + params.a.powi(2) + params.b.powi(2))
    };
    let m = nelder_mead(
        &mut negative,
        &[0.0, 0.0, 0.0, 0.0],
        0.5,
        1e-12,
        20_000,
        check,
    );
    let params = BgNbd {
        r: m.point[0].exp(),
        alpha: m.point[1].exp(),
        a: m.point[2].exp(),
        b: m.point[3].exp(),
    };
    Ok(BgNbdFit {
        log_likelihood: total(&params),
        params,
        converged: m.converged,
    })
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
    let mut negative = |p: &[f64]| {
        let params = GammaGamma {
            p: p[0].exp(),
            q: p[1].exp(),
            gamma: p[2].exp(),
        };
        let ll: f64 = data.iter().map(|&(x, m)| params.log_likelihood(x, m)).sum();
        -ll + penalizer * (params.p.powi(2) + params.q.powi(2) + params.gamma.powi(2))
    };
    let m = nelder_mead(&mut negative, &[0.0, 0.0, 0.0], 0.5, 1e-12, 20_000, check);
    let params = GammaGamma {
        p: m.point[0].exp(),
        q: m.point[1].exp(),
        gamma: m.point[2].exp(),
    };
    Ok(GammaGammaFit {
        log_likelihood: data
            .iter()
            .map(|&(x, mean)| params.log_likelihood(x, mean))
            .sum(),
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
        let mut f = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
        let m = nelder_mead(&mut f, &[-1.2, 1.0], 0.5, 1e-15, 10_000, &mut || {});
        assert!(
            (m.point[0] - 1.0).abs() < 1e-4 && (m.point[1] - 1.0).abs() < 1e-4,
            "{m:?}"
        );
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
        use rand::{Rng, SeedableRng};
        use rand_distr::{Beta, Distribution, Gamma};
        let truth = BgNbd {
            r: 0.5,
            alpha: 6.0,
            a: 0.8,
            b: 2.5,
        };
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let lambda_dist = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
        let p_dist = Beta::new(truth.a, truth.b).unwrap();
        let mut hs = Vec::new();
        for _ in 0..20_000 {
            let lambda: f64 = lambda_dist.sample(&mut rng);
            let p: f64 = p_dist.sample(&mut rng);
            let big_t = 30.0 + rng.gen::<f64>() * 20.0;
            let (mut t, mut x, mut tx) = (0.0, 0.0, 0.0);
            loop {
                t += -rng.gen::<f64>().ln() / lambda;
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
        }
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
}
