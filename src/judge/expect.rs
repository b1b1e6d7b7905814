//! Expectations of SPEC §3.2: a turn's observed reply in, failures out (as data: what was
//! expected, what came; `report::explain` words them). Pure: no I/O, no
//! clock. Every failure keeps the span of the expectation that produced it, so the console and
//! the reports can point at `suite.yaml:line:column`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::diag::Span;
use crate::facts;
use crate::record::{Detail, Failure, Usage};
use crate::suite::model::{ExpectKind, Expectation, FactSpec};
use crate::suite::template;

/// What a turn saw, as far as expectations care.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub status: u16,
    /// The agent's text, or an error response's `detail`.
    pub text: &'a str,
    pub usage: Usage,
    /// The body shape the endpoint named (`usage`, `tokens_used`, ...).
    pub shape: Option<&'static str>,
    pub latency: Duration,
    /// When the first piece of a streamed reply came; `None` when it was not streamed.
    pub first_token: Option<Duration>,
}

/// The statuses a turn accepts: its `status` expectation, or 200.
pub fn expected_statuses(expect: &[Expectation]) -> Vec<u16> {
    expect
        .iter()
        .find_map(|e| match &*e.kind {
            ExpectKind::Status(list) => Some(list.clone()),
            _ => None,
        })
        .unwrap_or_else(|| vec![200])
}

/// Every failed expectation, in the order they are written. `values` expands `{{name}}` in
/// expected strings (vars and earlier captures).
pub fn judge(
    expect: &[Expectation],
    turn_span: Span,
    seen: &Observed<'_>,
    values: &BTreeMap<String, String>,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    if !expect
        .iter()
        .any(|e| matches!(*e.kind, ExpectKind::Status(_)))
        && seen.status != 200
    {
        // The implicit default: no `status` key means 200. Nothing is written for it, so
        // point at the turn.
        failures.push(Failure {
            key: "status",
            span: turn_span,
            detail: Detail::Status {
                expected: vec![200],
                got: seen.status,
            },
        });
    }
    for e in expect {
        if let Some(detail) = check(&e.kind, seen, values) {
            failures.push(Failure {
                key: e.kind.key(),
                span: e.span,
                detail,
            });
        }
    }
    failures
}

/// What `kind` found wrong with the reply, or `None` when it holds.
fn check(
    kind: &ExpectKind,
    seen: &Observed<'_>,
    values: &BTreeMap<String, String>,
) -> Option<Detail> {
    let text = seen.text;
    match kind {
        ExpectKind::Status(list) => (!list.contains(&seen.status)).then(|| Detail::Status {
            expected: list.clone(),
            got: seen.status,
        }),
        ExpectKind::Contains(items) => {
            nonempty(expanded_where(items, values, |s| !text.contains(s))).map(Detail::Missing)
        }
        ExpectKind::ContainsAny(items) => {
            let items: Vec<Cow<str>> = items.iter().map(|s| expanded(s, values)).collect();
            (!items.iter().any(|s| text.contains(&**s)))
                .then(|| Detail::NoneOf(items.into_iter().map(Cow::into_owned).collect()))
        }
        ExpectKind::NotContains(items) => {
            nonempty(expanded_where(items, values, |s| text.contains(s))).map(Detail::Present)
        }
        ExpectKind::Equals(expected) => {
            let expected = expanded(expected, values);
            (text != expected).then(|| Detail::NotEqual {
                expected: expected.into_owned(),
            })
        }
        ExpectKind::Regex(patterns) => nonempty(
            patterns
                .iter()
                .filter(|r| !r.is_match(text))
                .map(|r| r.as_str().to_string())
                .collect(),
        )
        .map(Detail::NoMatch),
        ExpectKind::NotRegex(patterns) => {
            let found: Vec<(String, String)> = patterns
                .iter()
                .filter_map(|r| {
                    r.find(text)
                        .map(|m| (r.as_str().to_string(), m.as_str().to_string()))
                })
                .collect();
            (!found.is_empty()).then_some(Detail::Matched(found))
        }
        ExpectKind::MaxTokens(max) => match seen.usage.output_tokens {
            Some(n) if n <= *max => None,
            Some(n) => Some(Detail::TooManyTokens { max: *max, got: n }),
            // An error reply (a refused key, a 404) is no answer: it spent no output tokens, and
            // it reports none. A `max_tokens` from `defaults` reaches such a turn (SPEC §3.1's
            // own example expects a 401 under `max_tokens: 300`), and holds there.
            None if !(200..300).contains(&seen.status) => None,
            None => Some(Detail::NoTokenCount {
                max: *max,
                shape: seen.shape,
                total: seen.usage.total_tokens,
            }),
        },
        ExpectKind::MaxLatency(max) => (seen.latency > *max).then_some(Detail::TooSlow {
            max: *max,
            took: seen.latency,
        }),
        // A reply that did not stream has no first token to time (SPEC §8.3).
        ExpectKind::MaxFirstToken(max) => match seen.first_token {
            None if crate::record::streamed_shape(seen.shape) => {
                Some(Detail::NoTextStreamed { max: *max })
            }
            None => Some(Detail::NotStreamed { max: *max }),
            Some(took) => (took > *max).then_some(Detail::FirstTokenTooSlow { max: *max, took }),
        },
        ExpectKind::Facts(specs) => facts_missing(specs, text),
        ExpectKind::NotFacts(specs) => facts_present(specs, text),
        // Asked of the LLM judge by the runner: it is I/O, and may not be able to answer.
        ExpectKind::Judge(_) => None,
    }
}

fn nonempty(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

/// Expected text with its `{{name}}`s filled. Most has none: it is used as written, not
/// copied (a copy of each item had been 1,400 of a request's instructions; a judge's rubric,
/// expanded by the runner, is the same). The search stays `str::contains`: memchr's
/// `memmem::find` sets up twice the work for a one-off search in a reply's few dozen bytes
/// (measured).
pub fn expanded<'k>(s: &'k str, values: &BTreeMap<String, String>) -> Cow<'k, str> {
    if memchr::memchr(b'{', s.as_bytes()).is_none() {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(template::expand_template(s, values))
    }
}

/// The expected texts of `items`, filled, that `pick` keeps: those the reply lacks, or has.
fn expanded_where(
    items: &[String],
    values: &BTreeMap<String, String>,
    pick: impl Fn(&str) -> bool,
) -> Vec<String> {
    items
        .iter()
        .map(|s| expanded(s, values))
        .filter(|s| pick(s))
        .map(Cow::into_owned)
        .collect()
}

/// `facts`: every listed value the reply must state, in any wording. Asked first of the
/// reply's facts of the listed kinds alone, as they are read, which answers when every value
/// is stated, as it is on nearly every turn; a failure lists every fact the reply states, so
/// only then is the reply read for all of them. The test `facts_verdicts_are_the_full_roads`
/// holds the two to the same verdict and wording.
fn facts_missing(specs: &[FactSpec], text: &str) -> Option<Detail> {
    if let Some(bits) = stated(specs, text) {
        let all = specs.iter().enumerate().all(|(n, _)| bits >> n & 1 == 1);
        if all {
            return None;
        }
    }
    facts_missing_in(specs, &facts::extract(text))
}

/// [`facts_missing`] once the reply's facts are all read.
fn facts_missing_in(specs: &[FactSpec], found: &[facts::Fact]) -> Option<Detail> {
    let missing: Vec<String> = specs_of(specs)
        .filter(|f| !facts::states(found, f))
        .map(|f| f.to_string())
        .collect();
    (!missing.is_empty()).then(|| Detail::FactsMissing {
        missing,
        found: found.iter().map(ToString::to_string).collect(),
    })
}

/// `not_facts`: the listed values the reply states, which it must not. Only facts of the
/// listed kinds can be any of them.
fn facts_present(specs: &[FactSpec], text: &str) -> Option<Detail> {
    let present: Vec<String> = match stated(specs, text) {
        Some(bits) => specs
            .iter()
            .enumerate()
            .filter(|(n, _)| bits >> n & 1 == 1)
            .map(|(_, s)| &s.fact)
            .map(ToString::to_string)
            .collect(),
        None => {
            let found = facts::extract_only(text, kinds_of(specs));
            specs_of(specs)
                .filter(|f| facts::states(&found, f))
                .map(|f| f.to_string())
                .collect()
        }
    };
    (!present.is_empty()).then_some(Detail::FactsPresent(present))
}

/// Which of `specs` the reply states, one bit each, asked of each fact of the listed kinds as it is read: no list of the reply's
/// facts is made, whose allocation and dedup were most of what the check cost beyond
/// reading. `None` past 64 specs, which take the list.
fn stated(specs: &[FactSpec], text: &str) -> Option<u64> {
    if specs.len() > 64 {
        return None;
    }
    let mut bits = 0u64;
    facts::each_fact(text, kinds_of(specs), |found| {
        for (n, s) in specs.iter().enumerate() {
            if facts::states(std::slice::from_ref(&found), &s.fact) {
                bits |= 1 << n;
            }
        }
    });
    Some(bits)
}

/// The facts `specs` name, as read at load.
fn specs_of(specs: &[FactSpec]) -> impl Iterator<Item = &facts::Fact> {
    specs.iter().map(|s| &s.fact)
}

/// The kinds `specs` name: those of the facts read from them at load, which are of the kind
/// each names, without the names compared again at every turn.
fn kinds_of(specs: &[FactSpec]) -> facts::Kinds {
    specs
        .iter()
        .map(|s| facts::Kinds::of(&s.fact))
        .fold(facts::Kinds::default(), facts::Kinds::with)
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn e(kind: ExpectKind) -> Expectation {
        Expectation {
            kind: kind.into(),
            span: Span::new(7, 9),
        }
    }

    fn seen(text: &str) -> Observed<'_> {
        Observed {
            status: 200,
            text,
            usage: Usage {
                input_tokens: Some(5),
                output_tokens: Some(12),
                total_tokens: Some(17),
            },
            shape: Some("usage"),
            latency: Duration::from_millis(40),
            first_token: None,
        }
    }

    /// `max_first_token` on a reply without a first token says why there is none: a stream
    /// whose events had no text is no reply that did not stream.
    #[test]
    fn a_missing_first_token_says_whether_the_reply_streamed() {
        let expect = vec![e(ExpectKind::MaxFirstToken(Duration::from_millis(500)))];
        let detail = |shape| {
            let seen = Observed { shape, ..seen("") };
            judge(&expect, Span::new(3, 7), &seen, &BTreeMap::new())
                .pop()
                .map(|f| f.detail)
        };
        let max = Duration::from_millis(500);
        for shape in ["chat.completion.chunk", "sse"] {
            assert_eq!(detail(Some(shape)), Some(Detail::NoTextStreamed { max }));
        }
        for shape in [Some("chat.completion"), Some("json"), Some("usage"), None] {
            assert_eq!(detail(shape), Some(Detail::NotStreamed { max }));
        }
    }

    fn keys(f: &[Failure]) -> Vec<&str> {
        f.iter().map(|f| f.key).collect()
    }

    const HOURS: &str = "Our business hours are Monday through Friday, 9 AM to 6 PM EST.";

    #[test]
    fn everything_holds() {
        let expect = vec![
            e(ExpectKind::Status(vec![200])),
            e(ExpectKind::Contains(vec!["Monday".into(), "9 AM".into()])),
            e(ExpectKind::ContainsAny(vec![
                "Sunday".into(),
                "Friday".into(),
            ])),
            e(ExpectKind::NotContains(vec!["I don't know".into()])),
            e(ExpectKind::Regex(vec![Regex::new(r"(?i)\best\b")
                .unwrap()
                .into()])),
            e(ExpectKind::NotRegex(vec![Regex::new(r"\bSunday\b")
                .unwrap()
                .into()])),
            e(ExpectKind::Equals(HOURS.into())),
            e(ExpectKind::MaxTokens(12)),
            e(ExpectKind::MaxLatency(Duration::from_millis(40))),
        ];
        assert!(judge(&expect, Span::new(3, 7), &seen(HOURS), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn each_kind_fails_with_a_clear_message_and_its_span() {
        let expect = vec![
            e(ExpectKind::Status(vec![401, 403])),
            e(ExpectKind::Contains(vec![
                "Monday".into(),
                "Saturday".into(),
            ])),
            e(ExpectKind::ContainsAny(vec![
                "Sunday".into(),
                "weekend".into(),
            ])),
            e(ExpectKind::NotContains(vec!["EST".into()])),
            e(ExpectKind::Regex(vec![Regex::new(r"\d+ PM PST")
                .unwrap()
                .into()])),
            e(ExpectKind::NotRegex(vec![Regex::new(r"\d AM")
                .unwrap()
                .into()])),
            e(ExpectKind::Equals("Closed.".into())),
            e(ExpectKind::MaxTokens(11)),
            e(ExpectKind::MaxLatency(Duration::from_millis(39))),
        ];
        let f = judge(&expect, Span::new(3, 7), &seen(HOURS), &BTreeMap::new());
        assert_eq!(
            keys(&f),
            [
                "status",
                "contains",
                "contains_any",
                "not_contains",
                "regex",
                "not_regex",
                "equals",
                "max_tokens",
                "max_latency"
            ]
        );
        assert!(f.iter().all(|f| f.span == Span::new(7, 9)));
        assert_eq!(
            f[0].detail,
            Detail::Status {
                expected: vec![401, 403],
                got: 200
            }
        );
        assert_eq!(f[1].detail, Detail::Missing(vec!["Saturday".into()]));
        assert_eq!(
            f[5].detail,
            Detail::Matched(vec![(r"\d AM".into(), "9 AM".into())])
        );
        assert_eq!(f[7].detail, Detail::TooManyTokens { max: 11, got: 12 });
        assert_eq!(
            f[8].detail,
            Detail::TooSlow {
                max: Duration::from_millis(39),
                took: Duration::from_millis(40)
            }
        );
    }

    #[test]
    fn implicit_status_is_200() {
        let mut s = seen("ok");
        s.status = 201;
        let f = judge(&[], Span::new(3, 7), &s, &BTreeMap::new());
        assert_eq!(
            f[0].detail,
            Detail::Status {
                expected: vec![200],
                got: 201
            }
        );
        assert_eq!(f[0].span, Span::new(3, 7), "points at the turn");
        assert_eq!(expected_statuses(&[]), vec![200]);
    }

    #[test]
    fn max_tokens_holds_on_an_error_reply_without_usage() {
        let mut s = seen("Invalid API key");
        s.status = 401;
        s.usage = Usage::default();
        let f = judge(
            &[
                e(ExpectKind::Status(vec![401])),
                e(ExpectKind::MaxTokens(300)),
            ],
            Span::new(3, 7),
            &s,
            &BTreeMap::new(),
        );
        assert!(f.is_empty(), "{f:?}");
        // A 2xx without a count still cannot be checked.
        s.status = 200;
        let f = judge(
            &[e(ExpectKind::MaxTokens(300))],
            Span::new(3, 7),
            &s,
            &BTreeMap::new(),
        );
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn max_tokens_without_output_count_says_why() {
        let mut s = seen("ok");
        s.shape = Some("tokens_used");
        s.usage = Usage {
            total_tokens: Some(145),
            ..Usage::default()
        };
        let f = judge(
            &[e(ExpectKind::MaxTokens(300))],
            Span::new(3, 7),
            &s,
            &BTreeMap::new(),
        );
        assert_eq!(
            f[0].detail,
            Detail::NoTokenCount {
                max: 300,
                shape: Some("tokens_used"),
                total: Some(145)
            }
        );
        s.shape = Some("metadata");
        s.usage = Usage::default();
        let f = judge(
            &[e(ExpectKind::MaxTokens(300))],
            Span::new(3, 7),
            &s,
            &BTreeMap::new(),
        );
        assert_eq!(
            f[0].detail,
            Detail::NoTokenCount {
                max: 300,
                shape: Some("metadata"),
                total: None
            }
        );
    }

    /// `facts` and `not_facts` give the verdict and the wording that reading every fact of
    /// the reply gives, over replies of times, dates, money, numbers, words and text beyond
    /// ASCII, and lists of specs of every kind (those the extractor reads: any other is a
    /// suite error at load).
    #[test]
    fn facts_verdicts_are_the_full_roads() {
        use proptest::prelude::*;
        fn full_missing(specs: &[FactSpec], text: &str) -> Option<Detail> {
            facts_missing_in(specs, &facts::extract(text))
        }
        fn full_present(specs: &[FactSpec], text: &str) -> Option<Detail> {
            let found = facts::extract(text);
            let present: Vec<String> = specs_of(specs)
                .filter(|f| facts::states(&found, f))
                .map(|f| f.to_string())
                .collect();
            (!present.is_empty()).then_some(Detail::FactsPresent(present))
        }
        let spec = |kind: &str, value: &str, unit: Option<&str>| {
            FactSpec::new(kind, value, unit, Span::new(1, 2)).expect("a readable spec")
        };
        let pool = vec![
            spec("time", "09:00", None),
            spec("time", "18:00", None),
            spec("time", "9 AM", None),
            spec("number", "30", Some("day")),
            spec("number", "12", None),
            spec("number", "3", Some("turn")),
            spec("money", "99 USD", None),
            spec("money", "$5", None),
            spec("percent", "15", None),
            spec("date", "2026-12-24", None),
            spec("date", "12-24", None),
        ];
        let pieces: Vec<&str> = "\
            Answer to dialogue turn our business hours are 9 AM 6 PM EST nine noon thirty \
            Dec 24 December 2026 2026-12-24 $99 99 USD € 5 15% percent 30 days day 3 12 \
            items 18:00 09:00 until between and or - . , : ( ) é ٣ www.x.com 555-123-4567"
            .split_whitespace()
            .collect();
        let text = crate::facts::texts(pieces, vec![" ", "", "\n", " "], 14);
        let specs = proptest::collection::vec(proptest::sample::select(pool), 1..4);
        let hours = "Answer to dialogue 12 turn 3: our business hours are 9 AM to 6 PM EST.";
        let both = [spec("time", "09:00", None), spec("time", "18:00", None)];
        assert_eq!(facts_missing(&both, hours), None);
        assert_eq!(facts_missing(&both, hours), full_missing(&both, hours));
        proptest!(ProptestConfig::with_cases(3000), |(text in text, specs in specs)| {
            // Past 64 specs the checks take the list of the reply's facts.
            let many: Vec<FactSpec> = specs.iter().cycle().take(65).cloned().collect();
            for specs in [&specs, &many] {
                prop_assert_eq!(
                    facts_missing(specs, &text),
                    full_missing(specs, &text),
                    "{:?} {:?}", text, specs
                );
                prop_assert_eq!(
                    facts_present(specs, &text),
                    full_present(specs, &text),
                    "{:?} {:?}", text, specs
                );
            }
        });
    }

    #[test]
    fn expected_strings_take_captures() {
        let values = BTreeMap::from([("order".to_string(), "ORD-42".to_string())]);
        let expect = [e(ExpectKind::Contains(vec!["{{order}}".into()]))];
        assert!(judge(
            &expect,
            Span::new(3, 7),
            &seen("ORD-42 has shipped"),
            &values
        )
        .is_empty());
        let f = judge(
            &expect,
            Span::new(3, 7),
            &seen("ORD-41 has shipped"),
            &values,
        );
        assert_eq!(f[0].detail, Detail::Missing(vec!["ORD-42".into()]));
    }
}
