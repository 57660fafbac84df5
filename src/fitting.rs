//! What every fit does once the core has a model: store it as the next version of its name
//! (segment ids matched to the previous version, and the analyst's segment names carried over
//! to the segments that have a counterpart) and describe it in `segment_fit`'s row.

use crate::catalog::{self, NewVersion};
use segment_core::model::document::SegmentModel;
use segment_core::model::fit::{edge_note, FitReport, KScore};
use segment_core::model::matching::matching;
use segment_core::model::options::FitOptions;

/// What `segment_fit` and `segment_refit` return: model, version, segments, rows_used,
/// rows_skipped, inertia, silhouette, iterations, silhouette_rows, method, rows_fitted.
pub type FitRow = (
    String,
    i32,
    i32,
    i64,
    i64,
    f64,
    Option<f64>,
    Option<i32>,
    i64,
    String,
    i64,
);

/// Stores a fitted model as the next version of `name` and returns its row of `segment_fit`.
/// `group` goes into the metrics of a per-group model's group model.
pub fn store(
    name: &str,
    source_sql: &str,
    options: &FitOptions,
    mut model: SegmentModel,
    report: &FitReport,
    scores: Option<Vec<KScore>>,
    group: Option<serde_json::Value>,
) -> FitRow {
    // k chosen at the edge of the range scanned: say so where the analyst looks.
    if let Some(note) = scores.as_deref().and_then(edge_note) {
        pgrx::notice!("model \"{name}\": {note}");
    }
    // A refit keeps the previous version's segment ids where the centres match, and the
    // analyst's names of the segments that have a counterpart in the new version.
    let mut carried: Vec<(u32, String)> = Vec::new();
    let mut dropped: Vec<(u32, String)> = Vec::new();
    let matched = catalog::current_model(name).and_then(|(version, previous)| {
        let m = matching(&model, &previous)?;
        model.renumber(&m.new_id);
        for (segment, label) in catalog::load(name, Some(version)).labels {
            if m.counterparts.contains(&segment) {
                carried.push((segment, label));
            } else {
                dropped.push((segment, label));
            }
        }
        Some(version)
    });

    let mut metrics = serde_json::json!({
        "ids_matched_to_version": matched,
        "inertia": report.inertia,
        "silhouette": report.silhouette,
        "silhouette_rows": report.silhouette_rows,
        "iterations": report.iterations,
        "converged": report.converged,
        "rows_fitted": report.rows_fitted,
        "sampled": report.rows_fitted < report.rows_used,
        "rows_noise": report.rows_noise,
        "log_likelihood": report.log_likelihood,
        "bic": report.bic,
        "centre_agreement": report.centre_agreement,
        "k_chosen": scores.map(|scores| serde_json::json!({
            "rule": "highest silhouette",
            "note": edge_note(&scores),
            "scores": scores.iter().map(|s| serde_json::json!({
                "k": s.k,
                "inertia": s.inertia,
                "silhouette": s.silhouette,
                "calinski_harabasz": s.calinski_harabasz,
                "davies_bouldin": s.davies_bouldin,
            })).collect::<Vec<_>>(),
        })),
    });
    if let Some(gamma) = report.gamma {
        // k-prototypes: its objective under its own name, beside the γ it weighs categories by.
        metrics["cost"] = report.inertia.into();
        metrics["gamma"] = gamma.into();
    }
    if let Some(group) = group {
        metrics["group"] = group;
    }
    let named = |labels: &[(u32, String)]| {
        serde_json::Value::Object(
            labels
                .iter()
                .map(|(s, l)| (s.to_string(), l.clone().into()))
                .collect(),
        )
    };
    if matched.is_some() {
        metrics["labels_carried"] = named(&carried);
        metrics["labels_dropped"] = named(&dropped);
    }
    let version = catalog::insert(NewVersion {
        name,
        source: source_sql,
        options: serde_json::to_string(options).expect("options serialize"),
        model: model.to_json(),
        metrics: metrics.to_string(),
        rows_used: report.rows_used as i64,
        rows_skipped: report.rows_skipped as i64,
        meaning: model.meaning(),
        replace: options.replace(),
        made_by: catalog::MadeBy::Fit,
    });
    for (segment, label) in &carried {
        catalog::set_label(name, version, *segment, Some(label));
    }
    if !dropped.is_empty() {
        let listed: Vec<String> = dropped
            .iter()
            .map(|(s, l)| format!("{s} \"{l}\""))
            .collect();
        pgrx::notice!(
            "model \"{name}\" version {version}: the names of segments with no counterpart in the new version were not carried over: {} (see metrics->'labels_dropped'); name them again with segment_rename",
            listed.join(", ")
        );
    }
    (
        name.to_string(),
        version,
        report.k as i32,
        report.rows_used as i64,
        report.rows_skipped as i64,
        report.inertia,
        report.silhouette,
        report.iterations.map(|i| i as i32),
        report.silhouette_rows as i64,
        options.method().name().to_string(),
        report.rows_fitted as i64,
    )
}
