//! HTML report (SPEC §10): one self-contained page a reviewer opens from a CI artifact. The
//! counts and the run on top, then every dialogue, failures first (fail, error, flaky, then
//! the rest in run order), each as a conversation with its failed expectations at their turns
//! and their `file:line:column`, golden differences side by side with the changed words
//! marked, and judge reasons.
//!
//! Safety decisions a reader may want to check:
//!
//! - Everything is rendered here, server side: with scripts off the page is complete (the
//!   dialogues that did not pass are open `<details>`, the rest can be opened by hand). The
//!   one script only filters by outcome, suite, tag and text.
//! - Every piece of text that came from a suite, the agent or the network goes through
//!   [`text`] or [`attr`]: markup is escaped, and control characters (ANSI escapes, NUL) and
//!   bidirectional overrides are shown as `\x{..}`, never obeyed.
//! - A Content-Security-Policy allows nothing from the network and only this page's own style
//!   and script, by their SHA-256: even an injection that got past the escaping could neither
//!   load anything nor run.
//!
//! Like the other reporters it reads the [`RunReport`] only and takes every sentence from
//! [`explain`]; it never prints.

mod sbs;

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use base64::Engine as _;

use super::common::{stamp, tally};
use super::explain;
use super::spill::Part;
use crate::diag::location;
use crate::record::{
    Attempt, AttemptKind, BlessAction, Detail, DialogueResult, GoldenCheck, Outcome, RunReport,
    TurnResult,
};
use crate::util::human_duration;

const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/filter.js");

/// Renders the whole report as one HTML document.
pub fn render(report: &RunReport) -> String {
    let mut out = Vec::with_capacity(64 * 1024);
    // Writing into memory cannot fail.
    let _ = write_to(report, None, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes [`render`]'s text to `path` atomically (a reader never sees a half-written file),
/// a dialogue at a time: the dialogues `spilled` kept a part of are copied from it, as the
/// results no longer hold their conversations.
pub fn write_spilled(report: &RunReport, spilled: Option<&Part>, path: &Path) -> io::Result<()> {
    crate::fsutil::write_atomic_with(path, crate::fsutil::Durability::Atomic, |out| {
        write_to(report, spilled, out)
    })
}

/// Writes the whole report to `path` from the results alone ([`write_spilled`] without parts).
pub fn write(report: &RunReport, path: &Path) -> io::Result<()> {
    write_spilled(report, None, path)
}

fn write_to(
    report: &RunReport,
    spilled: Option<&Part>,
    out: &mut impl io::Write,
) -> io::Result<()> {
    let mut page = String::with_capacity(64 * 1024);
    head(&mut page, report);
    top(&mut page, report);
    filters(&mut page, report);
    page.push_str("<main>\n");
    if report.dialogues.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"none\">{}</p>",
            text(&empty_report(report))
        );
    }
    out.write_all(page.as_bytes())?;
    for (n, d) in ordered(report) {
        let copied = match spilled {
            Some(part) => part.copy_to(n - 1, d, out)?,
            None => false,
        };
        if !copied {
            write_dialogue(n, d, out)?;
        }
    }
    write!(
        out,
        "<p id=\"no-match\" class=\"none\" hidden>No dialogue matches the filters.</p>\n\
         </main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
}

/// Why a report holds no dialogue: the selection matched none (a gate problem, exit 4), or the
/// run was one `--partition` slice that none of the selection fell in (exit 0: the other
/// slices run them), or nothing was run at all.
fn empty_report(report: &RunReport) -> String {
    if report.nothing_selected {
        return "No dialogue in this report: nothing matched the selection (the suite paths, \
                --filter and --tag selected no dialogue), so the gate fails (exit 4)."
            .to_string();
    }
    match report.partition {
        Some(p) => format!(
            "No dialogue in this report: this slice (partition {}/{}) holds no dialogue of \
             the selection; the other slices run them.",
            p.k, p.n
        ),
        None => "No dialogue in this report: nothing was run.".to_string(),
    }
}

/// The section of dialogue `n` (1-based, in run order), as it reads in the page.
pub(super) fn write_dialogue(
    n: usize,
    d: &DialogueResult,
    out: &mut impl io::Write,
) -> io::Result<()> {
    let mut section = String::with_capacity(4 * 1024);
    dialogue(&mut section, n, d);
    out.write_all(section.as_bytes())
}

/// The policy: nothing from anywhere, except this page's own style and script, by hash.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src '{}'; script-src '{}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        sha256(STYLE),
        sha256(SCRIPT)
    )
}

fn sha256(text: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn head(out: &mut String, report: &RunReport) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>agenttest: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        content_security_policy(),
        text(&report.totals().summary_line())
    );
}

/// The counts and the run's metadata.
fn top(out: &mut String, report: &RunReport) {
    let t = report.totals();
    let _ = writeln!(
        out,
        "<header class=\"top\">\n<h1>agenttest report<span class=\"tool\">agenttest {}</span></h1>\n\
         <p class=\"summary\">{}</p>",
        env!("CARGO_PKG_VERSION"),
        text(&t.summary_line())
    );
    out.push_str("<ul class=\"counts\">");
    let counts = [
        ("dialogues", report.dialogues.len(), "dialogues"),
        ("passed", t.passed, "passed"),
        ("flaky", t.flaky, "flaky"),
        ("failed", t.failed, "failed"),
        ("errored", t.errored, "errored"),
        ("skipped", t.skipped, "skipped"),
        ("not_run", t.not_run, "not run"),
    ];
    for (key, n, label) in counts {
        if n > 0 || !matches!(key, "flaky" | "not_run") {
            let _ = write!(out, "<li data-count=\"{key}\"><b>{n}</b>{label}</li>");
        }
    }
    out.push_str("</ul>\n<dl class=\"meta\">");
    let mut meta = vec![
        ("started", stamp::rfc3339_millis(report.started_at)),
        ("duration", human_duration(report.duration)),
        ("suite files", report.suites().len().to_string()),
    ];
    if let Some(p) = report.partition {
        // A shard's page says which slice of the selection it holds.
        meta.push(("partition", format!("{}/{}", p.k, p.n)));
    }
    let j = report.judge;
    if j.asked + j.cached > 0 {
        meta.push((
            "judge",
            format!(
                "{} verdict{} asked, {} cached",
                j.asked,
                if j.asked == 1 { "" } else { "s" },
                j.cached
            ),
        ));
    }
    for (k, v) in meta {
        let _ = write!(out, "<div><dt>{k}</dt><dd>{}</dd></div>", text(&v));
    }
    out.push_str("</dl>\n");
    if report.interrupted {
        out.push_str(
            "<p class=\"banner\"><b>Interrupted:</b> the run was cut short; dialogues that had \
             not finished are marked not run.</p>\n",
        );
    }
    if !report.warnings.is_empty() {
        out.push_str("<ul class=\"warnings\">");
        for w in &report.warnings {
            let _ = write!(out, "<li><b>warning:</b> {}</li>", text(w));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n");
}

/// The filter bar, hidden until the script shows it (it does nothing without the script).
fn filters(out: &mut String, report: &RunReport) {
    if report.dialogues.is_empty() {
        return;
    }
    out.push_str("<form id=\"filters\" class=\"filters\" hidden>\n<fieldset>");
    for o in [
        Outcome::Fail,
        Outcome::Error,
        Outcome::Flaky,
        Outcome::Pass,
        Outcome::Skip,
        Outcome::NotRun,
    ] {
        let n = report.dialogues.iter().filter(|d| d.outcome == o).count();
        if n > 0 {
            let _ = write!(
                out,
                "<label><input type=\"checkbox\" name=\"outcome\" value=\"{}\" checked> {} ({n})</label>",
                o.as_str(),
                o.label().to_lowercase()
            );
        }
    }
    out.push_str(
        "</fieldset>\n<label>suite <select name=\"suite\"><option value=\"\">all suites</option>",
    );
    let suites = report.suites();
    for s in &suites {
        let path = s.path.display().to_string();
        let label = if suites.iter().filter(|o| o.name == s.name).count() > 1 {
            format!("{} ({path})", s.name)
        } else {
            s.name.clone()
        };
        let _ = write!(
            out,
            "<option value=\"{}\">{}</option>",
            attr(&path),
            text(&label)
        );
    }
    out.push_str(
        "</select></label>\n<label>tag <select name=\"tag\"><option value=\"\">any tag</option>",
    );
    let mut tags: Vec<&String> = report.dialogues.iter().flat_map(|d| &d.tags).collect();
    tags.sort();
    tags.dedup();
    for t in tags {
        let _ = write!(out, "<option value=\"{}\">{}</option>", attr(t), text(t));
    }
    out.push_str(
        "</select></label>\n<input type=\"search\" name=\"q\" placeholder=\"search names, \
         messages, replies, failures\" aria-label=\"search\">\n<button type=\"button\" \
         data-open=\"all\">expand all</button><button type=\"button\" data-open=\"none\">collapse \
         all</button>\n<span class=\"shown\"></span>\n</form>\n",
    );
}

/// The dialogues, failures first (fail, error, flaky, then the rest), each with its 1-based
/// place in the run for a stable anchor.
fn ordered(report: &RunReport) -> Vec<(usize, &DialogueResult)> {
    let rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::Error => 1,
        Outcome::Flaky => 2,
        _ => 3,
    };
    let mut v: Vec<(usize, &DialogueResult)> = report
        .dialogues
        .iter()
        .enumerate()
        .map(|(i, d)| (i + 1, d))
        .collect();
    v.sort_by_key(|(_, d)| rank(d.outcome));
    v
}

fn troubled(d: &DialogueResult) -> bool {
    matches!(d.outcome, Outcome::Fail | Outcome::Error | Outcome::Flaky)
}

fn dialogue(out: &mut String, n: usize, d: &DialogueResult) {
    let outcome = d.outcome.as_str();
    let _ = write!(
        out,
        "<section class=\"dialogue o-{outcome}\" id=\"d{n}\" data-outcome=\"{outcome}\" \
         data-suite=\"{}\">\n<details{}>\n<summary><span class=\"badge b-{outcome}\">{}</span> \
         <span class=\"title\"><span class=\"suite\">{}</span> › <span class=\"name\">{}</span></span> \
         <span class=\"facts\">{}</span>",
        attr(&d.suite.path.display().to_string()),
        if troubled(d) { " open" } else { "" },
        d.outcome.label(),
        text(&d.suite.name),
        text(&d.name),
        text(&facts(d)),
    );
    if !d.tags.is_empty() {
        out.push_str(" <span class=\"tags\">");
        for t in &d.tags {
            let _ = write!(out, "<span class=\"tag\">{}</span>", text(t));
        }
        out.push_str("</span>");
    }
    let _ = writeln!(
        out,
        " <code class=\"loc\">{}</code></summary>\n<div class=\"body\">",
        text(&location(&d.suite.path, d.span))
    );
    dialogue_notes(out, d);
    let several = d.attempts.len() > 1;
    for (i, a) in d.attempts.iter().enumerate() {
        let id = format!("d{n}-a{}", i + 1);
        if several {
            let _ = writeln!(
                out,
                "<details class=\"attempt\" id=\"{id}\"{}><summary>{}</summary>",
                if troubled(d) && !a.outcome.is_pass() {
                    " open"
                } else {
                    ""
                },
                text(&attempt_heading(d, a))
            );
        }
        attempt(out, d, a, &id);
        if several {
            out.push_str("</details>\n");
        }
    }
    out.push_str("</div>\n</details>\n</section>\n");
}

/// `2 turns · 3/5 runs passed (needs 4) · 1 rerun · 1.23s`, as on the console line.
fn facts(d: &DialogueResult) -> String {
    match d.outcome {
        Outcome::Skip => return "skipped".to_string(),
        Outcome::NotRun if d.attempts.is_empty() => return "not run".to_string(),
        _ => {}
    }
    // The turns sent by the run whose verdict the label gives, as the console counts them.
    let mut facts = vec![crate::report::common::turns::sent_words(d)];
    if d.gated() {
        facts.push(explain::repeat_headline(d));
    }
    let reruns = d.reruns();
    if reruns > 0 {
        facts.push(plural(reruns, "rerun", "reruns"));
    }
    let retries = d.retries();
    if retries > 0 {
        facts.push(plural(retries as usize, "retry", "retries"));
    }
    facts.push(human_duration(d.duration));
    facts.join(" · ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What is said of the dialogue as a whole: skip reason, not run, the repeat tally, the
/// flaky story, what `--bless` did.
fn dialogue_notes(out: &mut String, d: &DialogueResult) {
    if let Some(reason) = &d.skip_reason {
        let _ = writeln!(out, "<p class=\"muted\">skipped: {}</p>", text(reason));
    }
    if d.outcome == Outcome::NotRun {
        out.push_str(
            "<p class=\"muted\">not run: the run was cut short (Ctrl-C or --fail-fast) before \
             this dialogue finished</p>\n",
        );
    }
    if d.gated() {
        repeat_tally(out, d);
    }
    if d.outcome == Outcome::Flaky {
        let story: Vec<String> = d
            .attempts
            .iter()
            .map(|a| format!("{} {}", attempt_name(a), a.outcome.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"flaky\"><span class=\"badge b-flaky\">FLAKY</span> passed on a rerun: {}</p>",
            text(&story.join(", "))
        );
    }
    if let Some(action) = &d.bless {
        let said = match action {
            BlessAction::Created(p) => format!("bless: created {}", p.display()),
            BlessAction::Changed(p) => format!("bless: changed {}", p.display()),
            BlessAction::Unchanged(p) => format!("bless: unchanged {}", p.display()),
            BlessAction::LeftAlone(p) => format!("bless: left alone {}", p.display()),
            BlessAction::Failed(p, e) => format!("bless: FAILED to write {}: {e}", p.display()),
        };
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", text(&said));
    }
}

/// `k/N runs passed (needs M)` (or both rates and the p-value against the baseline), then how
/// many runs met each expectation that failed in one of them, and the golden.
fn repeat_tally(out: &mut String, d: &DialogueResult) {
    let _ = write!(
        out,
        "<div class=\"tally\"><b>{}</b>",
        text(&explain::repeat_headline(d))
    );
    let rows = tally::expectations(d);
    if !rows.is_empty() {
        out.push_str(
            "<table><thead><tr><th>turn</th><th>expectation</th><th>met</th><th>failed in \
             run</th><th>where</th></tr></thead><tbody>",
        );
        for t in rows {
            let runs: Vec<String> = t.failed_in.iter().map(u32::to_string).collect();
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td><code class=\"loc\">{}</code></td></tr>",
                t.turn + 1,
                text(t.key),
                t.met,
                t.judged,
                runs.join(", "),
                text(&location(&d.suite.path, t.span))
            );
        }
        out.push_str("</tbody></table>");
    }
    if let Some(g) = tally::golden(d) {
        let line = explain::golden_tally(g.met, g.compared, g.unreadable);
        let _ = write!(out, "<div>{}</div>", text(&line));
    }
    if let Some(message) = explain::unreadable_golden(d) {
        let _ = write!(
            out,
            "<pre class=\"golden g-invalid\">{}</pre>",
            text(&message)
        );
    }
    out.push_str("</div>\n");
}

fn attempt_name(a: &Attempt) -> String {
    match a.kind {
        AttemptKind::Run { index } => format!("run {}", index + 1),
        AttemptKind::Rerun { index } => format!("rerun {}", index + 1),
    }
}

/// `run 2 of 5 · fail · session abc · 250ms`.
fn attempt_heading(d: &DialogueResult, a: &Attempt) -> String {
    let mut parts = vec![match a.kind {
        AttemptKind::Run { index } if d.repeat > 1 => format!("run {} of {}", index + 1, d.repeat),
        _ => attempt_name(a),
    }];
    parts.push(a.outcome.as_str().to_string());
    if let Some(id) = &a.session_id {
        parts.push(format!("session {id}"));
    }
    parts.push(human_duration(a.duration));
    parts.join(" · ")
}

/// One attempt as a conversation: each turn with its failures and error, then what stopped the
/// attempt before a turn, then the golden.
fn attempt(out: &mut String, d: &DialogueResult, a: &Attempt, id: &str) {
    let e = explain::attempt(d, a, false);
    if d.attempts.len() == 1 {
        if let Some(s) = &a.session_id {
            let _ = writeln!(
                out,
                "<p class=\"muted\">session <code>{}</code></p>",
                text(s)
            );
        }
    }
    out.push_str("<div class=\"conversation\">\n");
    for (i, t) in a.turns.iter().enumerate() {
        let explained = e.turns.iter().find(|x| x.number == i + 1);
        turn(out, d, i, t, explained, &format!("{id}-t{}", i + 1));
    }
    out.push_str("</div>\n");
    if let Some(err) = &e.trailing_error {
        error_line(out, err);
    }
    if let Some(g) = &a.golden {
        golden(out, g, e.golden.as_deref());
    }
}

fn turn(
    out: &mut String,
    d: &DialogueResult,
    i: usize,
    t: &TurnResult,
    explained: Option<&explain::TurnExplanation<'_>>,
    id: &str,
) {
    let _ = write!(
        out,
        "<div class=\"turn{}\" id=\"{id}\"><div class=\"turn-meta\">turn {} · <code class=\"loc\">{}</code>{}</div>",
        if t.not_sent { " not-sent" } else { "" },
        i + 1,
        text(&location(&d.suite.path, t.span)),
        text(&turn_facts(t))
    );
    let _ = write!(
        out,
        "<div class=\"bubble user\"><span class=\"who\">user</span>{}</div>",
        text(&t.message)
    );
    if !t.not_sent {
        reply(out, t);
    }
    if let Some(x) = explained {
        if !x.failures.is_empty() {
            out.push_str("<ul class=\"failures\">");
            for ((key, f), failure) in x.failures.iter().zip(&t.failures) {
                // A judge's reason is quoted below on its own; the line names the rubric.
                let line = match &failure.detail {
                    Detail::Judged { rubric, .. } => {
                        format!("the judge found the rubric {rubric:?} not met")
                    }
                    _ => f.text.clone(),
                };
                let _ = write!(
                    out,
                    "<li><span class=\"key\">{}</span>{}<code class=\"loc\">{}</code>",
                    text(key),
                    text(&line),
                    text(&f.location)
                );
                if let Detail::Judged { reason, .. } = &failure.detail {
                    let _ = write!(
                        out,
                        "<blockquote class=\"reason\"><b>judge:</b> {}</blockquote>",
                        text(reason)
                    );
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        if let Some(err) = &x.error {
            error_line(out, err);
        }
    }
    out.push_str("</div>\n");
}

/// ` · status 200 · 120ms · tokens 45 in, 32 out, 77 total · 2 retries`.
fn turn_facts(t: &TurnResult) -> String {
    if t.not_sent {
        return " · not sent (an earlier turn ended the dialogue)".to_string();
    }
    let mut s = String::new();
    if let Some(status) = t.status {
        let _ = write!(s, " · status {status}");
    }
    let _ = write!(s, " · {}", human_duration(t.latency));
    if let Some(ft) = t.first_token {
        let _ = write!(s, " · first token {}", human_duration(ft));
    }
    let u = &t.usage;
    let tokens: Vec<String> = [
        (u.input_tokens, "in"),
        (u.output_tokens, "out"),
        (u.total_tokens, "total"),
    ]
    .iter()
    .filter_map(|(n, what)| n.map(|n| format!("{n} {what}")))
    .collect();
    if !tokens.is_empty() {
        let _ = write!(s, " · tokens {}", tokens.join(", "));
    }
    if t.retries > 0 {
        let _ = write!(s, " · {}", plural(t.retries as usize, "retry", "retries"));
    }
    s
}

fn reply(out: &mut String, t: &TurnResult) {
    match (&t.text, &t.detail, t.status) {
        (Some(reply), _, _) => {
            let _ = write!(
                out,
                "<div class=\"bubble agent\"><span class=\"who\">agent</span>{}</div>",
                text(reply)
            );
        }
        (None, Some(detail), status) => {
            let _ = write!(
                out,
                "<div class=\"bubble agent refused\"><span class=\"who\">agent · {}</span>{}</div>",
                status.map(|s| format!("status {s}")).unwrap_or_default(),
                text(detail)
            );
        }
        (None, None, Some(status)) => {
            let _ = write!(
                out,
                "<div class=\"bubble agent no-reply\"><span class=\"who\">agent</span>status {status}, no text</div>"
            );
        }
        (None, None, None) => out.push_str(
            "<div class=\"bubble agent no-reply\"><span class=\"who\">agent</span>no reply</div>",
        ),
    }
}

fn error_line(out: &mut String, e: &explain::Located) {
    let _ = write!(
        out,
        "<div class=\"error\"><b>error:</b> {}<code class=\"loc\">{}</code></div>",
        text(&e.text),
        text(&e.location)
    );
}

/// A matching golden as one line; a failing one as its explanation around a side-by-side
/// table of the differences. Either way, then, what it noticed without failing.
fn golden(out: &mut String, g: &GoldenCheck, message: Option<&str>) {
    let Some(message) = message.filter(|_| g.status.is_failure()) else {
        let _ = writeln!(
            out,
            "<p class=\"golden ok\">✓ matches the golden <code>{}</code></p>",
            text(&g.path.display().to_string())
        );
        golden_notes(out, g);
        return;
    };
    let _ = writeln!(
        out,
        "<div class=\"golden g-{0}\"><h4>golden: {0}</h4>",
        g.status.as_str()
    );
    let parts = sbs::split(message);
    if !parts.before.is_empty() {
        let _ = writeln!(out, "<pre>{}</pre>", text(parts.before));
    }
    if let Some((header, body)) = parts.diff {
        side_by_side(out, header, &sbs::table(body));
    }
    if !parts.after.is_empty() {
        let _ = writeln!(out, "<pre class=\"muted\">{}</pre>", text(parts.after));
    }
    golden_notes(out, g);
    out.push_str("</div>\n");
}

/// The golden's notes (facts a reply adds in `mode: facts`), listed for the reviewer (SPEC
/// §9.1), as the console and JUnit word them.
fn golden_notes(out: &mut String, g: &GoldenCheck) {
    let notes = explain::golden_notes(g);
    if notes.is_empty() {
        return;
    }
    out.push_str("<ul class=\"golden-notes muted\">");
    for n in &notes {
        let _ = write!(out, "<li>note: {}</li>", text(n));
    }
    out.push_str("</ul>\n");
}

fn side_by_side(out: &mut String, header: &str, t: &sbs::Table) {
    if let Some(note) = &t.note {
        let _ = writeln!(out, "<p class=\"muted\">note: {}</p>", text(note));
    }
    let _ = writeln!(
        out,
        "<table class=\"sbs\"><colgroup><col class=\"ln\"><col><col class=\"ln\"><col></colgroup>\
         <thead><tr><th colspan=\"2\">{}</th><th colspan=\"2\">this run</th></tr></thead><tbody>",
        text(&format!("golden {header}"))
    );
    for h in &t.hunks {
        if !h.header.is_empty() {
            let _ = writeln!(
                out,
                "<tr class=\"hunk\"><td colspan=\"4\">{}</td></tr>",
                text(&h.header)
            );
        }
        for row in &h.rows {
            match row {
                sbs::Row::Same { old, new, text: t } => {
                    let t = text(t);
                    let _ = writeln!(
                        out,
                        "<tr><td class=\"ln\">{old}</td><td>{t}</td><td class=\"ln\">{new}</td><td>{t}</td></tr>"
                    );
                }
                sbs::Row::Changed { old, new } => {
                    out.push_str("<tr class=\"changed\">");
                    cell(out, old.as_ref(), "del");
                    cell(out, new.as_ref(), "ins");
                    out.push_str("</tr>\n");
                }
                sbs::Row::Note(n) => {
                    let _ = writeln!(
                        out,
                        "<tr class=\"note\"><td colspan=\"4\" class=\"muted\">{}</td></tr>",
                        text(n)
                    );
                }
            }
        }
    }
    out.push_str("</tbody></table>\n");
}

/// One side of a changed row; `tag` (`del` or `ins`) marks the changed words.
fn cell(out: &mut String, cell: Option<&sbs::Cell>, tag: &str) {
    let Some(c) = cell else {
        out.push_str("<td class=\"ln\"></td><td class=\"empty\"></td>");
        return;
    };
    let _ = write!(out, "<td class=\"ln\">{}</td><td class=\"{tag}\">", c.line);
    for (marked, piece) in &c.pieces {
        if *marked {
            let _ = write!(out, "<{tag}>{}</{tag}>", text(piece));
        } else {
            out.push_str(&text(piece));
        }
    }
    out.push_str("</td>");
}

/// Text from outside as element content: markup escaped; control characters (ANSI escapes,
/// NUL, a carriage return) and bidirectional overrides shown as a marked `\x{..}`, never
/// obeyed. Newlines and tabs stay (the bubbles keep white space).
pub fn text(s: &str) -> String {
    escape(s, true)
}

/// Text from outside as a double-quoted attribute value.
pub fn attr(s: &str) -> String {
    escape(s, false)
}

fn escape(s: &str, element: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if hidden(c) => {
                if element {
                    let _ = write!(out, "<span class=\"ctl\">\\x{{{:02x}}}</span>", c as u32);
                } else {
                    let _ = write!(out, "\\x{{{:02x}}}", c as u32);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that act instead of showing: C0 and C1 controls, DEL, and the bidirectional
/// embeddings, overrides and isolates that can make text read differently from what it is.
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_shows_controls() {
        assert_eq!(
            text("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            text("a\x1b[31mb\0\u{202e}"),
            "a<span class=\"ctl\">\\x{1b}</span>[31mb<span class=\"ctl\">\\x{00}</span>\
             <span class=\"ctl\">\\x{202e}</span>"
        );
        assert_eq!(text("line\n\ttab"), "line\n\ttab");
        assert_eq!(attr("\" onerror=\"x"), "&quot; onerror=&quot;x");
        assert_eq!(attr("a\x07"), "a\\x{07}");
    }

    #[test]
    fn the_policy_names_the_page_s_own_style_and_script_only() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
        // The known answer for the empty string.
        assert_eq!(
            sha256(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
