//! A chat completion request read in one pass over its bytes, as nearly every client writes
//! one: an object whose `model` is a string, whose `messages` are objects with a string `role`
//! and a string, `null` or no `content`, and whose `stream`, `stream_options` and token limits
//! are of their types. What it reads is exactly what a JSON tree of the same body says, and
//! every byte is checked as the tree checks it; anything it cannot be as sure of (a key with
//! an escape, a key twice, serde_json's raw value token as a key, content in parts, a value
//! of another type) makes it step aside (`None`), and the route reads the body as a tree then,
//! to answer it or to word its refusal.
//! Knows nothing of agents, rules or answers.
//!
//! Why by hand: serde reading the body into typed fields had been the largest share of what
//! the mock spent on a completion beyond a platform reply (about 7,900 instructions of some
//! 60,000 on a streamed one, the history's messages each a map visited key by key), and an
//! openai request carries the whole history, a turn longer each time. Strings are found here
//! eight bytes at a time (by the scanner the openai client reads streamed words with) and
//! borrowed; a string with an escape, and the value of a key the mock does not read, are each
//! handed to serde_json alone, so no rule of JSON is written twice.

use std::borrow::Cow;

use serde::de::{MapAccess, SeqAccess, Visitor};

use crate::json_text::{plain_bytes, Text};

/// What a request says besides its messages.
pub(crate) struct Fields<'a> {
    pub model: Cow<'a, str>,
    pub stream: Option<bool>,
    pub include_usage: Option<bool>,
    pub max_completion_tokens: Option<u64>,
    pub max_tokens: Option<u64>,
}

/// Reads `body`, handing each message's role and content (`None` for `null` or none) to
/// `message` in order; `None` to step aside, perhaps after some messages were handed on.
pub(crate) fn read<'a>(
    body: &'a str,
    mut message: impl FnMut(&'a str, Option<Cow<'a, str>>),
) -> Option<Fields<'a>> {
    let mut r = Reader { text: body, at: 0 };
    let mut fields = Fields {
        model: Cow::Borrowed(""),
        stream: None,
        include_usage: None,
        max_completion_tokens: None,
        max_tokens: None,
    };
    // A bit per key read, each of which may come once (the tree would take the last).
    let mut seen = 0u8;
    r.object(|r, key| {
        let bit = match key {
            "model" => {
                fields.model = r.string()?;
                1
            }
            "messages" => {
                r.array(|r| read_message(r, &mut message))?;
                2
            }
            "stream" => {
                fields.stream = r.flag()?;
                4
            }
            "stream_options" => {
                fields.include_usage = read_stream_options(r)?;
                8
            }
            "max_completion_tokens" => {
                fields.max_completion_tokens = r.count()?;
                16
            }
            "max_tokens" => {
                fields.max_tokens = r.count()?;
                32
            }
            _ => {
                r.checked(1)?;
                0
            }
        };
        if seen & bit != 0 {
            return None;
        }
        seen |= bit;
        Some(())
    })?;
    r.skip_space();
    // A model and messages, and nothing after the object.
    (seen & 3 == 3 && r.at == body.len()).then_some(fields)
}

/// One message: an object with a `role` and perhaps a `content`, each once.
fn read_message<'a>(
    r: &mut Reader<'a>,
    message: &mut impl FnMut(&'a str, Option<Cow<'a, str>>),
) -> Option<()> {
    let (mut role, mut content, mut has_content) = (None, None, false);
    r.object(|r, key| match key {
        "role" if role.is_none() => {
            // A role is compared, never kept: one with an escape steps aside.
            role = Some(r.plain_string()?);
            Some(())
        }
        "content" if !has_content => {
            has_content = true;
            content = match r.null() {
                true => None,
                false => Some(r.string()?),
            };
            Some(())
        }
        "role" | "content" => None,
        // Inside the body's object, the messages' list and this object.
        _ => r.checked(3),
    })?;
    message(role?, content);
    Some(())
}

/// `stream_options`: `null`, or an object whose `include_usage` is a boolean or `null`; a key
/// twice is the last one's, as in the tree.
fn read_stream_options(r: &mut Reader<'_>) -> Option<Option<bool>> {
    if r.null() {
        return Some(None);
    }
    let mut include_usage = None;
    r.object(|r, key| match key {
        "include_usage" => {
            include_usage = r.flag()?;
            Some(())
        }
        // Inside the body's object and this one.
        _ => r.checked(2),
    })?;
    Some(include_usage)
}

/// How many arrays and objects serde_json reads one inside another, the outermost counted,
/// before it refuses a body ("recursion limit exceeded").
const MOST_NESTED: usize = 127;

/// A place in the body.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after any whitespace, not taken.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes().get(self.at).copied()
    }

    /// Takes `byte` if it comes next, after any whitespace.
    fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        self.at += usize::from(next);
        next
    }

    /// Takes `word` (`null`, `true`, `false`) if it comes next: the words of JSON, which
    /// nothing that continues them may follow in a valid body.
    fn word(&mut self, word: &[u8]) -> bool {
        self.skip_space();
        let next = self.bytes()[self.at..].starts_with(word);
        self.at += if next { word.len() } else { 0 };
        next
    }

    fn null(&mut self) -> bool {
        self.word(b"null")
    }

    /// An object's members, `member` called at each key (one without escapes) to read its
    /// value.
    fn object(&mut self, mut member: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            // Not a key like any other to the tree: see [`RAW_VALUE_TOKEN`].
            if key == RAW_VALUE_TOKEN || !self.eat(b':') {
                return None;
            }
            member(self, key)?;
            if !self.eat(b',') {
                return self.eat(b'}').then_some(());
            }
        }
    }

    /// An array's elements, each read by `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            element(self)?;
            if !self.eat(b',') {
                return self.eat(b']').then_some(());
            }
        }
    }

    /// A string without escapes, borrowed ([`plain_bytes`]); `None` if it is no string or has
    /// an escape or a byte JSON refuses in one (the reader is left at its quote).
    fn plain_string(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        let (len, _) = plain_bytes(&self.bytes()[self.at..])?;
        // Between two quotes of valid UTF-8, so on character boundaries.
        let s = self.text.get(self.at + 1..self.at + len - 1)?;
        self.at += len;
        Some(s)
    }

    /// A string: borrowed, or with its escapes read by serde_json.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        match self.plain_string() {
            Some(s) => Some(Cow::Borrowed(s)),
            // An escape, or a byte serde refuses too.
            None => self.by_serde::<Text>(0).map(|t| t.0),
        }
    }

    /// `true`, `false` or `null` (`None`).
    fn flag(&mut self) -> Option<Option<bool>> {
        if self.word(b"true") {
            Some(Some(true))
        } else if self.word(b"false") {
            Some(Some(false))
        } else {
            self.null().then_some(None)
        }
    }

    /// An unsigned integer that fits a `u64`, written as JSON writes one (no sign, fraction,
    /// exponent or leading zero), or `null` (`None`).
    fn count(&mut self) -> Option<Option<u64>> {
        if self.null() {
            return Some(None);
        }
        let bytes = self.bytes();
        let start = self.at;
        let mut n: u64 = 0;
        while let Some(&d @ b'0'..=b'9') = bytes.get(self.at) {
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        let ends = !matches!(bytes.get(self.at), Some(b'.' | b'e' | b'E'));
        (digits > 0 && ends && (digits == 1 || bytes[start] != b'0')).then_some(Some(n))
    }

    /// Any JSON value, checked as the tree reads it and not kept, inside `enclosing` arrays
    /// and objects: no deeper than the tree has room for there.
    fn checked(&mut self, enclosing: usize) -> Option<()> {
        self.by_serde::<Checked>(MOST_NESTED - enclosing).map(drop)
    }

    /// The value here, read by serde_json alone, and the reader moved past it; `None` when it
    /// is not valid JSON or holds more than `room` arrays and objects one inside another (its
    /// own counted). Where it ends is found first, so that serde reads the value and only it.
    fn by_serde<T: serde::Deserialize<'a>>(&mut self, room: usize) -> Option<T> {
        self.skip_space();
        let bytes = self.bytes();
        let start = self.at;
        let end = match *bytes.get(start)? {
            b'"' => string_end(bytes, start)?,
            b'[' | b'{' => {
                let (mut i, mut depth) = (start, 0usize);
                loop {
                    match *bytes.get(i)? {
                        b'"' => {
                            i = string_end(bytes, i)?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => depth -= 1,
                        _ => {}
                    }
                    i += 1;
                    if depth > room {
                        return None;
                    }
                    if depth == 0 {
                        break i;
                    }
                }
            }
            // A number or a word: up to what may follow a value.
            _ => {
                let len = bytes[start..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'));
                start + len.unwrap_or(bytes.len() - start)
            }
        };
        let value = serde_json::from_str(self.text.get(start..end)?).ok()?;
        self.at = end;
        Some(value)
    }
}

/// Where the string literal whose quote is at `start` ends (after its closing quote).
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        match bytes[i] {
            b'"' => return Some(i + 1),
            // The escaped byte is never the end.
            _ => i += 2,
        }
    }
}

/// A JSON value read only to be valid as the tree reads it: every string and number parsed (a
/// lone surrogate, a number out of range or bytes that are not UTF-8 refused), nothing kept.
/// serde's `IgnoredAny` skips a value without parsing it, so it took bodies the tree refuses.
struct Checked;

impl<'de> serde::Deserialize<'de> for Checked {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Key, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

/// The key serde_json's tree (with its `raw_value` feature, which axum turns on) reads an
/// object by when it comes first: the object is then the JSON text in its string, and any
/// other member makes the body no JSON to it. Whatever the reading here made of such an
/// object would not be the tree's, so the reading steps aside at it, wherever it is, and the
/// tree decides.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// A key of a value read only to be valid ([`Checked`]): any string but
/// [`RAW_VALUE_TOKEN`], which serde hands here unescaped however the body spells it.
struct Key;

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(Key)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Key;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        match key {
            RAW_VALUE_TOKEN => Err(E::custom("serde_json's raw value token")),
            _ => Ok(Key),
        }
    }
}
