//! One feature value of a row into the model's raw row, whichever form brought it: the check of
//! a column's type against the model's feature, the conversion of a number, the one-hot columns
//! of a category, and the errors of a missing or unusable column.

use crate::errors::raise;
use crate::source::{category_bytes, numeric_f64, type_name, CATEGORICAL_TYPES, NUMERIC_TYPES};
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;
use segment_core::error::{pg_float_text, CoreError, ErrorKind};
use segment_core::model::assigner::Assigner;
use segment_core::prep::encoding::one_hot;

/// A column for feature `j` must be a number, or text/boolean where the model one-hot encodes.
pub(super) fn check_kind(model: &str, assigner: &Assigner, j: usize, typ: pg_sys::Oid) {
    let feature = &assigner.features()[j];
    let (ok, needs) = if assigner.categories_of(j).is_some() {
        (CATEGORICAL_TYPES.contains(&typ), "text or a boolean")
    } else {
        (NUMERIC_TYPES.contains(&typ), "a number")
    };
    if !ok {
        raise(
            PgSqlErrorCode::ERRCODE_DATATYPE_MISMATCH,
            format!(
                "column \"{feature}\" has type {}, model \"{model}\" needs {needs}",
                type_name(typ)
            ),
            None,
        );
    }
}

/// Writes feature `j` of a row into the model's raw row: a number in its column, or the one-hot
/// columns of a categorical value; NULL as NaN.
///
/// # Safety
/// `datum` is a value of type `typ`, checked by `check_kind`.
#[inline]
pub(super) unsafe fn fill_feature(
    assigner: &Assigner,
    values: &mut [f64],
    j: usize,
    datum: Option<pg_sys::Datum>,
    typ: pg_sys::Oid,
) -> Result<(), f64> {
    let at = assigner.offset_of(j);
    match assigner.categories_of(j) {
        None => {
            values[at] = match datum {
                None => f64::NAN,
                Some(d) => {
                    let v = datum_to_f64(d, typ);
                    if !v.is_finite() {
                        // NaN in the row means NULL: the bad value is reported instead.
                        values[at] = f64::NAN;
                        return Err(v);
                    }
                    v
                }
            }
        }
        Some(known) => one_hot(
            known,
            datum.map(|d| category_bytes(d, typ)),
            &mut values[at..at + known.len()],
        ),
    }
    Ok(())
}

unsafe fn datum_to_f64(datum: pg_sys::Datum, typ: pg_sys::Oid) -> f64 {
    match typ {
        pg_sys::INT2OID => datum.value() as i16 as f64,
        pg_sys::INT4OID => datum.value() as i32 as f64,
        pg_sys::INT8OID => datum.value() as i64 as f64,
        pg_sys::FLOAT4OID => f32::from_bits(datum.value() as u32) as f64,
        pg_sys::FLOAT8OID => f64::from_bits(datum.value() as u64),
        // From its digits, not through text: source::numeric_f64 says why, with the figures.
        _ => numeric_f64(datum),
    }
}

/// The error of a NaN or infinite feature value (the cold path of every reader). Not the core's
/// `prep::matrix::not_finite`: a fit refuses such a row, an assign may give NULL instead, and
/// each hint says what the user can do there.
#[cold]
pub(super) fn not_finite(assigner: &Assigner, j: usize, v: f64) -> CoreError {
    CoreError::new(
        ErrorKind::InvalidData,
        format!(
            "column \"{}\" contains {}",
            assigner.features()[j],
            pg_float_text(v)
        ),
    )
    .with_hint(
        "Segments are defined for finite numbers; NULL follows the model's impute rule. \
         SET customer_segment.invalid_rows = 'null' to get NULL for such rows instead.",
    )
}

pub(super) fn missing_column(model: &str, feature: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
        format!("model \"{model}\" needs column \"{feature}\", which the row does not have"),
        Some("Pass a row that has every feature column of the model, e.g. segment_assign('model', t) for a table t."),
    )
}

pub(super) fn missing_group_column(model: &str, group_by: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_UNDEFINED_COLUMN,
        format!("model \"{model}\" is fitted per group of \"{group_by}\", which the row does not have"),
        Some("Pass a row that has the grouping column too, e.g. segment_assign('model', t) for a table t."),
    )
}
