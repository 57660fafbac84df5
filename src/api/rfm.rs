//! `segment_rfm`: per-customer recency, frequency and monetary value from a transactions table.
//!
//! The server does the work: `segment_rfm` (plpgsql, below) runs the query that
//! `segment_rfm_queries` checks the arguments for and the core writes (`sql::rfm::query`) from
//! catalog-checked, quoted identifiers (`as_of` is a parameter): one `GROUP BY customer` over the
//! transactions (sorted by customer, since count(DISTINCT day) needs it, spilling to disk beyond
//! work_mem), which also counts what is left out (under the NULL customer, for the NOTICE that
//! `segment_rfm_left_out` raises before the first row), then each score's breaks from
//! the distinct values (see `sql::rfm::score_breaks_sql`), found per customer by `width_bucket`, and
//! the segment name from a constant array, streamed into the function's result (a tuplestore that
//! also spills beyond work_mem). Nothing is held here. An earlier version read the aggregated rows
//! into Rust and scored them there: 338 MB at 1M customers, growing with them.

use crate::errors::{require, OrRaise};
use crate::source::check_transaction_columns;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::{JsonB, PgRelation};
use segment_core::sql::rfm as rfm_sql;
use segment_core::value::rfm::{self, RfmOptions};

/// The query `segment_rfm` runs (an array of one, the signature of 0.1.0, when there were two),
/// taking `as_of` as $1. Validates every argument first.
#[pg_extern(stable, parallel_safe)]
fn segment_rfm_queries(
    transactions: Option<PgRelation>,
    customer_column: Option<&str>,
    time_column: Option<&str>,
    amount_column: Option<&str>,
    bins: Option<i32>,
    options: Option<JsonB>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Vec<String> {
    let rel = require(transactions, "transactions");
    let customer = require(customer_column, "customer_column");
    let time = require(time_column, "time_column");
    let amount = require(amount_column, "amount_column");
    let bins = rfm::check_bins(require(bins, "bins")).or_raise();
    let options = RfmOptions::from_json(&require(options, "options").0.to_string()).or_raise();
    check_transaction_columns(&rel, customer, time, amount);
    let relation = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
    let (customer, time, amount) = (
        quote_identifier(customer),
        quote_identifier(time),
        quote_identifier(amount),
    );
    let transactions = rfm_sql::Transactions {
        relation: &relation,
        customer: &customer,
        time: &time,
        amount: &amount,
    };
    // segment_rfm_left_out is in this function's schema (the query runs with segment_rfm's
    // search_path, pg_catalog and pg_temp).
    // SAFETY: fcinfo is this call's, its flinfo set by the executor; the name is palloc'd.
    let schema = unsafe {
        let name =
            pg_sys::get_namespace_name(pg_sys::get_func_namespace((*(*fcinfo).flinfo).fn_oid));
        assert!(!name.is_null(), "the schema of segment_rfm_queries");
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    };
    let left_out = format!("{}.segment_rfm_left_out", quote_identifier(schema));
    vec![rfm_sql::query(
        &transactions,
        bins,
        options.returns,
        &left_out,
    )]
}

/// `segment_rfm`'s NOTICE of what its query left out: transactions with a NULL customer, time or
/// amount (`incomplete`), and those after as_of (`late`), when there are any. Called once by the
/// query, before its first row (also when it has none); true, so that the query goes on.
#[pg_extern(volatile, parallel_restricted)]
fn segment_rfm_left_out(incomplete: i64, late: i64) -> bool {
    if incomplete + late > 0 {
        pgrx::notice!(
            "segment_rfm: left out {incomplete} transactions with a NULL customer, time or amount, and {late} after as_of"
        );
    }
    true
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_rfm(
    transactions regclass, customer_column text, time_column text, amount_column text,
    as_of timestamptz DEFAULT now(), bins int DEFAULT 5, options jsonb DEFAULT '{}')
RETURNS TABLE(customer text, recency_days int, frequency bigint, monetary_total float8,
              monetary_average float8, tenure_days int, first_purchase date, last_purchase date,
              r_score int, f_score int, m_score int, rfm_segment text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    -- One query: its rows, after the NOTICE of what it left out (segment_rfm_left_out), from one
    -- scan of the transactions.
    queries text[];
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'argument as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    queries := @extschema@.segment_rfm_queries(transactions, customer_column, time_column,
                                               amount_column, bins, options);
    RETURN QUERY EXECUTE queries[1] USING as_of;
END
$body$;
COMMENT ON FUNCTION segment_rfm(regclass, text, text, text, timestamptz, int, jsonb) IS
    'recency, frequency, monetary value, quantile scores and RFM segment of every customer in a transactions table';
"#,
    name = "segment_rfm_sql",
    requires = [segment_rfm_queries, segment_rfm_left_out]
);
