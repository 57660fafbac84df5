//! Moving models between databases: `segment_export(model) → jsonb` and
//! `segment_import(doc jsonb, name text DEFAULT NULL)` (SQL, over `segment_import_text`). The
//! export is the catalog row as one document (format in docs/reference.md, "Exchange"), for every
//! kind of model: a per-group model's document carries its group models' documents
//! (`group_models`). The document is `segment_core::model::exchange::ExportDocument`: the export
//! is built as one from the catalog's reader (`catalog::read_row`), and the import reads one
//! (refusing keys it does not know), checks everything in it with the readers the catalog uses,
//! then stores it.

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, raise_core, require};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use segment_core::model::exchange::{ExportDocument, EXPORT_VERSION, SOURCE_REFUSAL};
use segment_core::model::groups::member_name;
use segment_core::model::stored::StoredDocument;
use serde_json::Value;

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
        let members = index
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
        export.group_models = Some(members);
    }
    JsonB(serde_json::to_value(&export).expect("an export document serializes"))
}

/// One catalog row as an export document.
fn export_row(name: &str, row: &catalog::StoredRow) -> ExportDocument {
    // The JSON columns come from jsonb, which holds what serde_json cannot read (1e400): such a
    // row was written by hand, and is refused like any stored field that does not read.
    let json = |field: &str, text: &str| -> Value {
        serde_json::from_str(text)
            .unwrap_or_else(|e| catalog::bad_field(name, row.version, field, &e.to_string()))
    };
    let metrics = match json("metrics", &row.metrics) {
        Value::Object(m) => m,
        _ => catalog::bad_field(name, row.version, "metrics", "not a JSON object"),
    };
    ExportDocument {
        customer_segment_export: EXPORT_VERSION,
        name: Some(name.to_string()),
        version: Some(row.version.into()),
        format_version: Some(row.format_version.into()),
        model: Some(json("model", &row.model)),
        options: Some(json("options", &row.options)),
        metrics: Some(metrics),
        labels: Some(json("labels", &row.labels)),
        source: Some(row.source.clone()),
        rows_used: Some(row.rows_used),
        rows_skipped: Some(row.rows_skipped),
        group_models: None,
    }
}

fn refuse(message: impl Into<String>) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        format!("segment_import: {}", message.into()),
        Some("Pass a document made by segment_export, unchanged."),
    )
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
    let export = ExportDocument::read(&doc).unwrap_or_else(|e| refuse(e));
    let name = name
        .or_else(|| export.name.clone())
        .unwrap_or_else(|| refuse("no model name: pass one as the name argument"));
    let version = import(&export, &name, None);
    TableIterator::once((name, version))
}

/// Stores one export document (read by `ExportDocument::read`) as the next version of `name`;
/// `group` is the `metrics.group` of a group model imported with its per-group model. Returns
/// the version.
fn import(export: &ExportDocument, name: &str, group: Option<Value>) -> i32 {
    catalog::check_fit_name(name);
    let document = export.document().unwrap_or_else(|e| refuse(e));
    // Options read as the catalog reads them back (the same checks, one reader).
    export.check_options(&document).unwrap_or_else(|mut e| {
        e.message = format!("segment_import: options: {}", e.message);
        raise_core(e)
    });
    // The relation it was fitted on, in the database it came from: a schema-qualified name
    // (what the extension writes), or none. It is only ever looked up, never run as SQL.
    let source = match &export.source {
        None => String::new(),
        Some(s) if segment_core::sql::parse_qualified_name(s).is_some() => s.clone(),
        Some(_) => refuse(SOURCE_REFUSAL),
    };
    let labels = export.labels(&document).unwrap_or_else(|e| refuse(e));
    // A group model stands alone unless it comes with its per-group model.
    let is_member = group.is_some();
    let metrics = export.imported_metrics(group);
    let (model_json, members) = match &document {
        StoredDocument::Segment(model) => (model.to_json(), Vec::new()),
        StoredDocument::Clv(model) => (
            serde_json::to_string(model).expect("a CLV model serializes"),
            Vec::new(),
        ),
        StoredDocument::Grouped(index) => {
            // Its group models first, each under this name's group name, then the index that
            // names them.
            if export.group_models.is_none() {
                refuse("a per-group model's document has no \"group_models\"");
            }
            if is_member {
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
                let member_doc = export.group_model(&old, old_version).unwrap_or_else(|| {
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
            (index.to_json(), members)
        }
    };
    let version = catalog::insert(NewVersion {
        name,
        source: &source,
        options: export.options().to_string(),
        model: model_json,
        metrics: Value::Object(metrics).to_string(),
        rows_used: export.rows_used(&document),
        rows_skipped: export.rows_skipped.unwrap_or(0),
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
