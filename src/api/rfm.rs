//! `segment_rfm`: per-customer recency, frequency and monetary value from a transactions table.
//!
//! The server does the work: `segment_rfm` (plpgsql, below) runs the queries that
//! `segment_rfm_queries` checks the arguments for and the core writes (`sql::rfm::queries`) from
//! catalog-checked, quoted identifiers (`as_of` is a parameter): one `GROUP BY customer` over the transactions (sorted by customer, since
//! count(DISTINCT day) needs it, spilling to disk beyond work_mem), then each score's breaks from
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

/// The two queries `segment_rfm` runs: the count of what is left out (for its NOTICE), and the
/// RFM rows. Both take `as_of` as $1. Validates every argument first.
#[pg_extern(stable, parallel_safe)]
fn segment_rfm_queries(
    transactions: Option<PgRelation>,
    customer_column: Option<&str>,
    time_column: Option<&str>,
    amount_column: Option<&str>,
    bins: Option<i32>,
    options: Option<JsonB>,
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
    rfm_sql::queries(&transactions, bins, options.returns).into()
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
    queries text[];
    incomplete bigint;
    late bigint;
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'argument as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    queries := @extschema@.segment_rfm_queries(transactions, customer_column, time_column,
                                               amount_column, bins, options);
    EXECUTE queries[1] USING as_of INTO incomplete, late;
    IF incomplete + late > 0 THEN
        RAISE NOTICE 'segment_rfm: left out % transactions with a NULL customer, time or amount, and % after as_of',
            incomplete, late;
    END IF;
    RETURN QUERY EXECUTE queries[2] USING as_of;
END
$body$;
COMMENT ON FUNCTION segment_rfm(regclass, text, text, text, timestamptz, int, jsonb) IS
    'recency, frequency, monetary value, quantile scores and RFM segment of every customer in a transactions table';
"#,
    name = "segment_rfm_sql",
    requires = [segment_rfm_queries]
);
