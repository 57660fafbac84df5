//! Progress NOTICEs for long calls: the core's reports (`segment_core::progress`), at most one
//! NOTICE a second, the first after a second of work, silenced by `customer_segment.progress`.

use crate::gucs;
use segment_core::progress::{self, Progress};
use std::time::{Duration, Instant};

/// Runs `body` (the work of SQL function `function`) with its progress reported as NOTICEs.
pub fn with_notices<R>(function: &'static str, body: impl FnOnce() -> R) -> R {
    if !gucs::progress() {
        return body();
    }
    let started = Instant::now();
    let mut last_notice = started;
    // Rows visited by the iterations reported after the first one, and when the first was
    // reported: the rate of iterating, without the reading before it.
    let mut iterated_rows = 0u64;
    let mut iterating_since: Option<Instant> = None;
    let listener = move |p: &Progress| {
        let now = Instant::now();
        if let Progress::Iteration { rows, .. } = p {
            match iterating_since {
                None => iterating_since = Some(now),
                Some(_) => iterated_rows += *rows as u64,
            }
        }
        if now.duration_since(last_notice) < Duration::from_secs(1) {
            return;
        }
        last_notice = now;
        let per_second = |rows: u64, since: Instant| {
            rows as f64 / now.duration_since(since).as_secs_f64().max(1e-9)
        };
        match p {
            Progress::Reading { rows } => pgrx::notice!(
                "{function}: read {rows} rows ({:.0} rows/s)",
                per_second(*rows, started)
            ),
            Progress::Iteration {
                start,
                starts,
                iteration,
                inertia,
                ..
            } => pgrx::notice!(
                "{function}: start {start} of {starts}, iteration {iteration}, inertia {inertia:.6e} ({:.0} rows/s)",
                per_second(iterated_rows, iterating_since.unwrap_or(started))
            ),
        }
    };
    progress::listen(listener, body)
}

/// Called by the core between steps: lets statement_timeout and cancel stop a long fit.
pub fn interrupt() {
    pgrx::check_for_interrupts!();
}
