-- segment_prune(model, keep): a project that refits on every run (a dbt job, a nightly refit)
-- adds a version each time; segment_prune deletes the versions older than the keep newest.
-- Never the current one (every reader and every view uses it), never a group model's version a
-- kept version of its per-group model uses. Returns how many versions it deleted.
SET customer_segment.progress = off;

-- Five fits of one name (seeds differ: five versions).
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 1}');
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 2}');
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 3}');
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 4}');
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 5}');
SELECT segment_rename('nightly', 0, 'Grocery buyers');
SELECT segment_create_view('nightly', 'customer_features', 'nightly_segments');
CREATE TABLE nightly_before AS
SELECT customer_id, segment, segment_label FROM nightly_segments;

-- keep => 3: versions 1 and 2 go; 3, 4 and 5 stay.
SELECT segment_prune('nightly', keep => 3) AS deleted;
SELECT version, is_current FROM segment_models WHERE name = 'nightly' ORDER BY version;
-- The default keeps 2 (the current version and the one before, for segment_compare).
SELECT segment_prune('nightly') AS deleted;
SELECT array_agg(version ORDER BY version) AS versions FROM segment_models WHERE name = 'nightly';
SELECT count(*) AS pairs FROM segment_compare('nightly', 4, 5);
-- Nothing beyond what is there: 0.
SELECT segment_prune('nightly', keep => 10) AS deleted;
-- keep => 1 keeps the current version alone; the view and its labels answer every row as before.
SELECT segment_prune('nightly', keep => 1) AS deleted;
SELECT array_agg(version ORDER BY version) AS versions FROM segment_models WHERE name = 'nightly';
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (v.segment, v.segment_label) IS DISTINCT FROM (b.segment, b.segment_label)) AS changed
FROM nightly_segments v JOIN nightly_before b USING (customer_id);
SELECT segment_label('nightly', 0);
-- Versions keep their numbers: the next fit is version 6.
SELECT version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 3, 'nightly', '{"seed": 6}');

-- Bad calls (SQLSTATE after each): keep below 1, NULL arguments, a model nobody has.
SELECT segment_prune('nightly', keep => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_prune('nightly', keep => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_prune(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_prune('no_such_model');
\echo :LAST_ERROR_SQLSTATE

-- Pruning takes manage: a role granted use may not, a role granted manage may.
CREATE ROLE regress_prune_user;
CREATE ROLE regress_prune_manager;
SELECT segment_grant('nightly', 'regress_prune_user', 'use');
SELECT segment_grant('nightly', 'regress_prune_manager', 'manage');
SET ROLE regress_prune_user;
SELECT segment_prune('nightly', keep => 1);
\echo :LAST_ERROR_SQLSTATE
SET ROLE regress_prune_manager;
SELECT segment_prune('nightly', keep => 1) AS deleted;
RESET ROLE;
SELECT array_agg(version ORDER BY version) AS versions FROM segment_models WHERE name = 'nightly';

-- A per-group model pins its group models' versions. Three fits: the index and each group model
-- at versions 1, 2, 3; then group 2 refitted by hand on a view of its rows (its version 4,
-- which the per-group model does not use: it still uses 3).
SELECT model, version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 2, 'regional', '{"group_by": "region", "seed": 1}');
SELECT model, version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 2, 'regional', '{"group_by": "region", "seed": 2}');
SELECT model, version FROM segment_fit('customer_features', ARRAY['milk', 'grocery'], 2, 'regional', '{"group_by": "region", "seed": 3}');
CREATE VIEW region_2 AS SELECT * FROM customer_features WHERE region = 2;
SELECT model, version FROM segment_refit('regional/2', 'region_2');
CREATE TABLE regional_before AS
SELECT customer_id, segment_assign('regional', c) AS segment FROM customer_features c;
-- Pruning the group model alone deletes nothing here, whatever keep says: its current version
-- (4) stays, and the per-group model's three versions use its versions 1, 2 and 3.
SELECT segment_prune('regional/2', keep => 1) AS deleted;
SELECT array_agg(version ORDER BY version) AS versions FROM segment_models WHERE name = 'regional/2';
-- Pruning the per-group model prunes its groups: each keeps its newest and the version the
-- per-group model's kept version uses.
SELECT segment_prune('regional', keep => 1) AS deleted;
SELECT name, array_agg(version ORDER BY version) AS versions
FROM segment_models WHERE name LIKE 'regional%' GROUP BY name ORDER BY name;
SELECT * FROM segment_groups('regional');
SELECT count(*) FILTER (WHERE b.segment IS DISTINCT FROM segment_assign('regional', c)) AS changed
FROM customer_features c JOIN regional_before b USING (customer_id);
SELECT count(*) AS labels FROM segment_group_labels('regional');

-- A group model whose per-group model the caller may not read is refused: the versions that
-- per-group model uses cannot be seen. (Here a superuser hands a group model to another role,
-- as a manager's refit that created a group, followed by a revoke, would.)
UPDATE segment_model_access SET owner = 'regress_prune_manager'::regrole WHERE name = 'regional/3';
SET ROLE regress_prune_manager;
SELECT segment_prune('regional/3', keep => 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

UPDATE segment_model_access SET owner = current_user::regrole WHERE name = 'regional/3';
SELECT segment_drop('nightly', cascade => true) AS dropped;
SELECT segment_drop('regional') AS dropped;
DROP VIEW region_2;
DROP TABLE nightly_before, regional_before;
DROP ROLE regress_prune_user, regress_prune_manager;
