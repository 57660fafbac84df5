-- Bad input for every public function beyond segment_fit (errors.sql covers that one): each is an
-- ERROR with a fitting SQLSTATE (printed after it) and a message naming what is wrong. None may
-- crash the server (scripts/test.sh checks the server log for backends killed by a signal).
-- Rows that cannot be scored (NaN, infinite) are errors here; their default in a SELECT, NULL,
-- is shown in invalid_rows.sql.
SET customer_segment.invalid_rows = error;
CREATE TABLE shop (id int, visits float8, spend float8, churned bool, region text, note text);
INSERT INTO shop
SELECT i, i % 9, (i * 37) % 101, i % 4 = 0, CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END, 'n'
FROM generate_series(1, 400) i;
SELECT model FROM segment_fit('shop', ARRAY['visits', 'spend'], 3, name => 'shop_k3');
SELECT model FROM segment_fit('shop', ARRAY['visits', 'region'], 2, name => 'shop_onehot');
SELECT model FROM segment_churn_fit('shop', ARRAY['visits', 'spend'], 'churned', name => 'shop_churn');

-- segment_assign, array form
SELECT segment_assign('shop_k3', ARRAY[]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_k3', array_fill(1.0::float8, ARRAY[10000000]));
\echo :LAST_ERROR_SQLSTATE
-- (not an error: a NULL feature gives a NULL segment under the default impute 'skip')
SELECT segment_assign('shop_k3', ARRAY[1.0, NULL]) IS NULL AS null_segment;
SELECT segment_assign('shop_k3', ARRAY['Infinity', 1.0]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_k3', ARRAY[[1.0, 2.0], [3.0, 4.0]]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_onehot', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('Shop_K3', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_k', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE

-- segment_assign, row forms
-- (not an error: a NULL row gives NULL, as for any strict SQL function)
SELECT segment_assign('shop_k3', NULL::record) IS NULL AS null_segment;
SELECT segment_assign('shop_k3', ROW(1.0, 2.0));
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_k3', r) FROM (SELECT 'many'::text AS visits, 1.0 AS spend) r;
\echo :LAST_ERROR_SQLSTATE
-- A table row takes the planner's column path (float8 columns: its fast loop).
CREATE TABLE shop_inf (visits float8, spend float8);
INSERT INTO shop_inf VALUES (1, 2), (1, NULL), (1, 'Infinity');
SELECT segment_assign('shop_k3', s) FROM shop_inf s;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('shop_k3', s) IS NULL AS null_segment FROM shop_inf s WHERE spend IS NULL;
DROP TABLE shop_inf;
SELECT segment_assign_columns('shop_k3', ARRAY['visits'], 1.0, 2.0);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign_columns('shop_k3', ARRAY['visits', 'spend'], 1.0, 'x'::text);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign_columns('shop_k3', ARRAY['visits', 'nope'], 1.0, 2.0);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_explain('shop_k3', r) FROM (SELECT 1.0::float8 AS visits) r;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign_proba('shop_k3', s) FROM shop s LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_churn_predict('shop_k3', s) FROM shop s LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_churn_predict('shop_churn', r) FROM (SELECT 1.0::float8 AS visits) r;
\echo :LAST_ERROR_SQLSTATE

-- Reading a model
SELECT * FROM segment_centroids(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_profile('no such model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_label('shop_k3', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_label('shop_k3', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_label('shop_k3', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_rename('shop_k3', 7, 'loyal');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_rename('shop_k3', 0, '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_rename('shop_k3', 0, repeat('x', 201));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_evaluate('shop_k3', 'pg_class');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_compare('shop_k3', 1, 2);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_compare('shop_k3', NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rules('shop_k3', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rules('shop_k3', 1000);
\echo :LAST_ERROR_SQLSTATE

-- Churn trees
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'no_label');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'churnd');
\echo :LAST_ERROR_SQLSTATE
-- A feature NULL in every row leaves no usable row (impute skip): the error names it, for churn
-- models and classifiers as for segment_fit.
CREATE VIEW shop_blank AS SELECT *, NULL::float8 AS blank FROM shop;
SELECT * FROM segment_churn_fit('shop_blank', ARRAY['visits', 'blank'], 'churned');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_classify_fit('shop_blank', ARRAY['blank', 'spend'], 'region');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW shop_blank;
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'spend');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits', 'churned'], 'churned');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'churned', options => '{"max_depth": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'churned', options => '{"test_fraction": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], 'churned', options => '{"criterion": "chaos"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('shop', ARRAY['visits'], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_rules('shop_k3');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_importance('shop_k3');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_churn_tree('shop_k3');
\echo :LAST_ERROR_SQLSTATE

-- RFM and CLV
CREATE TABLE sales (customer int, at timestamptz, amount numeric, item text);
INSERT INTO sales VALUES (1, '2026-01-01', 10, 'a'), (1, '2026-02-01', 5, 'b'), (2, '2026-01-15', 20, 'c');
SELECT * FROM segment_rfm('sales', 'customer', 'at', 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('sales', 'customer', 'at', 'item');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('sales', 'customer', 'amount', 'amount');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('sales', 'customer', 'at', 'amount', bins => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('sales', 'customer', 'at', 'amount', as_of => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('sales', 'customer', 'at', 'amount', options => '{"returns": "sometimes"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv_fit('sales', 'customer', 'at', 'amount', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv_fit('sales', 'customer', 'at', 'amount', '2026-03-01', options => '{"time_unit": "fortnight"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv('shop_k3');
\echo :LAST_ERROR_SQLSTATE

-- A model of the wrong kind for the function is 42809 whichever function is called (each error's
-- message and hint are above and in the feature's own test).
SELECT model FROM segment_classify_fit('shop', ARRAY['visits', 'spend'], 'region', name => 'shop_classes');
SELECT model FROM segment_fit('shop', ARRAY['visits', 'spend'], 2, name => 'shop_groups',
                              options => '{"group_by": "region"}') LIMIT 1;
CREATE FUNCTION pg_temp.sqlstate_of(call text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT pg_temp.sqlstate_of(call) AS sqlstate, call FROM (VALUES
    ('SELECT segment_assign_proba(''shop_k3'', s) FROM shop s LIMIT 1'),
    ('SELECT segment_explain(''shop_churn'', s) FROM shop s LIMIT 1'),
    ('SELECT segment_churn_predict(''shop_k3'', s) FROM shop s LIMIT 1'),
    ('SELECT * FROM segment_churn_rules(''shop_k3'')'),
    ('SELECT * FROM segment_rules(''shop_churn'')'),
    ('SELECT segment_plot(''shop_k3'', ''tree'')'),
    ('SELECT segment_classify(''shop_k3'', s) FROM shop s LIMIT 1'),
    ('SELECT segment_classify_proba(''shop_churn'', s) FROM shop s LIMIT 1'),
    ('SELECT * FROM segment_classify_report(''shop_k3'')'),
    ('SELECT * FROM segment_drift(''shop_classes'')'),
    ('SELECT * FROM segment_evaluate(''shop_classes'')'),
    ('SELECT * FROM segment_refit(''shop_classes'')'),
    ('SELECT * FROM segment_clv(''shop_k3'')'),
    ('SELECT * FROM segment_profile(''shop_groups'')'),
    ('SELECT segment_label(''shop_groups'', 0)'),
    ('SELECT segment_assign(''shop_groups'', ARRAY[1.0, 2.0])'),
    ('SELECT * FROM segment_groups(''shop_k3'')'),
    ('SELECT segment_assign(''shop_onehot'', ARRAY[1.0, 2.0])')
) calls(call);

-- Options and names
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, options => '{"seed": ');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, options => '{"seed": "seven"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, options => '{"seed": 1e30}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, options => '{"method": "kmeans", "method": "spectral"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, options => '{"max_categories": 100000}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, name => repeat('m', 129));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 2, name => E'two\nlines');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('shop', ARRAY['visits'], 400000);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('shop', ARRAY['visits'], 2, 1000000);
\echo :LAST_ERROR_SQLSTATE

-- A text column with a million distinct values is refused after max_categories + 1 of them.
CREATE TABLE wide_text AS SELECT i::float8 AS x, 'customer ' || i AS who FROM generate_series(1, 1000000) i;
SELECT * FROM segment_fit('wide_text', ARRAY['x', 'who'], 2);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE wide_text;

SELECT segment_drop(m) FROM unnest(ARRAY['shop_k3', 'shop_onehot', 'shop_churn', 'shop_classes', 'shop_groups']) m;
DROP TABLE shop, sales;
