//! The grouping query of `segment_drivers` (`analysis::drivers` does the arithmetic on its rows):
//! one scan of the source, `GROUP BY` the test flag and `GROUPING SETS` of every combination of
//! `max_depth` dimensions (the shallower slices are added up from those in the core).

use super::quote_ident;
use crate::analysis::drivers::{queried_sets, DriversOptions, Per, MAX_SLICES};
use crate::error::CoreResult;

/// A numeric column of the source: read as float8, a boolean as 0 / 1.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberColumn {
    pub column: String,
    pub boolean: bool,
}

impl NumberColumn {
    fn expression(&self) -> String {
        let column = format!("s.{}", quote_ident(&self.column));
        if self.boolean {
            format!("{column}::int4::float8")
        } else {
            format!("{column}::float8")
        }
    }
}

/// What the query reads: the source (already quoted, as the catalog gives it), the metric, the
/// denominator of a ratio (`per` a column), the boolean test column and the dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct DriversQuery<'a> {
    pub source: &'a str,
    pub metric: NumberColumn,
    pub denominator: Option<NumberColumn>,
    pub test_column: &'a str,
    pub dimensions: &'a [String],
}

/// How many float8 columns of sums follow the counts: metric sum and squared deviations; a ratio
/// adds the denominator's and the cross products.
pub fn sum_columns(per: &Per) -> usize {
    match per {
        Per::Column(_) => 5,
        Per::Sum | Per::Row => 2,
    }
}

/// The query: per grouping set ([`queried_sets`]) and test flag (NULL included: those rows are counted for the
/// NOTICE), in this column order —
///   1 `GROUPING(d1, …, dk)` (int4), 2..k+1 each dimension's value as text, k+2 the flag (bool),
///   k+3 rows (int8), k+4 rows used (int8), then the sums (float8, [`sum_columns`]): the metric's
///   sum and squared deviations from its mean; for a ratio the denominator's sum and squared
///   deviations and the cross products, over the rows where both have a value (`regr_*`, whose
///   transition state PostgreSQL computes once for all of them).
/// At most `3 * MAX_SLICES + 1` rows (a slice has a row per flag value): more means too many
/// slices.
pub fn query(q: &DriversQuery, options: &DriversOptions) -> CoreResult<String> {
    let sets = queried_sets(q.dimensions.len(), options.max_depth)?;
    let dims: Vec<String> = q
        .dimensions
        .iter()
        .map(|d| format!("s.{}", quote_ident(d)))
        .collect();
    let flag = format!("s.{}", quote_ident(q.test_column));
    let x = q.metric.expression();
    let mut select = vec![format!("GROUPING({})", dims.join(", "))];
    select.extend(dims.iter().map(|d| format!("{d}::text")));
    select.push(flag.clone());
    select.push("count(*)".to_string());
    match &q.denominator {
        None => {
            select.push(format!("count({x})"));
            select.push(format!("coalesce(sum({x}), 0)"));
            select.push(format!("coalesce(var_pop({x}) * count({x}), 0)"));
        }
        Some(d) => {
            let y = d.expression();
            let args = format!("{x}, {y}");
            select.push(format!("regr_count({args})"));
            select.push(format!(
                "coalesce(regr_avgy({args}) * regr_count({args}), 0)"
            ));
            select.push(format!("coalesce(regr_syy({args}), 0)"));
            select.push(format!(
                "coalesce(regr_avgx({args}) * regr_count({args}), 0)"
            ));
            select.push(format!("coalesce(regr_sxx({args}), 0)"));
            select.push(format!("coalesce(regr_sxy({args}), 0)"));
        }
    }
    let sets: Vec<String> = sets
        .iter()
        .map(|set| {
            let cols: Vec<&str> = set.iter().map(|&j| dims[j].as_str()).collect();
            format!("({})", cols.join(", "))
        })
        .collect();
    Ok(format!(
        "SELECT {} FROM {} s GROUP BY {flag}, GROUPING SETS ({}) LIMIT {}",
        select.join(", "),
        q.source,
        sets.join(", "),
        3 * MAX_SLICES + 1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, boolean: bool) -> NumberColumn {
        NumberColumn {
            column: name.into(),
            boolean,
        }
    }

    #[test]
    fn a_sum_over_two_dimensions_to_depth_two() {
        let dims = ["re\"gion".to_string(), "Plan".to_string()];
        let q = query(
            &DriversQuery {
                source: "public.t",
                metric: column("revenue", false),
                denominator: None,
                test_column: "after",
                dimensions: &dims,
            },
            &DriversOptions {
                max_depth: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            q,
            "SELECT GROUPING(s.\"re\"\"gion\", s.\"Plan\"), s.\"re\"\"gion\"::text, s.\"Plan\"::text, \
             s.\"after\", count(*), count(s.\"revenue\"::float8), \
             coalesce(sum(s.\"revenue\"::float8), 0), \
             coalesce(var_pop(s.\"revenue\"::float8) * count(s.\"revenue\"::float8), 0) \
             FROM public.t s GROUP BY s.\"after\", GROUPING SETS ((s.\"re\"\"gion\", s.\"Plan\")) \
             LIMIT 150001"
        );
    }

    #[test]
    fn a_ratio_reads_both_columns_through_one_regression_state() {
        let dims = ["segment".to_string()];
        let q = query(
            &DriversQuery {
                source: "s.v",
                metric: column("churned", true),
                denominator: Some(column("months", false)),
                test_column: "t",
                dimensions: &dims,
            },
            &DriversOptions {
                per: Per::Column("months".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let args = "s.\"churned\"::int4::float8, s.\"months\"::float8";
        for part in [
            format!("regr_count({args})"),
            format!("coalesce(regr_avgy({args}) * regr_count({args}), 0)"),
            format!("coalesce(regr_syy({args}), 0)"),
            format!("coalesce(regr_avgx({args}) * regr_count({args}), 0)"),
            format!("coalesce(regr_sxx({args}), 0)"),
            format!("coalesce(regr_sxy({args}), 0)"),
        ] {
            assert!(q.contains(&part), "{part} in {q}");
        }
        // Depth 3 asked, one dimension: the dimension (the population is its sum).
        assert!(q.ends_with(
            "FROM s.v s GROUP BY s.\"t\", GROUPING SETS ((s.\"segment\")) LIMIT 150001"
        ));
        assert_eq!(sum_columns(&Per::Column("m".into())), 5);
        assert_eq!(sum_columns(&Per::Row), 2);
    }

    #[test]
    fn three_dimensions_to_depth_two_are_three_sets() {
        let dims = ["a".to_string(), "b".to_string(), "c".to_string()];
        let q = query(
            &DriversQuery {
                source: "t",
                metric: column("m", false),
                denominator: None,
                test_column: "t",
                dimensions: &dims,
            },
            &DriversOptions {
                max_depth: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(q.contains(
            "GROUPING SETS ((s.\"a\", s.\"b\"), (s.\"a\", s.\"c\"), (s.\"b\", s.\"c\"))"
        ));
    }

    #[test]
    fn too_many_combinations_are_refused_before_a_query() {
        let dims: Vec<String> = (0..20).map(|i| format!("d{i}")).collect();
        let q = DriversQuery {
            source: "t",
            metric: column("m", false),
            denominator: None,
            test_column: "t",
            dimensions: &dims,
        };
        let deep = DriversOptions {
            max_depth: 4,
            ..Default::default()
        };
        let e = query(&q, &deep).unwrap_err();
        assert!(
            e.message.contains("4845 combinations of 4"),
            "{}",
            e.message
        );
        // 20 dimensions to depth 3: 1140 sets.
        assert!(query(&q, &DriversOptions::default()).is_ok());
    }
}
