-- Privileges between roles (README, "Privileges"), and the extension's own SQL cannot be turned
-- against its caller: no SECURITY DEFINER, a pinned search_path, identifiers stay identifiers.

-- Every function runs with the caller's rights.
SELECT count(*) AS security_definer_functions
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid
WHERE e.extname = 'customer_segment' AND p.prosecdef;

CREATE ROLE regress_cs_alice;
CREATE ROLE regress_cs_bob;
CREATE ROLE regress_cs_carol IN ROLE regress_cs_alice;   -- a member of alice's role
CREATE TABLE team_customers AS
SELECT i AS id, (i % 3)::float8 AS visits, (i % 7)::float8 AS spend FROM generate_series(1, 300) i;
GRANT SELECT ON team_customers TO regress_cs_alice;

-- A role without SELECT on the source cannot fit on it.
SET ROLE regress_cs_bob;
SELECT * FROM segment_fit('team_customers', ARRAY['visits', 'spend'], 3, name => 'bobs');
\echo :LAST_ERROR_SQLSTATE

-- Alice fits a model: it is hers.
SET ROLE regress_cs_alice;
SELECT model, version FROM segment_fit('team_customers', ARRAY['visits', 'spend'], 3, name => 'alices');
SELECT name, version, owner, fitted_by FROM segment_models;

-- Bob sees no trace of it, and can neither use, read, refit, rename nor drop it.
RESET ROLE;
GRANT SELECT ON team_customers TO regress_cs_bob;
SET ROLE regress_cs_bob;
SELECT count(*) AS models_bob_sees FROM segment_models;
SELECT count(*) AS rows_bob_reads FROM segment_model;
SELECT segment_assign('alices', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('alices', t) FROM team_customers t LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_centroids('alices');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_profile('alices');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_label('alices', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_evaluate('alices');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_fit('team_customers', ARRAY['visits', 'spend'], 3, name => 'alices');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_rename('alices', 0, 'mine now');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('alices');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_grant('alices', 'regress_cs_bob', 'manage');
\echo :LAST_ERROR_SQLSTATE
-- ... nor around the functions, on the catalog tables themselves.
WITH changed AS (UPDATE segment_model SET labels = '{"0": "mine"}' WHERE name = 'alices' RETURNING 1)
SELECT count(*) AS labels_changed FROM changed;
WITH deleted AS (DELETE FROM segment_model WHERE name = 'alices' RETURNING 1)
SELECT count(*) AS versions_deleted FROM deleted;
WITH changed AS (UPDATE segment_model_access SET users = '{0}' WHERE name = 'alices' RETURNING 1)
SELECT count(*) AS grants_changed FROM changed;
UPDATE segment_model_access SET owner = 0 WHERE name = 'alices';
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_model (name, version, format_version, source, options, model, metrics,
                           rows_used, rows_skipped)
VALUES ('alices', 99, 1, 'team_customers', '{}', '{}', '{}', 0, 0);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO segment_model_access (name, owner)
SELECT 'stolen', oid FROM pg_roles WHERE rolname = 'regress_cs_alice';
\echo :LAST_ERROR_SQLSTATE

-- A member of alice's role has her rights.
SET ROLE regress_cs_carol;
SELECT segment_assign('alices', ARRAY[1.0, 2.0]) IS NOT NULL AS carol_assigns;

-- Alice grants use: Bob reads and assigns, but still cannot refit or drop.
SET ROLE regress_cs_alice;
SELECT segment_grant('alices', 'regress_cs_bob');
SET ROLE regress_cs_bob;
SELECT segment_assign('alices', ARRAY[1.0, 2.0]) = segment_assign('alices', ARRAY[1.0, 2.0]) AS bob_assigns;
SELECT count(*) AS centres FROM segment_centroids('alices');
SELECT * FROM segment_fit('team_customers', ARRAY['visits', 'spend'], 3, name => 'alices');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('alices');
\echo :LAST_ERROR_SQLSTATE

-- Managing: Bob refits (a new version, still Alice's model) and renames.
SET ROLE regress_cs_alice;
SELECT segment_grant('alices', 'regress_cs_bob', 'manage');
SET ROLE regress_cs_bob;
SELECT model, version FROM segment_fit('team_customers', ARRAY['visits', 'spend'], 3, name => 'alices');
SELECT segment_rename('alices', 0, 'renamed by bob');
SELECT name, version, owner, fitted_by FROM segment_models ORDER BY version;

-- Revoking use takes managing with it.
SET ROLE regress_cs_alice;
SELECT segment_revoke('alices', 'regress_cs_bob');
SET ROLE regress_cs_bob;
SELECT segment_assign('alices', ARRAY[1.0, 2.0]);
\echo :LAST_ERROR_SQLSTATE

-- PUBLIC: every role may use it.
SET ROLE regress_cs_alice;
SELECT segment_grant('alices', 'public');
SET ROLE regress_cs_bob;
SELECT segment_assign('alices', ARRAY[1.0, 2.0]) IS NOT NULL AS anyone_assigns;
SELECT segment_drop('alices');
\echo :LAST_ERROR_SQLSTATE

-- Bad grants.
SET ROLE regress_cs_alice;
SELECT segment_grant('alices', 'no_such_role');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_grant('alices', 'regress_cs_bob', 'own');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_grant('no_such_model', 'regress_cs_bob');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_grant('alices', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('alices');
RESET ROLE;

-- A hostile search_path: an operator = for text and a max() that would corrupt version numbers
-- sit before pg_catalog. The extension's queries never call them.
CREATE SCHEMA hostile;
CREATE TABLE hostile.calls (what text);
GRANT ALL ON SCHEMA hostile TO PUBLIC;
GRANT ALL ON hostile.calls TO PUBLIC;
CREATE FUNCTION hostile.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.calls VALUES ('='); RETURN true; END $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.text_eq);
CREATE FUNCTION hostile.bigger(a integer, b integer) RETURNS integer LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO hostile.calls VALUES ('max'); RETURN 1000; END $$;
CREATE AGGREGATE hostile.max(integer) (SFUNC = hostile.bigger, STYPE = integer);
CREATE TABLE hostile.segment_model (name text);
CREATE TABLE hostile.purchases (customer text, at timestamptz, amount float8);
INSERT INTO hostile.purchases VALUES ('a', '2026-01-01', 10), ('a', '2026-02-01', 5),
                                     ('b', '2026-01-15', 20);
SET search_path = hostile, pg_catalog, public;
SELECT model, version FROM segment_fit('public.team_customers', ARRAY['visits', 'spend'], 3,
                                       name => 'pinned');
SELECT model, version FROM segment_fit('public.team_customers', ARRAY['visits', 'spend'], 3,
                                       name => 'pinned');
SELECT count(DISTINCT segment_assign('pinned', t)) AS segments FROM public.team_customers t;
SELECT count(*) AS profile_rows FROM segment_profile('pinned');
SELECT customer, frequency FROM segment_rfm('hostile.purchases', 'customer', 'at', 'amount',
                                            as_of => '2026-03-01') ORDER BY customer;
SELECT segment_drop('pinned');
RESET search_path;
SELECT count(*) AS hostile_calls FROM hostile.calls;
DROP SCHEMA hostile CASCADE;

-- Identifiers with quotes, spaces, semicolons, keywords and mixed case are identifiers, never SQL.
CREATE TABLE victim (x int);
CREATE TABLE "Customers; DROP TABLE victim" ("select" float8, "amount ""quoted""" float8,
                                             "Mixed Case" float8, "city; --" text);
INSERT INTO "Customers; DROP TABLE victim"
SELECT i % 4, (i % 5) * 10, i % 3, CASE WHEN i % 2 = 0 THEN 'x''y' ELSE 'z;' END
FROM generate_series(1, 60) i;
SELECT model, version FROM segment_fit(
    '"Customers; DROP TABLE victim"',
    ARRAY['select', 'amount "quoted"', 'Mixed Case', 'city; --'], 2,
    name => 'm''; DROP TABLE victim; --');
SELECT count(*) AS assigned FROM "Customers; DROP TABLE victim" c
WHERE segment_assign('m''; DROP TABLE victim; --', c) IS NOT NULL;
SELECT feature FROM segment_profile('m''; DROP TABLE victim; --') WHERE segment = 0 ORDER BY feature;
-- The surrogate rules quote the identifiers: each rule runs as a predicate on the table.
DO $$
DECLARE r record; n bigint;
BEGIN
    FOR r IN SELECT * FROM segment_rules('m''; DROP TABLE victim; --', 2) LOOP
        EXECUTE format('SELECT count(*) FROM %s WHERE %s', '"Customers; DROP TABLE victim"', r.rule)
            INTO n;
        RAISE NOTICE 'segment %: % (% rows)', r.segment, r.rule, n;
    END LOOP;
END $$;
SELECT segment_drop('m''; DROP TABLE victim; --');
SELECT to_regclass('victim') IS NOT NULL AS victim_still_there;

DROP TABLE team_customers, victim, "Customers; DROP TABLE victim";
DROP ROLE regress_cs_carol, regress_cs_bob, regress_cs_alice;
