//! Splitting pure math over threads. Work is cut into fixed blocks of rows, each block writes only
//! its own output, and callers reduce block outputs in block order: results are bit-identical
//! whatever the thread count. Threads never call PostgreSQL (they only see slices): the caller's
//! interrupt check runs on the calling thread alone, between the items it takes
//! (`for_each_checked`), and the other threads stop at their next item once it unwinds; loops on
//! the calling thread check by the work they count (`Pace`).

/// Rows per block: small enough to balance two cores, large enough that per-block state
/// (k × d partial sums) stays negligible.
pub const BLOCK_ROWS: usize = 8192;

/// Rows per item of work whose outputs are per row (labels, no sums): the item size does not
/// change results, so it is small enough that one item of costly rows (a search among thousands
/// of points) stays well under the ~50 ms between interrupt checks.
pub const ROW_ITEM: usize = 1024;

/// Units of work (about one floating-point operation each) between two interrupt checks of a
/// loop on the calling thread: a few milliseconds.
pub const CHECK_WORK: usize = 1 << 22;

/// Runs `f` on every item, using up to `threads` scoped threads on contiguous runs of items.
pub fn for_each<W: Send>(items: &mut [W], threads: usize, f: impl Fn(&mut W) + Sync) {
    let threads = threads.max(1).min(items.len().max(1));
    if threads == 1 {
        items.iter_mut().for_each(&f);
        return;
    }
    let per_thread = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut groups = items.chunks_mut(per_thread);
        let first = groups.next();
        for group in groups {
            let f = &f;
            scope.spawn(move || group.iter_mut().for_each(f));
        }
        // The calling thread takes a share too instead of idling.
        if let Some(group) = first {
            group.iter_mut().for_each(&f);
        }
    });
}

/// `for_each` for work long enough to be cancelled: `check` (the caller's interrupt check, which
/// may unwind) runs on the calling thread before each item it takes and, once no item is left,
/// every few milliseconds until the other threads are done. Items are handed out one at a time,
/// so each should take well under 50 ms. When `check` unwinds, the other threads take no further
/// item and the unwinding waits only for the items they hold. Each item writes only its own
/// output, so results are those of `for_each` whatever the thread count.
pub fn for_each_checked<W: Send>(
    items: &mut [W],
    threads: usize,
    check: &mut dyn FnMut(),
    f: impl Fn(&mut W) + Sync,
) {
    for_each_polled(items, threads, check, |item, _| f(item));
}

/// `for_each_checked` for items that are long themselves (a forest's trees): `f` also gets
/// `go_on`, to call now and then; when it returns false, `f` should return soon (its output is
/// then thrown away). On the calling thread `go_on` runs `check` (and so may unwind); on the
/// other threads it says whether the calling thread is still waiting for them.
pub fn for_each_polled<W: Send>(
    items: &mut [W],
    threads: usize,
    check: &mut dyn FnMut(),
    f: impl Fn(&mut W, &mut dyn FnMut() -> bool) + Sync,
) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Mutex;

    let mut checked = || {
        check();
        true
    };
    let threads = threads.max(1).min(items.len().max(1));
    if threads == 1 {
        for item in items.iter_mut() {
            checked();
            f(item, &mut checked);
        }
        return;
    }
    let queue = Mutex::new(items.iter_mut());
    let stopped = AtomicBool::new(false);
    let running = AtomicUsize::new(threads - 1);
    let caller = std::thread::current();
    let next = || {
        if stopped.load(Ordering::Relaxed) {
            return None;
        }
        queue.lock().unwrap_or_else(|e| e.into_inner()).next()
    };
    /// Sets its flag when dropped: on the calling thread's way out, also when `check` unwinds.
    struct SetOnDrop<'a>(&'a AtomicBool);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    /// A worker's end, also when `f` panics: one fewer running, and the caller told.
    struct Done<'a>(&'a AtomicUsize, &'a std::thread::Thread);
    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::Release);
            self.1.unpark();
        }
    }
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let (f, next, stopped, running, caller) = (&f, &next, &stopped, &running, &caller);
            scope.spawn(move || {
                let _done = Done(running, caller);
                let mut go_on = || !stopped.load(Ordering::Relaxed);
                while let Some(item) = next() {
                    f(item, &mut go_on);
                }
            });
        }
        let _stop = SetOnDrop(&stopped);
        loop {
            checked();
            let Some(item) = next() else { break };
            f(item, &mut checked);
        }
        while running.load(Ordering::Acquire) > 0 {
            checked();
            std::thread::park_timeout(std::time::Duration::from_millis(2));
        }
    });
}

/// Calls `check` once per `CHECK_WORK` units of work counted with `add`: for sequential loops on
/// the calling thread whose steps differ in size.
pub struct Pace<'a> {
    check: &'a mut dyn FnMut(),
    done: usize,
}

impl<'a> Pace<'a> {
    pub fn new(check: &'a mut dyn FnMut()) -> Pace<'a> {
        Pace { check, done: 0 }
    }

    /// Counts `work` units done; checks when they add up to `CHECK_WORK` since the last check.
    #[inline]
    pub fn add(&mut self, work: usize) {
        self.done += work;
        if self.done >= CHECK_WORK {
            self.done = 0;
            (self.check)();
        }
    }

    /// Checks now.
    pub fn check(&mut self) {
        self.done = 0;
        (self.check)();
    }
}

/// Checks that count their calls or stop a computation, for the tests of long loops.
#[cfg(test)]
pub mod testing {
    /// The payload of `stops_at`'s panic.
    #[derive(Debug)]
    pub struct Stopped;

    /// How many times `f` calls its check.
    pub fn checks(f: impl FnOnce(&mut dyn FnMut())) -> usize {
        let mut calls = 0;
        f(&mut || calls += 1);
        calls
    }

    /// Runs `f` with a check that panics on its `at`-th call (as the shell's interrupt check
    /// unwinds on a cancel), and asserts that `f` did not return but unwound with that very
    /// payload (a PostgreSQL error must come out as it went in, also through worker threads).
    pub fn stops_at(at: usize, f: impl FnOnce(&mut dyn FnMut())) {
        let mut calls = 0;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            f(&mut || {
                calls += 1;
                if calls == at {
                    std::panic::panic_any(Stopped);
                }
            })
        }));
        let payload = outcome.expect_err("the computation ran to its end despite the cancel");
        assert!(payload.is::<Stopped>(), "another panic than the cancel's");
        assert_eq!(calls, at, "the check was called again after it unwound");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_visited_once_for_any_thread_count() {
        for threads in [1, 2, 3, 8, 100] {
            let mut items: Vec<u32> = vec![0; 37];
            for_each(&mut items, threads, |x| *x += 1);
            assert!(items.iter().all(|&x| x == 1), "threads={threads}");
        }
        let mut empty: Vec<u32> = vec![];
        for_each(&mut empty, 4, |x| *x += 1);
    }

    #[test]
    fn checked_visits_every_item_once_and_checks_between_items() {
        for threads in [1, 2, 3, 8] {
            let mut items: Vec<u32> = vec![0; 37];
            let mut calls = 0;
            for_each_checked(&mut items, threads, &mut || calls += 1, |x| *x += 1);
            assert!(items.iter().all(|&x| x == 1), "threads={threads}");
            // Once before each item the calling thread takes, at least once in all.
            assert!(calls >= 1, "threads={threads}");
        }
        let mut calls = 0;
        let mut items = vec![0u32; 10];
        for_each_checked(&mut items, 1, &mut || calls += 1, |x| *x += 1);
        assert_eq!(calls, 10);
    }

    /// A check that unwinds on the calling thread stops the other threads at their next item:
    /// far fewer items than there are get done, and the panic comes out unchanged.
    #[test]
    fn an_unwinding_check_stops_every_thread() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for threads in [1, 2, 4] {
            let done = AtomicUsize::new(0);
            let mut items = vec![(); 10_000];
            testing::stops_at(3, |check| {
                for_each_checked(&mut items, threads, check, |_| {
                    std::thread::sleep(std::time::Duration::from_micros(200));
                    done.fetch_add(1, Ordering::Relaxed);
                })
            });
            assert!(
                done.load(Ordering::Relaxed) < 1000,
                "threads={threads}: {} items done",
                done.load(Ordering::Relaxed)
            );
        }
    }

    /// Long items poll: the workers' `go_on` turns false once the calling thread unwinds, and the
    /// calling thread's runs its check.
    #[test]
    fn polled_items_see_the_stop() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let polls = AtomicUsize::new(0);
        let mut items = vec![(); 4];
        testing::stops_at(5, |check| {
            for_each_polled(&mut items, 4, check, |_, go_on| {
                // An item that would take 100 s, polling every millisecond.
                for _ in 0..100_000 {
                    if !go_on() {
                        return;
                    }
                    polls.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        });
        assert!(polls.load(Ordering::Relaxed) < 100_000);
    }

    #[test]
    fn pace_checks_once_per_check_work() {
        let calls = testing::checks(|check| {
            let mut pace = Pace::new(check);
            for _ in 0..10 * CHECK_WORK / 1024 {
                pace.add(1024);
            }
        });
        assert_eq!(calls, 10);
    }
}
