//! `validate` and `list` give `run`'s verdict before anything is sent (SPEC §4: "`agenttest
//! validate` does exactly this step"): a `mock_script:` that `run` would refuse (named by a
//! suite's endpoint or by its `judge:` block) and a broken golden of a suite served by
//! `base_url: replay` fail all three with exit 2 and the same `file:line:column` diagnostics,
//! and a valid script still validates. Through the real binary.

mod common;

use std::process::Output;

use common::{assert_code, run_in, stderr, stdout, Workspace};

/// A script whose one rule has a regex that does not compile.
const BROKEN_SCRIPT: &str = "agents:\n  ag:\n    rules:\n      - {when: \"(unclosed\", reply: x}\n";

/// A judge script with a misspelled field.
const BROKEN_JUDGE: &str =
    "agents:\n  judge:\n    fallbak: '{\"pass\": true, \"reason\": \"ok\"}'\n";

/// `validate`, `list` and `run` of `args` in the workspace, each expected to exit 2 without
/// a line on standard output, each saying the same on standard error. That one error message.
#[track_caller]
fn refused_by_all_three(ws: &Workspace, args: &[&str]) -> String {
    let outputs: Vec<(&str, Output)> = ["validate", "list", "run"]
        .into_iter()
        .map(|cmd| {
            let mut full = vec![cmd];
            full.extend_from_slice(args);
            (cmd, run_in(ws.path(), &full))
        })
        .collect();
    for (cmd, out) in &outputs {
        assert_code(out, 2);
        assert_eq!(stdout(out), "", "{cmd} printed a listing or a verdict");
    }
    let said = stderr(&outputs[2].1);
    for (cmd, out) in &outputs[..2] {
        assert_eq!(stderr(out), said, "{cmd} says what run says");
    }
    assert!(said.contains("nothing was sent"), "{said}");
    said
}

#[test]
fn a_broken_mock_script_of_the_endpoint_is_refused_by_validate_and_list_as_by_run() {
    let ws = Workspace::with("agent.yaml", BROKEN_SCRIPT);
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x}\n\
         dialogues:\n  - {name: a, golden: false, turns: [{user: hi}]}\n",
    );
    let said = refused_by_all_three(&ws, &["s.yaml"]);
    assert!(said.contains("error: invalid regex in `when`"), "{said}");
    assert!(said.contains("--> agent.yaml:4:16"), "{said}");
}

#[test]
fn a_broken_mock_script_of_the_judge_is_refused_by_validate_and_list_as_by_run() {
    let ws = Workspace::with("judge.yaml", BROKEN_JUDGE);
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key}\n\
         judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_judge_1}\n\
         dialogues:\n  - name: a\n    golden: false\n    turns:\n      \
         - user: What are your business hours?\n        expect: {judge: States the hours}\n",
    );
    let said = refused_by_all_three(&ws, &["s.yaml"]);
    assert!(said.contains("unknown field `fallbak`"), "{said}");
    assert!(said.contains("--> judge.yaml:3:5"), "{said}");
}

#[test]
fn a_broken_golden_of_a_replayed_suite_is_refused_by_validate_and_list_as_by_run() {
    let ws = Workspace::with(
        "rp/r.yaml",
        "endpoint: {base_url: replay, agent_id: ag_support, api_key: ak_demo_key}\n\
         dialogues:\n  - {name: c, turns: [{user: hi}]}\n",
    );
    ws.write("rp/r.golden/c.yaml", "suite: r\ndialogue: c\nturnz: []\n");
    let said = refused_by_all_three(&ws, &["rp"]);
    assert!(said.contains("error: unknown field `turnz`"), "{said}");
    assert!(said.contains("--> rp/r.golden/c.yaml:3:1"), "{said}");
}

/// `validate` checks every script and every replayed suite, and reports all their errors in
/// one go: a broken golden does not hide a broken script.
#[test]
fn validate_reports_every_broken_script_and_golden_at_once() {
    let ws = Workspace::with("agent.yaml", BROKEN_SCRIPT);
    ws.write("judge.yaml", BROKEN_JUDGE);
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x}\n\
         judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_judge_1}\n\
         dialogues:\n  - {name: a, golden: false, turns: [{user: hi}]}\n",
    );
    ws.write(
        "r.yaml",
        "endpoint: {base_url: replay, agent_id: ag_support, api_key: ak_demo_key}\n\
         dialogues:\n  - {name: c, turns: [{user: hi}]}\n",
    );
    ws.write("r.golden/c.yaml", "suite: r\ndialogue: c\nturnz: []\n");
    let out = run_in(ws.path(), &["validate", "s.yaml", "r.yaml"]);
    assert_code(&out, 2);
    let said = stderr(&out);
    for at in [
        "--> r.golden/c.yaml:3:1",
        "--> agent.yaml:4:16",
        "--> judge.yaml:3:5",
    ] {
        assert!(said.contains(at), "{at} missing:\n{said}");
    }
    assert!(said.contains("3 errors found, nothing was sent"), "{said}");
}

/// The check refuses only what `run` refuses: valid scripts and goldens validate, with the
/// success line unchanged, and `list` lists.
#[test]
fn valid_scripts_and_goldens_still_validate() {
    let ws = Workspace::with(
        "agent.yaml",
        "agents:\n  ag:\n    rules:\n      - {when: \"h(i|ello)\", reply: x}\n",
    );
    ws.write(
        "judge.yaml",
        "agents:\n  judge:\n    fallback: '{\"pass\": true, \"reason\": \"ok\"}'\n",
    );
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x}\n\
         judge: {base_url: mock, mock_script: judge.yaml, model: judge, api_key: ak_judge_1}\n\
         dialogues:\n  - {name: a, golden: false, turns: [{user: hi, expect: {equals: x}}]}\n",
    );
    ws.write(
        "r.yaml",
        "endpoint: {base_url: replay, agent_id: ag_support, api_key: ak_demo_key}\n\
         dialogues:\n  - {name: c, turns: [{user: hi}]}\n",
    );
    ws.write(
        "r.golden/c.yaml",
        "suite: r\ndialogue: c\nturns:\n  - user: hi\n    status: 200\n    agent: hello\n",
    );
    let out = run_in(ws.path(), &["validate", "s.yaml", "r.yaml"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "2 suites and 2 dialogues are valid\n");
    assert_eq!(stderr(&out), "");
    let out = run_in(ws.path(), &["list", "s.yaml", "r.yaml"]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "r › c\ns › a\n");
    let out = run_in(ws.path(), &["run", "s.yaml", "r.yaml"]);
    assert_code(&out, 0);
}

/// `list` checks the scripts of the dialogues it lists, as `run` with the same selection
/// does: a broken script behind a dialogue the filter leaves out refuses neither.
#[test]
fn list_checks_the_scripts_of_the_selected_dialogues_as_run_does() {
    let ws = Workspace::with("agent.yaml", BROKEN_SCRIPT);
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x}\n\
         dialogues:\n  - {name: a, golden: false, turns: [{user: hi}]}\n",
    );
    ws.write(
        "t.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key}\n\
         dialogues:\n  - {name: b, golden: false, turns: [{user: hi}]}\n",
    );
    for cmd in ["list", "run"] {
        let out = run_in(ws.path(), &[cmd, "s.yaml", "t.yaml", "--filter", "t › b"]);
        assert_code(&out, 0);
        let out = run_in(ws.path(), &[cmd, "s.yaml", "t.yaml", "--filter", "s › a"]);
        assert_code(&out, 2);
        assert!(stderr(&out).contains("--> agent.yaml:4:16"), "{cmd}");
    }
}

/// A suite with an error of its own and another whose mock script is broken: every error is
/// said at once (SPEC §4), the script's with the suite's, not only once the suite is mended.
#[test]
fn a_suite_error_and_another_suites_script_error_are_said_together() {
    let ws = Workspace::with("agent.yaml", BROKEN_SCRIPT);
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag, api_key: ak_x}\n\
         dialogues:\n  - {name: a, golden: false, turns: [{user: hi}]}\n",
    );
    ws.write(
        "t.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_x}\n\
         dialogues:\n  - {name: b, golden: false, turns: [{user: hi, expect: {regex: \"(x\"}}]}\n",
    );
    let said = refused_by_all_three(&ws, &["s.yaml", "t.yaml"]);
    assert!(said.contains("--> t.yaml:3:"), "{said}");
    assert!(said.contains("--> agent.yaml:4:16"), "{said}");
    assert!(said.contains("2 errors found"), "{said}");
}
