//! Endpoint clients: send one message in a session, get a [`Reply`] back. One file per endpoint
//! kind; the runner only sees [`Client`]. Clients never retry, sleep or judge: that is the
//! runner's job, so every kind gets the same retry and rate-limit behaviour.

pub mod thinnest;

use std::time::Duration;

use serde::Serialize;

/// Which of the documented 200 shapes the endpoint sent (SPEC §2). The JSON report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `{"response", "session_id", "usage": {...}}`
    Usage,
    /// `{"success", "response", "session_id", "metadata": {...}}`
    Metadata,
    /// `{"response", "session_id", "tokens_used"}`
    TokensUsed,
}

impl Shape {
    pub fn as_str(&self) -> &'static str {
        match self {
            Shape::Usage => "usage",
            Shape::Metadata => "metadata",
            Shape::TokensUsed => "tokens_used",
        }
    }
}

/// Token counts as reported. `tokens_used` is a total, never output tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
}

/// Rate-limit headers of a response, for the runner's backoff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Epoch seconds.
    pub reset: Option<u64>,
    /// `Retry-After`, already turned into a delay (seconds or an HTTP date).
    pub retry_after: Option<Duration>,
}

/// What the server said, with any status. Transport failures are [`SendError`] instead.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub rate: RateHeaders,
    pub latency: Duration,
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// A 2xx with one of the documented shapes.
    Agent(AgentReply),
    /// A non-2xx; `detail` is the error's text (a FastAPI 422 list is flattened).
    Error { detail: Option<String> },
    /// A 2xx that is not JSON or lacks `response`: there is nothing to judge.
    Malformed { reason: String },
}

#[derive(Debug, Clone)]
pub struct AgentReply {
    pub text: String,
    pub session_id: Option<String>,
    /// `None` for a body with `response` but none of the documented extras: still judged.
    pub shape: Option<Shape>,
    pub usage: Usage,
    /// `metadata.model`, when sent.
    pub model: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("response body larger than {0} bytes")]
    TooLarge(usize),
    #[error("request failed: {0}")]
    Other(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl SendError {
    /// Connect errors, timeouts and connections dropped mid-request are worth retrying; a body
    /// over the cap or a request that cannot be built is not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendError::Connect(_) | SendError::Timeout(_) | SendError::Other(_)
        )
    }
}
