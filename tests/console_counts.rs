//! What the console says about a dialogue's turns and its golden, as a user reads it: the
//! turn count on a dialogue's line is the turns sent by the run whose verdict the line gives
//! (not the first run's, not the turns a missed capture left unsent), `-v` heads each run's
//! transcript, and `--bless` always says what it did with the goldens, also when every
//! dialogue errored. Each case runs the real binary against the in-process mock.

mod common;

use common::*;

/// An agent whose requests fail with a 500 by a seeded draw (docs/mock.md, `fail_rate`): the
/// same sequence of requests fails the same way on every run.
fn flaky_agent(seed: u32) -> String {
    format!("agents:\n  ag_x:\n    seed: {seed}\n    fail_rate: 0.5\n    fallback: hello there\n")
}

const THREE_TURNS: &str = "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag_x, api_key: ak_test, retries: 0}
dialogues:
  - name: flaky
    golden: false
    turns:
      - user: one
      - user: two
      - user: three
";

#[test]
fn a_dialogue_a_missed_capture_ended_counts_only_the_turns_it_sent() {
    // The demo agent answers with an ORD- number, never an XYZ- one: the capture misses at
    // turn 1 and turns 2 and 3 are never sent (SPEC §8.3).
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: order
    golden: false
    turns:
      - user: Where is my order?
        capture: {order: 'XYZ-\\d+'}
      - user: Has {{order}} shipped?
      - user: Thanks
",
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never", "-v"]);
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL  s › order  (1 turn, "), "{text}");
    // The transcript still shows what was left unsent.
    assert!(
        text.contains("> Has {{order}} shipped?\n      < (not sent)"),
        "{text}"
    );
}

#[test]
fn a_flaky_dialogue_counts_the_turns_of_the_rerun_that_passed_and_heads_each_run() {
    // Under seed 1 the first run errors at turn 1, three reruns error at turns 2, 1 and 3,
    // and the fourth rerun passes all three turns.
    let ws = Workspace::with("agent.yaml", &flaky_agent(1));
    ws.write("s.yaml", THREE_TURNS);
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--reruns", "4", "--color", "never", "-v"],
    );
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("FLAKY s › flaky  (3 turns, 4 reruns, "),
        "{text}"
    );
    // Each run's transcript under its own heading, worded as the failure explanation words
    // it, so the first run's one turn is not read as the start of the rerun's.
    assert!(
        text.contains("      run 1 (error):\n        session "),
        "{text}"
    );
    for heading in ["rerun 1 (error):", "rerun 3 (error):", "rerun 4 (pass):"] {
        assert!(
            text.contains(&format!("\n      {heading}\n")),
            "{heading}\n{text}"
        );
    }
    let first_run = text
        .split("      run 1 (error):\n")
        .nth(1)
        .and_then(|rest| rest.split("      rerun 1").next())
        .unwrap_or_default();
    assert_eq!(
        first_run.matches("        > ").count(),
        1,
        "the first run sent one turn: {first_run}"
    );
    // The explanation below still names the runs that did not pass.
    assert!(text.contains("\n   run 1 (error):\n"), "{text}");
}

#[test]
fn a_dialogue_that_errored_on_every_rerun_counts_the_last_rerun() {
    // Under seed 7 every run errors; the last rerun errors at turn 2, the first at turn 1.
    let ws = Workspace::with("agent.yaml", &flaky_agent(7));
    ws.write("s.yaml", THREE_TURNS);
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--reruns", "4", "--color", "never"],
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("ERROR s › flaky  (2 turns, 4 reruns, "),
        "{text}"
    );
}

/// Two dialogues that keep goldens, against an agent that drops the connection on `boom`.
fn bless_suite(message: &str) -> String {
    format!(
        "endpoint: {{base_url: mock, mock_script: agent.yaml, agent_id: ag_x, api_key: ak_test, retries: 0}}
dialogues:
  - name: first
    turns:
      - user: {message}
  - name: second
    turns:
      - user: {message}
"
    )
}

const CLOSING_AGENT: &str =
    "agents:\n  ag_x:\n    rules:\n      - when: boom\n        fault: close\n    fallback: hello there\n";

#[test]
fn bless_where_every_dialogue_errored_still_says_what_it_did() {
    let ws = Workspace::with("agent.yaml", CLOSING_AGENT);
    ws.write("s.yaml", &bless_suite("boom"));
    // No golden yet: none is created, and the bless line says so.
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains(
            "bless: 0 created, 0 changed, 0 unchanged, 0 left alone (errored, skipped or not \
             run), 2 not created (errored, skipped or not run, no golden yet)\n"
        ),
        "{text}"
    );
    assert!(!text.contains("left alone s.golden"), "{text}");
    assert!(!ws.exists("s.golden/first.yaml"));

    // With goldens: each is listed as left alone, untouched.
    ws.write("s.yaml", &bless_suite("hi"));
    assert_code(
        &run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]),
        0,
    );
    let blessed = ws.read("s.golden/first.yaml");
    ws.write("s.yaml", &bless_suite("boom"));
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(
        text.contains("  left alone s.golden/first.yaml\n"),
        "{text}"
    );
    assert!(
        text.contains("  left alone s.golden/second.yaml\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "bless: 0 created, 0 changed, 0 unchanged, 2 left alone (errored, skipped or not run)\n"
        ),
        "{text}"
    );
    assert_eq!(ws.read("s.golden/first.yaml"), blessed);
}

#[test]
fn bless_lists_the_golden_of_a_dialogue_fail_fast_never_started_as_left_alone() {
    let ws = Workspace::with("agent.yaml", CLOSING_AGENT);
    ws.write("s.yaml", &bless_suite("hi"));
    assert_code(
        &run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]),
        0,
    );
    ws.write("s.yaml", &bless_suite("boom"));
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--bless",
            "--fail-fast",
            "--jobs",
            "1",
            "--color",
            "never",
        ],
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("1 errored, 0 skipped, 1 not run"), "{text}");
    assert!(
        text.contains("  left alone s.golden/second.yaml\n"),
        "{text}"
    );
    assert!(
        text.contains("2 left alone (errored, skipped or not run)"),
        "{text}"
    );
}

/// Ctrl-C mid-run: every dialogue that did not finish has its `NOT RUN` line, once, also those
/// it kept from starting (SPEC §5: a line per dialogue), as the summary counts them.
#[test]
fn an_interrupted_run_lines_every_dialogue_it_did_not_run() {
    let ws = Workspace::with(
        "agent.yaml",
        "keys: [ak_test]\nagents:\n  ag_x:\n    latency: 700ms\n    rules: [{reply: ok}]\n",
    );
    let mut suite = String::from(
        "endpoint: {base_url: mock, mock_script: agent.yaml, agent_id: ag_x, api_key: ak_test}\ndialogues:\n",
    );
    for i in 1..=4 {
        suite.push_str(&format!(
            "  - {{name: d{i}, golden: false, turns: [{{user: hi}}]}}\n"
        ));
    }
    ws.write("s.yaml", &suite);
    let child = agenttest()
        .current_dir(ws.path())
        .args(["run", "s.yaml", "-j", "1", "--color", "never"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Four dialogues of 700 ms one after another: this lands before the last has finished.
    std::thread::sleep(std::time::Duration::from_millis(1200));
    signal(child.id(), "INT");
    let out = child.wait_with_output().expect("wait");
    assert_code(&out, 130);
    let text = stdout(&out);
    let not_run = text.matches("NOT RUN s › ").count();
    assert!(not_run >= 2, "{text}");
    assert!(
        text.contains(&format!("{not_run} not run in")),
        "each not-run dialogue has its line: {text}"
    );
    assert_eq!(text.matches("NOT RUN s › d4").count(), 1, "{text}");
}

/// A `skip:` dialogue that `--fail-fast` stopped the run before is skipped all the same, in
/// every output: its line, the summary's count, its JUnit `<skipped message>` with its reason,
/// and its JSON outcome. Only the dialogues that would have sent something are not run.
#[test]
fn a_skipped_dialogue_fail_fast_never_reached_is_still_skipped() {
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: fails
    golden: false
    turns: [{user: hi, expect: {contains: nope}}]
  - name: parked
    skip: waiting on ticket 123
    turns: [{user: hi}]
  - name: third
    golden: false
    turns: [{user: hi}]
",
    );
    let out = run_in(
        ws.path(),
        &[
            "run",
            "s.yaml",
            "--fail-fast",
            "--jobs",
            "1",
            "--color",
            "never",
            "--junit",
            "r.xml",
            "--json",
            "r.json",
        ],
    );
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(
        text.contains("SKIP  s › parked  (waiting on ticket 123)\n"),
        "{text}"
    );
    assert!(text.contains("NOT RUN s › third\n"), "{text}");
    assert!(!text.contains("NOT RUN s › parked"), "{text}");
    assert!(
        text.contains("0 passed, 1 failed, 0 errored, 1 skipped, 1 not run"),
        "{text}"
    );
    let junit = ws.read("r.xml");
    assert!(
        junit.contains("<skipped message=\"waiting on ticket 123\"/>"),
        "{junit}"
    );
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).unwrap();
    let outcomes: Vec<(&str, &str)> = json["dialogues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [("fails", "fail"), ("parked", "skip"), ("third", "not_run")]
    );
}
