{#- Macros that keep the segmentation model of this project (docs/dbt.md). -#}

{#- A SQL string literal: the text in single quotes, its quotes doubled. -#}
{% macro sql_literal(value) -%}
  '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro segment_model_literal() -%}
  {{ sql_literal(var('segment_model')) }}
{%- endmacro %}

{#- var segment_options as JSON text for segment_fit's options: a YAML mapping, or a JSON object
    written as a quoted YAML string. Anything else stops the run with a message naming the var. -#}
{% macro segment_options_json() -%}
  {%- set options = var('segment_options', {}) -%}
  {%- if options is string -%}
    {%- set parsed = fromjson(options) -%}
    {%- if parsed is not mapping -%}
      {{ exceptions.raise_compiler_error(
           "var segment_options is not a JSON object: " ~ options
           ~ " (write a YAML mapping, or a JSON object in quotes: '{\"seed\": 1}')") }}
    {%- endif -%}
    {%- set options = parsed -%}
  {%- elif options is not mapping -%}
    {{ exceptions.raise_compiler_error("var segment_options must be a mapping, not " ~ options) }}
  {%- endif -%}
  {{ return(tojson(options)) }}
{%- endmacro %}

{#- The statement that fits a new version of the model on `relation`. -#}
{% macro segment_fit_sql(relation) -%}
  SELECT model, version
  FROM segment_fit({{ sql_literal(relation.include(database=false)) }},
                   ARRAY[{% for f in var('segment_features') %}{{ sql_literal(f) }}{% if not loop.last %}, {% endif %}{% endfor %}],
                   k => {{ var('segment_k') | int }},
                   name => {{ segment_model_literal() }},
                   options => {{ sql_literal(segment_options_json()) }})
{%- endmacro %}

{#- Whether this run fits a new version, by the refit policy (var segment_refit, or `policy`):
    always: every run; drift: when the model does not exist yet, or segment_drift of the rows of
    `relation` against the training rows reaches var segment_refit_psi; never: only when the
    model does not exist yet. -#}
{% macro segment_needs_fit(relation, policy=none) -%}
  {%- set policy = policy or var('segment_refit', 'drift') -%}
  {%- if policy not in ['always', 'drift', 'never'] -%}
    {{ exceptions.raise_compiler_error("var segment_refit must be always, drift or never, not " ~ policy) }}
  {%- endif -%}
  {%- set current = run_query("SELECT count(*) FROM segment_models WHERE is_current AND name = "
                              ~ segment_model_literal()).columns[0].values()[0] -%}
  {%- if current == 0 -%}
    {%- do log("segments: " ~ var('segment_model') ~ " does not exist yet: fitting it", info=true) -%}
    {{ return(true) }}
  {%- elif policy == 'always' -%}
    {{ return(true) }}
  {%- elif policy == 'never' -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set psi = run_query("SELECT max(psi_total) FROM segment_drift(" ~ segment_model_literal() ~ ", "
                          ~ sql_literal(relation.include(database=false)) ~ ")").columns[0].values()[0] -%}
  {%- set threshold = var('segment_refit_psi', 0.25) | float -%}
  {%- do log("segments: " ~ var('segment_model') ~ " drift psi_total " ~ psi ~ " (refit from "
             ~ threshold ~ ")", info=true) -%}
  {{ return(psi is not none and psi >= threshold) }}
{%- endmacro %}

{#- The pre-hook of the model that assigns: the fit when the policy asks for one, else a
    statement that does nothing. Rendered when the hook runs (execute is true). -#}
{% macro fit_segments(relation) -%}
  {%- if execute and segment_needs_fit(relation) -%}
    {{ segment_fit_sql(relation) }}
  {%- else -%}
    SELECT 'kept the current version' AS segments
  {%- endif -%}
{%- endmacro %}

{#- dbt run-operation refit_segments [--args '{policy: drift}']: fits outside a run, by a policy
    (default always). A run-operation's run_query commits each statement. -#}
{% macro refit_segments(policy='always') %}
  {%- set relation = ref('customer_features') -%}
  {%- if segment_needs_fit(relation, policy) -%}
    {%- set result = run_query(segment_fit_sql(relation)) -%}
    {%- do log("segments: fitted " ~ result.columns[0].values()[0] ~ " version "
               ~ result.columns[1].values()[0], info=true) -%}
  {%- else -%}
    {%- do log("segments: kept the current version", info=true) -%}
  {%- endif -%}
{% endmacro %}

{#- on-run-end: keep the newest var segment_keep_versions versions (segment_prune never deletes
    the current one). Nothing when the model does not exist yet. -#}
{% macro prune_segment_versions() -%}
  SELECT segment_prune(name, keep => {{ var('segment_keep_versions', 3) | int }}) AS versions_deleted
  FROM segment_models WHERE is_current AND name = {{ segment_model_literal() }}
{%- endmacro %}
