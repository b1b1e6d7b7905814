//! The collector every check of one file reports into, and the checks shared by every part
//! of a file: regexes (compiled once per file) and `normalize` rules. It owns no policy about
//! what a suite must hold; `dialogue`, `endpoint` and `expect` do.

use std::collections::{BTreeSet, HashMap, HashSet};
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
}

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
        }
    }

    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::at(self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    pub(super) fn has_errors(&self) -> bool {
        !self.diags.is_empty()
    }

    /// In source order, each once (a default's bad `{{var}}` is found once per turn); this
    /// file's own first, then those found here in another (agenttest.yaml), by file.
    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        let mut seen = BTreeSet::new();
        self.diags
            .retain(|d| seen.insert((d.path.clone(), d.span, d.message.clone())));
        let own = self.file.path.clone();
        self.diags.sort_by(|a, b| {
            (a.path != own, &a.path, a.span).cmp(&(b.path != own, &b.path, b.span))
        });
        self.diags
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
                self.error(span, format!("invalid regex: {}", regex_message(&e)));
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

/// Where byte `offset` of `value` is in the source, when `value` is written at `at` exactly
/// as it reads up to there, on that line: a plain scalar, or a quoted one with no escape
/// before `offset`. `None` otherwise: the caller points at the value's start instead.
pub(super) fn span_in(file: &SourceFile, at: Span, value: &str, offset: usize) -> Option<Span> {
    let line = crate::diag::source_lines(&file.text).nth(at.line.checked_sub(1)? as usize)?;
    let start = line
        .char_indices()
        .nth(at.column.checked_sub(1)? as usize)?
        .0;
    let mut rest = &line[start..];
    let mut column = at.column;
    let prefix = value.get(..offset)?;
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) {
        // An escape before `offset` would shift every column after it.
        let escape = if quote == '"' { '\\' } else { '\'' };
        if prefix.contains(escape) {
            return None;
        }
        rest = &rest[1..];
        column += 1;
    }
    rest.starts_with(prefix).then(|| {
        let chars = u32::try_from(prefix.chars().count()).unwrap_or(u32::MAX);
        Span::new(at.line, column.saturating_add(chars))
    })
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
            let width = value.get(range).map_or(1, |p| p.chars().count());
            Diagnostic::at(file, span, message).with_width(width)
        }
        None => Diagnostic::at(file, at, message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
