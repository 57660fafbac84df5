-- a (churn). A churn tree fitted on the plain bank table: segment_churn_assign and
-- segment_churn_predict over the distributed copy equal the plain table's, row by row.
SELECT version AS fitted FROM segment_churn_fit('bank',
    ARRAY['age', 'balance', 'day', 'campaign', 'pdays', 'previous', 'job', 'marital', 'housing', 'loan'],
    'y', name => 'a_churn', options => '{"max_depth": 4, "min_samples_leaf": 20}') \gset

\set label 'a a_churn: segment_churn_assign and segment_churn_predict over the distributed table equal the plain table, row by row'
\set ON_ERROR_STOP 0
CREATE TEMP TABLE a_churn_dist AS
SELECT id, segment_churn_assign('a_churn', d) AS segment, segment_churn_predict('a_churn', d) AS probability
FROM bank_dist d;
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
SELECT CASE WHEN mismatches = 0 AND plain = distributed AND plain > 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s (%s rows plain, %s distributed, %s mismatches, %s leaves)',
                 :'label', plain, distributed, mismatches, segments)
FROM (SELECT count(p.id) AS plain, count(d.id) AS distributed,
             count(*) FILTER (WHERE p.id IS NULL OR d.id IS NULL OR p.segment IS DISTINCT FROM d.segment
                                 OR p.probability IS DISTINCT FROM d.probability) AS mismatches,
             count(DISTINCT p.segment) AS segments
      FROM (SELECT id, segment_churn_assign('a_churn', p) AS segment,
                   segment_churn_predict('a_churn', p) AS probability FROM bank p) p
      FULL JOIN a_churn_dist d USING (id)) c;
\endif
