//! The models the row functions use, kept across statements in each backend.
//!
//! Without it every statement read the model's row through SPI (its row-level security policy
//! planned again each time) and parsed the whole document, so a point query (one customer by
//! primary key) ran 6 to 90 times slower than without the function (docs/performance.md, "Point
//! queries").
//!
//! What is kept, and when it is used (`rows_model`):
//! - the parsed model, keyed by name and the version asked for (None: the current one), with the
//!   identity of the catalog row it was parsed from (row_identity.rs: version, xmin, ctid).
//!   Every statement looks up which row its snapshot sees (a primary-key lookup, no SPI) and uses
//!   the kept model only when that is the same row. So a refit (a new current version), a drop, a
//!   hand UPDATE of the row, another session's change, a change rolled back, and any snapshot
//!   (REPEATABLE READ, an imported one) give exactly what reading the row would give, without
//!   relying on any invalidation message arriving in time.
//! - the decision that a role may read a name, keyed by (role, name), with the identity of the
//!   name's `segment_model_access` row it was taken on. Why kept: taking it again in every
//!   statement, through the policy, cost a non-superuser about 300 µs a statement, several times
//!   the point query itself (benches/point.py, before the cache). Checked in every statement
//!   (the role is the statement's current user: SET ROLE and SECURITY DEFINER functions give
//!   other keys). The
//!   policy that decides it (`segment_model_allowed`) reads that row under the statement's
//!   snapshot, and otherwise what PostgreSQL reads through its own caches, with no snapshot:
//!   role membership (pg_auth_members, through `pg_has_role`), role attributes (superuser,
//!   BYPASSRLS, INHERIT, a dropped role: pg_authid), the tables' policies, owner, privileges and
//!   row-level security switches (their relation entries), and the policy function itself
//!   (pg_proc). (It also reads pg_roles under the snapshot; that only narrows: a role it finds
//!   must still pass `pg_has_role`, and dropping one changes pg_authid.) A change of any of those
//!   sends an invalidation that clears every decision (`init`); the same messages make
//!   PostgreSQL's own membership cache (acl.c) and plan cache forget. They reach this backend
//!   when it next accepts invalidations, which `rows_model` does first in every statement: a
//!   change committed before the statement began is seen (the writer sends them before its
//!   COMMIT returns), a change of this session at its next command, a rollback's at the
//!   rollback (inval.c processes a transaction's own messages on abort). A decision taken while
//!   an invalidation arrived (`GENERATION`) is not kept. `row_security = off` is a setting, not
//!   a catalog change: with it the cache is not used (the read then fails or succeeds as before).
//!   Denials are never kept: a denied or missing name goes through the reader, which raises the
//!   same error as before.
//!
//! Every change of the model catalog also clears the kept models (the catalog's trigger
//! invalidates pg_proc rows: plan_invalidation.rs), so the memory of replaced versions is given
//! back in every backend, at its next use of a row function.
//!
//! Memory: `customer_segment.model_cache_size` (per backend). A model is counted at the length of
//! its stored document, an estimate: the JSON text writes each number in up to 24 characters
//! where the parsed model holds 8 bytes, but the parsed model has its own overheads; when a new one would go over the budget the
//! least recently used are dropped first; one larger than the whole budget is used for its
//! statement only, as before. 0 turns the cache off.

use super::access::{access, Access};
use super::read_version::{load_current_sized, load_sized, Current};
use super::row_identity::{access_row, forget_relations, model_row, relations, RowIdentity};
use crate::errors::raise;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::model::assigner::Assigner;
use segment_core::model::groups::GroupIndex;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// A model as the row functions use it.
#[derive(Clone)]
pub enum RowsModel {
    One(Rc<Assigner>),
    /// A per-group model: its index; each group's model is read with `rows_group_model`.
    Grouped(Rc<GroupIndex>),
}

struct Entry {
    row: RowIdentity,
    model: RowsModel,
    bytes: usize,
    used: u64,
    /// Statements served without reading the catalog's row.
    hits: u64,
}

#[derive(Default)]
struct Cache {
    /// By name and the version asked for (None: the current one).
    models: HashMap<(String, Option<i32>), Entry>,
    /// (role, name) may read the name's versions, decided on this `segment_model_access` row.
    allowed: HashMap<(pg_sys::Oid, String), RowIdentity>,
    bytes: usize,
    clock: u64,
    /// The `GENERATION` its contents are valid for.
    generation: u64,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    /// Counts the invalidations received: a decision taken across one is not kept.
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// Registers the invalidations that clear the cache; called once, from `_PG_init`.
pub fn init() {
    unsafe extern "C-unwind" fn syscache_changed(_: pg_sys::Datum, _: i32, _: u32) {
        forget();
    }
    unsafe extern "C-unwind" fn relation_changed(_: pg_sys::Datum, relid: pg_sys::Oid) {
        // InvalidOid: every relation (after an overflow of the invalidation queue).
        let ours = RELATION_OIDS.with(|r| {
            let [model, access] = r.get();
            relid == pg_sys::Oid::INVALID || relid == model || relid == access
        });
        if ours {
            forget();
        }
    }
    // SAFETY: registering callbacks from _PG_init is what the API is for; they touch only this
    // module's state (and never while it is borrowed: no PostgreSQL call is made under a borrow).
    unsafe {
        for cache in [
            // The extension's functions: the catalog's trigger after every change of the model
            // catalog (plan_invalidation.rs), and the policy function itself.
            pg_sys::SysCacheIdentifier::PROCOID,
            // Role membership, as acl.c's own cache of it.
            pg_sys::SysCacheIdentifier::AUTHMEMROLEMEM,
            // Role attributes (superuser, BYPASSRLS, INHERIT) and dropped roles.
            pg_sys::SysCacheIdentifier::AUTHOID,
        ] {
            pg_sys::CacheRegisterSyscacheCallback(
                cache as i32,
                Some(syscache_changed),
                pg_sys::Datum::from(0usize),
            );
        }
        // The tables' policies, owner, privileges, row-level security switches, a rewrite.
        pg_sys::CacheRegisterRelcacheCallback(Some(relation_changed), pg_sys::Datum::from(0usize));
    }
}

thread_local! {
    /// The catalog tables' OIDs, for the relation callback (which must not look anything up).
    static RELATION_OIDS: Cell<[pg_sys::Oid; 2]> = const { Cell::new([pg_sys::Oid::INVALID; 2]) };
}

/// An invalidation arrived (a callback: it only counts, touching no PostgreSQL state and no
/// borrowed cache). The cache is emptied at its next use (`current`), which comes before any
/// lookup in it.
fn forget() {
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
    forget_relations();
}

/// The cache, emptied first if an invalidation arrived since it was last used.
fn current<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    let generation = GENERATION.with(Cell::get);
    let (out, dropped) = CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let dropped = if c.generation != generation {
            let old = std::mem::take(&mut *c);
            c.generation = generation;
            Some(old)
        } else {
            None
        };
        (f(&mut c), dropped)
    });
    // Models are Rust memory: freed here, outside the borrow.
    drop(dropped);
    out
}

/// The current version of `name` for the row functions: the kept one when the statement sees
/// the same row and the caller's right to read it is known, else read (and checked) from the
/// catalog. Raises the reader's errors (42704, 42501, a document that does not read).
pub fn rows_model(name: &str) -> RowsModel {
    kept_or_read(name, None, || {
        let (current, version, bytes) = load_current_sized(name);
        let model = match current {
            Current::One(stored) => RowsModel::One(Rc::new(stored.model.assigner())),
            Current::Grouped(index) => RowsModel::Grouped(Rc::new(index.index)),
        };
        (model, version, bytes)
    })
}

/// Version `version` of group model `name` (the current one when None), as `rows_model`.
pub fn rows_group_model(name: &str, version: Option<i32>) -> Rc<Assigner> {
    let model = kept_or_read(name, version, || {
        let (stored, bytes) = load_sized(name, version);
        let v = stored.version;
        (RowsModel::One(Rc::new(stored.model.assigner())), v, bytes)
    });
    match model {
        RowsModel::One(assigner) => assigner,
        // A group model names a per-group model: only a hand-written index does that.
        RowsModel::Grouped(_) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("group model \"{name}\" is itself a per-group model"),
            Some("The extension never stores such an index: refit the per-group model."),
        ),
    }
}

fn kept_or_read(
    name: &str,
    version: Option<i32>,
    read: impl FnOnce() -> (RowsModel, i32, usize),
) -> RowsModel {
    // SAFETY: processes pending invalidations (our callbacks run here, outside any borrow).
    unsafe { pg_sys::AcceptInvalidationMessages() };
    let budget = crate::gucs::model_cache_bytes();
    // A budget lowered since the last statement (to 0: the cache off) gives its memory back now.
    drop(current(|c| evict(c, budget, 0)));
    // SAFETY: reads a GUC variable.
    if budget == 0 || !unsafe { pg_sys::row_security } {
        return read().0;
    }
    let generation = GENERATION.with(Cell::get);
    let r = relations();
    RELATION_OIDS.with(|o| o.set([r.model, r.access]));
    let (Some(row), Some(access_id)) = (model_row(&r, name, version), access_row(&r, name)) else {
        // Missing here means missing (or not yet visible) for the reader too: its errors.
        return read().0;
    };
    // SAFETY: the current user, as row-level security checks it.
    let role = unsafe { pg_sys::GetUserId() };
    let key = (name.to_string(), version);
    let allowed_key = (role, name.to_string());
    let (kept, allowed) = current(|c| {
        c.clock += 1;
        let clock = c.clock;
        let allowed = c.allowed.get(&allowed_key) == Some(&access_id);
        let kept = c.models.get_mut(&key).filter(|e| e.row == row).map(|e| {
            e.used = clock;
            e.hits += 1;
            e.model.clone()
        });
        (kept, allowed)
    });
    if let Some(model) = kept {
        if allowed {
            return model;
        }
        // The same check as the policy's (`segment_model_allowed`), without the parse.
        if matches!(access(name).0, Access::Use | Access::Manage) {
            keep_decision(generation, allowed_key, access_id);
            return model;
        }
        // Denied by the function (or allowed only by a bypass of row-level security): the
        // reader decides, and raises what it raised before.
    }
    let (model, version_read, bytes) = read();
    // The reader ran under the same snapshot: the same version is the same row.
    if version_read == row.version {
        keep_decision(generation, allowed_key, access_id);
        keep_model(generation, key, row, model.clone(), bytes, budget);
    }
    model
}

fn keep_decision(generation: u64, key: (pg_sys::Oid, String), row: RowIdentity) {
    if GENERATION.with(Cell::get) != generation {
        return;
    }
    current(|c| c.allowed.insert(key, row));
}

fn keep_model(
    generation: u64,
    key: (String, Option<i32>),
    row: RowIdentity,
    model: RowsModel,
    bytes: usize,
    budget: usize,
) {
    if GENERATION.with(Cell::get) != generation || bytes > budget {
        return;
    }
    let evicted = current(|c| {
        let mut evicted = Vec::new();
        if let Some(old) = c.models.remove(&key) {
            c.bytes -= old.bytes;
            evicted.push(old);
        }
        evicted.extend(evict(c, budget, bytes));
        c.clock += 1;
        let used = c.clock;
        c.bytes += bytes;
        c.models.insert(
            key,
            Entry {
                row,
                model,
                bytes,
                used,
                hits: 0,
            },
        );
        evicted
    });
    drop(evicted);
}

/// Drops the least recently used models until `room` more bytes fit in `budget`; returns them, to
/// be freed outside the cache's borrow.
fn evict(c: &mut Cache, budget: usize, room: usize) -> Vec<Entry> {
    let mut evicted = Vec::new();
    while c.bytes + room > budget {
        let Some(oldest) = c
            .models
            .iter()
            .min_by_key(|(_, e)| e.used)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        if let Some(e) = c.models.remove(&oldest) {
            c.bytes -= e.bytes;
            evicted.push(e);
        }
    }
    evicted
}

/// What the cache holds, by name and version asked for: the version kept, its bytes and its
/// hits (for the tests).
#[cfg(any(test, feature = "pg_test"))]
pub fn contents() -> Vec<(String, Option<i32>, i32, usize, u64)> {
    current(|c| {
        let mut rows: Vec<_> = c
            .models
            .iter()
            .map(|((name, asked), e)| (name.clone(), *asked, e.row.version, e.bytes, e.hits))
            .collect();
        rows.sort();
        rows
    })
}
