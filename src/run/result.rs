//! What a run produced, as plain data: every reporter (console, JUnit, JSON) and the exit code
//! read these and nothing else. All text in here has already been through the run's
//! [`Redactor`](crate::redact::Redactor): no reporter needs to know what a secret is.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::client::{Shape, Usage};
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
    pub tags: Vec<String>,
    pub outcome: Outcome,
    pub skip_reason: Option<String>,
    /// Every execution: the first, its repeats, then reruns. Empty for a skip or not-run.
    pub attempts: Vec<Attempt>,
    /// `repeat` of the dialogue (1 unless SPEC §7 repeats are on).
    pub repeat: u32,
    /// How many of the `repeat` runs must pass.
    pub min_pass: u32,
    /// Wall time from the dialogue's first request to its last verdict.
    pub duration: Duration,
    /// What `--bless` did to this dialogue's golden, when it ran with `--bless`.
    pub bless: Option<BlessAction>,
}

impl DialogueResult {
    /// How many of the repeat runs (not reruns) passed.
    pub fn passed_runs(&self) -> u32 {
        self.attempts
            .iter()
            .filter(|a| matches!(a.kind, AttemptKind::Run { .. }) && a.outcome.is_pass())
            .count() as u32
    }

    pub fn display_name(&self) -> String {
        format!("{} › {}", self.suite.name, self.name)
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
    pub message: String,
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
    pub shape: Option<Shape>,
    pub usage: Usage,
    pub latency: Duration,
    pub retries: u32,
    pub failures: Vec<Failure>,
}

/// A failed expectation: what was expected, what came, and where the expectation is written.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The expectation key (`contains`, `status`, ...).
    pub key: &'static str,
    pub span: Span,
    /// One readable sentence: "expected the text to contain \"9 AM\"".
    pub message: String,
}

/// The result of comparing an attempt's transcript with its golden file.
#[derive(Debug, Clone)]
pub struct GoldenCheck {
    pub path: PathBuf,
    pub status: GoldenStatus,
    /// The golden file's text (empty when missing) and the text this attempt would write,
    /// so a reporter can render a diff in its own style.
    pub expected: String,
    pub actual: String,
    /// Per-turn similarity in `similar` mode.
    pub scores: Vec<f64>,
    /// The `.new` pending file written beside the golden, if any.
    pub pending: Option<PathBuf>,
    /// The full readable explanation: what differs, the unified diff, and the command that
    /// accepts it. Plain text (no ANSI).
    pub message: String,
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
