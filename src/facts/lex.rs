//! Lexing for the fact extractor: text to tokens, with the spans that never hold a fact
//! (URLs, e-mail addresses, phone numbers, normalize placeholders, identifiers) masked or
//! blocked first. Never decides what a value means; `extract` does. The one-pass lexer also
//! lists, as it makes them, the tokens a reading may start at (what `extract::starts_of` asks
//! of each), so the scan needs no pass of its own over the tokens.
//!
//! Tokens borrow their text: words from a lower-cased copy of the reply (see [`lower`]) or,
//! for a word with a letter beyond ASCII, from a buffer of such words lower-cased, digits
//! from the reply itself. Lexing runs on every reply of every turn with a `facts:` check,
//! and a string per word and per number was a quarter of what such a check cost; a token
//! that owns nothing is also dropped for free, where a reply's tokens once had to be walked
//! to drop them.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::words;

/// One number as written: `1,299.99` has the integer digits "1299" and the decimals "99".
/// Held as the text it was read from and two counts, not as strings of its own: a token is
/// made for every word and number of a reply, and a smaller one is cheaper to make, move and
/// drop (nothing of it is dropped), and a reply's tokens fit in a block the allocator keeps
/// at hand.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Num<'a> {
    /// As written, separators and decimals included.
    written: &'a str,
    /// How many integer digits, separators not counted.
    pub digits: u32,
    /// How many digits after the decimal point; 0 when there is none.
    frac_len: u32,
    /// Written with thousands separators.
    pub grouped: bool,
    pub value: f64,
}

impl<'a> Num<'a> {
    /// How many bytes of the text lie between the end of this number and the start of
    /// `next`, a number read after it from the same text: the width of the space between two
    /// groups (`1 299`: one; with a no-break space, two; with U+202F, three).
    pub fn gap_to(&self, next: &Num<'_>) -> usize {
        let end = self.written.as_ptr() as usize + self.written.len();
        (next.written.as_ptr() as usize).wrapping_sub(end)
    }

    /// The integer digits, separators removed (a copy only when there were any).
    pub fn int(&self) -> Cow<'a, str> {
        let int = match self.frac_len {
            0 => self.written,
            n => &self.written[..self.written.len() - n as usize - 1],
        };
        if self.grouped {
            // `1,299` or, with a decimal comma, `1.299`: an integer part holds one of the two.
            Cow::Owned(int.replace([',', '.'], ""))
        } else {
            Cow::Borrowed(int)
        }
    }

    /// `1.299,99`: grouped by dots, with a decimal comma (see [`lex_num_long`]).
    pub fn decimal_comma(&self) -> bool {
        // Every group after the first has three digits, so the first separator is where the
        // first group ends.
        let first = (self.digits as usize + 2) % 3 + 1;
        self.grouped && self.written.as_bytes().get(first) == Some(&b'.')
    }

    /// The digits after a decimal point, if any.
    pub fn frac(&self) -> Option<&'a str> {
        match self.frac_len {
            0 => None,
            n => Some(&self.written[self.written.len() - n as usize..]),
        }
    }

    /// The value when it is a whole number that fits, as written without a decimal point.
    /// What parsing the digits as a `u32` gives: `value` is exact below 2^53, and above it
    /// is no `u32` either.
    pub fn whole(&self) -> Option<u32> {
        let fits = self.frac_len == 0 && self.value <= f64::from(u32::MAX);
        fits.then_some(self.value as u32)
    }

    /// `09`, `007`: written with a leading zero, so a 24-hour clock or a code.
    pub fn leading_zero(&self) -> bool {
        self.digits > 1 && self.written.starts_with('0')
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind<'a> {
    Num(Num<'a>),
    /// Letters, lower-cased; `cap` when the first was upper-case ("May" the month). Borrowed
    /// from the lower-cased reply, or from the buffer [`tokenize`] is given when a letter is
    /// beyond ASCII, whose lower case may differ in length.
    Word {
        text: &'a str,
        cap: bool,
    },
    Sym(char),
    /// A masked span: nothing joins across it.
    Barrier,
}

#[derive(Debug, Clone)]
pub(super) struct Token<'a> {
    pub kind: Kind<'a>,
    /// No whitespace between this token and the one before.
    pub glued: bool,
    /// The first token of its line.
    pub line_start: bool,
    /// Part of an identifier, phone number, fraction…: never part of a fact.
    pub blocked: bool,
}

/// Spans masked before lexing, each a reason something that looks like a number is not one.
/// Their `\b` is compiled as the ASCII word boundary: a Unicode one over a reply with an en
/// dash or a euro sign in it would drop the regex engine from its fast path for the whole text.
const MASK_PATTERNS: [&str; 11] = [
    // URLs and bare domains with a path.
    r#"(?i)\b(?:https?://|ftp://|www\.)[^\s<>"'()\[\]]+"#,
    concat!(
        r"(?i)\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*",
        r"\.(?:com|org|net|io|ai|co|dev|app|uk|de|fr|eu|us|ca|au|info|biz|shop|store|help)\b",
        r#"(?:/[^\s<>"'()\[\]]*)?"#,
    ),
    // E-mail addresses.
    r"[A-Za-z0-9_.+-]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+",
    // normalize placeholders and golden wildcards.
    r"<[A-Za-z_][A-Za-z0-9_:.-]*>",
    r"\[\.\.\]",
    r"\{\{[^{}]*\}\}",
    // Phone numbers: international, (555) 123-4567, 555-123-4567, 1-800-FLOWERS.
    r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}",
    r"(?:\b1[ .-]?)?\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}\b",
    r"(?:\b1[ .-])?\b\d{3}[ .-]\d{3}[ .-]\d{4}\b",
    r"\b1-8\d\d-[A-Za-z0-9-]*[A-Za-z][A-Za-z0-9-]*",
    // Round-the-clock shorthands: 24/7, 24x7, 24/365.
    r"(?i)\b24\s*[/x×]\s*(?:7|365)\b",
];

fn compile(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

static MASKS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    MASK_PATTERNS
        .iter()
        .map(|p| Regex::new(&compile(p)).expect("fact mask regexes are valid"))
        .collect()
});

/// All the masks in one automaton, asked first which of them match at all: most replies hold
/// none, and one pass over the text costs less than eleven searches set up and run.
static MASK_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(MASK_PATTERNS.iter().map(|p| compile(p))).expect("fact mask regexes are valid")
});

/// Whether some mask may match `text`: each one needs something this looks for (`@ < [ { +
/// (`, `://`, `www.`, a dot before a letter, `24/` or `24 x`, `1-8`, three digits then a
/// space, dot or dash and a digit), so a reply without any is left alone. Most replies are
/// such, and for them the masks' automaton is neither asked (3,000 instructions a reply) nor
/// built (ten million, once). Text beyond ASCII always may: `\d` and case-insensitive letters there
/// reach other characters.
fn may_mask(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    let mut digits = 0;
    for (i, &c) in b.iter().enumerate() {
        // Letters, most of a reply, neither start a mask nor separate digit groups.
        if c.is_ascii_alphabetic() {
            digits = 0;
            continue;
        }
        // So are spaces, most of the rest, unless they end a group of three digits.
        if c == b' ' && digits < 3 {
            digits = 0;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(b' ');
        let hit = match c {
            b'@' | b'<' | b'[' | b'{' | b'+' | b'(' => true,
            b':' | b'.' => mark_may_mask(b, i),
            // `24/7`, `24 x 7`: `\s` on ASCII is these six.
            b'2' if next == b'4' => b[i + 2..]
                .iter()
                .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
                .is_some_and(|c| matches!(c, b'/' | b'x' | b'X')),
            b'1' => b[i + 1..].starts_with(b"-8"),
            _ => false,
        };
        // `555-123-4567`, `555.123.4567`, `555 123 4567`.
        let grouped = digits >= 3 && matches!(c, b' ' | b'.' | b'-') && next.is_ascii_digit();
        if hit || grouped {
            return true;
        }
        digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
    }
    false
}

/// Whether the `:` or `.` at `i` of `b` may start a mask: the `://` of a URL, a dot before a
/// letter (a domain, an e-mail address), or a dot after `www`. [`may_mask`] and the one-pass
/// lexer ask it alike, so the two agree on what sends a text to the full road.
#[inline]
fn mark_may_mask(b: &[u8], i: usize) -> bool {
    match b[i] {
        b':' => b[i + 1..].starts_with(b"//"),
        b'.' => {
            b.get(i + 1).is_some_and(u8::is_ascii_alphabetic)
                || (i >= 3 && b[i - 3..i].eq_ignore_ascii_case(b"www"))
        }
        _ => false,
    }
}

/// The masked byte ranges of `text`, sorted and merged.
fn masks(text: &str) -> Vec<(usize, usize)> {
    if !may_mask(text) {
        return Vec::new();
    }
    let hits = MASK_SET.matches(text);
    if !hits.matched_any() {
        return Vec::new();
    }
    let mut spans: Vec<(usize, usize)> = hits
        .iter()
        .flat_map(|i| MASKS[i].find_iter(text).map(|m| (m.start(), m.end())))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// `text` with its ASCII letters lower-cased, for [`tokenize`] to borrow words from: every
/// byte keeps its place, so a word's range in `text` is its range here. Written into `buf`,
/// which the caller keeps from reply to reply: a copy into a buffer already at hand needs no
/// allocation, and no check that it is UTF-8 (a `String` stays one), where a copy on the
/// stack needed both, a tenth of what lexing a short reply cost.
pub(super) fn lower<'a>(text: &str, buf: &'a mut String) -> &'a str {
    buf.clear();
    buf.push_str(text);
    buf.make_ascii_lowercase();
    buf
}

/// Byte classes of the one-pass lexer ([`tokenize_ascii_into`]), one table lookup a byte.
const LETTER: u8 = 1;
const UPPER: u8 = 2;
const DIGIT: u8 = 4;
const SPACE: u8 = 8;
/// ASCII whitespace other than a space: `\t \n \x0b \x0c \r`, what `char::is_whitespace`
/// says of ASCII besides the space.
const BREAK: u8 = 16;
/// Beyond ASCII: the text takes the full road.
const WIDE: u8 = 32;
/// `@ < [ { + (`: each may start a mask, so the text takes the full road.
const MASKING: u8 = 64;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = match c {
            b'a'..=b'z' => LETTER,
            b'A'..=b'Z' => LETTER | UPPER,
            b'0'..=b'9' => DIGIT,
            b' ' => SPACE,
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => BREAK,
            b'@' | b'<' | b'[' | b'{' | b'+' | b'(' => MASKING,
            0x80..=0xff => WIDE,
            _ => 0,
        };
        b += 1;
    }
    t
};

/// [`tokenize`] in one pass over the bytes, for the text it can take: ASCII in which no mask
/// may match (what [`may_mask`] says no to). `Err` for any other text, which then takes
/// [`tokenize`]; the test `one_pass_lexes_as_the_full_road` holds the two to the same
/// tokens. Nearly every reply is such text, and lexing it was half of what a `facts` check
/// cost: here each byte is classed by one table lookup, the mask triggers are asked where
/// the lexer meets them, and each chunk is blocked as soon as it ends instead of in a
/// second pass. The tokens go into `out`, an empty vector whose room the caller keeps from
/// reply to reply, and which `Err` gives back emptied. Onto `starts`, empty, go the tokens a
/// reading may start at, and with the tokens comes whether a word names a month: what
/// `extract::starts_of` says of them, asked of each token as it is made: a pass over them
/// all had cost 520 instructions of the benchmark's reply, asking here costs 230. On `Err`,
/// `starts` holds anything. Never inlined: in its one caller's body it cost 250 instructions
/// a reply more (measured).
#[inline(never)]
pub(super) fn tokenize_ascii_into<'a>(
    text: &'a str,
    lower: &'a str,
    mut out: Vec<Token<'a>>,
    starts: &mut Vec<usize>,
) -> Result<(Vec<Token<'a>>, bool), Vec<Token<'a>>> {
    let bytes = text.as_bytes();
    // About a token per four bytes of prose: sized once rather than grown a reply.
    out.reserve(text.len() / 4 + 4);
    let mut i = 0;
    let (mut glued, mut line_start, mut dotted) = (false, true, false);
    // Each token a reading may start at is listed by its index as it is pushed, each kind
    // asked what `extract::may_start` asks of it.
    let mut months = false;
    // Where the chunk being lexed starts (a token not glued ends it), and whether it holds a
    // number: a chunk without one holds nothing to block.
    let (mut chunk, mut numbers) = (0, false);
    while let Some(&b) = bytes.get(i) {
        let class = CLASS[usize::from(b)];
        if class & (SPACE | BREAK) != 0 {
            line_start |= b == b'\n';
            glued = false;
            dotted = false;
            i += 1;
            continue;
        }
        if class & (WIDE | MASKING) != 0 {
            out.clear();
            return Err(out);
        }
        // The chunk is ended before the token is made, and each branch pushes its own: a
        // token made first and pushed after was built on the stack and copied into the
        // vector field by field, twenty instructions a token.
        if !glued {
            if numbers {
                block_ended(&mut out, chunk);
            }
            chunk = out.len();
            numbers = false;
        }
        if class & DIGIT != 0 {
            let (num, end, refused) = lex_num(text, i, dotted);
            if masking_after_number(bytes, i, end, &num) {
                out.clear();
                return Err(out);
            }
            dotted = refused || (dotted && bytes.get(end) == Some(&b'.'));
            i = end;
            numbers = true;
            starts.push(out.len());
            push(&mut out, Kind::Num(num), glued, line_start);
        } else if class & LETTER != 0 {
            let start = i;
            // The letters after the first, walked by an iterator to its end rather than by an
            // index checked against the length at each letter.
            i += 1 + bytes[i + 1..]
                .iter()
                .position(|&b| CLASS[usize::from(b)] & LETTER == 0)
                .unwrap_or(bytes.len() - i - 1);
            dotted = false;
            let word = &lower[start..i];
            let (starts_here, month) = words::may_start_or_month(word);
            months |= month;
            if starts_here {
                starts.push(out.len());
            }
            let kind = Kind::Word {
                text: word,
                cap: class & UPPER != 0,
            };
            push(&mut out, kind, glued, line_start);
        } else {
            if mark_may_mask(bytes, i) {
                out.clear();
                return Err(out);
            }
            i += 1;
            if b != b'.' {
                dotted = false;
            } else if dotted_after(bytes, i) {
                dotted = true;
            }
            let c = char::from(b);
            if super::extract::sym_may_start(c) {
                starts.push(out.len());
            }
            push(&mut out, Kind::Sym(c), glued, line_start);
        }
        glued = true;
        line_start = false;
    }
    if numbers {
        block_ended(&mut out, chunk);
    }
    Ok((out, months))
}

/// What [`may_mask`] says of the digits of a number lexed at `start..end` and of the bytes
/// right after it: digits are where its `24/7`, `1-800` and `555-123` triggers start, and
/// these can only be met at the end of a number's last run of digits, or at its decimal
/// point (`123.4` is three digits, a dot and a digit).
fn masking_after_number(bytes: &[u8], start: usize, end: usize, num: &Num<'_>) -> bool {
    let int_run = if num.grouped { 3 } else { num.digits };
    let run = if num.decimal_comma() {
        // `123.456,7`, `1.234.567,8`: three digits, a dot and a digit, where the first group
        // has three digits or a second dot follows; the comma is no trigger.
        if num.digits.is_multiple_of(3) || num.digits > 6 {
            return true;
        }
        num.frac_len
    } else if num.frac_len > 0 {
        if int_run >= 3 {
            return true;
        }
        num.frac_len
    } else {
        int_run
    };
    let next = bytes.get(end).copied();
    let grouped = run >= 3
        && matches!(next, Some(b' ' | b'.' | b'-'))
        && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
    let round_the_clock = end - start >= 2
        && &bytes[end - 2..end] == b"24"
        && bytes[end..]
            .iter()
            .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
            .is_some_and(|c| matches!(c, b'/' | b'x' | b'X'));
    let toll_free = bytes[end - 1] == b'1' && bytes[end..].starts_with(b"-8");
    grouped || round_the_clock || toll_free
}

/// [`block`] of the chunk that starts at `a` and ends with `toks`.
fn block_ended(toks: &mut [Token<'_>], a: usize) {
    let b = toks.len();
    if b == a + 1 {
        if matches!(&toks[a].kind, Kind::Num(n) if n.digits >= 7) {
            block_long_numbers(toks, a, b);
        }
    } else if b > a + 1 {
        block_several(toks, a, b);
    }
}

/// [`block_chunk`] of a chunk of two tokens or more, with a road of its own for a number
/// with a sign or a mark glued before or after it (`3:`, `30,`, `$5`, `(9`), in which only a
/// long number is blocked: an identifier needs a word, and a run or a ratio two numbers. The
/// full reading cost 140 instructions of such a chunk.
fn block_several(toks: &mut [Token<'_>], a: usize, b: usize) {
    let sym = |k: usize| matches!(toks[k].kind, Kind::Sym(_));
    if b == a + 2 && (sym(a) || sym(a + 1)) {
        block_long_numbers(toks, a, b);
    } else {
        block_chunk(toks, a, b);
    }
}

/// Tokens of `text`, with blocked tokens marked; `lower` is [`lower`]`(text)`, and `wide`
/// an empty buffer that is given the words with a letter beyond ASCII, lower-cased, for
/// their tokens to borrow.
pub(super) fn tokenize<'a>(text: &'a str, lower: &'a str, wide: &'a mut String) -> Vec<Token<'a>> {
    let mut toks = lex(text, lower, wide);
    block(&mut toks);
    toks
}

/// The tokens of `text`, none blocked yet. A word with a letter beyond ASCII is lexed with
/// no text at first and its lower case written into `wide`; once all are lexed, their
/// tokens are given their text from it (a buffer can be borrowed only once it is written).
fn lex<'a>(text: &'a str, lower: &'a str, wide: &'a mut String) -> Vec<Token<'a>> {
    let mut noted = Vec::new();
    let mut out = lex_noting(text, lower, wide, &mut noted);
    let wide: &'a str = wide;
    for (k, range) in noted {
        if let Kind::Word { text, .. } = &mut out[k].kind {
            *text = &wide[range];
        }
    }
    out
}

/// [`lex`] but for the text of the words beyond ASCII: each is noted as its token's index
/// and the range of its lower case in `wide`.
fn lex_noting<'a>(
    text: &'a str,
    lower: &'a str,
    wide: &mut String,
    noted: &mut Vec<(usize, std::ops::Range<usize>)>,
) -> Vec<Token<'a>> {
    let masks = masks(text);
    let bytes = text.as_bytes();
    // About a token per five bytes of prose: sized once rather than grown four times a reply.
    let mut out: Vec<Token> = Vec::with_capacity(text.len() / 4 + 4);
    let (mut i, mut m) = (0, 0);
    let (mut glued, mut line_start) = (false, true);
    // Inside `1.2.3` no part takes a decimal point: it is a version or a dotted date.
    let mut dotted = false;
    while i < text.len() {
        while m < masks.len() && masks[m].1 <= i {
            m += 1;
        }
        if m < masks.len() && masks[m].0 <= i {
            push(&mut out, Kind::Barrier, false, line_start);
            i = masks[m].1;
            glued = false;
            line_start = false;
            continue;
        }
        // A space, every other byte of prose, only ends what came before it.
        if bytes[i] == b' ' {
            glued = false;
            dotted = false;
            i += 1;
            continue;
        }
        // ASCII, nearly every byte of a reply, needs no decoding.
        let c = match bytes[i] {
            b @ 0..0x80 => char::from(b),
            _ => text[i..].chars().next().unwrap_or(' '),
        };
        if c.is_whitespace() {
            line_start |= c == '\n';
            glued = false;
            dotted = false;
            i += c.len_utf8();
            continue;
        }
        let kind = if c.is_ascii_digit() {
            let (num, end, refused) = lex_num(text, i, dotted);
            dotted = refused || (dotted && bytes.get(end) == Some(&b'.'));
            i = end;
            Kind::Num(num)
        } else if c.is_alphabetic() {
            let ascii = i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            // A letter beyond ASCII goes on the word the slow way.
            let end = match bytes.get(ascii) {
                Some(b) if !b.is_ascii() => text[ascii..]
                    .char_indices()
                    .find(|(_, ch)| !ch.is_alphabetic())
                    .map_or(text.len(), |(k, _)| ascii + k),
                _ => ascii,
            };
            let start = i;
            i = end;
            dotted = false;
            // Most words are ASCII (all letters up to `ascii`), whose lower case needs no
            // Unicode tables nor a copy.
            let text = if end == ascii {
                &lower[start..end]
            } else {
                let at = wide.len();
                // `str::to_lowercase`, not a character at a time: a final sigma depends on
                // the letters around it.
                wide.push_str(&text[start..end].to_lowercase());
                noted.push((out.len(), at..wide.len()));
                ""
            };
            Kind::Word {
                text,
                cap: c.is_uppercase(),
            }
        } else {
            i += c.len_utf8();
            if c != '.' {
                dotted = false;
            } else if dotted_after(bytes, i) {
                // `.99.5` in `$.99.5` is as dotted as `1.2.3`: neither part is a decimal.
                dotted = true;
            }
            Kind::Sym(hyphen(c))
        };
        push(&mut out, kind, glued, line_start);
        glued = true;
        line_start = false;
    }
    out
}

/// The hyphen-minus for the characters that write it in other code points: the hyphen
/// U+2010, the non-breaking hyphen U+2011 (what a word processor puts in `5‑7 days` to keep
/// it on one line), the figure dash U+2012 and the minus sign U+2212. Each joins what `-`
/// joins and signs what it signs (`5‑7 days` is a range, `−5 °C` is negative), so every
/// reader that knows `-` knows them; read as symbols of their own they broke ranges, hyphen
/// units and identifiers (`5‑7 days` was 5 and 7 day, `ORD‑9999` the number 9999).
fn hyphen(c: char) -> char {
    match c {
        '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2212}' => '-',
        c => c,
    }
}

fn push<'a>(out: &mut Vec<Token<'a>>, kind: Kind<'a>, glued: bool, line_start: bool) {
    out.push(Token {
        kind,
        glued,
        line_start,
        blocked: false,
    });
}

/// Whether digits at `i` go on `.d` (`99.5` after the point of `.99.5`).
fn dotted_after(bytes: &[u8], i: usize) -> bool {
    let n = digits_from(bytes, i);
    n > 0 && bytes.get(i + n) == Some(&b'.') && bytes.get(i + n + 1).is_some_and(u8::is_ascii_digit)
}

fn digits_from(bytes: &[u8], i: usize) -> usize {
    bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count()
}

/// A number starting at `i`: digits, `,ddd` groups, and a decimal part unless the text goes on
/// `.d` after it (`1.2.3`) or `no_decimal` is set. Returns the end and whether a decimal point
/// was refused. Its common case, a short run of digits, is inlined where the lexers call it;
/// the rest is [`lex_num_long`].
#[inline]
fn lex_num(text: &str, i: usize, no_decimal: bool) -> (Num<'_>, usize, bool) {
    let bytes = text.as_bytes();
    // Most numbers are a few digits and nothing more: read in one loop with their value,
    // which is exact up to fifteen digits (see `whole_value`).
    let mut end = i;
    let mut n = 0u64;
    while let Some(&d) = bytes.get(end).filter(|d| d.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        end += 1;
    }
    let digits = end - i;
    if digits <= 15 && !matches!(bytes.get(end), Some(b',' | b'.')) {
        let num = Num {
            written: &text[i..end],
            digits: digits as u32,
            frac_len: 0,
            grouped: false,
            value: n as f64,
        };
        return (num, end, false);
    }
    lex_num_long(text, i, no_decimal, end)
}

/// [`lex_num`] past its first run of digits, which `end` ends: a number with a separator, a
/// decimal part or more than fifteen digits. Kept out of line so that the common case is
/// small enough to inline.
#[inline(never)]
fn lex_num_long(text: &str, i: usize, no_decimal: bool, end: usize) -> (Num<'_>, usize, bool) {
    let bytes = text.as_bytes();
    if !no_decimal {
        if let Some(num) = decimal_comma_num(text, i, end) {
            let end = i + num.written.len();
            return (num, end, false);
        }
    }
    let mut end = end;
    let mut digits = end - i;
    let mut grouped = false;
    // Thousands groups: `1,299`, not `5,6` nor `24, 2026`.
    if digits <= 3 {
        while bytes.get(end) == Some(&b',') && digits_from(bytes, end + 1) == 3 {
            end += 4;
            digits += 3;
            grouped = true;
        }
    }
    let int_end = end;
    let mut frac_len = 0;
    let mut refused = false;
    if bytes.get(end) == Some(&b'.') {
        let n = digits_from(bytes, end + 1);
        if n > 0 {
            let after = end + 1 + n;
            let more = bytes.get(after) == Some(&b'.')
                && bytes.get(after + 1).is_some_and(u8::is_ascii_digit);
            if more || no_decimal {
                refused = true;
            } else {
                frac_len = n;
                end = after;
            }
        }
    }
    let int = &text[i..int_end];
    let value = match (frac_len, grouped) {
        (0, false) => whole_value(int),
        (0, true) => whole_value(&int.replace(',', "")),
        // Ungrouped, the number as written is `int.frac` already.
        (_, false) => text[i..end].parse().unwrap_or(0.0),
        (_, true) => text[i..end].replace(',', "").parse().unwrap_or(0.0),
    };
    (
        Num {
            written: &text[i..end],
            digits: u32::try_from(digits).unwrap_or(u32::MAX),
            frac_len: u32::try_from(frac_len).unwrap_or(u32::MAX),
            grouped,
            value,
        },
        end,
        refused,
    )
}

/// `1.299,99`, `10.000,5`, `1.234.567,89`: thousands grouped by dots, then a decimal comma,
/// as most of continental Europe and Latin America write amounts; `first_end` ends the first
/// run of digits, which starts at `i`. No English reading fits it (English puts no comma
/// after its decimal point), so it is one number wherever it stands; read as English it was
/// `1.299`, a comma and `99`, and `1.299,99 €` stated 99 EUR. `1.299` alone is not this form
/// (a decimal point or a thousands dot: the scanner decides beside a currency), nor is a run
/// the text goes on after (`1.234,5.6`, `1.234,5,6`: a list or a version).
fn decimal_comma_num(text: &str, i: usize, first_end: usize) -> Option<Num<'_>> {
    let bytes = text.as_bytes();
    let first = first_end - i;
    if !(1..=3).contains(&first) || bytes.get(first_end) != Some(&b'.') {
        return None;
    }
    let mut end = first_end;
    let mut groups = 0;
    while bytes.get(end) == Some(&b'.') && digits_from(bytes, end + 1) == 3 {
        end += 4;
        groups += 1;
    }
    if groups == 0 || bytes.get(end) != Some(&b',') {
        return None;
    }
    let frac_len = digits_from(bytes, end + 1);
    let after = end + 1 + frac_len;
    let goes_on = matches!(bytes.get(after), Some(b'.' | b','))
        && bytes.get(after + 1).is_some_and(u8::is_ascii_digit);
    if frac_len == 0 || goes_on {
        return None;
    }
    let digits = first + 3 * groups;
    // The digits without their separators, as one integer over a power of ten: exact below
    // 2^53 and divided once, it is what parsing the decimal gives. Longer ones are parsed.
    let value = if digits + frac_len <= 15 {
        let n = text[i..after]
            .bytes()
            .filter(u8::is_ascii_digit)
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        n as f64 / 10f64.powi(frac_len as i32)
    } else {
        let plain: String = text[i..after]
            .chars()
            .filter_map(|c| match c {
                '.' => None,
                ',' => Some('.'),
                c => Some(c),
            })
            .collect();
        plain.parse().unwrap_or(0.0)
    };
    Some(Num {
        written: &text[i..after],
        digits: u32::try_from(digits).unwrap_or(u32::MAX),
        frac_len: u32::try_from(frac_len).unwrap_or(u32::MAX),
        grouped: true,
        value,
    })
}

/// The value of a run of digits. Up to fifteen digits it is below 2^53, so summed in a `u64`
/// it converts exactly, to what parsing it as a float gives; longer runs are parsed.
fn whole_value(digits: &str) -> f64 {
    if digits.len() > 15 {
        return digits.parse().unwrap_or(0.0);
    }
    let n = digits
        .bytes()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    n as f64
}

/// Marks the tokens that are parts of identifiers, codes and other number-like things that
/// are not facts. Works on chunks: runs of tokens with no whitespace between them. The test
/// `short_chunks_block_as_any` holds it to [`block_every_chunk`].
fn block(toks: &mut [Token<'_>]) {
    let mut a = 0;
    while a < toks.len() {
        let mut b = a + 1;
        while b < toks.len() && toks[b].glued && !matches!(toks[b].kind, Kind::Barrier) {
            b += 1;
        }
        // Most chunks are one word or one number, in which only a long number is blocked:
        // no identifier, run or ratio has fewer than two tokens.
        if b == a + 1 {
            // Asked here first: most such chunks are a word, or a number of a few digits.
            if matches!(&toks[a].kind, Kind::Num(n) if n.digits >= 7) {
                block_long_numbers(toks, a, b);
            }
        } else {
            block_several(toks, a, b);
        }
        a = b;
    }
}

/// [`block`] without its roads for short chunks.
#[cfg(test)]
fn block_every_chunk(toks: &mut [Token<'_>]) {
    let mut a = 0;
    while a < toks.len() {
        let mut b = a + 1;
        while b < toks.len() && toks[b].glued && !matches!(toks[b].kind, Kind::Barrier) {
            b += 1;
        }
        block_chunk(toks, a, b);
        a = b;
    }
}

/// Blocks within one chunk: all of it when it is an identifier; otherwise separated runs that
/// are no date, ratios, and long digit runs.
fn block_chunk(toks: &mut [Token<'_>], a: usize, b: usize) {
    if iso_date_time(toks, a, b) {
        return;
    }
    let chunk = &toks[a..b];
    if is_identifier(chunk) {
        for t in &mut toks[a..b] {
            t.blocked = true;
        }
        return;
    }
    let mut k = a;
    while k < b {
        match separated_run(toks, k, b) {
            Some(end) => {
                if !valid_run(toks, k, end) {
                    for t in &mut toks[k..end] {
                        t.blocked = true;
                    }
                }
                k = end;
            }
            None => k += 1,
        }
    }
    // `16:9`: a ratio, not a clock reading (minutes have two digits).
    for k in a..b.saturating_sub(2) {
        if let (Kind::Num(_), Kind::Sym(':'), Kind::Num(m)) =
            (&toks[k].kind, &toks[k + 1].kind, &toks[k + 2].kind)
        {
            if m.digits != 2 || m.frac().is_some() {
                for t in &mut toks[k..k + 3] {
                    t.blocked = true;
                }
            }
        }
    }
    block_long_numbers(toks, a, b);
}

/// Whether the chunk `a..b` is an ISO 8601 date-time, `2026-12-24T17:00`, with seconds
/// (`:00`, `:00.000`) and a zone (`Z`, `+01:00`, `-0500`) if any, and nothing but
/// punctuation around it; if so, blocks its `T` and its zone and leaves its date and clock to
/// be read, as in `2026-12-24 17:00`. Letters glued to digits made it an identifier, so a
/// reply that wrote its time this way stated nothing. The zone states no fact, as `UTC`
/// after `17:00` does not (no time is converted), and blocked it can be read neither as a
/// time (`+01:00`) nor as the end of a range (`-05:00`). A date that is not one
/// (`2026-13-45T17:00`) leaves the chunk an identifier.
fn iso_date_time(toks: &mut [Token<'_>], a: usize, b: usize) -> bool {
    // `2026-12-24T17:00` is nine tokens; most chunks (`9am`, `hours,`) are far fewer.
    if b - a < 9 {
        return false;
    }
    let num = |k: usize| match toks.get(k).filter(|_| k < b).map(|t| &t.kind) {
        Some(Kind::Num(n)) => Some(n),
        _ => None,
    };
    let sym = |k: usize, c: char| k < b && toks[k].kind == Kind::Sym(c);
    let two = |k: usize| num(k).is_some_and(|n| n.digits == 2 && n.frac().is_none());
    // Leading punctuation: `(2026-…`, `"2026-…`.
    let Some(s) = (a..b).find(|&k| matches!(toks[k].kind, Kind::Num(_) | Kind::Word { .. })) else {
        return false;
    };
    let (Some(y), Some(m), Some(d)) = (num(s), num(s + 2), num(s + 4)) else {
        return false;
    };
    let date = y.digits == 4
        && y.frac().is_none()
        && sym(s + 1, '-')
        && two(s + 2)
        && sym(s + 3, '-')
        && two(s + 4)
        && super::extract::numeric_date(y, '-', m, d).is_some();
    let t = s + 5;
    let clock = matches!(
        toks.get(t).map(|x| &x.kind),
        Some(Kind::Word { text: "t", .. })
    ) && two(t + 1)
        && sym(t + 2, ':')
        && two(t + 3);
    if !(date && clock) {
        return false;
    }
    let mut k = t + 4;
    // Seconds, with a fraction if any (`00.000`).
    if sym(k, ':') && num(k + 1).is_some_and(|n| n.digits == 2) {
        k += 2;
    }
    let zone = k;
    if matches!(
        toks.get(k).filter(|_| k < b).map(|x| &x.kind),
        Some(Kind::Word { text: "z", .. })
    ) {
        k += 1;
    } else if sym(k, '+') || sym(k, '-') {
        let hhmm = num(k + 1).is_some_and(|n| n.digits == 4 && n.frac().is_none());
        if two(k + 1) && sym(k + 2, ':') && two(k + 3) {
            k += 4;
        } else if two(k + 1) || hhmm {
            k += 2;
        } else {
            return false;
        }
    }
    // Nothing but punctuation after it: `….`, `…)`, `…,`.
    if toks[k..b]
        .iter()
        .any(|x| !matches!(x.kind, Kind::Sym(_)) || matches!(x.kind, Kind::Sym('-' | ':' | '+')))
    {
        return false;
    }
    toks[t].blocked = true;
    for x in &mut toks[zone..k] {
        x.blocked = true;
    }
    true
}

/// Seven digits or more, ungrouped: an account, tracking or phone number, unless after a
/// currency.
fn block_long_numbers(toks: &mut [Token<'_>], a: usize, b: usize) {
    for k in a..b {
        if let Kind::Num(n) = &toks[k].kind {
            let long = n.digits >= 7 && n.frac().is_none() && !n.grouped;
            if long && !(k > 0 && is_currency_marker(&toks[k - 1])) {
                toks[k].blocked = true;
            }
        }
    }
}

fn is_currency_marker(t: &Token<'_>) -> bool {
    match &t.kind {
        Kind::Sym(c) => words::currency_symbol(*c).is_some(),
        Kind::Word { text, .. } => words::currency_code(text).is_some(),
        _ => false,
    }
}

fn word<'t>(t: &'t Token<'_>) -> Option<&'t str> {
    match &t.kind {
        Kind::Word { text, .. } => Some(text),
        _ => None,
    }
}

fn is_num(t: Option<&Token<'_>>) -> bool {
    matches!(t.map(|t| &t.kind), Some(Kind::Num(_)))
}

/// Letters glued to digits (`A12`, `ORD-9999`, `COVID-19`, `4G5`, `12B`), decades (`1990s`,
/// `90's`), except the suffixes numbers carry (`9am`, `24th`, `10GB`, `9am-6pm`), currency
/// codes (`USD99`) and words that are values themselves (`noon-1pm`).
fn is_identifier(chunk: &[Token<'_>]) -> bool {
    for k in 0..chunk.len() {
        let Some(w) = word(&chunk[k]) else { continue };
        let after_num = k > 0 && is_num(chunk.get(k - 1));
        // `USD99`, and `noon-1pm` where the word is itself a value; asked last, since most
        // words are before no digits at all.
        let value_word =
            || words::currency_code(w).is_some() || matches!(w, "noon" | "midday" | "midnight");
        // Letters right before digits (`A12`, `4G5`), or before `-digits` unless they end a
        // number themselves (`ORD-9999` but not `9am-6pm`).
        let direct = is_num(chunk.get(k + 1));
        let dashed = matches!(
            chunk.get(k + 1).map(|t| &t.kind),
            Some(Kind::Sym('-' | '_' | '#'))
        ) && is_num(chunk.get(k + 2));
        if (direct || (dashed && !(after_num && words::is_number_suffix(w)))) && !value_word() {
            return true;
        }
        if after_num && (w == "s" || !words::is_number_suffix(w)) {
            return true;
        }
        // `1990's`
        if w == "s" && k >= 2 && chunk[k - 1].kind == Kind::Sym('\'') && is_num(chunk.get(k - 2)) {
            return true;
        }
    }
    false
}

/// From a number at `k`, the end of a run `N sep N [sep N]…` with one separator among
/// `- / . :`, when it has a `/` or `.` or at least three parts; `None` otherwise.
fn separated_run(toks: &[Token<'_>], k: usize, b: usize) -> Option<usize> {
    if !is_num(toks.get(k)) {
        return None;
    }
    let Some(Kind::Sym(sep)) = toks.get(k + 1).map(|t| &t.kind) else {
        return None;
    };
    let sep = *sep;
    if !matches!(sep, '-' | '/' | '.') {
        return None;
    }
    let mut end = k + 1;
    let mut parts = 1;
    while end + 1 < b && toks[end].kind == Kind::Sym(sep) && is_num(toks.get(end + 1)) {
        parts += 1;
        end += 2;
    }
    if parts < 2 {
        return None;
    }
    match sep {
        '/' | '.' => Some(end),
        _ if parts >= 3 => Some(end),
        // `ddd-dddd`: a local phone number, not a range; `$100-1000` is money.
        _ if parts == 2 => {
            let (Kind::Num(x), Kind::Num(y)) = (&toks[k].kind, &toks[k + 2].kind) else {
                return None;
            };
            let currency = k > 0 && is_currency_marker(&toks[k - 1]);
            let phone = x.digits == 3 && y.digits == 4 && x.frac().is_none() && y.frac().is_none();
            (phone && !currency).then_some(end)
        }
        _ => None,
    }
}

/// Whether a separated run is a date the extractor reads (`2026-12-24`, `12/24/2026`,
/// `24.12.2026`); anything else (`24/7`, `1/2`, `1.2.3`, `123-45-6789`) is blocked.
fn valid_run(toks: &[Token<'_>], k: usize, end: usize) -> bool {
    let nums: Vec<&Num<'_>> = toks[k..end]
        .iter()
        .filter_map(|t| match &t.kind {
            Kind::Num(n) => Some(n),
            _ => None,
        })
        .collect();
    if nums.len() != 3 || nums.iter().any(|n| n.frac().is_some()) {
        return false;
    }
    // A phone number's `ddd-dddd` never is.
    if nums[0].digits == 3 {
        return false;
    }
    let Kind::Sym(sep) = toks[k + 1].kind else {
        return false;
    };
    super::extract::numeric_date(nums[0], sep, nums[1], nums[2]).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        tokenize(text, lower(text, &mut String::new()), &mut String::new())
            .iter()
            .map(|t| {
                let s = match &t.kind {
                    Kind::Num(n) => format!("{}", n.value),
                    Kind::Word { text, .. } => text.to_string(),
                    Kind::Sym(c) => c.to_string(),
                    Kind::Barrier => "#".into(),
                };
                if t.blocked {
                    format!("[{s}]")
                } else {
                    s
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn numbers_lex_with_groups_and_decimals() {
        assert_eq!(shape("$1,299.99 now"), "$ 1299.99 now");
        assert_eq!(shape("December 24, 2026."), "december 24 , 2026 .");
        assert_eq!(shape("5,6"), "5 , 6");
    }

    /// A word with a letter beyond ASCII is lower-cased as a whole (a final sigma by the
    /// letters before it), each such word its own text, whatever words come between.
    #[test]
    fn words_beyond_ascii_are_lower_cased() {
        assert_eq!(shape("5 ÉTAPES, 3 Straße"), "5 étapes , 3 straße");
        let sigma = "ΟΔΟΣ".to_lowercase();
        assert_eq!(shape("ΟΔΟΣ 12 OK Ünd"), format!("{sigma} 12 ok ünd"));
    }

    #[test]
    fn identifiers_and_codes_are_blocked() {
        assert_eq!(shape("ORD-9999 A12"), "[ord] [-] [9999] [a] [12]");
        assert_eq!(shape("the 1990s"), "the [1990] [s]");
        assert_eq!(shape("24/7"), "#");
        assert_eq!(shape("1/2"), "[1] [/] [2]");
        assert_eq!(shape("v1.2.3"), "[v] [1] [.] [2] [.] [3]");
        assert_eq!(shape("$.99.5"), "$ . [99] [.] [5]");
        assert_eq!(shape("call 555-1234"), "call [555] [-] [1234]");
        assert_eq!(shape("9am-6pm"), "9 am - 6 pm");
    }

    /// `may_mask` may say yes when no mask matches, never no when one does: over texts made
    /// of the characters the masks are written with, and every example the masks are for.
    #[test]
    fn what_may_not_be_masked_is_not() {
        use proptest::prelude::*;
        for text in [
            "see https://x.io/a?d=30 now",
            "FTP://host",
            "WWW.Example",
            "www.1-2",
            "mail a.b+c@d.co",
            "<ORDER_ID>",
            "[..]",
            "{{name}}",
            "call +1 (555) 123-4567",
            "555-123-4567",
            "1-800-FLOWERS",
            "24 x 7",
            "24/365",
            "shop.example.store/path",
        ] {
            assert!(MASK_SET.is_match(text), "{text}");
            assert!(may_mask(text), "{text}");
        }
        // Characters and pieces the masks are made of, so that random texts often match one.
        let pieces: Vec<&str> = "a A w W x X s c o m 0 1 2 4 5 7 8 9 555 24 www com io \
            http:// ftp . - / : @ < > [ ] { } + ( ) _ × é \u{a0} \u{b} \u{c} \r"
            .split(' ')
            .chain([" ", "\n", "\t"])
            .filter(|p| !p.is_empty())
            .collect();
        let text = proptest::collection::vec(proptest::sample::select(pieces), 0..16)
            .prop_map(|ps| ps.concat());
        proptest!(ProptestConfig::with_cases(4000), |(text in text)| {
            prop_assert!(may_mask(&text) || !MASK_SET.is_match(&text), "{:?}", text);
        });
        assert!(!may_mask("Our hours are 9 AM to 6 PM EST."));
        assert!(!may_mask(
            "Order 12345 ships in 2 days, 1,299 units, by the 24th."
        ));
        assert!(may_mask("open 24\u{b}/ 7"));
    }

    /// Over texts of words, numbers, long numbers, currency signs, joiners and marks, blocking
    /// with the roads for short chunks blocks what blocking every chunk in full does.
    #[test]
    fn short_chunks_block_as_any() {
        use proptest::prelude::*;
        let pieces: Vec<&str> =
            "ORD A a am s 9 12 16 1990 1234567 12345678 $ € USD usd - _ # : / . ' , ( ) % T Z +"
                .split(' ')
                .collect();
        let text = crate::facts::texts(pieces, vec![" ", "", "", "\n"], 12);
        proptest!(ProptestConfig::with_cases(5000), |(text in text)| {
            let (mut buf, mut wide) = (String::new(), String::new());
            let lower = lower(&text, &mut buf);
            let mut fast = lex(&text, lower, &mut wide);
            let mut full = fast.clone();
            block(&mut fast);
            block_every_chunk(&mut full);
            let blocked = |t: &[Token<'_>]| t.iter().map(|t| t.blocked).collect::<Vec<_>>();
            prop_assert_eq!(blocked(&fast), blocked(&full), "{:?}", text);
        });
    }

    /// The one-pass lexer takes exactly the texts that are ASCII and that [`may_mask`] says
    /// no to, and lexes and blocks them as the full road does, and lists the tokens a reading
    /// may start at, and whether a month is named, as `extract::starts_of` does: over texts of
    /// words in either case, numbers with groups and decimals, the pieces every mask trigger
    /// is made of, and text beyond ASCII.
    #[test]
    fn one_pass_lexes_as_the_full_road() {
        use proptest::prelude::*;
        // Owned, so that the tokens can outlive the buffer they borrow from.
        fn seen(toks: &[Token<'_>]) -> Vec<String> {
            toks.iter()
                .map(|t| format!("{:?}", (&t.kind, t.glued, t.line_start, t.blocked)))
                .collect()
        }
        let pieces: Vec<&str> = "Answer to dialogue turn our business hours are AM PM EST am pm \
            Dec May ORD A a s x X www WWW com http :// ftp 0 1 2 4 7 8 9 12 24 99 123 555 1234 \
            1234567 2026 1,299 1,234.5 12.345 9.30 0.99 1.299,99 123.456,7 1.234.567,8 12.345,678 \
            2026-12-24T17:00 T Z . .. - -8 / : , ' $ % # _ & * ; ! ? \
            @ < > [ ] { } + ( ) é ٣ €"
            .split_whitespace()
            .chain(["\u{a0}", "\u{b}", "\u{c}", "\r", "\t", "\x7f", "\x01"])
            .collect();
        let text = crate::facts::texts(pieces, vec![" ", "", "", "\n", " "], 16);
        let check = |text: &str| {
            let mut buf = String::new();
            let lower = lower(text, &mut buf);
            let mut starts = Vec::new();
            let fast = tokenize_ascii_into(text, lower, Vec::new(), &mut starts)
                .ok()
                .map(|(t, months)| (seen(&t), starts, months));
            let mut wide = String::new();
            let toks = tokenize(text, lower, &mut wide);
            let mut full_starts = Vec::new();
            let months = super::super::extract::starts_of(&toks, &mut full_starts);
            let full = (seen(&toks), full_starts, months);
            let takes = text.is_ascii() && !may_mask(text);
            (fast, full, takes)
        };
        for text in [
            "Answer to dialogue 12 turn 3: our business hours are 9 AM to 6 PM EST.",
            "Refunds take 30 days; we open Dec 24 at 9am and charge $99.00.",
            "ORD-9999 A12 the 1990s 1/2 v1.2.3 $.99.5 call 555-1234 9am-6pm",
            "12/24/2026 24 / 7 1-800 123.4 1,234 5 www.x",
            "SHOUTING LOUDLY ABOUT THE LONGEST OPENING HOURS EVER WRITTEN DOWN ON ANY PAGE OF \
             ANY BOOK IN ANY LIBRARY ANYWHERE IN THE WORLD, FROM 9 AM TO 6 PM EVERY SINGLE DAY",
        ] {
            let (fast, full, takes) = check(text);
            assert_eq!(fast.is_some(), takes, "{text}");
            if let Some(fast) = fast {
                assert_eq!(fast, full, "{text}");
            }
        }
        proptest!(ProptestConfig::with_cases(20000), |(text in text)| {
            let (fast, full, takes) = check(&text);
            prop_assert_eq!(fast.is_some(), takes, "{:?}", text);
            if let Some(fast) = fast {
                prop_assert_eq!(fast, full, "{:?}", text);
            }
        });
    }

    /// A number's integer digits, decimals, value, whole value and leading zero, read from
    /// the text and two counts, are what the strings it once kept said: over numbers with
    /// groups, decimals, leading zeros, and runs longer than a float holds exactly.
    #[test]
    fn numbers_read_as_their_strings() {
        use proptest::prelude::*;
        let text = r"[0-9]{1,22}(,[0-9]{3}){0,2}(\.[0-9]{0,4})?( |\.|,|x)?";
        proptest!(ProptestConfig::with_cases(5000), |(t in text)| {
            let (n, end, _) = lex_num(&t, 0, false);
            let written = &t[..end];
            let (int_part, frac) = match written.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (written, None),
            };
            let int = int_part.replace(',', "");
            let value = match frac {
                None => whole_value(&int),
                Some(f) => format!("{int}.{f}").parse().unwrap_or(0.0),
            };
            let whole = frac.map_or_else(|| int.parse::<u32>().ok(), |_| None);
            prop_assert_eq!(n.int(), int.as_str(), "{:?}", t);
            prop_assert_eq!(n.frac(), frac, "{:?}", t);
            prop_assert_eq!(n.digits as usize, int.len(), "{:?}", t);
            prop_assert_eq!(n.value, value, "{:?}", t);
            prop_assert_eq!(n.whole(), whole, "{:?}", t);
            prop_assert_eq!(n.leading_zero(), int.len() > 1 && int.starts_with('0'), "{:?}", t);
            prop_assert_eq!(n.grouped, int_part.contains(','), "{:?}", t);
        });
    }

    /// `1.299,99`: dots between thousands and a decimal comma make one number, wherever it
    /// stands, since no English reading fits it; `1.299` alone, `1,299.99` and a run the
    /// text goes on after are read as before.
    #[test]
    fn dot_grouped_numbers_with_a_decimal_comma_are_one_number() {
        assert_eq!(shape("1.299,99 €"), "1299.99 €");
        assert_eq!(shape("10.000,5"), "10000.5");
        assert_eq!(shape("1.234.567,89"), "1234567.89");
        assert_eq!(shape("1.299 1,299.99"), "1.299 1299.99");
        assert_eq!(shape("1.234,5.6"), "1.234 , 5.6");
        assert_eq!(shape("1.234,5,6"), "1.234 , 5 , 6");
        let text = "1.234.567,89";
        let (n, end, _) = lex_num(text, 0, false);
        assert_eq!(end, text.len());
        assert_eq!((n.int().as_ref(), n.frac()), ("1234567", Some("89")));
        assert_eq!((n.digits, n.grouped, n.whole()), (7, true, None));
        assert!(n.decimal_comma());
        assert!(!lex_num("1,234.5", 0, false).0.decimal_comma());
    }

    /// The hyphens and the minus sign of Unicode are lexed as `-`, so that every reader that
    /// joins or signs with `-` reads them too.
    #[test]
    fn unicode_hyphens_lex_as_the_hyphen() {
        assert_eq!(shape("5\u{2011}7 days"), "5 - 7 days");
        assert_eq!(shape("5\u{2010}7 \u{2212}5"), "5 - 7 - 5");
        assert_eq!(shape("ORD\u{2012}9999"), "[ord] [-] [9999]");
        assert_eq!(shape("5–7"), "5 – 7");
    }

    /// An ISO date-time keeps its date and clock readable, its `T` and zone blocked; a chunk
    /// that only looks like one is an identifier still.
    #[test]
    fn an_iso_date_time_is_no_identifier() {
        assert_eq!(
            shape("2026-12-24T17:00:00.5Z"),
            "2026 - 12 - 24 [t] 17 : 0 : 0.5 [z]"
        );
        assert_eq!(
            shape("2026-12-24T17:00+01:00."),
            "2026 - 12 - 24 [t] 17 : 0 [+] [1] [:] [0] ."
        );
        assert_eq!(
            shape("2026-02-30T17:00"),
            "[2026] [-] [2] [-] [30] [t] [17] [:] [0]"
        );
    }

    #[test]
    fn masked_spans_become_barriers() {
        assert_eq!(shape("see https://x.io/a?d=30 now"), "see # now");
        assert_eq!(shape("call +1 (555) 123-4567"), "call #");
        assert_eq!(shape("order <ORDER> ships"), "order # ships");
        assert_eq!(shape("12/24/2026"), "12 / 24 / 2026");
    }
}
