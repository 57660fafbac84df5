//! Granting and revoking a model's use and management (`segment_model_access`).

use super::access::{access, require_manage, Access};
use super::group_models::group_members;
use super::lock::under_lock;
use super::statements::write;
use pgrx::datum::DatumWithOid;

/// Which list of `segment_model_access` a privilege lives in.
#[derive(Clone, Copy)]
pub enum Privilege {
    Use,
    Manage,
}

/// Adds (`grant`) or removes a role (None: PUBLIC) to or from a model's users or managers.
/// Revoking `Use` also revokes `Manage`, as managing includes using.
pub fn set_privilege(
    name: &str,
    role: Option<pgrx::pg_sys::Oid>,
    privilege: Privilege,
    grant: bool,
) {
    under_lock(name, || set_privilege_locked(name, role, privilege, grant));
}

fn set_privilege_locked(
    name: &str,
    role: Option<pgrx::pg_sys::Oid>,
    privilege: Privilege,
    grant: bool,
) {
    require_manage(name, false);
    // A per-group model's groups follow it (they were created with it).
    for member in group_members(name) {
        if access(&member).0 != Access::Missing {
            set_privilege(&member, role, privilege, grant);
        }
    }
    let role = role.map_or(0, |r| r.to_u32()) as i64;
    let query = match (privilege, grant) {
        (Privilege::Use, true) => {
            "UPDATE {s}.segment_model_access \
             SET users = array_append(array_remove(users, $2::oid::regrole), $2::oid::regrole) \
             WHERE name = $1"
        }
        (Privilege::Manage, true) => {
            "UPDATE {s}.segment_model_access \
             SET managers = array_append(array_remove(managers, $2::oid::regrole), $2::oid::regrole) \
             WHERE name = $1"
        }
        (Privilege::Use, false) => {
            "UPDATE {s}.segment_model_access \
             SET users = array_remove(users, $2::oid::regrole), \
                 managers = array_remove(managers, $2::oid::regrole) \
             WHERE name = $1"
        }
        (Privilege::Manage, false) => {
            "UPDATE {s}.segment_model_access SET managers = array_remove(managers, $2::oid::regrole) \
             WHERE name = $1"
        }
    };
    write(query, &[DatumWithOid::from(name), DatumWithOid::from(role)]);
}

/// Gives a per-group model's group model the per-group model's grants (a group that
/// appears at a refit by a manager would otherwise belong to that manager alone).
pub fn inherit_access(parent: &str, member: &str) {
    write(
        // The owner column is not PUBLIC's to update (changing an owner is a superuser's act),
        // and naming it in SET needs that right even when the value stays: a group model made
        // by its parent's owner already has that owner; one made by a manager's refit stays the
        // manager's, and the parent's owner becomes one of its managers.
        "UPDATE {s}.segment_model_access m SET users = p.users, \
                managers = CASE WHEN m.owner = p.owner THEN p.managers \
                                ELSE pg_catalog.array_append(p.managers, p.owner) END \
         FROM {s}.segment_model_access p WHERE p.name = $1 AND m.name = $2",
        &[DatumWithOid::from(parent), DatumWithOid::from(member)],
    );
}
