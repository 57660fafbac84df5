//! A model carried inside a planned query: when the rows are scanned on another node than the
//! one holding the catalog (Citus workers), the planner writes the model's current document into
//! the query as a text constant, and the node scoring the rows reads it from there.
//!
//! Layout: `{"shipped": 1, "name": ..., "version": ..., "role": ..., "model": <the stored
//! document>}`. The stored document is copied verbatim (it is already JSON), so no number is
//! rewritten. `role` is the role whose privileges admitted the read: a node running the query as
//! another role (a cached plan executed after SET ROLE) must refuse it.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::SegmentModel;

/// The layout's own version: a node reading another version refuses it.
const SHIPPED_VERSION: u64 = 1;

/// A model read back from a query.
#[derive(Debug, Clone)]
pub struct ShippedModel {
    pub name: String,
    pub version: i32,
    /// The role it was read as.
    pub role: String,
    pub model: SegmentModel,
}

/// The constant to write into a query: version `version` of model `name`, read as `role`, whose
/// stored document (JSON text, as in the catalog) is `document`.
pub fn ship(name: &str, version: i32, role: &str, document: &str) -> String {
    format!(
        "{{\"shipped\":{SHIPPED_VERSION},\"name\":{},\"version\":{version},\"role\":{},\"model\":{document}}}",
        serde_json::Value::String(name.to_string()),
        serde_json::Value::String(role.to_string())
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
    let role = doc
        .get("role")
        .and_then(|v| v.as_str())
        .ok_or_else(|| broken("no role"))?
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
        role,
        model,
    })
}

/// A model's segment labels carried inside a planned query (`segment_label` on Citus workers).
#[derive(Debug, Clone, PartialEq)]
pub struct ShippedLabels {
    pub name: String,
    /// The role they were read as.
    pub role: String,
    /// By segment.
    pub labels: Vec<String>,
}

/// The constant to write into a query for the labels of model `name` (by segment), read as
/// `role`.
pub fn ship_labels(name: &str, role: &str, labels: &[String]) -> String {
    serde_json::json!({"shipped_labels": SHIPPED_VERSION, "name": name, "role": role, "labels": labels})
        .to_string()
}

/// Reads what `ship_labels` wrote; anything else is an error.
pub fn unship_labels(text: &str) -> CoreResult<ShippedLabels> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(broken)?;
    if doc.get("shipped_labels").and_then(|v| v.as_u64()) != Some(SHIPPED_VERSION) {
        return Err(broken("not shipped labels of this version"));
    }
    let name = doc.get("name").and_then(|v| v.as_str());
    let role = doc.get("role").and_then(|v| v.as_str());
    let labels = doc.get("labels").and_then(|v| v.as_array());
    match (name, role, labels) {
        (Some(name), Some(role), Some(labels)) if !labels.is_empty() => Ok(ShippedLabels {
            name: name.to_string(),
            role: role.to_string(),
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
        let text = ship("Spend \"Q1\"", 7, "analyst", &m.to_json());
        let back = unship(&text).unwrap();
        assert_eq!(back.name, "Spend \"Q1\"");
        assert_eq!(back.version, 7);
        assert_eq!(back.role, "analyst");
        assert_eq!(back.model, m);
    }

    #[test]
    fn shipped_labels_read_back() {
        let labels = vec!["high \"fresh\" · low milk".to_string(), "core".to_string()];
        let back = unship_labels(&ship_labels("m", "bi", &labels)).unwrap();
        assert_eq!(
            back,
            ShippedLabels {
                name: "m".into(),
                role: "bi".into(),
                labels
            }
        );
        for bad in [
            "",
            "{}",
            "{\"shipped_labels\":1,\"name\":\"m\",\"role\":\"r\",\"labels\":[]}",
            "{\"shipped_labels\":1,\"name\":\"m\",\"role\":\"r\",\"labels\":[1]}",
            "{\"shipped_labels\":1,\"name\":\"m\",\"labels\":[\"a\"]}",
            "{\"shipped_labels\":2,\"name\":\"m\",\"role\":\"r\",\"labels\":[\"a\"]}",
        ] {
            assert!(unship_labels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let good = ship("m", 1, "r", &tiny_model().to_json());
        let other_layout = good.replacen("\"shipped\":1", "\"shipped\":2", 1);
        let e = unship(&other_layout).unwrap_err();
        assert!(e.message.contains("layout 2"), "{}", e.message);
        for bad in [
            "",
            "m",
            "{}",
            "{\"shipped\":1,\"name\":\"m\",\"version\":1}",
            "{\"shipped\":1,\"name\":\"m\",\"version\":1,\"model\":{}}",
            "{\"shipped\":1,\"version\":1,\"model\":{}}",
            "{\"shipped\":1,\"name\":\"m\",\"version\":1,\"role\":\"r\",\"model\":{}}",
            &good[..good.len() - 1],
        ] {
            let e = unship(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadModel, "{bad}");
        }
    }
}
