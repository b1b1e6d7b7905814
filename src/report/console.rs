//! The console reporter (SPEC §5): a line per dialogue as it finishes, a progress line only on
//! a terminal outside CI, then every failure in full, then one summary line.
//!
//! It only formats what the runner produced; whether to use color or a progress bar is decided
//! by the caller from the terminal and the environment. Its lines go to standard output, or to
//! standard error once [`to_stderr`] is called (a report is being written to standard output).

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::diag::location;
use crate::record::{Attempt, AttemptKind, BlessAction, DialogueResult, Event, Outcome, RunReport};
use crate::report::common::{tally, turns};
use crate::report::explain;
use crate::util::human_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
    pub color: bool,
    /// Draw a progress line (only on a terminal, never in CI).
    pub progress: bool,
    pub verbosity: Verbosity,
}

pub struct Console {
    opts: ConsoleOptions,
    bar: ProgressBar,
    /// The dialogues whose line was printed as they finished: a run cut short by Ctrl-C never
    /// starts some, and their `NOT RUN` lines come at the end (a merge prints every line).
    lined: std::sync::atomic::AtomicUsize,
}

static TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends every console line of this process to standard error from now on: a report written
/// to standard output (`--json -`) must be all that a pipe reads there.
pub fn to_stderr() {
    TO_STDERR.store(true, Ordering::Relaxed);
}

/// Where a console line goes: standard output, unless [`to_stderr`] was called. Locked, so a
/// line is written whole.
pub fn out() -> Box<dyn std::io::Write> {
    if TO_STDERR.load(Ordering::Relaxed) {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    }
}

/// Whether the console's stream is a terminal (for color).
pub fn out_is_terminal() -> bool {
    use std::io::IsTerminal as _;
    if TO_STDERR.load(Ordering::Relaxed) {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    }
}

/// How many golden notes a dialogue's line is followed by; the reports list every one.
const NOTES_SHOWN: usize = 3;

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

impl Console {
    pub fn new(opts: ConsoleOptions) -> Self {
        let bar = if opts.progress {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Console {
            opts,
            bar,
            lined: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn paint(&self, style: &str, text: &str) -> String {
        if self.opts.color {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    /// Prints a line without tearing the progress bar.
    fn line(&self, text: &str) {
        if self.bar.is_hidden() {
            let _ = writeln!(out(), "{text}");
        } else {
            self.bar.suspend(|| {
                let _ = writeln!(out(), "{text}");
            });
        }
    }

    pub fn event(&self, event: &Event) {
        match event {
            Event::Started { total } => self.bar.set_length(*total as u64),
            Event::DialogueStarted { name } => self.bar.set_message(name.clone()),
            Event::DialogueFinished(r) => {
                self.bar.inc(1);
                self.lined
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.opts.verbosity != Verbosity::Quiet {
                    self.line(&self.status_line(r));
                    // What the golden check noticed without failing (facts a reply adds).
                    let notes = explain::dialogue_notes(r);
                    for n in notes.iter().take(NOTES_SHOWN) {
                        let text = format!("      note: {n}");
                        self.line(&self.paint(DIM, &visible(&text)));
                    }
                    if notes.len() > NOTES_SHOWN {
                        let more = notes.len() - NOTES_SHOWN;
                        let text = format!("      note: and {more} more");
                        self.line(&self.paint(DIM, &text));
                    }
                    if self.opts.verbosity == Verbosity::Verbose {
                        self.transcripts(r);
                    }
                }
            }
        }
    }

    /// `-v`: each attempt's transcript. With several (repeats, reruns) each is headed as the
    /// failure explanation heads them, `run 1 (error):`, so one run's turns are not read as
    /// the next one's.
    fn transcripts(&self, r: &DialogueResult) {
        let several = r.attempts.len() > 1;
        for a in &r.attempts {
            let text = visible(&transcript(a)).into_owned();
            if several {
                self.line(&format!("      {}:", attempt_heading(a)));
                self.line(&indent(&text, "        "));
            } else {
                self.line(&indent(&text, "      "));
            }
        }
    }

    fn status_line(&self, r: &DialogueResult) -> String {
        let label = format!("{:<5}", r.outcome.label());
        let style = match r.outcome {
            Outcome::Pass => GREEN,
            Outcome::Flaky => YELLOW,
            Outcome::Fail | Outcome::Error => RED,
            Outcome::Skip | Outcome::NotRun => YELLOW,
        };
        let mut line = format!(
            "{} {}",
            self.paint(style, &label),
            visible(&r.display_name())
        );
        match r.outcome {
            Outcome::Skip => {
                if let Some(reason) = &r.skip_reason {
                    line.push_str(&self.paint(DIM, &format!("  ({})", visible(reason))));
                }
            }
            Outcome::NotRun => {}
            _ => {
                // The turns sent by the run whose verdict the label gives (for FLAKY, the
                // rerun that passed): see `common::turns`.
                let mut facts = vec![turns::sent_words(r)];
                match &r.baseline {
                    Some(g) => facts.push(explain::baseline_line(g, r.outcome)),
                    None if r.repeat > 1 => {
                        facts.push(format!("{}/{} runs passed", r.passed_runs(), r.repeat))
                    }
                    None => {}
                }
                let reruns = r.reruns();
                if reruns > 0 {
                    facts.push(format!(
                        "{reruns} rerun{}",
                        if reruns == 1 { "" } else { "s" }
                    ));
                }
                let retries = r.retries();
                if retries > 0 {
                    facts.push(format!(
                        "{retries} retr{}",
                        if retries == 1 { "y" } else { "ies" }
                    ));
                }
                facts.push(human_duration(r.duration));
                line.push_str(&self.paint(DIM, &format!("  ({})", facts.join(", "))));
            }
        }
        line
    }

    /// Everything after the per-dialogue lines: failures in full, golden actions, warnings,
    /// and the summary line last.
    pub fn finish(&self, report: &RunReport) {
        self.finish_with(report, None);
    }

    /// [`finish`](Self::finish) for a `--bless` run: its bless line is printed whatever
    /// happened, also when no golden was touched (every dialogue errored), with how many
    /// dialogues had no golden to leave alone (`not_created`). A bless run that said nothing
    /// of its goldens left the reader to guess whether it blessed at all.
    pub fn finish_blessed(&self, report: &RunReport, not_created: usize) {
        self.finish_with(report, Some(not_created));
    }

    fn finish_with(&self, report: &RunReport, bless: Option<usize>) {
        self.bar.finish_and_clear();
        let mut out = String::new();
        // The dialogues Ctrl-C kept from starting had no line as they finished (SPEC §5: a
        // line per dialogue); the summary counts them, and so does each line here.
        let lined = self.lined.load(std::sync::atomic::Ordering::Relaxed);
        if lined < report.dialogues.len() && self.opts.verbosity != Verbosity::Quiet {
            for d in &report.dialogues {
                if d.outcome == Outcome::NotRun && d.attempts.is_empty() {
                    let _ = writeln!(out, "{}", self.status_line(d));
                }
            }
        }
        let troubled: Vec<&DialogueResult> = report
            .dialogues
            .iter()
            .filter(|d| matches!(d.outcome, Outcome::Fail | Outcome::Error | Outcome::Flaky))
            .collect();
        for d in &troubled {
            out.push('\n');
            out.push_str(&self.explain(d));
        }
        let pending: Vec<_> = report
            .dialogues
            .iter()
            .flat_map(|d| d.pending_goldens())
            .collect();
        if !pending.is_empty() {
            let _ = writeln!(
                out,
                "\n{} pending golden{} written beside {}: review, then accept with `agenttest accept` (or delete with `agenttest reject`)",
                pending.len(),
                if pending.len() == 1 { "" } else { "s" },
                if pending.len() == 1 { "its golden" } else { "their goldens" },
            );
            for p in &pending {
                let _ = writeln!(out, "  {}", p.display());
            }
        }
        out.push_str(&self.bless_summary(report, bless));
        for w in &report.warnings {
            let _ = writeln!(out, "{} {}", self.paint(YELLOW, "warning:"), visible(w));
        }
        if report.interrupted {
            let _ = writeln!(
                out,
                "{} interrupted: dialogues that had not finished are marked not run",
                self.paint(YELLOW, "warning:")
            );
        }
        let j = report.judge;
        if j.asked + j.cached > 0 {
            let _ = writeln!(
                out,
                "judge: {} verdict{} asked, {} cached",
                j.asked,
                if j.asked == 1 { "" } else { "s" },
                j.cached
            );
        }
        let totals = report.totals();
        let summary = totals.summary_line();
        let style = if totals.failed + totals.errored > 0 {
            RED
        } else {
            GREEN
        };
        let _ = writeln!(
            out,
            "\n{} {}",
            self.paint(BOLD, &self.paint(style, &summary)),
            self.paint(DIM, &format!("in {}", human_duration(report.duration)))
        );
        let mut console = self::out();
        let _ = console.write_all(out.as_bytes());
        let _ = console.flush();
    }

    /// One troubled dialogue in full: where it is, each attempt that did not pass, each failed
    /// expectation with its source location, the agent's text, and the golden diff.
    fn explain(&self, d: &DialogueResult) -> String {
        let mut out = String::new();
        let style = if d.outcome == Outcome::Flaky {
            YELLOW
        } else {
            RED
        };
        let _ = writeln!(
            out,
            "{} {}  {}",
            self.paint(style, &format!("── {}", d.outcome.label())),
            self.paint(BOLD, &visible(&d.display_name())),
            self.paint(DIM, &location(&d.suite.path, d.span)),
        );
        if d.gated() {
            let _ = writeln!(out, "   {}", explain::repeat_headline(d));
            for t in tally::expectations(d) {
                let _ = writeln!(
                    out,
                    "   turn {} {}: met in {}/{} runs ({}) {}",
                    t.turn + 1,
                    t.key,
                    t.met,
                    t.judged,
                    explain::failed_in(&t.failed_in),
                    self.paint(DIM, &format!("({})", location(&d.suite.path, t.span)))
                );
            }
            if let Some(g) = tally::golden(d) {
                let line = explain::golden_tally(g.met, g.compared, g.unreadable);
                let _ = writeln!(out, "   {line}");
            }
            if let Some(message) = explain::unreadable_golden(d) {
                let _ = writeln!(out, "{}", indent(&visible(&message), "     "));
            }
        }
        let several = d.attempts.len() > 1;
        for a in d.attempts.iter().filter(|a| !a.outcome.is_pass()) {
            if several {
                let _ = writeln!(out, "   {}:", attempt_heading(a));
            }
            if let Some(id) = &a.session_id {
                let _ = writeln!(out, "   {}", self.paint(DIM, &format!("session {id}")));
            }
            out.push_str(&self.explain_attempt(d, a));
        }
        out
    }

    /// The failed turns of one attempt: the message, the reply, each failed expectation with
    /// its place, the error, then the golden.
    fn explain_attempt(&self, d: &DialogueResult, a: &Attempt) -> String {
        let e = explain::attempt(d, a, self.opts.color);
        let mut out = String::new();
        for t in &e.turns {
            let _ = writeln!(
                out,
                "   turn {}: {}",
                t.number,
                self.paint(CYAN, &format!("> {}", visible(&t.turn.message)))
            );
            match (&t.turn.status, &t.turn.text, &t.turn.detail) {
                (Some(s), Some(text), _) => {
                    let _ = writeln!(
                        out,
                        "{}",
                        indent(&format!("< [{s}] {}", visible(text)), "     ")
                    );
                }
                (Some(s), None, Some(detail)) => {
                    let _ = writeln!(out, "     < [{s}] {}", visible(detail));
                }
                (Some(s), None, None) => {
                    let _ = writeln!(out, "     < [{s}]");
                }
                _ => {}
            }
            for (key, f) in &t.failures {
                let _ = writeln!(
                    out,
                    "     {} {} {}",
                    self.paint(RED, "✗"),
                    visible(&f.text),
                    self.paint(DIM, &format!("({key} at {})", f.location))
                );
            }
        }
        // The error last, with its turn, as the one line that says why the attempt stopped.
        if let Some(err) = &a.error {
            let _ = writeln!(
                out,
                "   {} {} {}",
                self.paint(RED, "error:"),
                visible(&explain::error_message(err)),
                self.paint(DIM, &format!("({})", location(&d.suite.path, err.span)))
            );
        }
        if let Some(g) = &e.golden {
            out.push_str(&indent(g, "   "));
            out.push('\n');
        }
        out
    }

    /// What `--bless` did: a line per golden created, changed, left alone or that failed to
    /// write, then the counts. `not_created` is `Some` for a bless run (then the counts are printed
    /// even when there is no action: SPEC §3.3 says a bless prints what it did), and counts
    /// the errored, skipped or not-run dialogues that had no golden to leave alone. A merged
    /// report says `None` and shows the actions its shards recorded, if any.
    fn bless_summary(&self, report: &RunReport, not_created: Option<usize>) -> String {
        let actions: Vec<&BlessAction> = report
            .dialogues
            .iter()
            .filter_map(|d| d.bless.as_ref())
            .collect();
        if actions.is_empty() && not_created.is_none() {
            return String::new();
        }
        let mut out = String::from("\n");
        let (mut created, mut changed, mut unchanged, mut left, mut failed) = (0, 0, 0, 0, 0);
        for a in &actions {
            match a {
                BlessAction::Created(p) => {
                    created += 1;
                    let _ = writeln!(out, "  {} {}", self.paint(GREEN, "created  "), p.display());
                }
                BlessAction::Changed(p) => {
                    changed += 1;
                    let _ = writeln!(out, "  {} {}", self.paint(YELLOW, "changed  "), p.display());
                }
                BlessAction::Unchanged(_) => unchanged += 1,
                BlessAction::LeftAlone(p) => {
                    left += 1;
                    let _ = writeln!(out, "  {} {}", self.paint(DIM, "left alone"), p.display());
                }
                BlessAction::Failed(p, e) => {
                    failed += 1;
                    let _ = writeln!(
                        out,
                        "  {} {}: {e}",
                        self.paint(RED, "FAILED   "),
                        p.display()
                    );
                }
            }
        }
        let none_yet = match not_created {
            Some(n) if n > 0 => {
                format!(", {n} not created (errored, skipped or not run, no golden yet)")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "bless: {created} created, {changed} changed, {unchanged} unchanged, {left} left alone (errored, skipped or not run){none_yet}{}",
            if failed > 0 { format!(", {failed} failed to write") } else { String::new() }
        );
        out
    }
}

/// `run 1 (error)`, `rerun 2 (pass)`: one attempt of several, named as everywhere on the
/// console (the explanation of a troubled dialogue, `-v`).
fn attempt_heading(a: &Attempt) -> String {
    let which = match a.kind {
        AttemptKind::Run { index } => format!("run {}", index.saturating_add(1)),
        AttemptKind::Rerun { index } => format!("rerun {}", index.saturating_add(1)),
    };
    format!("{which} ({})", a.outcome.as_str())
}

/// A readable transcript of one attempt (`-v`): the session id, then `>` user and `<` agent
/// lines, each reply with its round trip and, streamed, its time to first token.
pub fn transcript(a: &Attempt) -> String {
    let mut out = String::new();
    if let Some(id) = &a.session_id {
        let _ = writeln!(out, "session {id}");
    }
    for t in &a.turns {
        let _ = writeln!(out, "> {}", t.message);
        match (t.status, &t.text, &t.detail) {
            (Some(s), Some(text), _) => {
                let _ = writeln!(out, "< [{s}] {text}  {}", timing(t));
            }
            (Some(s), None, detail) => {
                let detail = detail
                    .as_deref()
                    .map(|d| format!("{d}  "))
                    .unwrap_or_default();
                let _ = writeln!(out, "< [{s}] {detail}{}", timing(t));
            }
            (None, _, _) if t.not_sent => {
                let _ = writeln!(out, "< (not sent)");
            }
            (None, _, _) => {
                let _ = writeln!(out, "< (no reply)");
            }
        }
    }
    out.trim_end().to_string()
}

/// `(120ms)`, or `(120ms, first token 40ms)` for a streamed reply.
fn timing(t: &crate::record::TurnResult) -> String {
    match t.first_token {
        Some(first) => format!(
            "({}, first token {})",
            human_duration(t.latency),
            human_duration(first)
        ),
        None => format!("({})", human_duration(t.latency)),
    }
}

/// Text that came from outside (the agent, the suite, the network) with every control
/// character but newline and tab shown as an escape, so an agent cannot move the cursor,
/// recolor, retitle or overwrite the gate's own lines in a terminal or a CI log.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let foreign = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(foreign) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if foreign(c) {
            let _ = write!(out, "\\x{{{:02x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn foreign_control_characters_are_shown_not_obeyed() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            visible("\u{1b}[31mred\u{1b}[0m\r\u{7}"),
            "\\x{1b}[31mred\\x{1b}[0m\\x{0d}\\x{07}"
        );
        assert_eq!(visible("\u{9b}2K"), "\\x{9b}2K");
    }
}
