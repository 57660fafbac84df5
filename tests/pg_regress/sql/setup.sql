-- Shared by every test file: the extension and the bundled wholesale customers.
CREATE EXTENSION customer_segment;

CREATE TABLE wholesale_customers (
    customer_id      serial PRIMARY KEY,
    channel          int,
    region           int,
    fresh            numeric, milk numeric, grocery numeric, frozen numeric,
    detergents_paper numeric, delicassen numeric
);
\getenv abs_srcdir PG_ABS_SRCDIR
\set wholesale_csv :abs_srcdir '/data/wholesale_customers.csv'
COPY wholesale_customers (channel, region, fresh, milk, grocery, frozen, detergents_paper, delicassen)
    FROM :'wholesale_csv' CSV HEADER;

-- Log spend: the usual transform for this skewed data.
CREATE VIEW customer_features AS
SELECT customer_id, channel, region,
       ln(1 + fresh) AS fresh, ln(1 + milk) AS milk, ln(1 + grocery) AS grocery,
       ln(1 + frozen) AS frozen, ln(1 + detergents_paper) AS detergents_paper,
       ln(1 + delicassen) AS delicassen
FROM wholesale_customers;

SELECT count(*) AS customers FROM wholesale_customers;
