-- What each segment is worth: segment_summary(model, source, measures) gives per segment its
-- customers and their share, and per measure column the mean, the total and the share of the
-- total ("14% of customers, 41% of revenue"). Checked here against the same GROUP BY written in
-- plain SQL.
SET extra_float_digits = 0;

-- Segments on log spend; the measures are the raw spend (numeric), a flag and a column with NULLs.
CREATE TABLE worth_customers AS
SELECT customer_id, region, fresh, milk, grocery, frozen, detergents_paper, delicassen,
       fresh + milk + grocery + frozen + detergents_paper + delicassen AS revenue,
       channel = 2 AS retail,
       CASE WHEN customer_id % 10 = 0 THEN NULL ELSE grocery END AS grocery_reported
FROM wholesale_customers;
CREATE VIEW worth_customers_log AS
SELECT customer_id, region, ln(1 + fresh) AS fresh, ln(1 + milk) AS milk, ln(1 + grocery) AS grocery,
       ln(1 + frozen) AS frozen, ln(1 + detergents_paper) AS detergents_paper,
       ln(1 + delicassen) AS delicassen, revenue, retail, grocery_reported
FROM worth_customers;
SELECT model, segments FROM segment_fit('worth_customers_log',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 4, 'worth',
    '{"seed": 1}');

-- One row per segment and measure, on the relation the model was fitted on.
SELECT segment, label, customers, round(share::numeric, 4) AS share, measure,
       round(mean::numeric, 2) AS mean, round(total::numeric, 2) AS total,
       round(share_of_total::numeric, 4) AS share_of_total, nulls
FROM segment_summary('worth', measures => ARRAY['revenue', 'retail', 'grocery_reported'])
ORDER BY segment, measure;

-- The same figures from a plain GROUP BY: every value equal (to 1e-9 of its size).
WITH plain AS (
    SELECT segment_assign('worth', c) AS segment, count(*) AS customers,
           sum(revenue) AS revenue, sum(retail::int) AS retail, sum(grocery_reported) AS grocery,
           count(grocery_reported) AS grocery_values
    FROM worth_customers_log c GROUP BY 1),
expected AS (
    SELECT segment, customers, customers::float8 / sum(customers) OVER () AS share,
           'revenue' AS measure, revenue::float8 / customers AS mean, revenue::float8 AS total,
           revenue::float8 / sum(revenue) OVER () AS share_of_total, 0 AS nulls FROM plain
    UNION ALL
    SELECT segment, customers, customers::float8 / sum(customers) OVER (), 'retail',
           retail::float8 / customers, retail, retail::float8 / sum(retail) OVER (), 0 FROM plain
    UNION ALL
    SELECT segment, customers, customers::float8 / sum(customers) OVER (), 'grocery_reported',
           grocery::float8 / grocery_values, grocery, grocery::float8 / sum(grocery) OVER (),
           customers - grocery_values FROM plain)
SELECT count(*) AS rows_compared,
       count(*) FILTER (WHERE s.customers = e.customers AND s.nulls = e.nulls
                          AND abs(s.share - e.share) <= 1e-12
                          AND abs(s.mean - e.mean) <= 1e-9 * abs(e.mean)
                          AND abs(s.total - e.total) <= 1e-9 * abs(e.total)
                          AND abs(s.share_of_total - e.share_of_total) <= 1e-12) AS equal
FROM segment_summary('worth', measures => ARRAY['revenue', 'retail', 'grocery_reported']) s
JOIN expected e USING (segment, measure);

-- Without measures: sizes only, one row a segment; the shares add up to 1.
SELECT segment, customers, measure IS NULL AS no_measure FROM segment_summary('worth') ORDER BY segment;
SELECT round(sum(share)::numeric, 12) AS shares FROM segment_summary('worth');

-- Another source: rows the model gives no segment (a NULL feature, impute: skip) are a row of
-- their own, so that the shares of customers and of revenue still add up to 1.
CREATE TABLE new_customers AS SELECT * FROM worth_customers_log WHERE customer_id <= 40;
UPDATE new_customers SET milk = NULL WHERE customer_id <= 4;
SELECT segment, label, customers, round(share_of_total::numeric, 4) AS share_of_revenue
FROM segment_summary('worth', 'new_customers', ARRAY['revenue']) ORDER BY segment NULLS LAST;
SELECT round(sum(share)::numeric, 12) AS customers, round(sum(share_of_total)::numeric, 12) AS revenue
FROM segment_summary('worth', 'new_customers', ARRAY['revenue']);

-- A per-group model: one row per region and segment, labels from each region's model; checked
-- against the plain GROUP BY (region, segment).
SELECT model, segments FROM segment_fit('worth_customers_log',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 2, 'worth_by_region',
    '{"group_by": "region", "seed": 1}') ORDER BY model;
SELECT group_value, segment, label = segment_label('worth_by_region/' || group_value, segment) AS group_label,
       customers, round(total::numeric, 2) AS revenue, round(share_of_total::numeric, 4) AS share_of_revenue
FROM segment_summary('worth_by_region', measures => ARRAY['revenue']) ORDER BY group_value, segment;
SELECT count(*) AS rows_compared,
       count(*) FILTER (WHERE s.customers = p.customers AND abs(s.total - p.revenue) <= 1e-9 * p.revenue) AS equal
FROM segment_summary('worth_by_region', measures => ARRAY['revenue']) s
JOIN (SELECT region::text AS group_value, segment_assign('worth_by_region', c) AS segment,
             count(*) AS customers, sum(revenue)::float8 AS revenue
      FROM worth_customers_log c GROUP BY 1, 2) p USING (group_value, segment);
-- A group model alone: its region's rows.
SELECT sum(customers) AS oporto_customers FROM segment_summary('worth_by_region/2');

-- Bad input: each an ERROR with its SQLSTATE and a hint.
\set VERBOSITY default
SELECT * FROM segment_summary(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_summary('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_summary('worth', measures => ARRAY['revenu']);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE worth_without_features AS SELECT customer_id, revenue FROM worth_customers;
SELECT * FROM segment_summary('worth', 'worth_without_features', ARRAY['revenue']);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE value_with_text AS SELECT *, 'gold'::text AS tier FROM worth_customers_log;
SELECT * FROM segment_summary('worth', 'value_with_text', ARRAY['tier']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_summary('worth', measures => ARRAY['revenue', 'revenue']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_summary('worth', measures => ARRAY['revenue', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_summary('worth', measures => array_fill('revenue'::text, ARRAY[101]));
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse

DROP TABLE value_with_text, new_customers, worth_without_features;
SELECT segment_drop('worth');
SELECT segment_drop('worth_by_region');
DROP VIEW worth_customers_log;
DROP TABLE worth_customers;
