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
SELECT left(html, 15) AS starts, right(html, 8) AS ends,
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

-- A churn model's cards say each leaf's churn rate.
SELECT count(*) > 0 AS churn_rates
FROM regexp_matches((SELECT segment_report(name) FROM segment_models WHERE method = 'churn_tree' AND is_current LIMIT 1),
                    'churn rate [0-9.]+%', 'g');

-- Bad input.
\set VERBOSITY default
SELECT segment_report(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_report('no_such_model');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_report('report_m', measures => ARRAY['no_such_column']);
\echo :LAST_ERROR_SQLSTATE
SELECT model FROM segment_fit('report_customers', ARRAY['fresh', 'milk'], 2, 'report_groups', '{"group_by": "region"}') LIMIT 0;
SELECT segment_report('report_groups');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
SELECT segment_drop('report_groups');
SELECT segment_drop('report_m');
DROP TABLE report_customers;
