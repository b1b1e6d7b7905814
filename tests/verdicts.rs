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

/// `session: server` against a platform agent that returns no `session_id`: the next turn
/// cannot continue the conversation, which is an error at that turn (as for the http kind),
/// not a second turn sent into a new conversation that passes on an answer given without the
/// first turn's context.
#[test]
fn a_server_session_the_server_never_returned_ends_the_dialogue_as_an_error() {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let server = std::thread::spawn(move || {
        let mut served = 0;
        while let Ok((mut stream, _)) = listener.accept() {
            // Every request the connection carries, each answered without a session id.
            loop {
                if read_request(&stream).is_empty() {
                    break;
                }
                served += 1;
                let body = r#"{"response": "we open at 9"}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
            if served > 0 {
                return served;
            }
        }
        served
    });
    let ws = Workspace::with(
        "s.yaml",
        &format!(
            "endpoint: {{base_url: \"{url}\", agent_id: ag, api_key: ak_test, retries: 0}}
dialogues:
  - name: remembers
    golden: false
    session: server
    turns:
      - user: When do you open?
      - user: And close?
"
        ),
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("ERROR s › remembers"), "{text}");
    assert!(
        text.contains("the server returned no session_id, so turn 2 cannot continue the session (session: server)"),
        "{text}"
    );
    assert_eq!(server.join().expect("server"), 1, "turn 2 was sent");
}

/// An expected error under `session: server` brings no session id, and needs none: the next
/// turn goes as it always did (only a 2xx reply without an id leaves nothing to continue).
#[test]
fn an_expected_error_under_a_server_session_does_not_end_the_dialogue() {
    let ws = Workspace::with(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key, retries: 0}
dialogues:
  - name: fails then answers
    golden: false
    session: server
    turns:
      - user: boom
        expect: {status: 500}
      - user: What are your business hours?
        expect: {contains: Monday}
",
    );
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("PASS  s › fails then answers  (2 turns"),
        "{}",
        stdout(&out)
    );
}
