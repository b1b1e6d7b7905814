//! Deciding whether a transcript still matches its golden: `normalize` rules, `[..]`
//! wildcards, the similarity score of mode `similar`, and the turn-by-turn merge that `--bless`
//! and `accept` use to keep golden turns that still pass as they are.
//!
//! Pure functions, no I/O. Nothing here may be super-linear in a way a hostile agent reply
//! could exploit: wildcards are matched by substring search, never by building a regex.

use std::borrow::Cow;

use similar::{Algorithm, DiffOp};

use super::file::{GoldenFile, GoldenTurn};
use crate::facts;
use crate::suite::model::{GoldenMode, NormalizeRule};

/// The wildcard of a golden's `agent` text: any run of characters, including none and line
/// breaks.
pub const WILDCARD: &str = "[..]";

/// Applies `rules` in order, each to every match (`regex::Regex::replace_all`, so `$1` and
/// `${name}` in `replace` refer to groups).
pub fn normalize(text: &str, rules: &[NormalizeRule]) -> String {
    let mut out = Cow::Borrowed(text);
    for rule in rules {
        if let Cow::Owned(s) = rule.pattern.replace_all(&out, rule.replace.as_str()) {
            out = Cow::Owned(s);
        }
    }
    out.into_owned()
}

/// Whether `actual` matches the golden text, where each `[..]` in `golden` stands for any run
/// of characters. Without a wildcard this is plain equality.
///
/// The golden splits into literal pieces; the first must be a prefix, the last a suffix (not
/// overlapping the prefix), and the ones between must appear in order in what is left. For a
/// pattern whose only metacharacter is "anything", taking each middle piece at its leftmost
/// occurrence is optimal (it leaves the most room for the rest), so no backtracking is needed
/// and the cost is a handful of substring searches.
pub fn agent_matches(golden: &str, actual: &str) -> bool {
    let pieces: Vec<&str> = golden.split(WILDCARD).collect();
    let (first, rest) = match pieces.split_first() {
        Some(x) => x,
        None => return actual.is_empty(),
    };
    let Some((last, middle)) = rest.split_last() else {
        return golden == actual;
    };
    if first.len() + last.len() > actual.len()
        || !actual.starts_with(first)
        || !actual.ends_with(last)
    {
        return false;
    }
    // Both ends matched at byte boundaries of `actual`, so this slice is on char boundaries.
    let mut window = &actual[first.len()..actual.len() - last.len()];
    for piece in middle {
        match window.find(piece) {
            Some(at) => window = &window[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// How alike two agent texts are, from 0 (nothing in common) to 1 (identical): the share of
/// words (white space separates them and is not counted) that a word-level diff keeps,
/// `2 * kept / (words(a) + words(b))`. Two empty texts are identical (1.0).
///
/// Words rather than characters, because a rephrased sentence should score by how much of its
/// wording survived, not by shared letters. Deterministic: Myers' algorithm with no deadline
/// (a deadline would make the score depend on machine load), computed in `f64` from the diff's
/// counts rather than `similar`'s `f32` ratio so that, say, 9 of 10 words is exactly 0.9.
pub fn similarity(a: &str, b: &str) -> f64 {
    // Words only: `diff_words` also yields the whitespace between words as tokens, and two
    // unrelated sentences share most of those, which would score a refusal as 40% similar
    // to the answer it replaced.
    let a: Vec<&str> = a.split_whitespace().collect();
    let b: Vec<&str> = b.split_whitespace().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let kept: usize = similar::capture_diff_slices(Algorithm::Myers, &a, &b)
        .iter()
        .map(|op| match op {
            DiffOp::Equal { len, .. } => *len,
            _ => 0,
        })
        .sum();
    (2 * kept) as f64 / total as f64
}

/// A golden turn that still holds for a new turn: the same message (see [`user_matches`]),
/// the same status, and the agent text equal or matched by the golden's wildcards.
pub fn turn_matches(golden: &GoldenTurn, actual: &GoldenTurn, rules: &[NormalizeRule]) -> bool {
    turn_passes(golden, actual, GoldenMode::Exact, rules)
}

/// A golden turn that a new turn still passes in `mode`, as a run compares them: the same
/// message (see [`user_matches`]) and status, and an agent text that [`agent_passes`].
pub fn turn_passes(
    golden: &GoldenTurn,
    actual: &GoldenTurn,
    mode: GoldenMode,
    rules: &[NormalizeRule],
) -> bool {
    user_matches(&golden.user, &actual.user, rules)
        && golden.status == actual.status
        && agent_passes(&golden.agent, &actual.agent, mode)
}

/// Whether an agent text passes the golden's in `mode` with no judge to ask: equal or matched
/// by the golden's wildcards in every mode; in `similar`, at least `threshold` similar; in
/// `facts`, stating every fact of the golden's (and, `strict`, no other). The same tests as a
/// run's comparison (`super::compare`), so what a run passes is what `--bless` keeps. Mode
/// `judge` passes only a text or wildcard match here: its verdicts need a model call, which
/// `--bless` and `accept` never make.
pub fn agent_passes(golden: &str, actual: &str, mode: GoldenMode) -> bool {
    if agent_matches(golden, actual) {
        return true;
    }
    match mode {
        GoldenMode::Similar { threshold } => similarity(golden, actual) >= threshold,
        GoldenMode::Facts { strict } => {
            facts::compare(&facts::extract(golden), &facts::extract(actual)).passes(strict)
        }
        GoldenMode::Off | GoldenMode::Exact | GoldenMode::Judge => false,
    }
}

/// Whether a golden's user message is the one a transcript recorded (after `rules`). A user
/// message can carry a value captured from an earlier reply (`Has {{order}} shipped?`), which
/// changes from run to run as the agent's own text does, so it is recorded after `normalize`
/// too. A golden recorded before that holds the raw message: it still matches once the same
/// rules are applied to it.
pub fn user_matches(golden: &str, actual: &str, rules: &[NormalizeRule]) -> bool {
    golden == actual || (!rules.is_empty() && normalize(golden, rules) == actual)
}

/// What `--bless` and `accept` write: the new transcript, except that a turn whose golden
/// counterpart (same position) it still passes in the dialogue's `mode` ([`turn_passes`]) keeps
/// the golden's text as it is, wildcards included (SPEC §3.3): a reviewed golden of a
/// `similar` or `facts` dialogue is not churned by every bless into the latest wording, which
/// is what those modes exist to tolerate. A turn the judge of `mode: judge` accepted is kept
/// only when its text or wildcards match: no judge is asked here, and a blessed golden should
/// record what was seen.
/// A baseline comes from the new file when it has one (a bless with repeats), else it is kept.
pub fn merge(
    old: Option<&GoldenFile>,
    new: &GoldenFile,
    mode: GoldenMode,
    rules: &[NormalizeRule],
) -> GoldenFile {
    let Some(old) = old else {
        return new.clone();
    };
    let turns = new
        .turns
        .iter()
        .enumerate()
        .map(|(i, t)| match old.turns.get(i) {
            Some(o) if turn_passes(o, t, mode, rules) => o.clone(),
            _ => t.clone(),
        })
        .collect();
    GoldenFile {
        suite: new.suite.clone(),
        dialogue: new.dialogue.clone(),
        baseline: new.baseline.or(old.baseline),
        turns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    #[test]
    fn wildcards() {
        // none
        assert!(agent_matches("exact", "exact"));
        assert!(!agent_matches("exact", "exact!"));
        assert!(agent_matches("", ""));
        // alone: anything, including nothing and line breaks
        assert!(agent_matches("[..]", ""));
        assert!(agent_matches("[..]", "any\nthing"));
        // start, middle, end
        assert!(agent_matches("[..] EST.", "Mon-Fri, 9 AM to 6 PM EST."));
        assert!(!agent_matches("[..] EST.", "Mon-Fri, 9 AM to 6 PM PST."));
        assert!(agent_matches("Hello [..]!", "Hello Ada!"));
        assert!(agent_matches("Hello [..]!", "Hello !"));
        assert!(!agent_matches("Hello [..]!", "Hello Ada?"));
        assert!(agent_matches("Order [..]", "Order ORD-1 shipped"));
        assert!(!agent_matches("Order [..]", "Your order"));
        // multiple, in order only
        assert!(agent_matches("a[..]b[..]c", "a-x-b-y-c"));
        assert!(agent_matches("a[..]b[..]c", "abc"));
        assert!(!agent_matches("a[..]b[..]c", "a-c-b"));
        assert!(agent_matches("[..]b[..]b[..]", "xbyb"));
        assert!(!agent_matches("[..]b[..]b[..]", "xby"));
        // adjacent wildcards are one wildcard
        assert!(agent_matches("a[..][..]z", "az"));
        assert!(agent_matches("a[..][..]z", "a middle z"));
        // prefix and suffix may not overlap
        assert!(!agent_matches("ab[..]ba", "aba"));
        assert!(agent_matches("ab[..]ba", "abba"));
        // multi-line
        assert!(agent_matches(
            "Steps:\n1. [..]\n2. Restart.",
            "Steps:\n1. Open the\nsettings.\n2. Restart."
        ));
        // a literal `[..]` in the reply is just text the wildcard covers
        assert!(agent_matches("x [..] y", "x [..] y"));
        // non-ASCII around the wildcard
        assert!(agent_matches("café [..] 日本", "café au lait 日本"));
    }

    #[test]
    fn wildcard_matching_is_fast_on_hostile_input() {
        let golden = format!("{}b", "a[..]".repeat(200));
        let actual = "a".repeat(200_000);
        let started = std::time::Instant::now();
        assert!(!agent_matches(&golden, &actual));
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn similarity_scores() {
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("same words here", "same words here"), 1.0);
        assert_eq!(similarity("abc", ""), 0.0);
        assert_eq!(similarity("alpha", "omega"), 0.0);
        // 10 words each, 9 kept: exactly 0.9, so a 0.9 threshold passes it.
        let a = "one two three four five six seven eight nine ten";
        let b = "one two three four five six seven eight nine TEN";
        assert_eq!(similarity(a, b), 0.9);
        // White space is not a word: two unrelated sentences share nothing.
        assert_eq!(
            similarity("our hours are nine to five", "sorry I cannot help"),
            0.0
        );
        assert_eq!(similarity("a  b\n c", "a b c"), 1.0);
        let c = "one two three four five six seven eight nine ten eleven";
        assert!(similarity(a, c) > 0.9 && similarity(a, c) < 1.0);
        let d = "completely different reply from the agent today";
        assert!(similarity(a, d) < 0.5);
        // deterministic and symmetric
        assert_eq!(similarity(a, c), similarity(a, c));
        assert_eq!(similarity(a, c), similarity(c, a));
    }

    #[test]
    fn normalize_applies_rules_in_order_with_groups() {
        let rules = vec![
            NormalizeRule {
                pattern: Regex::new(r"\bORD-(\d+)\b").unwrap().into(),
                replace: "<ORDER $1>".into(),
            },
            NormalizeRule {
                pattern: Regex::new(r"<ORDER \d+>").unwrap().into(),
                replace: "<ORDER>".into(),
            },
            NormalizeRule {
                pattern: Regex::new(r"\d{4}-\d{2}-\d{2}").unwrap().into(),
                replace: "<DATE>".into(),
            },
        ];
        assert_eq!(
            normalize("ORD-12 and ORD-345 ship 2024-01-31", &rules),
            "<ORDER> and <ORDER> ship <DATE>"
        );
        assert_eq!(normalize("nothing to do", &rules), "nothing to do");
        assert_eq!(normalize("ORD-1", &[]), "ORD-1");
    }

    fn turn(user: &str, status: u16, agent: &str) -> GoldenTurn {
        GoldenTurn {
            user: user.into(),
            status,
            agent: agent.into(),
        }
    }

    #[test]
    fn merge_keeps_matching_turns_as_they_are() {
        let old = GoldenFile {
            suite: "s".into(),
            dialogue: "d".into(),
            baseline: None,
            turns: vec![
                turn("hi", 200, "Hello [..]!"),
                turn("hours?", 200, "9 to 5"),
                turn("bye", 200, "Bye [..]"),
            ],
        };
        let new = GoldenFile {
            suite: "s".into(),
            dialogue: "d".into(),
            baseline: None,
            turns: vec![
                turn("hi", 200, "Hello Ada!"),
                turn("hours?", 200, "9 to 6"),
                turn("bye", 500, "Bye now"),
                turn("extra", 200, "more"),
            ],
        };
        let merged = merge(Some(&old), &new, GoldenMode::Exact, &[]);
        assert_eq!(merged.turns[0], old.turns[0]);
        assert_eq!(merged.turns[1], new.turns[1]);
        assert_eq!(merged.turns[2], new.turns[2], "status changed");
        assert_eq!(merged.turns[3], new.turns[3]);
        assert_eq!(merge(None, &new, GoldenMode::Exact, &[]), new);
    }

    /// In `similar` and `facts` a golden turn the new one still passes is kept as reviewed;
    /// one it fails, or whose message or status changed, takes the new turn. `judge` keeps
    /// only what `exact` keeps: no judge is asked.
    #[test]
    fn merge_keeps_the_turns_that_still_pass_in_the_mode() {
        let file = |turns: Vec<GoldenTurn>| GoldenFile {
            suite: "s".into(),
            dialogue: "d".into(),
            baseline: None,
            turns,
        };
        let ten = "one TWO three four five six seven eight nine ten";
        let old = file(vec![
            turn("a", 200, ten),
            turn("b", 200, "gamma delta"),
            turn("c", 200, ten),
            turn("d", 200, "We open at 9 AM and close at 6 PM."),
        ]);
        let new = file(vec![
            turn("a", 200, "one two three four five six seven eight nine ten"),
            turn("b", 200, "alpha beta"),
            turn("c", 500, "one two three four five six seven eight nine ten"),
            turn("d", 200, "Hours: 9am to 6pm, and 10am-2pm on Saturdays."),
        ]);
        let similar = merge(
            Some(&old),
            &new,
            GoldenMode::Similar { threshold: 0.9 },
            &[],
        );
        assert_eq!(similar.turns[0], old.turns[0], "0.9 similar: kept");
        assert_eq!(similar.turns[1], new.turns[1], "not similar: replaced");
        assert_eq!(similar.turns[2], new.turns[2], "status changed");
        assert_eq!(similar.turns[3], new.turns[3]);
        let stricter = merge(
            Some(&old),
            &new,
            GoldenMode::Similar { threshold: 0.91 },
            &[],
        );
        assert_eq!(stricter.turns[0], new.turns[0], "below the threshold");
        let facts = merge(Some(&old), &new, GoldenMode::Facts { strict: false }, &[]);
        assert_eq!(facts.turns[3], old.turns[3], "every golden fact stated");
        let strict = merge(Some(&old), &new, GoldenMode::Facts { strict: true }, &[]);
        assert_eq!(strict.turns[3], new.turns[3], "facts added: fails strict");
        for mode in [GoldenMode::Exact, GoldenMode::Judge] {
            assert_eq!(merge(Some(&old), &new, mode, &[]), new, "{mode:?}");
        }
    }

    #[test]
    fn a_baseline_is_taken_from_the_bless_or_kept() {
        use super::super::file::{parse, render, Baseline};
        let turn = GoldenTurn {
            user: "hi".into(),
            status: 200,
            agent: "Hello".into(),
        };
        let old = GoldenFile {
            suite: "s".into(),
            dialogue: "d".into(),
            baseline: Some(Baseline {
                runs: 100,
                passed: 95,
            }),
            turns: vec![turn.clone()],
        };
        let mut new = old.clone();
        new.baseline = None;
        // `accept` of a plain run's pending file keeps the recorded baseline.
        assert_eq!(
            merge(Some(&old), &new, GoldenMode::Exact, &[]).baseline,
            old.baseline
        );
        // A bless with repeats records its own.
        new.baseline = Some(Baseline {
            runs: 20,
            passed: 19,
        });
        assert_eq!(
            merge(Some(&old), &new, GoldenMode::Exact, &[]).baseline,
            new.baseline
        );
        // And the file says it in one line, and reads back.
        let text = render(&old);
        assert!(
            text.contains("\nbaseline: {runs: 100, passed: 95}\n"),
            "{text}"
        );
        let back = parse(&crate::diag::SourceFile::new("g.yaml", text.as_str())).unwrap();
        assert_eq!(back, old);
    }
}
