-- The table was built from the model's current version: every row's stored segment equals what
-- segment_assign gives now (a refit after the build, by hand, would show here).
SELECT s.customer_id
FROM {{ ref('customer_segments') }} s
JOIN {{ ref('customer_features') }} f USING (customer_id)
WHERE s.segment IS DISTINCT FROM segment_assign({{ segment_model_literal() }}, f)
