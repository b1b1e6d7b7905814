//! Expectations of SPEC §3.2: a turn's observed reply in, failures out. Pure: no I/O, no
//! clock. Every failure keeps the span of the expectation that produced it, so the console and
//! the reports can point at `suite.yaml:line:column`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::{Shape, Usage};
use crate::diag::Span;
use crate::run::result::Failure;
use crate::suite::model::{ExpectKind, Expectation};
use crate::suite::template;
use crate::util::human_duration;

/// What a turn saw, as far as expectations care.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    pub status: u16,
    /// The agent's text, or an error response's `detail`.
    pub text: &'a str,
    pub usage: Usage,
    pub shape: Option<Shape>,
    pub latency: Duration,
}

/// The statuses a turn accepts: its `status` expectation, or 200.
pub fn expected_statuses(expect: &[Expectation]) -> Vec<u16> {
    expect
        .iter()
        .find_map(|e| match &e.kind {
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
        .any(|e| matches!(e.kind, ExpectKind::Status(_)))
        && seen.status != 200
    {
        // The implicit default: no `status` key means 200. Nothing is written for it, so
        // point at the turn.
        failures.push(Failure {
            key: "status",
            span: turn_span,
            message: format!("expected status 200, got {}", seen.status),
        });
    }
    for e in expect {
        if let Some(message) = check(&e.kind, seen, values) {
            failures.push(Failure {
                key: e.kind.key(),
                span: e.span,
                message,
            });
        }
    }
    failures
}

fn check(
    kind: &ExpectKind,
    seen: &Observed<'_>,
    values: &BTreeMap<String, String>,
) -> Option<String> {
    let text = seen.text;
    let expand = |s: &String| template::expand_template(s, values);
    match kind {
        ExpectKind::Status(list) => (!list.contains(&seen.status))
            .then(|| format!("expected status {}, got {}", one_of(list), seen.status)),
        ExpectKind::Contains(items) => {
            let missing: Vec<String> = items
                .iter()
                .map(expand)
                .filter(|s| !text.contains(s.as_str()))
                .collect();
            (!missing.is_empty())
                .then(|| format!("expected the text to contain {}", quoted(&missing)))
        }
        ExpectKind::ContainsAny(items) => {
            let items: Vec<String> = items.iter().map(expand).collect();
            (!items.iter().any(|s| text.contains(s.as_str())))
                .then(|| format!("expected the text to contain any of {}", quoted(&items)))
        }
        ExpectKind::NotContains(items) => {
            let found: Vec<String> = items
                .iter()
                .map(expand)
                .filter(|s| text.contains(s.as_str()))
                .collect();
            (!found.is_empty())
                .then(|| format!("expected the text not to contain {}", quoted(&found)))
        }
        ExpectKind::Regex(patterns) => {
            let missing: Vec<String> = patterns
                .iter()
                .filter(|r| !r.is_match(text))
                .map(|r| format!("/{}/", r.as_str()))
                .collect();
            (!missing.is_empty())
                .then(|| format!("expected the text to match {}", missing.join(", ")))
        }
        ExpectKind::NotRegex(patterns) => {
            let found: Vec<String> = patterns
                .iter()
                .filter_map(|r| {
                    r.find(text)
                        .map(|m| format!("/{}/ (matched {:?})", r.as_str(), m.as_str()))
                })
                .collect();
            (!found.is_empty())
                .then(|| format!("expected the text not to match {}", found.join(", ")))
        }
        ExpectKind::Equals(expected) => {
            let expected = expand(expected);
            (text != expected).then(|| format!("expected the text to equal {expected:?}"))
        }
        ExpectKind::MaxTokens(max) => match seen.usage.output_tokens {
            Some(n) if n <= *max => None,
            Some(n) => Some(format!("expected at most {max} output tokens, got {n}")),
            None => Some(format!(
                "max_tokens {max} cannot be checked: the endpoint reported no output-token count \
                 ({})",
                match seen.shape {
                    Some(Shape::TokensUsed) => format!(
                        "response shape `tokens_used` gives only a total{}",
                        seen.usage
                            .total_tokens
                            .map(|t| format!(" of {t}"))
                            .unwrap_or_default()
                    ),
                    Some(shape) => format!("response shape `{}`", shape.as_str()),
                    None => "no usage in the response".to_string(),
                }
            )),
        },
        ExpectKind::MaxLatency(max) => (seen.latency > *max).then(|| {
            format!(
                "expected a round trip of at most {}, took {}",
                human_duration(*max),
                human_duration(seen.latency)
            )
        }),
        // Placeholder until the runner records the first token (SPEC §8.3).
        ExpectKind::MaxFirstToken(max) => Some(format!(
            "max_first_token {} cannot be checked: the endpoint does not stream",
            human_duration(*max)
        )),
        // Placeholder until the judge and the fact extractor are wired (SPEC §9).
        ExpectKind::Judge(_) | ExpectKind::Facts(_) | ExpectKind::NotFacts(_) => Some(format!(
            "`{}` cannot be checked by this build yet",
            kind.key()
        )),
    }
}

fn quoted(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("{s:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn one_of(list: &[u16]) -> String {
    match list {
        [one] => one.to_string(),
        many => format!(
            "one of {}",
            many.iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn e(kind: ExpectKind) -> Expectation {
        Expectation {
            kind,
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
            shape: Some(Shape::Usage),
            latency: Duration::from_millis(40),
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
        assert_eq!(f[0].message, "expected status one of 401, 403, got 200");
        assert_eq!(f[1].message, "expected the text to contain \"Saturday\"");
        assert_eq!(
            f[5].message,
            "expected the text not to match /\\d AM/ (matched \"9 AM\")"
        );
        assert_eq!(f[7].message, "expected at most 11 output tokens, got 12");
        assert_eq!(
            f[8].message,
            "expected a round trip of at most 39ms, took 40ms"
        );
    }

    #[test]
    fn implicit_status_is_200() {
        let mut s = seen("ok");
        s.status = 201;
        let f = judge(&[], Span::new(3, 7), &s, &BTreeMap::new());
        assert_eq!(f[0].message, "expected status 200, got 201");
        assert_eq!(f[0].span, Span::new(3, 7), "points at the turn");
        assert_eq!(expected_statuses(&[]), vec![200]);
    }

    #[test]
    fn max_tokens_without_output_count_says_why() {
        let mut s = seen("ok");
        s.shape = Some(Shape::TokensUsed);
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
        assert!(
            f[0].message.contains("no output-token count"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.contains("tokens_used"), "{}", f[0].message);
        s.shape = Some(Shape::Metadata);
        s.usage = Usage::default();
        let f = judge(
            &[e(ExpectKind::MaxTokens(300))],
            Span::new(3, 7),
            &s,
            &BTreeMap::new(),
        );
        assert!(f[0].message.contains("`metadata`"), "{}", f[0].message);
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
        assert_eq!(f[0].message, "expected the text to contain \"ORD-42\"");
    }
}
