//! Writing versions: a new version of a model (checked, under the name's lock, not to change
//! what the name means) and the labels of a version's segments.

use super::access::require_manage;
use super::lock::under_lock;
use super::read_version::current_meaning;
use super::statements::{schema, write};
use crate::errors::raise;
use crate::search_path::pinned;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::document::Meaning;
use segment_core::model::stored::CLV;

pub struct NewVersion<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub options: String,
    pub model: String,
    pub metrics: String,
    pub rows_used: i64,
    pub rows_skipped: i64,
    /// What the new version means, checked against the current one under the name's lock.
    pub meaning: Meaning,
    /// The call said the meaning may change.
    pub replace: bool,
    /// A fit or an import (the refusal's words).
    pub made_by: MadeBy,
}

/// Inserts the next version of `name` (creating the name, owned by the caller, on its first fit)
/// and returns its number. The name's lock (`under_lock`) serializes concurrent fits and drops of
/// one name; the checks under it see every version committed before it.
pub fn insert(v: NewVersion<'_>) -> i32 {
    under_lock(v.name, || insert_locked(v))
}

fn insert_locked(v: NewVersion<'_>) -> i32 {
    require_manage(v.name, true);
    check_meaning(v.name, &v.meaning, v.replace, v.made_by);
    write(
        "INSERT INTO {s}.segment_model_access (name, owner) \
         SELECT $1, r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user \
         ON CONFLICT (name) DO NOTHING",
        &[DatumWithOid::from(v.name)],
    );
    let query =
        "INSERT INTO {s}.segment_model (name, version, format_version, source, options, model, \
                                      metrics, rows_used, rows_skipped) \
         SELECT $1, coalesce((SELECT max(version) FROM {s}.segment_model WHERE name = $1), 0) + 1, \
                ($4::jsonb ->> 'format_version')::int, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7 \
         RETURNING version"
            .replace("{s}", &schema());
    pinned(|| {
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
    })
}

/// What makes a new version: a fit (which may say `replace` in its options) or an import (which
/// may not: the model has to be dropped first). Words for `check_meaning`'s refusal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MadeBy {
    Fit,
    Import,
}

/// Refuses a new version that would change what an existing name means (new features, label or
/// method: `Meaning`), unless the call says `replace`: a view or rule using the name would
/// silently start serving something else. A refit with the same meaning (other k, options or
/// rows) is a new version as always. Fits call it before their work, to fail fast, and `insert`
/// again under the name's lock, where it cannot race with another session's fit.
pub fn check_meaning(name: &str, new: &Meaning, replace: bool, by: MadeBy) {
    if replace {
        return;
    }
    // A damaged current version means nothing a view could rely on: a new one may replace it.
    let Some(current) = current_meaning(name) else {
        return;
    };
    let list = |v: &[String]| {
        let quoted: Vec<String> = v
            .iter()
            .map(|f| segment_core::sql::quote_literal(f))
            .collect();
        format!("ARRAY[{}]", quoted.join(", "))
    };
    let show = |v: &Option<String>| v.as_ref().map_or("none".into(), |v| format!("\"{v}\""));
    let mut differs = Vec::new();
    if current.features != new.features {
        let what = if new.method == CLV || current.method == CLV {
            "columns"
        } else {
            "features"
        };
        differs.push(format!(
            "{what} {} instead of {}",
            list(&new.features),
            list(&current.features)
        ));
    }
    if current.method != new.method {
        differs.push(format!(
            "method {} instead of {}",
            new.method, current.method
        ));
    }
    if current.group_by != new.group_by {
        differs.push(format!(
            "grouping column {} instead of {}",
            show(&new.group_by),
            show(&current.group_by)
        ));
    }
    if current.label != new.label {
        differs.push(format!(
            "label {} instead of {}",
            show(&new.label),
            show(&current.label)
        ));
    }
    if !differs.is_empty() {
        let (this, fix) = match by {
            MadeBy::Fit => (
                "this fit",
                "the new fit. Fit under another name, or pass options => '{\"replace\": true}' \
                 to replace it on purpose.",
            ),
            MadeBy::Import => (
                "this import",
                "the imported model. Import it under another name (segment_import's name \
                 argument), or drop the model first with segment_drop to replace it on purpose.",
            ),
        };
        raise(
            PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
            format!(
                "model \"{name}\" already exists, and {this} would change what it means: {}",
                differs.join("; ")
            ),
            Some(&format!(
                "Views and rules that use \"{name}\" would start serving {fix}"
            )),
        );
    }
}

/// Sets (or with None, clears) the label of one segment of a version.
pub fn set_label(name: &str, version: i32, segment: u32, label: Option<&str>) {
    require_manage(name, false);
    write(
        "UPDATE {s}.segment_model \
         SET labels = CASE WHEN $4::text IS NULL THEN labels - $3::text \
                           ELSE labels || jsonb_build_object($3::text, $4::text) END \
         WHERE name = $1 AND version = $2",
        &[
            DatumWithOid::from(name),
            DatumWithOid::from(version),
            DatumWithOid::from(segment.to_string().as_str()),
            DatumWithOid::from(label),
        ],
    );
}

/// Sets one key of a version's metrics document (`segment_stability`'s result), replacing what
/// the key held: the rest of the document stays the fit's.
pub fn set_metric(name: &str, version: i32, key: &str, json: &str) {
    require_manage(name, false);
    write(
        "UPDATE {s}.segment_model SET metrics = metrics || jsonb_build_object($3::text, $4::jsonb) \
         WHERE name = $1 AND version = $2",
        &[
            DatumWithOid::from(name),
            DatumWithOid::from(version),
            DatumWithOid::from(key),
            DatumWithOid::from(json),
        ],
    );
}
