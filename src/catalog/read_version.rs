//! Reading a stored version: one catalog read of a version's row, and one set of errors
//! for it (a missing or forbidden model from `access`; a field that does not read is 55000).

use super::access::not_found;
use super::statements::read;
use crate::errors::{raise, raise_core};
use pgrx::datum::DatumWithOid;
use pgrx::PgSqlErrorCode;
use segment_core::model::document::SegmentModel;
use segment_core::model::groups::GroupIndex;
use segment_core::model::options::FitOptions;
use segment_core::model::stored::{read_labels, stored_options, StoredDocument};
use std::collections::BTreeMap;

/// A model version as stored.
pub struct Stored {
    pub name: String,
    pub version: i32,
    pub model: SegmentModel,
    /// The relation it was fitted on, as quoted SQL.
    pub source: String,
    /// Labels set with segment_rename, by segment.
    pub labels: BTreeMap<u32, String>,
    /// The options it was fitted with.
    pub options: FitOptions,
    /// A per-group model's group model: the grouping column and this group's value (its rows
    /// are the source's rows with that value).
    pub group: Option<(String, String)>,
    /// Made by segment_import (its source is usually in the database it was exported from).
    pub imported: bool,
}

impl Stored {
    /// Every segment's label, by segment: the analyst's, or the automatic one.
    pub fn labels(&self) -> Vec<String> {
        let automatic = self.model.automatic_labels();
        (0..self.model.k() as u32)
            .map(|s| self.label(s, &automatic))
            .collect()
    }

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
    let Some(row) = read_version(name, version) else {
        not_found(name, version)
    };
    stored(name, row)
}

/// The current version of a model, one model or a per-group model's index (one catalog read).
pub enum Current {
    One(Box<Stored>),
    Grouped(Box<StoredIndex>),
}

pub fn load_current(name: &str) -> Current {
    let Some(row) = read_version(name, None) else {
        not_found(name, None)
    };
    match index_of(name, &row) {
        Some(index) => Current::Grouped(Box::new(index)),
        None => Current::One(Box::new(stored(name, row))),
    }
}

/// The current version of a per-group model (`groups`): its index, source and options.
pub struct StoredIndex {
    pub index: GroupIndex,
    pub source: String,
    pub options: FitOptions,
}

/// The current version's model document as JSON, whatever its kind (CLV models are not segment
/// models).
pub fn load_stored(name: &str) -> StoredDocument {
    match current_document(name) {
        Some((version, d)) => {
            let document = StoredDocument::from_json(&d).unwrap_or_else(|mut e| {
                e.message = format!("model \"{name}\" version {version}: {}", e.message);
                raise_core(e)
            });
            if let StoredDocument::Grouped(index) = &document {
                index
                    .check_members(name)
                    .unwrap_or_else(|e| bad_field(name, version, "model", &e));
            }
            document
        }
        None => not_found(name, None),
    }
}

/// The current document of a model if there is a readable one (a refit matches its segments to
/// it); None otherwise, without raising.
pub fn current_model(name: &str) -> Option<(i32, SegmentModel)> {
    let (version, doc) = current_document(name)?;
    Some((version, SegmentModel::from_json(&doc).ok()?))
}

/// The metrics stored with version `version` of a model (read after `load`, which checked that
/// it exists and may be read).
pub fn metrics(name: &str, version: i32) -> serde_json::Value {
    read(
        "SELECT metrics::text FROM {s}.segment_model WHERE name = $1 AND version = $2",
        &[DatumWithOid::from(name), DatumWithOid::from(version)],
        |t| {
            if t.is_empty() {
                return None;
            }
            t.first().get::<String>(1).ok()?
        },
    )
    .and_then(|text| serde_json::from_str(&text).ok())
    .unwrap_or_else(|| not_found(name, Some(version)))
}

/// A model version's row: version, model document, source, labels and options as text, and for
/// a group model its grouping column and value.
pub(super) struct VersionRow {
    pub(super) version: i32,
    pub(super) doc: String,
    pub(super) source: String,
    pub(super) labels: String,
    pub(super) options: String,
    pub(super) group: Option<(String, String)>,
    pub(super) imported: bool,
}

pub(super) fn read_version(name: &str, version: Option<i32>) -> Option<VersionRow> {
    read(
        "SELECT version, model::text, source, labels::text, options::text, \
                metrics -> 'group' ->> 'group_by', metrics -> 'group' ->> 'value', \
                metrics ? 'imported_from' \
         FROM {s}.segment_model \
         WHERE name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        &[DatumWithOid::from(name), DatumWithOid::from(version)],
        |t| {
            if t.is_empty() {
                return None;
            }
            let row = t.first();
            let group_by = row.get::<String>(6).ok()?;
            let value = row.get::<String>(7).ok()?;
            Some(VersionRow {
                version: row.get::<i32>(1).ok()??,
                doc: row.get::<String>(2).ok()??,
                source: row.get::<String>(3).ok()??,
                labels: row.get::<String>(4).ok()??,
                options: row.get::<String>(5).ok()??,
                group: group_by.zip(value),
                imported: row.get::<bool>(8).ok()?.unwrap_or(false),
            })
        },
    )
}

fn stored(name: &str, row: VersionRow) -> Stored {
    let VersionRow {
        version,
        doc,
        source,
        labels,
        options,
        group,
        imported,
    } = row;
    let model = SegmentModel::from_json(&doc).unwrap_or_else(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        raise_core(e)
    });
    // Labels and options are untrusted like the document (any role may write its own rows):
    // what does not read is an error naming the field, never dropped or replaced by defaults.
    let labels = serde_json::from_str(&labels)
        .map_err(|e| e.to_string())
        .and_then(|l| read_labels(&l, model.k()))
        .unwrap_or_else(|e| bad_field(name, version, "labels", &e))
        .into_iter()
        .collect();
    let options = stored_options(model.method(), &options)
        .unwrap_or_else(|e| bad_field(name, version, "options", &e.message));
    Stored {
        name: name.to_string(),
        version,
        model,
        source,
        labels,
        options,
        group,
        imported,
    }
}

/// The index in a version's row, if it is a per-group model's.
pub(super) fn index_of(name: &str, row: &VersionRow) -> Option<StoredIndex> {
    let VersionRow {
        version,
        doc,
        source,
        options,
        ..
    } = row;
    // A cheap test first: every assign statement passes here.
    if !doc.contains("\"grouped\"") {
        return None;
    }
    let index = GroupIndex::if_index(doc).unwrap_or_else(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        raise_core(e)
    })?;
    index
        .check_members(name)
        .unwrap_or_else(|e| bad_field(name, *version, "model", &e));
    Some(StoredIndex {
        index,
        source: source.clone(),
        options: FitOptions::from_json(options)
            .unwrap_or_else(|e| bad_field(name, *version, "options", &e.message)),
    })
}

/// The current version's document, if the caller can see one.
pub(super) fn current_document(name: &str) -> Option<(i32, String)> {
    read(
        "SELECT version, model::text FROM {s}.segment_model WHERE name = $1 \
         ORDER BY version DESC LIMIT 1",
        &[DatumWithOid::from(name)],
        |t| {
            if t.is_empty() {
                return None;
            }
            let (version, doc) = t.first().get_two::<i32, String>().ok()?;
            Some((version?, doc?))
        },
    )
}

/// Raises 55000 for a stored field that does not read: the row was written by hand or by an
/// edited import (the extension writes none such), and falling back to defaults would change
/// what the model answers without a word.
fn bad_field(name: &str, version: i32, field: &str, problem: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("model \"{name}\" version {version}: its stored {field} cannot be read: {problem}"),
        Some(
            "The extension never stores such a row: refit the model, or drop it with segment_drop.",
        ),
    )
}
