//! What each row function answers for the row just read into the call site's model, whichever
//! form read it (row, columns, shipped, array). Every answer has the signature the generated
//! forms call (src/row_functions.rs): `fn(&mut CachedModel, FunctionCallInfo) -> Option<T>`,
//! NULL when `segment_assign` would give NULL.

use super::call_site::CachedModel;
use super::features::not_finite;
use super::per_group::active;
use crate::errors::{raise, raise_core};
use crate::gucs;
use pgrx::prelude::*;
use pgrx::{AnyElement, FromDatum, PgMemoryContexts, PgSqlErrorCode};
use segment_core::cluster::dbscan::NOISE;
use segment_core::error::{CoreError, ErrorKind};

/// `segment_assign`: the row's segment (-1 for a DBSCAN noise row).
pub(super) fn assign_values(m: &mut CachedModel, _fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).assign(&mut m.values, &mut m.scratch) {
        Ok(segment) => segment.map(|s| if s == NOISE { -1 } else { s as i32 }),
        Err(e) => unscorable(m, e),
    }
}

/// `segment_explain`: how sure a row's segment is: its segment, the distance to that segment's
/// centre, the runner-up segment and its distance, and the margin between the two (distances in
/// the model's scaled units; a small margin means a row near a border), as the function's
/// composite result. Second segment, distance and margin are NULL for a one-segment model.
///
/// The row value is formed here with the call site's descriptor of the result type, and handed
/// to PostgreSQL as the datum it is (an `AnyElement` carries it: the SQL result type is declared
/// by build.rs, not derived from the Rust type). pgrx's composite builder looked the type up,
/// copied its descriptor and rebuilt the tuple once per attribute, on every row.
pub(super) fn explanation(
    m: &mut CachedModel,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<AnyElement> {
    scorable(m)?;
    let e = match active(&m.assigner, &m.routing).explain(&mut m.values, &mut m.scratch) {
        Ok(e) => e?,
        Err(e) => return unscorable(m, e),
    };
    // SAFETY: fcinfo is the current call, whose result type is segment_explanation; the
    // descriptor is a copy in the call site's memory context (fn_mcxt), made on its first row.
    let desc = unsafe {
        *m.explanation_desc.get_or_insert_with(|| {
            let rettype = pg_sys::get_fn_expr_rettype((*fcinfo).flinfo);
            let desc = PgMemoryContexts::For((*(*fcinfo).flinfo).fn_mcxt)
                .switch_to(|_| pg_sys::lookup_rowtype_tupdesc_copy(rettype, -1));
            if (*desc).natts != 5 {
                raise(
                    PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
                    "type segment_explanation no longer has the five attributes the extension made it with",
                    Some("Export the models, then drop and re-create the extension (docs/operations.md, \"Upgrading and packaging\")."),
                );
            }
            desc
        })
    };
    let float8 = |v: f64| pg_sys::Datum::from(v.to_bits());
    let second = e.second;
    let mut values = [
        pg_sys::Datum::from(e.segment as i32),
        float8(e.distance),
        pg_sys::Datum::from(second.map_or(0, |(c, _)| c as i32)),
        float8(second.map_or(0.0, |(_, d)| d)),
        float8(second.map_or(0.0, |(_, d)| d - e.distance)),
    ];
    let mut nulls = [
        false,
        false,
        second.is_none(),
        second.is_none(),
        second.is_none(),
    ];
    // SAFETY: `desc` has the five attributes of segment_explanation (created in this file, by
    // value, in this order; their count checked above); the tuple is allocated in the current
    // (per-row) memory context, as any function result.
    unsafe {
        let tuple = pg_sys::heap_form_tuple(desc, values.as_mut_ptr(), nulls.as_mut_ptr());
        let datum = pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data);
        AnyElement::from_polymorphic_datum(datum, false, (*desc).tdtypeid)
    }
}

/// `segment_assign_proba`, for Gaussian mixture models: the probability that the row belongs to
/// each segment (element s + 1 is segment s; they sum to 1).
pub(super) fn memberships(
    m: &mut CachedModel,
    _fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Vec<f64>> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).memberships(&mut m.values, &mut m.scratch) {
        Ok(Some(_)) => Some(m.scratch.clone()),
        Ok(None) => None,
        Err(e) => unscorable(m, e),
    }
}

/// `segment_churn_predict`, for churn models: the row's churn probability, its leaf's training
/// churn rate.
pub(super) fn churn_probability(
    m: &mut CachedModel,
    _fcinfo: pg_sys::FunctionCallInfo,
) -> Option<f64> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).churn_probability(&mut m.values) {
        Ok(p) => p,
        Err(e) => unscorable(m, e),
    }
}

/// `segment_classify`, for classifiers: the row's class (the label value of its most probable
/// class).
pub(super) fn class_of(m: &mut CachedModel, _fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    scorable(m)?;
    let a = active(&m.assigner, &m.routing);
    if a.class_name(0).is_none() {
        not_a_classifier(&m.name, "segment_classify");
    }
    match a.label_raw(&mut m.values, &mut m.scratch) {
        Ok(c) => c.and_then(|c| a.class_name(c)).map(str::to_string),
        Err(e) => unscorable(m, e),
    }
}

/// `segment_classify_proba`, for classifiers: the probability of each class, in the order of
/// `segment_classify_classes` (element i + 1 is its class i).
pub(super) fn class_proba(
    m: &mut CachedModel,
    _fcinfo: pg_sys::FunctionCallInfo,
) -> Option<Vec<f64>> {
    scorable(m)?;
    let a = active(&m.assigner, &m.routing);
    if a.class_name(0).is_none() {
        not_a_classifier(&m.name, "segment_classify_proba");
    }
    match a.class_proba(&mut m.values, &mut m.scratch) {
        Ok(true) => Some(m.scratch.clone()),
        Ok(false) => None,
        Err(e) => unscorable(m, e),
    }
}

/// `segment_anomaly_score`: how far the row lies from its segment (`model::anomaly`).
pub(super) fn anomaly_score(m: &mut CachedModel, _fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).anomaly(&mut m.values, &mut m.scratch) {
        Ok(a) => a.map(|a| a.score),
        Err(e) => unscorable(m, e),
    }
}

/// `segment_is_anomaly`: whether the row's anomaly score is above the model's threshold.
pub(super) fn is_anomaly(m: &mut CachedModel, _fcinfo: pg_sys::FunctionCallInfo) -> Option<bool> {
    scorable(m)?;
    match active(&m.assigner, &m.routing).anomaly(&mut m.values, &mut m.scratch) {
        Ok(a) => a.map(|a| a.is_anomaly()),
        Err(e) => unscorable(m, e),
    }
}

fn not_a_classifier(model: &str, function: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
        format!("{function}: model \"{model}\" is not a classifier"),
        Some(
            "Fit one with segment_classify_fit; segment_assign gives a clustering model's segment.",
        ),
    )
}

/// `Some` when the row just read can be scored; for a row with a NaN or infinite feature,
/// `unscorable`'s answer.
fn scorable(m: &mut CachedModel) -> Option<()> {
    match m.bad.take() {
        None => Some(()),
        Some((j, v)) => unscorable(m, not_finite(&m.assigner, j, v)),
    }
}

/// A row that cannot be scored: its data (a NaN or infinite feature, a negative value under the
/// log option) gives NULL, or an ERROR with customer_segment.invalid_rows = error; any other
/// error (a NULL under impute error, a wrong call) is raised.
fn unscorable<T>(m: &CachedModel, e: CoreError) -> Option<T> {
    if e.kind == ErrorKind::InvalidData && gucs::invalid_rows_give_null() {
        return None;
    }
    raise_core(CoreError {
        message: format!("model \"{}\": {}", m.name, e.message),
        ..e
    })
}

// The composite types the answers return, created before the row functions that return them.
pgrx::extension_sql!(
    r#"
CREATE TYPE segment_explanation AS (
    segment         integer,
    distance        double precision,
    second_segment  integer,
    second_distance double precision,
    margin          double precision
);
"#,
    name = "row_function_types"
);
