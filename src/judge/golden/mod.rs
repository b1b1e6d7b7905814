//! Golden transcripts (SPEC §3.3): a dialogue's recorded turns, compared with every new run
//! like an insta snapshot.
//!
//! - [`file`]: the file format, rendered by hand and parsed strictly;
//! - [`matching`]: `normalize`, `[..]` wildcards, similarity, the keep-passing-turns merge;
//! - [`store`]: everything that touches the golden directory (pending `.new` files, `--bless`,
//!   `accept`/`reject`, orphans).
//!
//! This module compares and returns data (what differs, and the two sides of the diff a person
//! should read); `report::explain` words it and draws the diff. It never decides a dialogue's
//! outcome and never prints.
//! A plain run only reads goldens ([`compare`]) and writes pending files
//! ([`write_pending`]); goldens themselves are written only by [`bless`] and [`accept`], which
//! the CLI calls for `--bless` and `agenttest accept`. All functions are synchronous: the
//! runner calls them off the async runtime's threads (diffs are CPU work).

pub mod file;
pub mod matching;
pub mod store;

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};

pub use file::{parse, recorded_mode, render, render_pending, Baseline, GoldenFile, GoldenTurn};
pub use matching::{
    agent_matches, agent_passes, merge, normalize, similarity, turn_matches, turn_passes,
    user_matches, WILDCARD,
};
pub use store::{
    accept, accepted, bless, find_pending, orphans, recorded_baseline, reject, remove_pending,
    write_pending, PendingAction,
};

use crate::diag::{Diagnostic, SourceFile};
use crate::facts;
use crate::record::{Difference, GoldenCheck, GoldenStatus, TurnResult};
use crate::suite::model::{slug, GoldenMode, NormalizeRule, Suite};

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

/// A completed attempt's transcript as its golden would record it, and the golden mode of its
/// dialogue: what `--bless` needs to keep a golden turn that still passes as it is (a reworded
/// turn of a `similar` dialogue, say), not only one whose text or wildcards match. It derefs
/// to the [`GoldenFile`], which is what a comparison reads and a golden holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Transcript {
    pub file: GoldenFile,
    /// The dialogue's `golden:` mode.
    pub mode: GoldenMode,
}

impl Deref for Transcript {
    type Target = GoldenFile;

    fn deref(&self) -> &GoldenFile {
        &self.file
    }
}

impl DerefMut for Transcript {
    fn deref_mut(&mut self) -> &mut GoldenFile {
        &mut self.file
    }
}

/// The transcript a completed attempt would record: per turn the message as sent and the
/// agent's text, both after the suite's `normalize` rules (a message can carry a captured
/// value, see [`matching::user_matches`]), and the status (0 if there was none, which a
/// completed attempt does not have); an absent text is recorded as empty. The text of a turn
/// that expected an error status is its `detail`, which its expectations were judged on: so
/// the golden holds what changed if the detail does, and a replay of it (which answers the
/// status with the text as its detail) is judged as the live run was. Turns that were never
/// sent (the dialogue ended at a missed capture) are not part of it. It carries the dialogue's
/// golden `mode`, which `--bless` keeps the still-passing turns by.
pub fn transcript(
    suite: &Suite,
    dialogue_name: &str,
    mode: GoldenMode,
    turns: &[TurnResult],
) -> Transcript {
    let file = GoldenFile {
        suite: suite.name.clone(),
        dialogue: dialogue_name.to_string(),
        baseline: None,
        turns: turns
            .iter()
            .filter(|t| !t.not_sent)
            .map(|t| GoldenTurn {
                user: normalize(&t.message, &suite.normalize),
                status: t.status.unwrap_or(0),
                agent: normalize(
                    t.text.as_deref().or(t.detail.as_deref()).unwrap_or(""),
                    &suite.normalize,
                ),
            })
            .collect(),
    };
    Transcript { file, mode }
}

/// Compares `actual` with the golden at `path`. Reads the golden; writes nothing.
///
/// The returned check holds the golden's text (`expected`, empty when missing), the text a
/// pending file would hold (`actual`: the transcript, with `mode` recorded where `accept`
/// needs it, see [`render_pending`]), what differs, per-turn similarity in mode
/// `similar`, and on a difference the two sides of the diff to show. Mode `Off` always
/// matches.
pub fn compare(
    path: &Path,
    actual: &GoldenFile,
    mode: GoldenMode,
    rules: &[NormalizeRule],
) -> GoldenCheck {
    let mut check = GoldenCheck::new(path.to_path_buf(), render_pending(actual, mode));
    if matches!(mode, GoldenMode::Off) {
        return check;
    }
    if let GoldenMode::Similar { threshold } = mode {
        check.threshold = Some(threshold);
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            check.status = GoldenStatus::Missing;
            // What a golden would hold: the mode recorded for `accept` is no part of it.
            check.diff_new = render(actual);
            return check;
        }
        Err(e) => {
            let problem = format!("failed to read golden transcript {}: {e}", path.display());
            return invalid(check, problem);
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let good = e.utf8_error().valid_up_to();
            let d = Diagnostic::not_utf8(path, e.as_bytes(), good);
            return invalid(check, unreadable(path, &d));
        }
    };
    check.expected = text;
    // Most goldens of a passing run are byte for byte what this run would write: that is a
    // match without parsing YAML or diffing. Wildcards and similar mode need the full path.
    if mode == GoldenMode::Exact && check.expected == check.actual {
        return check;
    }
    let golden = match parse(&SourceFile::new(path, check.expected.as_str())) {
        Ok(g) => g,
        Err(d) => return invalid(check, unreadable(path, &d)),
    };
    let (differences, scores) = differences(&golden, actual, mode, rules);
    check.scores = scores;
    if mode == (GoldenMode::Facts { strict: false }) {
        check.notes = added_facts(&golden, actual);
    }
    if !differences.is_empty() {
        check.status = GoldenStatus::Mismatch;
        check.differences = differences;
        (check.diff_old, check.diff_new) = diff_sides(&golden, actual, rules);
    }
    check
}

/// Why the golden at `path` cannot be compared: the file's diagnostic, under one heading.
fn unreadable(path: &Path, d: &Diagnostic) -> String {
    format!(
        "invalid golden transcript at {}:\n\n{}",
        path.display(),
        d.render(false).trim_end()
    )
}

/// The two sides of the diff a person should read. The golden side is the golden as this
/// crate would render it (so hand-made layout or comments do not show up as changes), and on
/// the actual side an agent text that the golden's `[..]` wildcards match is shown as the
/// golden's text: the diff shows what failed, not what the wildcards absorbed.
fn diff_sides(
    golden: &GoldenFile,
    actual: &GoldenFile,
    rules: &[NormalizeRule],
) -> (String, String) {
    let mut shown = actual.clone();
    // The baseline is the golden's own record, not something this run differs in.
    shown.baseline = golden.baseline;
    for (i, t) in shown.turns.iter_mut().enumerate() {
        if let Some(gt) = golden.turns.get(i) {
            if agent_matches(&gt.agent, &t.agent) {
                t.agent = gt.agent.clone();
            }
            if user_matches(&gt.user, &t.user, rules) {
                t.user = gt.user.clone();
            }
        }
    }
    (render(golden), render(&shown))
}

/// What differs, in file order: header fields, then turns, then the turn count.
fn differences(
    golden: &GoldenFile,
    actual: &GoldenFile,
    mode: GoldenMode,
    rules: &[NormalizeRule],
) -> (Vec<Difference>, Vec<f64>) {
    let mut out = Vec::new();
    let mut scores = Vec::new();
    if golden.suite != actual.suite {
        out.push(Difference::Suite {
            golden: golden.suite.clone(),
            actual: actual.suite.clone(),
        });
    }
    if golden.dialogue != actual.dialogue {
        out.push(Difference::Dialogue {
            golden: golden.dialogue.clone(),
            actual: actual.dialogue.clone(),
        });
    }
    let similar = matches!(mode, GoldenMode::Similar { .. });
    let n = golden.turns.len().max(actual.turns.len());
    for i in 0..n {
        let turn = i + 1;
        match (golden.turns.get(i), actual.turns.get(i)) {
            (Some(g), Some(a)) => turn_differences(turn, g, a, mode, rules, &mut out, &mut scores),
            (Some(_), None) => {
                if similar {
                    scores.push(0.0);
                }
                out.push(Difference::MissingTurn { turn });
            }
            (None, Some(_)) => {
                if similar {
                    scores.push(0.0);
                }
                out.push(Difference::ExtraTurn { turn });
            }
            (None, None) => {}
        }
    }
    if golden.turns.len() != actual.turns.len() {
        out.push(Difference::TurnCount {
            golden: golden.turns.len(),
            actual: actual.turns.len(),
        });
    }
    (out, scores)
}

fn turn_differences(
    turn: usize,
    g: &GoldenTurn,
    a: &GoldenTurn,
    mode: GoldenMode,
    rules: &[NormalizeRule],
    out: &mut Vec<Difference>,
    scores: &mut Vec<f64>,
) {
    if !user_matches(&g.user, &a.user, rules) {
        out.push(Difference::UserMessage { turn });
    }
    if g.status != a.status {
        out.push(Difference::Status {
            turn,
            golden: g.status,
            actual: a.status,
        });
    }
    let matched = agent_matches(&g.agent, &a.agent);
    match mode {
        GoldenMode::Facts { strict } if !matched => {
            let diff = facts::compare(&facts::extract(&g.agent), &facts::extract(&a.agent));
            if !diff.passes(strict) {
                out.push(Difference::Facts {
                    turn,
                    missing: diff.missing.iter().map(ToString::to_string).collect(),
                    // Listed in either mode (SPEC §9.1): only `strict` makes them fail.
                    added: diff.added.iter().map(ToString::to_string).collect(),
                });
            }
        }
        GoldenMode::Similar { threshold } => {
            let score = if matched {
                1.0
            } else {
                similarity(&g.agent, &a.agent)
            };
            scores.push(score);
            if score < threshold {
                out.push(Difference::BelowThreshold {
                    turn,
                    score,
                    threshold,
                });
            }
        }
        _ => {
            if !matched {
                out.push(Difference::AgentText { turn });
            }
        }
    }
}

/// `mode: facts` without `strict`: the facts each reworded turn states beyond the golden's,
/// which do not fail it but are listed for the reviewer.
fn added_facts(golden: &GoldenFile, actual: &GoldenFile) -> Vec<Difference> {
    golden
        .turns
        .iter()
        .zip(&actual.turns)
        .enumerate()
        .filter(|(_, (g, a))| !agent_matches(&g.agent, &a.agent))
        .filter_map(|(i, (g, a))| {
            let diff = facts::compare(&facts::extract(&g.agent), &facts::extract(&a.agent));
            (diff.missing.is_empty() && !diff.added.is_empty()).then(|| Difference::Facts {
                turn: i + 1,
                missing: Vec::new(),
                added: diff.added.iter().map(ToString::to_string).collect(),
            })
        })
        .collect()
}

fn invalid(mut check: GoldenCheck, problem: String) -> GoldenCheck {
    check.status = GoldenStatus::Invalid;
    check.problem = Some(problem);
    check
}
