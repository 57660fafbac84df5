-- a (classifiers and k-prototypes). A forest and a k-prototypes model fitted on the plain bank
-- table: segment_classify, segment_classify_proba and segment_assign over the distributed copy
-- equal the plain table's, row by row (the models travel in the shard queries).
SELECT version AS fitted FROM segment_classify_fit('bank',
    ARRAY['age', 'balance', 'day', 'campaign', 'pdays', 'previous', 'job', 'marital', 'housing', 'loan'],
    'education', name => 'a_forest', options => '{"method": "forest", "n_trees": 20, "max_depth": 6}') \gset
SELECT version AS fitted FROM segment_fit('bank',
    ARRAY['age', 'balance', 'duration', 'campaign', 'job', 'marital', 'education', 'housing'], 4,
    name => 'a_kproto', options => '{"method": "kprototypes", "n_init": 3}') \gset

\set label 'a a_forest, a_kproto: segment_classify, segment_classify_proba and a k-prototypes segment_assign over the distributed table equal the plain table, row by row'
\set ON_ERROR_STOP 0
CREATE TEMP TABLE a_classify_dist AS
SELECT id, segment_classify('a_forest', d) AS class, segment_classify_proba('a_forest', d) AS proba,
       segment_assign('a_kproto', d) AS segment
FROM bank_dist d;
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
SELECT CASE WHEN mismatches = 0 AND plain = distributed AND plain > 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s (%s rows plain, %s distributed, %s mismatches, %s classes, %s segments)',
                 :'label', plain, distributed, mismatches, classes, segments)
FROM (SELECT count(p.id) AS plain, count(d.id) AS distributed,
             count(*) FILTER (WHERE p.id IS NULL OR d.id IS NULL OR p.class IS DISTINCT FROM d.class
                                 OR p.proba IS DISTINCT FROM d.proba
                                 OR p.segment IS DISTINCT FROM d.segment) AS mismatches,
             count(DISTINCT p.class) AS classes, count(DISTINCT p.segment) AS segments
      FROM (SELECT id, segment_classify('a_forest', p) AS class, segment_classify_proba('a_forest', p) AS proba,
                   segment_assign('a_kproto', p) AS segment FROM bank p) p
      FULL JOIN a_classify_dist d USING (id)) c;
\endif
