-- e. segment_rfm over a distributed transactions table (the CDNOW sample, distributed by
-- customer): every customer's row equals the plain table's, or a refusal.
\set label 'e segment_rfm on a distributed table'
CREATE TEMP TABLE rfm_plain AS
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'date', 'dollar_value', as_of => '1997-09-30');
\set ON_ERROR_STOP 0
CREATE TEMP TABLE rfm_dist AS
SELECT * FROM segment_rfm('cdnow_dist', 'customer_id', 'date', 'dollar_value', as_of => '1997-09-30');
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\else
SELECT CASE WHEN plain = dist AND differ = 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s: equals the plain table (%s customers plain, %s distributed, %s rows differ)', :'label', plain, dist, differ)
FROM (SELECT (SELECT count(*) FROM rfm_plain) AS plain, (SELECT count(*) FROM rfm_dist) AS dist,
             (SELECT count(*) FROM ((TABLE rfm_plain EXCEPT ALL TABLE rfm_dist)
                                    UNION ALL (TABLE rfm_dist EXCEPT ALL TABLE rfm_plain)) x) AS differ) c;
\endif
