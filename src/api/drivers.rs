//! `segment_drivers(source, metric, test_column, dimensions, options)`: the slices whose metric
//! moved between the control rows (test_column false) and the test rows (true). The source is
//! read by one grouping query (`segment_core::sql::drivers`, run as the caller); the figures, the
//! pruning and the order come from `analysis::drivers`.

use crate::errors::{raise, require, OrRaise};
use crate::search_path::pinned;
use crate::source::{self, NUMERIC_TYPES};
use pgrx::prelude::*;
use pgrx::spi::quote_qualified_identifier;
use pgrx::{JsonB, PgRelation, PgSqlErrorCode};
use segment_core::analysis::drivers::{drivers, Cell, DriverRow, DriversOptions, Per, Sums};
use segment_core::sql::drivers::{query, sum_columns, DriversQuery, NumberColumn};

/// Per slice of the source's rows (a combination of up to `max_depth` dimension values, the
/// whole population first): the metric in the test and control rows, their difference, relative
/// difference, the slice's share of the population's change, its difference beyond what the
/// population's change predicts, its share of the rows, its rows per group and the p-value of
/// the difference (docs/reference.md, "segment_drivers").
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_drivers(
    source: Option<PgRelation>,
    metric: Option<&str>,
    test_column: Option<&str>,
    dimensions: Option<Vec<Option<String>>>,
    options: default!(Option<JsonB>, "'{}'"),
) -> TableIterator<
    'static,
    (
        name!(drivers, Vec<String>),
        name!(metric_test, Option<f64>),
        name!(metric_control, Option<f64>),
        name!(difference, Option<f64>),
        name!(relative_difference, Option<f64>),
        name!(contribution, Option<f64>),
        name!(unexpected_difference, Option<f64>),
        name!(support, f64),
        name!(rows_test, i64),
        name!(rows_control, i64),
        name!(p_value, Option<f64>),
    ),
> {
    let rel = require(source, "source");
    let metric = require(metric, "metric");
    let test_column = require(test_column, "test_column");
    let dimensions = require(dimensions, "dimensions");
    let options = DriversOptions::from_json(&require(options, "options").0.to_string()).or_raise();
    source::check_readable_kind(
        &rel,
        "Pass the table or view that holds the rows of both periods.",
    );
    let metric_column = number_column(&rel, metric, "metric");
    let denominator = match &options.per {
        Per::Column(d) => Some(number_column(&rel, d, "per")),
        Per::Sum | Per::Row => None,
    };
    let flag = source::column_type(&rel, test_column, "test_column");
    if flag != pg_sys::BOOLOID {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "test_column \"{test_column}\" has type {}, not boolean",
                source::type_name(flag)
            ),
            Some("test_column is true on the test rows (after) and false on the control rows (before): pass a boolean column, e.g. of a view with (order_date >= '2025-01-01') AS after."),
        );
    }
    let dimensions = check_dimensions(&rel, dimensions, test_column);

    let relation = quote_qualified_identifier(rel.namespace(), rel.name());
    let q = DriversQuery {
        source: &relation,
        metric: metric_column,
        denominator,
        test_column,
        dimensions: &dimensions,
    };
    let sql = query(&q, &options).or_raise();
    let cells = read_cells(&sql, dimensions.len(), sum_columns(&options.per));
    let result = drivers(
        &cells,
        &dimensions,
        test_column,
        metric,
        &options,
        &mut || {
            pgrx::check_for_interrupts!();
        },
    )
    .or_raise();
    if let Some(notice) = result.left_out_notice(test_column, metric, &options.per) {
        pgrx::notice!("{notice}");
    }
    TableIterator::new(result.rows.into_iter().map(|r: DriverRow| {
        (
            r.drivers,
            r.metric_test,
            r.metric_control,
            r.difference,
            r.relative_difference,
            r.contribution,
            r.unexpected_difference,
            r.support,
            r.rows_test as i64,
            r.rows_control as i64,
            r.p_value,
        )
    }))
}

/// The metric or the ratio's denominator: a number, or a boolean counted as 1 for true.
fn number_column(rel: &PgRelation, column: &str, role: &str) -> NumberColumn {
    let typ = source::column_type(rel, column, role);
    let boolean = typ == pg_sys::BOOLOID;
    if !boolean && !NUMERIC_TYPES.contains(&typ) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!("{role} column \"{column}\" has type {}", source::type_name(typ)),
            Some("The metric (and the per column of a ratio) is a number (numeric, integer or float) or a boolean (summed as 1 for true)."),
        );
    }
    NumberColumn {
        column: column.to_string(),
        boolean,
    }
}

/// The dimensions: named once each, present, not the test column, of a type whose values can
/// be grouped and read as text.
fn check_dimensions(
    rel: &PgRelation,
    names: Vec<Option<String>>,
    test_column: &str,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name else {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "dimensions contains a NULL",
                Some("Name each dimension column of the source."),
            )
        };
        if out.contains(&name) {
            raise(
                PgSqlErrorCode::ERRCODE_DUPLICATE_COLUMN,
                format!("dimension \"{name}\" is named twice"),
                Some("Name each dimension column once."),
            );
        }
        let typ = source::column_type(rel, &name, "dimension");
        if name == test_column {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("column \"{name}\" is both the test_column and a dimension"),
                Some("The test column splits every slice into test and control already: leave it out of the dimensions."),
            );
        }
        // SAFETY: a type of a column of an open relation; the cache entry lives for the backend.
        let equality = unsafe {
            let entry = pg_sys::lookup_type_cache(typ, pg_sys::TYPECACHE_EQ_OPR as i32);
            (*entry).eq_opr
        };
        if equality == pg_sys::InvalidOid {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "dimension column \"{name}\" has type {}, whose values cannot be compared for equality",
                    source::type_name(typ)
                ),
                Some("Slice by a column with few values: cast this one in a view (e.g. column::text)."),
            );
        }
        source::check_no_user_cast_to_text(&name, "dimension", typ);
        out.push(name);
    }
    out
}

/// The grouping query's rows as cells (its columns: `sql::drivers::query`).
fn read_cells(sql: &str, k: usize, sums: usize) -> Vec<Cell> {
    pinned(|| {
        Spi::connect(|client| {
            let table = client.select(sql, None, &[])?;
            let mut cells = Vec::with_capacity(table.len());
            for (i, row) in table.enumerate() {
                if i % 4096 == 0 {
                    pgrx::check_for_interrupts!();
                }
                let grouping = row.get::<i32>(1)?.unwrap_or(0) as u32;
                let mut values = Vec::with_capacity(k);
                for j in 0..k {
                    values.push(row.get::<String>(2 + j)?);
                }
                let test = row.get::<bool>(k + 2)?;
                let rows = row.get::<i64>(k + 3)?.unwrap_or(0) as u64;
                let used = row.get::<i64>(k + 4)?.unwrap_or(0) as u64;
                let mut figures = Vec::with_capacity(sums);
                for i in 0..sums {
                    figures.push(row.get::<f64>(k + 5 + i)?.unwrap_or(0.0));
                }
                cells.push(Cell {
                    grouping,
                    values,
                    test,
                    sums: Sums::from_columns(rows, used, &figures),
                });
            }
            Ok::<_, pgrx::spi::Error>(cells)
        })
    })
    .unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("segment_drivers could not read its grouping query: {e}"),
            None,
        )
    })
}
