-- One report page per model: segment_report(model, source, measures) returns one self-contained
-- HTML document (inline CSS and SVG, no script, nothing fetched). A browser renders it in the
-- stress tier (tests/stress/browser.sh); here its text is checked.
SET extra_float_digits = 0;
CREATE TABLE report_customers AS
SELECT customer_id, region, fresh, milk, grocery, frozen, detergents_paper, delicassen,
       fresh + milk + grocery + frozen + detergents_paper + delicassen AS revenue
FROM wholesale_customers;
SELECT model FROM segment_fit('report_customers',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 4, 'report_m',
    '{"seed": 1, "log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}');
SELECT segment_rename('report_m', 0, 'Cafés & <small> shops');

CREATE TEMP TABLE page AS
SELECT segment_report('report_m', 'report_customers', ARRAY['revenue']) AS html;
-- One document, with every segment's name (escaped) on a card, and what each is worth.
SELECT left(html, 15) AS starts, right(rtrim(html, E'\n'), 7) AS ends,
       html LIKE '%Cafés &amp; &lt;small&gt; shops%' AS escaped_name,
       (SELECT bool_and(strpos(html, '<h3>') > 0 AND strpos(html, replace(replace(replace(label, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')) > 0)
        FROM segment_labels('report_m')) AS every_name,
       (length(html) - length(replace(html, '<article class="card"', ''))) / length('<article class="card"') AS cards,
       (length(html) - length(replace(html, '<svg', ''))) / 4 >= 2 AS pictures,
       html LIKE '%of revenue%' AS worth,
       html LIKE '%the average%' AS traits
FROM page;
-- Nothing fetched, nothing run: no script, link, image, frame or CSS import.
SELECT html ~* '<script|<link|<img|<iframe|@import|url\(' AS fetches_or_runs FROM page;
-- Each card's share of revenue is segment_summary's.
SELECT count(*) AS shares_on_cards
FROM segment_summary('report_m', 'report_customers', ARRAY['revenue']) s, page
WHERE strpos(html, round(100 * s.share_of_total) || '% of revenue') > 0;
-- With a source, the drift since the fit; without, the training sizes and no drift.
SELECT html LIKE '%Since the fit%' AS drift FROM page;
SELECT segment_report('report_m') LIKE '%Since the fit%' AS drift_without_source;

-- A churn model's cards say each leaf's churn rate (here: which customers are retailers), as
-- segment_churn_rules gives it.
CREATE TABLE report_channels AS
SELECT customer_id, fresh, milk, grocery, frozen, detergents_paper, delicassen, channel = 2 AS retail
FROM wholesale_customers;
SELECT model FROM segment_churn_fit('report_channels',
    ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'], 'retail', 'report_churn',
    '{"max_depth": 2}');
SELECT count(*) AS leaves,
       count(*) FILTER (WHERE strpos((SELECT segment_report('report_churn')),
                                     'churn rate ' || CASE WHEN churn_rate > 0 AND 100 * churn_rate < 9.95
                                                           THEN to_char(100 * churn_rate, 'FM990.0')
                                                           ELSE round(100 * churn_rate)::text END || '%') > 0)
           AS rates_on_cards
FROM segment_churn_rules('report_churn');

-- Bad input.
\set VERBOSITY default
SELECT segment_report(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_report('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_report('report_m', measures => ARRAY['no_such_column']);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS models FROM segment_fit('report_customers', ARRAY['fresh', 'milk'], 2, 'report_groups', '{"group_by": "region"}');
SELECT segment_report('report_groups');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
SELECT segment_drop('report_groups');
SELECT segment_drop('report_m');
SELECT segment_drop('report_churn');
DROP TABLE report_customers, report_channels;
