-- Classify customers into known segments: a classifier trained on the rows whose segment is
-- known, applied to any row. The data: 4,521 phone-campaign contacts of a Portuguese bank
-- (tests/data/bank_marketing); the known segment is the customer's education (primary,
-- secondary, tertiary, unknown), standing in for survey personas.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE contacts (
    id serial PRIMARY KEY,
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :abs_srcdir '/data/bank.csv'
COPY contacts (age, job, marital, education, "default", balance, housing, loan, contact, day,
               month, duration, campaign, pdays, previous, poutcome, y) FROM :'f' CSV HEADER;
SELECT education, count(*) FROM contacts GROUP BY education ORDER BY education;
\set features 'ARRAY[''age'', ''balance'', ''day'', ''campaign'', ''pdays'', ''previous'', ''job'', ''marital'', ''default'', ''housing'', ''loan'', ''contact'', ''month'', ''poutcome'']'

-- A decision tree (the default: depth 5, at least 20 rows a leaf), scored on a seeded,
-- stratified 20% of each class held out.
SELECT model, version, method, classes, rows_train, rows_test, rows_skipped,
       round(accuracy::numeric, 3) AS accuracy, round(macro_f1::numeric, 3) AS macro_f1
FROM segment_classify_fit('contacts', :features, 'education', name => 'persona');
-- The classes, in the order of the segment ids and of segment_classify_proba's elements.
SELECT segment_classify_classes('persona');
-- Held-out scores per class (NULL where a score is undefined).
SELECT class, round(precision::numeric, 3) AS precision, round(recall::numeric, 3) AS recall,
       round(f1::numeric, 3) AS f1, support
FROM segment_classify_report('persona');

-- Every row gets a class and the probability of each class (they sum to 1, and the class is
-- the most probable one).
SELECT segment_classify('persona', c) AS predicted, count(*)
FROM contacts c GROUP BY 1 ORDER BY 1;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE abs((SELECT sum(p) FROM unnest(proba) p) - 1) < 1e-12) AS sums_to_1,
       count(*) FILTER (WHERE (segment_classify_classes('persona'))[array_position(proba, (SELECT max(p) FROM unnest(proba) p))]
                              = predicted) AS argmax_is_class
FROM (SELECT segment_classify('persona', c) AS predicted, segment_classify_proba('persona', c) AS proba
      FROM contacts c) s;
-- segment_assign gives the class's segment id; segment_label its name.
SELECT DISTINCT segment_assign('persona', c) AS segment, segment_label('persona', segment_assign('persona', c)) AS label,
       segment_classify('persona', c) AS class
FROM contacts c ORDER BY 1;
-- The planner passes the table's columns instead of building a row value per row, as for
-- segment_assign.
EXPLAIN (VERBOSE, COSTS OFF) SELECT segment_classify('persona', c), segment_classify_proba('persona', c) FROM contacts c;

-- Explainable: each leaf's rule is a SQL predicate over the table's own columns, with the
-- class it predicts, the rows it holds and the class's share of its training rows.
SELECT leaf, class, rule, rows, training_rows, round(probability::numeric, 3) AS probability
FROM segment_classify_rules('persona') ORDER BY rows DESC LIMIT 4;
-- The proof that the rules are the tree: each rule counts its leaf's rows, and every row it
-- selects is classified as the leaf's class.
CREATE FUNCTION rule_check(model text, rule text, class text, OUT matching bigint, OUT other_class bigint)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE segment_classify(%L, c) IS DISTINCT FROM %L)
                    FROM contacts_null c WHERE %s', model, class, rule)
    INTO matching, other_class;
END $$;
CREATE VIEW contacts_null AS SELECT * FROM contacts;
SELECT count(*) AS leaves,
       count(*) FILTER (WHERE (rule_check('persona', rule, class)).matching = rows) AS rule_counts_match,
       sum((rule_check('persona', rule, class)).other_class) AS rows_of_another_class,
       sum(rows) AS rows_in_all_leaves
FROM segment_classify_rules('persona');
-- NULLs included: with impute mean, a NULL balance is the training mean, in the rules as in the
-- tree.
CREATE OR REPLACE VIEW contacts_null AS
SELECT id, age, job, marital, education, "default",
       CASE WHEN id % 7 = 0 THEN NULL ELSE balance END AS balance, housing, loan, contact, day,
       month, duration, campaign, CASE WHEN id % 11 = 0 THEN NULL ELSE pdays END AS pdays,
       previous, poutcome, y
FROM contacts;
SELECT rows_skipped FROM segment_classify_fit('contacts_null', :features, 'education', name => 'persona_nulls',
                                              options => '{"impute": "mean"}');
SELECT count(*) AS leaves,
       count(*) FILTER (WHERE (rule_check('persona_nulls', rule, class)).matching = rows) AS rule_counts_match,
       sum((rule_check('persona_nulls', rule, class)).other_class) AS rows_of_another_class,
       sum(rows) AS rows_in_all_leaves
FROM segment_classify_rules('persona_nulls');
SELECT feature, round(importance::numeric, 3) AS importance
FROM segment_classify_importance('persona') LIMIT 3;

-- A random forest: 100 trees on bootstrap rows, a random subset of the columns at each split
-- (the square root of the 44 one-hot and numeric columns: 6), seeded.
SELECT model, method, classes, round(accuracy::numeric, 3) AS accuracy, round(macro_f1::numeric, 3) AS macro_f1
FROM segment_classify_fit('contacts', :features, 'education', name => 'persona_forest',
                          options => '{"method": "forest", "n_trees": 100, "max_depth": 10}');
SELECT metrics->'max_features' AS max_features, metrics->'leaves' IS NOT NULL AS has_leaves
FROM segment_models WHERE name = 'persona_forest';
SELECT feature, round(importance::numeric, 3) AS importance
FROM segment_classify_importance('persona_forest') LIMIT 3;
-- A forest has no single set of leaves: its explanation is a surrogate tree fitted on its
-- predictions, whose fidelity says how often the rules agree with the forest. Each segment's
-- label is its class.
SELECT segment, label, rule, rows, round(fidelity::numeric, 2) >= 0.7 AS fidelity_at_least_0_7
FROM segment_rules('persona_forest', 2) ORDER BY segment;
SELECT * FROM segment_classify_rules('persona_forest');

-- Quality against scikit-learn (tests/reference/bank_classify.py: the same features, one-hot
-- columns, depth, leaf size, trees and max_features): the mean held-out accuracy over ten
-- seeded splits is within 0.02 of scikit-learn's mean over ten splits, for the tree and the
-- forest.
CREATE TABLE sklearn_accuracy (model text, seed text, accuracy float8, macro_f1 float8);
\set f :abs_srcdir '/reference/bank_classify_accuracy.csv'
COPY sklearn_accuracy FROM :'f' CSV HEADER;
SELECT m.method, round(avg(f.accuracy)::numeric, 3) AS ours,
       round(s.accuracy::numeric, 3) AS sklearn,
       abs(avg(f.accuracy) - s.accuracy) <= 0.02 AS within_0_02
FROM (VALUES ('tree', '{"max_depth": 5, "min_samples_leaf": 20}'::jsonb),
             ('forest', '{"method": "forest", "n_trees": 100, "max_depth": 10, "min_samples_leaf": 1, "max_features": "sqrt"}'))
         AS m(method, options)
     JOIN sklearn_accuracy s ON s.model = m.method AND s.seed = 'mean',
     generate_series(0, 9) split,
     LATERAL segment_classify_fit('contacts', :features, 'education', name => 'accuracy_check_' || m.method,
                                  options => m.options || jsonb_build_object('seed', split)) f
GROUP BY m.method, s.accuracy ORDER BY m.method DESC;

-- A view for BI tools shows each row's class by name; the model travels with export/import.
SELECT segment_create_view('persona_forest', 'contacts', 'contacts_persona');
SELECT segment_label, count(*) FROM contacts_persona GROUP BY 1 ORDER BY 1;
SELECT model FROM segment_import(segment_export('persona_forest'), 'persona_forest_copy');
SELECT count(*) FILTER (WHERE segment_classify('persona_forest', c) = segment_classify('persona_forest_copy', c)
                          AND segment_classify_proba('persona_forest', c) = segment_classify_proba('persona_forest_copy', c)) AS same
FROM contacts c;

-- Integer labels keep numeric order; a boolean label is two classes.
SELECT segment_classify_classes(model)
FROM segment_classify_fit('wholesale_customers', ARRAY['fresh', 'milk', 'grocery', 'frozen', 'detergents_paper', 'delicassen'],
                          'region', name => 'wholesale_region');
CREATE VIEW contacts_subscribed AS SELECT *, y = 'yes' AS subscribed FROM contacts;
SELECT segment_classify_classes(model), classes
FROM segment_classify_fit('contacts_subscribed', ARRAY['age', 'balance', 'pdays', 'poutcome'], 'subscribed');

-- Bad input.
\set VERBOSITY default
SELECT * FROM segment_classify_fit('contacts', :features, 'educaton');
SELECT * FROM segment_classify_fit('contacts', :features, 'Education');
SELECT * FROM segment_classify_fit('contacts', :features, 'job');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'id', options => '{"max_classes": 20}');
CREATE VIEW contacts_float AS SELECT *, balance::float8 AS balance_f FROM contacts;
SELECT * FROM segment_classify_fit('contacts_float', ARRAY['age'], 'balance_f');
CREATE VIEW contacts_unlabelled AS SELECT *, CASE WHEN id % 100 = 0 THEN NULL ELSE education END AS persona FROM contacts;
SELECT * FROM segment_classify_fit('contacts_unlabelled', ARRAY['age'], 'persona');
CREATE VIEW contacts_one AS SELECT *, 'all'::text AS persona FROM contacts;
SELECT * FROM segment_classify_fit('contacts_one', ARRAY['age'], 'persona');
CREATE VIEW contacts_rare AS SELECT *, CASE WHEN id = 1 THEN 'rare' ELSE education END AS persona FROM contacts;
SELECT * FROM segment_classify_fit('contacts_rare', ARRAY['age'], 'persona');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"n_trees": 10}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"method": "forest", "max_features": 3}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"method": "boosting"}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"positive": "tertiary"}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"test_fraction": 0}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], 'education', options => '{"method": "forest", "n_trees": 5000}');
SELECT * FROM segment_classify_fit('contacts', ARRAY['age'], NULL);
-- A classifier is not refitted by segment_fit's methods, nor read as a clustering model, and
-- the classifier functions refuse other models.
SELECT * FROM segment_fit('contacts', ARRAY['age'], 3, options => '{"method": "random_forest"}');
SELECT * FROM segment_refit('persona');
SELECT segment_classify('wholesale_kmeans_for_classify', w) FROM wholesale_customers w LIMIT 1;
SELECT model FROM segment_fit('customer_features', ARRAY['fresh', 'milk'], 3, 'wholesale_kmeans_for_classify');
SELECT segment_classify('wholesale_kmeans_for_classify', w) FROM wholesale_customers w LIMIT 1;
SELECT segment_classify_proba('wholesale_kmeans_for_classify', w) FROM wholesale_customers w LIMIT 1;
SELECT * FROM segment_classify_report('wholesale_kmeans_for_classify');
SELECT * FROM segment_classify_rules('wholesale_kmeans_for_classify');
SELECT segment_classify_classes('wholesale_kmeans_for_classify');
SELECT * FROM segment_classify_importance('wholesale_kmeans_for_classify');
SELECT segment_classify_classes(NULL);
SELECT * FROM segment_classify_report('no_such_model');
SELECT segment_classify('persona', NULL::contacts) IS NULL AS null_row_gives_null;
SELECT segment_explain('persona', c) FROM contacts c LIMIT 1;
-- Drift and evaluate measure clustering models (a classifier's stored shares are its true
-- classes'; its held-out scores are in segment_classify_report).
SELECT * FROM segment_drift('persona');
SELECT * FROM segment_evaluate('persona');
-- A held-out share too small to hold a row still holds one of each class.
SELECT rows_test FROM segment_classify_fit('contacts', ARRAY['age'], 'education', name => 'tiny_holdout',
                                           options => '{"test_fraction": 0.0001}');
-- A row without a feature column the model needs.
SELECT segment_classify('persona', w) FROM wholesale_customers w LIMIT 1;
-- Changing a name's meaning (its label or method) needs replace.
SELECT * FROM segment_classify_fit('contacts', :features, 'y', name => 'persona');
SELECT * FROM segment_classify_fit('contacts', :features, 'education', name => 'persona', options => '{"method": "forest", "n_trees": 5}');
SELECT model, version, method FROM segment_classify_fit('contacts', :features, 'education', name => 'persona',
                                                        options => '{"method": "forest", "n_trees": 5, "replace": true}');
\set VERBOSITY terse
