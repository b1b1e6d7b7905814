//! Server-sent events (a streamed reply): the response's bytes go through
//! `eventsource-stream`'s parser as they arrive, each event's `data` is handed to the endpoint
//! kind (which knows where the text piece is), and the pieces are joined. It records when the
//! first piece of text came (time to first token), keeps the body cap over the whole stream
//! (an endless stream is cut, not buffered), and `[DONE]` ends it. A stream that goes quiet
//! ends at the request's timeout, like any other read.

use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;

use super::transport::{classify, MAX_BODY_BYTES};
use crate::record::SendError;

/// What one event said, as the endpoint kind reads it.
#[derive(Debug, Default)]
pub struct Piece {
    /// A piece of the reply's text (empty or `None` for a role-only or usage-only event).
    pub text: Option<String>,
}

/// A whole streamed reply.
#[derive(Debug, Default)]
pub struct Streamed {
    pub text: String,
    /// From the request being sent to the first non-empty piece of text.
    pub first_token: Option<Duration>,
    /// Whether `[DONE]` was seen (some servers just end the stream).
    pub done: bool,
    pub events: usize,
}

/// Reads every event of `response`, passing each `data` to `read` (which returns the text
/// piece, or why the event makes no sense) until `[DONE]` or the end of the stream.
pub async fn read_stream(
    response: reqwest::Response,
    started: Instant,
    timeout: Duration,
    mut read: impl FnMut(&str) -> Result<Piece, String>,
) -> Result<Streamed, SendError> {
    let mut seen = 0usize;
    let bytes = response.bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len();
        Ok::<_, reqwest::Error>((chunk, seen))
    });
    // The cap is checked on the raw bytes, before the parser buffers anything.
    let mut over = false;
    let capped = bytes
        .take_while(|item| {
            let keep = !matches!(item, Ok((_, n)) if *n > MAX_BODY_BYTES);
            over |= !keep;
            futures::future::ready(keep)
        })
        .map(|item| item.map(|(chunk, _)| chunk));
    let mut events = Box::pin(capped.eventsource());
    let mut out = Streamed::default();
    while let Some(event) = events.next().await {
        let event = event.map_err(|e| match e {
            eventsource_stream::EventStreamError::Transport(e) => classify(e, timeout),
            other => SendError::Other(format!("the event stream is broken: {other}")),
        })?;
        out.events += 1;
        let data = event.data.trim();
        if data == "[DONE]" {
            out.done = true;
            break;
        }
        if data.is_empty() {
            continue;
        }
        let piece = read(data).map_err(SendError::Other)?;
        if let Some(text) = piece.text.filter(|t| !t.is_empty()) {
            out.first_token.get_or_insert_with(|| started.elapsed());
            out.text.push_str(&text);
        }
    }
    drop(events);
    if over {
        return Err(SendError::TooLarge(MAX_BODY_BYTES));
    }
    Ok(out)
}

/// Whether a response is an event stream (a server may answer JSON despite `stream: true`).
pub fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
}
