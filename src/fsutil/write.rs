//! Writing a report or a golden without ever renaming over something that is not a regular
//! file (see the parent module). Never reads what is there. Makes no directory but when asked
//! to ready a path before a run ([`ready_to_write`]), so that a path that cannot be written
//! is found before the work whose results it would hold.
//!
//! A report can be written as it is made ([`write_atomic_with`]), through a buffer, so a big
//! run's report never has to exist whole in memory: the temporary file takes the bytes, and
//! only the rename makes them visible.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long [`write_atomic`] waits for a process to open a FIFO for reading before it gives
/// up: long enough for `mkfifo p; agenttest run --json p & consumer < p` to start in either
/// order, short enough that a forgotten reader fails the CI step instead of hanging it. An
/// interrupt that comes during the wait ends it sooner ([`interrupt_waits`]).
pub const FIFO_READER_WAIT: Duration = Duration::from_secs(10);

/// How many interrupts (Ctrl-C, SIGTERM) the process has had, as [`interrupt_waits`] counts
/// them. Process-wide on purpose: the wait for a FIFO's reader runs three calls below the app
/// (report writer, [`write_atomic_with`], the open), on a report's own thread, and a signal is
/// itself process-wide; handing the run's cancellation token down instead would add it to
/// every report writer's signature (and `merge`'s) for this one wait.
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);

/// Ends every wait for a FIFO's reader that is under way now: each gives up at once with
/// [`io::ErrorKind::Interrupted`], having written nothing. A wait that starts later waits as
/// usual (until a later call), so an interrupted run still writes its reports to a reader that
/// comes (SPEC §4). The app's signal listener calls this.
pub fn interrupt_waits() {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// As many symbolic links as Linux follows in one path before it says `ELOOP`.
const MAX_LINKS: usize = 40;

/// Writes `contents` to `path`: atomically when `path` is (or will be) a regular file, in place
/// when it is a device or a FIFO; see the module documentation. A symbolic link is resolved and
/// its target replaced (a dangling link creates its target). A directory or a block device is
/// an error, as is any failed write (`/dev/full` says "no space left on device"). A replaced
/// file is [`Durability::Synced`]: this is how goldens are written.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with(path, Durability::Synced, |out| out.write_all(contents))
}

/// What a replaced regular file is promised beyond atomicity (a reader, or a process killed
/// mid-write, sees the old file or the new one, never a torn one: the rename gives that).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk before the rename, the directory too: survives a power cut right after. For
    /// goldens, the reviewed truth a user commits.
    Synced,
    /// Left to the kernel's write-back. For reports, which every run writes anew and a CI job
    /// reads from the page cache at once: their fsyncs were most of a run's last 10 ms (a
    /// 4 MB JSON report and its JUnit, each synced and then its directory), and bought nothing
    /// a rerun does not.
    Atomic,
}

/// Where [`write_atomic_with`] has its caller write: a buffer in front of the temporary file,
/// the device or the stream.
pub type Sink<'a> = BufWriter<&'a mut dyn Write>;

/// Big enough that a report goes out in few system calls, small beside any report worth
/// streaming.
const SINK_BUFFER: usize = 64 * 1024;

/// [`write_atomic`] with the contents written by `fill` as it makes them, with the same
/// guarantees: a regular file is replaced only once `fill` succeeded, and is on disk first if
/// `durability` says so (on an error the temporary file is removed and the old file stays); a
/// device, FIFO or descriptor is written in place, so there a failed `fill` leaves what it
/// wrote.
pub fn write_atomic_with(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut Sink<'_>) -> io::Result<()>,
) -> io::Result<()> {
    match plan_write(path)? {
        Plan::Replace(target) => replace(&target, durability, fill),
        Plan::InPlace { path, append } => {
            let mut file = open_in_place(&path, append)?;
            // No fsync: a device may refuse it (`EINVAL`), and there is nothing to make
            // durable.
            write_through(&mut file, fill)
        }
        Plan::Stdout => write_through(&mut io::stdout().lock(), fill),
        Plan::Stderr => write_through(&mut io::stderr().lock(), fill),
    }
}

/// The regular file a write of `path` replaces, as [`write_atomic_with`] would find it (links
/// followed), named by its directory resolved and its own name, so that `./x`, `d/../x` and a
/// link to `x` are one file; `None` when `path` would be written in place (a device, a FIFO,
/// a descriptor), which takes several writes one after the other, or is no place to write.
pub fn replaced_file(path: &Path) -> Option<PathBuf> {
    let Ok(Plan::Replace(target)) = plan_write(path) else {
        return None;
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match (resolved_dir(dir), target.file_name()) {
        (Some(dir), Some(name)) => Some(dir.join(name)),
        _ => Some(target),
    }
}

/// `dir` resolved as the kernel will once the missing part of it is made: each existing
/// prefix with its links followed, and what does not exist yet taken as written, where a
/// `..` returns to the directory before it (a directory still to be made is no link). So
/// `nosuch/../r.out` is `./r.out` before `nosuch` exists, as it will be after.
fn resolved_dir(dir: &Path) -> Option<PathBuf> {
    if let Ok(d) = std::fs::canonicalize(dir) {
        return Some(d);
    }
    let mut at = if dir.is_absolute() {
        PathBuf::new()
    } else {
        std::env::current_dir().ok()?
    };
    for part in dir.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                at.pop();
            }
            other => {
                at.push(other);
                // A `..` after a missing part can lead back to a link that does exist.
                if let Ok(real) = std::fs::canonicalize(&at) {
                    at = real;
                }
            }
        }
    }
    Some(at)
}

/// Readies `path` for a write to come, so that a path that cannot take one is found before a
/// run's work rather than after it: the directory of the file a write would replace (links
/// followed: a link to nothing gets its target's directory) is made, and a scratch file is
/// made there and removed, as the write will (`/sys`, a read-only mount, no permission). A
/// device, FIFO or descriptor is left to the write itself.
pub fn ready_to_write(path: &Path) -> io::Result<()> {
    let Plan::Replace(target) = plan_write(path)? else {
        return Ok(());
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| in_dir("cannot make", dir, &e))?;
    let probe = scratch_in(dir, 0o666)?;
    drop(probe);
    Ok(())
}

/// A scratch file in `dir` with `mode`, removed when dropped: where a file is written before
/// it replaces another. Its error names `dir`, not the scratch file's made-up name.
fn scratch_in(dir: &Path, mode: u32) -> io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".agenttest-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    builder
        .tempfile_in(dir)
        .map_err(|e| in_dir("cannot write in", dir, &e))
}

/// `cannot write in DIR: Permission denied (os error 13)`, keeping the error's kind.
fn in_dir(what: &str, dir: &Path, e: &io::Error) -> io::Error {
    let cause = match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code).to_string(),
        None => e.kind().to_string(),
    };
    io::Error::new(e.kind(), format!("{what} {}: {cause}", dir.display()))
}

/// Runs `fill` over a buffer in front of `out`, then flushes it: a write error (`/dev/full`
/// says "no space left on device") is returned, never lost in a drop.
fn write_through(
    out: &mut dyn Write,
    fill: impl FnOnce(&mut Sink<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let mut sink = BufWriter::with_capacity(SINK_BUFFER, out);
    fill(&mut sink)?;
    sink.flush()
}

/// How a path is written.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Temporary file + rename at this path (never a symbolic link).
    Replace(PathBuf),
    /// Open this path and write to it. `append` for a regular file reached through a file
    /// descriptor (`/dev/stdout` redirected to a file): written after what is already there,
    /// as a write to the descriptor itself would be.
    InPlace {
        path: PathBuf,
        append: bool,
    },
    /// `/dev/stdout` or `-`: through this process's own standard output, so the report lands
    /// where a print would, in order with what was printed and at the same offset of a file.
    Stdout,
    Stderr,
}

/// Whether a write of `path` goes to this process's standard output (`/dev/stdout`, a link to
/// it, or `-`): the console then moves to standard error, so that the report alone is what a
/// pipe (`--json - | jq`) reads.
pub fn writes_to_stdout(path: &Path) -> bool {
    matches!(plan_write(path), Ok(Plan::Stdout))
}

fn plan_write(path: &Path) -> io::Result<Plan> {
    // `-` is standard output, as for every tool that takes an output file; a file of that
    // name is still reachable as `./-`.
    if path == Path::new("-") {
        return Ok(Plan::Stdout);
    }
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match resolve_links(path)? {
            Resolved::Path(p) => p,
            Resolved::Descriptor(hop) => return plan_through_descriptor(path, &hop),
        },
        _ => path.to_path_buf(),
    };
    match std::fs::symlink_metadata(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Plan::Replace(target)),
        Err(e) => Err(e),
        Ok(m) if m.is_file() => Ok(Plan::Replace(target)),
        Ok(m) => plan_not_regular(target, m.file_type()),
    }
}

/// `/dev/stdout`, `/dev/fd/N`, `/proc/self/fd/N`: the kernel's magic links name an open file,
/// which may be a pipe, a terminal or a file deleted since; the link's text is no path to
/// rename at. Our own standard output and error are written through the streams themselves;
/// any other descriptor through the link.
fn plan_through_descriptor(path: &Path, hop: &Path) -> io::Result<Plan> {
    let own = |n: u8| {
        hop == Path::new(&format!("/proc/self/fd/{n}")) || hop == Path::new(&format!("/dev/fd/{n}"))
    };
    if own(1) {
        return Ok(Plan::Stdout);
    }
    if own(2) {
        return Ok(Plan::Stderr);
    }
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        return Ok(Plan::InPlace {
            path: path.to_path_buf(),
            append: true,
        });
    }
    plan_not_regular(path.to_path_buf(), meta.file_type())
}

fn plan_not_regular(path: PathBuf, ft: FileType) -> io::Result<Plan> {
    if ft.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    if is_block_device(&ft) {
        // No report belongs on a disk; renaming over it is no better. Say no.
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "refusing to write over a block device",
        ));
    }
    Ok(Plan::InPlace {
        path,
        append: false,
    })
}

enum Resolved {
    /// The path a chain of symbolic links ends at: not a link (it may not exist).
    Path(PathBuf),
    /// The chain goes through this file descriptor link, under `/proc` or `/dev/fd`.
    Descriptor(PathBuf),
}

/// Follows `path`'s symbolic links one by one, each relative to the directory holding it.
fn resolve_links(path: &Path) -> io::Result<Resolved> {
    let mut cur = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        if is_descriptor_path(&cur) {
            return Ok(Resolved::Descriptor(cur));
        }
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {}
            _ => return Ok(Resolved::Path(cur)),
        }
        let link = std::fs::read_link(&cur)?;
        // `join` keeps an absolute link as it is.
        cur = match cur.parent() {
            Some(dir) => dir.join(&link),
            None => link,
        };
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

fn is_descriptor_path(p: &Path) -> bool {
    p.starts_with("/proc") || p.starts_with("/dev/fd")
}

/// The atomic write: temp file beside `path`, filled, fsynced if [`Durability::Synced`],
/// renamed, then the directory fsynced if so.
fn replace(
    path: &Path,
    durability: Durability,
    fill: impl FnOnce(&mut Sink<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // tempfile creates 0600 files; a golden or report must stay readable like any file the
    // user writes (CI artifact uploaders and containers often run as another uid). Keep the
    // mode of the file being replaced, else 0666 less the umask, as `open` would give.
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o666)
    };
    #[cfg(not(unix))]
    let mode = 0o666;
    let mut tmp = scratch_in(dir, mode)?;
    // On an error the temporary file is dropped, which removes it.
    write_through(tmp.as_file_mut(), fill)?;
    if durability == Durability::Atomic {
        return tmp.persist(path).map(drop).map_err(|e| e.error);
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    if let Ok(d) = File::open(dir) {
        // Not every platform lets a directory be fsynced; the rename already happened.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn open_in_place(path: &Path, append: bool) -> io::Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut opts = OpenOptions::new();
    // Never create (the node exists), never truncate (a device has nothing to truncate and
    // a descriptor's file is appended to), never become the controlling terminal.
    opts.write(true).append(append).custom_flags(libc::O_NOCTTY);
    let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
    // A blocking open of a FIFO waits for a reader forever; wait a bounded time instead, and
    // only until the next interrupt (see [`INTERRUPTS`]). The probe stays open until the real
    // descriptor is, so the reader cannot be missed between.
    let _probe = if is_fifo {
        let seen = INTERRUPTS.load(Ordering::SeqCst);
        let interrupted = || INTERRUPTS.load(Ordering::SeqCst) != seen;
        Some(wait_for_fifo_reader(path, FIFO_READER_WAIT, interrupted)?)
    } else {
        None
    };
    opts.open(path)
}

#[cfg(not(unix))]
fn open_in_place(path: &Path, append: bool) -> io::Result<File> {
    OpenOptions::new().write(true).append(append).open(path)
}

/// A non-blocking write end of the FIFO, once a process has it open for reading: looked for
/// every [`FIFO_POLL`] until `wait` is over or `interrupted` says so.
#[cfg(unix)]
fn wait_for_fifo_reader(
    path: &Path,
    wait: Duration,
    interrupted: impl Fn() -> bool,
) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::Instant;
    let deadline = Instant::now() + wait;
    loop {
        let probe = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path);
        match probe {
            Ok(file) => return Ok(file),
            // ENXIO: nobody has the FIFO open for reading yet.
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                if interrupted() {
                    return Err(io::Error::new(
                        io::ErrorKind::Interrupted,
                        "it is a FIFO and no process opened it for reading before the \
                         interrupt",
                    ));
                }
                if Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "it is a FIFO and no process opened it for reading within {}s",
                            wait.as_secs()
                        ),
                    ));
                }
                std::thread::sleep(FIFO_POLL);
            }
            Err(e) => return Err(e),
        }
    }
}

/// How often [`wait_for_fifo_reader`] looks for a reader (and for an interrupt): a reader or
/// a Ctrl-C is answered at once, as a person sees it.
#[cfg(unix)]
const FIFO_POLL: Duration = Duration::from_millis(20);

#[cfg(unix)]
fn is_block_device(ft: &FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    ft.is_block_device()
}

#[cfg(not(unix))]
fn is_block_device(_: &FileType) -> bool {
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Read;

    #[cfg(unix)]
    #[test]
    fn a_file_through_a_directory_not_yet_made_is_the_file_it_will_be() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("other")).unwrap();
        std::os::unix::fs::symlink(d.join("other"), d.join("link")).unwrap();
        let same = |a: &str, b: &str| {
            assert_eq!(
                replaced_file(&d.join(a)),
                replaced_file(&d.join(b)),
                "{a} / {b}"
            );
        };
        same("nosuch/../r.out", "r.out");
        same("nosuch/deeper/../../r.out", "./r.out");
        same("nosuch/../link/r.out", "other/r.out");
        assert_ne!(
            replaced_file(&d.join("nosuch/r.out")),
            replaced_file(&d.join("r.out"))
        );
    }

    #[test]
    fn replaces_whole_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        write_atomic(&p, b"old").unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_readable_and_modes_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        write_atomic(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o044, 0o044, "group and others can read: {mode:o}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"y").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_failed_fill_keeps_the_old_file_and_leaves_no_temp() {
        for durability in [Durability::Synced, Durability::Atomic] {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("r.json");
            write_atomic(&p, b"old").unwrap();
            let e = write_atomic_with(&p, durability, |out| {
                out.write_all(&[b'x'; 200_000])?;
                Err(io::Error::other("the renderer gave up"))
            })
            .unwrap_err();
            assert_eq!(e.to_string(), "the renderer gave up");
            assert_eq!(std::fs::read_to_string(&p).unwrap(), "old");
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }

    #[test]
    fn a_streamed_write_lands_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"old").unwrap();
        write_atomic_with(&p, Durability::Atomic, |out| {
            for i in 0..100_000u32 {
                writeln!(out, "{i}")?;
            }
            Ok(())
        })
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text.lines().count(), 100_000);
        assert!(text.ends_with("99999\n"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "a temp file is left"
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_atomic(&dir.path().join("nope/a.yaml"), b"x").is_err());
    }

    #[test]
    fn a_directory_is_an_error_and_stays() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(dir.path(), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        assert!(dir.path().is_dir());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_kept_and_their_targets_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("artifacts")).unwrap();
        std::fs::write(root.join("artifacts/r.xml"), "old").unwrap();
        // A relative link, a link to that link, and a dangling one.
        std::os::unix::fs::symlink("artifacts/r.xml", root.join("r.xml")).unwrap();
        std::os::unix::fs::symlink(root.join("r.xml"), root.join("r2.xml")).unwrap();
        std::os::unix::fs::symlink("artifacts/new.xml", root.join("n.xml")).unwrap();
        write_atomic(&root.join("r2.xml"), b"new").unwrap();
        write_atomic(&root.join("n.xml"), b"made").unwrap();
        for link in ["r.xml", "r2.xml", "n.xml"] {
            let m = std::fs::symlink_metadata(root.join(link)).unwrap();
            assert!(m.file_type().is_symlink(), "{link} is still a link");
        }
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
        assert_eq!(read("artifacts/r.xml"), "new");
        assert_eq!(read("artifacts/new.xml"), "made");
        assert_eq!(
            std::fs::read_dir(root.join("artifacts")).unwrap().count(),
            2
        );
    }

    #[cfg(unix)]
    #[test]
    fn plans_for_links_and_descriptors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::os::unix::fs::symlink("/dev/stdout", root.join("out")).unwrap();
        std::os::unix::fs::symlink("/dev/fd/2", root.join("err")).unwrap();
        std::os::unix::fs::symlink("loop2", root.join("loop1")).unwrap();
        std::os::unix::fs::symlink("loop1", root.join("loop2")).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(plan_write(&root.join("out")).unwrap(), Plan::Stdout);
            assert_eq!(plan_write(&root.join("err")).unwrap(), Plan::Stderr);
        }
        assert!(resolve_links(&root.join("loop1")).is_err());
        assert!(write_atomic(&root.join("loop1"), b"x").is_err());
        assert_eq!(
            plan_write(&root.join("new")).unwrap(),
            Plan::Replace(root.join("new"))
        );
    }

    #[cfg(unix)]
    pub(crate) fn mkfifo(p: &Path) {
        let ok = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_with_a_reader_is_written_through() {
        use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p");
        mkfifo(&p);
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        write_atomic(&p, b"through").unwrap();
        let mut got = String::new();
        (&reader).read_to_string(&mut got).unwrap();
        assert_eq!(got, "through");
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_fifo());
    }

    /// Nobody reads: the wait ends at its bound, or at once when interrupted, never having
    /// opened the FIFO for writing.
    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_reader_is_waited_for_until_the_bound_or_an_interrupt() {
        use std::os::unix::fs::FileTypeExt;
        use std::sync::atomic::AtomicBool;
        use std::time::Instant;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p");
        mkfifo(&p);

        let e = wait_for_fifo_reader(&p, Duration::from_millis(100), || false).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);

        // An interrupt halfway through a long wait.
        let stop = AtomicBool::new(false);
        let started = Instant::now();
        let e = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, Ordering::SeqCst);
            });
            wait_for_fifo_reader(&p, Duration::from_secs(60), || stop.load(Ordering::SeqCst))
                .unwrap_err()
        });
        assert_eq!(e.kind(), io::ErrorKind::Interrupted);
        assert_eq!(
            e.to_string(),
            "it is a FIFO and no process opened it for reading before the interrupt"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_fifo());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
