//! Reading models back: centres, profiles, labels, evaluation on a relation, comparing versions,
//! dropping.

use crate::catalog::{self, Stored};
use crate::errors::{raise, require, OrRaise};
use crate::gucs;
use crate::gucs::limits;
use crate::source;
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};
use segment_core::model::evaluate::{Comparison, Evaluation};

/// Centre of every segment in original units (long form: one row per segment and feature).
#[pg_extern(stable, parallel_safe)]
fn segment_centroids(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(feature, String),
        name!(value, f64),
    ),
> {
    let name = require(model, "model");
    let m = catalog::load(name, None).model;
    let columns = m.columns().names;
    let rows: Vec<_> = m
        .centres_original()
        .into_iter()
        .enumerate()
        .flat_map(|(s, centre)| {
            columns
                .clone()
                .into_iter()
                .zip(centre)
                .map(move |(f, v)| (s as i32, f, v))
        })
        .collect();
    TableIterator::new(rows)
}

/// Per segment and feature, measured on the training rows at fit time: the segment's label, size
/// and share of rows, its mean and median against the overall mean (in original units), the
/// difference in overall standard deviations (NULL for a constant feature), and the feature's
/// ANOVA F across segments (the same on every row of a feature; larger separates the segments
/// more; Infinity for a perfect separator; NULL when undefined). The difference and F are on the
/// scale the model clusters on: log(1 + x) for a feature in the `log` option, which a NOTICE
/// says (the means and medians stay in original units).
// The row type stays inline: pgrx reads the `name!` columns from the signature itself.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_safe)]
fn segment_profile(
    model: Option<&str>,
) -> TableIterator<
    'static,
    (
        name!(segment, i32),
        name!(label, String),
        name!(size, i64),
        name!(share, f64),
        name!(feature, String),
        name!(segment_mean, f64),
        name!(segment_median, f64),
        name!(overall_mean, f64),
        name!(difference_sd, Option<f64>),
        name!(anova_f, Option<f64>),
    ),
> {
    let name = require(model, "model");
    let stored = catalog::load(name, None);
    let m = &stored.model;
    let p = &m.profile;
    let columns = m.columns().names;
    if let Some(note) = p.scale_note(&columns) {
        pgrx::notice!("model \"{name}\": {note}");
    }
    let automatic = m.automatic_labels();
    let total: u64 = p.sizes.iter().sum();
    let mut rows = Vec::with_capacity(m.k() * columns.len());
    for (s, &size) in p.sizes.iter().enumerate() {
        let label = stored.label(s as u32, &automatic);
        for (j, f) in columns.iter().enumerate() {
            rows.push((
                s as i32,
                label.clone(),
                size as i64,
                size as f64 / total.max(1) as f64,
                f.clone(),
                p.means[s][j],
                p.medians[s][j],
                p.overall_mean[j],
                p.difference_sd(s, j),
                p.anova_f[j],
            ));
        }
    }
    TableIterator::new(rows)
}

fn check_segment(stored: &Stored, name: &str, segment: i32) -> u32 {
    check_segment_of(name, segment, stored.model.k())
}

fn check_segment_of(name: &str, segment: i32, k: usize) -> u32 {
    if segment < 0 || segment as usize >= k {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("model \"{name}\" has no segment {segment}"),
            Some(&format!("Its segments are 0 to {}.", k - 1)),
        );
    }
    segment as u32
}

/// A readable name for a segment of the current version: the one set with `segment_rename`, or
/// an automatic one from the segment's most distinguishing features ("high monetary · recent").
/// The labels are read once per call site and statement (as `segment_assign` reads its model), so
/// a view that labels every row reads the catalog once.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_label(
    model: Option<&str>,
    segment: Option<i32>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> String {
    let name = require(model, "model");
    let segment = require(segment, "segment");
    // SAFETY: fcinfo is this call's; its fn_extra is used by this function only, and lives in
    // fn_mcxt (the statement's expression).
    let mut cache = unsafe { pgrx::fcinfo::pg_func_extra(fcinfo, LabelCache::default) };
    let at = match cache.0.iter().position(|(n, _)| n == name) {
        Some(at) => at,
        None => {
            cache
                .0
                .push((name.to_string(), catalog::load(name, None).labels()));
            cache.0.len() - 1
        }
    };
    let labels = &cache.0[at].1;
    labels[check_segment_of(name, segment, labels.len()) as usize].clone()
}

/// What `segment_label` keeps per call site: each model's labels, by name.
#[derive(Default)]
struct LabelCache(Vec<(String, Vec<String>)>);

/// `segment_label(model, segment)` as planned with the labels shipped in the query
/// (`customer_segment.ship_models`, see planner.rs): the labels in place of the model's name,
/// read once per call site.
#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_label_shipped(
    labels: Option<&str>,
    segment: Option<i32>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> String {
    let segment = require(segment, "segment");
    // SAFETY: fcinfo is this call's; fn_extra is used by this function only.
    let mut cache = unsafe { pgrx::fcinfo::pg_func_extra(fcinfo, || None) };
    if cache.is_none() {
        // SAFETY: as above.
        if !unsafe { pg_sys::get_fn_expr_arg_stable((*fcinfo).flinfo, 0) } {
            raise(
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                "segment_label_shipped takes its labels from the planner, as a constant",
                Some("Call segment_label(model, segment); the planner writes this call."),
            );
        }
        let shipped = segment_core::model::shipped::unship_labels(require(labels, "labels"))
            .unwrap_or_else(|e| crate::errors::raise_core(e));
        catalog::check_shipped_role(&shipped.name, &shipped.role);
        *cache = Some(shipped);
    }
    let shipped = (*cache).as_ref().expect("read above");
    shipped.labels[check_segment_of(&shipped.name, segment, shipped.labels.len()) as usize].clone()
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_label(model text, segment integer) RETURNS text
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_label_wrapper'
    SUPPORT segment_assign_support;
CREATE FUNCTION segment_label_shipped(labels text, segment integer) RETURNS text
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_label_shipped_wrapper';
COMMENT ON FUNCTION segment_label_shipped(text, integer) IS
    'Internal: segment_label(model, segment) as planned with the labels shipped in the query (customer_segment.ship_models, Citus workers); not for direct use';
"#,
    name = "segment_label_sql",
    requires = [
        segment_label,
        segment_label_shipped,
        "segment_assign_planner"
    ]
);

/// Sets the analyst's own label of a segment of the current version (NULL goes back to the
/// automatic one). Returns the label now in force. A refit starts from automatic labels again.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_rename(model: Option<&str>, segment: Option<i32>, label: Option<&str>) -> String {
    let name = require(model, "model");
    let stored = catalog::load(name, None);
    let s = check_segment(&stored, name, require(segment, "segment"));
    if let Some(l) = label {
        if l.trim().is_empty() || l.len() > 200 {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                format!("invalid segment label \"{}\"", l.escape_default()),
                Some("A label is 1 to 200 characters, not only spaces; NULL restores the automatic label."),
            );
        }
    }
    catalog::set_label(name, stored.version, s, label);
    let automatic = stored.model.automatic_labels();
    label.map_or_else(|| automatic[s as usize].clone(), str::to_string)
}

/// The relation a stored model was fitted on (see `stored_relation` for what is refused).
pub fn fitted_relation(stored: &Stored) -> PgRelation {
    crate::stored_relation::open(&stored.name, "source", &stored.source, stored.imported)
}

/// The source to read for a stored model: the given relation, or the one it was fitted on (for
/// a group model, that relation's rows of its group).
pub fn source_for(stored: &Stored, source: Option<PgRelation>) -> source::Source {
    // A group model's own rows are its group's rows of the relation it was fitted on.
    let only = source.is_none().then(|| stored.group.clone()).flatten();
    let rel = source.unwrap_or_else(|| fitted_relation(stored));
    let mut src = source::validate(
        &rel,
        stored.model.features.iter().cloned().map(Some).collect(),
    );
    source::check_kinds(&src, &stored.model.categories);
    if let Some((column, _)) = &only {
        // Its group's rows are those whose column, as text, is the group's value.
        let typ = rel
            .tuple_desc()
            .iter()
            .find(|a| !a.attisdropped && a.attnum > 0 && a.name() == column.as_str())
            .map(|a| a.atttypid);
        match typ {
            Some(typ) => source::check_no_user_cast_to_text(column, "group_by", typ),
            None => source::check_group_column(&rel, column, &stored.model.features),
        }
    }
    src.only = only;
    src
}

/// Scores the current version on a relation with the same feature columns (default: the one it
/// was fitted on), through the model's own preprocessing: inertia, silhouette (sampled above
/// customer_segment.silhouette_sample rows), Calinski-Harabasz and Davies-Bouldin, in scaled
/// units. On the training source these equal what `segment_fit` reported.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_evaluate(
    model: Option<&str>,
    source: default!(Option<PgRelation>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(rows_used, i64),
        name!(rows_skipped, i64),
        name!(rows_noise, i64),
        name!(inertia, f64),
        name!(silhouette, Option<f64>),
        name!(silhouette_rows, i64),
        name!(calinski_harabasz, Option<f64>),
        name!(davies_bouldin, Option<f64>),
    ),
> {
    let name = require(model, "model");
    let stored = catalog::load(name, None);
    if stored.model.classes().is_some() {
        // Its centres are the true classes' means: scores of predicted segments around them
        // would measure neither.
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" is a classifier"),
            Some("segment_evaluate scores clustering models; a classifier's held-out scores are in segment_classify_report."),
        );
    }
    let src = source_for(&stored, source);
    let mut e = Evaluation::new(stored.model.assigner(), gucs::max_memory_bytes());
    source::for_each_row(&src, &stored.model.categories, |row| e.push(row)).or_raise();
    let s = e.finish(
        stored.options.seed(),
        limits(),
        &mut crate::progress::interrupt,
    );
    TableIterator::once((
        s.rows_used as i64,
        s.rows_skipped as i64,
        s.rows_noise as i64,
        s.inertia,
        s.silhouette,
        s.silhouette_rows as i64,
        s.calinski_harabasz,
        s.davies_bouldin,
    ))
}

/// How the rows of a relation (default: the one version b was fitted on) move between the
/// segments of two versions of a model: one row per (segment in a, segment in b) pair that has
/// rows, with the share of segment a's rows, and the adjusted Rand index of the two labelings
/// (1 = the same segments; the same value on every row). Noise is segment -1.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, parallel_unsafe)]
fn segment_compare(
    model: Option<&str>,
    version_a: Option<i32>,
    version_b: Option<i32>,
    source: default!(Option<PgRelation>, "NULL"),
) -> TableIterator<
    'static,
    (
        name!(segment_a, i32),
        name!(segment_b, i32),
        name!(rows, i64),
        name!(share_of_a, f64),
        name!(adjusted_rand_index, f64),
    ),
> {
    let name = require(model, "model");
    let a = catalog::load(name, Some(require(version_a, "version_a")));
    let b = catalog::load(name, Some(require(version_b, "version_b")));
    let src = source_for(&b, source);
    let mut c = Comparison::new(a.model.assigner(), b.model.assigner()).or_raise();
    source::for_each_row(&src, &b.model.categories, |row| c.push(row)).or_raise();
    let (cells, ari, _) = c.finish();
    TableIterator::new(
        cells
            .into_iter()
            .map(move |m| (m.segment_a, m.segment_b, m.rows as i64, m.share_of_a, ari)),
    )
}

/// Drops every version of a model. Returns the number of versions dropped. Refuses (2BP01) while
/// a view made by segment_create_view reads the model, unless `cascade`, which drops those views.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_drop(model: Option<&str>, cascade: default!(Option<bool>, false)) -> i64 {
    catalog::drop_model(require(model, "model"), cascade.unwrap_or(false))
}
