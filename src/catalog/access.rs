//! Who may do what with a model name. Row-level security on the catalog tables decides what
//! the caller sees; this module turns "not visible" into the right error (42704 for a name
//! nobody has, 42501 for someone else's model), the one set of errors every reader raises.

use super::statements::read;
use crate::errors::raise;
use pgrx::datum::DatumWithOid;
use pgrx::PgSqlErrorCode;

/// What the current role may do with a model name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// No model has this name.
    Missing,
    /// Someone else's model, not granted to this role.
    Denied,
    /// Granted for reading and assigning.
    Use,
    /// Owned, or granted for managing: refit, rename, grant, drop.
    Manage,
}

/// The caller's access to `name`, and the owner's role name.
pub fn access(name: &str) -> (Access, String) {
    read(
        "SELECT pg_catalog.pg_get_userbyid(owner)::text, \
                {s}.segment_model_allowed(name, false), {s}.segment_model_allowed(name, true) \
         FROM {s}.segment_model_access WHERE name = $1",
        &[DatumWithOid::from(name)],
        |t| {
            if t.is_empty() {
                return Some((Access::Missing, String::new()));
            }
            let row = t.first();
            let owner = row.get::<String>(1).ok()??;
            let access = match (row.get::<bool>(2).ok()??, row.get::<bool>(3).ok()??) {
                (_, true) => Access::Manage,
                (true, false) => Access::Use,
                (false, false) => Access::Denied,
            };
            Some((access, owner))
        },
    )
    .unwrap_or((Access::Missing, String::new()))
}

/// Raises unless the caller may manage `name`; `Missing` passes only when `create` is set (a fit
/// creating the name).
pub fn require_manage(name: &str, create: bool) {
    match access(name) {
        (Access::Manage, _) => {}
        (Access::Missing, _) if create => {}
        (Access::Missing, _) => missing(name),
        (a, owner) => deny(name, a, &owner),
    }
}

/// Checks a name the caller wants to fit, before the work: well formed, and not someone else's
/// model (`insert` checks again under the name's lock).
pub fn check_fit_name(name: &str) {
    if name.is_empty() || name.len() > 128 || name.chars().any(|c| c.is_control()) {
        raise(
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid model name \"{}\"", name.escape_default()),
            Some("A model name is 1 to 128 printable characters."),
        );
    }
    require_manage(name, true);
}

pub(super) fn current_role() -> String {
    read("SELECT current_user::text", &[], |t| {
        t.first().get_one::<String>().ok()?
    })
    .unwrap_or_default()
}

/// Raises 42501 for a model the caller may not use, or may use but not manage.
fn deny(name: &str, access: Access, owner: &str) -> ! {
    let me = current_role();
    let quoted = segment_core::sql::quote_literal(name);
    match access {
        Access::Use => raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("role \"{me}\" may use model \"{name}\" but not refit, rename, grant or drop it"),
            Some(&format!(
                "Its owner \"{owner}\" can allow that: SELECT segment_grant({quoted}, {}, 'manage');",
                segment_core::sql::quote_literal(&me)
            )),
        ),
        // Also what a BI role reading a view of segment_create_view gets: models are checked as
        // the caller, so the hint gives the exact call that lets this role read it.
        _ => raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for model \"{name}\", which belongs to role \"{owner}\""),
            Some(&format!(
                "Its owner can share it: SELECT segment_grant({quoted}, {}, 'use'); or fit under another name.",
                segment_core::sql::quote_literal(&me)
            )),
        ),
    }
}

/// Raises 42704 for a name no model has, with the model the caller may use whose name differs
/// by case only or by a slip of typing (`segment_core::spelling::did_you_mean`), if any.
fn missing(name: &str) -> ! {
    let citus = crate::citus::installed();
    let names: Vec<String> = read(
        "SELECT name FROM {s}.segment_model_access \
         WHERE {s}.segment_model_allowed(name, false) ORDER BY name",
        &[],
        |t| {
            Some(
                t.filter_map(|row| row.get::<String>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let guess = segment_core::spelling::did_you_mean("Model", name, &names)
        .map(|g| format!("{g} "))
        .unwrap_or_default();
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
        format!("model \"{name}\" does not exist"),
        Some(&format!(
            "{guess}{}",
            if citus {
                // A worker asked by a shard query of a statement whose model was not shipped.
                "See SELECT name, version FROM segment_models; fit one with segment_fit. On Citus \
             the models live on the node they were fitted on: a Citus worker sees them only when \
             the coordinator ships them in the query (segment_assign(model, t) with the model \
             named by a constant; see customer_segment.ship_models)."
            } else {
                "See SELECT name, version FROM segment_models; fit one with segment_fit."
            }
        )),
    )
}

/// Raises the right error for a model the caller found no rows of.
pub(super) fn not_found(name: &str, version: Option<i32>) -> ! {
    match (access(name), version) {
        ((Access::Missing, _), _) => missing(name),
        ((Access::Denied, owner), _) => deny(name, Access::Denied, &owner),
        (_, Some(v)) => raise(
            PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            format!("model \"{name}\" has no version {v}"),
            Some("See SELECT name, version FROM segment_models."),
        ),
        // Dropped by another session between the two reads.
        (_, None) => missing(name),
    }
}
