//! Customer lifetime value in SQL: `segment_clv_fit` (BG/NBD + Gamma-Gamma by maximum
//! likelihood, stored as a model) and `segment_clv` (per customer: P(alive), expected purchases
//! and spend, CLV).

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, require, OrRaise};
use crate::progress::interrupt;
use crate::search_path::pinned;
use crate::source::check_transaction_columns;
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::error::CoreError;
use segment_core::model::stored::{ClvModel, StoredDocument};
use segment_core::value::clv::{self, ClvOptions, History};

struct Summary {
    customer: String,
    history: History,
    /// Mean spend per repeat occasion (None without repeats).
    repeat_mean: Option<f64>,
}

/// Every customer's calibration summary, aggregated by the server: occasions (calendar days or
/// distinct times) with a purchase (amount >= 0) up to calibration_end; x = occasions - 1,
/// t_x = last - first, T = calibration_end - first (in units), and the mean spend of the
/// repeat occasions (each occasion's amounts summed).
fn summaries(
    relation: &str,
    customer: &str,
    time: &str,
    amount: &str,
    calibration_end: TimestampWithTimeZone,
    options: &ClvOptions,
) -> Vec<Summary> {
    let (c, t, a) = (
        quote_identifier(customer),
        quote_identifier(time),
        quote_identifier(amount),
    );
    let occasion = match options.occasion.as_str() {
        "day" => format!("{t}::date::timestamp"),
        _ => format!("{t}::timestamp"),
    };
    let query = format!(
        "WITH occasions AS (
             SELECT {c} AS customer, {occasion} AS at, sum({a}) AS spend
             FROM {relation}
             WHERE {c} IS NOT NULL AND {t} IS NOT NULL AND {a} >= 0 AND {t} <= $1
             GROUP BY 1, 2),
         marked AS (SELECT *, min(at) OVER (PARTITION BY customer) AS first FROM occasions)
         SELECT customer::text, count(*) - 1,
                extract(epoch FROM max(at) - first) / 86400.0,
                extract(epoch FROM ($1::timestamptz)::date::timestamp - first) / 86400.0,
                (avg(spend) FILTER (WHERE at > first))::float8
         FROM marked GROUP BY customer, first"
    );
    let unit = options.days_per_unit();
    let mut out = Vec::new();
    pinned(|| {
        Spi::connect(|client| {
            let mut cursor =
                client.open_cursor(query.as_str(), &[DatumWithOid::from(calibration_end)]);
            loop {
                pgrx::check_for_interrupts!();
                let batch = cursor.fetch(10_000).unwrap_or_else(|e| {
                    raise(
                        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                        format!("reading the transactions failed: {e}"),
                        None,
                    )
                });
                if batch.is_empty() {
                    break;
                }
                for row in batch {
                    let get_f = |i: usize| -> f64 {
                        row.get::<pgrx::AnyNumeric>(i)
                            .ok()
                            .flatten()
                            .and_then(|n| f64::try_from(n).ok())
                            .unwrap_or(0.0)
                    };
                    let customer = row.get::<String>(1).ok().flatten().unwrap_or_default();
                    let x = row.get::<i64>(2).ok().flatten().unwrap_or(0) as f64;
                    out.push(Summary {
                        customer,
                        history: History {
                            x,
                            t_x: get_f(3) / unit,
                            // A purchase later in the calibration end's day still counts: T >= t_x.
                            t: (get_f(4) / unit).max(get_f(3) / unit),
                        },
                        repeat_mean: row.get::<f64>(5).ok().flatten(),
                    });
                }
            }
        })
    });
    out
}

/// Fits BG/NBD (purchase counts and dropout) and Gamma-Gamma (spend per purchase) on the
/// transactions up to `calibration_end`, by maximum likelihood, and stores them as a model.
#[allow(clippy::type_complexity)]
#[pg_extern(volatile, parallel_unsafe)]
fn segment_clv_fit(
    transactions: Option<PgRelation>,
    customer_column: Option<&str>,
    time_column: Option<&str>,
    amount_column: Option<&str>,
    calibration_end: Option<TimestampWithTimeZone>,
    name: default!(Option<String>, "NULL"),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(model, String),
        name!(version, i32),
        name!(customers, i64),
        name!(repeat_customers, i64),
        name!(r, f64),
        name!(alpha, f64),
        name!(a, f64),
        name!(b, f64),
        name!(bgnbd_log_likelihood, f64),
        name!(p, f64),
        name!(q, f64),
        name!(gamma, f64),
        name!(gamma_gamma_log_likelihood, f64),
        name!(converged, bool),
    ),
> {
    let rel = require(transactions, "transactions");
    let customer = require(customer_column, "customer_column");
    let time = require(time_column, "time_column");
    let amount = require(amount_column, "amount_column");
    let calibration_end = require(calibration_end, "calibration_end");
    let options = ClvOptions::from_value(&require(options, "options").0).or_raise();
    check_transaction_columns(&rel, customer, time, amount);
    let name = name.unwrap_or_else(|| format!("{}_clv", rel.name()));
    catalog::check_fit_name(&name);
    let relation = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
    let data = summaries(&relation, customer, time, amount, calibration_end, &options);
    let histories: Vec<History> = data.iter().map(|s| s.history).collect();
    let bg = clv::fit_bgnbd(
        &histories,
        options.penalizer,
        crate::gucs::threads(),
        &mut interrupt,
    )
    .unwrap_or_else(|e| raise_fit(e));
    let spend: Vec<(f64, f64)> = data
        .iter()
        .filter_map(|s| s.repeat_mean.map(|m| (s.history.x, m)))
        .collect();
    let gg = clv::fit_gamma_gamma(
        &spend,
        options.penalizer,
        crate::gucs::threads(),
        &mut interrupt,
    )
    .unwrap_or_else(|e| raise_fit(e));
    let calibration_text =
        Spi::get_one_with_args::<String>("SELECT $1::text", &[DatumWithOid::from(calibration_end)])
            .ok()
            .flatten()
            .unwrap_or_default();
    let model = ClvModel::new(
        relation.clone(),
        customer.into(),
        time.into(),
        amount.into(),
        calibration_text,
        options.clone(),
        bg.params,
        gg.params,
    );
    let repeat = histories.iter().filter(|h| h.x > 0.0).count();
    let metrics = serde_json::json!({
        "customers": histories.len(),
        "repeat_customers": repeat,
        "bgnbd_log_likelihood": bg.log_likelihood,
        "gamma_gamma_log_likelihood": gg.log_likelihood,
        "converged": bg.converged && gg.converged,
    });
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &relation,
        options: serde_json::to_string(&options).expect("options serialize"),
        model: serde_json::to_string(&model).expect("model serializes"),
        metrics: metrics.to_string(),
        rows_used: histories.len() as i64,
        rows_skipped: 0,
        meaning: model.meaning(),
        replace: options.replace,
        made_by: catalog::MadeBy::Fit,
    });
    TableIterator::once((
        name,
        version,
        histories.len() as i64,
        repeat as i64,
        bg.params.r,
        bg.params.alpha,
        bg.params.a,
        bg.params.b,
        bg.log_likelihood,
        gg.params.p,
        gg.params.q,
        gg.params.gamma,
        gg.log_likelihood,
        bg.converged && gg.converged,
    ))
}

fn raise_fit(e: CoreError) -> ! {
    crate::errors::raise_core(e)
}

/// Per customer of a CLV model's source, from their history up to its calibration_end:
/// repeat purchases x, t_x and T (in the model's unit), P(alive), the expected purchases in the
/// next `horizon` units, the expected spend per purchase, and the CLV over the horizon:
/// expected spend x the expected purchases of each unit, discounted by (1 + discount_rate) per
/// unit. Rows come in no particular order.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_clv(
    model: Option<&str>,
    horizon: default!(Option<f64>, 52.0),
    discount_rate: default!(Option<f64>, 0.0),
) -> TableIterator<
    'static,
    (
        name!(customer, String),
        name!(x, f64),
        name!(t_x, f64),
        name!(t, f64),
        name!(p_alive, f64),
        name!(expected_purchases, f64),
        name!(expected_spend, f64),
        name!(clv, f64),
    ),
> {
    let name = require(model, "model");
    let horizon = require(horizon, "horizon");
    let discount = require(discount_rate, "discount_rate");
    if !(horizon.is_finite() && horizon > 0.0 && horizon <= 10_000.0) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("horizon must be between 0 and 10000 units, not {horizon}"),
            None,
        );
    }
    if !(discount.is_finite() && discount > -1.0) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("discount_rate must be greater than -1, not {discount}"),
            None,
        );
    }
    let m = match catalog::load_stored(name) {
        StoredDocument::Clv(m) => m,
        _ => raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is not a CLV model"),
            Some("Fit one with segment_clv_fit."),
        ),
    };
    let calibration_end = Spi::get_one_with_args::<TimestampWithTimeZone>(
        "SELECT $1::timestamptz",
        &[DatumWithOid::from(m.calibration_end.as_str())],
    )
    .ok()
    .flatten()
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            "bad calibration_end",
            None,
        )
    });
    let data = summaries(
        &m.source,
        &m.customer_column,
        &m.time_column,
        &m.amount_column,
        calibration_end,
        &m.options,
    );
    let (bg, gg) = (m.bgnbd, m.gamma_gamma);
    TableIterator::new(data.into_iter().map(move |s| {
        let h = s.history;
        let spend = gg.expected_spend(h.x, s.repeat_mean.unwrap_or(0.0));
        let (expected, clv) = bg.value(&h, spend, horizon, discount);
        (
            s.customer,
            h.x,
            h.t_x,
            h.t,
            bg.p_alive(&h),
            expected,
            spend,
            clv,
        )
    }))
}
