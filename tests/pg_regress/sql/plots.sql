-- Pictures as SVG (segment_plot): what each kind draws, counted in its text. PostgreSQL's XML
-- functions are not used: servers built without libxml (the PyPI builds of 16, 17 and 18 this
-- suite runs on) lack them. That each picture is well-formed XML the reliability tier checks:
-- it parses every kind with an XML parser and renders them to PNG with rsvg-convert.
SELECT model FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], NULL,
    name => 'pictures', options => '{"k_min": 2, "k_max": 6}');
SELECT segment_rename('pictures', 0, 'Retail <grocery & paper>');
SELECT kind, left(svg, 5) AS starts, right(svg, 6) AS ends,
       (SELECT count(*) FROM regexp_matches(svg, '<circle ', 'g'))::int AS circles,
       svg LIKE '%<rect %' AS has_rects,
       svg LIKE '%Retail &lt;grocery%' AND svg NOT LIKE '%Retail <%' AS label_escaped
FROM (SELECT kind, segment_plot('pictures', kind) AS svg
      FROM unnest(ARRAY['scatter', 'elbow', 'profile']) kind) p;
-- The titles, axes and legend name what is drawn.
SELECT t[1] AS elbow_words
FROM regexp_matches(segment_plot('pictures', 'elbow'), '<text[^>]*>([^<]*)</text>', 'g') t
WHERE t[1] ~ '[a-z]';

-- A churn model's tree: a box per node.
CREATE TABLE plot_accounts (tenure float8, calls float8, left_us bool);
INSERT INTO plot_accounts
SELECT i % 40, (i * 7) % 13, (i % 40) < 8 AND (i * 7) % 13 > 6 FROM generate_series(1, 400) i;
SELECT model FROM segment_churn_fit('plot_accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'plot_churn');
SELECT (SELECT count(*) FROM regexp_matches(s, '<rect ', 'g'))::int - 1 AS node_boxes,
       (SELECT count(*) FROM segment_churn_rules('plot_churn')) AS leaves
FROM (SELECT segment_plot('plot_churn', 'tree') AS s) t;

-- What cannot be drawn.
SELECT segment_plot('pictures', 'pie');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('pictures', 'tree');
\echo :LAST_ERROR_SQLSTATE
SELECT model FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 3, name => 'pictures_k3');
SELECT segment_plot('pictures_k3', 'elbow');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('pictures', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('pictures', 'scatter', 'plot_accounts');
\echo :LAST_ERROR_SQLSTATE

SELECT segment_drop('pictures'), segment_drop('pictures_k3'), segment_drop('plot_churn');
DROP TABLE plot_accounts;
