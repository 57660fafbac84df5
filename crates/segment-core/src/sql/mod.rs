//! SQL text the extension generates: identifier and literal quoting (`quote_ident`,
//! `quote_literal`), segments and tree leaves as predicates (`rules`), the RFM scoring query's
//! pieces (`rfm`), `segment_summary`'s grouping (`summary`) and `segment_anomalies`' rows
//! (`anomalies`). The one place where the core
//! writes SQL; every identifier in it is quoted here.

pub mod anomalies;
pub mod drivers;
pub mod rfm;
pub mod rules;
pub mod summary;

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

pub use crate::prep::encoding::MAX_IDENTIFIER_BYTES;

/// Reads a schema-qualified relation name as the extension writes it (PostgreSQL's
/// `quote_qualified_identifier`: two identifiers joined by a dot, each either plain — lowercase
/// letters, digits and underscores, not starting with a digit — or double-quoted with `""` for a
/// quote) into its two parts. Anything else — one part, three, spaces, SQL around it, an
/// identifier longer than PostgreSQL keeps — is `None`: text read back from the catalog or an
/// imported document is untrusted, and only a name that parses here is ever looked up (never
/// pasted into SQL).
pub fn parse_qualified_name(text: &str) -> Option<(String, String)> {
    let (schema, rest) = parse_identifier(text)?;
    let rest = rest.strip_prefix('.')?;
    let (name, rest) = parse_identifier(rest)?;
    rest.is_empty().then_some((schema, name))
}

/// One identifier at the start of `text`, and what follows it.
fn parse_identifier(text: &str) -> Option<(String, &str)> {
    let (ident, rest) = if let Some(quoted) = text.strip_prefix('"') {
        let mut ident = String::new();
        let mut chars = quoted.char_indices();
        loop {
            let (i, c) = chars.next()?;
            if c != '"' {
                ident.push(c);
            } else if quoted[i + 1..].starts_with('"') {
                ident.push('"');
                chars.next();
            } else {
                break (ident, &quoted[i + 1..]);
            }
        }
    } else {
        let end = text
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(text.len());
        let ident = &text[..end];
        if ident.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        (ident.to_string(), &text[end..])
    };
    let plausible =
        !ident.is_empty() && ident.len() <= MAX_IDENTIFIER_BYTES && !ident.contains('\0');
    plausible.then_some((ident, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the extension writes parses; what a planted document might hold does not.
    #[test]
    fn qualified_names() {
        let ok = |t: &str, s: &str, n: &str| {
            assert_eq!(parse_qualified_name(t), Some((s.into(), n.into())), "{t}")
        };
        ok("public.tx", "public", "tx");
        ok(
            "\"My Schema\".\"Customers; DROP TABLE victim\"",
            "My Schema",
            "Customers; DROP TABLE victim",
        );
        ok("s.\"a\"\"b\"", "s", "a\"b");
        ok("\"select\".t_1", "select", "t_1");
        for bad in [
            "tx",
            "public.tx CROSS JOIN LATERAL public.evil() e",
            "public.tx e",
            "public.tx; SELECT 1",
            "public.tx--",
            "a.b.c",
            "Public.tx",
            "public.1tx",
            "\"\".tx",
            "\"unterminated.tx",
            "public.",
            ".tx",
            "",
            "public .tx",
            "(SELECT 1).x",
        ] {
            assert_eq!(parse_qualified_name(bad), None, "{bad}");
        }
        let long = "a".repeat(MAX_IDENTIFIER_BYTES + 1);
        assert_eq!(parse_qualified_name(&format!("public.{long}")), None);
        assert!(parse_qualified_name(&format!("public.{}", &long[1..])).is_some());
    }

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
