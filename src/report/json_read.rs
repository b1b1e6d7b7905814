//! Reading a JSON report (docs/json-report.md) back into a [`RunReport`], so that `agenttest
//! merge` can combine CI shards and hand the result to the same reporters a run uses.
//!
//! The private serde structs below mirror the documented schema, field for field, and ignore
//! fields they do not know (the schema allows new ones). What the file derives from the
//! attempts (`totals`, `passed_runs`, the tallies, the dialogue's `session_id`) is not read:
//! the reporters derive it again from the same attempts. The file keeps sentences, not the
//! data behind them, so failures, errors and golden checks come back as already-worded text
//! (`Detail::Worded`, `ErrorKind::Worded`, `GoldenCheck::worded`), which `report::explain`
//! reports as written: a report rendered from what was read says what the shard said. A
//! golden's notes are the one exception: there is no worded form of a note in the record, so
//! each is read back into the facts it words (`explain::facts_note`).
//!
//! Nothing here touches the file system or prints; the caller reads the bytes.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::diag::Span;
use crate::record::{
    Attempt, AttemptKind, BaselineGate, BlessAction, DialogueResult, ErrorKind, Failure,
    GoldenCheck, GoldenStatus, JudgeTotals, Outcome, RunError, RunReport, Slice, SuiteInfo,
    TurnResult, Usage,
};

/// Why a file could not be read as a JSON report.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not JSON, or not shaped like the schema (serde's message has the line and column).
    #[error("not an agenttest JSON report: {0}")]
    Json(#[from] serde_json::Error),
    /// A `schema_version` this agenttest does not read.
    #[error("schema_version {found} is not supported (this agenttest reads version {supported})")]
    Unsupported { found: u64, supported: u32 },
    /// Shaped like the schema, but a value is not one it allows.
    #[error("not an agenttest JSON report: {0}")]
    Invalid(String),
}

/// The `schema_version` of a report, read before anything else so that reports of different
/// versions can be told apart (and refused) whatever else changed between them.
pub fn schema_version(text: &str) -> Result<u64, ReadError> {
    #[derive(Deserialize)]
    struct Header {
        schema_version: u64,
    }
    // serde would read an array as a tuple of the header's fields, and name its own struct
    // in the message ("expected struct Header"): a report is an object, said plainly.
    if text.trim_start().starts_with('[') {
        return Err(ReadError::Invalid(
            "the file holds a JSON array, where a report is an object with `schema_version`".into(),
        ));
    }
    Ok(serde_json::from_str::<Header>(text)?.schema_version)
}

/// The run a report describes, as the reporters take it.
pub fn parse(text: &str) -> Result<RunReport, ReadError> {
    let version = schema_version(text)?;
    if version != u64::from(super::json::SCHEMA_VERSION) {
        return Err(ReadError::Unsupported {
            found: version,
            supported: super::json::SCHEMA_VERSION,
        });
    }
    let file: Report = serde_json::from_str(text)?;
    let mut suites: HashMap<(String, String), Arc<SuiteInfo>> = HashMap::new();
    let dialogues = file
        .dialogues
        .into_iter()
        .map(|d| {
            let suite = suites
                .entry((d.suite.clone(), d.suite_file.clone()))
                .or_insert_with(|| {
                    Arc::new(SuiteInfo {
                        name: d.suite.clone(),
                        path: PathBuf::from(&d.suite_file),
                    })
                })
                .clone();
            dialogue(d, suite)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RunReport {
        started_at: timestamp(&file.run.started_at)?,
        duration: Duration::from_millis(file.run.duration_ms),
        interrupted: file.run.interrupted,
        dialogues,
        warnings: file.run.warnings,
        judge: file
            .run
            .judge
            .map(|j| JudgeTotals {
                asked: j.asked,
                cached: j.cached,
            })
            .unwrap_or_default(),
        nothing_selected: file.run.nothing_selected,
        partition: file.run.partition.map(partition).transpose()?,
    })
}

/// A slice `merge` can count on: `1 <= k <= n`, as `--partition` accepts it.
fn partition(p: PartitionView) -> Result<Slice, ReadError> {
    if p.k == 0 || p.k > p.n {
        return Err(invalid(format!(
            "partition {{\"k\": {}, \"n\": {}}} is not a slice K/N with 1 <= K <= N",
            p.k, p.n
        )));
    }
    let selection = match p.selection {
        None => None,
        Some(hex) => Some(u64::from_str_radix(&hex, 16).map_err(|_| {
            invalid(format!(
                "partition selection `{hex}` is not the digest a run records"
            ))
        })?),
    };
    Ok(Slice {
        k: p.k,
        n: p.n,
        selection,
    })
}

#[derive(Deserialize)]
struct Report {
    run: Run,
    dialogues: Vec<Dialogue>,
}

#[derive(Deserialize)]
struct Run {
    started_at: String,
    duration_ms: u64,
    interrupted: bool,
    warnings: Vec<String>,
    /// Absent when no LLM judge ran.
    #[serde(default)]
    judge: Option<JudgeView>,
    /// Absent unless the run selected nothing (and in reports written before it was recorded).
    #[serde(default)]
    nothing_selected: bool,
    /// Absent for a whole run (and in reports written before it was recorded).
    #[serde(default)]
    partition: Option<PartitionView>,
}

#[derive(Deserialize)]
struct PartitionView {
    k: u32,
    n: u32,
    /// The selection's digest, in hex; absent in reports written before it was recorded.
    #[serde(default)]
    selection: Option<String>,
}

#[derive(Deserialize)]
struct JudgeView {
    asked: u64,
    cached: u64,
}

#[derive(Deserialize)]
struct Dialogue {
    suite: String,
    suite_file: String,
    name: String,
    location: String,
    /// Only for a row of a matrix; older reports have none.
    #[serde(default)]
    matrix_row: Option<u32>,
    tags: Vec<String>,
    #[serde(default)]
    endpoint_kind: Option<String>,
    outcome: String,
    skip_reason: Option<String>,
    duration_ms: u64,
    repeat: u32,
    /// `null` for `min_pass: baseline`.
    min_pass: Option<u32>,
    /// Only for `min_pass: baseline`.
    #[serde(default)]
    baseline: Option<BaselineView>,
    /// Only from a run with `--bless`.
    #[serde(default)]
    bless: Option<BlessView>,
    attempts: Vec<AttemptView>,
}

#[derive(Deserialize)]
struct BlessView {
    action: String,
    golden: PathBuf,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct BaselineView {
    recorded_runs: Option<u32>,
    recorded_passed: Option<u32>,
    #[serde(default)]
    recorded_problem: Option<String>,
    runs: u32,
    passed: u32,
    /// Older reports have none.
    #[serde(default)]
    errored: u32,
    p_value: Option<f64>,
    alpha: f64,
}

#[derive(Deserialize)]
struct AttemptView {
    kind: String,
    index: u32,
    session_id: Option<String>,
    outcome: String,
    duration_ms: u64,
    error: Option<ErrorView>,
    golden: Option<GoldenView>,
    turns: Vec<TurnView>,
}

#[derive(Deserialize)]
struct ErrorView {
    turn: usize,
    location: String,
    message: String,
}

#[derive(Deserialize)]
struct GoldenView {
    path: String,
    status: String,
    scores: Vec<f64>,
    pending: Option<String>,
    message: String,
    /// What differs without failing; absent when nothing does (and in older reports).
    #[serde(default)]
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct TurnView {
    location: String,
    message: String,
    status: Option<u16>,
    text: Option<String>,
    detail: Option<String>,
    shape: Option<String>,
    usage: UsageView,
    latency_ms: u64,
    #[serde(default)]
    first_token_ms: Option<u64>,
    retries: u32,
    #[serde(default)]
    not_sent: bool,
    failures: Vec<FailureView>,
}

#[derive(Deserialize)]
struct UsageView {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct FailureView {
    key: String,
    location: String,
    message: String,
}

fn dialogue(d: Dialogue, suite: Arc<SuiteInfo>) -> Result<DialogueResult, ReadError> {
    let file = d.suite_file.as_str();
    let outcome = outcome(&d.outcome)
        .ok_or_else(|| invalid(format!("dialogue {:?}: outcome {:?}", d.name, d.outcome)))?;
    let attempts = d
        .attempts
        .into_iter()
        .map(|a| attempt(a, file))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            ReadError::Invalid(m) => invalid(format!("dialogue {:?}: {m}", d.name)),
            other => other,
        })?;
    let bless = d
        .bless
        .map(|b| bless(b).map_err(|m| invalid(format!("dialogue {:?}: {m}", d.name))))
        .transpose()?;
    Ok(DialogueResult {
        span: span(&d.location, file)?,
        row: d.matrix_row,
        suite,
        name: d.name,
        tags: d.tags,
        endpoint_kind: match d.endpoint_kind.as_deref() {
            Some("openai") => "openai",
            Some("http") => "http",
            _ => "thinnest",
        },
        outcome,
        skip_reason: d.skip_reason,
        attempts,
        repeat: d.repeat,
        min_pass: d.min_pass.unwrap_or(0),
        baseline: d.baseline.map(|b| BaselineGate {
            recorded: b.recorded_runs.zip(b.recorded_passed),
            problem: b.recorded_problem,
            runs: b.runs,
            passed: b.passed,
            errored: b.errored,
            p_value: b.p_value,
            alpha: b.alpha,
        }),
        duration: Duration::from_millis(d.duration_ms),
        bless,
    })
}

fn attempt(a: AttemptView, file: &str) -> Result<Attempt, ReadError> {
    let index = a
        .index
        .checked_sub(1)
        .ok_or_else(|| invalid("attempt index 0 (indexes are 1-based)".into()))?;
    let kind = match a.kind.as_str() {
        "run" => AttemptKind::Run { index },
        "rerun" => AttemptKind::Rerun { index },
        other => return Err(invalid(format!("attempt kind {other:?}"))),
    };
    let outcome =
        outcome(&a.outcome).ok_or_else(|| invalid(format!("attempt outcome {:?}", a.outcome)))?;
    let error = match a.error {
        Some(e) => Some(RunError {
            turn: e.turn.saturating_sub(1),
            span: span(&e.location, file)?,
            kind: ErrorKind::Worded(e.message),
        }),
        None => None,
    };
    let golden = a.golden.map(golden).transpose()?;
    let turns = a
        .turns
        .into_iter()
        .map(|t| turn(t, file))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Attempt {
        kind,
        session_id: a.session_id,
        outcome,
        turns,
        error,
        golden,
        duration: Duration::from_millis(a.duration_ms),
    })
}

fn golden(g: GoldenView) -> Result<GoldenCheck, ReadError> {
    let status = [
        GoldenStatus::Match,
        GoldenStatus::Missing,
        GoldenStatus::Mismatch,
        GoldenStatus::Invalid,
    ]
    .into_iter()
    .find(|s| s.as_str() == g.status)
    .ok_or_else(|| invalid(format!("golden status {:?}", g.status)))?;
    let mut check = GoldenCheck::new(PathBuf::from(g.path), String::new());
    check.status = status;
    check.scores = g.scores;
    check.pending = g.pending.map(PathBuf::from);
    check.worded = Some(g.message);
    // The notes are facts a reply adds: read back into the difference they word, so the
    // reporters list them as the run's did.
    check.notes = g
        .notes
        .iter()
        .map(|n| {
            super::explain::facts_note(n)
                .ok_or_else(|| invalid(format!("golden note {n:?} is not one agenttest writes")))
        })
        .collect::<Result<_, _>>()?;
    Ok(check)
}

fn turn(t: TurnView, file: &str) -> Result<TurnResult, ReadError> {
    let failures = t
        .failures
        .into_iter()
        .map(|f| {
            Ok(Failure {
                key: intern(&f.key),
                span: span(&f.location, file)?,
                detail: crate::record::Detail::Worded(f.message),
            })
        })
        .collect::<Result<Vec<_>, ReadError>>()?;
    Ok(TurnResult {
        span: span(&t.location, file)?,
        message: t.message,
        status: t.status,
        text: t.text,
        detail: t.detail,
        shape: t.shape.as_deref().map(intern),
        usage: Usage {
            input_tokens: t.usage.input_tokens,
            output_tokens: t.usage.output_tokens,
            total_tokens: t.usage.total_tokens,
        },
        latency: Duration::from_millis(t.latency_ms),
        first_token: t.first_token_ms.map(Duration::from_millis),
        retries: t.retries,
        not_sent: t.not_sent,
        failures,
    })
}

fn bless(b: BlessView) -> Result<BlessAction, String> {
    let p = b.golden;
    Ok(match b.action.as_str() {
        "created" => BlessAction::Created(p),
        "changed" => BlessAction::Changed(p),
        "unchanged" => BlessAction::Unchanged(p),
        "left_alone" => BlessAction::LeftAlone(p),
        "failed" => BlessAction::Failed(p, b.error.unwrap_or_default()),
        other => return Err(format!("bless action {other:?}")),
    })
}

fn invalid(message: String) -> ReadError {
    ReadError::Invalid(message)
}

fn outcome(s: &str) -> Option<Outcome> {
    [
        Outcome::Pass,
        Outcome::Flaky,
        Outcome::Fail,
        Outcome::Error,
        Outcome::Skip,
        Outcome::NotRun,
    ]
    .into_iter()
    .find(|o| o.as_str() == s)
}

/// The span of `location`, which is `file:line:column`, or the bare `file` for an unknown
/// place (`diag::location` in reverse). The file is known, so a path with colons in it is no
/// trouble.
fn span(location: &str, file: &str) -> Result<Span, ReadError> {
    if location == file {
        return Ok(Span::UNKNOWN);
    }
    let parsed = location
        .strip_prefix(file)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(line, column)| Some(Span::new(line.parse().ok()?, column.parse().ok()?)))
        .filter(Span::is_known);
    parsed.ok_or_else(|| {
        invalid(format!(
            "location {location:?} is not `{file}:line:column` (its suite_file)"
        ))
    })
}

/// `2024-05-01T12:34:56.789Z` (milliseconds optional), as the JSON report writes it.
fn timestamp(text: &str) -> Result<SystemTime, ReadError> {
    let bad = || {
        invalid(format!(
            "started_at {text:?} is not `YYYY-MM-DDTHH:MM:SS.mmmZ`"
        ))
    };
    let body = text.strip_suffix('Z').ok_or_else(bad)?;
    let (date, clock) = body.split_once('T').ok_or_else(bad)?;
    let (clock, millis) = clock.split_once('.').unwrap_or((clock, "0"));
    let numbers = |s: &str, n: usize| -> Option<Vec<u32>> {
        let v: Vec<u32> = s
            .split(['-', ':'])
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        (v.len() == n).then_some(v)
    };
    let (d, c) = numbers(date, 3).zip(numbers(clock, 3)).ok_or_else(bad)?;
    let millis: u16 = millis.parse().map_err(|_| bad())?;
    let month = u8::try_from(d[1])
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let date = i32::try_from(d[0])
        .ok()
        .zip(u8::try_from(d[2]).ok())
        .and_then(|(y, day)| time::Date::from_calendar_date(y, month, day).ok())
        .ok_or_else(bad)?;
    let hms = |i: usize| u8::try_from(c[i]).ok();
    let clock = hms(0)
        .zip(hms(1))
        .zip(hms(2))
        .and_then(|((h, m), s)| time::Time::from_hms_milli(h, m, s, millis).ok())
        .ok_or_else(bad)?;
    let nanos = time::PrimitiveDateTime::new(date, clock)
        .assume_utc()
        .unix_timestamp_nanos();
    // Before 1970 is clamped to it, as the writer does.
    let nanos = u64::try_from(nanos).unwrap_or(0);
    Ok(UNIX_EPOCH + Duration::from_nanos(nanos))
}

/// Expectation keys and body shapes are `&'static str` in the record (a fixed vocabulary in a
/// run); read back, each distinct one is leaked once and reused, so memory stays bounded by
/// the vocabulary, not by the number of failures.
fn intern(s: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(&known) = seen.get(s) {
        return known;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_back_to_spans() {
        assert_eq!(span("a/b.yaml:3:5", "a/b.yaml").ok(), Some(Span::new(3, 5)));
        assert_eq!(span("a/b.yaml", "a/b.yaml").ok(), Some(Span::UNKNOWN));
        // Colons in the path are the path's.
        assert_eq!(
            span("C:x:y.yaml:7:1", "C:x:y.yaml").ok(),
            Some(Span::new(7, 1))
        );
        assert!(span("other.yaml:3:5", "a/b.yaml").is_err());
        assert!(span("a/b.yaml:3", "a/b.yaml").is_err());
        assert!(span("a/b.yaml:x:5", "a/b.yaml").is_err());
    }

    #[test]
    fn timestamps_read_back_exactly() {
        let t = UNIX_EPOCH + Duration::from_millis(1_714_566_896_789);
        let text = crate::report::common::stamp::rfc3339_millis(t);
        assert_eq!(timestamp(&text).ok(), Some(t));
        assert_eq!(
            timestamp("2024-05-01T12:34:56Z").ok(),
            Some(UNIX_EPOCH + Duration::from_secs(1_714_566_896))
        );
        for bad in [
            "2024-05-01 12:34:56Z",
            "2024-13-01T00:00:00Z",
            "yesterday",
            "",
        ] {
            assert!(timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interned_keys_are_shared() {
        let a = intern("contains");
        let b = intern(&String::from("contains"));
        assert!(std::ptr::eq(a, b));
    }

    /// A report's head with `run.partition` set to `partition` (absent when empty).
    fn cut(partition: &str) -> String {
        let partition = if partition.is_empty() {
            String::new()
        } else {
            format!(r#", "partition": {partition}"#)
        };
        format!(
            r#"{{"schema_version": 1, "run": {{"started_at": "2024-05-01T12:34:56Z",
            "duration_ms": 0, "interrupted": false, "warnings": []{partition}}},
            "dialogues": []}}"#
        )
    }

    #[test]
    fn partitions_read_back_and_impossible_slices_are_refused() {
        let read = |p: &str| parse(&cut(p)).map(|r| r.partition);
        assert_eq!(read("").ok(), Some(None));
        assert_eq!(
            read(r#"{"k": 2, "n": 3}"#).ok(),
            Some(Some(Slice {
                k: 2,
                n: 3,
                selection: None
            }))
        );
        assert_eq!(
            read(r#"{"k": 1, "n": 1}"#).ok(),
            Some(Some(Slice {
                k: 1,
                n: 1,
                selection: None
            }))
        );
        for bad in [
            r#"{"k": 0, "n": 3}"#,
            r#"{"k": 4, "n": 3}"#,
            r#"{"k": 1, "n": 0}"#,
            r#"{"k": 1, "n": 2, "selection": "not hex"}"#,
        ] {
            assert!(matches!(read(bad), Err(ReadError::Invalid(_))), "{bad}");
        }
        // The selection's digest reads back as the run wrote it.
        assert_eq!(
            read(r#"{"k": 1, "n": 2, "selection": "00000000000000ff"}"#).ok(),
            Some(Some(Slice {
                k: 1,
                n: 2,
                selection: Some(255)
            }))
        );
        assert!(matches!(
            read(r#"{"k": -1, "n": 3}"#),
            Err(ReadError::Json(_))
        ));
    }

    #[test]
    fn other_versions_are_refused_by_number() {
        let e = parse(r#"{"schema_version": 2, "whatever": true}"#).err();
        assert!(
            matches!(e, Some(ReadError::Unsupported { found: 2, .. })),
            "{e:?}"
        );
        // An array is said to be one, not read as a tuple of serde's own header struct.
        let e = parse("[1, 2]")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("the file holds a JSON array"), "{e}");
        assert!(!e.contains("Header"), "{e}");
    }
}
