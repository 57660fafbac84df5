//! Customer lifetime value in SQL: `segment_clv_fit` (BG/NBD + Gamma-Gamma by maximum
//! likelihood, stored as a model) and `segment_clv` (per customer: P(alive), expected purchases
//! and spend, CLV).

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, raise_core, require, OrRaise};
use crate::progress::interrupt;
use crate::query_rows;
use crate::search_path::{pinned, with_setting};
use crate::source::{check_transaction_columns, text_bytes};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::model::budget;
use segment_core::model::stored::{is_iso_utc, ClvModel, StoredDocument};
use segment_core::value::clv::{self, ClvOptions};
use segment_core::value::clv_customers::{
    self, repeat_customers, CustomerValue, Summaries, Summary,
};
use std::ffi::CString;

/// Every customer's calibration summary (`value::clv_customers::Summaries`), in the order of the
/// customer column: the server groups the occasions (calendar days or distinct times) with a
/// purchase (amount >= 0) up to calibration_end, and the core sums each customer's up.
fn summaries(
    relation: &str,
    customer: &str,
    time: &str,
    amount: &str,
    calibration_end: TimestampWithTimeZone,
    options: &ClvOptions,
    fitting: bool,
) -> Vec<Summary> {
    // The summaries grow with the customers: counted against max_memory_mb as each is added
    // (with a fit's further data when fitting), so the list stops at the limit.
    let limit = crate::gucs::max_memory_bytes();
    let mut over = false;
    let (c, t, a) = (
        quote_identifier(customer),
        quote_identifier(time),
        quote_identifier(amount),
    );
    let occasion = match options.occasion.as_str() {
        "day" => format!("{t}::date::timestamp"),
        _ => format!("{t}::timestamp"),
    };
    // The occasions, each customer's together and in time order, so that a customer's summary is
    // complete when the next customer's first row arrives: one grouping (parallel where the
    // planner chooses it) and one sort, where a window function and a second grouping over the
    // occasions took two thirds of a fit on 1M customers. (The ORDER BY names the subquery's
    // columns: the output's `customer` is the text, whose order would cost a sort of its own.)
    // Amounts are summed as float8, as they are used: numeric sums took a fifth of that query.
    // date_part gives the epoch as float8 (extract's numeric went through text to float8).
    let query = format!(
        "SELECT o.customer::text, date_part('epoch', o.at), o.spend
         FROM (SELECT {c} AS customer, {occasion} AS at, sum({a}::float8) AS spend
               FROM {relation}
               WHERE {c} IS NOT NULL AND {t} IS NOT NULL AND {a} >= 0 AND {t} <= $1
               GROUP BY 1, 2) o
         ORDER BY o.customer, o.at"
    );
    let end = pinned(|| {
        Spi::get_one_with_args::<f64>(
            "SELECT date_part('epoch', ($1::timestamptz)::date::timestamp)",
            &[DatumWithOid::from(calibration_end)],
        )
    })
    .ok()
    .flatten()
    .expect("a timestamptz has an epoch");
    let mut out = Summaries::new(end, options);
    let needed = |s: &Summaries| {
        let n = s.customers();
        if fitting {
            budget::clv_fit_bytes(n, n, s.name_bytes())
        } else {
            budget::clv_summaries(n, s.name_bytes())
        }
    };
    pinned(|| {
        Spi::connect(|_| {
            let params = [DatumWithOid::from(calibration_end)];
            query_rows::for_each(&query, &params, query_rows::Plan::Parallel, |row| {
                let (Some(customer), Some(at), Some(spend)) =
                    (row.datum(0), row.datum(1), row.datum(2))
                else {
                    return true; // not produced by the query (its WHERE leaves no NULL)
                };
                // SAFETY: column 0 is text, 1 and 2 float8 (by value on 64-bit builds).
                let customer = unsafe { text_bytes(customer, pg_sys::TEXTOID) };
                let (at, spend) = (
                    f64::from_bits(at.value() as u64),
                    f64::from_bits(spend.value() as u64),
                );
                if out.push(customer, at, spend) && needed(&out) > limit {
                    over = true;
                    return false;
                }
                true
            })
        })
    });
    if over {
        let (n, name_bytes) = (out.customers(), out.name_bytes());
        let estimate = if fitting {
            budget::clv_fit(n, n, name_bytes)
        } else {
            budget::clv_scores(n, name_bytes)
        };
        estimate.check(limit).or_raise();
    }
    out.finish()
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
        name!(warning, Option<String>),
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
    let data = summaries(
        &relation,
        customer,
        time,
        amount,
        calibration_end,
        &options,
        true,
    );
    // Once more with the repeat customers counted, before the fits take their data.
    let id_bytes: usize = data.iter().map(|s| s.customer.len()).sum();
    budget::clv_fit(data.len(), repeat_customers(&data), id_bytes)
        .check(crate::gucs::max_memory_bytes())
        .or_raise();
    let fit = clv_customers::fit(&data, &options, crate::gucs::threads(), &mut interrupt)
        .unwrap_or_else(|e| raise_core(e));
    // Stored as an instant in ISO 8601 UTC (to_char reads no DateStyle), with the session's
    // TimeZone, in which the source's dates were cut into days: a later read under other
    // settings, or after a restore elsewhere, counts the same days.
    let (calibration_text, time_zone) = pinned(|| {
        Spi::get_two_with_args::<String, String>(
            "SELECT pg_catalog.to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
                    pg_catalog.current_setting('TimeZone')",
            &[DatumWithOid::from(calibration_end)],
        )
    })
    .ok()
    .and_then(|(end, zone)| Some((end?, zone?)))
    .filter(|(end, _)| is_iso_utc(end))
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "calibration_end must be a time between the years 1 and 9999",
            None,
        )
    });
    let model = ClvModel::new(
        relation.clone(),
        customer.into(),
        time.into(),
        amount.into(),
        calibration_text,
        time_zone,
        options.clone(),
        fit.bgnbd.params,
        fit.gamma_gamma.params,
    );
    // A fit at the boundary (dropout not identified, parameters that ran off): said in the
    // result, the metrics and a WARNING.
    if let Some(w) = &fit.warning {
        crate::warnings::warn(
            "segment_clv_fit",
            format!("CLV model \"{name}\": {w}"),
            clv::BOUNDARY_HINT,
        );
    }
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &relation,
        options: serde_json::to_string(&options).expect("options serialize"),
        model: serde_json::to_string(&model).expect("model serializes"),
        metrics: serde_json::to_string(&fit.metrics()).expect("metrics serialize"),
        rows_used: fit.customers as i64,
        rows_skipped: 0,
        meaning: model.meaning(),
        replace: options.replace,
        made_by: catalog::MadeBy::Fit,
    });
    let (bg, gg) = (&fit.bgnbd, &fit.gamma_gamma);
    TableIterator::once((
        name,
        version,
        fit.customers as i64,
        fit.repeat_customers as i64,
        bg.params.r,
        bg.params.alpha,
        bg.params.a,
        bg.params.b,
        bg.log_likelihood,
        gg.params.p,
        gg.params.q,
        gg.params.gamma,
        gg.log_likelihood,
        fit.converged(),
        fit.warning.clone(),
    ))
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
    clv_customers::check_horizon(horizon, discount).or_raise();
    let m = match catalog::load_stored(name) {
        StoredDocument::Clv(m) => m,
        _ => raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is not a CLV model"),
            Some("Fit one with segment_clv_fit."),
        ),
    };
    // Everything in the document is untrusted (any role may write its own catalog rows): the
    // relation is looked up through the catalog (never pasted as SQL), the columns checked on
    // it and quoted, the instant parsed from its checked ISO form.
    let rel = crate::stored_relation::open(name, "source", &m.source, false);
    check_transaction_columns(&rel, &m.customer_column, &m.time_column, &m.amount_column);
    let relation = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
    let calibration_end = pinned(|| {
        Spi::get_one_with_args::<TimestampWithTimeZone>(
            "SELECT $1::pg_catalog.timestamptz",
            &[DatumWithOid::from(m.calibration_end.as_str())],
        )
    })
    .ok()
    .flatten()
    .expect("an ISO 8601 UTC time reads as timestamptz");
    let zone = CString::new(m.time_zone.as_str()).expect("a checked time zone has no NUL");
    let data = with_setting(c"TimeZone", &zone, || {
        summaries(
            &relation,
            &m.customer_column,
            &m.time_column,
            &m.amount_column,
            calibration_end,
            &m.options,
            false,
        )
    });
    let (bg, gg) = (m.bgnbd, m.gamma_gamma);
    TableIterator::new(data.into_iter().map(move |s| {
        let v = CustomerValue::of(&s, &bg, &gg, horizon, discount);
        let h = s.history;
        (
            s.customer,
            h.x,
            h.t_x,
            h.t,
            v.p_alive,
            v.expected_purchases,
            v.expected_spend,
            v.clv,
        )
    }))
}
