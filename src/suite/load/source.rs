//! From a path to typed YAML: reading the bytes (a non-UTF-8 file is pointed at its first bad
//! byte) and parsing them (every structural error at once, through `crate::yaml::parse_all`),
//! each at its place. Nothing here checks meaning.

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

/// Parses `file` into `T`; on failure, every structural error it has, each said for people
/// (`crate::yaml` words serde's errors in YAML's terms).
pub(super) fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &SourceFile,
) -> Result<T, Vec<Diagnostic>> {
    crate::yaml::parse_all(file)
}
