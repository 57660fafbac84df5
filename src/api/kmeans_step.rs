//! The SQL aggregate `segment_kmeans_step(features float8[], centres float8[]) → jsonb` (features
//! already scaled), and its three-argument form over raw features and a model's preprocessing
//! (what `engine = aggregate` fits run): one Lloyd step (see `segment_core::cluster::lloyd_step`)
//! with a `bytea` state and a combine function, PARALLEL SAFE, so PostgreSQL's parallel
//! aggregation splits a step across workers and Citus computes partial steps on every shard. `engine = aggregate` fits
//! drive their iterations through it (`step_query`).

use crate::catalog;
use crate::errors::{raise, OrRaise};
use crate::search_path::select_text;
use pgrx::datum::DatumWithOid;
use pgrx::datum::Internal;
use pgrx::prelude::*;
use pgrx::{FromDatum, PgSqlErrorCode};
use segment_core::cluster::lloyd_step::{plan_key, StepPlan, StepResult, StepSums};
use std::cell::RefCell;

// The state is a `bytea` (`StepSums`' layout), not `internal`: a distributed PostgreSQL (Citus
// 13) pushes an aggregate's partial steps down to its shards only when the state is a real type
// it can send between nodes. The transition function updates that bytea in place and returns
// the same pointer, so PostgreSQL copies nothing per row (as its own float8_accum does).
//
// The functions below take and return raw datums; `Internal` is pgrx's wrapper for one (NULL as
// None), whatever the SQL type.

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

/// A new bytea in `context` holding `bytes`.
unsafe fn new_bytea(context: pg_sys::MemoryContext, bytes: &[u8]) -> *mut pg_sys::varlena {
    let size = pg_sys::VARHDRSZ + bytes.len();
    let value = pg_sys::MemoryContextAlloc(context, size).cast::<pg_sys::varlena>();
    pgrx::set_varsize_4b(value, size as i32);
    std::ptr::copy_nonoverlapping(
        bytes.as_ptr(),
        pgrx::vardata_any(value).cast::<u8>().cast_mut(),
        bytes.len(),
    );
    value
}

/// The state in argument `n` as a bytea this function may change in place: our own plain
/// 4-byte-header value as it is, anything else (a short header, a compressed or out-of-line
/// value) copied into `context` first. None for NULL.
unsafe fn state_arg(
    fcinfo: pg_sys::FunctionCallInfo,
    n: usize,
    context: pg_sys::MemoryContext,
) -> Option<*mut pg_sys::varlena> {
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, n) {
        return None;
    }
    let value = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).cast_mut_ptr::<pg_sys::varlena>();
    if pgrx::varatt_is_4b_u(value) {
        return Some(value);
    }
    Some(new_bytea(context, bytes_of(value)))
}

/// The bytes of a bytea (any header form, detoasted if needed: a copy then lives in the
/// current memory context).
unsafe fn bytes_of<'a>(value: *mut pg_sys::varlena) -> &'a [u8] {
    let plain = pg_sys::pg_detoast_datum_packed(value);
    std::slice::from_raw_parts(
        pgrx::vardata_any(plain).cast::<u8>(),
        pgrx::varsize_any_exhdr(plain),
    )
}

/// The bytes of a bytea this module made or copied (plain 4-byte header), to change in place.
unsafe fn bytes_mut<'a>(value: *mut pg_sys::varlena) -> &'a mut [u8] {
    std::slice::from_raw_parts_mut(
        pgrx::vardata_4b(value).cast::<u8>().cast_mut(),
        pgrx::varsize_4b(value) - pg_sys::VARHDRSZ,
    )
}

fn datum(value: *mut pg_sys::varlena) -> Internal {
    Internal::from(Some(pg_sys::Datum::from(value)))
}

/// A float8[] argument's values; NULL elements as None.
unsafe fn floats(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Option<Vec<Option<f64>>> {
    if pgrx::fcinfo::pg_arg_is_null(fcinfo, n) {
        return None;
    }
    Vec::<Option<f64>>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n), false)
}

/// A float8[] argument that must be there, NULL elements as NaN.
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

thread_local! {
    /// The plan of the step being run, built from the centres (and preprocessing) arguments and
    /// kept across rows, statements and shard queries; a state whose key differs gets its plan
    /// rebuilt from its row's arguments. Not `fn_extra`: Citus calls the transition function
    /// through a fresh FmgrInfo for every row of a partial aggregate, so `fn_extra` would be
    /// empty every time. One plan is enough for the fit's one aggregate per query.
    static PLAN: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

struct Kept {
    plan: StepPlan,
    /// The arguments it was made from, as the bytes of the two arrays (the preprocessing's
    /// empty for the two-argument form): rows whose arguments are not constants of the query
    /// are compared with them.
    centres: Vec<u8>,
    preprocessing: Vec<u8>,
}

/// The bytes of array argument `n` (empty when there is no such argument or it is NULL).
unsafe fn array_bytes<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [u8] {
    if n >= (*fcinfo).nargs as usize || pgrx::fcinfo::pg_arg_is_null(fcinfo, n) {
        return &[];
    }
    bytes_of(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, n).cast_mut_ptr())
}

/// Whether the centres (and preprocessing) arguments of the aggregate call are constants of the
/// query (a literal, or a parameter such as the fit's `$1`): then every row of a state comes with
/// the same ones, and they need no comparison. The transition function's own call expression
/// has placeholder arguments, so this looks at the aggregate's (`AggGetAggref`); under Citus's
/// `worker_partial_agg` there is none of ours, and the arguments are compared.
unsafe fn constant_arguments(fcinfo: pg_sys::FunctionCallInfo, raw: bool) -> bool {
    let aggref = pg_sys::AggGetAggref(fcinfo);
    if aggref.is_null() {
        return false;
    }
    let args = pgrx::PgList::<pg_sys::TargetEntry>::from_pg((*aggref).args);
    let constant = |n: usize| {
        args.get_ptr(n).is_some_and(|tle| {
            let expr = (*tle).expr.cast::<pg_sys::Node>();
            !expr.is_null()
                && ((*expr).type_ == pg_sys::NodeTag::T_Const
                    || ((*expr).type_ == pg_sys::NodeTag::T_Param
                        && (*expr.cast::<pg_sys::Param>()).paramkind
                            == pg_sys::ParamKind::PARAM_EXTERN))
        })
    };
    args.len() == if raw { 3 } else { 2 } && constant(1) && (!raw || constant(2))
}

/// Runs `f` with the plan of this row's arguments (`raw`: the three-argument form with
/// preprocessing), for rows of `d` features. `key`: the key of the state the row goes into
/// (None: a new state). A kept plan serves only arguments equal to its own (compared byte for
/// byte, unless they are constants of the query and the state was started from this plan);
/// rows of one state must come with the same arguments.
unsafe fn with_plan<T>(
    fcinfo: pg_sys::FunctionCallInfo,
    d: usize,
    raw: bool,
    key: Option<u64>,
    f: impl FnOnce(&mut StepPlan) -> T,
) -> T {
    PLAN.with(|cell| {
        let mut kept = cell.borrow_mut();
        let same_arguments = |k: &Kept| {
            k.plan.d() == d
                && k.centres == array_bytes(fcinfo, 2)
                && (!raw || k.preprocessing == array_bytes(fcinfo, 3))
        };
        let serves = match (&*kept, key) {
            (Some(k), Some(key)) if k.plan.key() == key => {
                constant_arguments(fcinfo, raw) || same_arguments(k)
            }
            _ => false,
        };
        if !serves {
            let centres = required_floats(fcinfo, 2, "centres");
            let prep = raw.then(|| required_floats(fcinfo, 3, "preprocessing"));
            let args_key = plan_key(d, &centres, prep.as_deref().unwrap_or(&[]));
            if key.is_some_and(|k| k != args_key) {
                raise(
                    PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                    "segment_kmeans_step: rows of one step came with different centres or preprocessing",
                    Some("Pass the same centres (and preprocessing) to every row of one aggregate call."),
                );
            }
            if !kept.as_ref().is_some_and(same_arguments) {
                *kept = None;
                *kept = Some(Kept {
                    plan: StepPlan::for_arguments(&centres, d, prep.as_deref()).or_raise(),
                    centres: array_bytes(fcinfo, 2).to_vec(),
                    preprocessing: if raw {
                        array_bytes(fcinfo, 3).to_vec()
                    } else {
                        Vec::new()
                    },
                });
            }
        }
        f(&mut kept.as_mut().expect("made above").plan)
    })
}

/// One call of a transition function over (state bytea, features float8[], centres float8[]
/// [, preprocessing float8[]]): the row's features (borrowed, not copied: this runs once per
/// row) are added to the state, started from the plan on the first row with features. A NULL
/// features array leaves the state as it is.
///
/// # Safety
/// `fcinfo` is an aggregate transition call with those arguments.
unsafe fn transition(fcinfo: pg_sys::FunctionCallInfo, function: &str, raw: bool) -> Internal {
    let context = aggregate_context(fcinfo, function);
    let features = (!pgrx::fcinfo::pg_arg_is_null(fcinfo, 1))
        .then(|| {
            pgrx::Array::<f64>::from_datum(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1), false)
        })
        .flatten();
    let state = state_arg(fcinfo, 0, context);
    let Some(features) = features else {
        return state.map_or(Internal::from(None), datum);
    };
    let state = match state {
        Some(s) => s,
        None => {
            let start = with_plan(fcinfo, features.len(), raw, None, |plan| plan.start());
            new_bytea(context, &start)
        }
    };
    let bytes = bytes_mut(state);
    let (k, d, key) = StepSums::check(bytes).or_raise();
    with_plan(fcinfo, d, raw, Some(key), |plan| {
        if plan.k() != k {
            // Only a state not made by this aggregate (an INITCOND) can get here.
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                "segment_kmeans_step: the state does not belong to these centres",
                None,
            );
        }
        if raw {
            plan.add_raw(bytes, features.iter())
        } else {
            plan.add_values(bytes, features.iter())
        }
    })
    .or_raise();
    datum(state)
}

/// Transition: adds one row. A row that is NULL or has a NULL feature is left out (filter them
/// in WHERE to count them).
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_add(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called by the executor as an aggregate transition function with (bytea,
    // float8[], float8[]).
    unsafe { transition(fcinfo, "segment_kmeans_step_add", false) }
}

/// Transition of the three-argument form: adds one raw row, preprocessed in Rust by the
/// preprocessing array (third argument).
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_add_raw(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called by the executor as an aggregate transition function with (bytea,
    // float8[], float8[], float8[]).
    unsafe { transition(fcinfo, "segment_kmeans_step_add_raw", true) }
}

/// Combine: adds the second partial state (from a parallel worker or a shard) into the first.
/// Declared STRICT (PostgreSQL itself starts from the first non-NULL part), and NULL-safe all the
/// same: version 0.1.0 declared it without STRICT, and a database not yet updated calls it so.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_combine(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called as the aggregate's combine function with (bytea, bytea).
    unsafe {
        let context = aggregate_context(fcinfo, "segment_kmeans_step_combine");
        let state = state_arg(fcinfo, 0, context);
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 1) {
            return state.map_or(Internal::from(None), datum);
        }
        let other = bytes_of(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 1).cast_mut_ptr());
        match state {
            // The result must live in the aggregate's context: a copy, never the argument.
            None => datum(new_bytea(context, other)),
            Some(state) => {
                StepSums::merge(bytes_mut(state), other).or_raise();
                datum(state)
            }
        }
    }
}

/// Final: the step as jsonb (rows, inertia, counts, next centres); NULL when no row took part.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_result(fcinfo: pg_sys::FunctionCallInfo) -> Option<pgrx::JsonB> {
    // SAFETY: called as the aggregate's final function with (bytea); NULL (no row took part)
    // is checked although it is declared STRICT, as version 0.1.0 did not.
    unsafe {
        aggregate_context(fcinfo, "segment_kmeans_step_result");
        if pgrx::fcinfo::pg_arg_is_null(fcinfo, 0) {
            return None;
        }
        let bytes = bytes_of(pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr());
        let result = StepSums::result(bytes).or_raise();
        Some(pgrx::JsonB(
            serde_json::to_value(result).expect("a step result serializes"),
        ))
    }
}

/// Version 0.1.0's serial and deserial functions, for a database whose extension is not updated
/// yet: its SQL still declares them against this library, so their symbols must be here (CREATE
/// EXTENSION ... VERSION '0.1.0' checks them). They refuse and ask for the update, which drops
/// them (the state is a bytea since 0.2.0).
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_serialize(_fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    not_updated("segment_kmeans_step_serialize")
}

#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_kmeans_step_deserialize(_fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    not_updated("segment_kmeans_step_deserialize")
}

fn not_updated(function: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
        format!(
            "{function} belongs to customer_segment 0.1.0, whose files this server no longer has"
        ),
        Some("Update the extension: ALTER EXTENSION customer_segment UPDATE;"),
    )
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_kmeans_step_add(bytea, float8[], float8[]) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_wrapper';
CREATE FUNCTION segment_kmeans_step_add_raw(bytea, float8[], float8[], float8[]) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_raw_wrapper';
CREATE FUNCTION segment_kmeans_step_combine(bytea, bytea) RETURNS bytea
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_combine_wrapper';
CREATE FUNCTION segment_kmeans_step_result(bytea) RETURNS jsonb
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_result_wrapper';
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[]) (
    SFUNC = segment_kmeans_step_add,
    STYPE = bytea,
    COMBINEFUNC = segment_kmeans_step_combine,
    FINALFUNC = segment_kmeans_step_result,
    PARALLEL = SAFE
);
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[], preprocessing float8[]) (
    SFUNC = segment_kmeans_step_add_raw,
    STYPE = bytea,
    COMBINEFUNC = segment_kmeans_step_combine,
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
