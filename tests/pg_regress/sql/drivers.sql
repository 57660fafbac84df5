-- What drove a change: segment_drivers(source, metric, test_column, dimensions, options) finds
-- the slices of the rows (combinations of up to max_depth dimension values) whose metric moved
-- between the control rows (test_column false: before) and the test rows (true: after).
-- Checked against an independent reference on real data (tests/reference/drivers_reference.py,
-- pandas and scipy from the raw rows): every row and column of four cases.
\getenv abs_srcdir PG_ABS_SRCDIR
SET extra_float_digits = 0;

-- The bank's phone campaign (tests/data/bank_marketing): did subscriptions move between the
-- contacts of January..June and those of July..December, and where?
CREATE TABLE drivers_bank (
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :abs_srcdir '/data/bank.csv'
COPY drivers_bank FROM :'f' CSV HEADER;
CREATE VIEW bank_halves AS
SELECT job, marital, education, contact, month IN ('jul', 'aug', 'sep', 'oct', 'nov', 'dec') AS second_half,
       (y = 'yes')::int AS subscribed
FROM drivers_bank;

-- The first rows: the population (drivers '{}'), then the slices whose change the population's
-- change explains least. 37 fewer subscriptions, and the contacts of unknown type did most of it.
SELECT array_to_string(drivers, ' & ') AS drivers, metric_test, metric_control, difference,
       round(contribution::numeric, 3) AS contribution,
       round(unexpected_difference::numeric, 2) AS unexpected, round(support::numeric, 3) AS support,
       rows_test, rows_control, round(p_value::numeric, 4) AS p_value
FROM segment_drivers('bank_halves', 'subscribed', 'second_half',
                     ARRAY['job', 'marital', 'education', 'contact'])
LIMIT 6;

-- The subscription rate instead of the count: per row.
SELECT array_to_string(drivers, ' & ') AS drivers, round(metric_test::numeric, 4) AS rate_test,
       round(metric_control::numeric, 4) AS rate_control,
       round(unexpected_difference::numeric, 4) AS unexpected, round(p_value::numeric, 4) AS p_value
FROM segment_drivers('bank_halves', 'subscribed', 'second_half',
                     ARRAY['job', 'marital', 'education', 'contact'], '{"per": "row", "top": 4}');

-- CDNOW's purchases (tests/data/cdnow): revenue in the second half of 1997 against the first
-- half, by the customer's RFM segment as of 1997-06-30 (segment_rfm), the month of their first
-- purchase and the basket size. 1998's transactions have no flag: left out, with a NOTICE.
CREATE TABLE drivers_cdnow (customer_id int, date date, number_of_cds int, dollar_value numeric);
\set f :abs_srcdir '/data/cdnow_master_transactions.csv'
COPY drivers_cdnow FROM :'f' CSV HEADER;
CREATE TABLE cdnow_rfm_h1 AS
SELECT * FROM segment_rfm('drivers_cdnow', 'customer_id', 'date', 'dollar_value', as_of => '1997-06-30');
CREATE VIEW cdnow_halves AS
SELECT t.dollar_value AS revenue, t.number_of_cds AS cds, r.rfm_segment,
       to_char(f.first, 'YYYY-MM') AS cohort,
       CASE WHEN t.number_of_cds >= 3 THEN '3+' ELSE t.number_of_cds::text END AS basket,
       CASE WHEN t.date < '1997-07-01' THEN false WHEN t.date < '1998-01-01' THEN true END AS second_half
FROM drivers_cdnow t
JOIN cdnow_rfm_h1 r ON r.customer = t.customer_id::text
JOIN (SELECT customer_id, min(date) AS first FROM drivers_cdnow GROUP BY 1) f USING (customer_id);
SELECT array_to_string(drivers, ' & ') AS drivers, round(metric_test::numeric) AS revenue_test,
       round(metric_control::numeric) AS revenue_control, round(contribution::numeric, 3) AS contribution,
       round(unexpected_difference::numeric) AS unexpected, round(support::numeric, 3) AS support
FROM segment_drivers('cdnow_halves', 'revenue', 'second_half', ARRAY['rfm_segment', 'cohort', 'basket'],
                     '{"top": 5}');

-- Against the reference: every row of the four cases (the bank's count and rate, CDNOW's
-- revenue and its price per CD, a ratio of sums), every column within 1e-9 of its size
-- (p-values within 1e-9), and the same order.
CREATE TABLE drivers_reference (
    "case" text, drivers text, metric_test float8, metric_control float8, difference float8,
    relative_difference float8, contribution float8, unexpected_difference float8, support float8,
    rows_test bigint, rows_control bigint, p_value float8, position int);
\set f :abs_srcdir '/reference/drivers_reference.csv'
COPY drivers_reference FROM :'f' CSV HEADER;
UPDATE drivers_reference SET drivers = '' WHERE drivers IS NULL;
CREATE FUNCTION pg_temp.near(a float8, b float8, tolerance float8) RETURNS bool
    LANGUAGE sql IMMUTABLE AS
    $$ SELECT (a IS NULL AND b IS NULL) OR abs(a - b) <= tolerance * greatest(abs(b), 1) $$;
SET client_min_messages = warning;
CREATE TABLE drivers_ours AS
SELECT 'bank_sum' AS "case", d.*, ordinality - 1 AS position
FROM segment_drivers('bank_halves', 'subscribed', 'second_half',
                     ARRAY['job', 'marital', 'education', 'contact']) WITH ORDINALITY d
UNION ALL
SELECT 'bank_rate', d.*, ordinality - 1
FROM segment_drivers('bank_halves', 'subscribed', 'second_half',
                     ARRAY['job', 'marital', 'education', 'contact'], '{"per": "row"}') WITH ORDINALITY d
UNION ALL
SELECT 'cdnow_revenue', d.*, ordinality - 1
FROM segment_drivers('cdnow_halves', 'revenue', 'second_half',
                     ARRAY['rfm_segment', 'cohort', 'basket']) WITH ORDINALITY d
UNION ALL
SELECT 'cdnow_price', d.*, ordinality - 1
FROM segment_drivers('cdnow_halves', 'revenue', 'second_half',
                     ARRAY['rfm_segment', 'cohort', 'basket'], '{"per": "cds"}') WITH ORDINALITY d;
RESET client_min_messages;
ALTER TABLE drivers_ours ALTER drivers TYPE text USING array_to_string(drivers, ' & ');
SELECT "case", count(*) AS rows_compared,
       count(*) FILTER (WHERE o.rows_test = x.rows_test AND o.rows_control = x.rows_control
                          AND pg_temp.near(o.metric_test, x.metric_test, 1e-9)
                          AND pg_temp.near(o.metric_control, x.metric_control, 1e-9)
                          AND pg_temp.near(o.difference, x.difference, 1e-9)
                          AND pg_temp.near(o.relative_difference, x.relative_difference, 1e-9)
                          AND pg_temp.near(o.contribution, x.contribution, 1e-9)
                          AND pg_temp.near(o.unexpected_difference, x.unexpected_difference, 1e-9)
                          AND pg_temp.near(o.support, x.support, 1e-12)
                          AND pg_temp.near(o.p_value, x.p_value, 1e-9)) AS equal,
       count(*) FILTER (WHERE o.position = x.position) AS same_position,
       count(*) FILTER (WHERE o.drivers IS NULL OR x.drivers IS NULL) AS missing
FROM drivers_ours o
FULL JOIN drivers_reference x USING ("case", drivers)
GROUP BY "case" ORDER BY "case";

-- A model's segment is a column like any other: a view that calls segment_assign. Here k-means
-- on the customers' first-half RFM; the drivers by segment equal the plain GROUP BY of the view.
SELECT model, segments FROM segment_fit('cdnow_rfm_h1', ARRAY['recency_days', 'frequency', 'monetary_total'],
    3, 'h1_segments', '{"seed": 1, "log": ["frequency", "monetary_total"]}');
CREATE VIEW cdnow_by_segment AS
SELECT h.revenue, h.second_half, segment_assign('h1_segments', r) AS segment
FROM drivers_cdnow t
JOIN cdnow_rfm_h1 r ON r.customer = t.customer_id::text
CROSS JOIN LATERAL (SELECT t.dollar_value AS revenue,
                           CASE WHEN t.date < '1997-07-01' THEN false
                                WHEN t.date < '1998-01-01' THEN true END AS second_half) h;
SELECT array_to_string(drivers, ' & ') AS drivers, round(metric_test::numeric) AS revenue_test,
       round(metric_control::numeric) AS revenue_control, round(contribution::numeric, 3) AS contribution,
       round(support::numeric, 3) AS support, rows_test, rows_control
FROM segment_drivers('cdnow_by_segment', 'revenue', 'second_half', ARRAY['segment'])
ORDER BY drivers;
SELECT count(*) AS segments,
       count(*) FILTER (WHERE d.rows_test = p.rows_test AND d.rows_control = p.rows_control
                          AND abs(d.metric_test - p.revenue_test) <= 1e-9 * p.revenue_test
                          AND abs(d.metric_control - p.revenue_control) <= 1e-9 * p.revenue_control) AS equal
FROM segment_drivers('cdnow_by_segment', 'revenue', 'second_half', ARRAY['segment']) d
JOIN (SELECT ARRAY['segment=' || segment] AS drivers,
             count(*) FILTER (WHERE second_half) AS rows_test,
             count(*) FILTER (WHERE NOT second_half) AS rows_control,
             sum(revenue) FILTER (WHERE second_half)::float8 AS revenue_test,
             sum(revenue) FILTER (WHERE NOT second_half)::float8 AS revenue_control
      FROM cdnow_by_segment GROUP BY segment) p USING (drivers);

-- Pruning and NULLs, on a small table: a dimension with one value adds nothing (its slices are
-- their parents' rows: dropped, unless prune is false); a NULL value is a slice of its own.
CREATE TABLE shop (region text, plan text, country text, after bool, revenue numeric);
INSERT INTO shop VALUES
    ('N', 'a', 'PT', false, 10), ('N', 'a', 'PT', false, 10), ('N', 'b', 'PT', false, 5),
    ('S', 'a', 'PT', false, 20), ('S', 'b', 'PT', false, 5),
    ('N', 'a', 'PT', true, 10), ('N', 'a', 'PT', true, 10), ('N', 'a', 'PT', true, 10),
    ('N', 'b', 'PT', true, 5), ('S', 'a', 'PT', true, 20), ('S', 'b', 'PT', true, 5),
    ('S', 'b', 'PT', true, 5), (NULL, 'a', 'PT', true, 1),
    ('N', 'a', 'PT', NULL, 100), ('S', 'b', 'PT', false, NULL);
SELECT array_to_string(drivers, ' & ') AS drivers, metric_test, metric_control, difference,
       round(contribution::numeric, 4) AS contribution, round(unexpected_difference::numeric, 4) AS unexpected,
       round(support::numeric, 4) AS support
FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region', 'plan', 'country'], '{"max_depth": 2}');
SELECT count(*) AS rows_pruned, (SELECT count(*) FROM segment_drivers('shop', 'revenue', 'after',
           ARRAY['region', 'plan', 'country'], '{"max_depth": 2, "prune": false}')) AS rows_not_pruned
FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region', 'plan', 'country'], '{"max_depth": 2}');

-- Bad input: each an ERROR with its SQLSTATE and a hint.
\set VERBOSITY default
SELECT * FROM segment_drivers(NULL, 'revenue', 'after', ARRAY['region']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenu', 'after', ARRAY['region']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['regoin']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region'], '{"per": "visits"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'region', 'after', ARRAY['plan']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'region', ARRAY['plan']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region', 'region']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['after']);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region'], '{"max_dpeth": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region'], '{"max_depth": 5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region'], '{"min_support": 2}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region'], '{"order_by": "support"}');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE shop_json AS SELECT *, '{}'::json AS extra FROM shop;
SELECT * FROM segment_drivers('shop_json', 'revenue', 'after', ARRAY['extra']);
\echo :LAST_ERROR_SQLSTATE
-- No control rows: after is never false.
CREATE TABLE shop_after AS SELECT * FROM shop WHERE after;
SELECT * FROM segment_drivers('shop_after', 'revenue', 'after', ARRAY['region']);
\echo :LAST_ERROR_SQLSTATE
-- 60,000 values of a dimension: more slices than one call reads.
CREATE TABLE drivers_many AS SELECT i AS id, i % 2 = 0 AS after, 1 AS orders FROM generate_series(1, 60000) i;
SELECT * FROM segment_drivers('drivers_many', 'orders', 'after', ARRAY['id'], '{"min_support": 0}');
\echo :LAST_ERROR_SQLSTATE
CREATE SEQUENCE shop_seq;
SELECT * FROM segment_drivers('shop_seq', 'revenue', 'after', ARRAY['region']);
\echo :LAST_ERROR_SQLSTATE
-- The caller's privileges: a role that may not read the table may not slice it.
CREATE ROLE regress_cs_drivers;
SET ROLE regress_cs_drivers;
SELECT * FROM segment_drivers('shop', 'revenue', 'after', ARRAY['region']);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
\set VERBOSITY terse

DROP ROLE regress_cs_drivers;
DROP SEQUENCE shop_seq;
DROP TABLE drivers_many, shop_after, shop_json, shop, drivers_ours, drivers_reference;
DROP VIEW cdnow_by_segment;
SELECT segment_drop('h1_segments');
DROP VIEW cdnow_halves, bank_halves;
DROP TABLE cdnow_rfm_h1, drivers_cdnow, drivers_bank;
