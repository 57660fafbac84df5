-- segment_fit, the model catalog, segment_assign, centroids and profiles on data small enough
-- to check by hand.
CREATE TABLE points (id int PRIMARY KEY, x float8, y numeric, tag text);
INSERT INTO points VALUES
    (1, 0, 0, 'a'), (2, 1, 0, 'a'), (3, 0, 1, 'a'),       -- a group around (1/3, 1/3)
    (4, 10, 10, 'b'), (5, 11, 10, 'b'), (6, 10, 11, 'b'), -- a group around (31/3, 31/3)
    (7, NULL, 5, 'c');                                    -- a NULL feature: skipped by default

-- Two segments on raw values (no scaling), so the centres are the group means.
SELECT model, version, segments, rows_used, rows_skipped, round(inertia::numeric, 6) AS inertia,
       round(silhouette::numeric, 6) AS silhouette, iterations > 0 AS iterated
FROM segment_fit('points', ARRAY['x', 'y'], 2, name => 'pts', options => '{"scale": "none"}');

-- The catalog: every version of every model, newest marked current.
SELECT name, version, method, k, features, preprocessing->'scale'->>'method' AS scale,
       preprocessing->'impute'->>'method' AS impute, format_version, source, rows_used,
       rows_skipped, owner = current_user AS mine, is_current
FROM segment_models;

-- Centres in original units. Segment 0 is the largest; equal sizes put the lower centre first.
SELECT segment, feature, round(value::numeric, 6) AS value
FROM segment_centroids('pts') ORDER BY segment, feature;

-- Every row gets its segment; the NULL row gets none (impute = skip).
SELECT id, tag, segment_assign('pts', p) AS segment FROM points p ORDER BY id;

-- The model is read from the catalog once per statement (and call site), not once per row:
-- the backend's scan counters of segment_model, before and after, count the reads.
BEGIN;
SELECT seq_scan + coalesce(idx_scan, 0) AS scans_before
FROM pg_stat_xact_user_tables WHERE relname = 'segment_model' \gset
SELECT count(segment_assign('pts', p)) AS assigned FROM points p;
SELECT seq_scan + coalesce(idx_scan, 0) - :scans_before AS catalog_reads
FROM pg_stat_xact_user_tables WHERE relname = 'segment_model';
COMMIT;

-- Labels too: segment_label on every row reads the model's labels once per statement.
BEGIN;
SELECT seq_scan + coalesce(idx_scan, 0) AS scans_before
FROM pg_stat_xact_user_tables WHERE relname = 'segment_model' \gset
SELECT count(DISTINCT segment_label('pts', id % 2)) AS labels FROM points p;
SELECT seq_scan + coalesce(idx_scan, 0) - :scans_before AS catalog_reads
FROM pg_stat_xact_user_tables WHERE relname = 'segment_model';
COMMIT;

-- For a table or view row the planner passes the row's columns instead of a built row value
-- (cheaper per row); the answer is the same as through the generic record path.
EXPLAIN (VERBOSE, COSTS OFF) SELECT segment_assign('pts', p) FROM points p;
SELECT count(*) FILTER (WHERE segment_assign('pts', p) IS DISTINCT FROM
                              segment_assign('pts', (SELECT r FROM (SELECT p.*) r))) AS differ
FROM points p;
-- A row of an outer query level (here a CTE pulled up into a lateral subquery's reference)
-- keeps the generic path: its level has already chosen the columns it passes down.
WITH r AS (SELECT p.*, segment_assign('pts', p) AS s FROM points p)
SELECT array_agg(x.s ORDER BY x.s NULLS LAST)
       = (SELECT array_agg(segment_assign('pts', p) ORDER BY segment_assign('pts', p) NULLS LAST) FROM points p) AS same_segments
FROM r, LATERAL (SELECT r.s AS s OFFSET 0) x;
-- ... also with dropped and mixed-case columns, and through a view.
CREATE TABLE reshaped (gone int, "Y" int, x float8, note text, y numeric);
ALTER TABLE reshaped DROP COLUMN gone;
INSERT INTO reshaped ("Y", x, note, y) VALUES (99, 0.5, 'near the first group', 0), (99, 10.5, 'near the second', 11);
CREATE VIEW reshaped_view AS SELECT note, y, x FROM reshaped;
SELECT note, segment_assign('pts', r) AS from_table, segment_assign('pts', v) AS from_view,
       segment_assign('pts', ARRAY[r.x, r.y]) AS from_array
FROM reshaped r JOIN reshaped_view v USING (note) ORDER BY note;

-- A row wider than a function's 100-argument limit keeps the generic path, with the same answers.
DO $$ BEGIN
    EXECUTE (SELECT format('CREATE TABLE wide (%s, x float8, y numeric)', string_agg(format('c%s int', i), ', '))
             FROM generate_series(1, 120) i);
END $$;
INSERT INTO wide (x, y) SELECT x, y FROM points WHERE x IS NOT NULL;
SELECT count(*) AS rows, count(*) FILTER (WHERE segment_assign('pts', w) = segment_assign('pts', ARRAY[w.x, w.y])) AS same
FROM wide w;

-- The array form takes the features in the model's order.
SELECT segment_assign('pts', ARRAY[0.2, 0.1]) AS near_origin,
       segment_assign('pts', ARRAY[9, 9]::float8[]) AS near_ten,
       segment_assign('pts', ARRAY[NULL, 9]::float8[]) AS with_null,
       segment_assign('pts', NULL::float8[]) AS null_array;

-- Any record with the right column names works, e.g. a row built on the fly.
SELECT segment_assign('pts', r) AS segment
FROM (SELECT 10.5::float8 AS x, 10::int AS y, 'extra columns are ignored' AS note) r;

-- Profile: size and share per segment, and each feature's segment mean against the overall mean
-- (difference in overall standard deviations).
SELECT segment, size, round(share::numeric, 4) AS share, feature,
       round(segment_mean::numeric, 4) AS segment_mean, round(overall_mean::numeric, 4) AS overall_mean,
       round(difference_sd::numeric, 4) AS difference_sd
FROM segment_profile('pts') ORDER BY segment, feature;

-- Refitting a name makes a new version, and the newest is used from the next statement on.
SELECT model, version, segments FROM segment_fit('points', ARRAY['x', 'y'], 3, name => 'pts');
SELECT name, version, k, is_current FROM segment_models WHERE name = 'pts' ORDER BY version;
SELECT count(DISTINCT segment_assign('pts', p)) AS segments_in_use FROM points p WHERE x IS NOT NULL;

-- Without k, segment_fit scores k = 2..10 (capped at rows - 1) as segment_choose_k does and fits
-- the recommended k; the scores are kept in the model's metrics.
SELECT model, segments, silhouette_rows
FROM segment_fit('points', ARRAY['x', 'y'], name => 'pts_auto', options => '{"scale": "none"}');
SELECT metrics->'k_chosen'->>'rule' AS rule,
       jsonb_path_query_array(metrics, '$.k_chosen.scores[*].k') AS scanned
FROM segment_models WHERE name = 'pts_auto';

-- impute = mean fills NULLs with the column mean and keeps the row; assign does the same.
SELECT rows_used, rows_skipped
FROM segment_fit('points', ARRAY['x', 'y'], 2, name => 'pts_mean', options => '{"impute": "mean", "scale": "none"}');
SELECT preprocessing->'impute' AS impute FROM segment_models WHERE name = 'pts_mean';
SELECT segment_assign('pts_mean', p) AS segment FROM points p WHERE id = 7;
-- impute = median uses the column medians instead (x: 5.5 of six values, y: 5 of seven).
SELECT rows_used FROM segment_fit('points', ARRAY['x', 'y'], 2, name => 'pts_median', options => '{"impute": "median"}');
SELECT preprocessing->'impute' AS impute FROM segment_models WHERE name = 'pts_median';

-- segment_explain says how sure a segment is. On a line with groups {0, 1, 2} and {10, 11, 12}
-- (centres 1 and 11, no scaling) the point 4 is 3 from its centre and 7 from the other: margin 4.
CREATE TABLE line (x float8);
INSERT INTO line VALUES (0), (1), (2), (10), (11), (12);
SELECT model FROM segment_fit('line', ARRAY['x'], 2, options => '{"scale": "none"}');
SELECT x, (e).segment, (e).distance, (e).second_segment, (e).second_distance, (e).margin
FROM (SELECT x, segment_explain('line', r) AS e FROM (VALUES (4.0::float8), (6.0), (11.5)) r(x)) s
ORDER BY x;
SELECT count(*) FILTER (WHERE (segment_explain('pts_mean', p)).segment = segment_assign('pts_mean', p)) AS agree,
       count(*) AS rows
FROM points p;
-- segment_explain is planned the same way, with the same answer as through the record path.
EXPLAIN (VERBOSE, COSTS OFF) SELECT (segment_explain('pts_mean', p)).margin FROM points p;
SELECT count(*) FILTER (WHERE segment_explain('pts_mean', p) IS DISTINCT FROM
                              segment_explain('pts_mean', (SELECT r FROM (SELECT p.*) r))) AS differ,
       count(*) AS rows
FROM points p;

-- Integer, bigint, real and numeric columns all work, from a view or a materialized view.
CREATE TABLE typed AS
SELECT i::smallint AS a, (i * 10)::bigint AS b, (i % 3)::real AS c, (i / 7.0)::numeric AS d
FROM generate_series(1, 60) i;
CREATE VIEW typed_view AS SELECT * FROM typed WHERE a > 5;
CREATE MATERIALIZED VIEW typed_mat AS SELECT * FROM typed;
SELECT model, rows_used FROM segment_fit('typed_view', ARRAY['a', 'b', 'c', 'd'], 3);
SELECT model, rows_used FROM segment_fit('typed_mat', ARRAY['a', 'b', 'c', 'd'], 3, options => '{"scale": "minmax"}');
SELECT count(*) FILTER (WHERE segment_assign('typed_view', t) IS NULL) AS unassigned FROM typed t;

-- The same seed gives the same model; the default name is the relation's name.
SELECT model, version FROM segment_fit('typed_view', ARRAY['a', 'b', 'c', 'd'], 3);
SELECT count(DISTINCT m.model->'centres') AS distinct_centres, count(*) AS versions
FROM segment_model m WHERE m.name = 'typed_view';

-- A fit in a transaction that rolls back leaves nothing behind.
BEGIN;
SELECT model, version FROM segment_fit('points', ARRAY['x', 'y'], 2, name => 'rolled_back');
ROLLBACK;
SELECT count(*) AS rolled_back_versions FROM segment_models WHERE name = 'rolled_back';

-- Dropping removes every version.
SELECT segment_drop('pts') AS versions_dropped;
SELECT count(*) AS left_over FROM segment_models WHERE name = 'pts';

-- segment_assign is PARALLEL SAFE: in a parallel plan every worker loads the model itself and
-- the answers equal the serial ones. VERBOSE shows the call in the target list of the parallel
-- scan, below the Gather: the workers evaluate it (as segment_assign_columns, the planner's
-- rewrite of a table row).
CREATE TABLE many AS
SELECT i AS id, (i % 7)::float8 AS x, (i % 11)::numeric AS y FROM generate_series(1, 50000) i;
ANALYZE many;
SELECT model FROM segment_fit('many', ARRAY['x', 'y'], 4, name => 'many');
CREATE TEMP TABLE serial_answer AS SELECT id, segment_assign('many', m) AS segment FROM many m;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (VERBOSE, COSTS OFF) SELECT id, segment_assign('many', m) AS segment FROM many m;
SELECT count(*) AS rows, count(*) FILTER (WHERE p.segment IS DISTINCT FROM s.segment) AS differ
FROM (SELECT id, segment_assign('many', m) AS segment FROM many m) p JOIN serial_answer s USING (id);
EXPLAIN (VERBOSE, COSTS OFF) SELECT sum(segment_assign('many', m)) FROM many m;
SELECT sum(segment_assign('many', m)) = (SELECT sum(segment) FROM serial_answer) AS same_sum FROM many m;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
