-- Living with a model: drift (segment_drift), refits (segment_refit), and moving a model between
-- databases (segment_export / segment_import). README, "Monitoring and refits" and "Exchange".
CREATE TABLE drift_customers AS
SELECT i AS id, ((i % 3) * 5 + (i * 7 % 11) * 0.1)::float8 AS visits,
       ((i % 3) * -3 + (i * 13 % 17) * 0.1)::float8 AS spend
FROM generate_series(1, 3000) i;
SELECT model, version FROM segment_fit('drift_customers', ARRAY['visits', 'spend'], 3, name => 'drifting');

-- On the training rows themselves: PSI 0, no mean moved, stable.
SELECT segment, share_fit = share_now AS same_share, rows_now, psi, psi_total, mean_shift, advice
FROM segment_drift('drifting');

-- Today's rows: half of the first group left, and the rest spend 1.5 more.
CREATE VIEW drift_today AS
SELECT id, visits, spend + 1.5 AS spend FROM drift_customers WHERE id % 3 <> 0 OR id % 2 = 0;
SELECT segment, round(share_fit::numeric, 4) AS share_fit, round(share_now::numeric, 4) AS share_now,
       rows_now, round(psi::numeric, 6) AS psi, round(psi_total::numeric, 6) AS psi_total,
       (SELECT array_agg(round(v::numeric, 3)) FROM unnest(mean_shift) v) AS mean_shift, advice
FROM segment_drift('drifting', 'drift_today');
-- The same index computed independently, in SQL: shares from segment_assign on both relations,
-- PSI = sum((now - fit) * ln(now / fit)).
WITH fit AS (SELECT segment_assign('drifting', c) AS s, count(*)::float8 / sum(count(*)) OVER () AS share
             FROM drift_customers c GROUP BY 1),
     now AS (SELECT segment_assign('drifting', t) AS s, count(*)::float8 / sum(count(*)) OVER () AS share
             FROM drift_today t GROUP BY 1),
     reference AS (SELECT sum((now.share - fit.share) * ln(now.share / fit.share)) AS psi
                   FROM fit JOIN now USING (s))
SELECT abs(reference.psi - d.psi_total) < 1e-9 AS psi_matches, d.advice
FROM reference, (SELECT DISTINCT psi_total, advice FROM segment_drift('drifting', 'drift_today')) d;
-- The spend shift, in training standard deviations of spend: 1.5 / sd.
SELECT round((1.5 / stddev_pop(spend))::numeric, 3) AS expected_spend_shift FROM drift_customers;

-- A stronger shift: most of the first group gone.
CREATE VIEW drift_later AS SELECT * FROM drift_customers WHERE id % 3 <> 0 OR id % 10 = 0;
SELECT DISTINCT round(psi_total::numeric, 4) AS psi_total, advice FROM segment_drift('drifting', 'drift_later');

-- A refit: the same features, options and k, on today's rows; segment ids stay with their
-- groups (matched to the current version's centres). A copy of version 1 (see Exchange below)
-- shows that every customer keeps its segment id.
SELECT model, version FROM segment_import(segment_export('drifting'), 'drifting_v1');
SELECT model, version, segments, rows_used, method FROM segment_refit('drifting', 'drift_today');
SELECT version, metrics->'ids_matched_to_version' AS matched_to, options->'n_init' AS n_init
FROM segment_models WHERE name = 'drifting' ORDER BY version;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('drifting_v1', c) <> segment_assign('drifting', c)) AS changed_id
FROM drift_customers c;

-- Export and import: the document, and the same answers under another name.
SELECT segment_rename('drifting', 1, 'the middle');
SELECT jsonb_object_keys(segment_export('drifting')) AS key ORDER BY 1;
SELECT e->'customer_segment_export' AS export_format, e->'format_version' AS format_version,
       e->'version' AS version, e->'labels' AS labels, e->'model'->'features' AS features
FROM (SELECT segment_export('drifting') AS e) x;
SELECT * FROM segment_import(segment_export('drifting'), 'drifting_copy');
SELECT count(*) FILTER (WHERE segment_assign('drifting', c) IS DISTINCT FROM segment_assign('drifting_copy', c)) AS differ,
       count(*) AS rows
FROM drift_customers c;
SELECT segment_label('drifting_copy', 1) AS label, metrics->'imported_from' AS imported_from
FROM segment_models WHERE name = 'drifting_copy';
-- A model imported from another database whose source relation is not here: functions that
-- read the fitted source say so, and take a source instead.
SELECT model FROM segment_import(jsonb_set(segment_export('drifting'), '{source}', '"elsewhere.customers"'),
                                 'drifting_elsewhere');
SELECT rows_used FROM segment_evaluate('drifting_elsewhere');
\echo :LAST_ERROR_SQLSTATE
SELECT rows_used FROM segment_evaluate('drifting_elsewhere', 'drift_customers');

-- Bad documents are refused with the reason, and nothing is stored.
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{model,centres,0,0}', '1e400'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{model,centres,0}', '[1]'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{model,format_version}', '0'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{customer_segment_export}', '2'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{format_version}', '2'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{labels}', '{"7": "x"}'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(jsonb_set(segment_export('drifting'), '{options}', '{"n_init": 0}'), 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(segment_export('drifting') - 'model', 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import('[1, 2]', 'bad');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(segment_export('drifting'), '');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_import(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS stored FROM segment_models WHERE name = 'bad';

-- Bad calls of drift and refit.
SELECT * FROM segment_drift('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drift('drifting', 'pg_class');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_refit(NULL);
\echo :LAST_ERROR_SQLSTATE

SELECT segment_drop('drifting'), segment_drop('drifting_copy'), segment_drop('drifting_v1');
DROP VIEW drift_today, drift_later;
DROP TABLE drift_customers;

-- Names across refits. A refit keeps the analyst's name of every segment that has a
-- counterpart in the new version (the new segment that keeps its id and the old one are each
-- other's nearest), so BI views keep their words; a name whose segment has none is dropped,
-- said in a NOTICE and in metrics->'labels_dropped'.
SELECT model, version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery', 'frozen'], 3,
                                       'named', '{"seed": 1}');
SELECT segment_rename('named', 0, 'Zero people'), segment_rename('named', 1, 'One'), segment_rename('named', 2, 'Two');
-- A refit on the same rows: the same segments, under the same ids and names.
SELECT version FROM segment_refit('named');
SELECT segment, label FROM segment_labels('named') ORDER BY segment;
SELECT metrics -> 'labels_carried' AS carried, metrics -> 'labels_dropped' AS dropped
FROM segment_models WHERE name = 'named' AND is_current;
-- Two segments instead of three: what has no counterpart loses its name, with a NOTICE.
SET client_min_messages = notice;
SELECT version FROM segment_fit('customer_features', ARRAY['fresh', 'milk', 'grocery', 'frozen'], 2, 'named');
RESET client_min_messages;
SELECT segment, label FROM segment_labels('named') ORDER BY segment;
SELECT metrics -> 'labels_dropped' AS dropped FROM segment_models WHERE name = 'named' AND is_current;
SELECT segment_drop('named');
