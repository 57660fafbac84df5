//! A per-group fit (`segment_fit` with the `group_by` option, see `model::groups`): the source's
//! rows routed to their group's matrix as it is read once ([`GroupRows`]), then every group with
//! enough usable rows fitted as a model of its own ([`fit_groups`]), the index that names them
//! and the per-group model's metrics. The shell feeds the rows and stores each model (a
//! [`GroupStore`]); what is fitted, skipped, warned about or refused is decided here.

use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::budget::{self, Shape};
use crate::model::choose_k::KScore;
use crate::model::document::{SegmentModel, FORMAT_VERSION, GROUPED};
use crate::model::fit::{fit_model, FitReport, FitSummary};
use crate::model::fit_metrics::{GroupOf, GroupedMetrics};
use crate::model::groups::{member_name, min_rows, Group, GroupIndex, MAX_GROUPS};
use crate::model::limits::Limits;
use crate::model::options::FitOptions;
use crate::prep::builder::MatrixBuilder;
use crate::prep::matrix::matrix_bytes;
use crate::prep::preprocessor::fit_matrix;
use crate::prep::scaling::ImputeMethod;
use std::collections::HashMap;

/// The rows of a per-group fit, each in its group's matrix builder, the memory limit counted
/// over all groups together.
pub struct GroupRows {
    group_by: String,
    columns: Vec<String>,
    impute: ImputeMethod,
    log: Vec<bool>,
    max_bytes: usize,
    /// Group values in the order first seen (sorted by `fit_groups`).
    position: HashMap<Vec<u8>, usize>,
    builders: Vec<(String, MatrixBuilder)>,
    null_group_rows: u64,
    rows_held: usize,
}

impl GroupRows {
    /// `columns` are the matrix columns, `log` per column whether it takes log(1 + x).
    pub fn new(
        group_by: &str,
        columns: Vec<String>,
        impute: ImputeMethod,
        log: Vec<bool>,
        max_bytes: usize,
    ) -> GroupRows {
        GroupRows {
            group_by: group_by.to_string(),
            columns,
            impute,
            log,
            max_bytes,
            position: HashMap::new(),
            builders: Vec::new(),
            null_group_rows: 0,
            rows_held: 0,
        }
    }

    /// One row of the source (matrix columns, NULL as None) and its group value's text (None:
    /// the grouping column is NULL, and the row is not fitted).
    pub fn push(&mut self, row: &[Option<f64>], group: Option<&[u8]>) -> CoreResult<()> {
        let Some(group) = group else {
            self.null_group_rows += 1;
            return Ok(());
        };
        let at = match self.position.get(group) {
            Some(&at) => at,
            None => {
                if self.builders.len() == MAX_GROUPS {
                    return Err(CoreError::new(
                        ErrorKind::ResourceLimit,
                        format!(
                            "group_by column \"{}\" has more than {MAX_GROUPS} distinct values",
                            self.group_by
                        ),
                    )
                    .with_hint("Group by a coarser column (a region rather than a store), or fit a view per group."));
                }
                self.position.insert(group.to_vec(), self.builders.len());
                let builder = MatrixBuilder::new(self.columns.clone(), self.impute, self.max_bytes)
                    .with_log(self.log.clone());
                self.builders
                    .push((String::from_utf8_lossy(group).into_owned(), builder));
                self.builders.len() - 1
            }
        };
        if self.builders[at].1.push(row)? {
            self.rows_held += 1;
            if matrix_bytes(self.rows_held, self.columns.len()) > self.max_bytes {
                return Err(CoreError::new(
                    ErrorKind::ResourceLimit,
                    format!(
                        "the groups' feature matrices would exceed customer_segment.max_memory_mb ({} MB) after {} rows",
                        self.max_bytes / (1024 * 1024),
                        self.rows_held
                    ),
                )
                .with_hint("Raise customer_segment.max_memory_mb, or fit on a smaller view of the source."));
            }
        }
        Ok(())
    }
}

/// What the shell does for `fit_groups`: check a group model's name before it is fitted, and
/// store each fitted group model as the next version of its name (returning the version).
pub trait GroupStore {
    fn check_name(&mut self, member: &str);
    fn store(
        &mut self,
        member: &str,
        group: GroupOf,
        model: SegmentModel,
        report: &FitReport,
        scores: Option<Vec<KScore>>,
    ) -> i32;
}

/// A group model stored by a per-group fit.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedGroup {
    pub model: String,
    pub version: i32,
    pub summary: FitSummary,
}

/// A per-group fit done: the index to store as the per-group model's version, its metrics, the
/// group models stored, and what to warn about.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupedFit {
    pub index: GroupIndex,
    pub metrics: GroupedMetrics,
    pub fitted: Vec<FittedGroup>,
    /// Every row not in a fitted group's model: NULL group values, rows skipped for NULL
    /// features, and the usable rows of groups too small to fit.
    pub rows_skipped: u64,
    /// Warnings for the caller: message and hint.
    pub warnings: Vec<(String, String)>,
}

impl GroupedFit {
    /// The per-group model's row of `segment_fit`: sums over its group models.
    pub fn summary(&self) -> FitSummary {
        let sum = |f: fn(&FitSummary) -> u64| self.fitted.iter().map(|g| f(&g.summary)).sum();
        FitSummary {
            segments: self.fitted.iter().map(|g| g.summary.segments).sum(),
            rows_used: sum(|s| s.rows_used),
            rows_skipped: self.rows_skipped,
            inertia: self.metrics.inertia,
            silhouette: None,
            iterations: None,
            silhouette_rows: sum(|s| s.silhouette_rows),
            rows_fitted: sum(|s| s.rows_fitted),
        }
    }
}

/// Fits every group of `rows` with enough usable rows as the model `<name>/<value>` (groups in
/// byte order of their values), stores each through `store`, and returns the index naming them.
/// `relname` names the source in errors. Errors in one group's fit name the group.
#[allow(clippy::too_many_arguments)]
pub fn fit_groups(
    rows: GroupRows,
    name: &str,
    relname: &str,
    features: &[String],
    categories: &[Option<Vec<String>>],
    options: &FitOptions,
    limits: Limits,
    check: &mut dyn FnMut(),
    store: &mut dyn GroupStore,
) -> CoreResult<GroupedFit> {
    let GroupRows {
        group_by,
        columns,
        max_bytes,
        mut builders,
        null_group_rows,
        rows_held,
        ..
    } = rows;
    if builders.is_empty() {
        return Err(CoreError::invalid_parameter(format!(
            "group_by column \"{group_by}\" is NULL in every row of \"{relname}\" (or it has no rows)"
        ))
        .with_hint("Group by a column with values, or leave group_by out."));
    }
    builders.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let need = min_rows(options);
    let member_options = options.for_group();
    let mut groups: Vec<Group> = Vec::with_capacity(builders.len());
    let mut fitted: Vec<FittedGroup> = Vec::new();
    let mut rows_skipped = null_group_rows;
    let mut too_small: Vec<String> = Vec::new();
    // Rows of the groups not fitted yet: their matrices stay held while one group is fitted.
    let mut rows_waiting = rows_held;
    for (value, builder) in builders {
        let in_group = |e: CoreError| CoreError {
            message: format!("group \"{value}\" of \"{group_by}\": {}", e.message),
            ..e
        };
        let built = builder.finish().map_err(in_group)?;
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
        store.check_name(&member);
        let shape = Shape::of(usable as usize, features, categories);
        budget::fit(&shape, &member_options, limits)
            .holding(matrix_bytes(rows_waiting, columns.len()))
            .check(max_bytes)
            .map_err(in_group)?;
        let (model, report, scores) = fit_model(
            fit_matrix(built, member_options.scale()),
            features.to_vec(),
            categories.to_vec(),
            &member_options,
            limits,
            check,
        )
        .map_err(in_group)?;
        let group = GroupOf {
            model: name.to_string(),
            group_by: group_by.clone(),
            value: value.clone(),
        };
        let version = store.store(&member, group, model, &report, scores);
        groups.push(Group {
            value,
            rows: usable,
            model: Some(member.clone()),
            version: Some(version),
        });
        fitted.push(FittedGroup {
            model: member,
            version,
            summary: report.summary(),
        });
    }
    if fitted.is_empty() {
        return Err(CoreError::invalid_parameter(format!(
            "no group of \"{group_by}\" has the {need} usable rows a fit needs: {}",
            shortlist(&too_small)
        ))
        .with_hint("Lower k (or the min_group_rows option), or group by a coarser column."));
    }
    let mut warnings = Vec::new();
    if !too_small.is_empty() {
        warnings.push((
            format!(
                "{} of {} groups of \"{group_by}\" are not fitted, having fewer than {need} usable rows: {}",
                too_small.len(),
                groups.len(),
                shortlist(&too_small)
            ),
            "segment_assign gives their rows no segment (NULL). Lower k or min_group_rows to fit them.".to_string(),
        ));
    }
    if null_group_rows > 0 {
        warnings.push((
            format!("rows with a NULL \"{group_by}\" are not fitted: {null_group_rows}"),
            "segment_assign gives such rows no segment (NULL).".to_string(),
        ));
    }
    let metrics = GroupedMetrics {
        inertia: fitted.iter().map(|g| g.summary.inertia).sum(),
        groups: groups.len(),
        groups_fitted: fitted.len(),
        rows_null_group: null_group_rows,
        min_group_rows: need,
    };
    let index = GroupIndex {
        format_version: FORMAT_VERSION,
        method: GROUPED.to_string(),
        group_method: options.method(),
        group_by,
        features: features.to_vec(),
        k: options.k().map(|k| k as u32),
        groups,
    };
    Ok(GroupedFit {
        index,
        metrics,
        fitted,
        rows_skipped,
        warnings,
    })
}

/// The first few entries of a list for a message.
fn shortlist(items: &[String]) -> String {
    let mut s = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        s.push_str(&format!(" and {} more", items.len() - 5));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        threads: 1,
        silhouette_rows: 1000,
    };

    /// Stores nothing: numbers versions from 7 and records what it was given.
    #[derive(Default)]
    struct Recorder {
        checked: Vec<String>,
        stored: Vec<(String, GroupOf, usize)>,
    }

    impl GroupStore for Recorder {
        fn check_name(&mut self, member: &str) {
            self.checked.push(member.to_string());
        }

        fn store(
            &mut self,
            member: &str,
            group: GroupOf,
            model: SegmentModel,
            _: &FitReport,
            _: Option<Vec<KScore>>,
        ) -> i32 {
            self.stored.push((member.to_string(), group, model.k()));
            6 + self.stored.len() as i32
        }
    }

    fn rows(groups: &[(Option<&str>, usize)]) -> GroupRows {
        let mut rows = GroupRows::new(
            "region",
            vec!["x".into()],
            ImputeMethod::Skip,
            vec![false],
            usize::MAX,
        );
        for (group, n) in groups {
            for i in 0..*n {
                let x = (i % 2) as f64 * 10.0 + i as f64 * 0.01;
                rows.push(&[Some(x)], group.map(str::as_bytes)).unwrap();
            }
        }
        rows
    }

    fn fit(rows: GroupRows, options: &str, store: &mut Recorder) -> CoreResult<GroupedFit> {
        let options = FitOptions::for_fit(options, Some(2)).unwrap();
        let features = vec!["x".to_string()];
        fit_groups(
            rows,
            "m",
            "t",
            &features,
            &[None],
            &options,
            LIMITS,
            &mut || {},
            store,
        )
    }

    #[test]
    fn groups_are_fitted_in_value_order_and_small_ones_skipped() {
        let mut store = Recorder::default();
        let input = rows(&[(Some("b"), 20), (Some("a"), 20), (None, 3), (Some("c"), 1)]);
        let grouped = fit(input, r#"{"group_by": "region"}"#, &mut store).unwrap();
        assert_eq!(store.checked, ["m/a", "m/b"]);
        assert_eq!(
            store
                .stored
                .iter()
                .map(|s| (s.0.as_str(), s.2))
                .collect::<Vec<_>>(),
            [("m/a", 2), ("m/b", 2)]
        );
        assert_eq!(store.stored[1].1.value, "b");
        let index = &grouped.index;
        assert_eq!(
            index
                .groups
                .iter()
                .map(|g| (g.value.as_str(), g.rows, g.version))
                .collect::<Vec<_>>(),
            [("a", 20, Some(7)), ("b", 20, Some(8)), ("c", 1, None)]
        );
        assert_eq!((index.k, index.group_by.as_str()), (Some(2), "region"));
        // Skipped: 3 NULL group values and the lone row of "c".
        assert_eq!(grouped.rows_skipped, 4);
        let summary = grouped.summary();
        assert_eq!(
            (summary.segments, summary.rows_used, summary.rows_skipped),
            (4, 40, 4)
        );
        assert_eq!(
            grouped.metrics,
            GroupedMetrics {
                inertia: grouped.fitted.iter().map(|g| g.summary.inertia).sum(),
                groups: 3,
                groups_fitted: 2,
                rows_null_group: 3,
                min_group_rows: 2,
            }
        );
        assert_eq!(grouped.warnings.len(), 2);
        assert_eq!(
            grouped.warnings[0].0,
            r#"1 of 3 groups of "region" are not fitted, having fewer than 2 usable rows: "c" (1)"#
        );
        assert_eq!(
            grouped.warnings[1].0,
            r#"rows with a NULL "region" are not fitted: 3"#
        );
    }

    #[test]
    fn min_group_rows_raises_the_bar_and_none_fitted_is_an_error() {
        let mut store = Recorder::default();
        let input = rows(&[(Some("a"), 20), (Some("b"), 5)]);
        let grouped = fit(
            input,
            r#"{"group_by": "region", "min_group_rows": 10}"#,
            &mut store,
        )
        .unwrap();
        assert_eq!(grouped.fitted.len(), 1);
        let input = rows(&[(Some("a"), 3), (Some("b"), 5)]);
        let e = fit(
            input,
            r#"{"group_by": "region", "min_group_rows": 10}"#,
            &mut Recorder::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            r#"no group of "region" has the 10 usable rows a fit needs: "a" (3), "b" (5)"#
        );
        let e = fit(rows(&[(None, 4)]), r#"{"group_by": "region"}"#, &mut store).unwrap_err();
        assert_eq!(
            e.message,
            r#"group_by column "region" is NULL in every row of "t" (or it has no rows)"#
        );
    }

    #[test]
    fn too_many_groups_or_rows_are_refused() {
        let mut many = rows(&[]);
        for g in 0..MAX_GROUPS {
            many.push(&[Some(1.0)], Some(g.to_string().as_bytes()))
                .unwrap();
        }
        let e = many.push(&[Some(1.0)], Some(b"one more")).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceLimit);
        let mut small = GroupRows::new("g", vec!["x".into()], ImputeMethod::Skip, vec![false], 100);
        let pushed: CoreResult<Vec<()>> = (0..20)
            .map(|i| small.push(&[Some(i as f64)], Some(b"a")))
            .collect();
        assert_eq!(pushed.unwrap_err().kind, ErrorKind::ResourceLimit);
    }
}
