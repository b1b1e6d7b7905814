//! A hint for the YAML mistake that reads as something else: a key indented off by a space
//! or two. Indented less than its neighbours, it falls out of their mapping, which then
//! "misses" it; indented more, it becomes part of the value above (a plain scalar goes on
//! over lines), which then "has the wrong type". Both errors are true and neither says
//! what to fix. This only adds a `help` when the text around the error shows such a line; it
//! never changes the error or where it is.

use crate::diag::Span;

/// The help for an error `message` at `at` in `text`, when a misindented key explains it.
pub(super) fn hint(text: &str, message: &str, at: Span) -> Option<String> {
    let line = usize::try_from(at.line).ok()?.checked_sub(1)?;
    // Read lazily from the error's line: this runs for every error of a file that may be
    // megabytes long, and only the next few lines matter.
    let mut lines = text.lines().enumerate().skip(line);
    let (_, here) = lines.next()?;
    // The written lines after it (1-based number, indentation, content): blank lines and
    // comments say nothing of the structure.
    let mut after = lines.take(50).filter_map(|(i, l)| {
        let (indent, content) = split_indent(l);
        (!content.is_empty() && !content.starts_with('#')).then_some((i + 1, indent, content))
    });
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        // The mapping's keys start at `at`'s column; look for the missing key nearby,
        // written at another indentation, before the mapping's list item or parent ends.
        let column = usize::try_from(at.column).ok()?.checked_sub(1)?;
        for (number, indent, content) in after {
            if indent != column && is_key(content, field) {
                return Some(misplaced(number, field, indent, column));
            }
            if indent < column {
                break;
            }
        }
        return None;
    }
    // A wrong type on a `key: plain scalar` line: a deeper line below that looks like a key
    // was read as more of this value.
    if !message.starts_with("expected ") {
        return None;
    }
    let (indent, content) = split_indent(here);
    let item = content.strip_prefix("- ").unwrap_or(content);
    let indent = indent + (content.len() - item.len());
    let (key, value) = key_value(item)?;
    let plain = !value.trim().is_empty()
        && !value
            .trim_start()
            .starts_with(['{', '[', '|', '>', '&', '*', '!', '"', '\'']);
    if !plain {
        return None;
    }
    // The first line no deeper than this key ends its value; before it, the first that
    // reads as a key is the one that slipped in.
    let (number, deeper, below) =
        after.find(|&(_, deeper, rest)| deeper <= indent || key_value(rest).is_some())?;
    if deeper <= indent {
        return None;
    }
    let (k, _) = key_value(below)?;
    Some(format!(
        "line {number} (`{k}:`) is indented deeper than `{key}`, so YAML reads it as part of \
         `{key}`'s value: line its key up with `{key}`"
    ))
}

fn misplaced(line: usize, field: &str, indent: usize, column: usize) -> String {
    format!(
        "`{field}:` is on line {line}, indented by {indent} space{} where the other keys of \
         this mapping have {column}: line it up with them",
        if indent == 1 { "" } else { "s" }
    )
}

/// Leading spaces, and the rest of the line.
fn split_indent(line: &str) -> (usize, &str) {
    let rest = line.trim_start_matches(' ');
    (line.len() - rest.len(), rest.trim_end())
}

/// `key: value` with a key of one word, as a mapping entry reads.
fn key_value(content: &str) -> Option<(&str, &str)> {
    content
        .split_once(": ")
        .filter(|(k, _)| !k.is_empty() && !k.contains(' '))
}

/// `content` is `field:` followed by nothing or a space.
fn is_key(content: &str, field: &str) -> bool {
    content
        .strip_prefix(field)
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|r| r.is_empty() || r.starts_with(' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: &str = "suite: s\ndialogue: hello\nturns:\n  - user: hi\n";

    #[test]
    fn a_key_indented_less_is_named_where_its_mapping_misses_it() {
        let text = format!("{GOLDEN}   status: 200\n    agent: hello\n");
        let h = hint(&text, "missing field `status`", Span::new(4, 5)).unwrap();
        assert!(
            h.starts_with("`status:` is on line 5, indented by 3 spaces"),
            "{h}"
        );
        assert!(h.contains("have 4"), "{h}");
    }

    #[test]
    fn a_key_indented_more_is_named_where_the_value_above_is_wrong() {
        let text = format!("{GOLDEN}    status: 200\n      agent: hello\n");
        let h = hint(&text, "expected a non-negative integer", Span::new(5, 13)).unwrap();
        assert!(
            h.starts_with("line 6 (`agent:`) is indented deeper than `status`"),
            "{h}"
        );
    }

    #[test]
    fn no_hint_when_the_indentation_is_right() {
        let text = format!("{GOLDEN}    status: 200\n    agent: hello\n");
        assert_eq!(hint(&text, "missing field `reply`", Span::new(4, 5)), None);
        assert_eq!(hint(&text, "expected a string", Span::new(5, 13)), None);
        // A long value folded over lines is no key.
        let text = "turns:\n  - user: one two\n      three four\n";
        assert_eq!(hint(text, "expected a mapping", Span::new(2, 11)), None);
    }
}
