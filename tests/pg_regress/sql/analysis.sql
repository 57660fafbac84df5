-- Understanding segments: profiles, labels, evaluation on a relation, and ids that stay put when
-- a model is refitted.
\set spend 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
SELECT model, segments FROM segment_fit('customer_features', :spend, 3, name => 'shops');

-- segment_profile: per segment and feature the mean, the median, the overall mean, the
-- difference in standard deviations, and the feature's ANOVA F (which features separate the
-- segments most). The medians must equal PostgreSQL's own percentile_cont over the rows each
-- segment holds, and the means avg().
WITH members AS (
    SELECT segment_assign('shops', f) AS segment, f.* FROM customer_features f
), by_sql AS (
    SELECT segment, 'grocery' AS feature, avg(grocery) AS mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY grocery) AS median
    FROM members GROUP BY segment
    UNION ALL
    SELECT segment, 'fresh', avg(fresh), percentile_cont(0.5) WITHIN GROUP (ORDER BY fresh)
    FROM members GROUP BY segment
)
SELECT p.segment, p.feature, p.size,
       abs(p.segment_mean - s.mean) < 1e-9 AS mean_matches,
       abs(p.segment_median - s.median) < 1e-9 AS median_matches,
       round(p.difference_sd::numeric, 2) AS difference_sd
FROM segment_profile('shops') p JOIN by_sql s USING (segment, feature)
ORDER BY p.feature, p.segment;

-- ANOVA F per feature equals scikit-learn's f_classif on the same labels (the reference labels
-- are scikit-learn's k = 3 k-means, the same partition as ours: ARI 1 in quality.sql).
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE sklearn_anova (feature text PRIMARY KEY, f float8);
\set f :abs_srcdir '/reference/wholesale_kmeans_anova.csv'
COPY sklearn_anova FROM :'f' CSV HEADER;
SELECT DISTINCT p.feature, round(p.anova_f::numeric, 2) AS anova_f,
       abs(p.anova_f / s.f - 1) < 1e-9 AS matches_sklearn
FROM segment_profile('shops') p JOIN sklearn_anova s USING (feature)
ORDER BY anova_f DESC;

-- Automatic labels name each segment by its most distinguishing features (at least half a
-- standard deviation from the average; "very" from 1.5).
SELECT s AS segment, segment_label('shops', s) FROM generate_series(0, 2) s;

-- A feature in the log option is compared as the model clusters it, on log(1 + x). Fitted with
-- the log option on the raw spend, a model finds the segments of the model above (fitted on
-- the view of log spend), and its differences, ANOVA F (scikit-learn's on the log spend) and
-- labels are that model's; its means and medians stay in raw units. A NOTICE says so.
SELECT model, segments FROM segment_fit('wholesale_customers', :spend, 3, name => 'shops_log',
    options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}');
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_assign('shops_log', w) = segment_assign('shops', f)) AS same_segment
FROM wholesale_customers w JOIN customer_features f USING (customer_id);
SELECT l.feature, round(l.anova_f::numeric, 2) AS anova_f,
       abs(l.anova_f / s.f - 1) < 1e-9 AS matches_sklearn,
       bool_and(abs(l.difference_sd - p.difference_sd) < 1e-9) AS same_differences,
       bool_and(l.label = p.label) AS same_labels
FROM segment_profile('shops_log') l JOIN segment_profile('shops') p USING (segment, feature)
JOIN sklearn_anova s USING (feature)
GROUP BY l.feature, l.anova_f, s.f ORDER BY anova_f DESC;
WITH members AS (
    SELECT segment_assign('shops_log', w) AS segment, w.* FROM wholesale_customers w
)
SELECT p.segment, p.label, round(p.segment_mean::numeric, 1) AS fresh_mean,
       round(avg(m.fresh), 1) AS avg_raw_fresh, round(p.difference_sd::numeric, 2) AS difference_sd
FROM segment_profile('shops_log') p JOIN members m USING (segment)
WHERE p.feature = 'fresh' GROUP BY p.segment, p.label, p.segment_mean, p.difference_sd
ORDER BY p.segment;
SELECT segment_drop('shops_log');

-- A feature that separates the segments perfectly (constant within each, different between
-- them) has an infinite ANOVA F, as scikit-learn's f_classif says (it was NULL, and ranked
-- last); a 0/1 flag reads as yes/no in a label, or as the share of the segment that has it.
CREATE TABLE two_shops AS
SELECT i AS id, (i > 10)::int AS online, (i IN (1, 11, 12, 13, 14, 15, 16, 17))::int AS member
FROM generate_series(1, 20) i;
SELECT segments FROM segment_fit('two_shops', ARRAY['online', 'member'], 2, name => 'two_shops');
-- scikit-learn's f_classif on these columns and the online split: [inf, 10.8].
SELECT DISTINCT feature, round(anova_f::numeric, 1) AS anova_f
FROM segment_profile('two_shops') ORDER BY anova_f DESC NULLS LAST;
SELECT segment, size, label FROM segment_labels('two_shops') JOIN
       (SELECT DISTINCT segment, size FROM segment_profile('two_shops')) p USING (segment)
ORDER BY segment;
SELECT segment_drop('two_shops');

-- segment_rename sets the analyst's own label, kept with this model version; NULL goes back to
-- the automatic label. segment_profile shows the label in force.
SELECT segment_rename('shops', 1, 'Retailers');
SELECT DISTINCT segment, label FROM segment_profile('shops') ORDER BY segment;
SELECT labels FROM segment_models WHERE name = 'shops';
SELECT segment_rename('shops', 1, NULL) AS back_to_automatic;
SELECT segment_rename('shops', 1, 'Retailers');

-- segment_evaluate scores the model on a relation through its stored preprocessing: on the
-- training source it reproduces what segment_fit reported.
SELECT e.rows_used, e.rows_skipped, abs(e.inertia - (m.metrics->>'inertia')::float8) < 1e-6 AS same_inertia,
       abs(e.silhouette - (m.metrics->>'silhouette')::float8) < 1e-9 AS same_silhouette,
       round(e.calinski_harabasz::numeric, 2) AS calinski_harabasz, round(e.davies_bouldin::numeric, 4) AS davies_bouldin
FROM segment_evaluate('shops') e, segment_models m WHERE m.name = 'shops';
-- ... and on another relation with the same columns: here the customers of region 3.
CREATE VIEW region_3 AS SELECT * FROM customer_features WHERE region = 3;
SELECT rows_used, silhouette IS NOT NULL AS has_silhouette FROM segment_evaluate('shops', 'region_3');

-- Refitting under the same name matches the new segments to the previous version's by centre,
-- so segment ids keep their meaning. Refit on the customers with more milk spend: the segments
-- change size, and without matching they would be renumbered largest first; with it the low
-- fresh segment keeps id 2 although it is now larger than segment 1.
CREATE VIEW big_milk AS SELECT * FROM customer_features WHERE milk > 8.3;
SELECT version FROM segment_fit('big_milk', :spend, 3, name => 'shops');
SELECT version, metrics->'ids_matched_to_version' AS matched_to, labels FROM segment_models
WHERE name = 'shops' ORDER BY version;
SELECT DISTINCT segment, size, label FROM segment_profile('shops') ORDER BY segment;
-- segment_compare: how the rows move between two versions (on version b's source unless another
-- relation is given), with the adjusted Rand index of the two labelings (1 = the same segments).
SELECT segment_a, segment_b, rows, round(share_of_a::numeric, 3) AS share_of_a,
       round(adjusted_rand_index::numeric, 3) AS adjusted_rand_index
FROM segment_compare('shops', 1, 2) ORDER BY segment_a, segment_b;
-- A version compared with itself: nothing moves.
SELECT count(*) AS cells, min(adjusted_rand_index) AS ari,
       bool_and(segment_a = segment_b) AS diagonal
FROM segment_compare('shops', 2, 2, 'customer_features');

-- Errors.
SELECT segment_label('shops', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_label('no_such_model', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT segment_rename('shops', 0, '   ');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_compare('shops', 1, 9);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE no_features (customer_id int);
SELECT * FROM segment_evaluate('shops', 'no_features');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_drop('shops');
