//! Per-group models: `segment_fit` with the `group_by` option (one model per value of a column,
//! see `segment_core::model::groups`), `segment_groups` listing them and `segment_group_labels` their labels.

use crate::catalog::{self, Current, NewVersion};
use crate::errors::{raise, require, OrRaise};
use crate::fitting::{store, FitRow};
use crate::gucs;
use crate::gucs::limits;
use crate::progress::interrupt;
use crate::source::{self, Source};
use pgrx::prelude::*;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use segment_core::model::choose_k::KScore;
use segment_core::model::document::{SegmentModel, GROUPED};
use segment_core::model::fit::FitReport;
use segment_core::model::fit_metrics::GroupOf;
use segment_core::model::group_fit::{fit_groups, GroupRows, GroupStore};
use segment_core::model::options::FitOptions;
use segment_core::prep::encoding::{column_log_mask, Columns};

/// Reads the source once, routing each row to its group's matrix; fits every group with enough
/// usable rows as a model named `<name>/<value>`, then stores the index as a new version of
/// `name` (`segment_core::model::group_fit` decides). Returns the per-group model's row (sums
/// over the groups) and one row per group fitted.
pub fn fit_and_store(
    source: &Source,
    group_by: &str,
    name: &str,
    options: &FitOptions,
) -> Vec<FitRow> {
    let categories =
        source::learn_categories(source, options.max_categories(), options.categorical())
            .or_raise();
    options.log_mask(&source.features).or_raise();
    let columns = Columns::of(&source.features, &categories);
    let log = column_log_mask(&source.features, &categories, options.log()).or_raise();
    let mut rows = GroupRows::new(
        group_by,
        columns.names,
        options.impute(),
        log,
        gucs::max_memory_bytes(),
    );
    source::for_each_row_with(source, &categories, group_by, |row, group| {
        rows.push(row, group)
    })
    .or_raise();

    let mut store = Members {
        source,
        group_by,
        options: options.for_group(),
        rows: Vec::new(),
    };
    let grouped = fit_groups(
        rows,
        name,
        &source.relname,
        &source.features,
        &categories,
        options,
        limits(),
        &mut interrupt,
        &mut store,
    )
    .or_raise();
    for (message, hint) in &grouped.warnings {
        warn(message.clone(), hint);
    }
    let version = catalog::insert(NewVersion {
        name,
        source: &source.sql_name,
        options: serde_json::to_string(options).expect("options serialize"),
        model: grouped.index.to_json(),
        metrics: serde_json::to_string(&grouped.metrics).expect("metrics serialize"),
        rows_used: grouped.summary().rows_used as i64,
        rows_skipped: grouped.rows_skipped as i64,
        meaning: grouped.index.meaning(),
        replace: options.replace(),
        made_by: catalog::MadeBy::Fit,
    });
    for member in grouped.index.members() {
        catalog::inherit_access(name, member.0);
    }
    let summary = FitRow {
        model: name.to_string(),
        version,
        method: GROUPED.to_string(),
        fit: grouped.summary(),
    };
    std::iter::once(summary).chain(store.rows).collect()
}

/// Stores a per-group fit's group models as `fit_groups` fits them.
struct Members<'a> {
    source: &'a Source,
    group_by: &'a str,
    options: FitOptions,
    rows: Vec<FitRow>,
}

impl GroupStore for Members<'_> {
    fn check_name(&mut self, member: &str) {
        catalog::check_fit_name(member);
    }

    fn store(
        &mut self,
        member: &str,
        group: GroupOf,
        model: SegmentModel,
        report: &FitReport,
        scores: Option<Vec<KScore>>,
    ) -> i32 {
        crate::warnings::near_constant(
            "segment_fit",
            &format!("group \"{}\" of \"{}\": ", group.value, self.group_by),
            &report.near_constant,
        );
        let row = store(
            member,
            &self.source.sql_name,
            &self.options,
            model,
            report,
            scores,
            Some(group),
        );
        let version = row.version;
        self.rows.push(row);
        version
    }
}

fn warn(message: String, hint: &str) {
    pgrx::pg_sys::panic::ErrorReport::new(PgSqlErrorCode::ERRCODE_WARNING, message, "segment_fit")
        .set_hint(hint.to_string())
        .report(PgLogLevel::WARNING);
}

/// The groups of a per-group model (`segment_fit` with the group_by option): each value of the
/// grouping column, its usable rows at fit time, and the model (name and version) its rows are
/// assigned with; model NULL for a group that had too few rows (its rows get no segment).
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_groups(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(group_value, String),
        name!(rows_used, i64),
        name!(model, Option<String>),
        name!(version, Option<i32>),
    ),
> {
    let stored = grouped(require(model, "model"));
    TableIterator::new(
        stored
            .index
            .groups
            .into_iter()
            .map(|g| (g.value, g.rows as i64, g.model, g.version)),
    )
}

/// A per-group model's segments with their labels, per group (the analyst's label of the group
/// model's version in use, or the automatic one); groups with too few rows have none.
#[pg_extern(stable, parallel_safe)]
fn segment_group_labels(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(group_value, String),
        name!(segment, i32),
        name!(label, String),
    ),
> {
    let stored = grouped(require(model, "model"));
    let mut rows = Vec::new();
    for group in &stored.index.groups {
        let (Some(member), Some(version)) = (&group.model, group.version) else {
            continue;
        };
        let member = catalog::load(member, Some(version));
        let automatic = member.model.automatic_labels();
        for s in 0..member.model.k() as u32 {
            rows.push((group.value.clone(), s as i32, member.label(s, &automatic)));
        }
    }
    TableIterator::new(rows)
}

/// The current version of a per-group model; "does not exist", "permission denied" or "one
/// model" errors otherwise.
fn grouped(name: &str) -> catalog::StoredIndex {
    match catalog::load_current(name) {
        Current::Grouped(stored) => *stored,
        Current::One(_) => raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is one model, not fitted per group"),
            Some("Fit per group with options => '{\"group_by\": \"<column>\"}'; segment_labels and segment_profile take one model."),
        ),
    }
}
