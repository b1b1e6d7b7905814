//! `init`: writes a starter `DIR/agenttest.yaml` for an endpoint kind and one suite with its
//! goldens, which pass at once against the built-in mock (`base_url: mock`), so a newcomer
//! starts from green and sees each piece of the format once.
//!
//! It never overwrites: if any file it would write exists, it writes nothing and exits 2
//! naming it; each file is created exclusively, so a file that appears meanwhile is not
//! clobbered either, and what was written by then is removed again. Sends nothing.
//!
//! The templates live in `init/` beside this file. The suite and its goldens are shared by
//! every kind (the mock answers each kind with the same demo agent); the goldens are what the
//! real binary recorded against the mock (`tests/init_cli.rs` re-records them to check).

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::cli::{InitArgs, InitKind};
use crate::exit;
use crate::outln;

const SUITE: &str = include_str!("init/support.yaml");
const GOLDENS: [(&str, &str); 3] = [
    (
        "support.golden/business-hours.yaml",
        include_str!("init/support.golden/business-hours.yaml"),
    ),
    (
        "support.golden/order-follow-up.yaml",
        include_str!("init/support.golden/order-follow-up.yaml"),
    ),
    (
        "support.golden/refund-policy.yaml",
        include_str!("init/support.golden/refund-policy.yaml"),
    ),
];

/// The config file of a kind.
fn config(kind: InitKind) -> &'static str {
    match kind {
        InitKind::Thinnest => include_str!("init/agenttest.thinnest.yaml"),
        InitKind::Openai => include_str!("init/agenttest.openai.yaml"),
        InitKind::Http => include_str!("init/agenttest.http.yaml"),
    }
}

/// Every file `init` writes for `kind`: its path relative to DIR and its text.
pub(crate) fn files(kind: InitKind) -> Vec<(&'static str, &'static str)> {
    let mut all = vec![("agenttest.yaml", config(kind)), ("support.yaml", SUITE)];
    all.extend(GOLDENS);
    all
}

pub(super) fn cmd_init(args: InitArgs) -> i32 {
    let dir = args.dir;
    let files = files(args.kind);
    let blockers = blockers(&dir, &files);
    if !blockers.is_empty() {
        for b in &blockers {
            crate::errln!("error: {b}");
        }
        crate::errln!(
            "help: init never overwrites, so it wrote nothing; move those aside, or name another \
             directory: `agenttest init OTHER_DIR`"
        );
        return exit::USAGE;
    }
    if let Err(msg) = write_all(&dir, &files) {
        crate::errln!("error: {msg}");
        crate::errln!("nothing was left written");
        return exit::USAGE;
    }
    for (rel, _) in &files {
        outln!("created {}", dir.join(rel).display());
    }
    outln!("{}", next_steps(&dir, args.kind));
    exit::PASS
}

/// Why each file cannot be written: it exists (as anything, a dangling link included), or a
/// directory on its way is a file. Empty when every path is free.
fn blockers(dir: &Path, files: &[(&str, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = vec![dir.to_path_buf()];
    for (rel, _) in files {
        if let Some(parent) = Path::new(rel)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            let d = dir.join(parent);
            if !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    for d in &dirs {
        if let Ok(meta) = std::fs::metadata(d) {
            if !meta.is_dir() {
                out.push(format!("{} exists and is not a directory", d.display()));
            }
        }
    }
    if !out.is_empty() {
        return out;
    }
    for (rel, _) in files {
        let path = dir.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => out.push(format!("{} already exists", path.display())),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => out.push(format!("cannot check {}: {e}", path.display())),
        }
    }
    out
}

/// Creates the directories and each file exclusively. On any error, removes the files (and
/// the directories) this call created, so a failed `init` leaves things as they were.
fn write_all(dir: &Path, files: &[(&str, &str)]) -> Result<(), String> {
    let mut made_dirs: Vec<PathBuf> = Vec::new();
    let mut made_files: Vec<PathBuf> = Vec::new();
    let result = files.iter().try_for_each(|(rel, text)| {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            create_dirs(parent, &mut made_dirs)?;
        }
        create_new(&path, text)?;
        made_files.push(path);
        Ok(())
    });
    if result.is_err() {
        for f in made_files.iter().rev() {
            let _ = std::fs::remove_file(f);
        }
        for d in made_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

/// `create_dir_all` that remembers which directories it made, outermost first.
fn create_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur.filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.into_iter().rev() {
        match std::fs::create_dir(&d) {
            Ok(()) => made.push(d),
            Err(e) if e.kind() == ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(format!("failed to create {}: {e}", d.display())),
        }
    }
    Ok(())
}

fn create_new(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                format!("{} already exists", path.display())
            } else {
                format!("failed to create {}: {e}", path.display())
            }
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("failed to write {}: {e}", path.display()))
}

/// What to type next, and how to point the suite at a real agent of that kind.
fn next_steps(dir: &Path, kind: InitKind) -> String {
    let d = dir.display();
    let live = match kind {
        InitKind::Thinnest => format!(
            "then against your agent (the environment beats {d}/agenttest.yaml):\n  \
             AGENTTEST_BASE_URL=https://api.thinnest.ai AGENTTEST_AGENT_ID=ag_... \
             AGENTTEST_API_KEY=ak_... agenttest run {d} --bless"
        ),
        InitKind::Openai => format!(
            "then against a live model: set base_url, model and api_key in {d}/agenttest.yaml \
             and record its answers:\n  agenttest run {d} --bless"
        ),
        InitKind::Http => format!(
            "then against your agent: set base_url, path, body and response in \
             {d}/agenttest.yaml to its API and record its answers:\n  agenttest run {d} --bless"
        ),
    };
    format!(
        "\nnext:\n  agenttest run {d}        # passes now, against the built-in mock agent\n{live}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::golden;

    #[test]
    fn every_golden_belongs_to_a_dialogue_of_the_suite() {
        for (rel, text) in GOLDENS {
            let g = golden::parse(&crate::diag::SourceFile::new(Path::new(rel), text))
                .unwrap_or_else(|d| panic!("{rel}: {}", d.render(false)));
            assert_eq!(g.suite, "support");
            let slug = crate::suite::model::slug(&g.dialogue);
            assert_eq!(rel, format!("support.golden/{slug}.yaml"));
            assert!(
                SUITE.contains(&format!("- name: {}\n", g.dialogue)),
                "{rel}"
            );
        }
    }

    #[test]
    fn each_kind_config_names_its_kind_and_the_mock() {
        for (kind, line) in [
            (InitKind::Thinnest, "agent_id: ag_support"),
            (InitKind::Openai, "kind: openai"),
            (InitKind::Http, "kind: http"),
        ] {
            let text = config(kind);
            assert!(text.contains(line), "{kind:?}");
            assert!(text.contains("base_url: mock"), "{kind:?}");
        }
    }

    #[test]
    fn a_file_in_the_way_of_a_directory_blocks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("support.golden"), "x").unwrap();
        let b = blockers(dir.path(), &files(InitKind::Thinnest));
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].ends_with("support.golden exists and is not a directory"));
    }

    #[test]
    fn a_failed_write_removes_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new/suites");
        // The second file cannot be created: its name is taken by a directory.
        std::fs::create_dir_all(target.join("support.yaml")).unwrap();
        let err = write_all(&target, &files(InitKind::Thinnest)).unwrap_err();
        assert!(err.contains("support.yaml already exists"), "{err}");
        assert!(!target.join("agenttest.yaml").exists());
        assert!(target.join("support.yaml").is_dir());
    }
}
