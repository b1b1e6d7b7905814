//! Finding suite files under the paths the user named (SPEC §3), and the `agenttest.yaml`
//! that applies to each.
//!
//! Paths in the results are kept as the user wrote them (joined with what the walk found), so
//! that messages and reports read `suites/support.yaml:3:5`, not an absolute path. Only the
//! de-duplication and the upward config search look at canonical paths. Nothing here parses
//! YAML.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Diagnostic, Span};

/// The name of the config file; never a suite.
pub const CONFIG_FILE: &str = "agenttest.yaml";

/// Every suite file under `paths`, in sorted path order, each once. A missing or unreadable
/// path, or a named `agenttest.yaml`, is a diagnostic; all of them are reported together.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    let (found, errors) = discover_all(paths);
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(errors)
    }
}

/// Like [`discover`], but returns what was found alongside the errors, so that loading can
/// still check the files that do exist and report everything in one go.
pub(crate) fn discover_all(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Err(e) => errors.push(
                Diagnostic::error(
                    path,
                    Span::UNKNOWN,
                    format!("cannot read `{}`", path.display()),
                )
                .with_label(e.to_string()),
            ),
            Ok(meta) if meta.is_dir() => {
                let mut visited = HashSet::new();
                walk(path, &mut visited, &mut found, &mut errors);
            }
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
            Ok(_) => found.push(path.clone()),
        }
    }
    found.sort();
    // The same file named twice (`suites/a.yaml` and `./suites/a.yaml`, or a directory and
    // a file inside it) is loaded once, under the first spelling in sorted order.
    let mut seen = HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    (found, errors)
}

fn walk(
    dir: &Path,
    visited: &mut HashSet<PathBuf>,
    found: &mut Vec<PathBuf>,
    errors: &mut Vec<Diagnostic>,
) {
    // A symlink loop would otherwise recurse forever.
    if let Ok(canon) = std::fs::canonicalize(dir) {
        if !visited.insert(canon) {
            return;
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(
                Diagnostic::error(
                    dir,
                    Span::UNKNOWN,
                    format!("cannot read directory `{}`", dir.display()),
                )
                .with_label(e.to_string()),
            );
            return;
        }
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for path in names {
        let Some(name) = path.file_name().and_then(OsStr::to_str) else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        // `metadata` follows symlinks, so a linked directory of suites is walked too.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if !name.ends_with(".golden") {
                walk(&path, visited, found, errors);
            }
        } else if name != CONFIG_FILE && (name.ends_with(".yaml") || name.ends_with(".yml")) {
            found.push(path);
        }
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
