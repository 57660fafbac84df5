//! Server settings (`customer_segment.*`). Private statics, public accessors, one `init()`.
//!
//! Four settings size the resources one call or one backend takes: `max_memory_mb`, `threads`,
//! `silhouette_sample` and `model_cache_size`. Any role may set them (`Userset`), so each has a
//! ceiling only a superuser sets (`Suset`: `postgresql.conf`, `ALTER SYSTEM`, `ALTER ROLE ...
//! SET`, or a `GRANT SET ON PARAMETER`): `max_memory_mb_limit`, `threads_limit`,
//! `silhouette_sample_limit`, `model_cache_size_limit`. A value above its ceiling is refused
//! where it is used (below), not clamped: the caller learns that what they asked for is not
//! theirs to take.
//!
//! Why at use and not in a GUC check hook: a check hook runs when the value is set, and must not
//! read another setting (PostgreSQL's rule: the two may be set in either order, in
//! `postgresql.conf`, by `ALTER ROLE`, at login), and a ceiling lowered afterwards would not
//! reach values set before it. pgrx 0.18.1's `GucRegistry` registers no hooks anyway. Checked
//! when a call reads the setting, the ceiling in force is the one that counts.

use crate::errors::raise;
use pgrx::datum::DatumWithOid;
use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, PgSqlErrorCode, PostgresGucEnum};
use std::ffi::CStr;

/// Largest memory one fit may hold, in MB: its feature matrix, then its estimated working memory
/// (segment_core::model::budget).
static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(1024);
/// The DBA's ceiling on `max_memory_mb` (default: none, the largest value the setting takes).
static MAX_MEMORY_MB_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(i32::MAX);
/// Threads for pure math inside one fit; 0 means half the CPU cores (at least 1).
static THREADS: GucSetting<i32> = GucSetting::<i32>::new(0);
/// The DBA's ceiling on `threads`; 0 means one per CPU core.
static THREADS_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(0);
/// Whether long calls report progress as NOTICEs.
static PROGRESS: GucSetting<bool> = GucSetting::<bool>::new(true);
/// Rows above which the silhouette is computed on a seeded sample.
static SILHOUETTE_SAMPLE: GucSetting<i32> = GucSetting::<i32>::new(10_000);
/// The DBA's ceiling on `silhouette_sample` (default: none).
static SILHOUETTE_SAMPLE_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(i32::MAX);
/// The memory each backend may keep parsed models in, across statements (catalog/model_cache.rs),
/// in kB (written with a unit as any size: '64MB'); 0: none kept.
static MODEL_CACHE_SIZE: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024);
/// The DBA's ceiling on `model_cache_size` (default: none).
static MODEL_CACHE_SIZE_LIMIT: GucSetting<i32> = GucSetting::<i32>::new(i32::MAX);
/// What a row that cannot be scored gives in a SELECT.
static INVALID_ROWS: GucSetting<InvalidRows> = GucSetting::<InvalidRows>::new(InvalidRows::Null);
/// When the planner writes the model into the query instead of a name to look up.
static SHIP_MODELS: GucSetting<ShipModels> = GucSetting::<ShipModels>::new(ShipModels::Auto);

/// `customer_segment.ship_models`: when `segment_assign(model, t)` carries the model's document
/// inside the planned query (see planner.rs), so that the node running the scan needs no
/// catalog: Citus runs the scan of a distributed table on its workers, whose catalogs do not
/// have the coordinator's models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum ShipModels {
    /// For rows of a Citus table (distributed or reference), where the citus extension is.
    #[name = c"auto"]
    Auto,
    /// For every table: the same answers as by name, one catalog read at planning time.
    #[name = c"always"]
    Always,
    /// Never: every node looks the model up in its own catalog (import it on each).
    #[name = c"never"]
    Never,
}

/// `customer_segment.invalid_rows`: what segment_assign and the other row functions give for a
/// row that cannot be scored (a NaN or infinite feature, a negative value under the log option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum InvalidRows {
    /// NULL, as for a row whose NULL feature the model skips: one bad row does not fail a view.
    #[name = c"null"]
    Null,
    /// An ERROR naming the column and the value.
    #[name = c"error"]
    Error,
}

pub fn init() {
    GucRegistry::define_int_guc(
        c"customer_segment.max_memory_mb",
        c"Largest memory one fit may hold, in megabytes.",
        c"A fit stops with an error before taking the memory when its feature matrix (rows x \
          columns x 8 bytes), or the matrix and the fit's estimated working memory, would \
          exceed this. At most customer_segment.max_memory_mb_limit.",
        &MAX_MEMORY_MB,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"customer_segment.max_memory_mb_limit",
        c"Highest customer_segment.max_memory_mb a call may use, in megabytes (superuser only).",
        c"A larger customer_segment.max_memory_mb is refused when a call uses it; while it is \
          not set anywhere, its default follows this ceiling down.",
        &MAX_MEMORY_MB_LIMIT,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"customer_segment.threads",
        c"Threads used for the arithmetic of one fit (0 = half the CPU cores, at least 1).",
        c"Threads only compute; they never call into the server. At most \
          customer_segment.threads_limit.",
        &THREADS,
        0,
        256,
        GucContext::Userset,
        GucFlags::empty(),
    );
    GucRegistry::define_int_guc(
        c"customer_segment.threads_limit",
        c"Most threads one fit may use (0 = one per CPU core; superuser only).",
        c"A larger customer_segment.threads is refused when a call uses it; threads 0 takes \
          half the cores, or this limit if it is lower.",
        &THREADS_LIMIT,
        0,
        256,
        GucContext::Suset,
        GucFlags::empty(),
    );
    GucRegistry::define_bool_guc(
        c"customer_segment.progress",
        c"Whether long fits report progress as NOTICEs (at most one a second).",
        c"Each NOTICE says what the fit is doing: rows read, or start, iteration and inertia, \
          with rows per second.",
        &PROGRESS,
        GucContext::Userset,
        GucFlags::empty(),
    );
    GucRegistry::define_int_guc(
        c"customer_segment.silhouette_sample",
        c"Rows above which the silhouette score is computed on a seeded sample of this size.",
        c"The silhouette is quadratic in rows; segment_fit reports how many rows it used.",
        &SILHOUETTE_SAMPLE,
        2,
        i32::MAX,
        GucContext::Userset,
        GucFlags::empty(),
    );
    GucRegistry::define_int_guc(
        c"customer_segment.silhouette_sample_limit",
        c"Highest customer_segment.silhouette_sample a call may use (superuser only).",
        c"The silhouette's time is quadratic in its sample. A larger \
          customer_segment.silhouette_sample is refused when a call uses it; while it is not \
          set anywhere, its default follows this ceiling down.",
        &SILHOUETTE_SAMPLE_LIMIT,
        2,
        i32::MAX,
        GucContext::Suset,
        GucFlags::empty(),
    );
    GucRegistry::define_int_guc(
        c"customer_segment.model_cache_size",
        c"Memory each session may keep models in between statements (0: none).",
        c"segment_assign and the other row functions keep the models they read, so the next \
          statement does not read and parse them again; the least recently used are dropped \
          beyond this size, a model counted at its stored document's size. At most \
          customer_segment.model_cache_size_limit.",
        &MODEL_CACHE_SIZE,
        0,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"customer_segment.model_cache_size_limit",
        c"Highest customer_segment.model_cache_size a session may use (superuser only).",
        c"A larger customer_segment.model_cache_size is refused when a row function uses it; while \
          it is not set anywhere, its default follows this ceiling down.",
        &MODEL_CACHE_SIZE_LIMIT,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_enum_guc(
        c"customer_segment.invalid_rows",
        c"What a row that cannot be scored gives in a SELECT: null (default) or error.",
        c"A row with a NaN or infinite feature, or a negative value under the log option, gets \
          NULL from segment_assign and the other row functions, or with error an ERROR naming \
          the column. Fits always refuse such rows.",
        &INVALID_ROWS,
        GucContext::Userset,
        GucFlags::empty(),
    );
    GucRegistry::define_enum_guc(
        c"customer_segment.ship_models",
        c"When segment_assign sends the model inside the query: auto (Citus tables), always or never.",
        c"A shipped model is read once when the statement is planned, with the caller's \
          privileges, and travels with the query to the node that scans the rows, so Citus \
          workers need no catalog. Every new version, drop, grant or revoke makes cached plans \
          plan again.",
        &SHIP_MODELS,
        GucContext::Userset,
        GucFlags::empty(),
    );
}

/// A user setting and the DBA's ceiling over it.
struct Ceiling {
    setting: &'static CStr,
    limit: &'static CStr,
    /// How a value is printed: " MB" for memory, "" for counts.
    unit: &'static str,
}

impl Ceiling {
    /// `value` if it is within `limit`. Above it: the limit when nobody set the setting (its
    /// built-in default, which no one asked for, follows a ceiling the DBA lowered), else an
    /// ERROR naming both settings.
    ///
    /// SQLSTATE 42501 (insufficient_privilege), not 54000: nothing was too large for the
    /// extension; the caller asked for more than their role may take, and only a superuser (or a
    /// role granted SET on the ceiling) can allow it. 54000 stays the answer of a fit whose
    /// estimate is above the (allowed) max_memory_mb, which the caller fixes by asking for less.
    fn apply(&self, value: i32, limit: i32, limit_shown: &str) -> i32 {
        if value <= limit {
            return value;
        }
        if self.source().as_deref() == Some("default") {
            return limit;
        }
        let (setting, ceiling, unit) = (
            self.setting.to_str().expect("ASCII name"),
            self.limit.to_str().expect("ASCII name"),
            self.unit,
        );
        raise(
            PgSqlErrorCode::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("{setting} is {value}{unit}, above {ceiling} ({limit_shown})"),
            Some(
                format!(
                "{ceiling} is the DBA's ceiling, which only a superuser sets: SET {setting} to at \
                 most {limit}{unit}, or ask for a higher ceiling (ALTER SYSTEM, or ALTER ROLE ... \
                 SET for one role)."
            )
                .as_str(),
            ),
        )
    }

    /// Where the setting's value comes from (pg_settings.source: default, session, user,
    /// database, configuration file...). Read only when a value is above its ceiling.
    fn source(&self) -> Option<String> {
        crate::search_path::select_text(
            "SELECT source FROM pg_catalog.pg_settings WHERE name = $1",
            &[DatumWithOid::from(
                self.setting.to_str().expect("ASCII name"),
            )],
        )
    }
}

/// `customer_segment.max_memory_mb` in bytes, within `max_memory_mb_limit`.
pub fn max_memory_bytes() -> usize {
    let limit = MAX_MEMORY_MB_LIMIT.get().max(1);
    let mb = Ceiling {
        setting: c"customer_segment.max_memory_mb",
        limit: c"customer_segment.max_memory_mb_limit",
        unit: " MB",
    }
    .apply(MAX_MEMORY_MB.get().max(1), limit, &format!("{limit} MB"));
    (mb as usize).saturating_mul(1024 * 1024)
}

/// `customer_segment.model_cache_size` in bytes, within `model_cache_size_limit` (0: no cache).
pub fn model_cache_bytes() -> usize {
    let limit = MODEL_CACHE_SIZE_LIMIT.get().max(0);
    let kb = Ceiling {
        setting: c"customer_segment.model_cache_size",
        limit: c"customer_segment.model_cache_size_limit",
        unit: " kB",
    }
    .apply(MODEL_CACHE_SIZE.get().max(0), limit, &format!("{limit} kB"));
    (kb as usize).saturating_mul(1024)
}

/// Threads of one fit: `customer_segment.threads`, within `threads_limit`. The default (0)
/// takes half the cores, at least one: a fit beside other work leaves the server room (the
/// backends of other sessions, autovacuum, the WAL writer); the DBA raises the ceiling and a role
/// asks for more.
pub fn threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = match THREADS_LIMIT.get() {
        n if n > 0 => n as usize,
        _ => cores,
    };
    match THREADS.get() {
        n if n > 0 => {
            let shown = match THREADS_LIMIT.get() {
                0 => format!("0: one per CPU core, {cores} here"),
                n => n.to_string(),
            };
            Ceiling {
                setting: c"customer_segment.threads",
                limit: c"customer_segment.threads_limit",
                unit: "",
            }
            .apply(n, limit.min(i32::MAX as usize) as i32, &shown) as usize
        }
        _ => (cores / 2).max(1).min(limit),
    }
}

pub fn progress() -> bool {
    PROGRESS.get()
}

/// Whether an unscorable row gives NULL (else an ERROR).
pub fn invalid_rows_give_null() -> bool {
    INVALID_ROWS.get() == InvalidRows::Null
}

pub fn ship_models() -> ShipModels {
    SHIP_MODELS.get()
}

/// `customer_segment.silhouette_sample`, within `silhouette_sample_limit`.
pub fn silhouette_sample() -> usize {
    let limit = SILHOUETTE_SAMPLE_LIMIT.get().max(2);
    Ceiling {
        setting: c"customer_segment.silhouette_sample",
        limit: c"customer_segment.silhouette_sample_limit",
        unit: "",
    }
    .apply(SILHOUETTE_SAMPLE.get().max(2), limit, &limit.to_string()) as usize
}

/// The core's limits from the settings: threads and the silhouette sample.
pub fn limits() -> segment_core::model::limits::Limits {
    segment_core::model::limits::Limits {
        threads: threads(),
        silhouette_rows: silhouette_sample(),
    }
}
