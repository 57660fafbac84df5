-- d. A prepared statement over the distributed table keeps its plan (a statement without
-- parameters gets a generic plan at once; it runs 7 times here), but must answer with the
-- model's current version: after a refit its next EXECUTE gives what a fresh query gives, and
-- after segment_drop it fails with "does not exist" rather than answering from the old model.
\set features 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
SELECT version FROM segment_fit('wholesale', :features, 3, name => 'd_prepared') \g /dev/null
PREPARE in_segment_0 AS
SELECT count(*) FILTER (WHERE segment_assign('d_prepared', d) = 0) AS customers FROM wholesale_dist d;

\set answered false
\set label 'd a prepared statement, executed 7 times, sees a refit (version 2, k 5 on log spend)'
\set ON_ERROR_STOP 0
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \g /dev/null
EXECUTE in_segment_0 \gset before_
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
SELECT version FROM segment_fit('wholesale', :features, 5, name => 'd_prepared',
    options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}') \g /dev/null
\set ON_ERROR_STOP 0
EXECUTE in_segment_0 \gset prepared_
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
\set answered true
-- The fresh answers: the same query unprepared, on the distributed and on the plain table.
SELECT count(*) FILTER (WHERE segment_assign('d_prepared', d) = 0) AS dist_customers FROM wholesale_dist d \gset fresh_
SELECT count(*) FILTER (WHERE segment_assign('d_prepared', p) = 0) AS plain_customers FROM wholesale p \gset fresh_
SELECT CASE WHEN :prepared_customers = :fresh_dist_customers AND :prepared_customers = :fresh_plain_customers
                 AND :before_customers <> :fresh_plain_customers AND generic_plans > 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s (segment 0: %s customers before the refit, %s after by EXECUTE, %s by a fresh query, %s on the plain table; %s generic plan executions)',
                 :'label', :before_customers, :prepared_customers, :fresh_dist_customers, :fresh_plain_customers, generic_plans)
FROM pg_prepared_statements WHERE name = 'in_segment_0';
\endif
\endif

\set label 'd the cached plan, run by a role without use on the model, fails with 42501 (not the owner''s answer)'
CREATE ROLE d_reader;
GRANT SELECT ON wholesale_dist TO d_reader;
SET ROLE d_reader;
\set ON_ERROR_STOP 0
EXECUTE in_segment_0 \gset reader_
\set ON_ERROR_STOP 1
\if :ERROR
RESET ROLE;
SELECT CASE WHEN :'LAST_ERROR_SQLSTATE' = '42501' THEN 'ok' ELSE 'not ok' END
       || ' - ' || :'label' || ': ERROR ' || :'LAST_ERROR_SQLSTATE' || ' ' || :'LAST_ERROR_MESSAGE';
\else
RESET ROLE;
SELECT 'not ok - ' || :'label' || ': it answered ' || :'reader_customers';
\endif
REVOKE SELECT ON wholesale_dist FROM d_reader;
DROP ROLE d_reader;

\set label 'd after segment_drop, EXECUTE of the prepared statement fails (model does not exist)'
SELECT segment_drop('d_prepared') \g /dev/null
\if :answered
\set ON_ERROR_STOP 0
EXECUTE in_segment_0 \gset dropped_
\set ON_ERROR_STOP 1
\if :ERROR
SELECT CASE WHEN :'LAST_ERROR_MESSAGE' = 'model "d_prepared" does not exist' THEN 'ok' ELSE 'not ok' END
       || ' - ' || :'label' || ': ERROR ' || :'LAST_ERROR_SQLSTATE' || ' ' || :'LAST_ERROR_MESSAGE';
\else
SELECT 'not ok - ' || :'label' || ': it answered ' || :'dropped_customers';
\endif
\else
SELECT 'not ok - ' || :'label' || ': not checked, the prepared statement failed before the drop';
\endif
