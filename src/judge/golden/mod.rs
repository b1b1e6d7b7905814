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
