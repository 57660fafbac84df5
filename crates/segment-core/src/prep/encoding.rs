//! One-hot encoding of text and boolean feature columns. A categorical feature with values
//! v1..vm becomes m matrix columns named "feature=v1".."feature=vm" (1 for its value, 0 for the
//! others); a value not seen at fit time is all zeros, a NULL is NULL in every column (and then
//! follows the impute option). Numeric features keep one column each.

use crate::error::{CoreError, CoreResult, ErrorKind};

/// Default and largest number of distinct values a categorical feature may have.
/// Longest identifier PostgreSQL keeps (NAMEDATALEN - 1 bytes): a longer one is cut, so no
/// column or relation the extension names has one.
pub const MAX_IDENTIFIER_BYTES: usize = 63;
pub const DEFAULT_MAX_CATEGORIES: u32 = 50;
pub const MAX_CATEGORIES: u32 = 1000;

/// The matrix columns of a list of features. `categories` is empty (all numeric) or has one
/// entry per feature: None for numeric, the sorted values for categorical.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub names: Vec<String>,
    /// First column of each feature.
    pub offsets: Vec<usize>,
}

impl Columns {
    pub fn of(features: &[String], categories: &[Option<Vec<String>>]) -> Columns {
        let mut names = Vec::new();
        let mut offsets = Vec::with_capacity(features.len());
        for (j, f) in features.iter().enumerate() {
            offsets.push(names.len());
            match categories.get(j).and_then(|c| c.as_ref()) {
                Some(values) => names.extend(values.iter().map(|v| format!("{f}={v}"))),
                None => names.push(f.clone()),
            }
        }
        Columns { names, offsets }
    }

    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The matrix columns of the numeric features, and each categorical feature's one-hot
    /// columns as (first column, number of values): how k-prototypes reads a row.
    pub fn split(&self, categories: &[Option<Vec<String>>]) -> (Vec<usize>, Vec<(usize, usize)>) {
        let (mut numeric, mut slices) = (Vec::new(), Vec::new());
        for (j, &at) in self.offsets.iter().enumerate() {
            match categories.get(j).and_then(|c| c.as_ref()) {
                Some(values) => slices.push((at, values.len())),
                None => numeric.push(at),
            }
        }
        (numeric, slices)
    }
}

/// Per matrix column: whether it takes log(1 + x) (numeric features named in `log` only).
pub fn column_log_mask(
    features: &[String],
    categories: &[Option<Vec<String>>],
    log: &[String],
) -> CoreResult<Vec<bool>> {
    let mut mask = Vec::new();
    for (j, f) in features.iter().enumerate() {
        match categories.get(j).and_then(|c| c.as_ref()) {
            Some(values) => {
                if log.contains(f) {
                    return Err(CoreError::invalid_parameter(format!(
                        "option log names \"{f}\", a text or boolean feature"
                    ))
                    .with_hint("The log option applies to numeric features only."));
                }
                mask.extend(std::iter::repeat_n(false, values.len()));
            }
            None => mask.push(log.contains(f)),
        }
    }
    Ok(mask)
}

/// Checks the distinct values found for a categorical feature (at most `max` + 1 are read).
pub fn check_categories(feature: &str, values: &[String], max: u32) -> CoreResult<()> {
    if values.len() > max as usize {
        return Err(CoreError::new(
            ErrorKind::InvalidData,
            format!(
                "text feature \"{feature}\" has more than {max} distinct values, too many to one-hot encode"
            ),
        )
        .with_hint(format!(
            "Group rare values in a view, leave the column out, or raise the max_categories option (at most {MAX_CATEGORIES})."
        )));
    }
    if values.is_empty() {
        return Err(CoreError::new(
            ErrorKind::InsufficientData,
            format!("text feature \"{feature}\" is NULL in every row"),
        )
        .with_hint("Remove the column from the features array."));
    }
    Ok(())
}

/// Characters a blank text value is made of, and that may pad a number stored as text: what
/// `number_cast` trims before the cast (float8's input skips them around a number too).
pub const BLANKS: [char; 4] = [' ', '\t', '\r', '\n'];

/// What a text value looks like, to spot a number stored as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextShape {
    /// Empty, or only `BLANKS` (a spreadsheet's empty cell: `' '` for a new customer's total).
    Blank,
    /// A plain decimal number, possibly padded with `BLANKS`: an optional sign, digits with an
    /// optional point and digits (or a point and digits), an optional exponent. Not a number
    /// here: `NaN`, `Infinity`, thousands separators, decimal commas, currency signs.
    Number,
    Other,
}

/// `text_shape(v) != TextShape::Other` as a regular expression for PostgreSQL's `~`: the test of
/// a whole column in SQL when only some of its distinct values were read.
pub const NUMBER_OR_BLANK_REGEX: &str =
    r"^[ \t\r\n]*([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)?[ \t\r\n]*$";

pub fn text_shape(v: &str) -> TextShape {
    let v = v.trim_matches(BLANKS);
    if v.is_empty() {
        return TextShape::Blank;
    }
    let b = v.as_bytes();
    let mut i = usize::from(b[0] == b'+' || b[0] == b'-');
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut mantissa = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        mantissa += digits(&mut i);
    }
    if mantissa == 0 {
        return TextShape::Other;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return TextShape::Other;
        }
    }
    if i == b.len() {
        TextShape::Number
    } else {
        TextShape::Other
    }
}

/// Whether the distinct values of a text column look like numbers stored as text: each one a
/// number or blank, and at least one a number. Returns the first number then.
pub fn numbers_as_text(values: &[String]) -> Option<&str> {
    let mut first = None;
    for v in values {
        match text_shape(v) {
            TextShape::Other => return None,
            TextShape::Number if first.is_none() => first = Some(v.as_str()),
            _ => {}
        }
    }
    first
}

/// The SQL expression that reads a number stored as text (`quoted_column`, already quoted) as
/// float8, blanks as NULL: `NULLIF(btrim(x), '')::float8`, which a `' '` would fail without the
/// btrim. `other_blanks`: some values hold tabs or line breaks as well as spaces, which btrim
/// removes only when told.
pub fn number_cast(quoted_column: &str, other_blanks: bool) -> String {
    if other_blanks {
        format!("NULLIF(btrim({quoted_column}, E' \\t\\r\\n'), '')::float8")
    } else {
        format!("NULLIF(btrim({quoted_column}), '')::float8")
    }
}

/// Writes the one-hot columns of one categorical value into `out` (its `values.len()` slots):
/// NaN everywhere for NULL, zeros for a value not among `values`.
#[inline]
pub fn one_hot(values: &[String], value: Option<&[u8]>, out: &mut [f64]) {
    match value {
        None => out.fill(f64::NAN),
        Some(v) => {
            for (slot, known) in out.iter_mut().zip(values) {
                *slot = if known.as_bytes() == v { 1.0 } else { 0.0 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_and_one_hot() {
        let features = vec!["spend".to_string(), "channel".to_string()];
        let cats = vec![None, Some(vec!["retail".to_string(), "web".to_string()])];
        let c = Columns::of(&features, &cats);
        assert_eq!(c.names, vec!["spend", "channel=retail", "channel=web"]);
        assert_eq!(c.offsets, vec![0, 1]);
        assert_eq!(Columns::of(&features, &[]).names, features);
        let mut out = [9.0; 2];
        one_hot(&cats[1].clone().unwrap(), Some(b"web"), &mut out);
        assert_eq!(out, [0.0, 1.0]);
        one_hot(&cats[1].clone().unwrap(), Some(b"phone"), &mut out);
        assert_eq!(out, [0.0, 0.0]);
        one_hot(&cats[1].clone().unwrap(), None, &mut out);
        assert!(out.iter().all(|v| v.is_nan()));
        assert_eq!(
            column_log_mask(&features, &cats, &["spend".into()]).unwrap(),
            vec![true, false, false]
        );
        assert!(column_log_mask(&features, &cats, &["channel".into()]).is_err());
        let many: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        let e = check_categories("city", &many, 50).unwrap_err();
        assert!(e.message.contains("more than 50"), "{}", e.message);
    }

    #[test]
    fn text_shapes() {
        use TextShape::*;
        for v in ["", " ", "   ", "\t", " \r\n "] {
            assert_eq!(text_shape(v), Blank, "{v:?}");
        }
        for v in [
            "0",
            "18.8",
            " 1397.475 ",
            "-3",
            "+3",
            "1.",
            ".5",
            "1e5",
            "2.5E-3",
            "\t42\n",
            "007",
        ] {
            assert_eq!(text_shape(v), Number, "{v:?}");
        }
        for v in [
            "NaN", "inf", "Infinity", "-", ".", "e5", "1e", "1e+", "1,5", "1 000", "$5", "5%",
            "0x1F", "1.2.3", "--1", "\u{a0}5", "5\u{a0}", "12a", "Yes",
        ] {
            assert_eq!(text_shape(v), Other, "{v:?}");
        }
    }

    #[test]
    fn numbers_as_text_allows_blanks_but_needs_a_number() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The telco export: ' ' for a new customer's TotalCharges, sorted first.
        assert_eq!(
            numbers_as_text(&strings(&[" ", "18.8", "1397.475"])),
            Some("18.8")
        );
        assert_eq!(numbers_as_text(&strings(&["", "\t", "7"])), Some("7"));
        assert_eq!(numbers_as_text(&strings(&[" ", ""])), None);
        assert_eq!(numbers_as_text(&strings(&["1", "2", "n/a"])), None);
        assert_eq!(numbers_as_text(&strings(&["No", "Yes"])), None);
        assert_eq!(numbers_as_text(&[]), None);
    }

    #[test]
    fn number_cast_trims_what_blanks_hold() {
        assert_eq!(
            number_cast("\"TotalCharges\"", false),
            r#"NULLIF(btrim("TotalCharges"), '')::float8"#
        );
        assert_eq!(
            number_cast("total", true),
            r"NULLIF(btrim(total, E' \t\r\n'), '')::float8"
        );
    }
}
