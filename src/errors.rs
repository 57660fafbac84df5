//! Raising errors with a SQLSTATE, a message and a hint; mapping core errors onto SQLSTATEs.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{function_name, PgLogLevel, PgSqlErrorCode};
use segment_core::error::{CoreError, ErrorKind};

/// Raises an ERROR. Never returns (PostgreSQL unwinds the statement).
pub fn raise(code: PgSqlErrorCode, message: impl Into<String>, hint: Option<&str>) -> ! {
    let mut report = ErrorReport::new(code, message.into(), function_name!());
    if let Some(h) = hint {
        report = report.set_hint(h.to_string());
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

/// Replaces the panic hook pgrx registers when the library loads. Every ERROR raised from Rust
/// unwinds as a panic, and so does a PostgreSQL error caught at a call into PostgreSQL (a cancel,
/// an error of the source's query); pgrx's hook captures a Rust backtrace on each, and pgrx
/// appends a captured one to the error's DETAIL: with RUST_BACKTRACE set in the server's
/// environment, a cancelled fit showed its stack frames to the user. This hook captures nothing,
/// whatever the environment, so no error carries frames: a PostgreSQL error keeps its SQLSTATE,
/// message, detail and hint, our own errors theirs, and a panic (a bug) is an XX000 with the
/// panic's message. pgrx's hook also noted where a panic happened, for the error's LOCATION
/// (which it now lacks); the place of a bug goes to the server log instead, in one line.
/// The hook is this library's own (its copy of the Rust runtime): other extensions keep theirs.
pub fn install_panic_hook() {
    drop(std::panic::take_hook());
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        // Errors raised on purpose (ours, PostgreSQL's) carry pgrx's report types: nothing to say.
        let message = if let Some(m) = payload.downcast_ref::<&str>() {
            *m
        } else if let Some(m) = payload.downcast_ref::<String>() {
            m.as_str()
        } else {
            return;
        };
        // Plain stderr, which the server log receives: a hook must not call into PostgreSQL
        // (it may run on a thread of ours).
        let place = info
            .location()
            .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        eprintln!("customer_segment: panicked{place}: {message}");
    }));
}

pub fn sqlstate(kind: ErrorKind) -> PgSqlErrorCode {
    match kind {
        ErrorKind::InvalidParameter | ErrorKind::InsufficientData => {
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        }
        ErrorKind::InvalidData => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::NullValue => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        ErrorKind::BadModel => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        ErrorKind::ResourceLimit => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::WrongModel => PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
        ErrorKind::NotSupported => PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
    }
}

pub fn raise_core(e: CoreError) -> ! {
    raise(sqlstate(e.kind), e.message, e.hint.as_deref())
}

/// `result.or_raise()` turns a core error into a PostgreSQL ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, CoreError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise_core(e))
    }
}

/// A required argument that arrived as NULL.
pub fn require<T>(value: Option<T>, argument: &str) -> T {
    value.unwrap_or_else(|| {
        raise(
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("argument {argument} must not be NULL"),
            None,
        )
    })
}
