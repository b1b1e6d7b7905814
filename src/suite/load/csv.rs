//! A small RFC 4180 reader for `matrix_file:` (SPEC §10): records of fields, each field with
//! the line and column where it starts, so that an error names `cases.csv:LINE:COL`.
//!
//! What it reads: fields separated by `,`, records ended by `\n` or `\r\n`; a field that
//! starts with `"` is quoted and may hold commas, line breaks and `""` (one quote). A `"`
//! inside an unquoted field is kept as written, as spreadsheets export it. A blank line is
//! no record: hand-edited files end with one or two. No trimming: values are as written.
//!
//! Written here rather than taken from the `csv` crate because errors must point at the
//! column of a field in the source, which that crate does not keep (its positions are of
//! records, its field ranges of the unquoted text). Nothing here reads files or knows what a
//! field means; `matrix` does.

use std::str::Chars;

use crate::diag::Span;

/// One field: its value (unquoted) and where it starts (its opening quote, if quoted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub(super) value: String,
    pub(super) span: Span,
    /// How many characters it takes in the source (quotes included), when on one line.
    pub(super) width: Option<usize>,
}

/// One record: the line it starts on, and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record {
    pub(super) line: u32,
    pub(super) fields: Vec<Field>,
    /// How many characters it takes in the source, when on one line.
    pub(super) width: Option<usize>,
}

/// Why the text is not CSV, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CsvError {
    pub(super) span: Span,
    pub(super) message: String,
    pub(super) label: String,
}

/// The records of `text`, blank lines skipped; or the first place it stops being CSV.
pub(super) fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut cur = Cursor::new(text);
    let mut records = Vec::new();
    while cur.peek().is_some() {
        let start = cur.here();
        let mut fields = Vec::new();
        let mut quoted_any = false;
        let end = loop {
            let (field, quoted) = cur.field()?;
            quoted_any |= quoted;
            fields.push(field);
            let end = cur.here();
            if !cur.separator() {
                break end;
            }
        };
        let blank = !quoted_any && fields.len() == 1 && fields[0].value.is_empty();
        if !blank {
            records.push(Record {
                line: start.line,
                fields,
                width: width(start, end),
            });
        }
    }
    Ok(records)
}

/// The text still to read and the place of its next char.
struct Cursor<'a> {
    chars: Chars<'a>,
    line: u32,
    column: u32,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor {
            chars: text.chars(),
            line: 1,
            column: 1,
        }
    }

    fn here(&self) -> Span {
        Span::new(self.line, self.column)
    }

    fn peek(&self) -> Option<char> {
        self.chars.clone().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    /// At the end of a field: a record's end (`\n`, `\r\n`, the text's end) or a `,`.
    fn at_field_end(&self) -> bool {
        let mut ahead = self.chars.clone();
        match ahead.next() {
            None | Some(',' | '\n') => true,
            Some('\r') => ahead.next() == Some('\n'),
            Some(_) => false,
        }
    }

    /// Consumes what ends a field; true when it was a `,` (another field follows).
    fn separator(&mut self) -> bool {
        match self.bump() {
            Some(',') => true,
            Some('\r') => {
                self.bump();
                false
            }
            _ => false,
        }
    }

    /// One field, and whether it was quoted.
    fn field(&mut self) -> Result<(Field, bool), CsvError> {
        let span = self.here();
        let mut value = String::new();
        if self.peek() != Some('"') {
            while !self.at_field_end() {
                value.extend(self.bump());
            }
            let width = width(span, self.here());
            return Ok((Field { value, span, width }, false));
        }
        self.bump();
        loop {
            match self.bump() {
                None => {
                    return Err(CsvError {
                        span,
                        message: "quoted field is not closed".into(),
                        label: "this quote opens it, and no quote ends it before the file ends"
                            .into(),
                    })
                }
                Some('"') if self.peek() == Some('"') => {
                    self.bump();
                    value.push('"');
                }
                Some('"') => break,
                Some(c) => value.push(c),
            }
        }
        if !self.at_field_end() {
            let c = self.peek().unwrap_or_default();
            return Err(CsvError {
                span: self.here(),
                message: format!("unexpected `{c}` after a closing quote"),
                label:
                    "a quoted field ends at its closing quote; write a quote inside it as `\"\"`"
                        .into(),
            });
        }
        let width = width(span, self.here());
        Ok((Field { value, span, width }, true))
    }
}

/// The characters from `start` to `end`, when both are on one line.
fn width(start: Span, end: Span) -> Option<usize> {
    (start.line == end.line).then(|| end.column.saturating_sub(start.column) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record as one line of text: `LINE: value@LINE:COL | ...`.
    fn read(text: &str) -> Vec<String> {
        parse(text)
            .unwrap()
            .iter()
            .map(|r| {
                let fields: Vec<String> = r
                    .fields
                    .iter()
                    .map(|f| format!("{:?}@{}:{}", f.value, f.span.line, f.span.column))
                    .collect();
                format!("{}: {}", r.line, fields.join(" | "))
            })
            .collect()
    }

    #[test]
    fn plain_fields_keep_their_places() {
        assert_eq!(
            read("lang,q\nfr, hi \n"),
            [r#"1: "lang"@1:1 | "q"@1:6"#, r#"2: "fr"@2:1 | " hi "@2:4"#,]
        );
    }

    #[test]
    fn quoted_fields_hold_commas_quotes_and_line_breaks() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",\n";
        assert_eq!(
            read(text),
            [
                r#"1: "a"@1:1 | "b"@1:3"#,
                r#"2: "x, y"@2:1 | "say \"hi\""@2:8"#,
                r#"3: "two\nlines"@3:1 | ""@4:8"#,
            ]
        );
    }

    #[test]
    fn blank_lines_are_no_record_but_an_empty_quoted_field_is() {
        assert_eq!(
            read("a\n\nx\n\"\"\n\n"),
            [r#"1: "a"@1:1"#, r#"3: "x"@3:1"#, r#"4: ""@4:1"#]
        );
        assert!(read("").is_empty());
        // No newline at the end; an inner quote of an unquoted field is a character.
        assert_eq!(read("a,5\"x"), [r#"1: "a"@1:1 | "5\"x"@1:3"#]);
        // A lone `\r` is data, not a line break.
        assert_eq!(read("a\rb"), [r#"1: "a\rb"@1:1"#]);
    }

    #[test]
    fn broken_quotes_point_at_their_place() {
        let e = parse("a,b\nx,\"open\n").unwrap_err();
        assert_eq!(e.span, Span::new(2, 3));
        assert_eq!(e.message, "quoted field is not closed");
        let e = parse("a\n\"x\"y\n").unwrap_err();
        assert_eq!(e.span, Span::new(2, 4));
        assert_eq!(e.message, "unexpected `y` after a closing quote");
    }
}
