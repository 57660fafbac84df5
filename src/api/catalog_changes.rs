//! The trigger that follows every change of the model catalog: a new version, a drop, a grant or
//! revoke, a rename, also one written by hand (docs/privileges.md lists the direct UPDATEs a DBA
//! may run). Cached plans may carry a model shipped in the query (planner.rs); each change makes
//! them plan again (`catalog::invalidate_shipped_plans`).

use crate::catalog;
use crate::errors::raise;
use pgrx::datum::Internal;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// AFTER ... FOR EACH STATEMENT on `segment_model` and `segment_model_access`.
#[pg_extern(volatile, parallel_unsafe, sql = false)]
fn segment_catalog_changed(fcinfo: pg_sys::FunctionCallInfo) -> Internal {
    // SAFETY: reads the call's context node, set by the trigger manager (or NULL).
    let context = unsafe { (*fcinfo).context };
    let is_trigger = !context.is_null()
        // SAFETY: a non-NULL context is a Node.
        && unsafe { (*context).type_ } == pg_sys::NodeTag::T_TriggerData;
    if !is_trigger {
        raise(
            PgSqlErrorCode::ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
            "segment_catalog_changed is the model catalog's trigger function",
            Some("It runs by itself when the catalog changes; there is nothing to call."),
        );
    }
    catalog::invalidate_shipped_plans();
    // A statement-level AFTER trigger's result is ignored, but must not be SQL NULL.
    Internal::from(Some(pg_sys::Datum::from(0)))
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_catalog_changed() RETURNS trigger
    VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_catalog_changed_wrapper';
COMMENT ON FUNCTION segment_catalog_changed() IS
    'Internal: trigger of the model catalog, makes cached plans that carry a shipped model plan again after any change; not for direct use';
CREATE TRIGGER segment_model_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segment_model
    FOR EACH STATEMENT EXECUTE FUNCTION segment_catalog_changed();
CREATE TRIGGER segment_model_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segment_model_access
    FOR EACH STATEMENT EXECUTE FUNCTION segment_catalog_changed();
"#,
    name = "catalog_changes",
    requires = [segment_catalog_changed]
);
