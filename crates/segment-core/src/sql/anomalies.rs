//! The query of `segment_anomalies`: the rows of a source that fit no segment, the farthest
//! first (`model::anomaly` says what the score is).

use super::{quote_ident, quote_literal};

/// The anomalous rows of `source` (already quoted, as the catalog gives it) under `model`: the
/// row's segment, its anomaly score and the row itself as jsonb, sorted by score, highest
/// first, at most `limit` of them. `ext` is the extension's quoted schema. `only`: just the
/// rows whose column (first), as text, is the value (second) — a group model's rows. The model's
/// name goes in as a literal, so that the planner can rewrite the row functions into their
/// column forms and Citus ship the model with the query to the shards.
pub fn query(
    ext: &str,
    model: &str,
    source: &str,
    only: Option<(&str, &str)>,
    limit: Option<i64>,
) -> String {
    let m = quote_literal(model);
    let group = only
        .map(|(column, value)| {
            format!(
                " AND s.{}::text = {}",
                quote_ident(column),
                quote_literal(value)
            )
        })
        .unwrap_or_default();
    let limit = limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
    format!(
        "SELECT {ext}.segment_assign({m}, s.*) AS segment, {ext}.segment_anomaly_score({m}, s.*) AS score, \
         to_jsonb(s.*) AS customer FROM {source} s WHERE {ext}.segment_is_anomaly({m}, s.*){group} \
         ORDER BY 2 DESC{limit}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_quoted() {
        let q = query(
            "cs",
            "it's",
            "public.t",
            Some(("re\"gion", "o'k")),
            Some(10),
        );
        assert!(q.contains("cs.segment_is_anomaly('it''s', s.*)"), "{q}");
        assert!(q.contains("s.\"re\"\"gion\"::text = 'o''k'"), "{q}");
        assert!(q.ends_with("ORDER BY 2 DESC LIMIT 10"), "{q}");
        assert!(!query("cs", "m", "t", None, None).contains("LIMIT"));
    }
}
