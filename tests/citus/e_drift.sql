-- e. segment_drift of a model (fitted on the plain table) against a distributed source equals
-- the drift against the plain source with the same rows: on all the customers (no drift) and
-- on the Horeca channel only (a shifted population), per segment (within 1e-9).
\set features 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
SELECT version FROM segment_fit('wholesale', :features, 3, name => 'e_drift',
    options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}') \g /dev/null
CREATE VIEW horeca AS SELECT * FROM wholesale WHERE channel = 1;
CREATE VIEW horeca_dist AS SELECT * FROM wholesale_dist WHERE channel = 1;
CREATE TEMP TABLE drift_plain AS
SELECT 'all' AS rows, * FROM segment_drift('e_drift', 'wholesale')
UNION ALL SELECT 'horeca', * FROM segment_drift('e_drift', 'horeca');
\set label 'e segment_drift against a distributed source'
\set ON_ERROR_STOP 0
CREATE TEMP TABLE drift_dist AS
SELECT 'all' AS rows, * FROM segment_drift('e_drift', 'wholesale_dist')
UNION ALL SELECT 'horeca', * FROM segment_drift('e_drift', 'horeca_dist');
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\else
SELECT CASE WHEN bool_and(coalesce(same, false)) AND max(gap) <= 1e-9 THEN 'ok' ELSE 'not ok' END
       || format(' - %s: equals the plain source''s (%s rows of source x segment, largest difference %s; psi_total %s on all customers, %s on Horeca)',
                 :'label', count(*), max(gap), round(max(psi_total) FILTER (WHERE rows = 'all')::numeric, 4),
                 round(max(psi_total) FILTER (WHERE rows = 'horeca')::numeric, 4))
FROM (SELECT rows, p.psi_total,
             p.label = d.label AND p.rows_now = d.rows_now AND p.advice = d.advice AS same,
             greatest(abs(p.share_fit - d.share_fit), abs(p.share_now - d.share_now), abs(p.psi - d.psi),
                      abs(p.psi_total - d.psi_total),
                      (SELECT max(abs(a - b)) FROM unnest(p.mean_shift, d.mean_shift) m(a, b))) AS gap
      FROM drift_plain p FULL JOIN drift_dist d USING (rows, segment)) c;
\endif
