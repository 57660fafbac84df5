//! Every document the catalog stores, told apart by its `method` key and read once: a segment
//! model (`document`, with its per-method rule), a per-group model's index (`groups`), or a
//! customer lifetime value model (`ClvModel`). Each reader checks the one format version
//! (`document::check_format`) and validates the document's shape before anything uses it.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::Method;
use crate::model::document::{check_format, Meaning, SegmentModel, FORMAT_VERSION, GROUPED};
use crate::model::groups::GroupIndex;
use crate::model::options::FitOptions;
use crate::prep::encoding::MAX_IDENTIFIER_BYTES;
use crate::tree::churn::ChurnOptions;
use crate::tree::classify::{ClassifyOptions, FOREST_KEYS};
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
    /// The end of the calibration period: an instant in ISO 8601, UTC, to the microsecond
    /// (`2011-06-30T22:00:00.000000Z`), which reads the same whatever the session's DateStyle.
    pub calibration_end: String,
    /// The fit session's TimeZone: dates and timestamps without a zone in the source were
    /// compared with calibration_end and cut into days in it, and every later read does the same.
    pub time_zone: String,
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
        time_zone: String,
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
            time_zone,
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
        // The text fields are untrusted: each must be what a fit writes (the shell still looks
        // the source up through the catalog and quotes every column).
        for (field, column) in [
            ("customer_column", &model.customer_column),
            ("time_column", &model.time_column),
            ("amount_column", &model.amount_column),
        ] {
            if column.is_empty() || column.len() > MAX_IDENTIFIER_BYTES || column.contains('\0') {
                return Err(bad(format!(
                    "stored CLV model's {field} is not a column name"
                )));
            }
        }
        if !is_iso_utc(&model.calibration_end) {
            return Err(bad(format!(
                "stored CLV model's calibration_end \"{}\" is not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SS.ffffffZ)",
                model.calibration_end.escape_default()
            )));
        }
        let zone_ok = !model.time_zone.is_empty()
            && model.time_zone.len() <= 64
            && model
                .time_zone
                .bytes()
                .all(|b| b.is_ascii_graphic() || b == b' ');
        if !zone_ok {
            return Err(bad(
                "stored CLV model's time_zone is not a time zone name".into()
            ));
        }
        let options = serde_json::to_value(&model.options).expect("options serialize");
        ClvOptions::from_value(&options)
            .map_err(|e| bad(format!("stored CLV model's options: {}", e.message)))?;
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

/// The options stored with a model version (or carried by an exported document), read for the
/// model's method.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredOptions {
    /// A clustering model's: what a refit fits with.
    Fit(FitOptions),
    /// A churn tree's or a classifier's, checked by their own readers; of them only the seed is
    /// used after the fit (a scatter's sample).
    Supervised { seed: u64 },
}

impl StoredOptions {
    pub fn seed(&self) -> u64 {
        match self {
            StoredOptions::Fit(o) => o.seed(),
            StoredOptions::Supervised { seed } => *seed,
        }
    }
}

/// Reads the options stored with `model`; a clustering model's are read with its k (a refit
/// fits it again; dbscan finds its own). Options that do not read are an error, never the
/// defaults: a model whose seed or scaling silently changed would answer differently.
pub fn stored_options(model: &SegmentModel, text: &str) -> CoreResult<StoredOptions> {
    let method = model.method();
    options_of(method, (method != Method::Dbscan).then(|| model.k()), text)
}

fn options_of(method: Method, k: Option<usize>, text: &str) -> CoreResult<StoredOptions> {
    match method {
        Method::ChurnTree => {
            ChurnOptions::from_json(text).map(|o| StoredOptions::Supervised { seed: o.seed })
        }
        Method::DecisionTree | Method::RandomForest => {
            let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
                .map_err(|e| {
                    CoreError::invalid_parameter(format!("options are not a JSON object: {e}"))
                })?;
            if method == Method::DecisionTree {
                // A tree's options were stored with the forest's keys at their defaults, which
                // the call-option reader refuses for a tree; they mean nothing to it.
                for key in FOREST_KEYS {
                    object.remove(key);
                }
            }
            let text = serde_json::Value::Object(object).to_string();
            ClassifyOptions::from_json(&text).map(|o| StoredOptions::Supervised { seed: o.seed })
        }
        _ => FitOptions::stored(text, k).map(StoredOptions::Fit),
    }
}

/// Longest segment label, in characters (`segment_rename`).
pub const MAX_LABEL_CHARS: usize = 200;

/// A model version's segment labels (`segment_rename`), from the stored or exported object
/// `{"segment": "label"}`: each key a segment of `0..k`, each label 1 to `MAX_LABEL_CHARS`
/// characters, not only spaces. The error says which entry is wrong.
pub fn read_labels(labels: &serde_json::Value, k: usize) -> Result<Vec<(u32, String)>, String> {
    let object = match labels {
        serde_json::Value::Object(m) => m,
        _ => return Err("labels are not a JSON object".into()),
    };
    object
        .iter()
        .map(|(key, l)| {
            let segment = key
                .parse::<u32>()
                .ok()
                .filter(|&s| (s as usize) < k && s.to_string() == *key)
                .ok_or_else(|| {
                    format!(
                        "label for \"{}\", which is not a segment of 0..{}",
                        key.escape_default(),
                        k.saturating_sub(1)
                    )
                })?;
            let label = l
                .as_str()
                .filter(|l| !l.trim().is_empty() && l.chars().count() <= MAX_LABEL_CHARS)
                .ok_or_else(|| {
                    format!(
                        "the label of segment {segment} must be 1 to {MAX_LABEL_CHARS} characters"
                    )
                })?;
            Ok((segment, label.to_string()))
        })
        .collect()
}

/// Whether `text` is an instant exactly as a CLV fit stores it: `YYYY-MM-DDTHH:MM:SS.ffffffZ`
/// (years 0001 to 9999, a real month, day, hour, minute and second).
pub fn is_iso_utc(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 27 {
        return false;
    }
    let digits = |from: usize, to: usize| -> Option<u32> {
        let part = &text[from..to];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let punctuation = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ];
    if punctuation.iter().any(|&(i, c)| b[i] != c) {
        return false;
    }
    let fields = (
        digits(0, 4),
        digits(5, 7),
        digits(8, 10),
        digits(11, 13),
        digits(14, 16),
        digits(17, 19),
        digits(20, 26),
    );
    matches!(fields,
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(_))
            if y >= 1 && (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s < 60)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A CLV model (any parameters: where only its kind matters).
    pub(crate) fn clv() -> ClvModel {
        ClvModel::new(
            "public.tx".into(),
            "customer".into(),
            "at".into(),
            "amount".into(),
            "2026-01-01T00:00:00.000000Z".into(),
            "UTC".into(),
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

    #[test]
    fn labels_are_read_strictly() {
        let read = |t: &str| read_labels(&serde_json::from_str(t).unwrap(), 3);
        assert_eq!(read(r#"{"0": "Big spenders", "2": "x"}"#).unwrap().len(), 2);
        for bad in [
            r#"{"3": "x"}"#,
            r#"{"01": "x"}"#,
            r#"{"-1": "x"}"#,
            r#"{"0": " "}"#,
            r#"{"0": 7}"#,
            "[]",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(read(&format!(r#"{{"0": "{}"}}"#, "a".repeat(201))).is_err());
    }

    /// Stored options read for their method, and never fall back to the defaults.
    #[test]
    fn options_read_for_their_method() {
        let o = options_of(Method::Kmeans, Some(4), r#"{"seed": 7}"#).unwrap();
        assert_eq!(o.seed(), 7);
        let StoredOptions::Fit(fit) = o else {
            panic!("a clustering model's options are fit options")
        };
        assert_eq!(fit.k(), Some(4));
        assert!(options_of(Method::Kmeans, Some(4), r#"{"seed": "x"}"#).is_err());
        assert!(options_of(Method::Kmeans, Some(4), "[1]").is_err());
        let churn = r#"{"seed": 3, "max_depth": 4}"#;
        assert_eq!(
            options_of(Method::ChurnTree, None, churn).unwrap(),
            StoredOptions::Supervised { seed: 3 }
        );
        assert!(options_of(Method::ChurnTree, None, r#"{"n_init": 3}"#).is_err());
        // A tree stored with the forest's keys still reads.
        let tree = r#"{"method": "tree", "n_trees": 100, "max_features": "sqrt", "seed": 5}"#;
        assert_eq!(
            options_of(Method::DecisionTree, None, tree).unwrap().seed(),
            5
        );
        assert!(options_of(
            Method::RandomForest,
            None,
            r#"{"method": "forest", "n_trees": 0}"#
        )
        .is_err());
    }

    /// A CLV document's text fields are untrusted: a calibration_end in a session's DateStyle,
    /// a column that is no identifier, a time zone with control characters are refused.
    #[test]
    fn clv_text_fields_are_checked() {
        let text = serde_json::to_string(&clv()).unwrap();
        let refused = |field: &str, value: serde_json::Value| {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v[field] = value;
            let e = StoredDocument::from_json(&v.to_string()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadModel, "{field}");
            assert!(e.message.contains(field), "{field}: {}", e.message);
        };
        refused("calibration_end", "30/06/2011 00:00:00 UTC".into());
        refused("calibration_end", "2011-06-30 00:00:00+00".into());
        refused("calibration_end", "2011-13-30T00:00:00.000000Z".into());
        refused("customer_column", "".into());
        refused("amount_column", "a".repeat(64).into());
        refused("time_zone", "UTC\n".into());
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v.as_object_mut().unwrap().remove("time_zone");
        assert!(StoredDocument::from_json(&v.to_string()).is_err());
        assert!(is_iso_utc("0001-01-01T00:00:00.000000Z"));
        assert!(is_iso_utc("9999-12-31T23:59:59.999999Z"));
        assert!(!is_iso_utc("0000-01-01T00:00:00.000000Z"));
        assert!(!is_iso_utc("2011-06-30T00:00:00.000000+00"));
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
