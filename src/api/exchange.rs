//! Moving models between databases: `segment_export(model) → jsonb` and
//! `segment_import(doc jsonb, name text DEFAULT NULL)` (SQL, over `segment_import_text`). The export is the catalog row as one
//! document (format in README, "Exchange"); the import checks everything in it before storing.

use crate::catalog::{self, NewVersion};
use crate::errors::{raise, raise_core, require};
use crate::search_path::select_text;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};
use segment_core::model::document::SegmentModel;
use segment_core::model::stored::{read_labels, stored_options};

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
/// `version`, `format_version`, `model` (features, preprocessing, centres or tree, profile),
/// `options`, `metrics`, `labels`, `source`, `rows_used`, `rows_skipped`.
#[pg_extern(stable, parallel_safe)]
fn segment_export(model: Option<&str>) -> JsonB {
    let name = require(model, "model");
    // Permission, existence and a readable format, with the usual errors.
    catalog::load(name, None);
    let query = format!(
        "SELECT jsonb_build_object('customer_segment_export', {EXPORT_VERSION}, 'name', name, \
                'version', version, 'format_version', format_version, 'model', model, \
                'options', options, 'metrics', metrics, 'labels', labels, 'source', source, \
                'rows_used', rows_used, 'rows_skipped', rows_skipped)::text \
         FROM {}.segment_model WHERE name = $1 ORDER BY version DESC LIMIT 1",
        catalog::schema()
    );
    let text = select_text(&query, &[DatumWithOid::from(name)]).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("model \"{name}\" does not exist"),
            None,
        )
    });
    JsonB(serde_json::from_str(&text).expect("jsonb text is JSON"))
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
    let name = name
        .or_else(|| doc.get("name").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| refuse("no model name: pass one as the name argument"));
    catalog::check_fit_name(&name);

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
    let model = SegmentModel::from_json(&model_doc.to_string())
        .unwrap_or_else(|e| refuse(e.message.replace("stored model", "the model")));
    let options = doc
        .get("options")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    // Read as the catalog reads it back (the same checks, one reader).
    stored_options(model.method(), &options.to_string()).unwrap_or_else(|mut e| {
        e.message = format!("segment_import: options: {}", e.message);
        raise_core(e)
    });
    let mut metrics = match doc.get("metrics") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => refuse("\"metrics\" must be an object"),
    };
    metrics.insert(
        "imported_from".into(),
        serde_json::json!({ "name": doc.get("name"), "version": doc.get("version") }),
    );
    let labels: Vec<(u32, String)> = match doc.get("labels") {
        None | Some(Value::Null) => vec![],
        Some(l) => read_labels(l, model.k()).unwrap_or_else(|e| refuse(e)),
    };
    // The relation it was fitted on, in the database it came from: a schema-qualified name
    // (what the extension writes), or none. It is only ever looked up, never run as SQL.
    let source = match doc.get("source") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) if segment_core::sql::parse_qualified_name(s).is_some() => s.clone(),
        Some(_) => refuse("\"source\" must be a schema-qualified relation name"),
    };
    let rows_default: u64 = model.profile.sizes.iter().sum();
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &source,
        options: options.to_string(),
        model: model.to_json(),
        metrics: Value::Object(metrics).to_string(),
        rows_used: count(&doc, "rows_used", rows_default),
        rows_skipped: count(&doc, "rows_skipped", 0),
        meaning: model.meaning(),
        replace: false,
        made_by: catalog::MadeBy::Import,
    });
    for (segment, label) in labels {
        catalog::set_label(&name, version, segment, Some(&label));
    }
    TableIterator::once((name, version))
}
