//! Scheduling: at most `jobs` dialogues at once, results kept in the jobs' order, `--fail-fast`
//! and Ctrl-C stop starting new ones, and a dialogue that panics becomes an error instead of
//! taking the run down.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::dialogue::{base_result, run_dialogue};
use super::{Ctx, Event, Job, Keep};
use crate::endpoint::{self, Endpoint};
use crate::record::{Attempt, AttemptKind, DialogueResult, ErrorKind, Outcome, RunError};

/// One endpoint per distinct endpoint model and suite (replay servers are per suite), built
/// once: URLs parsed and headers made before the first request, not per attempt.
type Endpoints = HashMap<(usize, PathBuf), Result<Arc<dyn Endpoint>, String>>;

fn endpoints(ctx: &Ctx, jobs: &[Job]) -> Endpoints {
    let mut out = Endpoints::new();
    for job in jobs {
        let ep = &job.suite.dialogues[job.dialogue].endpoint;
        let key = (Arc::as_ptr(ep) as usize, job.suite.path.clone());
        out.entry(key)
            .or_insert_with(|| endpoint::connect(&ctx.http, &ctx.local, ep, &job.suite.path));
    }
    out
}

/// Runs every job and returns the results in the jobs' order (`None` for one never finished).
pub(super) async fn schedule(
    ctx: Arc<Ctx>,
    jobs: &[Job],
    events: &UnboundedSender<Event>,
    keep: Keep<'_>,
) -> Vec<Option<DialogueResult>> {
    let built = endpoints(&ctx, jobs);
    let mut results: Vec<Option<Arc<DialogueResult>>> = vec![None; jobs.len()];
    let mut set: JoinSet<(usize, DialogueResult)> = JoinSet::new();
    let mut next = 0;
    let mut stop_starting = false;
    let width = ctx.cfg.jobs.max(1);
    loop {
        while !stop_starting && !ctx.cancel.is_cancelled() && set.len() < width && next < jobs.len()
        {
            let job = jobs[next].clone();
            let ep = &job.suite.dialogues[job.dialogue].endpoint;
            let endpoint = built
                .get(&(Arc::as_ptr(ep) as usize, job.suite.path.clone()))
                .cloned()
                .unwrap_or_else(|| Err("the endpoint was not built".to_string()));
            set.spawn(one(ctx.clone(), job, endpoint, events.clone(), next));
            next += 1;
        }
        let Some(joined) = set.join_next().await else {
            break;
        };
        // Panics are caught inside the task; a join error means the task was cancelled, and
        // its slot is reported as not run.
        if let Ok((index, result)) = joined {
            if ctx.cfg.fail_fast && matches!(result.outcome, Outcome::Fail | Outcome::Error) {
                stop_starting = true;
            }
            let result = Arc::new(result);
            let _ = events.send(Event::DialogueFinished(result.clone()));
            results[index] = Some(keep(index, result));
        }
    }
    // The console has printed (and let go of) all but the last few by now; those few are
    // copied rather than waited for.
    results
        .into_iter()
        .map(|r| r.map(|r| Arc::try_unwrap(r).unwrap_or_else(|shared| (*shared).clone())))
        .collect()
}

async fn one(
    ctx: Arc<Ctx>,
    job: Job,
    endpoint: Result<Arc<dyn Endpoint>, String>,
    events: UnboundedSender<Event>,
    index: usize,
) -> (usize, DialogueResult) {
    let d = &job.suite.dialogues[job.dialogue];
    let _ = events.send(Event::DialogueStarted {
        name: job.suite.display_name(d),
    });
    // A bug that panics in one dialogue must not lose the others, nor pass the gate: the
    // dialogue becomes an error that says what happened.
    let outcome = AssertUnwindSafe(run_dialogue(&ctx, endpoint, &job.suite, d))
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
                kind: ErrorKind::Internal(msg),
            }),
            golden: None,
            duration: Duration::ZERO,
        });
        r
    });
    (index, result)
}
