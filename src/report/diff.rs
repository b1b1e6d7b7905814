//! Unified diffs a person can read (STYLE 8): hunks with three lines of context, word-level
//! emphasis on a terminal, white space made visible where it is what changed, and a time limit
//! on the diff algorithm so a huge transcript cannot hang the run.
//!
//! The plain form (`color = false`) goes into files (JUnit, JSON) and must never contain an
//! ANSI escape, not even one the agent sent: escape characters in the texts are shown as `␛`.
//! Both forms have exactly the same lines, so one can stand in for the other.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, ChangeTag, TextDiff};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// Budget for the whole diff (line diff plus the word-level pass). Past it `similar` returns a
/// correct but less minimal diff, which is fine for a report.
pub const TIMEOUT: Duration = Duration::from_millis(500);

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
/// Emphasized words: bold and reversed, so a changed space shows as a colored block.
const RED_EMPH: &str = "\x1b[1;7;31m";
const GREEN_EMPH: &str = "\x1b[1;7;32m";
const YELLOW: &str = "\x1b[33m";

/// The hunks (from the first `@@` on) of a unified diff from `expected` to `actual`, or an
/// empty string when they are equal. The caller writes the `---`/`+++` headers.
///
/// On the changed lines, trailing white space is shown (`·` for a space, `→` for a tab) and a
/// carriage return as `␍`; when the texts differ in nothing but white space, every space and
/// tab of the changed lines is shown that way and a note says so, because otherwise the `-`
/// and `+` lines would look identical.
pub fn render_diff(expected: &str, actual: &str, color: bool) -> String {
    if expected == actual {
        return String::new();
    }
    let deadline = Instant::now() + TIMEOUT;
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .deadline(deadline)
        .diff_lines(expected, actual);
    let whitespace_only = same_words(expected, actual);
    let mut out = String::new();
    if whitespace_only {
        let note = "note: only white space differs (shown as · for a space, → for a tab, ␍ for \
                    a carriage return)";
        push_styled(&mut out, color, YELLOW, note);
        out.push('\n');
    }
    for group in diff.grouped_ops(CONTEXT) {
        if group.is_empty() {
            continue;
        }
        push_styled(
            &mut out,
            color,
            CYAN,
            &UnifiedHunkHeader::new(&group).to_string(),
        );
        out.push('\n');
        for op in &group {
            for change in diff.iter_inline_changes_deadline(op, Some(deadline)) {
                let (sign, base, emph) = match change.tag() {
                    ChangeTag::Equal => (' ', DIM, DIM),
                    ChangeTag::Delete => ('-', RED, RED_EMPH),
                    ChangeTag::Insert => ('+', GREEN, GREEN_EMPH),
                };
                let changed = change.tag() != ChangeTag::Equal;
                let values: Vec<(bool, String)> = change
                    .iter_strings_lossy()
                    .map(|(e, s)| (e, s.into_owned()))
                    .collect();
                let text: String = values.iter().map(|(_, s)| s.as_str()).collect();
                let visible_from = if !changed {
                    usize::MAX
                } else if whitespace_only {
                    0
                } else {
                    // Trailing white space (before the line break) is made visible.
                    let body = text.trim_end_matches(['\n', '\r']);
                    body.trim_end_matches([' ', '\t']).len()
                };
                if color {
                    out.push_str(base);
                    out.push(sign);
                } else {
                    out.push(sign);
                }
                // The line break is written after the styling ends, never inside it.
                let end = text.strip_suffix('\n').map_or(text.len(), str::len);
                let mut offset = 0;
                for (emphasized, part) in &values {
                    let part_end = end.saturating_sub(offset).min(part.len());
                    let shown = show(&part[..part_end], offset, visible_from, changed);
                    offset += part.len();
                    if color && *emphasized && changed {
                        out.push_str(emph);
                        out.push_str(&shown);
                        out.push_str(RESET);
                        out.push_str(base);
                    } else {
                        out.push_str(&shown);
                    }
                }
                if color {
                    out.push_str(RESET);
                }
                out.push('\n');
                if change.missing_newline() {
                    push_styled(&mut out, color, DIM, "\\ No newline at end of file");
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Writes `text` in `style` (or plain).
fn push_styled(out: &mut String, color: bool, style: &str, text: &str) {
    if color {
        let _ = write!(out, "{style}{text}{RESET}");
    } else {
        out.push_str(text);
    }
}

/// The two texts hold the same words in the same order: only white space differs.
fn same_words(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

/// `part` (which starts at byte `offset` of its line) as shown: escape characters always as
/// `␛` (never a live ANSI sequence), and, on changed lines from byte `visible_from` on,
/// spaces, tabs and carriage returns as visible marks. The line break itself is kept.
fn show(part: &str, offset: usize, visible_from: usize, changed: bool) -> String {
    let mut out = String::with_capacity(part.len());
    for (i, c) in part.char_indices() {
        let visible = changed && offset + i >= visible_from;
        match c {
            '\x1b' => out.push('␛'),
            ' ' if visible => out.push('·'),
            '\t' if visible => out.push('→'),
            '\r' if changed => out.push('␍'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const OLD: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nThe store opens at 9 AM.\nj\n";
    const NEW: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nThe store opens at 10 AM.\nj\n";

    #[test]
    fn plain_diff_is_unified_with_context_and_no_ansi() {
        let d = render_diff(OLD, NEW, false);
        assert!(!d.contains('\x1b'), "{d}");
        assert_eq!(
            d,
            "@@ -7,5 +7,5 @@\n g\n h\n i\n-The store opens at 9 AM.\n+The store opens at 10 AM.\n j\n"
        );
        assert_eq!(render_diff(OLD, OLD, false), "");
    }

    #[test]
    fn colored_diff_emphasizes_the_changed_word() {
        let d = render_diff(OLD, NEW, true);
        assert!(d.contains(&format!("{RED_EMPH}9{RESET}")), "{d:?}");
        assert!(d.contains(&format!("{GREEN_EMPH}10{RESET}")), "{d:?}");
        // Same lines as the plain form once the escapes are gone.
        let stripped = strip_ansi(&d);
        assert_eq!(stripped, render_diff(OLD, NEW, false));
    }

    #[test]
    fn whitespace_only_change_is_visible() {
        let d = render_diff("agent: Hello world\n", "agent: Hello  world \n", false);
        assert!(d.starts_with("note: only white space differs"), "{d}");
        assert!(d.contains("-agent:·Hello·world\n"), "{d}");
        assert!(d.contains("+agent:·Hello··world·\n"), "{d}");
        // Trailing white space is visible even among other changes.
        let d = render_diff("x\nsame\n", "y \nsame\n", false);
        assert!(d.contains("+y·\n"), "{d}");
        assert!(!d.contains("note:"), "{d}");
        // A missing final newline is said, not hidden.
        let d = render_diff("x\n", "x", false);
        assert!(d.contains("\\ No newline at end of file"), "{d}");
    }

    #[test]
    fn agent_escape_sequences_never_reach_the_output() {
        let d = render_diff("say hi\n", "say \x1b[31mhi\x1b[0m\n", false);
        assert!(!d.contains('\x1b'), "{d:?}");
        assert!(d.contains("␛[31m"), "{d}");
    }

    #[test]
    fn huge_inputs_finish() {
        let a: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
        let b: String = (0..20_000)
            .map(|i| format!("line {}\n", i * 7 % 20_000))
            .collect();
        let started = Instant::now();
        let d = render_diff(&a, &b, true);
        assert!(!d.is_empty());
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    pub fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}
