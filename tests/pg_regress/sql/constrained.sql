-- Segments of bounded size: the options min_share and max_share of method kmeans. A marketer
-- cannot act on a segment of 0.4% of the customers; constrained k-means (Bradley, Bennett and
-- Demiriz 2000) keeps every training segment between the bounds, at the least total squared
-- distance it finds. Checked against the k-means-constrained package on the same rows
-- (tests/reference/constrained_reference.py).
\getenv abs_srcdir PG_ABS_SRCDIR
\set spend 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'

-- Raw spend (z-scored): plain k-means with k = 4 sets a few big spenders apart, segments of
-- 2.7% and 0.5% of the customers.
SELECT segments, rows_used FROM segment_fit('wholesale_customers', :spend, 4, name => 'spend_plain');
SELECT DISTINCT segment, size FROM segment_profile('spend_plain') ORDER BY segment;

-- With every segment between 10% and 50% of the 440 customers: at least ceil(0.1 × 440) = 44
-- rows, at most floor(0.5 × 440) = 220.
SELECT segments, rows_used, round(inertia::numeric, 3) AS inertia
FROM segment_fit('wholesale_customers', :spend, 4, name => 'spend_bounded',
                 options => '{"min_share": 0.1, "max_share": 0.5}');
SELECT DISTINCT segment, size, size BETWEEN 44 AND 220 AS within_bounds
FROM segment_profile('spend_bounded') ORDER BY segment;
-- The bounds are stored with the model (only when given), and a refit keeps them.
SELECT options->'min_share' AS min_share, options->'max_share' AS max_share,
       options ? 'min_share' AS stored
FROM segment_models WHERE name IN ('spend_bounded', 'spend_plain') ORDER BY name;
SELECT version, segments FROM segment_refit('spend_bounded');
SELECT DISTINCT segment, size BETWEEN 44 AND 220 AS within_bounds
FROM segment_profile('spend_bounded') ORDER BY segment;

-- The bounds hold on the training rows, which the profile describes. segment_assign gives any
-- row its nearest centre, as for every k-means model: a row near the boundary of a segment the
-- bounds filled (or emptied) can land elsewhere, and so can new rows. Here the nearest-centre
-- sizes of the same customers:
SELECT segment_assign('spend_bounded', w) AS segment, count(*) AS nearest_centre
FROM wholesale_customers w GROUP BY 1 ORDER BY 1;
-- segment_drift compares those nearest-centre shares with the training segments' shares, so it
-- shows the difference even on the training rows themselves.
SELECT segment, round(share_fit::numeric, 3) AS share_fit, round(share_now::numeric, 3) AS share_now
FROM segment_drift('spend_bounded') ORDER BY segment;

-- Against k-means-constrained (n_init 10, the same bounds in rows), on the wholesale spend and
-- on the bank contacts' numeric columns: our cost is at most 1.01 times the least cost of its
-- partition (its labels at their means), and every segment is within the bounds.
CREATE TABLE bank_contacts (
    id serial PRIMARY KEY,
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :abs_srcdir '/data/bank.csv'
COPY bank_contacts (age, job, marital, education, "default", balance, housing, loan, contact, day,
                    month, duration, campaign, pdays, previous, poutcome, y) FROM :'f' CSV HEADER;
CREATE TABLE kmc_reference (data text, k int, min_share float8, max_share float8, size_min int,
                            size_max int, inertia float8, within_ss float8, sizes text);
\set f :abs_srcdir '/reference/constrained_reference.csv'
COPY kmc_reference FROM :'f' CSV HEADER;
CREATE TEMP TABLE constrained_fits AS
SELECT r.data, r.k, r.min_share, r.max_share, r.size_min, r.size_max, r.within_ss, f.model, f.inertia
FROM kmc_reference r,
     LATERAL segment_fit(CASE r.data WHEN 'bank' THEN 'bank_contacts' ELSE 'wholesale_customers' END::regclass,
                         CASE r.data WHEN 'bank'
                              THEN ARRAY['age', 'balance', 'day', 'duration', 'campaign', 'pdays', 'previous']
                              ELSE :spend END,
                         r.k, name => format('kmc_%s_%s', r.data, r.k),
                         options => jsonb_strip_nulls(jsonb_build_object('min_share', r.min_share,
                                                                         'max_share', r.max_share))) f;
SELECT c.data, c.k, c.min_share, c.max_share,
       round(c.inertia::numeric, 1) AS ours, round(c.within_ss::numeric, 1) AS k_means_constrained,
       c.inertia <= 1.01 * c.within_ss AS within_1_percent,
       (SELECT bool_and(p.size BETWEEN c.size_min AND c.size_max)
        FROM (SELECT DISTINCT segment, size FROM segment_profile(c.model)) p) AS sizes_within_bounds
FROM constrained_fits c ORDER BY c.data DESC, c.k;

-- Per group (group_by), the shares are of each group's rows.
SELECT model, segments, rows_used
FROM segment_fit('wholesale_customers', :spend, 2, name => 'spend_by_channel',
                 options => '{"group_by": "channel", "min_share": 0.3}') ORDER BY model;
SELECT g.model, bool_and(p.size >= ceil(0.3 * g.rows_used)) AS within_bounds
FROM (SELECT name AS model, rows_used FROM segment_models
      WHERE name LIKE 'spend_by_channel/%' AND is_current) g,
     LATERAL (SELECT DISTINCT segment, size FROM segment_profile(g.model)) p
GROUP BY g.model ORDER BY g.model;

-- Errors name the option, and the hint gives a way out (SQLSTATE 22023).
\set VERBOSITY default
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"min_share": 0.3}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"max_share": 0.2}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"min_share": 0}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"max_share": 1.5}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"min_share": "10%"}');
SELECT segment_fit('wholesale_customers', :spend, options => '{"min_share": 0.1}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"min_share": 0.1, "engine": "aggregate"}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"max_share": 0.5, "sample_rows": 200}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"method": "gmm", "min_share": 0.1}');
SELECT segment_fit('wholesale_customers', :spend, 4, options => '{"method": "minibatch_kmeans", "max_share": 0.5}');
SELECT * FROM segment_choose_k('wholesale_customers', :spend, 2, 5, options => '{"min_share": 0.1}');
