//! What an endpoint answered, as plain data: the status, the body as far as the gate cares
//! (text, session, usage), rate-limit headers and timing. Every endpoint kind produces these;
//! the runner, the judge and the reports read them and never see a wire format.
//!
//! Nothing here does I/O or knows an endpoint kind.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// Token counts as reported. A bare total (the platform's `tokens_used`) is never taken for
/// output tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
}

/// Rate-limit headers of a response, for the runner's backoff. Each endpoint kind reads its
/// own header names into this one form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// Epoch seconds.
    pub reset: Option<u64>,
    /// How long the server asked to wait (`retry-after-ms`, else `Retry-After`), already a
    /// delay.
    pub retry_after: Option<Duration>,
    /// When the request budget resets (`x-ratelimit-reset-requests`, OpenAI's), already a
    /// delay: a wait only for a 429. OpenAI sends it on every reply, and on a 5xx it says
    /// nothing about when the server will be back.
    pub reset_requests: Option<Duration>,
}

/// When the pieces of a reply arrived, measured from the moment the request was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timing {
    /// The response headers.
    pub first_byte: Duration,
    /// The first piece of text of a streamed reply (not a role-only event); `None` when the
    /// reply was not streamed.
    pub first_token: Option<Duration>,
    /// The whole reply, body read.
    pub total: Duration,
}

/// What the server said, with any status. Transport failures are [`SendError`] instead.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: ReplyBody,
    pub rate: RateHeaders,
    pub timing: Timing,
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// A 2xx with text to judge.
    Agent(AgentReply),
    /// A non-2xx; `detail` is the error's text as the endpoint kind words it.
    Error { detail: Option<String> },
    /// A 2xx with nothing to judge (not JSON, no text where the kind puts it).
    Malformed { reason: String },
}

/// The body shape of a streamed openai reply (its `chat.completion.chunk`s).
pub const CHUNKS_SHAPE: &str = "chat.completion.chunk";
/// The body shape of a streamed http reply (server-sent events).
pub const SSE_SHAPE: &str = "sse";

/// Whether a reply's body shape (as its endpoint kind named it) is a stream: the openai kind's
/// chunks, the http kind's events. A stream whose time to first token is unknown had no piece
/// of text, where any other reply was not streamed at all.
pub fn streamed_shape(shape: Option<&str>) -> bool {
    shape.is_some_and(|s| s == CHUNKS_SHAPE || s == SSE_SHAPE)
}

#[derive(Debug, Clone)]
pub struct AgentReply {
    pub text: String,
    /// The server's session id, when it returned one.
    pub session_id: Option<String>,
    /// Which documented body shape was seen (`usage`, `metadata`, `tokens_used`,
    /// `chat.completion`, ...), named by the endpoint kind; the JSON report shows it.
    pub shape: Option<&'static str>,
    pub usage: Usage,
    /// The model the server says answered, when it says: shared, as a stream's every reply
    /// names the same one, which its frames keep (a copy a reply was an allocation).
    pub model: Option<Arc<str>>,
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
    /// The failure of a body whose head had come: the status says the server answered, and
    /// then stalled or sent too much (a stuck upstream, most often).
    #[error("{error}, after the server had answered {status} and while its body came")]
    InBody { status: u16, error: Box<SendError> },
}

impl SendError {
    /// Connect errors, timeouts and connections dropped mid-request are worth retrying; a body
    /// over the cap or a request that cannot be built is not.
    pub fn is_retryable(&self) -> bool {
        match self {
            SendError::Connect(_) | SendError::Timeout(_) | SendError::Other(_) => true,
            SendError::TooLarge(_) | SendError::Invalid(_) => false,
            SendError::InBody { error, .. } => error.is_retryable(),
        }
    }

    /// This failure, of the body of a response whose status was `status`.
    pub fn in_body(self, status: u16) -> SendError {
        match self {
            SendError::InBody { .. } => self,
            error => SendError::InBody {
                status,
                error: Box::new(error),
            },
        }
    }
}
