//! One attempt: one execution of a dialogue in its own conversation. The turn pipeline, in
//! order: expand the message → send (with retries) → take the reply's text or end as an error
//! → judge → capture → record. Redaction happens once, where the attempt ends, over every
//! text it holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::judging;
use super::limit::Limiter;
use super::retry::{send_with_retries, TurnError};
use super::Ctx;
use crate::diag::Span;
use crate::endpoint::{Conversation, Endpoint, Message};
use crate::judge::expect::{self, Observed};
use crate::judge::grader::Grader;
use crate::record::{
    Attempt, AttemptKind, Detail, ErrorKind, Failure, Outcome, Reply, ReplyBody, RunError,
    TurnResult,
};
use crate::suite::model::{Dialogue, ExpectKind, Turn};
use crate::suite::template;

/// The suite's LLM judge, when it has one, or why it could not be built.
pub type GraderRef<'a> = Option<&'a Result<Arc<Grader>, String>>;

/// Runs every turn of `d` once in a new conversation with `endpoint`.
pub async fn run_attempt(
    ctx: &Ctx,
    endpoint: Result<Arc<dyn Endpoint>, String>,
    grader: GraderRef<'_>,
    d: &Dialogue,
    kind: AttemptKind,
) -> Attempt {
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
    match endpoint {
        Ok(endpoint) => {
            let mut conversation = endpoint.open(d.session, &d.name);
            let limiter = ctx.limiters.get(&d.endpoint.limiter_key()).cloned();
            let pipe = Pipe {
                ctx,
                limiter: limiter.as_deref(),
                grader,
                d,
            };
            run_turns(&pipe, &mut *conversation, &mut attempt).await;
        }
        Err(message) => attempt.errored(0, d.span, ErrorKind::Setup(message)),
    }
    attempt.duration = started.elapsed();
    attempt.texts_mut(&mut |s| ctx.redactor.redact_in_place(s));
    attempt
}

/// What became of one turn.
enum Step {
    /// Judged; the next turn may run.
    Next,
    /// The attempt ends here (an error, a missed capture, Ctrl-C).
    Stop,
}

/// What every turn of one attempt shares.
struct Pipe<'a> {
    ctx: &'a Ctx,
    limiter: Option<&'a Limiter>,
    grader: GraderRef<'a>,
    d: &'a Dialogue,
}

async fn run_turns(pipe: &Pipe<'_>, conversation: &mut dyn Conversation, attempt: &mut Attempt) {
    let d = pipe.d;
    let mut values: BTreeMap<String, String> = d.vars.clone();
    attempt.session_id = conversation.session_id().map(str::to_string);
    for i in 0..d.turns.len() {
        let step = run_turn(pipe, conversation, i, &mut values, attempt).await;
        if conversation.session_id().is_some() {
            attempt.session_id = conversation.session_id().map(str::to_string);
        }
        if let Step::Stop = step {
            // A dialogue cut short by a missed capture still shows what it did not send.
            if attempt.outcome == Outcome::Fail {
                for t in &d.turns[i + 1..] {
                    attempt.turns.push(not_sent(t, &values));
                }
            }
            return;
        }
    }
}

async fn run_turn(
    pipe: &Pipe<'_>,
    conversation: &mut dyn Conversation,
    i: usize,
    values: &mut BTreeMap<String, String>,
    attempt: &mut Attempt,
) -> Step {
    let turn = &pipe.d.turns[i];
    let message = template::expand_template(&turn.user, values);
    let mut tr = TurnResult::unanswered(turn.span, message.clone());
    let more = i + 1 < pipe.d.turns.len();
    let answered = answer(pipe, conversation, i, more, &message, values, &mut tr).await;
    let judged = match answered {
        Ok(text) => judge_turn(pipe, turn, attempt, &mut tr, &text, values)
            .await
            .map(|()| text),
        Err(stop) => Err(stop),
    };
    let text = match judged {
        Ok(text) => text,
        Err(stop) => {
            attempt.turns.push(tr);
            match stop {
                Stopped::NotRun => attempt.outcome = Outcome::NotRun,
                Stopped::Errored(kind) => attempt.errored(i, turn.span, kind),
            }
            return Step::Stop;
        }
    };
    let captured = capture(turn, &text, values, more, &mut tr.failures);
    if !tr.failures.is_empty() {
        attempt.outcome = Outcome::Fail;
    }
    attempt.turns.push(tr);
    if captured {
        Step::Next
    } else {
        Step::Stop
    }
}

/// Why an attempt stops at a turn before judging it.
enum Stopped {
    /// Ctrl-C: the turn was not answered or not judged, by no one's fault (SPEC §4: the rest
    /// is not run).
    NotRun,
    /// The gate could not judge the turn: its error, as the attempt records it.
    Errored(ErrorKind),
}

/// The turn's message sent, with the runner's retries, and its reply taken into `tr` (`more`:
/// a turn follows, which needs the session the reply brings): the reply's text, or why the
/// attempt stops here.
async fn answer(
    pipe: &Pipe<'_>,
    conversation: &mut dyn Conversation,
    i: usize,
    more: bool,
    message: &str,
    values: &BTreeMap<String, String>,
    tr: &mut TurnResult,
) -> Result<String, Stopped> {
    let d = pipe.d;
    let expected = expect::expected_statuses(&d.turns[i].expect);
    let sending = std::time::Instant::now();
    let sent = send_with_retries(
        conversation,
        Message {
            text: message,
            turn: i + 1,
            values,
        },
        pipe.limiter,
        &expected,
        d.endpoint.retries,
        &pipe.ctx.cancel,
    )
    .await;
    tr.retries = sent.retries;
    let reply = match sent.result {
        Ok(r) => r,
        Err(TurnError::Cancelled) => return Err(Stopped::NotRun),
        Err(TurnError::Send(e)) => {
            // No reply has a round trip: the turn's time is how long it took to give up
            // (a stalled body's timeout, retries and all), which is what a reader looks for.
            tr.latency = sending.elapsed();
            return Err(Stopped::Errored(ErrorKind::Send {
                error: e.to_string(),
                retries: sent.retries,
                request: conversation.request(),
            }));
        }
    };
    take_reply(tr, reply, &expected, sent.retries, sent.refused_wait)
        .and_then(|text| match session_lost(tr, conversation, more) {
            Some(kind) => Err(kind),
            None => Ok(text),
        })
        .map_err(|kind| Stopped::Errored(kind.with_request(conversation.request())))
}

/// The turn's expectations and its `judge:` rubrics, their failures put in `tr`; an error
/// when the judge could not answer.
async fn judge_turn(
    pipe: &Pipe<'_>,
    turn: &Turn,
    attempt: &Attempt,
    tr: &mut TurnResult,
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<(), Stopped> {
    let seen = Observed {
        status: tr.status.unwrap_or(0),
        text,
        usage: tr.usage,
        shape: tr.shape,
        latency: tr.latency,
        first_token: tr.first_token,
    };
    tr.failures = expect::judge(&turn.expect, turn.span, &seen, values);
    // The message as the turn records it: the judge finds a dialogue's hash by where its
    // first message is, and the next turns hand it the recorded one.
    match ask_judge(pipe, turn, &attempt.turns, &tr.message, text, values).await {
        Ok(failures) => {
            tr.failures.extend(failures);
            Ok(())
        }
        // Ctrl-C cut the question short: the turn was not judged, and not by fault of the
        // judge.
        Err(_) if pipe.ctx.cancel.is_cancelled() => Err(Stopped::NotRun),
        Err(reason) => Err(Stopped::Errored(ErrorKind::Judge { reason })),
    }
}

/// Why a next turn cannot follow a 2xx reply: it relies on the server's session id and the
/// server returned none. Only a 2xx reply brings one: an expected error (a 401, a 500) leaves
/// the server's session as it was, and the next turn is sent as before.
fn session_lost(tr: &TurnResult, conversation: &dyn Conversation, more: bool) -> Option<ErrorKind> {
    let answered = tr.status.is_some_and(|s| (200..300).contains(&s));
    (more && answered && !conversation.can_continue()).then(|| ErrorKind::NoSession {
        pointer: conversation.session_pointer().map(str::to_string),
    })
}

/// The turn's `judge:` rubrics, asked of the suite's LLM judge: the failures to join the
/// turn's.
async fn ask_judge(
    pipe: &Pipe<'_>,
    turn: &Turn,
    earlier: &[TurnResult],
    message: &str,
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<Vec<Failure>, String> {
    if !turn
        .expect
        .iter()
        .any(|e| matches!(*e.kind, ExpectKind::Judge(_)))
    {
        return Ok(Vec::new());
    }
    let grader = match pipe.grader {
        Some(Ok(g)) => Some(&**g),
        Some(Err(e)) => return Err(e.clone()),
        None => None,
    };
    let said = judging::conversation(earlier, message);
    judging::rubrics(grader, turn, &said, text, values).await
}

/// Records the reply on the turn and returns the text to judge, or why there is none.
/// `refused_wait` is a wait the server asked for that was longer than a retry waits: a status
/// error says so.
fn take_reply(
    tr: &mut TurnResult,
    reply: Reply,
    expected: &[u16],
    retries: u32,
    refused_wait: Option<std::time::Duration>,
) -> Result<String, ErrorKind> {
    tr.status = Some(reply.status);
    tr.latency = reply.timing.total;
    tr.first_token = reply.timing.first_token;
    match reply.body {
        ReplyBody::Agent(a) => {
            tr.shape = a.shape;
            tr.usage = a.usage;
            tr.text = Some(a.text.clone());
            Ok(a.text)
        }
        ReplyBody::Error { detail } => {
            tr.detail = detail.clone();
            if expected.contains(&reply.status) {
                Ok(detail.unwrap_or_default())
            } else {
                Err(ErrorKind::Status {
                    status: reply.status,
                    detail: match refused_wait {
                        Some(wait) => Some(with_refused_wait(detail, wait)),
                        None => detail,
                    },
                    retries,
                    request: String::new(),
                })
            }
        }
        ReplyBody::Malformed { reason } => Err(ErrorKind::Malformed {
            status: reply.status,
            reason,
            request: String::new(),
        }),
    }
}

/// Takes the turn's captures from `text`: group 1 when the pattern has a group, the whole
/// match otherwise (SPEC §3.1). A capture that yields no value is a failure at the turn, and
/// `false`: the dialogue cannot go on, or a later message would carry `{{name}}`. That is a
/// pattern that does not match, and also one that matches with its group 1 taking no part
/// (`(?:order (\d+)|no order)` on "no order"): the whole match is not the value the suite
/// asked for, so it is not sent in its place.
fn capture(
    turn: &Turn,
    text: &str,
    values: &mut BTreeMap<String, String>,
    more: bool,
    failures: &mut Vec<Failure>,
) -> bool {
    let mut all = true;
    for c in &turn.capture {
        let caps = c.pattern.captures(text);
        let value = caps.as_ref().and_then(|caps| {
            if caps.len() > 1 {
                caps.get(1)
            } else {
                caps.get(0)
            }
        });
        match value {
            Some(m) => {
                values.insert(c.name.clone(), m.as_str().to_string());
            }
            None => {
                all = false;
                failures.push(Failure {
                    key: "capture",
                    span: c.span,
                    detail: Detail::CaptureMissed {
                        name: c.name.clone(),
                        pattern: c.pattern.as_str().to_string(),
                        group_unset: caps.is_some(),
                        ends_dialogue: more,
                    },
                });
            }
        }
    }
    all
}

/// A turn the dialogue never reached: its message as far as it could be expanded.
fn not_sent(turn: &Turn, values: &BTreeMap<String, String>) -> TurnResult {
    let mut tr = TurnResult::unanswered(turn.span, template::expand_template(&turn.user, values));
    tr.not_sent = true;
    tr
}

trait Errored {
    fn errored(&mut self, turn: usize, span: Span, kind: ErrorKind);
}

impl Errored for Attempt {
    /// Ends the attempt at `turn`, which has no answer to judge: an error, unless an earlier
    /// turn's answer was already judged wrong. Then it stays a failure, with the error that
    /// ended it beside: the agent answered and was wrong, which is what exit 1 says (SPEC
    /// §4.2: an error is "the gate could not judge", and here it did), and a CI step that
    /// lets an error (exit 3) pass as an outage must not let that wrong answer through.
    fn errored(&mut self, turn: usize, span: Span, kind: ErrorKind) {
        if self.outcome != Outcome::Fail {
            self.outcome = Outcome::Error;
        }
        self.error = Some(RunError { turn, span, kind });
    }
}

/// A wait in seconds to the millisecond, rounded up: a refused wait is longer than the
/// longest a retry waits, and rounding it down had printed "asked to wait 60s, more than
/// the 60s" for a server's `1m0.5s` (`util::human_duration` rounds to the nearest 10 ms,
/// which has the same fault at 60.001s).
fn seconds(wait: std::time::Duration) -> String {
    let ms = wait.as_nanos().div_ceil(1_000_000);
    match ms % 1000 {
        0 => format!("{}s", ms / 1000),
        frac => {
            let frac = format!("{frac:03}");
            format!("{}.{}s", ms / 1000, frac.trim_end_matches('0'))
        }
    }
}

/// A status error's detail, saying that the server asked for a longer wait than a retry
/// waits (so it was not retried): without it, a 429 with retries left looks unexplained.
fn with_refused_wait(detail: Option<String>, wait: std::time::Duration) -> String {
    let wait = format!(
        "the server asked to wait {}, more than the {} a retry waits, so it was not retried",
        seconds(wait),
        seconds(super::limit::MAX_RETRY_WAIT)
    );
    match detail {
        Some(d) if !d.is_empty() => format!("{d} ({wait})"),
        _ => wait,
    }
}

#[cfg(test)]
mod tests {
    use super::seconds;
    use std::time::Duration;

    /// A refused wait reads as the server gave it, never rounded down to the limit it exceeds.
    #[test]
    fn refused_waits_read_as_given() {
        for (wait, text) in [
            (Duration::from_secs(90), "90s"),
            (Duration::from_millis(60_500), "60.5s"),
            (Duration::from_millis(60_250), "60.25s"),
            (Duration::from_nanos(60_000_000_001), "60.001s"),
            (Duration::from_millis(1_500), "1.5s"),
        ] {
            assert_eq!(seconds(wait), text, "{wait:?}");
        }
    }
}
