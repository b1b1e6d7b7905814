//! JSON string literals: written as serde_json writes them, quickly when nothing in the text
//! needs an escape, and read borrowed from the body when they have none ([`Text`]). Shared by
//! the openai client (each history message, each streamed chunk) and the mock (each streamed
//! piece, each message of a request's history), where writing and reading strings were a
//! measured share of a request. Knows nothing of the bodies around the strings.

use std::borrow::Cow;

use serde::Deserialize;

/// Each byte's lowest bit.
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
/// Each byte's high bit.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// Writes `text` as a JSON string literal, byte for byte what serde_json writes: copied whole
/// between quotes when nothing in it needs an escape (no quote, backslash or control
/// character, found eight bytes at a time), else escaped by serde_json. serde_json looks up
/// each byte in a table: the history's messages were the cost of an openai request beyond a
/// platform one that grew with every turn, and the mock's streamed pieces, a word each, were
/// nearly a third of what it spent building a stream.
pub(crate) fn push_string(out: &mut Vec<u8>, text: &str) {
    if plain(text) {
        push_plain(out, text);
    } else {
        // Into a `Vec`, a string cannot fail to serialize.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// Whether nothing in `text` needs an escape in a JSON string: no quote, backslash or control
/// character, found eight bytes at a time. A text that is plain is plain in every piece, so a
/// caller writing many pieces of one text asks once.
pub(crate) fn plain(text: &str) -> bool {
    let bytes = text.as_bytes();
    let plain_word = |w: &[u8]| {
        let mut eight = [0; 8];
        eight.copy_from_slice(w);
        escapes(u64::from_le_bytes(eight)) == 0
    };
    let mut words = bytes.chunks_exact(8);
    match bytes.len() {
        // The bytes past the last whole word, as the last eight bytes (which overlap it): a
        // byte at a time they had cost as much as all the words before.
        n if n >= 8 => words.all(plain_word) && plain_word(&bytes[n - 8..]),
        // A shorter text as one word, filled out with spaces, which need no escape: the one
        // rule, `escapes`, for every length.
        n => {
            let mut eight = [b' '; 8];
            eight[..n].copy_from_slice(bytes);
            plain_word(&eight)
        }
    }
}

/// Writes `text`, which is [`plain`], as a JSON string literal: itself between quotes.
fn push_plain(out: &mut Vec<u8>, text: &str) {
    debug_assert!(plain(text));
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// The lanes of eight bytes whose byte JSON escapes in a string (a quote, a backslash, a
/// control character), each flagged by its high bit. A byte of 0x80 or
/// above is never flagged for itself: the classic tests for a zero byte and for one below 0x20
/// are exact, whatever the bytes, as to whether any lane holds one.
#[inline]
pub(crate) fn escapes(word: u64) -> u64 {
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    below_space | quote | backslash
}

/// The plain string literal at the start of `text`: its length, quotes and all, and its text
/// as bytes, which are UTF-8: checked so only when one is not ASCII; `None` at an escape, a
/// control character or no closing quote. One pass finds the closing quote and refuses the
/// rest (two passes and a `memchr` call had been most of the cost of a short word). The openai
/// client reads each streamed word by it, and the mock each string of a request. A stream's
/// words are nearly all ASCII, and a `from_utf8` call per word was a fifth of reading a
/// content event; the reply's text is checked whole once, at the end. Inlined: as a call it
/// was a third of the cost of reading a word's event.
#[inline(always)]
pub(crate) fn plain_bytes(text: &[u8]) -> Option<(usize, &[u8])> {
    let body = text.strip_prefix(b"\"")?;
    let mut i = 0;
    while let Some(word) = body.get(i..i + 8) {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        let special = special_bytes(u64::from_le_bytes(eight));
        if special != 0 {
            // The first byte that is not plain ASCII, found in the word (a word is most often
            // the closing quote and a few letters before it, which the loop below took a byte
            // at a time).
            i += special.trailing_zeros() as usize / 8;
            if body[i] == b'"' {
                return Some((i + 2, &body[..i]));
            }
            break;
        }
        i += 8;
    }
    // Whether a byte past the words above is not ASCII.
    let mut high = 0;
    loop {
        match *body.get(i)? {
            b'"' => break,
            b'\\' => return None,
            c if c < 0x20 => return None,
            c => {
                high |= c;
                i += 1;
            }
        }
    }
    let body = &body[..i];
    if high >= 0x80 {
        std::str::from_utf8(body).ok()?;
    }
    Some((i + 2, body))
}

/// The lanes of `word` (read little-endian) whose byte is a quote, a backslash, a control
/// character or not ASCII, each flagged by its high bit. A lane above a flagged one may be
/// flagged wrongly (a borrow carried into it), never the lowest: the first byte flagged is the
/// first such byte, and none flagged means there is none.
#[inline]
pub(crate) fn special_bytes(word: u64) -> u64 {
    (word & HIGH) | escapes(word)
}

/// A string borrowed from the body when it is written without escapes, owned when it is not.
/// serde's own `Cow<str>` is borrowed only as a field of its own: inside an `Option` it always
/// copies. A borrowed content is what lets the openai client read a stream's chunks by their
/// frames, and the mock a request's history without a copy of each message.
#[derive(Debug)]
pub(crate) struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message's text is written as serde_json writes it, whatever is in it: the bytes that
    /// need escapes anywhere in a word or after the last, and ones that are not ASCII.
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        use proptest::prelude::*;
        let piece = prop::sample::select(vec![
            "a", " ", "\"", "\\", "\u{1f}", "\u{0}", "\n", "\u{7f}", "é", "€", "😀", "0",
            "\u{2028}",
        ]);
        proptest!(ProptestConfig::with_cases(4000), |(pieces in prop::collection::vec(piece, 0..40))| {
            let text = pieces.concat();
            let mut out = b"x".to_vec();
            push_string(&mut out, &text);
            let mut want = b"x".to_vec();
            want.extend(serde_json::to_vec(&text).unwrap());
            prop_assert_eq!(out, want, "{:?}", text);
        });
    }
}
