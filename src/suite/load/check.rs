//! The collector every check of one file reports into, and the checks shared by every part
//! of a file: regexes (compiled once per file) and `normalize` rules. It owns no policy about
//! what a suite must hold; `dialogue`, `endpoint` and `expect` do.

use std::collections::{BTreeSet, HashMap};

use regex::Regex;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::{NormalizeRule, Pattern};
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
}

impl<'a> Checker<'a> {
    pub(super) fn new(file: &'a SourceFile, opts: &'a LoadOptions) -> Self {
        Checker {
            file,
            opts,
            diags: Vec::new(),
            regexes: HashMap::new(),
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

    /// In source order, each once (a default's bad `{{var}}` is found once per turn).
    pub(super) fn finish(mut self) -> Vec<Diagnostic> {
        let mut seen = BTreeSet::new();
        self.diags
            .retain(|d| seen.insert((d.path.clone(), d.span, d.message.clone())));
        self.diags.sort_by_key(|d| d.span);
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
