//! The export document of `segment_export` and `segment_import` (format in docs/reference.md,
//! "Exchange"): one catalog row of a model as JSON, and for a per-group model the rows of the
//! group models its index uses. One typed struct both ways: the export is built from it, and an
//! import is read into it, refusing any key it does not know (a document from a later layout,
//! or edited, is never half read). Each field that can be wrong has its own refusal, worded as
//! the import reports it; what a field means for a kind of model (labels, options, the row
//! count) is read here too, by the readers the catalog uses.

use crate::error::CoreResult;
use crate::model::options::FitOptions;
use crate::model::stored::{read_labels, stored_options, StoredDocument};
use crate::value::clv::ClvOptions;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// The version of the export document's own layout (the model inside has its format_version).
pub const EXPORT_VERSION: u64 = 1;

/// The refusal of a `source` that is not a relation name (the shell checks that a string is a
/// schema-qualified name: SQL text is the `sql` layer's).
pub const SOURCE_REFUSAL: &str = "\"source\" must be a schema-qualified relation name";

/// A model version as exported. Every field but the layout's version may be missing or null in
/// an import (a document assembled by hand for a model that has no labels, no metrics...); an
/// export always has them all, and `group_models` only for a per-group model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDocument {
    /// The layout's version, `EXPORT_VERSION`.
    pub customer_segment_export: u64,
    /// The model's name in the database it came from.
    #[serde(default, deserialize_with = "name")]
    pub name: Option<String>,
    /// Its version there.
    #[serde(default, deserialize_with = "version")]
    pub version: Option<i64>,
    /// The model document's format version, stated beside it.
    #[serde(default, deserialize_with = "format_version")]
    pub format_version: Option<i64>,
    /// The model document (read by `StoredDocument`, the catalog's reader).
    #[serde(default)]
    pub model: Option<Value>,
    /// The options it was fitted with.
    #[serde(default)]
    pub options: Option<Value>,
    #[serde(default, deserialize_with = "metrics")]
    pub metrics: Option<Map<String, Value>>,
    /// Segment labels `{"segment": "label"}` (a segment model's only).
    #[serde(default)]
    pub labels: Option<Value>,
    /// The relation it was fitted on, schema-qualified.
    #[serde(default, deserialize_with = "source")]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "rows_used")]
    pub rows_used: Option<i64>,
    #[serde(default, deserialize_with = "rows_skipped")]
    pub rows_skipped: Option<i64>,
    /// A per-group model's group models, each as its own export.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_models: Option<Vec<ExportDocument>>,
}

/// A field that is null reads as missing; any other value is read by `read`, whose error is
/// the refusal.
fn field<'de, D: Deserializer<'de>, T>(
    d: D,
    read: impl FnOnce(&Value) -> Result<T, String>,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(d)?;
    if value.is_null() {
        return Ok(None);
    }
    read(&value).map(Some).map_err(D::Error::custom)
}

fn name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    field(d, |v| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("\"name\" must be a model name, not {v}"))
    })
}

fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    field(d, |v| {
        v.as_i64()
            .ok_or_else(|| format!("\"version\" must be a version number, not {v}"))
    })
}

fn format_version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    field(d, |v| {
        v.as_i64()
            .ok_or_else(|| format!("\"format_version\" must be a format version number, not {v}"))
    })
}

fn metrics<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    field(d, |v| {
        v.as_object()
            .cloned()
            .ok_or_else(|| "\"metrics\" must be an object".into())
    })
}

fn source<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    field(d, |v| {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| SOURCE_REFUSAL.into())
    })
}

/// A count of rows: an integer from 0 to i64's largest (the catalog's bigint).
fn count(key: &str, v: &Value) -> Result<i64, String> {
    v.as_u64()
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| format!("\"{key}\" must be a count of rows, not {v}"))
}

fn rows_used<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    field(d, |v| count("rows_used", v))
}

fn rows_skipped<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    field(d, |v| count("rows_skipped", v))
}

/// The refusal of a group model's document that holds group models of its own.
const NESTED: &str = "a group model cannot itself be a per-group model";

impl ExportDocument {
    /// Reads an import. The layout's version is read first, from the raw object: a document of
    /// another layout cannot be read by this struct, and saying which layout it is helps more
    /// than naming the first key this one does not know. Then every field, the group models
    /// included, and the agreements between fields (`check`).
    pub fn read(doc: &Value) -> Result<ExportDocument, String> {
        let Some(object) = doc.as_object() else {
            return Err("the document is not a JSON object".into());
        };
        check_layout(
            object
                .get("customer_segment_export")
                .and_then(Value::as_u64),
        )?;
        let export: ExportDocument =
            serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
        export.check()?;
        if let Some(members) = &export.group_models {
            for member in members {
                if member.group_models.is_some() {
                    return Err(NESTED.into());
                }
                member.check()?;
            }
        }
        Ok(export)
    }

    /// What one document must hold beyond its fields' types: its layout, a model, and the same
    /// format version beside the model as in it (a document whose two disagree was edited or
    /// assembled by hand, and which one to believe cannot be told).
    fn check(&self) -> Result<(), String> {
        check_layout(Some(self.customer_segment_export))?;
        let model = self.model()?;
        if let Some(stated) = self.format_version {
            let inside = model.get("format_version").unwrap_or(&Value::Null);
            if inside.as_i64() != Some(stated) {
                return Err(format!(
                    "the document says format version {stated}, its model {inside}"
                ));
            }
        }
        Ok(())
    }

    fn model(&self) -> Result<&Value, String> {
        self.model
            .as_ref()
            .ok_or_else(|| "the document has no \"model\"".into())
    }

    /// The model document, read as the catalog reads a stored one (its words say "the" model,
    /// not "stored").
    pub fn document(&self) -> Result<StoredDocument, String> {
        StoredDocument::from_json(&self.model()?.to_string())
            .map_err(|e| e.message.replace("stored ", "the "))
    }

    /// The options to store: as given, or none (`{}`).
    pub fn options(&self) -> Value {
        self.options
            .clone()
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// Reads the options as the catalog reads them back for the document's kind (the same
    /// checks, one reader).
    pub fn check_options(&self, document: &StoredDocument) -> CoreResult<()> {
        let options = self.options();
        match document {
            StoredDocument::Segment(model) => stored_options(model, &options.to_string()).map(drop),
            StoredDocument::Clv(_) => ClvOptions::from_value(&options).map(drop),
            StoredDocument::Grouped(index) => {
                FitOptions::stored(&options.to_string(), index.k.map(|k| k as usize)).map(drop)
            }
        }
    }

    /// The segment labels to store. Only a segment model has labels; another kind may carry
    /// none or an empty object.
    pub fn labels(&self, document: &StoredDocument) -> Result<Vec<(u32, String)>, String> {
        match (document, &self.labels) {
            (_, None) => Ok(Vec::new()),
            (StoredDocument::Segment(model), Some(labels)) => read_labels(labels, model.k()),
            (_, Some(labels)) if labels.as_object().is_some_and(Map::is_empty) => Ok(Vec::new()),
            (_, Some(_)) => Err("only a segment model has labels".into()),
        }
    }

    /// The rows the model was fitted on: as stated, or counted from the document (a segment
    /// model's segment sizes, a per-group model's groups' rows; none for a CLV model).
    pub fn rows_used(&self, document: &StoredDocument) -> i64 {
        self.rows_used.unwrap_or_else(|| {
            let counted: u64 = match document {
                StoredDocument::Segment(model) => model.profile.sizes.iter().sum(),
                StoredDocument::Grouped(index) => index.groups.iter().map(|g| g.rows).sum(),
                StoredDocument::Clv(_) => 0,
            };
            i64::try_from(counted).unwrap_or(i64::MAX)
        })
    }

    /// The metrics to store with an imported version: the exported ones, with where they came
    /// from (`imported_from`: the exported name and version) and, for a group model imported
    /// with its per-group model, the new `group`; an exported `group` never stays (a group
    /// model stands alone unless it comes with its per-group model).
    pub fn imported_metrics(&self, group: Option<Value>) -> Map<String, Value> {
        let mut metrics = self.metrics.clone().unwrap_or_default();
        metrics.insert(
            "imported_from".into(),
            serde_json::json!({ "name": self.name, "version": self.version }),
        );
        metrics.remove("group");
        if let Some(group) = group {
            metrics.insert("group".into(), group);
        }
        metrics
    }

    /// The exported group model `name` version `version` that a per-group model's index names.
    pub fn group_model(&self, name: &str, version: i32) -> Option<&ExportDocument> {
        self.group_models
            .as_ref()?
            .iter()
            .find(|e| e.name.as_deref() == Some(name) && e.version == Some(i64::from(version)))
    }
}

/// Refuses a document of another layout, or none.
fn check_layout(stated: Option<u64>) -> Result<(), String> {
    match stated {
        Some(EXPORT_VERSION) => Ok(()),
        Some(other) => Err(format!(
            "export format {other}; this version of customer_segment reads {EXPORT_VERSION}"
        )),
        None => Err("not a customer_segment export (no \"customer_segment_export\" key)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;
    use crate::model::stored::tests::clv;
    use serde_json::json;

    /// What segment_export writes for a segment model (tiny_model: two segments of two rows).
    fn exported() -> Value {
        json!({
            "customer_segment_export": 1,
            "name": "shops",
            "version": 3,
            "format_version": tiny_model().format_version,
            "model": serde_json::from_str::<Value>(&tiny_model().to_json()).unwrap(),
            "options": {"seed": 7},
            "metrics": {"inertia": 1.5, "group": {"model": "p", "value": "x"}},
            "labels": {"1": "Big"},
            "source": "public.shops",
            "rows_used": 4,
            "rows_skipped": 1
        })
    }

    fn refusal(doc: Value) -> String {
        ExportDocument::read(&doc).unwrap_err()
    }

    #[test]
    fn an_export_reads_back_and_writes_the_same_document() {
        let doc = exported();
        let export = ExportDocument::read(&doc).unwrap();
        assert_eq!(export.name.as_deref(), Some("shops"));
        assert_eq!(export.version, Some(3));
        assert_eq!(export.rows_skipped, Some(1));
        assert_eq!(serde_json::to_value(&export).unwrap(), doc);
        let document = export.document().unwrap();
        assert_eq!(export.labels(&document).unwrap(), vec![(1, "Big".into())]);
        assert_eq!(export.rows_used(&document), 4);
        export.check_options(&document).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused_at_any_level() {
        let mut doc = exported();
        doc["comment"] = json!("hand-made");
        assert!(refusal(doc).starts_with("unknown field `comment`"));
        let mut doc = exported();
        let mut member = exported();
        member["extra"] = json!(1);
        doc["group_models"] = json!([member]);
        assert!(refusal(doc).starts_with("unknown field `extra`"));
    }

    #[test]
    fn each_field_has_its_refusal() {
        assert_eq!(refusal(json!([1, 2])), "the document is not a JSON object");
        let with = |key: &str, value: Value| {
            let mut doc = exported();
            doc[key] = value;
            refusal(doc)
        };
        assert_eq!(
            with("customer_segment_export", json!(2)),
            "export format 2; this version of customer_segment reads 1"
        );
        assert_eq!(
            with("customer_segment_export", json!("1")),
            "not a customer_segment export (no \"customer_segment_export\" key)"
        );
        assert_eq!(
            with("rows_used", json!(-1)),
            "\"rows_used\" must be a count of rows, not -1"
        );
        assert_eq!(
            with("rows_skipped", json!(9223372036854775808u64)),
            "\"rows_skipped\" must be a count of rows, not 9223372036854775808"
        );
        assert_eq!(with("metrics", json!([])), "\"metrics\" must be an object");
        assert_eq!(with("source", json!(5)), SOURCE_REFUSAL);
        assert_eq!(
            with("format_version", json!(2)),
            "the document says format version 2, its model 1"
        );
        let mut doc = exported();
        doc.as_object_mut().unwrap().remove("model");
        assert_eq!(refusal(doc), "the document has no \"model\"");
    }

    #[test]
    fn missing_and_null_fields_take_their_defaults() {
        let doc = json!({
            "customer_segment_export": 1,
            "model": serde_json::from_str::<Value>(&tiny_model().to_json()).unwrap(),
            "labels": null,
            "rows_used": null,
            "metrics": null,
        });
        let export = ExportDocument::read(&doc).unwrap();
        let document = export.document().unwrap();
        // The sizes of tiny_model's two segments: 2 + 2.
        assert_eq!(export.rows_used(&document), 4);
        assert_eq!(export.rows_skipped, None);
        assert_eq!(export.options(), json!({}));
        assert!(export.labels(&document).unwrap().is_empty());
        assert_eq!(
            Value::Object(export.imported_metrics(None)),
            json!({"imported_from": {"name": null, "version": null}})
        );
    }

    #[test]
    fn imported_metrics_say_where_they_came_from() {
        let export = ExportDocument::read(&exported()).unwrap();
        assert_eq!(
            Value::Object(export.imported_metrics(None)),
            json!({"inertia": 1.5, "imported_from": {"name": "shops", "version": 3}})
        );
        let group = json!({"model": "q", "group_by": "region", "value": "n"});
        assert_eq!(export.imported_metrics(Some(group.clone()))["group"], group);
    }

    #[test]
    fn labels_only_for_segment_models_and_read_strictly() {
        let mut doc = exported();
        doc["labels"] = json!({"7": "x"});
        let export = ExportDocument::read(&doc).unwrap();
        assert_eq!(
            export.labels(&export.document().unwrap()).unwrap_err(),
            "label for \"7\", which is not a segment of 0..1"
        );
        let clv = StoredDocument::Clv(Box::new(clv()));
        assert_eq!(
            export.labels(&clv).unwrap_err(),
            "only a segment model has labels"
        );
        doc["labels"] = json!({});
        let export = ExportDocument::read(&doc).unwrap();
        assert!(export.labels(&clv).unwrap().is_empty());
        assert_eq!(export.rows_used(&clv), 4);
    }

    #[test]
    fn group_models_are_found_by_name_and_version_and_never_nested() {
        let mut member = exported();
        member["name"] = json!("p/x");
        member["version"] = json!(2);
        let mut doc = exported();
        doc["group_models"] = json!([member.clone()]);
        let export = ExportDocument::read(&doc).unwrap();
        assert!(export.group_model("p/x", 2).is_some());
        assert!(export.group_model("p/x", 1).is_none());
        assert!(export.group_model("p/y", 2).is_none());
        member["group_models"] = json!([]);
        doc["group_models"] = json!([member]);
        assert_eq!(refusal(doc), NESTED);
    }

    #[test]
    fn options_are_read_for_the_kind() {
        let mut doc = exported();
        doc["options"] = json!({"n_init": 0});
        let export = ExportDocument::read(&doc).unwrap();
        let e = export
            .check_options(&export.document().unwrap())
            .unwrap_err();
        assert_eq!(e.message, "option n_init must be between 1 and 1000, not 0");
    }
}
