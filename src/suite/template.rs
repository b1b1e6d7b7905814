//! The two kinds of substitution a suite can hold, kept apart on purpose:
//!
//! - `${VAR}` / `${VAR:-default}` in endpoint fields, expanded once at load from the injected
//!   environment lookup (never `std::env`), so a missing secret is a load error;
//! - `{{name}}` in messages and expectations, expanded per run from the dialogue's vars and the
//!   captures of earlier turns. The loader checks every reference; the runner calls
//!   [`expand_template`].
//!
//! Neither does I/O.

use std::collections::BTreeMap;

use secrecy::SecretString;

/// One `{{name}}` occurrence: the name and the byte range of the whole `{{ ... }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// Every well-formed `{{name}}` in `template`, in order. Anything else that looks like a brace
/// (`{{`, `{{ two words }}`, `{{}}`) is plain text: agent messages may contain code or JSON,
/// and refusing them would make some dialogues impossible to write.
pub fn references(template: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = find_pair(template, from, b'{') {
        let inner_start = open + 2;
        let Some(close) = find_pair(template, inner_start, b'}') else {
            break;
        };
        let name = template[inner_start..close].trim();
        if is_name(name) {
            out.push(Reference {
                name: name.to_string(),
                start: open,
                end: close + 2,
            });
            from = close + 2;
        } else {
            // Not a reference; look for another `{{` starting right after this one.
            from = open + 1;
        }
    }
    out
}

/// The name of the one reference `text` is, around it only spaces: `{{turn}}`,
/// ` {{ history }} `. An `http` body string that is a reference alone takes the value's JSON
/// type (the history's array, the turn's number), where one inside other text is text; the
/// loader and the sender both ask this, so what is checked is what is sent.
pub fn whole_reference(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let name = inner.trim();
    is_name(name).then_some(name)
}

/// A reference with one brace too few: `{{name}` or `{{name` (no `}}` closes it) or `{name}}`
/// (no `{{` opens it). Sent as written, it would reach the agent as text in place of the value
/// (SPEC §8.3: no message goes out with `{{name}}` left in it), so the loader refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unclosed {
    pub name: String,
    /// The bytes from the first brace through the last.
    pub start: usize,
    pub end: usize,
}

/// Every [`Unclosed`] reference of `template`, outside its real references. Only a name next to
/// the braces counts (`{{ in templates` is text, not a typo).
pub fn unclosed(template: &str) -> Vec<Unclosed> {
    let mut out = Vec::new();
    if memchr::memchr2(b'{', b'}', template.as_bytes()).is_none() {
        return out;
    }
    let refs = references(template);
    let inside = |i: usize| refs.iter().any(|r| r.start <= i && i < r.end);
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut from = 0;
    while let Some(open) = find_pair(template, from, b'{') {
        from = open + 1;
        if inside(open) {
            continue;
        }
        let rest = template[open + 2..].trim_start_matches(' ');
        let name = &rest[..rest.find(|c| !name_char(c)).unwrap_or(rest.len())];
        let tail = rest[name.len()..].trim_start_matches(' ');
        let once = tail.starts_with('}') && !tail.starts_with("}}");
        if is_name(name) && (tail.is_empty() || once) {
            let end = template.len() - tail.len() + usize::from(once);
            out.push(Unclosed {
                name: name.to_string(),
                start: open,
                end,
            });
        }
    }
    let mut from = 0;
    while let Some(close) = find_pair(template, from, b'}') {
        from = close + 1;
        if inside(close) {
            continue;
        }
        let before = template[..close].trim_end_matches(' ');
        let start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| !name_char(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let name = &before[start..];
        let head = before[..start].trim_end_matches(' ');
        if is_name(name) && head.ends_with('{') && !head.ends_with("{{") {
            out.push(Unclosed {
                name: name.to_string(),
                start: head.len() - 1,
                end: close + 2,
            });
        }
    }
    out
}

/// The byte index of the first `cc` (`{{` or `}}`) at or after `from`. By bytes: the loader
/// looks for references in every message and expected string of a suite, most without any,
/// and a byte scan costs a fraction of a substring search.
fn find_pair(text: &str, from: usize, c: u8) -> Option<usize> {
    let bytes = text.as_bytes().get(from..)?;
    bytes.windows(2).position(|w| w == [c, c]).map(|i| from + i)
}

/// Replaces each `{{name}}` that has a value; an unknown name stays as written, which the
/// loader has already refused, so at run time it can only mean a literal.
pub fn expand_template(template: &str, values: &BTreeMap<String, String>) -> String {
    expand_references(template, &references(template), |name| {
        values.get(name).map(String::as_str)
    })
}

/// [`expand_template`] with the references of `template` found beforehand (a template used
/// again and again need not be scanned each time) and the values from `value`. One pass: a
/// value that holds `{{name}}` stays text.
pub fn expand_references<'v>(
    template: &str,
    refs: &[Reference],
    value: impl Fn(&str) -> Option<&'v str>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut last = 0;
    for r in refs {
        if let Some(v) = value(&r.name) {
            out.push_str(&template[last..r.start]);
            out.push_str(v);
            last = r.end;
        }
    }
    out.push_str(&template[last..]);
    out
}

/// A name `{{name}}` can refer to: a letter or `_`, then letters, digits, `_`, `-` and `.`.
pub fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The result of expanding `${VAR}` in one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvExpanded {
    pub value: String,
    /// Whether any `${...}` was expanded: such a header value is treated as a secret.
    pub used_env: bool,
    /// The non-empty values taken from the environment (not defaults written in the file).
    pub env_values: Vec<String>,
}

impl EnvExpanded {
    /// The values the environment gave that may be keys, each a secret: not a default written
    /// in the file (public like the rest of it), and not one too short to be a credential
    /// (`en`, `1`), whose redaction would blank ordinary words in every report and golden.
    pub fn secrets(&self) -> Vec<SecretString> {
        self.env_values
            .iter()
            .filter(|v| crate::redact::env_secret(v))
            .map(|v| SecretString::from(v.as_str()))
            .collect()
    }
}

/// Why a string's `${...}` could not be expanded; `offset` is the byte offset of the `$`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("environment variable `{var}` is not set")]
    Unset { var: String, offset: usize },
    #[error("`${{` is not closed by `}}`")]
    Unclosed { offset: usize },
    #[error("`{text}` is not a valid variable name")]
    BadName { text: String, offset: usize },
}

impl EnvError {
    pub fn offset(&self) -> usize {
        match self {
            EnvError::Unset { offset, .. }
            | EnvError::Unclosed { offset }
            | EnvError::BadName { offset, .. } => *offset,
        }
    }
}

/// Expands `${VAR}` and `${VAR:-default}` through `env`.
///
/// Escaping: `$${` is a literal `${` (the one way to write one). Every other `$`, alone or
/// doubled, stays as written, so keys and URLs holding a `$` need no escaping at all.
/// As in the shell, `${VAR:-x}` gives `x` when VAR is unset *or empty*: CI systems hand empty
/// strings for secrets they withhold (a fork's pull request on GitHub Actions), and the
/// default is what such a run needs. `${VAR}` with VAR set to "" gives "".
pub fn expand_env(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EnvExpanded, EnvError> {
    let mut out = String::with_capacity(text.len());
    let mut used_env = false;
    let mut env_values = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(stripped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = stripped;
            base += i + 3;
            continue;
        }
        if !after.starts_with("${") {
            out.push('$');
            rest = &after[1..];
            base += i + 1;
            continue;
        }
        let offset = base + i;
        let Some(close) = after.find('}') else {
            return Err(EnvError::Unclosed { offset });
        };
        let inner = &after[2..close];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let valid = {
            let mut chars = name.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !valid {
            return Err(EnvError::BadName {
                text: format!("${{{inner}}}"),
                offset,
            });
        }
        match (env(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => {
                out.push_str(&v);
                if !v.is_empty() {
                    env_values.push(v);
                }
            }
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(EnvError::Unset {
                    var: name.to_string(),
                    offset,
                })
            }
        }
        used_env = true;
        rest = &after[close + 1..];
        base += i + close + 1;
    }
    out.push_str(rest);
    Ok(EnvExpanded {
        value: out,
        used_env,
        env_values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brace_too_few_is_found_and_text_is_not() {
        fn found(t: &str) -> Vec<(String, String)> {
            unclosed(t)
                .into_iter()
                .map(|u| (u.name.clone(), t[u.start..u.end].to_string()))
                .collect()
        }
        let one = |name: &str, written: &str| vec![(name.to_string(), written.to_string())];
        assert_eq!(found("{{message}"), one("message", "{{message}"));
        assert_eq!(
            found("Where is my {{product} order?"),
            one("product", "{{product}")
        );
        assert_eq!(found("ends with {{ name"), one("name", "{{ name"));
        assert_eq!(found("{message}}"), one("message", "{message}}"));
        assert_eq!(found("a {{x}} and {y}} b"), one("y", "{y}}"));
        assert_eq!(found("é{é{x}}"), one("x", "{x}}"));
        for fine in [
            "",
            "{{message}}",
            "{{ message }}",
            "{{{message}}}",
            "use {{ in templates",
            r#"{"a": {"b": 1}}"#,
            r#"{"x": {"y": z}}"#,
            "a } and { b",
            "{{1}",
            "café}} {{é}",
            "}}é{{",
        ] {
            assert_eq!(found(fine), vec![], "{fine}");
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "KEY" => Some("ak_test_123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn exp(text: &str) -> Result<EnvExpanded, EnvError> {
        expand_env(text, &env)
    }

    #[test]
    fn env_vars_and_defaults() {
        assert_eq!(exp("${KEY}").unwrap().value, "ak_test_123");
        assert!(exp("${KEY}").unwrap().used_env);
        assert_eq!(exp("Bearer ${KEY}!").unwrap().value, "Bearer ak_test_123!");
        assert_eq!(exp("${NOPE:-x}").unwrap().value, "x");
        assert_eq!(exp("${NOPE:-}").unwrap().value, "");
        assert_eq!(
            exp("${EMPTY:-x}").unwrap().value,
            "x",
            "empty counts as unset, as in sh"
        );
        assert_eq!(exp("${EMPTY}").unwrap().value, "");
        assert_eq!(exp("Bearer ${KEY}").unwrap().env_values, ["ak_test_123"]);
        assert!(
            exp("${NOPE:-x}").unwrap().env_values.is_empty(),
            "defaults are not secrets"
        );
        assert_eq!(exp("${KEY:-x}").unwrap().value, "ak_test_123");
        assert_eq!(exp("${NOPE:-a:-b}").unwrap().value, "a:-b");
        let plain = exp("plain").unwrap();
        assert_eq!(plain.value, "plain");
        assert!(!plain.used_env);
    }

    #[test]
    fn dollars_stay_literal_except_the_escape() {
        assert_eq!(exp("a$b").unwrap().value, "a$b");
        assert_eq!(exp("a$$b").unwrap().value, "a$$b");
        assert_eq!(exp("$").unwrap().value, "$");
        assert_eq!(exp("$${KEY}").unwrap().value, "${KEY}");
        assert!(!exp("$${KEY}").unwrap().used_env);
        // Leftmost first: a `$` then the escape.
        assert_eq!(exp("$$${KEY}").unwrap().value, "$${KEY}");
    }

    #[test]
    fn env_errors_carry_the_offset() {
        assert_eq!(
            exp("x ${NOPE}"),
            Err(EnvError::Unset {
                var: "NOPE".into(),
                offset: 2
            })
        );
        assert_eq!(
            exp("${KEY}-${NOPE}").unwrap_err(),
            EnvError::Unset {
                var: "NOPE".into(),
                offset: 7
            }
        );
        assert_eq!(exp("ab${KEY"), Err(EnvError::Unclosed { offset: 2 }));
        assert!(matches!(exp("${1X}"), Err(EnvError::BadName { .. })));
        assert!(matches!(exp("${}"), Err(EnvError::BadName { .. })));
        assert_eq!(
            exp("${NOPE}").unwrap_err().to_string(),
            "environment variable `NOPE` is not set"
        );
    }

    #[test]
    fn template_references() {
        let names =
            |t: &str| -> Vec<String> { references(t).into_iter().map(|r| r.name).collect() };
        assert_eq!(names("Has {{order}} shipped?"), ["order"]);
        assert_eq!(names("{{ a }} and {{b}}"), ["a", "b"]);
        assert_eq!(
            names("json {{ not a name }} {{}} {{x"),
            Vec::<String>::new()
        );
        assert_eq!(names("{{{x}}}"), ["x"]);
        assert_eq!(names("}} {{y}}"), ["y"]);
    }

    #[test]
    fn template_expansion() {
        let mut v = BTreeMap::new();
        v.insert("order".to_string(), "ORD-7".to_string());
        v.insert("product".to_string(), "Enterprise".to_string());
        assert_eq!(
            expand_template("Where is my {{product}} order {{ order }}?", &v),
            "Where is my Enterprise order ORD-7?"
        );
        assert_eq!(expand_template("{{unknown}} {{", &v), "{{unknown}} {{");
        assert_eq!(expand_template("{{{order}}}", &v), "{ORD-7}");
    }
}
