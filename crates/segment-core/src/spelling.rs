//! "Did you mean" hints for a name that is not there: a column of the source, a model, an
//! option key. The distance is `params::edit_distance` (insert, delete, substitute, swap two
//! neighbours), the threshold `params::nearest`'s (one edit for names of up to four letters, two
//! for longer ones, case aside).

use crate::params::nearest;

/// The hint for `name`, which is not among `names`: "Column names are case sensitive: did you
/// mean "Tenure"?" when it differs from one of them by case only, "Did you mean "tenure"?" when
/// it is one or two slips of typing from one (the nearest; the earlier on a tie), None
/// otherwise. `what` starts the sentence about case: "Column", "Model".
pub fn did_you_mean(what: &str, name: &str, names: &[&str]) -> Option<String> {
    let lower = name.to_lowercase();
    if let Some(same) = names.iter().find(|n| n.to_lowercase() == lower) {
        return Some(format!(
            "{what} names are case sensitive: did you mean \"{same}\"?"
        ));
    }
    nearest(name, names).map(|n| format!("Did you mean \"{n}\"?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TELCO: [&str; 5] = [
        "customerID",
        "tenure",
        "MonthlyCharges",
        "TotalCharges",
        "Churn",
    ];

    #[test]
    fn a_case_difference_names_the_column() {
        assert_eq!(
            did_you_mean("Column", "totalcharges", &TELCO).as_deref(),
            Some(r#"Column names are case sensitive: did you mean "TotalCharges"?"#)
        );
        assert_eq!(
            did_you_mean("Model", "KM", &["segments", "km"]).as_deref(),
            Some(r#"Model names are case sensitive: did you mean "km"?"#)
        );
    }

    #[test]
    fn a_slip_of_typing_names_the_nearest() {
        // A letter missing, a swap, a letter wrong, case too.
        assert_eq!(
            did_you_mean("Column", "tenur", &TELCO).as_deref(),
            Some(r#"Did you mean "tenure"?"#)
        );
        assert_eq!(
            did_you_mean("Column", "MonthlyChagres", &TELCO).as_deref(),
            Some(r#"Did you mean "MonthlyCharges"?"#)
        );
        assert_eq!(
            did_you_mean("Column", "churm", &TELCO).as_deref(),
            Some(r#"Did you mean "Churn"?"#)
        );
        // The nearest of several within reach wins.
        assert_eq!(
            did_you_mean("Model", "segment_k3", &["segments_k4", "segments_k3"]).as_deref(),
            Some(r#"Did you mean "segments_k3"?"#)
        );
    }

    #[test]
    fn nothing_near_gives_no_guess() {
        assert_eq!(did_you_mean("Column", "revenue", &TELCO), None);
        // Short names take one edit at most: "ten" is three from "tenure".
        assert_eq!(did_you_mean("Column", "ten", &TELCO), None);
        assert_eq!(did_you_mean("Model", "km2x", &["km"]), None);
        assert_eq!(did_you_mean("Model", "km", &[]), None);
    }
}
