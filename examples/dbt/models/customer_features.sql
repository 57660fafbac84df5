-- The features the segmentation reads: log spend per product family (spend is heavily skewed).
{{ config(materialized='view') }}

SELECT customer_id, channel, region,
       ln(1 + fresh) AS fresh, ln(1 + milk) AS milk, ln(1 + grocery) AS grocery,
       ln(1 + frozen) AS frozen, ln(1 + detergents_paper) AS detergents_paper,
       ln(1 + delicassen) AS delicassen
FROM {{ source('raw', 'wholesale_customers') }}
