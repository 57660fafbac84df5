-- What one call may take: memory, threads, and the silhouette's sample (quadratic time). Any role
-- sets customer_segment.max_memory_mb, threads and silhouette_sample; over each a ceiling that
-- only a superuser sets (docs/operations.md, "Settings for DBAs"). The ceilings default to the
-- largest values (threads: one per core), so nothing changes until the DBA sets them.
LOAD 'customer_segment';
SELECT name, setting, unit, context
FROM pg_settings
WHERE name ~ '^customer_segment\.(max_memory_mb|threads|silhouette_sample)'
ORDER BY name;

-- 20,000 customers x 4 numbers: a 0.6 MB matrix, within a limit of 1 MB. What each method takes
-- on top of the matrix (sorts, labels, samples, trees, the silhouette's sample) is estimated
-- from the rows, columns and options before it is taken, and counts against the limit too:
-- each fit below stops with 54000, giving the estimate and what lowers it.
CREATE TABLE limit_customers AS
SELECT i AS id, (i % 3) * 5 + (i % 101) / 101.0 AS a, (i % 3) * -2 + (i % 97) / 97.0 AS b,
       (i % 7) / 7.0 AS c, (i % 11) / 11.0 AS d,
       (ARRAY['web', 'store', 'phone'])[i % 3 + 1] AS channel,
       'group ' || (i % 3) AS persona, i % 5 = 0 AS churned
FROM generate_series(1, 20000) i;
SET customer_segment.threads = 1;   -- a forest's estimate counts the trees growing at once
SET customer_segment.max_memory_mb = 1;
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 3);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('limit_customers', ARRAY['a', 'b', 'c', 'd'], 2, 6);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 3,
                          options => '{"method": "gmm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 3,
                          options => '{"method": "hierarchical"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], NULL,
                          options => '{"method": "dbscan", "eps": 0.3}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'channel'], 3,
                          options => '{"method": "kprototypes"}');
\echo :LAST_ERROR_SQLSTATE
-- Per group: the groups' matrices are held together while each group is fitted.
SELECT * FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 2,
                          options => '{"group_by": "channel"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_classify_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 'persona');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_classify_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 'persona',
                                   options => '{"method": "forest", "n_trees": 20}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 'churned');
\echo :LAST_ERROR_SQLSTATE
-- CLV: its per-customer summaries are counted as they are read (10,000 customers, about 2 MB),
-- both when fitting and when scoring a model fitted under the default limit.
CREATE TABLE limit_tx AS
SELECT 'customer ' || (i % 10000) AS customer, date '2024-01-01' + (i / 10000) * 30 + i % 7 AS at, 1 + i % 7 AS amount
FROM generate_series(1, 30000) i;
SELECT * FROM segment_clv_fit('limit_tx', 'customer', 'at', 'amount', '2024-06-01', 'limit_clv');
\echo :LAST_ERROR_SQLSTATE
RESET customer_segment.max_memory_mb;
SET client_min_messages = error;  -- (these regular made-up customers never drop out: clv.sql)
SELECT model, customers FROM segment_clv_fit('limit_tx', 'customer', 'at', 'amount', '2024-06-01', 'limit_clv');
RESET client_min_messages;
SET customer_segment.max_memory_mb = 1;
SELECT count(*) FROM segment_clv('limit_clv');
\echo :LAST_ERROR_SQLSTATE
RESET customer_segment.max_memory_mb;
SELECT segment_drop('limit_clv');
DROP TABLE limit_tx;
SELECT model, segments, rows_used FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 3);
SET customer_segment.max_memory_mb = 1;
SELECT * FROM segment_rules('limit_customers');
\echo :LAST_ERROR_SQLSTATE
-- What a method does on a sample is bounded by the sample: Ward on 500 rows fits in 3 MB.
SET customer_segment.max_memory_mb = 3;
SELECT model, segments, rows_used, rows_fitted
FROM segment_fit('limit_customers', ARRAY['a', 'b', 'c', 'd'], 3, name => 'limit_ward',
                 options => '{"method": "hierarchical", "sample_rows": 500}');
RESET customer_segment.max_memory_mb;
RESET customer_segment.threads;

-- The ceilings. A superuser sets them for the server (ALTER SYSTEM), a role (ALTER ROLE ... SET)
-- or, as here, a session; an ordinary role can neither set them nor go above them.
CREATE ROLE regress_cs_analyst;
GRANT SELECT ON limit_customers TO regress_cs_analyst;
SET customer_segment.max_memory_mb_limit = 64;
SET customer_segment.threads_limit = 2;
SET customer_segment.silhouette_sample_limit = 5000;
SET ROLE regress_cs_analyst;
SET customer_segment.max_memory_mb_limit = 4096;
\echo :LAST_ERROR_SQLSTATE
RESET customer_segment.threads_limit;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_cs_analyst SET customer_segment.silhouette_sample_limit = 1000000;
\echo :LAST_ERROR_SQLSTATE
-- The settings themselves are the role's to set, but a value above the ceiling is refused when a
-- call uses it (42501: it needs a superuser's ceiling), never lowered in silence.
SET customer_segment.max_memory_mb = '4GB';
SELECT model FROM segment_fit('limit_customers', ARRAY['a', 'b'], 3, name => 'analysts');
\echo :LAST_ERROR_SQLSTATE
SET customer_segment.max_memory_mb = 64;
SET customer_segment.threads = 4;
SELECT model FROM segment_fit('limit_customers', ARRAY['a', 'b'], 3, name => 'analysts');
\echo :LAST_ERROR_SQLSTATE
SET customer_segment.threads = 2;
SET customer_segment.silhouette_sample = 20000;
SELECT model FROM segment_fit('limit_customers', ARRAY['a', 'b'], 3, name => 'analysts');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('limit_customers', ARRAY['a', 'b'], 2, 3);
\echo :LAST_ERROR_SQLSTATE
-- Within the ceilings the fit runs. A setting nobody set follows its ceiling down: the default
-- silhouette sample (10,000) becomes 5,000 and the default memory (1024 MB) 64 MB.
SET customer_segment.silhouette_sample = 5000;
SELECT model, segments, silhouette_rows
FROM segment_fit('limit_customers', ARRAY['a', 'b'], 3, name => 'analysts');
RESET customer_segment.silhouette_sample;
RESET customer_segment.max_memory_mb;
RESET customer_segment.threads;
SELECT model, version, segments, silhouette_rows
FROM segment_fit('limit_customers', ARRAY['a', 'b'], 3, name => 'analysts');
SELECT segment_drop('analysts');
RESET ROLE;

RESET customer_segment.max_memory_mb_limit;
RESET customer_segment.threads_limit;
RESET customer_segment.silhouette_sample_limit;
SELECT segment_drop('limit_customers');
SELECT segment_drop('limit_ward');
DROP TABLE limit_customers;
DROP ROLE regress_cs_analyst;
