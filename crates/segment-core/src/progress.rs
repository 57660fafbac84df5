//! Progress of long computations. The core reports what it is doing between steps; the SQL shell
//! listens for the length of one call (and turns reports into NOTICEs at most once a second).
//! Thread-local: only the calling thread reports, never the worker threads of `parallel`, so a
//! listener may call into PostgreSQL.

use std::cell::RefCell;

/// One report.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Rows read from the source so far.
    Reading { rows: u64 },
    /// An iteration of an iterative fit finished.
    Iteration {
        /// Which start of `n_init` (1-based) and how many there are.
        start: u32,
        starts: u32,
        /// Iterations done in this start.
        iteration: u32,
        /// Sum of squared distances (or the method's own objective) after this iteration.
        inertia: f64,
        /// Rows visited by one iteration.
        rows: usize,
    },
}

type Listener = Box<dyn FnMut(&Progress)>;

thread_local! {
    static LISTENER: RefCell<Option<Listener>> = const { RefCell::new(None) };
}

/// Hands `p` to the listener, if one is installed on this thread. Cheap when none is.
pub fn report(p: Progress) {
    LISTENER.with(|l| {
        if let Ok(mut slot) = l.try_borrow_mut() {
            if let Some(f) = slot.as_mut() {
                f(&p);
            }
        }
    });
}

/// Runs `body` with `listener` receiving this thread's reports; the previous listener (if any)
/// comes back afterwards, also when `body` unwinds (a PostgreSQL ERROR).
pub fn listen<R>(listener: impl FnMut(&Progress) + 'static, body: impl FnOnce() -> R) -> R {
    struct Restore(Option<Listener>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            LISTENER.with(|l| *l.borrow_mut() = previous);
        }
    }
    let previous = LISTENER.with(|l| l.borrow_mut().replace(Box::new(listener)));
    let _restore = Restore(previous);
    body()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn reports_reach_the_listener_only_while_listening() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        report(Progress::Reading { rows: 1 });
        let sink = seen.clone();
        listen(
            move |p| sink.borrow_mut().push(p.clone()),
            || {
                report(Progress::Reading { rows: 2 });
                // A report from another thread goes nowhere.
                std::thread::spawn(|| report(Progress::Reading { rows: 3 }))
                    .join()
                    .unwrap();
            },
        );
        report(Progress::Reading { rows: 4 });
        assert_eq!(*seen.borrow(), vec![Progress::Reading { rows: 2 }]);
    }

    #[test]
    fn the_listener_is_removed_when_the_body_panics() {
        let seen = Rc::new(RefCell::new(0));
        let sink = seen.clone();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            listen(move |_| *sink.borrow_mut() += 1, || panic!("an ERROR"))
        }));
        assert!(r.is_err());
        report(Progress::Reading { rows: 1 });
        assert_eq!(*seen.borrow(), 0);
    }
}
