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
       round(p::numeric, 2) AS p, round(q::numeric, 2) AS q, round(gamma::numeric, 2) AS gamma, warning
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

-- A fit at the boundary. On the Online Retail sample (tests/data/online_retail: 4,549 invoices,
-- many customers wholesalers) calibrated to 2011-06-30, the customers keep buying: BG/NBD fits no
-- better than a model in which nobody ever drops out, and its dropout parameters run off (a -> 0,
-- b -> infinity), as the lifetimes package's do (tests/reference/retail_clv.py). The result's
-- warning column says so (and the metrics), and a WARNING says what to do.
CREATE TABLE online_retail_tx (invoice_no text, customer_id int, invoiced_at timestamp, amount numeric, country text);
\set f :abs_srcdir '/data/online_retail_sample.csv'
COPY online_retail_tx FROM :'f' CSV HEADER;
CREATE TABLE retail_reference (calibration_end date, customers int, repeat_customers int, r float8,
                               alpha float8, a float8, b float8, log_likelihood float8,
                               no_dropout_log_likelihood float8, p_alive_min float8, p_alive_sd float8,
                               p_alive_rms float8);
\set f :abs_srcdir '/reference/retail_clv_lifetimes.csv'
COPY retail_reference FROM :'f' CSV HEADER;
CREATE TABLE retail_fit AS
SELECT * FROM segment_clv_fit('online_retail_tx', 'customer_id', 'invoiced_at', 'amount', '2011-06-30', name => 'retail_clv');
SELECT customers, repeat_customers, converged, a < 1e-4 AS a_near_0, b > 1e3 AS b_large, warning FROM retail_fit;
SELECT metrics->>'warning' = f.warning AS in_the_metrics FROM segment_models, retail_fit f WHERE name = 'retail_clv';
-- Against lifetimes on the same customers: the same log-likelihood (that of the model without
-- dropout, reached by both), the same purchase rates, and lifetimes' a and b ran off too.
SELECT f.customers = x.customers AND f.repeat_customers = x.repeat_customers AS same_customers,
       abs(f.bgnbd_log_likelihood - x.log_likelihood) < 1e-4 AS same_log_likelihood,
       abs(x.log_likelihood - x.no_dropout_log_likelihood) < 1e-4 AS no_better_than_no_dropout,
       abs(f.r / x.r - 1) < 2e-3 AS same_r, abs(f.alpha / x.alpha - 1) < 2e-3 AS same_alpha,
       x.a < 1e-4 AND x.b > 1e3 AS lifetimes_ran_off
FROM retail_fit f, retail_reference x WHERE x.calibration_end = '2011-06-30';
-- P(alive) is 1 for everyone, to nine digits (as lifetimes' is).
CREATE TABLE retail_value AS SELECT * FROM segment_clv('retail_clv', horizon => 52);
SELECT count(*) AS customers, min(p_alive) > 0.9999999 AS all_alive,
       stddev_pop(p_alive) / sqrt(avg(p_alive ^ 2)) < 1e-6 AS nearly_constant,
       (SELECT p_alive_sd / p_alive_rms < 1e-6 FROM retail_reference WHERE calibration_end = '2011-06-30') AS lifetimes_too
FROM retail_value;
-- The next step of the CDNOW example above, value segments on p_alive and clv: every fit names the
-- nearly constant p_alive in a WARNING and leaves it unscaled, so the segments follow clv alone
-- (before, z-scoring blew its 1e-9 differences up to a unit of distance and made segments of them).
SELECT segments, rows_used FROM segment_fit('retail_value', ARRAY['p_alive', 'clv'], 3,
                                            name => 'retail_value', options => '{"log": ["clv"]}');
SELECT segments FROM segment_fit('retail_value', ARRAY['clv'], 3, name => 'retail_clv_only',
                                 options => '{"log": ["clv"]}');
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('retail_value', v) = segment_assign('retail_clv_only', v)) AS same_segment
FROM retail_value v;
-- ... in every fit path: minibatch_kmeans (streamed), per group, segment_choose_k, a churn tree, a
-- classifier.
SELECT segments FROM segment_fit('retail_value', ARRAY['p_alive', 'clv'], 3, name => 'retail_value_mb',
                                 options => '{"log": ["clv"], "method": "minibatch_kmeans"}');
CREATE VIEW retail_value_labelled AS
SELECT *, customer::int % 2 AS half, clv > 1000 AS valuable FROM retail_value;
SELECT model, segments FROM segment_fit('retail_value_labelled', ARRAY['p_alive', 'clv'], 2,
                                        name => 'retail_value_halves', options => '{"log": ["clv"], "group_by": "half"}');
SELECT count(*) AS ks FROM segment_choose_k('retail_value', ARRAY['p_alive', 'clv'], 2, 3, options => '{"log": ["clv"]}');
SELECT leaves > 0 AS fitted FROM segment_churn_fit('retail_value_labelled', ARRAY['p_alive', 'x'], 'valuable', name => 'retail_churn');
SELECT classes FROM segment_classify_fit('retail_value_labelled', ARRAY['p_alive', 'x'], 'valuable', name => 'retail_classes');
-- Later calibration ends: at 2011-09-30 dropout is still not identified (a likelihood gain of
-- 0.18 over the model without it, in lifetimes' fit too) though a and b stay in range; at
-- 2011-12-09 it is (a gain of 2.07): no warning.
SELECT round((f.bgnbd_log_likelihood - x.no_dropout_log_likelihood)::numeric, 2) AS gain,
       round((x.log_likelihood - x.no_dropout_log_likelihood)::numeric, 2) AS lifetimes_gain,
       abs(f.bgnbd_log_likelihood - x.log_likelihood) < 1e-4 AS same_log_likelihood, f.warning
FROM retail_reference x,
     LATERAL segment_clv_fit('online_retail_tx', 'customer_id', 'invoiced_at', 'amount', x.calibration_end,
                             name => 'retail_clv_' || to_char(x.calibration_end, 'MMDD')) f
WHERE x.calibration_end > '2011-06-30' ORDER BY x.calibration_end;

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
