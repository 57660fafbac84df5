//! The views that read a model (made by segment_create_view), which stop its drop or are
//! dropped with it.

use super::statements::read;
use crate::errors::raise;
use crate::search_path::pinned;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// The views (schema-qualified, quoted) that read `name` the way segment_create_view writes them:
/// their rule depends on the extension's segment_label, segment_labels or segment_group_labels,
/// and their
/// definition passes the name to it as a constant. Views written by hand that do not join those
/// functions are not found.
fn views_reading(name: &str) -> Vec<String> {
    let literal = format!("'{}'::text)", name.replace('\'', "''"));
    read(
        "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'v' \
           AND EXISTS ( \
               SELECT 1 FROM pg_catalog.pg_rewrite r \
               JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass \
                    AND d.objid = r.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass \
               JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid \
               JOIN pg_catalog.pg_extension e ON e.extnamespace = p.pronamespace \
               WHERE r.ev_class = c.oid AND e.extname = 'customer_segment' \
                 AND p.proname IN ('segment_label', 'segment_labels', 'segment_group_labels')) \
           AND (pg_catalog.strpos(pg_catalog.pg_get_viewdef(c.oid), 'segment_label(' || $2) > 0 \
                OR pg_catalog.strpos(pg_catalog.pg_get_viewdef(c.oid), 'segment_labels(' || $1) > 0 \
                OR pg_catalog.strpos(pg_catalog.pg_get_viewdef(c.oid), 'segment_group_labels(' || $1) > 0) \
         ORDER BY 1",
        &[
            DatumWithOid::from(literal.as_str()),
            // segment_label(name, segment): the name is followed by a comma.
            DatumWithOid::from(format!("{},", &literal[..literal.len() - 1]).as_str()),
        ],
        |t| {
            Some(
                t.filter_map(|r| r.get::<String>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default()
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
