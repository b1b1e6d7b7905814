//! Where a suite's dialogue list can be cut into pieces that parse on their own, so that one
//! big file is never parsed whole: its pieces are parsed, checked and dropped in turn.
//!
//! The cut is made on the text, before any parsing, and only where it is plain: `dialogues:`
//! alone on a line at column 0, the last key of the file, then a block sequence whose items
//! each start with `- ` at one indentation. A piece is a run of whole items; as a YAML
//! document it is that same block sequence, with the same lines and columns.
//!
//! This module finds cut points and nothing more; it never decides that a cut is right. A line
//! that merely looks like an item (inside a quoted scalar that spans lines, or a flow
//! collection) leaves the piece before it unterminated, so that piece does not parse, and an
//! alias to an anchor in another piece is unknown where it is used: either way the caller
//! (`stream`) reads the file in one pass instead. Anything this scan does not understand, a
//! line after the list at a lesser indentation above all, means no cut at all.
//!
//! Two things a piece cannot see are refused here, since they would let it parse alone and
//! mean something else than in the file: a lone carriage return anywhere (YAML breaks a line
//! there, this scan does not, so a piece's first line would be wrong), and a directive line
//! (`%TAG`, `%YAML`) in the head, which changes how the whole document reads its tags.

/// A suite file's text, cut: the head (every key, ending with the bare `dialogues:` and the
/// comments after it) and the pieces of the list, in order, together the whole text.
#[derive(Debug, PartialEq)]
pub(super) struct Cut<'a> {
    pub head: &'a str,
    pub pieces: Vec<Piece<'a>>,
}

/// Whole items of the list, and the line its text starts on in the file (1-based).
#[derive(Debug, PartialEq)]
pub(super) struct Piece<'a> {
    pub text: &'a str,
    pub first_line: u32,
}

/// Cuts `text` into a head and pieces of at least `piece_bytes` each (the last may be
/// shorter); `None` when its shape is not the plain one above or the list has one item.
pub(super) fn cut(text: &str, piece_bytes: usize) -> Option<Cut<'_>> {
    if has_lone_carriage_return(text) {
        return None;
    }
    let mut lines = Lines::new(text);
    // The head: every line up to a bare `dialogues:` at column 0.
    loop {
        let line = lines.next()?;
        if is_bare_dialogues_key(line.text) {
            break;
        }
        if line.text.trim_start_matches('\u{FEFF}').starts_with('%') {
            return None;
        }
    }
    // Blank and comment lines between the key and the first item stay with the head.
    let first = loop {
        let line = lines.next()?;
        if !is_blank_or_comment(line.text) {
            break line;
        }
    };
    let indent = item_indent(first.text)?;
    let head = &text[..first.start];

    let mut pieces = Vec::new();
    let mut start = first;
    let mut items = 1;
    for line in lines {
        if is_blank_or_comment(line.text) || leading_spaces(line.text) > indent {
            continue;
        }
        // At the items' indentation or less, and not a comment: an item, or a shape this scan
        // does not follow (a later key, a document marker, a tab).
        if item_indent(line.text) != Some(indent) {
            return None;
        }
        items += 1;
        if line.start - start.start >= piece_bytes {
            pieces.push(Piece {
                text: &text[start.start..line.start],
                first_line: start.number,
            });
            start = line;
        }
    }
    if items < 2 {
        return None;
    }
    pieces.push(Piece {
        text: &text[start.start..],
        first_line: start.number,
    });
    Some(Cut { head, pieces })
}

/// A `\r` not followed by `\n`: a line break to YAML, not to [`Lines`].
fn has_lone_carriage_return(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memchr_iter(b'\r', bytes).any(|i| bytes.get(i + 1) != Some(&b'\n'))
}

/// `dialogues:` at column 0 with nothing after it but spaces and a comment.
fn is_bare_dialogues_key(line: &str) -> bool {
    line.strip_prefix("dialogues:")
        .is_some_and(|rest| is_blank_or_comment(rest) && !rest.starts_with('#'))
}

/// The indentation of a line that starts a block sequence item (`- ` or a lone `-`).
fn item_indent(line: &str) -> Option<usize> {
    let indent = leading_spaces(line);
    let rest = line[indent..].strip_prefix('-')?;
    (rest.is_empty() || rest.starts_with(' ')).then_some(indent)
}

fn leading_spaces(line: &str) -> usize {
    line.bytes().take_while(|&b| b == b' ').count()
}

/// Only spaces, or spaces then a comment. (A tab is not indentation in YAML: a line with one
/// first is neither blank nor an item here, which ends the cut.)
fn is_blank_or_comment(line: &str) -> bool {
    let rest = line.trim_start_matches(' ');
    rest.is_empty() || rest.starts_with('#')
}

/// A line of the text without its line break (`\n` or `\r\n`), where it starts, and its
/// 1-based number.
#[derive(Clone, Copy)]
struct Line<'a> {
    text: &'a str,
    start: usize,
    number: u32,
}

struct Lines<'a> {
    text: &'a str,
    at: usize,
    number: u32,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            text,
            at: 0,
            number: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.at >= self.text.len() {
            return None;
        }
        let start = self.at;
        let rest = &self.text[start..];
        let (len, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(i) => (i, start + i + 1),
            None => (rest.len(), self.text.len()),
        };
        self.at = next;
        self.number = self.number.saturating_add(1);
        let line = &rest[..len];
        Some(Line {
            text: line.strip_suffix('\r').unwrap_or(line),
            start,
            number: self.number,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(cut: &Cut<'a>) -> Vec<(&'a str, u32)> {
        cut.pieces.iter().map(|p| (p.text, p.first_line)).collect()
    }

    #[test]
    fn items_are_cut_at_their_dashes_and_together_are_the_whole_text() {
        let text = "name: s\nendpoint: {base_url: mock}\ndialogues:\n  # the list\n\n  - name: a\n    turns:\n      - user: hi\n  - name: b\n    turns: [{user: yo}]\n\n  # between\n  - name: c\n    turns: [{user: x}]\n";
        let cut = cut(text, 1).expect("plain");
        assert_eq!(
            cut.head,
            "name: s\nendpoint: {base_url: mock}\ndialogues:\n  # the list\n\n"
        );
        assert_eq!(
            texts(&cut),
            [
                ("  - name: a\n    turns:\n      - user: hi\n", 6),
                ("  - name: b\n    turns: [{user: yo}]\n\n  # between\n", 9),
                ("  - name: c\n    turns: [{user: x}]\n", 13),
            ]
        );
        let whole: String = std::iter::once(cut.head)
            .chain(cut.pieces.iter().map(|p| p.text))
            .collect();
        assert_eq!(whole, text);
    }

    #[test]
    fn pieces_hold_whole_items_up_to_their_size() {
        let text = "dialogues:\n- name: a\n- name: b\n- name: c\n- name: d\n- name: e\n";
        let cut = cut(text, 20).expect("plain");
        assert_eq!(
            texts(&cut),
            [
                ("- name: a\n- name: b\n", 2),
                ("- name: c\n- name: d\n", 4),
                ("- name: e\n", 6)
            ]
        );
        let cut = super::cut(text, 1000).expect("plain");
        assert_eq!(cut.pieces.len(), 1);
    }

    #[test]
    fn windows_line_breaks_and_a_comment_after_the_key() {
        let text = "dialogues: # all of them\r\n  - name: a\r\n  - name: b\r\n";
        let cut = cut(text, 1).expect("plain");
        assert_eq!(cut.head, "dialogues: # all of them\r\n");
        assert_eq!(
            texts(&cut),
            [("  - name: a\r\n", 2), ("  - name: b\r\n", 3)]
        );
    }

    #[test]
    fn shapes_it_does_not_follow_are_not_cut() {
        for text in [
            // a key after the list
            "dialogues:\n  - name: a\n  - name: b\nname: s\n",
            // the list written on the key's line, or in flow style
            "dialogues: [{name: a}, {name: b}]\n",
            "dialogues: &all\n  - name: a\n  - name: b\n",
            // indented key, or none
            "suite:\n  dialogues:\n    - name: a\n    - name: b\n",
            "name: a\n",
            // one item: nothing to share out
            "dialogues:\n  - name: a\n    turns: []\n",
            // a document marker, a tab, items at two indentations
            "dialogues:\n- name: a\n---\n- name: b\n",
            "dialogues:\n  - name: a\n\t- name: b\n",
            "dialogues:\n  - name: a\n - name: b\n  - name: c\n",
            // a scalar, not an item
            "dialogues:\n  -x\n  - name: b\n",
            // a lone carriage return, in the head or in the list, breaks a line this scan
            // would not count
            "name: s\r# c\rdialogues:\n  - name: a\n  - name: b\n",
            "dialogues:\n  - name: a\r  - name: b\n  - name: c\n",
            "dialogues:\n  - name: a\n  - name: b\r",
            // a directive, which changes what the tags in every piece mean
            "%TAG !! tag:custom:\n---\ndialogues:\n  - name: a\n  - name: b\n",
            "\u{FEFF}%YAML 1.2\n---\ndialogues:\n  - name: a\n  - name: b\n",
        ] {
            assert_eq!(cut(text, 1), None, "{text:?}");
        }
    }
}
