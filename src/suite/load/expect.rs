//! Expectations: each `expect:` key checked into an [`Expectation`] pointing at its key, with
//! errors about a value pointing at the value. A `judge:` list is checked by a turn as one
//! expectation per rubric, each pointing at its own item, so a failure names the rubric's line.
//! Which `{{name}}`s a value may use is checked later, per turn, by `dialogue`; this file only
//! says which strings are templates.

use std::time::Duration;

use crate::diag::{did_you_mean, Span};
use crate::suite::model::{ExpectKind, Expectation, FactSpec, Pattern};
use crate::suite::raw::{items, span_of, Entries, OneOrMany, RawExpect, RawExpectValue, Spanned};
use crate::util::parse_duration;

use super::check::Checker;

/// One expectation, checked, with its strings that hold a `{{name}}` and their spans.
#[derive(Clone)]
pub(super) struct Exp {
    /// The key as written, at the key: what a turn's own key replaces, and where an error
    /// about the key as a whole points.
    pub(super) expectation: Expectation,
    pub(super) templates: Vec<(String, Span)>,
    /// For `judge:` written as a list, one expectation per rubric at its item (each rubric is
    /// its own question and verdict, so its failure points at its own line); empty otherwise,
    /// where `expectation` is what a turn checks.
    rubrics: Vec<Expectation>,
}

impl Exp {
    /// What a turn checks of this key: the expectation, or each of its rubrics.
    pub(super) fn checks(&self) -> &[Expectation] {
        if self.rubrics.is_empty() {
            std::slice::from_ref(&self.expectation)
        } else {
            &self.rubrics
        }
    }
}

/// A checked value: its kind and its templates.
type Checked = (ExpectKind, Vec<(String, Span)>);

impl Checker<'_> {
    /// Every key of one `expect:` mapping, in file order; a key whose value is wrong is left
    /// out (its error is recorded).
    pub(super) fn expect(&mut self, raw: &RawExpect) -> Vec<Exp> {
        raw.0
            .iter()
            .filter_map(|entry| {
                let (kind, templates) = self.expect_value(&entry.value)?;
                let rubrics = match &entry.value {
                    RawExpectValue::Judge(s) => self.rubric_items(s),
                    _ => Vec::new(),
                };
                Some(Exp {
                    expectation: Expectation {
                        kind: self.intern(kind),
                        span: entry.span,
                    },
                    templates,
                    rubrics,
                })
            })
            .collect()
    }

    /// A `judge:` list's rubrics, one expectation each at its item. A lone rubric
    /// (`judge: Is polite`) has no item of its own: the key, on its line, points at it.
    fn rubric_items(&mut self, s: &Spanned<OneOrMany<String>>) -> Vec<Expectation> {
        let written = &s.value.0;
        if !written.iter().all(|r| span_of(r).is_known()) {
            return Vec::new();
        }
        written
            .iter()
            .map(|r| Expectation {
                kind: self.intern(ExpectKind::Judge(vec![r.value.clone()])),
                span: span_of(r),
            })
            .collect()
    }

    fn expect_value(&mut self, value: &RawExpectValue) -> Option<Checked> {
        use RawExpectValue as V;
        match value {
            V::Status(s) => Some((ExpectKind::Status(self.status(s)), Vec::new())),
            V::Contains(s) => Some(self.texts(s, ExpectKind::Contains)),
            V::ContainsAny(s) => Some(self.texts(s, ExpectKind::ContainsAny)),
            V::NotContains(s) => Some(self.texts(s, ExpectKind::NotContains)),
            V::Regex(s) => Some(self.patterns(s, ExpectKind::Regex)),
            V::NotRegex(s) => Some(self.patterns(s, ExpectKind::NotRegex)),
            V::Equals(e) => Some((
                ExpectKind::Equals(e.value.clone()),
                [(e.value.clone(), span_of(e))]
                    .into_iter()
                    .filter(|(t, _)| has_reference(t))
                    .collect(),
            )),
            V::MaxTokens(m) => Some((ExpectKind::MaxTokens(m.value), Vec::new())),
            V::MaxLatency(l) => self
                .duration("max_latency", l)
                .map(|d| (ExpectKind::MaxLatency(d), Vec::new())),
            V::MaxFirstToken(l) => self
                .duration("max_first_token", l)
                .map(|d| (ExpectKind::MaxFirstToken(d), Vec::new())),
            V::Judge(s) => {
                self.no_blank_rubric(s);
                Some(self.texts(s, ExpectKind::Judge))
            }
            V::Facts(list) => Some((ExpectKind::Facts(self.facts("facts", list)), Vec::new())),
            V::NotFacts(list) => Some((
                ExpectKind::NotFacts(self.facts("not_facts", list)),
                Vec::new(),
            )),
        }
    }

    /// `facts:` / `not_facts:`: a list of one-kind mappings, each value read by the fact
    /// extractor here, so that one it cannot read is an error at its place rather than a
    /// check that never fails (`not_facts`) or never passes (`facts`).
    fn facts(&mut self, key: &str, list: &Spanned<Vec<Spanned<Entries<String>>>>) -> Vec<FactSpec> {
        if list.value.is_empty() {
            self.error(span_of(list), format!("`{key}` is an empty list"));
        }
        list.value
            .iter()
            .filter_map(|item| self.fact(item))
            .collect()
    }

    fn fact(&mut self, item: &Spanned<Entries<String>>) -> Option<FactSpec> {
        type Entry<'e> = (&'e Spanned<String>, &'e Spanned<String>);
        let mut kind: Option<Entry> = None;
        let mut unit: Option<Entry> = None;
        let mut ok = true;
        for (k, v) in &item.value.0 {
            match k.value.as_str() {
                name if FactSpec::KINDS.contains(&name) => match kind {
                    Some((first, _)) => {
                        let d = self.error(
                            span_of(k),
                            format!(
                                "a fact has one kind: `{}` and `{name}` are both written",
                                first.value
                            ),
                        );
                        d.help = Some("write each fact as its own list item".into());
                        ok = false;
                    }
                    None => kind = Some((k, v)),
                },
                "unit" => unit = Some((k, v)),
                other => {
                    self.unknown_fact_key(other, span_of(k));
                    ok = false;
                }
            }
        }
        let Some((k, v)) = kind else {
            if ok {
                let d = self.error(span_of(item), "a fact names no kind");
                d.label = Some(format!("expected one of {}", fact_kinds()));
            }
            return None;
        };
        if let Some((u, _)) = unit.filter(|_| k.value != "number") {
            self.error(
                span_of(u),
                format!("`unit` goes only with `number`, not `{}`", k.value),
            );
            ok = false;
        }
        if v.value.trim().is_empty() {
            self.error(span_of(v), format!("the `{}` is empty", k.value));
            ok = false;
        }
        if !ok {
            return None;
        }
        let unit_text = unit.map(|(_, u)| u.value.as_str());
        match FactSpec::new(&k.value, &v.value, unit_text, span_of(k)) {
            Ok(spec) => Some(spec),
            Err(why) => {
                // At the unit when the value reads without it (asked on this rare road only).
                let (at, what) = match unit {
                    Some((_, u)) if crate::facts::parse_spec(&k.value, &v.value, None).is_ok() => {
                        (span_of(u), "unit")
                    }
                    _ => (span_of(v), k.value.as_str()),
                };
                self.error(at, format!("invalid `{what}`: {why}"));
                None
            }
        }
    }

    fn unknown_fact_key(&mut self, key: &str, span: Span) {
        let mut known: Vec<&str> = FactSpec::KINDS.to_vec();
        known.push("unit");
        let d = self.error(span, format!("unknown fact kind `{key}`"));
        d.label = Some(format!(
            "expected one of {} (and `unit` with `number`)",
            fact_kinds()
        ));
        if let Some(best) = did_you_mean(key, &known) {
            d.help = Some(format!("did you mean `{best}`?"));
        }
    }

    fn duration(&mut self, key: &str, v: &Spanned<String>) -> Option<Duration> {
        match parse_duration(&v.value) {
            Ok(d) => Some(d),
            Err(msg) => {
                self.error(span_of(v), format!("invalid `{key}`: {msg}"));
                None
            }
        }
    }

    fn status(&mut self, s: &Spanned<OneOrMany<i64>>) -> Vec<u16> {
        let mut codes = Vec::new();
        for (code, span) in items(s) {
            match u16::try_from(code) {
                Ok(c) if (100..=599).contains(&c) => codes.push(c),
                _ => {
                    self.error(span, format!("status {code} is out of range"))
                        .label = Some("an HTTP status, 100 to 599".into());
                }
            }
        }
        self.nonempty("status", s);
        codes
    }

    /// Strings that must (or must not) appear: each one a template.
    fn texts(
        &mut self,
        s: &Spanned<OneOrMany<String>>,
        make: fn(Vec<String>) -> ExpectKind,
    ) -> Checked {
        let list = self.as_written(s);
        let templates = list
            .iter()
            .filter(|(t, _)| has_reference(t))
            .cloned()
            .collect();
        let kind = make(list.into_iter().map(|(t, _)| t).collect());
        self.nonempty(kind.key(), s);
        (kind, templates)
    }

    fn patterns(
        &mut self,
        s: &Spanned<OneOrMany<String>>,
        make: fn(Vec<Pattern>) -> ExpectKind,
    ) -> Checked {
        let compiled = self
            .as_written(s)
            .into_iter()
            .filter_map(|(p, span)| self.regex(&p, span))
            .collect();
        let kind = make(compiled);
        self.nonempty(kind.key(), s);
        (kind, Vec::new())
    }

    /// The items of `s` as the file writes them. A lone number or boolean (`contains: 9.90`,
    /// `not_contains: yes`, `tags: on`) reaches the loader as a typed value whose text was rebuilt from
    /// it ("9.9", "true"), which would check other text than the user wrote: it is read back
    /// from the file at its place, up to where a plain scalar ends (a comment, the end of the
    /// line, or a flow collection's `,`, `]` or `}`, none of which a number or boolean holds).
    pub(super) fn as_written(&self, s: &Spanned<OneOrMany<String>>) -> Vec<(String, Span)> {
        let mut list = items(s);
        if s.value.1 {
            if let (Some(item), Some(text)) = (list.first_mut(), self.plain_at(span_of(s))) {
                item.0 = text.to_string();
            }
        }
        list
    }

    /// The plain scalar that starts at `span` in this file, as written.
    fn plain_at(&self, span: Span) -> Option<&str> {
        let text = &*self.file.text;
        let line = &text[crate::diag::line_start(text, span.line)?..];
        let (at, _) = line
            .char_indices()
            .nth(span.column.checked_sub(1)? as usize)?;
        let rest = &line[at..];
        let end = rest
            .char_indices()
            .find(|&(i, c)| {
                matches!(c, '\n' | '\r' | ',' | ']' | '}')
                    || (c == '#' && rest[..i].ends_with([' ', '\t']))
            })
            .map_or(rest.len(), |(i, _)| i);
        let text = rest[..end].trim_end();
        // An anchor or a tag before the value (`&price 9.90`, `!!float 9.90`) is not its
        // text. At an alias (`*ok`, a `<<: *ok` merge) the value is written elsewhere, as it
        // is in a block scalar or a quoted one: the rebuilt text stands, as it did before.
        let text = match text.split_once(' ') {
            Some((mark, value)) if mark.starts_with(['&', '!']) => value.trim_start(),
            _ => text,
        };
        let plain =
            !text.is_empty() && !text.starts_with(['*', '&', '!', '|', '>', '"', '\'', '<']);
        plain.then_some(text)
    }

    /// A blank rubric states nothing the judge could find false: it would pass every reply,
    /// like an empty list, which is refused too. (One a `{{name}}` leaves blank is the turn's
    /// error at run time: the grader's.)
    fn no_blank_rubric(&mut self, s: &Spanned<OneOrMany<String>>) {
        for (rubric, span) in items(s) {
            if rubric.trim().is_empty() {
                let what = if rubric.is_empty() { "empty" } else { "blank" };
                self.error(span, format!("a `judge` rubric is {what}")).help = Some(
                    "write what the judge must find true of the reply (`judge: States the \
                     opening hours`), or remove the rubric"
                        .into(),
                );
            }
        }
    }

    /// An empty list would hold vacuously (or never, for `contains_any`): surely a mistake.
    fn nonempty<T>(&mut self, key: &str, s: &Spanned<OneOrMany<T>>) {
        if s.value.0.is_empty() {
            self.error(span_of(s), format!("`{key}` is an empty list"));
        }
    }
}

/// Whether `text` may hold a `{{name}}`: only those are kept to be checked per turn.
fn has_reference(text: &str) -> bool {
    text.contains("{{")
}

/// "`time`, `number`, `money`, `percent`, `date`".
fn fact_kinds() -> String {
    FactSpec::KINDS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
