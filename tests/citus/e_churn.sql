-- e. segment_churn_fit on the distributed bank table: the tree the plain table gives (the same
-- rules, row counts and held-out scores), or a refusal. Its held-out share is a seeded
-- stratified split by row position, so the tree depends on the order the source returns its
-- rows: two fits on the distributed table are compared with each other too.
\set features 'ARRAY[''age'', ''balance'', ''day'', ''campaign'', ''pdays'', ''previous'', ''job'', ''marital'', ''housing'', ''loan'']'
\set options '{"max_depth": 4, "min_samples_leaf": 20}'
\set label 'e segment_churn_fit on a distributed table'
CREATE TEMP TABLE churn_fits AS
SELECT 'plain' AS fit, * FROM segment_churn_fit('bank', :features, 'y', name => 'e_churn_plain', options => :'options');
\set ON_ERROR_STOP 0
INSERT INTO churn_fits
SELECT 'dist', * FROM segment_churn_fit('bank_dist', :features, 'y', name => 'e_churn_dist', options => :'options')
UNION ALL
SELECT 'dist_again', * FROM segment_churn_fit('bank_dist', :features, 'y', name => 'e_churn_dist_again', options => :'options');
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\else
CREATE TEMP TABLE churn_rules AS
SELECT 'plain' AS fit, * FROM segment_churn_rules('e_churn_plain')
UNION ALL SELECT 'dist', * FROM segment_churn_rules('e_churn_dist')
UNION ALL SELECT 'dist_again', * FROM segment_churn_rules('e_churn_dist_again');
-- a fit's summary: its scores and its rules, as one text
CREATE TEMP VIEW churn_summary AS
SELECT f.fit, format('%s leaves, depth %s, %s train / %s test rows, roc_auc %s', leaves, depth, rows_train, rows_test, roc_auc) AS scores,
       (SELECT string_agg(format('%s|%s|%s|%s', r.segment, r.rule, r.rows, r.churn_rate), ';' ORDER BY r.segment)
        FROM churn_rules r WHERE r.fit = f.fit) AS rules
FROM churn_fits f;
SELECT CASE WHEN p.scores = d.scores AND p.rules = d.rules THEN 'ok' ELSE 'not ok' END
       || format(' - %s: %s (plain: %s; distributed: %s; a second fit on the distributed table: %s, %s the first)',
                 :'label', CASE WHEN p.scores = d.scores AND p.rules = d.rules THEN 'equals the plain table''s tree'
                                ELSE 'a different tree from the same rows' END,
                 p.scores, d.scores, a.scores, CASE WHEN a.rules = d.rules THEN 'the same tree as' ELSE 'another tree than' END)
FROM churn_summary p, churn_summary d, churn_summary a
WHERE p.fit = 'plain' AND d.fit = 'dist' AND a.fit = 'dist_again';
\endif
