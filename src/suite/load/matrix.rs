//! Data-driven dialogues (SPEC §10): a dialogue's `matrix:` (a list of var mappings) or
//! `matrix_file:` (a CSV file beside the suite, its header the var names) read into rows, each
//! the vars of one dialogue named `name [k=v, ...]`. Every row is checked where it is written,
//! in the suite or in the CSV file; what a row's name collides with is `dialogue`'s business,
//! and so is building the dialogues.

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::raw::{span_of, Entries, RawDialogue, Spanned};
use crate::suite::template::is_name;

use super::check::Checker;
use super::csv::{self, Field};
use super::source::read_source;

/// One row: its vars in written order, and where it is.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// The file it is written in when that is not the suite (a CSV file).
    pub(super) file: Option<SourceFile>,
    /// Where its errors point: the row's mapping, or its CSV line.
    pub(super) span: Span,
    /// How much of the source its errors underline, when known.
    pub(super) width: Option<usize>,
    /// Where the dialogue it becomes points, in the suite file: the row's mapping, or the
    /// `matrix_file:` value for a CSV row (a report names the suite file, not the CSV).
    pub(super) model_span: Span,
    pub(super) vars: Vec<(String, String)>,
}

impl Row {
    /// `name [k=v, ...]`: the row's keys in their written order, values as written.
    pub(super) fn name(&self, base: &str) -> String {
        let pairs: Vec<String> = self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{base} [{}]", pairs.join(", "))
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.vars.iter().any(|(k, _)| k == key)
    }
}

/// A dialogue's rows, those that checked out.
#[derive(Debug, Clone, Default)]
pub(super) struct Matrix {
    pub(super) rows: Vec<Row>,
    /// Some of the matrix was wrong (its errors are recorded): which row lacks which var is
    /// not told, as it could be an echo of those errors.
    pub(super) broken: bool,
}

impl Matrix {
    /// The keys every row has, in the first row's order.
    pub(super) fn common_keys(&self) -> Vec<String> {
        let Some(first) = self.rows.first() else {
            return Vec::new();
        };
        first
            .vars
            .iter()
            .map(|(k, _)| k.clone())
            .filter(|k| self.rows.iter().all(|r| r.has(k)))
            .collect()
    }

    /// Every key of any row, each once, in the order first written.
    pub(super) fn all_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, _) in self.rows.iter().flat_map(|r| r.vars.iter()) {
            if !out.contains(k) {
                out.push(k.clone());
            }
        }
        out
    }
}

impl Checker<'_> {
    /// The dialogue's matrix, if it has one: `None` runs it once, as written.
    pub(super) fn matrix(&mut self, raw: &RawDialogue) -> Option<Matrix> {
        let before = self.diags.len();
        let mut matrix = match (&raw.matrix, &raw.matrix_file) {
            (None, None) => return None,
            (Some(rows), Some(file)) => {
                self.error(span_of(file), "`matrix` and `matrix_file` are both set")
                    .help = Some("keep one of them".into());
                self.yaml_rows(rows)
            }
            (Some(rows), None) => self.yaml_rows(rows),
            (None, Some(file)) => self.csv_rows(file),
        };
        matrix.broken = self.diags.len() > before;
        Some(matrix)
    }

    /// `matrix:` written in the suite.
    fn yaml_rows(&mut self, list: &Spanned<Vec<Spanned<Entries<String>>>>) -> Matrix {
        if list.value.is_empty() {
            self.error(span_of(list), "`matrix` is empty").help =
                Some("give it at least one row, or remove it to run the dialogue once".into());
        }
        let mut matrix = Matrix::default();
        for row in &list.value {
            let span = span_of(row);
            if row.value.0.is_empty() {
                self.error(span, "this matrix row has no vars").help =
                    Some("write its vars as a mapping, like `{lang: fr}`".into());
                continue;
            }
            let mut ok = true;
            for (key, _) in &row.value.0 {
                let width = plain_width(self.file, span_of(key), &key.value);
                ok &= self.var_name(None, &key.value, span_of(key), width);
            }
            if ok {
                matrix.rows.push(Row {
                    file: None,
                    span,
                    width: flow_width(self.file, span),
                    model_span: span,
                    vars: row
                        .value
                        .0
                        .iter()
                        .map(|(k, v)| (k.value.clone(), v.value.clone()))
                        .collect(),
                });
            }
        }
        matrix
    }

    /// `matrix_file:`: a CSV file relative to the suite, its first record the var names.
    fn csv_rows(&mut self, written: &Spanned<String>) -> Matrix {
        let at = span_of(written);
        let Some(file) = self.read_matrix_file(written) else {
            return Matrix::default();
        };
        let records = match csv::parse(&file.text) {
            Ok(r) => r,
            Err(e) => {
                let d = Diagnostic::at(&file, e.span, e.message).with_label(e.label);
                self.diags.push(d);
                return Matrix::default();
            }
        };
        let mut records = records.into_iter();
        let Some(header) = records.next() else {
            self.error(at, format!("`{}` is empty", file.path.display()))
                .label = Some("a matrix file needs a header of var names, then rows".into());
            return Matrix::default();
        };
        let keys_ok = self.csv_header(&file, &header.fields);
        let mut matrix = Matrix::default();
        let mut any = false;
        for record in records {
            any = true;
            let span = Span::new(record.line, 1);
            if !self.csv_width(&file, &record, header.fields.len()) || !keys_ok {
                continue;
            }
            let width = record.width;
            let vars = header
                .fields
                .iter()
                .zip(record.fields)
                .map(|(k, v)| (k.value.clone(), v.value))
                .collect();
            matrix.rows.push(Row {
                file: Some(file.clone()),
                span,
                width,
                model_span: at,
                vars,
            });
        }
        if !any {
            let d = Diagnostic::at(
                &file,
                Span::new(header.line, 1),
                "the matrix file has no rows",
            )
            .with_label("only a header of var names")
            .with_help("add a row of values under the header");
            self.diags.push(d);
        }
        matrix
    }

    /// The CSV file's text (a byte-order mark dropped, as spreadsheets write one), or its
    /// error: a file that cannot be read at the `matrix_file:` that names it, bad UTF-8 in
    /// the file itself.
    fn read_matrix_file(&mut self, written: &Spanned<String>) -> Option<SourceFile> {
        let path = self.relative(&written.value);
        let read = read_source(&path);
        if read.is_ok() {
            self.opts.read.note(&path);
        }
        match read {
            Ok(f) => match f.text.strip_prefix('\u{feff}') {
                Some(text) => Some(SourceFile::new(f.path, text)),
                None => Some(f),
            },
            Err(d) if d.span.is_known() => {
                self.diags.push(d);
                None
            }
            Err(d) => {
                let label = d.label.unwrap_or_default();
                self.error(
                    span_of(written),
                    format!("cannot read `matrix_file` `{}`", path.display()),
                )
                .label = Some(label);
                None
            }
        }
    }

    /// Every column name a var name, each once.
    fn csv_header(&mut self, file: &SourceFile, fields: &[Field]) -> bool {
        let mut ok = true;
        for (i, f) in fields.iter().enumerate() {
            if !self.var_name(Some(file), &f.value, f.span, f.width) {
                ok = false;
            } else if let Some(first) = fields[..i].iter().find(|g| g.value == f.value) {
                let d = Diagnostic::at(file, f.span, format!("duplicate column `{}`", f.value))
                    .with_width(f.width.unwrap_or(1))
                    .with_label(format!(
                        "the first column of this name is at column {}",
                        first.span.column
                    ));
                self.diags.push(d);
                ok = false;
            }
        }
        ok
    }

    /// A record has one field per column of the header.
    fn csv_width(&mut self, file: &SourceFile, record: &csv::Record, width: usize) -> bool {
        let got = record.fields.len();
        if got == width {
            return true;
        }
        let message = format!(
            "this row has {}, but the header names {}",
            plural(got, "field"),
            plural(width, "column")
        );
        let d = match record.fields.get(width) {
            Some(extra) => Diagnostic::at(file, extra.span, message)
                .with_width(extra.width.unwrap_or(1))
                .with_label("a field beyond the header's columns")
                .with_help("quote a value that holds a comma: `\"a, b\"`"),
            None => Diagnostic::at(file, Span::new(record.line, 1), message)
                .with_width(record.width.unwrap_or(1))
                .with_label(format!("{} missing", plural(width - got, "field")))
                .with_help("write an empty value as nothing between two commas"),
        };
        self.diags.push(d);
        false
    }

    /// `key` can be a `{{key}}`; else its error, in `file` (the suite when `None`), over
    /// `width` characters (else the token there).
    pub(super) fn var_name(
        &mut self,
        file: Option<&SourceFile>,
        key: &str,
        span: Span,
        width: Option<usize>,
    ) -> bool {
        if is_name(key) {
            return true;
        }
        let file = file.unwrap_or(self.file);
        let mut d = Diagnostic::at(file, span, format!("`{key}` is not a valid var name"));
        if let Some(w) = width {
            d = d.with_width(w);
        }
        d = d.with_label("a letter or `_`, then letters, digits, `_`, `-` or `.`");
        if is_name(key.trim()) {
            d = d.with_help(format!("remove the spaces around `{}`", key.trim()));
        }
        self.diags.push(d);
        false
    }
}

/// "1 field", "2 fields".
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The line `span` is on, from its column.
fn rest_of_line(file: &SourceFile, span: Span) -> Option<&str> {
    let line = crate::diag::source_lines(&file.text).nth(span.line.checked_sub(1)? as usize)?;
    let start = line
        .char_indices()
        .nth(span.column.checked_sub(1)? as usize)?
        .0;
    Some(&line[start..])
}

/// The width of a plain (unquoted) scalar `value` written at `span`; `None` for a quoted one,
/// which the renderer underlines through its closing quote itself.
fn plain_width(file: &SourceFile, span: Span, value: &str) -> Option<usize> {
    let rest = rest_of_line(file, span)?;
    rest.starts_with(value).then(|| value.chars().count())
}

/// The width of a flow mapping `{...}` written at `span` on one line, through its `}`; `None`
/// for a block mapping (the renderer then underlines its first key).
fn flow_width(file: &SourceFile, span: Span) -> Option<usize> {
    let rest = rest_of_line(file, span)?;
    if !rest.starts_with('{') {
        return None;
    }
    let mut quote: Option<char> = None;
    for (n, c) in rest.chars().enumerate() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '}') => return Some(n + 1),
            (None, _) => {}
        }
    }
    None
}
