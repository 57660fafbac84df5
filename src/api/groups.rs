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
use segment_core::error::{CoreError, ErrorKind};
use segment_core::model::budget::{self, Shape};
use segment_core::model::document::FORMAT_VERSION;
use segment_core::model::document::GROUPED;
use segment_core::model::fit::fit_model;
use segment_core::model::groups::{member_name, min_rows, Group, GroupIndex, MAX_GROUPS};
use segment_core::model::options::FitOptions;
use segment_core::prep::builder::MatrixBuilder;
use segment_core::prep::encoding::{column_log_mask, Columns};
use segment_core::prep::matrix::matrix_bytes;
use segment_core::prep::preprocessor::fit_matrix;
use std::collections::HashMap;

/// Reads the source once, routing each row to its group's matrix; fits every group with enough
/// usable rows as a model named `<name>/<value>`, then stores the index as a new version of
/// `name`. Returns the per-group model's row (sums over the groups) and one row per group fitted.
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
    let max_bytes = gucs::max_memory_bytes();

    // Group values in the order first seen; sorted below.
    let mut position: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut builders: Vec<(String, MatrixBuilder)> = Vec::new();
    let mut null_group_rows = 0u64;
    let mut rows_held = 0usize;
    source::for_each_row_with(source, &categories, group_by, |row, group| {
        let Some(group) = group else {
            null_group_rows += 1;
            return Ok(());
        };
        let at = match position.get(group) {
            Some(&at) => at,
            None => {
                if builders.len() == MAX_GROUPS {
                    return Err(CoreError::new(
                        ErrorKind::ResourceLimit,
                        format!("group_by column \"{group_by}\" has more than {MAX_GROUPS} distinct values"),
                    )
                    .with_hint("Group by a coarser column (a region rather than a store), or fit a view per group."));
                }
                position.insert(group.to_vec(), builders.len());
                let builder = MatrixBuilder::new(columns.names.clone(), options.impute(), max_bytes)
                    .with_log(log.clone());
                builders.push((String::from_utf8_lossy(group).into_owned(), builder));
                builders.len() - 1
            }
        };
        // The memory limit holds for all groups' matrices together.
        if builders[at].1.push(row)? {
            rows_held += 1;
            if matrix_bytes(rows_held, columns.width()) > max_bytes {
                return Err(CoreError::new(
                    ErrorKind::ResourceLimit,
                    format!(
                        "the groups' feature matrices would exceed customer_segment.max_memory_mb ({} MB) after {rows_held} rows",
                        max_bytes / (1024 * 1024)
                    ),
                )
                .with_hint("Raise customer_segment.max_memory_mb, or fit on a smaller view of the source."));
            }
        }
        Ok(())
    })
    .or_raise();
    drop(position);
    if builders.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "group_by column \"{group_by}\" is NULL in every row of \"{}\" (or it has no rows)",
                source.relname
            ),
            Some("Group by a column with values, or leave group_by out."),
        );
    }
    builders.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let need = min_rows(options);
    let member_options = options.for_group();
    let mut groups: Vec<Group> = Vec::with_capacity(builders.len());
    let mut rows: Vec<FitRow> = Vec::new();
    let mut rows_skipped = null_group_rows;
    let mut too_small: Vec<String> = Vec::new();
    // Rows of the groups not fitted yet: their matrices stay held while one group is fitted.
    let mut rows_waiting = rows_held;
    for (value, builder) in builders {
        let in_group = |e: CoreError| CoreError {
            message: format!("group \"{value}\" of \"{group_by}\": {}", e.message),
            ..e
        };
        let built = builder.finish().map_err(in_group).or_raise();
        let usable = built.matrix.n_rows() as u64;
        rows_waiting -= built.matrix.n_rows();
        rows_skipped += built.rows_skipped;
        if usable < need {
            rows_skipped += usable;
            too_small.push(format!("\"{value}\" ({usable})"));
            groups.push(Group {
                value,
                rows: usable,
                model: None,
                version: None,
            });
            continue;
        }
        let member = member_name(name, &value);
        catalog::check_fit_name(&member);
        let shape = Shape::of(usable as usize, &source.features, &categories);
        budget::fit(&shape, &member_options, limits())
            .holding(matrix_bytes(rows_waiting, columns.width()))
            .check(max_bytes)
            .map_err(in_group)
            .or_raise();
        let (model, report, scores) = fit_model(
            fit_matrix(built, member_options.scale()),
            source.features.clone(),
            categories.clone(),
            &member_options,
            limits(),
            &mut interrupt,
        )
        .map_err(in_group)
        .or_raise();
        crate::warnings::near_constant(
            "segment_fit",
            &format!("group \"{value}\" of \"{group_by}\": "),
            &report.near_constant,
        );
        let row = store(
            &member,
            &source.sql_name,
            &member_options,
            model,
            &report,
            scores,
            Some(serde_json::json!({"model": name, "group_by": group_by, "value": value})),
        );
        groups.push(Group {
            value,
            rows: usable,
            model: Some(member),
            version: Some(row.1),
        });
        rows.push(row);
    }
    if rows.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "no group of \"{group_by}\" has the {need} usable rows a fit needs: {}",
                shortlist(&too_small)
            ),
            Some("Lower k (or the min_group_rows option), or group by a coarser column."),
        );
    }
    if !too_small.is_empty() {
        warn(
            format!(
                "{} of {} groups of \"{group_by}\" are not fitted, having fewer than {need} usable rows: {}",
                too_small.len(),
                groups.len(),
                shortlist(&too_small)
            ),
            "segment_assign gives their rows no segment (NULL). Lower k or min_group_rows to fit them.",
        );
    }
    if null_group_rows > 0 {
        warn(
            format!("rows with a NULL \"{group_by}\" are not fitted: {null_group_rows}"),
            "segment_assign gives such rows no segment (NULL).",
        );
    }

    let index = GroupIndex {
        format_version: FORMAT_VERSION,
        method: GROUPED.to_string(),
        group_method: options.method(),
        group_by: group_by.to_string(),
        features: source.features.clone(),
        k: options.k().map(|k| k as u32),
        groups,
    };
    let sum_i64 = |f: fn(&FitRow) -> i64| rows.iter().map(f).sum::<i64>();
    let inertia: f64 = rows.iter().map(|r| r.5).sum();
    let metrics = serde_json::json!({
        "inertia": inertia,
        "groups": index.groups.len(),
        "groups_fitted": rows.len(),
        "rows_null_group": null_group_rows,
        "min_group_rows": need,
    });
    let version = catalog::insert(NewVersion {
        name,
        source: &source.sql_name,
        options: serde_json::to_string(options).expect("options serialize"),
        model: index.to_json(),
        metrics: metrics.to_string(),
        rows_used: sum_i64(|r| r.3),
        rows_skipped: rows_skipped as i64,
        meaning: index.meaning(),
        replace: options.replace(),
        made_by: catalog::MadeBy::Fit,
    });
    for member in index.members() {
        catalog::inherit_access(name, member.0);
    }
    let summary: FitRow = (
        name.to_string(),
        version,
        sum_i64(|r| r.2 as i64) as i32,
        sum_i64(|r| r.3),
        rows_skipped as i64,
        inertia,
        None,
        None,
        sum_i64(|r| r.8),
        GROUPED.to_string(),
        sum_i64(|r| r.10),
    );
    std::iter::once(summary).chain(rows).collect()
}

/// The first few entries of a list for a message.
fn shortlist(items: &[String]) -> String {
    let mut s = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        s.push_str(&format!(" and {} more", items.len() - 5));
    }
    s
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
