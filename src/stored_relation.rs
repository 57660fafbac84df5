//! The relation a stored model names (its `source`), opened safely.
//!
//! The name comes back from the catalog, where any role may have written it (an INSERT of its
//! own, or `segment_import` of a document it made): it is untrusted text. It is parsed as the
//! extension writes it (`schema.name`, each part plain or double-quoted) and refused otherwise
//! (55000 naming the model and the field); only a parsed name is looked up, and only the
//! relation found in the catalog is ever named in SQL (by its own schema and name, quoted).
//!
//! Reading a relation runs code: a view's functions, a row-level security policy's expressions,
//! a foreign table's server. PostgreSQL runs them with the privileges of the role that queries
//! (not the view's owner), so a model planted by one role and read by another would run the
//! first role's code as the second — a superuser, say. A relation the caller did not name
//! itself is therefore read only when no such code can come from someone else: it belongs to the
//! caller (or a role the caller is a real member of), or to a superuser, or it is a plain table,
//! partitioned table or materialized view without row-level security. Otherwise the call is
//! refused (42501) and the caller can pass the relation explicitly, having read it.

use crate::errors::raise;
use crate::search_path::pinned;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::{PgRelation, PgSqlErrorCode};

/// Opens (share lock) the relation that model `model`'s stored `field` names, checked as the
/// module doc says. `imported`: the model came from another database, where its relation
/// usually stays; its absence here is said so.
pub fn open(model: &str, field: &str, text: &str, imported: bool) -> PgRelation {
    if imported && text.is_empty() {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("model \"{model}\" was imported without the relation it was fitted on"),
            Some("Pass a relation with the model's feature columns as source."),
        )
    }
    let Some((schema, name)) = segment_core::sql::parse_qualified_name(text) else {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "model \"{model}\": its stored {field} \"{}\" is not a schema-qualified relation name",
                text.escape_default()
            ),
            Some(
                "The extension never stores such a name: the model's row was written by hand or \
                 imported from a document that was edited. Pass the relation explicitly where the \
                 function takes a source, or drop the model with segment_drop.",
            ),
        )
    };
    let qualified = pgrx::spi::quote_qualified_identifier(&schema, &name);
    let rel = PgRelation::open_with_name_and_share_lock(&qualified).unwrap_or_else(|_| {
        if imported {
            raise(
                PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
                format!(
                    "the model was imported with segment_import: the relation it was fitted on, {qualified}, is not in this database"
                ),
                Some("Pass a relation with the model's feature columns as source."),
            )
        }
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE,
            format!("the relation the model was fitted on, {qualified}, no longer exists"),
            Some("Pass a relation with the model's feature columns as source."),
        )
    });
    check_runs_no_foreign_code(model, &rel);
    rel
}

/// Refuses a relation whose reading could run code of a role other than the caller's own.
fn check_runs_no_foreign_code(model: &str, rel: &PgRelation) {
    // The relation's kind, row security and owner from its relcache entry, current now that
    // the lock is held (a read of pg_class would see the statement's snapshot, from before the
    // wait: a table turned into a view meanwhile would still look like a table).
    // SAFETY: an open relation has its pg_class row in rd_rel.
    let (kind, row_security, owner) = unsafe {
        let class = &*rel.rd_rel;
        (class.relkind as u8, class.relrowsecurity, class.relowner)
    };
    // Membership without superuser's bypass: pg_has_role says true for a superuser and any
    // role, which is exactly the case to catch. Foreign tables among its partitions or
    // inheritance children are read with it.
    let query = "WITH RECURSIVE mine(role) AS ( \
                     SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user \
                     UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m \
                           JOIN mine ON m.member = mine.role), \
                 below(rel) AS ( \
                     SELECT $2::pg_catalog.oid \
                     UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN below ON i.inhparent = below.rel) \
                 SELECT o.rolname::text, \
                        o.rolsuper OR EXISTS (SELECT 1 FROM mine WHERE mine.role = o.oid), \
                        EXISTS (SELECT 1 FROM below JOIN pg_catalog.pg_class c ON c.oid = below.rel \
                                WHERE c.relkind = 'f') \
                 FROM pg_catalog.pg_roles o WHERE o.oid = $1";
    let row: Option<(String, bool, bool)> = pinned(|| {
        Spi::connect(|client| {
            let t = client
                .select(
                    query,
                    Some(1),
                    &[DatumWithOid::from(owner), DatumWithOid::from(rel.oid())],
                )
                .ok()?;
            if t.is_empty() {
                return None;
            }
            let r = t.first();
            Some((
                r.get::<String>(1).ok()??,
                r.get::<bool>(2).ok()??,
                r.get::<bool>(3).ok()??,
            ))
        })
    });
    // No answer (an owner that no longer exists, say) is no trust.
    let (owner, trusted, foreign_below) =
        row.unwrap_or_else(|| (format!("(OID {})", u32::from(owner)), false, true));
    if trusted {
        return;
    }
    let what = match kind {
        b'v' => "a view",
        b'f' => "a foreign table",
        _ if row_security => "a table with row-level security",
        _ if foreign_below => "a table with foreign tables among its partitions or children",
        _ => return, // plain tables and materialized views run no code when read
    };
    let qualified = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
    raise(
        PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
        format!(
            "model \"{model}\" reads {qualified}, {what} owned by role \"{owner}\": reading it \
             would run that role's code with your privileges"
        ),
        Some(
            "Relations a model names are read for you only when they are yours, a superuser's, or \
             plain tables. Read its definition first; if you trust it, pass it explicitly as the \
             function's source argument.",
        ),
    )
}

/// Refuses to store into `model` (owned by `owner`) what its owner may not read: a refit by a
/// manager or a superuser reads `rel` with the refitter's privileges, and the new version's
/// centres and profile describe those rows to every role that may use the model.
pub fn check_owner_reads(model: &str, owner: &str, rel: &PgRelation) {
    let allowed = pinned(|| {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT pg_catalog.has_table_privilege(r.oid, $2::pg_catalog.oid, 'SELECT') \
                     FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
                    Some(1),
                    &[DatumWithOid::from(owner), DatumWithOid::from(rel.oid())],
                )
                .ok()
                .filter(|t| !t.is_empty())
                .and_then(|t| t.first().get::<bool>(1).ok().flatten())
        })
    });
    if allowed != Some(true) {
        let qualified = pgrx::spi::quote_qualified_identifier(rel.namespace(), rel.name());
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "model \"{model}\" belongs to role \"{owner}\", who may not read {qualified}: a refit \
                 would put what you read into their model"
            ),
            Some("Refit it on a relation its owner may read, or fit a model of your own."),
        )
    }
}
