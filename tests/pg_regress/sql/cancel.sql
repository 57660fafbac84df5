-- A long fit honours statement_timeout (the k-means loop checks for interrupts between steps)
-- and leaves nothing in the catalog.
CREATE TABLE slow_source AS
SELECT random() AS a, random() AS b, random() AS c FROM generate_series(1, 200000);
SET statement_timeout = '300ms';
SELECT * FROM segment_fit('slow_source', ARRAY['a', 'b', 'c'], 50, name => 'never_stored',
                          options => '{"n_init": 50, "tol": 0}');
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT count(*) AS stored FROM segment_models WHERE name = 'never_stored';
