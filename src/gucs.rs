//! Server settings (`customer_segment.*`). Private statics, public accessors, one `init()`.

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting, PostgresGucEnum};

/// Largest feature matrix a fit may hold, in MB (rows x features x 8 bytes).
static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(1024);
/// Threads for pure math inside one fit; 0 means one per CPU core.
static THREADS: GucSetting<i32> = GucSetting::<i32>::new(0);
/// Whether long calls report progress as NOTICEs.
static PROGRESS: GucSetting<bool> = GucSetting::<bool>::new(true);
/// Rows above which the silhouette is computed on a seeded sample.
static SILHOUETTE_SAMPLE: GucSetting<i32> = GucSetting::<i32>::new(10_000);
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
        c"Largest feature matrix one fit may hold, in megabytes.",
        c"A fit whose rows x features x 8 bytes would exceed this stops with an error before \
          the memory is taken.",
        &MAX_MEMORY_MB,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"customer_segment.threads",
        c"Threads used for the arithmetic of one fit (0 = one per CPU core).",
        c"Threads only compute; they never call into the server.",
        &THREADS,
        0,
        256,
        GucContext::Userset,
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

pub fn max_memory_bytes() -> usize {
    (MAX_MEMORY_MB.get().max(1) as usize).saturating_mul(1024 * 1024)
}

pub fn threads() -> usize {
    match THREADS.get() {
        n if n > 0 => n as usize,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
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

pub fn silhouette_sample() -> usize {
    SILHOUETTE_SAMPLE.get().max(2) as usize
}

/// The core's limits from the settings: threads and the silhouette sample.
pub fn limits() -> segment_core::model::fit::Limits {
    segment_core::model::fit::Limits {
        threads: threads(),
        silhouette_rows: silhouette_sample(),
    }
}
