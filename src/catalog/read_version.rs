//! Reading a stored version. One statement reads a version's row (`find_row`), and one reader
//! turns "no row" into the one set of errors (`read_row`: 42704 for a name nobody has or a
//! version it lacks, 42501 for someone else's model, from `access::not_found`). Everything
//! built on a row reads its fields the same way: a model document that does not read raises
//! the core's error prefixed with the model and version; labels, options, metrics or a group
//! index that do not read raise 55000 naming the field (`bad_field`). The only readers that do
//! not raise are the two a new version consults about the one it replaces (`current_model`,
//! `current_meaning`): a damaged current version is what a refit or an import may replace.

use super::access::not_found;
use super::statements::read;
use crate::errors::{raise, raise_core};
use pgrx::datum::DatumWithOid;
use pgrx::PgSqlErrorCode;
use segment_core::error::CoreError;
use segment_core::model::document::{Meaning, SegmentModel};
use segment_core::model::groups::GroupIndex;
use segment_core::model::options::FitOptions;
use segment_core::model::stored::{read_labels, stored_options, StoredDocument, StoredOptions};
use std::collections::BTreeMap;

/// A version's row as the catalog holds it: every column the extension reads, the JSON ones
/// as text, none of them checked yet (any role may write its own rows).
pub struct StoredRow {
    pub version: i32,
    pub format_version: i32,
    /// The model document.
    pub model: String,
    /// The relation it was fitted on, as quoted SQL (empty for an import without one).
    pub source: String,
    pub options: String,
    pub metrics: String,
    /// Labels set with segment_rename: `{"segment": "label"}`.
    pub labels: String,
    pub rows_used: i64,
    pub rows_skipped: i64,
    /// A per-group model's group model: `metrics.group`'s grouping column and value.
    pub group: Option<(String, String)>,
    /// Made by segment_import (`metrics.imported_from`).
    pub imported: bool,
}

/// The row of version `version` of `name` (the current, newest one when None) that the caller
/// can see, or None: the one statement that reads a version of a model.
pub fn find_row(name: &str, version: Option<i32>) -> Option<StoredRow> {
    read(
        "SELECT version, format_version, model::text, source, options::text, metrics::text, \
                labels::text, rows_used, rows_skipped, \
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
            let group_by = row.get::<String>(10).ok()?;
            let value = row.get::<String>(11).ok()?;
            Some(StoredRow {
                version: row.get::<i32>(1).ok()??,
                format_version: row.get::<i32>(2).ok()??,
                model: row.get::<String>(3).ok()??,
                source: row.get::<String>(4).ok()??,
                options: row.get::<String>(5).ok()??,
                metrics: row.get::<String>(6).ok()??,
                labels: row.get::<String>(7).ok()??,
                rows_used: row.get::<i64>(8).ok()??,
                rows_skipped: row.get::<i64>(9).ok()??,
                group: group_by.zip(value),
                imported: row.get::<bool>(12).ok()?.unwrap_or(false),
            })
        },
    )
}

/// The one reader: the row of version `version` of `name` (the current one when None), or the
/// error for a model the caller may not read, or a name or version that does not exist.
pub fn read_row(name: &str, version: Option<i32>) -> StoredRow {
    find_row(name, version).unwrap_or_else(|| not_found(name, version))
}

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
    pub options: StoredOptions,
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
    load_sized(name, version).0
}

/// `load`, with the length of the stored document (as `load_current_sized`).
pub fn load_sized(name: &str, version: Option<i32>) -> (Stored, usize) {
    let row = read_row(name, version);
    let bytes = row.model.len();
    (stored(name, row), bytes)
}

/// The current version of a model, one model or a per-group model's index (one catalog read).
pub enum Current {
    One(Box<Stored>),
    Grouped(Box<StoredIndex>),
}

pub fn load_current(name: &str) -> Current {
    load_current_sized(name).0
}

/// `load_current`, with the version and the length of its stored document (the model cache's
/// estimate of what the parsed model holds: model_cache.rs).
pub fn load_current_sized(name: &str) -> (Current, i32, usize) {
    let row = read_row(name, None);
    let (version, bytes) = (row.version, row.model.len());
    let current = match index_of(name, &row) {
        Some(index) => Current::Grouped(Box::new(index)),
        None => Current::One(Box::new(stored(name, row))),
    };
    (current, version, bytes)
}

/// The current version of a per-group model (`groups`): its index, source and options.
pub struct StoredIndex {
    pub index: GroupIndex,
    pub source: String,
    pub options: FitOptions,
}

/// The current version's model document, whatever its kind (CLV models are not segment
/// models).
pub fn load_stored(name: &str) -> StoredDocument {
    document(name, &read_row(name, None))
}

/// A row's model document, whatever its kind; a per-group model's index must name its own
/// group models.
pub fn document(name: &str, row: &StoredRow) -> StoredDocument {
    let document =
        StoredDocument::from_json(&row.model).unwrap_or_else(|e| unreadable(name, row.version, e));
    if let StoredDocument::Grouped(index) = &document {
        index
            .check_members(name)
            .unwrap_or_else(|e| bad_field(name, row.version, "model", &e));
    }
    document
}

/// The metrics stored with version `version` of a model.
pub fn metrics(name: &str, version: i32) -> serde_json::Value {
    let row = read_row(name, Some(version));
    serde_json::from_str(&row.metrics)
        .unwrap_or_else(|e| bad_field(name, row.version, "metrics", &e.to_string()))
}

/// The current document of a model if there is a readable one (a refit matches its segments to
/// it); None otherwise, without raising.
pub fn current_model(name: &str) -> Option<(i32, SegmentModel)> {
    let row = find_row(name, None)?;
    Some((row.version, SegmentModel::from_json(&row.model).ok()?))
}

/// What the current version means (`check_meaning`), if the caller can see one that reads;
/// None otherwise, without raising: a damaged current version means nothing a view could rely
/// on, and a new version may replace it.
pub(super) fn current_meaning(name: &str) -> Option<Meaning> {
    let row = find_row(name, None)?;
    Some(StoredDocument::from_json(&row.model).ok()?.meaning())
}

fn stored(name: &str, row: StoredRow) -> Stored {
    let StoredRow {
        version,
        model,
        source,
        labels,
        options,
        group,
        imported,
        ..
    } = row;
    let model = SegmentModel::from_json(&model).unwrap_or_else(|e| unreadable(name, version, e));
    // Labels and options are untrusted like the document (any role may write its own rows):
    // what does not read is an error naming the field, never dropped or replaced by defaults.
    let labels = serde_json::from_str(&labels)
        .map_err(|e| e.to_string())
        .and_then(|l| read_labels(&l, model.k()))
        .unwrap_or_else(|e| bad_field(name, version, "labels", &e))
        .into_iter()
        .collect();
    let options = stored_options(&model, &options)
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
pub(super) fn index_of(name: &str, row: &StoredRow) -> Option<StoredIndex> {
    let StoredRow {
        version,
        model,
        source,
        options,
        ..
    } = row;
    // A cheap test first: every assign statement passes here.
    if !model.contains("\"grouped\"") {
        return None;
    }
    let index = GroupIndex::if_index(model).unwrap_or_else(|e| unreadable(name, *version, e))?;
    index
        .check_members(name)
        .unwrap_or_else(|e| bad_field(name, *version, "model", &e));
    // Read with the index's k: a refit of the per-group model asks for it again.
    let options = FitOptions::stored(options, index.k.map(|k| k as usize))
        .unwrap_or_else(|e| bad_field(name, *version, "options", &e.message));
    Some(StoredIndex {
        index,
        source: source.clone(),
        options,
    })
}

/// Raises a model document's reading error (the core's SQLSTATE and words), naming the model
/// and version.
fn unreadable(name: &str, version: i32, mut e: CoreError) -> ! {
    e.message = format!("model \"{name}\" version {version}: {}", e.message);
    raise_core(e)
}

/// Raises 55000 for a stored field that does not read: the row was written by hand or by an
/// edited import (the extension writes none such), and falling back to defaults would change
/// what the model answers without a word.
pub fn bad_field(name: &str, version: i32, field: &str, problem: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("model \"{name}\" version {version}: its stored {field} cannot be read: {problem}"),
        Some(
            "The extension never stores such a row: refit the model, or drop it with segment_drop.",
        ),
    )
}
