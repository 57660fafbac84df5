//! Per-group models (`segment_fit` with the `group_by` option): one ordinary model per value of a
//! grouping column, stored under the name `<model>/<value>`, and an index document stored as the
//! model itself that says which version of which group model a row of each value uses.
//!
//! Each group is a full model of its own, so every function that reads a model (profile, labels,
//! drift, plots, export) works on a group by its name; only the index is new. The index pins the
//! group models' versions, so refitting or relabelling one group model by hand does not change
//! what the per-group model assigns until the per-group model itself is refitted.

use crate::cluster::kmeans::KChoice;
use crate::error::{CoreError, CoreResult, ErrorKind};
use crate::model::document::{check_format, is_index, Meaning, Method, GROUPED};
use crate::model::options::{FitOptions, MethodParams};
use serde::{Deserialize, Serialize};

/// Most distinct values a grouping column may have: each is a model in the catalog.
pub const MAX_GROUPS: usize = 10_000;

/// The stored document of a per-group model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupIndex {
    pub format_version: u32,
    /// Always `GROUPED`.
    pub method: String,
    /// The method every group model was fitted with.
    pub group_method: Method,
    /// The grouping column: a row's value of it, as text, picks the group model.
    pub group_by: String,
    pub features: Vec<String>,
    /// The k asked for (None: each group chose its own, or dbscan found it); a refit asks again.
    pub k: Option<u32>,
    /// Sorted by value (byte order), values unique.
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The grouping column's value as text (its output function's form).
    pub value: String,
    /// Usable rows of this value (after NULL features were skipped or imputed).
    pub rows: u64,
    /// The group model and the version this index uses; None for a group with too few rows,
    /// whose rows get no segment.
    pub model: Option<String>,
    pub version: Option<i32>,
}

/// The name of the model of one group.
pub fn member_name(model: &str, value: &str) -> String {
    format!("{model}/{value}")
}

/// An integer's decimal text, as int8out writes it (how `segment_assign` reads an integer group
/// value without calling the output function).
pub fn decimal_text(v: i64, digits: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    &digits[at..]
}

/// The fewest usable rows a group needs to be fitted: what the method needs for its k (or for
/// choosing k, or dbscan's min_points), raised by the `min_group_rows` option.
pub fn min_rows(options: &FitOptions) -> u64 {
    let method_needs = match options.params() {
        MethodParams::Dbscan(p) => p.min_points() as u64,
        MethodParams::Kmeans(p) => match p.k() {
            KChoice::Given(k) => k as u64,
            // auto_k needs 3 rows and k_min below the rows.
            KChoice::Scan(range) => (range.k_min() as u64 + 1).max(3),
        },
        other => other.k().unwrap_or(1) as u64,
    };
    method_needs.max(options.min_group_rows().unwrap_or(1) as u64)
}

fn bad_index(message: String) -> CoreError {
    CoreError::new(ErrorKind::BadModel, message)
        .with_hint("Refit the model with segment_refit, or drop it with segment_drop.")
}

impl GroupIndex {
    /// Its features, its groups' method and the grouping column.
    pub fn meaning(&self) -> Meaning {
        Meaning {
            features: self.features.clone(),
            method: self.group_method.name().to_string(),
            group_by: Some(self.group_by.clone()),
            label: None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a group index always serializes")
    }

    /// Reads a stored index, refusing other format versions and inconsistent contents.
    pub fn from_json(text: &str) -> CoreResult<GroupIndex> {
        let document = serde_json::from_str(text)
            .map_err(|e| bad_index(format!("stored per-group model is not valid JSON: {e}")))?;
        Self::from_value(document)
    }

    /// A stored model document read as an index if it is one (its method is `GROUPED`), None
    /// when it is another kind of model: one parse for either answer.
    pub fn if_index(text: &str) -> CoreResult<Option<GroupIndex>> {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(document) if is_index(&document) => Self::from_value(document).map(Some),
            _ => Ok(None),
        }
    }

    pub fn from_value(document: serde_json::Value) -> CoreResult<GroupIndex> {
        check_format(&document, "stored per-group model").map_err(bad_index)?;
        let index: GroupIndex = serde_json::from_value(document)
            .map_err(|e| bad_index(format!("stored per-group model is malformed: {e}")))?;
        index.validate().map_err(bad_index)?;
        Ok(index)
    }

    fn validate(&self) -> Result<(), String> {
        if self.method != GROUPED || self.group_by.is_empty() || self.features.is_empty() {
            return Err("stored per-group model has no grouping column or features".into());
        }
        if self.groups.windows(2).any(|w| w[0].value >= w[1].value) {
            return Err("stored per-group model's groups are not sorted and unique".into());
        }
        if self.groups.len() > MAX_GROUPS {
            return Err(format!(
                "stored per-group model has more than {MAX_GROUPS} groups"
            ));
        }
        for g in &self.groups {
            match (&g.model, g.version) {
                (Some(m), Some(v)) if v > 0 && !m.is_empty() => {}
                (None, None) => {}
                _ => {
                    return Err(format!(
                        "stored per-group model's group \"{}\" has no valid model version",
                        g.value
                    ))
                }
            }
        }
        if !self.groups.iter().any(|g| g.model.is_some()) {
            return Err("stored per-group model has no fitted group".into());
        }
        Ok(())
    }

    /// The group of a value (its text bytes), by binary search.
    pub fn find(&self, value: &[u8]) -> Option<usize> {
        self.groups
            .binary_search_by(|g| g.value.as_bytes().cmp(value))
            .ok()
    }

    /// The group models this index uses, with their versions.
    /// Checks that every group model is the one the per-group model `parent` makes for its
    /// value (`member_name`): an index naming any other model (planted, or edited by hand)
    /// would make a drop of `parent` drop that model, and an assign read it.
    pub fn check_members(&self, parent: &str) -> Result<(), String> {
        match self.groups.iter().find(|g| {
            g.model
                .as_ref()
                .is_some_and(|m| *m != member_name(parent, &g.value))
        }) {
            None => Ok(()),
            Some(g) => Err(format!(
                "its group \"{}\" names model \"{}\", not \"{}\"",
                g.value.escape_default(),
                g.model.as_deref().unwrap_or_default().escape_default(),
                member_name(parent, &g.value).escape_default()
            )),
        }
    }

    pub fn members(&self) -> impl Iterator<Item = (&str, i32)> {
        self.groups
            .iter()
            .filter_map(|g| Some((g.model.as_deref()?, g.version?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::document::FORMAT_VERSION;

    fn index() -> GroupIndex {
        GroupIndex {
            format_version: FORMAT_VERSION,
            method: GROUPED.into(),
            group_method: Method::Kmeans,
            group_by: "region".into(),
            features: vec!["spend".into()],
            k: Some(3),
            groups: vec![
                Group {
                    value: "EU".into(),
                    rows: 40,
                    model: Some("m/EU".into()),
                    version: Some(2),
                },
                Group {
                    value: "US".into(),
                    rows: 2,
                    model: None,
                    version: None,
                },
            ],
        }
    }

    /// Group models are the parent's own: "m/EU" under "m"; any other name is refused.
    #[test]
    fn members_are_the_parents_own() {
        let i = index();
        assert_eq!(i.check_members("m"), Ok(()));
        assert!(i.check_members("other").unwrap_err().contains("\"m/EU\""));
        let mut planted = index();
        planted.groups[0].model = Some("victim".into());
        assert!(planted.check_members("m").unwrap_err().contains("victim"));
    }

    #[test]
    fn round_trip_and_lookup() {
        let i = index();
        let back = GroupIndex::from_json(&i.to_json()).unwrap();
        assert_eq!(back, i);
        assert!(is_index(&serde_json::from_str(&i.to_json()).unwrap()));
        assert_eq!(i.find(b"EU"), Some(0));
        assert_eq!(i.find(b"US"), Some(1));
        assert_eq!(i.find(b"eu"), None);
        assert_eq!(i.members().collect::<Vec<_>>(), vec![("m/EU", 2)]);
        assert_eq!(member_name("m", "EU"), "m/EU");
    }

    #[test]
    fn inconsistent_documents_are_refused() {
        let mut unsorted = index();
        unsorted.groups.swap(0, 1);
        let mut half = index();
        half.groups[1].version = Some(1);
        let mut none_fitted = index();
        none_fitted.groups.remove(0);
        let mut future = index();
        future.format_version = FORMAT_VERSION + 1;
        for bad in [unsorted, half, none_fitted, future] {
            let e = GroupIndex::from_json(&bad.to_json()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadModel, "{bad:?}");
        }
        assert!(GroupIndex::from_json(r#"{"method": "grouped"}"#).is_err());
        assert!(GroupIndex::if_index(r#"{"method": "grouped"}"#).is_err());
        assert_eq!(GroupIndex::if_index(r#"{"method": "kmeans"}"#), Ok(None));
        assert_eq!(GroupIndex::if_index(&index().to_json()), Ok(Some(index())));
    }

    #[test]
    fn decimal_text_writes_integers_like_int8out() {
        let mut digits = [0u8; 20];
        for v in [
            0i64,
            7,
            -7,
            10,
            1234567,
            i64::MAX,
            i64::MIN,
            i32::MIN as i64,
        ] {
            assert_eq!(
                decimal_text(v, &mut digits),
                v.to_string().as_bytes(),
                "{v}"
            );
        }
    }

    #[test]
    fn min_rows_follow_the_method() {
        let o = |text: &str, k: Option<i64>| FitOptions::for_fit(text, k).unwrap();
        assert_eq!(min_rows(&o("{}", Some(4))), 4);
        assert_eq!(min_rows(&o("{}", None)), 3); // k_min 2: three rows choose k
        assert_eq!(min_rows(&o(r#"{"k_min": 5}"#, None)), 6);
        let grouped = r#"{"group_by": "region", "min_group_rows": 100}"#;
        assert_eq!(min_rows(&o(grouped, Some(4))), 100);
        assert_eq!(min_rows(&o(r#"{"method": "gmm"}"#, Some(7))), 7);
        assert_eq!(min_rows(&o(r#"{"method": "dbscan", "eps": 0.5}"#, None)), 5);
    }
}
