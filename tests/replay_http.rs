//! `base_url: replay` for the `http` kind (SPEC §7, §8): a suite blessed against the built-in
//! mock's generic JSON API runs offline from its own goldens, through the real binary. Under
//! replay the client speaks the replay server's generic API, whatever the suite's wire shape;
//! `agenttest mock --replay` answers the same goldens to a client that speaks that API itself.
//!
//! The suite is `tests/fixtures/replay_http/support.yaml`, copied into a temporary directory
//! per test and blessed there, so no golden is kept in the repository.

mod common;

use std::process::Output;

use common::{agenttest, assert_code, fixture, stdout, Mock, Workspace};
use serde_json::Value;

/// A workspace holding the suite, blessed against the built-in mock.
fn blessed() -> Workspace {
    let ws = Workspace::new();
    let suite = std::fs::read_to_string(fixture("replay_http/support.yaml")).expect("fixture");
    ws.write("support.yaml", &suite);
    let o = run(&ws, &["--bless"]);
    assert_code(&o, 0);
    ws
}

/// `agenttest run support.yaml ARGS... --color never` in the workspace.
fn run(ws: &Workspace, args: &[&str]) -> Output {
    agenttest()
        .current_dir(ws.path())
        .args(["run", "support.yaml"])
        .args(args)
        .args(["--color", "never"])
        .output()
        .expect("run agenttest")
}

fn dialogue<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["dialogues"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["name"] == name))
        .unwrap_or_else(|| panic!("no dialogue {name:?} in the report"))
}

fn turns<'r>(report: &'r Value, name: &str) -> &'r Vec<Value> {
    dialogue(report, name)["attempts"][0]["turns"]
        .as_array()
        .expect("turns")
}

#[test]
fn an_http_suite_blessed_against_the_mock_replays_offline() {
    let ws = blessed();
    let golden = ws.read("support.golden/price-after-products.yaml");
    assert!(
        golden.contains("agent: The premium plan is $99/month."),
        "{golden}"
    );
    let o = run(&ws, &["--endpoint", "replay", "--json", "r.json"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("5 passed"), "{}", stdout(&o));
    let r: Value = serde_json::from_str(&ws.read("r.json")).expect("report");
    // The server's session followed from turn to turn (`session: server`).
    let price = turns(&r, "price after products");
    assert_eq!(price[1]["text"], "The premium plan is $99/month.");
    let sid = dialogue(&r, "price after products")["session_id"]
        .as_str()
        .expect("an adopted session id");
    assert!(!sid.is_empty());
    // A recorded failure came back with its status, and the session went on past it.
    let failure = turns(&r, "a recorded failure");
    assert_eq!(failure[0]["status"], 500);
    assert_eq!(failure[1]["status"], 200);
    // `stream: sse`: goldens keep no pacing, but the text still came as a stream.
    let streamed = &turns(&r, "streamed")[0];
    assert_eq!(streamed["shape"], "sse");
    assert!(streamed["first_token_ms"].is_u64(), "{streamed}");
    // Nothing pending: every dialogue matched its golden.
    assert!(!ws.exists("support.golden/streamed.yaml.new"));

    // The same, written in the suite rather than given as a flag.
    let suite = ws.read("support.yaml");
    ws.write(
        "support.yaml",
        &suite.replace("base_url: mock", "base_url: replay"),
    );
    assert_code(&run(&ws, &[]), 0);
}

/// Replay cannot read a user's body or fill its pointers: under replay the client sets the
/// suite's wire shape aside and speaks the generic API, so a suite whose live agent speaks
/// something else entirely still replays from the same goldens.
#[test]
fn under_replay_the_suites_own_wire_shape_is_set_aside() {
    let ws = blessed();
    let suite = ws
        .read("support.yaml")
        .replace("base_url: mock", "base_url: replay")
        .replace("auth_header: X-API-Key", "auth_header: X-Agent-Token")
        .replace(
            "path: /http/ag_support/chat",
            "path: /api/v2/{{session_id}}/say",
        )
        .replace("input: \"{{message}}\"", "question: \"{{message}}\"")
        .replace("/usage/", "/tokens/")
        .replace("text: /output/text", "text: /answer/0/content")
        .replace("session_id: /session", "session_id: /conversation/id")
        .replace("error: /error/message", "error: /problem");
    assert!(
        !suite.contains("/output/text") && !suite.contains("input: "),
        "{suite}"
    );
    ws.write("support.yaml", &suite);
    let o = run(&ws, &["--json", "r.json"]);
    assert_code(&o, 0);
    let r: Value = serde_json::from_str(&ws.read("r.json")).expect("report");
    assert_eq!(
        turns(&r, "client history")[2]["text"],
        "The premium plan is $99/month."
    );
}

#[test]
fn replay_compares_messages_after_the_suites_normalize_rules() {
    let ws = blessed();
    let suite = ws.read("support.yaml");
    ws.write("support.yaml", &suite.replace("ORD-123", "ORD-777"));
    // The golden records the message as sent, so the golden itself differs; what replay
    // answered is what this shows, through the expectation alone.
    let o = run(
        &ws,
        &[
            "--endpoint",
            "replay",
            "--filter",
            "order status",
            "--no-golden",
        ],
    );
    assert_code(&o, 0);
}

#[test]
fn a_changed_message_under_replay_is_a_404_naming_the_nearest_golden() {
    let ws = blessed();
    let suite = ws.read("support.yaml");
    ws.write(
        "support.yaml",
        &suite.replace("How much is it?", "What does it cost?"),
    );
    let o = run(
        &ws,
        &["--endpoint", "replay", "--filter", "price after products"],
    );
    // A 404 is an error the gate cannot judge (SPEC §4.2), as on every other kind.
    assert_code(&o, 3);
    let out = stdout(&o);
    assert!(
        out.contains("[404] no golden transcript matches turn 2"),
        "{out}"
    );
    assert!(
        out.contains(
            "nearest: support.golden/price-after-products.yaml (its turn 2 is \"How much is it?\")"
        ),
        "{out}"
    );
}

#[test]
fn mock_replay_answers_a_client_that_speaks_the_generic_api() {
    let ws = blessed();
    let suite = ws.path().join("support.yaml");
    let replay = Mock::start_with(&["--replay", suite.to_str().expect("utf-8 path")]);
    // The suite's own wire shape is the generic API, so it runs against the replay server as
    // against a live agent: its path, key header and body as written.
    let o = run(&ws, &["--endpoint", &replay.url]);
    assert_code(&o, 0);
    let requests = replay.requests();
    assert!(
        requests
            .iter()
            .all(|r| r["api"] == "http" && r["agent_id"] == "ag_support"),
        "{requests:?}"
    );
}

/// Under replay an http dialogue goes by its own label: its golden does not answer another
/// kind's request that says the same (found by a review: an openai dialogue got the http
/// dialogue's recorded text). And replay reads only what the suite's own pointers read: a
/// check the live endpoint cannot answer (`max_tokens` without a token count) fails offline
/// as it did live, rather than passing on the replay server's count.
#[test]
fn replay_keeps_kinds_apart_and_reads_only_the_suites_pointers() {
    let ws = Workspace::new();
    ws.write(
        "support.yaml",
        r#"name: kinds side by side
endpoint:
  base_url: mock
  api_key: ak_demo_key
dialogues:
  - name: a http
    endpoint:
      kind: http
      path: /http/ag_support/chat
      body: {input: "{{message}}", session: "{{session_id}}"}
      response: {text: /output/text}
    turns:
      - user: hello
        expect: {max_tokens: 100}
  - name: b openai
    endpoint: {kind: openai, model: judge-mock}
    turns:
      - user: hello
"#,
    );
    let live = run(&ws, &["--bless", "--json", "live.json"]);
    assert_code(&live, 1);
    let live: Value = serde_json::from_str(&ws.read("live.json")).expect("report");
    assert_eq!(dialogue(&live, "a http")["outcome"], "fail");
    assert_eq!(dialogue(&live, "b openai")["outcome"], "pass");

    let o = run(&ws, &["--endpoint", "replay", "--json", "r.json"]);
    let r: Value = serde_json::from_str(&ws.read("r.json")).expect("report");
    assert_eq!(
        dialogue(&r, "b openai")["outcome"],
        "pass",
        "{}",
        stdout(&o)
    );
    let a = &turns(&r, "a http")[0];
    assert_eq!(dialogue(&r, "a http")["outcome"], "fail", "{a}");
    assert!(a["usage"]["output_tokens"].is_null(), "{a}");
    assert_code(&o, 1);
}

/// Two http dialogues that say the same to different agents (different paths), and the rows of
/// a `matrix:` over the path, each replay from their own golden (found by a review: the first
/// golden by name answered all of them).
#[test]
fn http_dialogues_that_say_the_same_replay_their_own_goldens() {
    let ws = Workspace::new();
    ws.write(
        "support.yaml",
        r#"name: same words, other agents
endpoint:
  kind: http
  base_url: mock
  api_key: ak_demo_key
  body: {input: "{{message}}", session: "{{session_id}}"}
  response: {text: /output/text}
dialogues:
  - name: a support
    endpoint: {path: /http/ag_support/chat}
    turns:
      - user: hello
  - name: b judge
    endpoint: {path: /http/judge-mock/chat}
    turns:
      - user: hello
  - name: rows
    endpoint: {path: "/http/{{agent}}/chat"}
    matrix:
      - {agent: judge-mock}
      - {agent: ag_support}
    turns:
      - user: hello
"#,
    );
    assert_code(&run(&ws, &["--bless"]), 0);
    assert_ne!(
        ws.read("support.golden/a-support.yaml"),
        ws.read("support.golden/b-judge.yaml")
            .replace("b judge", "a support"),
        "the two agents answer differently"
    );
    let o = run(&ws, &["--endpoint", "replay"]);
    assert_code(&o, 0);
    assert!(stdout(&o).contains("4 passed"), "{}", stdout(&o));
}

/// A dialogue with `golden: false` keeps no golden, so replay has nothing to answer it with:
/// it is skipped, saying why, and the run passes on the dialogues that can be replayed.
#[test]
fn a_dialogue_without_a_golden_is_skipped_under_replay() {
    let ws = Workspace::new();
    ws.write(
        "s.yaml",
        "endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key}\n\
         dialogues:\n  - name: kept\n    turns: [{user: What are your business hours?}]\n  \
         - name: unkept\n    golden: false\n    turns: [{user: hi}]\n",
    );
    let o = agenttest()
        .current_dir(ws.path())
        .args(["run", "s.yaml", "--bless"])
        .output()
        .expect("run agenttest");
    assert_code(&o, 0);
    let o = agenttest()
        .current_dir(ws.path())
        .args(["run", "s.yaml", "--endpoint", "replay", "--color", "never"])
        .output()
        .expect("run agenttest");
    assert_code(&o, 0);
    let text = stdout(&o);
    assert!(text.contains("PASS  s › kept"), "{text}");
    assert!(text.contains("SKIP  s › unkept"), "{text}");
    assert!(text.contains("no golden to replay"), "{text}");
    assert!(
        text.contains("1 passed, 0 failed, 0 errored, 1 skipped"),
        "{text}"
    );
}

/// F7: a suite that captures an id and normalizes it (`support › order follow-up`: `capture:
/// ORD-\d+`, its golden holding `<ORDER>`) replays offline: the placeholder is served as a
/// text its rule normalizes back (`ORD-0`), which the capture takes and the next message sends.
/// The repository's own suites, copied, all pass under `--endpoint replay`.
#[test]
fn captured_and_normalized_ids_replay_offline() {
    let ws = Workspace::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    copy_dir(&root, &ws.path().join("suites"));
    let o = agenttest()
        .current_dir(ws.path())
        .args(["run", "suites", "--endpoint", "replay", "--json", "r.json"])
        .args(["--color", "never"])
        .output()
        .expect("run agenttest");
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains(" 0 failed, 0 errored"),
        "{}",
        stdout(&o)
    );
    let r: Value = serde_json::from_str(&ws.read("r.json")).expect("report");
    let order = r["dialogues"]
        .as_array()
        .and_then(|ds| {
            ds.iter()
                .find(|d| d["suite"] == "support" && d["name"] == "order follow-up")
        })
        .expect("support › order follow-up");
    let turns = order["attempts"][0]["turns"].as_array().expect("turns");
    assert!(
        turns[0]["text"].as_str().unwrap_or("").contains("ORD-0"),
        "{order}"
    );
    assert!(
        turns[1]["message"].as_str().unwrap_or("").contains("ORD-0"),
        "{order}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read suites") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}
