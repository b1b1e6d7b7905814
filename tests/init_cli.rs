//! `agenttest init` as a newcomer meets it: in a fresh directory, then `agenttest run` at once
//! against the built-in mock, green. The goldens it writes are re-recorded with `--bless` to
//! prove they are exactly what the mock answers. And it never overwrites anything.

mod common;

use std::path::Path;
use std::process::Output;

use common::agenttest;

const FILES: [&str; 5] = [
    "agenttest.yaml",
    "support.yaml",
    "support.golden/business-hours.yaml",
    "support.golden/order-follow-up.yaml",
    "support.golden/refund-policy.yaml",
];

fn in_dir(dir: &Path, args: &[&str]) -> Output {
    agenttest().args(args).current_dir(dir).output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file under `dir`, relative, sorted, with its text.
fn tree(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read_to_string(&p).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// `init` (default DIR, given kind) in a fresh directory, then `run` and `run --bless`.
fn init_then_run(kind: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let init = in_dir(tmp.path(), &["init", "--kind", kind]);
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    for f in FILES {
        assert!(
            stdout(&init).contains(&format!("created suites/{f}")),
            "{}",
            stdout(&init)
        );
    }
    assert!(
        stdout(&init).contains("agenttest run suites"),
        "{}",
        stdout(&init)
    );
    let written = tree(&tmp.path().join("suites"));
    assert_eq!(written.len(), FILES.len(), "{written:?}");

    let run = in_dir(tmp.path(), &["run"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&run),
        stderr(&run)
    );
    assert!(
        stdout(&run).contains("3 passed, 0 failed, 0 errored, 0 skipped"),
        "{}",
        stdout(&run)
    );
    assert_eq!(
        tree(&tmp.path().join("suites")),
        written,
        "a passing run wrote files"
    );

    // Recorded afresh, the goldens are byte for byte the ones init wrote.
    let bless = in_dir(tmp.path(), &["run", "suites", "--bless"]);
    assert_eq!(bless.status.code(), Some(0), "{}", stdout(&bless));
    assert!(
        stdout(&bless).contains("0 created, 0 changed, 3 unchanged"),
        "{}",
        stdout(&bless)
    );
    assert_eq!(tree(&tmp.path().join("suites")), written);
}

#[test]
fn thinnest_init_then_run_passes_at_once() {
    init_then_run("thinnest");
}

#[test]
fn openai_init_then_run_passes_at_once() {
    init_then_run("openai");
}

#[test]
fn http_init_then_run_passes_at_once() {
    init_then_run("http");
}

#[test]
fn thinnest_is_the_default_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config = std::fs::read_to_string(tmp.path().join("suites/agenttest.yaml")).unwrap();
    assert!(config.contains("base_url: mock"), "{config}");
    assert!(config.contains("agent_id: ag_support"), "{config}");
    assert!(!config.contains("kind:"), "{config}");
}

#[test]
fn each_kind_writes_its_config_into_the_named_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, lines) in [
        (
            "openai",
            &["kind: openai", "base_url: mock", "model: ag_support"][..],
        ),
        (
            "http",
            &[
                "kind: http",
                "base_url: mock",
                "path: /v1/agents/ag_support/chat",
                "text: /response",
            ][..],
        ),
    ] {
        let dir = format!("nested/{kind}-tests");
        let out = in_dir(tmp.path(), &["init", &dir, "--kind", kind]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", stderr(&out));
        let root = tmp.path().join(&dir);
        let config = std::fs::read_to_string(root.join("agenttest.yaml")).unwrap();
        for line in lines {
            assert!(config.contains(line), "{kind}: no {line:?} in\n{config}");
        }
        assert_eq!(tree(&root).len(), FILES.len(), "{kind}");
        assert!(stdout(&out).contains(&format!("agenttest run {dir}")));
    }
}

#[test]
fn any_existing_file_means_nothing_is_written_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let mine = tmp.path().join("suites/support.golden/refund-policy.yaml");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "my own golden\n").unwrap();
    let out = in_dir(tmp.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("suites/support.golden/refund-policy.yaml already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        tree(&tmp.path().join("suites")),
        vec![(
            "support.golden/refund-policy.yaml".to_string(),
            "my own golden\n".to_string()
        )]
    );
}

#[test]
fn a_second_init_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(in_dir(tmp.path(), &["init"]).status.code(), Some(0));
    let config = tmp.path().join("suites/agenttest.yaml");
    std::fs::write(&config, "# edited by hand\n").unwrap();
    let before = tree(&tmp.path().join("suites"));
    let out = in_dir(tmp.path(), &["init", "--kind", "openai"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("suites/agenttest.yaml already exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(tree(&tmp.path().join("suites")), before);
}

#[test]
fn a_dir_that_is_a_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("suites"), "not a directory").unwrap();
    let out = in_dir(tmp.path(), &["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("suites exists and is not a directory"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("suites")).unwrap(),
        "not a directory"
    );
}

#[test]
fn an_unknown_kind_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init", "--kind", "grpc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("suites").exists());
}
