//! The grouping query of `segment_summary` (`analysis::summary` does the arithmetic on its rows).

use super::{quote_ident, quote_literal};

/// A measure column of the source: summed as a number, a boolean as 0 / 1 (so that the mean of
/// `churned` is the churn rate).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub column: String,
    pub boolean: bool,
}

/// One row per (group, segment) of `source` (already quoted, as the catalog gives it): the
/// grouping column's value as text (NULL for one model), the segment `segment_assign` gives the
/// row (`ext` is the extension's quoted schema), the rows, then per measure its sum as float8
/// and how many rows have a value. `only`: just the rows whose column (first), as text, is the
/// value (second) — a group model's rows. Sorted by group and segment, the rows with no segment
/// last. The model's name goes in as a literal so that the planner can rewrite the call and Citus
/// ship the model with the query to the shards.
pub fn query(
    ext: &str,
    model: &str,
    source: &str,
    group_by: Option<&str>,
    only: Option<(&str, &str)>,
    measures: &[Measure],
) -> String {
    let group = match group_by {
        Some(column) => format!("s.{}::text", quote_ident(column)),
        None => "NULL::text".to_string(),
    };
    let mut select = vec![
        group,
        format!("{ext}.segment_assign({}, s.*)", quote_literal(model)),
        "count(*)".to_string(),
    ];
    for m in measures {
        let column = format!("s.{}", quote_ident(&m.column));
        let value = if m.boolean {
            format!("{column}::int4")
        } else {
            column.clone()
        };
        select.push(format!("coalesce(sum({value}), 0)::float8"));
        select.push(format!("count({column})"));
    }
    let filter = only
        .map(|(column, value)| {
            format!(
                " WHERE s.{}::text = {}",
                quote_ident(column),
                quote_literal(value)
            )
        })
        .unwrap_or_default();
    format!(
        "SELECT {} FROM {source} s{filter} GROUP BY 1, 2 ORDER BY 1, 2",
        select.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_names_are_quoted() {
        let q = query(
            "cs",
            "it's",
            "public.t",
            Some("re\"gion"),
            Some(("re\"gion", "O'Porto")),
            &[
                Measure {
                    column: "Revenue".into(),
                    boolean: false,
                },
                Measure {
                    column: "churned".into(),
                    boolean: true,
                },
            ],
        );
        assert_eq!(
            q,
            "SELECT s.\"re\"\"gion\"::text, cs.segment_assign('it''s', s.*), count(*), \
             coalesce(sum(s.\"Revenue\"), 0)::float8, count(s.\"Revenue\"), \
             coalesce(sum(s.\"churned\"::int4), 0)::float8, count(s.\"churned\") \
             FROM public.t s WHERE s.\"re\"\"gion\"::text = 'O''Porto' GROUP BY 1, 2 ORDER BY 1, 2"
        );
    }

    #[test]
    fn one_model_without_measures() {
        assert_eq!(
            query("cs", "m", "public.t", None, None, &[]),
            "SELECT NULL::text, cs.segment_assign('m', s.*), count(*) FROM public.t s GROUP BY 1, 2 ORDER BY 1, 2"
        );
    }
}
