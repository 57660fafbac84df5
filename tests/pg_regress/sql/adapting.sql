-- Segments that keep up with the customers: anomaly thresholds, an incremental update and a warm
-- refit, each against scikit-learn on the same rows (tests/reference/adapting_reference.py): the
-- wholesale customers' six spend columns, log1p, z-scored, k = 3.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE ref_anomaly (contamination float8, threshold float8, anomalies int);
\set f :abs_srcdir '/reference/adapting_anomaly.csv'
COPY ref_anomaly FROM :'f' CSV HEADER;
CREATE TABLE ref_update (segment_size int, new_rows int, feature text, centre float8);
\set f :abs_srcdir '/reference/adapting_update.csv'
COPY ref_update FROM :'f' CSV HEADER;
CREATE TABLE ref_refit (rows int, inertia float8);
\set f :abs_srcdir '/reference/adapting_refit.csv'
COPY ref_refit FROM :'f' CSV HEADER;

CREATE VIEW spend AS
SELECT customer_id, fresh, milk, grocery, frozen, detergents_paper, delicassen FROM wholesale_customers;
-- The customers known at the first fit, and a month of new ones.
CREATE VIEW spend_old AS SELECT * FROM spend WHERE customer_id <= 400;
CREATE VIEW spend_new AS SELECT * FROM spend WHERE customer_id > 400;
\set features 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
\set logged '"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]'

-- 1. Anomalies: the fit stores the 1 - contamination quantile of its rows' distances to their
--    own centre; a row above it fits no segment. The threshold and the rows above it equal
--    scikit-learn's (numpy.quantile of the distances to KMeans' centres) for 5% and 1%.
SELECT c.contamination, f.segments,
       round(((segment_export('anomalies_' || (c.contamination * 100)::int)::jsonb
               #>> '{model,anomaly,threshold}')::float8 / c.threshold)::numeric, 9) AS threshold_ratio,
       (SELECT count(*) FROM spend s
        WHERE segment_is_anomaly('anomalies_' || (c.contamination * 100)::int, s)) AS anomalies,
       c.anomalies AS sklearn_anomalies
FROM ref_anomaly c,
     LATERAL segment_fit('spend', :features, 3, name => 'anomalies_' || (c.contamination * 100)::int,
                         options => ('{' || :'logged' || '}')::jsonb || jsonb_build_object('contamination', c.contamination)) f
ORDER BY c.contamination;
-- The set-returning form: the farthest customers first, each row as jsonb.
SELECT a.segment, round(a.score::numeric, 3) AS score, a.customer ->> 'customer_id' AS customer_id,
       a.customer ->> 'fresh' AS fresh, a.customer ->> 'delicassen' AS delicassen
FROM segment_anomalies('anomalies_1') a;
SELECT count(*) AS anomalies_5 FROM segment_anomalies('anomalies_5');
SELECT count(*) AS top_3 FROM segment_anomalies('anomalies_5', max_rows => 3);
-- A row's score is its distance to its own centre: no anomaly scores below a kept row's.
SELECT max(segment_anomaly_score('anomalies_5', s)) FILTER (WHERE NOT segment_is_anomaly('anomalies_5', s))
     < min(segment_anomaly_score('anomalies_5', s)) FILTER (WHERE segment_is_anomaly('anomalies_5', s)) AS separated
FROM spend s;
-- A gmm model scores the negative log-likelihood; the default contamination is 1%.
SELECT segments FROM segment_fit('spend', :features, 3, name => 'anomalies_gmm',
                                 options => ('{"method": "gmm", ' || :'logged' || '}')::jsonb);
SELECT count(*) FILTER (WHERE segment_is_anomaly('anomalies_gmm', s)) AS anomalies,
       round(avg(segment_anomaly_score('anomalies_gmm', s))::numeric, 6) =
       round((-(metrics ->> 'log_likelihood')::float8)::numeric, 6) AS mean_score_is_minus_log_likelihood
FROM spend s, segment_models m WHERE m.name = 'anomalies_gmm' GROUP BY metrics;

-- 2. An incremental update: the first fit knows the first 400 customers; the 40 new ones move
--    the centres by streaming k-means' rule without reading the old rows. The centres equal
--    scikit-learn's MiniBatchKMeans.partial_fit from the same state (segments matched by their
--    new rows: 6, 16 and 18).
SELECT segments, rows_used FROM segment_fit('spend_old', :features, 3, name => 'monthly',
                                            options => ('{' || :'logged' || '}')::jsonb);
CREATE TABLE monthly_update AS SELECT * FROM segment_update('monthly', 'spend_new');
SELECT version, segment, new_rows, round(moved::numeric, 3) AS moved, round(spread::numeric, 3) AS spread,
       round(moved_share::numeric, 3) AS moved_share, refit
FROM monthly_update ORDER BY segment;
SELECT count(*) AS centres, max(abs(c.value / r.centre - 1)) < 1e-9 AS equal_to_partial_fit
FROM monthly_update u
JOIN ref_update r ON r.new_rows = u.new_rows
JOIN segment_centroids('monthly') c ON c.segment = u.segment AND c.feature = r.feature;
-- The new version is the model now: a NOTICE when a centre moved more than refit_shift of its
-- new rows' spread (here a strict 0.03), and forgetting halves the old rows' weight.
SELECT version, segment, round(moved_share::numeric, 3) AS moved_share, refit
FROM segment_update('monthly', 'spend_new', '{"forgetting": 0.5, "refit_shift": 0.03}') ORDER BY segment;
SELECT version, rows_used, (metrics ->> 'ids_matched_to_version')::int AS ids_matched_to
FROM segment_models WHERE name = 'monthly' ORDER BY version;

-- 3. A warm refit on every customer starts from the current centres: within 0.01% of
--    scikit-learn's best of ten starts (the local optimum nearest the current segments), in a
--    few iterations, the ids those of the current version.
SELECT segments, rows_used, inertia / (SELECT inertia FROM ref_refit) <= 1.0001 AS within_0_01_percent,
       iterations <= 5 AS few_iterations
FROM segment_fit('spend', :features, NULL, name => 'monthly',
                 options => ('{"warm_start": true, ' || :'logged' || '}')::jsonb);
SELECT options ->> 'warm_start' AS warm_start FROM segment_models WHERE name = 'monthly' ORDER BY version DESC LIMIT 1;
-- gmm starts from its stored mixture: on the same rows, from its own optimum, it stays there.
SELECT segments FROM segment_fit('spend', :features, 3, name => 'anomalies_gmm',
                                 options => ('{"method": "gmm", "warm_start": true, ' || :'logged' || '}')::jsonb);
SELECT abs((max(metrics ->> 'log_likelihood') FILTER (WHERE version = 2))::float8
           - (max(metrics ->> 'log_likelihood') FILTER (WHERE version = 1))::float8) < 1e-4 AS same_log_likelihood
FROM segment_models WHERE name = 'anomalies_gmm';
-- k-prototypes starts from its stored prototypes.
CREATE VIEW spend_kind AS
SELECT s.*, CASE w.channel WHEN 1 THEN 'horeca' ELSE 'retail' END AS kind
FROM spend s JOIN wholesale_customers w USING (customer_id);
SELECT iterations FROM segment_fit('spend_kind', ARRAY['milk', 'grocery', 'kind'], 3, name => 'mixed_warm',
                                   options => '{"method": "kprototypes", "log": ["milk", "grocery"]}');
SELECT iterations FROM segment_fit('spend_kind', ARRAY['milk', 'grocery', 'kind'], 3, name => 'mixed_warm',
                                   options => '{"method": "kprototypes", "log": ["milk", "grocery"], "warm_start": true}');

-- 4. A per-group model: each group's model stores its own threshold, 1% of its rows (298 rows
--    of channel 1: 3 above; 142 of channel 2: 2 above, by numpy's quantile).
SELECT count(*) AS rows FROM segment_fit('wholesale_customers', :features, 2, name => 'by_channel',
                                         options => ('{"group_by": "channel", ' || :'logged' || '}')::jsonb);
SELECT channel, count(*) FILTER (WHERE segment_is_anomaly('by_channel', w)) AS anomalies, count(*) AS customers
FROM wholesale_customers w GROUP BY channel ORDER BY channel;
SELECT count(*) AS anomalies FROM segment_anomalies('by_channel');

-- Errors.
\set VERBOSITY default
\set ON_ERROR_STOP 0
SELECT * FROM segment_fit('spend', :features, 3, name => 'no_such_model', options => '{"warm_start": true}');
SELECT * FROM segment_fit('spend', :features, 4, name => 'monthly', options => ('{"warm_start": true, ' || :'logged' || '}')::jsonb);
SELECT * FROM segment_fit('spend', :features, 3, name => 'monthly', options => ('{"warm_start": true}')::jsonb);
SELECT * FROM segment_fit('spend', :features, NULL, name => 'monthly', options => '{"warm_start": true, "k_min": 3}');
SELECT * FROM segment_fit('spend', :features, NULL, options => '{"method": "dbscan", "eps": 1, "warm_start": true}');
SELECT * FROM segment_fit('spend', :features, 3, options => '{"contamination": 0.7}');
SELECT * FROM segment_choose_k('spend', :features, 2, 4, '{"warm_start": true}');
SELECT * FROM segment_fit('spend', :features, NULL, options => '{"method": "dbscan", "eps": 1, "contamination": 0.1}');
SELECT * FROM segment_fit('spend', :features, 3, options => '{"engine": "aggregate", "contamination": 0.1}');
SELECT * FROM segment_update('anomalies_gmm', 'spend_new');
SELECT * FROM segment_update('monthly', 'spend_new', '{"forgetting": 0}');
SELECT * FROM segment_update('monthly', 'spend_new', '{"forgeting": 0.5}');
SELECT * FROM segment_update('monthly', NULL);
SELECT * FROM segment_update('monthly', 'spend_new'::regclass, NULL);
SELECT * FROM segment_anomalies('monthly', max_rows => 0);
SELECT * FROM segment_update('by_channel', 'spend_new');
SELECT * FROM segment_fit('wholesale_customers', :features, 2, name => 'by_channel',
                          options => ('{"group_by": "channel", "warm_start": true, ' || :'logged' || '}')::jsonb);
SELECT segments FROM segment_fit('spend', :features, NULL, name => 'density', options => '{"method": "dbscan", "eps": 1.5}');
SELECT segment_is_anomaly('density', s) FROM spend s LIMIT 1;
\set ON_ERROR_STOP 1
