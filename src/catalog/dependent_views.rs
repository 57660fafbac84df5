//! The views that read a model (made by segment_create_view), which stop its drop or are
//! dropped with it.

use super::statements::read;
use crate::errors::raise;
use crate::search_path::pinned;
use pgrx::prelude::*;
use pgrx::{PgList, PgSqlErrorCode};

/// The extension's functions through which a view reads a model's labels: what
/// segment_create_view writes (`segment_label` for one model, `segment_group_labels` for a
/// per-group model) and `segment_labels`, which a view written by hand joins.
const LABEL_FUNCTIONS: &str = "'segment_label', 'segment_labels', 'segment_group_labels'";

/// The views (schema-qualified, quoted, in name order) that read `name` through one of
/// `LABEL_FUNCTIONS`, with the name passed as a constant. Views written by hand that call none of
/// those functions are not found.
///
/// Two steps, because pg_depend alone cannot tell which model a view reads: the view's rule
/// depends on the functions it calls (recorded when the view is made, kept by renames and
/// `SET SCHEMA`), but the model is a text argument, a constant, which is no catalog object. So
/// pg_depend gives the candidates (the views whose rule depends on one of the functions), and
/// each candidate's stored query tree (`pg_rewrite.ev_action`, what the view runs) is searched
/// for a call of one of them whose `model` argument is the constant `name`. The tree is exact
/// where the view's text is not: no other function whose name ends the same, no name that only
/// starts like this one, no string that merely contains the call, and a call in named notation
/// or with a cast of the constant is still found.
fn views_reading(name: &str) -> Vec<String> {
    let functions: Vec<pg_sys::Oid> = read(
        &format!(
            "SELECT p.oid FROM pg_catalog.pg_proc p \
             JOIN pg_catalog.pg_depend x ON x.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                  AND x.objid = p.oid AND x.deptype = 'e' \
             JOIN pg_catalog.pg_extension e ON e.oid = x.refobjid \
             WHERE e.extname = 'customer_segment' AND p.proname IN ({LABEL_FUNCTIONS})"
        ),
        &[],
        |t| {
            Some(
                t.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default();
    if functions.is_empty() {
        return Vec::new();
    }
    let candidates: Vec<(String, String)> = read(
        &format!(
            "SELECT n.nspname::text, c.relname::text, r.ev_action::text \
             FROM pg_catalog.pg_rewrite r \
             JOIN pg_catalog.pg_class c ON c.oid = r.ev_class \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind = 'v' AND EXISTS ( \
                 SELECT 1 FROM pg_catalog.pg_depend d \
                 JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid \
                 JOIN pg_catalog.pg_depend x ON x.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                      AND x.objid = p.oid AND x.deptype = 'e' \
                 JOIN pg_catalog.pg_extension e ON e.oid = x.refobjid \
                 WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = r.oid \
                   AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
                   AND e.extname = 'customer_segment' AND p.proname IN ({LABEL_FUNCTIONS})) \
             ORDER BY 1, 2"
        ),
        &[],
        |t| {
            Some(
                t.filter_map(|r| {
                    let (schema, view) = (r.get::<String>(1).ok()??, r.get::<String>(2).ok()??);
                    Some((
                        pgrx::spi::quote_qualified_identifier(schema, view),
                        r.get::<String>(3).ok()??,
                    ))
                })
                .collect(),
            )
        },
    )
    .unwrap_or_default();
    candidates
        .into_iter()
        .filter(|(_, tree)| calls_with_model(tree, &functions, name))
        .map(|(view, _)| view)
        .collect()
}

/// What the tree walk looks for.
struct Search<'a> {
    functions: &'a [pg_sys::Oid],
    name: &'a str,
}

/// Whether a rule's stored actions (`ev_action`, the text of a list of queries) call one of
/// `functions` with `name` as the constant model argument.
fn calls_with_model(tree: &str, functions: &[pg_sys::Oid], name: &str) -> bool {
    let Ok(tree) = std::ffi::CString::new(tree) else {
        return false;
    };
    let search = Search { functions, name };
    // SAFETY: stringToNode reads PostgreSQL's own serialization of the rule (read from
    // pg_rewrite just now) into nodes in the current memory context; the walk only reads them,
    // and `search` outlives it.
    unsafe {
        let actions = pg_sys::stringToNode(tree.as_ptr()).cast::<pg_sys::Node>();
        names_model(actions, (&search as *const Search).cast_mut().cast())
    }
}

/// The tree walker of `calls_with_model`: true at a call of one of the functions whose argument
/// 0 (`model`) is the constant name; into subqueries (a view's FROM (SELECT ...), sublinks) by
/// `query_tree_walker`, into everything else by `expression_tree_walker`.
#[pg_guard]
unsafe extern "C-unwind" fn names_model(
    node: *mut pg_sys::Node,
    context: *mut std::ffi::c_void,
) -> bool {
    if node.is_null() {
        return false;
    }
    let search = &*(context as *const Search);
    if (*node).type_ == pg_sys::NodeTag::T_Query {
        return pg_sys::query_tree_walker(node.cast(), Some(names_model), context, 0);
    }
    if (*node).type_ == pg_sys::NodeTag::T_FuncExpr {
        let call = node.cast::<pg_sys::FuncExpr>();
        if search.functions.contains(&(*call).funcid) {
            let args = PgList::<pg_sys::Node>::from_pg((*call).args);
            let model = args.iter_ptr().enumerate().find_map(|(at, arg)| {
                // A call in named notation keeps its arguments as written, each with the
                // position of its parameter.
                if (*arg).type_ == pg_sys::NodeTag::T_NamedArgExpr {
                    let named = arg.cast::<pg_sys::NamedArgExpr>();
                    return ((*named).argnumber == 0).then(|| (*named).arg.cast());
                }
                (at == 0).then_some(arg)
            });
            if model.is_some_and(|m| constant_text(m).as_deref() == Some(search.name)) {
                return true;
            }
        }
    }
    pg_sys::expression_tree_walker(node, Some(names_model), context)
}

/// The text of a non-NULL text or varchar constant, under any binary cast ('m'::varchar passed
/// as text is a RelabelType over the constant).
unsafe fn constant_text(mut node: *mut pg_sys::Node) -> Option<String> {
    while !node.is_null() && (*node).type_ == pg_sys::NodeTag::T_RelabelType {
        node = (*node.cast::<pg_sys::RelabelType>()).arg.cast();
    }
    if node.is_null() || (*node).type_ != pg_sys::NodeTag::T_Const {
        return None;
    }
    let constant = node.cast::<pg_sys::Const>();
    if (*constant).constisnull
        || !matches!((*constant).consttype, pg_sys::TEXTOID | pg_sys::VARCHAROID)
    {
        return None;
    }
    String::from_datum((*constant).constvalue, false)
}

/// Refuses to drop a model that views made by segment_create_view read, or with `cascade`
/// drops those views (as the caller: only their owner can).
pub(super) fn drop_views_reading(name: &str, cascade: bool) {
    let views = views_reading(name);
    if views.is_empty() {
        return;
    }
    if !cascade {
        raise(
            PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            format!(
                "cannot drop model \"{name}\" because {} {} {}",
                if views.len() == 1 { "view" } else { "views" },
                views.join(", "),
                if views.len() == 1 { "reads it" } else { "read it" }
            ),
            Some(&format!(
                "Drop the views first, or drop them with it: SELECT segment_drop({}, cascade => true);",
                segment_core::sql::quote_literal(name)
            )),
        );
    }
    for view in views {
        pinned(|| Spi::run(&format!("DROP VIEW {view}"))).unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                format!("could not drop view {view}: {e}"),
                None,
            )
        });
    }
}
