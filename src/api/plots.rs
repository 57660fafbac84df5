//! `segment_plot(model, kind, source)`: a model as an SVG picture (see `segment_core::plot`).

use super::inspect::source_for;
use crate::catalog::{self, Stored};
use crate::errors::{raise, require, OrRaise};
use crate::source;
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};
use segment_core::cluster::dbscan::NOISE;
use segment_core::model::fit_metrics::KChosen;
use segment_core::plot::{self, NoTree};
use segment_core::prep::matrix::fill_nan;
use segment_core::prep::reservoir::Reservoir;

/// Rows drawn in a scatter: enough to see the shapes, few enough for a light document.
const SCATTER_ROWS: usize = 2000;

/// An SVG document (text) of a model, at most 1280 x 720, with a `<title>` and `<desc>` saying
/// what it shows (`segment_core::plot`): `scatter` (rows of `source`, default the training
/// relation, on the first two principal components of the model's scaled features, z-scored for
/// churn and classifier models, coloured by segment or predicted class; a seeded sample of 2,000
/// rows on larger sources), `elbow` (inertia and silhouette per k of the scan made by a fit with
/// k NULL), `profile` (a heatmap of segment_profile's difference_sd per segment and feature,
/// features in the `log` option as log(1 + x), a constant feature a grey cell, with a churn
/// model's churn rate per leaf), `tree` (a churn model's tree, leaves by churn rate, or a
/// classifier tree's, leaves by class; a forest is refused). Labels set with segment_rename are
/// used.
#[pg_extern(stable, parallel_unsafe)]
fn segment_plot(
    model: Option<&str>,
    kind: default!(Option<&str>, "'scatter'"),
    source: default!(Option<PgRelation>, "NULL"),
) -> String {
    let name = require(model, "model");
    let kind = require(kind, "kind");
    let stored = catalog::load(name, None);
    match picture(&stored, kind, source) {
        Ok(svg) => svg,
        Err(NotDrawn::Lacks(what, hint)) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("model \"{name}\" {what}"),
            Some(hint),
        ),
        Err(NotDrawn::Kind(what, hint)) => raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" {what}"),
            Some(hint),
        ),
    }
}

/// Why a picture of a model cannot be drawn: it lacks what the picture needs (no rows in the
/// source, no scan of k), or the kind does not apply to the model. segment_plot raises it;
/// segment_report leaves the picture out.
pub enum NotDrawn {
    Lacks(String, &'static str),
    Kind(String, &'static str),
}

/// The picture of `kind` of a stored model (segment_plot's; segment_report draws the same).
pub fn picture(
    stored: &Stored,
    kind: &str,
    source: Option<PgRelation>,
) -> Result<String, NotDrawn> {
    let name = &stored.name;
    let m = &stored.model;
    let columns = m.columns().names;
    let labels = stored.labels();
    let title = format!("{name} (version {}): {kind}", stored.version);
    Ok(match kind {
        "scatter" => {
            let src = source_for(stored, source);
            let assigner = m.assigner();
            let d = columns.len();
            let mut sample = Reservoir::new(SCATTER_ROWS, d, stored.options.seed());
            let mut segments = Vec::new();
            let (mut row, mut scratch) = (vec![0.0; d], vec![0.0; m.k()]);
            source::for_each_row(&src, &m.categories, |values| {
                fill_nan(&mut row, values, assigner.columns())?;
                if let Some(label) = assigner.label_raw(&mut row, &mut scratch)? {
                    let segment = (label != NOISE).then_some(label);
                    match sample.push(&row) {
                        Some(at) if at == segments.len() => segments.push(segment),
                        Some(at) => segments[at] = segment,
                        None => {}
                    }
                }
                Ok(())
            })
            .or_raise();
            if segments.is_empty() {
                return Err(NotDrawn::Lacks(
                    "has no rows to draw in this source".into(),
                    "Pass a source with rows.",
                ));
            }
            let title = format!("{title}, {} of {} rows", segments.len(), sample.seen());
            plot::model_scatter(&title, m, &labels, &sample.into_rows(), &segments)
        }
        "elbow" => {
            let metrics = catalog::metrics(name, stored.version);
            let scores = KChosen::in_metrics(&metrics)
                .unwrap_or_else(|e| catalog::bad_field(name, stored.version, "metrics", &e))
                .map(|scan| scan.elbow())
                .unwrap_or_default();
            if scores.len() < 2 {
                return Err(NotDrawn::Lacks(
                    "was fitted with a given k: there is no scan of k to draw".into(),
                    "Fit with k => NULL (segment_fit scans options k_min..k_max), or look at segment_choose_k.",
                ));
            }
            plot::elbow(&title, &scores, Some(m.k()))
        }
        // segment_profile's difference_sd, on the scale the model clusters on.
        "profile" => plot::model_profile(&title, m, &labels),
        "tree" => match plot::model_tree(&title, m, &labels) {
            Ok(svg) => svg,
            Err(NoTree::Forest(trees)) => return Err(NotDrawn::Kind(
                format!(
                    "is a random forest of {trees} trees: no one tree decides its classes, so there is no tree to draw"
                ),
                "Draw kind 'profile' or 'scatter', rank its features with segment_classify_importance, or fit a single tree with segment_classify_fit (method tree) for readable rules.",
            )),
            Err(NoTree::NotATreeModel) => return Err(NotDrawn::Kind(
                "is not a tree model: the tree plot draws churn and classifier trees".into(),
                "Fit one with segment_churn_fit or segment_classify_fit; for clustering models try kind 'profile' or 'scatter'.",
            )),
        },
        other => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown plot kind \"{}\"", other.escape_default()),
            Some("Kinds: scatter, elbow, profile, tree."),
        ),
    })
}
