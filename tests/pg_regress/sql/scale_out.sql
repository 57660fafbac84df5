-- One k-means step as an aggregate (segment_kmeans_step), and fits driven through it
-- (options engine aggregate): PostgreSQL's parallel aggregation runs a step across workers, and a
-- distributed PostgreSQL can run it on every shard (README, "Scale-out").

-- A step by hand: three groups of 2,000 rows and three centres.
CREATE TABLE groups AS
SELECT i AS id, ((i % 3) * 5 + (i * 7 % 11) * 0.1)::float8 AS a,
       ((i % 3) * -3 + (i * 13 % 17) * 0.1)::float8 AS b
FROM generate_series(1, 6000) i;
ANALYZE groups;
SELECT s->'rows' AS rows, s->'counts' AS counts,
       round((s->>'inertia')::numeric, 6) AS inertia,
       (SELECT array_agg(round(c::numeric, 6)) FROM jsonb_array_elements_text(s->'centres'->0) c) AS centre_0
FROM (SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6]) AS s FROM groups) t;
-- The new centre of the first group is the mean of its rows:
SELECT round(avg(a)::numeric, 6) AS mean_a, round(avg(b)::numeric, 6) AS mean_b FROM groups WHERE id % 3 = 0;
SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6]) AS serial FROM groups \gset

-- The same step in a parallel plan: partial steps in the workers, combined in the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6]) FROM groups;
SELECT p->'counts' = s->'counts' AS same_counts,
       abs((p->>'inertia')::float8 - (s->>'inertia')::float8) < 1e-9 AS same_inertia,
       (SELECT max(abs(x.v::float8 - y.v::float8))
        FROM jsonb_array_elements(p->'centres') WITH ORDINALITY pc(c, i)
        JOIN jsonb_array_elements(s->'centres') WITH ORDINALITY sc(c, i) USING (i)
        CROSS JOIN LATERAL jsonb_array_elements_text(pc.c) WITH ORDINALITY x(v, j)
        JOIN LATERAL jsonb_array_elements_text(sc.c) WITH ORDINALITY y(v, j) USING (j)) < 1e-12 AS same_centres
FROM (SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6]) AS p FROM groups) t,
     (SELECT :'serial'::jsonb AS s) u;

-- A whole fit through the aggregate (still in parallel plans) reaches the in-memory fit on the
-- wholesale customers: the same starts (k-means++ on the same rows with the same seed), the same
-- Lloyd steps, sums in another order.
SELECT model, segments, rows_used, iterations FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 4,
    name => 'steps_in_memory');
SELECT model, segments, rows_used, iterations FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 4,
    name => 'steps_by_aggregate', options => '{"engine": "aggregate"}');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT max(abs(m.value - a.value)) < 1e-9 AS same_centres
FROM segment_centroids('steps_in_memory') m JOIN segment_centroids('steps_by_aggregate') a USING (segment, feature);
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('steps_in_memory', f) <> segment_assign('steps_by_aggregate', f)) AS differ
FROM customer_features f;
SELECT abs((m.metrics->>'inertia')::float8 / (a.metrics->>'inertia')::float8 - 1) < 1e-9 AS same_inertia,
       m.metrics->'iterations' = a.metrics->'iterations' AS same_iterations,
       a.method, a.options->>'engine' AS engine
FROM segment_models m, segment_models a
WHERE m.name = 'steps_in_memory' AND a.name = 'steps_by_aggregate';

-- The step's state is a bytea with a combine function: what Citus needs to run partial steps on
-- its shards and combine them on the coordinator (it refuses an internal state).
SELECT DISTINCT aggtranstype::regtype AS state, aggcombinefn::regproc AS combine
FROM pg_aggregate WHERE aggfnoid IN (SELECT oid FROM pg_proc WHERE proname = 'segment_kmeans_step');
-- Groups may step from centres of their own: each group's step is the one over its rows alone.
SELECT half, g.s->'counts' AS counts,
       (SELECT s->'counts' = g.s->'counts' AND abs((s->>'inertia')::float8 / (g.s->>'inertia')::float8 - 1) < 1e-12
        FROM (SELECT segment_kmeans_step(ARRAY[a, b], centres) AS s FROM groups WHERE id % 2 = half) alone)
         AS same_as_alone
FROM (SELECT id % 2 AS half,
             CASE id % 2 WHEN 0 THEN ARRAY[0, 0, 10, -6]::float8[] ELSE ARRAY[5, -3]::float8[] END AS centres,
             segment_kmeans_step(ARRAY[a, b],
                 CASE id % 2 WHEN 0 THEN ARRAY[0, 0, 10, -6]::float8[] ELSE ARRAY[5, -3]::float8[] END) AS s
      FROM groups GROUP BY 1, 2) g ORDER BY half;

-- What the aggregate and the engine refuse.
-- Rows of one step with different centres:
SELECT segment_kmeans_step(ARRAY[a, b], CASE WHEN id < 10 THEN ARRAY[0, 0] ELSE ARRAY[1, 1] END::float8[])
FROM groups;
SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5]) FROM groups;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_kmeans_step(ARRAY[a, b], NULL) FROM groups;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_kmeans_step(ARRAY[a, 'NaN'], ARRAY[0, 0]) FROM groups;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_kmeans_step(CASE WHEN id = 7 THEN ARRAY[a] ELSE ARRAY[a, b] END, ARRAY[0, 0]) FROM groups;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0]) IS NULL AS no_rows FROM groups WHERE false;
-- The three-argument form takes raw rows and a model's preprocessing: with the identity
-- (no log, no fill, offset 0, scale 1) it is the two-argument step; a NULL row is skipped; an
-- array not written by a fit is refused.
SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6],
                           '{1, 2, 0,  0, 0,  NaN, NaN,  0, 0,  1, 1}'::float8[])
     = segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0, 5, -3, 10, -6]) AS same_step
FROM groups;
SELECT (segment_kmeans_step(ARRAY[a, CASE WHEN id <= 10 THEN NULL ELSE b END], ARRAY[0, 0],
                            '{1, 2, 0,  0, 0,  NaN, NaN,  0, 0,  1, 1}'::float8[]) ->> 'rows')::int
       = count(*) - 10 AS null_rows_skipped
FROM groups;
SELECT segment_kmeans_step(ARRAY[a, b], ARRAY[0, 0], ARRAY[1, 2, 0]) FROM groups;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('groups', ARRAY['a', 'b'], 3, options => '{"engine": "aggregate", "method": "gmm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('groups', ARRAY['a', 'b'], NULL, options => '{"engine": "aggregate"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('groups', ARRAY['a', 'b'], 3, options => '{"engine": "aggregate", "scale": "robust"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('groups', ARRAY['a', 'b'], 3, options => '{"engine": "cluster"}');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('steps_in_memory'), segment_drop('steps_by_aggregate');
DROP TABLE groups;
