-- A COMMENT on every object of the extension that has none where it is created: the functions
-- pgrx generates from #[pg_extern] (src/api/*.rs), the internal plumbing of the hand-written
-- SQL blocks, and the segment_explanation type. Run last (finalize, src/lib.rs), after every
-- CREATE. Tables, the view and segment_model_allowed are commented in catalog.sql; functions
-- created in an extension_sql! block are commented next to their CREATE.
--
-- One sentence each, in the words of docs/reference.md: what it does and what it returns.
-- Internal plumbing says so and names its caller. A database updated from 0.1.0 gets the same
-- comments from sql/customer_segment--0.1.0--0.2.0.sql; the upgrade test (tests/upgrade/run.sh)
-- fails when the two differ.

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
COMMENT ON FUNCTION segment_summary(text, regclass, text[]) IS
    'what each segment is worth: per segment of the current version (per group and segment of a per-group model) its rows and share of the rows of source (default: the relation it was fitted on), and per measure column its mean, total, share of the total and NULL count';
COMMENT ON FUNCTION segment_report(text, regclass, text[]) IS
    'one self-contained HTML page about the current version: a card per segment (name, size and share, what it is worth by the measures, what sets it apart, churn rate or class), the sizes, the pictures, how it was made and, with a source, the drift since the fit';

-- Monitoring
COMMENT ON FUNCTION segment_drift(text, regclass) IS
    'per segment: its share of the training rows and of the rows of source now (default: the relation it was fitted on), the population stability index, feature mean shifts and advice';
COMMENT ON FUNCTION segment_stability(text, regclass, integer, jsonb) IS
    'per segment of the current version: its stability under resampling (mean Jaccard similarity to the most similar segment of the model refitted on each of runs bootstrap samples of source, default the relation it was fitted on; Hennig''s clusterboot), the runs in which it dissolved (at most 0.5), and whether it is stable (threshold option, default 0.75); stores the result in the version''s metrics';

-- Managing models
COMMENT ON FUNCTION segment_drop(text, boolean) IS
    'drops every version of a model and its name (of a per-group model, its group models too); refuses while a view made by segment_create_view reads it, unless cascade, which drops those views; returns how many versions were dropped';
COMMENT ON FUNCTION segment_prune(text, integer) IS
    'deletes the versions of a model older than its keep newest (default 2), never the current one nor a group model''s version its per-group model still uses (of a per-group model, its group models too); returns how many versions were deleted';
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

-- Classifiers into known segments
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

-- RFM and customer lifetime value
COMMENT ON FUNCTION segment_rfm_queries(regclass, text, text, text, integer, jsonb) IS
    'Internal: called by segment_rfm for the query it runs (an array of one), built from catalog-checked identifiers; not for direct use';
COMMENT ON FUNCTION segment_rfm_left_out(bigint, bigint) IS
    'Internal: called once by segment_rfm''s query for its NOTICE of the transactions it left out; not for direct use';
COMMENT ON FUNCTION segment_clv_fit(regclass, text, text, text, timestamp with time zone, text, jsonb) IS
    'fits BG/NBD and Gamma-Gamma on the transactions up to calibration_end, stores them as a model, and returns one row of fitted parameters, with a warning when the fit is at the boundary (dropout not identified, parameters that ran off)';
COMMENT ON FUNCTION segment_clv(text, double precision, double precision) IS
    'per customer of a CLV model: probability of being alive, expected purchases and spend, and the lifetime value over the horizon';

-- Scale-out: the transition, combine and final functions of segment_kmeans_step (bytea state)
COMMENT ON FUNCTION segment_kmeans_step_add(bytea, double precision[], double precision[]) IS
    'Internal: transition function of the aggregate segment_kmeans_step; not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_add_raw(bytea, double precision[], double precision[], double precision[]) IS
    'Internal: transition function of segment_kmeans_step(features, centres, preprocessing), called by the aggregate for each row; not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_combine(bytea, bytea) IS
    'Internal: combine function of the aggregate segment_kmeans_step (parallel plans, Citus shards); not for direct use';
COMMENT ON FUNCTION segment_kmeans_step_result(bytea) IS
    'Internal: final function of the aggregate segment_kmeans_step; not for direct use';

-- Types
COMMENT ON TYPE segment_explanation IS
    'result of segment_explain: a row''s segment and distance, the runner-up segment and distance, and the margin between them';

-- What drove a change
COMMENT ON FUNCTION segment_drivers(regclass, text, text, text[], jsonb) IS
    'what drove a change: per slice of source (combinations of up to max_depth dimension values, the whole population first) the metric in the test rows (test_column true) and the control rows (false), the difference, relative difference, share of the population''s change, difference beyond what the population''s change predicts, share of the rows, rows per group and the p-value of the difference; redundant slices pruned, the largest unexpected difference (or contribution) first';

-- Monitoring and adapting
COMMENT ON FUNCTION segment_update(text, regclass, jsonb) IS
    'a new version of a k-means model whose centres are moved by the rows of source only (streaming k-means: each centre by its new rows, weighed against the rows it stands for, option forgetting); one row per segment: its new rows, how far its centre moved, the spread of its new rows and whether the move calls for a refit (option refit_shift)';
COMMENT ON FUNCTION segment_anomalies(text, regclass, bigint) IS
    'the rows of source that fit no segment (their anomaly score above the threshold the fit stored), the highest score first: segment, score and the row as jsonb; at most max_rows';
