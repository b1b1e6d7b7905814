//! One dialogue: its repeats and reruns, the verdict over them, and its golden — compared,
//! settled (a pending file written or removed) or blessed. Golden file work runs off the
//! async runtime's threads (diffs are CPU work, writes are blocking I/O).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use super::attempt::{run_attempt, GraderRef};
use super::judging;
use super::{Ctx, GoldenPolicy};
use crate::endpoint::Endpoint;
use crate::judge::golden;
use crate::record::{
    Attempt, AttemptKind, BaselineGate, BlessAction, DialogueResult, Difference, ErrorKind,
    GoldenCheck, GoldenStatus, Outcome, RunError, SuiteInfo,
};
use crate::suite::model::{Dialogue, GoldenMode, MinPass, Suite};

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
        row: d.row,
        tags: d.tags.clone(),
        endpoint_kind: d.endpoint.kind.name(),
        outcome,
        skip_reason: d.skip.clone(),
        attempts: Vec::new(),
        repeat: d.repeat,
        min_pass: d.min_pass.count().unwrap_or(d.repeat),
        baseline: None,
        duration: std::time::Duration::ZERO,
        bless: None,
    }
}

/// The result of a `skip:` dialogue, which sends nothing: the same whether its turn came or
/// the run stopped before it (fail-fast, Ctrl-C), since neither changes what it is.
pub(super) fn skipped(suite: &Suite, d: &Dialogue, policy: GoldenPolicy) -> DialogueResult {
    let mut r = base_result(suite, d, Outcome::Skip);
    if policy == GoldenPolicy::Bless && d.golden != GoldenMode::Off {
        r.bless = Some(BlessAction::LeftAlone(golden::golden_path(suite, &d.name)));
    }
    r
}

/// How a dialogue's runs become its verdict.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Gate {
    /// At least this many runs pass.
    Count(u32),
    /// Not significantly fewer passes than the blessed baseline, at this alpha.
    Baseline(f64),
}

/// How many runs, and the gate, after `--repeat` / `--min-pass` / `--alpha`. `--repeat N`
/// alone keeps the dialogue's own `min_pass`, capped at N (a dialogue that needs all of its
/// runs needs all N); only `--min-pass` sets it for every dialogue, but for `--min-pass
/// baseline` on a dialogue with `golden: false`, which has no golden to hold a baseline and
/// would fail every run: it keeps its own.
fn repeat_and_gate(ctx: &Ctx, d: &Dialogue) -> (u32, Gate) {
    let repeat = ctx.cfg.repeat.unwrap_or(d.repeat).max(1);
    let own = match d.min_pass {
        MinPass::Count(k) if k >= d.repeat => MinPass::Count(repeat),
        other => other,
    };
    let chosen = match ctx.cfg.min_pass {
        Some(MinPass::Baseline) if d.golden == GoldenMode::Off => own,
        Some(m) => m,
        None => own,
    };
    let gate = match chosen {
        MinPass::Count(k) => Gate::Count(k.clamp(1, repeat)),
        MinPass::Baseline => Gate::Baseline(
            ctx.cfg
                .alpha
                .or(d.alpha)
                .unwrap_or(crate::judge::baseline::DEFAULT_ALPHA),
        ),
    };
    (repeat, gate)
}

/// Everything one dialogue's runs share, decided before the first of them.
struct Plan<'a> {
    ctx: &'a Ctx,
    endpoint: Result<Arc<dyn Endpoint>, String>,
    grader: GraderRef<'a>,
    suite: &'a Suite,
    d: &'a Dialogue,
    golden_path: PathBuf,
    repeat: u32,
    gate: Gate,
    /// Compare each completed run with the golden.
    golden_on: bool,
    /// The baseline recorded in the golden, for `Gate::Baseline`, or why it cannot be read.
    recorded: Result<Option<golden::Baseline>, String>,
}

pub(super) async fn run_dialogue(
    ctx: &Ctx,
    endpoint: Result<Arc<dyn Endpoint>, String>,
    suite: &Suite,
    d: &Dialogue,
) -> DialogueResult {
    if d.skip.is_some() {
        return skipped(suite, d, ctx.cfg.golden);
    }
    let golden_path = golden::golden_path(suite, &d.name);
    let started = Instant::now();
    let (repeat, gate) = repeat_and_gate(ctx, d);
    let recorded = match gate {
        Gate::Baseline(_) => {
            let path = golden_path.clone();
            tokio::task::spawn_blocking(move || golden::recorded_baseline(&path))
                .await
                .unwrap_or_else(|e| Err(format!("the golden could not be read: {e}")))
        }
        Gate::Count(_) => Ok(None),
    };
    let plan = Plan {
        ctx,
        endpoint,
        grader: ctx.graders.get(&super::suite_key(suite)),
        suite,
        d,
        golden_path,
        repeat,
        gate,
        golden_on: d.golden != GoldenMode::Off && ctx.cfg.golden == GoldenPolicy::Compare,
        recorded,
    };
    let (mut attempts, outcome, gated, deciding) = plan.rounds().await;
    let mut r = base_result(suite, d, outcome);
    r.repeat = repeat;
    r.min_pass = match gate {
        Gate::Count(k) => k,
        Gate::Baseline(_) => 0,
    };
    r.baseline = gated;
    match ctx.cfg.golden {
        GoldenPolicy::Compare if plan.golden_on => {
            settle_pending(&plan.golden_path, outcome, &mut attempts, deciding).await;
        }
        GoldenPolicy::Bless if d.golden != GoldenMode::Off => {
            r.bless = Some(bless(suite, d, &plan.golden_path, &attempts, repeat, outcome).await);
        }
        _ => {}
    }
    r.attempts = attempts;
    r.duration = started.elapsed();
    r.compact();
    r
}

impl Plan<'_> {
    /// The first round of `repeat` runs, then reruns while the verdict is not a pass.
    /// Also where the deciding round's runs start in the attempts: the last round's, unless
    /// Ctrl-C cut it short (then the round before stands).
    async fn rounds(&self) -> (Vec<Attempt>, Outcome, Option<BaselineGate>, usize) {
        let mut attempts: Vec<Attempt> = Vec::new();
        let mut outcome = Outcome::NotRun;
        let mut gated = None;
        let mut deciding = 0;
        for round in 0..=self.ctx.cfg.reruns {
            let group = self.round(round).await;
            let (verdict, baseline) = match self.gate {
                Gate::Count(k) => (group_verdict(&group, k), None),
                // A bless with repeats records the pass rate: there is nothing to compare
                // it with yet, and the old baseline is the one being replaced.
                Gate::Baseline(_) if self.ctx.cfg.golden == GoldenPolicy::Bless => {
                    (blessed_verdict(&group), None)
                }
                Gate::Baseline(alpha) => baseline_verdict(&group, &self.recorded, alpha),
            };
            gated = baseline.or(gated);
            if verdict != Outcome::NotRun {
                deciding = attempts.len();
            }
            attempts.extend(group);
            outcome = match (round, verdict) {
                (0, v) => v,
                (_, Outcome::Pass) => Outcome::Flaky,
                (_, Outcome::NotRun) => outcome,
                (_, v) => v,
            };
            if outcome.is_pass() || outcome == Outcome::NotRun || self.ctx.cancel.is_cancelled() {
                break;
            }
        }
        (attempts, outcome, gated, deciding)
    }

    /// One round: `repeat` runs, each compared with the golden; Ctrl-C cuts it short.
    async fn round(&self, round: u32) -> Vec<Attempt> {
        let mut group = Vec::new();
        for i in 0..self.repeat {
            let kind = if round == 0 {
                AttemptKind::Run { index: i }
            } else {
                AttemptKind::Rerun {
                    index: (round - 1) * self.repeat + i,
                }
            };
            let endpoint = self.endpoint.clone();
            let mut attempt = run_attempt(self.ctx, endpoint, self.grader, self.d, kind).await;
            // Only a run that went to its end has a transcript to compare: one that failed
            // and then errored, or that a missed capture cut short, stopped before it.
            let completed = attempt.went_to_end();
            if self.golden_on
                && completed
                && matches!(attempt.outcome, Outcome::Pass | Outcome::Fail)
            {
                self.check_golden(&mut attempt).await;
            }
            let cut = attempt.outcome == Outcome::NotRun;
            group.push(attempt);
            if cut {
                break;
            }
        }
        group
    }

    /// Compares a completed run with the golden (asking the judge in `mode: judge`). Against a
    /// baseline a run passes when its expectations hold: the comparison is shown as its own
    /// tally and does not fail the run (SPEC §9.3).
    async fn check_golden(&self, attempt: &mut Attempt) {
        let mut check = compare_golden(self.suite, self.d, &self.golden_path, attempt);
        if self.d.golden == GoldenMode::Judge {
            if let Err((turn, reason)) = judge_golden(self.grader, &mut check, attempt).await {
                if self.ctx.cancel.is_cancelled() {
                    // Ctrl-C cut the comparison short: not run, and no pending golden.
                    attempt.outcome = Outcome::NotRun;
                    return;
                }
                if matches!(self.gate, Gate::Baseline(_)) {
                    // Against a baseline the comparison is only a tally: a judge that could
                    // not compare leaves the run a mismatch saying why, and the run stands on
                    // its expectations (SPEC §9.3).
                    check.differences.push(Difference::Judged {
                        turn: turn + 1,
                        reason: format!("the judge could not compare this turn: {reason}"),
                    });
                    attempt.golden = Some(check);
                    return;
                }
                attempt.outcome = Outcome::Error;
                let span = attempt.turns.get(turn).map_or(self.d.span, |t| t.span);
                attempt.error = Some(RunError {
                    turn,
                    span,
                    kind: ErrorKind::Judge { reason },
                });
            }
        }
        let golden_fails = !matches!(self.gate, Gate::Baseline(_));
        if check.status.is_failure() && golden_fails && attempt.outcome != Outcome::Error {
            attempt.outcome = Outcome::Fail;
        }
        attempt.golden = Some(check);
    }
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

/// A run that was judged whole: passed, or failed without an error ending it early (one that
/// failed and then errored counts as an error here, as it has no transcript to bless).
fn judged(a: &Attempt) -> bool {
    a.outcome == Outcome::Pass || (a.outcome == Outcome::Fail && a.error.is_none())
}

/// A baseline dialogue under `--bless`: it passes when every run could be judged (its pass
/// rate is what is recorded). A round in which some run errored records nothing: a baseline
/// of the runs that happened to get through an outage (one run of twenty) would be one no
/// later gate could fail, and nothing would say so. The golden is left alone and the
/// dialogue is an error, as any bless of a run that could not be judged is.
fn blessed_verdict(group: &[Attempt]) -> Outcome {
    if group.iter().any(|a| a.outcome == Outcome::NotRun) {
        Outcome::NotRun
    } else if group.iter().all(judged) {
        // Each run judged, but none went to its end (a missed capture cut every one short):
        // there is no transcript to record the baseline with, and the agent answered wrongly.
        if group.iter().any(Attempt::went_to_end) {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    } else {
        Outcome::Error
    }
}

/// The baseline gate over one round of runs: pass unless this round passes significantly less
/// often than the recorded baseline; no recorded baseline (or one that cannot be read) fails.
/// A run that errored says nothing about the agent, but nothing for it either: the gate is
/// decided as if each such run had passed and as if each had failed, and when the two
/// disagree (or no run could be judged) it could not judge, which is an error (SPEC §9.2:
/// never a pass). So an outage that leaves one run of twenty is never a pass on that one.
fn baseline_verdict(
    group: &[Attempt],
    recorded: &Result<Option<golden::Baseline>, String>,
    alpha: f64,
) -> (Outcome, Option<BaselineGate>) {
    if group.iter().any(|a| a.outcome == Outcome::NotRun) {
        return (Outcome::NotRun, None);
    }
    let judged = group
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Pass | Outcome::Fail))
        .count() as u32;
    let passed = group.iter().filter(|a| a.outcome == Outcome::Pass).count() as u32;
    let errored = group.len() as u32 - judged;
    let known = recorded.as_ref().ok().copied().flatten();
    let mut gate = BaselineGate {
        recorded: known.map(|b| (b.runs, b.passed)),
        problem: recorded.as_ref().err().cloned(),
        runs: judged,
        passed,
        errored,
        p_value: None,
        alpha,
    };
    if judged == 0 {
        return (Outcome::Error, Some(gate));
    }
    let Some(b) = known else {
        return (Outcome::Fail, Some(gate));
    };
    let v = crate::judge::baseline::verdict(b.runs, b.passed, judged, passed, alpha);
    gate.p_value = Some(v.p_value);
    let best = crate::judge::baseline::verdict(
        b.runs,
        b.passed,
        judged + errored,
        passed + errored,
        alpha,
    );
    let worst = crate::judge::baseline::verdict(b.runs, b.passed, judged + errored, passed, alpha);
    let outcome = match (best.regressed, worst.regressed) {
        (true, _) => Outcome::Fail,
        (false, false) => Outcome::Pass,
        (false, true) => Outcome::Error,
    };
    (outcome, Some(gate))
}

/// `golden: {mode: judge}`: each turn whose text differs from the golden's is asked of the
/// judge ("same facts, same action?"); the turns it accepts stop being differences. A judge
/// that cannot answer leaves the check as it was and names the turn (0-based) it could not
/// judge.
async fn judge_golden(
    grader: GraderRef<'_>,
    check: &mut GoldenCheck,
    attempt: &Attempt,
) -> Result<(), (usize, String)> {
    if check.status != GoldenStatus::Mismatch {
        return Ok(());
    }
    let first = check.differences.iter().find_map(|d| match d {
        Difference::AgentText { turn } => Some(turn - 1),
        _ => None,
    });
    let grader = match grader {
        Some(Ok(g)) => g.clone(),
        Some(Err(e)) => return Err((first.unwrap_or(0), e.clone())),
        None => {
            let reason = "no judge is configured for this suite".to_string();
            return Err((first.unwrap_or(0), reason));
        }
    };
    let golden = golden::parse(&crate::diag::SourceFile::new(
        &check.path,
        check.expected.as_str(),
    ))
    .map_err(|d| (first.unwrap_or(0), d.render(false)))?;
    let mut kept = Vec::new();
    for diff in &check.differences {
        let Difference::AgentText { turn } = *diff else {
            kept.push(diff.clone());
            continue;
        };
        let (Some(g), Some(t)) = (golden.turns.get(turn - 1), attempt.turns.get(turn - 1)) else {
            kept.push(diff.clone());
            continue;
        };
        let said = judging::conversation(&attempt.turns[..turn - 1], &t.message);
        let v = grader
            .golden(&g.agent, &said, t.text.as_deref().unwrap_or(""))
            .await
            .map_err(|reason| (turn - 1, reason))?;
        if !v.pass {
            kept.push(Difference::Judged {
                turn,
                reason: v.reason.to_string(),
            });
        }
    }
    check.differences = kept;
    if check.differences.is_empty() {
        check.status = GoldenStatus::Match;
    }
    Ok(())
}

/// Read and compared right here, not on the blocking pool: a golden is a small local file
/// (its read is capped), and handing it to another thread and back costs two wake-ups, more
/// than the read itself, on every dialogue.
fn compare_golden(suite: &Suite, d: &Dialogue, path: &Path, attempt: &Attempt) -> GoldenCheck {
    let file = golden::transcript(suite, &d.name, d.golden, &attempt.turns);
    golden::compare(path, &file, d.golden, &suite.normalize)
}

/// `--bless`: the first run that passed becomes the golden (the first completed one when none
/// passed); an errored or skipped dialogue's golden is left alone. With repeats, the golden
/// also records how many runs of the deciding round passed: the baseline a later
/// `min_pass: baseline` gate compares with.
///
/// A dialogue that Ctrl-C cut short (`NotRun`) is left alone too, however many of its runs had
/// finished: its baseline would count only those. A run that a missed capture ended early is
/// judged, failed, but did not go to its end: it is never the golden's transcript.
async fn bless(
    suite: &Suite,
    d: &Dialogue,
    path: &Path,
    attempts: &[Attempt],
    repeat: u32,
    outcome: Outcome,
) -> BlessAction {
    // A run that met its expectations, when one did: the golden is the reviewed answer later
    // runs are held to, and a run the harness has just judged wrong (a refusal among passes)
    // would fail every good run after it, or, compared by facts, check nothing at all.
    let completed = attempts
        .iter()
        .find(|a| a.outcome == Outcome::Pass)
        .or_else(|| {
            // A run that failed and then errored, or that a missed capture cut short, did
            // not go to its end: not a transcript.
            attempts
                .iter()
                .find(|a| a.outcome == Outcome::Fail && a.went_to_end())
        });
    let Some(a) = completed.filter(|_| !matches!(outcome, Outcome::NotRun | Outcome::Error)) else {
        return BlessAction::LeftAlone(path.to_path_buf());
    };
    let mut file = golden::transcript(suite, &d.name, d.golden, &a.turns);
    if repeat > 1 {
        // The round whose verdict stands (the last: rounds are stored in order, and one that
        // Ctrl-C cut short was left alone above), not the first, whose errored runs a rerun
        // round replaced.
        let round = &attempts[attempts.len().saturating_sub(repeat as usize)..];
        let judged: Vec<&Attempt> = round.iter().filter(|a| judged(a)).collect();
        file.baseline = Some(golden::Baseline {
            runs: judged.len() as u32,
            passed: judged.iter().filter(|a| a.outcome == Outcome::Pass).count() as u32,
        });
    }
    let owned = path.to_path_buf();
    let rules = suite.normalize.clone();
    tokio::task::spawn_blocking(move || golden::bless(&owned, &file, &rules))
        .await
        .unwrap_or_else(|e| BlessAction::Failed(path.to_path_buf(), e.to_string()))
}

/// Records the first run that did not match its golden as `<slug>.yaml.new` (SPEC §7) — also
/// when the golden is broken (a hand edit gone wrong), so the `accept` the message suggests has
/// something to accept — or, when every run matched, removes a stale pending file.
///
/// A failing dialogue looks at all its runs. A passing one looks at the runs of the round that
/// decided it (`attempts[deciding..]`): a repeated dialogue can pass with some runs that
/// differ from the golden (by count, or against a baseline, where the comparison is only a
/// tally shown for review, SPEC §9.3), and that difference is what `review` is for; a FLAKY
/// one's failed first round is not, since its rerun passed.
async fn settle_pending(
    golden_path: &Path,
    outcome: Outcome,
    attempts: &mut [Attempt],
    deciding: usize,
) {
    let looked_at = match outcome.is_pass() {
        true => attempts.get_mut(deciding..).unwrap_or_default(),
        false => attempts,
    };
    let Some(check) = looked_at
        .iter_mut()
        .filter_map(|a| a.golden.as_mut())
        .find(|c| c.status.is_failure() && !c.actual.is_empty())
    else {
        if outcome.is_pass() {
            // One unlink of a file that is almost never there: cheaper done than handed off.
            let _ = golden::remove_pending(golden_path);
        }
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
