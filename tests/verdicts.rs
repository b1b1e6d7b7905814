//! Verdicts a gate is trusted with, through the real binary against the in-process mock: a
//! wrong answer stays a failure (exit 1) when a later turn of the same run errors, and a turn
//! that expected an error status is recorded in the golden with the detail its expectations
//! were judged on, so that a replay of a blessed suite passes as the live run did (SPEC §3.2,
//! §4.2, §7).

mod common;

use common::*;

/// Turn 1 is answered and wrong; turn 2 gets a 500 the turn did not expect.
const WRONG_THEN_BROKEN: &str =
    "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: wrong then broken
    turns:
      - user: What are your business hours?
        expect: {contains: \"10 AM\"}
      - user: boom
";

#[test]
fn a_wrong_answer_before_an_error_fails_the_gate_and_says_both() {
    let ws = Workspace::with("s.yaml", WRONG_THEN_BROKEN);
    let out = run_in(
        ws.path(),
        &[
            "run", "s.yaml", "--color", "never", "--junit", "r.xml", "--json", "r.json",
        ],
    );
    // Exit 1, not 3: the gate judged an answer wrong.
    assert_code(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("FAIL  s › wrong then broken"), "{text}");
    assert!(
        text.contains("✗ expected the text to contain \"10 AM\""),
        "{text}"
    );
    assert!(
        text.contains("error: turn 2: unexpected status 500"),
        "the error that ended the run is still said: {text}"
    );
    assert!(
        text.contains("0 passed, 1 failed, 0 errored, 0 skipped"),
        "{text}"
    );

    let junit = ws.read("r.xml");
    assert!(
        junit.contains("<failure message=\"turn 1: expected the text to contain &quot;10 AM&quot;"),
        "{junit}"
    );
    assert!(!junit.contains("<error"), "{junit}");
    assert_valid_junit(&ws.path().join("r.xml"));

    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).unwrap();
    let d = &json["dialogues"][0];
    assert_eq!(d["outcome"], "fail", "{d}");
    assert_eq!(d["attempts"][0]["error"]["turn"], 2, "{d}");

    // A run that stopped short of its end has no transcript: no pending golden of half of
    // it, and `--bless` leaves the golden alone.
    assert!(!ws.exists("s.golden/wrong-then-broken.yaml.new"));
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 1);
    assert!(
        !ws.exists("s.golden/wrong-then-broken.yaml"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("1 not created (errored, skipped or not run, no golden yet)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_blessed_expected_error_replays_as_it_ran() {
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: upstream failure
    turns:
      - user: boom
        expect: {status: 500, contains: execution error}
",
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--bless", "--color", "never"]);
    assert_code(&out, 0);
    let golden = ws.read("s.golden/upstream-failure.yaml");
    assert!(
        golden.contains(
            "    status: 500\n    agent: \"Agent execution error: the demo agent was asked to fail\"\n"
        ),
        "the golden holds the detail the turn was judged on: {golden}"
    );
    // Live, it matches its golden.
    assert_code(&run_in(ws.path(), &["run", "s.yaml"]), 0);
    // Offline, it is judged as it was live.
    let out = run_in(
        ws.path(),
        &["run", "s.yaml", "--endpoint", "replay", "--color", "never"],
    );
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("PASS  s › upstream failure"),
        "{}",
        stdout(&out)
    );
}
