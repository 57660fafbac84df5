-- Per-group models: one model per value of a grouping column (segment_fit's group_by option),
-- and segment_assign picking the row's group model. The wholesale customers come from three
-- regions (1 Lisbon: 77, 2 Oporto: 47, 3 other: 316).
SET extra_float_digits = 0;

-- One row for the per-group model (sums over its groups), then one per group model.
SELECT model, version, segments, rows_used, rows_skipped, method, round(inertia::numeric, 4) AS inertia
FROM segment_fit('customer_features',
                 ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
                 3, 'by_region', '{"group_by": "region", "seed": 1}');

SELECT * FROM segment_groups('by_region');

-- The per-group model is stored like any model; its groups are models of their own.
SELECT name, version, rows_used, options->>'group_by' AS group_by, metrics->>'groups' AS groups,
       method
FROM segment_models WHERE name LIKE 'by_region%' ORDER BY name;
SELECT name, metrics->'group' AS "group" FROM segment_models WHERE name LIKE 'by_region/%' ORDER BY name;

-- Independent check: each group model is exactly the model fitted on a view of that region alone
-- with the same options (same centres, same segments for every row).
CREATE VIEW oporto AS SELECT * FROM customer_features WHERE region = 2;
SELECT model, rows_used FROM segment_fit('oporto',
       ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 3,
       options => '{"seed": 1}');
SELECT max(abs(a.value - b.value)) < 1e-9 AS same_centres, count(*) AS values_compared
FROM segment_centroids('by_region/2') a JOIN segment_centroids('oporto') b USING (segment, feature);
SELECT count(*) AS oporto_rows,
       count(*) FILTER (WHERE segment_assign('by_region', c) = segment_assign('oporto', c)) AS same_segment
FROM oporto c;

-- Every row gets its region's segment: the planned path (columns), the generic row path (a
-- subquery row is an anonymous record) and each group model by its name agree.
SELECT c.region, segment_assign('by_region', c) AS segment, count(*)
FROM customer_features c GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE segment_assign('by_region', s)
                              = segment_assign('by_region/' || s.region, s)) AS generic_equals_group
FROM (SELECT * FROM customer_features OFFSET 0) s;
SELECT count(*) FILTER (WHERE segment_assign('by_region', c)
                              IS DISTINCT FROM segment_assign('by_region/' || c.region, c)) AS differ
FROM customer_features c;
SELECT (segment_explain('by_region', c)).segment = segment_assign('by_region', c) AS explain_agrees
FROM customer_features c WHERE customer_id = 7;

-- A group is a model: profile it, label it.
SELECT segment, size FROM segment_profile('by_region/1') WHERE feature = 'milk' ORDER BY segment;
SELECT segment_rename('by_region/1', 0, 'Lisbon regulars');
SELECT segment_label('by_region/1', 0);

-- Functions that read a group model's rows read, by default, its group's rows of the relation
-- the per-group model was fitted on: evaluate reproduces the group's fit, drift is 0 and stable.
SELECT e.rows_used, abs(e.inertia - (m.metrics->>'inertia')::float8) < 1e-6 AS same_inertia
FROM segment_evaluate('by_region/2') e, segment_models m WHERE m.name = 'by_region/2' AND m.is_current;
SELECT sum(rows_now) AS rows_now, max(psi_total) AS psi_total, min(advice) AS advice
FROM segment_drift('by_region/2');
-- A group model is refitted with its per-group model, or on a view of its rows.
SELECT * FROM segment_refit('by_region/2');
\echo :LAST_ERROR_SQLSTATE

-- A group with fewer usable rows than k is not fitted (WARNING); its rows, rows with a NULL
-- group and rows of a value unseen at fit time get no segment (NULL). Text groups here.
CREATE TABLE outlets (id int, outlet text, spend float8, visits float8);
INSERT INTO outlets
SELECT i, CASE WHEN i <= 30 THEN 'north' WHEN i <= 32 THEN 'tiny' ELSE NULL END,
       (i % 7) * 10.0 + i % 3, (i % 5) * 2.0
FROM generate_series(1, 33) i;
SELECT model, segments, rows_used, rows_skipped
FROM segment_fit('outlets', ARRAY['spend', 'visits'], 3, 'by_outlet', '{"group_by": "outlet"}');
SELECT * FROM segment_groups('by_outlet');
SELECT coalesce(outlet, '(null)') AS outlet, segment_assign('by_outlet', s) IS NULL AS no_segment, count(*)
FROM outlets s GROUP BY 1, 2 ORDER BY 1, 2;
SELECT segment_assign('by_outlet', s) AS unseen_value
FROM (SELECT 1 AS id, 'south'::text AS outlet, 10.0::float8 AS spend, 2.0::float8 AS visits) s;

-- min_group_rows raises the floor: Oporto (47 rows) is left out at 50.
SELECT model, rows_used FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3,
       'by_region_50', '{"group_by": "region", "min_group_rows": 50}');
SELECT group_value, rows_used, model FROM segment_groups('by_region_50');

-- k chosen per group (k NULL): each group scans k_min..k_max itself.
SELECT model, segments FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], NULL,
       'by_channel', '{"group_by": "channel", "k_max": 4}');

-- A refit refits every group; segment ids stay matched, so the same rows get the same segments.
CREATE TABLE before_refit AS SELECT customer_id, segment_assign('by_region', c) AS segment FROM customer_features c;
SELECT model, version FROM segment_refit('by_region');
SELECT * FROM segment_groups('by_region');
SELECT count(*) FILTER (WHERE b.segment IS DISTINCT FROM segment_assign('by_region', c)) AS changed
FROM customer_features c JOIN before_refit b USING (customer_id);

-- Grants on a per-group model reach its groups.
CREATE ROLE group_reader;
GRANT SELECT ON customer_features TO group_reader;
GRANT USAGE ON SCHEMA public TO group_reader;
SELECT segment_grant('by_region', 'group_reader');
SET ROLE group_reader;
SELECT count(segment_assign('by_region', c)) AS assigned FROM customer_features c;
SELECT segment, size FROM segment_profile('by_region/3') WHERE feature = 'milk' ORDER BY segment;
RESET ROLE;
-- A group that first appears at a refit gets the per-group model's owner and grants too.
SELECT segment_grant('by_outlet', 'group_reader');
GRANT SELECT ON outlets TO group_reader;
INSERT INTO outlets SELECT 100 + i, 'south', i * 3.0, i FROM generate_series(1, 6) i;
SELECT model, version, rows_used FROM segment_refit('by_outlet');
SET ROLE group_reader;
SELECT outlet, count(segment_assign('by_outlet', s)) AS assigned FROM outlets s GROUP BY 1 ORDER BY 1;
SELECT count(*) AS sizes FROM segment_profile('by_outlet/south') WHERE feature = 'spend';
RESET ROLE;
SELECT name, owner FROM segment_models WHERE name LIKE 'by_outlet%' AND is_current ORDER BY name;

-- A view for BI tools: the grouping column comes along, labels are per group.
SELECT segment_rename('by_outlet/north', 1, 'North regulars');
SELECT * FROM segment_group_labels('by_outlet') ORDER BY 1, 2;
SELECT segment_create_view('by_outlet', 'outlets', 'outlet_segments');
SELECT column_name FROM information_schema.columns WHERE table_name = 'outlet_segments' ORDER BY ordinal_position;
SELECT outlet, segment, segment_label, count(*) FROM outlet_segments GROUP BY 1, 2, 3 ORDER BY 1, 2;
DROP VIEW outlet_segments;
SELECT * FROM segment_group_labels('oporto');
\echo :LAST_ERROR_SQLSTATE

-- What a per-group model is not (SQLSTATE after each): one model, an array's model, a row
-- without the grouping column, a group model to drop on its own.
SELECT * FROM segment_profile('by_region');
\echo :LAST_ERROR_SQLSTATE
-- (It exports whole: its index and each group model's document; see the exchange test.)
SELECT jsonb_array_length(segment_export('by_region') -> 'group_models') AS group_models_exported;
SELECT segment_assign('by_region', ARRAY[1, 2, 3, 4, 5, 6]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('by_region', s)
FROM (SELECT fresh, milk, grocery, frozen, detergents_paper, delicassen FROM customer_features LIMIT 1) s;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_groups('oporto');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_groups('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('by_region/1');
\echo :LAST_ERROR_SQLSTATE
-- Bad options and columns.
SELECT * FROM segment_fit('customer_features', ARRAY['milk'], 3, 'g', '{"group_by": "Region"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', ARRAY['milk', 'region'], 3, 'g', '{"group_by": "region"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', ARRAY['milk'], 3, 'g', '{"group_by": "region", "method": "minibatch_kmeans"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_choose_k('customer_features', ARRAY['milk'], options => '{"group_by": "region"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', ARRAY['milk'], 3, 'g', '{"min_group_rows": 10}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('customer_features', ARRAY['milk'], 3, 'g', '{"group_by": "region", "min_group_rows": 0}');
\echo :LAST_ERROR_SQLSTATE
-- Every group too small, or no group at all: nothing is stored.
SELECT * FROM segment_fit('outlets', ARRAY['spend'], 40, 'too_small', '{"group_by": "outlet"}');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE no_groups AS SELECT spend, NULL::text AS outlet FROM outlets;
SELECT * FROM segment_fit('no_groups', ARRAY['spend'], 3, 'no_groups', '{"group_by": "outlet"}');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stored FROM segment_models WHERE name IN ('g', 'too_small', 'no_groups');

-- Dropping the per-group model drops its groups (every version of each).
SELECT segment_drop('by_region');
SELECT count(*) AS left_over FROM segment_models WHERE name LIKE 'by_region/%' OR name = 'by_region';
SELECT segment_drop('by_outlet'), segment_drop('by_region_50'), segment_drop('by_channel'), segment_drop('oporto');
REVOKE ALL ON customer_features FROM group_reader;
REVOKE ALL ON outlets FROM group_reader;
REVOKE ALL ON SCHEMA public FROM group_reader;
DROP ROLE group_reader;
DROP TABLE outlets, no_groups, before_refit;
DROP VIEW oporto;
