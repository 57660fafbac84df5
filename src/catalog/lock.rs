//! The per-name lock that serializes fits, drops, grants and prunes of one model name.

use super::statements::read;
use pgrx::datum::DatumWithOid;
use pgrx::prelude::*;

/// Serializes fits, drops and grants of one name until the transaction ends, and runs `f` under a
/// snapshot taken once the lock is held. Why the snapshot: `read`'s queries are read-only SPI,
/// which use the statement's active snapshot, taken before this session waited for the lock; a
/// check in `f` would then miss the version, grant or drop that the session it waited for
/// committed (the stress tier's race of two fits caught that). Writes take fresh snapshots of
/// their own. On an error the abort pops the pushed snapshot.
pub(super) fn under_lock<R>(name: &str, f: impl FnOnce() -> R) -> R {
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
