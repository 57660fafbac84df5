//! SQL text the extension generates: identifier and literal quoting (`quote_ident`,
//! `quote_literal`), segments and tree leaves as predicates (`rules`), and the RFM scoring query's
//! pieces (`rfm`). The one place where the core writes SQL; every identifier in it is quoted here.

pub mod rfm;
pub mod rules;

/// A SQL identifier, always quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal that reads the same whatever standard_conforming_strings says.
pub fn quote_literal(value: &str) -> String {
    let body = value.replace('\'', "''");
    if body.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(
            quote_ident("Contract \"type\""),
            "\"Contract \"\"type\"\"\""
        );
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
