//! `segment_anomalies(model, source)`: the customers of a source who fit no segment, the
//! farthest first. The rows are read by one query (`segment_core::sql::anomalies`) calling the
//! row functions `segment_is_anomaly` and `segment_anomaly_score`, whose answers come from
//! `model::anomaly`.

use super::inspect::fitted_relation;
use crate::catalog::{self, Current};
use crate::errors::{raise, require};
use crate::search_path::pinned;
use crate::source;
use pgrx::prelude::*;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::sql::anomalies::query;

/// The rows of `source` (default: the relation the model was fitted on; a group model's: its
/// group's rows of it) whose anomaly score is above the model's threshold: each row's segment,
/// its score, and the row as jsonb, the highest score first; at most `max_rows` (NULL: all).
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_anomalies(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
    max_rows: default!(Option<i64>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(segment, Option<i32>),
        name!(score, f64),
        name!(customer, JsonB),
    ),
> {
    let name = require(model, "model");
    if let Some(m) = max_rows.filter(|&m| m < 1) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("max_rows must be at least 1, not {m}"),
            Some("Pass NULL for every anomalous row."),
        );
    }
    let (rel, features, only) = match catalog::load_current(name) {
        Current::One(stored) => {
            let only = source.is_none().then(|| stored.group.clone()).flatten();
            let rel = source.unwrap_or_else(|| fitted_relation(&stored));
            (rel, stored.model.features.clone(), only)
        }
        Current::Grouped(index) => {
            let rel = source.unwrap_or_else(|| {
                crate::stored_relation::open(name, "source", &index.source, false)
            });
            source::check_group_column(&rel, &index.index.group_by, &index.index.features);
            (rel, index.index.features.clone(), None)
        }
    };
    // The features must be there: the row functions would say so row by row otherwise.
    let src = source::validate(&rel, features.into_iter().map(Some).collect());
    let sql = query(
        &catalog::schema(),
        name,
        &src.sql_name,
        only.as_ref().map(|(c, v)| (c.as_str(), v.as_str())),
        max_rows,
    );
    let rows = pinned(|| {
        Spi::connect(|client| {
            let table = client.select(&sql, None, &[])?;
            let mut rows = Vec::with_capacity(table.len());
            for row in table {
                rows.push((
                    row.get::<i32>(1)?,
                    row.get::<f64>(2)?.unwrap_or(f64::NAN),
                    row.get::<JsonB>(3)?
                        .unwrap_or(JsonB(serde_json::Value::Null)),
                ));
            }
            Ok::<_, pgrx::spi::Error>(rows)
        })
    })
    .unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("segment_anomalies could not read its query: {e}"),
            None,
        )
    });
    TableIterator::new(rows)
}
