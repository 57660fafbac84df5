//! A model carried inside a planned query: when the rows are scanned on another node than the
//! one holding the catalog (Citus workers), the planner writes the model's current document into
//! the query as a text constant, and the node scoring the rows reads it from there.
//!
//! Layout: `{"shipped": 1, "name": ..., "version": ..., "model": <the stored document>}`. The
//! stored document is copied verbatim (it is already JSON), so no number is rewritten.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::SegmentModel;

/// The layout's own version: a node reading another version refuses it.
const SHIPPED_VERSION: u64 = 1;

/// A model read back from a query.
#[derive(Debug, Clone)]
pub struct ShippedModel {
    pub name: String,
    pub version: i32,
    pub model: SegmentModel,
}

/// The constant to write into a query: version `version` of model `name`, whose stored document
/// (JSON text, as in the catalog) is `document`.
pub fn ship(name: &str, version: i32, document: &str) -> String {
    format!(
        "{{\"shipped\":{SHIPPED_VERSION},\"name\":{},\"version\":{version},\"model\":{document}}}",
        serde_json::Value::String(name.to_string())
    )
}

fn broken(why: impl std::fmt::Display) -> CoreError {
    CoreError::new(
        ErrorKind::BadModel,
        format!("a shipped model is not readable: {why}"),
    )
    .with_hint("Call segment_assign(model, row); the planner writes shipped models, not callers.")
}

/// Reads what `ship` wrote; anything else is an error.
pub fn unship(text: &str) -> CoreResult<ShippedModel> {
    let mut doc: serde_json::Value = serde_json::from_str(text).map_err(broken)?;
    match doc.get("shipped").and_then(|v| v.as_u64()) {
        Some(SHIPPED_VERSION) => {}
        Some(v) => {
            return Err(broken(format!(
                "layout {v}; this version of customer_segment reads {SHIPPED_VERSION} \
                 (are all nodes on the same version of the extension?)"
            )))
        }
        None => return Err(broken("no \"shipped\" key")),
    }
    let name = doc
        .get("name")
        .and_then(|v| v.as_str())
        .ok_or_else(|| broken("no name"))?
        .to_string();
    let version = doc
        .get("version")
        .and_then(|v| v.as_i64())
        .and_then(|v| i32::try_from(v).ok())
        .ok_or_else(|| broken("no version"))?;
    let model = doc
        .get_mut("model")
        .map(serde_json::Value::take)
        .ok_or_else(|| broken("no model"))?;
    let model = SegmentModel::from_value(model).map_err(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        e
    })?;
    Ok(ShippedModel {
        name,
        version,
        model,
    })
}

/// A model's segment labels carried inside a planned query (`segment_label` on Citus workers).
#[derive(Debug, Clone, PartialEq)]
pub struct ShippedLabels {
    pub name: String,
    /// By segment.
    pub labels: Vec<String>,
}

/// The constant to write into a query for the labels of model `name` (by segment).
pub fn ship_labels(name: &str, labels: &[String]) -> String {
    serde_json::json!({"shipped_labels": SHIPPED_VERSION, "name": name, "labels": labels})
        .to_string()
}

/// Reads what `ship_labels` wrote; anything else is an error.
pub fn unship_labels(text: &str) -> CoreResult<ShippedLabels> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(broken)?;
    if doc.get("shipped_labels").and_then(|v| v.as_u64()) != Some(SHIPPED_VERSION) {
        return Err(broken("not shipped labels of this version"));
    }
    let name = doc.get("name").and_then(|v| v.as_str());
    let labels = doc.get("labels").and_then(|v| v.as_array());
    match (name, labels) {
        (Some(name), Some(labels)) if !labels.is_empty() => Ok(ShippedLabels {
            name: name.to_string(),
            labels: labels
                .iter()
                .map(|l| {
                    l.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| broken("a label is not text"))
                })
                .collect::<CoreResult<_>>()?,
        }),
        _ => Err(broken("no name or no labels")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::tests::tiny_model;

    #[test]
    fn a_shipped_model_reads_back_bit_for_bit() {
        let mut m = tiny_model();
        m.centres[0][0] = 0.1 + 0.2; // not a short decimal
        let text = ship("Spend \"Q1\"", 7, &m.to_json());
        let back = unship(&text).unwrap();
        assert_eq!(back.name, "Spend \"Q1\"");
        assert_eq!(back.version, 7);
        assert_eq!(back.model, m);
    }

    #[test]
    fn shipped_labels_read_back() {
        let labels = vec!["high \"fresh\" · low milk".to_string(), "core".to_string()];
        let back = unship_labels(&ship_labels("m", &labels)).unwrap();
        assert_eq!(
            back,
            ShippedLabels {
                name: "m".into(),
                labels
            }
        );
        for bad in [
            "",
            "{}",
            "{\"shipped_labels\":1,\"name\":\"m\",\"labels\":[]}",
            "{\"shipped_labels\":1,\"name\":\"m\",\"labels\":[1]}",
            "{\"shipped_labels\":2,\"name\":\"m\",\"labels\":[\"a\"]}",
        ] {
            assert!(unship_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let good = ship("m", 1, &tiny_model().to_json());
        let other_layout = good.replacen("\"shipped\":1", "\"shipped\":2", 1);
        let e = unship(&other_layout).unwrap_err();
        assert!(e.message.contains("layout 2"), "{}", e.message);
        for bad in [
            "",
            "m",
            "{}",
            "{\"shipped\":1,\"name\":\"m\",\"version\":1}",
            "{\"shipped\":1,\"version\":1,\"model\":{}}",
            "{\"shipped\":1,\"name\":\"m\",\"version\":1,\"model\":{}}",
            &good[..good.len() - 1],
        ] {
            let e = unship(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadModel, "{bad}");
        }
    }
}
