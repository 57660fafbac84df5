//! The metrics document of a clustering fit (`segment_models.metrics`), typed: what
//! `model::fit::fit_model` (or the streaming fit) reported, the scores a k-means scan chose k
//! from, how segment ids and names carried over from the previous version, and for a group model
//! its place in the per-group model. The shell stores it as it is; readers parse it back with
//! unknown fields refused.

use crate::model::choose_k::{edge_note, KScore};
use crate::model::fit::FitReport;
use crate::model::stability::StoredStability;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Metrics of one clustering model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitMetrics {
    /// The previous version whose segment ids this one keeps (None: ids are new).
    pub ids_matched_to_version: Option<i32>,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub silhouette_rows: u64,
    pub iterations: Option<u32>,
    pub converged: bool,
    pub rows_fitted: u64,
    /// The method was fitted on a seeded sample (rows_fitted < rows_used).
    pub sampled: bool,
    pub rows_noise: u64,
    pub log_likelihood: Option<f64>,
    pub bic: Option<f64>,
    pub centre_agreement: Option<f64>,
    /// k chosen by a k-means scan (k NULL), with the scores it was chosen from.
    pub k_chosen: Option<KChosen>,
    /// k-prototypes: its objective under its own name (also `inertia`), and the γ it weighs
    /// categories by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// A group model's per-group model, grouping column and value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupOf>,
    /// With ids matched: the analyst's segment names carried to this version, and those whose
    /// segment has no counterpart (segment id as text → name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_carried: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_dropped: Option<BTreeMap<String, String>>,
    /// Each segment's stability under resampling, once `segment_stability` stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stability: Option<StoredStability>,
}

/// The k a scan chose and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KChosen {
    pub rule: String,
    /// Why the choice needs a second look (`model::choose_k::edge_note`), if it does.
    pub note: Option<String>,
    pub scores: Vec<ScoreOfK>,
}

impl KChosen {
    /// The k scan of a stored metrics document, None when the fit was given its k. Only
    /// `k_chosen` is read: the documents of other kinds (an import's, a per-group index's) hold
    /// other keys; a `k_chosen` that is there must read whole.
    pub fn in_metrics(metrics: &serde_json::Value) -> Result<Option<KChosen>, String> {
        match metrics.get("k_chosen") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(scan) => serde_json::from_value(scan.clone())
                .map(Some)
                .map_err(|e| format!("k_chosen: {e}")),
        }
    }

    /// (k, inertia, silhouette) of each k scanned, as the elbow plot draws them.
    pub fn elbow(&self) -> Vec<(usize, f64, Option<f64>)> {
        self.scores
            .iter()
            .map(|s| (s.k, s.inertia, s.silhouette))
            .collect()
    }
}

/// One k's scores in `k_chosen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreOfK {
    pub k: usize,
    pub inertia: f64,
    pub silhouette: Option<f64>,
    pub calinski_harabasz: Option<f64>,
    pub davies_bouldin: Option<f64>,
}

/// Where a group model sits in its per-group model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupOf {
    pub model: String,
    pub group_by: String,
    pub value: String,
}

/// How a refit carried over segment ids and names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Carried {
    /// The previous version matched (None: no previous version, or no match).
    pub matched_to: Option<i32>,
    pub labels_carried: Vec<(u32, String)>,
    pub labels_dropped: Vec<(u32, String)>,
}

impl FitMetrics {
    /// The metrics of a fit from its report, the scan's scores (k NULL), how ids carried over
    /// and, for a group model, its group.
    pub fn new(
        report: &FitReport,
        scores: Option<&[KScore]>,
        carried: &Carried,
        group: Option<GroupOf>,
    ) -> FitMetrics {
        let named = |labels: &[(u32, String)]| {
            labels
                .iter()
                .map(|(s, l)| (s.to_string(), l.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let matched = carried.matched_to.is_some();
        FitMetrics {
            ids_matched_to_version: carried.matched_to,
            inertia: report.inertia,
            silhouette: report.silhouette,
            silhouette_rows: report.silhouette_rows,
            iterations: report.iterations,
            converged: report.converged,
            rows_fitted: report.rows_fitted,
            sampled: report.rows_fitted < report.rows_used,
            rows_noise: report.rows_noise,
            log_likelihood: report.log_likelihood,
            bic: report.bic,
            centre_agreement: report.centre_agreement,
            k_chosen: scores.map(|scores| KChosen {
                rule: "highest silhouette".to_string(),
                note: edge_note(scores),
                scores: scores
                    .iter()
                    .map(|s| ScoreOfK {
                        k: s.k,
                        inertia: s.inertia,
                        silhouette: s.silhouette,
                        calinski_harabasz: s.calinski_harabasz,
                        davies_bouldin: s.davies_bouldin,
                    })
                    .collect(),
            }),
            cost: report.gamma.map(|_| report.inertia),
            gamma: report.gamma,
            group,
            labels_carried: matched.then(|| named(&carried.labels_carried)),
            labels_dropped: matched.then(|| named(&carried.labels_dropped)),
            stability: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Metrics of a per-group model's index version: sums over its group models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupedMetrics {
    pub inertia: f64,
    pub groups: usize,
    pub groups_fitted: usize,
    pub rows_null_group: u64,
    /// The fewest usable rows a group needed to be fitted.
    pub min_group_rows: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> FitReport {
        FitReport {
            k: 2,
            rows_used: 10,
            rows_skipped: 1,
            inertia: 3.5,
            silhouette: Some(0.5),
            silhouette_rows: 10,
            iterations: Some(4),
            converged: true,
            rows_fitted: 8,
            rows_noise: 0,
            log_likelihood: None,
            bic: None,
            centre_agreement: None,
            gamma: None,
            near_constant: vec![],
        }
    }

    /// The document written before the metrics were typed: the same keys and values.
    #[test]
    fn the_document_keeps_its_keys() {
        let m = FitMetrics::new(&report(), None, &Carried::default(), None);
        let doc: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(
            doc,
            json!({
                "ids_matched_to_version": null, "inertia": 3.5, "silhouette": 0.5,
                "silhouette_rows": 10, "iterations": 4, "converged": true, "rows_fitted": 8,
                "sampled": true, "rows_noise": 0, "log_likelihood": null, "bic": null,
                "centre_agreement": null, "k_chosen": null
            })
        );
        // k-prototypes, a refit that matched ids and names, a group model.
        let mut r = report();
        r.gamma = Some(0.25);
        let carried = Carried {
            matched_to: Some(3),
            labels_carried: vec![(1, "loyal".into())],
            labels_dropped: vec![],
        };
        let group = GroupOf {
            model: "m".into(),
            group_by: "region".into(),
            value: "north".into(),
        };
        let m = FitMetrics::new(&r, None, &carried, Some(group));
        let doc: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!((&doc["cost"], &doc["gamma"]), (&json!(3.5), &json!(0.25)));
        assert_eq!(doc["ids_matched_to_version"], json!(3));
        assert_eq!(doc["labels_carried"], json!({"1": "loyal"}));
        assert_eq!(doc["labels_dropped"], json!({}));
        assert_eq!(doc["group"]["value"], json!("north"));
        // It reads back; an unknown key is refused.
        let back: FitMetrics = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back, m);
        let mut extra = doc.clone();
        extra["colour"] = json!(1);
        assert!(serde_json::from_value::<FitMetrics>(extra).is_err());
    }

    #[test]
    fn a_scan_keeps_its_scores_and_note() {
        let score = |k: usize, s: f64, recommended: bool| KScore {
            k,
            inertia: 10.0 / k as f64,
            silhouette: Some(s),
            silhouette_rows: 10,
            calinski_harabasz: Some(s),
            davies_bouldin: Some(1.0 - s),
            recommended,
        };
        let scores = [score(2, 0.3, false), score(3, 0.6, true)];
        let m = FitMetrics::new(&report(), Some(&scores), &Carried::default(), None);
        let chosen = m.k_chosen.unwrap();
        assert_eq!(chosen.rule, "highest silhouette");
        assert_eq!(chosen.scores.len(), 2);
        assert_eq!(chosen.scores[1].k, 3);
        // k = 3 is the top of 2..3.
        assert!(chosen.note.unwrap().starts_with("k = 3 is the top"));
    }

    #[test]
    fn the_k_scan_reads_from_any_metrics_document() {
        let scan = json!({"rule": "silhouette", "note": null, "scores": [
            {"k": 2, "inertia": 10.0, "silhouette": 0.5, "calinski_harabasz": null, "davies_bouldin": null},
            {"k": 3, "inertia": 6.0, "silhouette": null, "calinski_harabasz": 1.0, "davies_bouldin": 2.0}]});
        // Other keys beside it (an import's metrics) are not this reader's business.
        let metrics = json!({"imported_from": "x", "k_chosen": scan});
        let chosen = KChosen::in_metrics(&metrics).unwrap().unwrap();
        assert_eq!(chosen.elbow(), vec![(2, 10.0, Some(0.5)), (3, 6.0, None)]);
        assert_eq!(KChosen::in_metrics(&json!({"inertia": 1.0})).unwrap(), None);
        assert_eq!(
            KChosen::in_metrics(&json!({"k_chosen": null})).unwrap(),
            None
        );
        // A damaged scan is said, not drawn as no scan.
        let damaged = json!({"k_chosen": {"rule": "silhouette", "scores": [{"k": "two"}]}});
        assert!(KChosen::in_metrics(&damaged)
            .unwrap_err()
            .starts_with("k_chosen: "));
    }
}
