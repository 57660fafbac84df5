//! WARNINGs about the data a fit was given: the core finds them (a feature column that is
//! constant or nearly so, a lifetime-value fit at the boundary), the shell reports them, each with
//! a hint, and the fit goes on.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use segment_core::prep::scaling::NearConstant;

/// One WARNING (SQLSTATE 01000) of SQL function `function`, with its hint.
pub fn warn(function: &'static str, message: String, hint: &str) {
    ErrorReport::new(PgSqlErrorCode::ERRCODE_WARNING, message, function)
        .set_hint(hint.to_string())
        .report(PgLogLevel::WARNING);
}

/// A WARNING for each (nearly) constant feature column of a fit (see
/// `segment_core::prep::scaling::NEAR_CONSTANT`); `context` goes before the message (a group of
/// a per-group fit), empty for none.
pub fn near_constant(function: &'static str, context: &str, columns: &[NearConstant]) {
    for c in columns {
        warn(function, format!("{context}{}", c.message()), c.hint());
    }
}
