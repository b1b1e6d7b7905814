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
mod judging;
pub mod limit;
mod retry;
mod schedule;
pub mod select;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

pub use crate::endpoint::LocalServers;
use crate::judge::cache::VerdictCache;
use crate::judge::grader::{Grader, Stats};
pub use crate::record::Event;
use crate::record::{DialogueResult, JudgeTotals, RunReport};
use crate::redact::Redactor;
use crate::suite::model::{MinPass, Suite};
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
    /// `--repeat`: every dialogue runs this many times, keeping its own `min_pass`.
    pub repeat: Option<u32>,
    /// `--min-pass K|baseline`: sets every dialogue's gate.
    pub min_pass: Option<MinPass>,
    /// `--alpha`: the baseline gate's significance level.
    pub alpha: Option<f64>,
    /// `--reruns N`.
    pub reruns: u32,
    /// Read and write the judge's verdict cache (`--no-cache` turns it off).
    pub judge_cache: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            jobs: 8,
            fail_fast: false,
            golden: GoldenPolicy::Compare,
            repeat: None,
            min_pass: None,
            alpha: None,
            reruns: 0,
            judge_cache: true,
        }
    }
}

/// One selected dialogue.
#[derive(Debug, Clone)]
pub struct Job {
    pub suite: Arc<Suite>,
    pub dialogue: usize,
}

/// Each suite's LLM judge, when it has a `judge:` block (or why it could not be built), by
/// the suite's [`suite_key`].
type Graders = HashMap<usize, Result<Arc<Grader>, String>>;

/// Which suite a grader is for: its address, which every job of the suite shares (one
/// `Arc<Suite>`). Found for each dialogue, where hashing the suite's path cost some 500
/// instructions, a tenth of what a cached verdict costs in all.
fn suite_key(suite: &Suite) -> usize {
    std::ptr::from_ref(suite) as usize
}

/// Everything the dialogue tasks share.
struct Ctx {
    http: crate::endpoint::transport::Client,
    local: LocalServers,
    limiters: HashMap<String, Arc<Limiter>>,
    graders: Graders,
    redactor: Redactor,
    cfg: RunConfig,
    cancel: CancellationToken,
}

/// What the runner keeps of each finished dialogue, given its index in the jobs and the result
/// the console was sent: the result itself, or less once its report parts are written (see
/// `report::spill`).
pub type Keep<'a> = &'a dyn Fn(usize, Arc<DialogueResult>) -> Arc<DialogueResult>;

/// Runs the jobs, at most `cfg.jobs` dialogues at once, and returns every dialogue's result in
/// the jobs' order, as `keep` kept it. `local` names the in-process servers for `mock` and
/// `replay` endpoints.
pub async fn run(
    jobs: Vec<Job>,
    cfg: RunConfig,
    redactor: Redactor,
    local: LocalServers,
    events: UnboundedSender<Event>,
    cancel: CancellationToken,
    keep: Keep<'_>,
) -> RunReport {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let _ = events.send(Event::Started { total: jobs.len() });
    let http = crate::endpoint::transport::Client::new(cfg.jobs);
    let limiters = limiters(&jobs);
    let stats = Arc::new(Stats::default());
    let (graders, caches) = graders(
        &http, &local, &jobs, &limiters, &cfg, &redactor, &stats, &cancel,
    );
    let ctx = Arc::new(Ctx {
        http,
        local,
        limiters,
        graders,
        redactor,
        cfg,
        cancel: cancel.clone(),
    });
    let policy = ctx.cfg.golden;
    let results = schedule::schedule(ctx, &jobs, &events, keep).await;
    // Interrupted or not: what the run learned is on disk already, and the index only saves
    // the next run its reads.
    for cache in caches {
        cache.save();
    }
    let dialogues = results
        .into_iter()
        .zip(&jobs)
        .map(|(r, job)| {
            r.unwrap_or_else(|| {
                let result = not_run(job, policy);
                // A `skip:` dialogue the run stopped before is skipped all the same, and has
                // its line as one reached is (the console lines only the dialogues that
                // never started).
                if result.outcome == crate::record::Outcome::Skip {
                    let _ = events.send(Event::DialogueFinished(Arc::new(result.clone())));
                }
                result
            })
        })
        .collect();
    RunReport {
        started_at,
        duration: started.elapsed(),
        interrupted: cancel.is_cancelled(),
        dialogues,
        warnings: Vec::new(),
        judge: JudgeTotals {
            asked: stats.asked.load(Ordering::Relaxed),
            cached: stats.cached.load(Ordering::Relaxed),
        },
        nothing_selected: false,
        partition: None,
    }
}

/// One grader per suite whose dialogues have a judge, built before the first request, and
/// the verdict caches they use: one per cache directory (suites under one `agenttest.yaml`
/// share it), so its index is read once and saved once, with every suite's verdicts.
#[allow(clippy::too_many_arguments)]
fn graders(
    http: &crate::endpoint::transport::Client,
    local: &LocalServers,
    jobs: &[Job],
    limiters: &HashMap<String, Arc<Limiter>>,
    cfg: &RunConfig,
    redactor: &Redactor,
    stats: &Arc<Stats>,
    cancel: &CancellationToken,
) -> (Graders, Vec<Arc<VerdictCache>>) {
    let mut out = HashMap::new();
    let mut caches: HashMap<PathBuf, Arc<VerdictCache>> = HashMap::new();
    for job in jobs {
        let Some(judge) = &job.suite.judge else {
            continue;
        };
        out.entry(suite_key(&job.suite)).or_insert_with(|| {
            let cache = cfg.judge_cache.then(|| {
                let dir = judging::cache_dir(&job.suite.path);
                caches
                    .entry(dir.clone())
                    .or_insert_with(|| Arc::new(VerdictCache::open(dir)))
                    .clone()
            });
            judging::grader(
                http,
                local,
                judge,
                &job.suite.path,
                limiters.get(&judge.limiter_key()).cloned(),
                cache,
                redactor.clone(),
                stats.clone(),
                cancel.clone(),
            )
            .map(Arc::new)
        });
    }
    (out, caches.into_values().collect())
}

/// One limiter per endpoint that has a `rate_limit`, shared by every dialogue that uses it.
fn limiters(jobs: &[Job]) -> HashMap<String, Arc<Limiter>> {
    let mut rates: HashMap<String, f64> = HashMap::new();
    let endpoints = jobs.iter().flat_map(|job| {
        let ep = &job.suite.dialogues[job.dialogue].endpoint;
        std::iter::once(ep).chain(job.suite.judge.as_ref())
    });
    for ep in endpoints {
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

/// A dialogue that never started (fail-fast, Ctrl-C, or a task that panicked); a `skip:`
/// one is skipped all the same.
fn not_run(job: &Job, policy: GoldenPolicy) -> DialogueResult {
    let d = &job.suite.dialogues[job.dialogue];
    if d.skip.is_some() {
        return dialogue::skipped(&job.suite, d, policy);
    }
    dialogue::base_result(&job.suite, d, crate::record::Outcome::NotRun)
}
