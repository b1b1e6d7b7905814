//! Source spans and rustc-style diagnostics for suite, config, golden and mock-script files.
//!
//! Every user-facing error about a file goes through [`Diagnostic`], so that all of them name
//! `file:line:column`, quote the offending line with a caret, and can suggest a fix. The plain
//! (uncolored) rendering is what tests assert; color is added only when the caller asks for it.
//! This module never reads files or the terminal itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A 1-based line and column in a source file. `line == 0` means "unknown" (for example an
/// error about a file as a whole, such as one that cannot be read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub line: u32,
    pub column: u32,
}

impl Span {
    pub const UNKNOWN: Span = Span { line: 0, column: 0 };

    pub fn new(line: u32, column: u32) -> Self {
        Span { line, column }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

impl From<serde_saphyr::Location> for Span {
    fn from(loc: serde_saphyr::Location) -> Self {
        Span {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
        }
    }
}

/// A source file's path (as the user named it) and its text, shared cheaply between the
/// loaded model and any diagnostics that quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: Arc<str>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// One error or warning about a file, optionally pointing at a place in it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub path: PathBuf,
    pub span: Span,
    /// The headline, a lowercase fragment: "unknown field `turnz`".
    pub message: String,
    /// A short note under the caret: "expected one of `name`, `turns`".
    pub label: Option<String>,
    /// A closing hint: "did you mean `turns`?".
    pub help: Option<String>,
    /// Where else the same error was found, or for whom: an error in agenttest.yaml found
    /// through several dialogues is printed once, naming them here ([`merge_repeats`]).
    pub notes: Vec<String>,
    /// The file's text, when it could be read, to quote the offending line.
    pub source: Option<Arc<str>>,
    /// How many characters to underline from `span`; `None` underlines the token there.
    pub width: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

impl Diagnostic {
    pub fn error(path: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            path: path.into(),
            span,
            message: message.into(),
            label: None,
            help: None,
            notes: Vec::new(),
            source: None,
            width: None,
        }
    }

    /// The error for a file whose first invalid UTF-8 byte is at `good`, at that byte's
    /// line:column, shown over the text with the bad bytes replaced. Suites, scripts and
    /// goldens are all read as text and all refused this way.
    pub fn not_utf8(path: &Path, bytes: &[u8], good: usize) -> Self {
        let prefix = &bytes[..good.min(bytes.len())];
        // The prefix before the first bad byte is UTF-8 (`good` is where it ends).
        let valid = std::str::from_utf8(prefix).unwrap_or_default();
        let span = span_at(valid, valid.len());
        let lossy: Arc<str> = String::from_utf8_lossy(bytes).into();
        let d = Diagnostic::error(path, span, "file is not valid UTF-8");
        let d = match bytes.get(good) {
            Some(b) => d.with_label(format!("invalid byte 0x{b:02x}")),
            None => d,
        };
        d.with_help("save the file as UTF-8").with_source(lossy)
    }

    /// An error at `span` in `file`, quoting its source line.
    pub fn at(file: &SourceFile, span: Span, message: impl Into<String>) -> Self {
        Diagnostic::error(file.path.clone(), span, message).with_source(file.text.clone())
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The notes as printed: the first [`NOTES_SHOWN`], then how many more there are (an
    /// error in agenttest.yaml may be found through a thousand dialogues).
    fn shown_notes(&self) -> impl Iterator<Item = String> + '_ {
        let more = self.notes.len().saturating_sub(NOTES_SHOWN);
        let more = (more > 0).then(|| format!("and {more} more"));
        self.notes.iter().take(NOTES_SHOWN).cloned().chain(more)
    }

    /// Underline exactly `chars` characters (at least one) from the span.
    pub fn with_width(mut self, chars: usize) -> Self {
        self.width = Some(u32::try_from(chars.max(1)).unwrap_or(u32::MAX));
        self
    }

    pub fn with_source(mut self, source: Arc<str>) -> Self {
        self.source = Some(source);
        self
    }

    /// `path:line:column`, or just the path when the place is unknown.
    pub fn location(&self) -> String {
        location(&self.path, self.span)
    }

    /// Renders the diagnostic the way rustc does. `color` adds ANSI styling; tests and files
    /// use the plain form.
    pub fn render(&self, color: bool) -> String {
        let renderer = if color {
            Renderer::styled()
        } else {
            Renderer::plain()
        };
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let path = self.location();
        let mut out = match (&self.source, self.span.is_known()) {
            (Some(source), true) => {
                let (line_text, start) = line_at(source, self.span.line);
                let masked = mask_keys(line_text);
                let line_text = masked.as_ref();
                let first = self.span.column.saturating_sub(1) as usize;
                let col = char_to_byte(line_text, first);
                let end = match self.width {
                    Some(w) => char_to_byte(line_text, first + w as usize).max(col),
                    None => token_end(line_text, col),
                };
                let mut annotation = AnnotationKind::Primary.span(col..end);
                if let Some(label) = &self.label {
                    annotation = annotation.label(label.as_str());
                }
                // annotate-snippets appends `:line:column` itself.
                let file_path = self.path.display().to_string();
                let snippet = Snippet::source(line_text)
                    .line_start(start)
                    .path(file_path.as_str())
                    .annotation(annotation);
                let notes: Vec<String> = self.shown_notes().collect();
                let mut groups = vec![level.primary_title(self.message.as_str()).element(snippet)];
                for note in &notes {
                    groups.push(Group::with_title(
                        Level::NOTE.secondary_title(note.as_str()),
                    ));
                }
                if let Some(help) = &self.help {
                    groups.push(Group::with_title(
                        Level::HELP.secondary_title(help.as_str()),
                    ));
                }
                renderer.render(&groups)
            }
            _ => {
                // No line to quote: keep the same shape without a snippet.
                let mut text = format!(
                    "{}: {}\n  --> {}",
                    match self.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    },
                    self.message,
                    path
                );
                if let Some(label) = &self.label {
                    text.push_str(&format!("\n  = note: {label}"));
                }
                for note in self.shown_notes() {
                    text.push_str(&format!("\n  = note: {note}"));
                }
                if let Some(help) = &self.help {
                    text.push_str(&format!("\n  = help: {help}"));
                }
                text
            }
        };
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// How many of a diagnostic's notes are printed before "and N more".
const NOTES_SHOWN: usize = 5;

/// Keeps the first of each error found more than once (the same file, place and message: a
/// field of agenttest.yaml is judged for every dialogue below it), with the notes of the
/// others added to it, each once, so an error said once still names everyone it concerns.
pub fn merge_repeats(diags: &mut Vec<Diagnostic>) {
    use std::collections::{HashMap, HashSet};
    let mut first: HashMap<(PathBuf, Span, String), usize> = HashMap::new();
    // Notes by the index of the error they were added to: a shared error may gather
    // thousands.
    let mut noted: HashSet<(usize, String)> = HashSet::new();
    let mut kept: Vec<Diagnostic> = Vec::with_capacity(diags.len());
    for d in diags.drain(..) {
        let key = (d.path.clone(), d.span, d.message.clone());
        let at = *first.entry(key).or_insert(kept.len());
        let notes = if at == kept.len() {
            let mut d = d;
            let notes = std::mem::take(&mut d.notes);
            kept.push(d);
            notes
        } else {
            d.notes
        };
        for note in notes {
            if noted.insert((at, note.clone())) {
                kept[at].notes.push(note);
            }
        }
    }
    *diags = kept;
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// `path:line:column`, or the bare path when `span` is unknown.
pub fn location(path: &Path, span: Span) -> String {
    if span.is_known() {
        format!("{}:{}:{}", path.display(), span.line, span.column)
    } else {
        path.display().to_string()
    }
}

/// The text of 1-based `line` (without its line break) and that line number, clamped to the
/// last line so that an "unexpected end of input" still quotes something.
fn line_at(source: &str, line: u32) -> (&str, usize) {
    let lines: Vec<&str> = source_lines(source).collect();
    let idx = (line as usize)
        .saturating_sub(1)
        .min(lines.len().saturating_sub(1));
    (lines.get(idx).copied().unwrap_or(""), idx + 1)
}

/// The lines of `text` as YAML counts them (1.2, §5.4), which is how the parser numbers the
/// lines it reports: broken at `\n`, `\r\n` or a lone `\r`, each line without its break. Every
/// line:column this crate works out itself counts the same way, so a file saved with old Mac
/// line ends (`\r` alone) has its errors at the right lines, and shows them. Like
/// `str::split`, text ending in a break has an empty last line.
pub fn source_lines(text: &str) -> impl Iterator<Item = &str> + '_ {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let r = rest?;
        match memchr::memchr2(b'\n', b'\r', r.as_bytes()) {
            None => {
                rest = None;
                Some(r)
            }
            Some(i) => {
                let crlf = r.as_bytes()[i] == b'\r' && r.as_bytes().get(i + 1) == Some(&b'\n');
                rest = Some(&r[i + if crlf { 2 } else { 1 }..]);
                Some(&r[..i])
            }
        }
    })
}

/// Where 1-based `line` starts in `text` (see [`source_lines`]); `None` past the last line.
pub fn line_start(text: &str, line: u32) -> Option<usize> {
    let mut start = 0;
    for (n, l) in source_lines(text).enumerate() {
        if n + 1 == line as usize {
            return Some(start);
        }
        start += l.len();
        // The break after the line: `\r\n` or one byte.
        start += match text.as_bytes().get(start..start + 2) {
            Some(b"\r\n") => 2,
            _ => 1,
        };
    }
    None
}

/// The 1-based line (see [`source_lines`]) and character column of byte `at` in `text`.
pub fn span_at(text: &str, at: usize) -> Span {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let bytes = text.as_bytes();
    let (mut line, mut start) = (1usize, 0);
    for i in memchr::memchr2_iter(b'\n', b'\r', &bytes[..at]) {
        // A `\r` before a `\n` is one break with it, counted at the `\n`.
        if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        line += 1;
        start = i + 1;
    }
    let column = text[start..at].chars().count() + 1;
    Span::new(
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

fn char_to_byte(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(line.len())
}

/// Underline the token that starts at `start`: a quoted string through its closing quote on
/// this line, else up to the next space, `:` or flow punctuation; at least one character (or
/// zero at the end of the line, which renders a caret after it).
fn token_end(line: &str, start: usize) -> usize {
    let rest = &line[start..];
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"')) {
        if let Some(close) = closing_quote(&rest[1..], quote) {
            return start + 1 + close + 1;
        }
    }
    let len = rest
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || matches!(c, ':' | ',' | '}' | ']'))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    let len = if len == 0 {
        rest.chars().next().map(char::len_utf8).unwrap_or(0)
    } else {
        len
    };
    start + len
}

/// The byte index of the quote that closes a YAML string opened with `quote`, in `rest` (the
/// text after the opening quote): `''` inside single quotes and `\x` inside double quotes are
/// escapes, not the end.
fn closing_quote(rest: &str, quote: char) -> Option<usize> {
    let mut chars = rest.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            ('"', '\\') => {
                chars.next();
            }
            ('\'', '\'') if chars.peek().map(|(_, n)| *n) == Some('\'') => {
                chars.next();
            }
            _ if c == quote => return Some(i),
            _ => {}
        }
    }
    None
}

/// The closest candidate to `word` by edit distance, for "did you mean" hints on misspelled
/// keys. Only suggests when the distance is small relative to the word.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `line` with the value of every `api_key:` written in it as a literal masked, byte for byte,
/// so the caret still points where it did: a quoted line goes to the terminal and CI logs,
/// and a key must never reach an output (SPEC §4), even one written into a suite. A
/// `${VAR}` is no key and stays as written.
fn mask_keys(line: &str) -> std::borrow::Cow<'_, str> {
    let mut out: Option<String> = None;
    let mut from = 0;
    while let Some(at) = line[from..].find("api_key").map(|i| from + i) {
        from = at + "api_key".len();
        let rest = &line[from..];
        let after_key = rest.trim_start_matches(['"', '\'']).trim_start();
        let Some(value) = after_key.strip_prefix(':') else {
            continue;
        };
        let value = value.trim_start();
        let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''));
        let body = quote.map_or(value, |q| &value[q.len_utf8()..]);
        let len = match quote {
            Some(q) => body.find(q).unwrap_or(body.len()),
            None => body.find([',', '}', ']', '#']).unwrap_or(body.len()),
        };
        let secret = body[..len].trim_end();
        if secret.is_empty() || secret.starts_with("${") {
            continue;
        }
        let start = line.len() - body.len();
        let masked = out.get_or_insert_with(|| line.to_string());
        // Same byte length, so every span on the line keeps its place.
        let stars: String = secret.bytes().map(|_| '*').collect();
        masked.replace_range(start..start + secret.len(), &stars);
    }
    match out {
        Some(text) => std::borrow::Cow::Owned(text),
        None => std::borrow::Cow::Borrowed(line),
    }
}

/// Renders many diagnostics, one after another, with a closing count line like rustc's.
pub fn render_all(diags: &[Diagnostic], color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&d.render(color));
        out.push('\n');
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        out.push_str(&format!(
            "error: {} error{} found, nothing was sent\n",
            errors,
            if errors == 1 { "" } else { "s" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_error_is_said_once_with_everyone_it_concerns() {
        let file = SourceFile::new("agenttest.yaml", "endpoint:\n  path: /{{t}}\n");
        let found = |who: usize| {
            Diagnostic::at(&file, Span::new(2, 10), "unknown variable `{{t}}`")
                .with_note(format!("dialogue `d{who}` has no var `t`"))
        };
        // Eight dialogues find it, the third twice; another error sits between.
        let mut diags: Vec<Diagnostic> = (0..8).map(found).collect();
        diags.insert(3, found(2));
        diags.insert(1, Diagnostic::at(&file, Span::new(1, 1), "other"));
        merge_repeats(&mut diags);
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].notes.len(), 8, "{:?}", diags[0].notes);
        assert_eq!(diags[1].message, "other");
        let text = diags[0].render(false);
        assert_eq!(
            text.matches("note: dialogue").count(),
            NOTES_SHOWN,
            "{text}"
        );
        assert!(text.contains("note: dialogue `d4` has no var"), "{text}");
        assert!(!text.contains("`d5`"), "{text}");
        assert!(text.contains("note: and 3 more"), "{text}");
    }

    #[test]
    fn renders_file_line_column_and_caret() {
        let file = SourceFile::new("suites/x.yaml", "name: x\ndialogues:\n  - nme: a\n");
        let d = Diagnostic::at(&file, Span::new(3, 5), "unknown field `nme`")
            .with_label("expected one of `name`, `turns`")
            .with_help("did you mean `name`?");
        let text = d.render(false);
        assert!(text.contains("error: unknown field `nme`"), "{text}");
        assert!(text.contains("suites/x.yaml:3:5"), "{text}");
        assert!(text.contains("  - nme: a"), "{text}");
        assert!(text.contains("^^^"), "{text}");
        assert!(text.contains("did you mean `name`?"), "{text}");
    }

    /// YAML breaks lines at `\n`, `\r\n` and a lone `\r`; so do the lines, the line starts and
    /// the spans worked out here, and a file with old Mac line ends quotes the right line.
    #[test]
    fn lines_break_where_yaml_breaks_them() {
        let text = "a\nb\r\nc\rd\r\re\n";
        let lines: Vec<&str> = source_lines(text).collect();
        assert_eq!(lines, ["a", "b", "c", "d", "", "e", ""]);
        let starts: Vec<Option<usize>> = (1..=8).map(|l| line_start(text, l)).collect();
        assert_eq!(
            starts,
            [
                Some(0),
                Some(2),
                Some(5),
                Some(7),
                Some(9),
                Some(10),
                Some(12),
                None
            ]
        );
        for (line, start) in starts.iter().take(7).enumerate() {
            let start = start.expect("a line");
            assert_eq!(
                span_at(text, start),
                Span::new(line as u32 + 1, 1),
                "{start}"
            );
        }
        assert_eq!(span_at("ab\rcé\rx", 6), Span::new(2, 3));
        assert_eq!(
            span_at("ab\rcé\rx", 5),
            Span::new(2, 2),
            "inside a char: at its start"
        );
        assert_eq!(source_lines("").collect::<Vec<_>>(), [""]);

        let file = SourceFile::new("mac.yaml", "name: x\rdialogues:\r  - nme: a\r");
        let text = Diagnostic::at(&file, Span::new(3, 5), "unknown field `nme`").render(false);
        assert!(text.contains("mac.yaml:3:5"), "{text}");
        assert!(text.contains("3 |   - nme: a\n"), "{text}");
        let d = Diagnostic::not_utf8(Path::new("b.yaml"), b"a: 1\rb: \xff\n", 8);
        assert!(d.location().ends_with("b.yaml:2:4"), "{}", d.location());
    }

    #[test]
    fn a_literal_key_on_the_quoted_line_is_masked() {
        let file = SourceFile::new(
            "s.yaml",
            "endpoint: {kind: openai, api_key: sk-live-SECRET42, modle: x}\nb: {api_key: \"é-quoted\", \"api_key\": 'sk-2'}\nc: {api_key: ${KEY}}\n",
        );
        let d = Diagnostic::at(&file, Span::new(1, 53), "unknown field `modle`");
        let text = d.render(false);
        assert!(!text.contains("SECRET42"), "{text}");
        assert!(
            text.contains("api_key: ****************, modle: x"),
            "{text}"
        );
        // The caret is still under `modle`.
        let line = text
            .lines()
            .find(|l| l.starts_with("1 |"))
            .unwrap_or_default();
        let caret = text.lines().find(|l| l.contains('^')).unwrap_or_default();
        assert_eq!(line.find("modle"), caret.find('^'), "{text}");
        let text = Diagnostic::at(&file, Span::new(2, 1), "x").render(false);
        assert!(!text.contains("quoted") && !text.contains("sk-2"), "{text}");
        let text = Diagnostic::at(&file, Span::new(3, 1), "x").render(false);
        assert!(text.contains("api_key: ${KEY}"), "{text}");
    }

    #[test]
    fn renders_without_source() {
        let d = Diagnostic::error("missing.yaml", Span::UNKNOWN, "failed to read suite");
        let text = d.render(false);
        assert!(
            text.starts_with("error: failed to read suite\n  --> missing.yaml"),
            "{text}"
        );
    }

    #[test]
    fn end_of_input_points_at_last_line() {
        let file = SourceFile::new("a.yaml", "a: [\n");
        // A span past the end is clamped to the last line, which is then quoted and named.
        let text = Diagnostic::at(&file, Span::new(9, 1), "unexpected end of input").render(false);
        assert!(text.contains("a.yaml:2:1"), "{text}");
        assert!(
            !text.contains("a.yaml:2:1:"),
            "location printed once: {text}"
        );
    }

    #[test]
    fn underlines_a_quoted_token_whole_or_an_exact_width() {
        let file = SourceFile::new("a.yaml", "x: {u: 'ftp://a b', v: \"a\\\"b: c\"}\n");
        let text = Diagnostic::at(&file, Span::new(1, 8), "bad").render(false);
        assert!(text.contains("       ^^^^^^^^^^^\n"), "{text}");
        let text = Diagnostic::at(&file, Span::new(1, 24), "bad").render(false);
        assert!(
            text.contains(&format!("{}^^^^^^^^^\n", " ".repeat(23))),
            "{text}"
        );
        let text = Diagnostic::at(&file, Span::new(1, 9), "bad")
            .with_width(3)
            .render(false);
        assert!(text.contains(&format!("{}^^^\n", " ".repeat(8))), "{text}");
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("turnz", &["name", "turns"]), Some("turns"));
        assert_eq!(
            did_you_mean("contain", &["contains", "equals"]),
            Some("contains")
        );
        assert_eq!(did_you_mean("zzzzzz", &["name", "turns"]), None);
    }
}
