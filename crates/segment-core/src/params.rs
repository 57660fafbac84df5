//! Options arrive as one `options jsonb` argument per SQL function; every feature's options are
//! parsed from here. An options object is read key by key against the keys a function knows,
//! each with the kind of value it takes ([`Given::read`]): an unknown key is refused with the
//! nearest known one as a hint, a value of the wrong kind with the kind in plain words ("a
//! positive integer", never a Rust type). What a value means and which values are in range is
//! then the business of the parameter struct that takes it, checked by [`ParamGuard::check`]
//! (linfa's pattern), and which keys apply to which method of the caller ([`does_not_apply`]).

use crate::error::{CoreError, CoreResult};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::BTreeMap;

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

/// linfa's guard between parameters as given and parameters a method may fit with: each method's
/// options (`cluster::kmeans::KMeansOptions`, ...) are the unchecked value, and `check` is the
/// only way to the checked one (`KMeansMethod`, ...), whose fields the rest of the program cannot
/// set. Errors name the option at fault.
pub use linfa::ParamGuard;

/// The kind of value an option takes, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (read as u64). Its lower bound (1 or 2) is the option's own range check,
    /// whose message gives the whole range.
    PositiveInteger,
    /// A whole number >= 0 (seeds).
    NonNegativeInteger,
    /// Any JSON number.
    Number,
    /// Any string.
    Text,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// An array of strings.
    Strings,
    /// true or false.
    Boolean,
}

impl Kind {
    /// The kind in plain words: "a positive integer", "\"zscore\", \"minmax\" or \"none\"".
    pub fn words(&self) -> String {
        match self {
            Kind::PositiveInteger => "a positive integer".into(),
            Kind::NonNegativeInteger => "an integer >= 0".into(),
            Kind::Number => "a number".into(),
            Kind::Text => "a string".into(),
            Kind::OneOf(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
                match quoted.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => quoted.join(""),
                }
            }
            Kind::Strings => "an array of strings".into(),
            Kind::Boolean => "true or false".into(),
        }
    }
}

/// One key a function's options know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub name: &'static str,
    pub kind: Kind,
    /// Whether JSON null is taken as the key left out (options without a default value, which
    /// stored options write as null).
    pub nullable: bool,
}

impl Key {
    pub const fn new(name: &'static str, kind: Kind) -> Key {
        Key {
            name,
            kind,
            nullable: false,
        }
    }

    pub const fn nullable(name: &'static str, kind: Kind) -> Key {
        Key {
            name,
            kind,
            nullable: true,
        }
    }
}

/// A value of the kind its key takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Integer(u64),
    Number(f64),
    Text(String),
    Strings(Vec<String>),
    Boolean(bool),
}

/// An options object read key by key: the keys given (a null one of a nullable key counts as
/// left out), each with a value of its kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Given {
    values: BTreeMap<&'static str, Typed>,
}

impl Given {
    /// Reads the options text (see [`options_object`]) against `keys`.
    pub fn from_json(text: &str, hint: Option<&str>, keys: &[Key]) -> CoreResult<Given> {
        Given::read(&options_object(text, hint)?, keys)
    }

    /// Reads a JSON object against `keys`: an unknown key is an error with the nearest known
    /// one as its hint, a value of another kind an error naming the key and the kind.
    pub fn read(object: &Value, keys: &[Key]) -> CoreResult<Given> {
        let Some(object) = object.as_object() else {
            return Err(CoreError::invalid_parameter(format!(
                "options must be a JSON object, not {object}"
            )));
        };
        let mut values = BTreeMap::new();
        for (name, value) in object {
            let Some(key) = keys.iter().find(|k| k.name == name) else {
                let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
                return Err(unknown_option(name, &names));
            };
            if value.is_null() && key.nullable {
                continue;
            }
            values.insert(key.name, typed(key, value)?);
        }
        Ok(Given { values })
    }

    /// Whether the key was given (not null).
    pub fn has(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// The keys given, in byte order.
    pub fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.keys().copied()
    }

    /// The value of an integer key, if given.
    pub fn integer(&self, key: &str) -> Option<u64> {
        match self.values.get(key)? {
            Typed::Integer(v) => Some(*v),
            other => kind_mismatch(key, "an integer", other),
        }
    }

    /// The value of a number key, if given.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.values.get(key)? {
            Typed::Number(v) => Some(*v),
            other => kind_mismatch(key, "a number", other),
        }
    }

    /// The value of a string key (also one of a list), if given.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.values.get(key)? {
            Typed::Text(v) => Some(v),
            other => kind_mismatch(key, "a string", other),
        }
    }

    /// The value of an array-of-strings key, if given.
    pub fn strings(&self, key: &str) -> Option<&[String]> {
        match self.values.get(key)? {
            Typed::Strings(v) => Some(v),
            other => kind_mismatch(key, "strings", other),
        }
    }

    /// The value of a boolean key, if given.
    pub fn boolean(&self, key: &str) -> Option<bool> {
        match self.values.get(key)? {
            Typed::Boolean(v) => Some(*v),
            other => kind_mismatch(key, "a boolean", other),
        }
    }

    /// The value of a one-of-a-list key as the enum whose serde names are that list.
    pub fn choice<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let text = self.text(key)?;
        Some(
            serde_json::from_value(Value::String(text.to_string())).unwrap_or_else(|e| {
                panic!("option {key}: \"{text}\" is in its list but not a value ({e})")
            }),
        )
    }
}

/// A key read as another kind than its own: the declaring code is wrong, not the caller.
fn kind_mismatch<T>(key: &str, asked: &str, got: &Typed) -> T {
    panic!("option {key} is read as {asked} but holds {got:?}")
}

fn typed(key: &Key, value: &Value) -> CoreResult<Typed> {
    let wrong = || wrong_kind(key.name, &key.kind, value);
    Ok(match key.kind {
        Kind::PositiveInteger | Kind::NonNegativeInteger => {
            Typed::Integer(value.as_u64().ok_or_else(wrong)?)
        }
        Kind::Number => Typed::Number(value.as_f64().ok_or_else(wrong)?),
        Kind::Text => Typed::Text(value.as_str().ok_or_else(wrong)?.to_string()),
        Kind::OneOf(values) => {
            let v = value.as_str().ok_or_else(wrong)?;
            if !values.contains(&v) {
                let e = wrong();
                return Err(match nearest(v, values) {
                    Some(n) => e.with_hint(format!("Did you mean \"{n}\"?")),
                    None => e,
                });
            }
            Typed::Text(v.to_string())
        }
        Kind::Strings => Typed::Strings(
            value
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|s| s.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(wrong)?,
        ),
        Kind::Boolean => Typed::Boolean(value.as_bool().ok_or_else(wrong)?),
    })
}

/// A JSON value in words, for errors: `the string "20"`, `the number 2.5`, `null`.
pub fn describe(value: &Value) -> String {
    let json = |v: &Value| {
        let text = v.to_string();
        match text.char_indices().nth(60) {
            Some((at, _)) => format!("{}...", &text[..at]),
            None => text,
        }
    };
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => format!("the string {}", json(value)),
        Value::Array(_) => format!("the array {}", json(value)),
        Value::Object(_) => format!("the object {}", json(value)),
    }
}

/// `n_init must be a positive integer, got the string "20"`.
pub fn wrong_kind(key: &str, kind: &Kind, got: &Value) -> CoreError {
    CoreError::invalid_parameter(format!(
        "{key} must be {}, got {}",
        kind.words(),
        describe(got)
    ))
}

/// `unknown option "n_inti"`, with the nearest known key as the hint (else every known key).
pub fn unknown_option(key: &str, known: &[&str]) -> CoreError {
    let e = CoreError::invalid_parameter(format!("unknown option \"{key}\""));
    match nearest(key, known) {
        Some(n) => e.with_hint(format!("Did you mean \"{n}\"?")),
        None if known.is_empty() => e.with_hint("This function takes no options."),
        None => e.with_hint(format!("Known options: {}.", known.join(", "))),
    }
}

/// `option "batch_size" does not apply to method kmeans`, with the keys that do as the hint.
/// `what` is what the options are for ("method kmeans").
pub fn does_not_apply(key: &str, what: &str, applicable: &[&str]) -> CoreError {
    CoreError::invalid_parameter(format!("option \"{key}\" does not apply to {what}"))
        .with_hint(format!("Options of {what}: {}.", applicable.join(", ")))
}

/// A range check's error: `option n_init must be between 1 and 1000, not 0`.
pub fn check_range(key: &str, value: u64, min: u64, max: u64) -> CoreResult<()> {
    if value < min || value > max {
        return Err(CoreError::invalid_parameter(format!(
            "option {key} must be between {min} and {max}, not {value}"
        )));
    }
    Ok(())
}

/// The candidate nearest to `word` (case aside), if near enough to be a typing slip: at most one
/// edit for words of up to four letters, two for longer ones (a swap of two neighbours is one
/// edit). Ties go to the earlier candidate.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let word = word.to_lowercase();
    let most = if word.chars().count() <= 4 { 1 } else { 2 };
    candidates
        .iter()
        .map(|c| (edit_distance(&word, &c.to_lowercase()), *c))
        .filter(|&(d, _)| d <= most)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`: the optimal string
/// alignment distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| (0..=b.len()).map(|j| if i == 0 { j } else { i }).collect())
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const KEYS: [Key; 7] = [
        Key::new("n_init", Kind::PositiveInteger),
        Key::new("seed", Kind::NonNegativeInteger),
        Key::new("tol", Kind::Number),
        Key::new("scale", Kind::OneOf(&["zscore", "minmax", "none"])),
        Key::new("log", Kind::Strings),
        Key::nullable("group_by", Kind::Text),
        Key::new("verbose", Kind::Boolean),
    ];

    fn read(text: &str) -> CoreResult<Given> {
        Given::from_json(text, None, &KEYS)
    }

    fn message(text: &str) -> (String, Option<String>) {
        let e = read(text).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter, "{text}");
        (e.message, e.hint)
    }

    #[test]
    fn values_are_read_with_their_kinds() {
        let g = read(
            r#"{"n_init": 20, "seed": 0, "tol": 1, "scale": "none", "log": ["a", "b"],
                "group_by": "region", "verbose": true}"#,
        )
        .unwrap();
        assert_eq!(g.integer("n_init"), Some(20));
        assert_eq!(g.integer("seed"), Some(0));
        assert_eq!(g.number("tol"), Some(1.0));
        assert_eq!(g.text("scale"), Some("none"));
        assert_eq!(g.strings("log").unwrap(), ["a", "b"]);
        assert_eq!(g.text("group_by"), Some("region"));
        assert_eq!(g.boolean("verbose"), Some(true));
        assert_eq!(g.keys().count(), 7);
        let g = read("{}").unwrap();
        assert!(!g.has("n_init") && g.integer("n_init").is_none());
        // null is "left out" for a nullable key only.
        assert!(!read(r#"{"group_by": null}"#).unwrap().has("group_by"));
        assert_eq!(
            message(r#"{"n_init": null}"#).0,
            "n_init must be a positive integer, got null"
        );
    }

    #[test]
    fn a_wrong_kind_is_named_in_plain_words() {
        for (text, expected) in [
            (
                r#"{"n_init": "20"}"#,
                r#"n_init must be a positive integer, got the string "20""#,
            ),
            (
                r#"{"n_init": 2.5}"#,
                "n_init must be a positive integer, got the number 2.5",
            ),
            (
                r#"{"n_init": -1}"#,
                "n_init must be a positive integer, got the number -1",
            ),
            (
                r#"{"seed": 1e30}"#,
                "seed must be an integer >= 0, got the number 1e+30",
            ),
            (
                r#"{"tol": "0.1"}"#,
                r#"tol must be a number, got the string "0.1""#,
            ),
            (
                r#"{"scale": 3}"#,
                r#"scale must be "zscore", "minmax" or "none", got the number 3"#,
            ),
            (
                r#"{"log": "amount"}"#,
                r#"log must be an array of strings, got the string "amount""#,
            ),
            (
                r#"{"log": ["a", 1]}"#,
                r#"log must be an array of strings, got the array ["a",1]"#,
            ),
            (
                r#"{"group_by": {"a": 1}}"#,
                r#"group_by must be a string, got the object {"a":1}"#,
            ),
            (
                r#"{"verbose": "yes"}"#,
                r#"verbose must be true or false, got the string "yes""#,
            ),
            (
                r#"{"n_init": true}"#,
                "n_init must be a positive integer, got the boolean true",
            ),
        ] {
            let (m, _) = message(text);
            assert_eq!(m, expected, "{text}");
            for rust in ["u32", "u64", "f64", "i64", "usize", "sequence", "variant"] {
                assert!(!m.contains(rust), "{m}");
            }
        }
        // A long value is cut.
        let long = format!(r#"{{"tol": "{}"}}"#, "x".repeat(200));
        assert!(message(&long).0.ends_with("...") && message(&long).0.len() < 120);
    }

    #[test]
    fn a_value_not_in_the_list_suggests_the_nearest() {
        let (m, h) = message(r#"{"scale": "minimax"}"#);
        assert_eq!(
            m,
            r#"scale must be "zscore", "minmax" or "none", got the string "minimax""#
        );
        assert_eq!(h.as_deref(), Some(r#"Did you mean "minmax"?"#));
        assert_eq!(message(r#"{"scale": "logarithmic"}"#).1, None);
    }

    #[test]
    fn an_unknown_key_suggests_the_nearest_known_one() {
        for (key, nearest) in [
            ("n_inti", "n_init"),
            ("n_inits", "n_init"),
            ("N_INIT", "n_init"),
            ("sede", "seed"),
            ("tl", "tol"),
            ("groupby", "group_by"),
        ] {
            let (m, h) = message(&format!(r#"{{"{key}": 1}}"#));
            assert_eq!(m, format!("unknown option \"{key}\""));
            assert_eq!(h, Some(format!("Did you mean \"{nearest}\"?")), "{key}");
        }
        let (m, h) = message(r#"{"colour": 1}"#);
        assert_eq!(m, "unknown option \"colour\"");
        assert_eq!(
            h.as_deref(),
            Some("Known options: n_init, seed, tol, scale, log, group_by, verbose.")
        );
        assert_eq!(
            Given::from_json(r#"{"x": 1}"#, None, &[])
                .unwrap_err()
                .hint
                .as_deref(),
            Some("This function takes no options.")
        );
    }

    #[test]
    fn not_an_object_is_refused() {
        assert!(message("[1, 2]").0.contains("must be a JSON object"));
        assert!(message("not json").0.contains("not valid JSON"));
        let e = Given::read(&serde_json::json!([1]), &KEYS).unwrap_err();
        assert_eq!(e.message, "options must be a JSON object, not [1]");
    }

    #[test]
    fn does_not_apply_names_the_key_and_what_applies() {
        let e = does_not_apply("batch_size", "method kmeans", &["n_init", "tol"]);
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        assert_eq!(
            e.message,
            r#"option "batch_size" does not apply to method kmeans"#
        );
        assert_eq!(
            e.hint.as_deref(),
            Some("Options of method kmeans: n_init, tol.")
        );
    }

    #[test]
    fn edit_distance_counts_a_swap_as_one() {
        assert_eq!(edit_distance("n_inti", "n_init"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(nearest("x", &["tol", "eps"]), None);
        // Short words: one edit at most.
        assert_eq!(nearest("lot", &["tol", "log"]), Some("log"));
        assert_eq!(nearest("xog", &["tol"]), None);
    }

    #[test]
    fn check_range_gives_the_range() {
        assert!(check_range("n_init", 5, 1, 10).is_ok());
        assert_eq!(
            check_range("n_init", 0, 1, 10).unwrap_err().message,
            "option n_init must be between 1 and 10, not 0"
        );
    }
}
