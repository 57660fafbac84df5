//! Dropping a model: every version and its name, and a per-group model's group models.

use super::access::{access, require_manage, Access};
use super::dependent_views::drop_views_reading;
use super::group_models::{check_not_a_group, group_members};
use super::lock::under_lock;
use super::statements::write;
use pgrx::datum::DatumWithOid;

/// Deletes every version of a model and its name, and of a per-group model's group models;
/// returns how many versions. Views made by segment_create_view that read it stop the drop, or
/// with `cascade` are dropped too.
pub fn drop_model(name: &str, cascade: bool) -> i64 {
    under_lock(name, || {
        require_manage(name, false);
        check_not_a_group(name);
        drop_views_reading(name, cascade);
        let members = group_members(name);
        let mut n = delete_model(name);
        for member in members {
            n += under_lock(&member, || {
                if access(&member).0 == Access::Missing {
                    return 0;
                }
                require_manage(&member, false);
                delete_model(&member)
            });
        }
        n
    })
}

fn delete_model(name: &str) -> i64 {
    let n = write(
        "DELETE FROM {s}.segment_model WHERE name = $1",
        &[DatumWithOid::from(name)],
    );
    write(
        "DELETE FROM {s}.segment_model_access WHERE name = $1",
        &[DatumWithOid::from(name)],
    );
    n as i64
}
