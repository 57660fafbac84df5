//! The supervised fits' one pipeline (`segment_churn_fit`, `segment_classify_fit`): the
//! arguments, the source and its label column checked, the model name and what it means, the
//! labelled rows read, the core's `supervised::train` over them, and the new version stored.

use crate::catalog::{self, NewVersion};
use crate::errors::{require, OrRaise};
use crate::gucs;
use crate::progress::interrupt;
use crate::source;
use pgrx::{JsonB, PgRelation};
use segment_core::error::CoreResult;
use segment_core::model::document::Meaning;
use segment_core::model::supervised::{self, Fitted, Labelled, Supervised};
use segment_core::prep::builder::MatrixBuilder;
use segment_core::prep::encoding::Columns;

/// What one supervised SQL function says in its own words.
pub(super) struct Spec {
    /// The SQL function, as its warnings name it.
    pub function: &'static str,
    /// The model's name when the call gives none, from the relation's name and the label.
    pub default_name: fn(&str, &str) -> String,
    /// Hints for a label column that is missing (what it should hold), of another type, or NULL.
    pub missing_label: &'static str,
    pub label_types: &'static str,
    pub null_label: &'static str,
}

/// Fits and stores a supervised model of the SQL function `spec`: its options are read by
/// `parse`. Returns the model's name, its new version, and the fit.
pub(super) fn fit<O: Supervised + serde::Serialize>(
    spec: &Spec,
    source: Option<PgRelation>,
    features: Option<Vec<Option<String>>>,
    label: Option<String>,
    name: Option<String>,
    options: Option<JsonB>,
    parse: fn(&str) -> CoreResult<O>,
) -> (String, i32, Fitted<O::Report>) {
    let rel = require(source, "source");
    let features = require(features, "features");
    let label = require(label, "label");
    let options = parse(&require(options, "options").0.to_string()).or_raise();
    let src = source::validate(&rel, features);
    source::check_label(
        &rel,
        &src.features,
        &label,
        spec.missing_label,
        spec.label_types,
    );
    let name = name.unwrap_or_else(|| (spec.default_name)(&src.relname, &label));
    catalog::check_fit_name(&name);
    let meaning = Meaning {
        features: src.features.clone(),
        method: options.method().name().to_string(),
        group_by: None,
        label: Some(label.clone()),
    };
    catalog::check_meaning(&name, &meaning, options.replace(), catalog::MadeBy::Fit);

    let categories =
        source::learn_categories(&src, options.max_categories(), options.categorical()).or_raise();
    let columns = Columns::of(&src.features, &categories);
    let mut builder = MatrixBuilder::new(columns.names, options.impute(), gucs::max_memory_bytes());
    let labels = source::read_labelled(
        &src,
        &categories,
        &label,
        &mut builder,
        options.max_values(),
        || options.past_max_values(&label),
        spec.null_label,
    );
    let threads = if options.threaded() {
        gucs::threads()
    } else {
        1
    };
    let fitted = supervised::train(
        &options,
        Labelled {
            features: src.features.clone(),
            categories,
            label,
            builder,
            values: labels.values,
            codes: labels.codes,
        },
        gucs::max_memory_bytes(),
        threads,
        &mut |columns| crate::warnings::near_constant(spec.function, "", columns),
        &mut interrupt,
    )
    .or_raise();
    let version = catalog::insert(NewVersion {
        name: &name,
        source: &src.sql_name,
        options: serde_json::to_string(&options).expect("options serialize"),
        model: fitted.model.to_json(),
        metrics: fitted.metrics.to_string(),
        rows_used: fitted.rows_used as i64,
        rows_skipped: fitted.rows_skipped as i64,
        meaning,
        replace: options.replace(),
        made_by: catalog::MadeBy::Fit,
    });
    (name, version, fitted)
}
