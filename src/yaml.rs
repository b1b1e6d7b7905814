//! The one way this crate reads YAML: serde-saphyr with duplicate keys refused, a budget
//! against alias bombs and deep nesting, and errors turned into [`Diagnostic`]s that point at
//! `file:line:column`, in YAML's words rather than serde's (`plain`). Suites,
//! `agenttest.yaml`, goldens and mock scripts all come through here so they fail the same way.
//! [`parse_all`] reports every structural error of a file at once (`recover` finds them);
//! [`parse`] stops at the first. Nothing here checks meaning.
//!
//! A text in the plain subset most files are written in is read along a fast road of our own
//! (`fast`) that gives serde what serde-saphyr would, at a fraction of the cost; it steps aside
//! for anything else and for every error, so serde-saphyr remains the one judge of a text
//! that is wrong and the one voice of its errors.

pub(crate) mod fast;
mod indent;
mod plain;
mod recover;
mod tree;

pub(crate) use recover::{BlankSite, Repaired};

use serde::de::{DeserializeOwned, IgnoredAny};

use crate::diag::{did_you_mean, Diagnostic, SourceFile, Span};

/// Deepest nesting accepted. Suites are a handful of levels deep; anything near this is an
/// accident or an attack, and refusing it keeps the parser's stack bounded.
pub const MAX_DEPTH: usize = 64;

/// Events and nodes every document may have, whatever its size.
const MIN_EVENTS: usize = 1_000_000;

/// Aliases every document may use, whatever its size.
const MIN_ALIASES: usize = 1_000;

/// The options for reading `text`. The budget on events and nodes grows with the text: two
/// per byte, and a million at least. A document written out without aliases has at most
/// about one a byte (`- - - x`, `{a,b}`; a suite has one per ten), so no file is refused for
/// its size below the 16 MiB cap on files, while aliases can make a file cost at most twice
/// what the most crowded file of its size written out could. A fixed million had refused a
/// valid suite of 12,000 five-turn dialogues (10 MB) as an alias bomb.
///
/// Aliases are bounded by what they expand to, not by how often an anchor is used: each one
/// replays its anchor's events, which count against the budget on events with the
/// document's own. serde-saphyr also caps the events all aliases replay at a fixed million,
/// which would refuse a big suite whose every turn says `expect: *ok` with a long `ok`: that
/// cap is the events budget too. So the number of aliases grows with the text (one per 4
/// bytes, a thousand at least), and serde-saphyr's ratio of aliases to anchors (more than ten
/// uses of an anchor, once there are a hundred aliases, is an error) is off: it had refused a
/// suite of 30 dialogues whose 120 turns each say `expect: *ok`, as "the YAML grows beyond
/// the parser's budget".
pub fn options_for(text: &str) -> serde_saphyr::Options {
    let mut opts = serde_saphyr::Options::default();
    // We render our own snippet (annotate-snippets) with the file name.
    opts.with_snippet = false;
    opts.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_aliases = (text.len() / 4).max(MIN_ALIASES);
    budget.enforce_alias_anchor_ratio = false;
    let per_byte = text.len().saturating_mul(2).max(MIN_EVENTS);
    budget.max_events = per_byte;
    budget.max_nodes = per_byte;
    budget.max_recorded_anchor_events = per_byte;
    budget.max_total_scalar_bytes = 64 * 1024 * 1024;
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = per_byte;
    opts
}

/// Parses `file` into `T`, stopping at the first error. An empty document is reported as such
/// rather than as a type error.
pub fn parse<T: DeserializeOwned>(file: &SourceFile) -> Result<T, Diagnostic> {
    refuse_empty(file)?;
    from_text(&file.text).map_err(|e| to_diagnostic(file, &e))
}

/// Parses `file` into `T`, or says every structural error it has (unknown field, wrong type,
/// missing field, duplicate key), each at its own place, in one pass (SPEC §4).
///
/// A valid file costs one parse, as with [`parse`]. Only on failure is the whole document
/// walked (so that an alias bomb, a syntax error or a nesting too deep is the one answer, not
/// hidden behind a type error before it) and then repaired error by error to find the rest.
pub fn parse_all<T: DeserializeOwned>(file: &SourceFile) -> Result<T, Vec<Diagnostic>> {
    parse_or_repair(file).map_err(|(diags, _)| diags)
}

/// As [`parse_all`], and on failure also the file parsed with its errors blanked when that
/// reads: a caller that checks meaning can then report the rest of the file's errors with
/// these, as long as it keeps away from the blanks (what is near them may be an echo).
pub(crate) fn parse_or_repair<T: DeserializeOwned>(
    file: &SourceFile,
) -> Result<T, (Vec<Diagnostic>, Option<Repaired<T>>)> {
    refuse_empty(file).map_err(|d| (vec![d], None))?;
    let first = match from_text(&file.text) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // A duplicate key stops the walk but is an error like the others; anything else it
    // finds (syntax, budget) cannot be repaired.
    if let Err(e) = from_text::<IgnoredAny>(&file.text) {
        if !matches!(e, serde_saphyr::Error::DuplicateMappingKey { .. }) {
            return Err((vec![to_diagnostic(file, &e)], None));
        }
    }
    Err(recover::all_errors::<T>(file, first))
}

fn refuse_empty(file: &SourceFile) -> Result<(), Diagnostic> {
    if file.text.trim().is_empty() {
        return Err(Diagnostic::at(file, Span::new(1, 1), "the file is empty")
            .with_help("a suite needs at least `dialogues:` with one dialogue"));
    }
    Ok(())
}

/// One typed parse of `text` with this crate's options: along the fast road when it takes the
/// text (`fast`), else with serde-saphyr, which also says every error.
fn from_text<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
    let options = options_for(text);
    if let Some(value) = fast::from_str(text, fast::Limits::of(&options)) {
        return Ok(value);
    }
    serde_saphyr::from_str_with_options(text, options)
}

/// Turns a serde-saphyr error into a diagnostic: the message without its trailing
/// "at line X, column Y" (the diagnostic shows the place itself), plus a "did you mean" for a
/// misspelled key. An error inside a block reached through an alias points where the block
/// is written (that is what to fix) and names the alias in its help.
pub fn to_diagnostic(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    let (inner, used_at) = through_alias(err);
    let mut diag = plain_diagnostic(file, inner);
    if let Some(used) = used_at.filter(|u| *u != diag.span && u.is_known()) {
        let note = format!(
            "this block is used through the alias at line {}, column {}",
            used.line, used.column
        );
        diag.help = Some(match diag.help.take() {
            Some(help) => format!("{help} ({note})"),
            None => note,
        });
    }
    diag
}

/// The error itself, under any alias wrappers, and where the outermost alias was used.
fn through_alias(err: &serde_saphyr::Error) -> (&serde_saphyr::Error, Option<Span>) {
    let mut inner = err;
    let mut used_at = None;
    while let serde_saphyr::Error::AliasError {
        error, locations, ..
    } = inner
    {
        used_at = used_at.or(Some(Span::from(locations.reference_location)));
        inner = error;
    }
    // Without a place of its own, the error is shown where the alias is used; so is a
    // budget breach, which is about the expansion, not about what is written in the block.
    if inner.location().is_none() || matches!(inner, serde_saphyr::Error::Budget { .. }) {
        return (err, None);
    }
    (inner, used_at)
}

fn plain_diagnostic(file: &SourceFile, err: &serde_saphyr::Error) -> Diagnostic {
    let span = err.location().map(Span::from).unwrap_or(Span::new(1, 1));
    let raw = err.to_string();
    let message = strip_location(&raw).to_string();
    let message = message
        .replace(", set DuplicateKeyPolicy in Options if acceptable", "")
        .trim()
        .to_string();
    let message = plain::plain_words(&message).unwrap_or(message);
    let mut diag = Diagnostic::at(file, span, message.clone());
    diag.help = indent::hint(&file.text, &message, span);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        if let Some((field, expected)) = rest.split_once("`, expected one of ") {
            let candidates: Vec<&str> = expected.split(", ").map(|s| s.trim_matches('`')).collect();
            diag.message = format!("unknown field `{field}`");
            diag.label = Some(format!("expected one of {expected}"));
            if let Some(best) = did_you_mean(field, &candidates) {
                diag.help = Some(format!("did you mean `{best}`?"));
            }
        } else if let Some((field, expected)) = rest.split_once("`, expected ") {
            diag.message = format!("unknown field `{field}`");
            diag.label = Some(format!("expected {expected}"));
        }
    } else if message.starts_with("duplicate mapping key") {
        diag.label = Some("this key appears earlier in the same mapping".into());
    }
    if message.contains("budget") || message.contains("depth") || message.contains("alias") {
        diag.help = Some(format!(
            "agenttest refuses YAML nested deeper than {MAX_DEPTH} levels or with alias expansion \
             beyond its budget"
        ));
    }
    if message.starts_with("budget breached") {
        diag.message = budget_message(&message);
    }
    diag
}

/// The parser's budget errors, said for people.
fn budget_message(raw: &str) -> String {
    if raw.contains("Depth") {
        format!("the YAML is nested deeper than {MAX_DEPTH} levels")
    } else {
        "the YAML grows beyond the parser's budget once its aliases are expanded".to_string()
    }
}

fn strip_location(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    /// A document with more than a million nodes, written out without aliases, is read: the
    /// budget grows with the text. (A suite of 12,000 five-turn dialogues had been refused.)
    /// So are many uses of one anchor; an alias bomb is not.
    #[test]
    fn big_documents_and_many_aliases_are_within_the_budget() {
        // Empty lists: two events in three bytes, about as crowded as a document gets.
        let n = MIN_EVENTS / 2 + 20_000;
        let text = format!("[{}[]]", "[],".repeat(n - 1));
        let items: Vec<IgnoredAny> = from_text(&text).expect("within budget");
        assert_eq!(items.len(), n);
        // Many uses of one small anchor cost little: a hundred, and thousands, are read.
        for uses in [120, 3 * MIN_ALIASES] {
            let mut text = String::from("common: &common {status: 200}\nuses:\n");
            for _ in 0..uses {
                text += "  - *common\n";
            }
            from_text::<IgnoredAny>(&text).expect("aliases within budget");
        }
        // What aliases replay grows with the text too: here 1.03 million events in 0.75 MB,
        // which serde-saphyr's fixed cap of a million refused.
        let list = format!("[{}1]", "1,".repeat(199));
        let mut text = String::new();
        for i in 0..1_700 {
            text += &format!("- {{a: &a{i} {list}, b: *a{i}, c: *a{i}, d: *a{i}}}\n");
        }
        from_text::<IgnoredAny>(&text).expect("replays within budget");
        // Aliases still cannot make a small document cost more than a million events.
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        let err = from_text::<IgnoredAny>(bomb).expect_err("an alias bomb");
        let diag = to_diagnostic(&SourceFile::new("bomb.yaml", bomb), &err);
        assert!(diag.message.contains("budget"), "{}", diag.render(false));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        turns: Option<Vec<String>>,
    }

    fn err(text: &str) -> Diagnostic {
        parse::<Doc>(&SourceFile::new("t.yaml", text)).unwrap_err()
    }

    #[test]
    fn unknown_field_with_suggestion() {
        let d = err("name: a\nturnz: []\n");
        assert_eq!(d.span, Span::new(2, 1));
        assert_eq!(d.message, "unknown field `turnz`");
        assert_eq!(d.help.as_deref(), Some("did you mean `turns`?"));
    }

    #[test]
    fn duplicate_key() {
        let d = err("name: a\nname: b\n");
        assert_eq!(d.span, Span::new(2, 1));
        assert!(
            d.message.starts_with("duplicate mapping key"),
            "{}",
            d.message
        );
        assert!(!d.message.contains("Options"), "{}", d.message);
    }

    #[test]
    fn empty_file() {
        assert_eq!(err("  \n").message, "the file is empty");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("name: {}{}\n", "[".repeat(200), "]".repeat(200));
        let d = err(&text);
        assert_eq!(d.span.line, 1);
    }
}
