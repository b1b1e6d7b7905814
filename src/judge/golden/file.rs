//! The golden transcript file format (SPEC §3.3): the data type, a hand-written renderer and
//! the parser.
//!
//! The renderer writes the layout by hand instead of going through a serializer, because the
//! file is read and edited by people and reviewed in diffs: its layout must be stable across
//! dependency upgrades, and each scalar is written in the least surprising style that still
//! reads back to exactly the same string (plain, then a literal block for multi-line text, and
//! double quotes with escapes for everything else). `parse(render(g)) == g` for every `g`.
//!
//! Nothing volatile goes into the file (no session ids, latency, token counts or dates), so two
//! identical runs write identical bytes. This module does no I/O.

use serde::Deserialize;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::model::GoldenMode;

/// The first line of every golden file.
pub const HEADER: &str = "# agenttest golden transcript. Update with: agenttest run --bless";

/// How a pending file's comment line after the header starts when it records the mode its run
/// compared in ([`render_pending`]).
const COMPARED_AS: &str = "# compared as golden: ";

/// One dialogue's recorded transcript.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenFile {
    pub suite: String,
    pub dialogue: String,
    /// How many of the blessed runs passed (SPEC §9.3), written by `--bless` with repeats and
    /// kept by `accept`: what `min_pass: baseline` compares a run with.
    #[serde(default)]
    pub baseline: Option<Baseline>,
    pub turns: Vec<GoldenTurn>,
}

/// `baseline: {runs: N, passed: K}`, with K at most N and N at least 1: a golden edited by
/// hand to say otherwise is invalid at the baseline's line (a baseline of no runs would pass
/// any run, and `passed` over `runs` would be clamped unseen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawBaseline")]
pub struct Baseline {
    pub runs: u32,
    pub passed: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    runs: u32,
    passed: u32,
}

impl TryFrom<RawBaseline> for Baseline {
    type Error = String;

    fn try_from(raw: RawBaseline) -> Result<Self, String> {
        let RawBaseline { runs, passed } = raw;
        if runs == 0 {
            return Err(
                "a baseline of 0 runs says nothing to compare with; re-record it with \
                        `agenttest run --bless --repeat N`"
                    .into(),
            );
        }
        if passed > runs {
            return Err(format!(
                "the baseline says {passed} of {runs} runs passed; re-record it with \
                 `agenttest run --bless --repeat N`"
            ));
        }
        Ok(Baseline { runs, passed })
    }
}

/// One turn: the user message as sent, the HTTP status and the agent's text after `normalize`.
/// In a golden (not in a fresh transcript), `agent` may contain `[..]` wildcards.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenTurn {
    pub user: String,
    pub status: u16,
    pub agent: String,
}

/// Writes `g` in the layout of SPEC §3.3, always ending with a newline.
pub fn render(g: &GoldenFile) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    push_field(&mut out, 0, "suite", &g.suite);
    push_field(&mut out, 0, "dialogue", &g.dialogue);
    if let Some(b) = g.baseline {
        out.push_str(&format!(
            "baseline: {{runs: {}, passed: {}}}\n",
            b.runs, b.passed
        ));
    }
    if g.turns.is_empty() {
        // Not produced by a run (a dialogue has at least one turn), but keep it parseable.
        out.push_str("turns: []\n");
        return out;
    }
    out.push_str("turns:\n");
    for t in &g.turns {
        // `  - ` opens the item; its keys sit at column 4.
        out.push_str("  - ");
        push_value(&mut out, 4, "user", &t.user);
        let _ = writeln!(out, "    status: {}", t.status);
        push_field(&mut out, 4, "agent", &t.agent);
    }
    out
}

/// The text of a pending golden (`<slug>.yaml.new`): `g` as [`render`] writes it, and, when
/// its dialogue compares in a mode that passes a turn whose text its golden does not match
/// (`similar`, `facts`), that mode on a comment line after the header:
///
/// ```text
/// # compared as golden: {mode: similar, threshold: 0.8} (accept keeps the golden turns that still pass)
/// ```
///
/// `accept` sends nothing and loads no suite, so this is how it knows which golden turns
/// still pass and are kept as they are ([`recorded_mode`]); a comment, so the file still
/// parses as a golden everywhere. The golden `accept` writes is rendered without it. Modes
/// `exact` and `judge` record nothing (the judge is never asked again: only text and wildcard
/// matches are kept), and their pending files are [`render`]'s bytes.
pub fn render_pending(g: &GoldenFile, mode: GoldenMode) -> String {
    let text = render(g);
    let spec = match mode {
        GoldenMode::Similar { threshold } => format!("{{mode: similar, threshold: {threshold}}}"),
        GoldenMode::Facts { strict: false } => "{mode: facts}".to_string(),
        GoldenMode::Facts { strict: true } => "{mode: facts, strict: true}".to_string(),
        GoldenMode::Off | GoldenMode::Exact | GoldenMode::Judge => return text,
    };
    let body = text.strip_prefix(HEADER).unwrap_or(&text);
    format!("{HEADER}\n{COMPARED_AS}{spec} (accept keeps the golden turns that still pass){body}")
}

/// The mode a pending file's run compared in, as [`render_pending`] records it on a comment
/// line before the first key: `None` when there is none (modes `exact` and `judge`, a pending
/// file of an older version or made by hand) or it does not read as one, which `accept` takes
/// as `exact`: it then keeps only the turns the golden's text or wildcards match.
pub fn recorded_mode(text: &str) -> Option<GoldenMode> {
    let line = text
        .lines()
        .take_while(|l| l.starts_with('#'))
        .find_map(|l| l.strip_prefix(COMPARED_AS))?;
    let inner = line.strip_prefix('{')?.split_once('}')?.0;
    let fields: Vec<(&str, &str)> = inner
        .split(',')
        .map(|f| f.split_once(':').map(|(k, v)| (k.trim(), v.trim())))
        .collect::<Option<_>>()?;
    match fields[..] {
        [("mode", "similar"), ("threshold", t)] => {
            let threshold: f64 = t.parse().ok()?;
            (0.0..=1.0)
                .contains(&threshold)
                .then_some(GoldenMode::Similar { threshold })
        }
        [("mode", "facts")] => Some(GoldenMode::Facts { strict: false }),
        [("mode", "facts"), ("strict", s)] => Some(GoldenMode::Facts {
            strict: s.parse().ok()?,
        }),
        _ => None,
    }
}

/// Parses a golden file. Unknown keys are refused so a typo (`agnet:`) is not silently lost.
// The error is the crate's one diagnostic type, as `yaml::parse` returns it; boxing it here
// alone would only make callers unbox it.
#[allow(clippy::result_large_err)]
pub fn parse(file: &SourceFile) -> Result<GoldenFile, Diagnostic> {
    if file.text.trim().is_empty() {
        // `yaml::parse` has its own empty-file message, worded for suites.
        return Err(
            Diagnostic::at(file, Span::new(1, 1), "the golden transcript is empty")
                .with_help("delete it and re-record it with `agenttest run --bless`"),
        );
    }
    crate::yaml::parse::<GoldenFile>(file)
}

/// `key: value` at `indent` spaces.
fn push_field(out: &mut String, indent: usize, key: &str, value: &str) {
    out.extend(std::iter::repeat_n(' ', indent));
    push_value(out, indent, key, value);
}

/// `key: value` without the leading indentation (the caller wrote it, or wrote `- `).
/// `indent` is the column of the key, which a literal block's content is indented past.
fn push_value(out: &mut String, indent: usize, key: &str, value: &str) {
    out.push_str(key);
    out.push(':');
    match style(value) {
        Style::Plain => {
            out.push(' ');
            out.push_str(value);
            out.push('\n');
        }
        Style::Literal => push_literal(out, indent, value),
        Style::Quoted => {
            out.push(' ');
            push_double_quoted(out, value);
            out.push('\n');
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Literal,
    Quoted,
}

fn style(s: &str) -> Style {
    if is_plain_safe(s) {
        Style::Plain
    } else if is_literal_safe(s) {
        Style::Literal
    } else {
        Style::Quoted
    }
}

/// Characters that are never written raw: YAML forbids most of them in a document, treats
/// some as line breaks (NEL, LS, PS) or strips them (a BOM), and the rest (C1 controls,
/// non-characters) would be invisible in a review. The double-quoted style escapes them.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}'
        )
}

/// Words a YAML 1.1 or 1.2 reader may take for a bool or null. A `String` field would not be
/// confused by them with serde-saphyr today, but a person or another tool reading the file
/// might, so they are quoted.
fn is_keyword(s: &str) -> bool {
    const KEYWORDS: [&str; 14] = [
        "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    // Asked of every text of every golden: refuse the long ones before comparing.
    s.len() <= 5 && KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s))
}

/// Looks like it could be read as a number, a date or other non-string (`42`, `-1.5e3`,
/// `0x1F`, `1_000`, `2024-01-31`, `12:30`). Conservative: any text starting with a digit, or
/// a sign or dot followed by a digit, that has no space in it.
fn is_numberish(s: &str) -> bool {
    let mut chars = s.chars();
    let first = chars.next();
    let second = chars.next();
    let starts_numeric = match (first, second) {
        (Some(c), _) if c.is_ascii_digit() => true,
        (Some('+' | '-' | '.'), Some(c)) => c.is_ascii_digit() || c == '.',
        _ => false,
    };
    starts_numeric && !s.contains(' ')
}

/// A plain (unquoted) scalar reads back as exactly `s` only when it is one line, starts with
/// no indicator, has no comment or mapping marker inside, no surrounding spaces and is not a
/// keyword or a number. The check is deliberately stricter than YAML requires.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) || first == ' ' {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // Most text is ASCII, where the escapes are exactly the control bytes (a tab and a line
    // break among them): one pass over bytes instead of a Unicode lookup per character.
    let raw_unsafe = if s.is_ascii() {
        s.bytes().any(|b| b < 0x20 || b == 0x7F)
    } else {
        s.chars().any(|c| c == '\t' || c == '\n' || needs_escape(c))
    };
    if raw_unsafe {
        return false;
    }
    // Other Unicode white space (NBSP, EM SPACE ...) at either end could be trimmed by a
    // reader that treats it as space: keep it inside quotes.
    let ends_blank = |c: Option<char>| c.is_some_and(|c| c.is_whitespace());
    if ends_blank(s.chars().next()) || ends_blank(s.chars().next_back()) {
        return false;
    }
    !is_keyword(s) && !is_numberish(s)
}

/// A literal block (`|`) keeps multi-line text readable and byte-exact, as long as nothing in
/// it needs an escape (no `\r`, tabs or control characters) and there is text on some line:
/// a block of nothing but line breaks and spaces is where readers disagree, so it is quoted.
fn is_literal_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.chars().any(|c| c == '\t' || (needs_escape(c) && c != '\n'))
        && s.chars().any(|c| !c.is_whitespace())
        // Lines of only spaces are ambiguous with indentation; leave them to double quotes.
        && s.split('\n').all(|l| l.is_empty() || !l.trim().is_empty())
        // Unicode white space at the start of a line could be taken for indentation.
        && s.split('\n').all(|l| {
            l.chars()
                .next()
                .is_none_or(|c| c == ' ' || !c.is_whitespace())
        })
}

/// `|-`, `|` or `|+` (strip, clip, keep: no, one, or several trailing line breaks), with an
/// explicit indentation indicator when the first text line starts with a space (otherwise
/// the reader would take that space for indentation). Content sits two columns past the key.
fn push_literal(out: &mut String, indent: usize, s: &str) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let body = s.trim_end_matches('\n');
    let first_text_line = body.split('\n').find(|l| !l.is_empty()).unwrap_or("");
    let indicator = if first_text_line.starts_with(' ') {
        "2"
    } else {
        ""
    };
    out.push_str(&format!(" |{indicator}{chomp}\n"));
    let pad = " ".repeat(indent + 2);
    for line in body.split('\n') {
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
        out.push('\n');
    }
    // Keep chomping: the line breaks beyond the body's own are written as empty lines.
    for _ in 1..trailing {
        out.push('\n');
    }
}

/// One line, double-quoted: `\` and `"` escaped, and every character that is not safe raw
/// written as a YAML escape (`\n`, `\t`, `\x1b`, `\u2028` ...).
fn push_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    loop {
        // Printable ASCII other than `"` and `\` is written as it is, a run at a time: most
        // of an agent's reply, which is quoted for a `: ` inside it.
        let run = rest
            .bytes()
            .position(|b| !(0x20..0x7F).contains(&b) || b == b'"' || b == b'\\')
            .unwrap_or(rest.len());
        out.push_str(&rest[..run]);
        rest = &rest[run..];
        let Some(c) = rest.chars().next() else {
            break;
        };
        push_quoted_char(out, c);
        rest = &rest[c.len_utf8()..];
    }
    out.push('"');
}

/// One character of a double-quoted scalar, escaped when it must be.
fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0' => out.push_str("\\0"),
        c if needs_escape(c) => {
            let n = c as u32;
            if n <= 0xFF {
                out.push_str(&format!("\\x{n:02x}"));
            } else {
                out.push_str(&format!("\\u{n:04x}"));
            }
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("t.golden/x.yaml", text)
    }

    fn one(agent: &str) -> GoldenFile {
        GoldenFile {
            suite: "support".into(),
            dialogue: "business hours".into(),
            baseline: None,
            turns: vec![GoldenTurn {
                user: "What are your business hours?".into(),
                status: 200,
                agent: agent.into(),
            }],
        }
    }

    #[test]
    fn spec_example_byte_for_byte() {
        let g = one("Our business hours are Monday through Friday, 9 AM to 6 PM EST.");
        let expected = "# agenttest golden transcript. Update with: agenttest run --bless
suite: support
dialogue: business hours
turns:
  - user: What are your business hours?
    status: 200
    agent: Our business hours are Monday through Friday, 9 AM to 6 PM EST.
";
        assert_eq!(render(&g), expected);
        assert_eq!(parse(&file(expected)).unwrap(), g);
    }

    #[test]
    fn multi_line_uses_literal_blocks_with_right_chomping() {
        let text = render(&one("line one\nline two"));
        assert!(
            text.contains("    agent: |-\n      line one\n      line two\n"),
            "{text}"
        );
        let text = render(&one("line one\n\nline two\n"));
        assert!(
            text.contains("    agent: |\n      line one\n\n      line two\n"),
            "{text}"
        );
        let text = render(&one("a\nb\n\n\n"));
        assert!(
            text.contains("    agent: |+\n      a\n      b\n\n\n"),
            "{text}"
        );
        let text = render(&one("  indented\ncode"));
        assert!(
            text.contains("    agent: |2-\n        indented\n      code\n"),
            "{text}"
        );
    }

    #[test]
    fn tricky_single_lines_are_quoted() {
        for (s, rendered) in [
            ("", "\"\""),
            ("true", "\"true\""),
            ("42", "\"42\""),
            ("[..] and more", "\"[..] and more\""),
            ("a: b", "\"a: b\""),
            (" lead", "\" lead\""),
            ("tab\there", "\"tab\\there\""),
            ("esc\u{1b}[31m", "\"esc\\x1b[31m\""),
            ("say \"hi\" \\o/", "say \"hi\" \\o/"),
        ] {
            let text = render(&one(s));
            assert!(
                text.contains(&format!("agent: {rendered}\n")),
                "{s:?}: {text}"
            );
        }
        // Wildcards in the middle and commas stay plain: block context allows them.
        assert!(render(&one("Hi [..], welcome")).contains("agent: Hi [..], welcome\n"));
    }

    /// Every combination of tricky pieces must read back as the same string.
    #[test]
    fn round_trip_over_tricky_strings() {
        let pieces: &[&str] = &[
            "",
            " ",
            "  ",
            "a",
            "Hello",
            "9 AM",
            "\n",
            "\n\n",
            "\r\n",
            "\t",
            ": ",
            ":",
            " #",
            "#",
            "-",
            "- ",
            "?",
            ",",
            "[",
            "]",
            "{",
            "}",
            "[..]",
            "&a",
            "*a",
            "!tag",
            "|",
            ">",
            "'",
            "\"",
            "%",
            "@",
            "`",
            "\\",
            "true",
            "No",
            "null",
            "~",
            "0x1F",
            "1e3",
            "-1.5",
            ".5",
            ".inf",
            "2024-01-31",
            "12:30:00",
            "---",
            "...",
            "é",
            "日本語",
            "🦀",
            "\u{a0}",
            "\u{2028}",
            "\u{85}",
            "\u{feff}",
            "\u{0}",
            "\u{7}",
            "\u{1b}[0m",
            "\u{7f}",
            "\u{9f}",
            "  indented",
            "x  ",
            "{{var}}",
            "${HOME}",
            "<ORDER>",
        ];
        // A deterministic pseudo-random walk over sequences of 1..=5 pieces (xorshift), plus
        // every single piece and every pair, so the corners are covered without a new crate.
        let mut cases: Vec<String> = Vec::new();
        for a in pieces {
            cases.push(a.to_string());
            for b in pieces {
                cases.push(format!("{a}{b}"));
            }
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..4000 {
            let n = (next() % 5 + 1) as usize;
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            cases.push(s);
        }
        for s in &cases {
            let g = GoldenFile {
                suite: s.clone(),
                dialogue: format!("d {s}"),
                baseline: None,
                turns: vec![
                    GoldenTurn {
                        user: s.clone(),
                        status: 200,
                        agent: s.clone(),
                    },
                    GoldenTurn {
                        user: "next".into(),
                        status: 401,
                        agent: format!("{s}\n{s}"),
                    },
                ],
            };
            let text = render(&g);
            let back = parse(&file(&text))
                .unwrap_or_else(|d| panic!("{s:?} did not parse:\n{text}\n{}", d.render(false)));
            assert_eq!(back, g, "{s:?} did not round-trip:\n{text}");
        }
    }

    /// A pending file of a `similar` or `facts` dialogue records its mode on a comment line,
    /// which reads back and leaves the file a golden that parses to the same transcript; the
    /// other modes write exactly what a golden holds.
    #[test]
    fn a_pending_file_records_the_mode_that_passes_more_than_its_text() {
        let g = one("Open 9 to 5.");
        for mode in [
            GoldenMode::Similar { threshold: 0.8 },
            GoldenMode::Similar { threshold: 1.0 },
            GoldenMode::Similar { threshold: 0.0 },
            GoldenMode::Facts { strict: false },
            GoldenMode::Facts { strict: true },
        ] {
            let text = render_pending(&g, mode);
            assert_eq!(recorded_mode(&text), Some(mode), "{text}");
            assert_eq!(parse(&file(&text)).unwrap(), g, "{text}");
            assert!(text.starts_with(&format!("{HEADER}\n# compared as golden: {{mode: ")));
            assert_eq!(
                text.lines().skip(2).collect::<Vec<_>>(),
                render(&g).lines().skip(1).collect::<Vec<_>>()
            );
        }
        assert!(render_pending(&g, GoldenMode::Similar { threshold: 0.8 })
            .contains("\n# compared as golden: {mode: similar, threshold: 0.8} (accept keeps"));
        for mode in [GoldenMode::Exact, GoldenMode::Judge, GoldenMode::Off] {
            assert_eq!(render_pending(&g, mode), render(&g));
            assert_eq!(recorded_mode(&render(&g)), None);
        }
        // Only on a comment before the first key, and only a mode that reads as one.
        let body = render(&g);
        for bad in [
            "# compared as golden: {mode: similar, threshold: 1.5}\n",
            "# compared as golden: {mode: similar}\n",
            "# compared as golden: {mode: judge}\n",
            "# compared as golden: {mode: facts, strict: maybe}\n",
            "# compared as golden: mode: facts\n",
        ] {
            assert_eq!(recorded_mode(&format!("{bad}{body}")), None, "{bad}");
        }
        let late = format!("{body}# compared as golden: {{mode: facts}}\n");
        assert_eq!(recorded_mode(&late), None);
    }

    #[test]
    fn unknown_keys_and_empty_files_are_refused() {
        let text = "suite: s\ndialogue: d\nturns:\n  - user: u\n    status: 200\n    agnet: x\n";
        let d = parse(&file(text)).unwrap_err();
        assert!(d.render(false).contains("agnet"), "{}", d.render(false));
        let d = parse(&file("\n")).unwrap_err();
        assert!(d.message.contains("empty"));
    }

    /// A baseline edited by hand into one that says nothing, or more passes than runs, is
    /// refused at its line; a sound one, and unknown keys in it, as before.
    #[test]
    fn a_baseline_must_hold_runs_and_no_more_passes_than_runs() {
        let golden = |b: &str| {
            format!("suite: s\ndialogue: d\nbaseline: {b}\nturns:\n  - user: u\n    status: 200\n    agent: a\n")
        };
        for (b, says) in [
            ("{runs: 0, passed: 0}", "0 runs"),
            ("{runs: 10, passed: 20}", "20 of 10"),
            ("{runs: 10, passed: 2, pased: 3}", "pased"),
        ] {
            let d = parse(&file(&golden(b))).unwrap_err();
            let shown = d.render(false);
            assert!(shown.contains(says), "{b}: {shown}");
            assert!(
                shown.contains(":3:"),
                "{b}: not at the baseline's line: {shown}"
            );
        }
        let g = parse(&file(&golden("{runs: 10, passed: 10}"))).unwrap();
        assert_eq!(
            g.baseline,
            Some(Baseline {
                runs: 10,
                passed: 10
            })
        );
    }
}
