//! What every fit does once the core has a model: store it as the next version of its name
//! (segment ids matched to the previous version, and the analyst's segment names carried over
//! to the segments that have a counterpart) and describe it in `segment_fit`'s row.

use crate::catalog::{self, NewVersion};
use segment_core::model::choose_k::{edge_note, KScore};
use segment_core::model::document::SegmentModel;
use segment_core::model::fit::{FitReport, FitSummary};
use segment_core::model::fit_metrics::{Carried, FitMetrics, GroupOf};
use segment_core::model::matching::matching;
use segment_core::model::options::FitOptions;

/// One row of `segment_fit` and `segment_refit`: the version stored and its fit's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct FitRow {
    pub model: String,
    pub version: i32,
    pub method: String,
    pub fit: FitSummary,
}

/// The row as the SQL functions return it (pgrx reads the column names from their signatures):
/// model, version, segments, rows_used, rows_skipped, inertia, silhouette, iterations,
/// silhouette_rows, method, rows_fitted.
pub type FitRowSql = (
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

impl FitRow {
    pub fn into_sql(self) -> FitRowSql {
        let f = self.fit;
        (
            self.model,
            self.version,
            f.segments as i32,
            f.rows_used as i64,
            f.rows_skipped as i64,
            f.inertia,
            f.silhouette,
            f.iterations.map(|i| i as i32),
            f.silhouette_rows as i64,
            self.method,
            f.rows_fitted as i64,
        )
    }
}

/// Stores a fitted model as the next version of `name` and returns its row of `segment_fit`.
/// `group` places a per-group model's group model.
pub fn store(
    name: &str,
    source_sql: &str,
    options: &FitOptions,
    mut model: SegmentModel,
    report: &FitReport,
    scores: Option<Vec<KScore>>,
    group: Option<GroupOf>,
) -> FitRow {
    // k chosen at the edge of the range scanned: say so where the analyst looks.
    if let Some(note) = scores.as_deref().and_then(edge_note) {
        pgrx::notice!("model \"{name}\": {note}");
    }
    // A refit keeps the previous version's segment ids where the centres match, and the
    // analyst's names of the segments that have a counterpart in the new version.
    let mut carried = Carried::default();
    carried.matched_to = catalog::current_model(name).and_then(|(version, previous)| {
        let m = matching(&model, &previous)?;
        model.renumber(&m.new_id);
        for (segment, label) in catalog::load(name, Some(version)).labels {
            if m.counterparts.contains(&segment) {
                carried.labels_carried.push((segment, label));
            } else {
                carried.labels_dropped.push((segment, label));
            }
        }
        Some(version)
    });
    let metrics = FitMetrics::new(report, scores.as_deref(), &carried, group);
    let version = catalog::insert(NewVersion {
        name,
        source: source_sql,
        options: serde_json::to_string(options).expect("options serialize"),
        model: model.to_json(),
        metrics: metrics.to_json(),
        rows_used: report.rows_used as i64,
        rows_skipped: report.rows_skipped as i64,
        meaning: model.meaning(),
        replace: options.replace(),
        made_by: catalog::MadeBy::Fit,
    });
    for (segment, label) in &carried.labels_carried {
        catalog::set_label(name, version, *segment, Some(label));
    }
    if !carried.labels_dropped.is_empty() {
        let listed: Vec<String> = carried
            .labels_dropped
            .iter()
            .map(|(s, l)| format!("{s} \"{l}\""))
            .collect();
        pgrx::notice!(
            "model \"{name}\" version {version}: the names of segments with no counterpart in the new version were not carried over: {} (see metrics->'labels_dropped'); name them again with segment_rename",
            listed.join(", ")
        );
    }
    FitRow {
        model: name.to_string(),
        version,
        method: options.method().name().to_string(),
        fit: report.summary(),
    }
}
