//! Running dialogues: concurrency, retries, rate limits, goldens, cancellation.
//!
//! The runner emits [`Event`]s and returns a [`RunReport`]; it never prints. It talks to
//! endpoints through the `endpoint` traits only (it names no endpoint kind) and to the judge
//! through plain functions; its results are `record` data. Every dialogue gets a result,
//! whatever happens to the others: a transport error, a cancelled run or a failed golden write
//! is recorded on that dialogue and the run goes on.
//!
//! - [`schedule`]: jobs, `--fail-fast`, cancellation, panics;
//! - [`dialogue`]: repeats, reruns, the verdict, goldens settled or blessed;
//! - [`attempt`]: one execution's turn pipeline, redacted once at its end;
//! - [`retry`] and [`limit`]: retries, backoff, the shared rate limiter.

mod attempt;
mod dialogue;
pub mod limit;
mod retry;
mod schedule;
pub mod select;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

pub use crate::endpoint::LocalServers;
pub use crate::record::Event;
use crate::record::{DialogueResult, RunReport};
use crate::redact::Redactor;
use crate::suite::model::Suite;
use limit::Limiter;

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

/// One selected dialogue.
#[derive(Debug, Clone)]
pub struct Job {
    pub suite: Arc<Suite>,
    pub dialogue: usize,
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
    let ctx = Arc::new(Ctx {
        http: crate::endpoint::transport::http_client(cfg.jobs),
        local,
        limiters: limiters(&jobs),
        redactor,
        cfg,
        cancel: cancel.clone(),
    });
    let results = schedule::schedule(ctx, &jobs, &events).await;
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

/// One limiter per endpoint that has a `rate_limit`, shared by every dialogue that uses it.
fn limiters(jobs: &[Job]) -> HashMap<String, Arc<Limiter>> {
    let mut rates: HashMap<String, f64> = HashMap::new();
    for job in jobs {
        let ep = &job.suite.dialogues[job.dialogue].endpoint;
        if let Some(rate) = ep.rate_limit {
            let r = rates.entry(ep.limiter_key()).or_insert(rate);
            // Two suites naming one endpoint with different rates: the stricter one wins.
            *r = r.min(rate);
        }
    }
    rates
        .into_iter()
        .map(|(key, rate)| (key, Arc::new(Limiter::per_second(rate))))
        .collect()
}

/// A dialogue that never started (fail-fast, Ctrl-C, or a task that panicked).
fn not_run(job: &Job) -> DialogueResult {
    dialogue::base_result(
        &job.suite,
        &job.suite.dialogues[job.dialogue],
        crate::record::Outcome::NotRun,
    )
}
