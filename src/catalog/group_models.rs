//! A per-group model's group models, as drops, grants and prunes follow them.

use super::statements::read;
use crate::errors::raise;
use pgrx::datum::DatumWithOid;
use pgrx::PgSqlErrorCode;

/// Every group model that a version of the per-group model `name` uses (none for one model):
/// only the names it makes for its groups (`member_name`), so that an index planted or edited
/// to name another model never makes a drop of `name` drop that one.
pub(super) fn group_members(name: &str) -> Vec<String> {
    read(
        // A group model is the parent's when it has its name for the value and belongs to the
        // parent's owner (or has the owner among its managers: a group first fitted at a
        // manager's refit): a model of that name that another role made is never followed.
        "SELECT DISTINCT g ->> 'model' \
         FROM {s}.segment_model m, {s}.segment_model_access pa, \
              jsonb_array_elements(m.model -> 'groups') g, {s}.segment_model_access ga \
         WHERE m.name = $1 AND m.model ->> 'method' = 'grouped' \
           AND pa.name = m.name AND ga.name = g ->> 'model' \
           AND g ->> 'model' = m.name || '/' || (g ->> 'value') \
           AND (ga.owner = pa.owner OR pa.owner = ANY (ga.managers))",
        &[DatumWithOid::from(name)],
        |t| {
            Some(
                t.filter_map(|r| r.get::<String>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default()
}

/// Refuses to drop a group model that a per-group model uses.
pub(super) fn check_not_a_group(name: &str) {
    let parent = read(
        "SELECT m.name FROM {s}.segment_model m WHERE m.model ->> 'method' = 'grouped' \
           AND m.model -> 'groups' @> jsonb_build_array(jsonb_build_object('model', $1::text)) \
         LIMIT 1",
        &[DatumWithOid::from(name)],
        |t| t.first().get_one::<String>().ok()?,
    );
    if let Some(parent) = parent {
        raise(
            PgSqlErrorCode::ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST,
            format!("model \"{name}\" is a group of the per-group model \"{parent}\""),
            Some(&format!(
                "Drop {} instead, which drops its groups too.",
                segment_core::sql::quote_literal(&parent)
            )),
        );
    }
}
