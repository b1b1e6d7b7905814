//! Each passing dialogue's part of the JSON, JUnit and HTML reports, written to a scratch file
//! as the dialogue finishes, so a run of thousands of dialogues does not hold every transcript
//! until the end: the runner keeps the dialogue's verdict ([`DialogueResult::without_attempts`])
//! and the reports copy its part back in place when they are written. (The HTML page's head
//! needs only verdicts: counts, suites and tags.)
//!
//! Only passing dialogues are spilled. A dialogue that failed, errored, was flaky or was cut
//! short is kept whole: the console explains it in full at the end, and its report text can
//! depend on how the run ended (`not run (the run was interrupted)`).
//!
//! The scratch files are unnamed (deleted as they are made, gone when the process is) and sit
//! beside the report they serve, on the disk the report goes to, rather than in a `/tmp`
//! that may be memory. Writing a part never fails the run: the first error stops the
//! spilling, and the report that needed the lost part says so when it is written.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::record::{DialogueResult, Outcome};
use crate::util::fnv1a;

/// The scratch files of one run: one per report that takes spilled parts.
pub struct Spill {
    json: Option<Part>,
    junit: Option<Part>,
    html: Option<Part>,
}

impl Spill {
    /// A spill for the `--json`, `--junit` and `--html` reports asked for, or `None` when there
    /// is no such report, or when a scratch file cannot be made (the results are then kept, as
    /// without a spill).
    pub fn for_reports(
        json: Option<&Path>,
        junit: Option<&Path>,
        html: Option<&Path>,
    ) -> Option<Spill> {
        if json.is_none() && junit.is_none() && html.is_none() {
            return None;
        }
        let part = |report: Option<&Path>| report.map(Part::beside).transpose();
        match (part(json), part(junit), part(html)) {
            (Ok(json), Ok(junit), Ok(html)) => Some(Spill { json, junit, html }),
            _ => None,
        }
    }

    /// What the runner keeps of dialogue `index` (its place in the run's results): for a
    /// passing dialogue its verdict, once its parts are written; for any other, the dialogue
    /// itself.
    pub fn keep(&self, index: usize, d: Arc<DialogueResult>) -> Arc<DialogueResult> {
        // A passing dialogue that left a pending golden (a repeated one whose runs differed
        // from it, SPEC §7) stays whole: the console's closing list names its file.
        if d.outcome != Outcome::Pass || d.pending_goldens().next().is_some() {
            return d;
        }
        let id = identity(&d);
        let json = self
            .json
            .as_ref()
            .is_none_or(|p| p.put(index, id, |out| super::json::write_dialogue(&d, out)));
        let junit = self.junit.as_ref().is_none_or(|p| {
            p.put(index, id, |out| {
                super::junit::write_passing_testcase_body(&d, out)
            })
        });
        let html = self.html.as_ref().is_none_or(|p| {
            p.put(index, id, |out| {
                super::html::write_dialogue(index + 1, &d, out)
            })
        });
        if json && junit && html {
            Arc::new(d.without_attempts())
        } else {
            d
        }
    }

    /// The JSON report's parts.
    pub fn json(&self) -> Option<&Part> {
        self.json.as_ref()
    }

    /// The JUnit report's parts.
    pub fn junit(&self) -> Option<&Part> {
        self.junit.as_ref()
    }

    /// The HTML report's parts.
    pub fn html(&self) -> Option<&Part> {
        self.html.as_ref()
    }
}

/// Which dialogue a part belongs to (its suite file, name and place), so that a report can
/// never take one dialogue's part for another's: the parts are found by the dialogue's index,
/// and an index that came to mean another dialogue is a bug to report, not text to write.
fn identity(d: &DialogueResult) -> u64 {
    let path = fnv1a(d.suite.path.as_os_str().as_encoded_bytes());
    let name = fnv1a(d.name.as_bytes());
    let place = (u64::from(d.span.line) << 32) | u64::from(d.span.column);
    path.rotate_left(21) ^ name ^ fnv1a(&place.to_le_bytes())
}

/// Where one dialogue's part is in the scratch file, and whose it is.
#[derive(Clone, Copy)]
struct Place {
    start: u64,
    len: u64,
    dialogue: u64,
}

/// One report's scratch file, and where each dialogue's part is in it.
pub struct Part {
    inner: Mutex<Inner>,
}

struct Inner {
    file: BufWriter<File>,
    /// Bytes written so far: where the next part starts.
    end: u64,
    /// Per dialogue index, where its part is.
    places: Vec<Option<Place>>,
    /// The first write that failed: spilling stopped there, and the parts written before it
    /// may be lost, so the report must not be written from them.
    failed: Option<String>,
    /// A window of the file read back, and where it starts: parts are copied in the suite's
    /// order and were mostly written in it, so one read serves many parts (a read and two
    /// seeks per part had been most of the run's system calls after its requests).
    window: Vec<u8>,
    window_start: u64,
}

/// How much is read back at once.
const WINDOW: usize = 64 * 1024;

impl Part {
    /// An unnamed scratch file in the directory `report` goes to (the working directory for a
    /// bare file name), else in the system's temporary directory: also when the report is a
    /// device, a FIFO or a descriptor (`/dev/stdout`), whose directory is no place for a file.
    fn beside(report: &Path) -> io::Result<Part> {
        let dir = match report.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let a_file = match std::fs::metadata(report) {
            Ok(m) => m.is_file(),
            Err(e) => e.kind() == io::ErrorKind::NotFound,
        };
        let file = if a_file {
            tempfile::tempfile_in(dir).or_else(|_| tempfile::tempfile())?
        } else {
            tempfile::tempfile()?
        };
        Ok(Part {
            inner: Mutex::new(Inner {
                file: BufWriter::with_capacity(64 * 1024, file),
                end: 0,
                places: Vec::new(),
                failed: None,
                window: Vec::new(),
                window_start: 0,
            }),
        })
    }

    /// Writes dialogue `index`'s part with `write`; false when it could not be (this time or
    /// an earlier one).
    fn put(
        &self,
        index: usize,
        dialogue: u64,
        write: impl FnOnce(&mut Counted<'_>) -> io::Result<()>,
    ) -> bool {
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        let inner = &mut *inner;
        if inner.failed.is_some() {
            return false;
        }
        let mut out = Counted {
            out: &mut inner.file,
            written: 0,
        };
        match write(&mut out) {
            Ok(()) => {
                let len = out.written;
                if inner.places.len() <= index {
                    inner.places.resize(index + 1, None);
                }
                inner.places[index] = Some(Place {
                    start: inner.end,
                    len,
                    dialogue,
                });
                inner.end += len;
                true
            }
            Err(e) => {
                inner.failed = Some(e.to_string());
                false
            }
        }
    }

    /// Copies the part of `d`, the dialogue at `index` in the run's results, to `out`:
    /// `Ok(false)` when it has none (it was kept whole), an error when the scratch file failed.
    pub fn copy_to(
        &self,
        index: usize,
        d: &DialogueResult,
        out: &mut impl Write,
    ) -> io::Result<bool> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("the report's scratch file was poisoned"))?;
        if let Some(e) = &inner.failed {
            return Err(io::Error::other(format!(
                "a part of the report could not be kept in its scratch file: {e}"
            )));
        }
        let Some(Place {
            start,
            len,
            dialogue,
        }) = inner.places.get(index).copied().flatten()
        else {
            return Ok(false);
        };
        if dialogue != identity(d) {
            return Err(io::Error::other(format!(
                "the report part kept for dialogue {} is another dialogue's (a bug in agenttest)",
                index + 1
            )));
        }
        let inner = &mut *inner;
        let in_window = |inner: &Inner| {
            start >= inner.window_start
                && start + len <= inner.window_start + inner.window.len() as u64
        };
        if !in_window(inner) {
            inner.file.flush()?;
            let want = usize::try_from(len).unwrap_or(usize::MAX).max(WINDOW);
            inner.window.resize(want, 0);
            let got = read_at(inner.file.get_ref(), &mut inner.window, start)?;
            inner.window.truncate(got);
            inner.window_start = start;
            if !in_window(inner) {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the report's scratch file is shorter than what was written to it",
                ));
            }
        }
        // Both fit in the file's length, which is in memory: the casts cannot truncate.
        let from = (start - inner.window_start) as usize;
        out.write_all(&inner.window[from..from + len as usize])?;
        Ok(true)
    }
}

/// Reads from `offset` until `buf` is full or the file ends, leaving the write cursor alone
/// (a positional read where there is one); returns how much was read.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, &mut buf[got..], offset + got as u64);
        #[cfg(not(unix))]
        let n = {
            use std::io::{Read as _, Seek as _, SeekFrom};
            let mut f = file;
            f.seek(SeekFrom::Start(offset + got as u64))
                .and_then(|_| f.read(&mut buf[got..]))
                .and_then(|n| f.seek(SeekFrom::End(0)).map(|_| n))
        };
        match n {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A writer that counts what goes through it: a part's length, without asking the file.
struct Counted<'a> {
    out: &'a mut BufWriter<File>,
    written: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
