//! The collector every check of one file reports into, and the checks shared by every part
//! of a file: regexes (compiled once per file) and `normalize` rules. It owns no policy about
//! what a suite must hold; `dialogue`, `endpoint` and `expect` do.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use regex::Regex;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::{ExpectKey, ExpectKind, NormalizeRule, Pattern};
use crate::suite::raw::{span_of, RawNormalize};

use super::LoadOptions;

/// Collects the diagnostics of one file while checking it.
pub(super) struct Checker<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) opts: &'a LoadOptions,
    pub(super) diags: Vec<Diagnostic>,
    /// Each distinct pattern compiled once per file: suites repeat the same `regex:` on
    /// hundreds of turns, and a compiled `Regex` (with its lazy DFA caches) is kilobytes,
    /// while a clone shares it.
    regexes: HashMap<String, Pattern>,
    /// Each distinct expectation once per file: a suite's defaults apply to every turn, and
    /// turns repeat the same `regex:` or `not_contains:`; a turn keeps a pointer.
    kinds: HashSet<Arc<ExpectKind>>,
    /// The last expectation interned under each key: a turn most often expects what the turn
    /// before it did, and comparing costs less than hashing.
    last_kinds: [Option<Arc<ExpectKind>>; ExpectKey::ALL.len()],
    /// A flag made the endpoint live and no dialogue has a key: said once per suite.
    pub(super) key_reported: bool,
    /// Every file named as a `mock_script:` here, whatever else is wrong: never a suite when
    /// a walk finds it (`load_paths`).
    pub(super) scripts: Scripts,
    /// The file had structural errors and is checked as repaired (`repaired.rs`): a check
    /// across dialogues would count what the repair took away.
    pub(super) repaired: bool,
}

/// Files named as `mock_script:`, as resolved beside the file that names them.
pub(super) type Scripts = BTreeSet<PathBuf>;

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a SourceFile, opts: &'a LoadOptions) -> Self {
        Checker {
            file,
            opts,
            diags: Vec::new(),
            regexes: HashMap::new(),
            kinds: HashSet::new(),
            last_kinds: Default::default(),
            key_reported: false,
            scripts: Scripts::new(),
            repaired: false,
        }
    }

    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::at(self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// In source order, each once (a default's bad `{{var}}` is found once per turn); this
    /// file's own first, then those found here in another (agenttest.yaml), by file.
    /// Returned with the files named as `mock_script:`.
    pub(super) fn finish_with_scripts(mut self) -> (Vec<Diagnostic>, Scripts) {
        crate::diag::merge_repeats(&mut self.diags);
        let own = self.file.path.clone();
        self.diags.sort_by(|a, b| {
            (a.path != own, &a.path, a.span).cmp(&(b.path != own, &b.path, b.span))
        });
        (self.diags, self.scripts)
    }

    pub(super) fn regex(&mut self, pattern: &str, span: Span) -> Option<Pattern> {
        if let Some(re) = self.regexes.get(pattern) {
            return Some(re.clone());
        }
        match Regex::new(pattern) {
            Ok(re) => {
                let re = Pattern::new(re);
                self.regexes.insert(pattern.to_string(), re.clone());
                Some(re)
            }
            Err(e) => {
                let d = self.error(span, format!("invalid regex: {}", regex_message(&e)));
                // `{{` cannot begin a valid pattern's repetition, so this is a template the
                // user expected filled: say that patterns are taken as written.
                if !crate::suite::template::references(pattern).is_empty() {
                    d.help = Some(
                        "a pattern is not a template: `{{name}}` is not filled in; match the \
                         value with `contains`, or write it into the pattern"
                            .into(),
                    );
                }
                None
            }
        }
    }

    /// The one shared copy of `kind` in this file.
    pub(super) fn intern(&mut self, kind: ExpectKind) -> Arc<ExpectKind> {
        let last = &mut self.last_kinds[kind.id().order()];
        if let Some(shared) = last.as_ref().filter(|l| ***l == kind) {
            return shared.clone();
        }
        let shared = match self.kinds.get(&kind) {
            Some(shared) => shared.clone(),
            None => {
                let shared = Arc::new(kind);
                self.kinds.insert(shared.clone());
                shared
            }
        };
        *last = Some(shared.clone());
        shared
    }

    pub(super) fn normalize(&mut self, raw: &[RawNormalize]) -> Vec<NormalizeRule> {
        raw.iter()
            .filter_map(|n| {
                self.regex(&n.pattern.value, span_of(&n.pattern))
                    .map(|pattern| NormalizeRule {
                        pattern,
                        replace: n.replace.clone(),
                    })
            })
            .collect()
    }
}

/// The regex crate's multi-line message (pattern, caret, "error: ...") as one line: the
/// diagnostic already shows where the pattern is.
pub(super) fn regex_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or_else(|| text.lines().next().unwrap_or_default().trim().to_string())
}

/// Where byte `offset` of `value` is in the source, when `value` is the scalar written at `at`
/// and its text up to `offset` maps back to the source for certain; `None` otherwise, and the
/// caller points at the value's start instead. Mapped: a plain or quoted scalar (on one line or
/// folded over several) with no escape before `offset`, a literal block (`|`) line for line,
/// and a folded block (`>`) made of lines at its own indentation. A scalar whose text differs
/// from the source in a way not followed here gives `None`, never a guess: each character up to
/// `offset` is compared with the source it came from.
pub(super) fn span_in(file: &SourceFile, at: Span, value: &str, offset: usize) -> Option<Span> {
    let prefix = value.get(..offset)?;
    let index = at.line.checked_sub(1)? as usize;
    let mut lines = crate::diag::source_lines(&file.text).skip(index);
    let line = lines.next()?;
    let start = line
        .char_indices()
        .nth(at.column.checked_sub(1)? as usize)?
        .0;
    let rest = &line[start..];
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) {
        // An escape before `offset` would shift every column after it.
        let escape = if quote == '"' { '\\' } else { '\'' };
        if prefix.contains(escape) {
            return None;
        }
        let cursor = Cursor {
            line: at.line,
            column: at.column.saturating_add(1),
            text: &rest[1..],
        };
        return flow(cursor, lines, prefix);
    }
    // A block scalar's span is its first character of content, alone on its line below the
    // `|` or `>` that starts it.
    let block = if line[..start].trim().is_empty() {
        block_indicator(file, index)
    } else {
        None
    };
    match block {
        Some(style) => block_scalar(style, at, line, lines, value, prefix),
        None => flow(
            Cursor {
                line: at.line,
                column: at.column,
                text: rest,
            },
            lines,
            prefix,
        ),
    }
}

/// A place in the source: the text of its line from `column` on.
struct Cursor<'a> {
    line: u32,
    column: u32,
    text: &'a str,
}

fn chars(s: &str) -> u32 {
    u32::try_from(s.chars().count()).unwrap_or(u32::MAX)
}

fn is_blank(line: &str) -> bool {
    line.trim_matches([' ', '\t']).is_empty()
}

/// A plain or quoted scalar from `at`: a line break reads as a space, or as one `\n` per blank
/// line between, with the whitespace around the break dropped (YAML 1.2 §6.5).
fn flow<'a>(
    mut at: Cursor<'a>,
    mut lines: impl Iterator<Item = &'a str>,
    mut prefix: &str,
) -> Option<Span> {
    loop {
        // Whitespace before a line break is not in the value.
        let body = at.text.trim_end_matches([' ', '\t']);
        if prefix.len() <= body.len() {
            let found = body.starts_with(prefix);
            return found.then(|| Span::new(at.line, at.column.saturating_add(chars(prefix))));
        }
        let after = prefix.strip_prefix(body)?;
        let mut blank = 0;
        let next = loop {
            let l = lines.next()?;
            if !is_blank(l) {
                break l;
            }
            blank += 1;
        };
        prefix = match blank {
            0 => after.strip_prefix(' ')?,
            n => after.strip_prefix("\n".repeat(n).as_str())?,
        };
        let text = next.trim_start_matches([' ', '\t']);
        at = Cursor {
            line: at.line.checked_add(u32::try_from(blank + 1).ok()?)?,
            column: (chars(next) - chars(text)).saturating_add(1),
            text,
        };
    }
}

/// `|` or `>` when the last thing before line `index` (0-based), blank lines and comments
/// aside, is a block scalar's indicator (`|`, `>-`, `|2`, ...).
fn block_indicator(file: &SourceFile, index: usize) -> Option<char> {
    let before: Vec<&str> = crate::diag::source_lines(&file.text).take(index).collect();
    let code = before.iter().rev().find_map(|l| {
        let code = match l.find(" #") {
            Some(i) => &l[..i],
            None if l.trim_start().starts_with('#') => "",
            None => l,
        };
        let code = code.trim();
        (!code.is_empty()).then_some(code)
    })?;
    let token = code.rsplit([' ', '\t']).next()?;
    let mut cs = token.chars();
    let style = cs.next().filter(|c| matches!(c, '|' | '>'))?;
    let tail: Vec<char> = cs.collect();
    let chomp = tail.iter().filter(|c| matches!(c, '-' | '+')).count();
    let indent = tail
        .iter()
        .filter(|c| c.is_ascii_digit() && **c != '0')
        .count();
    (tail.len() == chomp + indent && chomp <= 1 && indent <= 1).then_some(style)
}

/// A block scalar whose first line of content starts at `at` on `line`: read back line by line
/// at the block's indentation, so `|` maps every line; `>` is followed only across breaks
/// between lines at that indentation (a space, or a `\n` per blank line), and any more-indented
/// or trailing-space line before `offset`, whose breaks fold otherwise, gives `None`.
fn block_scalar<'a>(
    style: char,
    at: Span,
    line: &'a str,
    lines: impl Iterator<Item = &'a str>,
    value: &str,
    prefix: &str,
) -> Option<Span> {
    // The span is the start of the value's first line with content, at the block's
    // indentation (spaces an indentation indicator keeps are part of that line); the blank
    // lines before it are not in the source from `at` on.
    let first = value.find(|c| c != ' ' && c != '\n')?;
    let line_start = value[..first].rfind('\n').map_or(0, |i| i + 1);
    let indent = at.column.checked_sub(1)? as usize;
    let mut prefix = prefix.get(line_start..)?;
    let mut source = std::iter::once(line).chain(lines).peekable();
    let mut line_no = at.line;
    let folded = style == '>';
    loop {
        let src = source.next()?;
        let (margin, content) = match src.char_indices().nth(indent) {
            Some((i, _)) => src.split_at(i),
            None => (src, ""),
        };
        if !margin.chars().all(|c| c == ' ') {
            return None;
        }
        if folded && (content.starts_with([' ', '\t']) || content.ends_with([' ', '\t'])) {
            return None;
        }
        if prefix.len() <= content.len() {
            let found = content.starts_with(prefix);
            let column = u32::try_from(indent).ok()?.saturating_add(1);
            return found.then(|| Span::new(line_no, column.saturating_add(chars(prefix))));
        }
        let after = prefix.strip_prefix(content)?;
        line_no = line_no.checked_add(1)?;
        if !folded {
            prefix = after.strip_prefix('\n')?;
            continue;
        }
        // Folded: the blank lines up to the next line of content, each a `\n`; none, a space.
        let mut blank = 0;
        while let Some(next) = source.peek() {
            if !(next.chars().all(|c| c == ' ') && next.chars().count() <= indent) {
                break;
            }
            blank += 1;
            source.next();
        }
        prefix = match blank {
            0 => after.strip_prefix(' ')?,
            n => after.strip_prefix("\n".repeat(n).as_str())?,
        };
        line_no = line_no.checked_add(u32::try_from(blank).ok()?)?;
    }
}

/// A reference with a brace too few in `text` ([`template::unclosed`]), as errors at it.
pub(super) fn unclosed_refs(file: &SourceFile, at: Span, text: &str) -> Vec<Diagnostic> {
    crate::suite::template::unclosed(text)
        .into_iter()
        .map(|u| {
            let written = text.get(u.start..u.end).unwrap_or_default();
            at_part(
                file,
                at,
                text,
                u.start..u.end,
                format!("`{written}` is not a reference: a brace is missing"),
            )
            .with_help(format!(
                "write `{{{{{}}}}}` to send the value; as written it would be sent as text",
                u.name
            ))
        })
        .collect()
}

/// A diagnostic about `value[range]`, written at `at` in `file`: pointed at exactly that
/// part when it can be found in the source, else at the value.
pub(super) fn at_part(
    file: &SourceFile,
    at: Span,
    value: &str,
    range: std::ops::Range<usize>,
    message: impl Into<String>,
) -> Diagnostic {
    match span_in(file, at, value, range.start) {
        Some(span) => {
            // Carets stay on the line they start on.
            let width = value
                .get(range)
                .map_or(1, |p| p.split('\n').next().unwrap_or(p).chars().count());
            Diagnostic::at(file, span, message).with_width(width)
        }
        None => Diagnostic::at(file, at, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `{{x}}` is found in the scalar written at `at` whose value is `value`.
    fn found(text: &str, at: (u32, u32), value: &str) -> Option<(u32, u32)> {
        let file = SourceFile::new("s.yaml", text);
        let offset = value.find("{{x}}").unwrap();
        span_in(&file, Span::new(at.0, at.1), value, offset).map(|s| (s.line, s.column))
    }

    #[test]
    fn parts_of_values_are_found_across_the_lines_of_block_and_folded_scalars() {
        // A literal block maps line for line, blank lines and an indentation indicator too.
        let lit = "a: |  # note\n  one\n\n    two {{x}}\n";
        assert_eq!(found(lit, (2, 3), "one\n\n  two {{x}}\n"), Some((4, 9)));
        let lit = "a: |2-\n\n    {{x}}\n";
        assert_eq!(found(lit, (3, 3), "\n  {{x}}"), Some((3, 5)));
        // A folded block: a break is a space, a blank line a `\n`.
        let fold = "- >\n  one\n  two\n\n  {{x}}\n";
        assert_eq!(found(fold, (2, 3), "one two\n{{x}}\n"), Some((5, 3)));
        // ...but a more-indented line keeps its breaks: not followed, so none.
        let fold = "a: >\n  one\n    two\n  {{x}}\n";
        assert_eq!(found(fold, (2, 3), "one\n  two\n{{x}}\n"), None);
        // Plain and quoted scalars fold: trailing and leading whitespace go, a blank line is
        // a `\n`.
        let plain = "a: one  \n   two {{x}}\n";
        assert_eq!(found(plain, (1, 4), "one two {{x}}"), Some((2, 8)));
        let quoted = "a: 'one\n\n   {{x}}'\n";
        assert_eq!(found(quoted, (1, 4), "one\n{{x}}"), Some((3, 4)));
        // An escape before the part, in a quoted scalar over lines: none.
        let esc = "a: \"o\\tne\n  {{x}}\"\n";
        assert_eq!(found(esc, (1, 4), "o\tne {{x}}"), None);
        // A value that is not what is written there: none, never a guess.
        assert_eq!(found(lit, (3, 3), "\n  two {{x}}"), None);
        assert_eq!(found("a: |\n  one\n  {{x}}\n", (2, 3), "one {{x}}\n"), None);
    }

    #[test]
    fn parts_of_values_are_found_in_plain_and_simple_quoted_scalars() {
        let file = SourceFile::new(
            "s.yaml",
            "a: x ${K}\nb: 'q ${K}'\nc: \"e\\\\ ${K}\"\nd: 'it''s ${K}'\n",
        );
        let at = |line, column, value: &str| {
            span_in(
                &file,
                Span::new(line, column),
                value,
                value.find('$').unwrap(),
            )
        };
        assert_eq!(at(1, 4, "x ${K}"), Some(Span::new(1, 6)));
        assert_eq!(at(2, 4, "q ${K}"), Some(Span::new(2, 7)));
        // An escape before the part: its column cannot be told, so none.
        assert_eq!(at(3, 4, "e\\ ${K}"), None);
        assert_eq!(at(4, 4, "it's ${K}"), None);
        // A value that is not what is written there.
        assert_eq!(at(1, 4, "y ${K}"), None);
    }
}
