//! JSON report (SPEC §5): the whole run, machine-readable, for scripts and dashboards.
//!
//! The schema is documented in `docs/json-report.md` and versioned by `schema_version`; the
//! private view structs below *are* that schema, kept apart from the run's own types so a
//! refactor of [`RunReport`] cannot silently change the file. Adding a field is compatible;
//! renaming or removing one needs a new `schema_version`.
//!
//! Text is carried as it came (after the run's redaction): JSON can hold any string, so unlike
//! the JUnit report nothing is stripped. Numbering meant for people (`turn`, attempt `index`)
//! is 1-based like the console and JUnit. This module never prints; it writes the report to
//! the writer it is given as it goes, or builds it as a string.
//!
//! The views borrow from the run's results and are made one dialogue at a time while the
//! report is written ([`Each`]), so writing a big run's report holds one dialogue's view, never
//! a copy of the run.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::common::{stamp, tally};
use super::explain;
use super::spill::Part;
use crate::diag::Span;
use crate::record::{AttemptKind, BlessAction, DialogueResult, RunReport, TurnResult};

/// Bumped only on an incompatible change to the documented schema.
pub const SCHEMA_VERSION: u32 = 1;

/// Renders the whole report as pretty-printed JSON, ending in a newline.
pub fn render(report: &RunReport) -> String {
    let mut out = Vec::new();
    match write_to(report, None, &mut out) {
        // serde_json writes UTF-8 only.
        Ok(()) => String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        // Unreachable with these types (string keys, no fallible Serialize impls, a `Vec` to
        // write to); a report that says why is still better than a panic after a long run.
        Err(e) => format!(
            "{{\"schema_version\": {SCHEMA_VERSION}, \"error\": {}}}\n",
            serde_json::Value::String(format!("failed to serialize the report: {e}"))
        ),
    }
}

/// Writes the report to `path` atomically as it is made (see
/// [`write_atomic_with`](crate::fsutil::write_atomic_with)): a reader never sees a
/// half-written file, and the text is never whole in memory.
pub fn write(report: &RunReport, path: &Path) -> io::Result<()> {
    write_spilled(report, None, path)
}

/// [`write`], with the parts of the dialogues that were spilled as they finished copied from
/// `spilled` (see [`spill`](super::spill)).
pub fn write_spilled(report: &RunReport, spilled: Option<&Part>, path: &Path) -> io::Result<()> {
    crate::fsutil::write_atomic_with(path, crate::fsutil::Durability::Atomic, |out| {
        write_to(report, spilled, out)
    })
}

/// Writes [`render`]'s text to `out`, one dialogue at a time: the run's head as serde_json
/// lays out the whole report, then each dialogue at the place and depth it has there.
fn write_to(report: &RunReport, spilled: Option<&Part>, out: &mut impl Write) -> io::Result<()> {
    let mut head = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut head, Pretty::default());
    view(report).serialize(&mut serializer)?;
    // `{ ... "run": {...}\n}`: the dialogues come where the brace closes.
    let Some(open) = head.strip_suffix(b"\n}") else {
        return Err(io::Error::other("the report's head did not end its object"));
    };
    out.write_all(open)?;
    out.write_all(b",\n  \"dialogues\": [")?;
    for (i, d) in report.dialogues.iter().enumerate() {
        out.write_all(if i == 0 { b"\n    " } else { b",\n    " })?;
        let copied = match spilled {
            Some(part) => part.copy_to(i, d, out)?,
            None => false,
        };
        if !copied {
            write_dialogue(d, out)?;
        }
    }
    if !report.dialogues.is_empty() {
        out.write_all(b"\n  ")?;
    }
    out.write_all(b"]\n}\n")
}

/// One dialogue's object as it reads inside the report's `dialogues` array (two levels deep),
/// from its opening brace to its closing one.
pub(super) fn write_dialogue(d: &DialogueResult, out: &mut impl Write) -> io::Result<()> {
    let mut serializer = serde_json::Serializer::with_formatter(out, Pretty::at_depth(2));
    DialogueRef(d).serialize(&mut serializer)?;
    Ok(())
}

/// serde_json's `PrettyFormatter` with its two-space indent, byte for byte, writing each
/// line's indentation at once instead of two spaces at a time: a turn's fields sit eight
/// levels deep, and the indentation was most of the cost of writing the report.
#[derive(Default)]
struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    /// Inside `depth` arrays and objects, as a value nested there is written.
    fn at_depth(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }

    fn newline_and_indent<W: ?Sized + Write>(&self, out: &mut W, comma: bool) -> io::Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        out.write_all(if comma { b",\n" } else { b"\n" })?;
        let mut left = self.depth * 2;
        while left > 0 {
            let n = left.min(SPACES.len());
            out.write_all(&SPACES[..n])?;
            left -= n;
        }
        Ok(())
    }

    fn begin<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        out.write_all(bracket)
    }

    fn end<W: ?Sized + Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.newline_and_indent(out, false)?;
        }
        out.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.begin(out, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.end(out, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.newline_and_indent(out, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.begin(out, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.end(out, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, out: &mut W, first: bool) -> io::Result<()> {
        self.newline_and_indent(out, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// A sequence whose items are made while it is written: `make(context, index, item)` gives
/// one item's view, which is dropped once written.
struct Each<'a, T, C, V> {
    items: &'a [T],
    context: C,
    make: fn(C, usize, &'a T) -> V,
}

impl<T, C: Copy, V: Serialize> Serialize for Each<'_, T, C, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let views = self.items.iter().enumerate();
        serializer.collect_seq(views.map(|(i, item)| (self.make)(self.context, i, item)))
    }
}

/// The suite file a dialogue's locations point into: its path, and that path as shown, made
/// once per dialogue rather than once per location.
#[derive(Clone, Copy)]
struct File<'a> {
    path: &'a Path,
    shown: &'a str,
}

impl<'a> File<'a> {
    fn at(self, span: Span) -> Location<'a> {
        Location(self.shown, span)
    }
}

/// `file:line:column` (just `file` when the place is unknown), as
/// [`diag::location`](crate::diag::location) words it, written into the string without being
/// made first.
struct Location<'a>(&'a str, Span);

impl Serialize for Location<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Location(file, span) = self;
        if span.is_known() {
            serializer.collect_str(&format_args!("{file}:{}:{}", span.line, span.column))
        } else {
            serializer.serialize_str(file)
        }
    }
}

/// The whole dialogue's view, made while it is written: the suite file is shown once for all
/// of its locations.
struct DialogueRef<'a>(&'a DialogueResult);

impl Serialize for DialogueRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let shown = d.suite.path.display().to_string();
        let file = File {
            path: &d.suite.path,
            shown: &shown,
        };
        dialogue(d, file).serialize(serializer)
    }
}

/// Everything before the dialogues, which are written after it one at a time.
#[derive(Serialize)]
struct Head<'a> {
    schema_version: u32,
    tool: Tool,
    run: Run<'a>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Run<'a> {
    started_at: String,
    duration_ms: u64,
    interrupted: bool,
    totals: Totals,
    warnings: &'a [String],
    /// The LLM judge's verdicts, asked and cached (SPEC §9.2); absent when no judge ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    judge: Option<JudgeTotals>,
    /// The paths and filters selected no dialogue (exit 4); absent otherwise, so that an empty
    /// `--partition` slice (which passes) reads back as one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    nothing_selected: bool,
    /// The `--partition K/N` slice the run was cut to, so that `merge` can tell when one is
    /// missing; absent for a whole run.
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<Partition>,
}

#[derive(Serialize)]
struct Partition {
    k: u32,
    n: u32,
    /// The digest of the dialogues the run selected before it was sliced, in hex: `merge`
    /// refuses shards whose selections differ.
    #[serde(skip_serializing_if = "Option::is_none")]
    selection: Option<String>,
}

#[derive(Serialize)]
struct JudgeTotals {
    asked: u64,
    cached: u64,
}

#[derive(Serialize)]
struct Totals {
    dialogues: usize,
    passed: usize,
    flaky: usize,
    failed: usize,
    errored: usize,
    skipped: usize,
    not_run: usize,
}

#[derive(Serialize)]
struct Dialogue<'a> {
    suite: &'a str,
    suite_file: &'a str,
    name: &'a str,
    location: Location<'a>,
    /// Only for a row of a matrix: `merge` orders the rows by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    matrix_row: Option<u32>,
    tags: &'a [String],
    endpoint_kind: &'static str,
    outcome: &'static str,
    skip_reason: Option<&'a str>,
    session_id: Option<&'a str>,
    duration_ms: u64,
    repeat: u32,
    /// `null` for `min_pass: baseline`, which is no count (the `baseline` object says how the
    /// gate was decided): a reader taking 0 for the count would call every such run a pass.
    min_pass: Option<u32>,
    passed_runs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<Baseline<'a>>,
    /// What `--bless` did with the dialogue's golden; absent without `--bless`.
    #[serde(skip_serializing_if = "Option::is_none")]
    bless: Option<Bless>,
    expectation_tally: Vec<ExpectationTally<'a>>,
    golden_tally: Option<GoldenTally>,
    attempts: Each<'a, crate::record::Attempt, File<'a>, Attempt<'a>>,
}

#[derive(Serialize)]
struct ExpectationTally<'a> {
    turn: usize,
    key: &'static str,
    location: Location<'a>,
    met: u32,
    judged: u32,
    failed_in: Vec<u32>,
}

/// SPEC §9.3: both rates and the p-value.
#[derive(Serialize)]
struct Bless {
    /// `created`, `changed`, `unchanged`, `left_alone` or `failed`.
    action: &'static str,
    golden: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Bless {
    fn of(b: &BlessAction) -> Bless {
        let (action, path, error) = match b {
            BlessAction::Created(p) => ("created", p, None),
            BlessAction::Changed(p) => ("changed", p, None),
            BlessAction::Unchanged(p) => ("unchanged", p, None),
            BlessAction::LeftAlone(p) => ("left_alone", p, None),
            BlessAction::Failed(p, e) => ("failed", p, Some(e.clone())),
        };
        Bless {
            action,
            golden: path.display().to_string(),
            error,
        }
    }
}

#[derive(Serialize)]
struct Baseline<'a> {
    recorded_runs: Option<u32>,
    recorded_passed: Option<u32>,
    /// Why the golden's baseline could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_problem: Option<&'a str>,
    runs: u32,
    passed: u32,
    errored: u32,
    p_value: Option<f64>,
    alpha: f64,
}

#[derive(Serialize)]
struct GoldenTally {
    met: u32,
    compared: u32,
}

#[derive(Serialize)]
struct Attempt<'a> {
    kind: &'static str,
    index: u32,
    session_id: Option<&'a str>,
    outcome: &'static str,
    duration_ms: u64,
    error: Option<Error<'a>>,
    golden: Option<Golden<'a>>,
    turns: Each<'a, TurnResult, File<'a>, Turn<'a>>,
}

#[derive(Serialize)]
struct Error<'a> {
    turn: usize,
    location: Location<'a>,
    message: String,
}

#[derive(Serialize)]
struct Golden<'a> {
    path: String,
    status: &'static str,
    scores: &'a [f64],
    pending: Option<String>,
    message: String,
    /// What differs without failing (the facts a reply adds in `mode: facts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

#[derive(Serialize)]
struct Turn<'a> {
    index: usize,
    location: Location<'a>,
    message: &'a str,
    status: Option<u16>,
    text: Option<&'a str>,
    detail: Option<&'a str>,
    shape: Option<&'static str>,
    usage: Usage,
    latency_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_token_ms: Option<u64>,
    retries: u32,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    not_sent: bool,
    failures: Each<'a, crate::record::Failure, File<'a>, Failure<'a>>,
}

#[derive(Serialize)]
struct Usage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
}

#[derive(Serialize)]
struct Failure<'a> {
    key: &'static str,
    location: Location<'a>,
    message: String,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn view(report: &RunReport) -> Head<'_> {
    let t = report.totals();
    Head {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        },
        run: Run {
            started_at: stamp::rfc3339_millis(report.started_at),
            duration_ms: millis(report.duration),
            interrupted: report.interrupted,
            totals: Totals {
                dialogues: report.dialogues.len(),
                passed: t.passed,
                flaky: t.flaky,
                failed: t.failed,
                errored: t.errored,
                skipped: t.skipped,
                not_run: t.not_run,
            },
            warnings: &report.warnings,
            judge: (report.judge.asked + report.judge.cached > 0).then_some(JudgeTotals {
                asked: report.judge.asked,
                cached: report.judge.cached,
            }),
            nothing_selected: report.nothing_selected,
            partition: report.partition.map(|p| Partition {
                k: p.k,
                n: p.n,
                selection: p.selection.map(|d| format!("{d:016x}")),
            }),
        },
    }
}

fn dialogue<'a>(d: &'a DialogueResult, file: File<'a>) -> Dialogue<'a> {
    Dialogue {
        suite: &d.suite.name,
        suite_file: file.shown,
        name: &d.name,
        location: file.at(d.span),
        matrix_row: d.row,
        tags: &d.tags,
        endpoint_kind: d.endpoint_kind,
        outcome: d.outcome.as_str(),
        skip_reason: d.skip_reason.as_deref(),
        session_id: d.attempts.first().and_then(|a| a.session_id.as_deref()),
        duration_ms: millis(d.duration),
        repeat: d.repeat,
        // The model's 0 is `min_pass: baseline` (a count is at least 1).
        min_pass: (d.min_pass > 0).then_some(d.min_pass),
        baseline: d.baseline.as_ref().map(|g| Baseline {
            recorded_runs: g.recorded.map(|r| r.0),
            recorded_passed: g.recorded.map(|r| r.1),
            recorded_problem: g.problem.as_deref(),
            runs: g.runs,
            passed: g.passed,
            errored: g.errored,
            p_value: g.p_value,
            alpha: g.alpha,
        }),
        bless: d.bless.as_ref().map(Bless::of),
        passed_runs: d.passed_runs(),
        expectation_tally: tally::expectations(d)
            .into_iter()
            .map(|t| ExpectationTally {
                turn: t.turn + 1,
                key: t.key,
                location: file.at(t.span),
                met: t.met,
                judged: t.judged,
                failed_in: t.failed_in,
            })
            .collect(),
        golden_tally: tally::golden(d).map(|g| GoldenTally {
            met: g.met,
            compared: g.compared,
        }),
        attempts: Each {
            items: &d.attempts,
            context: file,
            make: |file, _, a| attempt(file, a),
        },
    }
}

fn attempt<'a>(file: File<'a>, a: &'a crate::record::Attempt) -> Attempt<'a> {
    let (kind, index) = match a.kind {
        AttemptKind::Run { index } => ("run", index),
        AttemptKind::Rerun { index } => ("rerun", index),
    };
    Attempt {
        kind,
        index: index.saturating_add(1),
        session_id: a.session_id.as_deref(),
        outcome: a.outcome.as_str(),
        duration_ms: millis(a.duration),
        error: a.error.as_ref().map(|e| Error {
            turn: e.turn + 1,
            location: file.at(e.span),
            message: explain::error_message(e),
        }),
        golden: a.golden.as_ref().map(|g| Golden {
            path: g.path.display().to_string(),
            status: g.status.as_str(),
            scores: &g.scores,
            pending: g.pending.as_ref().map(|p| p.display().to_string()),
            message: explain::golden_message(g, file.path, false),
            notes: explain::golden_notes(g),
        }),
        turns: Each {
            items: &a.turns,
            context: file,
            make: turn,
        },
    }
}

fn turn<'a>(file: File<'a>, i: usize, t: &'a TurnResult) -> Turn<'a> {
    Turn {
        index: i + 1,
        location: file.at(t.span),
        message: &t.message,
        status: t.status,
        text: t.text.as_deref(),
        detail: t.detail.as_deref(),
        shape: t.shape,
        usage: Usage {
            input_tokens: t.usage.input_tokens,
            output_tokens: t.usage.output_tokens,
            total_tokens: t.usage.total_tokens,
        },
        latency_ms: millis(t.latency),
        first_token_ms: t.first_token.map(millis),
        retries: t.retries,
        not_sent: t.not_sent,
        failures: Each {
            items: &t.failures,
            context: file,
            make: |file, _, f| Failure {
                key: f.key,
                location: file.at(f.span),
                message: explain::failure_message(f),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_writes_what_serde_json_pretty_writes() {
        let deep = (0..40).fold(
            json!("leaf"),
            |v, i| json!({ format!("k{i}"): [v, [], {}] }),
        );
        let value = json!({
            "empty_array": [],
            "empty_object": {},
            "nested": [[1, [2, []]], {"a": {"b": [null, true, 1.5, "x\n\"y\""]}}],
            "deep": deep,
        });
        let mut ours = Vec::new();
        let mut serializer = serde_json::Serializer::with_formatter(&mut ours, Pretty::default());
        value.serialize(&mut serializer).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }

    #[test]
    fn locations_read_as_diag_locations() {
        for path in [
            "suites/a.yaml",
            "dir with \"quotes\"\\and\tcontrol/x.yaml",
            "",
        ] {
            let path = Path::new(path);
            let shown = path.display().to_string();
            for span in [Span::new(3, 7), Span::UNKNOWN] {
                assert_eq!(
                    serde_json::to_string(&Location(&shown, span)).unwrap(),
                    serde_json::to_string(&crate::diag::location(path, span)).unwrap()
                );
            }
        }
    }
}
