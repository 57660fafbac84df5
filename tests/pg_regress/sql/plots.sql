-- Pictures as SVG (segment_plot): each kind is one well-formed SVG document (parsed here by
-- PostgreSQL's XML parser); the reliability tier renders one to PNG with rsvg-convert.
SELECT model FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], NULL,
    name => 'pictures', options => '{"k_min": 2, "k_max": 6}');
SELECT segment_rename('pictures', 0, 'Retail <grocery & paper>');
SELECT kind, xml_is_well_formed_document(svg) AS well_formed,
       left(svg, 5) AS starts, right(svg, 6) AS ends,
       (xpath('count(//*[local-name()="circle"])', svg::xml))[1]::text::int AS circles,
       (xpath('count(//*[local-name()="rect"])', svg::xml))[1]::text::int > 0 AS has_rects,
       svg LIKE '%Retail &lt;grocery%' AND svg NOT LIKE '%Retail <%' AS label_escaped
FROM (SELECT kind, segment_plot('pictures', kind) AS svg
      FROM unnest(ARRAY['scatter', 'elbow', 'profile']) kind) p;
-- The titles, axes and legend name what is drawn.
SELECT t::text AS elbow_words
FROM unnest(xpath('//*[local-name()="text"]/text()', segment_plot('pictures', 'elbow')::xml)) t
WHERE t::text ~ '[a-z]';

-- A churn model's tree: a box per node.
CREATE TABLE plot_accounts (tenure float8, calls float8, left_us bool);
INSERT INTO plot_accounts
SELECT i % 40, (i * 7) % 13, (i % 40) < 8 AND (i * 7) % 13 > 6 FROM generate_series(1, 400) i;
SELECT model FROM segment_churn_fit('plot_accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'plot_churn');
SELECT xml_is_well_formed_document(s) AS well_formed,
       (xpath('count(//*[local-name()="rect"])', s::xml))[1]::text::int - 1 AS node_boxes,
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
