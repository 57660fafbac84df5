-- RFM from a transactions table: one row per customer with recency, frequency, monetary value,
-- quantile scores and the usual segment names. Data: the CDNOW purchase log (69,659
-- transactions of 23,570 customers, tests/data/cdnow).
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE cdnow (customer_id int, date date, number_of_cds int, dollar_value numeric);
\set f :abs_srcdir '/data/cdnow_master_transactions.csv'
COPY cdnow FROM :'f' CSV HEADER;

-- Against an independent reference (tests/reference/cdnow_rfm.py, plain Python): every
-- customer's recency, frequency, monetary total and tenure as of 1997-09-30, exactly, and the
-- scores and segment names by the definitions below.
CREATE TABLE rfm_reference (customer text, recency_days int, frequency bigint, monetary_total float8, tenure_days int,
                            r_score int, f_score int, m_score int, rfm_segment text);
\set f :abs_srcdir '/reference/cdnow_rfm_reference.csv'
COPY rfm_reference FROM :'f' CSV HEADER;
CREATE TABLE cdnow_rfm AS
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'date', 'dollar_value', as_of => '1997-09-30');
SELECT count(*) AS customers,
       count(*) FILTER (WHERE r.recency_days = x.recency_days AND r.frequency = x.frequency
                          AND r.monetary_total = x.monetary_total AND r.tenure_days = x.tenure_days) AS equal,
       count(*) FILTER (WHERE r.r_score = x.r_score AND r.f_score = x.f_score AND r.m_score = x.m_score
                          AND r.rfm_segment = x.rfm_segment) AS equal_scores,
       count(*) FILTER (WHERE r.customer IS NULL OR x.customer IS NULL) AS missing
FROM cdnow_rfm r FULL JOIN rfm_reference x USING (customer);

-- Scores are quantiles: 1 + floor(5 x customers with a strictly worse value / customers), so
-- ties share a score. Most CDNOW customers bought on one day only: they all share F = 1, and
-- the F scores jump from 1 to 3.
SELECT f_score, min(frequency), max(frequency), count(*) FROM cdnow_rfm GROUP BY 1 ORDER BY 1;
SELECT r_score, min(recency_days), max(recency_days), count(*) FROM cdnow_rfm GROUP BY 1 ORDER BY 1;
SELECT rfm_segment, count(*), round(avg(monetary_total)::numeric, 2) AS avg_spend
FROM cdnow_rfm GROUP BY 1 ORDER BY 2 DESC;
-- The key is the customer column's text: join back with a cast (an integer key here).
SELECT c.customer_id, r.frequency, r.rfm_segment
FROM (SELECT DISTINCT customer_id FROM cdnow) c JOIN cdnow_rfm r ON r.customer::int = c.customer_id
ORDER BY c.customer_id LIMIT 3;

-- Edge cases, on small tables.
CREATE TABLE tx (customer text, at timestamptz, amount numeric);
-- One purchase per customer, all on one day: recency and tenure equal, every score ties.
INSERT INTO tx VALUES ('a', '2024-03-01 10:00+00', 10), ('b', '2024-03-01 11:00+00', 20),
                      ('c', '2024-03-01 12:00+00', 30);
SET TimeZone = 'UTC';
SELECT customer, recency_days, frequency, monetary_total, tenure_days, r_score, f_score, m_score, rfm_segment
FROM segment_rfm('tx', 'customer', 'at', 'amount', as_of => '2024-03-31') ORDER BY customer;
-- Two purchases the same day are one occasion; returns are netted (default) or ignored; a
-- customer with only returns has no purchase and is left out (a NOTICE counts it), as are
-- rows with a NULL customer, time or amount, and transactions after as_of.
INSERT INTO tx VALUES ('a', '2024-03-01 18:00+00', 5), ('a', '2024-03-10 09:00+00', -4),
                      ('d', '2024-03-05 09:00+00', -15), (NULL, '2024-03-05', 1), ('b', NULL, 1),
                      ('c', '2024-04-02 09:00+00', 99);
SELECT customer, recency_days, frequency, monetary_total, monetary_average
FROM segment_rfm('tx', 'customer', 'at', 'amount', as_of => '2024-03-31') ORDER BY customer;
SELECT customer, monetary_total
FROM segment_rfm('tx', 'customer', 'at', 'amount', as_of => '2024-03-31', options => '{"returns": "ignore"}')
ORDER BY customer;
-- as_of before some purchases: they are left out, and so is a customer who had none yet.
SELECT customer, frequency FROM segment_rfm('tx', 'customer', 'at', 'amount', as_of => '2024-03-01 10:30+00');
-- bins = 1 gives every customer score 1; more bins than distinct values leaves scores unused.
SELECT DISTINCT r_score, f_score, m_score FROM segment_rfm('tx', 'customer', 'at', 'amount', '2024-03-31', bins => 1);
SELECT customer, m_score FROM segment_rfm('tx', 'customer', 'at', 'amount', '2024-03-31', bins => 10) ORDER BY customer;

-- segment_fit takes the RFM output directly (a table or a view made from it).
SELECT segments, rows_used FROM segment_fit('cdnow_rfm', ARRAY['recency_days', 'frequency', 'monetary_total'], 4,
                                           name => 'cdnow_rfm_k4', options => '{"log": ["frequency", "monetary_total"]}');

-- A real purchase log with returns: a sample of the UCI Online Retail log (tests/data/online_retail:
-- 4,549 invoices of 808 customers, 836 of them cancellations with negative amounts, 150 without a
-- customer). Returns are netted by default, and 8 customers returned more than they bought.
CREATE TABLE online_retail (invoice_no text, customer_id int, invoiced_at timestamp, amount numeric, country text);
\set f :abs_srcdir '/data/online_retail_sample.csv'
COPY online_retail FROM :'f' CSV HEADER;
CREATE TABLE retail_rfm_net AS
SELECT * FROM segment_rfm('online_retail', 'customer_id', 'invoiced_at', 'amount', as_of => '2011-12-10');
SELECT count(*) AS customers, count(*) FILTER (WHERE monetary_total < 0) AS net_negative,
       min(monetary_total) AS lowest FROM retail_rfm_net;
-- The log option cannot take a negative total: the error names the column and the RFM option.
SELECT * FROM segment_fit('retail_rfm_net', ARRAY['recency_days', 'frequency', 'monetary_total'], 4,
                          options => '{"log": ["frequency", "monetary_total"]}');
\echo :LAST_ERROR_SQLSTATE
-- docs/rfm.md's example (its table named retail_rfm here), on this log: monetary value from
-- purchases only (returns ignored), so every total is >= 0 and the fit with log takes every
-- customer.
CREATE TABLE retail_rfm AS
SELECT * FROM segment_rfm('online_retail', 'customer_id', 'invoiced_at', 'amount', as_of => '2011-12-10',
                          options => '{"returns": "ignore"}');
SELECT model, segments, rows_used, rows_skipped
FROM segment_fit('retail_rfm', ARRAY['recency_days', 'frequency', 'monetary_total'], 4,
                 options => '{"log": ["frequency", "monetary_total"]}');
-- The net-negative customers are there with what they bought: the sum of their purchases, by a
-- plain query.
SELECT r.customer, n.monetary_total AS net, r.monetary_total AS purchases,
       r.monetary_total = (SELECT sum(t.amount)::float8 FROM online_retail t
                           WHERE t.customer_id = r.customer::int AND t.amount >= 0
                             AND t.invoiced_at <= '2011-12-10') AS sum_of_purchases
FROM retail_rfm r JOIN retail_rfm_net n USING (customer)
WHERE n.monetary_total < 0 ORDER BY n.monetary_total;
-- Returns as a feature of their own (docs/rfm.md): the amount each customer returned (>= 0),
-- logged like the spend.
CREATE VIEW retail_rfm_returns AS
SELECT r.*, COALESCE((SELECT -sum(t.amount) FROM online_retail t
                      WHERE t.customer_id = r.customer::int AND t.amount < 0
                        AND t.invoiced_at <= '2011-12-10'), 0)::float8 AS returned
FROM retail_rfm r;
SELECT count(*) FILTER (WHERE returned > 0) AS customers_with_returns, min(returned) AS least FROM retail_rfm_returns;
SELECT model, segments, rows_used
FROM segment_fit('retail_rfm_returns', ARRAY['recency_days', 'frequency', 'monetary_total', 'returned'], 4,
                 options => '{"log": ["frequency", "monetary_total", "returned"]}');

-- Errors.
SELECT * FROM segment_rfm('cdnow', 'no_such', 'date', 'dollar_value');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'dollar_value', 'dollar_value');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'date', 'date');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'date', 'dollar_value', bins => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('cdnow', 'customer_id', 'date', 'dollar_value', options => '{"returns": "drop"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rfm('cdnow', NULL, 'date', 'dollar_value');
\echo :LAST_ERROR_SQLSTATE
