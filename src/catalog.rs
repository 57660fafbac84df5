//! The model catalog (`segment_model` and `segment_model_access`, created by sql/catalog.sql):
//! who may use a model name, writing versions, reading the current one, dropping. Every
//! statement names the tables through the extension's own schema, looked up in pg_extension, and
//! runs with the search path pinned, so a caller's search_path cannot redirect it.
//!
//! Row-level security on the tables decides what the caller sees; this module turns "not visible"
//! into the right error (42704 for a name nobody has, 42501 for someone else's model).

use crate::errors::{raise, raise_core};
use crate::search_path::{pinned, select_text};
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::document::{Meaning, SegmentModel};
use segment_core::model::groups::GroupIndex;
use segment_core::model::options::FitOptions;
use segment_core::model::stored::{
    read_labels, stored_options, StoredDocument, StoredOptions, CLV,
};
use std::collections::BTreeMap;

/// The extension's schema, quoted.
pub fn schema() -> String {
    if let Some(s) = SCHEMA.with(|c| c.borrow().clone()) {
        return s;
    }
    let schema = select_text(
        "SELECT n.nspname::text FROM pg_catalog.pg_extension e \
         JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
         WHERE e.extname = 'customer_segment'",
        &[],
    )
    .unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "extension \"customer_segment\" is not installed in this database",
            Some("Run CREATE EXTENSION customer_segment."),
        )
    });
    let quoted = pgrx::spi::quote_identifier(schema);
    SCHEMA.with(|c| *c.borrow_mut() = Some(quoted.clone()));
    quoted
}

thread_local! {
    /// The extension's schema, read once per backend (every catalog read needs it). It lives as
    /// long as no function changes: CREATE, DROP and ALTER EXTENSION ... SET SCHEMA all change
    /// pg_proc, whose invalidations clear it (`forget_schema`).
    static SCHEMA: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Registers the invalidation that clears the cached schema; called once, from `_PG_init`.
pub fn init() {
    unsafe extern "C-unwind" fn forget_schema(_: pg_sys::Datum, _: i32, _: u32) {
        SCHEMA.with(|c| *c.borrow_mut() = None);
    }
    // SAFETY: registering a syscache callback from _PG_init is what the API is for; the
    // callback touches only this module's cache.
    unsafe {
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::PROCOID as i32,
            Some(forget_schema),
            pg_sys::Datum::from(0usize),
        );
    }
}

/// Runs a read-only query with the search path pinned; `{s}` in `query` is the extension schema.
fn read<R>(
    query: &str,
    args: &[DatumWithOid],
    row: impl for<'c> FnOnce(pgrx::spi::SpiTupleTable<'c>) -> Option<R>,
) -> Option<R> {
    let query = query.replace("{s}", &schema());
    pinned(|| Spi::connect(|client| row(client.select(query.as_str(), None, args).ok()?)))
}

/// Runs a writing query with the search path pinned; returns the rows it affected.
fn write(query: &str, args: &[DatumWithOid]) -> usize {
    let query = query.replace("{s}", &schema());
    pinned(|| {
        Spi::connect_mut(|client| {
            client
                .update(query.as_str(), None, args)
                .map(|t| t.len())
                .unwrap_or_else(|e| {
                    raise(
                        PgSqlErrorCode::ERRCODE_INTERNAL_ERROR,
                        format!("could not write the model catalog: {e}"),
                        None,
                    )
                })
        })
    })
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

/// What makes a new version: a fit (which may say `replace` in its options) or an import (which
/// may not: the model has to be dropped first). Words for `check_meaning`'s refusal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MadeBy {
    Fit,
    Import,
}

/// Refuses a new version that would change what an existing name means (new features, label or
/// method: `Meaning`), unless the call says `replace`: a view or rule using the name would
/// silently start serving something else. A refit with the same meaning (other k, options or
/// rows) is a new version as always. Fits call it before their work, to fail fast, and `insert`
/// again under the name's lock, where it cannot race with another session's fit.
pub fn check_meaning(name: &str, new: &Meaning, replace: bool, by: MadeBy) {
    if replace {
        return;
    }
    // A damaged current version means nothing a view could rely on: a new one may replace it.
    let Some(current) = current_document(name)
        .and_then(|(_, doc)| StoredDocument::from_json(&doc).ok())
        .map(|d| d.meaning())
    else {
        return;
    };
    let list = |v: &[String]| {
        let quoted: Vec<String> = v
            .iter()
            .map(|f| segment_core::sql::quote_literal(f))
            .collect();
        format!("ARRAY[{}]", quoted.join(", "))
    };
    let show = |v: &Option<String>| v.as_ref().map_or("none".into(), |v| format!("\"{v}\""));
    let mut differs = Vec::new();
    if current.features != new.features {
        let what = if new.method == CLV || current.method == CLV {
            "columns"
        } else {
            "features"
        };
        differs.push(format!(
            "{what} {} instead of {}",
            list(&new.features),
            list(&current.features)
        ));
    }
    if current.method != new.method {
        differs.push(format!(
            "method {} instead of {}",
            new.method, current.method
        ));
    }
    if current.group_by != new.group_by {
        differs.push(format!(
            "grouping column {} instead of {}",
            show(&new.group_by),
            show(&current.group_by)
        ));
    }
    if current.label != new.label {
        differs.push(format!(
            "label {} instead of {}",
            show(&new.label),
            show(&current.label)
        ));
    }
    if !differs.is_empty() {
        let (this, fix) = match by {
            MadeBy::Fit => (
                "this fit",
                "the new fit. Fit under another name, or pass options => '{\"replace\": true}' \
                 to replace it on purpose.",
            ),
            MadeBy::Import => (
                "this import",
                "the imported model. Import it under another name (segment_import's name \
                 argument), or drop the model first with segment_drop to replace it on purpose.",
            ),
        };
        raise(
            PgSqlErrorCode::ERRCODE_DUPLICATE_OBJECT,
            format!(
                "model \"{name}\" already exists, and {this} would change what it means: {}",
                differs.join("; ")
            ),
            Some(&format!(
                "Views and rules that use \"{name}\" would start serving {fix}"
            )),
        );
    }
}

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

fn current_role() -> String {
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

/// Raises the right error for a model the caller found no rows of.
fn not_found(name: &str, version: Option<i32>) -> ! {
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

/// Serializes fits, drops and grants of one name until the transaction ends, and runs `f` under a
/// snapshot taken once the lock is held. Why the snapshot: `read`'s queries are read-only SPI,
/// which use the statement's active snapshot, taken before this session waited for the lock; a
/// check in `f` would then miss the version, grant or drop that the session it waited for
/// committed (the stress tier's race of two fits caught that). Writes take fresh snapshots of
/// their own. On an error the abort pops the pushed snapshot.
fn under_lock<R>(name: &str, f: impl FnOnce() -> R) -> R {
    read(
        "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('customer_segment:' || $1))::text",
        &[DatumWithOid::from(name)],
        |_| Some(()),
    );
    // SAFETY: pushed and popped on this stack level; GetTransactionSnapshot gives a new snapshot
    // per call under READ COMMITTED (the transaction's one under REPEATABLE READ), as SPI does for
    // a query that is not read-only.
    unsafe { pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot()) };
    let result = f();
    unsafe { pg_sys::PopActiveSnapshot() };
    result
}

/// Makes every cached plan that may carry a shipped model (`shipped`, `shipped_labels`) plan
/// again, in every session, once this transaction commits: a prepared statement then serves the
/// new version, and after a drop or a revoke it fails as an unprepared one would. Called by the
/// catalog's trigger (api/catalog_changes.rs) after every change. How: a catalog-cache
/// invalidation of the pg_proc rows of the functions involved. PostgreSQL records every user
/// function a cached query calls (the query's list, which Citus's rebuilt plans keep) and every
/// function its plan calls (where an inlined SQL function's `segment_assign` shows as the
/// `*_shipped` call), and drops the plans of a function whose row is invalidated: the functions
/// with the planner support function and their shipped forms.
pub fn invalidate_shipped_plans() {
    let oids: Vec<pg_sys::Oid> = read(
        "SELECT p.oid FROM pg_catalog.pg_proc p \
         JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass \
              AND d.objid = p.oid AND d.deptype = 'e' \
         JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'customer_segment' \
         WHERE p.prosupport::oid <> 0 OR p.proname LIKE '%\\_shipped'",
        &[],
        |t| {
            Some(
                t.filter_map(|r| r.get::<pg_sys::Oid>(1).ok().flatten())
                    .collect(),
            )
        },
    )
    .unwrap_or_default();
    // SAFETY: pg_proc opened and closed here; each tuple is released after use. Invalidating a
    // tuple that did not change is allowed (its cache entry is just read again).
    unsafe {
        let rel = pg_sys::table_open(
            pg_sys::ProcedureRelationId,
            pg_sys::AccessShareLock as pg_sys::LOCKMODE,
        );
        for oid in oids {
            let tuple = pg_sys::SearchSysCache1(
                pg_sys::SysCacheIdentifier::PROCOID as i32,
                pg_sys::Datum::from(oid),
            );
            if !tuple.is_null() {
                pg_sys::CacheInvalidateHeapTuple(rel, tuple, std::ptr::null_mut());
                pg_sys::ReleaseSysCache(tuple);
            }
        }
        pg_sys::table_close(rel, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}

/// The current version of `name` as a shipped model (`segment_core::model::shipped`), read with
/// the caller's privileges and the usual errors for a missing or forbidden model. None for a
/// per-group model: its groups are separate models, which are not shipped.
pub fn shipped(name: &str) -> Option<String> {
    let Some(row) = read_version(name, None) else {
        not_found(name, None)
    };
    if index_of(name, &row).is_some() {
        return None;
    }
    Some(segment_core::model::shipped::ship(
        name,
        row.version,
        &current_role(),
        &row.doc,
    ))
}

/// Refuses a shipped model or labels read as another role than the one running the statement:
/// a plan cached by one role and executed after `SET ROLE` (Citus rebuilds plans without
/// PostgreSQL's own re-planning on a role change). Names, not OIDs: Citus runs the shard
/// queries as the same role name on every node.
pub fn check_shipped_role(model: &str, role: &str) {
    let current = current_role();
    if current != role {
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!(
                "model \"{model}\" was read for role \"{role}\" when this statement was planned, and it now runs as role \"{current}\""
            ),
            Some("Prepare the statement again as this role: a prepared plan keeps the model it read."),
        );
    }
}

/// The segment labels of the current version of `name` to ship (`segment_label`), read as
/// `shipped` reads a model; None for a per-group model.
pub fn shipped_labels(name: &str) -> Option<String> {
    match load_current(name) {
        Current::One(stored) => Some(segment_core::model::shipped::ship_labels(
            name,
            &current_role(),
            &stored.labels(),
        )),
        Current::Grouped(_) => None,
    }
}

pub struct NewVersion<'a> {
    pub name: &'a str,
    pub source: &'a str,
    pub options: String,
    pub model: String,
    pub metrics: String,
    pub rows_used: i64,
    pub rows_skipped: i64,
    /// What the new version means, checked against the current one under the name's lock.
    pub meaning: Meaning,
    /// The call said the meaning may change.
    pub replace: bool,
    /// A fit or an import (the refusal's words).
    pub made_by: MadeBy,
}

/// Inserts the next version of `name` (creating the name, owned by the caller, on its first fit)
/// and returns its number. The name's lock (`under_lock`) serializes concurrent fits and drops of
/// one name; the checks under it see every version committed before it.
pub fn insert(v: NewVersion<'_>) -> i32 {
    under_lock(v.name, || insert_locked(v))
}

fn insert_locked(v: NewVersion<'_>) -> i32 {
    require_manage(v.name, true);
    check_meaning(v.name, &v.meaning, v.replace, v.made_by);
    write(
        "INSERT INTO {s}.segment_model_access (name, owner) \
         SELECT $1, r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user \
         ON CONFLICT (name) DO NOTHING",
        &[DatumWithOid::from(v.name)],
    );
    let query =
        "INSERT INTO {s}.segment_model (name, version, format_version, source, options, model, \
                                      metrics, rows_used, rows_skipped) \
         SELECT $1, coalesce((SELECT max(version) FROM {s}.segment_model WHERE name = $1), 0) + 1, \
                ($4::jsonb ->> 'format_version')::int, $2, $3::jsonb, $4::jsonb, $5::jsonb, $6, $7 \
         RETURNING version"
            .replace("{s}", &schema());
    pinned(|| {
        Spi::connect_mut(|client| {
            let args = [
                DatumWithOid::from(v.name),
                DatumWithOid::from(v.source),
                DatumWithOid::from(v.options.as_str()),
                DatumWithOid::from(v.model.as_str()),
                DatumWithOid::from(v.metrics.as_str()),
                DatumWithOid::from(v.rows_used),
                DatumWithOid::from(v.rows_skipped),
            ];
            client
                .update(query.as_str(), None, &args)
                .and_then(|t| t.first().get_one::<i32>())
                .ok()
                .flatten()
                .expect("INSERT .. RETURNING gives one row")
        })
    })
}

/// A model version as stored.
pub struct Stored {
    pub name: String,
    pub version: i32,
    pub model: SegmentModel,
    /// The relation it was fitted on, as quoted SQL.
    pub source: String,
    /// Labels set with segment_rename, by segment.
    pub labels: BTreeMap<u32, String>,
    /// The options it was fitted with.
    pub options: StoredOptions,
    /// A per-group model's group model: the grouping column and this group's value (its rows
    /// are the source's rows with that value).
    pub group: Option<(String, String)>,
    /// Made by segment_import (its source is usually in the database it was exported from).
    pub imported: bool,
}

impl Stored {
    /// Every segment's label, by segment: the analyst's, or the automatic one.
    pub fn labels(&self) -> Vec<String> {
        let automatic = self.model.automatic_labels();
        (0..self.model.k() as u32)
            .map(|s| self.label(s, &automatic))
            .collect()
    }

    /// The analyst's label of a segment, or the automatic one.
    pub fn label(&self, segment: u32, automatic: &[String]) -> String {
        self.labels
            .get(&segment)
            .cloned()
            .unwrap_or_else(|| automatic[segment as usize].clone())
    }
}

/// A version of a model (the current, newest one when `version` is None).
pub fn load(name: &str, version: Option<i32>) -> Stored {
    let Some(row) = read_version(name, version) else {
        not_found(name, version)
    };
    stored(name, row)
}

/// The metrics stored with version `version` of a model (read after `load`, which checked that
/// it exists and may be read).
pub fn metrics(name: &str, version: i32) -> serde_json::Value {
    read(
        "SELECT metrics::text FROM {s}.segment_model WHERE name = $1 AND version = $2",
        &[DatumWithOid::from(name), DatumWithOid::from(version)],
        |t| {
            if t.is_empty() {
                return None;
            }
            t.first().get::<String>(1).ok()?
        },
    )
    .and_then(|text| serde_json::from_str(&text).ok())
    .unwrap_or_else(|| not_found(name, Some(version)))
}

/// A model version's row: version, model document, source, labels and options as text, and for
/// a group model its grouping column and value.
struct VersionRow {
    version: i32,
    doc: String,
    source: String,
    labels: String,
    options: String,
    group: Option<(String, String)>,
    imported: bool,
}

fn read_version(name: &str, version: Option<i32>) -> Option<VersionRow> {
    read(
        "SELECT version, model::text, source, labels::text, options::text, \
                metrics -> 'group' ->> 'group_by', metrics -> 'group' ->> 'value', \
                metrics ? 'imported_from' \
         FROM {s}.segment_model \
         WHERE name = $1 AND ($2::int IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
        &[DatumWithOid::from(name), DatumWithOid::from(version)],
        |t| {
            if t.is_empty() {
                return None;
            }
            let row = t.first();
            let group_by = row.get::<String>(6).ok()?;
            let value = row.get::<String>(7).ok()?;
            Some(VersionRow {
                version: row.get::<i32>(1).ok()??,
                doc: row.get::<String>(2).ok()??,
                source: row.get::<String>(3).ok()??,
                labels: row.get::<String>(4).ok()??,
                options: row.get::<String>(5).ok()??,
                group: group_by.zip(value),
                imported: row.get::<bool>(8).ok()?.unwrap_or(false),
            })
        },
    )
}

fn stored(name: &str, row: VersionRow) -> Stored {
    let VersionRow {
        version,
        doc,
        source,
        labels,
        options,
        group,
        imported,
    } = row;
    let model = SegmentModel::from_json(&doc).unwrap_or_else(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        raise_core(e)
    });
    // Labels and options are untrusted like the document (any role may write its own rows):
    // what does not read is an error naming the field, never dropped or replaced by defaults.
    let labels = serde_json::from_str(&labels)
        .map_err(|e| e.to_string())
        .and_then(|l| read_labels(&l, model.k()))
        .unwrap_or_else(|e| bad_field(name, version, "labels", &e))
        .into_iter()
        .collect();
    let options = stored_options(&model, &options)
        .unwrap_or_else(|e| bad_field(name, version, "options", &e.message));
    Stored {
        name: name.to_string(),
        version,
        model,
        source,
        labels,
        options,
        group,
        imported,
    }
}

/// Raises 55000 for a stored field that does not read: the row was written by hand or by an
/// edited import (the extension writes none such), and falling back to defaults would change
/// what the model answers without a word.
fn bad_field(name: &str, version: i32, field: &str, problem: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        format!("model \"{name}\" version {version}: its stored {field} cannot be read: {problem}"),
        Some(
            "The extension never stores such a row: refit the model, or drop it with segment_drop.",
        ),
    )
}

/// The current version of a model, one model or a per-group model's index (one catalog read).
pub enum Current {
    One(Box<Stored>),
    Grouped(Box<StoredIndex>),
}

pub fn load_current(name: &str) -> Current {
    let Some(row) = read_version(name, None) else {
        not_found(name, None)
    };
    match index_of(name, &row) {
        Some(index) => Current::Grouped(Box::new(index)),
        None => Current::One(Box::new(stored(name, row))),
    }
}

/// The current version's document, if the caller can see one.
fn current_document(name: &str) -> Option<(i32, String)> {
    read(
        "SELECT version, model::text FROM {s}.segment_model WHERE name = $1 \
         ORDER BY version DESC LIMIT 1",
        &[DatumWithOid::from(name)],
        |t| {
            if t.is_empty() {
                return None;
            }
            let (version, doc) = t.first().get_two::<i32, String>().ok()?;
            Some((version?, doc?))
        },
    )
}

/// The current document of a model if there is a readable one (a refit matches its segments to
/// it); None otherwise, without raising.
pub fn current_model(name: &str) -> Option<(i32, SegmentModel)> {
    let (version, doc) = current_document(name)?;
    Some((version, SegmentModel::from_json(&doc).ok()?))
}

/// The current version's model document as JSON, whatever its kind (CLV models are not segment
/// models).
pub fn load_stored(name: &str) -> StoredDocument {
    match current_document(name) {
        Some((version, d)) => {
            let document = StoredDocument::from_json(&d).unwrap_or_else(|mut e| {
                e.message = format!("model \"{name}\" version {version}: {}", e.message);
                raise_core(e)
            });
            if let StoredDocument::Grouped(index) = &document {
                index
                    .check_members(name)
                    .unwrap_or_else(|e| bad_field(name, version, "model", &e));
            }
            document
        }
        None => not_found(name, None),
    }
}

/// The current version of a per-group model (`groups`): its index, source and options.
pub struct StoredIndex {
    pub index: GroupIndex,
    pub source: String,
    pub options: FitOptions,
}

/// The index in a version's row, if it is a per-group model's.
fn index_of(name: &str, row: &VersionRow) -> Option<StoredIndex> {
    let VersionRow {
        version,
        doc,
        source,
        options,
        ..
    } = row;
    // A cheap test first: every assign statement passes here.
    if !doc.contains("\"grouped\"") {
        return None;
    }
    let index = GroupIndex::if_index(doc).unwrap_or_else(|mut e| {
        e.message = format!("model \"{name}\" version {version}: {}", e.message);
        raise_core(e)
    })?;
    index
        .check_members(name)
        .unwrap_or_else(|e| bad_field(name, *version, "model", &e));
    let options = FitOptions::stored(options, index.k.map(|k| k as usize))
        .unwrap_or_else(|e| bad_field(name, *version, "options", &e.message));
    Some(StoredIndex {
        index,
        source: source.clone(),
        options,
    })
}

/// Every group model that a version of the per-group model `name` uses (none for one model):
/// only the names it makes for its groups (`member_name`), so that an index planted or edited
/// to name another model never makes a drop of `name` drop that one.
fn group_members(name: &str) -> Vec<String> {
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

/// Refuses to drop a group model that a per-group model uses.
fn check_not_a_group(name: &str) {
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

/// Sets (or with None, clears) the label of one segment of a version.
pub fn set_label(name: &str, version: i32, segment: u32, label: Option<&str>) {
    require_manage(name, false);
    write(
        "UPDATE {s}.segment_model \
         SET labels = CASE WHEN $4::text IS NULL THEN labels - $3::text \
                           ELSE labels || jsonb_build_object($3::text, $4::text) END \
         WHERE name = $1 AND version = $2",
        &[
            DatumWithOid::from(name),
            DatumWithOid::from(version),
            DatumWithOid::from(segment.to_string().as_str()),
            DatumWithOid::from(label),
        ],
    );
}

/// The views (schema-qualified, quoted) that read `name` the way segment_create_view writes them:
/// their rule depends on the extension's segment_label, segment_labels or segment_group_labels,
/// and their
/// definition passes the name to it as a constant. Views written by hand that do not join those
/// functions are not found.
pub fn views_reading(name: &str) -> Vec<String> {
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
fn drop_views_reading(name: &str, cascade: bool) {
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
