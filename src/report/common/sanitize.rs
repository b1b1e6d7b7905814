//! Makes arbitrary text (agent replies, error details, names, paths) safe to put in an XML 1.0
//! document: terminal escape sequences are removed, characters XML 1.0 cannot carry at all are
//! dropped, and the rest is escaped for element text or for a double-quoted attribute.
//!
//! Reports are read by people in CI web views, so the visible text must survive: only the
//! invisible parts (escape sequences, control characters) are removed, never a printable
//! character. This module never panics on any input: agent text is hostile by assumption.
//!
//! Most text needs nothing done to it, so each step first checks that with a byte scan and
//! then hands the text on as it is, without a copy.

use std::borrow::Cow;

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// The 8-bit forms of CSI, OSC, and ST (C1 controls), which some programs emit instead of
/// `ESC [`, `ESC ]` and `ESC \`.
const CSI_8BIT: char = '\u{9b}';
const OSC_8BIT: char = '\u{9d}';
const ST_8BIT: char = '\u{9c}';

/// Removes ANSI/ECMA-48 escape sequences and every character XML 1.0 forbids, keeping tabs,
/// newlines and carriage returns. Visible text between sequences is kept as it was.
///
/// - CSI `ESC [ params intermediates final` (colors, cursor moves) is removed whole.
/// - OSC `ESC ] ... BEL|ESC \` (titles, hyperlinks) and the other string sequences
///   (`ESC P`, `ESC X`, `ESC ^`, `ESC _`) are removed up to their terminator. An unterminated
///   one ends at the next newline, so a stray `ESC ]` cannot swallow the rest of a reply.
/// - Other escapes (`ESC 7`, `ESC ( B`) are removed; a lone `ESC` is dropped by itself.
/// - C0 controls other than tab, LF and CR, the C1 controls U+0080..U+009F, and U+FFFE/U+FFFF
///   are dropped (C1 controls are legal XML but never visible, and mark 8-bit escapes).
pub fn strip_for_xml(text: &str) -> Cow<'_, str> {
    if is_clean(text) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(strip_slow(text))
}

/// Whether [`strip_for_xml`] would return `text` as it is: no C0 control but tab, LF and CR
/// (so no escape), no C1 control (`0xC2 0x80..=0x9F` in UTF-8) and no U+FFFE or U+FFFF
/// (`0xEF 0xBF 0xBE|0xBF`). Almost every text is clean, and a byte scan says so without
/// decoding a character.
fn is_clean(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Plain printable bytes are skipped by the cheap test; only a control byte or the lead
    // byte of a C1 control or of U+FFFE/U+FFFF is looked at closely.
    let suspect = |b: &u8| CLASS[usize::from(*b)] == SUSPECT;
    let mut at = 0;
    while let Some(i) = bytes[at..].iter().position(suspect) {
        if !clean_at(bytes, at + i) {
            return false;
        }
        at += i + 1;
    }
    true
}

/// Whether the byte at `i`, a control byte or the lead byte of a C1 control or of
/// U+FFFE/U+FFFF, leaves the text as [`strip_for_xml`] would keep it.
fn clean_at(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'\t' | b'\n' | b'\r' => true,
        0xc2 => !matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        0xef => !(bytes.get(i + 1) == Some(&0xbf) && matches!(bytes.get(i + 2), Some(0xbe | 0xbf))),
        b => b >= 0x20,
    }
}

fn strip_slow(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ESC => match chars.peek().copied() {
                Some('[') => {
                    chars.next();
                    skip_csi(&mut chars);
                }
                Some(']' | 'P' | 'X' | '^' | '_') => {
                    chars.next();
                    skip_string(&mut chars);
                }
                Some(n) if ('\u{20}'..='\u{2f}').contains(&n) => {
                    // nF escape: intermediates, then one final byte (`ESC ( B`).
                    while chars
                        .peek()
                        .is_some_and(|c| ('\u{20}'..='\u{2f}').contains(c))
                    {
                        chars.next();
                    }
                    if chars
                        .peek()
                        .is_some_and(|c| ('\u{30}'..='\u{7e}').contains(c))
                    {
                        chars.next();
                    }
                }
                Some(n) if ('\u{30}'..='\u{7e}').contains(&n) => {
                    // Two-character escape (`ESC 7`, `ESC c`, `ESC M`): the terminal does not
                    // show the second character either.
                    chars.next();
                }
                // Lone ESC: at the end, or before something that cannot continue a sequence.
                _ => {}
            },
            CSI_8BIT => skip_csi(&mut chars),
            OSC_8BIT => skip_string(&mut chars),
            c if is_xml_char(c) && !is_c1(c) => out.push(c),
            _ => {}
        }
    }
    out
}

/// After `ESC [`: parameter bytes 0x30..0x3F, intermediates 0x20..0x2F, one final 0x40..0x7E.
/// Anything else ends the sequence early and is left for the caller, so a broken sequence
/// never eats a newline or non-ASCII text.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            '\u{20}'..='\u{3f}' => {
                chars.next();
            }
            '\u{40}'..='\u{7e}' => {
                chars.next();
                return;
            }
            _ => return,
        }
    }
}

/// After `ESC ]` (or another string introducer): up to and including BEL, `ESC \` or 8-bit ST;
/// unterminated, up to (not including) the next newline.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        match c {
            BEL | ST_8BIT => {
                chars.next();
                return;
            }
            ESC => {
                chars.next();
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            '\n' | '\r' => return,
            _ => {
                chars.next();
            }
        }
    }
}

/// XML 1.0 `Char`: `#x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`.
/// Surrogates cannot occur in a Rust `char`, so only the controls and U+FFFE/U+FFFF remain.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{fffe}' && c != '\u{ffff}')
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

/// Sanitized text escaped for XML element content. `>` is escaped too, so `]]>` can never
/// appear; `\r` becomes `&#13;` so a parser's line-end normalization does not eat it.
pub fn xml_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    sanitize_and_escape(text, false, |piece| out.push_str(piece));
    out
}

/// Sanitized text escaped for a double-quoted XML attribute. Tabs and line ends become
/// character references, because a parser replaces literal ones with spaces.
pub fn xml_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    sanitize_and_escape(text, true, |piece| out.push_str(piece));
    out
}

/// [`xml_text`] (or [`xml_attr`] when `attr`) written to `out` as it is made: the runs that
/// need nothing go out as they are, without a copy.
pub fn write_xml(out: &mut impl std::io::Write, text: &str, attr: bool) -> std::io::Result<()> {
    let mut result = Ok(());
    sanitize_and_escape(text, attr, |piece| {
        if result.is_ok() {
            result = out.write_all(piece.as_bytes());
        }
    });
    result
}

/// What a byte asks of [`sanitize_and_escape`].
const PLAIN: u8 = 0;
/// A character reference in text and in attributes.
const ESCAPED: u8 = 1;
/// A character reference in attributes only.
const ESCAPED_IN_ATTR: u8 = 2;
/// A control byte, or the lead byte of a C1 control or of U+FFFE/U+FFFF: [`clean_at`] says.
const SUSPECT: u8 = 3;

const CLASS: [u8; 256] = {
    let mut class = [PLAIN; 256];
    let mut b = 0;
    while b < 0x20 {
        class[b] = SUSPECT;
        b += 1;
    }
    class[b'\t' as usize] = ESCAPED_IN_ATTR;
    class[b'\n' as usize] = ESCAPED_IN_ATTR;
    class[b'\r' as usize] = ESCAPED;
    class[b'&' as usize] = ESCAPED;
    class[b'<' as usize] = ESCAPED;
    class[b'>' as usize] = ESCAPED;
    class[b'"' as usize] = ESCAPED_IN_ATTR;
    class[b'\'' as usize] = ESCAPED_IN_ATTR;
    class[0xc2] = SUSPECT;
    class[0xef] = SUSPECT;
    class
};

/// Escaping (below) of [`strip_for_xml`]'s text, in one pass over text that needs no stripping, which is
/// nearly all text: the two scans, and the calls for every piece, were most of the cost of a
/// passing dialogue's JUnit part. At the first byte that does need stripping, the rest of the
/// text takes the two steps. That is exact: nothing before that byte opens a sequence the
/// strip would remove (an `ESC` is a control byte), so the text before it strips to itself.
fn sanitize_and_escape(text: &str, attr: bool, mut emit: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let reference = match CLASS[usize::from(b)] {
            PLAIN => continue,
            ESCAPED_IN_ATTR if !attr => continue,
            SUSPECT if clean_at(bytes, i) => continue,
            SUSPECT => {
                // Only control bytes and lead bytes are suspects: `i` is a char boundary.
                // What the strip leaves holds no such byte, so this recurses once.
                sanitize_and_escape(&strip_slow(&text[start..]), attr, emit);
                return;
            }
            _ => reference(b),
        };
        if start < i {
            emit(&text[start..i]);
        }
        emit(reference);
        start = i + 1;
    }
    if start < text.len() {
        emit(&text[start..]);
    }
}

/// The character reference for a byte that needs one.
fn reference(b: u8) -> &'static str {
    match b {
        b'&' => "&amp;",
        b'<' => "&lt;",
        b'>' => "&gt;",
        b'\r' => "&#13;",
        b'"' => "&quot;",
        b'\'' => "&apos;",
        b'\n' => "&#10;",
        _ => "&#9;",
    }
}

/// One line, at most `max` characters, for a `message` attribute: the first non-empty line of
/// `text` with whitespace runs collapsed, cut with `…` when longer. Not escaped.
pub fn one_line(text: &str, max: usize) -> String {
    let stripped = strip_for_xml(text);
    let line = stripped
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let mut cut: String = collapsed.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_colors_and_keeps_the_text() {
        assert_eq!(strip_for_xml("\x1b[31mred\x1b[0m plain"), "red plain");
        assert_eq!(strip_for_xml("\x1b[1;38;5;208mbold\x1b[m"), "bold");
        assert_eq!(strip_for_xml("a\x1b[2Kb\x1b[?25lc"), "abc");
    }

    #[test]
    fn strips_osc_with_bel_and_st_terminators() {
        assert_eq!(strip_for_xml("\x1b]0;window title\x07after"), "after");
        assert_eq!(
            strip_for_xml("\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\ text"),
            "link text"
        );
        // Unterminated OSC stops at the newline, so the next line survives.
        assert_eq!(strip_for_xml("\x1b]0;oops\nnext line"), "\nnext line");
    }

    #[test]
    fn strips_8bit_and_other_escapes_and_lone_esc() {
        assert_eq!(strip_for_xml("\u{9b}31mred\u{9b}0m"), "red");
        assert_eq!(strip_for_xml("\u{9d}0;t\u{9c}x"), "x");
        assert_eq!(strip_for_xml("\x1b(Bx\x1b7y\x1bcz"), "xyz");
        assert_eq!(strip_for_xml("end\x1b"), "end");
        assert_eq!(strip_for_xml("a\x1b\nb"), "a\nb");
        assert_eq!(strip_for_xml("a\x1bé"), "aé");
        // A CSI broken by a newline ends there and keeps the newline.
        assert_eq!(strip_for_xml("a\x1b[31\nb"), "a\nb");
    }

    #[test]
    fn drops_forbidden_characters_keeps_tab_newline_cr() {
        let all_c0: String = (0u8..0x20).map(char::from).collect();
        assert_eq!(strip_for_xml(&all_c0), "\t\n\r");
        assert_eq!(strip_for_xml("a\u{0}b\u{b}c\u{c}d\u{7f}e"), "abcd\u{7f}e");
        assert_eq!(strip_for_xml("x\u{fffe}y\u{ffff}z\u{fffd}"), "xyz\u{fffd}");
        assert_eq!(strip_for_xml("emoji 🎉 ünïcødé"), "emoji 🎉 ünïcødé");
        assert_eq!(strip_for_xml("c1\u{85}\u{9f}"), "c1");
    }

    #[test]
    fn escapes_markup_and_cdata_end() {
        assert_eq!(xml_text("<&>\"' ]]>"), "&lt;&amp;&gt;\"' ]]&gt;");
        assert_eq!(
            xml_attr("<&>\"'\n\t\r"),
            "&lt;&amp;&gt;&quot;&apos;&#10;&#9;&#13;"
        );
        assert_eq!(xml_text("line1\nline2\ttab\r"), "line1\nline2\ttab&#13;");
        assert!(!xml_text("]]>]]]>").contains("]]>"));
    }

    #[test]
    fn the_fast_path_agrees_with_the_full_strip() {
        // Every character class the stripper treats apart, alone and between text, at the
        // start, in the middle and at the end.
        let specials = [
            "\u{0}",
            "\u{1b}",
            "\u{1b}[31m",
            "\u{7}",
            "\t",
            "\n",
            "\r",
            "\u{7f}",
            "\u{80}",
            "\u{9b}",
            "\u{9f}",
            "\u{a0}",
            "\u{c2}",
            "\u{ef}",
            "\u{fffd}",
            "\u{fffe}",
            "\u{ffff}",
            "\u{10000}",
            "é",
            "🎉",
            "&<>\"'",
        ];
        for a in specials {
            for b in specials {
                for text in [
                    format!("{a}{b}"),
                    format!("x{a}y{b}z"),
                    format!("{a} ok {b}"),
                ] {
                    let fast = strip_for_xml(&text);
                    assert_eq!(fast, strip_slow(&text), "{text:?}");
                    assert_eq!(
                        matches!(fast, Cow::Borrowed(_)),
                        strip_slow(&text) == text,
                        "{text:?}"
                    );
                }
            }
        }
    }

    /// The two-step road, written apart from the table the one-pass road reads: stripped text
    /// escaped a character at a time.
    fn escape(text: &str, attr: bool, mut emit: impl FnMut(&str)) {
        let mut piece = [0u8; 4];
        for c in text.chars() {
            emit(match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '\r' => "&#13;",
                '"' if attr => "&quot;",
                '\'' if attr => "&apos;",
                '\n' if attr => "&#10;",
                '\t' if attr => "&#9;",
                _ => c.encode_utf8(&mut piece),
            });
        }
    }

    /// The one-pass road gives what stripping and then escaping give, whatever the text: the
    /// pieces are the characters each road treats apart, so random texts mix them closely.
    #[test]
    fn one_pass_escaping_equals_stripping_then_escaping() {
        use proptest::prelude::*;
        let pieces: Vec<&str> = vec![
            "a", " ", "é", "¢", "€", "🎉", "\u{a0}", "\u{feff}", "\u{fffd}", "\u{fffe}",
            "\u{ffff}", "\u{80}", "\u{85}", "\u{9b}", "\u{9c}", "\u{9d}", "\u{9f}", "\u{1b}", "[",
            "]", "\\", "P", "31m", "\u{7}", "\u{0}", "\u{7f}", "\t", "\n", "\r", "&", "<", ">",
            "\"", "'",
        ];
        let text = proptest::collection::vec(proptest::sample::select(pieces), 0..24)
            .prop_map(|ps| ps.concat());
        proptest!(ProptestConfig::with_cases(20_000), |(text in text, attr in any::<bool>())| {
            let mut one_pass = String::new();
            sanitize_and_escape(&text, attr, |p| one_pass.push_str(p));
            let mut two_steps = String::new();
            escape(&strip_slow(&text), attr, |p| two_steps.push_str(p));
            prop_assert_eq!(one_pass, two_steps, "{:?}", text);
        });
    }

    #[test]
    fn writing_escapes_as_the_string_forms_do() {
        for text in [
            "plain",
            "",
            "<&>\"'\n\t\r ]]>",
            "a\u{1b}[1mb\u{85}c",
            "é<🎉>",
        ] {
            for attr in [false, true] {
                let mut out = Vec::new();
                write_xml(&mut out, text, attr).unwrap();
                let want = if attr { xml_attr(text) } else { xml_text(text) };
                assert_eq!(String::from_utf8(out).unwrap(), want);
            }
        }
    }

    #[test]
    fn one_line_takes_first_line_and_cuts() {
        assert_eq!(one_line("\n  first   line \nsecond", 80), "first line");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("", 4), "");
        assert_eq!(one_line("\x1b[31mred\x1b[0m", 10), "red");
    }
}
