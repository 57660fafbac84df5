-- Bad input gets an ERROR with a fitting SQLSTATE (printed after each), a message naming what
-- is wrong, and a hint. Nothing here may crash the server or leave a model behind.
-- Rows that cannot be scored (NaN, infinite) are errors here; their default in a SELECT, NULL,
-- is shown in invalid_rows.sql.
SET customer_segment.invalid_rows = error;
CREATE TABLE messy (id int, amount float8, score numeric, "MixedCase" float8, city text, flag bool,
                    seen date, tags text[]);
INSERT INTO messy VALUES (1, 10, 1, 1, 'Porto', true, '2026-01-01', '{a}'),
                         (2, 20, 2, 2, 'Lisboa', false, '2026-01-02', '{b}'),
                         (3, 30, 3, 3, 'Faro', true, '2026-01-03', '{c}');
CREATE TABLE empty_table (amount float8);
CREATE TABLE all_null (amount float8);
INSERT INTO all_null VALUES (NULL), (NULL);
CREATE SEQUENCE a_sequence;
SELECT count(*) AS models_before FROM segment_models \gset

-- The source
SELECT * FROM segment_fit('no_such_table', ARRAY['amount'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('a_sequence', ARRAY['amount'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('empty_table', ARRAY['amount'], 2);
\echo :LAST_ERROR_SQLSTATE
-- A feature NULL in every row: under the default impute (skip) every row is left out, and the
-- error names the column rather than saying only that no row is usable.
SELECT * FROM segment_fit('all_null', ARRAY['amount'], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('all_null', ARRAY['amount'], 1, options => '{"impute": "mean"}');
\echo :LAST_ERROR_SQLSTATE

-- The features
SELECT * FROM segment_fit('messy', ARRAY['amount', 'no_such_column'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['mixedcase'], 2);
\echo :LAST_ERROR_SQLSTATE
-- A misspelt column gets the nearest one (one or two slips of typing), not only a case match.
SELECT * FROM segment_fit('messy', ARRAY['amout'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount', 'MixdCase'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('messy', 'city', 'seen', 'amonut');
\echo :LAST_ERROR_SQLSTATE
-- (text and boolean columns are one-hot encoded: see encoding.sql; other types are refused)
SELECT * FROM segment_fit('messy', ARRAY['amount', 'seen'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['tags'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY[]::text[], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount', 'amount'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount', NULL], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['id; DROP TABLE messy'], 2);
\echo :LAST_ERROR_SQLSTATE

-- k
SELECT * FROM segment_fit('messy', ARRAY['amount'], 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], -3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 4);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2000000000);
\echo :LAST_ERROR_SQLSTATE

-- NULL arguments
SELECT * FROM segment_fit(NULL, ARRAY['amount'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', NULL, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], NULL, options => '{"k_min": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('all_null', ARRAY['amount'], NULL, options => '{"impute": "skip"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => NULL);
\echo :LAST_ERROR_SQLSTATE

-- Values that cannot be clustered
INSERT INTO messy VALUES (4, 'NaN', 4, 4, 'Braga', true);
SELECT * FROM segment_fit('messy', ARRAY['score', 'amount'], 2);
\echo :LAST_ERROR_SQLSTATE
UPDATE messy SET amount = '-Infinity' WHERE id = 4;
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2);
\echo :LAST_ERROR_SQLSTATE
UPDATE messy SET amount = NULL, score = 'NaN' WHERE id = 4;
SELECT * FROM segment_fit('messy', ARRAY['score'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"impute": "error"}');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM messy WHERE id = 4;

-- Options
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"n_inits": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"scale": "logarithmic"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"n_init": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"tol": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"max_iter": 1e9}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, name => '');
\echo :LAST_ERROR_SQLSTATE

-- The log option
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"log": ["score"]}');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO messy VALUES (5, -1, 5, 5, 'Evora', false);
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"log": ["amount"]}');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM messy WHERE id = 5;
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"log": "amount"}');
\echo :LAST_ERROR_SQLSTATE

-- segment_choose_k ranges
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], 1, 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], 3, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], 2, 100);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], 2, 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], NULL, 5);
\echo :LAST_ERROR_SQLSTATE
-- No k passed: the default range 2..10 is above the 3 rows; the error says k_max, not "k = 10".
SELECT * FROM segment_choose_k('messy', ARRAY['amount']);
\echo :LAST_ERROR_SQLSTATE

-- Memory limit: a matrix larger than customer_segment.max_memory_mb is refused before it is built.
-- The setting is in megabytes; SHOW prints it with PostgreSQL's unit (1024 MB is 1GB), and a
-- value with a unit is read in that unit.
SHOW customer_segment.max_memory_mb;
SET customer_segment.max_memory_mb = '2GB';
SELECT current_setting('customer_segment.max_memory_mb') AS two_gb,
       (SELECT setting FROM pg_settings WHERE name = 'customer_segment.max_memory_mb') AS in_mb;
SET customer_segment.max_memory_mb = 1;
CREATE TEMP TABLE big AS SELECT i::float8 AS v FROM generate_series(1, 200000) i;
SELECT * FROM segment_fit('big', ARRAY['v'], 2);
\echo :LAST_ERROR_SQLSTATE
RESET customer_segment.max_memory_mb;

-- Models that do not exist, and bad calls of segment_assign
SELECT segment_assign('no_such_model', ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_centroids('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_profile('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_explain('no_such_model', r) FROM (SELECT 1.0::float8 AS amount) r;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT model FROM segment_fit('messy', ARRAY['amount', 'score'], 2, name => 'messy_model');
-- A model name differing by case or by a slip of typing gets the model's name as the hint.
SELECT segment_assign('Messy_Model', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_profile('messy_modle');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('messy_model', ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('messy_model', ARRAY[1.0, 'NaN']);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign(NULL, ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('messy_model', r) FROM (SELECT 1.0::float8 AS amount) r;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('messy_model', r) FROM (SELECT 1.0::float8 AS amount, 'high'::text AS score) r;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('messy_model', r) FROM (SELECT 'Infinity'::float8 AS amount, 1 AS score) r;
\echo :LAST_ERROR_SQLSTATE

CREATE TABLE only_amount (amount float8);
INSERT INTO only_amount VALUES (1);
SELECT segment_assign('messy_model', o) FROM only_amount o;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE text_score (amount float8, score text);
INSERT INTO text_score VALUES (1, 'high');
SELECT segment_assign('messy_model', t) FROM text_score t;
\echo :LAST_ERROR_SQLSTATE

-- A model stored by an incompatible format version is refused, not misread.
UPDATE segment_model SET model = jsonb_set(model, '{format_version}', '0') WHERE name = 'messy_model';
SELECT segment_assign('messy_model', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('messy_model');

-- Options apply per method. A key of another method is refused naming the key and the method
-- (the hint lists the method's options); k_min and k_max apply only when k is NULL. A value of the
-- wrong kind names the key and the kind in plain words; an unknown key gets the nearest known one.
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"batch_size": 64}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"epochs": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"min_points": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"k_min": 2, "k_max": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "hierarchical", "n_init": 20}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "hierarchical", "max_iter": 20}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "hierarchical", "tol": 0.1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "gmm", "engine": "memory"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "gmm", "k_max": 4}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], NULL, options => '{"method": "dbscan", "eps": 0.5, "n_init": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "minibatch_kmeans", "min_points": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('messy', ARRAY['amount'], 2, 3, options => '{"k_max": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"n_init": "20"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"tol": "0.1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], NULL, options => '{"method": "dbscan", "eps": "0.5"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"n_inti": 20}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "kmean"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['amount'], 2, options => '{"method": "churn_tree"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('messy', ARRAY['amount'], 'flag', options => '{"max_dpeth": 3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('messy', ARRAY['amount'], 'flag', options => '{"max_depth": "3"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv_fit('messy', 'city', 'seen', 'amount', '2026-02-01', options => '{"penalizer": "0.1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM segment_rfm('messy', 'city', 'seen', 'amount', options => '{"return": "net"}');
\echo :LAST_ERROR_SQLSTATE

-- Numbers stored as text, with blanks: a telco export's total_charges is text, ' ' for the new
-- customers (tenure 0). Every value reads as a number or is blank, so the column is refused as a
-- number stored as text (not with the max_categories error, although it has far more than 50
-- distinct values), and the hint's view reads the blanks as NULL.
CREATE TABLE telco (customer_id text PRIMARY KEY, tenure int, total_charges text);
INSERT INTO telco
SELECT 'C' || i, i % 72,
       CASE WHEN i % 72 = 0 THEN ' ' ELSE round((i % 72) * (20 + (i * 7) % 90 + 0.35), 2)::text END
FROM generate_series(1, 300) i;
SELECT count(DISTINCT total_charges) AS distinct_values, count(*) FILTER (WHERE total_charges = ' ') AS blanks
FROM telco;
SELECT * FROM segment_fit('telco', ARRAY['tenure', 'total_charges'], 2);
\echo :LAST_ERROR_SQLSTATE
-- The usual recipe fails on ' ':
SELECT count(NULLIF(total_charges, '')::float8) FROM telco;
-- The hint's view, as given: the 4 blank rows are skipped (impute skip), every other row is used.
CREATE VIEW v AS SELECT *, NULLIF(btrim(total_charges), '')::float8 AS total_charges_number FROM public.telco;
SELECT rows_used, rows_skipped FROM segment_fit('v', ARRAY['tenure', 'total_charges_number'], 2, name => 'telco_charges');
SELECT segment_drop('telco_charges');
DROP VIEW v;
-- Blanks holding a tab or a line break: the hint trims those too, and its view works.
CREATE TABLE telco_tabs AS
SELECT customer_id, tenure, CASE WHEN tenure = 0 THEN E'\t' ELSE total_charges END AS total_charges
FROM telco WHERE tenure IN (0, 1, 2);
SELECT * FROM segment_fit('telco_tabs', ARRAY['tenure', 'total_charges'], 2);
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW v AS SELECT *, NULLIF(btrim(total_charges, E' \t\r\n'), '')::float8 AS total_charges_number FROM public.telco_tabs;
SELECT rows_used, rows_skipped FROM segment_fit('v', ARRAY['tenure', 'total_charges_number'], 2, name => 'telco_tabs');
SELECT segment_drop('telco_tabs');
DROP VIEW v;
-- A word among the numbers is not a number stored as text, even past the first 51 values read
-- (sorted, the numbers come first): the column gets the max_categories error.
CREATE TABLE mostly_numbers AS
SELECT i::float8 AS x, CASE WHEN i = 80 THEN 'unknown' ELSE i::text END AS code FROM generate_series(1, 80) i;
SELECT * FROM segment_fit('mostly_numbers', ARRAY['x', 'code'], 2);
\echo :LAST_ERROR_SQLSTATE
-- NaN, Infinity and decimal commas are not plain numbers: such a column is one-hot encoded.
CREATE TABLE words_like_numbers AS
SELECT i::float8 AS x, (ARRAY['NaN', 'Infinity', '1,5'])[i % 3 + 1] AS code FROM generate_series(1, 30) i;
SELECT segments FROM segment_fit('words_like_numbers', ARRAY['x', 'code'], 2, name => 'words_like_numbers');
SELECT segment_drop('words_like_numbers');
DROP TABLE telco, telco_tabs, mostly_numbers, words_like_numbers;

-- None of the failed fits wrote anything.
SELECT count(*) - :models_before AS models_added FROM segment_models;
