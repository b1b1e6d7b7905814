//! Data-driven dialogues (SPEC §10): a dialogue's `matrix:` (a list of var mappings) or
//! `matrix_file:` (a CSV file beside the suite, its header the var names) read into rows, each
//! the vars of one dialogue named `name [k=v, ...]`. Every row is checked where it is written,
//! in the suite or in the CSV file; what a row's name collides with is `dialogue`'s business,
//! and so is building the dialogues.

use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, SourceFile, Span};
use crate::suite::raw::{span_of, Entries, RawDialogue};
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
                ok &= self.var_name(None, &key.value, span_of(key));
            }
            if ok {
                matrix.rows.push(Row {
                    file: None,
                    span,
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
            let vars = header
                .fields
                .iter()
                .zip(record.fields)
                .map(|(k, v)| (k.value.clone(), v.value))
                .collect();
            matrix.rows.push(Row {
                file: Some(file.clone()),
                span,
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
        match read_source(&path) {
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
            if !self.var_name(Some(file), &f.value, f.span) {
                ok = false;
            } else if let Some(first) = fields[..i].iter().find(|g| g.value == f.value) {
                let d = Diagnostic::at(file, f.span, format!("duplicate column `{}`", f.value))
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
        let message = format!("this row has {got} fields, and the header {width}");
        let d = match record.fields.get(width) {
            Some(extra) => Diagnostic::at(file, extra.span, message)
                .with_label("a field beyond the header's columns")
                .with_help("quote a value that holds a comma: `\"a, b\"`"),
            None => Diagnostic::at(file, Span::new(record.line, 1), message)
                .with_label(format!("{} missing", plural(width - got, "field")))
                .with_help("write an empty value as nothing between two commas"),
        };
        self.diags.push(d);
        false
    }

    /// `key` can be a `{{key}}`; else its error, in `file` (the suite when `None`).
    fn var_name(&mut self, file: Option<&SourceFile>, key: &str, span: Span) -> bool {
        if is_name(key) {
            return true;
        }
        let file = file.unwrap_or(self.file);
        let mut d = Diagnostic::at(file, span, format!("`{key}` is not a valid var name"))
            .with_label("a letter or `_`, then letters, digits, `_`, `-` or `.`");
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
