-- Every customer with the segment and label of the current version of the model. The pre-hook
-- fits (or refits) the model first, by the project's refit policy, in this model's transaction:
-- if the table fails to build, the new version is rolled back with it.
{{ config(
    materialized='table',
    pre_hook="{{ fit_segments(ref('customer_features')) }}"
) }}

SELECT f.customer_id,
       s.segment,
       l.label AS segment_label
FROM {{ ref('customer_features') }} f
CROSS JOIN LATERAL (SELECT segment_assign({{ segment_model_literal() }}, f) AS segment) s
LEFT JOIN segment_labels({{ segment_model_literal() }}) l ON l.segment = s.segment
