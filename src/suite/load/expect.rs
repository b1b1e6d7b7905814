//! Expectations: each `expect:` key checked into an [`Expectation`] pointing at its key, with
//! errors about a value pointing at the value. Which `{{name}}`s a value may use is checked
//! later, per turn, by `dialogue`; this file only says which strings are templates.

use serde_saphyr::Spanned;

use crate::diag::Span;
use crate::suite::model::{ExpectKind, Expectation, Pattern};
use crate::suite::raw::{items, span_of, OneOrMany, RawExpect, RawExpectValue};
use crate::util::parse_duration;

use super::check::Checker;

/// One expectation, checked, with the strings that are `{{var}}` templates and their spans.
#[derive(Clone)]
pub(super) struct Exp {
    pub(super) expectation: Expectation,
    pub(super) templates: Vec<(String, Span)>,
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
                Some(Exp {
                    expectation: Expectation {
                        kind,
                        span: entry.span,
                    },
                    templates,
                })
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
                vec![(e.value.clone(), span_of(e))],
            )),
            V::MaxTokens(m) => Some((ExpectKind::MaxTokens(m.value), Vec::new())),
            V::MaxLatency(l) => match parse_duration(&l.value) {
                Ok(d) => Some((ExpectKind::MaxLatency(d), Vec::new())),
                Err(msg) => {
                    self.error(span_of(l), format!("invalid `max_latency`: {msg}"));
                    None
                }
            },
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
        let list = items(s);
        let kind = make(list.iter().map(|(t, _)| t.clone()).collect());
        self.nonempty(kind.key(), s);
        (kind, list)
    }

    fn patterns(
        &mut self,
        s: &Spanned<OneOrMany<String>>,
        make: fn(Vec<Pattern>) -> ExpectKind,
    ) -> Checked {
        let compiled = items(s)
            .into_iter()
            .filter_map(|(p, span)| self.regex(&p, span))
            .collect();
        let kind = make(compiled);
        self.nonempty(kind.key(), s);
        (kind, Vec::new())
    }

    /// An empty list would hold vacuously (or never, for `contains_any`): surely a mistake.
    fn nonempty<T>(&mut self, key: &str, s: &Spanned<OneOrMany<T>>) {
        if s.value.0.is_empty() {
            self.error(span_of(s), format!("`{key}` is an empty list"));
        }
    }
}
