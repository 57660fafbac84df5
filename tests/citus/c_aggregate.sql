-- c. segment_fit with engine aggregate runs each Lloyd step as one query,
-- SELECT segment_kmeans_step(ARRAY[f1, f2, f3], $centres, $preprocessing) FROM source:
-- on a distributed table Citus should compute partial steps on the shards and combine them on
-- the coordinator. The model must be the plain table's: the same centres (within 1e-9) and the
-- same number of Lloyd iterations. 200,000 rows in four well separated blobs (one optimum,
-- whatever the row order; tol 1e-10: the steps run until the partition is stable).
-- psql variables: strategy (citus.coordinator_aggregation_strategy for the distributed fit).
\set features 'ARRAY[''f1'', ''f2'', ''f3'']'
\set options '{"engine": "aggregate", "n_init": 2, "tol": 1e-10, "seed": 3}'
-- The plain table's fit, once (the first run stores it).
SELECT NOT EXISTS (SELECT 1 FROM segment_models WHERE name = 'c_plain') AS fit_plain \gset
\if :fit_plain
SELECT iterations FROM segment_fit('synthetic', :features, 4, name => 'c_plain', options => :'options') \g /dev/null
\endif
SELECT (metrics->>'iterations')::int AS plain_iterations FROM segment_models WHERE name = 'c_plain' AND is_current \gset

SET citus.coordinator_aggregation_strategy = :'strategy';
\set model 'c_' :strategy
\set label 'c engine aggregate on the distributed table (citus.coordinator_aggregation_strategy = ' :strategy ') gives the plain table''s model'
\set ON_ERROR_STOP 0
SELECT iterations AS dist_iterations, rows_used AS dist_rows
FROM segment_fit('synthetic_dist', :features, 4, name => :'model', options => :'options') \gset
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
SELECT CASE WHEN gap <= 1e-9 AND :plain_iterations = :dist_iterations THEN 'ok' ELSE 'not ok' END
       || format(' - %s (%s rows; centres differ by at most %s; %s and %s Lloyd iterations)',
                 :'label', :dist_rows, gap, :plain_iterations, :dist_iterations)
FROM (SELECT centre_gap(segment_export('c_plain')->'model'->'centres',
                        segment_export(:'model')->'model'->'centres') AS gap) g;
\endif
RESET citus.coordinator_aggregation_strategy;
