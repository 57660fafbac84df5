-- Customer lifetime value: BG/NBD (purchase counts and dropout) and Gamma-Gamma (spend per
-- purchase), fitted by maximum likelihood on the CDNOW sample (2,357 customers, tests/data/cdnow),
-- calibration through 1997-09-30, weeks, purchase occasions = distinct purchase days.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE cdnow_sample (master_customer_id int, customer_id int, date date, number_of_cds int, dollar_value numeric);
\set f :abs_srcdir '/data/cdnow_sample_transactions.csv'
COPY cdnow_sample FROM :'f' CSV HEADER;

SELECT model, customers, repeat_customers, converged,
       round(r::numeric, 3) AS r, round(alpha::numeric, 3) AS alpha, round(a::numeric, 3) AS a,
       round(b::numeric, 3) AS b, round(bgnbd_log_likelihood::numeric, 1) AS bgnbd_ll,
       round(p::numeric, 2) AS p, round(q::numeric, 2) AS q, round(gamma::numeric, 2) AS gamma
FROM segment_clv_fit('cdnow_sample', 'customer_id', 'date', 'dollar_value', '1997-09-30');
-- The papers' table is the reference (Fader, Hardie & Lee 2005, both papers): every parameter
-- within 0.5%.
SELECT param, round(ours::numeric, 4) AS ours, published, abs(ours / published - 1) < 0.005 AS within_half_percent
FROM segment_model m,
     LATERAL (VALUES ('r', (m.model->'bgnbd'->>'r')::float8, 0.243),
                     ('alpha', (m.model->'bgnbd'->>'alpha')::float8, 4.414),
                     ('a', (m.model->'bgnbd'->>'a')::float8, 0.793),
                     ('b', (m.model->'bgnbd'->>'b')::float8, 2.426),
                     ('p', (m.model->'gamma_gamma'->>'p')::float8, 6.25),
                     ('q', (m.model->'gamma_gamma'->>'q')::float8, 3.74),
                     ('gamma', (m.model->'gamma_gamma'->>'gamma')::float8, 15.44)) v(param, ours, published)
WHERE m.name = 'cdnow_sample_clv';

-- Holdout validation: expected repeat purchases in weeks 40-78 (the 39 weeks after the
-- calibration) against what the customers did, in total and by calibration frequency.
CREATE TABLE holdout AS
SELECT c.customer, c.x, c.expected_purchases,
       (SELECT count(DISTINCT s.date) FROM cdnow_sample s
        WHERE s.customer_id = c.customer::int AND s.date > '1997-09-30' AND s.date <= '1998-06-30') AS actual
FROM segment_clv('cdnow_sample_clv', horizon => 39) c;
SELECT round(sum(expected_purchases)::numeric) AS predicted, sum(actual) AS actual FROM holdout;
SELECT least(x, 7)::int AS repeat_purchases, count(*) AS customers,
       round(avg(expected_purchases)::numeric, 2) AS predicted, round(avg(actual)::numeric, 2) AS actual
FROM holdout GROUP BY 1 ORDER BY 1;

-- Per customer: P(alive), expected purchases and spend, CLV over a year with a 1% weekly
-- discount. A customer who bought often and recently is alive; one who bought often long ago
-- much less so.
SELECT customer, x, round(t_x::numeric, 2) AS t_x, round(t::numeric, 2) AS t,
       round(p_alive::numeric, 3) AS p_alive, round(expected_purchases::numeric, 2) AS next_year,
       round(expected_spend::numeric, 2) AS spend_per_purchase, round(clv::numeric, 2) AS clv
FROM segment_clv('cdnow_sample_clv', horizon => 52, discount_rate => 0.01)
WHERE customer IN ('1', '2', '18', '1131') ORDER BY customer::int;
-- CLV adds up the discounted spend of each week: without discount it is spend x purchases.
SELECT count(*) FILTER (WHERE abs(clv - expected_spend * expected_purchases) < 1e-9 * greatest(1, clv)) AS undiscounted_matches,
       count(*) AS customers
FROM segment_clv('cdnow_sample_clv', horizon => 52);

-- Value segments from CLV features, with segment_fit.
CREATE TABLE customer_value AS SELECT * FROM segment_clv('cdnow_sample_clv', horizon => 52, discount_rate => 0.01);
SELECT segments FROM segment_fit('customer_value', ARRAY['p_alive', 'clv'], 3, name => 'value',
                                 options => '{"log": ["clv"]}');
SELECT DISTINCT segment, size, label FROM segment_profile('value') ORDER BY segment;

-- Edge cases. Purchases after calibration_end are ignored: fitting on the calibration rows
-- only gives the same parameters.
CREATE VIEW calibration_rows AS SELECT * FROM cdnow_sample WHERE date <= '1997-09-30';
SELECT abs(a.r - b.r) < 1e-12 AND abs(a.b - b.b) < 1e-12 AND abs(a.p - b.p) < 1e-12 AS same_parameters
FROM segment_clv_fit('cdnow_sample', 'customer_id', 'date', 'dollar_value', '1997-09-30', name => 'all_rows') a,
     segment_clv_fit('calibration_rows', 'customer_id', 'date', 'dollar_value', '1997-09-30', name => 'calibration_only') b;
-- A customer whose only purchase is on calibration_end: x = 0, T = 0, alive; a return (amount
-- < 0) is not a purchase; a purchase of amount 0 is one.
CREATE TABLE clv_tx AS SELECT customer_id, date, dollar_value FROM cdnow_sample;
INSERT INTO clv_tx VALUES (90001, '1997-09-30', 10), (90002, '1997-06-01', 10), (90002, '1997-07-01', -10),
                      (90002, '1997-08-01', 0);
SELECT customers, repeat_customers
FROM segment_clv_fit('clv_tx', 'customer_id', 'date', 'dollar_value', '1997-09-30', name => 'edges');
SELECT customer, x, round(t_x::numeric, 3) AS t_x, round(t::numeric, 3) AS t, round(p_alive::numeric, 3) AS p_alive
FROM segment_clv('edges') WHERE customer IN ('90001', '90002') ORDER BY customer;

-- Stored state does not depend on the session: calibration_end is kept as an ISO 8601 UTC
-- instant, and the fit's TimeZone cuts dates into days in every later read. A model fitted under
-- a day-first DateStyle in Tokyo reads the same under the session's defaults.
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Tokyo';
SELECT model FROM segment_clv_fit('cdnow_sample', 'customer_id', 'date', 'dollar_value', '1997-09-30', name => 'tokyo_dmy');
SELECT round(sum(expected_purchases)::numeric, 6) AS fit_settings FROM segment_clv('tokyo_dmy') \gset
RESET DateStyle;
RESET TimeZone;
SELECT model->>'calibration_end' AS calibration_end, model->>'time_zone' AS time_zone
FROM segment_model WHERE name = 'tokyo_dmy';
SELECT round(sum(expected_purchases)::numeric, 6) = :fit_settings AS same_as_under_the_fit_settings,
       round(sum(expected_purchases)::numeric, 1) AS expected_purchases
FROM segment_clv('tokyo_dmy');
SELECT segment_drop('tokyo_dmy');

-- Errors.
SELECT * FROM segment_clv_fit('cdnow_sample', 'customer_id', 'date', 'dollar_value', '1996-01-01');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW first_purchases AS SELECT DISTINCT ON (customer_id) * FROM cdnow_sample ORDER BY customer_id, date;
SELECT * FROM segment_clv_fit('first_purchases', 'customer_id', 'date', 'dollar_value', '1997-09-30');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv_fit('cdnow_sample', 'customer_id', 'date', 'dollar_value', '1997-09-30', options => '{"unit": "year"}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv_fit('cdnow_sample', 'customer_id', 'dollar_value', 'dollar_value', '1997-09-30');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv('value');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_assign('cdnow_sample_clv', ARRAY[1.0]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_clv('cdnow_sample_clv', horizon => -1);
\echo :LAST_ERROR_SQLSTATE
