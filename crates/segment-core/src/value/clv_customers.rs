//! CLV per customer: the calibration summaries built from a customer's purchase occasions
//! (`Summaries`), the two fits over them with their metrics (`fit`), and one customer's scores
//! from a fitted model (`CustomerValue::of`). The shell runs the query that groups the
//! occasions and feeds its rows here; the models themselves are in `value::clv`.

use crate::error::{CoreError, CoreResult};
use crate::value::clv::{self, BgNbd, BgNbdFit, ClvOptions, GammaGamma, GammaGammaFit, History};
use serde::{Deserialize, Serialize};

/// One customer's calibration summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub customer: String,
    pub history: History,
    /// Mean spend per repeat occasion (None without repeats).
    pub repeat_mean: Option<f64>,
}

/// The customer being summed up: first and last occasion, occasions, spend after the first.
struct Open {
    customer: Vec<u8>,
    first: f64,
    last: f64,
    occasions: u64,
    repeat_spend: f64,
}

/// Every customer's calibration summary from their purchase occasions, fed each customer's
/// together and in time order (so that a customer's summary is complete when the next
/// customer's first occasion arrives): x = occasions - 1, t_x = last - first, T =
/// calibration_end - first (in the model's unit), and the mean spend of the repeat occasions.
/// Times are epoch seconds.
pub struct Summaries {
    end: f64,
    /// Seconds per model unit.
    unit: f64,
    open: Option<Open>,
    done: Vec<Summary>,
    name_bytes: usize,
}

impl Summaries {
    /// `end`: the calibration end as epoch seconds (the start of its day).
    pub fn new(end: f64, options: &ClvOptions) -> Summaries {
        Summaries {
            end,
            unit: options.days_per_unit() * 86_400.0,
            open: None,
            done: Vec::new(),
            name_bytes: 0,
        }
    }

    /// One occasion: the customer's key, its time and its spend. True when it starts a new
    /// customer (the caller counts the summaries against its memory limit then).
    pub fn push(&mut self, customer: &[u8], at: f64, spend: f64) -> bool {
        if let Some(open) = self.open.as_mut().filter(|o| o.customer == customer) {
            open.last = at;
            open.occasions += 1;
            open.repeat_spend += spend;
            return false;
        }
        let next = Open {
            customer: customer.to_vec(),
            first: at,
            last: at,
            occasions: 1,
            repeat_spend: 0.0,
        };
        if let Some(done) = self.open.replace(next) {
            let summary = self.close(done);
            self.done.push(summary);
        }
        self.name_bytes += customer.len();
        true
    }

    /// Customers seen so far (the one being summed up included).
    pub fn customers(&self) -> usize {
        self.done.len() + usize::from(self.open.is_some())
    }

    /// Bytes of the customers' keys seen so far.
    pub fn name_bytes(&self) -> usize {
        self.name_bytes
    }

    pub fn finish(mut self) -> Vec<Summary> {
        if let Some(open) = self.open.take() {
            let summary = self.close(open);
            self.done.push(summary);
        }
        self.done
    }

    fn close(&self, o: Open) -> Summary {
        let x = (o.occasions - 1) as f64;
        let t_x = (o.last - o.first) / self.unit;
        Summary {
            customer: String::from_utf8_lossy(&o.customer).into_owned(),
            history: History {
                x,
                t_x,
                // A purchase later in the calibration end's day still counts: T >= t_x.
                t: ((self.end - o.first) / self.unit).max(t_x),
            },
            repeat_mean: (o.occasions > 1).then(|| o.repeat_spend / x),
        }
    }
}

/// Both fits of `segment_clv_fit`.
pub struct ClvFit {
    pub bgnbd: BgNbdFit,
    pub gamma_gamma: GammaGammaFit,
    pub customers: usize,
    pub repeat_customers: usize,
    /// The fit is at the boundary of the parameter space (`clv::boundary_warnings`, joined).
    pub warning: Option<String>,
}

/// The metrics document of a CLV model version (`segment_models.metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClvMetrics {
    pub customers: usize,
    pub repeat_customers: usize,
    pub bgnbd_log_likelihood: f64,
    pub gamma_gamma_log_likelihood: f64,
    pub converged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl ClvFit {
    pub fn converged(&self) -> bool {
        self.bgnbd.converged && self.gamma_gamma.converged
    }

    pub fn metrics(&self) -> ClvMetrics {
        ClvMetrics {
            customers: self.customers,
            repeat_customers: self.repeat_customers,
            bgnbd_log_likelihood: self.bgnbd.log_likelihood,
            gamma_gamma_log_likelihood: self.gamma_gamma.log_likelihood,
            converged: self.converged(),
            warning: self.warning.clone(),
        }
    }
}

/// Fits BG/NBD on every customer's history and Gamma-Gamma on the repeat customers' mean spend.
pub fn fit(
    summaries: &[Summary],
    options: &ClvOptions,
    threads: usize,
    check: &mut dyn FnMut(),
) -> CoreResult<ClvFit> {
    let histories: Vec<History> = summaries.iter().map(|s| s.history).collect();
    let bgnbd = clv::fit_bgnbd(&histories, options.penalizer, threads, check)?;
    let spend: Vec<(f64, f64)> = summaries
        .iter()
        .filter_map(|s| s.repeat_mean.map(|m| (s.history.x, m)))
        .collect();
    let gamma_gamma = clv::fit_gamma_gamma(&spend, options.penalizer, threads, check)?;
    let warnings = clv::boundary_warnings(&bgnbd, &gamma_gamma);
    Ok(ClvFit {
        customers: histories.len(),
        repeat_customers: repeat_customers(summaries),
        warning: (!warnings.is_empty()).then(|| warnings.join("; ")),
        bgnbd,
        gamma_gamma,
    })
}

/// Customers with a repeat purchase.
pub fn repeat_customers(summaries: &[Summary]) -> usize {
    summaries.iter().filter(|s| s.history.x > 0.0).count()
}

/// The largest horizon `segment_clv` takes, in model units.
pub const MAX_HORIZON: f64 = 10_000.0;

/// Checks `segment_clv`'s horizon (0 < horizon <= `MAX_HORIZON` units) and discount rate (> -1).
pub fn check_horizon(horizon: f64, discount_rate: f64) -> CoreResult<()> {
    if !(horizon.is_finite() && horizon > 0.0 && horizon <= MAX_HORIZON) {
        return Err(CoreError::invalid_parameter(format!(
            "horizon must be between 0 and 10000 units, not {horizon}"
        )));
    }
    if !(discount_rate.is_finite() && discount_rate > -1.0) {
        return Err(CoreError::invalid_parameter(format!(
            "discount_rate must be greater than -1, not {discount_rate}"
        )));
    }
    Ok(())
}

/// One customer's scores over a horizon.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerValue {
    pub p_alive: f64,
    pub expected_purchases: f64,
    pub expected_spend: f64,
    pub clv: f64,
}

impl CustomerValue {
    /// The customer's P(alive), expected purchases in the next `horizon` units, expected spend
    /// per purchase, and CLV over the horizon discounted by (1 + discount_rate) per unit.
    pub fn of(
        summary: &Summary,
        bgnbd: &BgNbd,
        gamma_gamma: &GammaGamma,
        horizon: f64,
        discount_rate: f64,
    ) -> CustomerValue {
        let h = &summary.history;
        let expected_spend = gamma_gamma.expected_spend(h.x, summary.repeat_mean.unwrap_or(0.0));
        let (expected_purchases, clv) = bgnbd.value(h, expected_spend, horizon, discount_rate);
        CustomerValue {
            p_alive: bgnbd.p_alive(h),
            expected_purchases,
            expected_spend,
            clv,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: f64 = 86_400.0;

    fn weekly() -> ClvOptions {
        ClvOptions::default()
    }

    #[test]
    fn summaries_by_hand() {
        // End at day 70. Customer a: days 0, 14, 28 spending 5, 10, 20 → x = 2, t_x = 4 weeks,
        // T = 10 weeks, repeat mean 15. Customer b: day 35 once → x = 0, T = 5 weeks, no mean.
        let mut s = Summaries::new(70.0 * DAY, &weekly());
        assert!(s.push(b"a", 0.0, 5.0));
        assert!(!s.push(b"a", 14.0 * DAY, 10.0));
        assert!(!s.push(b"a", 28.0 * DAY, 20.0));
        assert_eq!(s.customers(), 1);
        assert!(s.push(b"bb", 35.0 * DAY, 7.0));
        assert_eq!((s.customers(), s.name_bytes()), (2, 3));
        let out = s.finish();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].customer, "a");
        assert_eq!(
            out[0].history,
            History {
                x: 2.0,
                t_x: 4.0,
                t: 10.0
            }
        );
        assert_eq!(out[0].repeat_mean, Some(15.0));
        assert_eq!(
            out[1].history,
            History {
                x: 0.0,
                t_x: 0.0,
                t: 5.0
            }
        );
        assert_eq!(out[1].repeat_mean, None);
        assert_eq!(repeat_customers(&out), 1);
    }

    #[test]
    fn a_purchase_later_on_the_last_day_keeps_t_at_least_t_x() {
        // The end is the start of its day; a purchase at noon that day is still in.
        let mut s = Summaries::new(7.0 * DAY, &weekly());
        s.push(b"a", 0.0, 1.0);
        s.push(b"a", 7.5 * DAY, 1.0);
        let h = s.finish()[0].history;
        assert!(h.t >= h.t_x && (h.t_x - 7.5 / 7.0).abs() < 1e-12, "{h:?}");
    }

    #[test]
    fn horizon_and_discount_are_checked() {
        assert!(check_horizon(52.0, 0.0).is_ok());
        for (h, d) in [
            (0.0, 0.0),
            (10_001.0, 0.0),
            (f64::NAN, 0.0),
            (1.0, -1.0),
            (1.0, f64::INFINITY),
        ] {
            let e = check_horizon(h, d).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::InvalidParameter, "{h} {d}");
        }
    }

    #[test]
    fn metrics_round_trip_and_refuse_unknown_keys() {
        let m = ClvMetrics {
            customers: 3,
            repeat_customers: 1,
            bgnbd_log_likelihood: -1.5,
            gamma_gamma_log_likelihood: -2.5,
            converged: true,
            warning: None,
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(!text.contains("warning"), "{text}");
        assert_eq!(serde_json::from_str::<ClvMetrics>(&text).unwrap(), m);
        let extra = text.replace('}', ",\"extra\":1}");
        assert!(serde_json::from_str::<ClvMetrics>(&extra).is_err());
    }

    #[test]
    fn a_customer_without_repeats_is_valued_at_the_population_mean_spend() {
        let bg = BgNbd {
            r: 0.24,
            alpha: 4.41,
            a: 0.79,
            b: 2.43,
        };
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let once = Summary {
            customer: "c".into(),
            history: History {
                x: 0.0,
                t_x: 0.0,
                t: 30.0,
            },
            repeat_mean: None,
        };
        let v = CustomerValue::of(&once, &bg, &gg, 52.0, 0.0);
        // Gamma-Gamma's population mean spend: p * gamma / (q - 1).
        assert!(
            (v.expected_spend - 6.25 * 15.44 / 2.74).abs() < 1e-9,
            "{v:?}"
        );
        assert!((v.clv - v.expected_spend * v.expected_purchases).abs() < 1e-9);
        assert!((0.0..=1.0).contains(&v.p_alive));
    }
}
