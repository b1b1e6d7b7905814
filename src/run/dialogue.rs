//! One dialogue: its repeats and reruns, the verdict over them, and its golden — compared,
//! settled (a pending file written or removed) or blessed. Golden file work runs off the
//! async runtime's threads (diffs are CPU work, writes are blocking I/O).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::attempt::run_attempt;
use super::{Ctx, GoldenPolicy};
use crate::endpoint::Endpoint;
use crate::judge::golden;
use crate::record::{
    Attempt, AttemptKind, BlessAction, DialogueResult, GoldenCheck, GoldenStatus, Outcome,
    SuiteInfo,
};
use crate::suite::model::{Dialogue, GoldenMode, Suite};

pub(super) fn suite_info(suite: &Suite) -> Arc<SuiteInfo> {
    Arc::new(SuiteInfo {
        name: suite.name.clone(),
        path: suite.path.clone(),
    })
}

pub(super) fn base_result(suite: &Suite, d: &Dialogue, outcome: Outcome) -> DialogueResult {
    DialogueResult {
        suite: suite_info(suite),
        name: d.name.clone(),
        span: d.span,
        tags: d.tags.clone(),
        outcome,
        skip_reason: d.skip.clone(),
        attempts: Vec::new(),
        repeat: d.repeat,
        min_pass: d.min_pass,
        duration: std::time::Duration::ZERO,
        bless: None,
    }
}

/// How many runs and how many must pass, after `--repeat` / `--min-pass`.
fn repeat_and_min_pass(ctx: &Ctx, d: &Dialogue) -> (u32, u32) {
    let repeat = ctx.cfg.repeat.unwrap_or(d.repeat).max(1);
    let min_pass = ctx
        .cfg
        .min_pass
        .or(ctx.cfg.repeat.map(|_| repeat))
        .unwrap_or(d.min_pass)
        .clamp(1, repeat);
    (repeat, min_pass)
}

pub(super) async fn run_dialogue(
    ctx: &Ctx,
    endpoint: Result<Arc<dyn Endpoint>, String>,
    suite: &Suite,
    d: &Dialogue,
) -> DialogueResult {
    let golden_path = golden::golden_path(suite, &d.name);
    if d.skip.is_some() {
        let mut r = base_result(suite, d, Outcome::Skip);
        if ctx.cfg.golden == GoldenPolicy::Bless && d.golden != GoldenMode::Off {
            r.bless = Some(BlessAction::LeftAlone(golden_path));
        }
        return r;
    }
    let started = Instant::now();
    let (repeat, min_pass) = repeat_and_min_pass(ctx, d);
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
            let mut attempt = run_attempt(ctx, endpoint.clone(), d, kind).await;
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
            r.bless = Some(bless(suite, d, &golden_path, &attempts).await);
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
    tokio::task::spawn_blocking(move || golden::compare(&path_buf, &file, mode))
        .await
        .unwrap_or_else(|e| {
            let mut check = GoldenCheck::new(path.to_path_buf(), String::new());
            check.status = GoldenStatus::Invalid;
            check.problem = Some(format!("internal error while comparing the golden: {e}"));
            check
        })
}

/// `--bless`: the first completed run becomes the golden; an errored or skipped dialogue's
/// golden is left alone.
async fn bless(suite: &Suite, d: &Dialogue, path: &Path, attempts: &[Attempt]) -> BlessAction {
    let completed = attempts
        .iter()
        .find(|a| matches!(a.outcome, Outcome::Pass | Outcome::Fail));
    let Some(a) = completed else {
        return BlessAction::LeftAlone(path.to_path_buf());
    };
    let file = golden::transcript(suite, &d.name, &a.turns);
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || golden::bless(&owned, &file))
        .await
        .unwrap_or_else(|e| BlessAction::Failed(path.to_path_buf(), e.to_string()))
}

/// A passing dialogue removes its stale pending file; a failing one records the first run that
/// did not match its golden as `<slug>.yaml.new` — also when the golden is broken (a hand edit
/// gone wrong), so the `accept` the message suggests has something to accept.
async fn settle_pending(golden_path: &Path, outcome: Outcome, attempts: &mut [Attempt]) {
    if outcome.is_pass() {
        let path = golden_path.to_path_buf();
        let _ = tokio::task::spawn_blocking(move || golden::remove_pending(&path)).await;
        return;
    }
    let Some(check) = attempts
        .iter_mut()
        .filter_map(|a| a.golden.as_mut())
        .find(|c| c.status.is_failure() && !c.actual.is_empty())
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
        Ok((_, Err(e))) => check.pending_error = Some(e.to_string()),
        Err(_) => {}
    }
}
