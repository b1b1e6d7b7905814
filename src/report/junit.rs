//! JUnit XML report (SPEC §5), for CI systems (GitLab, Jenkins, GitHub test reporters) that
//! gate on it. Written once, from the final [`RunReport`], and valid against
//! `shared/junit/junit-10.xsd` (the Jenkins schema pytest's default output follows) whatever
//! the agent said.
//!
//! Layout:
//!
//! ```text
//! <testsuites name="agenttest" tests failures errors time>
//!   <testsuite name tests failures errors skipped time timestamp>   one per suite file
//!     <properties>
//!       <property name="file" value="suites/support.yaml"/>
//!       <property name="flaky" value="N"/>                           only when N > 0
//!     </properties>
//!     <testcase name="<dialogue>" classname="<suite>" time>          one per dialogue
//!       <failure message type="expectation|golden">full explanation</failure>
//!       <error message type="transport|judge|internal">cause and where</error>
//!       <skipped message="reason"/>                                  also for not-run
//!       <system-out>session: <id>, the transcript, the golden's notes</system-out>
//! ```
//!
//! Decisions a consumer may notice:
//!
//! - `classname` + `name` is unique in the file. Two suite files with the same `name:` get
//!   `name (path)` as classname and testsuite name (`support (suites/b/support.yaml)`); any
//!   remaining clash (names that differ only in stripped control characters) gets ` (2)`,
//!   ` (3)`, ... appended to the testcase name.
//! - The schema has no `skipped` or `timestamp` on `<testsuites>`, so the root carries only
//!   `name tests failures errors time`; per-suite `skipped` is there. Not-run dialogues
//!   (Ctrl-C, `--fail-fast`) count as skipped.
//! - `timestamp` is the run's start in UTC, ISO 8601 without a zone (`2024-05-01T12:34:56`).
//!   `time` is seconds with three decimals (the schema's `SUREFIRE_TIME`); a testsuite's time
//!   is the sum of its dialogues' times (they run concurrently, so it can exceed wall time),
//!   the root's is the run's wall time.
//! - A flaky dialogue (passed on a `--reruns` attempt) passes; its `<system-out>` lists the
//!   failures of the attempts that did not pass, and the suite gets a `flaky` property.
//! - A `repeat: N` dialogue is one testcase; its failure says `k/N runs passed (needs M)`, how
//!   many runs met each failing expectation and the golden, then each failing run.
//! - A failure's `message` is one line with the reason where there is one: the first failed
//!   expectation, or the golden's (`turn 1: the judge found it differs from the golden: ...`).
//!   An error's `type` says what could not answer: `transport` (the agent's endpoint),
//!   `judge` (the LLM judge), `internal` (a bug in agenttest).
//!
//! Text is written with [`common::sanitize`](super::common::sanitize): ANSI escapes and
//! characters XML 1.0 forbids are removed, the rest escaped (no CDATA, so `]]>` is harmless).
//! The `junit-report` crate was not used: it has no testsuite `<properties>` nor `skipped`
//! count, writes `file` on testcases and unrounded times (both invalid in this schema), and
//! puts raw text in CDATA, which `]]>` breaks. This module never prints; it writes the document
//! to the writer it is given as it goes (one dialogue's text at a time, never the whole
//! document), or builds it as a string.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::common::sanitize::{one_line, strip_for_xml, write_xml};
use super::common::{stamp, tally};
use super::explain;
use super::spill::Part;
use crate::diag::location;
use crate::record::{
    Attempt, AttemptKind, DialogueResult, Outcome, RunReport, SuiteInfo, TurnResult,
};

/// Longest `message` attribute; the full text is in the element.
const MESSAGE_MAX: usize = 200;

/// Renders the whole report as a JUnit XML document.
pub fn render(report: &RunReport) -> String {
    let mut out = Vec::new();
    // Writing to a `Vec` cannot fail, and everything written is UTF-8.
    let _ = write_to(report, None, &mut out);
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes the report to `path` atomically as it is made (see
/// [`write_atomic_with`](crate::fsutil::write_atomic_with)): a CI job reading the file never
/// sees a half-written report, and the document is never whole in memory.
pub fn write(report: &RunReport, path: &Path) -> io::Result<()> {
    write_spilled(report, None, path)
}

/// [`write`], with the testcases of the dialogues that were spilled as they finished copied
/// from `spilled` (see [`spill`](super::spill)).
pub fn write_spilled(report: &RunReport, spilled: Option<&Part>, path: &Path) -> io::Result<()> {
    crate::fsutil::write_atomic_with(path, crate::fsutil::Durability::Atomic, |out| {
        write_to(report, spilled, out)
    })
}

/// The body of a passing dialogue's `<testcase>` (what goes between its tags), as it reads in
/// the document: a passing testcase's body depends on nothing but the dialogue.
pub(super) fn write_passing_testcase_body(
    d: &DialogueResult,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut x = Xml::new(out);
    x.depth = TESTCASE_BODY_DEPTH;
    testcase_body(&mut x, d, false);
    x.finish()
}

/// `<testsuites>`, `<testsuite>`, `<testcase>`: a testcase's elements sit three deep.
const TESTCASE_BODY_DEPTH: usize = 3;

/// Writes [`render`]'s document to `out`, one element at a time.
fn write_to(report: &RunReport, spilled: Option<&Part>, out: &mut impl Write) -> io::Result<()> {
    let mut x = Xml::new(out);
    x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let suites = report.suites();
    let totals = report.totals();
    let (tests, failures, errors) = (
        report.dialogues.len().to_string(),
        totals.failed.to_string(),
        totals.errored.to_string(),
    );
    let time = seconds(report.duration);
    let root_attrs = [
        ("name", "agenttest"),
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", errors.as_str()),
        ("time", time.as_str()),
    ];
    if suites.is_empty() {
        x.empty("testsuites", &root_attrs);
        return x.finish();
    }
    x.open("testsuites", &root_attrs);
    let timestamp = stamp::iso8601_no_zone(report.started_at);
    let mut seen = UsedNames::new();
    for suite in &suites {
        let same_name = suites.iter().filter(|s| s.name == suite.name).count();
        let suite_name = if same_name > 1 {
            format!("{} ({})", suite.name, suite.path.display())
        } else {
            suite.name.clone()
        };
        let names = Names {
            suite: &suite_name,
            timestamp: &timestamp,
        };
        testsuite(&mut x, report, suite, names, &mut seen, spilled);
        if x.error.is_some() {
            break;
        }
    }
    x.close("testsuites");
    x.finish()
}

/// Testcase names already used, per classname, both as sanitized (what a consumer sees).
type UsedNames = HashMap<String, HashSet<String>>;

/// A testsuite's name (also its testcases' classname) and the run's timestamp.
#[derive(Clone, Copy)]
struct Names<'a> {
    suite: &'a str,
    timestamp: &'a str,
}

/// One `<testsuite>`: its counts, its properties, then a testcase per dialogue.
fn testsuite(
    x: &mut Xml<impl Write>,
    report: &RunReport,
    suite: &Arc<SuiteInfo>,
    names: Names<'_>,
    seen: &mut UsedNames,
    spilled: Option<&Part>,
) {
    let Names {
        suite: suite_name,
        timestamp,
    } = names;
    // `Arc`'s `==` looks at the pointer first: one suite's dialogues share theirs.
    let dialogues = || report.dialogues.iter().filter(|d| d.suite == *suite);
    let indexed = report.dialogues.iter().enumerate();
    let count = |o: &[Outcome]| dialogues().filter(|d| o.contains(&d.outcome)).count();
    let flaky = count(&[Outcome::Flaky]);
    let time: Duration = dialogues().map(|d| d.duration).sum();
    let numbers = [
        dialogues().count(),
        count(&[Outcome::Fail]),
        count(&[Outcome::Error]),
        count(&[Outcome::Skip, Outcome::NotRun]),
    ]
    .map(|n| n.to_string());
    let time = seconds(time);
    x.open(
        "testsuite",
        &[
            ("name", suite_name),
            ("tests", &numbers[0]),
            ("failures", &numbers[1]),
            ("errors", &numbers[2]),
            ("skipped", &numbers[3]),
            ("time", &time),
            ("timestamp", timestamp),
        ],
    );
    x.open("properties", &[]);
    let file = suite.path.display().to_string();
    x.empty("property", &[("name", "file"), ("value", &file)]);
    if flaky > 0 {
        x.empty(
            "property",
            &[("name", "flaky"), ("value", &flaky.to_string())],
        );
    }
    x.close("properties");
    let used = seen
        .entry(strip_for_xml(suite_name).into_owned())
        .or_default();
    for (i, d) in indexed.filter(|(_, d)| d.suite == *suite) {
        let name = unique_name(used, &d.name);
        let time = seconds(d.duration);
        let attrs = [
            ("name", name.as_str()),
            ("classname", suite_name),
            ("time", &time),
        ];
        x.open("testcase", &attrs);
        match spilled.map(|part| part.copy_to(i, d, &mut x.out)) {
            Some(Ok(true)) => {}
            Some(Err(e)) => x.error = Some(e),
            Some(Ok(false)) | None => testcase_body(x, d, report.interrupted),
        }
        x.close("testcase");
        if x.error.is_some() {
            return;
        }
    }
    x.close("testsuite");
}

/// The testcase name to use so that `classname` + `name` stays unique once sanitized; `used`
/// holds the names taken under this classname.
fn unique_name(used: &mut HashSet<String>, name: &str) -> String {
    let mut candidate = name.to_string();
    let mut n = 1;
    while !used.insert(strip_for_xml(&candidate).into_owned()) {
        n += 1;
        candidate = format!("{name} ({n})");
    }
    candidate
}

/// What goes inside a dialogue's `<testcase>`: why it did not pass (or was skipped), then the
/// transcripts. `interrupted`: the run was cut short by Ctrl-C (for a dialogue not run).
fn testcase_body(x: &mut Xml<impl Write>, d: &DialogueResult, interrupted: bool) {
    match d.outcome {
        Outcome::Pass | Outcome::Flaky => {}
        Outcome::Fail => {
            let (message, kind) = failure_summary(d);
            let text = x.take_text(|out| verdict_text(out, d));
            x.text_element("failure", &[("message", &message), ("type", kind)], &text);
            x.give_back(text);
        }
        Outcome::Error => {
            let (message, kind) = error_summary(d);
            let text = x.take_text(|out| verdict_text(out, d));
            let attrs = [("message", message.as_str()), ("type", kind)];
            x.text_element("error", &attrs, &text);
            x.give_back(text);
        }
        Outcome::Skip => {
            let reason = d.skip_reason.as_deref().unwrap_or("skipped");
            x.empty("skipped", &[("message", &one_line(reason, MESSAGE_MAX))]);
        }
        Outcome::NotRun => {
            let reason = if interrupted {
                "not run (the run was interrupted)"
            } else {
                "not run (the run stopped early)"
            };
            x.empty("skipped", &[("message", reason)]);
        }
    }
    if !d.attempts.is_empty() {
        let text = x.take_text(|out| system_out(out, d));
        x.text_element("system-out", &[], &text);
        x.give_back(text);
    }
}

/// The `message` attribute and `type` of a failed dialogue's `<failure>`.
fn failure_summary(d: &DialogueResult) -> (String, &'static str) {
    let failing: Vec<&Attempt> = d.attempts.iter().filter(|a| !a.outcome.is_pass()).collect();
    let any_expectation = failing.iter().any(|a| a.failures().next().is_some());
    let kind = if any_expectation || failing.iter().all(|a| a.golden.is_none()) {
        "expectation"
    } else {
        "golden"
    };
    if d.gated() {
        return (repeat_headline(d), kind);
    }
    let Some(a) = failing.first() else {
        return ("failed".to_string(), kind);
    };
    let expectation_failures: Vec<(usize, &crate::record::Failure)> = a.failures().collect();
    let golden_failed = a.golden.as_ref().is_some_and(|g| g.status.is_failure());
    let message = match expectation_failures.first() {
        Some((turn, f)) => {
            let more = expectation_failures.len() - 1 + usize::from(golden_failed);
            let mut m = format!("turn {}: {}", turn + 1, explain::failure_message(f));
            if more > 0 {
                m.push_str(&format!(" (and {more} more)"));
            }
            m
        }
        None => match &a.golden {
            Some(g) if golden_failed => {
                let summary = explain::golden_summary(g, &d.suite.path);
                if summary.is_empty() {
                    format!("golden {}", g.status.as_str())
                } else {
                    summary
                }
            }
            _ => match &a.error {
                Some(e) => explain::error_message(e),
                None => "failed".to_string(),
            },
        },
    };
    (one_line(&message, MESSAGE_MAX), kind)
}

/// The `message` attribute and `type` of an errored dialogue's `<error>`: the last error's.
fn error_summary(d: &DialogueResult) -> (String, &'static str) {
    let last = d.attempts.iter().rev().find_map(|a| a.error.as_ref());
    let kind = last.map_or("transport", explain::error_type);
    if d.gated() {
        return (repeat_headline(d), kind);
    }
    let message = last
        .map(explain::error_message)
        .unwrap_or_else(|| "errored".to_string());
    (one_line(&message, MESSAGE_MAX), kind)
}

fn repeat_headline(d: &DialogueResult) -> String {
    explain::repeat_headline(d)
}

/// The full explanation in a `<failure>` or `<error>`: for repeats the `k/N` tally first, then
/// every attempt that did not pass (a single one needs no heading).
fn verdict_text(out: &mut String, d: &DialogueResult) {
    if d.gated() {
        repeat_tally(out, d);
        out.push('\n');
    }
    let failing: Vec<&Attempt> = d.attempts.iter().filter(|a| !a.outcome.is_pass()).collect();
    if failing.len() == 1 && !d.gated() && d.attempts.len() == 1 {
        explain_attempt(out, d, failing[0]);
    } else {
        for (i, a) in failing.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            attempt_heading(out, d, a);
            out.push('\n');
            explain_attempt(out, d, a);
        }
    }
}

/// `k/N runs passed (needs M)`, then per failing expectation and the golden how many runs met
/// it.
fn repeat_tally(out: &mut String, d: &DialogueResult) {
    out.push_str(&repeat_headline(d));
    out.push('\n');
    for t in tally::expectations(d) {
        let _ = writeln!(
            out,
            "turn {} {} ({}): met in {}/{} runs ({})",
            t.turn + 1,
            t.key,
            location(&d.suite.path, t.span),
            t.met,
            t.judged,
            explain::failed_in(&t.failed_in)
        );
    }
    if let Some(g) = tally::golden(d) {
        let line = explain::golden_tally(g.met, g.compared, g.unreadable);
        let _ = writeln!(out, "{line}");
    }
    out.push_str("every other expectation held in every run that reached it\n");
    if let Some(message) = explain::unreadable_golden(d) {
        out.push('\n');
        out.push_str(message.trim_end());
        out.push('\n');
    }
}

/// `--- run 2/5 (session s-2): FAIL ---`
fn attempt_heading(out: &mut String, d: &DialogueResult, a: &Attempt) {
    out.push_str("--- ");
    attempt_label(out, d, a);
    let _ = write!(
        out,
        " (session {}): {} ---",
        a.session_id.as_deref().unwrap_or("none"),
        a.outcome.label()
    );
}

/// `run 2/5`, `first run` or `rerun 1`.
fn attempt_label(out: &mut String, d: &DialogueResult, a: &Attempt) {
    let _ = match a.kind {
        AttemptKind::Run { index } if d.repeat > 1 => {
            write!(out, "run {}/{}", index.saturating_add(1), d.repeat)
        }
        AttemptKind::Run { .. } => write!(out, "first run"),
        AttemptKind::Rerun { index } => write!(out, "rerun {}", index.saturating_add(1)),
    };
}

/// Why one attempt did not pass: each turn with a failure or the error (its place, the user
/// message, each failed expectation with its place, the agent's reply), then the golden.
fn explain_attempt(out: &mut String, d: &DialogueResult, a: &Attempt) {
    let e = explain::attempt(d, a, false);
    let start = out.len();
    for t in &e.turns {
        let _ = writeln!(out, "turn {} ({})", t.number, t.location);
        indent_block(out, "  user: ", &t.turn.message);
        for (key, f) in &t.failures {
            let prefix = format!("  expect.{key} ({}): ", f.location);
            indent_block(out, &prefix, &f.text);
        }
        let mut line = match t.turn.status {
            Some(s) => format!("  agent [{s}]: "),
            None => "  agent: ".to_string(),
        };
        reply_body(&mut line, t.turn);
        indent_block(out, "", &line);
        if let Some(err) = &t.error {
            indent_block(out, &format!("  error ({}): ", err.location), &err.text);
        }
    }
    if let (Some(err), Some(run_error)) = (&e.trailing_error, &a.error) {
        let _ = writeln!(out, "turn {} ({})", run_error.turn + 1, err.location);
        indent_block(out, "  error: ", &err.text);
    }
    if let Some(message) = &e.golden {
        out.push_str(message);
        if !message.ends_with('\n') {
            out.push('\n');
        }
    }
    if out.len() == start {
        let _ = writeln!(out, "{}", a.outcome.label());
    }
}

/// The agent's text, else the error `detail`, else what is missing; after `[200] ` when `status`
/// is asked for and known. For the transcript.
fn reply_body(out: &mut String, t: &TurnResult) {
    match (&t.text, &t.detail, t.status) {
        (Some(text), _, _) => out.push_str(text),
        (None, Some(detail), _) => {
            out.push_str("detail: ");
            out.push_str(detail);
        }
        (None, None, Some(_)) => out.push_str("(no text)"),
        // Its message is as far as it could be filled: it never went out (SPEC §8.3).
        (None, None, None) if t.not_sent => {
            out.push_str("(not sent: an earlier turn ended the dialogue)")
        }
        (None, None, None) => out.push_str("(no response)"),
    }
}

/// `prefix` + the first line of `text`, then its further lines indented to stay readable.
fn indent_block(out: &mut String, prefix: &str, text: &str) {
    out.push_str(prefix);
    let mut lines = text.split('\n');
    out.push_str(lines.next().unwrap_or(""));
    for line in lines {
        out.push_str("\n    ");
        out.push_str(line);
    }
    out.push('\n');
}

/// Each attempt's transcript headed by its session id; for a passing testcase (pass, flaky)
/// also why the attempts that did not pass failed and a repeat's `k/N`, since there is no
/// `<failure>` to say it.
fn system_out(out: &mut String, d: &DialogueResult) {
    let explain = d.outcome.is_pass();
    let mut reply = String::new();
    for (i, a) in d.attempts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "session: {}",
            a.session_id.as_deref().unwrap_or("(none)")
        );
        if d.attempts.len() > 1 {
            out.push_str("attempt: ");
            attempt_label(out, d, a);
            let _ = writeln!(out, ", {}", a.outcome.label());
        }
        for (i, t) in a.turns.iter().enumerate() {
            indent_block(out, "> ", &t.message);
            reply.clear();
            reply.push_str("< ");
            if let Some(s) = t.status {
                let _ = write!(reply, "[{s}] ");
            }
            reply_body(&mut reply, t);
            indent_block(out, "", &reply);
            if let Some(e) = a.error.as_ref().filter(|e| e.turn == i) {
                indent_block(out, "! error: ", &explain::error_text(e));
            }
        }
        if let Some(e) = a.error.as_ref().filter(|e| e.turn >= a.turns.len()) {
            indent_block(out, "! error: ", &explain::error_text(e));
        }
        // What the golden noticed without failing, for the reviewer (SPEC §9.1).
        for note in a.golden.iter().flat_map(explain::golden_notes) {
            indent_block(out, "note: ", &note);
        }
        if explain && !a.outcome.is_pass() {
            out.push_str("failures:\n");
            explain_attempt(out, d, a);
        }
    }
    if d.gated() && explain {
        // A passing repeat has no <failure> to carry its k/N; say it here.
        out.push('\n');
        repeat_tally(out, d);
    }
    if d.outcome == Outcome::Flaky {
        flaky_note(out, d);
    }
}

/// `flaky: passed on rerun 1 after 1 attempt that did not pass`.
fn flaky_note(out: &mut String, d: &DialogueResult) {
    let failed = d.attempts.iter().filter(|a| !a.outcome.is_pass()).count();
    out.push_str("\nflaky: passed on ");
    match d
        .attempts
        .iter()
        .find(|a| a.outcome.is_pass() && matches!(a.kind, AttemptKind::Rerun { .. }))
    {
        Some(a) => attempt_label(out, d, a),
        None => out.push_str("a rerun"),
    }
    let _ = writeln!(
        out,
        " after {failed} attempt{} that did not pass",
        if failed == 1 { "" } else { "s" }
    );
}

/// Seconds with three decimals, the schema's `SUREFIRE_TIME`.
fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// A minimal, indenting XML writer. Every attribute value and text goes through the sanitizer,
/// so no caller can forget it; tag and attribute names are literals of this module. The first
/// write error is kept and returned by [`Xml::finish`]; nothing is written after it.
struct Xml<W> {
    out: W,
    depth: usize,
    error: Option<io::Error>,
    /// A dialogue's element text is made here, then written: one buffer for the whole run.
    text: String,
}

impl<W: Write> Xml<W> {
    fn new(out: W) -> Self {
        Xml {
            out,
            depth: 0,
            error: None,
            text: String::new(),
        }
    }

    fn finish(self) -> io::Result<()> {
        self.error.map_or(Ok(()), Err)
    }

    /// Markup of this module's own, written as it is.
    fn raw(&mut self, markup: &str) {
        if self.error.is_none() {
            if let Err(e) = self.out.write_all(markup.as_bytes()) {
                self.error = Some(e);
            }
        }
    }

    /// Text from outside (a name, a reply), sanitized and escaped.
    fn escaped(&mut self, text: &str, attr: bool) {
        if self.error.is_none() {
            if let Err(e) = write_xml(&mut self.out, text, attr) {
                self.error = Some(e);
            }
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.raw("  ");
        }
    }

    fn start_tag(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.raw("<");
        self.raw(tag);
        for (name, value) in attrs {
            self.raw(" ");
            self.raw(name);
            self.raw("=\"");
            self.escaped(value, true);
            self.raw("\"");
        }
    }

    fn open(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.raw(">\n");
        self.depth += 1;
    }

    fn close(&mut self, tag: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.raw("</");
        self.raw(tag);
        self.raw(">\n");
    }

    fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.start_tag(tag, attrs);
        self.raw("/>\n");
    }

    /// An element whose content is `text`, written verbatim (no indentation added inside, so
    /// the reader sees exactly the explanation).
    fn text_element(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.start_tag(tag, attrs);
        self.raw(">");
        self.escaped(text, false);
        self.raw("</");
        self.raw(tag);
        self.raw(">\n");
    }

    /// The text buffer, emptied and filled by `make`; hand it back with [`Xml::give_back`].
    fn take_text(&mut self, make: impl FnOnce(&mut String)) -> String {
        let mut text = std::mem::take(&mut self.text);
        text.clear();
        make(&mut text);
        text
    }

    fn give_back(&mut self, text: String) {
        self.text = text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_fit_surefire_time() {
        assert_eq!(seconds(Duration::from_micros(1_234_567)), "1.235");
        assert_eq!(seconds(Duration::ZERO), "0.000");
    }

    #[test]
    fn indent_block_indents_continuation_lines() {
        let mut out = String::new();
        indent_block(&mut out, "> ", "a\nb");
        assert_eq!(out, "> a\n    b\n");
    }

    #[test]
    fn unique_name_appends_counter_on_clash() {
        let mut seen = UsedNames::new();
        let s = seen.entry("s".into()).or_default();
        assert_eq!(unique_name(s, "a"), "a");
        assert_eq!(unique_name(s, "a\u{1b}[0m"), "a\u{1b}[0m (2)");
        let t = seen.entry("t".into()).or_default();
        assert_eq!(unique_name(t, "a"), "a");
    }
}
