//! Server-sent events (a streamed reply): the response's bytes go through the event-stream
//! parser below as they arrive, each event's `data` is handed to the endpoint kind (which knows
//! where the text piece is), and the pieces are joined. It records when the first piece of
//! text came (time to first token), keeps the body cap over the whole stream (an endless
//! stream is cut, not buffered), and `[DONE]` ends it. A stream that goes quiet ends at the
//! request's timeout, like any other read.
//!
//! The parser is ours, not `eventsource-stream`'s: measured on streamed chat completions, that
//! crate's parser took 6,900 instructions per 200-byte event, more than half of the runner's
//! work on a streamed reply; this one is a line splitter and does the same in a few hundred.
//! It follows the WHATWG "interpreting an event stream" rules that matter to a reply (lines
//! end in LF, CRLF or CR, also split across reads; `data` lines join with LF; comments and
//! other fields are skipped; an event without data is no event; an unfinished event at the
//! end is dropped), and a property test holds it to `eventsource-stream`'s output on any
//! chunking.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use super::transport::{Response, MAX_BODY_BYTES};
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

/// Reads every event of `response`, passing each `data` to `read` (which returns the text
/// piece, or why the event makes no sense) until `[DONE]` or the end of the stream.
///
/// `read` gets the data's bytes, trimmed, which are not checked to be UTF-8: a reader that
/// recognises most of an event by comparing bytes (the openai kind's frame) need check only
/// the rest, and checking each 200-byte event whole was a tenth of a streamed reply's cost.
/// [`text`] turns them into text, with U+FFFD for what is not UTF-8, as the line-by-line road
/// does.
pub async fn read_stream(
    mut response: Response,
    started: Instant,
    mut read: impl FnMut(&[u8]) -> Result<Piece<'_>, String>,
) -> Result<Streamed, SendError> {
    let mut parser = EventParser::default();
    // The text comes a word at a time: grown from empty it was moved five times in a short
    // reply (1,700 instructions a request, the most any one thing cost a streamed reply).
    let mut out = Streamed {
        text: String::with_capacity(TEXT_CAPACITY),
        first_token: None,
    };
    let mut seen = 0usize;
    while let Some(chunk) = response.chunk().await? {
        // The cap is checked on the raw bytes, before the parser buffers anything.
        seen += chunk.len();
        if seen > MAX_BODY_BYTES {
            return Err(SendError::TooLarge(MAX_BODY_BYTES));
        }
        let fed = parser.feed(&chunk, |data| {
            let data = trim(data);
            // `[DONE]` ends the reply; some servers just end the stream.
            if *data == *b"[DONE]" {
                return Err(None);
            }
            if data.is_empty() {
                return Ok(());
            }
            let piece = read(&data).map_err(|e| Some(SendError::Other(e)))?;
            if let Some(text) = piece.text.filter(|t| !t.is_empty()) {
                out.first_token.get_or_insert_with(|| started.elapsed());
                out.text.push_str(&text);
            }
            Ok(())
        });
        match fed {
            Ok(()) => {}
            Err(None) => {
                response.finish().await;
                return Ok(out);
            }
            Err(Some(e)) => return Err(e),
        }
    }
    Ok(out)
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

impl EventParser {
    /// Reads `bytes`, handing the data of every event they complete to `on_data`; the first
    /// error it returns stops the reading and is returned.
    pub fn feed<E>(
        &mut self,
        mut bytes: &[u8],
        mut on_data: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.started && !bytes.is_empty() {
            self.started = true;
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        if self.after_cr && bytes.first() == Some(&b'\n') {
            bytes = &bytes[1..];
        }
        self.after_cr = false;
        while let Some(end) = memchr::memchr2(b'\n', b'\r', bytes) {
            if let Some((data, rest)) = self.whole_event(bytes, end) {
                on_data(data)?;
                bytes = rest;
                continue;
            }
            if self.line.is_empty() {
                self.line_done(&bytes[..end], &mut on_data)?;
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..end]);
                let done = self.line_done(&line, &mut on_data);
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
    /// UTF-8 here: see [`read_stream`].
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

    fn line_done<E>(
        &mut self,
        line: &[u8],
        on_data: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if line.is_empty() {
            // A blank line ends the event; one without data is no event.
            if self.data.is_empty() {
                return Ok(());
            }
            self.data.pop();
            let handed = on_data(self.data.as_bytes());
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
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/event-stream"))
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
