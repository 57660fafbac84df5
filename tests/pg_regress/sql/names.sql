-- What a model name means does not change silently. A fit under an existing name (a default
-- name too) whose features, method, grouping column or label differ from the current version's
-- is refused (42710), naming what differs: views and rules that use the name would otherwise
-- start serving something else. {"replace": true} does it on purpose. A refit with the same
-- meaning (other k, options or rows) is a new version as always.
CREATE TABLE accounts AS
SELECT i AS id, (i % 10)::float8 AS spend, (i % 7)::float8 AS visits, (i % 5)::float8 AS tenure,
       i % 4 = 0 AS churned, i % 3 = 0 AS upgraded, CASE WHEN i % 2 = 0 THEN 'north' ELSE 'south' END AS region
FROM generate_series(1, 200) i;
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'visits'], 2);
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'visits'], 3, options => '{"seed": 3}');

SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'tenure'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_fit('accounts', ARRAY['visits', 'spend'], 2);
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'visits'], 2, options => '{"method": "gmm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'visits'], 2, options => '{"group_by": "region"}');
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'visits'], 2, options => '{"replace": "yes"}');
\echo :LAST_ERROR_SQLSTATE

-- On purpose: the name now means the new features (and the refused calls stored nothing).
SELECT model, version FROM segment_fit('accounts', ARRAY['spend', 'tenure'], 2, options => '{"replace": true}');
SELECT version, features FROM segment_models WHERE name = 'accounts' ORDER BY version;

-- Churn models: the label is part of the meaning.
SELECT model FROM segment_churn_fit('accounts', ARRAY['spend', 'visits'], 'churned');
SELECT model FROM segment_churn_fit('accounts', ARRAY['spend', 'visits'], 'churned', options => '{"seed": 1}');
SELECT model FROM segment_churn_fit('accounts', ARRAY['spend', 'visits'], 'upgraded');
\echo :LAST_ERROR_SQLSTATE
SELECT model FROM segment_churn_fit('accounts', ARRAY['spend', 'visits'], 'upgraded', options => '{"replace": true}');
SELECT version, model->'churn'->>'label' AS label FROM segment_model WHERE name = 'accounts_churn' ORDER BY version;

-- A segment model's name is not taken over by a churn fit either.
SELECT model FROM segment_churn_fit('accounts', ARRAY['spend', 'visits'], 'churned', name => 'accounts');
\echo :LAST_ERROR_SQLSTATE

-- CLV models: their customer, time and amount columns are their meaning.
CREATE TABLE accounts_tx AS
SELECT i % 20 AS customer, timestamptz '2026-01-01' + (i * 37 % 300) * interval '1 day' AS at,
       (i % 9 + 1)::float8 AS amount, (i % 5 + 1)::float8 AS discount
FROM generate_series(1, 400) i;
SELECT model, version FROM segment_clv_fit('accounts_tx', 'customer', 'at', 'amount', '2026-09-01');
SELECT model, version FROM segment_clv_fit('accounts_tx', 'customer', 'at', 'discount', '2026-09-01');
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_clv_fit('accounts_tx', 'customer', 'at', 'discount', '2026-09-01',
                                           options => '{"replace": true}');
SELECT model, version FROM segment_clv_fit('accounts_tx', 'customer', 'at', 'amount', '2026-09-01', name => 'accounts');
\echo :LAST_ERROR_SQLSTATE

-- Imports too: an export of the churn model imported under the segment model's name is refused
-- (an import has no replace option: drop the model first); under a name of its own it is stored.
SELECT model, version FROM segment_import(segment_export('accounts_churn'), 'accounts');
\echo :LAST_ERROR_SQLSTATE
SELECT model, version FROM segment_import(segment_export('accounts_churn'), 'accounts_churn_copy');
SELECT model, version FROM segment_import(segment_export('accounts_churn'), 'accounts_churn_copy');
