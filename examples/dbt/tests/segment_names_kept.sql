-- A refit carries the names set with segment_rename over to the segments that have a counterpart;
-- a name whose segment has none is dropped (metrics->'labels_dropped' of the new version). A
-- warning, not a failure: name the new segment again with segment_rename.
{{ config(severity='warn') }}
-- depends_on: {{ ref('customer_segments') }}   (run after the build that may refit)

SELECT name, version, metrics -> 'labels_dropped' AS dropped_names
FROM segment_models
WHERE is_current AND name = {{ segment_model_literal() }}
  AND metrics -> 'labels_dropped' <> '{}'::jsonb
