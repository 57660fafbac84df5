//! `segment_rfm`: per-customer recency, frequency and monetary value from a transactions table.
//!
//! The transactions are aggregated by the server in one `GROUP BY` query (identifiers from the
//! catalog, quoted; values as parameters): PostgreSQL streams the table and spills its hash
//! aggregate to disk beyond work_mem, so the transactions are never held here. What is held is
//! one row per customer (the scores are quantiles over all customers): about 100 bytes each plus
//! the key's text.

use super::errors::{raise, require, OrRaise};
use super::source::{type_name, NUMERIC_TYPES};
use crate::core::rfm::{self, Returns, RfmOptions};
use pgrx::datum::{DatumWithOid, TimestampWithTimeZone};
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};

/// Customers fetched per cursor round trip.
const FETCH_ROWS: i64 = 10_000;

const TIME_TYPES: [pg_sys::Oid; 3] = [
    pg_sys::DATEOID,
    pg_sys::TIMESTAMPOID,
    pg_sys::TIMESTAMPTZOID,
];

/// Checks that `column` exists in `rel` and returns its type.
fn column_type(rel: &PgRelation, column: &str, role: &str) -> pg_sys::Oid {
    let tupdesc = rel.tuple_desc();
    let found = tupdesc
        .iter()
        .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == column)
        .map(|a| a.atttypid);
    found.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!(
                "{role} column \"{column}\" of relation \"{}\" does not exist",
                rel.name()
            ),
            Some("Column names are case sensitive; check them with \\d in psql."),
        )
    })
}

/// Recency, frequency and monetary value of every customer in a transactions table, as of a
/// moment, with quantile scores 1..bins and the usual RFM segment names. See the README
/// ("RFM") for every definition.
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_rfm(
    transactions: Option<PgRelation>,
    customer_column: Option<&str>,
    time_column: Option<&str>,
    amount_column: Option<&str>,
    as_of: default!(Option<TimestampWithTimeZone>, "now()"),
    bins: default!(Option<i32>, 5),
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(customer, String),
        name!(recency_days, i32),
        name!(frequency, i64),
        name!(monetary_total, f64),
        name!(monetary_average, f64),
        name!(tenure_days, i32),
        name!(first_purchase, pgrx::datum::Date),
        name!(last_purchase, pgrx::datum::Date),
        name!(r_score, i32),
        name!(f_score, i32),
        name!(m_score, i32),
        name!(rfm_segment, String),
    ),
> {
    let rel = require(transactions, "transactions");
    let customer = require(customer_column, "customer_column");
    let time = require(time_column, "time_column");
    let amount = require(amount_column, "amount_column");
    let as_of = require(as_of, "as_of");
    let bins = rfm::check_bins(require(bins, "bins")).or_raise();
    let options = RfmOptions::from_json(&require(options, "options").0.to_string()).or_raise();
    column_type(&rel, customer, "customer");
    let time_type = column_type(&rel, time, "time");
    if !TIME_TYPES.contains(&time_type) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!("time column \"{time}\" has type {}", type_name(time_type)),
            Some("The time column is a date, timestamp or timestamp with time zone."),
        );
    }
    let amount_type = column_type(&rel, amount, "amount");
    if !NUMERIC_TYPES.contains(&amount_type) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "amount column \"{amount}\" has type {}",
                type_name(amount_type)
            ),
            Some("The amount column is a number (numeric, integer or float)."),
        );
    }
    let relation = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
    let (c, t, a) = (
        quote_identifier(customer),
        quote_identifier(time),
        quote_identifier(amount),
    );
    // A purchase is a transaction with amount >= 0; a return has amount < 0. Days are calendar
    // days of the time column (in the session's time zone for timestamptz). The NULL-key group
    // and the FILTERs count what is left out, in the same scan.
    let spent = match options.returns {
        Returns::Net => "",
        Returns::Ignore => " AND amount >= 0",
    };
    let query = format!(
        "WITH tx AS (
             SELECT {c}::text AS customer, {t}::date AS day, {a} AS amount,
                    {t} IS NULL OR {a} IS NULL AS incomplete, {t} > $1 AS late
             FROM {relation})
         SELECT customer,
                count(*) FILTER (WHERE customer IS NULL OR incomplete),
                count(*) FILTER (WHERE customer IS NOT NULL AND NOT incomplete AND late),
                count(DISTINCT day) FILTER (WHERE NOT incomplete AND NOT late AND amount >= 0),
                coalesce(sum(amount) FILTER (WHERE NOT incomplete AND NOT late{spent}), 0)::float8,
                min(day) FILTER (WHERE NOT incomplete AND NOT late AND amount >= 0),
                max(day) FILTER (WHERE NOT incomplete AND NOT late AND amount >= 0),
                ($1::timestamptz)::date - max(day) FILTER (WHERE NOT incomplete AND NOT late AND amount >= 0),
                ($1::timestamptz)::date - min(day) FILTER (WHERE NOT incomplete AND NOT late AND amount >= 0)
         FROM tx GROUP BY customer"
    );
    struct Customer {
        key: String,
        frequency: i64,
        monetary: f64,
        first: pgrx::datum::Date,
        last: pgrx::datum::Date,
        recency: i32,
        tenure: i32,
    }
    let mut customers: Vec<Customer> = Vec::new();
    let (mut skipped, mut late, mut only_returns) = (0i64, 0i64, 0i64);
    Spi::connect(|client| {
        let mut cursor = client.open_cursor(query.as_str(), &[DatumWithOid::from(as_of)]);
        loop {
            pgrx::check_for_interrupts!();
            let batch = cursor.fetch(FETCH_ROWS).unwrap_or_else(|e| {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("aggregating the transactions failed: {e}"),
                    None,
                )
            });
            if batch.is_empty() {
                break;
            }
            for row in batch {
                let key = row.get::<String>(1).ok().flatten();
                skipped += row.get::<i64>(2).ok().flatten().unwrap_or(0);
                late += row.get::<i64>(3).ok().flatten().unwrap_or(0);
                let Some(key) = key else { continue };
                let frequency = row.get::<i64>(4).ok().flatten().unwrap_or(0);
                let (Some(first), Some(last), Some(recency), Some(tenure)) = (
                    row.get::<pgrx::datum::Date>(6).ok().flatten(),
                    row.get::<pgrx::datum::Date>(7).ok().flatten(),
                    row.get::<i32>(8).ok().flatten(),
                    row.get::<i32>(9).ok().flatten(),
                ) else {
                    // Only returns up to as_of (transactions after it are counted above).
                    if frequency == 0 {
                        only_returns += 1;
                    }
                    continue;
                };
                customers.push(Customer {
                    key,
                    frequency,
                    monetary: row.get::<f64>(5).ok().flatten().unwrap_or(0.0),
                    recency,
                    tenure,
                    first,
                    last,
                });
            }
        }
    });
    if skipped + late + only_returns > 0 {
        pgrx::notice!(
            "segment_rfm: left out {skipped} transactions with a NULL customer, time or amount, \
             {late} after as_of, and {only_returns} customers without a purchase up to as_of"
        );
    }
    let recency: Vec<f64> = customers.iter().map(|c| c.recency as f64).collect();
    let frequency: Vec<f64> = customers.iter().map(|c| c.frequency as f64).collect();
    let monetary: Vec<f64> = customers.iter().map(|c| c.monetary).collect();
    let r = rfm::scores(&recency, bins, false);
    let f = rfm::scores(&frequency, bins, true);
    let m = rfm::scores(&monetary, bins, true);
    let rows: Vec<_> = customers
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let name = rfm::segment(rfm::on_five(r[i], bins), rfm::on_five(f[i], bins));
            (
                c.key,
                c.recency,
                c.frequency,
                c.monetary,
                c.monetary / c.frequency as f64,
                c.tenure,
                c.first,
                c.last,
                r[i] as i32,
                f[i] as i32,
                m[i] as i32,
                name.to_string(),
            )
        })
        .collect();
    TableIterator::new(rows)
}
