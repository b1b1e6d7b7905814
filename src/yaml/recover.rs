//! Every structural error of a YAML file, not just the first (SPEC §4). The typed parse stops
//! at its first error, so this records it, blanks the node it is about in a copy of the text
//! (spaces over its bytes, newlines kept, so every other line:column stays put and the text
//! stays valid YAML in block and flow style), and parses again, until the parse succeeds, the
//! text cannot be repaired, or [`MAX_ERRORS`] are found.
//!
//! The serde types stay the one schema: nothing here knows a field. An error that only exists
//! because of an earlier blank (a "missing field" whose entry was blanked for its wrong type,
//! an item left empty, an alias to a blanked anchor) is a cascade: it is not reported, and the
//! blank widens to what holds it instead. Every round blanks strictly more of the text, so
//! the loop ends. Called only on the error path; nothing here runs for a valid file.

use std::collections::HashSet;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_saphyr::Error;

use super::tree::{Role, Tree, Unit};
use crate::diag::{did_you_mean, span_at, Diagnostic, Severity, SourceFile, Span};

/// Errors reported per file at most; past this the user fixes what is shown first.
pub(super) const MAX_ERRORS: usize = 50;

/// Parses per file at most, cascades included: a bound on the time a broken file can take.
const MAX_ROUNDS: usize = 4 * MAX_ERRORS;

/// The file as it reads once every node with a structural error is blanked: what the rest of
/// the file says can then be checked for meaning too (SPEC §4: all errors at once).
pub(crate) struct Repaired<T> {
    pub(crate) value: T,
    /// Where the blanks are, in the order they were made.
    pub(crate) blanks: Vec<BlankSite>,
}

/// One blank of a repaired file, in the file's own line:column.
pub(crate) struct BlankSite {
    /// Its first character.
    pub(crate) first: Span,
    /// It is an unknown field's entry, which the typed parse would have dropped anyway had it
    /// ignored unknown fields: what the rest of the file means is as written. The field the
    /// key looks like a misspelling of, if any, is in `meant`; that one is missing only
    /// because of the typo, and an error about it would be an echo.
    pub(crate) unknown_field: bool,
    pub(crate) meant: Option<String>,
}

/// Every structural error of `file`, whose typed parse into `T` failed with `first`, in the
/// order of the file; and the file parsed with those errors blanked, when that parse succeeds.
pub(super) fn all_errors<T: DeserializeOwned>(
    file: &SourceFile,
    first: Error,
) -> (Vec<Diagnostic>, Option<Repaired<T>>) {
    let mut repair = Repair::new(file);
    let mut err = first;
    let mut repaired = false;
    for _ in 0..MAX_ROUNDS {
        if !repair.step(&err) {
            break;
        }
        match super::from_text::<T>(&repair.text) {
            Ok(_) => {
                repaired = true;
                break;
            }
            Err(e) => err = e,
        }
    }
    // The text parsed had valid list items blanked too, to save parses: parse again with
    // only the errors' blanks, so that every dialogue without an error is there.
    let repaired = (repaired && !repair.capped)
        .then(|| repair.errors_blanked())
        .and_then(|text| super::from_text::<T>(&text).ok())
        .map(|value| Repaired {
            value,
            blanks: repair.blank_spans(),
        });
    (repair.finish(), repaired)
}

/// A blanked stretch of the text, and the key of the entry it was.
struct Blank {
    range: Range<usize>,
    key: Option<String>,
    /// `Some` for an unknown field's own entry: the field it looks like a misspelling of.
    unknown_field: Option<Option<String>>,
}

struct Repair<'f> {
    file: &'f SourceFile,
    /// The file's text with every blank applied: the same bytes at the same offsets elsewhere.
    text: String,
    blanks: Vec<Blank>,
    /// Anchors defined inside a blank: an alias to one of them is a cascade.
    lost_anchors: HashSet<String>,
    diags: Vec<Diagnostic>,
    capped: bool,
}

impl<'f> Repair<'f> {
    fn new(file: &'f SourceFile) -> Self {
        Repair {
            file,
            text: file.text.to_string(),
            blanks: Vec::new(),
            lost_anchors: HashSet::new(),
            diags: Vec::new(),
            capped: false,
        }
    }

    /// Records `err` unless it is a cascade, then blanks what it is about. False when there
    /// is nothing more to find: the cap is reached or the text cannot be repaired.
    fn step(&mut self, err: &Error) -> bool {
        let text = self.text.clone();
        let mut tree = Tree::new(&text);
        let (inner, _) = super::through_alias(err);
        let at = offset(inner, &self.text);
        if at.is_some_and(|at| !tree.read_past(at)) && !self.blanks.is_empty() {
            // Only a blank can have broken a text that the walk read: what the parser says
            // now is about our repair, not the file. The very first error is the file's own.
            return false;
        }
        let target = at.and_then(|at| target(&mut tree, inner, at));
        if !self.is_cascade(&mut tree, inner, at, target) && !self.report(err) {
            return false;
        }
        if is_hard(inner) {
            return false;
        }
        let Some(node) = target else { return false };
        match self.blank_from(&mut tree, node) {
            Some(blanked) => {
                if let Error::SerdeUnknownField {
                    field, expected, ..
                } = inner
                {
                    if let Some(b) = self.blanks.last_mut().filter(|_| blanked == node) {
                        b.unknown_field = Some(did_you_mean(field, expected).map(str::to_string));
                    }
                }
                let holder = tree.nodes[blanked].parent;
                self.prune_before(&mut tree, holder);
                true
            }
            None => false,
        }
    }

    /// Blanks the list items before `holder` and before each node that holds it: the parse
    /// got past them, so they hold no error, and the next parse need not read them again (a
    /// file with errors all through it is then read about once, not once per error). Only
    /// whole list items go, never a field (that could be required), and never one that
    /// defines an anchor (an alias further on may need it); the holders stay, so no list is
    /// left empty.
    fn prune_before(&mut self, tree: &mut Tree, holder: Option<usize>) {
        let mut holder = holder;
        while let Some(node) = holder {
            let mut prev = tree.nodes[node].prev;
            while let Some(sibling) = prev {
                let s = &tree.nodes[sibling];
                let (item, has_anchor) = (s.role == Role::Item, s.has_anchor);
                prev = s.prev;
                if item && !has_anchor {
                    if let Some(unit) = tree.unit(sibling) {
                        if self.fits(&unit.range) {
                            blank(&mut self.text, unit.range);
                        }
                    }
                }
            }
            holder = tree.nodes[node].parent;
        }
    }

    /// Adds `err` to the errors, once; false when the cap is reached.
    fn report(&mut self, err: &Error) -> bool {
        let mut diag = super::to_diagnostic(self.file, err);
        if let Some(at) = offset(super::through_alias(err).0, &self.text) {
            // The parser counts columns in characters of the blanked text, where a blanked
            // multi-byte character became several spaces: count them in the file's own text.
            diag.span = span_at(&self.file.text, at);
        }
        let seen = self
            .diags
            .iter()
            .any(|d| d.span == diag.span && d.message == diag.message);
        if seen {
            return true;
        }
        if self.diags.len() == MAX_ERRORS {
            self.capped = true;
            return false;
        }
        self.diags.push(diag);
        true
    }

    /// Whether an error at `at` exists only because of an earlier blank.
    fn is_cascade(
        &self,
        tree: &mut Tree,
        err: &Error,
        at: Option<usize>,
        target: Option<usize>,
    ) -> bool {
        if self.blanks.is_empty() {
            return false;
        }
        let Some(at) = at else { return false };
        if self.blanks.iter().any(|b| b.range.contains(&at)) {
            return true;
        }
        match err {
            // The field is missing because its entry was blanked (its value was wrong, or its
            // key misspelt, which was reported with a did-you-mean).
            Error::SerdeMissingField { field, .. } => target.is_some_and(|m| {
                let m = tree.extent(m);
                self.blanks.iter().any(|b| {
                    m.start <= b.range.start
                        && b.range.end <= m.end
                        && b.key
                            .as_deref()
                            .is_some_and(|k| k == *field || did_you_mean(k, &[field]).is_some())
                })
            }),
            // The anchor was blanked; the original text had it (the walk read it).
            Error::UnknownAnchor { .. } => target
                .and_then(|n| tree.nodes[n].text.as_deref())
                .is_some_and(|name| self.lost_anchors.contains(name)),
            // An empty node where the file had something, or an end of the text that came
            // early: everything around it was blanked.
            _ => {
                target.is_none_or(|n| tree.nodes[n].is_empty()) && {
                    let around = blank_run(&self.text, at);
                    self.blanks
                        .iter()
                        .any(|b| b.range.start <= around.end && around.start <= b.range.end)
                }
            }
        }
    }

    /// Blanks node `idx` out of the text, or the nearest node holding it whose removal blanks
    /// something not blank yet; returns the node blanked. None when only the whole document
    /// would do.
    fn blank_from(&mut self, tree: &mut Tree, mut idx: usize) -> Option<usize> {
        loop {
            let unit = tree.unit(idx).filter(|u| self.fits(&u.range))?;
            if has_content(&self.text, &unit.range) {
                self.apply(tree, unit);
                return Some(idx);
            }
            idx = tree.nodes[idx].parent?;
        }
    }

    /// Whether `range` can be blanked as it is: within the text, on character boundaries.
    fn fits(&self, range: &Range<usize>) -> bool {
        range.start <= range.end
            && range.end <= self.text.len()
            && self.text.is_char_boundary(range.start)
            && self.text.is_char_boundary(range.end)
    }

    fn apply(&mut self, tree: &Tree, unit: Unit) {
        let range = unit.range;
        for (name, node) in &tree.anchors {
            if range.contains(&tree.nodes[*node].start) {
                self.lost_anchors.insert(name.clone());
            }
        }
        blank(&mut self.text, range.clone());
        self.blanks.push(Blank {
            range,
            key: unit.key,
            unknown_field: None,
        });
    }

    /// Where each blank starts in the file's own line:column, and what it was.
    fn blank_spans(&self) -> Vec<BlankSite> {
        let text = &self.file.text;
        let site = |b: &Blank| BlankSite {
            first: span_at(text, b.range.start),
            unknown_field: b.unknown_field.is_some(),
            meant: b.unknown_field.clone().flatten(),
        };
        self.blanks.iter().map(site).collect()
    }

    /// The file's text with only the blanks over errors (and their cascades) applied.
    fn errors_blanked(&self) -> String {
        let mut text = self.file.text.to_string();
        for b in &self.blanks {
            blank(&mut text, b.range.clone());
        }
        text
    }

    /// The errors in the order of the file, and a note when there were too many to show.
    fn finish(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|d| d.span);
        if self.capped {
            let mut note = Diagnostic::error(
                self.file.path.clone(),
                Span::UNKNOWN,
                format!("stopped after {MAX_ERRORS} errors in this file"),
            )
            .with_help("fix these and check the file again");
            note.severity = Severity::Warning;
            self.diags.push(note);
        }
        self.diags
    }
}

/// Spaces over `range` of `text`, its line breaks kept: every other byte stays where it was.
fn blank(text: &mut String, range: Range<usize>) {
    let spaces: String = text[range.clone()]
        .chars()
        .map(|c| match c {
            '\n' | '\r' => c.to_string(),
            _ => " ".repeat(c.len_utf8()),
        })
        .collect();
    text.replace_range(range, &spaces);
}

/// The node an error is about, by the kind of error.
fn target(tree: &mut Tree, err: &Error, at: usize) -> Option<usize> {
    let found = match err {
        Error::SerdeUnknownField { .. } | Error::DuplicateMappingKey { .. } => tree.key_at(at),
        Error::SerdeMissingField { .. } => tree.mapping_at(at),
        _ => None,
    };
    found
        .or_else(|| tree.node_at(at))
        .or_else(|| tree.empty_before(at))
}

/// Errors that no blank can repair: the document as a whole is too big or too deep.
fn is_hard(err: &Error) -> bool {
    matches!(
        err,
        Error::Budget { .. }
            | Error::AliasReplayLimitExceeded { .. }
            | Error::AliasExpansionLimitExceeded { .. }
            | Error::AliasReplayStackDepthExceeded { .. }
            | Error::AliasReplayCounterOverflow { .. }
    )
}

/// The byte offset in `text` an error points at: as the parser gives it, or from its line
/// and column (some errors carry only those).
fn offset(err: &Error, text: &str) -> Option<usize> {
    let location = err.location()?;
    if let Some(at) = location.span().byte_offset() {
        return usize::try_from(at).ok();
    }
    let line = u32::try_from(location.line()).ok()?;
    let column = usize::try_from(location.column()).ok()?.checked_sub(1)?;
    let line_start = crate::diag::line_start(text, line)?;
    let rest = &text[line_start..];
    Some(
        line_start
            + rest
                .char_indices()
                .nth(column)
                .map_or(rest.len(), |(i, _)| i),
    )
}

/// The stretch of whitespace around an empty node at byte `at` (which may be the `:` of its
/// `key:`).
fn blank_run(text: &str, at: usize) -> Range<usize> {
    let bytes = text.as_bytes();
    let at = at.min(bytes.len());
    let at = at + usize::from(bytes.get(at) == Some(&b':'));
    let start = bytes[..at]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let end = bytes[at..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(bytes.len(), |i| at + i);
    start..end
}

/// Whether `range` of `text` holds anything but whitespace.
fn has_content(text: &str, range: &Range<usize>) -> bool {
    text.as_bytes()[range.clone()]
        .iter()
        .any(|b| !b.is_ascii_whitespace())
}
