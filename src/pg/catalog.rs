//! The model catalog (`segment_model`, created by sql/catalog.sql): writing versions, reading the
//! current one, dropping. Every statement names the table through the extension's own schema,
//! looked up in pg_extension, so a caller's search_path cannot redirect it.

use super::errors::{raise, raise_core};
use crate::core::model::SegmentModel;
use crate::core::options::FitOptions;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use std::collections::BTreeMap;

/// `"schema".segment_model`, quoted.
fn table() -> String {
    // A read-only SPI call: Spi::get_one would mark the transaction mutable, which assigns an
    // XID (and fails inside a parallel worker running segment_assign).
    let schema = Spi::connect(|client| {
        client
            .select(
                "SELECT n.nspname::text FROM pg_catalog.pg_extension e \
                 JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
                 WHERE e.extname = 'customer_segment'",
                Some(1),
                &[],
            )
            .ok()?
            .first()
            .get_one::<String>()
            .ok()
            .flatten()
    })
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "extension \"customer_segment\" is not installed in this database",
            Some("Run CREATE EXTENSION customer_segment."),
        )
    });
    format!("{}.segment_model", pgrx::spi::quote_identifier(schema))
}

/// Checks a model name given by the caller.
pub fn check_name(name: &str) {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control()) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid model name \"{}\"", name.escape_default()),
            Some("A model name is 1 to 128 printable characters."),
        );
    }
}

pub struct NewVersion<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub options: String,
    pub model: String,
    pub metrics: String,
    pub rows_used: i64,
    pub rows_skipped: i64,
}

/// Inserts the next version of `name` and returns its number. A transaction-scoped advisory lock
/// on the name serializes concurrent fits of one name, so versions never collide.
pub fn insert(v: NewVersion<'_>) -> i32 {
    let table = table();
    let query = format!(
        "WITH lock AS (SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('customer_segment:' || $1))) \
         INSERT INTO {table} (name, version, source, options, model, metrics, rows_used, rows_skipped) \
         SELECT $1, coalesce((SELECT max(version) FROM {table} WHERE name = $1), 0) + 1, \
                $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7 FROM lock \
         RETURNING version"
    );
    Spi::connect_mut(|client| {
        let args = [
            DatumWithOid::from(v.name),
            DatumWithOid::from(v.source),
            DatumWithOid::from(v.options.as_str()),
            DatumWithOid::from(v.model.as_str()),
            DatumWithOid::from(v.metrics.as_str()),
            DatumWithOid::from(v.rows_used),
            DatumWithOid::from(v.rows_skipped),
        ];
        client
            .update(query.as_str(), None, &args)
            .and_then(|t| t.first().get_one::<i32>())
            .ok()
            .flatten()
            .expect("INSERT .. RETURNING gives one row")
    })
}

/// A model version as stored.
pub struct Stored {
    pub version: i32,
    pub model: SegmentModel,
    /// The relation it was fitted on, as quoted SQL.
    pub source: String,
    /// Labels set with segment_rename, by segment.
    pub labels: BTreeMap<u32, String>,
    /// The options it was fitted with.
    pub options: FitOptions,
}

impl Stored {
    /// The analyst's label of a segment, or the automatic one.
    pub fn label(&self, segment: u32, automatic: &[String]) -> String {
        self.labels
            .get(&segment)
            .cloned()
            .unwrap_or_else(|| automatic[segment as usize].clone())
    }
}

/// A version of a model (the current, newest one when `version` is None).
pub fn load(name: &str, version: Option<i32>) -> Stored {
    let query = format!(
        "SELECT version, model::text, source, labels::text, options::text FROM {} \
         WHERE name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        table()
    );
    let found = Spi::connect(|client| {
        let t = client
            .select(
                query.as_str(),
                Some(1),
                &[DatumWithOid::from(name), DatumWithOid::from(version)],
            )
            .ok()?;
        if t.is_empty() {
            return None;
        }
        let row = t.first();
        Some((
            row.get::<i32>(1).ok()??,
            row.get::<String>(2).ok()??,
            row.get::<String>(3).ok()??,
            row.get::<String>(4).ok()??,
            row.get::<String>(5).ok()??,
        ))
    });
    let Some((version, doc, source, labels, options)) = found else {
        let (what, hint) = match version {
            Some(v) => (
                format!("model \"{name}\" has no version {v}"),
                "See SELECT name, version FROM segment_models.",
            ),
            None => (
                format!("model \"{name}\" does not exist"),
                "See SELECT name, version FROM segment_models; fit one with segment_fit.",
            ),
        };
        raise(PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT, what, Some(hint))
    };
    let model = SegmentModel::from_json(&doc).unwrap_or_else(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        raise_core(e)
    });
    let labels: BTreeMap<String, String> = serde_json::from_str(&labels).unwrap_or_default();
    let labels = labels
        .into_iter()
        .filter_map(|(s, l)| Some((s.parse().ok()?, l)))
        .collect();
    // Stored options were validated when the model was fitted.
    let options = FitOptions::from_json(&options).unwrap_or_default();
    Stored {
        version,
        model,
        source,
        labels,
        options,
    }
}

/// The current document of a model if there is a readable one (a refit matches its segments to
/// it); None otherwise, without raising.
pub fn current_model(name: &str) -> Option<(i32, SegmentModel)> {
    let query = format!(
        "SELECT version, model::text FROM {} WHERE name = $1 ORDER BY version DESC LIMIT 1",
        table()
    );
    let (version, doc) = Spi::connect(|client| {
        let t = client
            .select(query.as_str(), Some(1), &[DatumWithOid::from(name)])
            .ok()?;
        if t.is_empty() {
            return None;
        }
        t.first().get_two::<i32, String>().ok()
    })?;
    Some((version?, SegmentModel::from_json(&doc?).ok()?))
}

/// The current version's model document as JSON, whatever its kind (CLV models are not segment
/// models).
pub fn load_document(name: &str) -> serde_json::Value {
    let query = format!(
        "SELECT model::text FROM {} WHERE name = $1 ORDER BY version DESC LIMIT 1",
        table()
    );
    let doc = Spi::connect(|client| {
        let t = client
            .select(query.as_str(), Some(1), &[DatumWithOid::from(name)])
            .ok()?;
        if t.is_empty() {
            return None;
        }
        t.first().get_one::<String>().ok().flatten()
    });
    match doc {
        Some(d) => serde_json::from_str(&d).unwrap_or(serde_json::Value::Null),
        None => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("model \"{name}\" does not exist"),
            Some("See SELECT name, version FROM segment_models."),
        ),
    }
}

/// Sets (or with None, clears) the label of one segment of the current version.
pub fn set_label(name: &str, version: i32, segment: u32, label: Option<&str>) {
    let query = format!(
        "UPDATE {} SET labels = CASE WHEN $4::text IS NULL THEN labels - $3::text \
                                     ELSE labels || jsonb_build_object($3::text, $4::text) END \
         WHERE name = $1 AND version = $2",
        table()
    );
    Spi::connect_mut(|client| {
        client
            .update(
                query.as_str(),
                None,
                &[
                    DatumWithOid::from(name),
                    DatumWithOid::from(version),
                    DatumWithOid::from(segment.to_string().as_str()),
                    DatumWithOid::from(label),
                ],
            )
            .map(|_| ())
            .unwrap_or_else(|e| {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("could not store the label: {e}"),
                    None,
                )
            })
    });
}

/// Deletes every version of a model; returns how many.
pub fn drop_model(name: &str) -> i64 {
    let query = format!("DELETE FROM {} WHERE name = $1", table());
    let n = Spi::connect_mut(|client| {
        client
            .update(query.as_str(), None, &[DatumWithOid::from(name)])
            .map(|t| t.len())
            .unwrap_or(0)
    });
    if n == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("model \"{name}\" does not exist"),
            Some("See SELECT name FROM segment_models."),
        );
    }
    n as i64
}
