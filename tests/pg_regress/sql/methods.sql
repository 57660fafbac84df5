-- More methods through the method option: Gaussian mixtures, agglomerative Ward and DBSCAN,
-- each stored in the same catalog and assigned with the same segment_assign. Checked against
-- scikit-learn on the same matrix (tests/reference/wholesale_methods.py).
\set spend 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE sklearn_gmm (k int PRIMARY KEY, log_likelihood float8, bic float8);
\set f :abs_srcdir '/reference/wholesale_gmm.csv'
COPY sklearn_gmm FROM :'f' CSV HEADER;
CREATE TABLE sklearn_ward (customer_id int PRIMARY KEY, label_k3 int);
\set f :abs_srcdir '/reference/wholesale_ward_labels.csv'
COPY sklearn_ward FROM :'f' CSV HEADER;
CREATE TABLE sklearn_dbscan (customer_id int PRIMARY KEY, label int);
\set f :abs_srcdir '/reference/wholesale_dbscan_labels.csv'
COPY sklearn_dbscan FROM :'f' CSV HEADER;

-- Gaussian mixture (full covariance). The mean log-likelihood per row (metrics.log_likelihood,
-- in the model's scaled units) must be at most 1% below scikit-learn's GaussianMixture with the
-- same starts budget (n_init 10); higher is a better optimum.
SELECT k, f.method, f.segments FROM sklearn_gmm s,
       LATERAL segment_fit('customer_features', :spend, s.k, name => 'gmm_k' || s.k,
                           options => '{"method": "gmm"}') f ORDER BY k;
SELECT s.k, (m.metrics->>'log_likelihood')::float8 >= s.log_likelihood - 0.01 * abs(s.log_likelihood) AS within_1_percent,
       round((m.metrics->>'log_likelihood')::numeric, 3) AS log_likelihood,
       round(s.log_likelihood::numeric, 3) AS sklearn,
       round((m.metrics->>'bic')::numeric, 1) AS bic
FROM sklearn_gmm s JOIN segment_models m ON m.name = 'gmm_k' || s.k ORDER BY s.k;

-- segment_assign gives the most probable segment; segment_assign_proba every membership
-- probability (element s + 1 is segment s): they sum to 1 and the largest is the segment.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs((SELECT sum(p) FROM unnest(proba) p) - 1) < 1e-9) AS sums_to_1,
       count(*) FILTER (WHERE proba[segment + 1] = (SELECT max(p) FROM unnest(proba) p)) AS largest_is_segment
FROM (SELECT segment_assign('gmm_k3', f) AS segment, segment_assign_proba('gmm_k3', f) AS proba
      FROM customer_features f) t;
SELECT array_length(segment_assign_proba('gmm_k3', f), 1) AS segments
FROM customer_features f WHERE customer_id = 1;

-- Agglomerative Ward on the whole table (440 rows, under the default sample of 5000). The
-- dendrogram's segments equal scikit-learn's AgglomerativeClustering (ARI 1: checked by the
-- core test ward::tests::wholesale_matches_scikit_learn). The model keeps the fitted rows with
-- their segments and segment_assign gives a row the segment of its nearest fitted row, so every
-- fitted row keeps its dendrogram segment (Ward segments are not Voronoi cells: nearest centres
-- would give 0.682 here). metrics.centre_agreement is the ARI of the assignment against the
-- dendrogram on the fitted rows; ari() is from quality.sql.
SELECT method, segments, rows_used, rows_fitted
FROM segment_fit('customer_features', :spend, 3, name => 'ward', options => '{"method": "hierarchical"}');
SELECT round((metrics->>'centre_agreement')::numeric, 3) AS centre_agreement,
       round(ari('SELECT segment_assign(''ward'', f) AS a, l.label_k3 AS b
                  FROM customer_features f JOIN sklearn_ward l USING (customer_id)')::numeric, 3)
           AS ari_against_sklearn
FROM segment_models WHERE name = 'ward';
-- On a bounded sample: fitted on 200 seeded rows, every row assigned, and the result says so.
SELECT rows_used, rows_fitted
FROM segment_fit('customer_features', :spend, 3, name => 'ward_sample',
                 options => '{"method": "hierarchical", "sample_rows": 200}');
SELECT metrics->'sampled' AS sampled, metrics->'rows_fitted' AS rows_fitted
FROM segment_models WHERE name = 'ward_sample';
SELECT count(segment_assign('ward_sample', f)) AS assigned FROM customer_features f;

-- DBSCAN finds the number of segments itself (k NULL); noise is segment -1. On the training
-- rows the segments equal scikit-learn's DBSCAN with the same eps and min_points (up to the
-- numbering), noise included.
SELECT method, segments, rows_used, silhouette_rows
FROM segment_fit('customer_features', :spend, NULL, name => 'dense',
                 options => '{"method": "dbscan", "eps": 0.9, "min_points": 5}');
SELECT metrics->'rows_noise' AS rows_noise FROM segment_models WHERE name = 'dense';
SELECT segment_assign('dense', f) AS segment, count(*) AS customers
FROM customer_features f GROUP BY 1 ORDER BY 1;
SELECT (SELECT count(*) FROM sklearn_dbscan WHERE label = -1) AS sklearn_noise,
       round(ari('SELECT segment_assign(''dense'', f) AS a, l.label AS b
                  FROM customer_features f JOIN sklearn_dbscan l USING (customer_id)')::numeric, 3)
           AS adjusted_rand_index;
-- A new row joins the segment of its nearest core point within eps, otherwise it is noise:
-- a customer of segment 0 nudged by 0.01 stays in it; a row far from everyone is noise.
SELECT segment_assign('dense', ARRAY[fresh + 0.01, milk, grocery, frozen, detergents_paper, delicassen]) AS nudged,
       segment_assign('dense', ARRAY[1, 1, 1, 1, 1, 1]::float8[]) AS far_from_everyone
FROM customer_features f WHERE segment_assign('dense', f) = 0 ORDER BY customer_id LIMIT 1;

-- Mini-batch k-means streams the source (a summary pass, up to `epochs` passes of mini-batch
-- updates, a final pass) and never holds its rows: memory is the sample_rows sample, one batch
-- and the centres. On the wholesale customers it finds k-means' segments: inertia within 1% of
-- the in-memory k-means (which quality.sql checks against scikit-learn), nearly every customer
-- in the same segment.
SELECT method, segments, rows_used, rows_fitted, iterations AS epochs
FROM segment_fit('customer_features', :spend, 3, name => 'streamed',
                 options => '{"method": "minibatch_kmeans", "batch_size": 64, "sample_rows": 200}');
SELECT segments FROM segment_fit('customer_features', :spend, 3, name => 'in_memory');
SELECT (s.metrics->>'inertia')::float8 <= (m.metrics->>'inertia')::float8 * 1.01 AS inertia_within_1_percent,
       s.metrics->'silhouette_rows' AS silhouette_rows
FROM segment_models s, segment_models m WHERE s.name = 'streamed' AND m.name = 'in_memory';
SELECT ari('SELECT segment_assign(''streamed'', f) AS a, segment_assign(''in_memory'', f) AS b
            FROM customer_features f') >= 0.9 AS same_segments;
-- With the matrix over customer_segment.max_memory_mb, k-means stops; mini-batch k-means only
-- needs its sample. 300,000 rows x 4 features is a 9 MB matrix; the limit is 2 MB.
CREATE TABLE many_customers AS
SELECT i AS customer_id, (i % 3) * 5 + (i % 101) / 101.0 AS a, (i % 3) * -2 + (i % 97) / 97.0 AS b,
       (i % 7) / 7.0 AS c, (i % 11) / 11.0 AS d
FROM generate_series(1, 300000) i;
SET customer_segment.max_memory_mb = 2;
SELECT * FROM segment_fit('many_customers', ARRAY['a', 'b', 'c', 'd'], 3);
\echo :LAST_ERROR_SQLSTATE
SELECT method, segments, rows_used
FROM segment_fit('many_customers', ARRAY['a', 'b', 'c', 'd'], 3, name => 'many_minibatch',
                 options => '{"method": "minibatch_kmeans", "sample_rows": 5000}');
RESET customer_segment.max_memory_mb;
SELECT segment, size FROM segment_profile('many_minibatch') WHERE feature = 'a' ORDER BY segment;

-- Every method works with the rest of the surface.
SELECT m.name, m.method, m.k, e.rows_used, e.rows_noise, e.silhouette IS NOT NULL AS scored
FROM segment_models m, LATERAL segment_evaluate(m.name) e
WHERE m.name IN ('gmm_k3', 'ward', 'dense') ORDER BY m.name;
SELECT DISTINCT segment, size, label FROM segment_profile('dense') ORDER BY segment;

-- Errors.
\set VERBOSITY default
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"method": "spectral"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, NULL, options => '{"method": "dbscan"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, NULL, options => '{"method": "dbscan", "eps": -1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"method": "dbscan", "eps": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, NULL, options => '{"method": "dbscan", "eps": 0.01}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, NULL, options => '{"method": "gmm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"eps": 0.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"method": "hierarchical", "sample_rows": 1000000}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('customer_features', :spend, options => '{"method": "gmm"}');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign_proba('ward', f) FROM customer_features f LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT segment_explain('gmm_k3', f) FROM customer_features f LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"method": "minibatch_kmeans", "scale": "robust"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', :spend, 3, options => '{"method": "minibatch_kmeans", "batch_size": 0}');
\echo :LAST_ERROR_SQLSTATE
