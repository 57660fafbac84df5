-- Churn segments: a decision tree trained on a labelled history; its leaves are churn-risk
-- segments with a rule anyone can read and any BI tool can run. The data: 4,521 phone-campaign
-- contacts of a Portuguese bank (tests/data/bank_marketing); the label y says whether the client
-- subscribed ('yes' / 'no'), standing in for a churn flag.
\getenv abs_srcdir PG_ABS_SRCDIR
CREATE TABLE bank (
    age int, job text, marital text, education text, "default" text, balance int, housing text,
    loan text, contact text, day int, month text, duration int, campaign int, pdays int,
    previous int, poutcome text, y text
);
\set f :abs_srcdir '/data/bank.csv'
COPY bank FROM :'f' CSV HEADER;
SELECT y, count(*) FROM bank GROUP BY y ORDER BY y;
-- duration is only known after the call: not a feature.
\set features 'ARRAY[''age'', ''balance'', ''day'', ''campaign'', ''pdays'', ''previous'', ''job'', ''marital'', ''education'', ''default'', ''housing'', ''loan'', ''contact'', ''month'', ''poutcome'']'

-- 'yes' reads as the churn value by itself; options say max_depth, min_samples_leaf,
-- criterion, test_fraction (a seeded stratified split), class_weight.
SELECT model, leaves, depth, rows_train, rows_test, round(accuracy::numeric, 3) AS accuracy,
       round(roc_auc::numeric, 3) AS roc_auc,
       true_positives + false_negatives AS test_churners
FROM segment_churn_fit('bank', :features, 'y', name => 'subscribers',
                       options => '{"max_depth": 5, "min_samples_leaf": 20}');
SELECT metrics->>'positive' AS positive, round((metrics->>'base_rate')::numeric, 4) AS base_rate
FROM segment_models WHERE name = 'subscribers';

-- Quality against scikit-learn's DecisionTreeClassifier (same depth, leaf size, criterion and
-- one-hot columns; tests/reference/bank_tree.py): the mean held-out ROC AUC over ten seeded
-- splits must be at least scikit-learn's mean over ten splits minus 0.01.
CREATE TABLE sklearn_auc (seed text, roc_auc float8);
\set f :abs_srcdir '/reference/bank_tree_auc.csv'
COPY sklearn_auc FROM :'f' CSV HEADER;
SELECT round(avg(f.roc_auc)::numeric, 3) AS ours,
       round((SELECT roc_auc FROM sklearn_auc WHERE seed = 'mean')::numeric, 3) AS sklearn,
       avg(f.roc_auc) >= (SELECT roc_auc FROM sklearn_auc WHERE seed = 'mean') - 0.01 AS within_0_01
FROM generate_series(0, 9) seed,
     LATERAL segment_churn_fit('bank', :features, 'y', name => 'auc_check',
                               options => jsonb_build_object('max_depth', 5, 'min_samples_leaf', 20,
                                                             'seed', seed)) f;

-- The rules: one per leaf, a SQL predicate over the table's own columns, with the rows it
-- holds, its training churn rate and the lift over the base rate.
SELECT segment, rule, rows, round(churn_rate::numeric, 3) AS churn_rate, round(lift::numeric, 2) AS lift
FROM segment_churn_rules('subscribers') ORDER BY churn_rate DESC LIMIT 5;
-- The proof that the rules are the tree: for every leaf, counting the table's rows that match
-- the rule gives the leaf's rows, and those rows are exactly the ones segment_churn_assign puts
-- in that leaf.
CREATE FUNCTION rule_rows(rule text, segment int, OUT matching bigint, OUT assigned_elsewhere bigint)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE segment_churn_assign(''subscribers'', b) <> %s)
                    FROM bank b WHERE %s', segment, rule)
    INTO matching, assigned_elsewhere;
END $$;
SELECT count(*) AS leaves,
       count(*) FILTER (WHERE (rule_rows(rule, segment)).matching = rows) AS rule_counts_match,
       sum((rule_rows(rule, segment)).assigned_elsewhere) AS rows_in_another_leaf,
       sum(rows) AS rows_in_all_leaves
FROM segment_churn_rules('subscribers');

-- Per row: the churn probability (the leaf's training rate) and the leaf. On the training rows
-- they agree with the rules' rates, and segment_assign gives the same leaf.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE segment_churn_assign('subscribers', b) = segment_assign('subscribers', b)) AS same_as_segment_assign,
       count(*) FILTER (WHERE segment_churn_predict('subscribers', b) = r.churn_rate) AS probability_is_leaf_rate
FROM bank b JOIN segment_churn_rules('subscribers') r ON r.segment = segment_churn_assign('subscribers', b);
SELECT round(avg(segment_churn_predict('subscribers', b))::numeric, 3) AS mean_probability,
       round(avg((y = 'yes')::int)::numeric, 3) AS actual_rate
FROM bank b;

-- Which columns matter (each one-hot value is a column), and the tree as text.
SELECT feature, round(importance::numeric, 3) AS importance
FROM segment_churn_importance('subscribers') WHERE importance > 0 ORDER BY importance DESC LIMIT 5;
SELECT abs(sum(importance) - 1) < 1e-9 AS sums_to_1 FROM segment_churn_importance('subscribers');
SELECT segment_churn_tree('subscribers') LIKE 'all: 3617 rows%' AS starts_at_the_root,
       array_length(regexp_split_to_array(trim(segment_churn_tree('subscribers'), E'\n'), E'\n'), 1)
           AS lines;

-- Leaves are segments like any other: profile, labels. A leaf's label says its risk: high when
-- the tree predicts churn for it (a rate of at least 0.5 here), above-average above the base
-- rate, low otherwise; then its most distinguishing features. Labels are unique.
SELECT count(DISTINCT segment) AS segments FROM segment_profile('subscribers');
SELECT r.segment, round(r.churn_rate::numeric, 3) AS churn_rate, l.label
FROM segment_churn_rules('subscribers') r JOIN segment_labels('subscribers') l USING (segment)
ORDER BY r.churn_rate DESC, r.segment;
SELECT count(DISTINCT label) = count(*) AS unique_labels FROM segment_labels('subscribers');

-- A balanced class weight trades precision for recall: the tree finds more of the subscribers
-- than the same tree unweighted.
SELECT b.recall > u.recall AS finds_more_churners, b.leaves
FROM segment_churn_fit('bank', :features, 'y', name => 'balanced',
                       options => '{"max_depth": 4, "min_samples_leaf": 50, "class_weight": "balanced"}') b,
     segment_churn_fit('bank', :features, 'y', name => 'unweighted',
                       options => '{"max_depth": 4, "min_samples_leaf": 50}') u;

-- Labels may be boolean, 0/1 or text; the positive option says which value is churn.
CREATE VIEW bank_flags AS SELECT *, y = 'yes' AS subscribed, (y = 'yes')::int AS subscribed_01,
       CASE WHEN y = 'yes' THEN 'in' ELSE 'out' END AS status FROM bank;
SELECT leaves > 1 AS split FROM segment_churn_fit('bank_flags', ARRAY['age', 'balance'], 'subscribed', name => 'b1');
SELECT leaves > 1 AS split FROM segment_churn_fit('bank_flags', ARRAY['age', 'balance'], 'subscribed_01', name => 'b2');
SELECT leaves > 1 AS split FROM segment_churn_fit('bank_flags', ARRAY['age', 'balance'], 'status', name => 'b3',
                                                  options => '{"positive": "in"}');

-- Rules for clustering models too: segment_rules fits a shallow tree on a clustering model's
-- own segments and gives each segment a predicate on the raw columns, with the share of its
-- rows the predicate captures, its precision, and the rules' overall fidelity (the share of rows
-- the rules put in the model's segment), so a BI tool can reproduce segments with plain SQL.
\set spend 'ARRAY[''fresh'', ''milk'', ''grocery'', ''frozen'', ''detergents_paper'', ''delicassen'']'
SELECT segments FROM segment_fit('wholesale_customers', :spend, 3, name => 'shops_raw',
    options => '{"log": ["fresh", "milk", "grocery", "frozen", "detergents_paper", "delicassen"]}');
SELECT segment, rule, rows, round(captured::numeric, 3) AS captured, round(precision::numeric, 3) AS precision,
       round(fidelity::numeric, 3) AS fidelity
FROM segment_rules('shops_raw', max_depth => 2);
-- The figures are what the predicates do on the table: count the rows each rule selects.
CREATE FUNCTION rule_hits(model text, rule text, segment int, OUT selected bigint, OUT hits bigint)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE segment_assign(%L, w) = %s)
                    FROM wholesale_customers w WHERE %s', model, segment, rule)
    INTO selected, hits;
END $$;
SELECT r.segment,
       (h).hits = round(r.captured * r.rows) AS captured_checks,
       (h).hits = round(r.precision * (h).selected) AS precision_checks
FROM segment_rules('shops_raw', max_depth => 2) r,
     LATERAL (SELECT rule_hits('shops_raw', r.rule, r.segment) AS h) x
ORDER BY r.segment;
-- Deeper trees follow the segments more closely.
SELECT max_depth, round(min(fidelity)::numeric, 3) AS fidelity
FROM generate_series(1, 4) max_depth, LATERAL segment_rules('shops_raw', max_depth) GROUP BY 1 ORDER BY 1;

-- Errors.
SELECT * FROM segment_rules('subscribers');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_rules('shops_raw', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank_flags', ARRAY['age'], 'status');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age'], 'no_such_label');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age'], 'Y');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age', 'y'], 'y');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW one_class AS SELECT * FROM bank WHERE y = 'no';
SELECT * FROM segment_churn_fit('one_class', ARRAY['age'], 'y');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW with_unknown AS SELECT age, CASE WHEN age > 80 THEN NULL ELSE y END AS y FROM bank;
SELECT * FROM segment_churn_fit('with_unknown', ARRAY['age'], 'y');
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW three_values AS SELECT age, CASE WHEN age > 60 THEN 'maybe' ELSE y END AS y FROM bank;
SELECT * FROM segment_churn_fit('three_values', ARRAY['age'], 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age'], 'y', options => '{"max_depth": 0}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age'], 'y', options => '{"test_fraction": 1.5}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_fit('bank', ARRAY['age'], 'job');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM segment_churn_rules('shops_that_do_not_exist');
\echo :LAST_ERROR_SQLSTATE
SELECT model FROM segment_fit('bank', ARRAY['age', 'balance'], 2, name => 'clusters');
SELECT * FROM segment_churn_rules('clusters');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_churn_predict('clusters', b) FROM bank b LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
