//! `segment_report(model, source, measures)`: one HTML page per model (`segment_core::report`
//! writes it). The pieces come from where the other functions take them: the profile and labels
//! from the catalog, what each segment is worth from `segment_summary`'s query, the drift from
//! `segment_drift`'s, the pictures from `segment_plot`'s, the segments' stability from what
//! `segment_stability` stored in the version's metrics.

use super::monitor::drift_of;
use super::plots::picture;
use super::summary::{summary_of, Summary};
use crate::catalog::{self, Current, Stored};
use crate::errors::{raise, require};
use crate::search_path::pinned;
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};
use segment_core::model::document::Method;
use segment_core::model::stability::StoredStability;
use segment_core::plot::{self, count as thousands, percent};
use segment_core::report::{self, readable, Card, Drift, DriftRow, Report};

/// Features that set a segment apart, on its card.
const TRAITS: usize = 5;

/// The report page of a model's current version, as one self-contained HTML document: a card
/// per segment, the sizes, the scatter and profile (a churn or classifier tree's picture too),
/// how the model was made, and with a `source` the drift of its rows since the fit. `measures`
/// (columns of `source`, default the relation the model was fitted on) add what each segment is
/// worth. `\o report.html` then `SELECT segment_report('m');` in psql writes it to a file
/// (`psql -At` keeps the page as it is).
#[pg_extern(stable, parallel_unsafe)]
fn segment_report(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
    measures: default!(Option<Vec<Option<String>>>, "NULL"),
) -> String {
    let name = require(model, "model");
    let stored = match catalog::load_current(name) {
        Current::One(stored) => *stored,
        Current::Grouped(_) => raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is fitted per group: a report shows one model"),
            Some("Report one group's model, e.g. segment_report('<model>/<value>'); segment_summary takes the per-group model."),
        ),
    };
    let m = &stored.model;
    let labels = stored.labels();
    let columns = m.columns().names;

    // Sizes (and what each segment is worth) from the rows now when a source or measures are
    // given, else the training rows' sizes kept in the profile.
    let summary: Option<Summary> = (source.is_some() || measures.is_some())
        .then(|| summary_of(name, source.clone(), measures.unwrap_or_default()));
    let mut cards: Vec<Card> = Vec::with_capacity(m.k());
    let training_shares = report::shares(&m.profile.sizes);
    for (s, name) in labels.iter().enumerate() {
        let (rows, share, worth) = match &summary {
            Some(sum) => {
                let id = Some(s as i32);
                (sum.segment_rows(id), sum.segment_share(id), sum.worth(id))
            }
            None => (m.profile.sizes[s], training_shares[s], Vec::new()),
        };
        let outcome = match (m.churn(), m.classes()) {
            (Some(churn), _) => {
                let rate = churn.tree.leaves()[s].churn_rate();
                Some(format!(
                    "churn rate {} (all customers: {}; {}× the base rate)",
                    percent(rate),
                    percent(churn.base_rate),
                    readable(churn.lift(rate))
                ))
            }
            (None, Some(classes)) => Some(format!(
                "predicted {} = {}",
                classes.label, classes.values[s]
            )),
            _ => None,
        };
        cards.push(Card {
            segment: s as i32,
            name: name.clone(),
            colour: plot::style(Some(s as u32)).0.to_string(),
            rows,
            share,
            worth,
            traits: report::traits(&m.profile, &m.features, &m.categories, s, TRAITS),
            outcome,
        });
    }
    let mut notes = Vec::new();
    if let Some(sum) = &summary {
        let noise = sum.segment_rows(Some(-1));
        if noise > 0 {
            cards.push(Card {
                segment: -1,
                name: "noise".into(),
                colour: plot::NOISE_COLOUR.into(),
                rows: noise,
                share: sum.segment_share(Some(-1)),
                worth: sum.worth(Some(-1)),
                traits: vec!["in no dense region: dbscan's noise".into()],
                outcome: None,
            });
        }
        let unassigned = sum.segment_rows(None);
        if unassigned > 0 {
            notes.push(format!(
                "{} rows of the source ({}) got no segment (a NULL feature the model does not impute).",
                thousands(unassigned),
                percent(sum.segment_share(None))
            ));
        }
    }

    // The pictures that apply to the model (a tree for tree models but forests, the elbow for a
    // scanned k); a scatter of a source without rows is left out.
    let mut pictures = Vec::new();
    for (kind, heading) in PICTURES {
        if let Ok(svg) = picture(&stored, kind, source.clone()) {
            pictures.push((heading.to_string(), svg));
        }
    }
    let drift = source.clone().and_then(|rel| drift_section(&stored, rel));
    let mut made = made_of(&stored, &columns);
    // segment_stability's result, when it was stored with this version.
    let metrics = catalog::metrics(name, stored.version);
    let stability = StoredStability::in_metrics(&metrics)
        .unwrap_or_else(|e| catalog::bad_field(name, stored.version, "metrics", &e));
    if let Some(s) = stability {
        made.push((
            format!("stability of each segment (bootstrap, {} runs)", s.runs),
            s.values(),
        ));
        notes.extend(s.note(&labels));
    }
    if let Some(sum) = &summary {
        made.push((
            "rows in this report".into(),
            format!("{} of {}", thousands(sum.rows()), sum.source()),
        ));
    }
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let subtitle = format!(
        "{} · {} · {} · fitted on {}",
        m.method().name(),
        plural(m.k(), "segment"),
        plural(m.features.len(), "feature"),
        stored.source
    );
    report::html(&Report {
        model: name.to_string(),
        version: stored.version,
        subtitle,
        made,
        cards,
        pictures,
        drift,
        notes,
    })
}

/// The drift of `rel`'s rows since the fit, for clustering models (segment_drift's figures).
fn drift_section(stored: &Stored, rel: PgRelation) -> Option<Drift> {
    let m = &stored.model;
    if m.churn().is_some() || m.classes().is_some() {
        return None;
    }
    let source = rel.name().to_string();
    let report = drift_of(stored, Some(rel));
    let (d, advice) = (report.drift, report.advice);
    let labels = stored.labels();
    Some(Drift {
        source,
        rows: d
            .segments
            .iter()
            .enumerate()
            .map(|(s, seg)| DriftRow {
                name: labels[s].clone(),
                share_fit: seg.share_fit,
                share_now: seg.share_now,
                psi: seg.psi,
            })
            .collect(),
        psi_total: d.psi_total,
        advice: advice.to_string(),
    })
}

/// How the model was made, from its catalog row (as segment_models shows it to the caller).
fn made_of(stored: &Stored, columns: &[String]) -> Vec<(String, String)> {
    let m = &stored.model;
    let mut made = vec![
        ("method".to_string(), m.method().name().to_string()),
        ("segments".to_string(), m.k().to_string()),
        ("features".to_string(), stored.model.features.join(", ")),
        ("columns it compares".to_string(), columns.len().to_string()),
        ("fitted on".to_string(), stored.source.clone()),
    ];
    let ext = catalog::schema();
    let row = pinned(|| {
        Spi::connect(|client| {
            let t = client.select(
                &format!(
                    "SELECT rows_used, rows_skipped, to_char(created_at, 'YYYY-MM-DD HH24:MI TZ'), \
                     fitted_by::text, metrics::text FROM {ext}.segment_models WHERE name = $1 AND version = $2"
                ),
                Some(1),
                &[stored.name.as_str().into(), stored.version.into()],
            )?;
            let mut out = None;
            for r in t {
                out = Some((
                    r.get::<i64>(1)?.unwrap_or(0),
                    r.get::<i64>(2)?.unwrap_or(0),
                    r.get::<String>(3)?.unwrap_or_default(),
                    r.get::<String>(4)?.unwrap_or_default(),
                    r.get::<String>(5)?.unwrap_or_default(),
                ));
            }
            Ok::<_, pgrx::spi::Error>(out)
        })
    })
    .ok()
    .flatten();
    if let Some((used, skipped, created, by, metrics)) = row {
        made.push(("rows used".into(), thousands(used as u64)));
        if skipped > 0 {
            made.push(("rows skipped".into(), thousands(skipped as u64)));
        }
        made.push(("fitted at".into(), created));
        made.push(("fitted by".into(), by));
        // The scores a reader knows, where the method has them.
        let metrics: serde_json::Value = serde_json::from_str(&metrics).unwrap_or_default();
        for (key, shown) in SCORES {
            if let Some(v) = metrics.get(key).and_then(serde_json::Value::as_f64) {
                made.push((shown.to_string(), readable(v)));
            }
        }
    }
    if m.method() == Method::Dbscan {
        made.push((
            "noise".into(),
            "rows in no dense region get segment -1".into(),
        ));
    }
    made
}

/// The pictures of the page, in order: (segment_plot's kind, the page's heading).
const PICTURES: [(&str, &str); 4] = [
    ("scatter", "The customers on a map of their features"),
    ("profile", "How each segment differs from the average"),
    ("tree", "The tree"),
    ("elbow", "How the number of segments was chosen"),
];

/// Fit metrics shown on the page: (key in the metrics document, what the page calls it).
const SCORES: [(&str, &str); 10] = [
    ("silhouette", "silhouette (−1 to 1, higher is better)"),
    ("inertia", "inertia (scaled units)"),
    ("log_likelihood", "log-likelihood per row"),
    ("bic", "BIC"),
    ("accuracy", "held-out accuracy"),
    ("precision", "held-out precision"),
    ("recall", "held-out recall"),
    ("f1", "held-out F1"),
    ("roc_auc", "held-out ROC AUC"),
    ("macro_f1", "held-out macro F1"),
];
