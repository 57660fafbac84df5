-- Moving models (docs/reference.md, "Exchange"; docs/operations.md, keeping models across DROP
-- EXTENSION): every kind of model the extension stores goes out with segment_export and comes
-- back with segment_import under another name, answering every row as the original does, and
-- its export equals the original's. Then the documented recipe keeps every model of a database
-- across DROP EXTENSION and CREATE EXTENSION. In a database of its own, so that the drop takes
-- nothing of the other tests.
CREATE DATABASE regress_cs_exchange;
\c regress_cs_exchange
SET client_min_messages = warning;
CREATE EXTENSION customer_segment;

-- Customers with NULLs, a skewed spend, a code stored as text, categories, a region, a churn
-- flag and a tier; and their purchases.
CREATE TABLE ex_people (
    id int PRIMARY KEY, spend float8, visits float8, zip text, plan text, region text,
    churned boolean, tier text);
INSERT INTO ex_people
SELECT i,
       CASE WHEN i % 17 = 0 THEN NULL ELSE (i * 37 % 101)::float8 * (1 + (i % 3 = 0)::int * 9) END,
       (i % 7)::float8 + CASE WHEN i % 3 = 0 THEN 20 ELSE 0 END,
       (ARRAY['10115', '20095', '80331'])[1 + i % 3],
       (ARRAY['basic', 'pro', 'team'])[1 + i % 3],
       (ARRAY['north', 'south'])[1 + i % 2],
       i % 3 = 0 OR i % 11 = 0,
       (ARRAY['gold', 'silver', 'bronze'])[1 + (i / 7) % 3]
FROM generate_series(1, 400) i;
CREATE TABLE ex_tx (customer int, at date, amount numeric);
INSERT INTO ex_tx
SELECT i % 60, date '2024-01-01' + (i * 7 % 300), (i % 13) + 1 FROM generate_series(1, 900) i;

-- One model of every kind, with what a round trip could lose: renamed segments, log, imputed
-- NULLs, a text code one-hot encoded on purpose, a grouping column.
SELECT model, version FROM segment_fit('ex_people', ARRAY['spend', 'visits', 'zip'], 3, 'ex_kmeans',
    '{"log": ["spend"], "impute": "mean", "categorical": ["zip"], "seed": 3}');
SELECT segment_rename('ex_kmeans', 0, 'Zero people'), segment_rename('ex_kmeans', 2, 'Two');
SELECT model FROM segment_fit('ex_people', ARRAY['spend', 'visits'], 3, 'ex_gmm', '{"method": "gmm", "impute": "median"}');
SELECT model FROM segment_fit('ex_people', ARRAY['spend', 'visits'], 3, 'ex_ward', '{"method": "hierarchical", "impute": "mean"}');
SELECT model FROM segment_fit('ex_people', ARRAY['spend', 'visits'], NULL, 'ex_dbscan', '{"method": "dbscan", "eps": 0.4}');
SELECT model FROM segment_fit('ex_people', ARRAY['spend', 'visits'], 3, 'ex_minibatch', '{"method": "minibatch_kmeans"}');
SELECT model FROM segment_fit('ex_people', ARRAY['spend', 'visits', 'plan'], 3, 'ex_kprototypes', '{"method": "kprototypes"}');
SELECT segment_rename('ex_kprototypes', 1, 'One');
SELECT count(*) FROM segment_fit('ex_people', ARRAY['spend', 'visits'], 2, 'ex_grouped', '{"group_by": "region", "impute": "mean"}');
SELECT segment_rename('ex_grouped/north', 0, 'North zero');
SELECT model FROM segment_churn_fit('ex_people', ARRAY['spend', 'visits', 'plan'], 'churned', 'ex_churn', '{"impute": "median"}');
SELECT model FROM segment_classify_fit('ex_people', ARRAY['spend', 'visits', 'plan'], 'tier', 'ex_tree', '{"impute": "mean"}');
SELECT model FROM segment_classify_fit('ex_people', ARRAY['spend', 'visits', 'plan'], 'tier', 'ex_forest', '{"method": "forest", "n_trees": 7, "impute": "mean"}');
SELECT model FROM segment_clv_fit('ex_tx', 'customer', 'at', 'amount', '2024-09-01', 'ex_clv');

-- An export without what only its database knows (name, version, where it was imported from),
-- and a per-group model's index without its group models' names.
CREATE FUNCTION pg_temp.portable(e jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT (e - 'name' - 'version' - 'group_models')
           || jsonb_build_object('metrics', (e -> 'metrics') - 'imported_from' - 'group')
           || CASE WHEN e -> 'model' ? 'groups'
                   THEN jsonb_build_object('model', (e -> 'model') || jsonb_build_object('groups',
                        (SELECT jsonb_agg(g - 'model' - 'version') FROM jsonb_array_elements(e -> 'model' -> 'groups') g)))
                   ELSE '{}' END
           || CASE WHEN e ? 'group_models'
                   THEN jsonb_build_object('group_models',
                        (SELECT jsonb_agg(pg_temp.portable(m) ORDER BY m -> 'model' ->> 'centres') FROM jsonb_array_elements(e -> 'group_models') m))
                   ELSE '{}' END
$$;
-- What a model answers for every row (or customer), as one fingerprint.
CREATE FUNCTION pg_temp.answers(m text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE kind text := (SELECT method FROM segment_models WHERE name = m AND is_current);
        result text;
BEGIN
    IF kind = 'clv' THEN
        SELECT md5(string_agg(format('%s %s %s', customer, round(p_alive::numeric, 9), round(clv::numeric, 6)), ',' ORDER BY customer))
        INTO result FROM segment_clv(m);
    ELSIF kind IN ('decision_tree', 'random_forest') THEN
        SELECT md5(string_agg(format('%s %s', segment_classify(m, p), segment_classify_proba(m, p)), ',' ORDER BY id))
        INTO result FROM ex_people p;
    ELSIF kind = 'churn_tree' THEN
        SELECT md5(string_agg(format('%s %s', segment_assign(m, p), segment_churn_predict(m, p)), ',' ORDER BY id))
        INTO result FROM ex_people p;
    ELSIF kind = 'grouped' THEN
        SELECT md5(string_agg(format('%s', segment_assign(m, p)), ',' ORDER BY id)) INTO result FROM ex_people p;
    ELSE
        SELECT md5(string_agg(format('%s %s', s, CASE WHEN s >= 0 THEN segment_label(m, s) END), ',' ORDER BY id))
        INTO result FROM ex_people p, LATERAL segment_assign(m, p) s;
    END IF;
    RETURN result;
END $$;

-- Every kind: exported, imported under another name; the copy answers every row the same,
-- keeps the labels, and exports the same document.
SELECT count(*) AS copies FROM segment_models m, LATERAL segment_import(segment_export(m.name), m.name || '_copy')
WHERE m.is_current AND NOT m.metrics ? 'group';
SELECT m.name, m.method, c.version AS copy_version,
       pg_temp.answers(m.name) = pg_temp.answers(c.name) AS same_answers,
       m.labels = c.labels AS same_labels,
       pg_temp.portable(segment_export(m.name)) = pg_temp.portable(segment_export(c.name)) AS same_export
FROM segment_models m
JOIN segment_models c ON c.name = m.name || '_copy' AND c.is_current
WHERE m.is_current AND NOT m.metrics ? 'group' AND m.name NOT LIKE '%\_copy'
ORDER BY m.name;
-- The per-group copy's groups are its own models, with the same labels.
SELECT group_value, model, version FROM segment_groups('ex_grouped_copy') ORDER BY 1;
SELECT * FROM segment_group_labels('ex_grouped_copy') EXCEPT SELECT * FROM segment_group_labels('ex_grouped');

-- A document that lost its group models, or whose group models are not the ones it names, is
-- refused before anything is stored.
SELECT segment_import(segment_export('ex_grouped') - 'group_models', 'ex_lost');
\echo :LAST_ERROR_SQLSTATE
SELECT segment_import(jsonb_set(segment_export('ex_grouped'), '{group_models}', '[]'), 'ex_lost');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS nothing_stored FROM segment_models WHERE name LIKE 'ex_lost%';
-- A CLV model has no segments to label.
SELECT segment_import(jsonb_set(segment_export('ex_clv'), '{labels}', '{"0": "x"}'), 'ex_lost');
\echo :LAST_ERROR_SQLSTATE

-- The recipe of docs/operations.md: every model kept across DROP EXTENSION.
CREATE TABLE answers_before AS SELECT name, pg_temp.answers(name) AS answers FROM segment_models
WHERE is_current AND NOT metrics ? 'group';
CREATE TABLE kept_models AS
SELECT name, segment_export(name) AS doc FROM segment_models
WHERE is_current AND NOT metrics ? 'group';
DROP EXTENSION customer_segment;
CREATE EXTENSION customer_segment;
SELECT count(*) AS imported FROM kept_models, LATERAL segment_import(doc, name);
SELECT count(*) AS models, count(*) FILTER (WHERE b.answers = pg_temp.answers(b.name)) AS same_answers
FROM answers_before b;

\c regression
DROP DATABASE regress_cs_exchange;
