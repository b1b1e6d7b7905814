//! The CI recipes in docs/ci/ paste and run: they parse, have the parts the README promises
//! (3 shards, a merged report, JUnit published), and their `agenttest` command lines, run as
//! written by `sh` with the CI's variables set, pass on the suite `agenttest init` writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::agenttest;
use serde_json::Value;

fn recipe(name: &str) -> (String, Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/ci")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let yaml: Value = serde_saphyr::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
    (text, yaml)
}

/// Every `run:` / `script:` line that calls agenttest, in order.
fn agenttest_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            l.trim()
                .trim_start_matches("- ")
                .trim_start_matches("run: ")
        })
        .filter(|l| l.starts_with("agenttest "))
        .map(str::to_string)
        .collect()
}

/// Runs `line` with `sh` in `dir`, the binary first on PATH and `env` set.
fn sh(dir: &Path, line: &str, env: &[(&str, &str)]) -> std::process::Output {
    let bin_dir = PathBuf::from(common::bin()).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("sh");
    cmd.args(["-c", line]).current_dir(dir).env("PATH", path);
    for var in ["AGENTTEST_BASE_URL", "AGENTTEST_AGENT_ID", "NO_COLOR"] {
        cmd.env_remove(var);
    }
    cmd.env("CI", "true").envs(env.iter().copied());
    cmd.output().unwrap()
}

fn has_merge() -> bool {
    agenttest()
        .args(["merge", "--help"])
        .output()
        .unwrap()
        .status
        .success()
}

/// A fresh directory with `agenttest init`'s suite in `suites/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = agenttest()
        .arg("init")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    dir
}

/// Runs each shard's command line, then the merge line (when `merge` exists), and checks the
/// shards together ran every dialogue once.
fn run_shards(
    lines: &[String],
    env_of: impl Fn(u32) -> Vec<(&'static str, String)>,
    subst: impl Fn(&str, u32) -> String,
) {
    let dir = project();
    let (run, merge) = (&lines[0], lines.get(1));
    let mut dialogues = 0;
    for shard in 1..=3 {
        let line = subst(run, shard);
        let env = env_of(shard);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = sh(dir.path(), &line, &env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{line}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(format!("shard-{shard}.json"))).unwrap(),
        )
        .unwrap();
        dialogues += json["dialogues"].as_array().unwrap().len();
        assert!(
            dir.path().join(format!("shard-{shard}.xml")).is_file(),
            "{line}"
        );
    }
    assert_eq!(dialogues, 3, "the shards did not run each dialogue once");
    let Some(merge) = merge else {
        panic!("no `agenttest merge` line");
    };
    if !has_merge() {
        eprintln!("skipping the merge line: this build has no `agenttest merge` yet");
        return;
    }
    let out = sh(dir.path(), merge, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{merge}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["report.xml", "report.html"] {
        assert!(dir.path().join(f).is_file(), "{merge}: no {f}");
    }
}

#[test]
fn github_actions_recipe_shards_merges_and_publishes() {
    let (text, yaml) = recipe("github-actions.yml");
    assert_eq!(yaml["on"], serde_json::json!(["push", "pull_request"]));
    assert_eq!(
        yaml["permissions"],
        serde_json::json!({"contents": "read", "checks": "write"})
    );
    let jobs = &yaml["jobs"];
    assert_eq!(
        jobs["test"]["strategy"]["matrix"]["shard"],
        serde_json::json!([1, 2, 3])
    );
    assert!(text.contains("cargo install --locked --path ."));
    assert!(text.contains("uses: actions/cache@") && text.contains("uses: Swatinem/rust-cache@"));
    let uses = |job: &str| -> Vec<String> {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["uses"].as_str().map(str::to_string))
            .collect()
    };
    assert!(uses("test")
        .iter()
        .any(|u| u.starts_with("actions/upload-artifact@")));
    let report = uses("report");
    for action in [
        "actions/download-artifact@",
        "mikepenz/action-junit-report@",
        "actions/upload-artifact@",
    ] {
        assert!(
            report.iter().any(|u| u.starts_with(action)),
            "{action}: {report:?}"
        );
    }
    let lines = agenttest_lines(&text);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("agenttest run suites/ --partition ${{ matrix.shard }}/3"));
    assert_eq!(
        lines[1],
        "agenttest merge shard-*.json --junit report.xml --html report.html"
    );
    run_shards(
        &lines,
        |_| Vec::new(),
        |line, shard| line.replace("${{ matrix.shard }}", &shard.to_string()),
    );
}

#[test]
fn gitlab_recipe_shards_merges_and_publishes() {
    let (text, yaml) = recipe("gitlab-ci.yml");
    assert_eq!(yaml["agenttest"]["parallel"], serde_json::json!(3));
    assert_eq!(
        yaml["agenttest-report"]["artifacts"]["reports"]["junit"],
        serde_json::json!("report.xml")
    );
    assert!(text.contains("cargo install --locked --path ."));
    let lines = agenttest_lines(&text);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("--partition ${CI_NODE_INDEX}/${CI_NODE_TOTAL}"));
    assert_eq!(
        lines[1],
        "agenttest merge shard-*.json --junit report.xml --html report.html"
    );
    run_shards(
        &lines,
        |shard| {
            vec![
                ("CI_NODE_INDEX", shard.to_string()),
                ("CI_NODE_TOTAL", "3".into()),
            ]
        },
        |line, _| line.to_string(),
    );
}
