-- The model catalog: one row per fitted model version. Written only by segment_fit (in the
-- caller's transaction, so a rollback or a failed fit leaves nothing), segment_rename (labels
-- only) and segment_drop.
CREATE TABLE segment_model (
    name          text        NOT NULL CHECK (name <> ''),
    version       integer     NOT NULL CHECK (version > 0),
    source        text        NOT NULL,          -- the relation fitted on, as regclass text
    options       jsonb       NOT NULL,          -- the options as given (after defaults)
    model         jsonb       NOT NULL,          -- the serde document: features, preprocessing,
                                                 -- centres, profile, format_version
    metrics       jsonb       NOT NULL,          -- inertia, silhouette, iterations, ...
    labels        jsonb       NOT NULL DEFAULT '{}'  -- segment_rename: {"segment": "label"}
                  CHECK (jsonb_typeof(labels) = 'object'),
    rows_used     bigint      NOT NULL,
    rows_skipped  bigint      NOT NULL,
    owner         name        NOT NULL DEFAULT current_user,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

COMMENT ON TABLE segment_model IS
    'customer_segment models, one row per version; the newest version of a name is the one used';

-- pg_dump keeps the models (the table belongs to the extension).
SELECT pg_catalog.pg_extension_config_dump('segment_model', '');

CREATE VIEW segment_models AS
SELECT m.name,
       m.version,
       m.model->>'method'                                        AS method,
       jsonb_array_length(m.model->'centres')                    AS k,
       ARRAY(SELECT jsonb_array_elements_text(m.model->'features')) AS features,
       jsonb_build_object('impute', m.model->'imputer', 'scale', m.model->'scaler') AS preprocessing,
       (m.model->>'format_version')::int                         AS format_version,
       m.source,
       m.options,
       m.metrics,
       m.labels,
       m.rows_used,
       m.rows_skipped,
       m.owner,
       m.created_at,
       m.version = max(m.version) OVER (PARTITION BY m.name)     AS is_current
FROM segment_model m;

COMMENT ON VIEW segment_models IS
    'customer_segment models: every version, is_current marks the one segment_assign uses';

-- Analysts fit and drop models without being superusers. Ownership rules between roles come
-- with the privileges work (see README, "Privileges").
GRANT SELECT, INSERT, DELETE ON segment_model TO PUBLIC;
GRANT UPDATE (labels) ON segment_model TO PUBLIC;
GRANT SELECT ON segment_models TO PUBLIC;
