-- The demo: 440 real wholesale customers (UCI, CC BY 4.0; tests/data/wholesale_customers),
-- segmented on their annual spend per product family. Run by scripts/demo.sh. Its model and view
-- are named wholesale_demo and wholesale_demo_segments, so that the README's Getting started runs
-- in the demo database as written (the getting_started test runs it after this file).
\set ON_ERROR_STOP 1
\pset footer off
CREATE EXTENSION customer_segment;

CREATE TABLE wholesale_customers (
    customer_id      serial PRIMARY KEY,
    channel          int,      -- 1 = hotel/restaurant/cafe, 2 = retail
    region           int,      -- 1 = Lisbon, 2 = Oporto, 3 = other
    fresh            numeric, milk numeric, grocery numeric, frozen numeric,
    detergents_paper numeric, delicassen numeric
);
\copy wholesale_customers (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen) FROM 'wholesale_customers.csv' CSV HEADER

-- Spend is heavily skewed: cluster on log spend (a view keeps the table as it is).
CREATE VIEW customer_features AS
SELECT customer_id, channel, region,
       ln(1 + fresh) AS fresh, ln(1 + milk) AS milk, ln(1 + grocery) AS grocery,
       ln(1 + frozen) AS frozen, ln(1 + detergents_paper) AS detergents_paper,
       ln(1 + delicassen) AS delicassen
FROM wholesale_customers;

\echo
\echo '== segment_fit: 4 segments on log spend (z-scored, k-means++, 10 starts)'
SELECT * FROM segment_fit('customer_features',
        ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
        k => 4, name => 'wholesale_demo');

\echo '== segment_profile: label, size, share, and how far each segment sits from the average (in standard deviations)'
SELECT segment, label, size, round(share::numeric, 3) AS share,
       string_agg(format('%s %s%s', feature, CASE WHEN difference_sd >= 0 THEN '+' ELSE '' END,
                         round(difference_sd::numeric, 2)), ', ' ORDER BY feature) AS difference_sd
FROM segment_profile('wholesale_demo')
GROUP BY segment, label, size, share
ORDER BY segment;

\echo '== which features separate the segments most (ANOVA F across segments)'
SELECT DISTINCT feature, round(anova_f::numeric, 1) AS anova_f
FROM segment_profile('wholesale_demo') ORDER BY anova_f DESC;

\echo '== segment vs the known channel (1 = hotel/restaurant/cafe, 2 = retail)'
SELECT segment_assign('wholesale_demo', f) AS segment,
       count(*) FILTER (WHERE channel = 1) AS horeca,
       count(*) FILTER (WHERE channel = 2) AS retail
FROM customer_features f
GROUP BY 1 ORDER BY 1;

\echo '== a few customers with their segment and its name (a BI tool would select from such a view)'
CREATE VIEW wholesale_demo_segments AS
SELECT c.customer_id, c.channel, c.region, s.segment, l.label
FROM wholesale_customers c JOIN customer_features f USING (customer_id)
CROSS JOIN LATERAL (SELECT segment_assign('wholesale_demo', f) AS segment) s
LEFT JOIN (SELECT DISTINCT segment, label FROM segment_profile('wholesale_demo')) l USING (segment);
SELECT * FROM wholesale_demo_segments ORDER BY customer_id LIMIT 8;
