-- Customers described by categories as well as numbers: k-prototypes (Huang 1998). A row's
-- dissimilarity to a segment's prototype is the squared distance of its scaled numbers plus
-- gamma for every category that differs from the prototype's mode. The data: the bank's 4,521
-- contacts (tests/data/bank_marketing) with four numbers and six categories.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE clients (
    id serial PRIMARY KEY,
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :abs_srcdir '/data/bank.csv'
COPY clients (age, job, marital, education, "default", balance, housing, loan, contact, day,
              month, duration, campaign, pdays, previous, poutcome, y) FROM :'f' CSV HEADER;
\set features 'ARRAY[''age'', ''balance'', ''duration'', ''campaign'', ''job'', ''marital'', ''education'', ''housing'', ''loan'', ''contact'']'

-- gamma defaults to half the mean standard deviation of the scaled numbers (0.5 under the
-- z-score), as the kmodes package picks it; the metrics hold it and the k-prototypes cost.
SELECT model, segments, rows_used, method
FROM segment_fit('clients', :features, 4, name => 'client_types', options => '{"method": "kprototypes"}');
SELECT round((metrics->>'gamma')::numeric, 6) AS gamma, (metrics->>'converged')::bool AS converged, round((metrics->>'cost')::numeric, 1) AS cost,
       metrics->>'cost' = metrics->>'inertia' AS cost_is_inertia,
       (metrics->>'silhouette')::float8 BETWEEN -1 AND 1 AS silhouette_in_range
FROM segment_models WHERE name = 'client_types';

-- Against the kmodes package's KPrototypes on the same rows and gamma with as many starts (10;
-- tests/reference/bank_kprototypes.py): the cost is within 1% of its best, for k = 3, 4, 5.
CREATE TABLE kmodes_cost (k int, init text, gamma float8, cost float8, n_iter int);
\set f :abs_srcdir '/reference/bank_kprototypes_cost.csv'
COPY kmodes_cost FROM :'f' CSV HEADER;
-- (segment_fit's inertia is the cost for this method.)
SELECT r.k, round(f.inertia::numeric, 1) AS ours, round(r.best::numeric, 1) AS kmodes,
       f.inertia <= 1.01 * r.best AS within_1_percent
FROM (SELECT k, min(gamma) AS gamma, min(cost) AS best FROM kmodes_cost GROUP BY k) r,
     LATERAL segment_fit('clients', :features, r.k, name => 'kproto_' || r.k,
                         options => jsonb_build_object('method', 'kprototypes', 'gamma', r.gamma)) f
ORDER BY r.k;

-- The profile: a category's columns hold its shares in the segment; the centroids hold each
-- prototype's numbers (in original units) and its modes (1 on the mode's column).
SELECT segment, feature, round(segment_mean::numeric, 3) AS share
FROM segment_profile('client_types') WHERE feature LIKE 'marital=%' ORDER BY segment, feature;
SELECT segment, string_agg(feature, ', ' ORDER BY feature) AS modes
FROM segment_centroids('client_types') WHERE feature LIKE '%=%' AND value = 1 GROUP BY segment ORDER BY segment;
SELECT segment, round(value::numeric, 1) AS age
FROM segment_centroids('client_types') WHERE feature = 'age' ORDER BY segment;

-- Every row gets the segment of its nearest prototype; the stored sizes are those segments.
SELECT segment_assign('client_types', c) AS segment, count(*) FROM clients c GROUP BY 1 ORDER BY 1;
SELECT DISTINCT segment, size FROM segment_profile('client_types') ORDER BY segment;
-- A job the model has not seen matches no mode: the row still gets a segment.
SELECT segment_assign('client_types', c) IS NOT NULL AS assigned
FROM (SELECT 40 AS age, 1000 AS balance, 200 AS duration, 2 AS campaign, 'astronaut' AS job,
             'single' AS marital, 'tertiary' AS education, 'no' AS housing, 'no' AS loan,
             'cellular' AS contact) c;
-- Independent check of the rule: the cost recomputed in SQL from the stored prototypes (the
-- numbers' distance in units of the model's scale, one gamma per category that is not the
-- segment's mode) equals the stored cost.
CREATE TEMP TABLE prototype AS SELECT segment, feature, value FROM segment_centroids('client_types');
CREATE TEMP TABLE assigned AS SELECT c.*, segment_assign('client_types', c) AS segment FROM clients c;
WITH doc AS (SELECT segment_export('client_types')->'model' AS m),
scale AS (SELECT f.name, (m->'scaler'->'scale'->>(f.ord::int - 1))::float8 AS s
          FROM doc, jsonb_array_elements_text(m->'features') WITH ORDINALITY f(name, ord) WHERE f.ord <= 4),
numbers AS (SELECT a.segment, v.name, v.x FROM assigned a,
            LATERAL (VALUES ('age', a.age::float8), ('balance', a.balance), ('duration', a.duration),
                            ('campaign', a.campaign)) v(name, x)),
categories AS (SELECT a.segment, v.name || '=' || v.x AS feature FROM assigned a,
               LATERAL (VALUES ('job', a.job), ('marital', a.marital), ('education', a.education),
                               ('housing', a.housing), ('loan', a.loan), ('contact', a.contact)) v(name, x)),
fit AS (SELECT (metrics->>'gamma')::float8 AS gamma, (metrics->>'cost')::float8 AS cost
        FROM segment_models WHERE name = 'client_types')
SELECT abs((SELECT sum(power((n.x - p.value) / sc.s, 2)) FROM numbers n JOIN scale sc USING (name)
            JOIN prototype p ON p.segment = n.segment AND p.feature = n.name)
           + fit.gamma * (SELECT count(*) FROM categories c LEFT JOIN prototype p
                          ON p.segment = c.segment AND p.feature = c.feature AND p.value = 1
                          WHERE p.segment IS NULL)
           - fit.cost) < 1e-6 * fit.cost AS same_cost
FROM fit;

-- Labels, rules, drift, refits and export work as for the other methods.
SELECT segment, label FROM segment_labels('client_types') ORDER BY segment;
SELECT segment, rule FROM segment_rules('client_types', 2) ORDER BY segment;
SELECT count(*) AS segments, bool_and(psi = 0) AS no_drift_on_its_own_rows
FROM segment_drift('client_types');
SELECT version, method FROM segment_refit('client_types');
SELECT (metrics->>'ids_matched_to_version')::int AS ids_matched_to, k
FROM segment_models WHERE name = 'client_types' AND version = 2;
SELECT count(*) FILTER (WHERE segment_assign('client_types', c) = segment_assign('client_copy', c)) AS same_segment
FROM segment_import(segment_export('client_types'), 'client_copy') i, clients c;
-- Scores on other rows use the same dissimilarity.
SELECT round(e.inertia::numeric, 1) = round((m.metrics->>'cost')::numeric, 1) AS evaluate_gives_the_cost
FROM segment_evaluate('client_types') e, segment_models m WHERE m.name = 'client_types' AND m.version = 2;

-- Bad input.
\set VERBOSITY default
SELECT * FROM segment_fit('clients', ARRAY['age', 'balance'], 3, options => '{"method": "kprototypes"}');
SELECT * FROM segment_fit('clients', :features, NULL, options => '{"method": "kprototypes"}');
SELECT * FROM segment_fit('clients', :features, 3, options => '{"method": "kprototypes", "gamma": -1}');
SELECT * FROM segment_fit('clients', :features, 3, options => '{"method": "kprototypes", "gamma": "high"}');
SELECT * FROM segment_fit('clients', :features, 3, options => '{"gamma": 0.5}');
SELECT * FROM segment_fit('clients', :features, 3, options => '{"method": "kprototypes", "tol": 0.01}');
SELECT segment_explain('client_types', c) FROM clients c LIMIT 1;
\set VERBOSITY terse
