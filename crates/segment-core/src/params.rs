//! Options arrive as one `options jsonb` argument per SQL function; every feature's options are
//! parsed from here.

use crate::error::{CoreError, CoreResult};

/// The `options jsonb` argument (as text) as a JSON object, or an error saying what it is
/// instead (with `hint` for a value that is not an object). Every function's options start here.
pub fn options_object(text: &str, hint: Option<&str>) -> CoreResult<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| CoreError::invalid_parameter(format!("options are not valid JSON: {e}")))?;
    if !value.is_object() {
        let e = CoreError::invalid_parameter(format!("options must be a JSON object, not {value}"));
        return Err(match hint {
            Some(h) => e.with_hint(h),
            None => e,
        });
    }
    Ok(value)
}
