//! The relation a model is fitted on: checking its kind and feature columns against the catalog,
//! and reading the features row by row from the executor (`query_rows`) into one f64 matrix.

use crate::errors::raise;
use crate::query_rows;
use crate::search_path::{pinned, select_text};
use pgrx::prelude::*;
use pgrx::spi::quote_qualified_identifier;
use pgrx::{PgMemoryContexts, PgRelation, PgSqlErrorCode};
use segment_core::error::{CoreError, CoreResult, ErrorKind};
use segment_core::model::options::FitOptions;
use segment_core::params::nearest;
use segment_core::prep::builder::{BuiltMatrix, MatrixBuilder};
use segment_core::prep::encoding::{
    check_categories, column_log_mask, number_cast, numbers_as_text, one_hot, text_shape, Columns,
    TextShape, NUMBER_OR_BLANK_REGEX,
};
use segment_core::prep::numeric::numeric_bytes_to_f64;
use segment_core::progress::{self, Progress};
use segment_core::spelling::did_you_mean;

/// Rows between progress reports (and between resets of the per-row memory context).
const REPORT_ROWS: u64 = 10_000;

/// Column types read as features: numeric from its digits (`numeric_f64`), the others cast to
/// float8 by the server.
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

/// Column types one-hot encoded as categories (read as text; booleans as 'true' / 'false').
pub const CATEGORICAL_TYPES: [pg_sys::Oid; 4] = [
    pg_sys::TEXTOID,
    pg_sys::VARCHAROID,
    pg_sys::BPCHAROID,
    pg_sys::BOOLOID,
];

/// A validated source: its name as SQL (quoted by the server's rules) and its feature columns.
pub struct Source {
    /// Schema-qualified and quoted from the catalog (never from the caller's text).
    pub sql_name: String,
    pub relname: String,
    pub features: Vec<String>,
    /// Per feature: a text or boolean column, to be one-hot encoded.
    pub categorical: Vec<bool>,
    /// Per feature: a numeric column, read as it is stored and converted by `numeric_f64`.
    pub numeric: Vec<bool>,
    /// Read only the rows whose column (first) has this text value (second): a group model's
    /// rows in the relation its per-group model was fitted on.
    pub only: Option<(String, String)>,
    /// How a row is named in an error: its primary key columns (quoted), or `ctid` for a table
    /// without one, and how to show them; None for a view, or a caller without SELECT on the
    /// whole table (rows are then numbered).
    pub row_key: Option<(Vec<String>, String)>,
    /// Read the rows in the order of their primary key: for a Citus table, whose rows come from
    /// its shards in an order that changes from one read to the next, so that a seeded fit gives
    /// the same model every time (and the same as on a plain table holding the rows in that
    /// order). A plain table is read in its stored order, which only writes change.
    pub ordered: bool,
}

/// Refuses a relation that holds no rows to read: rows come from a table, view, materialized
/// view, partitioned or foreign table (42809, with `hint` saying which rows to pass).
pub fn check_readable_kind(rel: &PgRelation, hint: &str) {
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
            Some(hint),
        );
    }
}

/// Checks the relation kind and every feature name: present, unique, numeric.
pub fn validate(rel: &PgRelation, features: Vec<Option<String>>) -> Source {
    check_readable_kind(
        rel,
        "Pass the table or view that holds one row per customer.",
    );
    if features.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "features must name at least one column",
            Some("Pass the feature columns as ARRAY['col1', 'col2']."),
        );
    }
    let tupdesc = rel.tuple_desc();
    let mut names: Vec<String> = Vec::with_capacity(features.len());
    let mut categorical = Vec::with_capacity(features.len());
    let mut numeric = Vec::with_capacity(features.len());
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
            let hint = column_hint(rel, &f);
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!(
                    "column \"{f}\" of relation \"{}\" does not exist",
                    rel.name()
                ),
                Some(&hint),
            )
        };
        if !NUMERIC_TYPES.contains(&att.atttypid) && !CATEGORICAL_TYPES.contains(&att.atttypid) {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "column \"{f}\" of relation \"{}\" has type {}, not a numeric, text or boolean type",
                    rel.name(),
                    type_name(att.atttypid)
                ),
                Some("Feature columns must be numbers (smallint, integer, bigint, real, double precision, numeric), or text, varchar, char or boolean (one-hot encoded)."),
            );
        }
        categorical.push(CATEGORICAL_TYPES.contains(&att.atttypid));
        numeric.push(att.atttypid == pg_sys::NUMERICOID);
        names.push(f);
    }
    let row_key = row_key(rel);
    let ordered = row_key.as_ref().is_some_and(|(key, _)| key != &["ctid"])
        && crate::citus::is_citus_table(rel.oid());
    Source {
        sql_name: quote_qualified_identifier(rel.namespace(), rel.name()),
        relname: rel.name().to_string(),
        features: names,
        categorical,
        numeric,
        only: None,
        row_key,
        ordered,
    }
}

/// See `Source::row_key`. Only for a caller with SELECT on the whole table: the key columns (or
/// ctid) may lie outside a column-level grant, and a fit must not fail for naming a row.
fn row_key(rel: &PgRelation) -> Option<(Vec<String>, String)> {
    if !(rel.is_table() || rel.is_matview() || rel.is_partitioned_table()) {
        return None;
    }
    let oid = || pgrx::datum::DatumWithOid::from(rel.oid());
    let may_read = select_text(
        "SELECT pg_catalog.has_table_privilege($1, 'SELECT')::text",
        &[oid()],
    );
    if may_read.as_deref() != Some("true") {
        return None;
    }
    let key: Vec<String> = primary_key(rel)
        .iter()
        .map(pgrx::spi::quote_identifier)
        .collect();
    Some(if key.is_empty() {
        // A partitioned table's rows have a ctid in their partition only: still a place to look.
        (vec!["ctid".to_string()], "ctid".to_string())
    } else {
        let shown = format!("({})", key.join(", "));
        (key, shown)
    })
}

/// The columns of a relation's primary key in key order, as named (unquoted); empty without one.
pub fn primary_key(rel: &PgRelation) -> Vec<String> {
    let query = "SELECT a.attname::text FROM pg_catalog.pg_index i \
                 JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, n) ON true \
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.n";
    pinned(|| {
        Spi::connect(|client| {
            client
                .select(query, None, &[rel.oid().into()])
                .map(|t| {
                    t.filter_map(|r| r.get::<String>(1).ok().flatten())
                        .collect()
                })
                .unwrap_or_default()
        })
    })
}

/// The type of a column of the relation, or an error naming it (`role` says which argument:
/// "customer", "metric", ...), with a hint naming the nearest column.
pub fn column_type(rel: &PgRelation, column: &str, role: &str) -> pg_sys::Oid {
    rel.tuple_desc()
        .iter()
        .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == column)
        .map(|a| a.atttypid)
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!(
                    "{role} column \"{column}\" of relation \"{}\" does not exist",
                    rel.name()
                ),
                Some(&column_hint(rel, column)),
            )
        })
}

/// Checks the columns of a transactions table (`segment_rfm`, `segment_clv_fit`): the customer
/// column exists, the time column is a date or timestamp, the amount column is a number.
pub fn check_transaction_columns(rel: &PgRelation, customer: &str, time: &str, amount: &str) {
    let customer_type = column_type(rel, customer, "customer");
    check_no_user_cast_to_text(customer, "customer", customer_type);
    let time_type = column_type(rel, time, "time");
    if ![
        pg_sys::DATEOID,
        pg_sys::TIMESTAMPOID,
        pg_sys::TIMESTAMPTZOID,
    ]
    .contains(&time_type)
    {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!("time column \"{time}\" has type {}", type_name(time_type)),
            Some("The time column is a date, timestamp or timestamp with time zone."),
        );
    }
    let amount_type = column_type(rel, amount, "amount");
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
}

/// The hint for a column name the relation does not have: the column it differs from by case
/// only, else the nearest spelling (`spelling::did_you_mean`), if any.
pub fn column_hint(rel: &PgRelation, name: &str) -> String {
    let tupdesc = rel.tuple_desc();
    let columns: Vec<&str> = tupdesc
        .iter()
        .filter(|a| !a.attisdropped && a.attnum > 0)
        .map(|a| a.name())
        .collect();
    did_you_mean("Column", name, &columns)
        .unwrap_or_else(|| "Check the column names of the source with \\d in psql.".to_string())
}

/// Label column types of the supervised fits: boolean, integers, text.
const LABEL_TYPES: [pg_sys::Oid; 7] = [
    pg_sys::BOOLOID,
    pg_sys::INT2OID,
    pg_sys::INT4OID,
    pg_sys::INT8OID,
    pg_sys::TEXTOID,
    pg_sys::VARCHAROID,
    pg_sys::BPCHAROID,
];

/// Checks the label column of a supervised fit: present, not a feature, of a label type.
/// `missing_hint` says what the column should hold, `type_hint` which types a label takes.
pub fn check_label(
    rel: &PgRelation,
    features: &[String],
    label: &str,
    missing_hint: &str,
    type_hint: &str,
) {
    if features.iter().any(|f| f == label) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("column \"{label}\" is both the label and a feature"),
            Some("A model that sees the label among its features learns nothing: remove it from the features."),
        );
    }
    let tupdesc = rel.tuple_desc();
    let Some(att) = tupdesc
        .iter()
        .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == label)
    else {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!(
                "label column \"{label}\" of relation \"{}\" does not exist",
                rel.name()
            ),
            Some(&format!("{missing_hint} {}", column_hint(rel, label))),
        )
    };
    if !LABEL_TYPES.contains(&att.atttypid) {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "label column \"{label}\" has type {}",
                type_name(att.atttypid)
            ),
            Some(type_hint),
        );
    }
}

/// A supervised fit's labels: the distinct values in order of appearance, and each usable row's
/// index into them.
pub struct Labels {
    pub values: Vec<String>,
    pub codes: Vec<u32>,
}

/// Reads a supervised fit's source: the features into `builder`, and the label column as text,
/// coded for every row the builder keeps. At most `max_values` distinct values are kept; for a
/// further one, `more` says which code the row takes, or refuses. A NULL label is an error with
/// the number of such rows and `null_hint`.
pub fn read_labelled(
    source: &Source,
    categories: &[Option<Vec<String>>],
    label: &str,
    builder: &mut MatrixBuilder,
    max_values: usize,
    more: impl Fn() -> CoreResult<u32>,
    null_hint: &str,
) -> Labels {
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut codes: Vec<u32> = Vec::new();
    let mut null_labels = 0u64;
    let columns = Columns::of(&source.features, categories);
    let mut skipped = SkippedNulls::new(columns.width());
    for_each_row_with(source, categories, label, |row, value| {
        let Some(v) = value else {
            null_labels += 1;
            return Ok(());
        };
        if !builder.push(row)? {
            skipped.add(row);
        } else {
            let code = match values.iter().position(|known| known.as_slice() == v) {
                Some(c) => c as u32,
                None if values.len() < max_values => {
                    values.push(v.to_vec());
                    values.len() as u32 - 1
                }
                None => more()?,
            };
            codes.push(code);
        }
        Ok(())
    })
    .and_then(|()| skipped.check(codes.len(), &source.features, &columns))
    .unwrap_or_else(|e| crate::errors::raise_core(e));
    if null_labels > 0 {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("label column \"{label}\" is NULL in {null_labels} rows"),
            Some(null_hint),
        );
    }
    Labels {
        values: values
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect(),
        codes,
    }
}

/// Checks the `group_by` column of a per-group fit: present, and not one of the features (a
/// group's rows all share its value, so it cannot separate them).
pub fn check_group_column(rel: &PgRelation, column: &str, features: &[String]) {
    let present = rel
        .tuple_desc()
        .iter()
        .any(|a| !a.attisdropped && a.attnum > 0 && a.name() == column);
    if !present {
        let hint = column_hint(rel, column);
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
            format!(
                "group_by column \"{column}\" of relation \"{}\" does not exist",
                rel.name()
            ),
            Some(&hint),
        );
    }
    if features.iter().any(|f| f == column) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("group_by column \"{column}\" is also a feature"),
            Some("Within a group the column has one value: leave it out of the features."),
        );
    }
    let typ = rel
        .tuple_desc()
        .iter()
        .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == column)
        .map(|a| a.atttypid)
        .expect("checked above");
    check_no_user_cast_to_text(column, "group_by", typ);
}

/// Refuses a column whose type has a cast to text that a role wrote: the extension reads such
/// a column as `column::text`, which would call that role's function with the caller's
/// privileges (a model planted by the type's owner, read by a superuser). Built-in types, and
/// types (enums, domains, composites) read by their output function, pass.
pub fn check_no_user_cast_to_text(column: &str, role: &str, typ: pg_sys::Oid) {
    if u32::from(typ) < pg_sys::FirstNormalObjectId {
        return;
    }
    let cast = crate::search_path::pinned(|| {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT pg_catalog.format_type($1, NULL) FROM pg_catalog.pg_cast \
                     WHERE castsource = $1 AND casttarget = 'pg_catalog.text'::pg_catalog.regtype \
                       AND castmethod = 'f'",
                    Some(1),
                    &[typ.into()],
                )
                .ok()
                .filter(|t| !t.is_empty())
                .and_then(|t| t.first().get::<String>(1).ok().flatten())
        })
    });
    if let Some(type_name) = cast {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "{role} column \"{column}\" has type {type_name}, whose cast to text is a function: the extension reads this column as text and will not call it"
            ),
            Some("Read it through a view that turns it into text (or another built-in type) yourself."),
        );
    }
}

/// Checks that the source's columns have the kinds a stored model expects (text or boolean
/// where it one-hot encodes, numbers elsewhere).
pub fn check_kinds(source: &Source, categories: &[Option<Vec<String>>]) {
    for (j, f) in source.features.iter().enumerate() {
        let expected = categories.get(j).is_some_and(|c| c.is_some());
        if source.categorical[j] != expected {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!(
                    "column \"{f}\" of relation \"{}\" is {}, the model was fitted on {}",
                    source.relname,
                    if source.categorical[j] {
                        "text or boolean"
                    } else {
                        "numeric"
                    },
                    if expected {
                        "text or boolean values"
                    } else {
                        "numbers"
                    }
                ),
                None,
            );
        }
    }
}

/// The distinct values of every categorical feature, sorted by byte order (None for numeric
/// features; an empty list when every feature is numeric). At most `max` + 1 values of a column
/// are read: more is an error naming the column. A text column whose values all read as numbers
/// or are blank (`numbers_as_text`: `' '` for a new customer's total) is refused unless `asked`
/// (the `categorical` option) names it: it is most likely a number stored as text, which one-hot
/// encoding would turn into one column per distinct number. That check comes first, on all of
/// the column's values (checked in SQL when there are more than `max`), so such a column gets
/// the cast that fixes it rather than the `max_categories` error.
pub fn learn_categories(
    source: &Source,
    max: u32,
    asked: &[String],
) -> CoreResult<Vec<Option<Vec<String>>>> {
    for name in asked {
        match source.features.iter().position(|f| f == name) {
            None => {
                let features: Vec<&str> = source.features.iter().map(String::as_str).collect();
                let e = CoreError::invalid_parameter(format!(
                    "option categorical names \"{name}\", which is not one of the features"
                ));
                return Err(match nearest(name, &features) {
                    Some(n) => e.with_hint(format!("Did you mean \"{n}\"?")),
                    None => e.with_hint("List text feature columns only, e.g. {\"categorical\": [\"zip_code\"]}."),
                });
            }
            Some(j) if !source.categorical[j] => {
                return Err(CoreError::invalid_parameter(format!(
                    "option categorical names \"{name}\", a numeric column: only text and boolean columns are one-hot encoded"
                ))
                .with_hint("To treat its numbers as categories, fit a view that casts it to text."))
            }
            Some(_) => {}
        }
    }
    if !source.categorical.contains(&true) {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(source.features.len());
    for (f, &is_categorical) in source.features.iter().zip(&source.categorical) {
        if !is_categorical {
            out.push(None);
            continue;
        }
        pgrx::check_for_interrupts!();
        let column = pgrx::spi::quote_identifier(f);
        let query = format!(
            "SELECT DISTINCT {column}::text COLLATE \"C\" AS v FROM {} WHERE {column} IS NOT NULL \
             ORDER BY v LIMIT {}",
            source.sql_name,
            max as i64 + 1
        );
        let values: Vec<String> = pinned(|| {
            Spi::connect(|client| {
                client.select(query.as_str(), None, &[]).map(|t| {
                    t.filter_map(|row| row.get::<String>(1).ok().flatten())
                        .collect()
                })
            })
        })
        .unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("reading the values of \"{f}\" failed: {e}"),
                None,
            )
        });
        if !asked.contains(f) {
            if let Some(number) = numbers_as_text(&values) {
                // All of the column's values were read (else the sample is its first values in
                // byte order, where blanks come first: the rest are checked in SQL).
                let other_blanks = if values.len() <= max as usize {
                    Some(values.iter().any(|v| v.contains(['\t', '\r', '\n'])))
                } else {
                    numbers_or_blanks(source, &column)
                };
                if let Some(other_blanks) = other_blanks {
                    let blank = values.iter().any(|v| text_shape(v) == TextShape::Blank);
                    return Err(number_as_text(
                        source,
                        f,
                        &column,
                        number,
                        blank,
                        other_blanks,
                    ));
                }
            }
        }
        check_categories(f, &values, max)?;
        out.push(Some(values));
    }
    Ok(out)
}

/// Whether every value of a text column is a number or blank (`NUMBER_OR_BLANK_REGEX`): Some
/// with whether any holds tabs or line breaks, None when some value is something else.
fn numbers_or_blanks(source: &Source, column: &str) -> Option<bool> {
    let query = format!(
        "SELECT bool_and(v ~ $1), bool_or(v ~ $2) \
         FROM (SELECT {column}::text AS v FROM {} WHERE {column} IS NOT NULL) s",
        source.sql_name
    );
    let (all, other_blanks) = pinned(|| {
        Spi::connect(|client| {
            client
                .select(
                    query.as_str(),
                    Some(1),
                    &[NUMBER_OR_BLANK_REGEX.into(), "[\t\r\n]".into()],
                )?
                .first()
                .get_two::<bool, bool>()
        })
    })
    .unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("reading the values of {column} failed: {e}"),
            None,
        )
    });
    all.unwrap_or(false)
        .then_some(other_blanks.unwrap_or(false))
}

/// The error for a text feature whose values are numbers or blanks (`numbers_as_text`), with a
/// hint whose view reads it as a number, blanks as NULL (`number_cast`: a plain `::float8` or
/// `NULLIF(x, '')::float8` fails on `' '`).
fn number_as_text(
    source: &Source,
    f: &str,
    column: &str,
    number: &str,
    blank: bool,
    other_blanks: bool,
) -> CoreError {
    let (values, blanks) = if blank {
        (
            "reads as a number or is blank",
            ", blanks as NULL (then the impute option applies)",
        )
    } else {
        ("reads as a number", "")
    };
    CoreError::new(
        ErrorKind::InvalidData,
        format!(
            "feature column \"{f}\" is text, but every value of it {values} (\"{number}\", ...): \
             one-hot encoding would make a column of each distinct number"
        ),
    )
    .with_hint(format!(
        "If it is a number, fit a view that reads it as one{blanks}: CREATE VIEW v AS SELECT *, \
         {} AS {} FROM {}; then use that column. If it is a code (a zip code), say so: \
         options => '{{\"categorical\": [\"{}\"]}}'.",
        number_cast(column, other_blanks),
        pgrx::spi::quote_identifier(format!("{f}_number")),
        source.sql_name,
        f.replace('"', "\\\""),
    ))
}

/// The bytes of a text-like datum (detoasted when needed), without a copy for the usual
/// in-line value (a plain in-line text, the usual constant, needs no detoasting call). bpchar's padding is stripped, as its cast to text does.
///
/// # Safety
/// `datum` is a non-NULL value of type `typ`, one of `CATEGORICAL_TYPES` but boolean.
pub unsafe fn text_bytes<'a>(datum: pg_sys::Datum, typ: pg_sys::Oid) -> &'a [u8] {
    let mut text: *mut pg_sys::varlena = datum.cast_mut_ptr();
    if !(pgrx::varlena::varatt_is_4b_u(text)
        || (pgrx::varlena::varatt_is_1b(text) && !pgrx::varlena::varatt_is_1b_e(text)))
    {
        text = pg_sys::pg_detoast_datum_packed(text);
    }
    let bytes = std::slice::from_raw_parts(
        pgrx::varlena::vardata_any(text) as *const u8,
        pgrx::varlena::varsize_any_exhdr(text),
    );
    if typ == pg_sys::BPCHAROID {
        let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |p| p + 1);
        &bytes[..end]
    } else {
        bytes
    }
}

/// The double PostgreSQL's `numeric_float8` (`numeric::float8`) gives for a numeric datum, read
/// from its stored digits (`segment_core::prep::numeric`) where the server prints the value as
/// text and parses it back: on 1M rows x 8 `numeric(14,4)` columns that round trip was most of
/// an assign's 0.678 s (0.262 s for `sum(f1 + ... + f8)` over the same columns). A value the
/// cast rejects (beyond double precision's range, or a non-zero value that rounds to zero) goes
/// to the cast itself, which raises its own error (22003, "... is out of range for type double
/// precision"), word for word as before.
///
/// # Safety
/// `datum` is a non-NULL numeric (it may be toasted or have a short header).
#[inline]
pub unsafe fn numeric_f64(datum: pg_sys::Datum) -> f64 {
    let mut value: *mut pg_sys::varlena = datum.cast_mut_ptr();
    if !(pgrx::varlena::varatt_is_4b_u(value)
        || (pgrx::varlena::varatt_is_1b(value) && !pgrx::varlena::varatt_is_1b_e(value)))
    {
        value = pg_sys::pg_detoast_datum_packed(value);
    }
    let bytes = std::slice::from_raw_parts(
        pgrx::varlena::vardata_any(value) as *const u8,
        pgrx::varlena::varsize_any_exhdr(value),
    );
    match numeric_bytes_to_f64(bytes) {
        Ok(v) => v,
        Err(_) => numeric_float8(datum),
    }
}

/// PostgreSQL's own cast: for the values it rejects, so that its error is raised.
#[cold]
#[inline(never)]
unsafe fn numeric_float8(datum: pg_sys::Datum) -> f64 {
    pgrx::direct_function_call::<f64>(pg_sys::numeric_float8, &[Some(datum)])
        .expect("numeric_float8 of a non-NULL numeric")
}

/// The bytes a categorical value is matched by: text as is, booleans as "true" / "false".
///
/// # Safety
/// As `text_bytes`, booleans included.
pub unsafe fn category_bytes<'a>(datum: pg_sys::Datum, typ: pg_sys::Oid) -> &'a [u8] {
    if typ == pg_sys::BOOLOID {
        if datum.value() != 0 {
            b"true"
        } else {
            b"false"
        }
    } else {
        text_bytes(datum, typ)
    }
}

/// Reads every row of the source into a matrix, one-hot encoding the
/// categorical features with `categories`. Runs with the caller's privileges (a plain SELECT),
/// so a missing SELECT grant fails here with 42501.
pub fn read_matrix(
    source: &Source,
    categories: &[Option<Vec<String>>],
    options: &FitOptions,
    max_bytes: usize,
) -> CoreResult<BuiltMatrix> {
    options.log_mask(&source.features)?;
    let columns = Columns::of(&source.features, categories);
    let mut builder =
        MatrixBuilder::new(columns.names.clone(), options.impute(), max_bytes).with_log(
            column_log_mask(&source.features, categories, options.log())?,
        );
    let mut skipped = SkippedNulls::new(columns.width());
    for_each_row(source, categories, |row| {
        if !builder.push(row)? {
            skipped.add(row);
        }
        Ok(())
    })?;
    let built = builder.finish()?;
    skipped.check(built.matrix.n_rows(), &source.features, &columns)?;
    Ok(built)
}

/// Per matrix column, the NULLs of the rows a builder left out for one (impute skip): when no
/// row is left, a feature NULL in every row is named, where "the source has no usable rows"
/// would leave the reader to guess (and its hint, impute mean, to a second error).
struct SkippedNulls {
    per_column: Vec<u64>,
    rows: u64,
}

impl SkippedNulls {
    fn new(width: usize) -> SkippedNulls {
        SkippedNulls {
            per_column: vec![0; width],
            rows: 0,
        }
    }

    fn add(&mut self, row: &[Option<f64>]) {
        self.rows += 1;
        for (n, v) in self.per_column.iter_mut().zip(row) {
            *n += u64::from(v.is_none());
        }
    }

    /// The error for a feature NULL in every row read, once `kept` rows were kept (none).
    fn check(&self, kept: usize, features: &[String], columns: &Columns) -> CoreResult<()> {
        if kept > 0 || self.rows == 0 {
            return Ok(());
        }
        let Some(j) = self.per_column.iter().position(|&n| n == self.rows) else {
            return Ok(());
        };
        let feature = columns.offsets.iter().rposition(|&at| at <= j).unwrap_or(0);
        Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!(
                "feature column \"{}\" is NULL in every row",
                features[feature]
            ),
        )
        .with_hint("Remove the column from the features array."))
    }
}

/// Calls `f` with every row of the source as matrix columns (NULL as None; categorical features
/// one-hot encoded with `categories`: an unknown value is all zeros, NULL is NULL in each of its
/// columns), as the executor produces them: no row is kept. The executor checks for interrupts
/// on every row.
pub fn for_each_row(
    source: &Source,
    categories: &[Option<Vec<String>>],
    mut f: impl FnMut(&[Option<f64>]) -> CoreResult<()>,
) -> CoreResult<()> {
    scan(source, categories, None, |row, _| f(row))
}

/// `for_each_row` that also reads one more column as text (a label), passed as its bytes.
pub fn for_each_row_with(
    source: &Source,
    categories: &[Option<Vec<String>>],
    extra: &str,
    f: impl FnMut(&[Option<f64>], Option<&[u8]>) -> CoreResult<()>,
) -> CoreResult<()> {
    scan(source, categories, Some(extra), f)
}

fn scan(
    source: &Source,
    categories: &[Option<Vec<String>>],
    extra: Option<&str>,
    mut f: impl FnMut(&[Option<f64>], Option<&[u8]>) -> CoreResult<()>,
) -> CoreResult<()> {
    // Numeric columns are read as stored and converted here (`numeric_f64`): the server's cast
    // prints each value as text and parses it back.
    let mut select: Vec<String> = source
        .features
        .iter()
        .zip(source.categorical.iter().zip(&source.numeric))
        .map(|(f, (&cat, &numeric))| {
            let q = pgrx::spi::quote_identifier(f);
            if cat {
                format!("{q}::text")
            } else if numeric {
                q
            } else {
                format!("{q}::float8")
            }
        })
        .collect();
    if let Some(e) = extra {
        select.push(format!("{}::text", pgrx::spi::quote_identifier(e)));
    }
    // The key columns are read as they are, and turned into text for the first bad row only.
    let key_at = select.len();
    if let Some((key, _)) = &source.row_key {
        select.extend(key.iter().cloned());
    }
    let mut query = format!("SELECT {} FROM {}", select.join(", "), source.sql_name);
    let mut params: Vec<pgrx::datum::DatumWithOid> = Vec::new();
    if let Some((column, value)) = &source.only {
        query.push_str(&format!(
            " WHERE {}::text = $1",
            pgrx::spi::quote_identifier(column)
        ));
        params.push(value.as_str().into());
    }
    if let (true, Some((key, _))) = (source.ordered, &source.row_key) {
        query.push_str(&format!(" ORDER BY {}", key.join(", ")));
    }
    let columns = Columns::of(&source.features, categories);
    let mut row: Vec<Option<f64>> = vec![None; columns.width()];
    let mut one_hot_buffer: Vec<f64> = Vec::new();
    let mut rows_read = 0u64;
    // A row whose data cannot be used: the first one's error and name, and how many there are.
    let mut bad: Option<(CoreError, String)> = None;
    let mut bad_rows_seen = 0u64;
    // Any other error stops the read.
    let mut failed: Option<CoreError> = None;
    // A text value stored compressed or out of line is expanded in this context, emptied every
    // REPORT_ROWS rows: the executor's own context lives as long as the whole read.
    let mut scratch = PgMemoryContexts::new("customer_segment source row");
    pinned(|| {
        Spi::connect(|_| {
            query_rows::for_each(&query, &params, query_rows::Plan::Serial, |values| {
                if rows_read.is_multiple_of(REPORT_ROWS) {
                    // The executor checks on every row it scans, not on rows out of a sort.
                    pgrx::check_for_interrupts!();
                    // SAFETY: nothing allocated in it is kept past the row.
                    unsafe { scratch.reset() };
                    progress::report(Progress::Reading { rows: rows_read });
                }
                rows_read += 1;
                // SAFETY: the columns are float8 (by value on 64-bit builds), numeric or text,
                // in the order of `select`.
                let result = unsafe {
                    scratch.switch_to(|_| {
                        for (j, &at) in columns.offsets.iter().enumerate() {
                            let datum = values.datum(j);
                            match categories.get(j).and_then(|c| c.as_ref()) {
                                None if source.numeric[j] => {
                                    row[at] = datum.map(|d| numeric_f64(d))
                                }
                                None => row[at] = datum.map(|d| f64::from_bits(d.value() as u64)),
                                Some(categories) => {
                                    one_hot_buffer.resize(categories.len(), 0.0);
                                    let value = datum.map(|d| text_bytes(d, pg_sys::TEXTOID));
                                    one_hot(categories, value, &mut one_hot_buffer);
                                    for (slot, &v) in row[at..at + categories.len()]
                                        .iter_mut()
                                        .zip(&one_hot_buffer)
                                    {
                                        *slot = (!v.is_nan()).then_some(v);
                                    }
                                }
                            }
                        }
                        let extra_value = extra.and_then(|_| {
                            values
                                .datum(source.features.len())
                                .map(|d| text_bytes(d, pg_sys::TEXTOID))
                        });
                        f(&row, extra_value)
                    })
                };
                match result {
                    Ok(()) => true,
                    Err(e) if is_row_data(&e) => {
                        bad_rows_seen += 1;
                        if bad.is_none() {
                            bad = Some((e, row_name(source, values, key_at, rows_read)));
                        }
                        true
                    }
                    Err(e) => {
                        failed = Some(e);
                        false
                    }
                }
            })
        })
    });
    // A later error (memory, say) must not hide the first bad row.
    match (bad, failed) {
        (Some((e, row)), _) => Err(bad_rows(e, &row, bad_rows_seen, rows_read)),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(()),
    }
}

/// How an unusable row is named in the error: by its key (or ctid), else by its number.
fn row_name(source: &Source, values: &query_rows::Row, key_at: usize, number: u64) -> String {
    match &source.row_key {
        Some((key, shown)) => {
            let values: Vec<String> = (0..key.len())
                .map(|i| values.text(key_at + i).unwrap_or_else(|| "NULL".into()))
                .collect();
            if shown == "ctid" {
                format!("the row at ctid {}", values.join(", "))
            } else {
                format!("the row with {shown} = ({})", values.join(", "))
            }
        }
        None => format!("row {number} of the source"),
    }
}

/// The first unusable row's error, naming the row and counting such rows.
fn bad_rows(first: CoreError, row: &str, count: u64, rows_read: u64) -> CoreError {
    CoreError {
        message: format!(
            "{} (in {row}; {count} of the {rows_read} rows read cannot be used)",
            first.message
        ),
        ..first
    }
}

/// An error about one row's values (a NaN or infinite number, a negative value under log, a
/// NULL under impute error): the scan goes on to count such rows before it reports the first.
fn is_row_data(e: &CoreError) -> bool {
    matches!(e.kind, ErrorKind::InvalidData | ErrorKind::NullValue)
}
