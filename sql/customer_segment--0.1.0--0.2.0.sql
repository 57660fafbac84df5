\echo Use "ALTER EXTENSION customer_segment UPDATE TO '0.2.0'" to load this file. \quit

-- customer_segment 0.1.0 -> 0.2.0 (ALTER EXTENSION customer_segment UPDATE).
--
-- Every change to the extension's SQL from 0.1.0 on adds its statements here (ALTER TABLE on the
-- catalog, CREATE OR REPLACE FUNCTION, ALTER FUNCTION, COMMENT ON, new objects), so that a
-- database created at 0.1.0 ends up with what CREATE EXTENSION gives at 0.2.0; the upgrade tier
-- (tests/upgrade/run.sh) replays the path from sql/released/ and diffs a pg_dump --schema-only of
-- the updated database against a fresh install's (signatures, volatility, comments, policies,
-- grants, views: any difference fails).
--
-- Per-group models are stored as ordinary rows (an index document plus one model per group); the
-- catalog's owners and grants become regrole (below).

-- Per-group models (segment_fit's group_by option): list a per-group model's groups.
CREATE FUNCTION "segment_groups"(
	"model" TEXT
) RETURNS TABLE (
	"group_value" TEXT,
	"rows_used" bigint,
	"model" TEXT,
	"version" INT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_groups_wrapper';

-- ... and the labels of its segments per group (segment_create_view joins them).
CREATE FUNCTION "segment_group_labels"(
	"model" TEXT
) RETURNS TABLE (
	"group_value" TEXT,
	"segment" INT,
	"label" TEXT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_group_labels_wrapper';

-- Pictures (added after 0.1.0 was cut; found missing by the upgrade test's comparison).
CREATE FUNCTION "segment_plot"(
	"model" TEXT,
	"kind" TEXT DEFAULT 'scatter',
	"source" regclass DEFAULT NULL
) RETURNS TEXT
STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_plot_wrapper';

-- segment_create_view takes the roles to share the view with (grant_to): a new signature, so the
-- old function goes (nothing in the extension depends on it).
DROP FUNCTION segment_create_view(text, regclass, text);
CREATE FUNCTION "segment_create_view"(
	"model" TEXT,
	"source" regclass,
	"view_name" TEXT,
	"grant_to" TEXT[] DEFAULT NULL
) RETURNS TEXT
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_create_view_wrapper';

-- segment_drop refuses while a view of segment_create_view reads the model, unless cascade.
DROP FUNCTION segment_drop(text);
CREATE FUNCTION "segment_drop"(
	"model" TEXT,
	"cascade" bool DEFAULT false
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_drop_wrapper';

-- segment_churn_fit's row says how many rows it skipped (rows_skipped, after rows_test): a new
-- result type, so the old function goes and comes back with its comment.
DROP FUNCTION segment_churn_fit(regclass, text[], text, text, jsonb);
CREATE FUNCTION "segment_churn_fit"(
	"source" regclass,
	"features" TEXT[],
	"label" TEXT,
	"name" TEXT DEFAULT NULL,
	"options" jsonb DEFAULT '{}'
) RETURNS TABLE (
	"model" TEXT,
	"version" INT,
	"leaves" INT,
	"depth" INT,
	"rows_train" bigint,
	"rows_test" bigint,
	"rows_skipped" bigint,
	"accuracy" double precision,
	"precision" double precision,
	"recall" double precision,
	"f1" double precision,
	"roc_auc" double precision,
	"true_positives" bigint,
	"false_positives" bigint,
	"true_negatives" bigint,
	"false_negatives" bigint
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_churn_fit_wrapper';

-- segment_rules gives each segment's label (a classifier's class): a new result type, so the
-- old function goes and comes back (its comment is below). A view over it must be dropped before
-- the update and created again after it.
DROP FUNCTION segment_rules(text, integer, regclass);
CREATE FUNCTION "segment_rules"(
	"model" TEXT,
	"max_depth" INT DEFAULT 3,
	"source" regclass DEFAULT NULL
) RETURNS TABLE (
	"segment" INT,
	"label" TEXT,
	"rule" TEXT,
	"rows" bigint,
	"captured" double precision,
	"precision" double precision,
	"fidelity" double precision
)
STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_rules_wrapper';

-- Owners and grants are regrole, not oid: pg_dump writes role names, so they survive a dump
-- restored into another cluster where the roles have other OIDs. A column that a policy or a
-- view uses cannot change type: owner_is_self and segment_models go and come back unchanged.
DROP VIEW segment_models;
DROP POLICY owner_is_self ON segment_model_access;
ALTER TABLE segment_model_access
    ALTER COLUMN owner TYPE regrole USING owner::regrole,
    ALTER COLUMN users DROP DEFAULT,
    ALTER COLUMN users TYPE regrole[] USING users::regrole[],
    ALTER COLUMN users SET DEFAULT '{}',
    ALTER COLUMN managers DROP DEFAULT,
    ALTER COLUMN managers TYPE regrole[] USING managers::regrole[],
    ALTER COLUMN managers SET DEFAULT '{}';
CREATE POLICY owner_is_self ON segment_model_access FOR INSERT
    WITH CHECK (owner = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = current_user));
CREATE OR REPLACE FUNCTION segment_model_allowed(model text, manage boolean) RETURNS boolean
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
GRANT SELECT ON segment_models TO PUBLIC;

-- Read-only functions are STABLE: they read the catalog and a relation and write nothing (their
-- random choices are seeded by the model's options). PARALLEL UNSAFE as before.
ALTER FUNCTION segment_drift(text, regclass) STABLE;
ALTER FUNCTION segment_evaluate(text, regclass) STABLE;
ALTER FUNCTION segment_compare(text, integer, integer, regclass) STABLE;
ALTER FUNCTION segment_rules(text, integer, regclass) STABLE;
-- segment_choose_k gains a note on the recommended row when it is the edge of the range (a new
-- output column: dropped and created again), and is STABLE like the others.
DROP FUNCTION segment_choose_k(regclass, text[], integer, integer, jsonb);
CREATE FUNCTION "segment_choose_k"(
	"source" regclass, /* Option < PgRelation > */
	"features" TEXT[], /* :: std :: option :: Option < Vec < Option < String > > > */
	"k_min" INT DEFAULT 2, /* Option < i32 > */
	"k_max" INT DEFAULT 10, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"k" INT,  /* i32 */
	"inertia" double precision,  /* f64 */
	"silhouette" double precision,  /* Option < f64 > */
	"calinski_harabasz" double precision,  /* Option < f64 > */
	"davies_bouldin" double precision,  /* Option < f64 > */
	"recommended" bool,  /* bool */
	"silhouette_rows" bigint,  /* i64 */
	"note" TEXT  /* Option < String > */
)
STABLE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'segment_choose_k_wrapper';

-- Comments: every object has one (sql/catalog.sql, sql/comments.sql; the same statements here).
COMMENT ON FUNCTION segment_model_allowed(text, boolean) IS
    'Internal: whether the current role may use (manage false) or manage (manage true) a model, called by the row-level security policies of segment_model and segment_model_access; not for direct use';

-- Fitting
COMMENT ON FUNCTION segment_fit(regclass, text[], integer, text, jsonb) IS
    'clusters the feature columns of a relation into k segments (k NULL: chosen by a scan of k) and stores a new version of the model; returns one row of fit figures';
COMMENT ON FUNCTION segment_choose_k(regclass, text[], integer, integer, jsonb) IS
    'fits k-means for every k from k_min to k_max, stores nothing, and returns one row of scores per k with the recommended one marked (and a note when it is the edge of the range)';
COMMENT ON FUNCTION segment_refit(text, regclass) IS
    'fits a new version of a model with its features, options and number of segments on source (default: the relation it was fitted on); returns one row of fit figures';

-- Using a model
COMMENT ON FUNCTION segment_assign(text, double precision[]) IS
    'segment of a feature array (in the model''s feature order) under the current version of a model';
COMMENT ON FUNCTION segment_assign_columns(text, text[], "any") IS
    'Internal: called by segment_assign(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
COMMENT ON FUNCTION segment_assign_support(internal) IS
    'Internal: planner support function of the row functions (segment_assign, segment_churn_assign, segment_churn_predict, segment_assign_proba, segment_explain) and segment_label, called by the planner to pass a row''s columns instead of the row (segment_assign_columns), or the model (or its labels) shipped in the query (the *_shipped functions); not for direct use';

-- Inspecting a model
COMMENT ON FUNCTION segment_centroids(text) IS
    'centre of every segment of the current version, one row per segment and feature, in original units';
COMMENT ON FUNCTION segment_profile(text) IS
    'per segment and feature, on the training rows: label, size, share, segment mean and median, overall mean, difference in standard deviations and the feature''s ANOVA F, both on the scale the model clusters on (log(1 + x) for a feature in the log option)';
COMMENT ON FUNCTION segment_label(text, integer) IS
    'name of a segment of the current version: the label set with segment_rename, else an automatic one from its most distinguishing features';
COMMENT ON FUNCTION segment_labels(text) IS
    'every segment of the current version with its label';
COMMENT ON FUNCTION segment_rename(text, integer, text) IS
    'sets the label of a segment of the current version (NULL restores the automatic one) and returns the label in force';
COMMENT ON FUNCTION segment_evaluate(text, regclass) IS
    'scores the current version on source (default: the relation it was fitted on): one row of rows used, skipped and noise, inertia, silhouette, Calinski-Harabasz and Davies-Bouldin';
COMMENT ON FUNCTION segment_compare(text, integer, integer, regclass) IS
    'how the rows of source (default: the relation version_b was fitted on) move between the segments of two versions: one row per pair of segments, with the adjusted Rand index';
COMMENT ON FUNCTION segment_rules(text, integer, regclass) IS
    'segments of a clustering model or classifier, with their labels, as SQL boolean rules from a shallow decision tree fitted on source (default: the relation it was fitted on), with each rule''s precision and capture';
COMMENT ON FUNCTION segment_plot(text, text, regclass) IS
    'picture of the current version as an SVG document: kind scatter (rows of source), elbow, profile or tree';

-- Monitoring
COMMENT ON FUNCTION segment_drift(text, regclass) IS
    'per segment: its share of the training rows and of the rows of source now (default: the relation it was fitted on), the population stability index, feature mean shifts and advice';

-- Managing models
COMMENT ON FUNCTION segment_drop(text, boolean) IS
    'drops every version of a model and its name (of a per-group model, its group models too); refuses while a view made by segment_create_view reads it, unless cascade, which drops those views; returns how many versions were dropped';
COMMENT ON FUNCTION segment_grant(text, text, text) IS
    'lets a role (or public) use a model, or with privilege manage also refit, rename, grant and drop it';
COMMENT ON FUNCTION segment_revoke(text, text, text) IS
    'takes back a grant of segment_grant; revoking use also revokes manage';
COMMENT ON FUNCTION segment_create_view(text, regclass, text, text[]) IS
    'creates or replaces a plain view of source''s key columns with each row''s segment and label, for BI tools, and grants use of the model and SELECT on the view to the roles in grant_to; returns its qualified name';

-- Per-group models
COMMENT ON FUNCTION segment_groups(text) IS
    'groups of a per-group model: each value of the grouping column, its usable rows at fit time, and the model (name and version) its rows are assigned with';
COMMENT ON FUNCTION segment_group_labels(text) IS
    'segments of a per-group model with their labels, per group';

-- Exchange
COMMENT ON FUNCTION segment_export(text) IS
    'current version of a model as one jsonb document for segment_import';
COMMENT ON FUNCTION segment_import_text(text, text) IS
    'Internal: called by segment_import with the document as text; not for direct use';

-- Churn
COMMENT ON FUNCTION segment_churn_fit(regclass, text[], text, text, jsonb) IS
    'trains a decision tree on a labelled history whose leaves are churn-risk segments, stores it as a model, and returns one row of test figures';
COMMENT ON FUNCTION segment_churn_rules(text) IS
    'per leaf of a churn model: its rule as a SQL boolean expression, its rows, training churn rate and lift';
COMMENT ON FUNCTION segment_churn_importance(text) IS
    'each feature''s share of a churn tree''s total impurity decrease, largest first';
COMMENT ON FUNCTION segment_churn_tree(text) IS
    'a churn model''s tree as indented text, one node per line';

-- RFM and customer lifetime value
COMMENT ON FUNCTION segment_rfm_queries(regclass, text, text, text, integer, jsonb) IS
    'Internal: called by segment_rfm for the query it runs (an array of one), built from catalog-checked identifiers; not for direct use';
COMMENT ON FUNCTION segment_clv_fit(regclass, text, text, text, timestamp with time zone, text, jsonb) IS
    'fits BG/NBD and Gamma-Gamma on the transactions up to calibration_end, stores them as a model, and returns one row of fitted parameters';
COMMENT ON FUNCTION segment_clv(text, double precision, double precision) IS
    'per customer of a CLV model: probability of being alive, expected purchases and spend, and the lifetime value over the horizon';

-- segment_clv_fit's result gains the column warning (a fit at the boundary: dropout not
-- identified, parameters that ran off): a new result type, so the function is made again.
DROP FUNCTION segment_clv_fit(regclass, text, text, text, timestamp with time zone, text, jsonb);
CREATE FUNCTION "segment_clv_fit"(
	"transactions" regclass,
	"customer_column" TEXT,
	"time_column" TEXT,
	"amount_column" TEXT,
	"calibration_end" timestamp with time zone,
	"name" TEXT DEFAULT NULL,
	"options" jsonb DEFAULT '{}'
) RETURNS TABLE (
	"model" TEXT,
	"version" INT,
	"customers" bigint,
	"repeat_customers" bigint,
	"r" double precision,
	"alpha" double precision,
	"a" double precision,
	"b" double precision,
	"bgnbd_log_likelihood" double precision,
	"p" double precision,
	"q" double precision,
	"gamma" double precision,
	"gamma_gamma_log_likelihood" double precision,
	"converged" bool,
	"warning" TEXT
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_clv_fit_wrapper';
COMMENT ON FUNCTION segment_clv_fit(regclass, text, text, text, timestamp with time zone, text, jsonb) IS
    'fits BG/NBD and Gamma-Gamma on the transactions up to calibration_end, stores them as a model, and returns one row of fitted parameters, with a warning when the fit is at the boundary (dropout not identified, parameters that ran off)';


-- Types
COMMENT ON TYPE segment_explanation IS
    'result of segment_explain: a row''s segment and distance, the runner-up segment and distance, and the margin between them';

-- Scale-out: segment_kmeans_step's state is a bytea (was internal), which Citus can send between
-- nodes to run partial steps on the shards; engine aggregate applies the model's preprocessing in
-- Rust (the three-argument form). A step is computed within one statement, so no state survives
-- the update.
DROP AGGREGATE segment_kmeans_step(float8[], float8[]);
DROP FUNCTION segment_kmeans_step_add(internal, float8[], float8[]);
DROP FUNCTION segment_kmeans_step_combine(internal, internal);
DROP FUNCTION segment_kmeans_step_serialize(internal);
DROP FUNCTION segment_kmeans_step_deserialize(bytea, internal);
DROP FUNCTION segment_kmeans_step_result(internal);
CREATE FUNCTION segment_kmeans_step_add(bytea, float8[], float8[]) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_wrapper';
CREATE FUNCTION segment_kmeans_step_add_raw(bytea, float8[], float8[], float8[]) RETURNS bytea
    IMMUTABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_add_raw_wrapper';
CREATE FUNCTION segment_kmeans_step_combine(bytea, bytea) RETURNS bytea
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_combine_wrapper';
CREATE FUNCTION segment_kmeans_step_result(bytea) RETURNS jsonb
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_kmeans_step_result_wrapper';
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[]) (
    SFUNC = segment_kmeans_step_add,
    STYPE = bytea,
    COMBINEFUNC = segment_kmeans_step_combine,
    FINALFUNC = segment_kmeans_step_result,
    PARALLEL = SAFE
);
CREATE AGGREGATE segment_kmeans_step(features float8[], centres float8[], preprocessing float8[]) (
    SFUNC = segment_kmeans_step_add_raw,
    STYPE = bytea,
    COMBINEFUNC = segment_kmeans_step_combine,
    FINALFUNC = segment_kmeans_step_result,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE segment_kmeans_step(float8[], float8[], float8[]) IS
    'one k-means (Lloyd) step over raw feature arrays put through a model''s preprocessing (log, imputation, scaling; the array a fit with engine aggregate builds): what such fits run once per iteration';
COMMENT ON AGGREGATE segment_kmeans_step(float8[], float8[]) IS
    'one k-means (Lloyd) step: rows, inertia, counts and the next centres, from scaled feature arrays and the current centres (k x d values)';
COMMENT ON FUNCTION segment_kmeans_step_add(bytea, double precision[], double precision[]) IS
    'Internal: transition function of the aggregate segment_kmeans_step; not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_add_raw(bytea, double precision[], double precision[], double precision[]) IS
    'Internal: transition function of segment_kmeans_step(features, centres, preprocessing), called by the aggregate for each row; not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_combine(bytea, bytea) IS
    'Internal: combine function of the aggregate segment_kmeans_step (parallel plans, Citus shards); not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_result(bytea) IS
    'Internal: final function of the aggregate segment_kmeans_step; not for direct use';


-- Citus: segment_assign ships the model inside the query for rows scanned on other nodes
-- (customer_segment.ship_models).
CREATE FUNCTION segment_assign_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS integer STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_shipped(text, text[], "any") IS
    'Internal: segment_assign(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): segment_assign_columns with the model''s document in place of its name; not for direct use';
ALTER FUNCTION segment_explain(text, record) SUPPORT segment_assign_support;
ALTER FUNCTION segment_churn_predict(text, record) SUPPORT segment_assign_support;
ALTER FUNCTION segment_assign_proba(text, record) SUPPORT segment_assign_support;
CREATE FUNCTION segment_explain_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS segment_explanation STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_columns_wrapper';
COMMENT ON FUNCTION segment_explain_columns(text, text[], "any") IS
    'Internal: called by segment_explain(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_explain_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS segment_explanation STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_shipped_wrapper';
COMMENT ON FUNCTION segment_explain_shipped(text, text[], "any") IS
    'Internal: segment_explain(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
CREATE FUNCTION segment_churn_predict_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_churn_predict_shipped_wrapper';
COMMENT ON FUNCTION segment_churn_predict_shipped(text, text[], "any") IS
    'Internal: segment_churn_predict(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
CREATE FUNCTION segment_assign_proba_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_proba_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_proba_shipped(text, text[], "any") IS
    'Internal: segment_assign_proba(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
ALTER FUNCTION segment_label(text, integer) SUPPORT segment_assign_support;
CREATE FUNCTION segment_label_shipped(labels text, segment integer) RETURNS text
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_label_shipped_wrapper';
COMMENT ON FUNCTION segment_label_shipped(text, integer) IS
    'Internal: segment_label(model, segment) as planned with the labels shipped in the query (customer_segment.ship_models, Citus workers); not for direct use';
-- Every change of the catalog (also one written by hand) makes cached plans carrying a shipped
-- model plan again.
CREATE FUNCTION segment_catalog_changed() RETURNS trigger
    VOLATILE LANGUAGE c AS 'MODULE_PATHNAME', 'segment_catalog_changed_wrapper';
COMMENT ON FUNCTION segment_catalog_changed() IS
    'Internal: trigger of the model catalog, makes cached plans that carry a shipped model plan again after any change; not for direct use';
CREATE TRIGGER segment_model_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segment_model
    FOR EACH STATEMENT EXECUTE FUNCTION segment_catalog_changed();
CREATE TRIGGER segment_model_access_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON segment_model_access
    FOR EACH STATEMENT EXECUTE FUNCTION segment_catalog_changed();

-- Classifiers into known segments (segment_classify_fit and what reads its models).
CREATE FUNCTION "segment_classify_fit"(
	"source" regclass,
	"features" TEXT[],
	"label" TEXT,
	"name" TEXT DEFAULT NULL,
	"options" jsonb DEFAULT '{}'
) RETURNS TABLE (
	"model" TEXT, 
	"version" INT, 
	"method" TEXT, 
	"classes" INT, 
	"rows_train" bigint, 
	"rows_test" bigint, 
	"rows_skipped" bigint, 
	"accuracy" double precision, 
	"macro_f1" double precision 
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_classify_fit_wrapper';

CREATE FUNCTION "segment_classify_classes"(
	"model" TEXT
) RETURNS TEXT[]
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_classify_classes_wrapper';

CREATE FUNCTION "segment_classify_report"(
	"model" TEXT
) RETURNS TABLE (
	"class" TEXT, 
	"precision" double precision, 
	"recall" double precision, 
	"f1" double precision, 
	"support" bigint 
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_classify_report_wrapper';

CREATE FUNCTION "segment_classify_rules"(
	"model" TEXT
) RETURNS TABLE (
	"leaf" INT, 
	"class" TEXT, 
	"rule" TEXT, 
	"rows" bigint, 
	"training_rows" bigint, 
	"probability" double precision 
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_classify_rules_wrapper';

CREATE FUNCTION "segment_classify_importance"(
	"model" TEXT
) RETURNS TABLE (
	"feature" TEXT, 
	"importance" double precision 
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_classify_importance_wrapper';

CREATE FUNCTION segment_classify(model text, "row" record) RETURNS text
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_classify(text, record) IS
    'classifiers: the row''s class, the label value of its most probable class';
CREATE FUNCTION segment_classify_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS text STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_columns_wrapper';
COMMENT ON FUNCTION segment_classify_columns(text, text[], "any") IS
    'Internal: called by segment_classify(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_classify_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS text STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_shipped_wrapper';
COMMENT ON FUNCTION segment_classify_shipped(text, text[], "any") IS
    'Internal: segment_classify(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
CREATE FUNCTION segment_classify_proba(model text, "row" record) RETURNS double precision[]
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_classify_proba(text, record) IS
    'classifiers: the probability of each class, in the order of segment_classify_classes(model)';
CREATE FUNCTION segment_classify_proba_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_columns_wrapper';
COMMENT ON FUNCTION segment_classify_proba_columns(text, text[], "any") IS
    'Internal: called by segment_classify_proba(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_classify_proba_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_classify_proba_shipped_wrapper';
COMMENT ON FUNCTION segment_classify_proba_shipped(text, text[], "any") IS
    'Internal: segment_classify_proba(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
COMMENT ON FUNCTION segment_classify_fit(regclass, text[], text, text, jsonb) IS
    'trains a classifier (a decision tree, or a random forest) on labelled rows whose classes are its segments, stores it as a model, and returns one row of held-out figures';
COMMENT ON FUNCTION segment_classify_classes(text) IS
    'a classifier''s classes in the order of its segment ids and of segment_classify_proba';
COMMENT ON FUNCTION segment_classify_report(text) IS
    'per class of a classifier: held-out precision, recall, F1 and rows';
COMMENT ON FUNCTION segment_classify_rules(text) IS
    'per leaf of a tree classifier: the class it predicts, its rule as a SQL boolean expression, its rows and the class share';
COMMENT ON FUNCTION segment_classify_importance(text) IS
    'each feature''s share of a classifier''s impurity decrease (a forest: the mean over its trees), largest first';

-- CLV models store calibration_end as an ISO 8601 UTC instant and the fit's TimeZone, so that a
-- session's DateStyle or a restore elsewhere cannot change what they read. 0.1.0 stored the
-- fitting session's text (its DateStyle, its zone abbreviation): such rows are rewritten here,
-- read in the DateStyle and TimeZone of the session that runs ALTER EXTENSION ... UPDATE, which
-- should therefore be those the models were fitted under (docs/operations.md, "Upgrading").
UPDATE segment_model
SET model = model || jsonb_build_object(
        'calibration_end', to_char((model->>'calibration_end')::timestamptz AT TIME ZONE 'UTC',
                                   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'time_zone', current_setting('TimeZone'))
WHERE model->>'method' = 'clv' AND NOT model ? 'time_zone';

-- segment_prune: deletes a model's old versions (never the current one).
CREATE FUNCTION "segment_prune"(
	"model" TEXT,
	"keep" INT DEFAULT 2
) RETURNS bigint
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_prune_wrapper';
COMMENT ON FUNCTION segment_prune(text, integer) IS
    'deletes the versions of a model older than its keep newest (default 2), never the current one nor a group model''s version its per-group model still uses (of a per-group model, its group models too); returns how many versions were deleted';

-- segment_summary: what each segment is worth (sizes, and the measures' means, totals and shares).
CREATE FUNCTION "segment_summary"(
	"model" TEXT,
	"source" regclass DEFAULT NULL,
	"measures" TEXT[] DEFAULT NULL
) RETURNS TABLE (
	"group_value" TEXT,
	"segment" INT,
	"label" TEXT,
	"customers" bigint,
	"share" double precision,
	"measure" TEXT,
	"mean" double precision,
	"total" double precision,
	"share_of_total" double precision,
	"nulls" bigint
)
STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_summary_wrapper';
COMMENT ON FUNCTION segment_summary(text, regclass, text[]) IS
    'what each segment is worth: per segment of the current version (per group and segment of a per-group model) its rows and share of the rows of source (default: the relation it was fitted on), and per measure column its mean, total, share of the total and NULL count';

-- segment_report: one HTML page per model.
CREATE FUNCTION "segment_report"(
	"model" TEXT,
	"source" regclass DEFAULT NULL,
	"measures" TEXT[] DEFAULT NULL
) RETURNS TEXT
STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_report_wrapper';
COMMENT ON FUNCTION segment_report(text, regclass, text[]) IS
    'one self-contained HTML page about the current version: a card per segment (name, size and share, what it is worth by the measures, what sets it apart, churn rate or class), the sizes, the pictures, how it was made and, with a source, the drift since the fit';

-- The extension's description (\dx): CREATE EXTENSION takes it from the control file, an update
-- does not, so a database updated from 0.1.0 would keep 0.1.0's.
COMMENT ON EXTENSION customer_segment IS
    'Customer segmentation in SQL: clustering (k-means, mixtures, Ward, DBSCAN, k-prototypes), classifiers, churn trees, RFM and lifetime value, with profiles, labels and assignment in any query';

-- segment_rfm reads the transactions once: its query also counts what it leaves out, and
-- segment_rfm_left_out raises the NOTICE that a second query's count raised before.
CREATE FUNCTION "segment_rfm_left_out"(
	"incomplete" bigint,
	"late" bigint
) RETURNS bool
STRICT VOLATILE PARALLEL RESTRICTED
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_rfm_left_out_wrapper';
COMMENT ON FUNCTION segment_rfm_left_out(bigint, bigint) IS
    'Internal: called once by segment_rfm''s query for its NOTICE of the transactions it left out; not for direct use';
CREATE OR REPLACE FUNCTION segment_rfm(
    transactions regclass, customer_column text, time_column text, amount_column text,
    as_of timestamptz DEFAULT now(), bins int DEFAULT 5, options jsonb DEFAULT '{}')
RETURNS TABLE(customer text, recency_days int, frequency bigint, monetary_total float8,
              monetary_average float8, tenure_days int, first_purchase date, last_purchase date,
              r_score int, f_score int, m_score int, rfm_segment text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $body$
DECLARE
    -- One query: its rows, after the NOTICE of what it left out (segment_rfm_left_out), from one
    -- scan of the transactions.
    queries text[];
BEGIN
    IF as_of IS NULL THEN
        RAISE EXCEPTION 'argument as_of must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    queries := @extschema@.segment_rfm_queries(transactions, customer_column, time_column,
                                               amount_column, bins, options);
    RETURN QUERY EXECUTE queries[1] USING as_of;
END
$body$;

-- segment_drivers: what drove a change (the slices whose metric moved between control and test).
CREATE FUNCTION "segment_drivers"(
	"source" regclass,
	"metric" TEXT,
	"test_column" TEXT,
	"dimensions" TEXT[],
	"options" jsonb DEFAULT '{}'
) RETURNS TABLE (
	"drivers" TEXT[],
	"metric_test" double precision,
	"metric_control" double precision,
	"difference" double precision,
	"relative_difference" double precision,
	"contribution" double precision,
	"unexpected_difference" double precision,
	"support" double precision,
	"rows_test" bigint,
	"rows_control" bigint,
	"p_value" double precision
)
STABLE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'segment_drivers_wrapper';
COMMENT ON FUNCTION segment_drivers(regclass, text, text, text[], jsonb) IS
    'what drove a change: per slice of source (combinations of up to max_depth dimension values, the whole population first) the metric in the test rows (test_column true) and the control rows (false), the difference, relative difference, share of the population''s change, difference beyond what the population''s change predicts, share of the rows, rows per group and the p-value of the difference; redundant slices pruned, the largest unexpected difference (or contribution) first';

-- Monitoring and adapting: incremental updates and anomalies (warm_start and contamination are
-- options of segment_fit, which needs no change here).
CREATE  FUNCTION "segment_update"(
	"model" TEXT, /* Option < & str > */
	"source" regclass, /* Option < PgRelation > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"model" TEXT,  /* String */
	"version" INT,  /* i32 */
	"segment" INT,  /* i32 */
	"new_rows" bigint,  /* i64 */
	"moved" double precision,  /* f64 */
	"spread" double precision,  /* Option < f64 > */
	"moved_share" double precision,  /* Option < f64 > */
	"refit" bool  /* bool */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'segment_update_wrapper';
COMMENT ON FUNCTION segment_update(text, regclass, jsonb) IS
    'a new version of a k-means model whose centres are moved by the rows of source only (streaming k-means: each centre by its new rows, weighed against the rows it stands for, option forgetting); one row per segment: its new rows, how far its centre moved, the spread of its new rows and whether the move calls for a refit (option refit_shift)';
CREATE  FUNCTION "segment_anomalies"(
	"model" TEXT, /* Option < & str > */
	"source" regclass DEFAULT NULL, /* Option < PgRelation > */
	"max_rows" bigint DEFAULT NULL /* Option < i64 > */
) RETURNS TABLE (
	"segment" INT,  /* Option < i32 > */
	"score" double precision,  /* f64 */
	"customer" jsonb  /* JsonB */
)
STABLE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'segment_anomalies_wrapper';
COMMENT ON FUNCTION segment_anomalies(text, regclass, bigint) IS
    'the rows of source that fit no segment (their anomaly score above the threshold the fit stored), the highest score first: segment, score and the row as jsonb; at most max_rows';
CREATE FUNCTION segment_anomaly_score(model text, "row" record) RETURNS double precision
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_anomaly_score_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_anomaly_score(text, record) IS
    'how far a row lies from its segment: distance to its centre in scaled units (k-prototypes: root of its dissimilarity; gmm: negative log-likelihood); compare with the model''s anomaly threshold';
CREATE FUNCTION segment_anomaly_score_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_anomaly_score_columns_wrapper';
COMMENT ON FUNCTION segment_anomaly_score_columns(text, text[], "any") IS
    'Internal: called by segment_anomaly_score(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_anomaly_score_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_anomaly_score_shipped_wrapper';
COMMENT ON FUNCTION segment_anomaly_score_shipped(text, text[], "any") IS
    'Internal: segment_anomaly_score(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
CREATE FUNCTION segment_is_anomaly(model text, "row" record) RETURNS boolean
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_is_anomaly_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_is_anomaly(text, record) IS
    'whether a row fits no segment: its anomaly score is above the threshold the fit stored (the 1 - contamination quantile of the training rows'' scores)';
CREATE FUNCTION segment_is_anomaly_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS boolean STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_is_anomaly_columns_wrapper';
COMMENT ON FUNCTION segment_is_anomaly_columns(text, text[], "any") IS
    'Internal: called by segment_is_anomaly(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_is_anomaly_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS boolean STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_is_anomaly_shipped_wrapper';
COMMENT ON FUNCTION segment_is_anomaly_shipped(text, text[], "any") IS
    'Internal: segment_is_anomaly(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
-- segment_stability: each segment's stability under bootstrap refits (Hennig's clusterboot),
-- stored in the version's metrics (metrics.stability): a manager updates them, as the labels.
GRANT UPDATE (metrics) ON segment_model TO PUBLIC;
CREATE FUNCTION "segment_stability"(
	"model" TEXT, /* Option < & str > */
	"source" regclass DEFAULT NULL, /* Option < PgRelation > */
	"runs" INT DEFAULT 20, /* Option < i32 > */
	"options" jsonb DEFAULT '{}' /* Option < JsonB > */
) RETURNS TABLE (
	"segment" INT,  /* i32 */
	"label" TEXT,  /* String */
	"stability" double precision,  /* Option < f64 > */
	"dissolved" INT,  /* i32 */
	"runs" INT,  /* i32 */
	"stable" bool  /* bool */
)
VOLATILE PARALLEL UNSAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'segment_stability_wrapper';
COMMENT ON FUNCTION segment_stability(text, regclass, integer, jsonb) IS
    'per segment of the current version: its stability under resampling (mean Jaccard similarity to the most similar segment of the model refitted on each of runs bootstrap samples of source, default the relation it was fitted on; Hennig''s clusterboot), the runs in which it dissolved (at most 0.5), and whether it is stable (threshold option, default 0.75); stores the result in the version''s metrics';
