//! The fast road through YAML: a reader of the plain subset that suites, goldens and configs are
//! written in (block mappings and sequences, one-line plain and quoted scalars, one-line flow
//! collections, literal blocks, comments), which hands serde the same calls, values and spans
//! that serde-saphyr would, at a small fraction of its cost (a suite of 1,000 five-turn
//! dialogues spent nine tenths of its load in serde-saphyr and its parser).
//!
//! It only ever succeeds. Whenever a text holds anything outside the subset (anchors, aliases,
//! tags, merge keys, directives, a multi-line plain or quoted scalar, a folded block, a tab
//! where it could be indentation, a key that could read as other than a string, ...), or a
//! scalar whose type it is not sure to resolve as serde-saphyr does, or whenever the value
//! being read refuses what it is given (an unknown field, a wrong type), it declines, and the
//! caller reads the text with serde-saphyr, whose words every error is said in. So this road
//! never decides what a file means or what is wrong with it: on every text it accepts it must
//! give what serde-saphyr gives, and the tests hold it to that, node by node and span by span,
//! over hand-picked and generated texts.
//!
//! Nothing here reads files or renders errors.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// The newtype through which a value asks for its place (`suite::raw::Spanned`, and
/// serde-saphyr's own protocol, which this road answers in the part our `Spanned` reads).
const SPANNED_NEWTYPE: &str = "__yaml_spanned";

/// Why the fast road stepped aside. Never shown: the caller reads the text again with
/// serde-saphyr, which says what is wrong, if anything is.
#[derive(Debug)]
pub(crate) struct Decline;

impl std::fmt::Display for Decline {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("outside the fast road's subset")
    }
}

impl std::error::Error for Decline {}

impl de::Error for Decline {
    fn custom<T: std::fmt::Display>(_msg: T) -> Self {
        Decline
    }
}

type R<T> = Result<T, Decline>;

/// What serde-saphyr would refuse a text for by its size alone, taken from its options, so
/// that the fast road never accepts a text the slow one calls too big or too deep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    max_depth: usize,
    max_nodes: usize,
    max_scalar_bytes: usize,
}

impl Limits {
    pub(crate) fn of(options: &serde_saphyr::Options) -> Limits {
        match &options.budget {
            Some(b) => Limits {
                // A margin below serde-saphyr's own count, whose exact convention (does
                // the document count as a level?) does not matter for suites a few deep.
                max_depth: b.max_depth.saturating_sub(2),
                // Each node is one event (a scalar) or two (a collection's start and end).
                max_nodes: b.max_nodes.min(b.max_events / 2).saturating_sub(2),
                max_scalar_bytes: b.max_total_scalar_bytes,
            },
            None => Limits {
                max_depth: 0,
                max_nodes: 0,
                max_scalar_bytes: 0,
            },
        }
    }
}

/// Reads `text` into `T` along the fast road; `None` when it declines (see the module's
/// comment).
pub(crate) fn from_str<'a, T: de::Deserialize<'a>>(text: &'a str, limits: Limits) -> Option<T> {
    deserialize_seed(text, limits, std::marker::PhantomData::<T>)
}

/// Reads `text` through `seed` along the fast road; `None` when it declines.
pub(crate) fn deserialize_seed<'a, S: DeserializeSeed<'a>>(
    text: &'a str,
    limits: Limits,
    seed: S,
) -> Option<S::Value> {
    let nodes = parse(text, limits).ok()?;
    seed.deserialize(De {
        nodes: &nodes,
        at: 0,
    })
    .ok()
}

/// One node of the document, in document order: a collection's children follow it, and `end`
/// is the index just past its last descendant (a scalar's is its own index plus one).
#[derive(Debug)]
struct Node<'a> {
    kind: Kind<'a>,
    line: u32,
    column: u32,
    end: u32,
}

#[derive(Debug)]
enum Kind<'a> {
    /// A plain scalar, whose type depends on what reads it.
    Plain(&'a str),
    /// A quoted scalar or a literal block: always a string.
    Text(Cow<'a, str>),
    Seq,
    Map,
}

/// The whole text as nodes, or a decline.
fn parse(text: &str, limits: Limits) -> R<Vec<Node<'_>>> {
    // Characters YAML refuses or reads as line breaks, a BOM, and carriage returns: all for
    // serde-saphyr to judge. A text not ending its last line leaves a block's last line
    // break in doubt.
    if !text.ends_with('\n') || !printable(text) {
        return Err(Decline);
    }
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        pos: 0,
        line: 1,
        line_start: 0,
        nodes: Vec::with_capacity(text.len() / 12),
        depth: 0,
        scalar_bytes: 0,
        limits,
    };
    let Some(indent) = p.skip_to_content()? else {
        return Err(Decline);
    };
    if p.b[p.pos..].starts_with(b"---") || p.b[p.pos..].starts_with(b"...") {
        return Err(Decline);
    }
    match p.block_node(indent)? {
        None => Ok(p.nodes),
        Some(_) => Err(Decline),
    }
}

/// No character YAML refuses in a document or takes for a line break other than `\n`: C0
/// and C1 controls other than tab and line feed, DEL, NEL, LS, PS, BOM and non-characters.
fn printable(text: &str) -> bool {
    let ascii_ok = |b: u8| b >= 0x20 && b != 0x7F || b == b'\t' || b == b'\n';
    if text.is_ascii() {
        return text.bytes().all(ascii_ok);
    }
    text.chars().all(|c| match u8::try_from(c) {
        Ok(b) if b < 0x80 => ascii_ok(b),
        _ => !matches!(
            c,
            '\u{80}'..='\u{A0}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        ),
    })
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    /// The line `pos` is on, 1-based, and where it starts.
    line: u32,
    line_start: usize,
    nodes: Vec<Node<'a>>,
    depth: usize,
    scalar_bytes: usize,
    limits: Limits,
}

/// A byte that ends a plain scalar's run or separates tokens.
fn blank_or_end(b: Option<&u8>) -> bool {
    matches!(b, None | Some(b' ' | b'\n'))
}

/// Characters a plain scalar may not start with (YAML's indicators, some only before a space,
/// all refused here).
fn indicator(b: u8) -> bool {
    matches!(
        b,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

impl<'a> Parser<'a> {
    fn at(&self, i: usize) -> Option<&u8> {
        self.b.get(i)
    }

    /// How many spaces lie from byte `from` on.
    fn spaces(&self, from: usize) -> usize {
        self.b[from..].iter().take_while(|&&b| b == b' ').count()
    }

    /// The 1-based column of byte `pos` on the current line, in characters.
    fn column(&self, pos: usize) -> u32 {
        let before = &self.s[self.line_start..pos];
        let n = if before.is_ascii() {
            before.len()
        } else {
            before.chars().count()
        };
        u32::try_from(n + 1).unwrap_or(u32::MAX)
    }

    /// Moves to the start of the next line.
    fn next_line(&mut self) {
        self.pos = match memchr(b'\n', &self.b[self.pos..]) {
            Some(i) => self.pos + i + 1,
            None => self.b.len(),
        };
        self.line += 1;
        self.line_start = self.pos;
    }

    /// From the start of a line, past blank and comment lines to the first content: its
    /// indentation, with `pos` on it; `None` at the end of the text.
    fn skip_to_content(&mut self) -> R<Option<usize>> {
        loop {
            let spaces = self.spaces(self.pos);
            match self.at(self.pos + spaces) {
                None => {
                    self.pos = self.b.len();
                    return Ok(None);
                }
                Some(b'\n' | b'#') => self.next_line(),
                Some(b'\t') => return Err(Decline),
                Some(_) => {
                    self.pos += spaces;
                    return Ok(Some(spaces));
                }
            }
        }
    }

    /// After a value on its line: spaces and a comment may follow, nothing else. Then the
    /// next content, which must not be indented past `parent` (it would continue the value,
    /// or be an error).
    fn end_of_line(&mut self, parent: usize) -> R<Option<usize>> {
        let spaces = self.spaces(self.pos);
        match self.at(self.pos + spaces) {
            None | Some(b'\n') => {}
            Some(b'#') if spaces > 0 => {}
            Some(_) => return Err(Decline),
        }
        self.next_line();
        let next = self.skip_to_content()?;
        match next {
            Some(i) if i > parent => Err(Decline),
            next => Ok(next),
        }
    }

    fn push(&mut self, kind: Kind<'a>, line: u32, column: u32) -> R<usize> {
        if let Kind::Plain(s) = &kind {
            self.scalar_bytes += s.len();
        } else if let Kind::Text(s) = &kind {
            self.scalar_bytes += s.len();
        }
        if self.nodes.len() >= self.limits.max_nodes
            || self.scalar_bytes > self.limits.max_scalar_bytes
        {
            return Err(Decline);
        }
        let at = self.nodes.len();
        self.nodes.push(Node {
            kind,
            line,
            column,
            end: u32::try_from(at + 1).map_err(|_| Decline)?,
        });
        Ok(at)
    }

    /// A collection opened at `at`: one level deeper.
    fn open(&mut self, kind: Kind<'a>, pos: usize) -> R<usize> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(Decline);
        }
        let column = self.column(pos);
        self.push(kind, self.line, column)
    }

    fn close(&mut self, at: usize) -> R<()> {
        self.depth -= 1;
        self.nodes[at].end = u32::try_from(self.nodes.len()).map_err(|_| Decline)?;
        Ok(())
    }

    /// A block node whose first line's content is at `pos`, indented `indent`: a sequence or
    /// a mapping. Returns the indentation of the next content after it (`pos` on it).
    fn block_node(&mut self, indent: usize) -> R<Option<usize>> {
        if self.b[self.pos] == b'-' && blank_or_end(self.at(self.pos + 1)) {
            self.block_seq(indent, false)
        } else if self.key_end(self.pos).is_some() {
            self.block_map(indent)
        } else {
            Err(Decline)
        }
    }

    fn block_seq(&mut self, indent: usize, indentless: bool) -> R<Option<usize>> {
        let me = self.open(Kind::Seq, self.pos)?;
        let next = loop {
            // On the dash.
            self.pos += 1;
            let spaces = self.spaces(self.pos);
            self.pos += spaces;
            let next = match self.at(self.pos) {
                // An item on the lines below, or a null one: left to serde-saphyr.
                None | Some(b'\n' | b'#' | b'\t') => return Err(Decline),
                Some(b'-') if blank_or_end(self.at(self.pos + 1)) => return Err(Decline),
                Some(_) if spaces == 0 => return Err(Decline),
                Some(_) => {
                    if self.key_end(self.pos).is_some() {
                        // A compact mapping: its keys line up with the first.
                        let column = indent + 1 + spaces;
                        self.block_map(column)?
                    } else {
                        self.inline_value(indent, false)?
                    }
                }
            };
            match next {
                Some(i) if i == indent && self.b[self.pos] == b'-' => {
                    if !blank_or_end(self.at(self.pos + 1)) {
                        return Err(Decline);
                    }
                }
                Some(i) if i > indent => return Err(Decline),
                next => break next,
            }
        };
        if indentless {
            // serde-saphyr places a sequence at its key's indentation where its first item
            // is, past the dash (elsewhere at the dash).
            let (line, column) = (self.nodes[me + 1].line, self.nodes[me + 1].column);
            (self.nodes[me].line, self.nodes[me].column) = (line, column);
        }
        self.close(me)?;
        Ok(next)
    }

    fn block_map(&mut self, indent: usize) -> R<Option<usize>> {
        let me = self.open(Kind::Map, self.pos)?;
        let first_key = self.nodes.len();
        let next = loop {
            let (key, colon) = self.key_end(self.pos).ok_or(Decline)?;
            let column = self.column(self.pos);
            self.push(key, self.line, column)?;
            self.pos = colon + 1;
            let spaces = self.spaces(self.pos);
            self.pos += spaces;
            let next = match self.at(self.pos) {
                Some(b'\t') => return Err(Decline),
                None | Some(b'\n' | b'#') => self.value_below(indent)?,
                Some(_) => self.inline_value(indent, true)?,
            };
            match next {
                Some(i) if i == indent => {
                    if self.b[self.pos] == b'-' && blank_or_end(self.at(self.pos + 1)) {
                        return Err(Decline);
                    }
                }
                Some(i) if i > indent => return Err(Decline),
                next => break next,
            }
        };
        self.refuse_duplicate_keys(first_key)?;
        self.close(me)?;
        Ok(next)
    }

    /// A mapping value written on the lines below its key (`pos` at the end of the key's
    /// line): a block collection indented past the key, or a sequence at the key's own
    /// indentation. Nothing there (a null) is left to serde-saphyr.
    fn value_below(&mut self, indent: usize) -> R<Option<usize>> {
        // The key's `:` is followed by a space or the line's end, so a `#` here is a comment.
        self.next_line();
        match self.skip_to_content()? {
            Some(i) if i > indent => self.block_node(i),
            Some(i)
                if i == indent
                    && self.b[self.pos] == b'-'
                    && blank_or_end(self.at(self.pos + 1)) =>
            {
                self.block_seq(i, true)
            }
            _ => Err(Decline),
        }
    }

    /// A value that starts on its key's (or dash's) line at `pos`: a scalar, a flow
    /// collection or (for a mapping value) a literal block. `parent` is the indentation of
    /// the mapping or sequence it belongs to.
    fn inline_value(&mut self, parent: usize, in_map: bool) -> R<Option<usize>> {
        let start = self.pos;
        let column = self.column(start);
        let line = self.line;
        match self.b[start] {
            b'|' if in_map => return self.literal_block(parent),
            b'"' => {
                let (text, end) = self.double_quoted(start)?;
                self.push(Kind::Text(text), line, column)?;
                self.pos = end;
            }
            b'\'' => {
                let (text, end) = self.single_quoted(start)?;
                self.push(Kind::Text(text), line, column)?;
                self.pos = end;
            }
            b'[' | b'{' => self.flow()?,
            b'-' if !blank_or_end(self.at(start + 1)) => self.plain_in_block()?,
            b if indicator(b) => return Err(Decline),
            _ => self.plain_in_block()?,
        }
        self.end_of_line(parent)
    }

    /// A plain scalar on one line, up to a comment or the line's end. `a: b: c` and a tab
    /// inside are left to serde-saphyr.
    fn plain_in_block(&mut self) -> R<()> {
        let start = self.pos;
        let line_end = memchr(b'\n', &self.b[start..]).map_or(self.b.len(), |i| start + i);
        let mut end = line_end;
        let mut i = start;
        while i < line_end {
            match self.b[i] {
                b'\t' => return Err(Decline),
                b':' if blank_or_end(self.at(i + 1)) => return Err(Decline),
                b'#' if self.b[i - 1] == b' ' => {
                    end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let text = self.s[start..end].trim_end_matches(' ');
        let column = self.column(start);
        self.push(Kind::Plain(text), self.line, column)?;
        self.pos = start + text.len();
        Ok(())
    }

    /// Where a mapping key that starts at `pos` ends: the key and the position of its `:`,
    /// which a space or the line's end follows. `None` when the line holds no such key, or
    /// one this road does not take (a key that could read as other than a string).
    fn key_end(&self, pos: usize) -> Option<(Kind<'a>, usize)> {
        let (key, after) = match self.b[pos] {
            b'"' => {
                let (text, end) = self.double_quoted(pos).ok()?;
                (Kind::Text(text), end)
            }
            b'\'' => {
                let (text, end) = self.single_quoted(pos).ok()?;
                (Kind::Text(text), end)
            }
            b if indicator(b) => return None,
            _ => {
                let line_end = memchr(b'\n', &self.b[pos..]).map_or(self.b.len(), |i| pos + i);
                let mut i = pos;
                let colon = loop {
                    if i >= line_end {
                        return None;
                    }
                    match self.b[i] {
                        b'\t' => return None,
                        b'#' if i > pos && self.b[i - 1] == b' ' => return None,
                        b':' if blank_or_end(self.at(i + 1)) => break i,
                        _ => {}
                    }
                    i += 1;
                };
                let text = self.s[pos..colon].trim_end_matches(' ');
                if !plain_key_is_a_string(text) {
                    return None;
                }
                return Some((Kind::Plain(text), colon));
            }
        };
        (self.at(after) == Some(&b':') && blank_or_end(self.at(after + 1))).then_some((key, after))
    }

    /// Two keys of the mapping whose first key is node `first` with the same text: left to
    /// serde-saphyr, which refuses a duplicate key.
    fn refuse_duplicate_keys(&self, first: usize) -> R<()> {
        let mut keys: Vec<&str> = Vec::new();
        let mut i = first;
        while i < self.nodes.len() {
            keys.push(text_of(&self.nodes[i].kind).ok_or(Decline)?);
            // The value after the key.
            i = self.nodes[i + 1].end as usize;
        }
        if keys.len() <= 16 {
            for (n, k) in keys.iter().enumerate() {
                if keys[..n].contains(k) {
                    return Err(Decline);
                }
            }
        } else {
            let mut seen = std::collections::HashSet::with_capacity(keys.len());
            if !keys.iter().all(|k| seen.insert(*k)) {
                return Err(Decline);
            }
        }
        Ok(())
    }

    /// A literal block (`|`, `|-`, `|+`, with an indentation indicator or not) of a mapping
    /// value at `parent`'s indentation, `pos` on the `|`.
    fn literal_block(&mut self, parent: usize) -> R<Option<usize>> {
        let mut i = self.pos + 1;
        let mut chomp = b' ';
        let mut digit = None;
        for _ in 0..2 {
            match self.at(i) {
                Some(&c @ (b'-' | b'+')) if chomp == b' ' => chomp = c,
                Some(&c @ b'1'..=b'9') if digit.is_none() => digit = Some(usize::from(c - b'0')),
                _ => break,
            }
            i += 1;
        }
        self.pos = i;
        let spaces = self.spaces(i);
        match self.at(i + spaces) {
            Some(b'\n') => {}
            Some(b'#') if spaces > 0 => {}
            _ => return Err(Decline),
        }
        self.next_line();
        // The content's indentation: given, or that of its first line with text, which the
        // empty lines before it may not exceed (YAML's rule; left to serde-saphyr).
        let indent = match digit {
            Some(d) => parent + d,
            None => {
                let mut at = self.pos;
                let mut widest = 0;
                loop {
                    let spaces = self.spaces(at);
                    match self.at(at + spaces) {
                        Some(b'\n') => {
                            widest = widest.max(spaces);
                            at += spaces + 1;
                        }
                        Some(b'\t') | None => return Err(Decline),
                        Some(_) if widest > spaces => return Err(Decline),
                        Some(_) => break spaces,
                    }
                }
            }
        };
        if indent <= parent {
            return Err(Decline);
        }
        let mut text = String::new();
        let mut first = true;
        // serde-saphyr places a block at its first line of text, where the indentation ends.
        let mut place = (0, 0);
        loop {
            let spaces = self.spaces(self.pos);
            match self.at(self.pos + spaces) {
                None => break,
                Some(b'\n') => {
                    // An empty line: part of the block, unless it has spaces past the
                    // indentation (content, for serde-saphyr to weigh).
                    if spaces > indent {
                        return Err(Decline);
                    }
                    text.push('\n');
                }
                Some(_) if spaces >= indent => {
                    let start = self.pos + indent;
                    let end = start + memchr(b'\n', &self.b[start..]).ok_or(Decline)?;
                    text.push_str(&self.s[start..end]);
                    text.push('\n');
                    if first {
                        place = (self.line, self.column(start));
                    }
                    first = false;
                }
                Some(b'\t') => return Err(Decline),
                // Less indented: the block has ended, at a line that must belong to an
                // enclosing collection.
                Some(_) if spaces > parent || first => return Err(Decline),
                Some(_) => break,
            }
            self.next_line();
        }
        match chomp {
            b'-' => text.truncate(text.trim_end_matches('\n').len()),
            b'+' => {}
            _ => {
                let body = text.trim_end_matches('\n').len();
                text.truncate((body + 1).min(text.len()));
            }
        }
        self.push(Kind::Text(Cow::Owned(text)), place.0, place.1)?;
        // `pos` is at the start of the line that ended the block (or the text's end).
        let next = self.skip_to_content()?;
        match next {
            Some(i) if i > parent => Err(Decline),
            next => Ok(next),
        }
    }

    /// A one-line flow collection at `pos` (`[` or `{`); `pos` ends past its close.
    fn flow(&mut self) -> R<()> {
        let map = self.b[self.pos] == b'{';
        let close = if map { b'}' } else { b']' };
        let me = self.open(if map { Kind::Map } else { Kind::Seq }, self.pos)?;
        let first_key = self.nodes.len();
        self.pos += 1;
        self.skip_flow_spaces()?;
        if self.at(self.pos) == Some(&close) {
            self.pos += 1;
            return self.close(me);
        }
        loop {
            if map {
                self.flow_scalar(true)?;
                match (self.at(self.pos), self.at(self.pos + 1)) {
                    (Some(b':'), Some(b' ')) => self.pos += 1,
                    _ => return Err(Decline),
                }
                self.skip_flow_spaces()?;
            }
            match self.at(self.pos) {
                Some(b'[' | b'{') => self.flow()?,
                _ => self.flow_scalar(false)?,
            }
            self.skip_flow_spaces()?;
            match self.at(self.pos) {
                Some(&c) if c == close => {
                    self.pos += 1;
                    break;
                }
                Some(b',') => {
                    self.pos += 1;
                    self.skip_flow_spaces()?;
                    // A trailing comma is left to serde-saphyr.
                    if self.at(self.pos) == Some(&close) {
                        return Err(Decline);
                    }
                }
                _ => return Err(Decline),
            }
        }
        if map {
            self.refuse_duplicate_keys(first_key)?;
        }
        self.close(me)
    }

    fn skip_flow_spaces(&mut self) -> R<()> {
        while self.at(self.pos) == Some(&b' ') {
            self.pos += 1;
        }
        match self.at(self.pos) {
            None | Some(b'\n' | b'\t' | b'#') => Err(Decline),
            Some(_) => Ok(()),
        }
    }

    /// A scalar inside a flow collection: quoted, or plain up to a flow indicator or a `:`
    /// that a space follows. A key must read as a string.
    fn flow_scalar(&mut self, key: bool) -> R<()> {
        let start = self.pos;
        let (line, column) = (self.line, self.column(start));
        let kind = match self.b[start] {
            b'"' => {
                let (text, end) = self.double_quoted(start)?;
                self.pos = end;
                Kind::Text(text)
            }
            b'\'' => {
                let (text, end) = self.single_quoted(start)?;
                self.pos = end;
                Kind::Text(text)
            }
            b'-' if !blank_or_end(self.at(start + 1)) => self.plain_in_flow()?,
            b if indicator(b) => return Err(Decline),
            _ => self.plain_in_flow()?,
        };
        if key {
            match &kind {
                Kind::Plain(s) if !plain_key_is_a_string(s) => return Err(Decline),
                _ => {}
            }
        }
        self.push(kind, line, column)?;
        Ok(())
    }

    fn plain_in_flow(&mut self) -> R<Kind<'a>> {
        let start = self.pos;
        let mut i = start;
        loop {
            match self.at(i) {
                None | Some(b'\n' | b',' | b'[' | b']' | b'{' | b'}') => break,
                Some(b'\t') => return Err(Decline),
                Some(b':') if matches!(self.at(i + 1), Some(b' ' | b',' | b']' | b'}')) => break,
                Some(b'#') if self.b[i - 1] == b' ' => return Err(Decline),
                _ => i += 1,
            }
        }
        let text = self.s[start..i].trim_end_matches(' ');
        if text.is_empty() {
            return Err(Decline);
        }
        self.pos = start + text.len();
        Ok(Kind::Plain(text))
    }

    /// A double-quoted scalar on one line starting at `pos`: its text and the position past
    /// its closing quote. A line break inside (folding) and unknown escapes are declined.
    fn double_quoted(&self, pos: usize) -> R<(Cow<'a, str>, usize)> {
        let start = pos + 1;
        let mut i = start;
        // The common case: no escape at all.
        loop {
            match self.at(i) {
                None | Some(b'\n') => return Err(Decline),
                Some(b'"') => return Ok((Cow::Borrowed(&self.s[start..i]), i + 1)),
                Some(b'\\') => break,
                Some(_) => i += 1,
            }
        }
        let mut out = String::from(&self.s[start..i]);
        loop {
            match self.at(i) {
                None | Some(b'\n') => return Err(Decline),
                Some(b'"') => return Ok((Cow::Owned(out), i + 1)),
                Some(b'\\') => {
                    let (c, len) = self.escape(i + 1)?;
                    out.push(c);
                    i += 1 + len;
                }
                Some(_) => {
                    let run = self.b[i..]
                        .iter()
                        .position(|&b| matches!(b, b'"' | b'\\' | b'\n'))
                        .ok_or(Decline)?;
                    out.push_str(&self.s[i..i + run]);
                    i += run;
                }
            }
        }
    }

    /// The escape after a `\` at `pos`: the character and how many bytes it took.
    fn escape(&self, pos: usize) -> R<(char, usize)> {
        let simple = |c: char| Ok((c, 1));
        match self.at(pos) {
            Some(b'0') => simple('\0'),
            Some(b'a') => simple('\u{7}'),
            Some(b'b') => simple('\u{8}'),
            Some(b't' | b'\t') => simple('\t'),
            Some(b'n') => simple('\n'),
            Some(b'v') => simple('\u{B}'),
            Some(b'f') => simple('\u{C}'),
            Some(b'r') => simple('\r'),
            Some(b'e') => simple('\u{1B}'),
            Some(b' ') => simple(' '),
            Some(b'"') => simple('"'),
            Some(b'/') => simple('/'),
            Some(b'\\') => simple('\\'),
            Some(b'N') => simple('\u{85}'),
            Some(b'_') => simple('\u{A0}'),
            Some(b'L') => simple('\u{2028}'),
            Some(b'P') => simple('\u{2029}'),
            Some(b'x') => self.hex_escape(pos + 1, 2),
            Some(b'u') => self.hex_escape(pos + 1, 4),
            Some(b'U') => self.hex_escape(pos + 1, 8),
            _ => Err(Decline),
        }
    }

    fn hex_escape(&self, pos: usize, digits: usize) -> R<(char, usize)> {
        let hex = self.s.get(pos..pos + digits).ok_or(Decline)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Decline);
        }
        let n = u32::from_str_radix(hex, 16).map_err(|_| Decline)?;
        Ok((char::from_u32(n).ok_or(Decline)?, 1 + digits))
    }

    /// A single-quoted scalar on one line starting at `pos` (`''` is a quote).
    fn single_quoted(&self, pos: usize) -> R<(Cow<'a, str>, usize)> {
        let start = pos + 1;
        let mut i = start;
        let mut out: Option<String> = None;
        let mut run = start;
        loop {
            match self.at(i) {
                None | Some(b'\n') => return Err(Decline),
                Some(b'\'') if self.at(i + 1) == Some(&b'\'') => {
                    let o = out.get_or_insert_with(String::new);
                    o.push_str(&self.s[run..=i]);
                    i += 2;
                    run = i;
                }
                Some(b'\'') => {
                    let text = match out {
                        None => Cow::Borrowed(&self.s[start..i]),
                        Some(mut o) => {
                            o.push_str(&self.s[run..i]);
                            Cow::Owned(o)
                        }
                    };
                    return Ok((text, i + 1));
                }
                Some(_) => i += 1,
            }
        }
    }
}

fn text_of<'n>(kind: &'n Kind<'_>) -> Option<&'n str> {
    match kind {
        Kind::Plain(s) => Some(s),
        Kind::Text(s) => Some(s),
        Kind::Seq | Kind::Map => None,
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// A plain scalar that every reader takes for null.
fn is_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// Words some YAML reader takes for a bool, an infinity or not-a-number (in any case).
fn is_keyword(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "inf", "infinity", "nan",
    ];
    s.len() <= 8 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A plain mapping key this road takes: one that reads as the same string whatever reads it
/// (a key of letters and the like, not a number, bool or null; `<<` is a merge).
fn plain_key_is_a_string(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' || *b >= 0x80 => !is_keyword(s),
        _ => false,
    }
}

/// How serde-saphyr types a plain scalar read as "any value", where this road is sure of it.
enum Plain<'a> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(&'a str),
}

fn resolve_plain(s: &str) -> R<Plain<'_>> {
    if is_null(s) {
        return Ok(Plain::Null);
    }
    match s {
        "true" => return Ok(Plain::Bool(true)),
        "false" => return Ok(Plain::Bool(false)),
        _ => {}
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        let negative = s.strip_prefix('-');
        if decimal(s).is_some() {
            return s.parse().map(Plain::U64).map_err(|_| Decline);
        }
        if negative.and_then(decimal) == Some(false) {
            return s.parse().map(Plain::I64).map_err(|_| Decline);
        }
        // A fraction: `-?(0|[1-9][0-9]*)\.[0-9]+`.
        if let Some((int, frac)) = negative.unwrap_or(s).split_once('.') {
            if decimal(int).is_some()
                && !frac.is_empty()
                && frac.bytes().all(|b| b.is_ascii_digit())
            {
                return s.parse().map(Plain::F64).map_err(|_| Decline);
            }
        }
        // Text that starts with a digit and has a space in it is no number in any
        // reading ("9 AM").
        if first.is_ascii_digit() && s.contains(' ') {
            return Ok(Plain::Str(s));
        }
        return Err(Decline);
    }
    if (first.is_ascii_alphabetic() || first >= 0x80 || first == b'/') && !is_keyword(s) {
        return Ok(Plain::Str(s));
    }
    Err(Decline)
}

/// `0` or digits without a leading zero: `Some(is_zero)`; `None` for anything else.
fn decimal(s: &str) -> Option<bool> {
    match s.as_bytes() {
        [b'0'] => Some(true),
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => Some(false),
        _ => None,
    }
}

/// A node read by serde.
#[derive(Clone, Copy)]
struct De<'n, 'a> {
    nodes: &'n [Node<'a>],
    at: usize,
}

impl<'n, 'a> De<'n, 'a> {
    fn node(&self) -> &'n Node<'a> {
        &self.nodes[self.at]
    }

    fn plain(&self) -> Option<&'a str> {
        match self.node().kind {
            Kind::Plain(s) => Some(s),
            _ => None,
        }
    }

    /// A plain `0` or digits without a leading zero (or with a `-` when `signed`) parsed as
    /// `T`: how serde-saphyr reads those for a number field. Anything else is declined.
    fn number<T: std::str::FromStr>(&self, signed: bool) -> R<T> {
        let s = self.plain().ok_or(Decline)?;
        let digits = match s.strip_prefix('-') {
            Some(rest) if signed => rest,
            _ => s,
        };
        decimal(digits).ok_or(Decline)?;
        s.parse().map_err(|_| Decline)
    }

    fn seq_or_map<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        let node = self.node();
        let children = Children {
            nodes: self.nodes,
            next: self.at + 1,
            end: node.end as usize,
        };
        match node.kind {
            Kind::Seq => visitor.visit_seq(children),
            Kind::Map => visitor.visit_map(children),
            Kind::Plain(_) | Kind::Text(_) => Err(Decline),
        }
    }
}

macro_rules! numbers {
    ($($method:ident $visit:ident $ty:ty, $signed:expr;)*) => {
        $(
            fn $method<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
                visitor.$visit(self.number::<$ty>($signed)?)
            }
        )*
    };
}

impl<'a> de::Deserializer<'a> for De<'_, 'a> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match &self.node().kind {
            Kind::Plain(s) => match resolve_plain(s)? {
                Plain::Null => visitor.visit_unit(),
                Plain::Bool(b) => visitor.visit_bool(b),
                Plain::U64(n) => visitor.visit_u64(n),
                Plain::I64(n) => visitor.visit_i64(n),
                Plain::F64(n) => visitor.visit_f64(n),
                Plain::Str(s) => visitor.visit_borrowed_str(s),
            },
            Kind::Text(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Kind::Text(Cow::Owned(s)) => visitor.visit_str(s),
            Kind::Seq | Kind::Map => self.seq_or_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match self.plain() {
            Some("true") => visitor.visit_bool(true),
            Some("false") => visitor.visit_bool(false),
            _ => Err(Decline),
        }
    }

    numbers! {
        deserialize_i8 visit_i8 i8, true;
        deserialize_i16 visit_i16 i16, true;
        deserialize_i32 visit_i32 i32, true;
        deserialize_i64 visit_i64 i64, true;
        deserialize_u8 visit_u8 u8, false;
        deserialize_u16 visit_u16 u16, false;
        deserialize_u32 visit_u32 u32, false;
        deserialize_u64 visit_u64 u64, false;
    }

    fn deserialize_f32<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match resolve_plain(self.plain().ok_or(Decline)?)? {
            Plain::F64(_) | Plain::U64(_) | Plain::I64(_) => {
                visitor.visit_f32(self.plain().ok_or(Decline)?.parse().map_err(|_| Decline)?)
            }
            _ => Err(Decline),
        }
    }

    fn deserialize_f64<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match resolve_plain(self.plain().ok_or(Decline)?)? {
            Plain::F64(_) | Plain::U64(_) | Plain::I64(_) => {
                visitor.visit_f64(self.plain().ok_or(Decline)?.parse().map_err(|_| Decline)?)
            }
            _ => Err(Decline),
        }
    }

    fn deserialize_char<V: Visitor<'a>>(self, _visitor: V) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_str<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match &self.node().kind {
            Kind::Plain(s) if !is_null(s) => visitor.visit_borrowed_str(s),
            Kind::Text(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Kind::Text(Cow::Owned(s)) => visitor.visit_str(s),
            _ => Err(Decline),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'a>>(self, _visitor: V) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, _visitor: V) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match self.plain() {
            Some(s) if is_null(s) => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match self.plain() {
            Some(s) if is_null(s) => visitor.visit_unit(),
            _ => Err(Decline),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _visitor: V,
    ) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> R<V::Value> {
        if name == SPANNED_NEWTYPE {
            visitor.visit_newtype_struct(WithPlace(self))
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match self.node().kind {
            Kind::Seq => self.seq_or_map(visitor),
            _ => Err(Decline),
        }
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _len: usize, _visitor: V) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _len: usize,
        _visitor: V,
    ) -> R<V::Value> {
        Err(Decline)
    }

    fn deserialize_map<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        match self.node().kind {
            Kind::Map => self.seq_or_map(visitor),
            _ => Err(Decline),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> R<V::Value> {
        // A unit variant named by a scalar; anything else is left to serde-saphyr.
        match &self.node().kind {
            Kind::Plain(s) if !is_null(s) => visitor.visit_enum(s.into_deserializer()),
            Kind::Text(s) => visitor.visit_enum(s.as_ref().into_deserializer()),
            _ => Err(Decline),
        }
    }

    fn deserialize_identifier<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'a>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_unit()
    }
}

/// The children of a collection: a sequence's items, or a mapping's keys and values in turn.
struct Children<'n, 'a> {
    nodes: &'n [Node<'a>],
    next: usize,
    end: usize,
}

impl<'a> Children<'_, 'a> {
    /// The next child read by `seed`, and `next` moved past it; `None` past the last.
    fn next_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> R<Option<T::Value>> {
        if self.next >= self.end {
            return Ok(None);
        }
        let at = self.next;
        self.next = self.nodes[at].end as usize;
        seed.deserialize(De {
            nodes: self.nodes,
            at,
        })
        .map(Some)
    }
}

impl<'a> SeqAccess<'a> for Children<'_, 'a> {
    type Error = Decline;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> R<Option<T::Value>> {
        self.next_seed(seed)
    }
}

impl<'a> MapAccess<'a> for Children<'_, 'a> {
    type Error = Decline;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> R<Option<K::Value>> {
        self.next_seed(seed)
    }

    fn next_value_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> R<T::Value> {
        self.next_seed(seed)?.ok_or(Decline)
    }
}

/// A node asked for with its place: the map of serde-saphyr's span protocol, whole enough
/// for both readers of it: serde-saphyr's own `Spanned` (the mock's script), which wants its
/// marker first and `defined` too (the same place: this road has no aliases), and
/// `suite::raw::Spanned`, which reads `referenced`'s line and column and `value`, and passes
/// over the rest. Without the marker, serde-saphyr's `Spanned` would read the map as its value.
struct WithPlace<'n, 'a>(De<'n, 'a>);

/// The key serde-saphyr's `Spanned` knows its protocol by.
const SAPHYR_SPANNED_MARKER: &str = "__serde_saphyr_private_spanned";

impl<'de> de::Deserializer<'de> for WithPlace<'_, 'de> {
    type Error = Decline;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> R<V::Value> {
        visitor.visit_map(PlaceMap {
            de: self.0,
            step: 0,
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct PlaceMap<'n, 'a> {
    de: De<'n, 'a>,
    step: u8,
}

impl<'a> MapAccess<'a> for PlaceMap<'_, 'a> {
    type Error = Decline;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> R<Option<K::Value>> {
        let key = match self.step {
            0 => SAPHYR_SPANNED_MARKER,
            1 => "referenced",
            2 => "value",
            3 => "defined",
            _ => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> R<T::Value> {
        self.step += 1;
        let node = self.de.node();
        let place = || {
            de::value::MapDeserializer::<_, Decline>::new(
                [("line", node.line), ("column", node.column)].into_iter(),
            )
        };
        match self.step {
            1 => seed.deserialize(().into_deserializer()),
            2 | 4 => seed.deserialize(place()),
            3 => seed.deserialize(self.de),
            _ => Err(Decline),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The fast road against serde-saphyr: on every text it takes, the same values and the
    //! same spans, node by node; and it takes the shapes it exists for.

    use std::fmt;

    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use serde::Deserialize;

    use super::*;
    use crate::diag::Span;
    use crate::suite::raw::Spanned;

    /// Any YAML value as serde sees it, every node with its place.
    #[derive(Debug, PartialEq)]
    enum Tree {
        Null,
        Bool(bool),
        U64(u64),
        I64(i64),
        /// The bits, so that equality is exact.
        F64(u64),
        Str(String),
        Seq(Vec<Spanned<Tree>>),
        Map(Vec<(Spanned<Tree>, Spanned<Tree>)>),
    }

    impl<'de> Deserialize<'de> for Tree {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Tree;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("anything")
                }
                fn visit_unit<E>(self) -> Result<Tree, E> {
                    Ok(Tree::Null)
                }
                fn visit_bool<E>(self, v: bool) -> Result<Tree, E> {
                    Ok(Tree::Bool(v))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Tree, E> {
                    Ok(Tree::U64(v))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Tree, E> {
                    Ok(Tree::I64(v))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Tree, E> {
                    Ok(Tree::F64(v.to_bits()))
                }
                fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
                    Ok(Tree::Str(v.to_string()))
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                    let mut out = Vec::new();
                    while let Some(item) = seq.next_element()? {
                        out.push(item);
                    }
                    Ok(Tree::Seq(out))
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                    let mut out = Vec::new();
                    while let Some(entry) = map.next_entry()? {
                        out.push(entry);
                    }
                    Ok(Tree::Map(out))
                }
            }
            d.deserialize_any(V)
        }
    }

    fn fast<T: DeserializeOwned>(text: &str) -> Option<T> {
        from_str(text, Limits::of(&crate::yaml::options_for(text)))
    }

    fn slow<T: DeserializeOwned>(text: &str) -> Result<T, serde_saphyr::Error> {
        serde_saphyr::from_str_with_options(text, crate::yaml::options_for(text))
    }

    /// Whether the fast road took `text` as `T`; when it did, serde-saphyr must have read the
    /// same (compared by `Debug`, which shows every value and span).
    fn agrees<T: DeserializeOwned + fmt::Debug>(text: &str) -> bool {
        let Some(quick) = fast::<T>(text) else {
            return false;
        };
        match slow::<T>(text) {
            Ok(full) => assert_eq!(
                format!("{quick:?}"),
                format!("{full:?}"),
                "the two roads read differently:\n{text}"
            ),
            Err(e) => panic!("the fast road took what serde-saphyr refuses ({e}):\n{text}"),
        }
        true
    }

    fn taken(text: &str) {
        assert!(
            agrees::<Spanned<Tree>>(text),
            "the fast road declined:\n{text}"
        );
    }

    fn declined(text: &str) {
        assert!(
            !agrees::<Spanned<Tree>>(text),
            "the fast road took:\n{text}"
        );
    }

    #[test]
    fn takes_the_shapes_suites_are_written_in() {
        taken(
            "name: bench\nendpoint:\n  base_url: http://127.0.0.1:9/x\n  agent_id: a-1\ndefaults:\n  expect: {status: 200}\ndialogues:\n  - name: dialogue 0\n    turns:\n      - user: dialogue 0 turn 0\n        expect:\n          contains: [business hours, \"dialogue 0\"]\n          regex: '\\b9 AM\\b'\n          not_contains: sorry\n          facts: [{time: \"09:00\"}, {time: \"18:00\"}]\n",
        );
        // A piece of a cut file: the list indented, alone.
        taken("  - name: a\n    turns:\n      - user: hi\n  - name: b\n    turns: []\n");
        // A list at its key's own indentation, comments, blank lines, a block at the end.
        taken("# head\na:\n- x   # one\n- z\n\nb: {}\nc: []\nd: |\n  two\n   lines\n\n  here\n");
        // Numbers, bools and nulls where a value may be anything.
        taken(
            "a: [0, 7, -3, 0.5, -12.25, true, false, null, ~, Null, 9 AM, 18446744073709551615]\n",
        );
        // Quoting and escapes.
        taken("a: \"x\\ty\\n\\\"q\\\" \\\\ \\u00e9 \\x41 \\/\"\nb: 'it''s'\n\"c d\": 'e'\n");
        // Keys and values past non-ASCII text: columns count characters.
        taken("é: ü\nlist: [ä, 'ö', \"ß\"]\nnested:\n  - x: é # c\n    w: z\n");
        // Literal blocks: chomping and an indentation indicator, nested in a list item.
        taken("turns:\n  - agent: |-\n      a\n      b\n    user: |+\n      kept\n\n  - agent: |2\n       lead\n      next\n");
        taken("a: |\n  x\nb: |-\n  y\n\nc: |+\n  z\n\n\n");
    }

    #[test]
    fn declines_what_it_does_not_read_as_serde_saphyr_does() {
        for text in [
            "a: &x 1\nb: *x\n",
            "a: !tag x\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "{a: 1, a: 2}\n",
            "a: {x: 1, x: 2}\n",
            "a: [1, 2,]\n",
            "a: b\n  c\n",
            "a: \"b\n  c\"\n",
            "a: >\n  folded\n",
            "a:\tb\n",
            "a: yes\n",
            "a: 0x1F\n",
            "a: 1e3\n",
            "a: .inf\n",
            "a: 007\n",
            "a:\n",
            "- a\n- b: c\n  - d\n",
            "---\na: 1\n",
            "%YAML 1.2\n---\na: 1\n",
            "a: 1",
            "a: 1\r\nb: 2\r\n",
            "? a\n: b\n",
            "1: a\n",
            "true: a\n",
            "a: b: c\n",
            "a: \"\\q\"\n",
            "a: \"\\ud800\"\n",
            "a: |\n  x\n    \n",
        ] {
            declined(text);
        }
    }

    /// Goldens are written by our own renderer: every one of them must take the fast road,
    /// byte-exact.
    #[test]
    fn takes_every_golden_the_renderer_writes() {
        use crate::judge::golden::file::{render, GoldenFile, GoldenTurn};
        let texts = [
            "plain text",
            "Answer to dialogue 1 turn 0: our business hours are 9 AM to 6 PM EST.",
            "two\nlines",
            "two\nlines\n",
            "kept\n\n",
            "  leading space\nsecond",
            "tab\there",
            "quote \" and back \\ slash",
            "unicode é ü ß 漢字",
            "control \u{1b} and \u{85} and \u{2028}",
            "",
            "yes",
            "42",
            "- dash",
            "# hash",
            "a: b",
            "\n\nstarts with breaks",
        ];
        for (i, a) in texts.iter().enumerate() {
            let g = GoldenFile {
                suite: "suite name".into(),
                dialogue: texts[(i + 3) % texts.len()].into(),
                baseline: None,
                turns: vec![GoldenTurn {
                    user: texts[(i + 1) % texts.len()].into(),
                    status: 200,
                    agent: (*a).into(),
                }],
            };
            let text = render(&g);
            let quick: Option<GoldenFile> = fast(&text);
            if let Some(quick) = quick {
                assert_eq!(quick, g, "{text}");
            }
            assert!(
                agrees::<GoldenFile>(&text) || text.contains("|2"),
                "declined:\n{text}"
            );
        }
    }

    /// Typed reads: what each field type asks for, read the same way on both roads.
    #[test]
    fn typed_fields_read_alike() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Typed {
            s: Option<Spanned<String>>,
            num: Option<u32>,
            i: Option<i64>,
            f: Option<f64>,
            b: Option<bool>,
            k: Option<Which>,
            list: Option<Vec<Spanned<String>>>,
        }
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Which {
            One,
            Two,
        }
        for text in [
            "s: text\nnum: 200\ni: -4\nf: 0.25\nb: true\nk: two\nlist: [a, 'b', \"c\"]\n",
            "s: 123\nf: 3\n",
            "s: 'null'\nk: \"one\"\n",
            "s: true\n",
            "s: null\nnum: ~\n",
        ] {
            assert!(agrees::<Typed>(text), "declined:\n{text}");
        }
        for text in [
            "num: -1\n",
            "num: 99999999999\n",
            "k: three\n",
            "unknown: 1\n",
            "b: yes\n",
            "s: [a]\n",
        ] {
            assert!(!agrees::<Typed>(text), "took:\n{text}");
        }
    }

    /// Every suite, config and golden in the repository reads alike on both roads, and the
    /// example suites take the fast one.
    #[test]
    fn repository_files_read_alike() {
        use crate::suite::raw::{RawConfig, RawSuite};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("suites"), root.join("tests")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "golden")
                ) {
                    files.push(path);
                }
            }
        }
        let mut took = 0;
        for path in &files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let quick = if name == "agenttest.yaml" {
                agrees::<RawConfig>(&text)
            } else {
                agrees::<RawSuite>(&text) | agrees::<crate::judge::golden::file::GoldenFile>(&text)
            };
            agrees::<Spanned<Tree>>(&text);
            took += usize::from(quick);
            if path.starts_with(root.join("suites")) && name.ends_with(".yaml") {
                assert!(quick, "an example suite declined: {}", path.display());
            }
        }
        assert!(
            took > 20,
            "only {took} of {} files took the fast road",
            files.len()
        );
    }

    /// serde-saphyr's own `Spanned` (the mock's script reads it) gets the same values and
    /// places on both roads, a map of them included.
    #[test]
    fn serde_saphyrs_spanned_reads_alike() {
        use std::collections::BTreeMap;
        type Places = serde_saphyr::Spanned<BTreeMap<String, serde_saphyr::Spanned<String>>>;
        fn places(p: &Places) -> Vec<(String, String, u64, u64, u64, u64)> {
            let mut out = vec![(
                String::new(),
                String::new(),
                p.referenced.line(),
                p.referenced.column(),
                p.defined.line(),
                p.defined.column(),
            )];
            for (k, v) in &p.value {
                let (r, d) = (v.referenced, v.defined);
                out.push((
                    k.clone(),
                    v.value.clone(),
                    r.line(),
                    r.column(),
                    d.line(),
                    d.column(),
                ));
            }
            out
        }
        for text in [
            "agents:\n  a: x\n  b: 'y z'\n",
            "agents: {a: x, b: \"q\"}\n",
        ] {
            #[derive(Deserialize)]
            struct Doc {
                agents: Places,
            }
            let quick: Doc = fast(text).expect("taken");
            let full: Doc = slow(text).expect("read");
            assert_eq!(places(&quick.agents), places(&full.agents), "{text}");
        }
    }

    /// The span protocol answers `referenced` with the file's lines: a piece read with a
    /// line offset points into its file.
    #[test]
    fn spans_follow_the_line_offset() {
        let text = "  - a\n  - b\n";
        let read: Vec<Spanned<String>> =
            crate::suite::raw::with_line_offset(10, || fast(text)).expect("taken");
        assert_eq!(read[1].span, Span::new(12, 5));
    }

    /// The limits of serde-saphyr's budget hold on the fast road: nothing deeper, bigger or
    /// with more nodes than they allow is taken.
    #[test]
    fn limits_are_kept() {
        let deep = format!("a: {}1{}\n", "[".repeat(70), "]".repeat(70));
        declined(&deep);
        let text = "a: [1, 2, 3]\n";
        let mut options = crate::yaml::options_for(text);
        if let Some(b) = options.budget.as_mut() {
            b.max_nodes = 4;
        }
        assert!(from_str::<Tree>(text, Limits::of(&options)).is_none());
    }

    /// A small grammar of YAML-ish texts: valid shapes written in every style, then perhaps
    /// broken by one character.
    #[derive(Debug, Clone)]
    enum Gen {
        Scalar(String, u8),
        Seq(Vec<Gen>, bool),
        Map(Vec<(String, Gen)>, bool),
    }

    /// The first `SAFE` words, and the first `SAFE_KEYS` keys, are ones the fast road takes
    /// in any style.
    const SAFE: usize = 12;
    const SAFE_KEYS: usize = 7;

    const WORDS: &[&str] = &[
        "a",
        "hello world",
        "9 AM",
        "200",
        "-3",
        "0.5",
        "true",
        "null",
        "é ü",
        "/path",
        "q\"d",
        "it's",
        "007",
        "yes",
        "~",
        "",
        "x: y",
        "a #b",
        "#c",
        "- x",
        "tab\there",
        "two\nlines",
        "back\\slash",
        "[x]",
        "{y}",
        "&a",
        "*b",
        "!t",
        "%p",
        "@q",
        "1e3",
        ".inf",
        "0x1F",
        "deg(30)",
        " lead",
        "trail ",
        "::",
        "a:b",
        ",",
        "|",
        ">",
        "Null",
        "-0",
        "1_000",
        "http://h/p?q=1#f",
        "end\n",
        "NaN",
        "+1",
    ];

    const KEYS: &[&str] = &[
        "name", "user", "a b", "x-y", "é", "'q'", "\"r\"", "1", "true", "<<", "k", "name", "_u",
    ];

    fn gen() -> impl Strategy<Value = Gen> {
        // Mostly words the fast road takes, so that most texts are compared, not declined.
        let word = prop_oneof![3 => 0..SAFE, 1 => 0..WORDS.len()];
        let leaf = (word, 0u8..4).prop_map(|(w, style)| Gen::Scalar(WORDS[w].into(), style));
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                (prop::collection::vec(inner.clone(), 0..4), any::<bool>())
                    .prop_map(|(v, flow)| Gen::Seq(v, flow)),
                (
                    prop::collection::vec(
                        (prop_oneof![3 => 0..SAFE_KEYS, 1 => 0..KEYS.len()], inner),
                        0..4
                    ),
                    any::<bool>()
                )
                    .prop_map(|(v, flow)| Gen::Map(
                        v.into_iter()
                            .map(|(k, g)| (KEYS[k].to_string(), g))
                            .collect(),
                        flow
                    )),
            ]
        })
    }

    fn scalar(s: &str, style: u8, indent: usize, out: &mut String) {
        match style {
            0 => out.push_str(s),
            1 => {
                out.push('\'');
                out.push_str(&s.replace('\'', "''"));
                out.push('\'');
            }
            2 => {
                out.push('"');
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
                out.push('"');
            }
            _ => {
                out.push_str("|\n");
                for line in s.split('\n') {
                    out.push_str(&" ".repeat(indent + 2));
                    out.push_str(line);
                    out.push('\n');
                }
                out.pop();
            }
        }
    }

    fn flow(g: &Gen, out: &mut String) {
        match g {
            Gen::Scalar(s, style) => scalar(s, (*style).min(2), 0, out),
            Gen::Seq(items, _) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    flow(item, out);
                }
                out.push(']');
            }
            Gen::Map(entries, _) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    flow(v, out);
                }
                out.push('}');
            }
        }
    }

    /// `g` as a block node at `indent`, its first line already begun by the caller.
    fn block(g: &Gen, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        match g {
            Gen::Seq(items, false) if !items.is_empty() => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&pad);
                    }
                    out.push_str("- ");
                    match item {
                        Gen::Map(_, false) | Gen::Seq(_, false) => block(item, indent + 2, out),
                        _ => inline(item, indent, out),
                    }
                }
            }
            Gen::Map(entries, false) if !entries.is_empty() => {
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&pad);
                    }
                    out.push_str(k);
                    out.push(':');
                    match v {
                        Gen::Map(e, false) if !e.is_empty() => {
                            out.push('\n');
                            out.push_str(&" ".repeat(indent + 2));
                            block(v, indent + 2, out);
                        }
                        Gen::Seq(e, false) if !e.is_empty() => {
                            out.push('\n');
                            let at = indent + 2 * (k.len() % 2);
                            out.push_str(&" ".repeat(at));
                            block(v, at, out);
                        }
                        _ => {
                            out.push(' ');
                            inline(v, indent, out);
                        }
                    }
                }
            }
            _ => inline(g, indent, out),
        }
    }

    fn inline(g: &Gen, indent: usize, out: &mut String) {
        match g {
            Gen::Scalar(s, style) => scalar(s, *style, indent, out),
            _ => flow(g, out),
        }
        out.push('\n');
    }

    const BREAKERS: &[char] = &[
        ' ', '\t', ':', '#', '-', '"', '\'', '\n', '[', ']', '{', '}', ',', '|', '&', '*', '!',
        '\\', '?', '>',
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Whatever the fast road takes, serde-saphyr reads the same, span by span.
        #[test]
        fn generated_texts_read_alike(
            g in gen(),
            edit in prop::option::weighted(0.3, (any::<prop::sample::Index>(), 0..BREAKERS.len(), any::<bool>())),
        ) {
            let mut text = String::new();
            block(&g, 0, &mut text);
            if let Some((at, c, insert)) = edit {
                let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
                if !bounds.is_empty() {
                    let i = bounds[at.index(bounds.len())];
                    if insert {
                        text.insert(i, BREAKERS[c]);
                    } else {
                        text.remove(i);
                    }
                }
            }
            agrees::<Spanned<Tree>>(&text);
        }
    }
}
