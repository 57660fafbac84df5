-- Text and boolean features are one-hot encoded: one matrix column per value ("channel=retail"),
-- 1 for the row's value and 0 for the others, stored with the model and replayed by
-- segment_assign. A value not seen at fit time is all zeros; a NULL follows the impute option.
CREATE VIEW shops AS
SELECT customer_id, fresh, milk, grocery,
       CASE channel WHEN 1 THEN 'horeca' ELSE 'retail' END AS channel,
       region::text AS region,
       channel = 2 AS is_retail
FROM customer_features;

-- region holds codes 1, 2, 3 as text: the categorical option says they are categories (a text
-- column of numbers is otherwise refused, see the end of this file).
SELECT model, segments, rows_used
FROM segment_fit('shops', ARRAY['fresh', 'milk', 'grocery', 'channel', 'region'], 3, name => 'mixed',
                 options => '{"categorical": ["region"]}');
SELECT features, k FROM segment_models WHERE name = 'mixed';

-- Independent check: the same fit on a view that spells the one-hot columns out as numbers
-- gives the same inertia and puts every customer in the same segment.
CREATE VIEW shops_spelled_out AS
SELECT customer_id, fresh, milk, grocery,
       (channel = 'horeca')::int AS "channel=horeca", (channel = 'retail')::int AS "channel=retail",
       (region = '1')::int AS "region=1", (region = '2')::int AS "region=2", (region = '3')::int AS "region=3"
FROM shops;
SELECT abs(m.inertia - s.inertia) < 1e-6 AS same_inertia
FROM segment_fit('shops', ARRAY['fresh', 'milk', 'grocery', 'channel', 'region'], 3, name => 'mixed_again',
                 options => '{"categorical": ["region"]}') m,
     segment_fit('shops_spelled_out', ARRAY['fresh', 'milk', 'grocery', 'channel=horeca', 'channel=retail',
                                            'region=1', 'region=2', 'region=3'], 3, name => 'spelled') s;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('mixed', a) = segment_assign('spelled', b)) AS same_segment
FROM shops a JOIN shops_spelled_out b USING (customer_id);

-- The profile and centroids name the one-hot columns; a one-hot column's mean is the share of
-- the segment with that value. Labels name a value when it is common in the segment.
SELECT segment, label, feature, round(segment_mean::numeric, 3) AS share_of_segment
FROM segment_profile('mixed') WHERE feature LIKE 'channel=%' ORDER BY segment, feature;
SELECT feature, round(value::numeric, 3) AS centre FROM segment_centroids('mixed')
WHERE segment = 0 ORDER BY feature;
-- Shares are exact: undoing the scaling of a one-hot 0 gave -1.1e-16 for a value four rows in
-- five have, and a share of -1.1e-16 for the segment without it. Here a segment of 'a' rows
-- and one of 'b' rows: shares of exactly 0 and 1 in each segment, and 0.2 and 0.8 overall.
CREATE TABLE kinds AS
SELECT i, CASE WHEN i % 5 = 0 THEN 'a' ELSE 'b' END AS kind,
       CASE WHEN i % 5 = 0 THEN 100 ELSE 0 END + i % 3 AS spend
FROM generate_series(1, 50) i;
SELECT segments FROM segment_fit('kinds', ARRAY['kind', 'spend'], 2, name => 'kinds');
SELECT segment, label, feature, segment_mean, overall_mean FROM segment_profile('kinds')
WHERE feature LIKE 'kind=%' ORDER BY segment, feature;
SELECT segment_drop('kinds');

-- A value the model has not seen is all zeros in the channel columns: the row still gets a
-- segment. Booleans are categories 'false' / 'true'.
SELECT segment_assign('mixed', r) IS NOT NULL AS assigned
FROM (SELECT 9.0 AS fresh, 9.0 AS milk, 9.0 AS grocery, 'online' AS channel, '1' AS region) r;
SELECT model, segments FROM segment_fit('shops', ARRAY['fresh', 'is_retail'], 2, name => 'flag');
SELECT DISTINCT feature FROM segment_profile('flag') ORDER BY feature;
SELECT segment_assign('flag', s) AS segment, is_retail, count(*) AS customers
FROM shops s GROUP BY 1, 2 ORDER BY 1, 2;

-- NULL in a text feature: skipped (impute skip), or every one-hot column takes its mean, the
-- value's share (impute mean).
CREATE TABLE with_gaps AS SELECT fresh, CASE WHEN customer_id % 10 = 0 THEN NULL ELSE channel END AS channel
FROM shops;
SELECT rows_used, rows_skipped FROM segment_fit('with_gaps', ARRAY['fresh', 'channel'], 2, name => 'gaps');
SELECT rows_used, rows_skipped FROM segment_fit('with_gaps', ARRAY['fresh', 'channel'], 2, name => 'gaps_mean',
                                                options => '{"impute": "mean"}');
SELECT count(segment_assign('gaps', g)) AS assigned_skip, count(segment_assign('gaps_mean', g)) AS assigned_mean
FROM with_gaps g;

-- Errors.
CREATE VIEW many_values AS SELECT 'c' || customer_id AS customer_code, fresh FROM customer_features;
SELECT * FROM segment_fit('many_values', ARRAY['fresh', 'customer_code'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shops', ARRAY['fresh', 'region'], 2, options => '{"max_categories": 2, "categorical": ["region"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shops', ARRAY['fresh', 'channel'], 2, options => '{"max_categories": 5000}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shops', ARRAY['fresh', 'channel'], 2, options => '{"log": ["channel"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('mixed', ARRAY[1, 2, 3, 4, 5]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('mixed', r)
FROM (SELECT 9.0 AS fresh, 9.0 AS milk, 9.0 AS grocery, 2 AS channel, '1' AS region) r;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE dates AS SELECT fresh, now() AS seen FROM shops;
SELECT * FROM segment_fit('dates', ARRAY['fresh', 'seen'], 2);
\echo :LAST_ERROR_SQLSTATE

-- A text column whose values all read as numbers is most likely a number stored as text (a real
-- churn table's total_charges is one): one-hot encoding it would make a column per distinct
-- number, so it is refused with a hint to cast it in a view, unless the categorical option says
-- the numbers are codes.
CREATE TABLE charges AS
SELECT i AS id, (i % 9)::float8 AS tenure, ((i % 9) * 29.5 + 20)::text AS total_charges,
       lpad((i % 4 * 1000 + 1000)::text, 5, '0') AS zip_code, i % 3 = 0 AS churned
FROM generate_series(1, 120) i;
SELECT * FROM segment_fit('charges', ARRAY['tenure', 'total_charges'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('charges', ARRAY['tenure', 'zip_code'], 'churned');
\echo :LAST_ERROR_SQLSTATE
-- The fix the hint gives: a view with the cast.
CREATE VIEW charges_numeric AS SELECT *, NULLIF(btrim(total_charges), '')::float8 AS total_charges_number FROM charges;
SELECT model, segments FROM segment_fit('charges_numeric', ARRAY['tenure', 'total_charges_number'], 2);
-- Codes on purpose: one column per zip code.
SELECT model, segments FROM segment_fit('charges', ARRAY['tenure', 'zip_code'], 2, name => 'by_zip',
                                        options => '{"categorical": ["zip_code"]}');
SELECT jsonb_array_length(model->'centres'->0) AS matrix_columns FROM segment_model WHERE name = 'by_zip';
SELECT * FROM segment_fit('charges', ARRAY['tenure', 'zip_code'], 2, options => '{"categorical": ["tenure"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('charges', ARRAY['tenure', 'zip_code'], 2, options => '{"categorical": ["zip"]}');
\echo :LAST_ERROR_SQLSTATE
