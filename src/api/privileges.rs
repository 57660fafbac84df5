//! `segment_grant` / `segment_revoke`: sharing a model with other roles. The rules themselves are
//! row-level security on the catalog (sql/catalog.sql); see docs/privileges.md.

use crate::catalog::{self, Privilege};
use crate::errors::{raise, require};
use crate::search_path::pinned;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

fn privilege_of(text: &str) -> Privilege {
    match text {
        "use" => Privilege::Use,
        "manage" => Privilege::Manage,
        other => raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("unknown model privilege \"{}\"", other.escape_default()),
            Some("A privilege is 'use' (read and assign) or 'manage' (also refit, rename, grant, drop)."),
        ),
    }
}

/// A role by its exact name; `public` means every role (None).
pub(crate) fn role_oid(name: &str) -> Option<pg_sys::Oid> {
    if name.eq_ignore_ascii_case("public") {
        return None;
    }
    let oid = pinned(|| {
        Spi::connect(|client| {
            client
                .select(
                    "SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1",
                    Some(1),
                    &[DatumWithOid::from(name)],
                )
                .ok()?
                .first()
                .get_one::<pg_sys::Oid>()
                .ok()
                .flatten()
        })
    });
    Some(oid.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("role \"{}\" does not exist", name.escape_default()),
            Some("Give the role's exact name (as in pg_roles.rolname), or 'public'."),
        )
    }))
}

/// Lets `role` (or every role, with 'public') use a model — read its centres, profile and rules,
/// assign with it — or, with 'manage', also refit, rename, grant and drop it. Only the owner and
/// the model's managers may grant.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_grant(
    model: Option<&str>,
    role: Option<&str>,
    privilege: default!(Option<&str>, "'use'"),
) {
    let name = require(model, "model");
    let p = privilege_of(require(privilege, "privilege"));
    let r = role_oid(require(role, "role"));
    catalog::set_privilege(name, r, p, true);
}

/// Takes back what `segment_grant` gave; revoking 'use' also revokes 'manage'. The owner keeps
/// every right.
#[pg_extern(volatile, parallel_unsafe)]
fn segment_revoke(
    model: Option<&str>,
    role: Option<&str>,
    privilege: default!(Option<&str>, "'use'"),
) {
    let name = require(model, "model");
    let p = privilege_of(require(privilege, "privilege"));
    let r = role_oid(require(role, "role"));
    catalog::set_privilege(name, r, p, false);
}
