-- a. A model fitted on the plain table assigns every row of the distributed copy as it assigns
-- the same row of the plain table. Over the distributed table segment_assign runs on the
-- workers, one query per shard, and their catalogs do not have the coordinator's models: the
-- model has to travel with the query (customer_segment.ship_models).
-- psql variables: model (its name, also the label), k, options (segment_fit's).
SELECT version AS fitted FROM segment_fit('wholesale',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
    NULLIF(:'k', '')::int, name => :'model', options => :'options') \gset

-- In a SELECT over the distributed table (Citus runs it on the shards), its answer kept in a
-- temporary table, then joined with the plain table's on the customer id; a row missing on
-- either side counts as a mismatch.
\set label 'a ' :model ': segment_assign over the distributed table in a SELECT equals the plain table, row by row'
\set ON_ERROR_STOP 0
CREATE TEMP TABLE a_dist AS SELECT customer_id, segment_assign(:'model', d) AS segment FROM wholesale_dist d;
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
SELECT CASE WHEN mismatches = 0 AND plain = distributed AND plain > 0 THEN 'ok' ELSE 'not ok' END
       || format(' - %s (%s rows plain, %s distributed, %s mismatches, %s segments)',
                 :'label', plain, distributed, mismatches, segments)
FROM (SELECT count(p.customer_id) AS plain, count(d.customer_id) AS distributed,
             count(*) FILTER (WHERE p.customer_id IS NULL OR d.customer_id IS NULL
                                 OR p.segment IS DISTINCT FROM d.segment) AS mismatches,
             count(DISTINCT p.segment) AS segments
      FROM (SELECT customer_id, segment_assign(:'model', p) AS segment FROM wholesale p) p
      FULL JOIN a_dist d USING (customer_id)) c;
DROP TABLE a_dist;
\endif

-- In an UPDATE: Citus refuses a STABLE function of the row's columns in an UPDATE of a
-- distributed table (0A000, before any function of ours runs); recorded as a refusal.
\set label 'a ' :model ': UPDATE wholesale_dist SET segment = segment_assign(...)'
\set ON_ERROR_STOP 0
UPDATE wholesale_dist SET segment = segment_assign(:'model', wholesale_dist);
\set ON_ERROR_STOP 1
\if :ERROR
\ir refused.sql
\endif
-- The way docs/operations.md gives instead: the segments into a table co-located with the
-- customers (INSERT ... SELECT runs on the shards, the model shipped), then an UPDATE joining
-- it on the distribution column. Both tables then store what the plain table stores.
\set label 'a ' :model ': INSERT INTO a colocated table SELECT segment_assign(...), then UPDATE ... FROM it, stores what the plain table stores'
UPDATE wholesale SET segment = segment_assign(:'model', wholesale);
CREATE TABLE a_segments (customer_id int PRIMARY KEY, segment int);
SELECT create_distributed_table('a_segments', 'customer_id', colocate_with => 'wholesale_dist') \g /dev/null
\set ON_ERROR_STOP 0
INSERT INTO a_segments SELECT customer_id, segment_assign(:'model', d) FROM wholesale_dist d;
\if :ERROR
\else
UPDATE wholesale_dist d SET segment = s.segment FROM a_segments s WHERE s.customer_id = d.customer_id;
\endif
\set ON_ERROR_STOP 1
\if :ERROR
\ir failed.sql
\else
CREATE TEMP TABLE a_stored AS SELECT customer_id, segment FROM wholesale_dist;
SELECT CASE WHEN mismatches = 0 AND plain = distributed THEN 'ok' ELSE 'not ok' END
       || format(' - %s (%s rows plain, %s distributed, %s mismatches)', :'label', plain, distributed, mismatches)
FROM (SELECT count(p.customer_id) AS plain, count(d.customer_id) AS distributed,
             count(*) FILTER (WHERE p.customer_id IS NULL OR d.customer_id IS NULL
                                 OR p.segment IS DISTINCT FROM d.segment
                                 OR p.segment IS NULL) AS mismatches
      FROM wholesale p FULL JOIN a_stored d USING (customer_id)) c;
DROP TABLE a_stored;
\endif
DROP TABLE a_segments;
UPDATE wholesale SET segment = NULL;
UPDATE wholesale_dist SET segment = NULL;
