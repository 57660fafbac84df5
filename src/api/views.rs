//! BI-ready views: `segment_create_view(model, source, view_name)`, and `segment_labels(model)`,
//! every segment's label as a set a query or BI tool can join and filter on.

use crate::catalog::{self, Current};
use crate::errors::{raise, require};
use crate::search_path::pinned;
use pgrx::prelude::*;
use pgrx::spi::quote_identifier;
use pgrx::{PgRelation, PgSqlErrorCode};

/// Every segment of the current version with its label (the analyst's, or the automatic one).
#[pg_extern(stable, parallel_safe)]
fn segment_labels(
    model: Option<&str>,
) -> TableIterator<'static, (name!(segment, i32), name!(label, String))> {
    let name = require(model, "model");
    let labels = catalog::load(name, None).labels();
    let rows: Vec<_> = (0_i32..).zip(labels).collect();
    TableIterator::new(rows)
}

/// Creates (or replaces) a plain view named `view_name` in the caller's current schema, owned
/// by the caller: the source's primary-key columns (every column when it has none), `segment`
/// and `segment_label`, and `churn_probability` for churn models; for a per-group model also
/// the grouping column, with labels per group. The model is read when the
/// view is queried, so a refit shows at once. Returns the view's qualified name.
///
/// The model is read as the role querying the view (like every model read): `grant_to` lists
/// roles (or 'public') that get `use` on the model and SELECT on the view, so a BI role can read
/// it at once.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_create_view(
    model: Option<&str>,
    source: Option<PgRelation>,
    view_name: Option<&str>,
    grant_to: default!(Option<Vec<Option<String>>>, "NULL"),
) -> String {
    let name = require(model, "model");
    let rel = require(source, "source");
    let view = require(view_name, "view_name");
    // Every role must exist before anything is made (a typo fails the whole call).
    let grantees: Vec<(String, Option<pg_sys::Oid>)> = grant_to
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let r = r.unwrap_or_else(|| {
                raise(
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    "grant_to must not contain NULL",
                    Some("List role names, or 'public'."),
                )
            });
            let oid = crate::api::privileges::role_oid(&r);
            (r, oid)
        })
        .collect();
    if view.is_empty() || view.len() > 63 {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_NAME,
            format!("invalid view name \"{}\"", view.escape_default()),
            Some("A view name is 1 to 63 bytes; it is used as one identifier, exactly as given."),
        );
    }
    // A per-group model's view also shows the grouping column, and takes labels per group.
    let (features, group_by, churn) = match catalog::load_current(name) {
        Current::One(stored) => {
            let is_churn = stored.model.churn().is_some();
            (stored.model.features, None, is_churn)
        }
        Current::Grouped(stored) => {
            let group_by = stored.index.group_by;
            crate::source::check_group_column(&rel, &group_by, &stored.index.features);
            (stored.index.features, Some(group_by), false)
        }
    };
    // The features must be there (and readable) now; the view would fail later otherwise.
    crate::source::validate(&rel, features.into_iter().map(Some).collect());

    // Read before the search path is pinned: the schema the caller would create in.
    let schema = Spi::get_one::<String>("SELECT current_schema()::text")
        .ok()
        .flatten()
        .unwrap_or_else(|| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_SCHEMA_NAME,
                "no schema has been selected to create the view in",
                Some("Set search_path to the schema the view belongs in."),
            )
        });
    let keys = key_columns(&rel);
    let ext = catalog::schema();
    let model_literal = segment_core::sql::quote_literal(name);
    // The source's columns the view shows: its key, and a per-group model's grouping column.
    let shown: Vec<String> = keys
        .iter()
        .chain(group_by.iter().filter(|g| !keys.contains(g)))
        .map(quote_identifier)
        .collect();
    let mut inner: Vec<String> = shown.iter().map(|c| format!("s.{c}")).collect();
    let mut select: Vec<String> = shown.iter().map(|c| format!("a.{c}")).collect();
    inner.push(format!(
        "{ext}.segment_assign({model_literal}, s) AS segment"
    ));
    select.push("a.segment".into());
    // One model: the label by segment_label, a function of the row, so that on Citus the whole
    // view is one query each shard runs (with the model and the labels shipped in it). A
    // per-group model's labels come from a join with its groups' labels.
    let labels = match &group_by {
        None => {
            select.push(format!(
                "CASE WHEN a.segment >= 0 THEN {ext}.segment_label({model_literal}, a.segment) END AS segment_label"
            ));
            String::new()
        }
        Some(g) => {
            select.push("l.label AS segment_label".into());
            format!(
                " LEFT JOIN {ext}.segment_group_labels({model_literal}) l \
                 ON l.group_value = a.{}::text AND l.segment = a.segment",
                quote_identifier(g)
            )
        }
    };
    if churn {
        inner.push(format!(
            "{ext}.segment_churn_predict({model_literal}, s) AS churn_probability"
        ));
        select.push("a.churn_probability".into());
    }
    let qualified = format!("{}.{}", quote_identifier(&schema), quote_identifier(view));
    // CREATE OR REPLACE VIEW keeps a view's grants but cannot change its columns (42P16): a view
    // of this name whose columns are not the new ones (or the first of them) is dropped first.
    let mut wanted: Vec<Column> = Vec::new();
    let tupdesc = rel.tuple_desc();
    let source_column = |c: &str| {
        let a = tupdesc
            .iter()
            .find(|a| !a.is_dropped() && a.name() == c)
            .expect("key and grouping columns are the source's");
        (c.to_string(), a.atttypid, a.atttypmod, a.attcollation)
    };
    wanted.extend(keys.iter().map(|c| source_column(c)));
    if let Some(g) = group_by.as_ref().filter(|g| !keys.contains(g)) {
        wanted.push(source_column(g));
    }
    wanted.push(("segment".into(), pg_sys::INT4OID, -1, pg_sys::InvalidOid));
    wanted.push((
        "segment_label".into(),
        pg_sys::TEXTOID,
        -1,
        pg_sys::DEFAULT_COLLATION_OID,
    ));
    if churn {
        wanted.push((
            "churn_probability".into(),
            pg_sys::FLOAT8OID,
            -1,
            pg_sys::InvalidOid,
        ));
    }
    drop(tupdesc);
    let existing = view_columns(&schema, view);
    if !existing.is_empty() && !wanted.starts_with(&existing) {
        pinned(|| Spi::run(&format!("DROP VIEW {qualified}"))).unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
                format!("could not drop view {qualified} to re-create it with other columns: {e}"),
                None,
            )
        });
    }
    let sql = format!(
        "CREATE OR REPLACE VIEW {qualified} AS \
         SELECT {} FROM (SELECT {} FROM {} s) a{labels}",
        select.join(", "),
        inner.join(", "),
        pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name()),
    );
    pinned(|| Spi::run(&sql)).unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_OBJECT_DEFINITION,
            format!("could not create view {qualified}: {e}"),
            None,
        )
    });
    for (role, oid) in grantees {
        catalog::set_privilege(name, oid, catalog::Privilege::Use, true);
        let grantee = match oid {
            None => "PUBLIC".to_string(),
            Some(_) => quote_identifier(&role),
        };
        pinned(|| Spi::run(&format!("GRANT SELECT ON {qualified} TO {grantee}"))).unwrap_or_else(
            |e| {
                raise(
                    PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                    format!("could not grant SELECT on {qualified} to {grantee}: {e}"),
                    None,
                )
            },
        );
    }
    qualified
}

/// A view column: name, type, type modifier, collation.
type Column = (String, pg_sys::Oid, i32, pg_sys::Oid);

/// The columns of the view `schema.name` in order; none when there is no view of that name.
fn view_columns(schema: &str, name: &str) -> Vec<Column> {
    let query = "SELECT a.attname::text, a.atttypid, a.atttypmod, a.attcollation \
                 FROM pg_catalog.pg_attribute a \
                 JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'v' \
                   AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";
    pinned(|| {
        Spi::connect(|client| {
            client
                .select(query, None, &[schema.into(), name.into()])
                .map(|t| {
                    t.filter_map(|r| {
                        Some((
                            r.get::<String>(1).ok()??,
                            r.get::<pg_sys::Oid>(2).ok()??,
                            r.get::<i32>(3).ok()??,
                            r.get::<pg_sys::Oid>(4).ok()??,
                        ))
                    })
                    .collect()
                })
                .unwrap_or_default()
        })
    })
}

/// The primary key's columns in key order, or every column when there is none.
fn key_columns(rel: &PgRelation) -> Vec<String> {
    let keys = crate::source::primary_key(rel);
    if !keys.is_empty() {
        return keys;
    }
    let tupdesc = rel.tuple_desc();
    tupdesc
        .iter()
        .filter(|a| !a.is_dropped())
        .map(|a| a.name().to_string())
        .collect()
}
