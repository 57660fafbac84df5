-- Planted models (docs/privileges.md, "Threat model"): everything a model's row holds is
-- untrusted input. Any role may write rows for model names it owns, by INSERT or with
-- segment_import, so a role with no special privileges can put any text in any field and wait
-- for a superuser to use the model. Here such a role fits a model of every kind on a table whose
-- column names and values are SQL, renames segments to SQL, plants versions whose stored source
-- is SQL (the attack that once ran its function as a superuser), imports copies that point at
-- its view calling a function, and a per-group index that names someone else's model. Then a
-- superuser calls every function that reads a model on each of them. The canary records its
-- caller: it must never be called, and every call works or refuses with a clear error (never an
-- internal error).
SET client_min_messages = warning;
CREATE ROLE regress_cs_mallory;
GRANT CREATE ON SCHEMA public TO regress_cs_mallory;
CREATE TABLE canary_calls (called_by name, clue text);
GRANT INSERT ON canary_calls TO PUBLIC;
-- A sequence counts every call, also those whose statement then failed and rolled back.
CREATE SEQUENCE canary_seq;
GRANT USAGE ON SEQUENCE canary_seq TO PUBLIC;

-- The superuser's own model, which mallory will try to make a drop take away.
CREATE TABLE pl_victim_rows AS SELECT i AS id, (i % 5)::float8 AS x FROM generate_series(1, 50) i;
SELECT model FROM segment_fit('pl_victim_rows', ARRAY['x'], 2, name => 'pl victim');
-- ... and one whose name is what a per-group model "pl victim2" would call its group "x".
SELECT model FROM segment_fit('pl_victim_rows', ARRAY['x'], 2, name => 'pl victim2/x');

SET ROLE regress_cs_mallory;
CREATE FUNCTION public.canary(clue text DEFAULT '') RETURNS boolean LANGUAGE sql VOLATILE
AS $$ INSERT INTO public.canary_calls VALUES (current_user, clue); SELECT nextval('public.canary_seq') > 0 $$;

-- Column names and values that are SQL.
\set spend 'spend''); SELECT public.canary(''column''); --'
\set visits 'visits" FROM pg_class; SELECT public.canary() --'
\set plan 'plan\\'' OR public.canary() OR '''
\set region 'region''||public.canary(''group_by'')||'''
\set churned 'churned"; SELECT public.canary(''label''); --'
\set tier 'tier'' OR public.canary(''class'') OR '''
\set n 'pl''); SELECT public.canary(''name''); -- '
SELECT format('CREATE TABLE public."pl hostile" (id int PRIMARY KEY, %I float8, %I float8, %I text, %I text, %I boolean, %I text)',
              :'spend', :'visits', :'plan', :'region', :'churned', :'tier') AS ddl \gexec
INSERT INTO "pl hostile"
SELECT i,
       (i * 37 % 101)::float8 + CASE WHEN i % 3 = 0 THEN 300 ELSE 0 END,
       (i % 7)::float8 + CASE WHEN i % 3 = 0 THEN 20 ELSE 0 END,
       (ARRAY['basic'' OR public.canary(''value'') OR ''', 'pro"; SELECT public.canary(); --', E'x\\'' --'])[1 + i % 3],
       (ARRAY['north'' OR public.canary(''group'') OR ''', 'south"); --'])[1 + i % 2],
       i % 3 = 0,
       (ARRAY['gold'' OR public.canary(''class'') OR ''', 'silver', 'bronze"; --'])[1 + i % 3]
FROM generate_series(1, 240) i;
SELECT format('CREATE TABLE public.pl_tx (%I text, %I date, %I numeric)', :'n' || 'customer', :'n' || 'at', :'n' || 'amount') \gexec
INSERT INTO pl_tx
SELECT 'c'' OR public.canary(''customer'') OR ''' || (i % 40), date '2024-01-01' + (i * 7 % 300), (i % 13) + 1
FROM generate_series(1, 600) i;
-- A view that calls the canary for each row it gives.
CREATE VIEW public.pl_view AS SELECT h.*, public.canary('view') AS c FROM "pl hostile" h;
-- A type of its own whose cast to text calls the canary, in a column of the plain table.
CREATE TYPE public.pl_kind AS ENUM ('a', 'b');
CREATE FUNCTION public.pl_kind_text(pl_kind) RETURNS text LANGUAGE sql AS $$ SELECT public.canary('cast')::text $$;
CREATE CAST (public.pl_kind AS text) WITH FUNCTION public.pl_kind_text(public.pl_kind);
ALTER TABLE "pl hostile" ADD COLUMN kind pl_kind DEFAULT 'a';

-- A model of every kind, fitted by mallory on that table, with a segment renamed to SQL.
SELECT format('SELECT count(*) FROM segment_fit(%L, %L, %s, name => %L, options => %L)',
              '"pl hostile"', features, coalesce(k::text, 'NULL'), :'n' || kind, options)
FROM (VALUES
    ('kmeans', ARRAY[:'spend', :'visits'], 3, '{}'),
    ('gmm', ARRAY[:'spend', :'visits'], 3, '{"method": "gmm"}'),
    ('hierarchical', ARRAY[:'spend', :'visits'], 3, '{"method": "hierarchical"}'),
    ('dbscan', ARRAY[:'spend', :'visits'], NULL, '{"method": "dbscan", "eps": 0.5}'),
    ('minibatch', ARRAY[:'spend', :'visits'], 3, '{"method": "minibatch_kmeans"}'),
    ('kprototypes', ARRAY[:'spend', :'visits', :'plan'], 3, '{"method": "kprototypes"}'),
    ('grouped', ARRAY[:'spend', :'visits', :'plan'], 2, format('{"group_by": %s}', to_jsonb(:'region'::text))),
    ('log', ARRAY[:'spend', :'visits'], 3, format('{"log": [%s], "impute": "median"}', to_jsonb(:'spend'::text)))
) AS m(kind, features, k, options) \gexec
SELECT count(*) FROM segment_churn_fit('"pl hostile"', ARRAY[:'spend', :'visits', :'plan'], :'churned', :'n' || 'churn');
SELECT count(*) FROM segment_classify_fit('"pl hostile"', ARRAY[:'spend', :'visits', :'plan'], :'tier', :'n' || 'tree');
SELECT count(*) FROM segment_classify_fit('"pl hostile"', ARRAY[:'spend', :'visits', :'plan'], :'tier', :'n' || 'forest',
                                          '{"method": "forest", "n_trees": 5}');
SELECT count(*) FROM segment_clv_fit('pl_tx', :'n' || 'customer', :'n' || 'at', :'n' || 'amount', '2024-09-01', :'n' || 'clv');
SELECT count(segment_rename(name, 0, 'x''); SELECT public.canary(''label''); --'))
FROM segment_models
WHERE name LIKE 'pl%' AND method IN ('kmeans', 'gmm', 'hierarchical', 'dbscan', 'minibatch_kmeans', 'kprototypes');

-- The extension reads a grouping or customer column as text: it will not call that cast.
SELECT * FROM segment_fit('"pl hostile"', ARRAY[:'spend'], 2, 'pl cast', '{"group_by": "kind"}');
\echo :LAST_ERROR_SQLSTATE

-- Planted by INSERT: a version whose stored source is SQL (the attack that ran evil() as a
-- superuser through segment_clv), and labels and options that no fit would write.
INSERT INTO segment_model_access (name, owner)
SELECT name || ' (planted)', 'regress_cs_mallory'::regrole FROM segment_model_access WHERE name LIKE 'pl%' AND name NOT LIKE '%/%';
INSERT INTO segment_model (name, version, format_version, source, options, model, metrics, labels, rows_used, rows_skipped)
SELECT name || ' (planted)', 1, format_version, 'public.pl_tx CROSS JOIN LATERAL public.canary(''source'') e',
       options,
       CASE WHEN model->>'method' = 'clv'
            THEN jsonb_set(model, '{source}', '"public.pl_tx CROSS JOIN LATERAL public.canary(''source'') e"')
            ELSE model END,
       metrics, '{"0": "x''); SELECT public.canary(''label''); --"}', rows_used, rows_skipped
FROM segment_model WHERE name LIKE 'pl%' AND name NOT LIKE '%/%';
INSERT INTO segment_model_access (name, owner) VALUES
    ('pl bad labels', 'regress_cs_mallory'), ('pl bad options', 'regress_cs_mallory'),
    ('pl clv in DMY', 'regress_cs_mallory'), ('pl steals victim', 'regress_cs_mallory'),
    ('pl victim2', 'regress_cs_mallory'), ('pl cast group', 'regress_cs_mallory');
INSERT INTO segment_model (name, version, format_version, source, options, model, metrics, labels, rows_used, rows_skipped)
SELECT v.name, 1, m.format_version, m.source, coalesce(v.options, m.options),
       CASE WHEN v.name = 'pl clv in DMY' THEN jsonb_set(m.model, '{calibration_end}', '"01/09/2024 00:00:00 UTC"')
            WHEN v.name = 'pl steals victim' THEN jsonb_set(m.model, '{groups}', '[{"value": "x", "rows": 50, "model": "pl victim", "version": 1}]')
            WHEN v.name = 'pl victim2' THEN jsonb_set(m.model, '{groups}', '[{"value": "x", "rows": 50, "model": "pl victim2/x", "version": 1}]')
            ELSE m.model END,
       CASE WHEN v.name = 'pl cast group' THEN jsonb_set(m.metrics, '{group}', '{"model": "x", "group_by": "kind", "value": "a"}')
            ELSE m.metrics END,
       coalesce(v.labels, '{}'), m.rows_used, m.rows_skipped
FROM (VALUES ('pl bad labels', NULL, '{"7": "no such segment"}'::jsonb, :'n' || 'kmeans'),
             ('pl bad options', '{"seed": "seven"}'::jsonb, NULL, :'n' || 'kmeans'),
             ('pl clv in DMY', NULL, NULL, :'n' || 'clv'),
             ('pl steals victim', NULL, NULL, :'n' || 'grouped'),
             ('pl victim2', NULL, NULL, :'n' || 'grouped'),
             ('pl cast group', NULL, NULL, :'n' || 'kmeans')) v(name, options, labels, copy_of)
JOIN segment_model m ON m.name = v.copy_of;

-- Planted by segment_import: copies that point at the view (a real relation, which reading runs
-- the canary); an import whose source is SQL is refused before anything is stored.
SELECT count(*) FROM segment_models m,
    LATERAL segment_import(jsonb_set(segment_export(m.name), '{source}', '"public.pl_view"'), m.name || ' (imported)')
WHERE m.name LIKE 'pl%' AND m.name NOT LIKE '%/%' AND m.method NOT IN ('clv', 'grouped')
  AND m.name NOT LIKE 'pl %' AND m.name NOT LIKE '%(planted)';
SELECT segment_import(jsonb_set(segment_export(:'n' || 'kmeans'), '{source}', '"public.pl_tx CROSS JOIN LATERAL public.canary() e"'), 'pl refused');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- The superuser calls every function that reads a model, on every model mallory wrote.
CREATE TABLE planted_calls (model text, call text, outcome text, message text);
CREATE FUNCTION pg_temp.try(model text, call text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE state text; msg text;
BEGIN
    -- Every column of every row is read (an unread output of a subquery is never computed).
    EXECUTE format('SELECT sum(length(x::text)) FROM (SELECT %s) x', replace(call, '$m', quote_literal(model)));
    INSERT INTO planted_calls VALUES (model, call, 'ok', NULL);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    INSERT INTO planted_calls VALUES (model, call, state, msg);
    RETURN false;
END $$;
CREATE TABLE planted_call_list (call text);
INSERT INTO planted_call_list VALUES
    ('segment_assign($m, h) FROM "pl hostile" h'),
    ('segment_assign_proba($m, h) FROM "pl hostile" h'),
    ('segment_explain($m, h) FROM "pl hostile" h'),
    ('segment_churn_predict($m, h) FROM "pl hostile" h'),
    ('segment_churn_assign($m, h) FROM "pl hostile" h'),
    ('segment_classify($m, h) FROM "pl hostile" h'),
    ('segment_classify_proba($m, h) FROM "pl hostile" h'),
    ('segment_label($m, 0)'),
    ('* FROM segment_labels($m)'),
    ('* FROM segment_centroids($m)'),
    ('* FROM segment_profile($m)'),
    ('* FROM segment_rules($m)'),
    ('* FROM segment_rules($m, 2, ''"pl hostile"'')'),
    ('* FROM segment_churn_rules($m)'),
    ('segment_churn_tree($m)'),
    ('* FROM segment_churn_importance($m)'),
    ('* FROM segment_classify_rules($m)'),
    ('* FROM segment_classify_report($m)'),
    ('segment_classify_classes($m)'),
    ('* FROM segment_classify_importance($m)'),
    ('* FROM segment_evaluate($m)'),
    ('* FROM segment_evaluate($m, ''"pl hostile"'')'),
    ('* FROM segment_drift($m)'),
    ('* FROM segment_drift($m, ''"pl hostile"'')'),
    ('* FROM segment_compare($m, 1, 1)'),
    ('segment_plot($m, ''scatter'')'),
    ('segment_plot($m, ''profile'')'),
    ('segment_plot($m, ''tree'')'),
    ('segment_export($m)'),
    ('* FROM segment_groups($m)'),
    ('* FROM segment_group_labels($m)'),
    ('* FROM segment_clv($m)'),
    ('segment_create_view($m, ''"pl hostile"'', ''pl_view_'' || left(md5($m), 8))'),
    ('* FROM segment_refit($m)');
SELECT count(*) AS calls
FROM (SELECT name FROM segment_model_access WHERE owner = 'regress_cs_mallory'::regrole AND name NOT LIKE '%/%') a,
     planted_call_list c, LATERAL pg_temp.try(a.name, c.call);

-- The canary was never called (not even by a call that then failed), and no call failed
-- inside the extension.
SELECT count(*) AS canary_calls FROM canary_calls;
SELECT is_called AS canary_ever_called FROM canary_seq;
SELECT count(*) AS calls, count(*) FILTER (WHERE outcome = 'ok') AS worked,
       count(*) FILTER (WHERE outcome = 'XX000') AS internal_errors
FROM planted_calls;
SELECT model, call, message FROM planted_calls WHERE outcome = 'XX000' ORDER BY 1, 2;

-- Mallory's own models (hostile names, columns, values and labels) work as any model does; the
-- refusals are the usual ones for a function of another kind of model.
SELECT call, count(*) FILTER (WHERE outcome = 'ok') AS worked,
       string_agg(DISTINCT outcome, ' ' ORDER BY outcome) FILTER (WHERE outcome <> 'ok') AS refused_with
FROM planted_calls WHERE model NOT LIKE '%(planted)' AND model NOT LIKE '%(imported)' AND model NOT LIKE 'pl %'
GROUP BY call ORDER BY call;

-- What the superuser is told about the planted rows: a source that is SQL, labels or options no
-- fit writes, a CLV time in a session's DateStyle, an index naming another model (55000); the
-- imported copies read mallory's view only where the superuser passes a source (42501).
SELECT outcome, regexp_replace(message, '^model "[^"]*"', 'model "..."') AS message, count(*) AS calls
FROM planted_calls
WHERE (model LIKE '%(planted)' OR model LIKE '%(imported)' OR model LIKE 'pl %') AND outcome IN ('55000', '42501')
GROUP BY 1, 2 ORDER BY 1, 2;

-- A refit of mallory's model on a table only the superuser may read would put those rows into
-- her model: refused.
CREATE TABLE pl_secret AS SELECT * FROM "pl hostile";
SELECT * FROM segment_refit(:'n' || 'kmeans', 'pl_secret');
\echo :LAST_ERROR_SQLSTATE

-- A drop of every model mallory wrote leaves the superuser's models in place.
SELECT count(segment_drop(name, cascade => true)) AS dropped
FROM segment_model_access WHERE owner = 'regress_cs_mallory'::regrole AND name NOT LIKE '%/%';
SELECT name, version FROM segment_models WHERE name IN ('pl victim', 'pl victim2/x') ORDER BY name;
SELECT count(*) AS canary_calls FROM canary_calls;
SELECT is_called AS canary_ever_called FROM canary_seq;

DROP VIEW pl_view;
DROP TABLE "pl hostile", pl_tx, pl_victim_rows, pl_secret, planted_calls, planted_call_list, canary_calls CASCADE;
DROP CAST (pl_kind AS text);
DROP FUNCTION pl_kind_text(pl_kind);
DROP TYPE pl_kind;
DROP FUNCTION canary(text);
DROP SEQUENCE canary_seq;
SELECT segment_drop('pl victim'), segment_drop('pl victim2/x');
REVOKE CREATE ON SCHEMA public FROM regress_cs_mallory;
DROP ROLE regress_cs_mallory;
RESET client_min_messages;
