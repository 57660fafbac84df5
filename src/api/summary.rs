//! `segment_summary(model, source, measures)`: what each segment is worth. The rows of the source
//! are grouped by segment in one SQL query (`segment_core::sql::summary`, run where the rows are:
//! a Citus table's shards can group their own; not tested on Citus yet), the shares come from
//! `analysis::summary`.

use super::inspect::fitted_relation;
use crate::catalog::{self, Current};
use crate::errors::{raise, require};
use crate::search_path::pinned;
use crate::source::{self, NUMERIC_TYPES};
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};
use segment_core::analysis::summary::{summarise, MeasureSum, SegmentSums, SummaryRow};
use segment_core::plot::{count as thousands, percent};
use segment_core::report::readable;
use segment_core::sql::summary::{query, Measure};
use std::collections::HashMap;

/// Measures in one call: each is two aggregates of the grouping query (a query has at most 1,664
/// columns), and a summary of more is not read by anyone.
const MAX_MEASURES: usize = 100;

/// Per segment of the model (per group and segment of a per-group model) in `source` (default:
/// the relation it was fitted on; a group model's: its group's rows of it): its rows and their
/// share of the source's rows, and per measure column the mean over the rows that have a value,
/// the total and its share of the source's total, and the rows whose value is NULL. Rows given
/// no segment (a NULL feature under `impute: skip`, a group that was not fitted) are a row of
/// their own with segment NULL, so the shares add up to 1.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_summary(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
    measures: default!(Option<Vec<Option<String>>>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(group_value, Option<String>),
        name!(segment, Option<i32>),
        name!(label, String),
        name!(customers, i64),
        name!(share, f64),
        name!(measure, Option<String>),
        name!(mean, Option<f64>),
        name!(total, Option<f64>),
        name!(share_of_total, Option<f64>),
        name!(nulls, i64),
    ),
> {
    let name = require(model, "model");
    let summary = summary_of(name, source, measures.unwrap_or_default());
    let rows = summary
        .rows
        .iter()
        .map(|r| {
            (
                r.group.clone(),
                r.segment,
                summary.label(r.group.as_ref(), r.segment),
                r.rows as i64,
                r.share,
                r.measure.map(|j| summary.measures[j].column.clone()),
                r.mean,
                r.total,
                r.share_of_total,
                r.nulls as i64,
            )
        })
        .collect::<Vec<_>>();
    TableIterator::new(rows)
}

/// A model's summary over a source: its rows (`analysis::summary`), the measures and the labels.
pub struct Summary {
    pub rows: Vec<SummaryRow>,
    pub measures: Vec<Measure>,
    labels: HashMap<(Option<String>, i32), String>,
    /// The relation read, as its name.
    source: String,
}

impl Summary {
    /// A segment's label: its model's (a group's model for a per-group model), "noise" for
    /// dbscan's -1, "no segment" for the rows without one.
    pub fn label(&self, group: Option<&String>, segment: Option<i32>) -> String {
        match segment {
            None => "no segment".to_string(),
            Some(-1) => "noise".to_string(),
            Some(s) => self
                .labels
                .get(&(group.cloned(), s))
                .cloned()
                .unwrap_or_else(|| format!("segment {s}")),
        }
    }

    /// The summary's rows of one segment of one model (`None`: the rows without a segment).
    fn of(&self, segment: Option<i32>) -> impl Iterator<Item = &SummaryRow> {
        self.rows.iter().filter(move |r| r.segment == segment)
    }

    /// A segment's rows in the source (0 when it has none there).
    pub fn segment_rows(&self, segment: Option<i32>) -> u64 {
        self.of(segment).next().map_or(0, |r| r.rows)
    }

    /// A segment's share of the source's rows.
    pub fn segment_share(&self, segment: Option<i32>) -> f64 {
        self.of(segment).next().map_or(0.0, |r| r.share)
    }

    /// Every row of the source.
    pub fn rows(&self) -> u64 {
        let mut seen = std::collections::HashSet::new();
        self.rows
            .iter()
            .filter(|r| seen.insert((r.group.clone(), r.segment)))
            .map(|r| r.rows)
            .sum()
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// What a segment is worth, one line a measure: "41% of revenue · mean 12,300 · 3 NULL".
    pub fn worth(&self, segment: Option<i32>) -> Vec<String> {
        self.of(segment)
            .filter_map(|r| {
                let m = &self.measures[r.measure?];
                let name = m.column.replace('_', " ");
                let mut line = if m.boolean {
                    // The mean of a flag is the share of the segment that has it.
                    match r.mean {
                        Some(mean) => format!("{name}: {}", percent(mean)),
                        None => format!("{name}: no values"),
                    }
                } else {
                    let share = r
                        .share_of_total
                        .map_or_else(|| "no share".to_string(), |s| format!("{} of", percent(s)));
                    let mean = r
                        .mean
                        .map_or_else(String::new, |v| format!(" · mean {}", readable(v)));
                    format!(
                        "{share} {name} ({}){mean}",
                        readable(r.total.unwrap_or(0.0))
                    )
                };
                if r.nulls > 0 {
                    line.push_str(&format!(" · {} without a value", thousands(r.nulls)));
                }
                Some(line)
            })
            .collect()
    }
}

/// The summary of model `name` over `source` (default: the relation it was fitted on) with the
/// named measure columns.
pub fn summary_of(
    name: &str,
    source: Option<PgRelation>,
    measures: Vec<Option<String>>,
) -> Summary {
    // What to read and how to name the segments: one model (or one group's), or a per-group
    // model, whose rows carry their group.
    let (rel, features, group_by, only, labels) = match catalog::load_current(name) {
        Current::One(stored) => {
            let only = source.is_none().then(|| stored.group.clone()).flatten();
            let rel = source.unwrap_or_else(|| fitted_relation(&stored));
            let labels: HashMap<(Option<String>, i32), String> = stored
                .labels()
                .into_iter()
                .enumerate()
                .map(|(s, l)| ((None, s as i32), l))
                .collect();
            (rel, stored.model.features.clone(), None, only, labels)
        }
        Current::Grouped(index) => {
            let rel = source.unwrap_or_else(|| {
                crate::stored_relation::open(name, "source", &index.source, false)
            });
            let group_by = index.index.group_by.clone();
            source::check_group_column(&rel, &group_by, &index.index.features);
            let mut labels = HashMap::new();
            for group in &index.index.groups {
                let (Some(member), Some(version)) = (&group.model, group.version) else {
                    continue;
                };
                let member = catalog::load(member, Some(version));
                for (s, l) in member.labels().into_iter().enumerate() {
                    labels.insert((Some(group.value.clone()), s as i32), l);
                }
            }
            (
                rel,
                index.index.features.clone(),
                Some(group_by),
                None,
                labels,
            )
        }
    };
    // The features must be there: segment_assign would say so row by row otherwise.
    let src = source::validate(&rel, features.into_iter().map(Some).collect());
    let measures = check_measures(&rel, measures);

    let sql = query(
        &catalog::schema(),
        name,
        &src.sql_name,
        group_by.as_deref(),
        only.as_ref().map(|(c, v)| (c.as_str(), v.as_str())),
        &measures,
    );
    let sums = pinned(|| {
        Spi::connect(|client| {
            let table = client.select(&sql, None, &[])?;
            let mut sums = Vec::with_capacity(table.len());
            for row in table {
                let mut sum = SegmentSums {
                    group: row.get::<String>(1)?,
                    segment: row.get::<i32>(2)?,
                    rows: row.get::<i64>(3)?.unwrap_or(0) as u64,
                    measures: Vec::with_capacity(measures.len()),
                };
                for j in 0..measures.len() {
                    sum.measures.push(MeasureSum {
                        total: row.get::<f64>(4 + 2 * j)?.unwrap_or(0.0),
                        values: row.get::<i64>(5 + 2 * j)?.unwrap_or(0) as u64,
                    });
                }
                sums.push(sum);
            }
            Ok::<_, pgrx::spi::Error>(sums)
        })
    })
    .unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("segment_summary could not read its grouping query: {e}"),
            None,
        )
    });
    Summary {
        rows: summarise(&sums, measures.len()),
        measures,
        labels,
        source: rel.name().to_string(),
    }
}

/// The measure columns: named once each, present, and numbers or booleans.
fn check_measures(rel: &PgRelation, names: Vec<Option<String>>) -> Vec<Measure> {
    if names.len() > MAX_MEASURES {
        raise(
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "segment_summary takes at most {MAX_MEASURES} measures, not {}",
                names.len()
            ),
            Some("Summarise the measures in several calls."),
        );
    }
    let tupdesc = rel.tuple_desc();
    let mut measures: Vec<Measure> = Vec::with_capacity(names.len());
    for name in names {
        let Some(name) = name else {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "measures contains a NULL",
                Some("Name each measure column of the source, or pass measures => NULL for sizes only."),
            )
        };
        if measures.iter().any(|m| m.column == name) {
            raise(
                PgSqlErrorCode::ERRCODE_DUPLICATE_COLUMN,
                format!("measure \"{name}\" is named twice"),
                Some("Name each measure column once."),
            );
        }
        let Some(typ) = tupdesc
            .iter()
            .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == name)
            .map(|a| a.atttypid)
        else {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
                format!(
                    "measure column \"{name}\" of relation \"{}\" does not exist",
                    rel.name()
                ),
                Some(&source::column_hint(rel, &name)),
            )
        };
        let boolean = typ == pg_sys::BOOLOID;
        if !boolean && !NUMERIC_TYPES.contains(&typ) {
            raise(
                PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                format!("measure column \"{name}\" has type {}", source::type_name(typ)),
                Some("A measure is a number (numeric, integer or float) or a boolean (summed as 1 for true)."),
            );
        }
        measures.push(Measure {
            column: name,
            boolean,
        });
    }
    measures
}
