//! The one place verdicts become sentences: failures, errors and golden checks (all plain data
//! in `record`) are worded here, for the console, JUnit, JSON and HTML alike, so the reporters
//! agree on every word. Colour is the caller's choice; nothing here prints.

use std::fmt::Write as _;
use std::path::Path;

use super::diff::render_diff;
use crate::record::{
    Detail, Difference, ErrorKind, Failure, GoldenCheck, GoldenStatus, Outcome, RunError,
};
use crate::util::{human_duration, human_excess};

// Sentence pieces that [`difference`], [`golden_message`] and [`error_text`] write and that
// [`golden_summary`], [`facts_note`] and [`error_type`] read back: a report read from JSON
// keeps only the sentences, so the summary, the notes and the kind of error are found in
// them, the same way whether the check was made by this run or read back for `merge`.
const TRANSCRIPT_DIFFERS: &str = "the transcript differs from the golden at";
const FACTS_DIFFER: &str = "the facts differ from the golden's";
const JUDGE_DIFFERS: &str = "the judge found it differs from the golden";
const COULD_NOT_JUDGE: &str = "could not judge: ";
const INTERNAL: &str = "internal error (a bug in agenttest)";

/// The command that promotes what a suite's failed run saw (it sends nothing).
pub fn accept_hint(suite_path: &Path) -> String {
    format!("agenttest accept {}", suite_path.display())
}

/// One readable sentence for a failed expectation: "expected the text to contain \"9 AM\"".
pub fn failure_message(f: &Failure) -> String {
    detail_message(&f.detail)
}

pub fn detail_message(detail: &Detail) -> String {
    match detail {
        Detail::Status { expected, got } => {
            format!("expected status {}, got {got}", one_of(expected))
        }
        Detail::Missing(items) => format!("expected the text to contain {}", quoted(items)),
        Detail::NoneOf(items) => format!("expected the text to contain any of {}", quoted(items)),
        Detail::Present(items) => format!("expected the text not to contain {}", quoted(items)),
        Detail::NoMatch(patterns) => {
            let list: Vec<String> = patterns.iter().map(|p| format!("/{p}/")).collect();
            format!("expected the text to match {}", list.join(", "))
        }
        Detail::Matched(found) => {
            let list: Vec<String> = found
                .iter()
                .map(|(p, m)| format!("/{p}/ (matched {m:?})"))
                .collect();
            format!("expected the text not to match {}", list.join(", "))
        }
        Detail::NotEqual { expected } => format!("expected the text to equal {expected:?}"),
        Detail::TooManyTokens { max, got } => {
            format!("expected at most {max} output tokens, got {got}")
        }
        Detail::NoTokenCount { max, shape, total } => format!(
            "max_tokens {max} cannot be checked: the endpoint reported no output-token count ({})",
            match (shape, total) {
                (Some("tokens_used"), _) => format!(
                    "response shape `tokens_used` gives only a total{}",
                    total.map(|t| format!(" of {t}")).unwrap_or_default()
                ),
                (Some(shape), _) => format!("response shape `{shape}`"),
                (None, _) => "no usage in the response".to_string(),
            }
        ),
        Detail::TooSlow { max, took } => format!(
            "expected a round trip of at most {}, took {}",
            human_duration(*max),
            human_excess(*max, *took)
        ),
        Detail::FirstTokenTooSlow { max, took } => format!(
            "expected the first token within {}, it took {}",
            human_duration(*max),
            human_excess(*max, *took)
        ),
        Detail::NotStreamed { max } => format!(
            "max_first_token {} cannot be checked: the reply was not streamed (time to first \
             token is measured on streamed replies only)",
            human_duration(*max)
        ),
        Detail::NoTextStreamed { max } => format!(
            "max_first_token {}: the reply was streamed, but no event of it had a piece of text \
             (its events were empty or role-only), so no first token came",
            human_duration(*max)
        ),
        Detail::CaptureMissed {
            name,
            pattern,
            group_unset,
            ends_dialogue,
        } => format!(
            "capture `{name}`: /{pattern}/ {}{}",
            if *group_unset {
                "matched, but its group 1 took no part in the match, so there is no value"
            } else {
                "did not match the text"
            },
            if *ends_dialogue {
                "; the dialogue ends here (later turns were not sent)"
            } else {
                ""
            }
        ),
        Detail::FactsMissing { missing, found } => format!(
            "expected the reply to state {} (it states {})",
            missing.join(", "),
            if found.is_empty() {
                "no typed facts".to_string()
            } else {
                found.join(", ")
            }
        ),
        Detail::FactsPresent(found) => {
            format!("expected the reply not to state {}", found.join(", "))
        }
        Detail::Judged { rubric, reason } => {
            format!("the judge found the rubric {rubric:?} not met: {reason}")
        }
        Detail::Worded(text) => text.clone(),
    }
}

/// The sentence for what stopped an attempt, with its turn: `turn 2: unexpected status 500`.
pub fn error_message(e: &RunError) -> String {
    match &e.kind {
        ErrorKind::Setup(_) | ErrorKind::Internal(_) => error_text(e),
        ErrorKind::Worded(text) => text.clone(),
        _ => format!("turn {}: {}", e.turn + 1, error_text(e)),
    }
}

/// [`error_message`] without the turn, for a layout that already heads it with its turn.
pub fn error_text(e: &RunError) -> String {
    let turn = e.turn + 1;
    match &e.kind {
        ErrorKind::Setup(message) => message.clone(),
        ErrorKind::Internal(message) => format!("{INTERNAL}: {message}"),
        ErrorKind::Send {
            error,
            retries,
            request,
        } => {
            let to = if request.is_empty() {
                String::new()
            } else {
                format!("{request}: ")
            };
            format!("{to}{error}{}", after_retries(*retries))
        }
        ErrorKind::Status {
            status,
            detail,
            retries,
            request,
        } => format!(
            "unexpected status {status}{}{}{}",
            from(request),
            detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default(),
            after_retries(*retries)
        ),
        ErrorKind::Malformed {
            status,
            reason,
            request,
        } => {
            format!(
                "malformed reply (status {status}){}: {reason}",
                from(request)
            )
        }
        ErrorKind::NoSession { pointer } => format!(
            "the server returned no session_id{}, so turn {} cannot continue the session \
             (session: server)",
            pointer
                .as_deref()
                .map(|p| format!(
                    " (the pointer `{p}`, response.session_id, finds no string or number \
                     in its reply)"
                ))
                .unwrap_or_default(),
            turn + 1
        ),
        ErrorKind::Judge { reason } => format!("{COULD_NOT_JUDGE}{reason}"),
        ErrorKind::Worded(text) => text
            .strip_prefix(&format!("turn {turn}: "))
            .unwrap_or(text)
            .to_string(),
    }
}

/// What kind of trouble stopped an attempt, as JUnit's `<error type>` names it: `judge` when
/// the LLM judge could not give a verdict (unreachable, not JSON), `internal` for a bug in
/// agenttest, `transport` when the agent's endpoint gave no answer to judge (unreachable, a
/// timeout, an unexpected status, a malformed reply). An error read back from a JSON report
/// keeps only its sentence, and is known by it.
pub fn error_type(e: &RunError) -> &'static str {
    match &e.kind {
        ErrorKind::Judge { .. } => "judge",
        ErrorKind::Internal(_) => "internal",
        ErrorKind::Worded(text) => {
            let text = match text.split_once(": ") {
                Some((turn, rest)) if is_turn_label(turn) => rest,
                _ => text.as_str(),
            };
            if text.starts_with(COULD_NOT_JUDGE) {
                "judge"
            } else if text.starts_with(INTERNAL) {
                "internal"
            } else {
                "transport"
            }
        }
        ErrorKind::Setup(_)
        | ErrorKind::Send { .. }
        | ErrorKind::Status { .. }
        | ErrorKind::Malformed { .. }
        | ErrorKind::NoSession { .. } => "transport",
    }
}

/// `turn 3`, the label every sentence about one turn starts with.
fn is_turn_label(text: &str) -> bool {
    turn_number(text).is_some()
}

/// The number in `turn 3`.
fn turn_number(text: &str) -> Option<usize> {
    text.strip_prefix("turn ")?.parse().ok()
}

/// The headline of a repeated dialogue: `3/5 runs passed (needs 4)`, or against the baseline
/// both rates and the p-value: `13/20 runs passed; baseline 95/100; p = 0.0006031 < alpha 0.01`.
pub fn repeat_headline(d: &crate::record::DialogueResult) -> String {
    // `min_pass: baseline` under `--bless` (the runner gives the baseline gate a `min_pass`
    // of 0, which no count can be, and no gate result when it blesses): no gate, the round's
    // rate is what is recorded, and only a round whose every run could be judged records one
    // (run/dialogue.rs, `blessed_verdict`). "(needs 0)" would read as a bar the round met.
    if d.baseline.is_none() && d.min_pass == 0 {
        let errored = crate::report::common::turns::deciding(d)
            .iter()
            .filter(|a| a.outcome == Outcome::Error)
            .count();
        let passed = d.passed_runs();
        return match errored {
            0 => format!(
                "{passed}/{} runs passed (the rate --bless records)",
                d.repeat
            ),
            n => format!(
                "{passed}/{} runs passed, {n} errored: no baseline is recorded from a round \
                 in which a run could not be judged",
                d.repeat
            ),
        };
    }
    let Some(g) = &d.baseline else {
        return format!(
            "{}/{} runs passed (needs {})",
            d.passed_runs(),
            d.repeat,
            d.min_pass
        );
    };
    baseline_line(g, d.outcome)
}

/// The baseline gate's verdict in one line.
pub fn baseline_line(g: &crate::record::BaselineGate, outcome: Outcome) -> String {
    let errored = match g.errored {
        0 => String::new(),
        n => format!(", {n} errored"),
    };
    let Some((runs, passed)) = g.recorded else {
        return match &g.problem {
            Some(problem) => format!(
                "{}/{} runs passed{errored}; the golden's baseline cannot be read: {problem}{}",
                g.passed,
                g.runs,
                // The golden's own errors about a baseline already say how to re-record it.
                match problem.contains("--bless") {
                    true => "",
                    false => "; re-record it with `agenttest run --bless --repeat N`",
                }
            ),
            None => format!(
                "{}/{} runs passed{errored}; no baseline is recorded in the golden: record one \
                 with `agenttest run --bless --repeat N` (min_pass: baseline)",
                g.passed, g.runs
            ),
        };
    };
    match g.p_value {
        // The judged runs alone pass, but the errored ones, had they failed, would not: the
        // gate could not judge (run/dialogue.rs, `baseline_verdict`).
        Some(p) if outcome == Outcome::Error => format!(
            "{}/{} runs passed{errored}; baseline {passed}/{runs}; p = {} over the judged runs, \
             but had the {} errored runs failed the gate would fail: it could not judge",
            g.passed,
            g.runs,
            p_beside(p, g.alpha),
            g.errored
        ),
        Some(p) => format!(
            "{}/{} runs passed{errored}; baseline {passed}/{runs}; p = {} {} alpha {}",
            g.passed,
            g.runs,
            p_beside(p, g.alpha),
            if p < g.alpha { "<" } else { ">=" },
            g.alpha
        ),
        None => format!(
            "{}/{} runs could be judged{errored}; baseline {passed}/{runs}",
            g.passed, g.runs
        ),
    }
}

/// `golden: matched in k/N runs`, one line. When the golden could not be read, the line says
/// so and no more: the diagnostic is several lines (the source line with carets), and every
/// reporter shows it once below ([`unreadable_golden`]), not inside the tally.
pub fn golden_tally(met: u32, compared: u32, unreadable: bool) -> String {
    if unreadable {
        format!("golden: matched in {met}/{compared} runs; it cannot be read (see below)")
    } else {
        format!("golden: matched in {met}/{compared} runs")
    }
}

/// `failed in run 3`, `failed in runs 3, 5, 6`: the runs in which an expectation failed, as
/// every reporter's tally words them.
pub fn failed_in(runs: &[u32]) -> String {
    let list: Vec<String> = runs.iter().map(u32::to_string).collect();
    format!(
        "failed in run{} {}",
        if runs.len() == 1 { "" } else { "s" },
        list.join(", ")
    )
}

/// [`p_value`], unless its rounding puts it on the other side of `alpha` than `p` is (0.0099999
/// rounds to `0.01000`): then every digit it has, so the line never reads "0.01000 < 0.01".
fn p_beside(p: f64, alpha: f64) -> String {
    let shown = p_value(p);
    let crossed = shown
        .parse::<f64>()
        .is_ok_and(|s| (s < alpha) != (p < alpha));
    if crossed {
        format!("{p}")
    } else {
        shown
    }
}

/// A p-value for people: at least four decimals and four significant digits, small ones in
/// scientific notation. Four decimals alone rounded 0.00997 to `0.0100`, printed as "< alpha
/// 0.01".
pub fn p_value(p: f64) -> String {
    if p >= 0.0001 || p == 0.0 {
        let decimals = if p > 0.0 {
            (3 - p.log10().floor() as i32).max(4) as usize
        } else {
            4
        };
        format!("{p:.decimals$}")
    } else {
        format!("{p:.2e}")
    }
}

/// ` from POST http://host/chat`, or nothing when where the request went is not known (a
/// report read back from JSON, which keeps the sentence).
fn from(request: &str) -> String {
    if request.is_empty() {
        String::new()
    } else {
        format!(" from {request}")
    }
}

/// ` (after 2 retries)`, or nothing when the first try was the last.
fn after_retries(retries: u32) -> String {
    match retries {
        0 => String::new(),
        1 => " (after 1 retry)".to_string(),
        n => format!(" (after {n} retries)"),
    }
}

/// The full explanation of a golden check that failed: what differs, the diff (coloured with
/// word-level emphasis when `color`), where the pending file is, and the commands that accept
/// or re-record. Empty for a match.
pub fn golden_message(check: &GoldenCheck, suite_path: &Path, color: bool) -> String {
    if let Some(worded) = &check.worded {
        return worded.clone();
    }
    let hints = hint_paragraph(check, &accept_hint(suite_path));
    let path = check.path.display();
    let mut out = match check.status {
        GoldenStatus::Match => return String::new(),
        GoldenStatus::Missing => format!(
            "no golden transcript at {path}\n\n{}\n{hints}",
            diff(check, color)
        ),
        GoldenStatus::Invalid => format!(
            "{}\n\nfix the file by hand, or replace it:\n{hints}",
            shown(
                check
                    .problem
                    .as_deref()
                    .unwrap_or("the golden could not be read")
            )
        ),
        GoldenStatus::Mismatch => {
            // The threshold is named once, on each turn below it, with that turn's score.
            let mode = if check.threshold.is_some() {
                " (mode similar)"
            } else {
                ""
            };
            let mut m = format!("{TRANSCRIPT_DIFFERS} {path}{mode}:\n");
            for d in &check.differences {
                let _ = writeln!(m, "  {}", shown(&difference(d)));
            }
            let _ = write!(m, "\n{}\n{hints}", diff(check, color));
            m
        }
    };
    if let Some(e) = &check.pending_error {
        let _ = write!(
            out,
            "\n(could not write the pending golden beside {path}: {e})"
        );
    }
    out
}

/// One difference, as a line.
pub fn difference(d: &Difference) -> String {
    match d {
        Difference::Suite { golden, actual } => {
            format!("suite: {golden:?} in the golden, {actual:?} in this run")
        }
        Difference::Dialogue { golden, actual } => {
            format!("dialogue: {golden:?} in the golden, {actual:?} in this run")
        }
        Difference::UserMessage { turn } => format!("turn {turn}: the user message differs"),
        Difference::Status {
            turn,
            golden,
            actual,
        } => format!("turn {turn}: status {golden} in the golden, {actual} in this run"),
        Difference::AgentText { turn } => format!("turn {turn}: the agent text differs"),
        Difference::Facts {
            turn,
            missing,
            added,
        } => {
            let mut parts = Vec::new();
            if !missing.is_empty() {
                parts.push(format!("missing {}", missing.join(", ")));
            }
            if !added.is_empty() {
                parts.push(format!("added {}", added.join(", ")));
            }
            format!("turn {turn}: {FACTS_DIFFER}: {}", parts.join("; "))
        }
        Difference::Judged { turn, reason } => {
            format!("turn {turn}: {JUDGE_DIFFERS}: {reason}")
        }
        Difference::BelowThreshold {
            turn,
            score: s,
            threshold,
        } => format!(
            "turn {turn}: the agent text is {} similar to the golden's, below the threshold {}",
            score(*s),
            score(*threshold)
        ),
        Difference::MissingTurn { turn } => {
            format!("turn {turn}: in the golden, missing from this run")
        }
        Difference::ExtraTurn { turn } => {
            format!("turn {turn}: new in this run, not in the golden")
        }
        Difference::TurnCount { golden, actual } => {
            format!("turn count: {golden} in the golden, {actual} in this run")
        }
    }
}

/// A failed golden check in one line, for a JUnit `message` and the like: the reason where the
/// check has one (what the judge found, which facts are missing), else where the transcript
/// differs (`the transcript differs from the golden at g.yaml (turn 2)`, `(mode similar, turns
/// 1, 2)`), or what made the golden unreadable. Read from the check's message, so a check read
/// back from a JSON report is summed up as the run that wrote it summed it up.
pub fn golden_summary(check: &GoldenCheck, suite_path: &Path) -> String {
    summary_of(&golden_message(check, suite_path, false))
}

fn summary_of(message: &str) -> String {
    let mut lines = message.lines().map(str::trim_end);
    let Some(header) = lines.by_ref().find(|l| !l.trim().is_empty()) else {
        return String::new();
    };
    let header = header.trim();
    let Some(head) = header.strip_suffix(':') else {
        return header.to_string();
    };
    if head.starts_with(TRANSCRIPT_DIFFERS) {
        // The differences, one a line, indented under the header.
        let differences: Vec<&str> = lines
            .take_while(|l| l.starts_with("  "))
            .map(str::trim)
            .collect();
        // A similarity score is no reason: the element text gives each turn's.
        let reasoned = |d: &str| [FACTS_DIFFER, JUDGE_DIFFERS].iter().any(|r| d.contains(r));
        if let Some(first) = differences.iter().find(|d| reasoned(d)) {
            return match differences.len() - 1 {
                0 => first.to_string(),
                more => format!("{first} (and {more} more)"),
            };
        }
        let mut turns: Vec<usize> = differences
            .iter()
            .filter_map(|d| turn_number(d.split_once(':')?.0))
            .collect();
        turns.dedup();
        let list: Vec<String> = turns.iter().map(usize::to_string).collect();
        let place = match (turns.len(), differences.first()) {
            (0, None) => None,
            (0, Some(first)) => Some(first.to_string()),
            (1, _) => Some(format!("turn {}", list[0])),
            _ => Some(format!("turns {}", list.join(", "))),
        };
        // `... at g.yaml (mode similar)` gets one parenthesis: `(mode similar, turn 2)`.
        let (path, mode) = match head.strip_suffix(')').and_then(|h| h.rsplit_once(" (")) {
            Some((path, mode)) => (path, Some(mode)),
            None => (head, None),
        };
        return match (mode, place) {
            (Some(mode), Some(place)) => format!("{path} ({mode}, {place})"),
            (Some(mode), None) => format!("{path} ({mode})"),
            (None, Some(place)) => format!("{path} ({place})"),
            (None, None) => path.to_string(),
        };
    }
    // A diagnostic (the golden cannot be read): its header, then its `error:` line.
    match lines.find_map(|l| l.trim().strip_prefix("error: ")) {
        Some(reason) => format!("{head}: {reason}"),
        None => head.to_string(),
    }
}

/// What a golden check noticed without failing (the facts a reply adds in `mode: facts`), a
/// sentence each: `turn 1: the facts differ from the golden's: added time 18:00`.
pub fn golden_notes(check: &GoldenCheck) -> Vec<String> {
    check.notes.iter().map(difference).collect()
}

/// The golden notes of every attempt of `d`, each said once (the runs of a repeat mostly add
/// the same facts), in the order they first came.
pub fn dialogue_notes(d: &crate::record::DialogueResult) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in d.attempts.iter().filter_map(|a| a.golden.as_ref()) {
        for n in golden_notes(g) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// A note as [`difference`] words it, read back into the difference it says (a JSON report
/// keeps the sentence). Notes are facts a reply adds, so only that sentence is read: `None`
/// for any other.
pub fn facts_note(sentence: &str) -> Option<Difference> {
    let (turn, rest) = sentence.split_once(": ")?;
    let turn = turn_number(turn)?;
    let rest = rest.strip_prefix(FACTS_DIFFER)?.strip_prefix(": ")?;
    // One item holding the whole list words it back exactly as it was read.
    let (missing, added) = match (rest.strip_prefix("missing "), rest.strip_prefix("added ")) {
        (Some(m), _) => (vec![m.to_string()], Vec::new()),
        (None, Some(a)) => (Vec::new(), vec![a.to_string()]),
        (None, None) => return None,
    };
    Some(Difference::Facts {
        turn,
        missing,
        added,
    })
}

/// The message of the golden that could not be read, for a repeated dialogue: every run reads
/// the same file and would repeat the same multi-line diagnostic, so the reporters show it
/// once, under the golden tally, and each run points at it ([`UNREADABLE_SAID_ONCE`]). The
/// check that saved the pending file is the one shown, so its path is said. `None` when the
/// golden could be read, and for a dialogue run once.
pub fn unreadable_golden(d: &crate::record::DialogueResult) -> Option<String> {
    if d.repeat <= 1 {
        return None;
    }
    let unreadable = || {
        d.attempts
            .iter()
            .filter_map(|a| a.golden.as_ref())
            .filter(|g| g.status == GoldenStatus::Invalid)
    };
    let shown = unreadable()
        .find(|g| g.pending.is_some() || g.worded.as_ref().is_some_and(|w| w.contains(SAVED_AS)))
        .or_else(|| unreadable().next())?;
    Some(golden_message(shown, &d.suite.path, false))
}

/// What a run of a repeated dialogue says of a golden that could not be read, whose
/// diagnostic [`unreadable_golden`] gives once.
pub const UNREADABLE_SAID_ONCE: &str =
    "the golden cannot be read (its diagnostic is given once, under the golden tally)";

const SAVED_AS: &str = "this run's transcript is saved as ";

/// The diff section: `--- golden <path>` / `+++ actual` headers and the hunks.
pub fn diff(check: &GoldenCheck, color: bool) -> String {
    let hunks = render_diff(&check.diff_old, &check.diff_new, color);
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

/// The last paragraph of every failing golden: where the pending file is, how to accept it
/// (the caller's exact command, which sends nothing) and how to re-record. Only a run whose
/// transcript is the pending file can be accepted: one whose pending file could not be
/// written, or a repeat whose first differing run wrote it, is offered the re-recording
/// alone.
fn hint_paragraph(check: &GoldenCheck, accept_hint: &str) -> String {
    let rest = accept_hint.strip_prefix("agenttest accept");
    let Some(pending) = &check.pending else {
        return match rest {
            Some(rest) => format!("to record a fresh run: agenttest run{rest} --bless\n"),
            None => "to record a fresh run: `agenttest run --bless`\n".to_string(),
        };
    };
    let bless = match rest {
        Some(rest) => format!("or record a fresh run: agenttest run{rest} --bless"),
        None => "or record a fresh run with `agenttest run --bless`".to_string(),
    };
    format!(
        "{SAVED_AS}{}\nto accept this run's transcript as the golden (sends nothing): {accept_hint}\n{bless}\n",
        pending.display()
    )
}

/// A score for display: rounded down to three decimals, so a failing 0.8996 never reads as
/// an apparently passing 0.900.
pub fn score(s: f64) -> String {
    format!("{:.3}", (s * 1000.0).floor() / 1000.0)
}

/// Text quoted from a file (a parse diagnostic, a suite name) with its escape characters shown,
/// not sent to a terminal.
fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\x1b') {
        std::borrow::Cow::Owned(text.replace('\x1b', "␛"))
    } else {
        std::borrow::Cow::Borrowed(text)
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

/// One attempt that did not pass, explained: the turns worth showing (a failure or the error
/// at them), each failure and the error worded and located, and the golden's message. Every
/// reporter lays this out in its own way; none walks the attempt itself.
pub struct AttemptExplanation<'a> {
    pub turns: Vec<TurnExplanation<'a>>,
    /// The error when it is past the last recorded turn (it stopped the attempt before a
    /// turn began: the endpoint could not be built, or a panic).
    pub trailing_error: Option<Located>,
    /// The golden's full message, when the golden failed.
    pub golden: Option<String>,
}

pub struct TurnExplanation<'a> {
    /// 1-based.
    pub number: usize,
    pub location: String,
    pub turn: &'a crate::record::TurnResult,
    /// Each failed expectation: its key, its sentence and where it is written.
    pub failures: Vec<(&'static str, Located)>,
    pub error: Option<Located>,
}

/// A sentence and the `file:line:column` it points at.
pub struct Located {
    pub text: String,
    pub location: String,
}

/// Explains `a`, an attempt of `d`, with the golden's diff coloured when `color`.
pub fn attempt<'a>(
    d: &'a crate::record::DialogueResult,
    a: &'a crate::record::Attempt,
    color: bool,
) -> AttemptExplanation<'a> {
    let path = &d.suite.path;
    let located = |text: String, span| Located {
        text,
        location: crate::diag::location(path, span),
    };
    let error_turn = a.error.as_ref().map(|e| e.turn);
    let turns = a
        .turns
        .iter()
        .enumerate()
        .filter(|(i, t)| !t.failures.is_empty() || error_turn == Some(*i))
        .map(|(i, t)| TurnExplanation {
            number: i + 1,
            location: crate::diag::location(path, t.span),
            turn: t,
            failures: t
                .failures
                .iter()
                .map(|f| (f.key, located(failure_message(f), f.span)))
                .collect(),
            error: a
                .error
                .as_ref()
                .filter(|e| e.turn == i)
                .map(|e| located(error_text(e), e.span)),
        })
        .collect();
    let trailing_error = a
        .error
        .as_ref()
        .filter(|e| e.turn >= a.turns.len())
        .map(|e| located(error_message(e), e.span));
    let golden = a
        .golden
        .as_ref()
        .filter(|g| g.status.is_failure())
        .map(|g| match g.status {
            // Said once for the dialogue (see `unreadable_golden`).
            GoldenStatus::Invalid if d.repeat > 1 => UNREADABLE_SAID_ONCE.to_string(),
            _ => golden_message(g, path, color),
        });
    AttemptExplanation {
        turns,
        trailing_error,
        golden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A check of `g.yaml` in `status` with `differences`, and the same check as a report
    /// read back from JSON holds it (only its message).
    fn checks(status: GoldenStatus, differences: Vec<Difference>) -> [GoldenCheck; 2] {
        let mut check = GoldenCheck::new(PathBuf::from("g.yaml"), String::new());
        check.status = status;
        check.differences = differences;
        check.diff_old = "a\n".into();
        check.diff_new = "b\n".into();
        check.pending = Some(PathBuf::from("g.yaml.new"));
        if status == GoldenStatus::Invalid {
            check.problem = Some(
                "invalid golden transcript at g.yaml:\n\nerror: the baseline says 50 of 40 runs \
                 passed\n --> g.yaml:4:11\n  |\n4 | baseline: {runs: 40, passed: 50}\n  |   ^^"
                    .into(),
            );
        }
        let mut worded = GoldenCheck::new(PathBuf::from("g.yaml"), String::new());
        worded.status = status;
        worded.worded = Some(golden_message(&check, Path::new("s.yaml"), false));
        [check, worded]
    }

    #[test]
    fn a_golden_failure_sums_up_in_one_line_with_its_reason() {
        let facts = |turn| Difference::Facts {
            turn,
            missing: vec!["time 10:00".into()],
            added: vec!["time 09:00".into()],
        };
        let cases = [
            (
                GoldenStatus::Mismatch,
                vec![Difference::Judged {
                    turn: 1,
                    reason: "opens at 10 not 9\nsecond line".into(),
                }],
                "turn 1: the judge found it differs from the golden: opens at 10 not 9",
            ),
            (
                GoldenStatus::Mismatch,
                vec![Difference::AgentText { turn: 1 }, facts(2)],
                "turn 2: the facts differ from the golden's: missing time 10:00; added time \
                 09:00 (and 1 more)",
            ),
            (
                GoldenStatus::Mismatch,
                vec![Difference::AgentText { turn: 2 }],
                "the transcript differs from the golden at g.yaml (turn 2)",
            ),
            (
                GoldenStatus::Mismatch,
                vec![
                    Difference::UserMessage { turn: 2 },
                    Difference::AgentText { turn: 2 },
                    Difference::ExtraTurn { turn: 3 },
                ],
                "the transcript differs from the golden at g.yaml (turns 2, 3)",
            ),
            (
                GoldenStatus::Mismatch,
                vec![Difference::TurnCount {
                    golden: 1,
                    actual: 2,
                }],
                "the transcript differs from the golden at g.yaml (turn count: 1 in the golden, \
                 2 in this run)",
            ),
            (
                GoldenStatus::Invalid,
                Vec::new(),
                "invalid golden transcript at g.yaml: the baseline says 50 of 40 runs passed",
            ),
            (
                GoldenStatus::Missing,
                Vec::new(),
                "no golden transcript at g.yaml",
            ),
        ];
        for (status, differences, want) in cases {
            for check in checks(status, differences.clone()) {
                assert_eq!(golden_summary(&check, Path::new("s.yaml")), want);
            }
        }
        let mut similar = checks(
            GoldenStatus::Mismatch,
            vec![Difference::BelowThreshold {
                turn: 1,
                score: 0.5,
                threshold: 0.8,
            }],
        );
        similar[0].threshold = Some(0.8);
        similar[1].worded = Some(golden_message(&similar[0], Path::new("s.yaml"), false));
        for check in &similar {
            assert_eq!(
                golden_summary(check, Path::new("s.yaml")),
                "the transcript differs from the golden at g.yaml (mode similar, turn 1)"
            );
        }
    }

    #[test]
    fn a_facts_note_reads_back_as_it_was_worded() {
        for (missing, added) in [
            (vec![], vec!["time 18:00", "money $5.00"]),
            (vec!["date 2024-05-01"], vec![]),
            (vec!["a; added b"], vec!["c, d"]),
        ] {
            let note = Difference::Facts {
                turn: 3,
                missing: missing.iter().map(ToString::to_string).collect(),
                added: added.iter().map(ToString::to_string).collect(),
            };
            let sentence = difference(&note);
            let back = facts_note(&sentence).expect("a facts note");
            assert_eq!(difference(&back), sentence);
        }
        for other in [
            "turn 1: the agent text differs",
            "turn x: the facts differ from the golden's: added time 18:00",
            "turn 1: the facts differ from the golden's: time 18:00",
            "",
        ] {
            assert!(facts_note(other).is_none(), "{other}");
        }
    }

    #[test]
    fn an_error_s_kind_is_known_from_its_sentence_too() {
        let error = |kind| RunError {
            turn: 1,
            span: crate::diag::Span::UNKNOWN,
            kind,
        };
        for (kind, want) in [
            (
                ErrorKind::Judge {
                    reason: "the judge did not answer JSON: `fine`".into(),
                },
                "judge",
            ),
            (ErrorKind::Internal("boom".into()), "internal"),
            (
                ErrorKind::Send {
                    error: "connection refused".into(),
                    retries: 2,
                    request: String::new(),
                },
                "transport",
            ),
            (
                ErrorKind::Status {
                    status: 500,
                    detail: Some("could not judge: no".into()),
                    retries: 0,
                    request: String::new(),
                },
                "transport",
            ),
            (ErrorKind::Setup("no mock".into()), "transport"),
        ] {
            let live = error(kind);
            let worded = error(ErrorKind::Worded(error_message(&live)));
            assert_eq!(error_type(&live), want);
            assert_eq!(error_type(&worded), want, "{}", error_message(&live));
        }
    }

    #[test]
    fn a_tally_says_run_for_one_and_runs_for_more() {
        assert_eq!(failed_in(&[3]), "failed in run 3");
        assert_eq!(failed_in(&[3, 5, 6]), "failed in runs 3, 5, 6");
        assert_eq!(
            golden_tally(0, 10, true),
            "golden: matched in 0/10 runs; it cannot be read (see below)"
        );
        assert_eq!(golden_tally(4, 5, false), "golden: matched in 4/5 runs");
    }

    #[test]
    fn p_values_keep_four_significant_digits() {
        assert_eq!(p_value(0.00997), "0.009970");
        assert_eq!(p_value(0.01234), "0.01234");
        assert_eq!(p_value(0.5), "0.5000");
        assert_eq!(p_value(1.0), "1.0000");
        assert_eq!(p_value(0.0), "0.0000");
        assert_eq!(p_value(0.000123), "0.0001230");
        assert_eq!(p_value(1.2e-6), "1.20e-6");
        // Shown beside alpha, the digits never cross it.
        for (p, alpha) in [
            (0.00999, 0.01),
            (0.009999, 0.01),
            (0.00999999, 0.01),
            (0.0499, 0.05),
            (0.0499999, 0.05),
        ] {
            let shown: f64 = super::p_beside(p, alpha).parse().unwrap();
            assert!(shown < alpha, "{p} shown as {shown}");
        }
        assert_eq!(super::p_beside(0.00999999, 0.01), "0.00999999");
        assert_eq!(super::p_beside(0.2, 0.01), "0.2000");
    }
}
