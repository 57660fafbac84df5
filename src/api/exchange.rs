//! Moving models between databases: `segment_export(model) → jsonb` and
//! `segment_import(doc jsonb, name text DEFAULT NULL)` (SQL, over `segment_import_text`). The
//! export is the catalog row as one document (format in docs/reference.md, "Exchange"), for every
//! kind of model: a per-group model's document carries its group models' documents
//! (`group_models`). The import checks everything in it with the readers the catalog uses, then
//! stores it.

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, raise_core, require};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use segment_core::error::CoreError;
use segment_core::model::groups::member_name;
use segment_core::model::options::FitOptions;
use segment_core::model::stored::{read_labels, stored_options, StoredDocument};
use segment_core::value::clv::ClvOptions;

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_import(doc jsonb, name text DEFAULT NULL)
    RETURNS TABLE(model text, version integer)
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM @extschema@.segment_import_text(doc::text, name) $$;
COMMENT ON FUNCTION segment_import(jsonb, text) IS
    'stores a document made by segment_export as a new model version, after checking every part of it';
"#,
    name = "segment_import_sql",
    requires = [segment_import_text]
);
use serde_json::Value;

/// The version of the export document's own layout (the model inside has its format_version).
const EXPORT_VERSION: u64 = 1;

/// The current version of a model as one JSON document: `customer_segment_export` (1), `name`,
/// `version`, `format_version`, `model` (features, preprocessing, centres or tree, profile; a
/// CLV model's parameters; a per-group model's index), `options`, `metrics`, `labels`, `source`,
/// `rows_used`, `rows_skipped`, and for a per-group model `group_models`: the export of each
/// group model its index uses.
#[pg_extern(stable, parallel_safe)]
fn segment_export(model: Option<&str>) -> JsonB {
    let name = require(model, "model");
    // Permission, existence and a readable document of any kind, with the usual errors.
    let row = catalog::read_row(name, None);
    let document = catalog::document(name, &row);
    let mut export = export_row(name, &row);
    if let StoredDocument::Grouped(index) = &document {
        let members: Vec<Value> = index
            .members()
            .map(|(member, version)| {
                let row = catalog::find_row(member, Some(version)).unwrap_or_else(|| {
                    raise(
                        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                        format!("model \"{name}\": its group model \"{member}\" version {version} cannot be read"),
                        Some("Refit the per-group model with segment_refit, then export it."),
                    )
                });
                export_row(member, &row)
            })
            .collect();
        export["group_models"] = Value::Array(members);
    }
    JsonB(export)
}

/// One catalog row as an export document.
fn export_row(name: &str, row: &catalog::StoredRow) -> Value {
    // The JSON columns come from jsonb, which holds numbers serde_json cannot (1e400): such a
    // row was written by hand, and is refused like any stored field that does not read.
    let json = |field: &str, text: &str| -> Value {
        serde_json::from_str(text)
            .unwrap_or_else(|e| catalog::bad_field(name, row.version, field, &e.to_string()))
    };
    serde_json::json!({
        "customer_segment_export": EXPORT_VERSION,
        "name": name,
        "version": row.version,
        "format_version": row.format_version,
        "model": json("model", &row.model),
        "options": json("options", &row.options),
        "metrics": json("metrics", &row.metrics),
        "labels": json("labels", &row.labels),
        "source": row.source,
        "rows_used": row.rows_used,
        "rows_skipped": row.rows_skipped,
    })
}

fn refuse(message: impl Into<String>) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("segment_import: {}", message.into()),
        Some("Pass a document made by segment_export, unchanged."),
    )
}

fn count(doc: &Value, key: &str, default: u64) -> i64 {
    match doc.get(key) {
        None | Some(Value::Null) => default as i64,
        Some(v) => v
            .as_u64()
            .filter(|&n| n <= i64::MAX as u64)
            .unwrap_or_else(|| refuse(format!("\"{key}\" must be a count of rows, not {v}")))
            as i64,
    }
}

/// `segment_import(doc jsonb, name text)`'s work, on the document as text: pgrx's jsonb
/// conversion would fail on numbers outside float8's range before any check could name them.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_import_text(
    doc: Option<&str>,
    name: Option<String>,
) -> TableIterator<'static, (name!(model, String), name!(version, i32))> {
    let doc: Value = serde_json::from_str(require(doc, "doc"))
        .unwrap_or_else(|e| refuse(format!("the document is not readable: {e}")));
    let name = name
        .or_else(|| doc.get("name").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| refuse("no model name: pass one as the name argument"));
    let version = import(&doc, &name, None);
    TableIterator::once((name, version))
}

/// Stores one export document as the next version of `name`; `group` is the `metrics.group`
/// of a group model imported with its per-group model. Returns the version.
fn import(doc: &Value, name: &str, group: Option<Value>) -> i32 {
    if !doc.is_object() {
        refuse("the document is not a JSON object");
    }
    match doc.get("customer_segment_export").and_then(Value::as_u64) {
        Some(EXPORT_VERSION) => {}
        Some(other) => refuse(format!(
            "export format {other}; this version of customer_segment reads {EXPORT_VERSION}"
        )),
        None => refuse("not a customer_segment export (no \"customer_segment_export\" key)"),
    }
    catalog::check_fit_name(name);
    let model_doc = doc
        .get("model")
        .unwrap_or_else(|| refuse("the document has no \"model\""));
    // The export states the model's format beside it: a document whose two disagree was edited
    // or assembled by hand, and which one to believe cannot be told.
    let stated = doc.get("format_version");
    if stated.is_some_and(|v| Some(v) != model_doc.get("format_version")) {
        refuse(format!(
            "the document says format version {}, its model {}",
            stated.expect("some"),
            model_doc.get("format_version").unwrap_or(&Value::Null)
        ));
    }
    let document = StoredDocument::from_json(&model_doc.to_string())
        .unwrap_or_else(|e| refuse(e.message.replace("stored ", "the ")));
    let options = doc
        .get("options")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let mut metrics = match doc.get("metrics") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => refuse("\"metrics\" must be an object"),
    };
    metrics.insert(
        "imported_from".into(),
        serde_json::json!({ "name": doc.get("name"), "version": doc.get("version") }),
    );
    // A group model stands alone unless it comes with its per-group model.
    let is_member = group.is_some();
    metrics.remove("group");
    if let Some(g) = group {
        metrics.insert("group".into(), g);
    }
    // The relation it was fitted on, in the database it came from: a schema-qualified name
    // (what the extension writes), or none. It is only ever looked up, never run as SQL.
    let source = match doc.get("source") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if segment_core::sql::parse_qualified_name(s).is_some() => s.clone(),
        Some(_) => refuse("\"source\" must be a schema-qualified relation name"),
    };
    let no_labels = || {
        if doc
            .get("labels")
            .is_some_and(|l| l.as_object().is_none_or(|m| !m.is_empty()))
        {
            refuse("only a segment model has labels");
        }
        Vec::new()
    };
    // Options read as the catalog reads them back (the same checks, one reader).
    let options_read = |checked: Result<(), CoreError>| {
        checked.unwrap_or_else(|mut e| {
            e.message = format!("segment_import: options: {}", e.message);
            raise_core(e)
        })
    };
    let (model_json, labels, rows_default, members) = match &document {
        StoredDocument::Segment(model) => {
            options_read(stored_options(model.method(), &options.to_string()).map(drop));
            let labels = match doc.get("labels") {
                None | Some(Value::Null) => vec![],
                Some(l) => read_labels(l, model.k()).unwrap_or_else(|e| refuse(e)),
            };
            let rows: u64 = model.profile.sizes.iter().sum();
            (model.to_json(), labels, rows, Vec::new())
        }
        StoredDocument::Clv(model) => {
            options_read(ClvOptions::from_value(&options).map(drop));
            let labels = no_labels();
            (
                serde_json::to_string(model).expect("a CLV model serializes"),
                labels,
                0,
                Vec::new(),
            )
        }
        StoredDocument::Grouped(index) => {
            options_read(FitOptions::from_json(&options.to_string()).map(drop));
            let labels = no_labels();
            // Its group models first, each under this name's group name, then the index that
            // names them.
            let embedded = doc
                .get("group_models")
                .and_then(Value::as_array)
                .unwrap_or_else(|| refuse("a per-group model's document has no \"group_models\""));
            if is_member || embedded.iter().any(|e| e.get("group_models").is_some()) {
                refuse("a group model cannot itself be a per-group model");
            }
            // A new per-group model makes new group models: a model that already has one of
            // their names is someone's own (another role's, for a superuser importing), never
            // to be written into or re-granted by this import.
            let parent_is_new = matches!(catalog::access(name).0, catalog::Access::Missing);
            let mut index = (**index).clone();
            let mut members = Vec::new();
            for g in index.groups.iter_mut() {
                let (Some(old), Some(old_version)) = (g.model.clone(), g.version) else {
                    continue;
                };
                let member_doc = embedded
                    .iter()
                    .find(|e| {
                        e.get("name").and_then(Value::as_str) == Some(old.as_str())
                            && e.get("version").and_then(Value::as_i64) == Some(old_version.into())
                    })
                    .unwrap_or_else(|| {
                        refuse(format!(
                            "the group \"{}\" names model \"{old}\" version {old_version}, which \"group_models\" does not hold",
                            g.value
                        ))
                    });
                let member = member_name(name, &g.value);
                if parent_is_new && !matches!(catalog::access(&member).0, catalog::Access::Missing)
                {
                    refuse(format!(
                        "model \"{member}\" exists already: a new per-group model \"{name}\" cannot take it as its group model"
                    ));
                }
                let group = serde_json::json!({"model": name, "group_by": index.group_by, "value": g.value});
                g.version = Some(import(member_doc, &member, Some(group)));
                g.model = Some(member.clone());
                members.push(member);
            }
            let rows = index.groups.iter().map(|g| g.rows).sum();
            (index.to_json(), labels, rows, members)
        }
    };
    let version = catalog::insert(NewVersion {
        name,
        source: &source,
        options: options.to_string(),
        model: model_json,
        metrics: Value::Object(metrics).to_string(),
        rows_used: count(doc, "rows_used", rows_default),
        rows_skipped: count(doc, "rows_skipped", 0),
        meaning: document.meaning(),
        replace: false,
        made_by: catalog::MadeBy::Import,
    });
    for (segment, label) in labels {
        catalog::set_label(name, version, segment, Some(&label));
    }
    for member in &members {
        catalog::inherit_access(name, member);
    }
    version
}
