//! Planner support for `segment_assign(model, row)`.
//!
//! Passing a table row as a `record` makes PostgreSQL build a new row value for every row
//! (`ExecEvalWholeRowVar`), a quarter of the cost of an assign over a large table (measured with
//! perf; docs/performance.md, "Where the time goes"). When the row has a named row type
//! (`segment_assign('m', t)` for a table `t`, or for a view, which the planner turns into
//! `ROW(<the view's columns>)` of the view's type), the planner support function below rewrites
//! the call into
//! `segment_assign_columns(model, <column names>, <columns...>)`: the same answer from the
//! columns the scan has already extracted. The model is still looked up at execution, so a
//! refit between planning and execution is seen; the column names are those of the row type,
//! which cannot change without invalidating the plan. Anonymous records (`ROW(...)` without a
//! type, subquery rows) and rows wider than a function's argument limit keep the generic path.
//!
//! Shipping (`customer_segment.ship_models`): on Citus the scan of a distributed table runs on
//! the workers, whose catalogs do not have the coordinator's models. For rows of a Citus table
//! (or of every table, with `always`) the rewrite reads the model's current version here, on
//! the node that plans, with the caller's privileges, and calls `segment_assign_shipped` with
//! the document as a text constant in place of the name: Citus deparses the planned expression
//! into each shard's query, so the model travels with it. A cached plan then holds that
//! version: every change of the name invalidates such plans (`catalog::invalidate_shipped_plans`).
//! Not shipped: a model named by an expression that is not a constant, and per-group models.
//! The same support function serves every row function of src/row_functions.rs, each planned
//! into the forms its entry there declares (by name, for those whose speed matters most over
//! whole tables, and shipped), and `segment_label(model, segment)`, whose labels are shipped
//! when the query reads a Citus table.

use crate::catalog;
use crate::citus;
use crate::gucs::{self, ShipModels};
use crate::row_functions;
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
            let simplify = request.cast::<pg_sys::SupportRequestSimplify>();
            rewrite((*simplify).root, (*simplify).fcall)
        } else {
            None
        };
        let pointer = replacement.map_or(pg_sys::Datum::from(0), pg_sys::Datum::from);
        Internal::from_datum(pointer, false).expect("not null")
    }
}

unsafe fn rewrite(
    root: *mut pg_sys::PlannerInfo,
    call: *mut pg_sys::FuncExpr,
) -> Option<*mut pg_sys::FuncExpr> {
    let args = PgList::<pg_sys::Node>::from_pg((*call).args);
    if args.len() != 2 {
        return None;
    }
    let called = std::ffi::CStr::from_ptr(pg_sys::get_func_name((*call).funcid));
    if called.to_bytes() == b"segment_label" {
        return rewrite_label(root, call, &args);
    }
    // The forms a row function is planned as (src/row_functions.rs): by name, and with the
    // model shipped.
    let function = row_functions::find(called.to_str().ok()?)?;
    let (names, columns, var) = row_columns(args.get_ptr(1)?)?;
    // A function takes at most FUNC_MAX_ARGS arguments: wider rows keep the generic path.
    if names.len() + 2 > pg_sys::FUNC_MAX_ARGS as usize {
        return None;
    }
    let on_citus = || {
        var.and_then(|var| relation_of(root, var))
            .is_some_and(citus::is_citus_table)
    };
    let shipped = if function.shipped && ships(root, on_citus) {
        shipped_model(root, args.get_ptr(0)?)
    } else {
        None
    };
    let target_name = if shipped.is_some() {
        function.shipped_form()
    } else {
        function.columns_form()
    };
    let target = schema_function((*call).funcid, &CString::new(target_name?).ok()?)?;
    let mut new_args = PgList::<pg_sys::Node>::new();
    new_args.push(match shipped {
        Some(model) => model,
        None => args.get_ptr(0)?,
    });
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
    for column in columns {
        new_args.push(column);
    }
    Some(replacement(call, target, new_args))
}

/// `segment_label(model, segment)` with the model's labels shipped: when the query reads a Citus
/// table (the segment is not a row, so the table it comes from is not known: any in the query).
unsafe fn rewrite_label(
    root: *mut pg_sys::PlannerInfo,
    call: *mut pg_sys::FuncExpr,
    args: &PgList<pg_sys::Node>,
) -> Option<*mut pg_sys::FuncExpr> {
    if !ships(root, || reads_citus_table(root)) {
        return None;
    }
    let labels = constant_name(args.get_ptr(0)?).and_then(|name| catalog::shipped_labels(&name))?;
    depends_on_role(root);
    let target = schema_function_of(
        (*call).funcid,
        c"segment_label_shipped",
        &[pg_sys::TEXTOID, pg_sys::INT4OID],
    )?;
    let mut new_args = PgList::<pg_sys::Node>::new();
    new_args.push(text_constant(labels)?);
    new_args.push(args.get_ptr(1)?);
    Some(replacement(call, target, new_args))
}

/// A call of `target` with `args` in place of `call`: the same result type, collations and
/// position in the query text.
unsafe fn replacement(
    call: *mut pg_sys::FuncExpr,
    target: pg_sys::Oid,
    args: PgList<pg_sys::Node>,
) -> *mut pg_sys::FuncExpr {
    let expr = pg_sys::makeFuncExpr(
        target,
        (*call).funcresulttype,
        args.into_pg(),
        (*call).funccollid,
        (*call).inputcollid,
        pg_sys::CoercionForm::COERCE_EXPLICIT_CALL,
    );
    (*expr).location = (*call).location;
    expr
}

/// Whether the query being planned (or one it is nested in) reads a Citus table.
unsafe fn reads_citus_table(mut root: *mut pg_sys::PlannerInfo) -> bool {
    while !root.is_null() {
        if !(*root).parse.is_null() {
            let rtable = PgList::<pg_sys::RangeTblEntry>::from_pg((*(*root).parse).rtable);
            for rte in rtable.iter_ptr() {
                if (*rte).rtekind == pg_sys::RTEKind::RTE_RELATION
                    && citus::is_citus_table((*rte).relid)
                {
                    return true;
                }
            }
        }
        root = (*root).parent_root;
    }
    false
}

/// The row argument as column names and column expressions, and a column of the scanned table
/// (for `ships`): a whole-row reference to a table (`t` in `FROM t`), or the row PostgreSQL
/// builds for a view it pulled up into the query (`ROW(...)` of the view's row type, whose
/// fields are the view's column expressions). None for other records.
unsafe fn row_columns(
    row: *mut pg_sys::Node,
) -> Option<(
    Vec<String>,
    Vec<*mut pg_sys::Node>,
    Option<*mut pg_sys::Var>,
)> {
    let (typid, fields, var) = match (*row).type_ {
        pg_sys::NodeTag::T_Var => {
            let var = row.cast::<pg_sys::Var>();
            // A row of an outer query level (a correlated subquery, or a CTE or subquery pulled
            // up into one): that level has already planned which of its columns it passes down
            // (the whole row), so columns named here would not be found ("variable not found in
            // subplan target list"). Such calls keep the generic path.
            if (*var).varattno != 0 || (*var).varlevelsup != 0 {
                return None;
            }
            ((*var).vartype, None, Some(var))
        }
        pg_sys::NodeTag::T_RowExpr => {
            let expr = row.cast::<pg_sys::RowExpr>();
            let fields = PgList::<pg_sys::Node>::from_pg((*expr).args);
            let var = fields.iter_ptr().find_map(|f| {
                ((*f).type_ == pg_sys::NodeTag::T_Var).then(|| f.cast::<pg_sys::Var>())
            });
            ((*expr).row_typeid, Some(fields), var)
        }
        _ => return None,
    };
    if typid == pg_sys::RECORDOID
        || pg_sys::get_typtype(typid) != pg_sys::TYPTYPE_COMPOSITE as std::ffi::c_char
    {
        return None;
    }
    // PgTupleDesc reads the attributes on every PostgreSQL version (18 moved them behind
    // `compact_attrs`) and releases the reference-counted descriptor when dropped.
    let tupdesc = pgrx::PgTupleDesc::from_pg(pg_sys::lookup_rowtype_tupdesc(typid, -1));
    if fields.as_ref().is_some_and(|f| f.len() != tupdesc.len()) {
        return None;
    }
    let mut names = Vec::new();
    let mut columns = Vec::new();
    for (i, att) in tupdesc.iter().enumerate() {
        if att.attisdropped {
            continue;
        }
        names.push(att.name().to_string());
        columns.push(match &fields {
            // A RowExpr has one field per attribute, dropped ones included (as NULLs).
            Some(fields) => fields.get_ptr(i)?,
            None => {
                let var = var.expect("a whole-row Var");
                pg_sys::makeVar(
                    (*var).varno,
                    att.attnum,
                    att.atttypid,
                    att.atttypmod,
                    att.attcollation,
                    (*var).varlevelsup,
                )
                .cast()
            }
        });
    }
    Some((names, columns, var))
}

/// `name(text, text[], VARIADIC "any")` in the schema of `segment_assign`.
unsafe fn schema_function(assign_oid: pg_sys::Oid, name: &std::ffi::CStr) -> Option<pg_sys::Oid> {
    schema_function_of(
        assign_oid,
        name,
        &[pg_sys::TEXTOID, pg_sys::TEXTARRAYOID, pg_sys::ANYOID],
    )
}

/// The function `name(types)` in the schema of the function `sibling`.
unsafe fn schema_function_of(
    sibling: pg_sys::Oid,
    name: &std::ffi::CStr,
    types: &[pg_sys::Oid],
) -> Option<pg_sys::Oid> {
    let schema = pg_sys::get_namespace_name(pg_sys::get_func_namespace(sibling));
    if schema.is_null() {
        return None;
    }
    let qualified = pg_sys::lappend(
        pg_sys::lappend(std::ptr::null_mut(), pg_sys::makeString(schema).cast()),
        pg_sys::makeString(pg_sys::pstrdup(name.as_ptr())).cast(),
    );
    let oid = pg_sys::LookupFuncName(qualified, types.len() as i32, types.as_ptr(), true);
    (oid != pg_sys::InvalidOid).then_some(oid)
}

/// Whether a call ships its model (see the module comment); under `auto`, `on_citus` says
/// whether what the call reads is on Citus (its row's table, or any table of the query).
unsafe fn ships(root: *mut pg_sys::PlannerInfo, on_citus: impl FnOnce() -> bool) -> bool {
    match gucs::ship_models() {
        ShipModels::Never => false,
        ShipModels::Always => true,
        // Citus plans single-shard queries without a planner root: what they read cannot be
        // seen, and shipping is what such a query needs.
        ShipModels::Auto => citus::installed() && (root.is_null() || on_citus()),
    }
}

/// The table whose rows `var` stands for, when the planner's root shows one.
unsafe fn relation_of(
    mut root: *mut pg_sys::PlannerInfo,
    var: *mut pg_sys::Var,
) -> Option<pg_sys::Oid> {
    for _ in 0..(*var).varlevelsup {
        if root.is_null() {
            return None;
        }
        root = (*root).parent_root;
    }
    if root.is_null() || (*root).parse.is_null() {
        return None;
    }
    let rtable = PgList::<pg_sys::RangeTblEntry>::from_pg((*(*root).parse).rtable);
    let rte = rtable.get_ptr(((*var).varno as usize).checked_sub(1)?)?;
    ((*rte).rtekind == pg_sys::RTEKind::RTE_RELATION).then_some((*rte).relid)
}

/// The model named by the constant `name` as a text constant to ship; None (not shipped) when
/// the name is not a constant or the model is fitted per group. A missing or forbidden model
/// raises its usual error here, at planning.
unsafe fn shipped_model(
    root: *mut pg_sys::PlannerInfo,
    name: *mut pg_sys::Node,
) -> Option<*mut pg_sys::Node> {
    let shipped = text_constant(catalog::shipped(&constant_name(name)?)?)?;
    depends_on_role(root);
    Some(shipped)
}

/// The plan holds what the current role may read: PostgreSQL plans it again when a cached plan
/// is executed by another role. (Citus builds its own plans without this flag; the shipped
/// document's role, checked where it is read, covers those.)
unsafe fn depends_on_role(root: *mut pg_sys::PlannerInfo) {
    if !root.is_null() && !(*root).glob.is_null() {
        (*(*root).glob).dependsOnRole = true;
    }
}

/// The text of a non-NULL text constant.
unsafe fn constant_name(node: *mut pg_sys::Node) -> Option<String> {
    if (*node).type_ != pg_sys::NodeTag::T_Const {
        return None;
    }
    let constant = node.cast::<pg_sys::Const>();
    if (*constant).constisnull || (*constant).consttype != pg_sys::TEXTOID {
        return None;
    }
    String::from_datum((*constant).constvalue, false)
}

unsafe fn text_constant(text: String) -> Option<*mut pg_sys::Node> {
    let constant = pg_sys::makeConst(
        pg_sys::TEXTOID,
        -1,
        pg_sys::DEFAULT_COLLATION_OID,
        -1,
        text.into_datum()?,
        false,
        false,
    );
    Some(constant.cast())
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
