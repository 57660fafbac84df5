-- Models kept across statements (customer_segment.model_cache_size): segment_assign and the other
-- row functions keep the models they read in the session, so a point query (one customer at a
-- time) does not read and parse the model again. What they answer never changes: every statement
-- below sees exactly what reading the catalog would give it, after a refit, a hand UPDATE, a
-- rollback, a grant or a revoke, a change of role membership, and a drop. (Another session's
-- change: tests/stress/model_cache.py, which needs two sessions.)
LOAD 'customer_segment';
SHOW customer_segment.model_cache_size;

-- The model's owner is an analyst, not a superuser; a reader and a team member come later.
CREATE ROLE regress_cs_cache_owner;
CREATE ROLE regress_cs_cache_reader;
CREATE ROLE regress_cs_cache_member;
GRANT SELECT ON customer_features, wholesale_customers TO regress_cs_cache_owner,
    regress_cs_cache_reader, regress_cs_cache_member;
-- How many segments the current version gives the customers (run as its caller), and a point
-- query.
CREATE FUNCTION cache_segments() RETURNS bigint LANGUAGE sql
    AS $$ SELECT count(DISTINCT segment_assign('cache_km', f)) FROM customer_features f $$;
SET ROLE regress_cs_cache_owner;
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 3,
    name => 'cache_km', options => '{"seed": 1}');
PREPARE one_customer(int) AS
    SELECT segment_assign('cache_km', f) IS NOT NULL AS assigned FROM customer_features f
    WHERE customer_id = $1;
SELECT cache_segments();
EXECUTE one_customer(1);
EXECUTE one_customer(2);

-- A refit: the next statement uses the new version (4 segments), also a prepared one.
SELECT version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 4,
    name => 'cache_km', options => '{"seed": 1}');
SELECT cache_segments();
EXECUTE one_customer(1);

-- A rollback: inside the transaction its refit is used; after it, the version before it.
BEGIN;
SELECT version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 5,
    name => 'cache_km', options => '{"seed": 1}');
SELECT cache_segments();
ROLLBACK;
SELECT cache_segments();
-- The same with a savepoint rolled back, the transaction going on.
BEGIN;
SELECT cache_segments();
SAVEPOINT before_refit;
SELECT version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 2,
    name => 'cache_km', options => '{"seed": 1}');
SELECT cache_segments();
ROLLBACK TO SAVEPOINT before_refit;
SELECT cache_segments();
COMMIT;

-- A hand UPDATE of the stored document (a DBA's repair, docs/privileges.md): version 2 gets
-- version 1's document back, and the next statement uses it (3 segments).
RESET ROLE;
UPDATE segment_model SET model = (SELECT model FROM segment_model WHERE name = 'cache_km' AND version = 1)
WHERE name = 'cache_km' AND version = 2;
SET ROLE regress_cs_cache_owner;
SELECT cache_segments();
SELECT version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery'], 4,
    name => 'cache_km', options => '{"seed": 1}');
SELECT cache_segments();

-- Privileges are checked in every statement, as the statement's role.
SET ROLE regress_cs_cache_reader;
\set VERBOSITY terse
SELECT cache_segments();
RESET ROLE;
SET ROLE regress_cs_cache_owner;
SELECT segment_grant('cache_km', 'regress_cs_cache_reader');
SET ROLE regress_cs_cache_reader;
SELECT cache_segments();
EXECUTE one_customer(1);
-- row_security = off makes PostgreSQL refuse a read that its policies would filter: still so.
SET row_security = off;
SELECT cache_segments();
RESET row_security;
SELECT cache_segments();
RESET ROLE;
SET ROLE regress_cs_cache_owner;
SELECT segment_revoke('cache_km', 'regress_cs_cache_reader');
SET ROLE regress_cs_cache_reader;
SELECT cache_segments();
EXECUTE one_customer(1);

-- Role membership: a member of the owner's role may use its models, until it is no member.
RESET ROLE;
SET ROLE regress_cs_cache_member;
SELECT cache_segments();
RESET ROLE;
GRANT regress_cs_cache_owner TO regress_cs_cache_member;
SET ROLE regress_cs_cache_member;
SELECT cache_segments();
RESET ROLE;
REVOKE regress_cs_cache_owner FROM regress_cs_cache_member;
SET ROLE regress_cs_cache_member;
SELECT cache_segments();
-- The same in a transaction rolled back: the membership is gone again after it.
RESET ROLE;
BEGIN;
GRANT regress_cs_cache_owner TO regress_cs_cache_member;
SET LOCAL ROLE regress_cs_cache_member;
SELECT cache_segments();
ROLLBACK;
SET ROLE regress_cs_cache_member;
SELECT cache_segments();

-- The cache's size: 0 keeps nothing (every statement reads the catalog, as before the cache); a
-- size above the superuser's ceiling is refused where it is used.
RESET ROLE;
SET customer_segment.model_cache_size = 0;
SELECT cache_segments();
SET customer_segment.model_cache_size_limit = '1MB';
SET customer_segment.model_cache_size = '2MB';
SELECT cache_segments();
RESET customer_segment.model_cache_size;
SELECT cache_segments();
RESET customer_segment.model_cache_size_limit;

-- A drop: the next statement finds no model.
SET ROLE regress_cs_cache_owner;
SELECT segment_drop('cache_km');
SELECT cache_segments();
EXECUTE one_customer(1);
\set VERBOSITY default

RESET ROLE;
DEALLOCATE one_customer;
DROP FUNCTION cache_segments();
REVOKE SELECT ON customer_features, wholesale_customers FROM regress_cs_cache_owner,
    regress_cs_cache_reader, regress_cs_cache_member;
DROP ROLE regress_cs_cache_owner, regress_cs_cache_reader, regress_cs_cache_member;
