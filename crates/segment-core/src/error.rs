//! Errors raised by the pure core. Each carries a kind that the SQL shell maps onto a SQLSTATE,
//! a lower-case message naming what is at fault, and a hint saying how to fix it.

use std::fmt;

/// What went wrong, coarse enough that the shell can pick a SQLSTATE from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A parameter or option has a value we cannot use (22023).
    InvalidParameter,
    /// The data itself is unusable: NaN, infinity, a NULL where none is allowed (22000 family).
    InvalidData,
    /// Not enough usable rows for what was asked (22023, but about the data).
    InsufficientData,
    /// A NULL in a feature while `impute` is `error` (22004).
    NullValue,
    /// A stored model cannot be read by this version (XX001-ish: data corrupted / too new).
    BadModel,
    /// The fit would exceed a configured resource limit (54000).
    ResourceLimit,
    /// A model of another kind than the function takes: a CLV model where a segment model is
    /// needed, a k-means model where a churn model or a mixture is (42809, wrong_object_type).
    WrongModel,
    /// A combination the function does not do (0A000, feature_not_supported): a per-group or
    /// non-k-means scan in `segment_choose_k`.
    NotSupported,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CoreError {
    pub kind: ErrorKind,
    pub message: String,
    pub hint: Option<String>,
}

impl CoreError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CoreError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameter, message)
    }

    /// A model of another kind than the function takes (`ErrorKind::WrongModel`).
    pub fn wrong_model(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::WrongModel, message)
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CoreError {}

pub type CoreResult<T> = Result<T, CoreError>;

/// How PostgreSQL spells a non-finite float8 (`NaN`, `Infinity`, `-Infinity`), for messages.
pub fn pg_float_text(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x == f64::INFINITY {
        "Infinity".into()
    } else if x == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        x.to_string()
    }
}

/// linfa's `Fit` converts its own errors into the estimator's (`estimator`): a parameter or
/// prior linfa refuses is an invalid parameter, a shape or a sample count the data's fault.
impl From<linfa::Error> for CoreError {
    fn from(e: linfa::Error) -> CoreError {
        let kind = match e {
            linfa::Error::Parameters(_) | linfa::Error::Priors(_) => ErrorKind::InvalidParameter,
            linfa::Error::NotEnoughSamples => ErrorKind::InsufficientData,
            linfa::Error::NotConverged(_)
            | linfa::Error::NdShape(_)
            | linfa::Error::MismatchedShapes(..) => ErrorKind::InvalidData,
        };
        CoreError::new(kind, e.to_string())
    }
}
