//! Everything that writes or deletes in a `.golden` directory: pending `.new` files, `--bless`,
//! `agenttest accept` / `reject`, and the orphan check.
//!
//! Every write is atomic (`fsutil::write_atomic`: a temporary file in the same directory,
//! renamed over the target), so a golden is always either the old file or the new one. A
//! failed write is reported, never panicked on, and leaves the old file as it was. Nothing here
//! sends a request: `accept` promotes exactly what the last run recorded.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::file::{parse, recorded_mode, render, GoldenFile};
use super::matching::merge;
use super::{pending_path, Transcript};
use crate::diag::{Diagnostic, SourceFile, Span};
use crate::fsutil::{self, write_atomic, Visit, WalkOptions};
use crate::record::{BlessAction, GoldenCheck};
use crate::suite::model::{slug, GoldenMode, NormalizeRule, Suite};

/// The suffix of a pending golden.
pub const PENDING_SUFFIX: &str = ".yaml.new";

/// What `accept` or `reject` did with one pending file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAction {
    /// Accepted; the golden (this path) did not exist before.
    Created(PathBuf),
    /// Accepted; the golden (this path) was replaced.
    Changed(PathBuf),
    /// Accepted, but the golden (this path) already had exactly these bytes: not rewritten.
    Kept(PathBuf),
    /// The pending file (this path) was deleted.
    Rejected(PathBuf),
    /// Nothing was promoted or deleted for the pending file (this path); the message says why.
    /// The golden, if any, is as it was.
    Failed(PathBuf, String),
}

/// Writes `check.actual` beside the golden as `<slug>.yaml.new` (creating the `.golden`
/// directory if needed) and records it in `check.pending`. In modes `similar` and `facts` that
/// text records the mode on a comment line ([`super::render_pending`]), by which `accept` keeps
/// the golden turns that still pass.
pub fn write_pending(check: &mut GoldenCheck) -> std::io::Result<()> {
    let pending = pending_path(&check.path);
    if let Some(dir) = pending.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_atomic(&pending, check.actual.as_bytes())?;
    check.pending = Some(pending);
    Ok(())
}

/// Deletes the pending file of `golden`, if there is one (a passing run's stale `.new`).
/// Returns whether a file was removed.
pub fn remove_pending(golden: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(pending_path(golden)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// `--bless`: writes `actual` as the golden at `path`, keeping each old golden turn that it
/// still passes in its dialogue's mode as it is (same message and status, and an agent text
/// equal, matched by the golden's `[..]` wildcards, or in `similar` and `facts` close enough:
/// [`super::turn_passes`]). Identical bytes are not rewritten, so a golden whose every turn
/// still passes is `Unchanged`. The `.golden` directory is created if missing, and the
/// dialogue's pending `.new` is removed once the golden is written.
pub fn bless(path: &Path, actual: &Transcript, rules: &[NormalizeRule]) -> BlessAction {
    let old = match read_old(path) {
        Ok(old) => old,
        Err(msg) => return BlessAction::Failed(path.to_path_buf(), msg),
    };
    let old_parsed = parse_old(path, old.as_deref());
    let text = render(&merge(old_parsed.as_ref(), actual, actual.mode, rules));
    let action = match write_golden(path, old.as_deref(), &text) {
        Ok(Written::Created) => BlessAction::Created(path.to_path_buf()),
        Ok(Written::Changed) => BlessAction::Changed(path.to_path_buf()),
        Ok(Written::Unchanged) => BlessAction::Unchanged(path.to_path_buf()),
        Err(msg) => return BlessAction::Failed(path.to_path_buf(), msg),
    };
    // The golden now records this run; a pending file from an earlier run is stale. Failing
    // to delete it does not undo the bless, and the next passing run retries the removal.
    let _ = remove_pending(path);
    action
}

/// `agenttest accept`: promotes each pending file to its golden (the path without `.new`).
///
/// The golden gets exactly the pending file's bytes, except that old golden turns that still
/// pass are kept as they are (wildcards included), as with `--bless`, in the mode the run
/// recorded in the pending file ([`recorded_mode`]; none recorded: text and wildcard matches
/// only), and that the golden is then rendered without that record. A pending file that does
/// not parse is `Failed` and left in place; so is one whose golden cannot be written. The
/// pending file is deleted once its golden is written.
pub fn accept(pending: &[PathBuf]) -> Vec<PendingAction> {
    pending.iter().map(|p| accept_one(p)).collect()
}

fn accept_one(pending: &Path) -> PendingAction {
    let failed = |msg: String| PendingAction::Failed(pending.to_path_buf(), msg);
    let Some(golden) = golden_of(pending) else {
        return failed(format!(
            "not a pending golden (expected a name ending in `{PENDING_SUFFIX}`)"
        ));
    };
    let new_text = match std::fs::read_to_string(pending) {
        Ok(t) => t,
        Err(e) => return failed(format!("failed to read pending golden: {e}")),
    };
    let new = match parse(&SourceFile::new(pending, new_text.as_str())) {
        Ok(g) => g,
        Err(d) => {
            return failed(format!(
                "invalid pending golden, left in place:\n{}",
                d.render(false)
            ))
        }
    };
    let old = match read_old(&golden) {
        Ok(old) => old,
        Err(msg) => return failed(msg),
    };
    // Unless something of the old golden was kept (or the mode recorded is to be left out),
    // what is written is byte for byte what was reviewed.
    let recorded = recorded_mode(&new_text);
    let text = match accepted_as(&golden, old.as_deref(), &new, recorded) {
        None => new_text,
        Some(merged) => render(&merged),
    };
    let action = match write_golden(&golden, old.as_deref(), &text) {
        Ok(Written::Created) => PendingAction::Created(golden),
        Ok(Written::Changed) => PendingAction::Changed(golden),
        Ok(Written::Unchanged) => PendingAction::Kept(golden),
        Err(msg) => return failed(msg),
    };
    match std::fs::remove_file(pending) {
        Ok(()) => action,
        Err(e) if e.kind() == ErrorKind::NotFound => action,
        Err(e) => failed(format!(
            "the golden was written, but the pending file could not be deleted: {e}"
        )),
    }
}

/// What accepting the pending golden `new` writes over the golden at `golden` (whose bytes are
/// `old`), when that is not the pending file itself: the golden's `baseline:` and the turns
/// that still pass are kept (`merge`, as `--bless` keeps them), in the mode the run recorded
/// in the pending file beside `golden` (read from it here: [`recorded_mode`]), and a pending
/// file that records one is written rendered, without that line. `review` shows its diff
/// against this, so what a reviewer sees is what accepting writes. The suite's `normalize`
/// rules are not known here (accept loads no suite): a turn whose message differs only by
/// them takes the reviewed file's text. An old golden that does not parse is replaced.
pub fn accepted(golden: &Path, old: Option<&[u8]>, new: &GoldenFile) -> Option<GoldenFile> {
    let recorded = std::fs::read_to_string(pending_path(golden))
        .ok()
        .and_then(|text| recorded_mode(&text));
    accepted_as(golden, old, new, recorded)
}

/// [`accepted`], with the mode the pending file recorded (`None`: it recorded none, which
/// keeps only text and wildcard matches).
fn accepted_as(
    golden: &Path,
    old: Option<&[u8]>,
    new: &GoldenFile,
    recorded: Option<GoldenMode>,
) -> Option<GoldenFile> {
    let old_parsed = parse_old(golden, old);
    let mode = recorded.unwrap_or(GoldenMode::Exact);
    let merged = merge(old_parsed.as_ref(), new, mode, &[]);
    (recorded.is_some() || merged != *new).then_some(merged)
}

/// `agenttest reject`: deletes each pending file. Refuses anything not named `*.yaml.new`, so
/// a wrong argument can never delete a suite or a golden.
pub fn reject(pending: &[PathBuf]) -> Vec<PendingAction> {
    pending
        .iter()
        .map(|p| {
            if golden_of(p).is_none() {
                return PendingAction::Failed(
                    p.clone(),
                    format!("not a pending golden (expected a name ending in `{PENDING_SUFFIX}`)"),
                );
            }
            match std::fs::remove_file(p) {
                Ok(()) => PendingAction::Rejected(p.clone()),
                Err(e) => PendingAction::Failed(p.clone(), format!("failed to delete: {e}")),
            }
        })
        .collect()
}

/// The pending files `accept`/`reject` act on, for the paths the user named:
/// a `*.golden` directory is listed; any other directory is searched recursively for
/// `*.golden/*.yaml.new` the way suite discovery walks it (hidden entries skipped, links to
/// directories followed unless they lead back up, see `walk`); a suite file `x.yaml` / `x.yml` means
/// `x.golden/*.yaml.new` beside it; a `*.yaml.new` file is taken as it is, and so is the one
/// beside a golden named by its own path. Each path's files come sorted, duplicates are
/// dropped. A path that does not exist, or a file that is none of these, is a diagnostic; all
/// of them are returned at once. (What a named golden with nothing pending comes to is in
/// [`find_named`].)
pub fn find_pending(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    find_named(paths).map(|named| named.pending)
}

/// What the paths named to `accept`, `reject` or `review` come to ([`find_named`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Named {
    /// The pending files to act on, as [`find_pending`] returns them.
    pub pending: Vec<PathBuf>,
    /// Goldens named by their own path with no pending file beside them, in the order named:
    /// nothing is to be done for them, which the command says, naming each.
    pub settled: Vec<PathBuf>,
}

/// [`find_pending`], and the goldens named by their own path that have nothing pending.
///
/// A golden transcript is a `*.yaml` in a `*.golden` directory, or one that starts with the
/// golden header ([`super::file::HEADER`]): named, it stands for its pending `<path>.new`,
/// which is acted on when it exists (also before the golden itself does: a new dialogue's
/// first golden). Any other `*.yaml` / `*.yml` is taken for a suite when its `.golden`
/// directory is beside it or it reads as one (a mapping with `dialogues:`); a mock script,
/// a config or any other file is refused, as is any other file that is none of these.
pub fn find_named(paths: &[PathBuf]) -> Result<Named, Vec<Diagnostic>> {
    let mut named = Named::default();
    let mut seen = HashSet::new();
    let mut errors = Vec::new();
    for path in paths {
        let mut here = Vec::new();
        if let Err(d) = pending_named(path, &mut here, &mut named.settled) {
            errors.push(d);
            continue;
        }
        here.sort();
        for p in here {
            // One file under two names (a `.golden` reached through a link and named as
            // well) is acted on once, under the first name met: a second delete would fail.
            let id = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
            if seen.insert(id) {
                named.pending.push(p);
            }
        }
    }
    if errors.is_empty() {
        Ok(named)
    } else {
        Err(errors)
    }
}

/// The pending files `path` names, into `out` (unsorted); a golden named by its own path
/// with nothing pending, into `settled`.
fn pending_named(
    path: &Path,
    out: &mut Vec<PathBuf>,
    settled: &mut Vec<PathBuf>,
) -> Result<(), Diagnostic> {
    let failed_dir = |dir: &Path, e: std::io::Error| {
        Diagnostic::error(dir, Span::UNKNOWN, format!("failed to read directory: {e}"))
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            // A golden not recorded yet, named by the path the run gave it: its pending file.
            let pending = pending_path(path);
            let golden = is_golden_name(path) && in_golden_dir(path);
            if e.kind() == ErrorKind::NotFound && golden && pending.is_file() {
                out.push(pending);
                return Ok(());
            }
            let what = if e.kind() == ErrorKind::NotFound {
                "no such file or directory".to_string()
            } else {
                format!("cannot read: {e}")
            };
            return Err(Diagnostic::error(path, Span::UNKNOWN, what));
        }
    };
    if meta.is_dir() {
        let is_golden_dir = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(".golden"));
        let listed = if is_golden_dir {
            pending_in(path, out)
        } else {
            walk(path, out)
        };
        return listed.map_err(|e| failed_dir(path, e));
    }
    if is_pending_name(path) {
        out.push(path.to_path_buf());
        return Ok(());
    }
    if meta.is_file() && is_golden_transcript(path) {
        let pending = pending_path(path);
        if pending.is_file() {
            out.push(pending);
        } else {
            settled.push(path.to_path_buf());
        }
        return Ok(());
    }
    let Some(dir) = suite_golden_dir(path) else {
        return Err(not_named_right(path, None));
    };
    // Its golden directory beside it says it is a suite; without one, it must read as one.
    if !dir.is_dir() {
        if let Err(why) = reads_as_suite(path) {
            return Err(not_named_right(path, Some(why)));
        }
    }
    pending_in(&dir, out).map_err(|e| failed_dir(&dir, e))
}

/// `path` is none of what `accept`, `reject` and `review` take; `why`, when known.
fn not_named_right(path: &Path, why: Option<String>) -> Diagnostic {
    let d = Diagnostic::error(
        path,
        Span::UNKNOWN,
        "not a suite, a directory or a pending golden",
    )
    .with_help(format!(
        "name a suite (`x.yaml`), a directory, a golden (`x.golden/NAME.yaml`) or its \
         `{PENDING_SUFFIX}` file"
    ));
    match why {
        Some(why) => d.with_label(why),
        None => d,
    }
}

/// Whether `path` is a golden transcript: a `*.yaml` in a `*.golden` directory, or one whose
/// first line is the golden header (a golden kept elsewhere). A path whose file cannot be
/// read is one only by where it is.
pub fn is_golden_transcript(path: &Path) -> bool {
    is_golden_name(path) && (in_golden_dir(path) || starts_with_header(path))
}

/// `*.yaml`, as a golden is named (`<slug>.yaml`).
fn is_golden_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(".yaml") && n.len() > ".yaml".len())
}

/// Directly in a `*.golden` directory.
fn in_golden_dir(path: &Path) -> bool {
    path.parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n.to_string_lossy().ends_with(".golden"))
}

/// The file at `path` starts with the golden header. Only that many bytes are read.
fn starts_with_header(path: &Path) -> bool {
    use std::io::Read;
    let header = super::file::HEADER.as_bytes();
    let mut first = Vec::with_capacity(header.len());
    std::fs::File::open(path)
        .and_then(|f| f.take(header.len() as u64).read_to_end(&mut first))
        .is_ok_and(|_| first == header)
}

/// Whether the file at `path` is a suite, as far as pending goldens need to know: a YAML
/// mapping with `dialogues:` (nothing else of it is checked: a suite that `run` would refuse
/// still has its goldens). A mock script or a config is not. `Err` says why not.
fn reads_as_suite(path: &Path) -> Result<(), String> {
    let file = crate::suite::read_source(path).map_err(|d| match d.label {
        Some(label) => format!("{}: {label}", d.message),
        None => d.message,
    })?;
    let top: BTreeMap<String, serde::de::IgnoredAny> = crate::yaml::parse(&file).map_err(|d| {
        format!(
            "it does not read as a suite ({}: {})",
            d.location(),
            d.message
        )
    })?;
    if top.contains_key("dialogues") {
        Ok(())
    } else {
        Err("it has no `dialogues:`, so it is no suite (a mock script or a config?)".into())
    }
}

/// Golden files (`*.yaml`) and pending files (`*.yaml.new`) in each suite's golden directory
/// with no dialogue of that slug behind them, sorted. Pending files count too: a `.new` left
/// from a dialogue that was since renamed or removed would otherwise stay forever. A dialogue
/// with `golden: false` still counts as being behind its file (the file is stale, but it is
/// not an orphan). A missing golden directory has no orphans.
pub fn orphans<'a>(suites: impl IntoIterator<Item = &'a Suite>) -> Vec<PathBuf> {
    // Two suite files (`x.yaml` and `x.yml`) can share a golden directory.
    let mut slugs: BTreeMap<&Path, BTreeSet<String>> = BTreeMap::new();
    for s in suites {
        slugs
            .entry(s.golden_dir.as_path())
            .or_default()
            .extend(s.dialogues.iter().map(|d| slug(&d.name)));
    }
    let mut out = Vec::new();
    for (dir, known) in slugs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            // Hidden files include our own `.agenttest-*.tmp` from an interrupted write.
            if name.starts_with('.') || !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let stem = name
                .strip_suffix(PENDING_SUFFIX)
                .or_else(|| name.strip_suffix(".yaml"));
            if let Some(stem) = stem {
                if !known.contains(stem) {
                    out.push(entry.path());
                }
            }
        }
    }
    out.sort();
    out
}

/// The golden a pending file promotes to: the same path without `.new`.
fn golden_of(pending: &Path) -> Option<PathBuf> {
    if !is_pending_name(pending) {
        return None;
    }
    let s = pending.to_str()?;
    s.strip_suffix(".new").map(PathBuf::from)
}

fn is_pending_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(PENDING_SUFFIX) && n.len() > PENDING_SUFFIX.len())
}

/// `x.yaml` / `x.yml` → `x.golden` beside it.
fn suite_golden_dir(path: &Path) -> Option<PathBuf> {
    let ext = path.extension()?.to_str()?;
    if ext != "yaml" && ext != "yml" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    Some(path.with_file_name(format!("{stem}.golden")))
}

/// Pending files directly in a golden directory (none if it does not exist): regular files,
/// not links, and not hidden ones (no slug starts with `.`).
fn pending_in(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && entry.file_type()?.is_file() && is_pending_name(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// Recursive search for `*.golden/*.yaml.new` (regular files, hidden entries skipped), walked
/// as suite discovery walks (`suite::discover`): links to directories are followed, each
/// directory once, so the pending files a run wrote under a linked folder of suites, or into a
/// `.golden` that is itself a link, are found where `run` of the same directory put them. A
/// link that leads back up is never entered (`fsutil::walk_files`), so a loop ends and `reject`
/// cannot wander into folders beside the one named. A `.golden` directory is listed on sight,
/// not walked: the walker enters each directory once, and the same directory met first under
/// another name (`goldens/support`, linked from `support.golden`) would otherwise hide it. A
/// file listed under two names is taken once by [`find_pending`].
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let opts = WalkOptions {
        follow_dir_links: true,
        include_hidden: false,
    };
    let mut failed = None;
    let walked = fsutil::walk_files(dir, opts, |e| {
        if !e.file_type.is_dir() {
            return Visit::Skip;
        }
        if !e.name.ends_with(".golden") {
            return Visit::Descend;
        }
        // Listed, not entered, so the walker's own rule is asked here: a `.golden` that is a
        // link up to a directory holding it (`x.golden -> ..`) would hand `reject` the
        // files of folders above the one named.
        if e.is_symlink && fsutil::leads_up(e.path) {
            return Visit::Skip;
        }
        if let Err(err) = pending_in(e.path, out) {
            failed.get_or_insert(err);
        }
        // A golden directory holds files, not more directories to search.
        Visit::Skip
    });
    if let Some(err) = failed {
        return Err(err);
    }
    if let Some(e) = walked.errors.into_iter().next() {
        return Err(e.source);
    }
    Ok(())
}

/// The old golden's text: `None` if there is none. Any other read error is reported rather
/// than overwritten blindly: the file might be someone's work.
fn read_old(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "failed to read the old golden {}: {e}; it was left as it was",
            path.display()
        )),
    }
}

/// The `baseline: {runs, passed}` recorded in the golden at `path`: `None` when there is no
/// golden or it records none; why it cannot be read when the golden is unreadable or invalid
/// (a baseline edited by hand into one that makes no sense), which a gate must say rather
/// than that nothing was recorded.
pub fn recorded_baseline(path: &Path) -> Result<Option<super::file::Baseline>, String> {
    let Some(bytes) = read_old(path)? else {
        return Ok(None);
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{} is not valid UTF-8", path.display()))?;
    match parse(&SourceFile::new(path, text)) {
        Ok(g) => Ok(g.baseline),
        Err(d) => Err(match &d.label {
            Some(label) => format!("{}: {} ({label})", d.location(), d.message),
            None => format!("{}: {}", d.location(), d.message),
        }),
    }
}

/// The old golden, if it exists and is valid; an invalid one is simply replaced.
fn parse_old(path: &Path, old: Option<&[u8]>) -> Option<GoldenFile> {
    let text = std::str::from_utf8(old?).ok()?;
    parse(&SourceFile::new(path, text)).ok()
}

enum Written {
    Created,
    Changed,
    Unchanged,
}

/// Writes `text` at `path` atomically unless it already holds exactly those bytes. A golden
/// whose lines end in CRLF (a Windows checkout with `core.autocrlf`) is written with CRLF: it
/// reads the same, and rewriting every line of it would show as a whole-file change in
/// review for a golden whose turns all still match.
fn write_golden(path: &Path, old: Option<&[u8]>, text: &str) -> Result<Written, String> {
    let crlf = old
        .and_then(|o| {
            o.iter()
                .position(|&b| b == b'\n')
                .map(|at| at > 0 && o[at - 1] == b'\r')
        })
        .unwrap_or(false);
    let text: std::borrow::Cow<str> = if crlf {
        text.replace('\n', "\r\n").into()
    } else {
        text.into()
    };
    let text = &*text;
    if old == Some(text.as_bytes()) {
        return Ok(Written::Unchanged);
    }
    let fail = |e: std::io::Error| {
        format!(
            "failed to write golden {}: {e}; the old golden is intact",
            path.display()
        )
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    write_atomic(path, text.as_bytes()).map_err(fail)?;
    Ok(if old.is_some() {
        Written::Changed
    } else {
        Written::Created
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::diag::Span;
    use crate::judge::golden::file::GoldenTurn;
    use crate::suite::model::{BaseUrl, Dialogue, Endpoint, EndpointKind, GoldenMode, SessionMode};

    fn golden(turns: &[(&str, u16, &str)]) -> GoldenFile {
        GoldenFile {
            suite: "support".into(),
            dialogue: "d".into(),
            baseline: None,
            turns: turns
                .iter()
                .map(|(u, s, a)| GoldenTurn {
                    user: u.to_string(),
                    status: *s,
                    agent: a.to_string(),
                })
                .collect(),
        }
    }

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).unwrap()
    }

    /// `g` as the transcript of a dialogue in mode `exact`.
    fn exact(g: &GoldenFile) -> Transcript {
        Transcript {
            file: g.clone(),
            mode: GoldenMode::Exact,
        }
    }

    #[test]
    fn bless_creates_changes_and_leaves_identical_goldens_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/d.yaml");
        let g = golden(&[("hi", 200, "Hello!")]);
        assert_eq!(
            bless(&path, &exact(&g), &[]),
            BlessAction::Created(path.clone())
        );
        assert_eq!(read(&path), render(&g));
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(
            bless(&path, &exact(&g), &[]),
            BlessAction::Unchanged(path.clone())
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );
        let g2 = golden(&[("hi", 200, "Hi!")]);
        assert_eq!(
            bless(&path, &exact(&g2), &[]),
            BlessAction::Changed(path.clone())
        );
        assert_eq!(read(&path), render(&g2));
        // No temporary files are left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_crlf_golden_stays_crlf_and_unchanged_when_it_matches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("support.golden/d.yaml");
        let g = golden(&[("hi", 200, "Hello!\nSecond line.")]);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let crlf = render(&g).replace('\n', "\r\n");
        std::fs::write(&path, &crlf).unwrap();
        assert_eq!(
            bless(&path, &exact(&g), &[]),
            BlessAction::Unchanged(path.clone())
        );
        assert_eq!(read(&path), crlf);
        // A changed turn is written in the file's own line endings, and reads back.
        let g2 = golden(&[("hi", 200, "Hi!")]);
        assert_eq!(
            bless(&path, &exact(&g2), &[]),
            BlessAction::Changed(path.clone())
        );
        assert_eq!(read(&path), render(&g2).replace('\n', "\r\n"));
        let back = parse_old(&path, Some(read(&path).as_bytes())).expect("parses");
        assert_eq!(back.turns[0].agent, "Hi!");
    }

    #[test]
    fn bless_keeps_matching_wildcard_turns_and_removes_the_pending_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        let old = golden(&[("hi", 200, "Hello [..]!"), ("hours?", 200, "9 to 5")]);
        std::fs::write(&path, render(&old)).unwrap();
        std::fs::write(pending_path(&path), "stale").unwrap();
        let new = golden(&[("hi", 200, "Hello Ada!"), ("hours?", 200, "9 to 6")]);
        assert_eq!(
            bless(&path, &exact(&new), &[]),
            BlessAction::Changed(path.clone())
        );
        let written = read(&path);
        assert!(written.contains("agent: Hello [..]!\n"), "{written}");
        assert!(written.contains("agent: 9 to 6\n"), "{written}");
        assert!(!pending_path(&path).exists());
        // Everything still matches: nothing to write.
        assert_eq!(
            bless(&path, &exact(&new), &[]),
            BlessAction::Unchanged(path.clone())
        );
    }

    #[test]
    fn bless_replaces_an_invalid_golden() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        std::fs::write(&path, "not: [a golden").unwrap();
        let g = golden(&[("hi", 200, "Hello!")]);
        assert_eq!(
            bless(&path, &exact(&g), &[]),
            BlessAction::Changed(path.clone())
        );
        assert_eq!(read(&path), render(&g));
    }

    #[test]
    fn accept_promotes_exactly_the_pending_bytes_and_deletes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        let pending = pending_path(&path);
        // Hand-made layout and a comment: accepted byte for byte, not re-rendered.
        let text = "# reviewed\nsuite: support\ndialogue: d\nturns:\n- user: hi\n  status: 200\n  agent: 'Hello!'\n";
        std::fs::write(&pending, text).unwrap();
        assert_eq!(
            accept(std::slice::from_ref(&pending)),
            vec![PendingAction::Created(path.clone())]
        );
        assert_eq!(read(&path), text);
        assert!(!pending.exists());
        // Same bytes again: kept, not rewritten, and the pending file is still cleaned up.
        std::fs::write(&pending, text).unwrap();
        assert_eq!(
            accept(std::slice::from_ref(&pending)),
            vec![PendingAction::Kept(path.clone())]
        );
        assert!(!pending.exists());
    }

    #[test]
    fn accept_keeps_matching_wildcard_turns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        let old = golden(&[("hi", 200, "Hello [..]!"), ("bye", 200, "Bye.")]);
        std::fs::write(&path, render(&old)).unwrap();
        let new = golden(&[("hi", 200, "Hello Bob!"), ("bye", 200, "Goodbye.")]);
        std::fs::write(pending_path(&path), render(&new)).unwrap();
        assert_eq!(
            accept(&[pending_path(&path)]),
            vec![PendingAction::Changed(path.clone())]
        );
        let merged = golden(&[("hi", 200, "Hello [..]!"), ("bye", 200, "Goodbye.")]);
        assert_eq!(read(&path), render(&merged));
    }

    /// SPEC §3.3: a turn that still passes in `similar` mode is kept as reviewed by `--bless`
    /// (a golden whose every turn passes is left unchanged) and by `accept`, which reads the
    /// mode from the pending file and writes the golden without that record; `accepted`, which
    /// `review` shows, says the same.
    #[test]
    fn bless_and_accept_keep_turns_that_pass_in_similar_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        let ten = "one TWO three four five six seven eight nine ten";
        let old = golden(&[("a", 200, ten), ("b", 200, "gamma delta")]);
        std::fs::write(&path, render(&old)).unwrap();
        let lower = "one two three four five six seven eight nine ten";
        let mode = GoldenMode::Similar { threshold: 0.8 };
        let similar = |g: GoldenFile| Transcript { file: g, mode };
        let passing = golden(&[("a", 200, lower), ("b", 200, "gamma delta")]);
        assert_eq!(
            bless(&path, &similar(passing.clone()), &[]),
            BlessAction::Unchanged(path.clone())
        );
        assert_eq!(read(&path), render(&old));
        // In `exact` mode the same bless records what was seen.
        assert_eq!(
            bless(&path, &exact(&passing), &[]),
            BlessAction::Changed(path.clone())
        );
        std::fs::write(&path, render(&old)).unwrap();

        let new = golden(&[("a", 200, lower), ("b", 200, "alpha beta")]);
        let expected = render(&golden(&[("a", 200, ten), ("b", 200, "alpha beta")]));
        let pending = pending_path(&path);
        std::fs::write(&pending, super::super::render_pending(&new, mode)).unwrap();
        let shown = accepted(&path, Some(render(&old).as_bytes()), &new).unwrap();
        assert_eq!(render(&shown), expected);
        assert_eq!(
            accept(std::slice::from_ref(&pending)),
            vec![PendingAction::Changed(path.clone())]
        );
        assert_eq!(read(&path), expected);
        assert!(!pending.exists());

        // A new golden from a pending file that records its mode: without the record.
        let fresh = dir.path().join("e.yaml");
        std::fs::write(
            pending_path(&fresh),
            super::super::render_pending(&new, mode),
        )
        .unwrap();
        assert_eq!(
            accept(&[pending_path(&fresh)]),
            vec![PendingAction::Created(fresh.clone())]
        );
        assert_eq!(read(&fresh), render(&new));

        // With no mode recorded (`exact`, or a pending file of an older version), only text
        // and wildcard matches are kept, as before.
        std::fs::write(&pending, render(&new)).unwrap();
        assert_eq!(accepted(&path, Some(read(&path).as_bytes()), &new), None);
        accept(std::slice::from_ref(&pending));
        assert_eq!(read(&path), render(&new));
    }

    #[test]
    fn accept_leaves_an_invalid_pending_file_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.yaml");
        std::fs::write(&path, render(&golden(&[("hi", 200, "Hello!")]))).unwrap();
        let pending = pending_path(&path);
        std::fs::write(&pending, "suite: s\nturns: 3\n").unwrap();
        let actions = accept(std::slice::from_ref(&pending));
        match &actions[..] {
            [PendingAction::Failed(p, msg)] => {
                assert_eq!(p, &pending);
                assert!(msg.contains("invalid pending golden"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
        assert!(pending.exists());
        assert_eq!(read(&path), render(&golden(&[("hi", 200, "Hello!")])));
    }

    #[test]
    fn reject_deletes_pending_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let pending = dir.path().join("d.yaml.new");
        let suite = dir.path().join("support.yaml");
        std::fs::write(&pending, "x").unwrap();
        std::fs::write(&suite, "x").unwrap();
        let actions = reject(&[pending.clone(), suite.clone()]);
        assert_eq!(actions[0], PendingAction::Rejected(pending.clone()));
        assert!(matches!(&actions[1], PendingAction::Failed(p, _) if p == &suite));
        assert!(!pending.exists());
        assert!(suite.exists());
    }

    /// Writes a file at `rel` under `root`, its directories too.
    fn touch(root: &Path, rel: &str) -> PathBuf {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, "x").unwrap();
        p
    }

    #[test]
    fn find_pending_walks_directories_and_suites() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mk = |rel: &str| touch(root, rel);
        let b = mk("suites/support.golden/b.yaml.new");
        let a = mk("suites/support.golden/a.yaml.new");
        mk("suites/support.golden/a.yaml");
        let nested = mk("suites/deep/billing.golden/x.yaml.new");
        mk("suites/.hidden/h.golden/x.yaml.new");
        mk("suites/notgolden/y.yaml.new");
        mk("suites/support.yaml");
        let all = find_pending(&[root.join("suites")]).unwrap();
        assert_eq!(all, vec![nested.clone(), a.clone(), b.clone()]);
        let suite = find_pending(&[root.join("suites/support.yaml")]).unwrap();
        assert_eq!(suite, vec![a.clone(), b.clone()]);
        let gdir = find_pending(&[root.join("suites/support.golden")]).unwrap();
        assert_eq!(gdir, vec![a.clone(), b.clone()]);
        // A pending file named directly, and duplicates dropped.
        let direct = find_pending(&[b.clone(), root.join("suites")]).unwrap();
        assert_eq!(direct, vec![b.clone(), nested, a]);
        // A suite with no golden directory has nothing pending.
        std::fs::write(root.join("suites/empty.yaml"), "dialogues: []\n").unwrap();
        assert!(find_pending(&[root.join("suites/empty.yaml")])
            .unwrap()
            .is_empty());
        // Missing paths and other files are diagnostics, all at once.
        mk("suites/readme.txt");
        let errs = find_pending(&[root.join("nope"), root.join("suites/readme.txt")]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(errs[0].render(false).contains("no such file or directory"));
        assert!(errs[1].message.contains("not a suite"));
    }

    /// A golden named by its own path stands for its pending file; with none, it is named
    /// as settled. A `*.yaml` that is neither a golden nor a suite (a mock script: no
    /// `dialogues:`) is refused, saying why; one with a golden directory beside it is a suite.
    #[test]
    fn a_golden_names_its_pending_file_and_a_yaml_must_be_a_suite() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mk = |rel: &str| touch(root, rel);
        let golden = mk("suites/s.golden/a.yaml");
        let pending = mk("suites/s.golden/a.yaml.new");
        let other = mk("suites/s.golden/b.yaml");
        let fresh = mk("suites/s.golden/c.yaml.new");
        let all = vec![pending.clone(), fresh.clone()];
        let named = find_named(&[golden.clone(), other.clone()]).unwrap();
        assert_eq!(
            named,
            Named {
                pending: vec![pending.clone()],
                settled: vec![other.clone()],
            }
        );
        // Not recorded yet: named by the path the golden will have.
        let new = root.join("suites/s.golden/c.yaml");
        assert_eq!(find_pending(&[new]).unwrap(), vec![fresh.clone()]);
        // A golden kept elsewhere is known by its header.
        let kept = root.join("kept.yaml");
        std::fs::write(&kept, format!("{}\nsuite: s\n", super::super::file::HEADER)).unwrap();
        let kept_new = mk("kept.yaml.new");
        assert!(is_golden_transcript(&kept) && is_golden_transcript(&golden));
        assert_eq!(find_pending(&[kept]).unwrap(), vec![kept_new]);

        let script = root.join("suites/mock.yaml");
        std::fs::write(&script, "turns:\n  - match: hi\n    reply: hello\n").unwrap();
        let errs = find_pending(&[script]).unwrap_err();
        assert_eq!(
            errs[0].message,
            "not a suite, a directory or a pending golden"
        );
        assert!(
            errs[0]
                .label
                .as_deref()
                .unwrap()
                .contains("no `dialogues:`"),
            "{:?}",
            errs[0]
        );
        assert!(!is_golden_transcript(&root.join("suites/mock.yaml")));
        // Beside its golden directory, a suite that does not read is still a suite.
        std::fs::write(root.join("suites/s.yaml"), "dialogues: [\n").unwrap();
        assert_eq!(find_pending(&[root.join("suites/s.yaml")]).unwrap(), all);
    }

    /// Pending files are found where `run` writes them: in a `.golden` that is a link (even to
    /// a directory already met under another name), under a linked folder of suites; links
    /// that loop or lead up out of the named tree are not followed.
    #[cfg(unix)]
    #[test]
    fn find_pending_follows_links_as_run_reaches_them() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mk = |rel: &str| {
            touch(root, rel);
        };
        mk("suites/goldens/support/a.yaml.new");
        mk("suites/goldens/support/.b.yaml.new");
        mk("shared/billing.golden/c.yaml.new");
        mk("beside/x.golden/d.yaml.new");
        symlink("goldens/support", root.join("suites/support.golden")).unwrap();
        symlink("goldens/support", root.join("suites/again.golden")).unwrap();
        symlink("../shared", root.join("suites/shared")).unwrap();
        symlink("..", root.join("suites/up")).unwrap();
        // A `.golden` that links up: listing it would reach the files above `suites`.
        mk("above.yaml.new");
        symlink("..", root.join("suites/x.golden")).unwrap();
        let rel = |p: &PathBuf| p.strip_prefix(root).unwrap().display().to_string();
        let all = find_pending(&[root.join("suites")]).unwrap();
        assert_eq!(
            all.iter().map(rel).collect::<Vec<_>>(),
            [
                "suites/again.golden/a.yaml.new",
                "suites/shared/billing.golden/c.yaml.new"
            ]
        );
        // The same file named twice, through the walk and directly: once, as first met.
        let both = find_pending(&[root.join("suites"), root.join("suites/support.golden")]);
        assert_eq!(both.unwrap(), all);
    }

    fn dialogue(name: &str) -> Dialogue {
        Dialogue {
            name: name.into(),
            span: Span::UNKNOWN,
            row: None,
            tags: Vec::new(),
            skip: None,
            vars: Default::default(),
            endpoint: Arc::new(Endpoint {
                kind: EndpointKind::Thinnest,
                base_url: BaseUrl::Mock,
                env_secrets: Vec::new(),
                agent_id: "ag".into(),
                api_key: None,
                headers: Vec::new(),
                timeout: Endpoint::DEFAULT_TIMEOUT,
                retries: 0,
                rate_limit: None,
                mock_script: None,
            }),
            session: SessionMode::Fresh,
            golden: GoldenMode::Exact,
            repeat: 1,
            min_pass: crate::suite::model::MinPass::Count(1),
            alpha: None,
            turns: Vec::new(),
        }
    }

    #[test]
    fn orphans_are_files_without_a_dialogue() {
        let dir = tempfile::tempdir().unwrap();
        let gdir = dir.path().join("support.golden");
        std::fs::create_dir_all(&gdir).unwrap();
        for f in [
            "business-hours.yaml",
            "business-hours.yaml.new",
            "old-dialogue.yaml",
            "renamed.yaml.new",
            ".agenttest-1.tmp",
            "notes.txt",
        ] {
            std::fs::write(gdir.join(f), "x").unwrap();
        }
        let suite = Suite {
            name: "support".into(),
            path: dir.path().join("support.yaml"),
            golden_dir: gdir.clone(),
            normalize: Vec::new(),
            dialogues: vec![dialogue("Business hours")],
            judge: None,
        };
        let missing_dir = Suite {
            golden_dir: dir.path().join("other.golden"),
            ..suite.clone()
        };
        assert_eq!(
            orphans(&[suite, missing_dir]),
            vec![
                gdir.join("old-dialogue.yaml"),
                gdir.join("renamed.yaml.new")
            ]
        );
    }
}
