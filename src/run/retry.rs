//! Sending one message with the run's retry rules: connect errors, timeouts, 429 and 5xx are
//! retried up to the endpoint's `retries`, with capped full-jitter backoff or the wait the
//! server asked for (spread, never shortened; one over a minute is not slept, and the error
//! says so); never a status the turn expects, never 400/401/402/403/404/422. The shared rate
//! limiter is taken before every try, and Ctrl-C wins over any wait.

use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

use super::limit::{self, Limiter};
use crate::endpoint::{Conversation, Message};
use crate::record::{Reply, SendError};

/// Why a turn got no reply to judge.
pub enum TurnError {
    Send(SendError),
    Cancelled,
}

/// What one send with retries came to, and how many retries it took.
pub struct Sent {
    pub result: Result<Reply, TurnError>,
    pub retries: u32,
    /// The wait the server asked for before another try, when it was longer than a retry
    /// waits and so the answer stands: the error says so, not just the status.
    pub refused_wait: Option<std::time::Duration>,
}

/// Sends `message` until it gets an answer worth judging or runs out of retries.
pub async fn send_with_retries(
    conversation: &mut dyn Conversation,
    message: Message<'_>,
    limiter: Option<&Limiter>,
    expected: &[u16],
    retries: u32,
    cancel: &CancellationToken,
) -> Sent {
    let mut tries = 0;
    loop {
        if let Some(l) = limiter {
            tokio::select! {
                _ = l.acquire() => {}
                _ = cancel.cancelled() => return cancelled(tries),
            }
        }
        let res = tokio::select! {
            r = conversation.send(message) => r,
            _ = cancel.cancelled() => return cancelled(tries),
        };
        match retry_delay(&res, expected, tries) {
            Retry::After(d) if tries < retries => {
                tries += 1;
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = cancel.cancelled() => return cancelled(tries),
                }
            }
            decided => {
                return Sent {
                    result: res.map_err(TurnError::Send),
                    retries: tries,
                    refused_wait: match decided {
                        Retry::TooLong(d) if tries < retries => Some(d),
                        _ => None,
                    },
                }
            }
        }
    }
}

fn cancelled(retries: u32) -> Sent {
    Sent {
        result: Err(TurnError::Cancelled),
        retries,
        refused_wait: None,
    }
}

/// Whether to try again.
enum Retry {
    After(std::time::Duration),
    /// The outcome is final.
    No,
    /// The server asked for a longer wait than a retry waits: final, and the error says why.
    TooLong(std::time::Duration),
}

/// How long to wait before trying again, or why not.
fn retry_delay(res: &Result<Reply, SendError>, expected: &[u16], tries: u32) -> Retry {
    match res {
        Err(e) if e.is_retryable() => Retry::After(limit::backoff(tries)),
        Ok(r) if expected.contains(&r.status) => Retry::No,
        // A server that asks for a longer wait than the gate will sleep gets its answer
        // reported instead: retrying early would only earn another 429.
        Ok(r) if r.status == 429 || r.status >= 500 => {
            match limit::server_delay(&r.rate, r.status, SystemTime::now()) {
                Some(d) if d > limit::MAX_RETRY_WAIT => Retry::TooLong(d),
                Some(d) => Retry::After(limit::spread(d)),
                None => Retry::After(limit::backoff(tries)),
            }
        }
        _ => Retry::No,
    }
}
