//! Server-sent events (a streamed reply): the response's bytes go through the event-stream
//! parser below as they arrive, each event's `data` is handed to the endpoint kind (which knows
//! where the text piece is), and the pieces are joined. An endpoint kind that knows an event by
//! its bytes (one in the shape of an event read before) may read it, or a run of them, where
//! it lies in the body instead, nothing split or copied ([`Reader::events`]), saying what the
//! parser would. It records when the first piece of text came (time to first token), keeps
//! the body cap over the whole stream (an endless stream is cut, not buffered), and `[DONE]`
//! ends it. A stream that goes quiet ends at the request's timeout, under one timer for all
//! its reads.
//!
//! The parser is ours, not `eventsource-stream`'s: measured on streamed chat completions, that
//! crate's parser took 6,900 instructions per 200-byte event, more than half of the runner's
//! work on a streamed reply; this one is a line splitter and does the same in a few hundred.
//! It follows the WHATWG "interpreting an event stream" rules that matter to a reply (lines
//! end in LF, CRLF or CR, also split across reads; `data` lines join with LF; comments and
//! other fields are skipped; an event without data is no event), and a property test holds it
//! to `eventsource-stream`'s output on any chunking. One rule differs on purpose: an event the
//! stream leaves unfinished at its end is read, not dropped ([`EventParser::end`]), so a stream
//! cut mid-event is a malformed reply rather than the text before the cut.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::transport::{self, Response, MAX_BODY_BYTES};
use crate::record::SendError;

/// What one event said, as the endpoint kind reads it.
#[derive(Debug, Default)]
pub struct Piece<'a> {
    /// A piece of the reply's text (empty or `None` for a role-only or usage-only event),
    /// borrowed from the event's data where the reader could.
    pub text: Option<Cow<'a, str>>,
}

/// A whole streamed reply.
#[derive(Debug, Default)]
pub struct Streamed {
    pub text: String,
    /// From the request being sent to the first non-empty piece of text.
    pub first_token: Option<Duration>,
}

/// The room a streamed reply's text starts with: most replies fit in it.
const TEXT_CAPACITY: usize = 512;

/// What reads a stream's events for [`read_events`]: each event's data, and, if it can, events
/// whole from the bytes of the body as they came.
pub trait Reader {
    /// The events at the start of `bytes` (nothing of an event buffered before the first) that
    /// lie whole there and that this reader knows by their bytes alone: how many bytes they take,
    /// through the blank line that ends the last, with their text pieces appended to `text`; 0
    /// (and nothing appended) for none. It must say what the event parser and [`Reader::data`]
    /// would say of the same bytes, event by event; 0 leaves them to those. Splitting an event
    /// into lines before reading its data was a third of a streamed reply's reading: an event in
    /// a shape read before is compared with it where it lies, never searched for its line ends,
    /// and a run of events in one shape (a reply's words) is read in one go, what lies between
    /// two words compared once. None by default.
    ///
    /// The pieces are appended as the bytes of UTF-8 text: a reader that knows them to be ASCII
    /// need not check them, and the reply's text is checked whole once at the end (the pieces
    /// joined are UTF-8 when each is), where a check per piece had cost a fifth of reading the
    /// event.
    fn events(&mut self, bytes: &[u8], text: &mut Vec<u8>) -> usize {
        let _ = (bytes, text);
        0
    }

    /// The text piece of an event's `data`, or why the event makes no sense. The data is
    /// trimmed, and not checked to be UTF-8: a reader that recognises most of an event by
    /// comparing bytes (the openai kind's frame) need check only the rest, and checking each
    /// 200-byte event whole was a tenth of a streamed reply's cost. [`text`] turns it into
    /// text, with U+FFFD for what is not UTF-8, as the line-by-line road does.
    fn data<'b>(&mut self, data: &'b [u8]) -> Result<Piece<'b>, String>;

    /// Whether the events read make a reply, once the stream has ended (`done`: with
    /// `[DONE]`, rather than by the body's end) and its pieces joined into `text` (the bytes of
    /// UTF-8 text): why not, if they do not (a kind whose events all lacked a text where it
    /// puts one, or never said they were finished, or said something else in place of an empty
    /// text). Yes by default.
    fn finish(&mut self, done: bool, text: &[u8]) -> Result<(), String> {
        let _ = (done, text);
        Ok(())
    }
}

/// A [`Reader`] of each event's data alone.
struct Data<F>(F);

impl<F: FnMut(&[u8]) -> Result<Piece<'_>, String>> Reader for Data<F> {
    fn data<'b>(&mut self, data: &'b [u8]) -> Result<Piece<'b>, String> {
        (self.0)(data)
    }
}

/// Reads every event of `response`, passing each `data` to `read` (which returns the text
/// piece, or why the event makes no sense) until `[DONE]` or the end of the stream; `read`
/// gets what [`Reader::data`] gets. See [`read_events`] for what it returns.
pub async fn read_stream(
    response: Response,
    started: Instant,
    read: impl FnMut(&[u8]) -> Result<Piece<'_>, String>,
) -> Result<Result<Streamed, String>, SendError> {
    read_events(response, started, Data(read)).await
}

/// Reads every event of `response` with `reader` until `[DONE]` or the end of the stream: the
/// reply, or why the stream makes none (the inner `Err`: an event that makes no sense, a stream
/// cut in the middle of an event, a compressed body, or what [`Reader::finish`] says), which
/// the kind reports as a malformed reply of the response's status. The outer `Err` is a
/// transport failure (a timeout, a dropped connection, the body cap).
///
/// A stream that ends without the blank line after its last event has that event read all
/// the same: cut mid-event, it then makes no sense and the reply is malformed, never judged
/// on the text before the cut.
pub async fn read_events(
    mut response: Response,
    started: Instant,
    reader: impl Reader,
) -> Result<Result<Streamed, String>, SendError> {
    if let Some(reason) = transport::not_decoded(response.headers()) {
        return Ok(Err(reason));
    }
    let mut reading = Reading::new(reader, started);
    // One timer for the whole stream: each read is due by the same deadline.
    let (deadline, timeout) = response.deadline();
    let status = response.status();
    let read = async {
        while let Some(chunk) = response.chunk_untimed().await.map_err(Halt::Send)? {
            if reading.feed(&chunk)? {
                return Ok(true);
            }
        }
        Ok::<_, Halt>(false)
    };
    let done = match tokio::time::timeout_at(deadline, read).await {
        Ok(Ok(done)) => done,
        Ok(Err(Halt::Done)) => true,
        Ok(Err(Halt::Send(e))) => return Err(e.in_body(status)),
        Ok(Err(Halt::Malformed(reason))) => return Ok(Err(reason)),
        Err(_) => return Err(SendError::Timeout(timeout).in_body(status)),
    };
    if done {
        response.finish().await;
    }
    Ok(reading.close(done))
}

/// Why the reading of a stream stopped before its end.
enum Halt {
    /// `[DONE]`: the reply is whole.
    Done,
    /// The transport failed.
    Send(SendError),
    /// An event made no sense: the reply is malformed.
    Malformed(String),
}

/// A stream being read: the parser, the reader, and what the events said so far.
struct Reading<R> {
    parser: EventParser,
    reader: R,
    out: Joined,
    /// The bytes of the body so far, held to the cap.
    seen: usize,
    started: Instant,
}

impl<R: Reader> Reading<R> {
    fn new(reader: R, started: Instant) -> Self {
        Reading {
            parser: EventParser::default(),
            reader,
            // The text comes a word at a time: grown from empty it was moved five times in a
            // short reply (1,700 instructions a request, the most any one thing cost a
            // streamed reply).
            out: Joined {
                text: Vec::with_capacity(TEXT_CAPACITY),
                first_token: None,
            },
            seen: 0,
            started,
        }
    }

    /// Reads one piece of the body: whether `[DONE]` ended the stream in it.
    fn feed(&mut self, chunk: &[u8]) -> Result<bool, Halt> {
        // The cap is checked on the raw bytes, before the parser buffers anything.
        self.seen += chunk.len();
        if self.seen > MAX_BODY_BYTES {
            return Err(Halt::Send(SendError::TooLarge(MAX_BODY_BYTES)));
        }
        let mut events = Events {
            reader: &mut self.reader,
            out: &mut self.out,
            started: self.started,
        };
        match self.parser.feed_to(chunk, &mut events) {
            Ok(()) => Ok(false),
            Err(Halt::Done) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The reply, once the stream has ended (`done`: with `[DONE]`), or why it is none: an
    /// event left unfinished that makes no sense ([`Reading::end`]), or what the reader's
    /// [`Reader::finish`] says of the whole.
    fn close(mut self, done: bool) -> Result<Streamed, String> {
        if !done {
            self.end()?;
        }
        self.reader.finish(done, &self.out.text)?;
        Ok(self.out.into_streamed())
    }

    /// The stream ended without `[DONE]`: an event it left unfinished is read as it stands, and
    /// if that makes no sense the stream was cut, which is no reply.
    fn end(&mut self) -> Result<(), String> {
        let mut events = Events {
            reader: &mut self.reader,
            out: &mut self.out,
            started: self.started,
        };
        match self.parser.end(&mut events) {
            Ok(()) | Err(Halt::Done) => Ok(()),
            Err(Halt::Malformed(reason)) => Err(format!(
                "the stream ended in the middle of an event, which makes no sense as it stands \
                 ({reason})"
            )),
            Err(Halt::Send(e)) => Err(e.to_string()),
        }
    }
}

/// The reply's text so far, the pieces' bytes joined, and when its first piece came.
struct Joined {
    /// UTF-8, each piece being so: see [`Reader::events`].
    text: Vec<u8>,
    first_token: Option<Duration>,
}

impl Joined {
    fn into_streamed(self) -> Streamed {
        // Checked once here rather than piece by piece; never lossy, every piece being text.
        let text = String::from_utf8(self.text)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Streamed {
            text,
            first_token: self.first_token,
        }
    }
}

/// What the parser hands the events of one read to: the reader, and the reply they make.
struct Events<'r, R> {
    reader: &'r mut R,
    out: &'r mut Joined,
    started: Instant,
}

impl<R> Events<'_, R> {
    /// Adds a piece of text, the bytes of UTF-8 text.
    fn push(&mut self, text: Option<&[u8]>) {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            let started = self.started;
            self.out
                .first_token
                .get_or_insert_with(|| started.elapsed());
            self.out.text.extend_from_slice(text);
        }
    }
}

impl<R: Reader> Handler for Events<'_, R> {
    type Error = Halt;

    fn event(&mut self, bytes: &[u8]) -> Result<Option<usize>, Self::Error> {
        // The common end, what [`Handler::data`] ends on, without the line-by-line road; asked
        // first, since no reader knows it (a reader's event road had looked for it among all
        // its shapes, in every reply).
        if bytes.starts_with(b"data: [DONE]\n\n") {
            return Err(Halt::Done);
        }
        let before = self.out.text.len();
        let len = self.reader.events(bytes, &mut self.out.text);
        if len > 0 {
            if self.out.text.len() > before && self.out.first_token.is_none() {
                self.out.first_token = Some(self.started.elapsed());
            }
            return Ok(Some(len));
        }
        Ok(None)
    }

    fn data(&mut self, data: &[u8]) -> Result<(), Self::Error> {
        let data = trim(data);
        // `[DONE]` ends the reply; some servers just end the stream.
        if *data == *b"[DONE]" {
            return Err(Halt::Done);
        }
        if data.is_empty() {
            return Ok(());
        }
        let piece = self.reader.data(&data).map_err(Halt::Malformed)?;
        self.push(piece.text.as_deref().map(str::as_bytes));
        Ok(())
    }
}

/// The reply `reader` makes of a body that comes in these `pieces`, as [`read_events`] makes
/// it: its text, or the error that ends it.
#[cfg(test)]
pub(super) fn read_pieces(pieces: &[&[u8]], reader: impl Reader) -> Result<String, SendError> {
    let mut reading = Reading::new(reader, Instant::now());
    for piece in pieces {
        match reading.feed(piece) {
            Ok(false) => {}
            Ok(true) | Err(Halt::Done) => break,
            Err(Halt::Send(e)) => return Err(e),
            Err(Halt::Malformed(e)) => return Err(SendError::Other(e)),
        }
    }
    Ok(reading.out.into_streamed().text)
}

/// The reply `reader` makes of a body that comes in these `pieces`, as [`read_events`] makes it
/// to its end ([`Reader::finish`] included): its text, or why it is none.
#[cfg(test)]
pub(super) fn read_reply(pieces: &[&[u8]], reader: impl Reader) -> Result<String, String> {
    let mut reading = Reading::new(reader, Instant::now());
    let mut done = false;
    for piece in pieces {
        match reading.feed(piece) {
            Ok(false) => {}
            Ok(true) | Err(Halt::Done) => {
                done = true;
                break;
            }
            Err(Halt::Send(e)) => return Err(e.to_string()),
            Err(Halt::Malformed(e)) => return Err(e),
        }
    }
    reading.close(done).map(|streamed| streamed.text)
}

/// The event's data as text: borrowed when it is UTF-8, else with U+FFFD for each bad
/// sequence. (`from_utf8` first: `from_utf8_lossy` walks valid text several times slower.)
pub fn text(data: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// `data` without the whitespace around it, as `str::trim` takes it off the data's text.
/// Whitespace at either end is nearly always ASCII, taken off here byte by byte; an end that
/// is not ASCII (a character `trim` might know as space, or bytes that are not UTF-8) is left
/// to `str::trim` over [`text`].
///
/// Inlined for the common event, `{…}` with nothing around it: as a call it was a tenth of the
/// event parser's own cost.
#[inline]
fn trim(data: &[u8]) -> Cow<'_, [u8]> {
    if let (Some(&a), Some(&z)) = (data.first(), data.last()) {
        if (b'!'..=b'~').contains(&a) && (b'!'..=b'~').contains(&z) {
            return Cow::Borrowed(data);
        }
    }
    trim_around(data)
}

/// [`trim`] of data with something that may be whitespace at an end.
fn trim_around(data: &[u8]) -> Cow<'_, [u8]> {
    // `char::is_whitespace` on ASCII: `u8::is_ascii_whitespace` and the vertical tab.
    let space = |b: &u8| b.is_ascii_whitespace() || *b == 0x0b;
    let start = data.iter().position(|b| !space(b)).unwrap_or(data.len());
    let end = data
        .iter()
        .rposition(|b| !space(b))
        .map_or(start, |e| e + 1);
    let trimmed = &data[start..end];
    match (trimmed.first(), trimmed.last()) {
        (Some(a), Some(z)) if !a.is_ascii() || !z.is_ascii() => match text(data) {
            Cow::Borrowed(t) => Cow::Borrowed(t.trim().as_bytes()),
            Cow::Owned(t) => Cow::Owned(t.trim().as_bytes().to_vec()),
        },
        _ => Cow::Borrowed(trimmed),
    }
}

/// An incremental event-stream parser that keeps only what a reply needs: each event's data.
/// Buffers are kept from event to event, so a long stream allocates once.
#[derive(Debug, Default)]
pub struct EventParser {
    /// The bytes of a line not ended yet.
    line: Vec<u8>,
    /// The data lines of the event being read, each followed by LF.
    data: String,
    /// The last read ended in CR: an LF first in the next one ends no line.
    after_cr: bool,
    /// The byte order mark, skipped once at the start.
    started: bool,
}

/// What [`EventParser::feed_to`] hands each event to.
pub trait Handler {
    type Error;

    /// The events at the start of `bytes`, with nothing of an event buffered before the first,
    /// if the handler reads them whole from there: how many bytes they took (see
    /// [`Reader::events`]).
    fn event(&mut self, bytes: &[u8]) -> Result<Option<usize>, Self::Error> {
        let _ = bytes;
        Ok(None)
    }

    /// The data of an event the parser read.
    fn data(&mut self, data: &[u8]) -> Result<(), Self::Error>;
}

/// A [`Handler`] of each event's data alone.
struct OnData<F>(F);

impl<E, F: FnMut(&[u8]) -> Result<(), E>> Handler for OnData<F> {
    type Error = E;

    fn data(&mut self, data: &[u8]) -> Result<(), E> {
        (self.0)(data)
    }
}

impl EventParser {
    /// Reads `bytes`, handing the data of every event they complete to `on_data`; the first
    /// error it returns stops the reading and is returned.
    pub fn feed<E>(
        &mut self,
        bytes: &[u8],
        on_data: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.feed_to(bytes, &mut OnData(on_data))
    }

    /// Reads `bytes`, offering each event that starts with nothing buffered to
    /// [`Handler::event`] first and handing the data of every other event they complete to
    /// [`Handler::data`]; the first error stops the reading and is returned.
    pub fn feed_to<H: Handler>(&mut self, mut bytes: &[u8], on: &mut H) -> Result<(), H::Error> {
        if !self.started && !bytes.is_empty() {
            self.started = true;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        loop {
            // At the start of a line with no data buffered, the event here is the handler's
            // if it takes it: its other fields, if any came before, are ignored either way.
            if self.line.is_empty() && self.data.is_empty() && !bytes.is_empty() {
                if let Some(len) = on.event(bytes)? {
                    bytes = &bytes[len..];
                    continue;
                }
            }
            let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) else {
                break;
            };
            if let Some((data, rest)) = self.whole_event(bytes, end) {
                on.data(data)?;
                bytes = rest;
                continue;
            }
            if self.line.is_empty() {
                self.line_done(&bytes[..end], on)?;
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                let done = self.line_done(&line, on);
                line.clear();
                self.line = line;
                done?;
            }
            let cr = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// The common event, `data: …` and a blank line, when both are whole in `bytes` (the
    /// first line ending at `end`) and nothing of an event is buffered: its data, where it
    /// lies, and the bytes after it. Anything else (a CR that a next read may follow with an
    /// LF, other fields) is left to the line-by-line road. The data is not checked to be
    /// UTF-8 here: see [`Reader::data`].
    #[inline]
    fn whole_event<'b>(&self, bytes: &'b [u8], end: usize) -> Option<(&'b [u8], &'b [u8])> {
        if !self.line.is_empty() || !self.data.is_empty() {
            return None;
        }
        let value = bytes[..end].strip_prefix(b"data:")?;
        let value = value.strip_prefix(b" ").unwrap_or(value);
        let rest = line_end(&bytes[end..])?;
        let rest = line_end(rest)?;
        Some((value, rest))
    }

    /// The stream has ended: the event it left unfinished (a line not ended, data lines with
    /// no blank line after them) is handed on as if it had been ended. WHATWG drops it; a reply
    /// cannot, since the text before a cut would be judged as the whole reply.
    pub fn end<H: Handler>(&mut self, on: &mut H) -> Result<(), H::Error> {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, on)?;
        }
        if self.data.is_empty() {
            return Ok(());
        }
        self.data.pop();
        let handed = on.data(self.data.as_bytes());
        self.data.clear();
        handed
    }

    fn line_done<H: Handler>(&mut self, line: &[u8], on: &mut H) -> Result<(), H::Error> {
        if line.is_empty() {
            // A blank line ends the event; one without data is no event.
            if self.data.is_empty() {
                return Ok(());
            }
            self.data.pop();
            let handed = on.data(self.data.as_bytes());
            self.data.clear();
            return handed;
        }
        let (name, value) = match memchr::memchr(b':', line) {
            // A comment.
            Some(0) => return Ok(()),
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if name == b"data" {
            match std::str::from_utf8(value) {
                Ok(text) => self.data.push_str(text),
                Err(_) => self.data.push_str(&String::from_utf8_lossy(value)),
            }
            self.data.push('\n');
        }
        Ok(())
    }
}

/// The bytes after the line ending at the start of `bytes` (LF, CRLF, or a CR followed by
/// something else); `None` for no line ending there, or a CR last, whose LF may come next.
fn line_end(bytes: &[u8]) -> Option<&[u8]> {
    match bytes {
        [b'\n', rest @ ..] | [b'\r', b'\n', rest @ ..] => Some(rest),
        [b'\r', rest @ ..] if !rest.is_empty() => Some(rest),
        _ => None,
    }
}

/// Whether a response is an event stream (a server may answer JSON despite `stream: true`).
pub fn is_event_stream(response: &Response) -> bool {
    media_type(response).is_some_and(|t| t.eq_ignore_ascii_case(b"text/event-stream"))
}

/// Whether a response to a request that asked for a stream is read as events: one labelled
/// `text/event-stream`, and one labelled as no JSON type, or not at all. A server that answers
/// plain JSON despite the request says so in its `Content-Type`; one that streams often does
/// not say what it sends (Flask's `Response(generate())` labels it `text/html`), and reading
/// its events as one JSON body would fail a working agent.
pub fn answers_events(response: &Response) -> bool {
    match media_type(response) {
        None => true,
        // Compared without case, in place: a lowercased copy was an allocation a reply.
        Some(t) => {
            let is = |name: &[u8]| t.eq_ignore_ascii_case(name);
            let json_suffix = t.len() >= 5 && t[t.len() - 5..].eq_ignore_ascii_case(b"+json");
            is(b"text/event-stream")
                || !(is(b"application/json") || is(b"text/json") || json_suffix)
        }
    }
}

/// The media type of a response's `Content-Type`, parameters left out; none for a value
/// that is not visible ASCII. Cut and trimmed as bytes: the value being ASCII, ASCII
/// whitespace is all the whitespace there is (and `to_str` refuses the vertical tab, which
/// `trim_ascii` would keep), and `str`'s searchers and trim had cost more than the rest.
fn media_type(response: &Response) -> Option<&[u8]> {
    let v = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)?
        .to_str()
        .ok()?
        .as_bytes();
    let end = memchr::memchr(b';', v).unwrap_or(v.len());
    Some(v[..end].trim_ascii())
}

/// A word for an error about a body that did not parse as JSON, when it reads as server-sent
/// events: the server streamed, and labelled the stream as JSON.
pub fn looks_like_events(bytes: &[u8]) -> &'static str {
    let start = bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(bytes)
        .trim_ascii_start();
    if [&b"data:"[..], b"event:", b"id:", b"retry:"]
        .iter()
        .any(|field| start.starts_with(field))
    {
        " (it reads as server-sent events, labelled as JSON by the server's `Content-Type`)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = EventParser::default();
        let mut out = Vec::new();
        for c in chunks {
            let _ = p.feed(c, |d| {
                out.push(text(d).into_owned());
                Ok::<(), ()>(())
            });
        }
        out
    }

    #[test]
    fn events_lines_and_comments() {
        let stream =
            b"\xEF\xBB\xBF: hello\r\nevent: x\ndata: one\ndata:two\r\rdata\n\nid: 3\n\ndata: last";
        assert_eq!(parse(&[stream]), ["one\ntwo", ""]);
        // CRLF split across reads is one line end, not two.
        assert_eq!(parse(&[b"data: a\r", b"\n\r", b"\n"]), ["a"]);
        assert_eq!(parse(&[b"data: a\r", b"\r"]), ["a"]);
    }

    /// The byte trim takes off what `str::trim` takes off the data's text, whitespace being
    /// ASCII, Unicode or next to bytes that are not UTF-8.
    #[test]
    fn trim_is_str_trim_of_the_text() {
        let cases: [&[u8]; 14] = [
            b"",
            b"  ",
            b" {\"a\":1} \r\n",
            b"\x0b[DONE]\t",
            b"\x0c x \x0b",
            "\u{a0}{}\u{a0}".as_bytes(),
            "{}\u{3000}".as_bytes(),
            "\u{85}x".as_bytes(),
            "é".as_bytes(),
            b" \xff ",
            b"\xc3",
            b"a\xffb ",
            b" \xe2\x80",
            "\u{2028}".as_bytes(),
        ];
        for data in cases {
            let want = text(data).trim().to_string();
            assert_eq!(text(&trim(data)), want, "{data:?}");
        }
    }

    /// Our parser says what `eventsource-stream` says of any stream, however it is cut. Not
    /// with a byte order mark: that crate panics on one (a slice inside the mark), which the
    /// first test above covers for ours.
    #[test]
    fn agrees_with_eventsource_stream_on_any_chunking() {
        use futures::StreamExt;
        use proptest::prelude::*;
        let piece = prop::sample::select(vec![
            "data: ",
            "data:",
            "data",
            "event: e",
            "id: 1",
            ": c",
            "retry: 5",
            "\n",
            "\r\n",
            "\r",
            "x",
            " y ",
            "{\"a\":1}",
            "é",
            "[DONE]",
        ]);
        let case = (
            prop::collection::vec(piece, 0..40),
            // Reads of a few bytes split every line; long ones hold whole events (the
            // parser's road for an event whole in one read).
            prop::collection::vec(prop_oneof![1usize..9, 9usize..400], 1..8),
        );
        proptest!(ProptestConfig::with_cases(400), |((pieces, cuts) in case)| {
            let mut bytes = pieces.concat().into_bytes();
            // A CR as the very last byte ends a line for us (as the WHATWG rules say) while
            // `eventsource-stream` waits for a possible LF that never comes: a stream's end,
            // where a reply has already been read whole, so the two are compared without it.
            if bytes.last() == Some(&b'\r') {
                bytes.push(b'\n');
            }
            let mut chunks: Vec<Vec<u8>> = Vec::new();
            let mut at = 0;
            for (i, _) in bytes.iter().enumerate() {
                if i == at + cuts[chunks.len() % cuts.len()] {
                    chunks.push(bytes[at..i].to_vec());
                    at = i;
                }
            }
            chunks.push(bytes[at..].to_vec());
            let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
            let ours = parse(&refs);
            let stream = futures::stream::iter(
                chunks.clone().into_iter().map(Ok::<_, std::convert::Infallible>),
            );
            let theirs: Vec<String> = futures::executor::block_on(
                eventsource_stream::Eventsource::eventsource(stream)
                    .filter_map(|e| async move { e.ok() })
                    .map(|e| e.data)
                    .collect(),
            );
            let theirs: Vec<String> = theirs.into_iter().filter(|d| !d.is_empty()).collect();
            let ours: Vec<String> = ours.into_iter().filter(|d| !d.is_empty()).collect();
            prop_assert_eq!(&ours, &theirs, "{:?}", String::from_utf8_lossy(&bytes));
            // And the whole stream in one read.
            let whole: Vec<String> =
                parse(&[&bytes]).into_iter().filter(|d| !d.is_empty()).collect();
            prop_assert_eq!(&whole, &theirs, "whole: {:?}", String::from_utf8_lossy(&bytes));
        });
    }
}
