//! The SQL aggregate `segment_kmeans_step(features float8[], centres float8[]) → jsonb` (features
//! already scaled), and its three-argument form over raw features and a model's preprocessing
//! (what `engine = aggregate` fits run): one Lloyd
//! step (see `segment_core::cluster::lloyd_step`) with a combine function and serial / deserial functions,
//! PARALLEL SAFE, so PostgreSQL's parallel aggregation splits a step across workers and a
//! distributed PostgreSQL can compute partial steps on every shard. `engine = aggregate` fits
//! drive their iterations through it (`step_query`).

use crate::catalog;
use crate::errors::{raise, OrRaise};
use crate::search_path::select_text;
use pgrx::datum::DatumWithOid;
use pgrx::datum::Internal;
use pgrx::prelude::*;
use pgrx::{FromDatum, PgMemoryContexts, PgSqlErrorCode};
use segment_core::cluster::lloyd_step::{StepResult, StepState};
use segment_core::prep::preprocessor::Preprocessor;

/// The aggregate's memory context; outside an aggregate call these functions refuse to run.
unsafe fn aggregate_context(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
) -> pg_sys::MemoryContext {
    let mut context: pg_sys::MemoryContext = std::ptr::null_mut();
    if pg_sys::AggCheckCallContext(fcinfo, &mut context) == 0 {
        raise(
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("{function} is part of the aggregate segment_kmeans_step"),
            Some("Call segment_kmeans_step(features, centres) instead."),
        );
    }
    context
}

/// Moves a state into the aggregate's memory context: it is dropped when that context goes
/// (end of the aggregate, or an error).
unsafe fn keep(context: pg_sys::MemoryContext, state: StepState) -> Internal {
    let ptr = PgMemoryContexts::For(context).leak_and_drop_on_delete(state);
    pointer(ptr)
}

fn pointer(state: *mut StepState) -> Internal {
    Internal::from(Some(pg_sys::Datum::from(state)))
}

unsafe fn state_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Option<&'a mut StepState> {
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, n) {
        return None;
    }
    pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n)
        .cast_mut_ptr::<StepState>()
        .as_mut()
}

/// A float8[] argument's values; NULL elements as None.
unsafe fn floats(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Option<Vec<Option<f64>>> {
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, n) {
        return None;
    }
    Vec::<Option<f64>>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n), false)
}

/// One call of a transition function: the row's features (borrowed, not copied: this runs once
/// per row), the state (made by `start` from the first row with features, in the aggregate's
/// memory context), then `add`. A NULL features array leaves the state as it is.
///
/// # Safety
/// `fcinfo` is an aggregate transition call with (internal, float8[], ...).
unsafe fn transition(
    fcinfo: pg_sys::FunctionCallInfo,
    function: &str,
    start: impl FnOnce(usize) -> StepState,
    add: impl FnOnce(&mut StepState, pgrx::Array<f64>) -> segment_core::error::CoreResult<bool>,
) -> Internal {
    let context = aggregate_context(fcinfo, function);
    let features = (!pgrx::fcinfo::pg_arg_is_null(fcinfo, 1))
        .then(|| {
            pgrx::Array::<f64>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1), false)
        })
        .flatten();
    let state = match (state_arg(fcinfo, 0), &features) {
        (Some(s), _) => s,
        (None, None) => return Internal::from(None),
        (None, Some(f)) => {
            let kept = keep(context, start(f.len())).unwrap().expect("just kept");
            &mut *kept.cast_mut_ptr::<StepState>()
        }
    };
    if let Some(features) = features {
        add(state, features).or_raise();
    }
    pointer(state)
}

/// A float8[] argument that must be there (read once, with the first row), NULL elements as NaN.
unsafe fn required_floats(fcinfo: pg_sys::FunctionCallInfo, n: usize, what: &str) -> Vec<f64> {
    floats(fcinfo, n)
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                format!("segment_kmeans_step: {what} must not be NULL"),
                None,
            )
        })
        .into_iter()
        .map(|c| c.unwrap_or(f64::NAN))
        .collect()
}

/// Transition: adds one row. A row that is NULL or has a NULL feature is left out (filter them
/// in WHERE to count them); the centres are read from the first row only.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_add(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called by the executor as an aggregate transition function with (internal,
    // float8[], float8[]).
    unsafe {
        transition(
            fcinfo,
            "segment_kmeans_step_add",
            |d| StepState::new(&required_floats(fcinfo, 2, "centres"), d).or_raise(),
            |state, features| state.add_values(features.iter()),
        )
    }
}

/// Transition of the three-argument form: adds one raw row, preprocessed in Rust by the
/// preprocessing array (third argument, read with the centres from the first row only).
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_add_raw(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called by the executor as an aggregate transition function with (internal,
    // float8[], float8[], float8[]).
    unsafe {
        transition(
            fcinfo,
            "segment_kmeans_step_add_raw",
            |_| {
                let centres = required_floats(fcinfo, 2, "centres");
                let prep = required_floats(fcinfo, 3, "preprocessing");
                let prep = Preprocessor::from_floats(&prep).or_raise();
                StepState::with_preprocessor(&centres, prep).or_raise()
            },
            |state, features| state.add_raw(features.iter()),
        )
    }
}

/// Combine: merges two partial states (from parallel workers or shards).
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_combine(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called as the aggregate's combine function with (internal, internal).
    unsafe {
        let context = aggregate_context(fcinfo, "segment_kmeans_step_combine");
        match (state_arg(fcinfo, 0), state_arg(fcinfo, 1)) {
            (None, None) => Internal::from(None),
            // The first argument must end up in the aggregate's context: copy, never alias.
            (None, Some(b)) => keep(context, b.clone()),
            (Some(a), None) => pointer(a),
            (Some(a), Some(b)) => {
                a.merge(b).or_raise();
                pointer(a)
            }
        }
    }
}

/// Serial: a state as bytea, to cross from a parallel worker to the leader.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_serialize(fcinfo: pg_sys::FunctionCallInfo) -> Vec<u8> {
    // SAFETY: called as the aggregate's serial function with (internal), strict.
    unsafe {
        aggregate_context(fcinfo, "segment_kmeans_step_serialize");
        state_arg(fcinfo, 0).expect("strict").to_bytes()
    }
}

/// Deserial: the state back from bytea; anything that is not a serialized state is an error.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_deserialize(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called as the aggregate's deserial function with (bytea, internal), strict.
    unsafe {
        let context = aggregate_context(fcinfo, "segment_kmeans_step_deserialize");
        let bytes = <&[u8]>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0), false)
            .expect("strict");
        keep(context, StepState::from_bytes(bytes).or_raise())
    }
}

/// Final: the step as jsonb (rows, inertia, counts, next centres); NULL when no row took part.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_result(fcinfo: pg_sys::FunctionCallInfo) -> Option<pgrx::JsonB> {
    // SAFETY: called as the aggregate's final function with (internal).
    unsafe {
        aggregate_context(fcinfo, "segment_kmeans_step_result");
        state_arg(fcinfo, 0).map(|state| {
            pgrx::JsonB(serde_json::to_value(state.result()).expect("a step result serializes"))
        })
    }
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_kmeans_step_add(internal, float8[], float8[]) RETURNS internal
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_wrapper';
CREATE FUNCTION segment_kmeans_step_add_raw(internal, float8[], float8[], float8[]) RETURNS internal
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_raw_wrapper';
CREATE FUNCTION segment_kmeans_step_combine(internal, internal) RETURNS internal
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_combine_wrapper';
CREATE FUNCTION segment_kmeans_step_serialize(internal) RETURNS bytea
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_serialize_wrapper';
CREATE FUNCTION segment_kmeans_step_deserialize(bytea, internal) RETURNS internal
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_deserialize_wrapper';
CREATE FUNCTION segment_kmeans_step_result(internal) RETURNS jsonb
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_result_wrapper';
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[]) (
    SFUNC = segment_kmeans_step_add,
    STYPE = internal,
    COMBINEFUNC = segment_kmeans_step_combine,
    SERIALFUNC = segment_kmeans_step_serialize,
    DESERIALFUNC = segment_kmeans_step_deserialize,
    FINALFUNC = segment_kmeans_step_result,
    PARALLEL = SAFE
);
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[], preprocessing float8[]) (
    SFUNC = segment_kmeans_step_add_raw,
    STYPE = internal,
    COMBINEFUNC = segment_kmeans_step_combine,
    SERIALFUNC = segment_kmeans_step_serialize,
    DESERIALFUNC = segment_kmeans_step_deserialize,
    FINALFUNC = segment_kmeans_step_result,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE segment_kmeans_step(float8[], float8[], float8[]) IS
    'one k-means (Lloyd) step over raw feature arrays put through a model''s preprocessing (log, imputation, scaling; the array a fit with engine aggregate builds): what such fits run once per iteration';
COMMENT ON AGGREGATE segment_kmeans_step(float8[], float8[]) IS
    'one k-means (Lloyd) step: rows, inertia, counts and the next centres, from scaled feature arrays and the current centres (k x d values)';
"#,
    name = "segment_kmeans_step_aggregate",
    requires = [
        segment_kmeans_step_add,
        segment_kmeans_step_add_raw,
        segment_kmeans_step_combine,
        segment_kmeans_step_serialize,
        segment_kmeans_step_deserialize,
        segment_kmeans_step_result
    ]
);

/// The query of one step over `source`: the raw feature columns, the centres (`$1`) and the
/// model's preprocessing (`$2`, `Preprocessor::to_floats`), which the aggregate applies to every
/// row in Rust (log, imputation, scaling, rows skipped for a NULL) exactly as assign does.
pub fn step_query(source: &crate::source::Source) -> String {
    let columns: Vec<String> = source
        .features
        .iter()
        .map(|f| format!("{}::float8", pgrx::spi::quote_identifier(f)))
        .collect();
    format!(
        "SELECT {}.segment_kmeans_step(ARRAY[{}], $1, $2)::text FROM {}",
        catalog::schema(),
        columns.join(", "),
        source.sql_name
    )
}

/// Runs one step's query with `centres` and the preprocessing array.
pub fn run_step(query: &str, centres: &[f64], preprocessing: &[f64]) -> StepResult {
    let args = [
        DatumWithOid::from(centres.to_vec()),
        DatumWithOid::from(preprocessing.to_vec()),
    ];
    let text = select_text(query, &args).unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_RESOURCES,
            "a k-means step over the source found no rows",
            Some("The rows changed during the fit; run it again."),
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
            format!("a k-means step returned an unreadable result: {e}"),
            None,
        )
    })
}
