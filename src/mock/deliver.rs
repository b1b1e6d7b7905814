//! How an answer's bytes go out: a JSON body sent whole, or server-sent events paced by
//! `first_chunk_delay` and `chunk_delay`, and the faults that bend a body on its way
//! (`non_json`, `trickle`, `cut`, `endless`, `stall`).
//!
//! Routes decide what to say and in which format; this module decides only how it is sent, so
//! every fault behaves the same on every route. Every pause watches the server's shutdown: no
//! body the mock stretches on purpose holds up a stop (it is cut instead).

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use futures::Stream;
use tokio::sync::watch;

use super::conn::ConnHandle;
use super::script::{Fault, Pace};
use super::wire::json_body;

/// What a route answers, before the faults and the pacing.
pub(crate) enum Payload {
    /// A whole JSON body. `text` is the reply inside it, which `endless` repeats.
    Json {
        bytes: Vec<u8>,
        text: Option<String>,
    },
    /// Server-sent events, each the JSON (or `[DONE]`) of one `data:` line: those before the
    /// reply's text (a role event), one per piece of text, and those after it (finish, usage,
    /// `[DONE]`).
    Events {
        head: Vec<String>,
        pieces: Vec<String>,
        tail: Vec<String>,
    },
}

/// The pauses a body may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacing {
    pub trickle_interval: Duration,
    pub pace: Pace,
}

/// Splits a reply into the pieces a stream sends: each word with the white space after it
/// (the first also with any white space before it), so the pieces join to exactly the text.
pub(crate) fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = true;
    let mut seen_word = false;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if !space && in_space && seen_word {
            out.push(&text[start..i]);
            start = i;
        }
        seen_word |= !space;
        in_space = space;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// What ends a stretched body early: the server's stop, noticed between steps, and the
/// connection, marked as stretching while the body lives so that a stop cuts it at once even
/// when no step is running (a client that stopped reading).
pub(crate) struct Ends {
    pub shutdown: watch::Receiver<bool>,
    pub conn: ConnHandle,
}

/// The response for `payload` with `fault` applied.
pub(crate) fn deliver(
    status: StatusCode,
    payload: Payload,
    fault: Option<Fault>,
    pacing: Pacing,
    ends: Ends,
) -> Response {
    if fault == Some(Fault::NonJson) {
        return html_page();
    }
    match payload {
        Payload::Json { bytes, text } => json(status, bytes, text, fault, pacing, ends),
        Payload::Events { head, pieces, tail } => {
            let steps = event_steps(head, pieces, tail, fault, pacing);
            let mut resp = Response::new(Body::from_stream(play(steps, ends)));
            *resp.status_mut() = status;
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            resp
        }
    }
}

/// What a client sees from the `non_json` fault: a 200 from a proxy's error page.
fn html_page() -> Response {
    let mut resp = Response::new(Body::from(
        "<html><body><h1>Service temporarily unavailable</h1></body></html>\n",
    ));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

fn json(
    status: StatusCode,
    bytes: Vec<u8>,
    text: Option<String>,
    fault: Option<Fault>,
    pacing: Pacing,
    ends: Ends,
) -> Response {
    let len = bytes.len();
    let bytes = Bytes::from(bytes);
    let half = len / 2;
    let steps = match fault {
        Some(Fault::Trickle) => {
            let mut steps = Steps::default();
            for i in 0..len {
                if i > 0 {
                    steps.wait(pacing.trickle_interval);
                }
                steps.send(bytes.slice(i..i + 1));
            }
            steps
        }
        Some(Fault::Cut) => Steps::of([Step::Send(bytes.slice(..half)), Step::Fail]),
        Some(Fault::Stall) => Steps::of([Step::Send(bytes.slice(..half)), Step::Hold]),
        Some(Fault::Endless) => endless_json(&bytes, text.as_deref()),
        _ => return json_body(status, bytes.to_vec()),
    };
    let mut resp = json_body(status, Vec::new());
    if fault != Some(Fault::Endless) {
        // The whole length is announced, so a body that stops early is visibly short.
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    *resp.body_mut() = Body::from_stream(play(steps, ends));
    resp
}

/// The body up to the reply's text, then the text's words again and again: a JSON string
/// that never closes. Without a text to repeat, white space (still a valid prefix of JSON).
fn endless_json(bytes: &Bytes, text: Option<&str>) -> Steps {
    let quoted = text
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| serde_json::to_string(t).ok());
    let found = quoted.as_deref().and_then(|q| {
        let at = find(bytes, q.as_bytes())?;
        // Inside the string: past its opening quote, before its closing one.
        Some((at + 1, &q[1..q.len() - 1]))
    });
    let (prefix, unit) = match found {
        Some((start, inner)) => (bytes.slice(..start), format!("{inner} ")),
        None => (
            bytes.slice(..bytes.len().saturating_sub(1)),
            " ".to_string(),
        ),
    };
    // Chunks of a few KiB, so an endless body costs the mock few writes per megabyte.
    let chunk = Bytes::from(unit.repeat((4096 / unit.len()).max(1)));
    let mut steps = Steps::of([Step::Send(prefix)]);
    steps.forever = Some((vec![chunk], Duration::ZERO));
    steps
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn event(data: &str) -> Bytes {
    let mut framed = Vec::with_capacity(framed_len(data));
    frame(&mut framed, data);
    Bytes::from(framed)
}

/// The bytes `data` takes as one `data:` event.
fn framed_len(data: &str) -> usize {
    data.len() + "data: \n\n".len()
}

/// Appends `data` as one `data:` event. A stream's events go out gathered into few writes:
/// framing each into a buffer of its own first (a `format!` and a copy per event) had been
/// a third of what the mock spent on a streamed reply.
fn frame(out: &mut Vec<u8>, data: &str) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
}

fn event_steps(
    head: Vec<String>,
    pieces: Vec<String>,
    tail: Vec<String>,
    fault: Option<Fault>,
    pacing: Pacing,
) -> Steps {
    let Pace {
        first_chunk_delay,
        chunk_delay,
    } = pacing.pace;
    let mut steps = Steps::default();
    if fault == Some(Fault::Trickle) {
        let mut all = Vec::new();
        for e in head.iter().chain(&pieces).chain(&tail) {
            frame(&mut all, e);
        }
        let all = Bytes::from(all);
        for i in 0..all.len() {
            if i > 0 {
                steps.wait(pacing.trickle_interval);
            }
            steps.send(all.slice(i..i + 1));
        }
        return steps;
    }
    // What a stream without pauses sends in its one write, so that write is sized once.
    steps.gather_hint = head
        .iter()
        .chain(&pieces)
        .chain(&tail)
        .map(|e| framed_len(e))
        .sum();
    for e in &head {
        steps.send_event(e);
    }
    steps.wait(first_chunk_delay);
    let sent = match fault {
        Some(Fault::Cut) => pieces.len().div_ceil(2),
        Some(Fault::Stall) => pieces.len().min(1),
        _ => pieces.len(),
    };
    for (i, e) in pieces.iter().take(sent).enumerate() {
        if i > 0 {
            steps.wait(chunk_delay);
        }
        steps.send_event(e);
    }
    match fault {
        Some(Fault::Cut) => steps.steps.push_back(Step::Fail),
        Some(Fault::Stall) => steps.steps.push_back(Step::Hold),
        Some(Fault::Endless) => {
            // Pieces from the start again, for ever; a reply without text repeats an SSE
            // comment, which carries no data but keeps the stream going.
            let again = if pieces.is_empty() {
                vec![Bytes::from_static(b": still here\n\n")]
            } else {
                pieces.iter().map(|e| event(e)).collect()
            };
            steps.wait(chunk_delay);
            steps.forever = Some((again, chunk_delay));
        }
        _ => {
            for e in &tail {
                steps.send_event(e);
            }
        }
    }
    steps
}

/// One thing a body does next.
enum Step {
    Send(Bytes),
    /// Sends gathered while the steps are built (see [`Steps::send`]): one write.
    Gather(Vec<u8>),
    Wait(Duration),
    /// End the body with an error: the connection is dropped, the body left incomplete.
    Fail,
    /// Send nothing more until the server stops, then drop the connection.
    Hold,
}

#[derive(Default)]
struct Steps {
    steps: VecDeque<Step>,
    /// Once `steps` are done: send these in turn for ever, this far apart.
    forever: Option<(Vec<Bytes>, Duration)>,
    /// The bytes of events still to be framed: the capacity a new gathered write starts
    /// with, so a stream without pauses is one allocation.
    gather_hint: usize,
}

impl Steps {
    fn of<const N: usize>(steps: [Step; N]) -> Steps {
        Steps {
            steps: steps.into_iter().collect(),
            forever: None,
            gather_hint: 0,
        }
    }

    /// Pieces with no pause between them go out as one write, as a server that has them all
    /// at once would send them: a write (and a chunk to frame) per piece would make the mock,
    /// not the client under test, the cost of a fast stream.
    fn send(&mut self, b: Bytes) {
        let Some(last) = self.steps.back_mut() else {
            self.steps.push_back(Step::Send(b));
            return;
        };
        match last {
            Step::Gather(gathered) => gathered.extend_from_slice(&b),
            Step::Send(first) => *last = Step::Gather([&first[..], &b[..]].concat()),
            _ => self.steps.push_back(Step::Send(b)),
        }
    }

    /// [`Steps::send`] for one event, framed straight into the gathered write.
    fn send_event(&mut self, data: &str) {
        let len = framed_len(data);
        // What is left to send: all of it goes into this write unless a pause comes first.
        let rest = self.gather_hint.max(len);
        self.gather_hint = self.gather_hint.saturating_sub(len);
        if let Some(Step::Gather(gathered)) = self.steps.back_mut() {
            frame(gathered, data);
            return;
        }
        let mut gathered = Vec::with_capacity(rest);
        if let Some(Step::Send(first)) = self.steps.back() {
            gathered.reserve(first.len());
            gathered.extend_from_slice(first);
            self.steps.pop_back();
        }
        frame(&mut gathered, data);
        self.steps.push_back(Step::Gather(gathered));
    }

    fn wait(&mut self, d: Duration) {
        if !d.is_zero() {
            self.steps.push_back(Step::Wait(d));
        }
    }

    /// The next step, refilling from `forever` when the list is done.
    fn next(&mut self, round: &mut usize) -> Option<Step> {
        if let Some(step) = self.steps.pop_front() {
            return Some(step);
        }
        let (again, every) = self.forever.as_ref()?;
        let piece = again.get(*round % again.len().max(1))?.clone();
        *round += 1;
        if *round > 1 && !every.is_zero() {
            self.steps.push_back(Step::Send(piece));
            return Some(Step::Wait(*every));
        }
        Some(Step::Send(piece))
    }
}

/// How long a cut body waits before the connection is dropped.
const FLUSH_PAUSE: Duration = Duration::from_millis(20);

fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "mock stopped")
}

/// Plays `steps` as a body stream. An error item makes hyper drop the connection, which is
/// how a body is cut short.
fn play(steps: Steps, ends: Ends) -> impl Stream<Item = Result<Bytes, io::Error>> + Send {
    // Held by the stream's state, so the connection counts as stretching while it lives.
    let stretch = ends.conn.stretch();
    let start = Some((steps, ends.shutdown, 0usize, stretch));
    futures::stream::unfold(start, |state| async move {
        let (mut steps, mut shutdown, mut round, stretch) = state?;
        loop {
            if *shutdown.borrow() {
                return Some((Err(stopped()), None));
            }
            match steps.next(&mut round)? {
                Step::Send(b) => return Some((Ok(b), Some((steps, shutdown, round, stretch)))),
                Step::Gather(b) => {
                    return Some((Ok(Bytes::from(b)), Some((steps, shutdown, round, stretch))))
                }
                Step::Wait(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                }
                Step::Fail => {
                    // Give hyper a pending poll first: it flushes what was sent so far,
                    // so the client sees a body that stops rather than no response.
                    tokio::time::sleep(FLUSH_PAUSE).await;
                    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "cut by the mock");
                    return Some((Err(err), None));
                }
                Step::Hold => {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                    return Some((Err(stopped()), None));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn pieces_join_to_the_text() {
        for text in [
            "",
            "one",
            "Our hours are 9 to 5.",
            "  lead and\ttabs\n\nend  ",
        ] {
            let p = pieces(text);
            assert_eq!(p.concat(), text);
        }
        assert_eq!(pieces("a b  c"), ["a ", "b  ", "c"]);
        assert_eq!(pieces("  a b"), ["  a ", "b"]);
        assert!(pieces("").is_empty());
    }

    fn pacing() -> Pacing {
        Pacing {
            trickle_interval: Duration::ZERO,
            pace: Pace::default(),
        }
    }

    fn ends(shutdown: watch::Receiver<bool>) -> Ends {
        Ends {
            shutdown,
            conn: ConnHandle::new(),
        }
    }

    #[tokio::test]
    async fn a_stretched_body_marks_its_connection_while_it_lives() {
        let (_tx, rx) = watch::channel(false);
        let conn = ConnHandle::new();
        let stream = play(
            Steps::of([Step::Hold]),
            Ends {
                shutdown: rx,
                conn: conn.clone(),
            },
        );
        assert!(conn.is_stretching());
        drop(stream);
        assert!(!conn.is_stretching());
    }

    async fn collect(steps: Steps) -> (Vec<u8>, bool) {
        let (_tx, rx) = watch::channel(false);
        let mut out = Vec::new();
        let stream = play(steps, ends(rx));
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(b) => out.extend_from_slice(&b),
                Err(_) => return (out, false),
            }
        }
        (out, true)
    }

    fn events() -> (Vec<String>, Vec<String>, Vec<String>) {
        (
            vec!["role".into()],
            vec!["p1".into(), "p2".into(), "p3".into()],
            vec!["[DONE]".into()],
        )
    }

    #[tokio::test]
    async fn a_cut_stream_sends_half_its_pieces_and_fails() {
        let (h, p, t) = events();
        let (body, complete) = collect(event_steps(h, p, t, Some(Fault::Cut), pacing())).await;
        assert!(!complete);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "data: role\n\ndata: p1\n\ndata: p2\n\n"
        );
    }

    #[tokio::test]
    async fn a_normal_stream_ends_with_its_tail() {
        let (h, p, t) = events();
        let (body, complete) = collect(event_steps(h, p, t, None, pacing())).await;
        assert!(complete);
        assert!(String::from_utf8(body)
            .unwrap()
            .ends_with("data: p3\n\ndata: [DONE]\n\n"));
    }

    #[tokio::test]
    async fn an_endless_json_body_repeats_the_reply_inside_the_string() {
        let bytes = Bytes::from_static(br#"{"response":"hi there","session_id":"s"}"#);
        let (_tx, rx) = watch::channel(false);
        let stream = play(endless_json(&bytes, Some("hi there")), ends(rx));
        let got: Vec<u8> = stream
            .take(3)
            .map(|b| b.unwrap())
            .collect::<Vec<_>>()
            .await
            .concat();
        let text = String::from_utf8(got).unwrap();
        assert!(
            text.starts_with(r#"{"response":"hi there hi there "#),
            "{text}"
        );
        assert!(text.len() > 8000);
    }
}
