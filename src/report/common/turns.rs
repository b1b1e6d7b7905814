//! How many turns a dialogue's one-line summary reports. A dialogue may run several times
//! (repeats, `--reruns`) and an attempt may stop early (an error, or a missed capture that
//! leaves its later turns unsent, SPEC §8.3), so "how many turns" needs a rule: the turns
//! actually sent, by the attempts whose verdict is the dialogue's. Counting the first attempt
//! called a FLAKY dialogue whose first run errored at turn 1 a 1-turn dialogue, though the
//! rerun that passed sent all three.

use crate::record::{Attempt, AttemptKind, DialogueResult, Outcome};

/// The turns that went out: a turn a missed capture left unsent is listed in the attempt (so
/// the transcript shows it) but never reached the agent.
pub fn sent(a: &Attempt) -> usize {
    a.turns.iter().filter(|t| !t.not_sent).count()
}

/// The round of runs whose verdict stands: the last one, unless Ctrl-C cut it short, in which
/// case the verdict is the round before's (the runner keeps it). A round is the dialogue's
/// `repeat` runs, or one round of reruns; attempts are stored round by round.
pub fn deciding(d: &DialogueResult) -> &[Attempt] {
    let repeat = d.repeat.max(1);
    let round = |a: &Attempt| match a.kind {
        AttemptKind::Run { .. } => 0,
        AttemptKind::Rerun { index } => index / repeat + 1,
    };
    let rounds: Vec<&[Attempt]> = d.attempts.chunk_by(|a, b| round(a) == round(b)).collect();
    let cut = |r: &&[Attempt]| r.iter().any(|a| a.outcome == Outcome::NotRun);
    match rounds.as_slice() {
        [.., before, last] if cut(last) => before,
        [.., last] => last,
        [] => &[],
    }
}

/// The fewest and the most turns one attempt of the deciding round sent (equal but for
/// repeats that stopped at different turns); `None` without an attempt.
pub fn sent_range(d: &DialogueResult) -> Option<(usize, usize)> {
    let counts = deciding(d).iter().map(sent);
    let lo = counts.clone().min()?;
    let hi = counts.max()?;
    Some((lo, hi))
}

/// The count as the one-line summaries word it: `1 turn`, `3 turns`, `1-3 turns`.
pub fn sent_words(d: &DialogueResult) -> String {
    match sent_range(d).unwrap_or((0, 0)) {
        (1, 1) => "1 turn".to_string(),
        (lo, hi) if lo == hi => format!("{hi} turns"),
        (lo, hi) => format!("{lo}-{hi} turns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Span;
    use crate::record::{SuiteInfo, TurnResult};
    use std::sync::Arc;
    use std::time::Duration;

    fn turn(not_sent: bool) -> TurnResult {
        TurnResult {
            not_sent,
            ..TurnResult::unanswered(Span::default(), "hi".into())
        }
    }

    fn attempt(kind: AttemptKind, outcome: Outcome, sent: usize, unsent: usize) -> Attempt {
        let mut turns: Vec<TurnResult> = (0..sent).map(|_| turn(false)).collect();
        turns.extend((0..unsent).map(|_| turn(true)));
        Attempt {
            kind,
            session_id: None,
            outcome,
            turns,
            error: None,
            golden: None,
            duration: Duration::ZERO,
        }
    }

    fn dialogue(repeat: u32, attempts: Vec<Attempt>) -> DialogueResult {
        DialogueResult {
            suite: Arc::new(SuiteInfo {
                name: "s".into(),
                path: "s.yaml".into(),
            }),
            name: "d".into(),
            span: Span::default(),
            row: None,
            tags: Vec::new(),
            endpoint_kind: "thinnest",
            outcome: Outcome::Pass,
            skip_reason: None,
            attempts,
            repeat,
            min_pass: repeat,
            baseline: None,
            duration: Duration::ZERO,
            bless: None,
        }
    }

    const RUN: fn(u32) -> AttemptKind = |index| AttemptKind::Run { index };
    const RERUN: fn(u32) -> AttemptKind = |index| AttemptKind::Rerun { index };

    #[test]
    fn counts_only_the_turns_that_went_out() {
        let d = dialogue(1, vec![attempt(RUN(0), Outcome::Fail, 1, 2)]);
        assert_eq!(sent_range(&d), Some((1, 1)));
    }

    #[test]
    fn the_rerun_that_decided_is_counted_not_the_first_run() {
        let d = dialogue(
            1,
            vec![
                attempt(RUN(0), Outcome::Error, 1, 0),
                attempt(RERUN(0), Outcome::Error, 2, 0),
                attempt(RERUN(1), Outcome::Pass, 3, 0),
            ],
        );
        assert_eq!(sent_range(&d), Some((3, 3)));
    }

    #[test]
    fn repeats_give_a_range_over_their_round() {
        let d = dialogue(
            2,
            vec![
                attempt(RUN(0), Outcome::Error, 1, 0),
                attempt(RUN(1), Outcome::Fail, 3, 0),
                attempt(RERUN(0), Outcome::Pass, 3, 0),
                attempt(RERUN(1), Outcome::Error, 2, 0),
            ],
        );
        assert_eq!(deciding(&d).len(), 2);
        assert_eq!(sent_range(&d), Some((2, 3)));
    }

    #[test]
    fn a_round_cut_short_leaves_the_verdict_to_the_round_before() {
        let d = dialogue(
            1,
            vec![
                attempt(RUN(0), Outcome::Fail, 2, 0),
                attempt(RERUN(0), Outcome::NotRun, 1, 0),
            ],
        );
        assert_eq!(sent_range(&d), Some((2, 2)));
        assert_eq!(sent_range(&dialogue(1, Vec::new())), None);
    }
}
