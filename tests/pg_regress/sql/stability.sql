-- segment_stability: is each segment real? Bootstrap samples of the rows, the model refitted on
-- each (same method and options, another seed), and each segment's Jaccard similarity to its
-- most similar refit segment over the rows drawn (Hennig's clusterboot). Checked against a
-- plain numpy + scikit-learn implementation of the same procedure on the same rows
-- (tests/reference/clusterboot_reference.py, 500 runs): the random streams differ, so every
-- segment must be within 0.1 of the reference, and the same segments below Hennig's 0.75
-- wherever the reference is not within 0.05 of it (where it is, either side is a coin toss).
\set spend 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE clusterboot_ref (k int, segment int, size int, fresh float8, milk float8,
                              grocery float8, frozen float8, detergents_paper float8,
                              delicassen float8, stability float8, dissolved int, runs int);
\set f :abs_srcdir '/reference/clusterboot_wholesale.csv'
COPY clusterboot_ref FROM :'f' CSV HEADER;

-- k-means on ln(1 + spend) (the customer_features view), k = 3 and 4.
SELECT model, segments FROM segment_fit('customer_features', :spend, 3, name => 'boot_k3');
SELECT model, segments FROM segment_fit('customer_features', :spend, 4, name => 'boot_k4');

-- 200 runs each (seed: the model's, 0). One row per segment.
CREATE TABLE ours AS
SELECT 3 AS k, s.* FROM segment_stability('boot_k3', runs => 200) s
UNION ALL
SELECT 4, s.* FROM segment_stability('boot_k4', runs => 200) s;
SELECT k, segment, label, round(stability::numeric, 2) AS stability, dissolved, runs, stable
FROM ours ORDER BY k, segment;

-- Each segment against the reference's segment of the nearest centre (the sizes show the same
-- segments were matched).
CREATE TABLE centres AS
SELECT 3 AS k, * FROM segment_centroids('boot_k3')
UNION ALL SELECT 4, * FROM segment_centroids('boot_k4');
CREATE TABLE matched AS
SELECT DISTINCT ON (c.k, c.segment) c.k, c.segment, r.segment AS ref_segment
FROM centres c
JOIN clusterboot_ref r ON r.k = c.k
JOIN LATERAL (VALUES ('fresh', r.fresh), ('milk', r.milk), ('grocery', r.grocery),
                     ('frozen', r.frozen), ('detergents_paper', r.detergents_paper),
                     ('delicassen', r.delicassen)) v(feature, value) ON v.feature = c.feature
GROUP BY c.k, c.segment, r.segment
ORDER BY c.k, c.segment, sum((c.value - v.value) ^ 2);
SELECT o.k, o.segment, p.size, r.size AS ref_size,
       round(o.stability::numeric, 2) AS ours, round(r.stability::numeric, 2) AS reference,
       abs(o.stability - r.stability) <= 0.1 AS within_0_1,
       o.stability < 0.75 AS below_0_75, r.stability < 0.75 AS reference_below,
       (o.stability < 0.75) = (r.stability < 0.75) OR abs(r.stability - 0.75) < 0.05 AS same_verdict
FROM ours o
JOIN matched m USING (k, segment)
JOIN clusterboot_ref r ON r.k = o.k AND r.segment = m.ref_segment
JOIN (SELECT DISTINCT 3 AS k, segment, size FROM segment_profile('boot_k3')
      UNION ALL SELECT DISTINCT 4, segment, size FROM segment_profile('boot_k4')) p
  ON p.k = o.k AND p.segment = o.segment
ORDER BY o.k, o.segment;

-- The result is kept in the version's metrics (segment_report flags the segments below the
-- threshold), with what it was computed from; a call with the same seed gives the same rows.
SELECT metrics->'stability'->'runs' AS runs, metrics->'stability'->'seed' AS seed,
       metrics->'stability'->'threshold' AS threshold, metrics->'stability'->'source' AS source,
       metrics->'stability'->'rows' AS rows,
       jsonb_array_length(metrics->'stability'->'segments') AS segments
FROM segment_models WHERE name = 'boot_k4';
SELECT substring(segment_report('boot_k4') FROM '(Segments below the stability threshold.*?)\. Refitted')
       AS report_note;
SELECT count(*) AS same_rows FROM segment_stability('boot_k4', runs => 200) s
JOIN ours o ON o.k = 4 AND o.segment = s.segment AND o.stability = s.stability
                                                       AND o.dissolved = s.dissolved;

-- The analyst's label; another seed and threshold; store false leaves the metrics as they were.
SELECT segment_rename('boot_k4', 2, 'shops');
SELECT segment, label, round(stability::numeric, 2) AS stability, stable
FROM segment_stability('boot_k4', runs => 50, options => '{"seed": 7, "threshold": 0.5, "store": false}');
SELECT metrics->'stability'->'runs' AS runs_stored FROM segment_models WHERE name = 'boot_k4';

-- Every method that fits in memory (20 runs each). DBSCAN's noise is no segment: a row that is
-- noise in a refit is in no refit segment.
SELECT segments FROM segment_fit('customer_features', :spend, 3, name => 'boot_gmm',
                                 options => '{"method": "gmm"}');
SELECT segment, round(stability::numeric, 2) AS stability, runs
FROM segment_stability('boot_gmm', options => '{"store": false}');
SELECT segments FROM segment_fit('customer_features', :spend, 3, name => 'boot_ward',
                                 options => '{"method": "hierarchical"}');
SELECT segment, round(stability::numeric, 2) AS stability, runs
FROM segment_stability('boot_ward', options => '{"store": false}');
SELECT segments FROM segment_fit('customer_features', :spend, NULL, name => 'boot_dbscan',
                                 options => '{"method": "dbscan", "eps": 0.9, "min_points": 5}');
SELECT segment, round(stability::numeric, 2) AS stability, runs
FROM segment_stability('boot_dbscan', options => '{"store": false}');
CREATE VIEW boot_mixed AS
SELECT customer_id, CASE channel WHEN 1 THEN 'horeca' ELSE 'retail' END AS channel, fresh, grocery
FROM customer_features;
SELECT segments FROM segment_fit('boot_mixed', ARRAY['channel', 'fresh', 'grocery'], 2,
                                 name => 'boot_kproto', options => '{"method": "kprototypes"}');
SELECT segment, round(stability::numeric, 2) AS stability, runs
FROM segment_stability('boot_kproto', options => '{"store": false}');

-- A group model of a per-group model is assessed on its group's rows; the per-group model
-- itself is refused.
SELECT count(*) AS fitted FROM segment_fit('customer_features', :spend, 2, name => 'boot_groups',
                                           options => '{"group_by": "channel"}');
SELECT segment, round(stability::numeric, 2) AS stability, runs
FROM segment_stability('boot_groups/1', options => '{"store": false}');
SELECT * FROM segment_stability('boot_groups');
\echo :LAST_ERROR_SQLSTATE

-- Errors: an unknown model, runs out of range, bad options, a method that streams its source,
-- storing without the right to manage the model.
SELECT * FROM segment_stability('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_stability('boot_k3', runs => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_stability('boot_k3', runs => 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_stability('boot_k3', options => '{"threshold": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_stability('boot_k3', options => '{"sed": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT segments FROM segment_fit('customer_features', :spend, 3, name => 'boot_minibatch',
                                 options => '{"method": "minibatch_kmeans"}');
SELECT * FROM segment_stability('boot_minibatch');
\echo :LAST_ERROR_SQLSTATE
CREATE ROLE regress_stability_user;
GRANT SELECT ON customer_features TO regress_stability_user;
SELECT segment_grant('boot_k3', 'regress_stability_user', 'use');
SET ROLE regress_stability_user;
SELECT * FROM segment_stability('boot_k3', runs => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS segments FROM segment_stability('boot_k3', runs => 5, options => '{"store": false}');
-- Granted manage, the role stores it (a manager may update the metrics, as the labels).
RESET ROLE;
SELECT segment_grant('boot_k3', 'regress_stability_user', 'manage');
SET ROLE regress_stability_user;
SELECT count(*) AS segments FROM segment_stability('boot_k3', runs => 5);
SELECT metrics->'stability'->'runs' AS runs_stored FROM segment_models WHERE name = 'boot_k3';
RESET ROLE;
SELECT segment_drop('boot_k3');
REVOKE SELECT ON customer_features FROM regress_stability_user;
DROP ROLE regress_stability_user;

-- Tidy up: the models and tables of this file.
SELECT count(segment_drop(name)) AS dropped FROM (SELECT DISTINCT name FROM segment_models
WHERE name IN ('boot_k4', 'boot_gmm', 'boot_ward', 'boot_dbscan', 'boot_kproto', 'boot_groups',
               'boot_minibatch')) m;
DROP VIEW boot_mixed;
DROP TABLE clusterboot_ref, ours, centres, matched;
