-- b. segment_fit (the in-memory engine) reads a distributed table through the coordinator and
-- stores the model the plain table gives: the same centres (within 1e-9: sums in another order)
-- and the same segment for every row. (Fits draw k-means++ starts by row position, and Citus
-- returns a distributed table's rows in another order on each read: the data and k are chosen
-- with one optimum, so that any order of the rows finds it.)
-- psql variables: plain, dist (the two tables), features (an array expression), k, options.
\set plain_model 'b_' :plain
\set dist_model 'b_' :dist
SELECT rows_used AS plain_rows, iterations AS plain_iterations
FROM segment_fit(:'plain', :features, :k, name => :'plain_model', options => :'options') \gset
\set label 'b ' :dist ': segment_fit on the distributed table gives the plain table''s model'
\set ON_ERROR_STOP 0
SELECT rows_used AS dist_rows, iterations AS dist_iterations
FROM segment_fit(:'dist', :features, :k, name => :'dist_model', options => :'options') \gset
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
-- The two models assign every plain row (both on the coordinator: no worker involved).
SELECT CASE WHEN gap <= 1e-9 AND mismatches = 0 AND :plain_rows = :dist_rows THEN 'ok' ELSE 'not ok' END
       || format(' - %s (k %s, %s rows each; centres differ by at most %s; %s of %s rows assigned differently; %s and %s Lloyd iterations)',
                 :'label', :k, :dist_rows, gap, mismatches, rows, :plain_iterations, :dist_iterations)
FROM (SELECT centre_gap(segment_export(:'plain_model')->'model'->'centres',
                        segment_export(:'dist_model')->'model'->'centres') AS gap) g,
     (SELECT count(*) AS rows,
             count(*) FILTER (WHERE segment_assign(:'plain_model', p) IS DISTINCT FROM segment_assign(:'dist_model', p)) AS mismatches
      FROM :plain p) a;
\endif
