//! One directory walker for every tree agenttest searches (suites, `.golden` directories):
//! sorted, loop-safe, links to directories entered only when asked and never when they lead
//! back up to a directory holding them. Never reads a file and never decides what to keep:
//! the caller's `visit` does.

use std::collections::HashSet;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// What [`walk_files`] does with an entry, as the caller's `visit` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Walk into it (a directory; for anything else the same as `Skip`).
    Descend,
    /// Put its path in [`Walk::files`].
    Keep,
    Skip,
}

/// How [`walk_files`] treats symbolic links to directories and hidden entries.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Walk into a symbolic link to a directory when `visit` says [`Visit::Descend`]. Off, such
    /// a link is shown to `visit` (as a directory) but never entered.
    pub follow_dir_links: bool,
    /// Show entries whose name starts with `.`; off, they are skipped unseen.
    pub include_hidden: bool,
}

/// One entry of a directory, as shown to `visit`.
#[derive(Debug)]
pub struct Entry<'a> {
    pub path: &'a Path,
    /// The file name, lossily decoded: for matching suffixes (`path` is exact).
    pub name: &'a str,
    /// What the entry is, a symbolic link followed. A link that leads nowhere (dangling or a
    /// loop) shows as a symbolic link.
    pub file_type: FileType,
    /// The entry itself is a symbolic link.
    pub is_symlink: bool,
}

/// The result of [`walk_files`]: what was kept, in sorted path order, and the directories
/// that could not be read (the walk goes on past them).
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    pub errors: Vec<WalkError>,
}

#[derive(Debug, thiserror::Error)]
#[error("failed to read directory `{}`: {source}", path.display())]
pub struct WalkError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Walks the directory `root` (a link to one is entered: the caller named it), showing each
/// entry to `visit`, directory by directory in sorted name order. Each directory is entered at
/// most once, by its (device, inode), so a link loop (`up -> ..`) or two links to one place
/// cannot repeat or recurse forever; links to directories are entered only with
/// [`WalkOptions::follow_dir_links`], and never one that leads to a directory holding it (such
/// as `up -> ../..`): that is a loop, and where it climbs above `root` it would walk the
/// user's neighbouring folders, which they never named.
pub fn walk_files(
    root: &Path,
    opts: WalkOptions,
    mut visit: impl FnMut(&Entry<'_>) -> Visit,
) -> Walk {
    let mut walk = Walk::default();
    let mut seen = HashSet::new();
    // Directories still to read; popped from the end, so pushed in reverse name order.
    let mut stack = vec![root.to_path_buf()];
    match std::fs::metadata(root) {
        Ok(meta) => {
            seen.insert(dir_id(root, &meta));
        }
        Err(source) => {
            walk.errors.push(WalkError {
                path: root.to_path_buf(),
                source,
            });
            return walk;
        }
    }
    while let Some(dir) = stack.pop() {
        let mut subdirs = Vec::new();
        for path in sorted_entries(&dir, &mut walk.errors) {
            let Some((name, file_type, is_symlink)) = entry_of(&path, opts) else {
                continue;
            };
            let entry = Entry {
                path: &path,
                name: &name,
                file_type,
                is_symlink,
            };
            match visit(&entry) {
                Visit::Keep => walk.files.push(path.clone()),
                Visit::Descend if entry.file_type.is_dir() => {
                    if entry.is_symlink && (!opts.follow_dir_links || leads_up(&path)) {
                        continue;
                    }
                    // Followed again here, not trusted from before `visit`: one stat per
                    // directory is cheap and the identity is what stops loops.
                    if let Ok(meta) = std::fs::metadata(&path) {
                        if seen.insert(dir_id(&path, &meta)) {
                            subdirs.push(path.clone());
                        }
                    }
                }
                Visit::Descend | Visit::Skip => {}
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    walk.files.sort();
    walk
}

/// The paths in `dir`, sorted by name; a directory that cannot be read is an error.
fn sorted_entries(dir: &Path, errors: &mut Vec<WalkError>) -> Vec<PathBuf> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(source) => {
            errors.push(WalkError {
                path: dir.to_path_buf(),
                source,
            });
            return Vec::new();
        }
    };
    let mut paths = Vec::new();
    for entry in read {
        match entry {
            Ok(entry) => paths.push(entry.path()),
            Err(source) => errors.push(WalkError {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }
    paths.sort();
    paths
}

/// (name, followed type, is a link) of `path`, or `None` for a hidden entry the options skip
/// or one that vanished while the walk ran.
fn entry_of(path: &Path, opts: WalkOptions) -> Option<(String, FileType, bool)> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    if !opts.include_hidden && name.starts_with('.') {
        return None;
    }
    let own = std::fs::symlink_metadata(path).ok()?.file_type();
    if !own.is_symlink() {
        return Some((name, own, false));
    }
    let followed = std::fs::metadata(path).map_or(own, |m| m.file_type());
    Some((name, followed, true))
}

/// Whether the link `link` leads to the directory it is in or to one above it. When that
/// cannot be told (a path that does not resolve), it counts as leading up: not entered.
pub fn leads_up(link: &Path) -> bool {
    let target = std::fs::canonicalize(link);
    let here = link.parent().map(std::fs::canonicalize);
    match (target, here) {
        (Ok(target), Some(Ok(here))) => here.starts_with(target),
        _ => true,
    }
}

/// A directory's identity: (device, inode) where there are such things.
#[cfg(unix)]
fn dir_id(_path: &Path, meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn dir_id(path: &Path, _meta: &Metadata) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path, walk: &Walk) -> Vec<String> {
        walk.files
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    fn every_file(e: &Entry<'_>) -> Visit {
        if e.file_type.is_dir() {
            Visit::Descend
        } else {
            Visit::Keep
        }
    }

    #[test]
    fn walks_sorted_skipping_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for rel in ["b/z", "b/a", "a", "c/d/e", ".h/x", "b/.x"] {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let walk = walk_files(root, WalkOptions::default(), every_file);
        assert_eq!(names(root, &walk), ["a", "b/a", "b/z", "c/d/e"]);
        let all = WalkOptions {
            include_hidden: true,
            ..WalkOptions::default()
        };
        let walk = walk_files(root, all, every_file);
        assert_eq!(walk.files.len(), 6);
        assert!(walk.errors.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn link_loops_end_and_dir_links_are_followed_only_when_asked() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("x/y")).unwrap();
        std::fs::write(root.join("x/y/f"), "").unwrap();
        symlink("..", root.join("x/up")).unwrap();
        symlink("../..", root.join("x/y/top")).unwrap();
        symlink(root.join("x/y"), root.join("other")).unwrap();
        let walk = walk_files(root, WalkOptions::default(), every_file);
        assert_eq!(names(root, &walk), ["x/y/f"]);
        let follow = WalkOptions {
            follow_dir_links: true,
            ..WalkOptions::default()
        };
        // `other` leads to `x/y`, which is walked once: under whichever name comes first.
        let walk = walk_files(root, follow, every_file);
        assert_eq!(names(root, &walk), ["other/f"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_up_out_of_the_root_is_not_entered() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join("root/x")).unwrap();
        std::fs::create_dir_all(top.join("beside")).unwrap();
        std::fs::write(top.join("root/x/f"), "").unwrap();
        std::fs::write(top.join("beside/g"), "").unwrap();
        // Leads above the root: a loop whose walk would reach `beside`, never named.
        symlink("../..", top.join("root/x/up")).unwrap();
        // Leads sideways out of the root: a linked folder, walked.
        symlink("../../beside", top.join("root/x/shared")).unwrap();
        let follow = WalkOptions {
            follow_dir_links: true,
            ..WalkOptions::default()
        };
        let root = top.join("root");
        let walk = walk_files(&root, follow, every_file);
        assert_eq!(names(&root, &walk), ["x/f", "x/shared/g"]);
    }

    #[test]
    fn an_unreadable_root_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let walk = walk_files(&dir.path().join("none"), WalkOptions::default(), every_file);
        assert!(walk.files.is_empty());
        assert_eq!(walk.errors.len(), 1);
        assert!(walk.errors[0]
            .to_string()
            .starts_with("failed to read directory"));
    }
}
