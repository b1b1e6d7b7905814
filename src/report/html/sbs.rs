//! Golden differences side by side (golden | this run) with the changed words marked, built
//! from the plain unified diff that `report::explain` words into every golden message. Working
//! from that text, not from the check's data, means a report read back from JSON (which keeps
//! only the message) is laid out exactly as the run's own: `agenttest merge` and `run --html`
//! draw the same table.
//!
//! Pure functions from text to rows; nothing here writes HTML or escapes anything.

use std::time::Instant;

use similar::{Algorithm, ChangeTag, TextDiff};

/// The parts of a golden message: the prose before the diff, the diff, the prose after it.
#[derive(Debug, PartialEq)]
pub struct GoldenParts<'a> {
    pub before: &'a str,
    /// The `--- golden ...` header without its `--- `, and the diff's body (hunks and the
    /// white-space note), when the message has one.
    pub diff: Option<(&'a str, &'a str)>,
    pub after: &'a str,
}

/// Splits a golden message around its `--- golden` / `+++ actual` diff.
pub fn split(message: &str) -> GoldenParts<'_> {
    let none = GoldenParts {
        before: message,
        diff: None,
        after: "",
    };
    let mut offset = 0;
    let mut lines = message.split_inclusive('\n');
    while let Some(line) = lines.next() {
        let start = offset;
        offset += line.len();
        let Some(header) = line.strip_prefix("--- golden ") else {
            continue;
        };
        let Some(next) = lines.next() else {
            return none;
        };
        if next.trim_end() != "+++ actual" {
            offset += next.len();
            continue;
        }
        let body_start = offset + next.len();
        let mut body_end = body_start;
        for l in message[body_start..].split_inclusive('\n') {
            if !is_diff_line(l) {
                break;
            }
            body_end += l.len();
        }
        return GoldenParts {
            before: message[..start].trim_end(),
            diff: Some((header.trim_end(), &message[body_start..body_end])),
            after: message[body_end..].trim(),
        };
    }
    none
}

fn is_diff_line(l: &str) -> bool {
    l.starts_with(['@', ' ', '-', '+', '\\']) || l.starts_with("note: ")
}

/// A side-by-side table: an optional note (white space only differs), then hunks.
#[derive(Debug, Default, PartialEq)]
pub struct Table {
    pub note: Option<String>,
    pub hunks: Vec<Hunk>,
}

#[derive(Debug, PartialEq)]
pub struct Hunk {
    /// `@@ -7,5 +7,5 @@`.
    pub header: String,
    pub rows: Vec<Row>,
}

#[derive(Debug, PartialEq)]
pub enum Row {
    /// A context line, the same on both sides.
    Same { old: u32, new: u32, text: String },
    /// A changed line: the golden's, this run's, or both side by side.
    Changed {
        old: Option<Cell>,
        new: Option<Cell>,
    },
    /// `\ No newline at end of file`.
    Note(String),
}

/// One side of a changed line: its number and its text in pieces, each marked when it is
/// what changed.
#[derive(Debug, PartialEq)]
pub struct Cell {
    pub line: u32,
    pub pieces: Pieces,
}

/// The table of a unified diff's body (what follows the `+++` header).
pub fn table(body: &str) -> Table {
    let mut t = Table::default();
    let mut block = Block::default();
    for line in body.lines() {
        if let Some(header) = line.strip_prefix("@@") {
            block.flush(&mut t);
            let (old, new) = starts(header);
            block = Block {
                old_no: old,
                new_no: new,
                ..Block::default()
            };
            t.hunks.push(Hunk {
                header: line.to_string(),
                rows: Vec::new(),
            });
        } else if let Some(note) = line.strip_prefix("note: ").filter(|_| t.hunks.is_empty()) {
            t.note = Some(note.to_string());
        } else if let Some(rest) = line.strip_prefix('-') {
            if !block.new.is_empty() {
                block.flush(&mut t);
            }
            block.old.push(rest.to_string());
        } else if let Some(rest) = line.strip_prefix('+') {
            block.new.push(rest.to_string());
        } else {
            block.flush(&mut t);
            let row = match line.strip_prefix(' ') {
                Some(text) => {
                    let row = Row::Same {
                        old: block.old_no,
                        new: block.new_no,
                        text: text.to_string(),
                    };
                    block.old_no += 1;
                    block.new_no += 1;
                    row
                }
                None => Row::Note(line.trim_start_matches('\\').trim().to_string()),
            };
            if let Some(h) = t.hunks.last_mut() {
                h.rows.push(row);
            }
        }
    }
    block.flush(&mut t);
    t
}

/// The first line numbers of `-a,b +c,d @@`.
fn starts(header: &str) -> (u32, u32) {
    let number = |sign: char| {
        header
            .split_whitespace()
            .find_map(|p| p.strip_prefix(sign))
            .and_then(|p| p.split(',').next()?.parse().ok())
            .unwrap_or(1)
    };
    (number('-'), number('+'))
}

/// A run of removed lines and the added lines after it, waiting to be paired.
#[derive(Default)]
struct Block {
    old_no: u32,
    new_no: u32,
    old: Vec<String>,
    new: Vec<String>,
}

impl Block {
    fn flush(&mut self, t: &mut Table) {
        if self.old.is_empty() && self.new.is_empty() {
            return;
        }
        let (old, new) = marks(&self.old, &self.new);
        let rows = old.len().max(new.len());
        let mut old = old.into_iter();
        let mut new = new.into_iter();
        let hunk = match t.hunks.last_mut() {
            Some(h) => h,
            None => {
                t.hunks.push(Hunk {
                    header: String::new(),
                    rows: Vec::new(),
                });
                t.hunks.last_mut().expect("just pushed")
            }
        };
        for _ in 0..rows {
            let o = old.next().map(|pieces| {
                self.old_no += 1;
                Cell {
                    line: self.old_no - 1,
                    pieces,
                }
            });
            let n = new.next().map(|pieces| {
                self.new_no += 1;
                Cell {
                    line: self.new_no - 1,
                    pieces,
                }
            });
            hunk.rows.push(Row::Changed { old: o, new: n });
        }
        self.old.clear();
        self.new.clear();
    }
}

/// Below this similarity the two sides are different sentences, and marking nearly every
/// word would only hide the few that match.
const MIN_RATIO: f32 = 0.2;

/// The removed and added lines in pieces, with the words that changed marked (a word diff
/// over the whole block, so a sentence rewrapped over two lines still pairs up). A side with
/// nothing opposite is left unmarked: the whole line is the change.
/// A line in pieces, each marked when it is what changed.
type Pieces = Vec<(bool, String)>;

fn marks(old: &[String], new: &[String]) -> (Vec<Pieces>, Vec<Pieces>) {
    let plain = |lines: &[String]| -> Vec<Pieces> {
        lines.iter().map(|l| vec![(false, l.clone())]).collect()
    };
    if old.is_empty() || new.is_empty() {
        return (plain(old), plain(new));
    }
    let (a, b) = (old.join("\n"), new.join("\n"));
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .deadline(Instant::now() + crate::report::diff::TIMEOUT)
        .diff_unicode_words(&a, &b);
    if diff.ratio() < MIN_RATIO {
        return (plain(old), plain(new));
    }
    let mut olds = vec![Vec::new()];
    let mut news = vec![Vec::new()];
    for change in diff.iter_all_changes() {
        let v = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push(&mut olds, v, false);
                push(&mut news, v, false);
            }
            ChangeTag::Delete => push(&mut olds, v, true),
            ChangeTag::Insert => push(&mut news, v, true),
        }
    }
    if olds.len() != old.len() || news.len() != new.len() {
        return (plain(old), plain(new));
    }
    (
        olds.into_iter().map(coalesce).collect(),
        news.into_iter().map(coalesce).collect(),
    )
}

/// Marks the white space between two marked pieces too, so a changed phrase reads as one
/// highlight rather than a row of single words.
fn coalesce(pieces: Pieces) -> Pieces {
    let mut out: Pieces = Vec::with_capacity(pieces.len());
    let mut i = 0;
    while i < pieces.len() {
        let (mut marked, mut text) = pieces[i].clone();
        let bridged = !marked
            && text.chars().all(char::is_whitespace)
            && out.last().is_some_and(|(m, _)| *m)
            && pieces.get(i + 1).is_some_and(|(m, _)| *m);
        if bridged {
            marked = true;
        }
        match out.last_mut() {
            Some((m, prev)) if *m == marked => prev.push_str(&text),
            _ => out.push((marked, std::mem::take(&mut text))),
        }
        i += 1;
    }
    out
}

/// Appends `value` to the last line, starting a new line at each `\n`, and joins it to the
/// previous piece when both are marked alike.
fn push(lines: &mut Vec<Pieces>, value: &str, marked: bool) {
    for (i, part) in value.split('\n').enumerate() {
        if i > 0 {
            lines.push(Vec::new());
        }
        if part.is_empty() {
            continue;
        }
        let line = lines.last_mut().expect("never empty");
        match line.last_mut() {
            Some((m, text)) if *m == marked => text.push_str(part),
            _ => line.push((marked, part.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::diff::render_diff;

    const OLD: &str =
        "turns:\n  - user: hi\n    status: 200\n    agent: The store opens at 9 AM.\n";
    const NEW: &str =
        "turns:\n  - user: hi\n    status: 200\n    agent: The store opens at 10 AM.\n";

    fn marked(cell: &Cell) -> Vec<&str> {
        cell.pieces
            .iter()
            .filter(|(m, _)| *m)
            .map(|(_, s)| s.as_str())
            .collect()
    }

    #[test]
    fn pairs_changed_lines_and_marks_the_changed_word() {
        let t = table(&render_diff(OLD, NEW, false));
        assert_eq!(t.hunks.len(), 1);
        let rows = &t.hunks[0].rows;
        assert_eq!(
            rows[0],
            Row::Same {
                old: 1,
                new: 1,
                text: "turns:".into()
            }
        );
        let Row::Changed {
            old: Some(o),
            new: Some(n),
        } = &rows[3]
        else {
            panic!("{rows:?}")
        };
        assert_eq!((o.line, n.line), (4, 4));
        assert_eq!(marked(o), ["9"]);
        assert_eq!(marked(n), ["10"]);
        let whole: String = n.pieces.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(whole, "    agent: The store opens at 10 AM.");
    }

    #[test]
    fn a_changed_phrase_is_one_mark() {
        let (old, new) = marks(
            &["agent: Yes, it shipped yesterday at noon.".to_string()],
            &["agent: Yes, it was lost in transit at noon.".to_string()],
        );
        assert_eq!(
            marked(&Cell {
                line: 1,
                pieces: old[0].clone()
            }),
            ["shipped yesterday"]
        );
        assert_eq!(
            marked(&Cell {
                line: 1,
                pieces: new[0].clone()
            }),
            ["was lost in transit"]
        );
    }

    #[test]
    fn a_missing_golden_is_all_on_the_right_unmarked() {
        let t = table(&render_diff("", NEW, false));
        let rows = &t.hunks[0].rows;
        assert_eq!(rows.len(), 4);
        for r in rows {
            let Row::Changed {
                old: None,
                new: Some(n),
            } = r
            else {
                panic!("{r:?}")
            };
            assert!(marked(n).is_empty());
        }
    }

    #[test]
    fn uneven_blocks_and_line_numbers_after_a_gap() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old
            .replace("line 3\n", "line three\nline 3b\n")
            .replace("line 17\n", "");
        let t = table(&render_diff(&old, &new, false));
        assert_eq!(t.hunks.len(), 2, "{t:?}");
        let second = &t.hunks[1];
        assert!(second.header.starts_with("@@ -14,"), "{}", second.header);
        assert!(second.rows.iter().any(|r| matches!(
            r,
            Row::Changed {
                old: Some(Cell { line: 17, .. }),
                new: None
            }
        )));
        let first = &t.hunks[0].rows;
        let changed: Vec<&Row> = first
            .iter()
            .filter(|r| matches!(r, Row::Changed { .. }))
            .collect();
        assert_eq!(changed.len(), 2, "{first:?}");
    }

    #[test]
    fn white_space_note_and_no_newline_marker() {
        let t = table(&render_diff("a b\n", "a  b", false));
        assert!(t.note.is_some());
        assert!(t.hunks[0]
            .rows
            .iter()
            .any(|r| matches!(r, Row::Note(n) if n.contains("No newline"))));
    }

    #[test]
    fn splits_a_golden_message_around_its_diff() {
        let message = "the transcript differs from the golden at g.yaml:\n  turn 1: the agent text differs\n\n--- golden g.yaml\n+++ actual\n@@ -1 +1 @@\n-a\n+b\n\nto accept this run's transcript as the golden (sends nothing): agenttest accept s.yaml\n";
        let p = split(message);
        assert_eq!(
            p.before,
            "the transcript differs from the golden at g.yaml:\n  turn 1: the agent text differs"
        );
        assert_eq!(p.diff, Some(("g.yaml", "@@ -1 +1 @@\n-a\n+b\n")));
        assert!(p.after.starts_with("to accept"), "{}", p.after);
        let plain = split("could not parse the golden");
        assert_eq!(plain.diff, None);
        assert_eq!(plain.before, "could not parse the golden");
    }
}
