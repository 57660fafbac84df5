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
SELECT * FROM segment_fit('all_null', ARRAY['amount'], 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('all_null', ARRAY['amount'], 1, options => '{"impute": "mean"}');
\echo :LAST_ERROR_SQLSTATE

-- The features
SELECT * FROM segment_fit('messy', ARRAY['amount', 'no_such_column'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('messy', ARRAY['mixedcase'], 2);
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

-- None of the failed fits wrote anything.
SELECT count(*) - :models_before AS models_added FROM segment_models;
