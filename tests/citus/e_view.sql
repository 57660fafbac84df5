-- e. segment_create_view over a distributed table, and a query of the view: its rows (primary
-- key, segment, label) equal those of the same view over the plain table, or a refusal (when
-- the view is made or when it is read).
\set features 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
SELECT version FROM segment_fit('wholesale', :features, 3, name => 'e_view',
    options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}') \g /dev/null
SELECT segment_create_view('e_view', 'wholesale', 'wholesale_segments') \g /dev/null
\set label 'e segment_create_view on a distributed table, and SELECT from the view'
\set ON_ERROR_STOP 0
SELECT segment_create_view('e_view', 'wholesale_dist', 'wholesale_dist_segments') \g /dev/null
\if :ERROR
\else
-- What a BI tool runs: every row of the view.
CREATE TEMP TABLE dist_view_rows AS SELECT * FROM wholesale_dist_segments;
\endif
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\else
SELECT CASE WHEN plain = dist AND differ = 0 AND plain > 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s: equals the plain table''s view (%s rows plain, %s distributed, %s differ)', :'label', plain, dist, differ)
FROM (SELECT count(p.customer_id) AS plain, count(d.customer_id) AS dist,
             count(*) FILTER (WHERE p.customer_id IS NULL OR d.customer_id IS NULL OR p.segment IS DISTINCT FROM d.segment
                                 OR p.segment_label IS DISTINCT FROM d.segment_label) AS differ
      FROM wholesale_segments p FULL JOIN dist_view_rows d USING (customer_id)) c;
\endif
