//! Per-expectation counts over a dialogue's repeat runs (SPEC §7: "for each turn's expectation
//! and golden, how many runs met it"). Only the `repeat` runs count; `--reruns` attempts are
//! a separate mechanism and are reported on their own.
//!
//! The results only record failures, not every expectation that was checked, so an
//! expectation that held in every run does not appear here: "all others held in every run
//! that reached them" is the honest summary for it.

use crate::diag::Span;
use crate::record::{Attempt, AttemptKind, DialogueResult, GoldenStatus};

/// How many runs met one expectation that failed in at least one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectationTally {
    /// 0-based turn index.
    pub turn: usize,
    pub key: &'static str,
    pub span: Span,
    /// Runs in which the turn got an answer and this expectation held.
    pub met: u32,
    /// Runs in which the turn got an answer to judge (a run that errored earlier, or at this
    /// turn, never judged it).
    pub judged: u32,
    /// 1-based numbers of the runs in which it failed.
    pub failed_in: Vec<u32>,
}

/// How many runs matched the golden, over the runs that were compared with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoldenTally {
    pub met: u32,
    pub compared: u32,
    /// The golden could not be read: against a baseline no failing run shows its check, and
    /// "matched in 0/N" alone would not say why. Known from the status, so a report read back
    /// from JSON says it too.
    pub unreadable: bool,
}

/// The dialogue's repeat runs (not reruns), with their 1-based run numbers.
pub fn runs(d: &DialogueResult) -> impl Iterator<Item = (u32, &Attempt)> {
    d.attempts.iter().filter_map(|a| match a.kind {
        AttemptKind::Run { index } => Some((index.saturating_add(1), a)),
        AttemptKind::Rerun { .. } => None,
    })
}

/// Whether the run got an answer at `turn` that could be judged.
fn judged(a: &Attempt, turn: usize) -> bool {
    turn < a.turns.len()
        && !a.turns[turn].not_sent
        && a.error.as_ref().is_none_or(|e| e.turn != turn)
}

/// Every expectation that failed in at least one repeat run, by turn then source position.
pub fn expectations(d: &DialogueResult) -> Vec<ExpectationTally> {
    let mut out: Vec<ExpectationTally> = Vec::new();
    for (n, a) in runs(d) {
        for (turn, f) in a.failures() {
            let entry = match out
                .iter_mut()
                .position(|t| t.turn == turn && t.key == f.key && t.span == f.span)
            {
                Some(i) => &mut out[i],
                None => {
                    out.push(ExpectationTally {
                        turn,
                        key: f.key,
                        span: f.span,
                        met: 0,
                        judged: 0,
                        failed_in: Vec::new(),
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            // One expectation can report more than one failure in a run (a `contains` list);
            // it still failed that run once.
            if entry.failed_in.last() != Some(&n) {
                entry.failed_in.push(n);
            }
        }
    }
    for t in &mut out {
        t.judged = runs(d).filter(|(_, a)| judged(a, t.turn)).count() as u32;
        t.met = t.judged.saturating_sub(t.failed_in.len() as u32);
    }
    out.sort_by(|a, b| (a.turn, a.span, a.key).cmp(&(b.turn, b.span, b.key)));
    out
}

/// Golden matches over the repeat runs that were compared, or `None` when none was.
pub fn golden(d: &DialogueResult) -> Option<GoldenTally> {
    let mut t = GoldenTally {
        met: 0,
        compared: 0,
        unreadable: false,
    };
    for (_, a) in runs(d) {
        if let Some(g) = &a.golden {
            t.compared += 1;
            if !g.status.is_failure() {
                t.met += 1;
            }
            t.unreadable |= g.status == GoldenStatus::Invalid;
        }
    }
    (t.compared > 0).then_some(t)
}
