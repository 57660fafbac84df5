//! Every document the catalog stores, told apart by its `method` key and read once: a segment
//! model (`document`, with its per-method rule), a per-group model's index (`groups`), or a
//! customer lifetime value model (`ClvModel`). Each reader checks the one format version
//! (`document::check_format`) and validates the document's shape before anything uses it.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{check_format, Meaning, SegmentModel, FORMAT_VERSION, GROUPED};
use crate::model::groups::GroupIndex;
use crate::value::clv::{BgNbd, ClvOptions, GammaGamma};
use serde::{Deserialize, Serialize};

/// The `method` of a CLV model's document.
pub const CLV: &str = "clv";

/// A stored document of any kind.
#[derive(Debug, Clone)]
pub enum StoredDocument {
    Segment(Box<SegmentModel>),
    Grouped(Box<GroupIndex>),
    Clv(Box<ClvModel>),
}

impl StoredDocument {
    /// Reads a document, whatever its kind, refusing other format versions and bad shapes.
    pub fn from_json(text: &str) -> CoreResult<StoredDocument> {
        let head: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            CoreError::new(
                ErrorKind::BadModel,
                format!("stored model is not valid JSON: {e}"),
            )
        })?;
        match head.get("method").and_then(|m| m.as_str()) {
            Some(CLV) => ClvModel::from_value(head).map(|m| StoredDocument::Clv(Box::new(m))),
            Some(GROUPED) => {
                GroupIndex::from_value(head).map(|i| StoredDocument::Grouped(Box::new(i)))
            }
            _ => SegmentModel::from_value(head).map(|m| StoredDocument::Segment(Box::new(m))),
        }
    }

    /// What the document's name means to the views, rules and reports that use it.
    pub fn meaning(&self) -> Meaning {
        match self {
            StoredDocument::Segment(m) => m.meaning(),
            StoredDocument::Grouped(i) => i.meaning(),
            StoredDocument::Clv(m) => m.meaning(),
        }
    }
}

/// The stored CLV model: where its transactions are, how it counted them, and the fitted
/// BG/NBD and Gamma-Gamma parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClvModel {
    pub format_version: u32,
    /// Always `CLV`.
    pub method: String,
    pub source: String,
    pub customer_column: String,
    pub time_column: String,
    pub amount_column: String,
    /// The end of the calibration period, as timestamptz text.
    pub calibration_end: String,
    pub options: ClvOptions,
    pub bgnbd: BgNbd,
    pub gamma_gamma: GammaGamma,
}

impl ClvModel {
    /// A new document (the current format).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: String,
        customer_column: String,
        time_column: String,
        amount_column: String,
        calibration_end: String,
        options: ClvOptions,
        bgnbd: BgNbd,
        gamma_gamma: GammaGamma,
    ) -> ClvModel {
        ClvModel {
            format_version: FORMAT_VERSION,
            method: CLV.into(),
            source,
            customer_column,
            time_column,
            amount_column,
            calibration_end,
            options,
            bgnbd,
            gamma_gamma,
        }
    }

    /// Its three columns, and method clv.
    pub fn meaning(&self) -> Meaning {
        Meaning {
            features: vec![
                self.customer_column.clone(),
                self.time_column.clone(),
                self.amount_column.clone(),
            ],
            method: CLV.to_string(),
            group_by: None,
            label: None,
        }
    }

    fn from_value(document: serde_json::Value) -> CoreResult<ClvModel> {
        let bad = |msg: String| {
            CoreError::new(ErrorKind::BadModel, msg)
                .with_hint("Refit the model with segment_clv_fit, or drop it with segment_drop.")
        };
        check_format(&document, "stored CLV model").map_err(bad)?;
        let model: ClvModel = serde_json::from_value(document)
            .map_err(|e| bad(format!("stored CLV model is malformed: {e}")))?;
        let b = &model.bgnbd;
        let g = &model.gamma_gamma;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !(positive(b.r) && positive(b.alpha) && positive(b.a) && positive(b.b))
            || !(positive(g.p) && positive(g.q) && positive(g.gamma))
        {
            return Err(bad(
                "stored CLV model has parameters that are not positive".into()
            ));
        }
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clv() -> ClvModel {
        ClvModel::new(
            "public.tx".into(),
            "customer".into(),
            "at".into(),
            "amount".into(),
            "2026-01-01 00:00:00+00".into(),
            ClvOptions::default(),
            BgNbd {
                r: 0.24,
                alpha: 4.4,
                a: 0.79,
                b: 2.4,
            },
            GammaGamma {
                p: 6.2,
                q: 3.7,
                gamma: 15.4,
            },
        )
    }

    /// Each kind is told apart by its method key and read back equal; a CLV document with
    /// another format version or a parameter that is not positive is refused.
    #[test]
    fn every_kind_reads_back_and_bad_ones_are_refused() {
        let text = serde_json::to_string(&clv()).unwrap();
        match StoredDocument::from_json(&text).unwrap() {
            StoredDocument::Clv(m) => assert_eq!(*m, clv()),
            other => panic!("{other:?}"),
        }
        let segment = crate::model::document::tests::tiny_model().to_json();
        assert!(matches!(
            StoredDocument::from_json(&segment).unwrap(),
            StoredDocument::Segment(_)
        ));
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["format_version"] = 0.into();
        let e = StoredDocument::from_json(&v.to_string()).unwrap_err();
        assert!(e.message.contains("format version 0"), "{}", e.message);
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["bgnbd"]["r"] = (-1.0).into();
        assert!(StoredDocument::from_json(&v.to_string()).is_err());
        assert!(StoredDocument::from_json("[1").is_err());
    }

    /// The meaning of each kind: a segment model's features and method, a churn model's label,
    /// a per-group model's grouping column and its groups' method, a CLV model's three columns.
    #[test]
    fn meaning_of_each_kind() {
        let clv = StoredDocument::Clv(Box::new(clv())).meaning();
        assert_eq!(
            clv,
            Meaning {
                features: vec!["customer".into(), "at".into(), "amount".into()],
                method: "clv".into(),
                group_by: None,
                label: None,
            }
        );
        let model = crate::model::document::tests::tiny_model();
        let segment = StoredDocument::Segment(Box::new(model.clone())).meaning();
        assert_eq!(segment.features, model.features);
        assert_eq!(segment.method, model.method().name());
        assert_eq!((segment.group_by, segment.label), (None, None));
    }
}
