-- Views for BI tools (segment_create_view): plain columns a tool lists and reads, owned by the
-- caller, reading the current model version at query time.
SELECT model, version FROM segment_fit('wholesale_customers', ARRAY['fresh', 'milk', 'grocery'], 3,
                                       name => 'bi_spend', options => '{"log": ["fresh", "milk", "grocery"]}');
SELECT segment_create_view('bi_spend', 'wholesale_customers', 'wholesale_segments');
-- The source's primary key, then segment and label.
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'wholesale_segments' ORDER BY ordinal_position;
SELECT pg_get_userbyid(c.relowner) = current_user AS owned_by_me
FROM pg_class c WHERE c.relname = 'wholesale_segments';
SELECT segment, segment_label, count(*) AS customers
FROM wholesale_segments GROUP BY 1, 2 ORDER BY 1;
-- The same segments as segment_assign, and renames show at once.
SELECT count(*) FILTER (WHERE v.segment <> segment_assign('bi_spend', w)) AS differ
FROM wholesale_segments v JOIN wholesale_customers w USING (customer_id);
SELECT segment_rename('bi_spend', 0, 'core buyers');
SELECT DISTINCT segment_label FROM wholesale_segments WHERE segment = 0;

-- A source without a primary key gives every column; a churn model adds churn_probability.
CREATE TABLE bi_accounts (account text, tenure float8, calls float8, left_us bool);
INSERT INTO bi_accounts
SELECT 'a' || i, i % 40, (i * 7) % 13, (i % 40) < 8 AND (i * 7) % 13 > 6 FROM generate_series(1, 400) i;
SELECT model FROM segment_churn_fit('bi_accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'bi_churn');
SELECT segment_create_view('bi_churn', 'bi_accounts', 'Accounts at risk; by leaf');
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'Accounts at risk; by leaf' ORDER BY ordinal_position;
SELECT segment, round(min(churn_probability)::numeric, 3) AS churn_probability, count(*) AS accounts
FROM "Accounts at risk; by leaf" GROUP BY 1 ORDER BY 1;

-- A role with SELECT on a view still reads the model as itself: without `use` on it the view
-- fails with 42501, and the hint names the exact grant. grant_to gives both at once.
CREATE ROLE regress_cs_bi_owner;
CREATE ROLE regress_cs_bi;
GRANT SELECT ON wholesale_customers TO regress_cs_bi_owner;
GRANT CREATE ON SCHEMA public TO regress_cs_bi_owner;
SET ROLE regress_cs_bi_owner;
SELECT model, version FROM segment_fit('wholesale_customers', ARRAY['fresh', 'milk'], 3, name => 'bi_owned');
SELECT segment_create_view('bi_owned', 'wholesale_customers', 'bi_plain');
GRANT SELECT ON bi_plain TO regress_cs_bi;
SET ROLE regress_cs_bi;
SELECT segment, count(*) FROM bi_plain GROUP BY 1;
\echo :LAST_ERROR_SQLSTATE
-- (A count of the view's rows reads no segment, so it needs no model.)
SELECT count(*) AS customers FROM bi_plain;
SET ROLE regress_cs_bi_owner;
SELECT segment_create_view('bi_owned', 'wholesale_customers', 'bi_shared', grant_to => ARRAY['regress_cs_bi']);
SET ROLE regress_cs_bi;
SELECT count(DISTINCT segment) AS segments FROM bi_shared;
SELECT count(DISTINCT segment) AS segments FROM bi_plain;
SELECT name, owner FROM segment_models;
RESET ROLE;
SELECT grantee, privilege_type FROM information_schema.role_table_grants
WHERE table_name = 'bi_shared' AND grantee = 'regress_cs_bi';
-- A role that does not exist fails the call before anything is made.
SELECT segment_create_view('bi_spend', 'wholesale_customers', 'nope', grant_to => ARRAY['regress_cs_nobody']);
\echo :LAST_ERROR_SQLSTATE
SELECT to_regclass('nope') IS NULL AS not_created;
DROP VIEW bi_plain, bi_shared;
SELECT segment_drop('bi_owned');
REVOKE CREATE ON SCHEMA public FROM regress_cs_bi_owner;
REVOKE SELECT ON wholesale_customers FROM regress_cs_bi_owner;
DROP ROLE regress_cs_bi_owner, regress_cs_bi;

-- A model that a view of segment_create_view reads cannot be dropped under it: 2BP01 names the
-- view, and the view still reads; cascade => true drops the views with the model.
SELECT segment_drop('bi_spend');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS still_reads FROM wholesale_segments;
SELECT model, version FROM segment_fit('wholesale_customers', ARRAY['fresh', 'milk'], 2, name => 'bi''s cascade');
SELECT segment_create_view('bi''s cascade', 'wholesale_customers', 'bi_cascaded');
SELECT segment_create_view('bi''s cascade', 'wholesale_customers', 'bi_cascaded_too');
SELECT segment_drop('bi''s cascade');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('bi''s cascade', cascade => true);
SELECT to_regclass('bi_cascaded') IS NULL AND to_regclass('bi_cascaded_too') IS NULL AS views_dropped;
SELECT to_regclass('wholesale_segments') IS NOT NULL AS others_kept;

-- Making a view again: with the same columns it is replaced in place and keeps its grants; with
-- other columns (here the churn view's name reused for bi_spend, and a hand-made view) it is
-- dropped and made again (CREATE OR REPLACE VIEW alone fails with 42P16), without its grants.
GRANT SELECT ON wholesale_segments, "Accounts at risk; by leaf" TO PUBLIC;
SELECT segment_create_view('bi_spend', 'wholesale_customers', 'wholesale_segments');
SELECT relacl IS NOT NULL AS grants_kept FROM pg_class WHERE relname = 'wholesale_segments';
SELECT segment_create_view('bi_spend', 'wholesale_customers', 'Accounts at risk; by leaf');
SELECT column_name FROM information_schema.columns
WHERE table_name = 'Accounts at risk; by leaf' ORDER BY ordinal_position;
SELECT relacl IS NULL AS grants_dropped FROM pg_class WHERE relname = 'Accounts at risk; by leaf';
CREATE VIEW bi_by_hand AS SELECT 1 AS one;
SELECT segment_create_view('bi_spend', 'wholesale_customers', 'bi_by_hand');
SELECT count(*) AS customers FROM bi_by_hand;
DROP VIEW bi_by_hand;
-- A view other views depend on is not dropped from under them: the call fails with 2BP01.
CREATE VIEW bi_on_top AS SELECT * FROM "Accounts at risk; by leaf";
SELECT segment_create_view('bi_churn', 'bi_accounts', 'Accounts at risk; by leaf');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW bi_on_top;

-- Bad calls.
SELECT segment_create_view('bi_spend', 'bi_accounts', 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_create_view('no_such_model', 'wholesale_customers', 'nope');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_create_view('bi_spend', 'wholesale_customers', '');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_create_view('bi_spend', 'wholesale_customers', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_labels('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_labels(NULL);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW wholesale_segments, "Accounts at risk; by leaf";
DROP TABLE bi_accounts;
SELECT segment_drop('bi_spend'), segment_drop('bi_churn');
