-- Quality against an independent reference: scikit-learn's KMeans (best of 10 starts) on the
-- same matrix (log1p spend, z-scored), computed by tests/reference/wholesale_kmeans.py.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE sklearn_inertia (k int PRIMARY KEY, inertia float8, silhouette float8,
                              calinski_harabasz float8, davies_bouldin float8);
\set f :abs_srcdir '/reference/wholesale_kmeans_inertia.csv'
COPY sklearn_inertia FROM :'f' CSV HEADER;
CREATE TABLE sklearn_labels (customer_id int PRIMARY KEY, label_k2 int, label_k3 int);
\set f :abs_srcdir '/reference/wholesale_kmeans_labels.csv'
COPY sklearn_labels FROM :'f' CSV HEADER;

-- Our inertia for k = 2..6 must be within 1% of scikit-learn's (lower is better).
SELECT k, f.inertia <= s.inertia * 1.01 AS within_1_percent,
       round((f.inertia / s.inertia)::numeric, 3) AS ratio_to_sklearn
FROM sklearn_inertia s,
     LATERAL segment_fit('customer_features',
                         ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
                         s.k, name => 'wholesale_k' || s.k) f
ORDER BY k;

-- For k = 2 and 3 (a unique optimum) the labels must agree: adjusted Rand index >= 0.95.
-- ARI from the contingency table (Hubert & Arabie 1985).
CREATE FUNCTION ari(pairs_sql text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    EXECUTE format($q$
        WITH p AS (%s),
             cells AS (SELECT count(*)::float8 AS c FROM p GROUP BY a, b),
             ra AS (SELECT count(*)::float8 AS c FROM p GROUP BY a),
             rb AS (SELECT count(*)::float8 AS c FROM p GROUP BY b),
             s AS (SELECT (SELECT sum(c * (c - 1) / 2) FROM cells) AS idx,
                          (SELECT sum(c * (c - 1) / 2) FROM ra) AS sa,
                          (SELECT sum(c * (c - 1) / 2) FROM rb) AS sb,
                          (SELECT count(*)::float8 FROM p) AS n)
        SELECT (idx - sa * sb / (n * (n - 1) / 2)) / ((sa + sb) / 2 - sa * sb / (n * (n - 1) / 2)) AS v
        FROM s$q$, pairs_sql) INTO r;
    RETURN r.v;
END $$;

SELECT k, ari >= 0.95 AS agrees, round(ari::numeric, 3) AS adjusted_rand_index
FROM (VALUES
    (2, ari('SELECT segment_assign(''wholesale_k2'', f) AS a, l.label_k2 AS b
             FROM customer_features f JOIN sklearn_labels l USING (customer_id)')),
    (3, ari('SELECT segment_assign(''wholesale_k3'', f) AS a, l.label_k3 AS b
             FROM customer_features f JOIN sklearn_labels l USING (customer_id)'))
) t(k, ari)
ORDER BY k;

-- segment_choose_k scores every k on the same matrix. Where our partition is scikit-learn's
-- (k = 2..4: same inertia), the silhouette, Calinski-Harabasz and Davies-Bouldin scores equal
-- scikit-learn's for those labels; the recommended k is the highest silhouette.
SELECT c.k, c.inertia <= s.inertia * 1.01 AS inertia_within_1_percent,
       CASE WHEN c.k <= 4 THEN abs(c.silhouette / s.silhouette - 1) < 1e-9
                           AND abs(c.calinski_harabasz / s.calinski_harabasz - 1) < 1e-9
                           AND abs(c.davies_bouldin / s.davies_bouldin - 1) < 1e-9 END AS scores_match_sklearn,
       round(c.silhouette::numeric, 4) AS silhouette, round(c.calinski_harabasz::numeric, 2) AS calinski_harabasz,
       round(c.davies_bouldin::numeric, 4) AS davies_bouldin, c.recommended, c.silhouette_rows
FROM segment_choose_k('customer_features',
                      ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
                      k_min => 2, k_max => 6) c
JOIN sklearn_inertia s USING (k)
ORDER BY c.k;

-- Above customer_segment.silhouette_sample rows the silhouette is computed on a seeded sample,
-- and silhouette_rows says how many rows it used.
SET customer_segment.silhouette_sample = 100;
SELECT k, silhouette_rows, silhouette IS NOT NULL AS has_silhouette
FROM segment_choose_k('customer_features', ARRAY['fresh', 'milk'], 2, 3) ORDER BY k;
RESET customer_segment.silhouette_sample;

-- A recommendation at the edge of the range says so. Six tight groups on a line: scanned up to
-- k = 4 the silhouette is still rising at 4, which the note says (with the criteria that
-- disagree), as does a NOTICE; scanned up to 8, k = 6 is inside the range and nothing is said.
CREATE TABLE six_groups AS
SELECT i, (i % 6) * 10 + (i % 5) * 0.1 AS x, (i % 7) * 0.1 AS y FROM generate_series(1, 300) i;
SELECT k, round(silhouette::numeric, 3) AS silhouette, recommended, note
FROM segment_choose_k('six_groups', ARRAY['x', 'y'], 2, 4) ORDER BY k;
SELECT k, recommended, note FROM segment_choose_k('six_groups', ARRAY['x', 'y'], 2, 8) WHERE recommended;
SELECT segments FROM segment_fit('six_groups', ARRAY['x', 'y'], NULL, 'six', '{"k_max": 4}');
SELECT metrics -> 'k_chosen' ->> 'note' AS note FROM segment_models WHERE name = 'six';
SELECT segment_drop('six');
DROP TABLE six_groups;

-- The log option does log(1 + x) inside the extension: fitting the raw table with it gives the
-- same model as fitting the view that takes ln(1 + x) in SQL, and assigns raw rows alike.
-- scale = robust centres on medians and divides by interquartile ranges (scikit-learn's
-- RobustScaler); here it must simply run and assign every row.
SELECT round(r.inertia::numeric, 6) = round(v.inertia::numeric, 6) AS same_inertia
FROM segment_fit('wholesale_customers',
                 ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 3,
                 name => 'raw_log', options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}') r,
     segment_fit('customer_features',
                 ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 3,
                 name => 'view_log') v;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('raw_log', w) = segment_assign('view_log', f)) AS same_segment
FROM wholesale_customers w JOIN customer_features f USING (customer_id);
SELECT segments, rows_used
FROM segment_fit('wholesale_customers', ARRAY['fresh', 'milk', 'grocery'], 3, name => 'robust',
                 options => '{"scale": "robust", "log": ["fresh"]}');
SELECT preprocessing->'scale'->>'method' AS scale, count(*) FILTER (WHERE segment_assign('robust', w) IS NULL) AS unassigned
FROM segment_models, wholesale_customers w WHERE name = 'robust' GROUP BY 1;
