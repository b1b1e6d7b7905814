//! serde's and serde-saphyr's words for a value of the wrong type (`invalid u32`,
//! `invalid type: string "x", expected i64`, `expected sequence start`), said in the terms of
//! the YAML a user wrote: "expected an integer, found the string \"x\"". Only wording: where
//! the error is and whether it is one is decided by the parser.

/// A parser's message said for people, or `None` when it already is.
pub(super) fn plain_words(message: &str) -> Option<String> {
    let plain = match message {
        "invalid u8" | "invalid u16" | "invalid u32" | "invalid u64" | "invalid usize" => {
            Some("expected a non-negative integer")
        }
        "invalid i32" | "invalid i64" => Some("expected an integer"),
        "invalid f32" | "invalid f64" => Some("expected a number"),
        "expected sequence start" => Some("expected a list"),
        "expected mapping start" => Some("expected a mapping"),
        "expected string scalar" => Some("expected a string"),
        // `key:` or `key: ~` where text is wanted (a var, a matrix value).
        "cannot deserialize null into string; use Option<String>" => {
            Some("expected a value, found nothing (write `''` for an empty one)")
        }
        // The library's advice to its callers (which function to call instead), not the user's.
        "multiple YAML documents detected; use from_str_multiple or from_str_multiple_with_options" => {
            Some("a second YAML document: a file holds one (remove the `---` and what follows, or move it to a file of its own)")
        }
        _ => None,
    };
    match plain {
        Some(plain) => Some(plain.to_string()),
        None => plain_invalid(message),
    }
}

/// serde's `invalid type: string "x", expected i64` (and `invalid value: ...`), with Rust's
/// type names and serde's data model turned into what the YAML says: "expected an integer,
/// found the string \"x\"". Any other shape is kept as written.
fn plain_invalid(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a non-negative integer",
        "f32" | "f64" => "a number",
        "a boolean" | "bool" => "`true` or `false`",
        "a sequence" => "a list",
        "a map" => "a mapping",
        "a string" | "a borrowed string" | "a character" | "char" => "a string",
        e if e.starts_with("struct ") || e.starts_with("a map of") => "a mapping",
        e if e.starts_with("a sequence") => "a list",
        e => e,
    };
    let found = if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        b.to_string()
    } else {
        match found {
            "map" => "a mapping".to_string(),
            "sequence" => "a list".to_string(),
            "unit value" | "null" => "nothing (null)".to_string(),
            other => other.to_string(),
        }
    };
    Some(format!("expected {expected}, found {found}"))
}

#[cfg(test)]
mod tests {
    use super::plain_invalid;

    #[test]
    fn serde_type_errors_are_said_in_yaml_words() {
        let cases = [
            (
                r#"invalid type: string "two hundred", expected i64"#,
                r#"expected an integer, found the string "two hundred""#,
            ),
            (
                "invalid type: map, expected a value or a list of values",
                "expected a value or a list of values, found a mapping",
            ),
            (
                "invalid value: integer `-1`, expected u32",
                "expected a non-negative integer, found the number -1",
            ),
            (
                "invalid type: sequence, expected struct RawTurn",
                "expected a mapping, found a list",
            ),
            (
                "invalid type: boolean `true`, expected a string",
                "expected a string, found `true`",
            ),
            (
                "invalid type: unit value, expected a sequence",
                "expected a list, found nothing (null)",
            ),
        ];
        for (serde, plain) in cases {
            assert_eq!(plain_invalid(serde).as_deref(), Some(plain), "{serde}");
        }
        assert_eq!(plain_invalid("unknown field `turnz`"), None);
    }
}
