//! The SQL call forms of the row functions, each a few lines over its answer (answers.rs): the
//! row form `f(model, "row" record)`, which the planner support function rewrites into the
//! columns form `f_columns(model, names, VARIADIC columns)` (the model by name) or the shipped
//! form `f_shipped(document, names, VARIADIC columns)` (the model in the query, for Citus).

use super::answers::{
    assign_values, churn_probability, class_of, class_proba, explanation, memberships,
};
use super::call_site::{cached_by_raw_name, cached_shipped};
use super::columns::column_arguments;
use super::record::row_argument;
use pgrx::prelude::*;

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_row(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature is (text, record).
    assign_values(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    assign_values(
        unsafe { column_arguments(cached_by_raw_name(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<i32> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    assign_values(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_explain(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<pgrx::composite_type!('static, "segment_explanation")> {
    // SAFETY: the SQL signature is (text, record).
    explanation(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_explain_shipped(
    fcinfo: pg_sys::FunctionCallInfo,
) -> Option<pgrx::composite_type!('static, "segment_explanation")> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    explanation(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_churn_predict(fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    // SAFETY: the SQL signature is (text, record).
    churn_probability(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_churn_predict_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<f64> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    churn_probability(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_proba(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, record).
    memberships(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_assign_proba_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    memberships(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, record).
    class_of(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_of(
        unsafe { column_arguments(cached_by_raw_name(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<String> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_of(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, record).
    class_proba(unsafe { row_argument(fcinfo)? }, fcinfo)
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba_columns(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_proba(
        unsafe { column_arguments(cached_by_raw_name(fcinfo), fcinfo)? },
        fcinfo,
    )
}

#[pg_extern(stable, parallel_safe, sql = false)]
fn segment_classify_proba_shipped(fcinfo: pg_sys::FunctionCallInfo) -> Option<Vec<f64>> {
    // SAFETY: the SQL signature is (text, text[], VARIADIC "any").
    class_proba(
        unsafe { column_arguments(cached_shipped(fcinfo), fcinfo)? },
        fcinfo,
    )
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_assign_columns(model text, columns text[], VARIADIC "values" "any")
    RETURNS integer STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_columns_wrapper';
COMMENT ON FUNCTION segment_assign_columns(text, text[], "any") IS
    'Internal: called by segment_assign(model, row) once the planner support function has rewritten it to pass the row''s columns after their names; not for direct use';
CREATE FUNCTION segment_assign_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS integer STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_shipped(text, text[], "any") IS
    'Internal: segment_assign(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): segment_assign_columns with the model''s document in place of its name; not for direct use';
CREATE FUNCTION segment_assign(model text, "row" record) RETURNS integer
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_row_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_assign(text, record) IS
    'segment of a row under the current version of a model; features are picked by column name';
"#,
    name = "segment_assign_row",
    requires = [
        segment_assign_row,
        segment_assign_columns,
        segment_assign_shipped,
        "segment_assign_planner"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_explain(model text, "row" record) RETURNS segment_explanation
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_explain(text, record) IS
    'segment of a row with its distance, the runner-up segment and the margin between them';
CREATE FUNCTION segment_explain_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS segment_explanation STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_explain_shipped_wrapper';
COMMENT ON FUNCTION segment_explain_shipped(text, text[], "any") IS
    'Internal: segment_explain(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
"#,
    name = "segment_explain_sql",
    requires = [
        segment_explain,
        segment_explain_shipped,
        "segment_assign_planner",
        "row_function_types"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_churn_predict(model text, "row" record) RETURNS double precision
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_churn_predict_wrapper'
    SUPPORT segment_assign_support;
CREATE FUNCTION segment_churn_predict_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_churn_predict_shipped_wrapper';
COMMENT ON FUNCTION segment_churn_predict_shipped(text, text[], "any") IS
    'Internal: segment_churn_predict(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
COMMENT ON FUNCTION segment_churn_predict(text, record) IS
    'churn models: the row''s churn probability (its leaf''s training churn rate)';
CREATE FUNCTION segment_churn_assign(model text, "row" record) RETURNS integer
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_row_wrapper'
    SUPPORT segment_assign_support;
COMMENT ON FUNCTION segment_churn_assign(text, record) IS
    'churn models: the row''s leaf, its churn-risk segment (the same as segment_assign)';
"#,
    name = "segment_churn_row_sql",
    requires = [
        segment_churn_predict,
        segment_churn_predict_shipped,
        "segment_assign_row"
    ]
);

pgrx::extension_sql!(
    r#"
CREATE FUNCTION segment_assign_proba(model text, "row" record) RETURNS double precision[]
    STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_proba_wrapper'
    SUPPORT segment_assign_support;
CREATE FUNCTION segment_assign_proba_shipped(model text, columns text[], VARIADIC "values" "any")
    RETURNS double precision[] STABLE PARALLEL SAFE
    LANGUAGE c AS 'MODULE_PATHNAME', 'segment_assign_proba_shipped_wrapper';
COMMENT ON FUNCTION segment_assign_proba_shipped(text, text[], "any") IS
    'Internal: segment_assign_proba(model, row) as planned with the model shipped in the query (customer_segment.ship_models, Citus workers): the model''s document in place of its name, then the row''s column names and columns; not for direct use';
COMMENT ON FUNCTION segment_assign_proba(text, record) IS
    'Gaussian mixture models: membership probability of each segment (element s + 1 is segment s)';
"#,
    name = "segment_assign_proba_sql",
    requires = [
        segment_assign_proba,
        segment_assign_proba_shipped,
        "segment_assign_planner"
    ]
);

pgrx::extension_sql!(
    r#"
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
"#,
    name = "segment_classify_sql",
    requires = [
        segment_classify,
        segment_classify_columns,
        segment_classify_shipped,
        segment_classify_proba,
        segment_classify_proba_columns,
        segment_classify_proba_shipped,
        "segment_assign_planner"
    ]
);
