//! Reading a file the user pointed at: a regular file, whole, up to a cap. Never blocks on a
//! FIFO, never reads a device, never reads past the cap.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// The largest suite or config file agenttest reads: 16 MiB. A hand-written suite is a few
/// kilobytes and a generated one with hundreds of dialogues stays under a megabyte, so this is
/// far above any real file; yet the whole text is kept in memory (for diagnostics that quote
/// it) and parsed into a tree several times its size, one file per core at once, so an
/// accidental `suites/huge.yaml` (a log, a dump, a link to `/dev/zero`) is refused with a clear
/// error instead of eating the CI runner's memory.
pub const MAX_SUITE_BYTES: u64 = 16 * 1024 * 1024;

/// Why [`read_regular_capped`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A directory, FIFO, device or socket (after following symbolic links).
    #[error("not a regular file: it is {kind}")]
    NotRegular { kind: &'static str },
    /// More than `cap` bytes.
    #[error("the file is larger than the {} limit", show_bytes(*cap))]
    TooLarge { cap: u64 },
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The bytes of the regular file at `path` (symbolic links followed), at most `cap` of them.
/// A FIFO, a device, a socket or a directory is [`ReadError::NotRegular`] without being read
/// (a FIFO without a writer would block, `/dev/zero` would never end); a longer file is
/// [`ReadError::TooLarge`], found out by reading at most `cap + 1` bytes whatever its size
/// claims to be.
pub fn read_regular_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    read_regular_capped_meta(path, cap).map(|(bytes, _)| bytes)
}

/// [`read_regular_capped`], with the metadata of the file that was read (not of whatever
/// stands at `path` by now): the judge's cache index remembers which file a verdict came from.
pub fn read_regular_capped_meta(path: &Path, cap: u64) -> Result<(Vec<u8>, Metadata), ReadError> {
    // Judge the path before opening it: opening some devices has effects of its own.
    let meta = std::fs::metadata(path)?;
    check_regular(&meta, cap)?;
    let file = open_for_reading(path)?;
    // The path may have been swapped since: judge what was actually opened.
    let meta = file.metadata()?;
    check_regular(&meta, cap)?;
    let hint = usize::try_from(meta.len().min(cap)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok((bytes, meta))
}

fn check_regular(meta: &Metadata, cap: u64) -> Result<(), ReadError> {
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_name(&meta.file_type()),
        });
    }
    if meta.len() > cap {
        return Err(ReadError::TooLarge { cap });
    }
    Ok(())
}

/// Non-blocking, so that a FIFO swapped in after the check still cannot block the open.
#[cfg(unix)]
fn open_for_reading(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_for_reading(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// "a FIFO", "a character device", ...: what a file that is not a regular file is, for
/// messages.
pub fn kind_name(ft: &FileType) -> &'static str {
    if ft.is_file() {
        return "a regular file";
    }
    if ft.is_dir() {
        return "a directory";
    }
    if ft.is_symlink() {
        return "a symbolic link";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// `16 MiB` for a whole number of MiB or KiB, else bytes.
fn show_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n}-byte")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use crate::fsutil::write::tests::mkfifo;

    #[test]
    fn reads_regular_files_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_regular_capped(&p, 5).unwrap(), b"12345");
        let e = read_regular_capped(&p, 4).unwrap_err();
        assert!(matches!(e, ReadError::TooLarge { cap: 4 }), "{e:?}");
        assert_eq!(e.to_string(), "the file is larger than the 4-byte limit");
        let e = read_regular_capped(dir.path(), 5).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file: it is a directory");
        let e = read_regular_capped(&dir.path().join("none"), 5).unwrap_err();
        assert!(matches!(e, ReadError::Io(ref io) if io.kind() == io::ErrorKind::NotFound));
    }

    #[cfg(unix)]
    #[test]
    fn never_reads_a_fifo_or_a_device() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f.yaml");
        mkfifo(&fifo);
        let e = read_regular_capped(&fifo, 10).unwrap_err();
        assert_eq!(e.to_string(), "not a regular file: it is a FIFO");
        let zero = dir.path().join("z.yaml");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_regular_capped(&zero, MAX_SUITE_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "not a regular file: it is a character device"
        );
    }

    #[test]
    fn shows_caps_the_way_people_say_them() {
        assert_eq!(show_bytes(MAX_SUITE_BYTES), "16 MiB");
        assert_eq!(show_bytes(2048), "2 KiB");
        assert_eq!(show_bytes(1000), "1000-byte");
    }
}
