-- Shipped models (customer_segment.ship_models): the planner writes the model's document into
-- the query instead of its name, so the node that scans the rows needs no catalog. Citus needs
-- that for distributed tables (auto ships for Citus tables; tests/citus runs it there); always
-- ships for every table, which this file uses to check, on one server, that a shipped model
-- gives every row the same segment as the model read by name.
SELECT model, version FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 4,
    name => 'shipped_km');
SHOW customer_segment.ship_models;
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 3,
    name => 'shipped_gmm', options => '{"method": "gmm"}');
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], NULL,
    name => 'shipped_dbscan', options => '{"method": "dbscan", "eps": 0.5, "min_points": 5}');
-- Ward on numbers and a text column (one-hot encoded).
CREATE TABLE shipped_mixed AS
SELECT customer_id, fresh, milk, CASE channel WHEN 1 THEN 'horeca' ELSE 'retail' END AS channel
FROM wholesale_customers;
SELECT model, version FROM segment_fit('shipped_mixed', ARRAY['fresh', 'milk', 'channel'], 3,
    name => 'shipped_ward', options => '{"method": "hierarchical", "log": ["fresh", "milk"]}');

-- A helper to see which function the planner calls (EXPLAIN VERBOSE shows the planned call).
CREATE FUNCTION planned_call(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE line text; plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || query LOOP plan := plan || line; END LOOP;
    RETURN CASE WHEN plan LIKE '%\_shipped(%' THEN 'shipped'
                WHEN plan LIKE '%segment_assign_columns(%' THEN 'by name'
                ELSE 'generic' END;
END $$;
-- Without Citus, auto reads models by name; always ships them. customer_features is a view: its
-- rows are the view's columns (the planner passes them, not a row value, for views as for tables).
SELECT planned_call('SELECT segment_assign(''shipped_km'', f) FROM customer_features f') AS auto;
SET customer_segment.ship_models = always;
SELECT planned_call('SELECT segment_assign(''shipped_km'', f) FROM customer_features f') AS always;
SELECT planned_call('SELECT segment_assign(''shipped_km'', w) FROM wholesale_customers w') AS table_rows;
-- Anonymous records keep the generic path (and read the model by name).
SELECT planned_call('SELECT segment_assign(''shipped_km'', r) FROM (SELECT 1 AS fresh) r') AS record;

-- Every row gets the same segment from the shipped model as from the model read by name.
CREATE TABLE shipped_answers AS
SELECT customer_id, segment_assign('shipped_km', f) AS km, segment_assign('shipped_gmm', f) AS gmm,
       segment_assign('shipped_dbscan', f) AS dbscan
FROM customer_features f;
CREATE TABLE shipped_ward_answers AS
SELECT customer_id, segment_assign('shipped_ward', w) AS ward FROM shipped_mixed w;
SET customer_segment.ship_models = never;
SELECT planned_call('SELECT segment_assign(''shipped_km'', f) FROM customer_features f') AS never;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE km IS DISTINCT FROM segment_assign('shipped_km', f)) AS km_differ,
       count(*) FILTER (WHERE gmm IS DISTINCT FROM segment_assign('shipped_gmm', f)) AS gmm_differ,
       count(*) FILTER (WHERE dbscan IS DISTINCT FROM segment_assign('shipped_dbscan', f)) AS dbscan_differ,
       count(DISTINCT km) AS km_segments, count(*) FILTER (WHERE dbscan = -1) > 0 AS dbscan_has_noise
FROM shipped_answers JOIN customer_features f USING (customer_id);
SELECT count(*) FILTER (WHERE ward IS DISTINCT FROM segment_assign('shipped_ward', w)) AS ward_differ
FROM shipped_ward_answers JOIN shipped_mixed w USING (customer_id);
SET customer_segment.ship_models = always;

-- A churn model's leaves too (segment_churn_assign is segment_assign for churn models).
CREATE TABLE shipped_accounts AS
SELECT i AS id, (i % 40)::float8 AS tenure, ((i * 7) % 13)::float8 AS calls,
       (i % 40) < 8 AND (i * 7) % 13 > 6 AS left_us
FROM generate_series(1, 400) i;
SELECT model FROM segment_churn_fit('shipped_accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'shipped_churn');
SELECT planned_call('SELECT segment_churn_assign(''shipped_churn'', a) FROM shipped_accounts a') AS churn;
CREATE TABLE shipped_leaves AS
SELECT id, segment_churn_assign('shipped_churn', a) AS leaf FROM shipped_accounts a;
SET customer_segment.ship_models = never;
SELECT count(*) FILTER (WHERE leaf IS DISTINCT FROM segment_churn_assign('shipped_churn', a)) AS leaves_differ,
       count(DISTINCT leaf) > 1 AS several_leaves
FROM shipped_leaves JOIN shipped_accounts a USING (id);
SET customer_segment.ship_models = always;

-- The other row functions ship their models too: membership probabilities, explanations and
-- churn probabilities are the same, row by row.
SELECT planned_call('SELECT segment_assign_proba(''shipped_gmm'', f) FROM customer_features f') AS proba,
       planned_call('SELECT segment_explain(''shipped_km'', f) FROM customer_features f') AS explain,
       planned_call('SELECT segment_churn_predict(''shipped_churn'', a) FROM shipped_accounts a') AS churn_predict;
CREATE TABLE shipped_rows AS
SELECT customer_id, segment_assign_proba('shipped_gmm', f) AS proba, segment_explain('shipped_km', f) AS explain
FROM customer_features f;
CREATE TABLE shipped_churn_rows AS
SELECT id, segment_churn_predict('shipped_churn', a) AS p FROM shipped_accounts a;
SET customer_segment.ship_models = never;
SELECT count(*) FILTER (WHERE proba IS DISTINCT FROM segment_assign_proba('shipped_gmm', f)) AS proba_differ,
       count(*) FILTER (WHERE explain IS DISTINCT FROM segment_explain('shipped_km', f)) AS explain_differ,
       count(*) FILTER (WHERE (explain).margin IS NOT NULL) AS with_margin
FROM shipped_rows JOIN customer_features f USING (customer_id);
SELECT count(*) FILTER (WHERE p IS DISTINCT FROM segment_churn_predict('shipped_churn', a)) AS churn_differ,
       count(DISTINCT p) > 1 AS several_rates
FROM shipped_churn_rows JOIN shipped_accounts a USING (id);
SET customer_segment.ship_models = always;

-- Labels too: segment_label ships the model's labels (here always; with auto, when the query
-- reads a Citus table), and a rename makes cached plans plan again.
SELECT planned_call('SELECT segment_label(''shipped_km'', 1) FROM customer_features f') AS label;
SELECT count(*) FILTER (WHERE l IS DISTINCT FROM segment_labels.label) AS labels_differ
FROM (SELECT s, segment_label('shipped_km', s) AS l FROM generate_series(0, 3) s) t
JOIN segment_labels('shipped_km') ON segment = t.s;
PREPARE shipped_label AS SELECT segment_label('shipped_km', 1);
SET plan_cache_mode = force_generic_plan;
EXECUTE shipped_label;
SELECT segment_rename('shipped_km', 1, 'renamed');
EXECUTE shipped_label;
SELECT segment_label('shipped_km', 7);
-- Also after a change written by hand into the catalog (as docs/privileges.md allows a DBA).
UPDATE segment_model SET labels = labels || '{"1": "renamed by hand"}'
WHERE name = 'shipped_km' AND version = (SELECT max(version) FROM segment_model WHERE name = 'shipped_km');
EXECUTE shipped_label;
DEALLOCATE shipped_label;
RESET plan_cache_mode;
-- Shipped labels sort and group like any text.
SELECT segment_label('shipped_km', s) AS label FROM generate_series(0, 3) s ORDER BY 1 LIMIT 1;
SELECT count(DISTINCT segment_label('shipped_km', s)) AS labels FROM generate_series(0, 3) s;
-- The catalog's trigger function is not for calling.
SELECT segment_catalog_changed();

-- A prepared statement's plan carries the version it was planned with; every new version, drop,
-- grant or revoke makes it plan again, so it never serves a stale or dropped model.
SET plan_cache_mode = force_generic_plan;
PREPARE shipped_count AS
SELECT segment_assign('shipped_km', f) AS segment, count(*) FROM customer_features f GROUP BY 1 ORDER BY 1;
EXECUTE shipped_count;
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 2,
    name => 'shipped_km', options => '{"replace": true}');
EXECUTE shipped_count;
SELECT segment_drop('shipped_km');
EXECUTE shipped_count;
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 3,
    name => 'shipped_km');
EXECUTE shipped_count;
-- The same inside a PL/pgSQL function, whose statements are prepared once per session.
CREATE FUNCTION shipped_segments() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    RETURN (SELECT count(DISTINCT segment_assign('shipped_km', f)) FROM customer_features f);
END $$;
SELECT shipped_segments();
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 5,
    name => 'shipped_km', options => '{"replace": true}');
SELECT shipped_segments();
DEALLOCATE shipped_count;
-- An SQL function that calls segment_assign is inlined into the query that calls it: its plan
-- follows refits too.
CREATE FUNCTION shipped_segment_of(f customer_features) RETURNS integer LANGUAGE sql STABLE
    AS $$ SELECT segment_assign('shipped_km', f) $$;
PREPARE shipped_inlined AS SELECT count(DISTINCT shipped_segment_of(f)) FROM customer_features f;
EXECUTE shipped_inlined;
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 2,
    name => 'shipped_km', options => '{"replace": true}');
EXECUTE shipped_inlined;
DEALLOCATE shipped_inlined;
RESET plan_cache_mode;

-- Privileges are checked when the statement is planned, as the caller: a role without use gets
-- the usual error (with its hint), and a grant lets its next statement plan.
CREATE ROLE regress_cs_shipping;
GRANT SELECT ON wholesale_customers, customer_features TO regress_cs_shipping;
SET ROLE regress_cs_shipping;
SELECT count(segment_assign('shipped_km', f)) FROM customer_features f;
RESET ROLE;
SELECT segment_grant('shipped_km', 'regress_cs_shipping');
SET ROLE regress_cs_shipping;
SELECT count(segment_assign('shipped_km', f)) FROM customer_features f;
PREPARE shipped_as_reader AS SELECT count(segment_assign('shipped_km', f)) FROM customer_features f;
EXECUTE shipped_as_reader;
RESET ROLE;
-- A revoke makes the prepared statement plan again, as the role, and fail.
SELECT segment_revoke('shipped_km', 'regress_cs_shipping');
SET ROLE regress_cs_shipping;
EXECUTE shipped_as_reader;
DEALLOCATE shipped_as_reader;
RESET ROLE;
-- A plan made by the owner is not served to another role: run by regress_cs_shipping it plans
-- again, as that role, and fails.
SET plan_cache_mode = force_generic_plan;
PREPARE shipped_by_owner AS SELECT count(segment_assign('shipped_km', f)) FROM customer_features f;
EXECUTE shipped_by_owner;
SET ROLE regress_cs_shipping;
EXECUTE shipped_by_owner;
RESET ROLE;
DEALLOCATE shipped_by_owner;
RESET plan_cache_mode;

-- Not shipped: a per-group model (its groups are models of their own), and a model named by an
-- expression rather than a constant. Both are read by name as usual.
SELECT model FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 2, 'shipped_by_region',
                              '{"group_by": "region", "seed": 1}') LIMIT 1;
SELECT planned_call('SELECT segment_assign(''shipped_by_region'', f) FROM customer_features f') AS per_group;
SELECT planned_call('SELECT segment_assign(lower(''SHIPPED_KM''), f) FROM customer_features f') AS computed_name;
SELECT count(segment_assign('shipped_by_region', f)) AS assigned FROM customer_features f;
-- A missing model fails when the statement is planned, with the usual message.
SELECT segment_assign('no_such_model', f) FROM customer_features f;

-- The planned form is not for callers: a shipped model must come from the planner.
SELECT segment_assign_shipped('not a model', ARRAY['fresh'], 1.0::float8);
SELECT segment_assign_shipped(name, ARRAY['fresh'], 1.0::float8) FROM (VALUES ('x')) v(name);
SELECT segment_assign_shipped('{"shipped": 9}', ARRAY['fresh'], 1.0::float8);
RESET customer_segment.ship_models;
SET customer_segment.ship_models = sometimes;
REVOKE SELECT ON wholesale_customers, customer_features FROM regress_cs_shipping;
DROP ROLE regress_cs_shipping;
