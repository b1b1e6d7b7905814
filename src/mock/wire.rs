//! What every route of the mock shares on the wire: the server's shared state, bearer-key
//! checks, JSON bodies, the request log's bookkeeping, and the two faults that happen before
//! any body exists (`close` drops the connection, `hang` never answers).
//!
//! Each route keeps its own error shape; nothing here decides one. Nothing here logs or echoes
//! an api key.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use tokio::sync::watch;

use super::conn::ConnHandle;
use super::script::Fault;
use super::state::{AgentState, RateVerdict, RequestRecord, State};

/// What every handler shares.
pub(crate) struct Shared {
    pub state: State,
    /// Flips to `true` once when the server stops; every pause the mock makes on purpose
    /// (`latency`, `hang`, `trickle`, streams) watches it so that a stop is not held up.
    pub shutdown: watch::Receiver<bool>,
    /// The largest request body read; a larger one is refused with 413.
    pub max_body: usize,
}

pub(crate) type App = Arc<Shared>;

pub(crate) fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub(crate) fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Why a request body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over the cap (announced by `Content-Length` or found while reading).
    TooLarge(usize),
    /// The client stopped sending mid-body.
    Broken,
}

impl BodyError {
    /// The status and the text each route words its own way.
    pub fn status_and_text(&self) -> (u16, String) {
        match self {
            BodyError::TooLarge(max) => (
                413,
                format!("Request body too large: the mock reads at most {max} bytes"),
            ),
            BodyError::Broken => (400, "The request body ended early".to_string()),
        }
    }
}

/// How much of an oversized body is read and thrown away before the 413, and for how long:
/// answering while the client is still sending makes its next write fail, and many clients
/// then report a reset instead of the answer.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Reads a request body of at most `max` bytes. Read by hand rather than through axum's
/// `Bytes` extractor, whose refusal of a large body is a plain-text 413 that no route's
/// clients could parse.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, BodyError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if announced.is_some_and(|n| n > max as u64) {
        if announced.is_some_and(|n| n <= DRAIN_BYTES) {
            drain(stream, 0).await;
        }
        return Err(BodyError::TooLarge(max));
    }
    let mut out = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if out.len() + chunk.len() > max {
            drain(stream, (out.len() + chunk.len()) as u64).await;
            return Err(BodyError::TooLarge(max));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

/// Reads and discards the rest of a body, within [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(
    mut stream: impl futures::Stream<Item = Result<Bytes, axum::Error>> + Unpin,
    mut seen: u64,
) {
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    while seen <= DRAIN_BYTES {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(Some(Ok(chunk))) => seen += chunk.len() as u64,
            _ => return,
        }
    }
}

/// How a request presented its key.
pub(crate) enum Auth<'a> {
    Missing,
    Malformed,
    Key(&'a str),
}

impl Auth<'_> {
    /// Why the key is refused, in the words of the agent API (the other routes reuse them).
    pub fn refusal(&self) -> &'static str {
        match self {
            Auth::Missing => "Missing API key: send `Authorization: Bearer <api key>`",
            Auth::Malformed => "Malformed Authorization header: expected `Bearer <api key>`",
            Auth::Key(_) => "Invalid API key",
        }
    }
}

/// `Authorization: Bearer <key>`, the scheme case-insensitive.
pub(crate) fn bearer(headers: &HeaderMap) -> Auth<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Auth::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Auth::Malformed;
    };
    let Some((scheme, key)) = value.trim().split_once(' ') else {
        return Auth::Malformed;
    };
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.contains(char::is_whitespace)
    {
        return Auth::Malformed;
    }
    Auth::Key(key)
}

/// Checks a presented key; `Err` says why it is refused (a 401).
pub(crate) fn authenticate<'h>(app: &Shared, auth: Auth<'h>) -> Result<&'h str, Auth<'h>> {
    match auth {
        Auth::Key(k) if app.state.key_accepted(k) => Ok(k),
        other => Err(other),
    }
}

/// Logs the answered request (with its status) and returns the response. A `close` request
/// is logged without a status; a `hang` request was logged when it started hanging.
pub(crate) fn finish(app: &Shared, mut record: RequestRecord, resp: Response) -> Response {
    match record.fault {
        Some(f) if f == Fault::Hang.as_str() => {}
        Some(f) if f == Fault::Close.as_str() => app.state.log(record),
        _ => {
            record.status = Some(resp.status().as_u16());
            app.state.log(record);
        }
    }
    resp
}

/// Waits out the agent's `latency` (cut short by a stop), then plays the faults that leave no
/// body to shape: `close` and `hang`. `None`: go on and answer.
pub(crate) async fn delay_or_drop(
    app: &Shared,
    conn: &ConnHandle,
    latency: Duration,
    fault: Option<Fault>,
    record: &mut RequestRecord,
) -> Option<Response> {
    let mut shutdown = app.shutdown.clone();
    if !latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(latency) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
    record.fault = fault.map(Fault::as_str);
    match fault {
        Some(Fault::Close) => {
            conn.kill();
            Some(Response::new(Body::empty()))
        }
        Some(Fault::Hang) => {
            // Logged before it starts hanging, so tests can see it while it hangs.
            app.state.log(record.clone());
            let _ = shutdown.wait_for(|stop| *stop).await;
            conn.kill();
            Some(Response::new(Body::empty()))
        }
        _ => None,
    }
}

/// The agent API's rate headers (SPEC §2), which the generic API sends too: limit, remaining
/// and reset (epoch seconds) on every response of a rate-limited agent, `Retry-After` on a 429.
pub(crate) fn rate_headers(mut resp: Response, rate: Option<RateVerdict>) -> Response {
    if let Some(r) = rate {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(r.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(r.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(r.reset_epoch()));
        if !r.allowed {
            h.insert(header::RETRY_AFTER, HeaderValue::from(r.retry_after()));
        }
    }
    resp
}

/// The 429 text of the agent API and the generic API.
pub(crate) fn rate_text(agent: &AgentState, r: &RateVerdict) -> String {
    format!(
        "Rate limit exceeded: {} requests per {}; retry after {}s",
        r.limit,
        crate::util::human_duration(agent.def.rate_limit.map_or(Duration::ZERO, |l| l.window)),
        r.retry_after()
    )
}

/// The dialogue a request under `base_url: replay` names
/// ([`REPLAY_IDENTITY_HEADER`](crate::suite::model::REPLAY_IDENTITY_HEADER)), if it names one.
pub(crate) fn replay_identity(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(crate::suite::model::REPLAY_IDENTITY_HEADER)?
        .to_str()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_forms() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer(&h), Auth::Missing));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Token x"));
        assert!(matches!(bearer(&h), Auth::Malformed));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(matches!(bearer(&h), Auth::Malformed));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer k1"));
        assert!(matches!(bearer(&h), Auth::Key("k1")));
    }
}
