//! Planner support for `segment_assign(model, row)`.
//!
//! Passing a table row as a `record` makes PostgreSQL build a new row value for every row
//! (`ExecEvalWholeRowVar`), a quarter of the cost of an assign over a large table (measured with
//! perf, see README). When the row is a whole-row reference to a relation with a named row type
//! (`segment_assign('m', t)` for a table or view `t`), the planner support function below
//! rewrites the call into `segment_assign_columns(model, <column names>, <columns...>)`: the same
//! answer from the columns the scan has already extracted. The model is still looked up at
//! execution, so a refit between planning and execution is seen; the column names are those of
//! the row type, which cannot change without invalidating the plan. Other records (`ROW(...)`,
//! anonymous subquery rows) and rows wider than a function's argument limit keep the generic
//! path.

use pgrx::datum::Internal;
use pgrx::prelude::*;
use pgrx::{FromDatum, IntoDatum, PgList};
use std::ffi::CString;

/// Returns the replacement expression, or a null pointer (not SQL NULL, which the planner
/// would reject) when the call is left as it is.
#[pg_extern(immutable, parallel_safe, sql = false)]
fn segment_assign_support(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: called by the planner with one `internal` argument, a SupportRequest node.
    unsafe {
        let request = pgrx::fcinfo::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::Node>();
        let replacement = if !request.is_null()
            && (*request).type_ == pg_sys::NodeTag::T_SupportRequestSimplify
        {
            rewrite((*request.cast::<pg_sys::SupportRequestSimplify>()).fcall)
        } else {
            None
        };
        let pointer = replacement.map_or(pg_sys::Datum::from(0), pg_sys::Datum::from);
        Internal::from_datum(pointer, false).expect("not null")
    }
}

unsafe fn rewrite(call: *mut pg_sys::FuncExpr) -> Option<*mut pg_sys::FuncExpr> {
    let args = PgList::<pg_sys::Node>::from_pg((*call).args);
    if args.len() != 2 {
        return None;
    }
    let row = args.get_ptr(1)?;
    if (*row).type_ != pg_sys::NodeTag::T_Var {
        return None;
    }
    let var = row.cast::<pg_sys::Var>();
    if (*var).varattno != 0 || (*var).vartype == pg_sys::RECORDOID {
        return None;
    }
    if pg_sys::get_typtype((*var).vartype) != pg_sys::TYPTYPE_COMPOSITE as std::ffi::c_char {
        return None;
    }
    let target = columns_function((*call).funcid)?;

    // PgTupleDesc reads the attributes on every PostgreSQL version (18 moved them behind
    // `compact_attrs`) and releases the reference-counted descriptor when dropped.
    let tupdesc = pgrx::PgTupleDesc::from_pg(pg_sys::lookup_rowtype_tupdesc((*var).vartype, -1));
    let mut names: Vec<String> = Vec::new();
    let mut new_args = PgList::<pg_sys::Node>::new();
    new_args.push(args.get_ptr(0)?);
    let mut columns = PgList::<pg_sys::Node>::new();
    for att in tupdesc.iter() {
        if att.attisdropped {
            continue;
        }
        names.push(att.name().to_string());
        let column = pg_sys::makeVar(
            (*var).varno,
            att.attnum,
            att.atttypid,
            att.atttypmod,
            att.attcollation,
            (*var).varlevelsup,
        );
        columns.push(column.cast());
    }
    drop(tupdesc);
    // A function takes at most FUNC_MAX_ARGS arguments: wider rows keep the generic path.
    if names.len() + 2 > pg_sys::FUNC_MAX_ARGS as usize {
        return None;
    }

    let names_datum = names.into_datum()?;
    let names_const = pg_sys::makeConst(
        pg_sys::TEXTARRAYOID,
        -1,
        pg_sys::InvalidOid,
        -1,
        names_datum,
        false,
        false,
    );
    new_args.push(names_const.cast());
    for column in columns.iter_ptr() {
        new_args.push(column);
    }
    let expr = pg_sys::makeFuncExpr(
        target,
        pg_sys::INT4OID,
        new_args.into_pg(),
        pg_sys::InvalidOid,
        (*call).inputcollid,
        pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
    );
    (*expr).location = (*call).location;
    Some(expr)
}

/// `segment_assign_columns(text, text[], VARIADIC "any")` in the schema of `segment_assign`.
unsafe fn columns_function(assign_oid: pg_sys::Oid) -> Option<pg_sys::Oid> {
    let schema = pg_sys::get_namespace_name(pg_sys::get_func_namespace(assign_oid));
    if schema.is_null() {
        return None;
    }
    let name = CString::new("segment_assign_columns").expect("no NUL");
    let qualified = pg_sys::lappend(
        pg_sys::lappend(std::ptr::null_mut(), pg_sys::makeString(schema).cast()),
        pg_sys::makeString(pg_sys::pstrdup(name.as_ptr())).cast(),
    );
    let types = [pg_sys::TEXTOID, pg_sys::TEXTARRAYOID, pg_sys::ANYOID];
    let oid = pg_sys::LookupFuncName(qualified, 3, types.as_ptr(), true);
    (oid != pg_sys::InvalidOid).then_some(oid)
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_assign_support(internal) RETURNS internal
    IMMUTABLE STRICT PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_support_wrapper';
"#,
    name = "segment_assign_planner",
    requires = [segment_assign_support]
);
