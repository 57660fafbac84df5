-- What a DBA sees of the extension: its description (\dx), and when its settings exist.

-- \dx describes the extension from the control file's comment (an update sets it too: see the
-- upgrade script).
SELECT e.extname, e.extversion = (SELECT default_version FROM pg_available_extensions
                                  WHERE name = 'customer_segment') AS is_default_version,
       obj_description(e.oid, 'pg_extension') AS description
FROM pg_extension e WHERE e.extname = 'customer_segment';

-- The settings (customer_segment.*) exist once the library is loaded in the session, which a
-- call of one of the extension's functions does. Before that, SHOW does not know them, and a
-- value set for them is a placeholder PostgreSQL cannot check. Preloading the library
-- (session_preload_libraries for some roles or databases, shared_preload_libraries for the whole
-- server) defines them at connection: SHOW works and a bad value is refused when it is set.
-- See docs/operations.md, "Loading the library".
SELECT current_user AS superuser \gset

-- A fresh session: nothing has loaded the library yet.
SHOW customer_segment.threads;
\echo :LAST_ERROR_SQLSTATE
-- So a bad value is stored without a word (a placeholder takes any text).
CREATE ROLE regress_preload LOGIN;
ALTER ROLE regress_preload SET customer_segment.threads = 'abc';
SELECT unnest(setconfig) AS stored FROM pg_db_role_setting
WHERE setrole = 'regress_preload'::regrole ORDER BY 1;

-- That role's session sees the text until the library loads, then a WARNING and the default.
\c - regress_preload
SHOW customer_segment.threads;
SELECT count(*) AS models FROM segment_models;   -- a view: loads nothing
SELECT segment_label('no_such_model', 0);        -- a function of the library: loads it
SHOW customer_segment.threads;

-- Preloaded for the role (a superuser's setting): the settings exist from the first statement,
-- and the bad value is reported when the session starts.
\c - :superuser
ALTER ROLE regress_preload SET session_preload_libraries = 'customer_segment';
\c - regress_preload
SHOW customer_segment.threads;
SHOW customer_segment.max_memory_mb;

-- Once the library is loaded (preloaded, or here by a call), ALTER ROLE and ALTER DATABASE check
-- the value: a bad one is refused at once (SQLSTATE after each).
\c - :superuser
SELECT segment_label('no_such_model', 0);
ALTER ROLE regress_preload SET customer_segment.threads = 'abc';
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_preload SET customer_segment.threads = 1000;
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_preload SET customer_segment.invalid_rows = 'skip';
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE regress_preload SET customer_segment.threads = 2;
\c - regress_preload
SHOW customer_segment.threads;


-- The extension in a schema of its own (CREATE EXTENSION ... SCHEMA seg): a role needs USAGE on
-- that schema to call the functions, and so does a role that reads a view calling them (the
-- functions read the catalog tables there as the caller). segment_create_view creates the view
-- in the caller's current schema: that takes CREATE on it (PUBLIC has none on public since
-- PostgreSQL 15). SQLSTATE after each refusal.
\c - :superuser
CREATE DATABASE regress_dba_schema;
\c regress_dba_schema
CREATE SCHEMA seg;
CREATE EXTENSION customer_segment SCHEMA seg;
CREATE TABLE customers AS
SELECT i AS id, (i % 7)::float8 AS spend, (i % 5)::float8 AS visits FROM generate_series(1, 60) i;
ALTER TABLE customers ADD PRIMARY KEY (id);
SELECT model, version FROM seg.segment_fit('customers', ARRAY['spend', 'visits'], 2, 'shop', '{"seed": 1}');
CREATE ROLE regress_dba_analyst;
CREATE ROLE regress_dba_bi;
GRANT SELECT ON customers TO regress_dba_analyst;
SELECT seg.segment_grant('shop', 'regress_dba_analyst', 'manage');
SET ROLE regress_dba_analyst;
SELECT count(seg.segment_assign('shop', c)) FROM customers c;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT USAGE ON SCHEMA seg TO regress_dba_analyst, regress_dba_bi;
SET ROLE regress_dba_analyst;
SET search_path = public, seg;
SELECT count(segment_assign('shop', c)) AS assigned FROM customers c;
SELECT segment_create_view('shop', 'customers', 'shop_segments');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
CREATE SCHEMA bi;
GRANT USAGE, CREATE ON SCHEMA bi TO regress_dba_analyst;
GRANT USAGE ON SCHEMA bi TO regress_dba_bi;
SET ROLE regress_dba_analyst;
SET search_path = bi, public, seg;
SELECT segment_create_view('shop', 'customers', 'shop_segments', grant_to => ARRAY['regress_dba_bi']);
SET ROLE regress_dba_bi;
SELECT count(segment) AS assigned FROM bi.shop_segments;
RESET ROLE;
REVOKE USAGE ON SCHEMA seg FROM regress_dba_bi;
SET ROLE regress_dba_bi;
SELECT count(segment) AS assigned FROM bi.shop_segments;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

\c regression :superuser
DROP DATABASE regress_dba_schema;
DROP ROLE regress_preload, regress_dba_analyst, regress_dba_bi;
