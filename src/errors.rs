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

pub fn sqlstate(kind: ErrorKind) -> PgSqlErrorCode {
    match kind {
        ErrorKind::InvalidParameter | ErrorKind::InsufficientData => {
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
        }
        ErrorKind::InvalidData => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::NullValue => PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
        ErrorKind::BadModel => PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
        ErrorKind::ResourceLimit => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
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
