//! What a run produced, as plain data: every reporter (console, JUnit, JSON) and the exit code
//! read these and nothing else. Verdicts are data (what was expected, what came, where it is
//! written); `report::explain` words them. All text in here has been through the run's
//! redactor before a reporter sees it (see [`Attempt::texts_mut`]): no reporter needs to know
//! what a secret is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::reply::Usage;
use crate::diag::Span;

/// The whole run, dialogues in a stable order (suite files sorted, then dialogues as written),
/// whatever order they finished in.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub started_at: SystemTime,
    pub duration: Duration,
    /// Ctrl-C cut the run short; dialogues that had not finished are `NotRun`.
    pub interrupted: bool,
    pub dialogues: Vec<DialogueResult>,
    /// Non-fatal findings: orphan goldens and the like.
    pub warnings: Vec<String>,
    /// The LLM judge's verdicts: asked of it, and read from the cache.
    pub judge: JudgeTotals,
    /// The paths and filters selected no dialogue (exit 4). Recorded, not inferred from an
    /// empty `dialogues`: an empty `--partition` slice holds none either, and passes (SPEC
    /// §10); `merge` must tell the two apart from the reports alone.
    pub nothing_selected: bool,
    /// The `--partition K/N` slice this run was cut to; `None` for a whole run (and for a
    /// merge of every slice). Recorded so that `merge` can tell a missing shard from a shard
    /// that was never asked for: a CI shard that died uploads no report at all.
    pub partition: Option<Slice>,
}

/// The `k`-th (1-based) of `n` slices of a run's selection (`--partition K/N`), as a report
/// records it. Plain data: which dialogues fall in it is `run::select`'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slice {
    pub k: u32,
    pub n: u32,
    /// A digest of every dialogue the run selected before it was sliced (`run::select`):
    /// shards of one run hold the same, so `merge` can refuse a shard cut from another
    /// selection (an older suite, another `--tag` or `--filter`). `None` in reports written
    /// before it was recorded.
    pub selection: Option<u64>,
}

/// How many verdicts the LLM judge gave this run, and how many came from its cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JudgeTotals {
    pub asked: u64,
    pub cached: u64,
}

/// The suite a dialogue belongs to, shared by its dialogues' results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SuiteInfo {
    pub name: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Pass,
    /// Failed or errored first, then passed on a `--reruns` attempt: counts as passed.
    Flaky,
    /// The agent answered and the answer was wrong (an expectation or the golden).
    Fail,
    /// No answer to judge: transport error, timeout, malformed body, unexpected non-2xx.
    Error,
    Skip,
    /// Never started or cut short by Ctrl-C or `--fail-fast`.
    NotRun,
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Flaky => "FLAKY",
            Outcome::Fail => "FAIL",
            Outcome::Error => "ERROR",
            Outcome::Skip => "SKIP",
            Outcome::NotRun => "NOT RUN",
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Flaky => "flaky",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skip => "skip",
            Outcome::NotRun => "not_run",
        }
    }

    pub fn is_pass(&self) -> bool {
        matches!(self, Outcome::Pass | Outcome::Flaky)
    }
}

#[derive(Debug, Clone)]
pub struct DialogueResult {
    pub suite: Arc<SuiteInfo>,
    pub name: String,
    pub span: Span,
    /// Its row of a `matrix:` or `matrix_file:`, counted from 1 (see the model's `row`).
    pub row: Option<u32>,
    pub tags: Vec<String>,
    /// Which API the dialogue talked to: `thinnest`, `openai` or `http` (SPEC §8.1).
    pub endpoint_kind: &'static str,
    pub outcome: Outcome,
    pub skip_reason: Option<String>,
    /// Every execution: the first, its repeats, then reruns. Empty for a skip or not-run.
    pub attempts: Vec<Attempt>,
    /// `repeat` of the dialogue (1 unless SPEC §7 repeats are on).
    pub repeat: u32,
    /// How many of the `repeat` runs must pass (a fixed gate).
    pub min_pass: u32,
    /// The gate against the blessed baseline (`min_pass: baseline`), when it was used.
    pub baseline: Option<BaselineGate>,
    /// Wall time from the dialogue's first request to its last verdict.
    pub duration: Duration,
    /// What `--bless` did to this dialogue's golden, when it ran with `--bless`.
    pub bless: Option<BlessAction>,
}

/// SPEC §9.3: this run's pass rate against the blessed one.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineGate {
    /// The golden's `baseline: {runs, passed}`; `None` when none is recorded (a failure).
    pub recorded: Option<(u32, u32)>,
    /// Why the golden's baseline could not be read, when it could not (a hand edit that
    /// makes no sense, a golden that does not parse): `recorded` is then `None`, and the
    /// failure says this rather than that none was recorded.
    pub problem: Option<String>,
    /// This run's judged runs and passes.
    pub runs: u32,
    pub passed: u32,
    /// The runs that could not be judged (the agent or the judge failed): left out of
    /// `runs`, and the gate passes only if it would pass whatever they had been.
    pub errored: u32,
    /// The one-sided Fisher exact p-value, and the threshold it was held to.
    pub p_value: Option<f64>,
    pub alpha: f64,
}

impl DialogueResult {
    /// Its verdict is a gate over runs, told as a tally (`k/N runs passed`, rates and a
    /// p-value): `repeat` above 1, or the gate against the blessed baseline, which weighs even
    /// one run against the recorded rate and does not fail on the golden (SPEC §9.3).
    pub fn gated(&self) -> bool {
        self.repeat > 1 || self.baseline.is_some()
    }

    /// How many of the repeat runs (not reruns) passed.
    pub fn passed_runs(&self) -> u32 {
        self.attempts
            .iter()
            .filter(|a| matches!(a.kind, AttemptKind::Run { .. }) && a.outcome.is_pass())
            .count() as u32
    }

    /// The pending golden files (`.new`) its attempts wrote, in attempt order.
    pub fn pending_goldens(&self) -> impl Iterator<Item = &std::path::Path> {
        self.attempts
            .iter()
            .filter_map(|a| a.golden.as_ref()?.pending.as_deref())
    }

    /// How many reruns (`--reruns`) it took: rounds, each `repeat` runs of a repeated
    /// dialogue (SPEC §7: a failed dialogue "runs again", all of it), as `--reruns N` counts.
    pub fn reruns(&self) -> usize {
        let repeat = self.repeat.max(1);
        self.attempts
            .iter()
            .filter_map(|a| match a.kind {
                AttemptKind::Rerun { index } => Some((index / repeat + 1) as usize),
                AttemptKind::Run { .. } => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// How many times a turn was sent again (retries), over every attempt.
    pub fn retries(&self) -> u32 {
        self.attempts
            .iter()
            .flat_map(|a| &a.turns)
            .map(|t| t.retries)
            .sum()
    }

    pub fn display_name(&self) -> String {
        format!("{} › {}", self.suite.name, self.name)
    }

    /// The dialogue without its attempts: its verdict, counts, timing and bless action, all
    /// a run's end needs of a dialogue whose report parts are already written (see
    /// `report::spill`).
    pub fn without_attempts(&self) -> DialogueResult {
        DialogueResult {
            suite: self.suite.clone(),
            name: self.name.clone(),
            span: self.span,
            row: self.row,
            tags: self.tags.clone(),
            endpoint_kind: self.endpoint_kind,
            outcome: self.outcome,
            skip_reason: self.skip_reason.clone(),
            attempts: Vec::new(),
            repeat: self.repeat,
            min_pass: self.min_pass,
            baseline: self.baseline.clone(),
            duration: self.duration,
            bless: self.bless.clone(),
        }
    }

    /// Lets go of what no reader needs once the dialogue is settled (its verdict given, its
    /// pending golden written): the texts of a golden that matched, and spare capacity. The
    /// runner calls this as each dialogue finishes, so a big run keeps only what its reports
    /// show.
    pub fn compact(&mut self) {
        self.attempts.shrink_to_fit();
        for a in &mut self.attempts {
            a.turns.shrink_to_fit();
            if let Some(g) = &mut a.golden {
                g.compact();
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptKind {
    /// The n-th (0-based) of the dialogue's `repeat` runs.
    Run { index: u32 },
    /// The n-th (0-based) `--reruns` attempt after a failed or errored verdict.
    Rerun { index: u32 },
}

/// One execution of a dialogue, in its own session.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub kind: AttemptKind,
    /// The session id sent (fresh) or returned by the server (server mode).
    pub session_id: Option<String>,
    /// `Pass`, `Fail`, `Error` or `NotRun` (cut short).
    pub outcome: Outcome,
    pub turns: Vec<TurnResult>,
    /// What ended the attempt early, when it errored.
    pub error: Option<RunError>,
    /// The golden comparison, when the attempt completed and goldens are on.
    pub golden: Option<GoldenCheck>,
    pub duration: Duration,
}

impl Attempt {
    /// It went to its last turn: no error ended it and no missed capture cut it short (SPEC
    /// §8.3). Only such a run has a transcript to compare with a golden or to bless: one cut
    /// short would fail on the turns it never sent, and blessed it would replace the reviewed
    /// dialogue with its first turns.
    pub fn went_to_end(&self) -> bool {
        self.error.is_none() && !self.turns.iter().any(|t| t.not_sent)
    }

    /// Every piece of text in the attempt that came from outside or may quote a secret (the
    /// session id, messages, replies, details, failure and error data), for the runner to pass
    /// through its redactor once, where the attempt ends.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        if let Some(id) = &mut self.session_id {
            f(id);
        }
        for t in &mut self.turns {
            f(&mut t.message);
            t.text
                .iter_mut()
                .chain(t.detail.iter_mut())
                .for_each(&mut *f);
            for failure in &mut t.failures {
                failure.detail.texts_mut(f);
            }
        }
        if let Some(e) = &mut self.error {
            e.kind.texts_mut(f);
        }
    }

    /// Every expectation failure of every turn, in order.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &Failure)> {
        self.turns
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.failures.iter().map(move |f| (i, f)))
    }
}

/// Why an attempt could not be judged, and at which turn (0-based).
#[derive(Debug, Clone)]
pub struct RunError {
    pub turn: usize,
    pub span: Span,
    pub kind: ErrorKind,
}

/// What stopped an attempt, as data; `report::explain` words it.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The endpoint could not be built or reached before any turn (a bad URL, no mock).
    Setup(String),
    /// Transport: connect error, timeout, a body over the cap. `error` is the transport's own
    /// sentence (`timed out after 2s`).
    Send {
        error: String,
        retries: u32,
        /// Where it went, `POST http://host/v1/agents/x/chat` (no credentials; empty when
        /// unknown): a wrong `base_url` shows in the message, not only in the suite.
        request: String,
    },
    /// A non-2xx status the turn did not expect.
    Status {
        status: u16,
        detail: Option<String>,
        retries: u32,
        /// As for `Send`.
        request: String,
    },
    /// A 2xx with nothing to judge.
    Malformed {
        status: u16,
        reason: String,
        /// As for `Send`.
        request: String,
    },
    /// `session: server` and the server returned no id, so the next turn cannot continue.
    /// `pointer` is where the endpoint looked for it when the suite said where (the http
    /// kind): a pointer that finds an object, or nothing, is the likelier mistake than a
    /// server that forgot.
    NoSession { pointer: Option<String> },
    /// A judge could not give a verdict (unreachable, not JSON): the gate could not judge.
    Judge { reason: String },
    /// A bug in agenttest (a panic), caught so the other dialogues still run.
    Internal(String),
    /// Already worded, with its `turn N: ` (read back from a JSON report, which keeps the
    /// sentence, not the data): reported as written.
    Worded(String),
}

#[derive(Debug, Clone)]
pub struct TurnResult {
    pub span: Span,
    /// The message as sent, after `{{var}}` expansion.
    pub message: String,
    pub status: Option<u16>,
    /// The agent's text (before `normalize`; redacted).
    pub text: Option<String>,
    /// The `detail` of an error response.
    pub detail: Option<String>,
    /// The body shape the endpoint saw (`usage`, `chat.completion`, ...).
    pub shape: Option<&'static str>,
    pub usage: Usage,
    pub latency: Duration,
    /// When the first piece of a streamed reply's text came.
    pub first_token: Option<Duration>,
    pub retries: u32,
    /// The turn was never sent: an earlier turn ended the dialogue (a capture that did not
    /// match).
    pub not_sent: bool,
    pub failures: Vec<Failure>,
}

impl TurnResult {
    /// A turn about to be sent (or left unsent): its message, and nothing yet of a reply.
    pub fn unanswered(span: Span, message: String) -> Self {
        TurnResult {
            span,
            message,
            status: None,
            text: None,
            detail: None,
            shape: None,
            usage: Default::default(),
            latency: Duration::ZERO,
            first_token: None,
            retries: 0,
            not_sent: false,
            failures: Vec::new(),
        }
    }
}

/// A failed expectation: what was expected, what came, and where the expectation is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The expectation key (`contains`, `status`, ...).
    pub key: &'static str,
    pub span: Span,
    pub detail: Detail,
}

/// What a failed expectation expected and what it saw. One variant per way of failing, so a
/// reporter can word, colour or lay it out as it likes.
#[derive(Debug, Clone, PartialEq)]
pub enum Detail {
    Status {
        expected: Vec<u16>,
        got: u16,
    },
    /// `contains`: these did not appear.
    Missing(Vec<String>),
    /// `contains_any`: none of these appeared.
    NoneOf(Vec<String>),
    /// `not_contains`: these appeared.
    Present(Vec<String>),
    /// `regex`: these patterns did not match.
    NoMatch(Vec<String>),
    /// `not_regex`: (pattern, what it matched).
    Matched(Vec<(String, String)>),
    /// `equals`.
    NotEqual {
        expected: String,
    },
    TooManyTokens {
        max: u64,
        got: u64,
    },
    /// `max_tokens` on a reply with no output-token count.
    NoTokenCount {
        max: u64,
        shape: Option<&'static str>,
        total: Option<u64>,
    },
    TooSlow {
        max: Duration,
        took: Duration,
    },
    FirstTokenTooSlow {
        max: Duration,
        took: Duration,
    },
    /// `max_first_token` on a reply that was not streamed.
    NotStreamed {
        max: Duration,
    },
    /// `max_first_token` on a streamed reply none of whose events had a piece of text.
    NoTextStreamed {
        max: Duration,
    },
    /// A capture that took no value: the dialogue ends at this turn. `group_unset`: the
    /// pattern matched, but its group 1 took no part in the match.
    CaptureMissed {
        name: String,
        pattern: String,
        group_unset: bool,
        /// Later turns were left unsent for it (it was not the dialogue's last turn).
        ends_dialogue: bool,
    },
    /// `facts`: values the reply does not state (and what it does state).
    FactsMissing {
        missing: Vec<String>,
        found: Vec<String>,
    },
    /// `not_facts`: values the reply states.
    FactsPresent(Vec<String>),
    /// An LLM judge said no, and why.
    Judged {
        rubric: String,
        reason: String,
    },
    /// Already worded (read back from a JSON report, which keeps the sentence, not the data):
    /// reported as written.
    Worded(String),
}

/// The result of comparing an attempt's transcript with its golden file.
#[derive(Debug, Clone)]
pub struct GoldenCheck {
    pub path: PathBuf,
    pub status: GoldenStatus,
    /// The golden file's text (empty when missing) and the text this attempt would write;
    /// both dropped once a check that matched is settled ([`GoldenCheck::compact`]).
    pub expected: String,
    pub actual: String,
    /// The two sides of the diff a person should read: both rendered the same way, and on the
    /// actual side a text that the golden's `[..]` wildcards absorb shown as the golden's.
    /// Empty unless the golden is missing or differs.
    pub diff_old: String,
    pub diff_new: String,
    /// What differs, in file order.
    pub differences: Vec<Difference>,
    /// Per-turn similarity and the threshold, in `similar` mode.
    pub scores: Vec<f64>,
    pub threshold: Option<f64>,
    /// What differs without failing the check: the facts a reply adds in `mode: facts`
    /// without `strict`, listed for the reviewer (SPEC §9.1).
    pub notes: Vec<Difference>,
    /// Why the golden could not be read or parsed (status `Invalid`).
    pub problem: Option<String>,
    /// The `.new` pending file written beside the golden, if any.
    pub pending: Option<PathBuf>,
    /// Why the pending file could not be written.
    pub pending_error: Option<String>,
    /// The whole explanation as already worded, when the check was read back from a JSON
    /// report (which keeps the sentence, not the data): reported as written.
    pub worded: Option<String>,
}

impl Detail {
    /// The strings inside, for redaction.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            Detail::Missing(v)
            | Detail::NoneOf(v)
            | Detail::Present(v)
            | Detail::NoMatch(v)
            | Detail::FactsPresent(v) => v.iter_mut().for_each(f),
            Detail::Matched(v) => v.iter_mut().for_each(|(a, b)| {
                f(a);
                f(b)
            }),
            Detail::NotEqual { expected } | Detail::Worded(expected) => f(expected),
            Detail::CaptureMissed { name, pattern, .. } => {
                f(name);
                f(pattern)
            }
            Detail::FactsMissing { missing, found } => {
                missing.iter_mut().chain(found.iter_mut()).for_each(f)
            }
            Detail::Judged { rubric, reason } => {
                f(rubric);
                f(reason)
            }
            Detail::Status { .. }
            | Detail::TooManyTokens { .. }
            | Detail::NoTokenCount { .. }
            | Detail::TooSlow { .. }
            | Detail::FirstTokenTooSlow { .. }
            | Detail::NotStreamed { .. }
            | Detail::NoTextStreamed { .. } => {}
        }
    }
}

impl ErrorKind {
    /// The strings inside, for redaction.
    pub fn texts_mut(&mut self, f: &mut dyn FnMut(&mut String)) {
        match self {
            ErrorKind::Setup(s) | ErrorKind::Internal(s) | ErrorKind::Worded(s) => f(s),
            ErrorKind::Send { error, request, .. } => {
                f(error);
                f(request);
            }
            ErrorKind::Status {
                detail, request, ..
            } => {
                detail.iter_mut().for_each(&mut *f);
                f(request);
            }
            ErrorKind::Malformed {
                reason, request, ..
            } => {
                f(reason);
                f(request);
            }
            ErrorKind::Judge { reason } => f(reason),
            ErrorKind::NoSession { .. } => {}
        }
    }

    /// The same error, saying where its request went (see `Send::request`); other kinds are
    /// returned as they are.
    pub fn with_request(mut self, line: String) -> Self {
        match &mut self {
            ErrorKind::Send { request, .. }
            | ErrorKind::Status { request, .. }
            | ErrorKind::Malformed { request, .. } => *request = line,
            _ => {}
        }
        self
    }
}

/// One difference between a golden and this run's transcript (turns 1-based).
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    Suite {
        golden: String,
        actual: String,
    },
    Dialogue {
        golden: String,
        actual: String,
    },
    UserMessage {
        turn: usize,
    },
    Status {
        turn: usize,
        golden: u16,
        actual: u16,
    },
    AgentText {
        turn: usize,
    },
    /// `mode: facts`: typed values of the golden turn the reply does not state, and (with
    /// `strict`) values it states that the golden turn does not.
    Facts {
        turn: usize,
        missing: Vec<String>,
        added: Vec<String>,
    },
    /// `mode: judge`: the judge found the reply says something else, and why.
    Judged {
        turn: usize,
        reason: String,
    },
    BelowThreshold {
        turn: usize,
        score: f64,
        threshold: f64,
    },
    MissingTurn {
        turn: usize,
    },
    ExtraTurn {
        turn: usize,
    },
    TurnCount {
        golden: usize,
        actual: usize,
    },
}

impl GoldenCheck {
    /// Drops the two texts of a check that matched: the golden's is on disk, this run's is the
    /// attempt's turns again, and a match shows neither (only a failing check shows a diff,
    /// from `diff_old` and `diff_new`, and says whether the golden was missing). A failing
    /// check keeps everything.
    pub fn compact(&mut self) {
        if !self.status.is_failure() {
            self.expected = String::new();
            self.actual = String::new();
        }
    }

    /// A check of `path` that has not found anything wrong yet.
    pub fn new(path: PathBuf, actual: String) -> Self {
        GoldenCheck {
            path,
            status: GoldenStatus::Match,
            expected: String::new(),
            actual,
            diff_old: String::new(),
            diff_new: String::new(),
            differences: Vec::new(),
            scores: Vec::new(),
            threshold: None,
            notes: Vec::new(),
            problem: None,
            pending: None,
            pending_error: None,
            worded: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldenStatus {
    Match,
    Missing,
    Mismatch,
    /// Unreadable or invalid golden file: reported as a failure with the parse error.
    Invalid,
}

impl GoldenStatus {
    /// The name reports use: `match`, `missing`, `mismatch`, `invalid`.
    pub fn as_str(&self) -> &'static str {
        match self {
            GoldenStatus::Match => "match",
            GoldenStatus::Missing => "missing",
            GoldenStatus::Mismatch => "mismatch",
            GoldenStatus::Invalid => "invalid",
        }
    }

    pub fn is_failure(&self) -> bool {
        !matches!(self, GoldenStatus::Match)
    }
}

/// What `--bless` did to one golden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlessAction {
    Created(PathBuf),
    Changed(PathBuf),
    Unchanged(PathBuf),
    /// Errored, skipped or not run: the golden was left as it was.
    LeftAlone(PathBuf),
    /// The write failed; the old golden is intact.
    Failed(PathBuf, String),
}

/// Counts for the summary line and the exit code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub passed: usize,
    pub flaky: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    pub not_run: usize,
}

impl RunReport {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for d in &self.dialogues {
            match d.outcome {
                Outcome::Pass => t.passed += 1,
                Outcome::Flaky => {
                    t.passed += 1;
                    t.flaky += 1
                }
                Outcome::Fail => t.failed += 1,
                Outcome::Error => t.errored += 1,
                Outcome::Skip => t.skipped += 1,
                Outcome::NotRun => t.not_run += 1,
            }
        }
        t
    }

    /// The suites in first-seen order, for reporters that group by suite.
    pub fn suites(&self) -> Vec<Arc<SuiteInfo>> {
        let mut out: Vec<Arc<SuiteInfo>> = Vec::new();
        for d in &self.dialogues {
            if !out.iter().any(|s| s == &d.suite) {
                out.push(d.suite.clone());
            }
        }
        out
    }
}

impl Totals {
    /// `N passed, N failed, N errored, N skipped`, with `(M flaky)` and `N not run` only when
    /// there are any.
    pub fn summary_line(&self) -> String {
        let mut s = format!("{} passed", self.passed);
        if self.flaky > 0 {
            s.push_str(&format!(" ({} flaky)", self.flaky));
        }
        s.push_str(&format!(
            ", {} failed, {} errored, {} skipped",
            self.failed, self.errored, self.skipped
        ));
        if self.not_run > 0 {
            s.push_str(&format!(", {} not run", self.not_run));
        }
        s
    }
}
