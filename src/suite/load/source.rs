//! From a path to a suite's text: the bytes read, at most the cap and only from a regular
//! file, and a non-UTF-8 file pointed at its first bad byte. Parsing is `crate::yaml`'s;
//! nothing here checks meaning.

use std::path::Path;

use crate::diag::{Diagnostic, SourceFile, Span};

/// Reads a file as UTF-8 text, or says exactly why not.
// A diagnostic is made at most once per file, on the slow path: boxing buys nothing here.
#[allow(clippy::result_large_err)]
pub fn read_source(path: &Path) -> Result<SourceFile, Diagnostic> {
    // Only a regular file, and at most the cap: a FIFO, a device or `/dev/zero` behind a
    // `*.yaml` name must fail here, not hang the run or eat its memory.
    let read = crate::fsutil::read_regular_capped(path, crate::fsutil::MAX_SUITE_BYTES);
    let bytes = read.map_err(|e| {
        Diagnostic::error(
            path,
            Span::UNKNOWN,
            format!("failed to read `{}`", path.display()),
        )
        .with_label(e.to_string())
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(e) => Err(Diagnostic::not_utf8(
            path,
            e.as_bytes(),
            e.utf8_error().valid_up_to(),
        )),
    }
}
