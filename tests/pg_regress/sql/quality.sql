-- Quality against an independent reference: scikit-learn's KMeans (best of 10 starts) on the
-- same matrix (log1p spend, z-scored), computed by tests/reference/wholesale_kmeans.py.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE sklearn_inertia (k int PRIMARY KEY, inertia float8);
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
