//! Pruning old versions of a model, keeping those a per-group model still uses.

use super::access::{access, current_role, require_manage, Access};
use super::group_models::group_members;
use super::lock::under_lock;
use super::statements::write;
use crate::errors::raise;
use pgrx::datum::DatumWithOid;
use pgrx::PgSqlErrorCode;

/// Deletes the versions of `name` older than its `keep` newest (`keep` >= 1, so never the
/// current one) and returns how many versions were deleted. What is never deleted:
/// - the current version: every reader (segment_assign, the views of segment_create_view,
///   shipped plans) uses it; no view pins an older one;
/// - a group model's version that a remaining version of its per-group model uses (the index
///   pins versions: `segment_core::model::groups`).
///
/// Of a per-group model, its group models are pruned the same way after it: each keeps its
/// `keep` newest versions and those the per-group model's kept versions use. Needs `manage` on
/// the model (and on each group model). A group model `p/x` whose per-group model `p` the
/// caller may not read is refused: the versions `p` uses cannot be seen.
pub fn prune_versions(name: &str, keep: i32) -> i64 {
    under_lock(name, || {
        require_manage(name, false);
        check_parents_visible(name);
        let mut n = delete_old_versions(name, keep);
        for member in group_members(name) {
            n += under_lock(&member, || {
                if access(&member).0 == Access::Missing {
                    return 0;
                }
                require_manage(&member, false);
                delete_old_versions(&member, keep)
            });
        }
        n
    })
}

/// Refuses to prune `name` when a model whose name is a prefix of it before a '/' (a per-group
/// model it may be a group of) exists and the caller may not read it.
fn check_parents_visible(name: &str) {
    for (at, _) in name.match_indices('/') {
        let parent = &name[..at];
        if parent.is_empty() {
            continue;
        }
        if let (Access::Denied, owner) = access(parent) {
            raise(
                PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
                format!(
                    "cannot prune model \"{name}\": it may be a group of model \"{parent}\", \
                     which belongs to role \"{owner}\" and which you may not read"
                ),
                Some(&format!(
                    "A per-group model uses old versions of its group models. Ask role \
                     \"{owner}\" to let you use \"{parent}\" (SELECT segment_grant({}, {}, \
                     'use');), or to prune it.",
                    segment_core::sql::quote_literal(parent),
                    segment_core::sql::quote_literal(&current_role())
                )),
            );
        }
    }
}

/// Deletes the versions of `name` beyond its `keep` newest that no remaining version of its
/// per-group model uses (a group is named `<per-group model>/<value>`; indexes of other names
/// that claim it are never read as its pins, see `StoredIndex`).
fn delete_old_versions(name: &str, keep: i32) -> i64 {
    write(
        "DELETE FROM {s}.segment_model m \
         USING (SELECT version, row_number() OVER (ORDER BY version DESC) AS newest \
                FROM {s}.segment_model WHERE name = $1) o \
         WHERE m.name = $1 AND m.version = o.version AND o.newest > $2 \
           AND NOT EXISTS ( \
               SELECT 1 FROM {s}.segment_model p \
               WHERE p.model ->> 'method' = 'grouped' \
                 AND pg_catalog.left(m.name, pg_catalog.length(p.name) + 1) = p.name || '/' \
                 AND p.model -> 'groups' @> pg_catalog.jsonb_build_array( \
                         pg_catalog.jsonb_build_object('model', m.name, 'version', m.version)))",
        &[DatumWithOid::from(name), DatumWithOid::from(keep as i64)],
    ) as i64
}
