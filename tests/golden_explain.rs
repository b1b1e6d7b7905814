//! Golden comparison (`judge::golden`) as a reporter words it (`report::explain`): what a
//! person reads when a transcript is missing, differs or the golden is broken.
#![allow(clippy::items_after_test_module)]

mod tests {

    use std::time::Duration;

    use regex::Regex;

    use std::path::Path;

    use agenttest::diag::Span;
    use agenttest::judge::golden::*;
    use agenttest::record::{GoldenCheck, GoldenStatus, TurnResult, Usage};
    use agenttest::report::explain;
    use agenttest::suite::model::{GoldenMode, NormalizeRule, Suite};

    /// The message a reporter shows for `check` of the suite at `suites/support.yaml`.
    /// The failure's message once the run has written its pending file, as it does for a
    /// failing run (`compare` writes nothing).
    fn message(check: &GoldenCheck) -> String {
        explain::golden_message(&pended(check), Path::new("suites/support.yaml"), false)
    }

    /// `check` with its pending file written beside its golden, as a failing run leaves it.
    fn pended(check: &GoldenCheck) -> GoldenCheck {
        let mut check = check.clone();
        check.pending = Some(pending_path(&check.path));
        check
    }

    /// With no pending file (it could not be written, or another run of a repeat wrote it)
    /// there is nothing of this run's to accept: only re-recording is offered.
    #[test]
    fn without_a_pending_file_only_a_fresh_bless_is_offered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/greeting.yaml");
        let check = compare(&path, &golden(&[("hi", 200, "x")]), GoldenMode::Exact, &[]);
        let m = explain::golden_message(&check, Path::new("suites/support.yaml"), false);
        assert!(!m.contains(HINT), "{m}");
        assert!(
            m.trim_end()
                .ends_with("to record a fresh run: agenttest run suites/support.yaml --bless"),
            "{m}"
        );
    }

    const HINT: &str = "agenttest accept suites/support.yaml";

    fn suite(dir: &Path) -> Suite {
        Suite {
            name: "support".into(),
            path: dir.join("support.yaml"),
            golden_dir: dir.join("support.golden"),
            normalize: vec![NormalizeRule {
                pattern: Regex::new(r"\bORD-\d+\b").unwrap().into(),
                replace: "<ORDER>".into(),
            }],
            dialogues: Vec::new(),
            judge: None,
        }
    }

    fn turn_result(message: &str, status: Option<u16>, text: Option<&str>) -> TurnResult {
        TurnResult {
            span: Span::UNKNOWN,
            message: message.into(),
            status,
            text: text.map(str::to_string),
            detail: None,
            shape: None,
            usage: Usage::default(),
            latency: Duration::from_millis(1450),
            first_token: None,
            retries: 0,
            not_sent: false,
            failures: Vec::new(),
        }
    }

    fn golden(turns: &[(&str, u16, &str)]) -> GoldenFile {
        GoldenFile {
            suite: "support".into(),
            dialogue: "business hours".into(),
            baseline: None,
            turns: turns
                .iter()
                .map(|(u, s, a)| GoldenTurn {
                    user: u.to_string(),
                    status: *s,
                    agent: a.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn paths_follow_the_slug() {
        let s = suite(Path::new("suites"));
        let p = golden_path(&s, "Business Hours (EU)!");
        assert_eq!(
            p,
            Path::new("suites/support.golden/business-hours-eu-.yaml")
        );
        assert_eq!(
            pending_path(&p),
            Path::new("suites/support.golden/business-hours-eu-.yaml.new")
        );
    }

    #[test]
    fn transcript_normalizes_and_holds_nothing_volatile() {
        let s = suite(Path::new("suites"));
        let g = transcript(
            &s,
            "orders",
            GoldenMode::Exact,
            &[
                turn_result("Where is ORD-1?", Some(200), Some("ORD-123 shipped.")),
                turn_result("hi", Some(401), None),
            ],
        );
        assert_eq!(g.suite, "support");
        assert_eq!(g.dialogue, "orders");
        // The user message is normalized too: it can carry a value captured from a reply.
        assert_eq!(g.turns[0].user, "Where is <ORDER>?");
        assert_eq!(g.turns[0].agent, "<ORDER> shipped.");
        assert_eq!(g.turns[1].status, 401);
        assert_eq!(g.turns[1].agent, "");
        let text = render(&g);
        assert!(
            !text.contains("1450") && !text.contains("session"),
            "{text}"
        );
    }

    #[test]
    fn compare_missing_says_how_to_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/business-hours.yaml");
        let actual = golden(&[("hi", 200, "Hello!")]);
        let check = compare(&path, &actual, GoldenMode::Exact, &[]);
        assert_eq!(check.status, GoldenStatus::Missing);
        assert_eq!(check.expected, "");
        assert_eq!(check.actual, render(&actual));
        assert!(check.pending.is_none());
        let m = &message(&check);
        assert!(
            m.starts_with(&format!("no golden transcript at {}\n", path.display())),
            "{m}"
        );
        assert!(m.contains(HINT), "{m}");
        assert!(
            m.contains("agenttest run suites/support.yaml --bless"),
            "{m}"
        );
        assert!(m.contains("+    agent: Hello!"), "{m}");
        assert!(
            !path.exists() && !path.parent().unwrap().exists(),
            "compare wrote"
        );
    }

    #[test]
    fn compare_match_and_wildcards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(&path, render(&golden(&[("hi", 200, "Hello [..]!")]))).unwrap();
        let check = compare(
            &path,
            &golden(&[("hi", 200, "Hello Ada!")]),
            GoldenMode::Exact,
            &[],
        );
        assert_eq!(check.status, GoldenStatus::Match, "{:?}", check.differences);
        assert!(check.scores.is_empty());
        // Mode off never reads or fails.
        let check = compare(
            &dir.path().join("none.yaml"),
            &golden(&[]),
            GoldenMode::Off,
            &[],
        );
        assert_eq!(check.status, GoldenStatus::Match);
    }

    #[test]
    fn compare_mismatch_names_turns_and_shows_the_diff() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        let old = golden(&[
            ("hi", 200, "Hello [..]!"),
            ("hours?", 200, "9 AM to 6 PM EST."),
            ("bye", 200, "Bye."),
        ]);
        std::fs::write(&path, render(&old)).unwrap();
        let new = golden(&[
            ("hi", 200, "Hello Bob!"),
            ("hours?", 500, "10 AM to 6 PM EST."),
        ]);
        let check = compare(&path, &new, GoldenMode::Exact, &[]);
        assert_eq!(check.status, GoldenStatus::Mismatch);
        assert_eq!(check.expected, render(&old));
        let m = &message(&check);
        assert!(
            m.contains("turn 2: status 200 in the golden, 500 in this run"),
            "{m}"
        );
        assert!(m.contains("turn 2: the agent text differs"), "{m}");
        assert!(
            m.contains("turn 3: in the golden, missing from this run"),
            "{m}"
        );
        assert!(
            m.contains("turn count: 3 in the golden, 2 in this run"),
            "{m}"
        );
        assert!(!m.contains("turn 1:"), "{m}");
        assert!(
            m.contains(&format!("--- golden {}\n+++ actual\n@@", path.display())),
            "{m}"
        );
        assert!(m.contains("-    agent: 9 AM to 6 PM EST.\n"), "{m}");
        assert!(m.contains("+    agent: 10 AM to 6 PM EST.\n"), "{m}");
        // The wildcard turn matched: it is not shown as a change.
        assert!(!m.contains("+    agent: Hello Bob!"), "{m}");
        assert!(
            m.trim_end()
                .ends_with("agenttest run suites/support.yaml --bless"),
            "{m}"
        );
        assert!(m.contains(HINT));
        assert!(!m.contains('\x1b'));
        // The terminal form has the same text plus color.
        let colored =
            explain::golden_message(&pended(&check), Path::new("suites/support.yaml"), true);
        assert!(colored.contains("\x1b["), "{colored:?}");
        assert_eq!(strip_ansi(&colored), *m);
    }

    #[test]
    fn compare_similar_mode_scores_turns_against_the_threshold() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        let old = golden(&[
            ("a", 200, "one two three four five six seven eight nine ten"),
            ("b", 200, "Hello [..]"),
            ("c", 200, "the quick brown fox"),
        ]);
        std::fs::write(&path, render(&old)).unwrap();
        let new = golden(&[
            ("a", 200, "one two three four five six seven eight nine TEN"),
            ("b", 200, "Hello there"),
            ("c", 200, "a slow red dog"),
        ]);
        let mode = GoldenMode::Similar { threshold: 0.9 };
        let check = compare(&path, &new, mode, &[]);
        assert_eq!(check.status, GoldenStatus::Mismatch);
        assert_eq!(check.scores.len(), 3);
        assert!(check.scores[0] >= 0.9 && check.scores[0] < 1.0);
        assert_eq!(check.scores[1], 1.0, "a wildcard match counts as 1.0");
        assert!(check.scores[2] < 0.9);
        let m = &message(&check);
        assert!(m.contains("threshold 0.900"), "{m}");
        assert!(m.contains("turn 3: the agent text is 0."), "{m}");
        assert!(m.contains("below the threshold"), "{m}");
        assert!(!m.contains("turn 1: the agent"), "{m}");

        let passing = golden(&[
            ("a", 200, "one two three four five six seven eight nine TEN"),
            ("b", 200, "Hello there"),
            ("c", 200, "the quick brown fox"),
        ]);
        let check = compare(&path, &passing, mode, &[]);
        assert_eq!(check.status, GoldenStatus::Match, "{:?}", check.differences);
        // User and status must still be equal in similar mode.
        let other_user = golden(&[
            ("a", 200, "one two three four five six seven eight nine ten"),
            ("B", 200, "Hello there"),
            ("c", 200, "the quick brown fox"),
        ]);
        let check = compare(&path, &other_user, mode, &[]);
        assert!(message(&check).contains("turn 2: the user message differs"));
    }

    #[test]
    fn compare_invalid_renders_the_parse_error_and_the_hint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(
            &path,
            "suite: s\ndialogue: d\nturns:\n  - user: hi\n    stat: 200\n",
        )
        .unwrap();
        let check = compare(&path, &golden(&[("hi", 200, "x")]), GoldenMode::Exact, &[]);
        assert_eq!(check.status, GoldenStatus::Invalid);
        let m = &message(&check);
        assert!(m.contains("invalid golden transcript at"), "{m}");
        assert!(m.contains("unknown field `stat`"), "{m}");
        assert!(m.contains(&format!("{}:5:5", path.display())), "{m}");
        assert!(m.contains(HINT), "{m}");
        assert_eq!(
            explain::golden_message(&pended(&check), Path::new("suites/support.yaml"), true),
            *m,
            "no diff to colour in an invalid golden"
        );
    }

    #[test]
    fn a_misindented_golden_key_is_named_not_only_missed() {
        // F23: a hand-edited golden with `status:` a space short of its neighbours.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.yaml");
        std::fs::write(
            &path,
            "suite: s\ndialogue: d\nturns:\n  - user: hi\n   status: 200\n    agent: x\n",
        )
        .unwrap();
        let check = compare(&path, &golden(&[("hi", 200, "x")]), GoldenMode::Exact, &[]);
        assert_eq!(check.status, GoldenStatus::Invalid);
        let m = &message(&check);
        assert!(m.contains("missing field `status`"), "{m}");
        assert!(
            m.contains("`status:` is on line 5, indented by 3 spaces where the other keys of this mapping have 4"),
            "{m}"
        );
    }

    #[test]
    fn pending_files_are_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/business-hours.yaml");
        let mut check = compare(
            &path,
            &golden(&[("hi", 200, "Hello!")]),
            GoldenMode::Exact,
            &[],
        );
        write_pending(&mut check).unwrap();
        let pending = pending_path(&path);
        assert_eq!(check.pending.as_deref(), Some(pending.as_path()));
        assert_eq!(std::fs::read_to_string(&pending).unwrap(), check.actual);
        assert!(!path.exists(), "a plain run never writes the golden");
        let saved = format!(
            "this run's transcript is saved as {}\nto accept",
            pending.display()
        );
        assert!(message(&check).contains(&saved), "{}", message(&check));
        assert!(remove_pending(&path).unwrap());
        assert!(!pending.exists());
        assert!(!remove_pending(&path).unwrap());
    }

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for n in chars.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
