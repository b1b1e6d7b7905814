//! A judge's verdict and how one is read from a judge's answer (SPEC §9.2): the object
//! `{"pass": true|false, "reason": "..."}`, alone or in a fence or prose. Parsing only: asking
//! is the grader's, keeping verdicts on disk the cache's. An answer that is not one clear
//! verdict (no boolean `pass`, or `pass` written twice) is never read as a pass.

use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The prompt's version: part of every cache key, so a new prompt never reuses old verdicts,
/// and written into each verdict file.
pub const PROMPT_VERSION: &str = "v1";

/// A judge's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub pass: bool,
    pub reason: Reason,
    /// Read from the cache instead of asked.
    pub cached: bool,
}

/// A verdict's reason: a text of its own, or a part of the cache index's reasons, which
/// serve most verdicts. Shared, not copied: a copy of the reason for each verdict, dropped
/// unread when the verdict passes, had cost more than the index's lookup.
#[derive(Clone)]
pub struct Reason(Text);

#[derive(Clone)]
enum Text {
    Own(Arc<str>),
    /// `all[start..end]`, which [`Reason::part`] found to be text.
    Part {
        all: Arc<str>,
        start: usize,
        end: usize,
    },
}

impl Reason {
    /// `all[start..end]` shared, or `None` when that is not a part of `all` (out of it, or
    /// not at the bounds of its characters).
    pub fn part(all: &Arc<str>, start: usize, end: usize) -> Option<Reason> {
        all.get(start..end)?;
        Some(Reason(Text::Part {
            all: Arc::clone(all),
            start,
            end,
        }))
    }
}

impl std::ops::Deref for Reason {
    type Target = str;
    fn deref(&self) -> &str {
        match &self.0 {
            Text::Own(s) => s,
            Text::Part { all, start, end } => all.get(*start..*end).unwrap_or_default(),
        }
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Reason {
        Reason(Text::Own(s.into()))
    }
}

impl PartialEq for Reason {
    fn eq(&self, other: &Reason) -> bool {
        **self == **other
    }
}

impl Eq for Reason {}

impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

/// A verdict as an answer or a cache file gives it: the reason trimmed, and said to be missing
/// when there is none.
pub(super) fn verdict(pass: bool, reason: Option<&str>) -> Verdict {
    let reason = reason
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("(the judge gave no reason)");
    Verdict {
        pass,
        reason: reason.into(),
        cached: false,
    }
}

/// The verdict in a judge's answer: a JSON object with a boolean `pass`, alone or inside a
/// code fence or surrounding prose (models add them despite the prompt).
///
/// An object that is an element of a JSON array (`[{"pass": true}]`, fenced or not) is not a
/// verdict: the prompt asks for one object, and an array is a different answer (a list of
/// verdicts, of which this would read the last and drop the rest). It is asked again like any
/// other non-verdict, and after the retries it is "could not judge", never a pass.
///
/// Nor is an object with `pass` more than once (`{"pass": false, "pass": true}`), whatever the
/// values: a JSON tree keeps only the last of a repeated key, which would read a contradiction
/// as its last word, so the object is read as its members, each as often as it is written.
///
/// A `reason` that is not a string (a list of points, a number) is still the judge's reason:
/// it is shown as its compact JSON rather than dropped.
pub fn parse_verdict(answer: &str) -> Result<Verdict, String> {
    let start = answer.find('{');
    let end = answer.rfind('}');
    let (object, before, after) = match (start, end) {
        (Some(s), Some(e)) if e > s => (&answer[s..=e], &answer[..s], &answer[e + 1..]),
        _ => {
            return Err(format!(
                "the judge did not answer JSON: {}",
                preview(answer)
            ))
        }
    };
    if before.trim_end().ends_with('[') || after.trim_start().starts_with(']') {
        return Err(format!(
            "the judge answered a JSON array, not an object: {}",
            preview(answer)
        ));
    }
    let Members(members) = serde_json::from_str(object).map_err(|e| {
        format!(
            "the judge's answer is not valid JSON ({e}): {}",
            preview(answer)
        )
    })?;
    let mut passes = members.iter().filter(|(k, _)| k == "pass").map(|(_, v)| v);
    let pass = match (passes.next(), passes.count()) {
        (Some(v), 0) => v.as_bool(),
        (Some(_), more) => {
            return Err(format!(
                "the judge's answer has `pass` {}, which is no clear verdict: {}",
                times(more + 1),
                preview(answer)
            ))
        }
        (None, _) => None,
    };
    let pass = pass.ok_or_else(|| {
        format!(
            "the judge's answer has no boolean `pass`: {}",
            preview(answer)
        )
    })?;
    // The last `reason`, as a JSON tree would read it: a repeated reason changes no verdict.
    let reason = members.iter().rev().find(|(k, _)| k == "reason");
    Ok(match reason.map(|(_, v)| v) {
        Some(Value::String(s)) => verdict(pass, Some(s)),
        None | Some(Value::Null) => verdict(pass, None),
        Some(other) => verdict(pass, Some(&other.to_string())),
    })
}

/// "twice", "3 times".
fn times(n: usize) -> String {
    match n {
        2 => "twice".to_string(),
        n => format!("{n} times"),
    }
}

/// A JSON object as its members in written order, a repeated key kept each time (a
/// `serde_json::Map` keeps only the last). Keys are read unescaped, so `"p\u0061ss"` is `pass`.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    out.push(member);
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(V)
    }
}

pub(super) fn preview(text: &str) -> String {
    let t = text.trim();
    match t.char_indices().nth(200) {
        Some((i, _)) => format!("`{}…`", &t[..i]),
        None => format!("`{t}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_alone_fenced_or_in_prose() {
        let v = parse_verdict(r#"{"pass": true, "reason": "states 9 AM"}"#).unwrap();
        assert!(v.pass);
        assert_eq!(&*v.reason, "states 9 AM");
        let v =
            parse_verdict("```json\n{\"pass\": false, \"reason\": \"says 10 AM\"}\n```").unwrap();
        assert!(!v.pass);
        let v = parse_verdict("Sure! {\"pass\": true}").unwrap();
        assert_eq!(&*v.reason, "(the judge gave no reason)");
        assert!(parse_verdict("yes").is_err());
        assert!(parse_verdict(r#"{"pass": "yes"}"#).is_err());
        assert!(parse_verdict("{not json}").is_err());
        // Prose with brackets of its own around the object is still prose.
        let v = parse_verdict("Verdict [final]: {\"pass\": true} [1]").unwrap();
        assert!(v.pass);
    }

    #[test]
    fn a_verdict_inside_an_array_is_not_a_verdict() {
        for answer in [
            r#"[{"pass": true, "reason": "fine"}]"#,
            "[\n  {\"pass\": true}\n]",
            "```json\n[{\"pass\": true}]\n```",
            r#"Here you go: [{"pass": true}]"#,
            r#"[{"pass": false}, {"pass": true}]"#,
        ] {
            let err = parse_verdict(answer).unwrap_err();
            assert!(
                err.contains("a JSON array, not an object"),
                "{answer}: {err}"
            );
        }
    }

    /// `pass` written more than once is no verdict, whatever the values, on every road an
    /// answer reaches the parser: alone, fenced, in prose, escaped, beside a nested `pass`.
    #[test]
    fn pass_written_twice_is_not_a_verdict() {
        for answer in [
            r#"{"pass": false, "reason": "dup", "pass": true}"#,
            r#"{"pass": true, "pass": false}"#,
            r#"{"pass": true, "pass": true}"#,
            r#"{"pass": false, "pass": "yes"}"#,
            "```json\n{\"pass\": false, \"reason\": \"dup\", \"pass\": true}\n```",
            "Verdict: {\"pass\": false,\n \"pass\": true} as asked.",
            r#"{"pass": false, "p\u0061ss": true}"#,
        ] {
            let err = parse_verdict(answer).unwrap_err();
            assert!(err.contains("`pass` twice"), "{answer}: {err}");
        }
        let err = parse_verdict(r#"{"pass": true, "pass": true, "pass": false}"#).unwrap_err();
        assert!(err.contains("`pass` 3 times"), "{err}");
        // A `pass` inside another member is not the verdict's: one at the top is a verdict.
        let v = parse_verdict(r#"{"pass": false, "detail": {"pass": true}}"#).unwrap();
        assert!(!v.pass);
    }

    /// A reason that is not a string is the judge's all the same: shown as its compact JSON,
    /// the verdict kept. A `null` reason is none.
    #[test]
    fn a_reason_that_is_not_a_string_is_shown_as_json() {
        let v = parse_verdict(r#"{"pass": false, "reason": ["too short", "no hours"]}"#).unwrap();
        assert!(!v.pass);
        assert_eq!(&*v.reason, r#"["too short","no hours"]"#);
        let v = parse_verdict(r#"{"pass": true, "reason": {"score": 5}}"#).unwrap();
        assert_eq!((v.pass, &*v.reason), (true, r#"{"score":5}"#));
        let v = parse_verdict(r#"{"pass": false, "reason": 5}"#).unwrap();
        assert_eq!(&*v.reason, "5");
        let v = parse_verdict(r#"{"pass": false, "reason": null}"#).unwrap();
        assert_eq!(&*v.reason, "(the judge gave no reason)");
        let v = parse_verdict(r#"{"pass": false, "reason": "  "}"#).unwrap();
        assert_eq!(&*v.reason, "(the judge gave no reason)");
    }
}
