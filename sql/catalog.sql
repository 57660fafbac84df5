-- The model catalog: one row per fitted model version, and one row per model name saying who
-- may use it. Written only by the extension's functions, in the caller's transaction, so a
-- rollback or a failed fit leaves nothing.
--
-- Privileges (README, "Privileges"): a model belongs to the role that first fitted its name.
-- Row-level security lets the owner (and members of the owner role), and the roles it granted,
-- see a model's versions; nobody else can read, refit, rename or drop it. Names themselves are
-- public, like table names in pg_class, so a fit of someone else's name is refused clearly.
--
-- Roles are regrole, not oid: pg_dump writes them as role names, so owners and grants survive a
-- dump restored into another cluster where the same roles have other OIDs.
CREATE TABLE segment_model_access (
    name      text      PRIMARY KEY CHECK (name <> ''),
    owner     regrole   NOT NULL,                    -- the role that fitted it
    users     regrole[] NOT NULL DEFAULT '{}',       -- may read and assign; '-' (0) means PUBLIC
    managers  regrole[] NOT NULL DEFAULT '{}'        -- may also refit, rename, grant and drop
);

COMMENT ON TABLE segment_model_access IS
    'customer_segment model owners and grants, one row per model name (see segment_grant)';

CREATE TABLE segment_model (
    name           text        NOT NULL CHECK (name <> ''),
    version        integer     NOT NULL CHECK (version > 0),
    format_version integer     NOT NULL,          -- the model document's format (see README,
                                                  -- "Upgrading"); equals model->'format_version'
    source         text        NOT NULL,          -- the relation fitted on, as regclass text
    options        jsonb       NOT NULL,          -- the options as given (after defaults)
    model          jsonb       NOT NULL,          -- the serde document: features, preprocessing,
                                                  -- centres, profile, format_version
    metrics        jsonb       NOT NULL,          -- inertia, silhouette, iterations, ...
    labels         jsonb       NOT NULL DEFAULT '{}'  -- segment_rename: {"segment": "label"}
                   CHECK (jsonb_typeof(labels) = 'object'),
    rows_used      bigint      NOT NULL,
    rows_skipped   bigint      NOT NULL,
    fitted_by      name        NOT NULL DEFAULT current_user,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version),
    FOREIGN KEY (name) REFERENCES segment_model_access (name)
);

COMMENT ON TABLE segment_model IS
    'customer_segment models, one row per version; the newest version of a name is the one used';

-- Whether the current role may use (manage = false) or manage (manage = true) a model: it is the
-- owner or a member of it, or was granted. Roles dropped since are skipped, not errors. SET
-- search_path keeps a caller's objects out of the policy.
CREATE FUNCTION segment_model_allowed(model text, manage boolean) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT 1 FROM @extschema@.segment_model_access a
        WHERE a.name = model
          AND ((NOT manage AND 0::oid = ANY (a.users::oid[]))
               OR EXISTS (SELECT 1 FROM pg_roles r
                          WHERE r.oid = ANY ((ARRAY[a.owner] || a.managers
                                              || CASE WHEN manage THEN '{}'::regrole[] ELSE a.users END)::oid[])
                            AND pg_has_role(r.oid, 'USAGE'))))
$$;

COMMENT ON FUNCTION segment_model_allowed(text, boolean) IS
    'Internal: whether the current role may use (manage false) or manage (manage true) a model, called by the row-level security policies of segment_model and segment_model_access; not for direct use';

ALTER TABLE segment_model_access ENABLE ROW LEVEL SECURITY;
CREATE POLICY names_are_public ON segment_model_access FOR SELECT USING (true);
CREATE POLICY owner_is_self ON segment_model_access FOR INSERT
    WITH CHECK (owner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user));
CREATE POLICY managers_grant ON segment_model_access FOR UPDATE
    USING (@extschema@.segment_model_allowed(name, true));
CREATE POLICY managers_drop ON segment_model_access FOR DELETE
    USING (@extschema@.segment_model_allowed(name, true));

ALTER TABLE segment_model ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON segment_model FOR SELECT
    USING (@extschema@.segment_model_allowed(name, false));
CREATE POLICY managers_fit ON segment_model FOR INSERT
    WITH CHECK (@extschema@.segment_model_allowed(name, true));
CREATE POLICY managers_rename ON segment_model FOR UPDATE
    USING (@extschema@.segment_model_allowed(name, true));
CREATE POLICY managers_drop ON segment_model FOR DELETE
    USING (@extschema@.segment_model_allowed(name, true));

-- pg_dump keeps the models (the tables belong to the extension).
SELECT pg_catalog.pg_extension_config_dump('segment_model_access', '');
SELECT pg_catalog.pg_extension_config_dump('segment_model', '');

-- security_invoker: the view shows a role only the models it may use (row-level security of the
-- caller, not of the view's owner).
CREATE VIEW segment_models WITH (security_invoker = true) AS
SELECT m.name,
       m.version,
       m.model->>'method'                                        AS method,
       jsonb_array_length(m.model->'centres')                    AS k,
       ARRAY(SELECT jsonb_array_elements_text(m.model->'features')) AS features,
       jsonb_build_object('impute', m.model->'imputer', 'scale', m.model->'scaler') AS preprocessing,
       m.format_version,
       m.source,
       m.options,
       m.metrics,
       m.labels,
       m.rows_used,
       m.rows_skipped,
       pg_catalog.pg_get_userbyid(a.owner)                       AS owner,
       m.fitted_by,
       m.created_at,
       m.version = max(m.version) OVER (PARTITION BY m.name)     AS is_current
FROM segment_model m
JOIN segment_model_access a ON a.name = m.name;

COMMENT ON VIEW segment_models IS
    'customer_segment models the current role may use: every version, is_current marks the one segment_assign uses';

-- Analysts fit and drop models without being superusers; the policies above decide which rows.
-- The owner column is not granted for update: changing an owner is a superuser's act.
--
-- Why PUBLIC may write these tables directly, and not only through the functions: the
-- functions run as their caller (none is SECURITY DEFINER: a definer function would read the
-- caller's source tables with its owner's rights), so the caller's own privileges write the
-- rows. A role can therefore write any text into the rows of the names it owns — as it can
-- with segment_import, which takes any document. So nothing read back from these tables is
-- trusted: every reader parses and checks each field and refuses what a fit would not have
-- written (55000), relations are looked up through the catalog and never pasted as SQL, and
-- one role's relation is read for another only when that cannot run the first role's code
-- (docs/privileges.md, "Threat model"; tests/pg_regress/sql/planted.sql).
GRANT SELECT, INSERT, DELETE ON segment_model_access, segment_model TO PUBLIC;
GRANT UPDATE (users, managers) ON segment_model_access TO PUBLIC;
GRANT UPDATE (labels, metrics) ON segment_model TO PUBLIC;
GRANT SELECT ON segment_models TO PUBLIC;
