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

-- The elbow's k axis has whole-number ticks (it read "2.00 ... 10.00").
SELECT string_agg(t[1], ' ') AS k_ticks
FROM regexp_matches(segment_plot('pictures', 'elbow'),
                    '<text x="[0-9.]+" y="498" text-anchor="middle">([^<]*)</text>', 'g') t;

-- A churn model's tree: a box per node.
CREATE TABLE plot_accounts (tenure float8, calls float8, left_us bool);
INSERT INTO plot_accounts
SELECT i % 40, (i * 7) % 13, (i % 40) < 8 AND (i * 7) % 13 > 6 FROM generate_series(1, 400) i;
SELECT model FROM segment_churn_fit('plot_accounts', ARRAY['tenure', 'calls'], 'left_us', name => 'plot_churn');
SELECT (SELECT count(*) FROM regexp_matches(s, '<rect [^>]*height="24" rx="4"', 'g'))::int AS node_boxes,
       (SELECT count(*) FROM segment_churn_rules('plot_churn')) AS leaves
FROM (SELECT segment_plot('plot_churn', 'tree') AS s) t;

-- Real models of the bank's contacts (tables of churn.sql and classify.sql): a churn tree on
-- numbers and one-hot categories, a classifier tree and a forest, and k-means with more
-- segments (14) than the palette has colours (12).
SELECT model FROM segment_churn_fit('bank',
    ARRAY['age', 'balance', 'day', 'campaign', 'pdays', 'previous', 'job', 'marital', 'education',
          'default', 'housing', 'loan', 'contact', 'month', 'poutcome'], 'y',
    name => 'plot_bank_churn', options => '{"max_depth": 5, "min_samples_leaf": 20}');
SELECT model FROM segment_classify_fit('contacts',
    ARRAY['age', 'balance', 'job', 'marital', 'housing', 'loan', 'contact'], 'education',
    name => 'plot_persona');
SELECT model FROM segment_classify_fit('contacts',
    ARRAY['age', 'balance', 'job', 'marital', 'housing', 'loan', 'contact'], 'education',
    name => 'plot_persona_forest', options => '{"method": "forest", "n_trees": 5}');
SELECT model FROM segment_fit('customer_features',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 14,
    name => 'pictures_k14');
CREATE TEMP TABLE plot_svgs AS
SELECT model, kind, segment_plot(model, kind) AS svg
FROM (VALUES ('pictures', 'scatter'), ('pictures', 'elbow'), ('pictures', 'profile'),
             ('pictures_k14', 'scatter'), ('pictures_k14', 'profile'),
             ('plot_bank_churn', 'scatter'), ('plot_bank_churn', 'profile'),
             ('plot_bank_churn', 'tree'), ('plot_persona', 'scatter'),
             ('plot_persona', 'profile'), ('plot_persona', 'tree'),
             ('plot_persona_forest', 'scatter'), ('plot_persona_forest', 'profile')) v(model, kind);
-- Every picture: a text alternative (<title> and <desc> first in the root), a size that fits a
-- slide (at most 1280 x 720), no one-hot name as stored ("contract=...") in its text, and no
-- legend or column head cut to the same text as another.
SELECT model, kind,
       svg ~ '^<svg [^>]*role="img"[^>]*><title id="plot-title">[^<]+</title><desc id="plot-desc">[^<]{60,}</desc>' AS text_alternative,
       (substring(svg FROM 'width="([0-9.]+)"'))::float8 <= 1280
           AND (substring(svg FROM 'height="([0-9.]+)"'))::float8 <= 720 AS fits_1280x720,
       NOT EXISTS (SELECT FROM regexp_matches(svg, '<text[^>]*>([^<]*)</text>', 'g') t
                   WHERE t[1] ~ '[a-z_]=[A-Za-z]') AS one_hot_readable,
       (SELECT count(*) = count(DISTINCT t[1])
        FROM regexp_matches(svg, '<text x="[0-9.]+" y="[0-9.]+" font-size="11">([0-9]+: [^<]*)</text>', 'g') t)
           AS legend_distinct
FROM plot_svgs ORDER BY model, kind;
-- The churn tree: categorical splits read "is" / "is not" (not "month=oct ≤ 0.50 / yes"),
-- leaves carry their churn rate and are coloured on a churn scale with a key; as many leaf
-- boxes as leaves (depth 5 with room for 21 rows: nothing folded here).
SELECT count(*) FILTER (WHERE t[1] ~ '^[a-z]+ is not ') > 0 AS is_not,
       count(*) FILTER (WHERE t[1] ~ '^[a-z]+ is [^n]') > 0 AS is,
       count(*) FILTER (WHERE t[1] ~ '≤ 0\.5|=') AS double_negatives,
       count(*) FILTER (WHERE t[1] ~ '^segment [0-9]+ · [0-9,]+ rows · churn [0-9]+%$')
           = (SELECT count(*) FROM segment_churn_rules('plot_bank_churn')) AS a_box_per_leaf,
       count(*) FILTER (WHERE t[1] LIKE 'leaf colour: churn rate%') AS churn_key
FROM plot_svgs, regexp_matches(svg, '<text[^>]*>([^<]*)</text>', 'g') t
WHERE model = 'plot_bank_churn' AND kind = 'tree';
-- The churn profile: a heatmap with a churn-rate row, one cell per segment.
SELECT (SELECT count(*) FROM regexp_matches(svg, '<title>segment [0-9]+: churn rate', 'g'))
           = (SELECT count(*) FROM segment_churn_rules('plot_bank_churn')) AS churn_rate_per_leaf,
       svg LIKE '%>churn rate<%' AS churn_row
FROM plot_svgs WHERE model = 'plot_bank_churn' AND kind = 'profile';
-- Scatters of tree models are on z-scored columns and say what the colours are.
SELECT model, substring(svg FROM 'principal component of ([a-z'' -]+) \(') AS space,
       substring(svg FROM '<text x="[0-9.]+" y="[0-9.]+" font-weight="bold">(colour: [^<]*)</text>') AS colours
FROM plot_svgs WHERE kind = 'scatter' ORDER BY model;
-- 14 segments: 12 colours, then squares for segments 12 and 13.
SELECT count(DISTINCT c[1]) AS colours,
       (SELECT count(*) FROM regexp_matches(svg, '<rect x="[0-9.]+" y="[0-9.]+" width="9.9" height="9.9"', 'g')) AS legend_squares
FROM plot_svgs, regexp_matches(svg, '<circle [^>]*fill="(#[0-9A-F]{6})"', 'g') c
WHERE model = 'pictures_k14' AND kind = 'scatter' GROUP BY svg;
-- The classifier tree: leaves coloured by the class they predict, with a key.
SELECT count(*) FILTER (WHERE t[1] ~ '^→ ') AS leaf_boxes,
       count(*) FILTER (WHERE t[1] = 'leaf colour: the class it predicts') AS class_key
FROM plot_svgs, regexp_matches(svg, '<text[^>]*>([^<]*)</text>', 'g') t
WHERE model = 'plot_persona' AND kind = 'tree';

-- What cannot be drawn.
SELECT segment_plot('pictures', 'pie');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('pictures', 'tree');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_plot('plot_persona_forest', 'tree');
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

SELECT segment_drop('pictures'), segment_drop('pictures_k3'), segment_drop('plot_churn'),
       segment_drop('pictures_k14'), segment_drop('plot_bank_churn'), segment_drop('plot_persona'),
       segment_drop('plot_persona_forest');
DROP TABLE plot_svgs;
DROP TABLE plot_accounts;
