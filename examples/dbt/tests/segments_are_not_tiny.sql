-- A segment holding under 2% of the customers is a sign the model needs a look (an outlier
-- cluster). Rows returned fail the test.
SELECT segment, count(*) AS customers
FROM {{ ref('customer_segments') }}
GROUP BY segment
HAVING count(*) < 0.02 * (SELECT count(*) FROM {{ ref('customer_segments') }})
