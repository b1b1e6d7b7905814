//! A value for a golden's placeholder, so that replay can answer what a live agent would.
//!
//! A suite that captures an id (`capture: {order: 'ORD-\d+'}`) also normalizes it
//! (`{pattern: '\bORD-\d+\b', replace: '<ORDER>'}`), so its golden holds `<ORDER>`. Served as
//! written, that text fails the capture under replay, and the dialogue ends there. Each rule
//! whose replacement is plain text gets the shortest text its pattern matches (`ORD-0`),
//! kept only when the rule itself turns that text back into the placeholder: served in the
//! placeholder's place, it is captured, sent on in a later message, and normalized back for
//! the golden compare and for replay's own matching. A pattern this cannot sample (a look
//! around, a byte class, a `$1` in the replacement) leaves its placeholder as written.

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::suite::model::NormalizeRule;

/// Each rule's placeholder and the text served for it, for the rules that have one.
pub(crate) fn samples(rules: &[NormalizeRule]) -> Vec<(String, String)> {
    rules
        .iter()
        .filter(|r| !r.replace.contains('$') && !r.replace.is_empty())
        .filter_map(|r| {
            let hir = regex_syntax::parse(r.pattern.as_str()).ok()?;
            let mut text = String::new();
            shortest(&hir, &mut text)?;
            let back = crate::judge::golden::normalize(&text, std::slice::from_ref(r));
            (!text.is_empty() && back == r.replace).then(|| (r.replace.clone(), text))
        })
        .collect()
}

/// `text` with each placeholder replaced by its sample.
pub(crate) fn fill(text: &str, samples: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (placeholder, sample) in samples {
        if out.contains(placeholder.as_str()) {
            out = out.replace(placeholder.as_str(), sample);
        }
    }
    out
}

/// Appends the shortest text `hir` matches, as far as it is plain to say; `None` when not.
fn shortest(hir: &Hir, out: &mut String) -> Option<()> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(std::str::from_utf8(&lit.0).ok()?),
        HirKind::Class(Class::Unicode(c)) => out.push(c.ranges().first()?.start()),
        HirKind::Class(Class::Bytes(_)) => return None,
        HirKind::Repetition(rep) => {
            for _ in 0..rep.min {
                shortest(&rep.sub, out)?;
            }
        }
        HirKind::Capture(cap) => shortest(&cap.sub, out)?,
        HirKind::Concat(parts) => {
            for p in parts {
                shortest(p, out)?;
            }
        }
        HirKind::Alternation(alts) => shortest(alts.first()?, out)?,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, replace: &str) -> NormalizeRule {
        NormalizeRule {
            pattern: regex::Regex::new(pattern).unwrap().into(),
            replace: replace.into(),
        }
    }

    #[test]
    fn a_placeholder_gets_a_text_its_rule_turns_back_into_it() {
        let rules = [
            rule(r"\bORD-\d+\b", "<ORDER>"),
            rule(r"(?i)sess_[a-f0-9]{8}", "<SESSION>"),
            rule(r"\d{4}-\d{2}-\d{2}", "<DATE>"),
            rule(r"ticket (\d+)", "ticket $1"),
            rule(r"a*", "<NOTHING>"),
        ];
        let s = samples(&rules);
        assert_eq!(
            s,
            [
                ("<ORDER>".to_string(), "ORD-0".to_string()),
                ("<SESSION>".to_string(), "SESS_00000000".to_string()),
                ("<DATE>".to_string(), "0000-00-00".to_string()),
            ]
        );
        assert_eq!(
            fill("Your order <ORDER> ships <DATE>.", &s),
            "Your order ORD-0 ships 0000-00-00."
        );
        for (placeholder, sample) in &s {
            let r = rules.iter().find(|r| &r.replace == placeholder).unwrap();
            assert!(r.pattern.is_match(sample));
        }
    }
}
