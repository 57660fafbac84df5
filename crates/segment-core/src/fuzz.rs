//! Property tests (proptest) on everything that parses caller- or catalog-given text: the option
//! parsers and the stored model document. Any input gives a value or an error, never a panic;
//! a document that passes validation assigns any row without panicking, whatever was changed in
//! it. A panic inside the server would be turned into an ERROR by pgrx, but it is still a bug.

use crate::analysis::profile::automatic_labels;
use crate::model::document::SegmentModel;
use crate::model::fit::fit_model;
use crate::model::limits::Limits;
use crate::model::options::FitOptions;
use crate::prep::builder::MatrixBuilder;
use crate::prep::preprocessor::fit_matrix;
use crate::prep::scaling::ImputeMethod;
use crate::tree::churn::ChurnOptions;
use crate::value::rfm::RfmOptions;
use proptest::prelude::*;
use serde_json::Value;
use std::sync::OnceLock;

/// Any JSON value, with the numbers that break naive code: huge, tiny, negative, fractional
/// where an integer is expected.
fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e308f64..1e308).prop_map(Value::from),
        prop_oneof![Just(0.0), Just(-1.0), Just(1e-300), Just(0.5), Just(1e300)]
            .prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        number,
        "[a-z_=]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Option objects made of the known keys with values of any type.
fn option_object() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "method",
        "eps",
        "min_points",
        "sample_rows",
        "max_categories",
        "batch_size",
        "epochs",
        "scale",
        "impute",
        "seed",
        "n_init",
        "max_iter",
        "tol",
        "log",
        "k_min",
        "k_max",
        "max_depth",
        "min_samples_leaf",
        "criterion",
        "test_fraction",
        "class_weight",
        "positive",
        "returns",
    ]);
    prop::collection::btree_map(key, json_value(), 0..5)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()))
}

fn parse_every_option_kind(text: &str) {
    let _ = FitOptions::for_fit(text, Some(3));
    let _ = FitOptions::for_fit(text, None);
    let _ = FitOptions::for_choose_k(text, 2, 5);
    let _ = FitOptions::stored(text, Some(3));
    let _ = ChurnOptions::from_json(text);
    let _ = RfmOptions::from_json(text);
}

/// One valid stored document per kind of model, fitted once on the same small data.
fn valid_documents() -> &'static Vec<Value> {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let rows: Vec<[f64; 3]> = (0..60)
            .map(|i| {
                let g = (i % 3) as f64;
                [
                    g * 10.0 + (i % 5) as f64 * 0.3,
                    g * -4.0 + (i % 7) as f64 * 0.2,
                    (i % 2) as f64,
                ]
            })
            .collect();
        let features: Vec<String> = vec!["a".into(), "b".into(), "c".into()];
        let build = || {
            let mut b = MatrixBuilder::new(features.clone(), ImputeMethod::Mean, usize::MAX);
            for r in &rows {
                b.push(&[Some(r[0]), Some(r[1]), Some(r[2])]).unwrap();
            }
            b.finish().unwrap()
        };
        let limits = Limits {
            threads: 1,
            silhouette_rows: 100,
        };
        let mut docs = Vec::new();
        for (method, k) in [
            ("kmeans", Some(3)),
            ("gmm", Some(3)),
            ("dbscan", None),
            ("hierarchical", Some(3)),
        ] {
            let text = format!(r#"{{"method": "{method}", "eps": 1.0}}"#);
            let text = if method == "dbscan" {
                text
            } else {
                format!(r#"{{"method": "{method}"}}"#)
            };
            let options = FitOptions::for_fit(&text, k).unwrap();
            let (model, _, _) = fit_model(
                fit_matrix(build(), options.scale()),
                features.clone(),
                vec![],
                &options,
                limits,
                &mut || {},
            )
            .unwrap();
            docs.push(serde_json::from_str(&model.to_json()).unwrap());
        }
        let built = build();
        let y: Vec<bool> = rows.iter().map(|r| r[0] > 5.0).collect();
        let (model, _) = crate::model::churn_fit::fit(
            built.matrix,
            y,
            built.imputer,
            0,
            features.clone(),
            vec![],
            "churned".into(),
            "true".into(),
            &ChurnOptions::default(),
            &mut || {},
        )
        .unwrap();
        docs.push(serde_json::from_str(&model.to_json()).unwrap());
        // Classifiers (a tree and a forest) into three classes.
        let y: Vec<u32> = rows
            .iter()
            .map(|r| (r[0] / 10.0).round() as u32 % 3)
            .collect();
        for options in [
            r#"{"min_samples_leaf": 2}"#,
            r#"{"method": "forest", "n_trees": 3}"#,
        ] {
            let built = build();
            let (model, _) = crate::model::classify_fit::fit(
                built.matrix,
                y.clone(),
                crate::tree::classify::Classes {
                    label: "persona".into(),
                    values: vec!["a".into(), "b".into(), "c".into()],
                },
                built.imputer,
                0,
                features.clone(),
                vec![],
                &crate::tree::classify::ClassifyOptions::from_json(options).unwrap(),
                1,
                &mut || {},
            )
            .unwrap();
            docs.push(serde_json::from_str(&model.to_json()).unwrap());
        }
        // k-prototypes: a, b numeric, c a category of two values.
        let mut b = MatrixBuilder::new(
            vec!["a".into(), "b".into(), "c=0".into(), "c=1".into()],
            ImputeMethod::Mean,
            usize::MAX,
        );
        for r in &rows {
            b.push(&[Some(r[0]), Some(r[1]), Some(1.0 - r[2]), Some(r[2])])
                .unwrap();
        }
        let options = FitOptions::for_fit(r#"{"method": "kprototypes"}"#, Some(3)).unwrap();
        let (model, _, _) = fit_model(
            fit_matrix(b.finish().unwrap(), options.scale()),
            features.clone(),
            vec![None, None, Some(vec!["0".into(), "1".into()])],
            &options,
            limits,
            &mut || {},
        )
        .unwrap();
        docs.push(serde_json::from_str(&model.to_json()).unwrap());
        docs
    })
}

/// Replaces the value found by following `path` (indices taken modulo each level's size) with
/// `replacement`; stops early at a leaf.
fn replace_at(doc: &mut Value, path: &[usize], replacement: Value) {
    let Some((&step, rest)) = path.split_first() else {
        *doc = replacement;
        return;
    };
    match doc {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(step % m.len()).cloned().unwrap();
            replace_at(m.get_mut(&key).unwrap(), rest, replacement);
        }
        Value::Array(a) if !a.is_empty() => {
            let n = a.len();
            replace_at(&mut a[step % n], rest, replacement);
        }
        leaf => *leaf = replacement,
    }
}

/// Every number in a document, as a mutable reference, in document order.
fn numbers(doc: &mut Value) -> Vec<&mut Value> {
    match doc {
        Value::Number(_) => vec![doc],
        Value::Array(a) => a.iter_mut().flat_map(numbers).collect(),
        Value::Object(m) => m.values_mut().flat_map(numbers).collect(),
        _ => vec![],
    }
}

/// Numbers that pass serde for the field's type but may break an unchecked index, size or
/// division: small integers near the sizes (3 segments, 3 features), zero, negatives, extremes.
fn nasty_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..8).prop_map(Value::from),
        Just(Value::from(u32::MAX)),
        Just(Value::from(u64::MAX)),
        Just(Value::from(-1)),
        Just(Value::from(0.0)),
        Just(Value::from(-0.5)),
        Just(Value::from(1e300)),
        Just(Value::from(-1e300)),
        Just(Value::from(1e-320)),
    ]
}

/// A model that passed validation must take any row, including NaN, infinities and huge values,
/// and every reading of it (centroids, labels, rules, importance) must work.
fn assign_any(model: &SegmentModel, rows: &[Vec<f64>]) {
    let _ = model.centres_original();
    let _ = automatic_labels(&model.profile, &model.features, &model.categories, &[]);
    let _ = model.automatic_labels();
    let _ = model.class_importance();
    if let Some(c) = model.churn() {
        let _ = crate::sql::rules::rules_sql(model);
        let _ = c.tree.importance(model.columns().width());
        let _ = c.tree.leaves().iter().map(|l| l.churn_rate()).sum::<f64>();
    }
    let assigner = model.assigner();
    let width = model.columns().width();
    let mut scratch = vec![0.0; model.k()];
    for r in rows {
        let mut row: Vec<f64> = r.iter().copied().cycle().take(width).collect();
        if row.len() < width {
            row.resize(width, 0.0);
        }
        let mut raw = row.clone();
        let _ = assigner.assign(&mut row, &mut scratch);
        let mut again = raw.clone();
        let _ = assigner.churn_probability(&mut raw);
        let _ = assigner.class_proba(&mut again, &mut scratch);
    }
}

fn any_row() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-1e308),
            -100.0f64..100.0
        ],
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn option_parsers_answer_any_text(text in ".{0,200}") {
        parse_every_option_kind(&text);
    }

    #[test]
    fn option_parsers_answer_any_json(value in json_value()) {
        parse_every_option_kind(&value.to_string());
    }

    #[test]
    fn option_parsers_answer_known_keys_with_any_values(value in option_object()) {
        parse_every_option_kind(&value.to_string());
    }

    #[test]
    fn model_parser_answers_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = SegmentModel::from_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn model_parser_answers_truncated_documents(which in 0usize..5, cut in 0usize..100_000) {
        let text = valid_documents()[which].to_string();
        let _ = SegmentModel::from_json(&text[..cut % text.len()]);
    }

    #[test]
    fn changed_documents_are_refused_or_assign_safely(
        which in 0usize..5,
        path in prop::collection::vec(any::<usize>(), 0..6),
        replacement in json_value(),
        rows in prop::collection::vec(any_row(), 1..4),
    ) {
        let mut doc = valid_documents()[which].clone();
        replace_at(&mut doc, &path, replacement);
        if let Ok(model) = SegmentModel::from_json(&doc.to_string()) {
            assign_any(&model, &rows);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn documents_with_a_changed_number_are_refused_or_assign_safely(
        which in 0usize..5,
        at in prop::collection::vec(any::<usize>(), 1..4),
        values in prop::collection::vec(nasty_number(), 3),
        rows in prop::collection::vec(any_row(), 1..4),
    ) {
        let mut doc = valid_documents()[which].clone();
        let mut slots = numbers(&mut doc);
        let n = slots.len();
        for (i, v) in at.iter().zip(values) {
            *slots[i % n] = v;
        }
        if let Ok(model) = SegmentModel::from_json(&doc.to_string()) {
            assign_any(&model, &rows);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Any finite double written into a document reads back bit for bit (serde_json's
    /// float_roundtrip), and so does a whole model with its centres replaced by such doubles.
    #[test]
    fn doubles_and_documents_read_back_bit_for_bit(
        x in any::<f64>().prop_filter("finite", |x| x.is_finite()),
        which in 0usize..5,
    ) {
        let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
        prop_assert_eq!(back.to_bits(), x.to_bits());
        let mut model = SegmentModel::from_json(&valid_documents()[which].to_string()).unwrap();
        for c in model.centres.iter_mut().flatten() {
            *c = x;
        }
        let again = SegmentModel::from_json(&model.to_json());
        if let Ok(again) = again {
            prop_assert_eq!(again.to_json(), model.to_json());
            prop_assert!(again.centres.iter().flatten().all(|c| c.to_bits() == x.to_bits()));
        }
    }
}

#[test]
fn the_unchanged_documents_are_valid() {
    // Otherwise the mutation test would only ever see refusals.
    for doc in valid_documents() {
        let model = SegmentModel::from_json(&doc.to_string()).unwrap();
        assign_any(&model, &[vec![1.0, 2.0, 0.0]]);
    }
}

/// An export document (`model::exchange`) of one of the valid documents, as segment_export
/// writes it.
fn valid_export(which: usize) -> Value {
    let model = valid_documents()[which].clone();
    serde_json::json!({
        "customer_segment_export": crate::model::exchange::EXPORT_VERSION,
        "name": "m",
        "version": 2,
        "format_version": model["format_version"],
        "model": model,
        "options": {},
        "metrics": {"inertia": 1.0},
        "labels": {"0": "First"},
        "source": "public.t",
        "rows_used": 60,
        "rows_skipped": 0
    })
}

/// Everything the import reads from an export document it accepted, none of which may panic.
fn read_export_contents(export: &crate::model::exchange::ExportDocument) {
    if let Ok(document) = export.document() {
        let _ = export.labels(&document);
        let _ = export.check_options(&document);
        let _ = export.rows_used(&document);
    }
    let _ = export.imported_metrics(None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Any JSON value is read as an export document or refused.
    #[test]
    fn export_reader_answers_any_json(value in json_value()) {
        if let Ok(export) = crate::model::exchange::ExportDocument::read(&value) {
            read_export_contents(&export);
        }
    }

    /// An export with anything in it replaced (a field, or deep inside the model) is refused or
    /// read; what is read writes back as a document that reads the same.
    #[test]
    fn changed_exports_are_refused_or_read_back_the_same(
        which in 0usize..5,
        path in prop::collection::vec(any::<usize>(), 0..6),
        replacement in json_value(),
    ) {
        use crate::model::exchange::ExportDocument;
        let mut doc = valid_export(which);
        replace_at(&mut doc, &path, replacement);
        if let Ok(export) = ExportDocument::read(&doc) {
            read_export_contents(&export);
            let back = serde_json::to_value(&export).unwrap();
            prop_assert_eq!(ExportDocument::read(&back).unwrap(), export);
        }
    }
}

/// A typed document read from `value`: refused, or read whole and written back as a document
/// that reads the same.
fn reads_back<T>(value: &Value) -> Result<(), TestCaseError>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(read) = serde_json::from_value::<T>(value.clone()) {
        let back = serde_json::to_value(&read).unwrap();
        prop_assert_eq!(serde_json::from_value::<T>(back).unwrap(), read);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Any JSON value is read as each kind of metrics document, or refused; the readers of one
    /// key of any metrics document (the k scan, the stability) answer too.
    #[test]
    fn metrics_readers_answer_any_json(value in json_value()) {
        use crate::model::fit_metrics::{FitMetrics, GroupedMetrics, KChosen};
        reads_back::<FitMetrics>(&value)?;
        reads_back::<GroupedMetrics>(&value)?;
        reads_back::<crate::value::clv_customers::ClvMetrics>(&value)?;
        reads_back::<KChosen>(&value)?;
        let _ = KChosen::in_metrics(&value);
        let _ = KChosen::in_metrics(&serde_json::json!({ "k_chosen": value }));
        use crate::model::stability::StoredStability;
        reads_back::<StoredStability>(&value)?;
        let _ = StoredStability::in_metrics(&value);
        let _ = StoredStability::in_metrics(&serde_json::json!({ "stability": value }));
    }
}

#[test]
fn the_unchanged_exports_are_read() {
    // Otherwise the mutation test would only ever see refusals.
    for which in 0..5 {
        let doc = valid_export(which);
        let export = crate::model::exchange::ExportDocument::read(&doc).unwrap();
        assert_eq!(serde_json::to_value(&export).unwrap(), doc);
        let document = export.document().unwrap();
        assert_eq!(export.labels(&document).unwrap(), vec![(0, "First".into())]);
        assert_eq!(export.rows_used(&document), 60);
    }
}
