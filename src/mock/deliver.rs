//! How an answer's bytes go out: a JSON body sent whole, or server-sent events paced by
//! `first_chunk_delay` and `chunk_delay`, and the faults that bend a body on its way
//! (`non_json`, `trickle`, `cut`, `endless`, `stall`).
//!
//! Routes decide what to say and in which format; this module decides only how it is sent, so
//! every fault behaves the same on every route. Every pause watches the server's shutdown: no
//! body the mock stretches on purpose holds up a stop (it is cut instead).

use std::collections::VecDeque;
use std::io;
use std::ops::Range;
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
    /// The same events, already framed into one buffer as the route wrote them.
    Framed(Events),
}

/// Server-sent events framed one after another into a single buffer, with where each ends.
/// A stream is then sent as slices of that one buffer: a `String` per event, framed again
/// into a gathered write, had been most of what the mock spent on a streamed reply.
pub(crate) struct Events {
    bytes: Vec<u8>,
    /// Where each event ends in `bytes` (the next starts there).
    ends: Vec<usize>,
    /// How many events come before the reply's text ([`Events::end_head`]) and where the
    /// events carrying its pieces end ([`Events::end_pieces`]), counted in events.
    head: usize,
    pieces_end: usize,
}

impl Events {
    /// Room for `bytes` of framed events, `events` of them.
    pub fn with_capacity(bytes: usize, events: usize) -> Events {
        Events {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(events),
            head: 0,
            pieces_end: 0,
        }
    }

    /// Appends one `data:` event whose data `write` appends (text without a line break).
    pub fn push(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.bytes.extend_from_slice(b"data: ");
        write(&mut self.bytes);
        self.bytes.extend_from_slice(b"\n\n");
        self.ends.push(self.bytes.len());
    }

    /// Appends one event already framed: `lead` (from `data: `), `piece`, then `trail` (to
    /// the blank line). For events that are the same bytes around a piece, which a caller puts
    /// together once: three copies an event, where [`Events::push`] makes one a part.
    pub fn push_around(&mut self, lead: &[u8], piece: &[u8], trail: &[u8]) {
        debug_assert!(lead.starts_with(b"data: ") && trail.ends_with(b"\n\n"));
        self.bytes.reserve(lead.len() + piece.len() + trail.len());
        self.bytes.extend_from_slice(lead);
        self.bytes.extend_from_slice(piece);
        self.bytes.extend_from_slice(trail);
        self.ends.push(self.bytes.len());
    }

    /// The events pushed so far come before the reply's text.
    pub fn end_head(&mut self) {
        self.head = self.ends.len();
        self.pieces_end = self.head;
    }

    /// The events pushed since [`Events::end_head`] carry the pieces of the reply's text; the
    /// rest (finish, usage, `[DONE]`) follow it.
    pub fn end_pieces(&mut self) {
        self.pieces_end = self.ends.len();
    }

    /// The data of the events before the pieces, of the pieces, and after them.
    #[cfg(test)]
    pub fn parts(&self) -> [Vec<String>; 3] {
        let data = |from: usize, to: usize| -> Vec<String> {
            (from..to)
                .map(|i| {
                    let event = &self.bytes[Events::span_in(&self.ends, i)];
                    let data = event.strip_prefix(b"data: ").unwrap_or(event);
                    let data = data.strip_suffix(b"\n\n").unwrap_or(data);
                    String::from_utf8_lossy(data).into_owned()
                })
                .collect()
        };
        [
            data(0, self.head),
            data(self.head, self.pieces_end),
            data(self.pieces_end, self.ends.len()),
        ]
    }

    /// The three lists of a [`Payload::Events`], framed.
    fn from_parts(head: &[String], pieces: &[String], tail: &[String]) -> Events {
        let all = || head.iter().chain(pieces).chain(tail);
        let len = all().map(|e| e.len() + "data: \n\n".len()).sum();
        let mut events = Events::with_capacity(len, head.len() + pieces.len() + tail.len());
        let push =
            |events: &mut Events, e: &String| events.push(|b| b.extend_from_slice(e.as_bytes()));
        head.iter().for_each(|e| push(&mut events, e));
        events.end_head();
        pieces.iter().for_each(|e| push(&mut events, e));
        events.end_pieces();
        tail.iter().for_each(|e| push(&mut events, e));
        events
    }

    /// Where event `i` lies in a buffer whose events end at `ends`.
    fn span_in(ends: &[usize], i: usize) -> Range<usize> {
        let start = if i == 0 { 0 } else { ends[i - 1] };
        start..ends[i]
    }

    /// Where events `from..to` lie in the buffer.
    fn spans(&self, from: usize, to: usize) -> Range<usize> {
        if from >= to {
            return 0..0;
        }
        Events::span_in(&self.ends, from).start..self.ends[to - 1]
    }
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
    Pieces::of(text).collect()
}

/// [`pieces`] one at a time, without a list. An ASCII text is split a byte at a time, white
/// space being six bytes there: decoding and classifying each character had been most of
/// the cost of splitting a reply. (Word starts found eight bytes at a time, as the mock
/// counts tokens, cost a tenth more: a piece is a word of five bytes or so, and keeping the
/// place within eight bytes from one piece to the next cost more than it saved.)
pub(crate) struct Pieces<'a> {
    text: &'a str,
    /// Where the next piece starts.
    start: usize,
    ascii: bool,
}

impl<'a> Pieces<'a> {
    pub fn of(text: &'a str) -> Pieces<'a> {
        Pieces {
            text,
            start: 0,
            ascii: text.is_ascii(),
        }
    }

    /// Where the piece starting at `start` ends: past any white space (only the first piece
    /// can start with some), a word, and the white space after it.
    fn end(&self) -> usize {
        if !self.ascii {
            return piece_end(self.text, self.start);
        }
        // `char::is_whitespace` on ASCII: tab to carriage return, and space.
        let space = |b: u8| matches!(b, b'\t'..=b'\r' | b' ');
        let bytes = self.text.as_bytes();
        let mut i = self.start;
        while i < bytes.len() && space(bytes[i]) {
            i += 1;
        }
        while i < bytes.len() && !space(bytes[i]) {
            i += 1;
        }
        while i < bytes.len() && space(bytes[i]) {
            i += 1;
        }
        i
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.start >= self.text.len() {
            return None;
        }
        let end = self.end();
        let piece = self.text.get(self.start..end)?;
        self.start = end;
        Some(piece)
    }
}

/// Where the piece starting at `start` ends, a character at a time: white space (only the
/// first piece can start with some), a word, then white space up to the next word. A text
/// of white space alone is one piece.
fn piece_end(text: &str, start: usize) -> usize {
    let (mut in_space, mut seen_word) = (true, false);
    for (i, c) in text[start..].char_indices() {
        let space = c.is_whitespace();
        if !space && in_space && seen_word {
            return start + i;
        }
        seen_word |= !space;
        in_space = space;
    }
    text.len()
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
    let events = match payload {
        Payload::Json { bytes, text } => return json(status, bytes, text, fault, pacing, ends),
        Payload::Events { head, pieces, tail } => Events::from_parts(&head, &pieces, &tail),
        Payload::Framed(events) => events,
    };
    let pace = pacing.pace;
    let body = if fault.is_none() && pace.first_chunk_delay.is_zero() && pace.chunk_delay.is_zero()
    {
        // Sent as a server with every event in hand sends them: chunked, in one frame. With
        // nothing to pace or cut it is not played: the player's steps, its checks for a stop
        // and its stretch mark had been about a twentieth of what the mock spent on a
        // streamed reply.
        let all = Bytes::from(events.bytes);
        Body::from_stream(futures::stream::iter([Ok::<_, io::Error>(all)]))
    } else {
        Body::from_stream(play(event_steps(events, fault, pacing), ends))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
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
    let half = len / 2;
    let mut steps = match fault {
        Some(Fault::Trickle | Fault::Cut | Fault::Stall | Fault::Endless) => {
            Steps::over(Bytes::from(bytes))
        }
        _ => return json_body(status, bytes),
    };
    match fault {
        Some(Fault::Trickle) => steps.trickle(0..len, pacing.trickle_interval),
        Some(Fault::Cut) => {
            steps.send(0..half);
            steps.steps.push_back(Step::Fail);
        }
        Some(Fault::Stall) => {
            steps.send(0..half);
            steps.steps.push_back(Step::Hold);
        }
        _ => endless_json(&mut steps, text.as_deref()),
    }
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
fn endless_json(steps: &mut Steps, text: Option<&str>) {
    let bytes = &steps.body;
    let quoted = text
        .filter(|t| !t.trim().is_empty())
        .and_then(|t| serde_json::to_string(t).ok());
    let found = quoted.as_deref().and_then(|q| {
        let at = find(bytes, q.as_bytes())?;
        // Inside the string: past its opening quote, before its closing one.
        Some((at + 1, &q[1..q.len() - 1]))
    });
    let (prefix, unit) = match found {
        Some((start, inner)) => (0..start, format!("{inner} ")),
        None => (0..bytes.len().saturating_sub(1), " ".to_string()),
    };
    // Chunks of a few KiB, so an endless body costs the mock few writes per megabyte.
    let chunk = Bytes::from(unit.repeat((4096 / unit.len()).max(1)));
    steps.send(prefix);
    steps.forever = Some((vec![chunk], Duration::ZERO));
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn event_steps(events: Events, fault: Option<Fault>, pacing: Pacing) -> Steps {
    let Pace {
        first_chunk_delay,
        chunk_delay,
    } = pacing.pace;
    let (head, pieces_end, count) = (events.head, events.pieces_end, events.ends.len());
    let (all, head_span, tail) = (
        events.spans(0, count),
        events.spans(0, head),
        events.spans(pieces_end, count),
    );
    let Events { bytes, ends, .. } = events;
    let piece = |i: usize| Events::span_in(&ends, head + i);
    let pieces = pieces_end - head;
    let mut steps = Steps::over(Bytes::from(bytes));
    if fault == Some(Fault::Trickle) {
        steps.trickle(all, pacing.trickle_interval);
        return steps;
    }
    steps.send(head_span);
    steps.wait(first_chunk_delay);
    let sent = match fault {
        Some(Fault::Cut) => pieces.div_ceil(2),
        Some(Fault::Stall) => pieces.min(1),
        _ => pieces,
    };
    for i in 0..sent {
        if i > 0 {
            steps.wait(chunk_delay);
        }
        steps.send(piece(i));
    }
    match fault {
        Some(Fault::Cut) => steps.steps.push_back(Step::Fail),
        Some(Fault::Stall) => steps.steps.push_back(Step::Hold),
        Some(Fault::Endless) => {
            // Pieces from the start again, for ever; a reply without text repeats an SSE
            // comment, which carries no data but keeps the stream going.
            let again = if pieces == 0 {
                vec![Bytes::from_static(b": still here\n\n")]
            } else {
                (0..pieces).map(|i| steps.body.slice(piece(i))).collect()
            };
            steps.wait(chunk_delay);
            steps.forever = Some((again, chunk_delay));
        }
        _ => steps.send(tail),
    }
    steps
}

/// One thing a body does next.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Send these bytes of the body.
    Send(Range<usize>),
    Wait(Duration),
    /// End the body with an error: the connection is dropped, the body left incomplete.
    Fail,
    /// Send nothing more until the server stops, then drop the connection.
    Hold,
}

/// What a body does, as slices of one buffer.
struct Steps {
    body: Bytes,
    steps: VecDeque<Step>,
    /// Once `steps` are done: send these in turn for ever, this far apart.
    forever: Option<(Vec<Bytes>, Duration)>,
    /// A piece of `forever` due after the pause [`Steps::next`] just gave.
    pending: Option<Bytes>,
}

/// What [`play`] does next: [`Step`] with the bytes to send cut from the body.
enum Act {
    Send(Bytes),
    Wait(Duration),
    Fail,
    Hold,
}

impl Steps {
    fn over(body: Bytes) -> Steps {
        Steps {
            body,
            steps: VecDeque::new(),
            forever: None,
            pending: None,
        }
    }

    /// Bytes with no pause before them go out in the same write as those before them, as a
    /// server that has them all at once would send them: a write (and a chunk to frame) per
    /// piece would make the mock, not the client under test, the cost of a fast stream. The
    /// sends of a body are in order, so such bytes always follow the last send's.
    fn send(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        if let Some(Step::Send(last)) = self.steps.back_mut() {
            if last.end == range.start {
                last.end = range.end;
                return;
            }
        }
        self.steps.push_back(Step::Send(range));
    }

    /// The bytes of `range` one at a time, `every` apart.
    fn trickle(&mut self, range: Range<usize>, every: Duration) {
        for i in range.clone() {
            if i > range.start {
                self.wait(every);
            }
            self.send(i..i + 1);
        }
    }

    fn wait(&mut self, d: Duration) {
        if !d.is_zero() {
            self.steps.push_back(Step::Wait(d));
        }
    }

    /// The next step, refilling from `forever` when the list is done.
    fn next(&mut self, round: &mut usize) -> Option<Act> {
        if let Some(piece) = self.pending.take() {
            return Some(Act::Send(piece));
        }
        if let Some(step) = self.steps.pop_front() {
            return Some(match step {
                Step::Send(range) => Act::Send(self.body.slice(range)),
                Step::Wait(d) => Act::Wait(d),
                Step::Fail => Act::Fail,
                Step::Hold => Act::Hold,
            });
        }
        let (again, every) = self.forever.as_ref()?;
        let piece = again.get(*round % again.len().max(1))?.clone();
        *round += 1;
        if *round > 1 && !every.is_zero() {
            // The pause comes first; the piece waits for the next call.
            let every = *every;
            self.pending = Some(piece);
            return Some(Act::Wait(every));
        }
        Some(Act::Send(piece))
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
                Act::Send(b) => return Some((Ok(b), Some((steps, shutdown, round, stretch)))),
                Act::Wait(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.wait_for(|stop| *stop) => {}
                    }
                }
                Act::Fail => {
                    // Give hyper a pending poll first: it flushes what was sent so far,
                    // so the client sees a body that stops rather than no response.
                    tokio::time::sleep(FLUSH_PAUSE).await;
                    let err = io::Error::new(io::ErrorKind::ConnectionAborted, "cut by the mock");
                    return Some((Err(err), None));
                }
                Act::Hold => {
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

    /// The splitting as first written, a character at a time.
    fn pieces_by_char(text: &str) -> Vec<&str> {
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

    #[test]
    fn pieces_are_split_as_a_character_at_a_time() {
        use proptest::prelude::*;
        let parts = vec![
            "a", "Bc", " ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{1c}", "\u{1f}", "é", "🎉",
            "\u{a0}", "\u{85}", "\u{2028}", "\u{3000}", "\u{200b}",
        ];
        // ASCII alone takes the road of eight bytes at a time.
        let ascii =
            proptest::collection::vec(proptest::sample::select(parts[..10].to_vec()), 0..30)
                .prop_map(|p| p.concat());
        let mixed = proptest::collection::vec(proptest::sample::select(parts), 0..20)
            .prop_map(|p| p.concat());
        proptest!(ProptestConfig::with_cases(20_000), |(text in prop_oneof![ascii, mixed])| {
            prop_assert_eq!(pieces(&text), pieces_by_char(&text), "{:?}", text);
        });
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
        let mut hold = Steps::over(Bytes::new());
        hold.steps.push_back(Step::Hold);
        let stream = play(
            hold,
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

    fn events() -> Events {
        let text = |v: &[&str]| v.iter().map(|e| e.to_string()).collect::<Vec<_>>();
        Events::from_parts(
            &text(&["role"]),
            &text(&["p1", "p2", "p3"]),
            &text(&["[DONE]"]),
        )
    }

    #[tokio::test]
    async fn a_cut_stream_sends_half_its_pieces_and_fails() {
        let (body, complete) = collect(event_steps(events(), Some(Fault::Cut), pacing())).await;
        assert!(!complete);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "data: role\n\ndata: p1\n\ndata: p2\n\n"
        );
    }

    #[tokio::test]
    async fn a_normal_stream_ends_with_its_tail() {
        let (body, complete) = collect(event_steps(events(), None, pacing())).await;
        assert!(complete);
        assert!(String::from_utf8(body)
            .unwrap()
            .ends_with("data: p3\n\ndata: [DONE]\n\n"));
    }

    /// A stream with nothing to pace or cut goes out as one frame of every event, chunked
    /// (no length), marking no connection; a paced one is played.
    #[tokio::test]
    async fn an_unpaced_stream_is_one_frame_of_every_event() {
        use http_body_util::BodyExt;
        let (_tx, rx) = watch::channel(false);
        let conn = ConnHandle::new();
        let ends = |rx: &watch::Receiver<bool>| Ends {
            shutdown: rx.clone(),
            conn: conn.clone(),
        };
        let payload = || Payload::Framed(events());
        let resp = deliver(StatusCode::OK, payload(), None, pacing(), ends(&rx));
        assert!(!conn.is_stretching());
        assert!(resp.headers().get(header::CONTENT_LENGTH).is_none());
        assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
        let mut body = resp.into_body();
        assert_eq!(
            axum::body::HttpBody::size_hint(&body).exact(),
            None,
            "a stream's length is not told"
        );
        let mut frames = Vec::new();
        while let Some(frame) = body.frame().await {
            frames.push(frame.expect("a frame").into_data().expect("data"));
        }
        assert_eq!(frames.len(), 1);
        assert_eq!(
            frames[0],
            "data: role\n\ndata: p1\n\ndata: p2\n\ndata: p3\n\ndata: [DONE]\n\n"
        );
        let paced = Pacing {
            trickle_interval: Duration::ZERO,
            pace: Pace {
                first_chunk_delay: Duration::from_millis(1),
                chunk_delay: Duration::ZERO,
            },
        };
        let resp = deliver(StatusCode::OK, payload(), None, paced, ends(&rx));
        assert!(conn.is_stretching(), "a paced stream is played");
        drop(resp);
    }

    /// The writes a stream makes (as event texts) and the pauses between them.
    fn writes(steps: &Steps) -> Vec<String> {
        let text = |r: &Range<usize>| String::from_utf8_lossy(&steps.body[r.clone()]).into_owned();
        steps
            .steps
            .iter()
            .map(|s| match s {
                Step::Send(r) => text(r).replace("data: ", "").replace("\n\n", "|"),
                Step::Wait(d) => format!("wait {}", d.as_millis()),
                Step::Fail => "fail".into(),
                Step::Hold => "hold".into(),
            })
            .collect()
    }

    #[test]
    fn events_without_pauses_are_one_write_and_pauses_split_them() {
        assert_eq!(
            writes(&event_steps(events(), None, pacing())),
            ["role|p1|p2|p3|[DONE]|"]
        );
        let paced = |first, chunk| Pacing {
            trickle_interval: Duration::ZERO,
            pace: Pace {
                first_chunk_delay: Duration::from_millis(first),
                chunk_delay: Duration::from_millis(chunk),
            },
        };
        assert_eq!(
            writes(&event_steps(events(), None, paced(30, 20))),
            [
                "role|",
                "wait 30",
                "p1|",
                "wait 20",
                "p2|",
                "wait 20",
                "p3|[DONE]|"
            ]
        );
        assert_eq!(
            writes(&event_steps(events(), None, paced(0, 20))),
            ["role|p1|", "wait 20", "p2|", "wait 20", "p3|[DONE]|"]
        );
        assert_eq!(
            writes(&event_steps(events(), Some(Fault::Stall), paced(30, 0))),
            ["role|", "wait 30", "p1|", "hold"]
        );
        let trickled = Pacing {
            trickle_interval: Duration::from_millis(1),
            pace: Pace::default(),
        };
        let t = writes(&event_steps(events(), Some(Fault::Trickle), trickled));
        assert_eq!(
            t.len(),
            2 * "data: role\n\n".len() - 1 + 2 * 3 * 10 + 2 * 14
        );
        assert_eq!(t[..3], ["d", "wait 1", "a"]);
    }

    #[tokio::test]
    async fn an_endless_stream_repeats_its_pieces() {
        let steps = event_steps(events(), Some(Fault::Endless), pacing());
        let (_tx, rx) = watch::channel(false);
        let got: Vec<u8> = play(steps, ends(rx))
            .take(4)
            .map(|b| b.unwrap())
            .collect::<Vec<_>>()
            .await
            .concat();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "data: role\n\ndata: p1\n\ndata: p2\n\ndata: p3\n\ndata: p1\n\ndata: p2\n\ndata: p3\n\n"
        );
    }

    #[tokio::test]
    async fn an_endless_json_body_repeats_the_reply_inside_the_string() {
        let bytes = Bytes::from_static(br#"{"response":"hi there","session_id":"s"}"#);
        let (_tx, rx) = watch::channel(false);
        let mut steps = Steps::over(bytes);
        endless_json(&mut steps, Some("hi there"));
        let stream = play(steps, ends(rx));
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
