//! `segment_assign(model, features double precision[])`: the features in the model's feature
//! order, for callers that have no row (a declaration pgrx writes, unlike the row functions'
//! forms).

use super::answers::assign_values;
use super::call_site::CallSite;
use crate::errors::{raise, require};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// Segment of `features` (in the model's feature order; NULL elements follow the model's impute
/// rule). NULL when the array is NULL or a NULL feature is skipped.
#[pg_extern(stable, parallel_safe, name = "segment_assign")]
fn segment_assign_array(
    model: Option<&str>,
    features: Option<Array<f64>>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<i32> {
    let name = require(model, "model");
    let features = features?;
    // SAFETY: fcinfo is this call's.
    let m = unsafe { CallSite::of(fcinfo) }.model(name.as_bytes());
    if let Some(r) = &m.routing {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!(
                "model \"{name}\" is fitted per group of \"{}\", which an array of features does not carry",
                r.index.group_by
            ),
            Some("Pass the row, segment_assign('model', t) for a table t, or use one group's model (see segment_groups)."),
        );
    }
    if m.assigner.has_categories() {
        raise(
            PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
            format!("model \"{name}\" has text or boolean features, which an array of numbers cannot carry"),
            Some("Pass the row instead: segment_assign('model', t) for a table t."),
        );
    }
    if features.len() != m.values.len() {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!(
                "model \"{name}\" has {} features, the array has {}",
                m.values.len(),
                features.len()
            ),
            Some("Pass the features in the order listed by SELECT features FROM segment_models."),
        );
    }
    for (j, (slot, v)) in m.values.iter_mut().zip(features.iter()).enumerate() {
        *slot = match v {
            None => f64::NAN,
            Some(x) if x.is_finite() => x,
            Some(x) => {
                m.bad.get_or_insert((j, x));
                f64::NAN
            }
        };
    }
    assign_values(m, fcinfo)
}
