//! The real binary's endpoint kinds against the real mock (`base_url: mock`), end to end: chat
//! completions streamed with the history the client keeps, the generic JSON API with a server
//! session and with streamed events, time to first token set by the script's pacing, and an
//! LLM judge played by the mock.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write fixture");
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agenttest"))
        .current_dir(dir)
        .args(["run", "--color", "never", "--no-golden"])
        .args(args)
        .output()
        .expect("run agenttest")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every turn of the report, in order.
fn turns(report: &Value) -> Vec<&Value> {
    report["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .flat_map(|d| d["attempts"][0]["turns"].as_array().expect("turns"))
        .collect()
}

const OPENAI: &str = r#"endpoint:
  kind: openai
  base_url: mock
  model: ag_support
  api_key: ak_demo_key
  stream: true
dialogues:
  - name: price after products
    turns:
      - user: What products do you have?
        expect: {contains: Premium plan}
      - user: How much is it?
        expect: {contains: "$99/month"}
"#;

const HTTP_SESSION: &str = r#"endpoint:
  kind: http
  base_url: mock
  api_key: ak_demo_key
  path: /http/ag_support/chat
  body:
    input: "{{message}}"
    session: "{{session_id}}"
  response:
    text: /output/text
    session_id: /session
    total_tokens: /usage/total
    error: /error/message
dialogues:
  - name: server session
    session: server
    turns:
      - user: Tell me about your plans
        expect: {contains: Basic plan}
      - user: How much is it?
        expect: {contains: "$99/month"}
"#;

const HTTP_SSE: &str = r#"endpoint:
  kind: http
  base_url: mock
  api_key: ak_demo_key
  auth_header: X-API-Key
  path: /http/ag_support/chat
  body:
    input: "{{message}}"
    history: "{{history}}"
    stream: true
  response:
    text: /output/text
    total_tokens: /usage/total
    error: /error/message
  stream: sse
dialogues:
  - name: history streamed
    turns:
      - user: Tell me about your plans
        expect: {contains: Basic plan}
      - user: How much is it?
        expect: {contains: "$99/month"}
"#;

#[test]
fn every_kind_runs_offline_against_the_demo() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "openai.yaml", OPENAI);
    write(tmp.path(), "http.yaml", HTTP_SESSION);
    write(tmp.path(), "sse.yaml", HTTP_SSE);
    let out = run(
        tmp.path(),
        &["openai.yaml", "http.yaml", "sse.yaml", "--json", "r.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    let kinds: Vec<&str> = report["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .filter_map(|d| d["endpoint_kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["http", "openai", "http"],
        "the JSON report names each kind"
    );
    let turns = turns(&report);
    assert_eq!(turns.len(), 6);
    // The streamed kinds record a time to first token; the plain one does not.
    let streamed: Vec<bool> = turns.iter().map(|t| t["first_token_ms"].is_u64()).collect();
    assert_eq!(streamed.iter().filter(|s| **s).count(), 4, "{streamed:?}");
}

#[test]
fn first_chunk_delay_is_the_time_to_first_token() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "slow.mock.yaml",
        "agents:\n  typist:\n    first_chunk_delay: 400ms\n    chunk_delay: 10ms\n    fallback: one two three\n",
    );
    write(
        tmp.path(),
        "slow.yaml",
        "endpoint:\n  kind: openai\n  base_url: mock\n  mock_script: slow.mock.yaml\n  model: typist\n  api_key: ak_any\n  stream: true\ndialogues:\n  - name: quick enough\n    turns:\n      - user: hi\n        expect: {max_first_token: 2s}\n  - name: too slow\n    turns:\n      - user: hi\n        expect: {max_first_token: 100ms}\n",
    );
    let out = run(tmp.path(), &["slow.yaml", "--json", "r.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("PASS  slow › quick enough"), "{text}");
    assert!(text.contains("FAIL  slow › too slow"), "{text}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("r.json")).unwrap()).unwrap();
    for t in turns(&report) {
        let ms = t["first_token_ms"].as_u64().expect("first_token_ms");
        assert!((400..2000).contains(&ms), "{ms}");
    }
}

#[test]
fn the_mock_plays_the_judge() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "judged.yaml",
        r#"endpoint: {base_url: mock, agent_id: ag_support, api_key: ak_demo_key}
judge: {kind: openai, base_url: mock, model: judge-mock, api_key: ak_demo_key}
dialogues:
  - name: passes
    turns:
      - user: What are your business hours?
        expect: {judge: states the opening hours}
  - name: fails
    turns:
      - user: What are your business hours?
        expect: {judge: "MOCK_JUDGE_FAIL states the hours"}
  - name: cannot judge
    turns:
      - user: What are your business hours?
        expect: {judge: MOCK_JUDGE_NOT_JSON}
"#,
    );
    let out = run(tmp.path(), &["judged.yaml", "--no-cache"]);
    let text = stdout(&out);
    assert!(text.contains("PASS  judged › passes"), "{text}");
    assert!(text.contains("FAIL  judged › fails"), "{text}");
    assert!(text.contains("ERROR judged › cannot judge"), "{text}");
    assert!(
        text.contains("MOCK_JUDGE_FAIL, so the reply fails"),
        "{text}"
    );
}
