//! The file system the way a gate needs it, in three operations every other module shares:
//!
//! - [`write_atomic`] (`write.rs`) writes a report or a golden. A regular file (or a path that
//!   does not exist yet) is replaced atomically: a temporary file in the same directory,
//!   renamed over the target, so a reader sees the old file or the new one, never a torn one;
//!   a golden's is fsynced first and its directory after ([`Durability`]), a report's is not. A symbolic link is followed and its target replaced, so the
//!   link stays a link. Anything else (a character device such as `/dev/null`, a FIFO, the
//!   file behind `/dev/stdout`) is written in place: renaming over it would swap `/dev/null`
//!   for a regular file for the whole machine. [`write_atomic_with`] does the same for a
//!   report written as it is made, through a buffer, so it never has to be whole in memory.
//! - [`read_regular_capped`] (`read.rs`) reads a file the user pointed at: regular files only
//!   (a FIFO never blocks, `/dev/zero` is never read) and never more than a cap.
//! - [`walk_files`] (`walk.rs`) walks a directory tree: sorted, each directory at most once (a
//!   symbolic link loop cannot make it run forever), links to directories followed only when
//!   asked.
//!
//! The rules a user sees are written down in `docs/files.md`. This module never parses what
//! it reads, never prints, and never decides what a file means: callers filter and report.

mod read;
mod walk;
mod write;

pub use read::{
    kind_name, read_regular_capped, read_regular_capped_meta, ReadError, MAX_SUITE_BYTES,
};
pub use walk::{leads_up, walk_files, Entry, Visit, Walk, WalkError, WalkOptions};
pub use write::{
    interrupt_waits, ready_to_write, replaced_file, write_atomic, write_atomic_with,
    writes_to_stdout, Durability, Sink, FIFO_READER_WAIT,
};
