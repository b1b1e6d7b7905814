//! Finding suite files under the paths the user named (SPEC §3), and the `agenttest.yaml`
//! that applies to each.
//!
//! Paths in the results are kept as the user wrote them (joined with what the walk found), so
//! that messages and reports read `suites/support.yaml:3:5`, not an absolute path. Only the
//! de-duplication and the upward config search look at canonical paths. Nothing here parses
//! YAML or reads a suite: the walk itself is `fsutil::walk_files` (sorted, loop-safe), and the
//! rules a user sees (links, FIFOs, devices) are in `docs/files.md`. Whether a walked file is
//! a `mock_script:` rather than a suite is known only once the suites are read: the loader
//! decides it, from what [`discover_all`] says of each file (named, or walked).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Span};
use crate::fsutil::{self, Visit, WalkOptions};

/// The name of the config file; never a suite.
pub const CONFIG_FILE: &str = "agenttest.yaml";

/// Every suite file under `paths`, in sorted path order, each once. A missing or unreadable
/// path, or a named `agenttest.yaml`, is a diagnostic; all of them are reported together.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let (found, errors) = discover_all(paths);
    if errors.is_empty() {
        Ok(found.into_iter().map(|f| f.path).collect())
    } else {
        Err(errors)
    }
}

/// A file [`discover_all`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    /// In the user's terms, as named or as the walk joined it.
    pub path: PathBuf,
    /// The file itself (links and `..` resolved; `path` when that fails): what makes two
    /// spellings one file.
    pub canon: PathBuf,
    /// Only a directory walk found it: a `mock_script:` that a suite names is then no suite.
    /// A file the user named is a suite whatever else names it.
    pub walked: bool,
}

impl AsRef<Path> for Found {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Like [`discover`], but returns what was found alongside the errors, so that loading can
/// still check the files that do exist and report everything in one go.
pub(crate) fn discover_all(paths: &[PathBuf]) -> (Vec<Found>, Vec<Diagnostic>) {
    let mut named = Vec::new();
    let mut walked = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        // `metadata` follows symbolic links: a named link to a suite or a directory is taken.
        match std::fs::metadata(path) {
            Err(e) => errors.push(cannot_read(path, &e)),
            Ok(meta) if meta.is_dir() => walk(path, &mut walked, &mut errors),
            Ok(_) if path.file_name() == Some(OsStr::new(CONFIG_FILE)) => errors.push(
                Diagnostic::error(
                    path,
                    Span::UNKNOWN,
                    format!("`{}` is a config file, not a suite", path.display()),
                )
                .with_help(format!(
                    "name its directory instead: `{}` applies to the suites at or below it",
                    CONFIG_FILE
                )),
            ),
            // A named file is taken as is, whatever its extension: the user asked for it.
            Ok(meta) if meta.is_file() => named.push(path.clone()),
            Ok(meta) => errors.push(not_regular(path, &meta.file_type(), false)),
        }
    }
    (dedup(named, walked), errors)
}

/// The same file named twice (`suites/a.yaml` and `./suites/a.yaml`, or a directory and a
/// file inside it) is loaded once, under the first spelling in sorted order; it counts as
/// named when any of its spellings was.
fn dedup(named: Vec<PathBuf>, walked: Vec<PathBuf>) -> Vec<Found> {
    let mut all: Vec<(PathBuf, bool)> = named.into_iter().map(|p| (p, false)).collect();
    all.extend(walked.into_iter().map(|p| (p, true)));
    all.sort();
    let mut at: HashMap<PathBuf, usize> = HashMap::new();
    let mut found: Vec<Found> = Vec::with_capacity(all.len());
    for (path, walked) in all {
        let canon = canonical(&path);
        match at.get(&canon) {
            Some(&i) => found[i].walked &= walked,
            None => {
                at.insert(canon.clone(), found.len());
                found.push(Found {
                    path,
                    canon,
                    walked,
                });
            }
        }
    }
    found
}

/// The file behind `path`, for telling whether two spellings are one file: `./a.yaml`,
/// `sub/../a.yaml` and a link to it are. `path` itself when it cannot be resolved.
pub(crate) fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The suites under `dir`. Links to directories are followed (a linked folder of shared suites
/// is walked), each directory once, so a link loop ends. A `*.yaml` / `*.yml` entry that is not
/// a regular file (a FIFO, a device, a link to one or to nothing) is an error, not skipped: a
/// gate that silently ran fewer suites than are there would pass on a mistake.
fn walk(dir: &Path, found: &mut Vec<PathBuf>, errors: &mut Vec<Diagnostic>) {
    let opts = WalkOptions {
        follow_dir_links: true,
        include_hidden: false,
    };
    let walked = fsutil::walk_files(dir, opts, |e| {
        if e.file_type.is_dir() {
            return if e.name.ends_with(".golden") {
                Visit::Skip
            } else {
                Visit::Descend
            };
        }
        if e.name == CONFIG_FILE || !(e.name.ends_with(".yaml") || e.name.ends_with(".yml")) {
            return Visit::Skip;
        }
        if e.file_type.is_file() {
            return Visit::Keep;
        }
        errors.push(match std::fs::metadata(e.path) {
            // A link that leads nowhere: say why, as `cannot read` does for a named path.
            Err(err) => cannot_read(e.path, &err),
            Ok(meta) => not_regular(e.path, &meta.file_type(), true),
        });
        Visit::Skip
    });
    found.extend(walked.files);
    errors.extend(walked.errors.into_iter().map(|e| {
        Diagnostic::error(
            &e.path,
            Span::UNKNOWN,
            format!("cannot read directory `{}`", e.path.display()),
        )
        .with_label(e.source.to_string())
    }));
}

fn cannot_read(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        path,
        Span::UNKNOWN,
        format!("cannot read `{}`", path.display()),
    )
    .with_label(e.to_string())
}

/// `found` when the walk met it in a directory rather than the user naming it.
fn not_regular(path: &Path, ft: &std::fs::FileType, found: bool) -> Diagnostic {
    let d = Diagnostic::error(
        path,
        Span::UNKNOWN,
        format!("`{}` is not a regular file", path.display()),
    )
    .with_label(format!("it is {}", fsutil::kind_name(ft)));
    if found {
        d.with_help(
            "suites are read only from regular files; move it out of the suites directory \
             or rename it so that it does not end in `.yaml` or `.yml` (see docs/files.md)",
        )
    } else {
        d.with_help("name a regular file or a directory of suites (see docs/files.md)")
    }
}

/// The nearest `agenttest.yaml` at or above the directory of `suite`, as a path in the user's
/// terms (`suites/agenttest.yaml`, `../agenttest.yaml`), or `None`.
pub fn find_config(suite: &Path) -> Option<PathBuf> {
    let user_dir = match suite.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut dir = std::fs::canonicalize(&user_dir).ok()?;
    let mut up = 0usize;
    loop {
        let candidate = dir.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(climb(&user_dir, up).join(CONFIG_FILE));
        }
        if !dir.pop() {
            return None;
        }
        up += 1;
    }
}

/// `dir` climbed `up` levels, spelled the way the user would: dropping trailing names while
/// there are any, then adding `..`.
fn climb(dir: &Path, up: usize) -> PathBuf {
    let mut parts: Vec<Component> = dir
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let mut extra = 0;
    for _ in 0..up {
        match parts.last() {
            Some(Component::Normal(_)) => {
                parts.pop();
            }
            _ => extra += 1,
        }
    }
    let mut out: PathBuf = parts.iter().collect();
    for _ in 0..extra {
        out.push("..");
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, "dialogues: []\n").unwrap();
    }

    #[test]
    fn walks_sorted_and_skips_what_is_not_a_suite() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for rel in [
            "b.yaml",
            "a.yml",
            "agenttest.yaml",
            "notes.txt",
            ".hidden.yaml",
            ".git/x.yaml",
            "a.golden/hi.yaml",
            "sub/c.yaml",
            "sub/deeper/d.yaml",
            "sub/x.golden/y.yaml",
        ] {
            touch(root, rel);
        }
        let found = discover(&[root.to_path_buf()]).unwrap();
        let rel: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["a.yml", "b.yaml", "sub/c.yaml", "sub/deeper/d.yaml"]);
    }

    #[test]
    fn named_files_dedup_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "s/a.yaml");
        touch(root, "s/agenttest.yaml");
        touch(root, "s/odd.txt");
        let a = root.join("s/a.yaml");
        let a2 = root.join("s/./a.yaml");
        // A named file is taken whatever its extension; the same file twice is loaded once.
        let found = discover(&[a.clone(), a2, root.join("s"), root.join("s/odd.txt")]).unwrap();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.contains(&root.join("s/odd.txt")));

        let errs =
            discover(&[root.join("missing.yaml"), root.join("s/agenttest.yaml")]).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(
            errs[0].message.contains("missing.yaml"),
            "{}",
            errs[0].message
        );
        assert!(errs[0].label.is_some());
        assert!(
            errs[1].message.contains("is a config file"),
            "{}",
            errs[1].message
        );
    }

    #[test]
    fn a_file_named_and_walked_counts_as_named() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "s/a.yaml");
        touch(root, "s/b.yaml");
        touch(root, "s/sub/c.yaml");
        // `s/sub/../b.yaml` sorts after `s/b.yaml`, which the walk found: one file, named.
        let (found, errors) = discover_all(&[root.join("s"), root.join("s/sub/../b.yaml")]);
        assert!(errors.is_empty(), "{errors:?}");
        let seen: Vec<(String, bool)> = found
            .iter()
            .map(|f| {
                (
                    f.path.strip_prefix(root).unwrap().display().to_string(),
                    f.walked,
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                ("s/a.yaml".to_string(), true),
                ("s/b.yaml".to_string(), false),
                ("s/sub/c.yaml".to_string(), true)
            ]
        );
        assert_eq!(found[1].canon, canonical(&root.join("s/b.yaml")));
    }

    #[cfg(unix)]
    #[test]
    fn link_loops_end_and_linked_dirs_are_walked_once() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "x/a.yaml");
        touch(root, "shared/s.yaml");
        symlink("..", root.join("x/up")).unwrap();
        symlink("../shared", root.join("x/linked")).unwrap();
        let found = discover(&[root.to_path_buf()]).unwrap();
        let rel: Vec<String> = found
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["shared/s.yaml", "x/a.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn yaml_that_is_not_a_regular_file_is_an_error() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "ok.yaml");
        let fifo = root.join("f.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        symlink("/dev/zero", root.join("z.yml")).unwrap();
        symlink("nowhere.yaml", root.join("dangling.yaml")).unwrap();
        // Not named like a suite: none of the walk's business.
        symlink("/dev/zero", root.join("zero")).unwrap();

        let errs = discover(&[root.to_path_buf()]).unwrap_err();
        let msgs: Vec<String> = errs
            .iter()
            .map(|d| format!("{} | {}", d.message, d.label.clone().unwrap_or_default()))
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(msgs[0].starts_with("cannot read `") && msgs[0].contains("dangling.yaml"));
        assert!(msgs[1].ends_with("f.yaml` is not a regular file | it is a FIFO"));
        assert!(msgs[2].ends_with("z.yml` is not a regular file | it is a character device"));
        let (found, _) = discover_all(&[root.to_path_buf()]);
        let paths: Vec<&PathBuf> = found.iter().map(|f| &f.path).collect();
        assert_eq!(paths, [&root.join("ok.yaml")]);

        let errs = discover(&[fifo]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].message.ends_with("is not a regular file"));
    }

    #[test]
    fn nearest_config_in_user_terms() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        touch(root, "agenttest.yaml");
        touch(root, "s/a.yaml");
        touch(root, "s/inner/agenttest.yaml");
        touch(root, "s/inner/b.yaml");
        assert_eq!(
            find_config(&root.join("s/a.yaml")),
            Some(root.join("agenttest.yaml"))
        );
        assert_eq!(
            find_config(&root.join("s/inner/b.yaml")),
            Some(root.join("s/inner/agenttest.yaml"))
        );
    }

    #[test]
    fn climbing_keeps_the_users_spelling() {
        assert_eq!(climb(Path::new("suites/sub"), 1), PathBuf::from("suites"));
        assert_eq!(climb(Path::new("suites"), 1), PathBuf::from("."));
        assert_eq!(climb(Path::new("."), 2), PathBuf::from("../.."));
        assert_eq!(climb(Path::new("../x"), 2), PathBuf::from("../.."));
    }
}
