-- One bad row does not fail a whole SELECT. A row that cannot be scored (a NaN or infinite
-- feature, a negative value under the log option) gets NULL from segment_assign and the other
-- row functions, as a row whose NULL feature the model skips does; with
-- customer_segment.invalid_rows = error it is an ERROR naming the column and the value.
CREATE TABLE scores (id int PRIMARY KEY, spend float8, visits float8, region text, churned bool);
INSERT INTO scores
SELECT i, (i % 7) * 10 + 1, i % 5 + 1, CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END, i % 3 = 0
FROM generate_series(1, 60) i;
SELECT model FROM segment_fit('scores', ARRAY['spend', 'visits'], 2, name => 'sc',
                              options => '{"log": ["spend"]}');
SELECT model FROM segment_fit('scores', ARRAY['spend', 'visits'], 2, name => 'sc_gmm',
                              options => '{"method": "gmm"}');
SELECT model FROM segment_fit('scores', ARRAY['spend', 'visits'], 2, name => 'sc_groups',
                              options => '{"group_by": "region"}') ORDER BY 1;
SELECT model FROM segment_churn_fit('scores', ARRAY['spend', 'visits'], 'churned', name => 'sc_churn');
INSERT INTO scores VALUES (61, 'NaN', 1, 'north', false), (62, 'Infinity', 1, 'south', false),
                          (63, -5, 1, 'north', false), (64, 10, '-Infinity', 'south', false);

-- The default: NULL for the four bad rows (63's spend is negative under log: only the model
-- with the log option cannot score it), a segment for the good ones.
SELECT id, segment_assign('sc', s) AS segment,
       segment_assign('sc_groups', s) AS group_segment,
       (segment_explain('sc', s)).segment AS explained,
       segment_assign_proba('sc_gmm', s) IS NOT NULL AS has_proba,
       segment_churn_predict('sc_churn', s) IS NOT NULL AS has_churn_probability
FROM scores s WHERE id >= 59 ORDER BY id;
SELECT segment_assign('sc', ARRAY['NaN', 1]::float8[]) IS NULL AS nan_array_is_null;

-- A view a dashboard reads serves every row.
CREATE VIEW scored AS SELECT id, segment_assign('sc', s) AS segment FROM scores s;
SELECT count(*) AS rows, count(segment) AS scored FROM scored;

-- The setting makes them errors, each naming the model, the column and the value.
SET customer_segment.invalid_rows = error;
SELECT count(segment) FROM scored;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('sc', s) FROM scores s WHERE id = 63;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('sc_groups', s) FROM scores s WHERE id = 62;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign_proba('sc_gmm', s) FROM scores s WHERE id = 61;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_churn_predict('sc_churn', s) FROM scores s WHERE id = 64;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('sc', ARRAY['NaN', 1]::float8[]);
\echo :LAST_ERROR_SQLSTATE
RESET customer_segment.invalid_rows;
SHOW customer_segment.invalid_rows;

-- Fits refuse such rows whatever the setting, naming the first (by primary key; in a view by
-- position) and counting them.
SELECT model FROM segment_fit('scores', ARRAY['spend', 'visits'], 2, name => 'sc_again');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW scores_view AS SELECT * FROM scores ORDER BY id;
SELECT model FROM segment_fit('scores_view', ARRAY['spend', 'visits'], 2, name => 'sc_again');
\echo :LAST_ERROR_SQLSTATE
SELECT rows_used FROM segment_evaluate('sc', 'scores');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW scores_view;
SET customer_segment.invalid_rows = maybe;
\echo :LAST_ERROR_SQLSTATE
DROP VIEW scored;
