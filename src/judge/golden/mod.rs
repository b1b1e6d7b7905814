//! Golden transcripts (SPEC §3.3): a dialogue's recorded turns, compared with every new run
//! like an insta snapshot.
//!
//! - [`file`]: the file format, rendered by hand and parsed strictly;
//! - [`matching`]: `normalize`, `[..]` wildcards, similarity, the keep-matching-turns merge;
//! - [`diff`]: readable unified diffs;
//! - [`store`]: everything that touches the golden directory (pending `.new` files, `--bless`,
//!   `accept`/`reject`, orphans).
//!
//! This module compares and explains; it never decides a dialogue's outcome and never prints.
//! A plain run only reads goldens ([`compare`]) and writes pending files
//! ([`write_pending`]); goldens themselves are written only by [`bless`] and [`accept`], which
//! the CLI calls for `--bless` and `agenttest accept`. All functions are synchronous: the
//! runner calls them off the async runtime's threads (diffs are CPU work).

pub mod diff;
pub mod file;
pub mod matching;
pub mod store;

use std::path::{Path, PathBuf};

pub use diff::render_diff;
pub use file::{parse, render, GoldenFile, GoldenTurn};
pub use matching::{agent_matches, merge, normalize, similarity, turn_matches, WILDCARD};
pub use store::{
    accept, bless, find_pending, orphans, reject, remove_pending, write_pending, PendingAction,
};

use crate::diag::SourceFile;
use crate::run::result::{GoldenCheck, GoldenStatus, TurnResult};
use crate::suite::model::{slug, GoldenMode, Suite};

/// `<golden_dir>/<slug>.yaml`.
pub fn golden_path(suite: &Suite, dialogue_name: &str) -> PathBuf {
    suite
        .golden_dir
        .join(format!("{}.yaml", slug(dialogue_name)))
}

/// The pending golden beside `golden`: `<slug>.yaml.new`.
pub fn pending_path(golden: &Path) -> PathBuf {
    let mut s = golden.as_os_str().to_owned();
    s.push(".new");
    PathBuf::from(s)
}

/// The transcript a completed attempt would record: per turn the message as sent, the status
/// (0 if there was none, which a completed attempt does not have) and the agent's text after
/// the suite's `normalize` rules (an absent text is recorded as empty).
pub fn transcript(suite: &Suite, dialogue_name: &str, turns: &[TurnResult]) -> GoldenFile {
    GoldenFile {
        suite: suite.name.clone(),
        dialogue: dialogue_name.to_string(),
        turns: turns
            .iter()
            .map(|t| GoldenTurn {
                user: t.message.clone(),
                status: t.status.unwrap_or(0),
                agent: normalize(t.text.as_deref().unwrap_or(""), &suite.normalize),
            })
            .collect(),
    }
}

/// Compares `actual` with the golden at `path`. Reads the golden; writes nothing.
///
/// `accept_hint` is the exact command that accepts the pending file of this dialogue (the
/// caller knows how the user named the suite), e.g. `agenttest accept suites/support.yaml`.
/// The returned check holds the golden's text (`expected`, empty when missing), the text a
/// pending file or `--bless` would write (`actual`), per-turn similarity in mode `similar`,
/// and a plain-text `message` (no ANSI) that explains everything; see
/// [`message_colored`] for the terminal form. Mode `Off` always matches.
pub fn compare(
    path: &Path,
    actual: &GoldenFile,
    mode: GoldenMode,
    accept_hint: &str,
) -> GoldenCheck {
    let mut check = GoldenCheck {
        path: path.to_path_buf(),
        status: GoldenStatus::Match,
        expected: String::new(),
        actual: render(actual),
        scores: Vec::new(),
        pending: None,
        message: String::new(),
    };
    if matches!(mode, GoldenMode::Off) {
        return check;
    }
    let hints = hint_paragraph(accept_hint);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            check.status = GoldenStatus::Missing;
            check.message = format!(
                "no golden transcript at {}\n\n{}\n{}",
                path.display(),
                diff_of(&check, false),
                hints
            );
            return sanitized(check);
        }
        Err(e) => {
            return invalid(
                check,
                format!("failed to read golden transcript {}: {e}", path.display()),
                &hints,
            )
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => {
            return invalid(
                check,
                format!("golden transcript {} is not valid UTF-8", path.display()),
                &hints,
            )
        }
    };
    check.expected = text;
    // Most goldens of a passing run are byte for byte what this run would write: that is a
    // match without parsing YAML or diffing. Wildcards and similar mode need the full path.
    if mode == GoldenMode::Exact && check.expected == check.actual {
        check.message = format!("the transcript matches the golden at {}", path.display());
        return check;
    }
    let golden = match parse(&SourceFile::new(path, check.expected.as_str())) {
        Ok(g) => g,
        Err(d) => {
            let explanation = format!(
                "invalid golden transcript at {}:\n\n{}",
                path.display(),
                d.render(false).trim_end()
            );
            return invalid(check, explanation, &hints);
        }
    };

    let (differences, scores) = differences(&golden, actual, mode);
    check.scores = scores;
    if differences.is_empty() {
        check.message = format!("the transcript matches the golden at {}", path.display());
        return check;
    }
    check.status = GoldenStatus::Mismatch;
    let mut message = format!(
        "the transcript differs from the golden at {}:\n",
        path.display()
    );
    for d in &differences {
        message.push_str(&format!("  {d}\n"));
    }
    if let GoldenMode::Similar { threshold } = mode {
        message.push_str(&format!(
            "\nsimilarity of the agent text to the golden's (mode similar, threshold {}):\n",
            score(threshold)
        ));
        for (i, s) in check.scores.iter().enumerate() {
            let verdict = if *s >= threshold {
                ""
            } else {
                "  below the threshold"
            };
            message.push_str(&format!("  turn {}: {}{verdict}\n", i + 1, score(*s)));
        }
    }
    message.push('\n');
    message.push_str(&diff_of(&check, false));
    message.push('\n');
    message.push_str(&hints);
    check.message = message;
    sanitized(check)
}

/// The check's message with its diff in color (word-level emphasis), for a terminal. Falls
/// back to the plain message when there is no diff in it.
pub fn message_colored(check: &GoldenCheck) -> String {
    if !matches!(check.status, GoldenStatus::Missing | GoldenStatus::Mismatch) {
        return check.message.clone();
    }
    let plain = diff_of(check, false);
    if plain.is_empty() || !check.message.contains(&plain) {
        // The diff's deadline can, on a huge transcript, make a second run of it differ.
        return check.message.clone();
    }
    check.message.replacen(&plain, &diff_of(check, true), 1)
}

/// The diff section of a check: `--- golden <path>` / `+++ actual` headers and the hunks.
///
/// The golden side is the golden as this crate would render it (so hand-made layout or
/// comments do not show up as changes), and on the actual side an agent text that the
/// golden's `[..]` wildcards match is shown as the golden's text: the diff shows what failed,
/// not what the wildcards absorbed. Similar-but-not-equal turns do show, as they differ.
/// Computed from `expected` and `actual` alone, so a reporter can redo it in color.
pub fn diff_of(check: &GoldenCheck, color: bool) -> String {
    let (old, new) = diff_inputs(check);
    let hunks = render_diff(&old, &new, color);
    let missing = if check.expected.is_empty() {
        " (missing)"
    } else {
        ""
    };
    let old_header = format!("--- golden {}{missing}", check.path.display());
    let new_header = "+++ actual";
    if color {
        format!("\x1b[1;31m{old_header}\x1b[0m\n\x1b[1;32m{new_header}\x1b[0m\n{hunks}")
    } else {
        format!("{old_header}\n{new_header}\n{hunks}")
    }
}

fn diff_inputs(check: &GoldenCheck) -> (String, String) {
    let golden = (!check.expected.is_empty())
        .then(|| parse(&SourceFile::new(&check.path, check.expected.as_str())).ok())
        .flatten();
    let actual = parse(&SourceFile::new("actual", check.actual.as_str())).ok();
    match (golden, actual) {
        (Some(g), Some(mut a)) => {
            for (i, t) in a.turns.iter_mut().enumerate() {
                if let Some(gt) = g.turns.get(i) {
                    if agent_matches(&gt.agent, &t.agent) {
                        t.agent = gt.agent.clone();
                    }
                }
            }
            (render(&g), render(&a))
        }
        _ => (check.expected.clone(), check.actual.clone()),
    }
}

/// One line per difference, in file order: header fields, then turns, then the turn count.
fn differences(
    golden: &GoldenFile,
    actual: &GoldenFile,
    mode: GoldenMode,
) -> (Vec<String>, Vec<f64>) {
    let mut out = Vec::new();
    let mut scores = Vec::new();
    if golden.suite != actual.suite {
        out.push(format!(
            "suite: {:?} in the golden, {:?} in this run",
            golden.suite, actual.suite
        ));
    }
    if golden.dialogue != actual.dialogue {
        out.push(format!(
            "dialogue: {:?} in the golden, {:?} in this run",
            golden.dialogue, actual.dialogue
        ));
    }
    let n = golden.turns.len().max(actual.turns.len());
    for i in 0..n {
        let turn = i + 1;
        match (golden.turns.get(i), actual.turns.get(i)) {
            (Some(g), Some(a)) => {
                if g.user != a.user {
                    out.push(format!("turn {turn}: the user message differs"));
                }
                if g.status != a.status {
                    out.push(format!(
                        "turn {turn}: status {} in the golden, {} in this run",
                        g.status, a.status
                    ));
                }
                let matched = agent_matches(&g.agent, &a.agent);
                match mode {
                    GoldenMode::Similar { threshold } => {
                        let s = if matched {
                            1.0
                        } else {
                            similarity(&g.agent, &a.agent)
                        };
                        scores.push(s);
                        if s < threshold {
                            out.push(format!(
                                "turn {turn}: the agent text is {} similar to the golden's, \
                                 below the threshold {}",
                                score(s),
                                score(threshold)
                            ));
                        }
                    }
                    _ => {
                        if !matched {
                            out.push(format!("turn {turn}: the agent text differs"));
                        }
                    }
                }
            }
            (Some(_), None) => {
                if matches!(mode, GoldenMode::Similar { .. }) {
                    scores.push(0.0);
                }
                out.push(format!("turn {turn}: in the golden, missing from this run"));
            }
            (None, Some(_)) => {
                if matches!(mode, GoldenMode::Similar { .. }) {
                    scores.push(0.0);
                }
                out.push(format!("turn {turn}: new in this run, not in the golden"));
            }
            (None, None) => {}
        }
    }
    if golden.turns.len() != actual.turns.len() {
        out.push(format!(
            "turn count: {} in the golden, {} in this run",
            golden.turns.len(),
            actual.turns.len()
        ));
    }
    (out, scores)
}

/// A score for display: rounded down to three decimals, so a failing 0.8996 never reads as
/// an apparently passing 0.900.
fn score(s: f64) -> String {
    format!("{:.3}", (s * 1000.0).floor() / 1000.0)
}

/// The last paragraph of every failing message: how to accept (the caller's exact command,
/// which sends nothing) and how to re-record.
fn hint_paragraph(accept_hint: &str) -> String {
    let bless = match accept_hint.strip_prefix("agenttest accept") {
        Some(rest) => format!("or record a fresh run: agenttest run{rest} --bless"),
        None => "or record a fresh run with `agenttest run --bless`".to_string(),
    };
    format!(
        "to accept this run's transcript as the golden (sends nothing): {accept_hint}\n{bless}\n"
    )
}

fn invalid(mut check: GoldenCheck, explanation: String, hints: &str) -> GoldenCheck {
    check.status = GoldenStatus::Invalid;
    check.message = format!("{explanation}\n\nfix the file by hand, or replace it:\n{hints}");
    sanitized(check)
}

/// Messages end up in files: an escape character quoted from a golden (say, by a parse
/// diagnostic) is shown, not sent to a terminal.
fn sanitized(mut check: GoldenCheck) -> GoldenCheck {
    if check.message.contains('\x1b') {
        check.message = check.message.replace('\x1b', "␛");
    }
    check
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use regex::Regex;

    use super::*;
    use crate::client::Usage;
    use crate::diag::Span;
    use crate::suite::model::NormalizeRule;

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
            retries: 0,
            failures: Vec::new(),
        }
    }

    fn golden(turns: &[(&str, u16, &str)]) -> GoldenFile {
        GoldenFile {
            suite: "support".into(),
            dialogue: "business hours".into(),
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
            &[
                turn_result("Where is ORD-1?", Some(200), Some("ORD-123 shipped.")),
                turn_result("hi", Some(401), None),
            ],
        );
        assert_eq!(g.suite, "support");
        assert_eq!(g.dialogue, "orders");
        // The user message is recorded as sent; only agent text is normalized.
        assert_eq!(g.turns[0].user, "Where is ORD-1?");
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
        let check = compare(&path, &actual, GoldenMode::Exact, HINT);
        assert_eq!(check.status, GoldenStatus::Missing);
        assert_eq!(check.expected, "");
        assert_eq!(check.actual, render(&actual));
        assert!(check.pending.is_none());
        let m = &check.message;
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
            HINT,
        );
        assert_eq!(check.status, GoldenStatus::Match, "{}", check.message);
        assert!(check.scores.is_empty());
        // Mode off never reads or fails.
        let check = compare(
            &dir.path().join("none.yaml"),
            &golden(&[]),
            GoldenMode::Off,
            HINT,
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
        let check = compare(&path, &new, GoldenMode::Exact, HINT);
        assert_eq!(check.status, GoldenStatus::Mismatch);
        assert_eq!(check.expected, render(&old));
        let m = &check.message;
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
        let colored = message_colored(&check);
        assert!(colored.contains("\x1b["), "{colored:?}");
        assert_eq!(super::diff::tests::strip_ansi(&colored), *m);
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
        let check = compare(&path, &new, mode, HINT);
        assert_eq!(check.status, GoldenStatus::Mismatch);
        assert_eq!(check.scores.len(), 3);
        assert!(check.scores[0] >= 0.9 && check.scores[0] < 1.0);
        assert_eq!(check.scores[1], 1.0, "a wildcard match counts as 1.0");
        assert!(check.scores[2] < 0.9);
        let m = &check.message;
        assert!(m.contains("threshold 0.900"), "{m}");
        assert!(m.contains("turn 3: the agent text is 0."), "{m}");
        assert!(m.contains("below the threshold"), "{m}");
        assert!(!m.contains("turn 1: the agent"), "{m}");

        let passing = golden(&[
            ("a", 200, "one two three four five six seven eight nine TEN"),
            ("b", 200, "Hello there"),
            ("c", 200, "the quick brown fox"),
        ]);
        let check = compare(&path, &passing, mode, HINT);
        assert_eq!(check.status, GoldenStatus::Match, "{}", check.message);
        // User and status must still be equal in similar mode.
        let other_user = golden(&[
            ("a", 200, "one two three four five six seven eight nine ten"),
            ("B", 200, "Hello there"),
            ("c", 200, "the quick brown fox"),
        ]);
        let check = compare(&path, &other_user, mode, HINT);
        assert!(check.message.contains("turn 2: the user message differs"));
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
        let check = compare(&path, &golden(&[("hi", 200, "x")]), GoldenMode::Exact, HINT);
        assert_eq!(check.status, GoldenStatus::Invalid);
        let m = &check.message;
        assert!(m.contains("invalid golden transcript at"), "{m}");
        assert!(m.contains("unknown field `stat`"), "{m}");
        assert!(m.contains(&format!("{}:5:5", path.display())), "{m}");
        assert!(m.contains(HINT), "{m}");
        assert_eq!(message_colored(&check), *m);
    }

    #[test]
    fn pending_files_are_written_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/business-hours.yaml");
        let mut check = compare(
            &path,
            &golden(&[("hi", 200, "Hello!")]),
            GoldenMode::Exact,
            HINT,
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
        assert!(check.message.contains(&saved), "{}", check.message);
        assert!(remove_pending(&path).unwrap());
        assert!(!pending.exists());
        assert!(!remove_pending(&path).unwrap());
    }
}
