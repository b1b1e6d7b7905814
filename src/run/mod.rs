//! Running dialogues: sessions, concurrency, retries, rate limits, goldens, cancellation.
//!
//! The runner emits [`Event`]s and returns a [`RunReport`]; it never prints. Every dialogue
//! gets a result, whatever happens to the others: a transport error, a cancelled run or a
//! failed golden write is recorded on that dialogue and the run goes on.

pub mod limit;
pub mod result;
pub mod select;
pub mod session;

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::client::thinnest::ThinnestClient;
use crate::client::{Reply, ReplyBody, SendError};
use crate::judge::expect::{self, Observed};
use crate::judge::golden;
use crate::redact::Redactor;
use crate::suite::model::{BaseUrl, Dialogue, GoldenMode, SessionMode, Suite};
use crate::suite::template;
use limit::Limiter;
use result::{
    Attempt, AttemptKind, BlessAction, DialogueResult, Failure, GoldenCheck, Outcome, RunError,
    RunReport, SuiteInfo, TurnResult,
};

/// What to do with goldens this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoldenPolicy {
    /// Compare, write `.new` pending files on a difference (the default).
    Compare,
    /// `--bless`: write the goldens of completed dialogues, compare nothing.
    Bless,
    /// `--no-golden`.
    Off,
}

/// Plain run settings, resolved from flags, environment and files by the CLI.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub jobs: usize,
    pub fail_fast: bool,
    pub golden: GoldenPolicy,
    /// `--repeat` / `--min-pass`: override every dialogue's.
    pub repeat: Option<u32>,
    pub min_pass: Option<u32>,
    /// `--reruns N`.
    pub reruns: u32,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            jobs: 8,
            fail_fast: false,
            golden: GoldenPolicy::Compare,
            repeat: None,
            min_pass: None,
            reruns: 0,
        }
    }
}

/// Progress as it happens, for the console.
#[derive(Debug, Clone)]
pub enum Event {
    Started { total: usize },
    DialogueStarted { name: String },
    DialogueFinished(Box<DialogueResult>),
}

/// One selected dialogue.
#[derive(Debug, Clone)]
pub struct Job {
    pub suite: Arc<Suite>,
    pub dialogue: usize,
}

/// Where the in-process servers listen: the mock for `base_url: mock`, and one replay server
/// per suite for `base_url: replay` (each serves that suite's own goldens).
#[derive(Debug, Clone, Default)]
pub struct LocalServers {
    pub mock: Option<String>,
    pub replay: HashMap<PathBuf, String>,
}

/// Everything the dialogue tasks share.
struct Ctx {
    http: reqwest::Client,
    local: LocalServers,
    limiters: HashMap<String, Arc<Limiter>>,
    redactor: Redactor,
    cfg: RunConfig,
    cancel: CancellationToken,
}

/// Runs the jobs, at most `cfg.jobs` dialogues at once, and returns every dialogue's result in
/// the jobs' order. `local` names the in-process servers for `mock` and `replay` endpoints.
pub async fn run(
    jobs: Vec<Job>,
    cfg: RunConfig,
    redactor: Redactor,
    local: LocalServers,
    events: UnboundedSender<Event>,
    cancel: CancellationToken,
) -> RunReport {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let _ = events.send(Event::Started { total: jobs.len() });

    let mut limiters: HashMap<String, Arc<Limiter>> = HashMap::new();
    let mut rates: HashMap<String, f64> = HashMap::new();
    for job in &jobs {
        let ep = &job.suite.dialogues[job.dialogue].endpoint;
        if let Some(rate) = ep.rate_limit {
            let r = rates.entry(ep.limiter_key()).or_insert(rate);
            // Two suites naming one endpoint with different rates: the stricter one wins.
            *r = r.min(rate);
        }
    }
    for (key, rate) in rates {
        limiters.insert(key, Arc::new(Limiter::per_second(rate)));
    }

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(cfg.jobs.max(1))
        .tcp_nodelay(true)
        // A redirect is reported as the status it is: following it would turn the chat POST
        // into a GET somewhere else and judge that.
        .redirect(reqwest::redirect::Policy::none())
        // Retries are the runner's, with its rules (never a 4xx, never an expected status).
        .retry(reqwest::retry::never())
        .build()
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        http,
        local,
        limiters,
        redactor,
        cfg: cfg.clone(),
        cancel: cancel.clone(),
    });

    let mut results: Vec<Option<DialogueResult>> = vec![None; jobs.len()];
    let mut set: JoinSet<(usize, DialogueResult)> = JoinSet::new();
    let mut next = 0;
    let mut stop_starting = false;
    loop {
        while !stop_starting
            && !cancel.is_cancelled()
            && set.len() < cfg.jobs.max(1)
            && next < jobs.len()
        {
            let job = jobs[next].clone();
            let ctx = ctx.clone();
            let events = events.clone();
            let index = next;
            set.spawn(async move {
                let d = &job.suite.dialogues[job.dialogue];
                let _ = events.send(Event::DialogueStarted {
                    name: job.suite.display_name(d),
                });
                // A bug that panics in one dialogue must not lose the others, nor pass the
                // gate: the dialogue becomes an error that says what happened.
                let outcome = AssertUnwindSafe(run_dialogue(&ctx, &job.suite, d))
                    .catch_unwind()
                    .await;
                let result = outcome.unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    let mut r = base_result(&job.suite, d, Outcome::Error);
                    r.attempts.push(Attempt {
                        kind: AttemptKind::Run { index: 0 },
                        session_id: None,
                        outcome: Outcome::Error,
                        turns: Vec::new(),
                        error: Some(RunError {
                            turn: 0,
                            span: d.span,
                            message: format!("internal error (a bug in agenttest): {msg}"),
                        }),
                        golden: None,
                        duration: Duration::ZERO,
                    });
                    r
                });
                (index, result)
            });
            next += 1;
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        // Panics are caught inside the task; a join error means the task was cancelled, and
        // its slot is reported as not run below.
        if let Ok((index, result)) = joined {
            if cfg.fail_fast && matches!(result.outcome, Outcome::Fail | Outcome::Error) {
                stop_starting = true;
            }
            let _ = events.send(Event::DialogueFinished(Box::new(result.clone())));
            results[index] = Some(result);
        }
    }

    let dialogues = results
        .into_iter()
        .zip(&jobs)
        .map(|(r, job)| r.unwrap_or_else(|| not_run(job)))
        .collect();
    RunReport {
        started_at,
        duration: started.elapsed(),
        interrupted: cancel.is_cancelled(),
        dialogues,
        warnings: Vec::new(),
    }
}

fn suite_info(suite: &Suite) -> Arc<SuiteInfo> {
    Arc::new(SuiteInfo {
        name: suite.name.clone(),
        path: suite.path.clone(),
    })
}

fn base_result(suite: &Suite, d: &Dialogue, outcome: Outcome) -> DialogueResult {
    DialogueResult {
        suite: suite_info(suite),
        name: d.name.clone(),
        span: d.span,
        tags: d.tags.clone(),
        outcome,
        skip_reason: d.skip.clone(),
        attempts: Vec::new(),
        repeat: d.repeat,
        min_pass: d.min_pass.count().unwrap_or(d.repeat),
        duration: Duration::ZERO,
        bless: None,
    }
}

/// A dialogue that never started (fail-fast, Ctrl-C, or a task that panicked).
fn not_run(job: &Job) -> DialogueResult {
    base_result(
        &job.suite,
        &job.suite.dialogues[job.dialogue],
        Outcome::NotRun,
    )
}

/// The command that promotes what this suite's failed run saw.
pub fn accept_hint(suite_path: &Path) -> String {
    format!("agenttest accept {}", suite_path.display())
}

async fn run_dialogue(ctx: &Ctx, suite: &Suite, d: &Dialogue) -> DialogueResult {
    let golden_path = golden::golden_path(suite, &d.name);
    if d.skip.is_some() {
        let mut r = base_result(suite, d, Outcome::Skip);
        if ctx.cfg.golden == GoldenPolicy::Bless && d.golden != GoldenMode::Off {
            r.bless = Some(BlessAction::LeftAlone(golden_path));
        }
        return r;
    }
    let started = Instant::now();
    let repeat = ctx.cfg.repeat.unwrap_or(d.repeat).max(1);
    let min_pass = ctx
        .cfg
        .min_pass
        .or(ctx.cfg.repeat.map(|_| repeat))
        .unwrap_or(d.min_pass.count().unwrap_or(repeat))
        .clamp(1, repeat);
    let golden_on = d.golden != GoldenMode::Off && ctx.cfg.golden == GoldenPolicy::Compare;

    let mut attempts: Vec<Attempt> = Vec::new();
    let mut outcome = Outcome::NotRun;
    for round in 0..=ctx.cfg.reruns {
        let mut group = Vec::new();
        for i in 0..repeat {
            let kind = if round == 0 {
                AttemptKind::Run { index: i }
            } else {
                AttemptKind::Rerun {
                    index: (round - 1) * repeat + i,
                }
            };
            let mut attempt = run_attempt(ctx, suite, d, kind).await;
            if golden_on && matches!(attempt.outcome, Outcome::Pass | Outcome::Fail) {
                let check = compare_golden(suite, d, &golden_path, &attempt).await;
                if check.status.is_failure() {
                    attempt.outcome = Outcome::Fail;
                }
                attempt.golden = Some(check);
            }
            let cut = attempt.outcome == Outcome::NotRun;
            group.push(attempt);
            if cut {
                break;
            }
        }
        let verdict = group_verdict(&group, min_pass);
        attempts.extend(group);
        outcome = match (round, verdict) {
            (0, v) => v,
            (_, Outcome::Pass) => Outcome::Flaky,
            (_, Outcome::NotRun) => outcome,
            (_, v) => v,
        };
        if outcome.is_pass() || outcome == Outcome::NotRun || ctx.cancel.is_cancelled() {
            break;
        }
    }

    let mut r = base_result(suite, d, outcome);
    r.repeat = repeat;
    r.min_pass = min_pass;

    match ctx.cfg.golden {
        GoldenPolicy::Compare if golden_on => {
            settle_pending(&golden_path, outcome, &mut attempts).await;
        }
        GoldenPolicy::Bless if d.golden != GoldenMode::Off => {
            let completed = attempts
                .iter()
                .find(|a| matches!(a.outcome, Outcome::Pass | Outcome::Fail));
            r.bless = Some(match completed {
                Some(a) => {
                    let file = golden::transcript(suite, &d.name, &a.turns);
                    let path = golden_path.clone();
                    tokio::task::spawn_blocking(move || golden::bless(&path, &file))
                        .await
                        .unwrap_or_else(|e| BlessAction::Failed(golden_path.clone(), e.to_string()))
                }
                None => BlessAction::LeftAlone(golden_path.clone()),
            });
        }
        _ => {}
    }

    r.attempts = attempts;
    r.duration = started.elapsed();
    r
}

/// Pass when at least `min_pass` runs passed; otherwise a failure if any run failed (the agent
/// answered wrongly), else an error (no run could be judged).
fn group_verdict(group: &[Attempt], min_pass: u32) -> Outcome {
    if group.iter().any(|a| a.outcome == Outcome::NotRun) {
        return Outcome::NotRun;
    }
    let passed = group.iter().filter(|a| a.outcome == Outcome::Pass).count() as u32;
    if passed >= min_pass {
        Outcome::Pass
    } else if group.iter().any(|a| a.outcome == Outcome::Fail) {
        Outcome::Fail
    } else {
        Outcome::Error
    }
}

async fn compare_golden(
    suite: &Suite,
    d: &Dialogue,
    path: &Path,
    attempt: &Attempt,
) -> GoldenCheck {
    let file = golden::transcript(suite, &d.name, &attempt.turns);
    let path_buf = path.to_path_buf();
    let mode = d.golden;
    let hint = accept_hint(&suite.path);
    // Diffing is CPU work: keep it off the runtime's I/O threads.
    tokio::task::spawn_blocking(move || golden::compare(&path_buf, &file, mode, &hint))
        .await
        .unwrap_or_else(|e| GoldenCheck {
            path: path.to_path_buf(),
            status: result::GoldenStatus::Invalid,
            expected: String::new(),
            actual: String::new(),
            scores: Vec::new(),
            pending: None,
            message: format!("internal error while comparing the golden: {e}"),
        })
}

/// A passing dialogue removes its stale pending file; a failing one records the first run that
/// did not match its golden as `<slug>.yaml.new`.
async fn settle_pending(golden_path: &Path, outcome: Outcome, attempts: &mut [Attempt]) {
    if outcome.is_pass() {
        let path = golden_path.to_path_buf();
        let _ = tokio::task::spawn_blocking(move || golden::remove_pending(&path)).await;
        return;
    }
    let Some(check) = attempts
        .iter_mut()
        .filter_map(|a| a.golden.as_mut())
        .find(|c| c.status.is_failure() && c.status != result::GoldenStatus::Invalid)
    else {
        return;
    };
    let mut owned = check.clone();
    let written = tokio::task::spawn_blocking(move || {
        let res = golden::write_pending(&mut owned);
        (owned, res)
    })
    .await;
    match written {
        Ok((owned, Ok(()))) => *check = owned,
        Ok((_, Err(e))) => {
            check.message.push_str(&format!(
                "\n(could not write the pending golden beside {}: {e})",
                check.path.display()
            ));
        }
        Err(_) => {}
    }
}

impl Attempt {
    /// Ends the attempt as an error: there is no answer to judge at `turn`.
    fn errored(&mut self, turn: usize, span: crate::diag::Span, message: String) {
        self.outcome = Outcome::Error;
        self.error = Some(RunError {
            turn,
            span,
            message,
        });
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

/// Why a turn got no reply to judge.
enum TurnError {
    Send(SendError),
    Cancelled,
}

async fn run_attempt(ctx: &Ctx, suite: &Suite, d: &Dialogue, kind: AttemptKind) -> Attempt {
    let started = Instant::now();
    let mut attempt = Attempt {
        kind,
        session_id: None,
        outcome: Outcome::Pass,
        turns: Vec::new(),
        error: None,
        golden: None,
        duration: Duration::ZERO,
    };
    let client = resolve_base_url(ctx, &d.endpoint.base_url, &suite.path).and_then(|url| {
        ThinnestClient::new(ctx.http.clone(), &url, &d.endpoint).map_err(|e| e.to_string())
    });
    let client = match client {
        Ok(c) => c,
        Err(message) => {
            attempt.errored(0, d.span, message);
            return attempt;
        }
    };
    let limiter = ctx.limiters.get(&d.endpoint.limiter_key()).cloned();
    let mut values: BTreeMap<String, String> = d.vars.clone();
    let mut session = match d.session {
        SessionMode::Fresh => Some(session::new_id()),
        SessionMode::Server => None,
    };
    attempt.session_id = session.clone();

    for (i, turn) in d.turns.iter().enumerate() {
        let message = template::expand_template(&turn.user, &values);
        let expected = expect::expected_statuses(&turn.expect);
        let mut tr = TurnResult {
            span: turn.span,
            message: ctx.redactor.redact_string(message.clone()),
            status: None,
            text: None,
            detail: None,
            shape: None,
            usage: Default::default(),
            latency: Duration::ZERO,
            retries: 0,
            failures: Vec::new(),
        };
        let (res, retries) = send_with_retries(
            ctx,
            &client,
            limiter.as_deref(),
            &message,
            session.as_deref(),
            &expected,
            d.endpoint.retries,
        )
        .await;
        tr.retries = retries;
        let reply = match res {
            Ok(r) => r,
            Err(TurnError::Cancelled) => {
                attempt.outcome = Outcome::NotRun;
                attempt.turns.push(tr);
                break;
            }
            Err(TurnError::Send(e)) => {
                let message = format!("turn {}: {e}{}", i + 1, after_retries(retries));
                attempt.errored(i, turn.span, ctx.redactor.redact_string(message));
                attempt.turns.push(tr);
                break;
            }
        };
        tr.status = Some(reply.status);
        tr.latency = reply.latency;
        // The text to judge, or why there is none (which ends the attempt as an error).
        let judged: Result<String, String> = match reply.body {
            ReplyBody::Agent(a) => {
                tr.shape = a.shape;
                tr.usage = a.usage;
                if session.is_none() {
                    session = a.session_id.clone();
                    attempt.session_id = session.clone();
                }
                let judged = if session.is_none() && i + 1 < d.turns.len() {
                    // Sending the next turn without an id would silently start a new
                    // conversation and judge it as if it were this one.
                    Err(format!(
                        "turn {}: the server returned no session_id, so turn {} cannot continue the session (session: server)",
                        i + 1,
                        i + 2
                    ))
                } else {
                    Ok(a.text.clone())
                };
                tr.text = Some(a.text);
                judged
            }
            ReplyBody::Error { detail } => {
                tr.detail = detail.map(|d| ctx.redactor.redact_string(d));
                if expected.contains(&reply.status) {
                    Ok(tr.detail.clone().unwrap_or_default())
                } else {
                    let detail = tr
                        .detail
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default();
                    Err(format!(
                        "turn {}: unexpected status {}{detail}{}",
                        i + 1,
                        reply.status,
                        after_retries(retries)
                    ))
                }
            }
            ReplyBody::Malformed { reason } => Err(format!(
                "turn {}: malformed reply (status {}): {reason}",
                i + 1,
                reply.status
            )),
        };
        let judged_text = match judged {
            Ok(text) => text,
            Err(message) => {
                if let Some(text) = tr.text.take() {
                    tr.text = Some(ctx.redactor.redact_string(text));
                }
                attempt.errored(i, turn.span, ctx.redactor.redact_string(message));
                attempt.turns.push(tr);
                break;
            }
        };
        // Judge and capture on the raw text (so a capture carries what the agent said), but
        // store only the redacted text.
        let seen = Observed {
            status: reply.status,
            text: &judged_text,
            usage: tr.usage,
            shape: tr.shape,
            latency: tr.latency,
        };
        tr.failures = expect::judge(&turn.expect, turn.span, &seen, &values);
        for c in &turn.capture {
            match c.pattern.captures(&judged_text) {
                Some(caps) => {
                    let m = caps.get(1).or_else(|| caps.get(0));
                    values.insert(
                        c.name.clone(),
                        m.map(|m| m.as_str()).unwrap_or("").to_string(),
                    );
                }
                None => tr.failures.push(Failure {
                    key: "capture",
                    span: c.span,
                    message: format!(
                        "capture `{}`: /{}/ did not match the text",
                        c.name,
                        c.pattern.as_str()
                    ),
                }),
            }
        }
        for f in &mut tr.failures {
            f.message = ctx.redactor.redact_string(std::mem::take(&mut f.message));
        }
        if let Some(text) = tr.text.take() {
            tr.text = Some(ctx.redactor.redact_string(text));
        }
        if !tr.failures.is_empty() {
            attempt.outcome = Outcome::Fail;
        }
        attempt.turns.push(tr);
    }
    attempt.duration = started.elapsed();
    attempt
}

fn resolve_base_url(ctx: &Ctx, base: &BaseUrl, suite_path: &Path) -> Result<String, String> {
    match base {
        BaseUrl::Url(u) => Ok(u.clone()),
        BaseUrl::Mock => ctx
            .local
            .mock
            .clone()
            .ok_or_else(|| "the built-in mock agent is not running".to_string()),
        BaseUrl::Replay => ctx
            .local
            .replay
            .get(suite_path)
            .cloned()
            .ok_or_else(|| format!("no replay server is running for {}", suite_path.display())),
    }
}

/// Sends one message, retrying connect errors, timeouts, 429 and 5xx up to `retries` times,
/// never a status the turn expects and never 400/401/402/403/404/422. Returns the last
/// outcome and how many retries it took.
async fn send_with_retries(
    ctx: &Ctx,
    client: &ThinnestClient,
    limiter: Option<&Limiter>,
    message: &str,
    session: Option<&str>,
    expected: &[u16],
    retries: u32,
) -> (Result<Reply, TurnError>, u32) {
    let mut tries = 0;
    loop {
        if let Some(l) = limiter {
            tokio::select! {
                _ = l.acquire() => {}
                _ = ctx.cancel.cancelled() => return (Err(TurnError::Cancelled), tries),
            }
        }
        let res = tokio::select! {
            r = client.send(message, session) => r,
            _ = ctx.cancel.cancelled() => return (Err(TurnError::Cancelled), tries),
        };
        let delay = match &res {
            Err(e) if e.is_retryable() => Some(limit::backoff(tries)),
            Ok(r) if expected.contains(&r.status) => None,
            // A server that asks for a longer wait than the gate will sleep gets its answer
            // reported instead: retrying early would only earn another 429.
            Ok(r) if r.status == 429 || r.status >= 500 => {
                match limit::server_delay(&r.rate, SystemTime::now()) {
                    Some(d) if d > limit::MAX_RETRY_WAIT => None,
                    Some(d) => Some(d),
                    None => Some(limit::backoff(tries)),
                }
            }
            _ => None,
        };
        match delay {
            Some(d) if tries < retries => {
                tries += 1;
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = ctx.cancel.cancelled() => return (Err(TurnError::Cancelled), tries),
                }
            }
            _ => return (res.map_err(TurnError::Send), tries),
        }
    }
}
