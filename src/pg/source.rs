//! The relation a model is fitted on: checking its kind and feature columns against the catalog,
//! and reading the features through an SPI cursor in bounded batches into one f64 matrix.

use super::errors::raise;
use crate::core::error::CoreResult;
use crate::core::matrix::{BuiltMatrix, MatrixBuilder};
use crate::core::options::FitOptions;
use pgrx::prelude::*;
use pgrx::spi::quote_qualified_identifier;
use pgrx::{PgRelation, PgSqlErrorCode};

/// Rows fetched per SPI round trip: the only part of the result held outside the matrix.
const FETCH_ROWS: i64 = 10_000;

/// Column types read as features (cast to float8 by the server, so numeric keeps its rules).
pub const NUMERIC_TYPES: [pg_sys::Oid; 6] = [
    pg_sys::INT2OID,
    pg_sys::INT4OID,
    pg_sys::INT8OID,
    pg_sys::FLOAT4OID,
    pg_sys::FLOAT8OID,
    pg_sys::NUMERICOID,
];

pub fn type_name(oid: pg_sys::Oid) -> String {
    unsafe {
        let p = pg_sys::format_type_be(oid);
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// A validated source: its name as SQL (quoted by the server's rules) and its feature columns.
pub struct Source {
    /// Schema-qualified and quoted from the catalog (never from the caller's text).
    pub sql_name: String,
    pub relname: String,
    pub features: Vec<String>,
}

/// Checks the relation kind and every feature name: present, unique, numeric.
pub fn validate(rel: &PgRelation, features: Vec<Option<String>>) -> Source {
    let usable = rel.is_table()
        || rel.is_view()
        || rel.is_matview()
        || rel.is_partitioned_table()
        || rel.is_foreign_table();
    if !usable {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "\"{}\" is not a table, view or materialized view",
                rel.name()
            ),
            Some("Pass the table or view that holds one row per customer."),
        );
    }
    if features.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "features must name at least one column",
            Some("Pass the feature columns as ARRAY['col1', 'col2']."),
        );
    }
    let tupdesc = rel.tuple_desc();
    let mut names: Vec<String> = Vec::with_capacity(features.len());
    for f in features {
        let Some(f) = f else {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "features must not contain NULL",
                None,
            )
        };
        if names.contains(&f) {
            raise(
                PgSqlErrorCode::ERRCODE_DUPLICATE_COLUMN,
                format!("feature \"{f}\" is listed more than once"),
                Some("List each feature column once."),
            );
        }
        let att = tupdesc
            .iter()
            .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == f.as_str());
        let Some(att) = att else {
            let similar = tupdesc.iter().find(|a| {
                !a.attisdropped && a.attnum > 0 && a.name().to_lowercase() == f.to_lowercase()
            });
            let hint = match similar {
                Some(a) => format!(
                    "Column names are case sensitive: did you mean \"{}\"?",
                    a.name()
                ),
                None => "Check the column names of the source with \\d in psql.".to_string(),
            };
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!(
                    "column \"{f}\" of relation \"{}\" does not exist",
                    rel.name()
                ),
                Some(&hint),
            )
        };
        if !NUMERIC_TYPES.contains(&att.atttypid) {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "column \"{f}\" of relation \"{}\" has type {}, not a numeric type",
                    rel.name(),
                    type_name(att.atttypid)
                ),
                Some("Feature columns must be smallint, integer, bigint, real, double precision or numeric."),
            );
        }
        names.push(f);
    }
    Source {
        sql_name: quote_qualified_identifier(rel.namespace(), rel.name()),
        relname: rel.name().to_string(),
        features: names,
    }
}

/// Reads every row of the source into a matrix, `FETCH_ROWS` at a time. Runs with the caller's
/// privileges (a plain SELECT), so a missing SELECT grant fails here with 42501.
pub fn read_matrix(
    source: &Source,
    options: &FitOptions,
    max_bytes: usize,
) -> CoreResult<BuiltMatrix> {
    let mut builder = MatrixBuilder::new(source.features.clone(), options.impute, max_bytes)
        .with_log(options.log_mask(&source.features)?);
    for_each_row(source, |row| builder.push(row))?;
    builder.finish()
}

/// Calls `f` with the feature values of every row of the source (NULL as None), reading
/// `FETCH_ROWS` rows per cursor fetch and freeing each batch before the next. Checks for
/// interrupts between batches.
pub fn for_each_row(
    source: &Source,
    mut f: impl FnMut(&[Option<f64>]) -> CoreResult<()>,
) -> CoreResult<()> {
    let columns: Vec<String> = source
        .features
        .iter()
        .map(|f| format!("{}::float8", pgrx::spi::quote_identifier(f)))
        .collect();
    let query = format!("SELECT {} FROM {}", columns.join(", "), source.sql_name);
    let d = source.features.len();
    Spi::connect(|client| -> CoreResult<()> {
        let mut cursor = client.open_cursor(query.as_str(), &[]);
        let mut row: Vec<Option<f64>> = vec![None; d];
        loop {
            pgrx::check_for_interrupts!();
            let n = cursor
                .fetch(FETCH_ROWS)
                .unwrap_or_else(|e| {
                    raise(
                        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                        format!("reading the source failed: {e}"),
                        None,
                    )
                })
                .len();
            if n == 0 {
                break;
            }
            // SAFETY: the fetch just filled SPI_tuptable with n tuples whose columns are float8
            // (by value on 64-bit builds) in the order of `columns`.
            unsafe {
                let table = pg_sys::SPI_tuptable;
                let tupdesc = (*table).tupdesc;
                for &tuple in std::slice::from_raw_parts((*table).vals, n) {
                    for (j, slot) in row.iter_mut().enumerate() {
                        let mut is_null = false;
                        let datum =
                            pg_sys::heap_getattr(tuple, j as i32 + 1, tupdesc, &mut is_null);
                        *slot = (!is_null).then(|| f64::from_bits(datum.value() as u64));
                    }
                    f(&row)?;
                }
                // Free each batch now: SPI would otherwise keep them all until the end.
                pg_sys::SPI_freetuptable(table);
            }
        }
        Ok(())
    })
}
