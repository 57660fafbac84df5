//! Writes the row functions' SQL call forms from their table (src/row_functions.rs) to
//! `$OUT_DIR/row_function_forms.rs`, included by src/api/assign/forms.rs: per function its
//! `#[pg_extern]` wrappers (row, columns and shipped forms, each a call of its answer) and one
//! `extension_sql!` block with every CREATE FUNCTION and COMMENT. Generated here because
//! `extension_sql!` takes a string literal only.

use std::fmt::Write as _;

#[allow(dead_code)]
mod table {
    include!("src/row_functions.rs");
}

use table::{RowFunction, ALIASES, ROW_FUNCTIONS};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/row_functions.rs");
    check();
    let out = std::path::Path::new(&std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("row_function_forms.rs");
    let mut code = String::new();
    for f in ROW_FUNCTIONS {
        wrappers(&mut code, f);
    }
    sql_block(&mut code);
    std::fs::write(&out, code).expect("OUT_DIR is writable");
}

/// Mistakes in the table that would otherwise surface as a failed CREATE EXTENSION.
fn check() {
    let mut names: Vec<&str> = ROW_FUNCTIONS.iter().map(|f| f.name).collect();
    names.extend(ALIASES.iter().map(|a| a.name));
    for (i, name) in names.iter().enumerate() {
        assert!(
            !names[..i].contains(name),
            "row_functions.rs: {name} is declared twice"
        );
    }
    for a in ALIASES {
        assert!(
            ROW_FUNCTIONS.iter().any(|f| f.name == a.same_as),
            "row_functions.rs: alias {} of {}, which is not a row function",
            a.name,
            a.same_as
        );
    }
}

const ROW_SIGNATURE: &str = "(text, record)";
const PLANNED_SIGNATURE: &str = "(text, text[], VARIADIC \"any\")";

/// The Rust wrappers of `f`'s forms: each reads the row as its form gives it, then calls the
/// answer.
fn wrappers(code: &mut String, f: &RowFunction) {
    let result = format!("Option<{}>", f.answer.rust_type());
    let mut wrapper = |rust_name: &str, signature: &str, read: &str| {
        writeln!(
            code,
            "#[pg_extern(stable, parallel_safe, sql = false)]\n\
             fn {rust_name}(fcinfo: pg_sys::FunctionCallInfo) -> {result} {{\n\
             \x20   // SAFETY: the SQL signature is {signature}.\n\
             \x20   answers::{answer}(unsafe {{ {read}? }}, fcinfo)\n\
             }}\n",
            answer = f.computed_by,
        )
        .expect("a String takes every write");
    };
    wrapper(f.row_fn, ROW_SIGNATURE, "row_argument(fcinfo)");
    if let Some(name) = f.columns_form() {
        wrapper(
            &name,
            PLANNED_SIGNATURE,
            "column_arguments(cached_by_raw_name(fcinfo), fcinfo)",
        );
    }
    if let Some(name) = f.shipped_form() {
        wrapper(
            &name,
            PLANNED_SIGNATURE,
            "column_arguments(cached_shipped(fcinfo), fcinfo)",
        );
    }
}

/// One `extension_sql!` block: every form of every row function and alias, with its COMMENT.
fn sql_block(code: &mut String) {
    let mut sql = String::from("\n");
    for f in ROW_FUNCTIONS {
        row_form(&mut sql, f.name, f, f.comment);
        if let Some(name) = f.columns_form() {
            planned_form(&mut sql, &name, f, &f.columns_comment());
        }
        if let Some(name) = f.shipped_form() {
            planned_form(&mut sql, &name, f, &f.shipped_comment());
        }
    }
    for a in ALIASES {
        let f = table::find(a.same_as).expect("checked");
        row_form(&mut sql, a.name, f, a.comment);
    }
    assert!(
        !sql.contains("\"#"),
        "row_functions.rs: a comment holds \"#, which ends the raw string"
    );
    writeln!(
        code,
        "pgrx::extension_sql!(\n    r#\"{sql}\"#,\n    name = \"row_functions\",\n    \
         requires = [\"segment_assign_planner\", \"row_function_types\"]\n);"
    )
    .expect("a String takes every write");
}

/// `name(model text, "row" record)`, calling `f`'s row form, with the planner support function.
fn row_form(sql: &mut String, name: &str, f: &RowFunction, comment: &str) {
    writeln!(
        sql,
        "CREATE FUNCTION {name}(model text, \"row\" record) RETURNS {returns}\n    \
         STABLE PARALLEL SAFE\n    \
         LANGUAGE c AS 'MODULE_PATHNAME', '{symbol}_wrapper'\n    \
         SUPPORT segment_assign_support;\n\
         COMMENT ON FUNCTION {name}(text, record) IS\n    '{comment}';",
        returns = f.answer.sql_type(),
        symbol = f.row_fn,
        comment = quoted(comment),
    )
    .expect("a String takes every write");
}

/// A form the planner writes, `name(model text, columns text[], VARIADIC "values" "any")`.
fn planned_form(sql: &mut String, name: &str, f: &RowFunction, comment: &str) {
    writeln!(
        sql,
        "CREATE FUNCTION {name}(model text, columns text[], VARIADIC \"values\" \"any\")\n    \
         RETURNS {returns} STABLE PARALLEL SAFE\n    \
         LANGUAGE c AS 'MODULE_PATHNAME', '{name}_wrapper';\n\
         COMMENT ON FUNCTION {name}(text, text[], \"any\") IS\n    '{comment}';",
        returns = f.answer.sql_type(),
        comment = quoted(comment),
    )
    .expect("a String takes every write");
}

/// The body of a SQL string literal.
fn quoted(text: &str) -> String {
    text.replace('\'', "''")
}
