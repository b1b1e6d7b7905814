//! A `mock_script:` kept beside the suite that names it (SPEC §8.3, docs/mock.md), through the
//! real binary: `agenttest run DIR` walks every `*.yaml` of DIR, and a file that a suite or an
//! `agenttest.yaml` of the run names as a script must not be read as a suite too. What a user
//! checks: the exit code, the verdict lines, `validate` and `list` saying the same as `run`,
//! and that a file nobody names, or one named on the command line, is still an error.

mod common;

use std::process::Output;

use common::{assert_code, run_in, stderr, stdout, Workspace};

/// An agent `ag_x` that answers `dunno` to everything.
const AGENT: &str = "agents:\n  ag_x:\n    fallback: dunno\n";

/// A suite of one dialogue, `a`, that expects `dunno` from `ag_x` on the mock serving `script`
/// (as written in the suite).
fn suite_naming(script: &str) -> String {
    format!(
        "endpoint: {{base_url: mock, mock_script: {script}, agent_id: ag_x, \
         api_key: ak_test_123}}\n\
         dialogues:\n  - name: a\n    golden: false\n    \
         turns: [{{user: hi, expect: {{equals: dunno}}}}]\n"
    )
}

/// `run`, `validate` and `list` of `args` in `dir`, each expected to exit with `code`.
#[track_caller]
fn all_three(ws: &Workspace, dir: &str, args: &[&str], code: i32) -> [Output; 3] {
    let cwd = ws.path().join(dir);
    [["run"], ["validate"], ["list"]].map(|cmd| {
        let argv: Vec<&str> = cmd.iter().chain(args).copied().collect();
        let out = run_in(&cwd, &argv);
        assert_code(&out, code);
        out
    })
}

#[test]
fn a_script_beside_the_suite_that_names_it_is_not_a_suite() {
    // The reproducer of the bug: `run suites/s.yaml` passed, `run suites` exited 2 with
    // `unknown field agents --> suites/agent.yaml:1:1`.
    let ws = Workspace::with("suites/agent.yaml", AGENT);
    ws.write("suites/s.yaml", &suite_naming("agent.yaml"));
    let [run, validate, list] = all_three(&ws, "", &["suites"], 0);
    assert!(stdout(&run).contains("PASS  s › a"), "{}", stdout(&run));
    assert!(
        stdout(&run).contains("1 passed, 0 failed"),
        "{}",
        stdout(&run)
    );
    assert!(!stderr(&run).contains("agents"), "{}", stderr(&run));
    assert!(
        stdout(&validate).contains("1 suite and 1 dialogue are valid"),
        "{}",
        stdout(&validate)
    );
    assert_eq!(stdout(&list).trim(), "s › a");

    // Another endpoint in place of the mock leaves the file a script all the same: a flag
    // must not turn a passing `validate` into `unknown field agents`.
    let out = common::agenttest()
        .current_dir(ws.path())
        .env("AGENTTEST_BASE_URL", "http://127.0.0.1:9")
        .args(["validate", "suites"])
        .output()
        .expect("run agenttest");
    assert_code(&out, 0);
}

#[test]
fn one_script_under_several_spellings_is_one_file() {
    let ws = Workspace::with("suites/agent.yaml", AGENT);
    ws.write("suites/s.yaml", &suite_naming("./agent.yaml"));
    ws.write("suites/sub/t.yaml", &suite_naming("../agent.yaml"));
    ws.write("suites/u.yaml", &suite_naming("sub/../agent.yaml"));
    // And the walk itself under a spelling of its own.
    let [run, _, list] = all_three(&ws, "suites/sub", &["../sub/../"], 0);
    assert!(
        stdout(&run).contains("3 passed, 0 failed"),
        "{}",
        stdout(&run)
    );
    assert_eq!(stdout(&list).lines().count(), 3, "{}", stdout(&list));
}

#[test]
fn a_judge_script_beside_the_suite_is_not_a_suite() {
    let ws = Workspace::with(
        "suites/judge.yaml",
        "agents:\n  judge:\n    fallback: \
         '{\"pass\": false, \"reason\": \"judged by the script beside the suite\"}'\n",
    );
    ws.write(
        "suites/s.yaml",
        "endpoint: {base_url: mock, agent_id: demo, api_key: ak_test_123}\n\
         judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_test_judge}\n\
         dialogues:\n  - name: a\n    golden: false\n    \
         turns: [{user: hi, expect: {judge: Answers politely}}]\n",
    );
    // The judge of the script answered: the dialogue fails on its verdict (exit 1), where the
    // script read as a suite stopped everything (exit 2).
    let run = run_in(ws.path(), &["run", "suites"]);
    assert_code(&run, 1);
    assert!(
        stdout(&run).contains("judged by the script beside the suite"),
        "{}",
        stdout(&run)
    );
    let validate = run_in(ws.path(), &["validate", "suites"]);
    assert_code(&validate, 0);
    assert!(stdout(&validate).contains("1 suite and 1 dialogue are valid"));
    let list = run_in(ws.path(), &["list", "suites"]);
    assert_code(&list, 0);
    assert_eq!(stdout(&list).trim(), "s › a");
}

#[test]
fn a_script_named_from_agenttest_yaml_above_is_not_a_suite() {
    let ws = Workspace::with(
        "agenttest.yaml",
        "endpoint: {base_url: mock, mock_script: suites/agent.yaml, agent_id: ag_x, \
         api_key: ak_test_123}\n",
    );
    ws.write("suites/agent.yaml", AGENT);
    ws.write(
        "suites/s.yaml",
        "dialogues:\n  - name: a\n    golden: false\n    \
         turns: [{user: hi, expect: {equals: dunno}}]\n",
    );
    let [run, _, list] = all_three(&ws, "", &["suites"], 0);
    assert!(stdout(&run).contains("PASS  s › a"), "{}", stdout(&run));
    assert_eq!(stdout(&list).trim(), "s › a");
    // From inside the directory, the config one level up: the walk finds `./agent.yaml`.
    let [run, _, _] = all_three(&ws, "suites", &["."], 0);
    assert!(stdout(&run).contains("1 passed"), "{}", stdout(&run));
}

#[test]
fn a_script_named_on_the_command_line_is_still_read_as_a_suite() {
    let ws = Workspace::with("suites/agent.yaml", AGENT);
    ws.write("suites/s.yaml", &suite_naming("agent.yaml"));
    all_three(&ws, "", &["suites"], 0);
    // Named, under another spelling than the walk's: the user asked for a suite, and it is
    // not one. Nothing is sent.
    for named in ["suites/agent.yaml", "./suites/agent.yaml"] {
        let [run, validate, list] = all_three(&ws, "", &["suites", named], 2);
        for out in [&run, &validate, &list] {
            let err = stderr(out);
            assert!(err.contains("unknown field `agents`"), "{err}");
            assert!(err.contains("agent.yaml:1:1"), "{err}");
            assert!(err.contains("1 error found, nothing was sent"), "{err}");
        }
        assert!(!stdout(&run).contains("PASS"), "{}", stdout(&run));
    }
}

#[test]
fn a_walked_file_nobody_names_is_still_an_error_with_every_other() {
    let ws = Workspace::with("suites/agent.yaml", AGENT);
    // The suite that names the script has an error of its own: the script is still a script.
    ws.write(
        "suites/s.yaml",
        &suite_naming("agent.yaml").replace("equals: dunno", "regex: '[', equals: dunno"),
    );
    // A script no suite names (a leftover) and another suite with an error: all reported at
    // once, at their places; the script that is named, not at all.
    ws.write("suites/old-agent.yaml", AGENT);
    ws.write(
        "suites/t.yaml",
        "endpoint: {base_url: mock, agent_id: demo}\n\
         dialogues:\n  - name: b\n    turns: [{user: hi, expect: {regex: '('}}]\n",
    );
    let [run, validate, list] = all_three(&ws, "", &["suites"], 2);
    for out in [&run, &validate, &list] {
        let err = stderr(out);
        assert!(err.contains("suites/old-agent.yaml:1:1"), "{err}");
        assert!(err.contains("unknown field `agents`"), "{err}");
        assert!(err.contains("suites/s.yaml:5:"), "{err}");
        assert!(err.contains("suites/t.yaml:4:"), "{err}");
        assert_eq!(err.matches("invalid regex").count(), 2, "{err}");
        assert!(!err.contains("suites/agent.yaml"), "{err}");
        assert!(err.contains("3 errors found, nothing was sent"), "{err}");
    }
    assert!(!stdout(&run).contains("PASS"), "{}", stdout(&run));
}
