-- The Citus tier's data (run on the coordinator with ON_ERROR_STOP): every table twice, a plain
-- table and a distributed copy with the same rows (the same ids), so that every check compares
-- the distributed answer with the plain one. psql variables: data (the directory with the CSVs).
CREATE EXTENSION customer_segment;

-- The 440 wholesale customers (tests/data/wholesale_customers), loaded as tests/pg_regress/sql/setup.sql
-- does; `segment` is for the UPDATE check.
CREATE TABLE wholesale (
    customer_id      serial PRIMARY KEY,
    channel          int,
    region           int,
    fresh            numeric, milk numeric, grocery numeric, frozen numeric,
    detergents_paper numeric, delicassen numeric,
    segment          int
);
\set f :data '/wholesale_customers.csv'
COPY wholesale (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen) FROM :'f' CSV HEADER;
CREATE TABLE wholesale_dist (LIKE wholesale INCLUDING INDEXES);
SELECT create_distributed_table('wholesale_dist', 'customer_id', shard_count => 8);
INSERT INTO wholesale_dist SELECT * FROM wholesale;

-- The bank's 4,521 campaign contacts (tests/data/bank_marketing): labelled, for segment_churn_fit.
-- The CSV has no key: id numbers the rows in file order.
CREATE TABLE bank (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :data '/bank.csv'
COPY bank (age, job, marital, education, "default", balance, housing, loan, contact, day, month, duration, campaign, pdays, previous, poutcome, y) FROM :'f' CSV HEADER;
CREATE TABLE bank_dist (LIKE bank INCLUDING INDEXES);
SELECT create_distributed_table('bank_dist', 'id', shard_count => 8);
INSERT INTO bank_dist SELECT * FROM bank;

-- The CDNOW sample: 6,919 transactions of 2,357 customers (tests/data/cdnow), for segment_rfm;
-- distributed by customer, as a transactions table would be. id numbers the rows in file order.
CREATE TABLE cdnow (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    master_customer_id int, customer_id int, date date, number_of_cds int, dollar_value numeric
);
\set f :data '/cdnow_sample_transactions.csv'
COPY cdnow (master_customer_id, customer_id, date, number_of_cds, dollar_value) FROM :'f' CSV HEADER;
-- A distributed table's primary key must hold the distribution column.
CREATE TABLE cdnow_dist (LIKE cdnow, PRIMARY KEY (customer_id, id));
SELECT create_distributed_table('cdnow_dist', 'customer_id', shard_count => 8);
INSERT INTO cdnow_dist SELECT * FROM cdnow;

-- Synthetic customers for the aggregate engine: 200,000 rows in four well separated blobs over
-- three features, from a fixed formula (no random()), so the plain and the distributed table hold
-- the same rows.
CREATE TABLE synthetic AS
SELECT i AS id,
       (i % 2) * 10 + ((i * 7919) % 1000) / 250.0 AS f1,
       (i % 4 / 2) * 10 + ((i * 104729) % 997) / 250.0 AS f2,
       (i % 4) * 5 + ((i * 1299709) % 991) / 250.0 AS f3
FROM generate_series(1::bigint, 200000) i;
ALTER TABLE synthetic ADD PRIMARY KEY (id);
CREATE TABLE synthetic_dist (LIKE synthetic INCLUDING INDEXES);
SELECT create_distributed_table('synthetic_dist', 'id', shard_count => 8);
INSERT INTO synthetic_dist SELECT * FROM synthetic;

-- For the checks: the largest difference between two models' centres (segment_export's
-- model.centres, arrays of arrays), infinity when their shapes differ.
CREATE FUNCTION centre_gap(a jsonb, b jsonb) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN jsonb_array_length(a) <> jsonb_array_length(b)
                  OR (SELECT bool_or(jsonb_array_length(ra) <> jsonb_array_length(rb))
                      FROM jsonb_array_elements(a) WITH ORDINALITY x(ra, i)
                      JOIN jsonb_array_elements(b) WITH ORDINALITY y(rb, i) USING (i))
                THEN 'Infinity'::float8
                ELSE (SELECT coalesce(max(abs(va::float8 - vb::float8)), 0)
                      FROM jsonb_array_elements(a) WITH ORDINALITY x(ra, i)
                      JOIN jsonb_array_elements(b) WITH ORDINALITY y(rb, i) USING (i),
                           jsonb_array_elements_text(ra) WITH ORDINALITY u(va, j)
                      JOIN jsonb_array_elements_text(rb) WITH ORDINALITY w(vb, j) USING (j))
           END
$$;

ANALYZE;
SELECT 'wholesale' AS "table", (SELECT count(*) FROM wholesale) AS plain, (SELECT count(*) FROM wholesale_dist) AS distributed
UNION ALL SELECT 'bank', (SELECT count(*) FROM bank), (SELECT count(*) FROM bank_dist)
UNION ALL SELECT 'cdnow', (SELECT count(*) FROM cdnow), (SELECT count(*) FROM cdnow_dist)
UNION ALL SELECT 'synthetic', (SELECT count(*) FROM synthetic), (SELECT count(*) FROM synthetic_dist);
