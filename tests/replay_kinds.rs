//! Replay (SPEC §7) for the kinds that send their own history or name no key, through the real
//! binary: a suite that passes live passes replayed, in-process (`--endpoint replay`) and
//! against `agenttest mock --replay` reached by URL.
//!
//! - A dialogue with an expected-error turn: the openai and http (`{{history}}`) clients leave
//!   that turn out of the history they send, and replay must match them so.
//! - An openai suite without `api_key` (a local vLLM or Ollama): replay asks for no key.
//! - Openai dialogues that say the same to one model with another system prompt, `params` or
//!   vars, and dialogues of every kind that open alike: each is answered from its own golden.
//!
//! Goldens are blessed against the built-in mock in a temporary directory, or written by hand
//! where no live agent could record them (a keyless endpoint, an agent that follows the system
//! prompt), so no golden is kept in the repository.

mod common;

use std::process::Output;

use common::{agenttest, assert_code, stderr, stdout, Mock, Workspace};
use serde_json::{json, Value};

/// `agenttest run SUITE ARGS... --color never` in the workspace.
fn run(ws: &Workspace, suite: &str, args: &[&str]) -> Output {
    agenttest()
        .current_dir(ws.path())
        .args(["run", suite])
        .args(args)
        .args(["--color", "never"])
        .output()
        .expect("run agenttest")
}

/// Asserts that `suite` passed with `n` dialogues, showing the whole output when not.
#[track_caller]
fn passed(o: &Output, n: usize) {
    assert_code(o, 0);
    let text = stdout(o);
    assert!(
        text.contains(&format!("{n} passed, 0 failed, 0 errored")),
        "{text}\n--- stderr\n{}",
        stderr(o)
    );
}

/// A golden as `--bless` writes it.
fn golden(suite: &str, dialogue: &str, turns: &[(&str, u16, &str)]) -> String {
    let mut text = format!(
        "# agenttest golden transcript. Update with: agenttest run --bless\n\
         suite: {suite}\ndialogue: {dialogue}\nturns:\n"
    );
    for (user, status, agent) in turns {
        text.push_str(&format!(
            "  - user: {user}\n    status: {status}\n    agent: {agent}\n"
        ));
    }
    text
}

/// The dialogue with an expected-error turn, after one that passes, for every kind that sends
/// its history: openai plain and streamed, and http with `{{history}}`.
const ERROR_TURN: &str = r#"
normalize:
  - {pattern: '\bORD-\d+\b', replace: '<ORDER>'}
dialogues:
  - name: hours then weekend
    turns:
      - user: What are your business hours?
        expect: {contains: Monday}
      - user: And on Saturdays?
  - name: error turn
    turns:
      - user: boom
        expect: {status: 500}
      - user: hello
  - name: error between
    turns:
      - user: What are your business hours?
      - user: boom
        expect: {status: 500}
      - user: Tell me about your products
      - user: How much is it?
        expect: {contains: "$99"}
"#;

/// The three suites of [`ERROR_TURN`], blessed against the built-in mock.
fn error_turn_suites() -> Workspace {
    let ws = Workspace::new();
    let endpoints = [
        (
            "openai.yaml",
            "endpoint: {base_url: mock, kind: openai, model: ag_support, api_key: ak_demo_key, \
             system: You are a support agent.}",
        ),
        (
            "stream.yaml",
            "endpoint: {base_url: mock, kind: openai, model: ag_support, api_key: ak_demo_key, \
             stream: true}",
        ),
        (
            "http.yaml",
            "endpoint:\n  base_url: mock\n  kind: http\n  api_key: ak_demo_key\n  \
             path: /http/ag_support/chat\n  \
             body: {input: \"{{message}}\", history: \"{{history}}\"}\n  \
             response: {text: /output/text, error: /error/message}",
        ),
    ];
    for (name, endpoint) in endpoints {
        ws.write(name, &format!("{endpoint}\n{ERROR_TURN}"));
        passed(&run(&ws, name, &["--bless"]), 3);
    }
    let recorded = ws.read("openai.golden/error-between.yaml");
    assert!(
        recorded.contains("status: 500") && recorded.contains("How much is it?"),
        "{recorded}"
    );
    ws
}

/// F1: a dialogue with an expected-error turn replays in-process. The openai client sends as
/// history only the turns that got a 2xx reply, so replay must skip the golden's failed turns
/// there, and still answer the failed turn itself with its recorded 500.
#[test]
fn an_expected_error_turn_replays_in_process() {
    let ws = error_turn_suites();
    for suite in ["openai.yaml", "stream.yaml", "http.yaml"] {
        passed(&run(&ws, suite, &["--endpoint", "replay"]), 3);
    }
}

/// F1 against `agenttest mock --replay` reached by URL, where the http kind sends its own
/// `{{history}}` too.
#[test]
fn an_expected_error_turn_replays_from_a_standalone_replay_server() {
    let ws = error_turn_suites();
    let dir = ws.path().to_string_lossy().into_owned();
    let mock = Mock::start_with(&["--replay", &dir]);
    for suite in ["openai.yaml", "stream.yaml", "http.yaml"] {
        passed(&run(&ws, suite, &["--endpoint", &mock.url]), 3);
    }
    // The recorded failure is still answered when it is asked.
    let statuses: Vec<u64> = mock
        .requests()
        .iter()
        .filter(|r| r["message"] == "boom")
        .filter_map(|r| r["status"].as_u64())
        .collect();
    assert_eq!(statuses, [500; 6], "{:?}", mock.requests());
}

/// F3: a suite whose endpoint has no `api_key` (a local vLLM or Ollama, or an agent API suite
/// written for replay) replays: goldens record no key and replay asks for none.
#[test]
fn a_suite_without_a_key_replays() {
    let ws = Workspace::new();
    ws.write(
        "local.yaml",
        "name: local\n\
         endpoint: {base_url: replay, kind: openai, model: llama3}\n\
         dialogues:\n  - name: hi\n    turns: [{user: Hello}, {user: Bye}]\n",
    );
    ws.write(
        "local.golden/hi.yaml",
        &golden(
            "local",
            "hi",
            &[("Hello", 200, "Hi!"), ("Bye", 200, "See you.")],
        ),
    );
    ws.write(
        "streamed.yaml",
        "name: streamed\n\
         endpoint: {base_url: replay, kind: openai, model: llama3, stream: true}\n\
         dialogues:\n  - name: hi\n    turns: [{user: Hello}]\n",
    );
    ws.write(
        "streamed.golden/hi.yaml",
        &golden("streamed", "hi", &[("Hello", 200, "Hi!")]),
    );
    ws.write(
        "thin.yaml",
        "name: thin\n\
         endpoint: {base_url: replay, agent_id: ag_local}\n\
         dialogues:\n  - name: hi\n    turns: [{user: Hello}]\n",
    );
    ws.write(
        "thin.golden/hi.yaml",
        &golden("thin", "hi", &[("Hello", 200, "Hi!")]),
    );
    ws.write(
        "web.yaml",
        "name: web\n\
         endpoint: {base_url: replay, kind: http, body: {q: \"{{message}}\"}, response: {text: /a}}\n\
         dialogues:\n  - name: hi\n    turns: [{user: Hello}]\n",
    );
    ws.write(
        "web.golden/hi.yaml",
        &golden("web", "hi", &[("Hello", 200, "Hi!")]),
    );
    for suite in ["local.yaml", "streamed.yaml", "thin.yaml", "web.yaml"] {
        passed(&run(&ws, suite, &[]), 1);
    }

    // A replay server reached by URL asks for no key on any route either.
    let dir = ws.path().to_string_lossy().into_owned();
    let mock = Mock::start_with(&["--replay", &dir]);
    let client = reqwest::blocking::Client::new();
    let post = |path: &str, body: Value| {
        let resp = client
            .post(format!("{}{path}", mock.url))
            .json(&body)
            .send()
            .expect("post");
        let status = resp.status().as_u16();
        (status, resp.text().unwrap_or_default())
    };
    let completion = json!({"model": "llama3", "messages": [{"role": "user", "content": "Hello"}]});
    let (status, body) = post("/v1/chat/completions", completion);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Hi!"), "{body}");
    let (status, body) = post("/v1/agents/ag_local/chat", json!({"message": "Hello"}));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post("/http/any/chat", json!({"input": "Hello"}));
    assert_eq!(status, 200, "{body}");
}

/// F2: openai dialogues that say the same to one model, and differ only in their system
/// prompt (written or from `system_file`), `params`, vars or `stream`, each replay from their own
/// golden, as a live agent that follows them answers each differently. Reached by URL, a
/// replay server is sent what a live agent would be, and answers from the first golden that
/// continues the conversation, as before.
#[test]
fn openai_dialogues_that_differ_only_in_their_setup_replay_their_own_goldens() {
    let ws = Workspace::new();
    ws.write("casual.txt", "Be casual.");
    ws.write(
        "tone.yaml",
        r#"name: tone
endpoint: {base_url: replay, kind: openai, model: gpt-4o-mini, api_key: sk-local-dummy}
dialogues:
  - name: casual
    endpoint: {system_file: casual.txt}
    turns: [{user: Hello}]
  - name: formal
    endpoint: {system: Be formal.}
    turns: [{user: Hello}]
  - name: cold
    endpoint: {system: Be formal., params: {temperature: 0}}
    turns: [{user: Hello}]
  - name: french
    endpoint: {system: Be formal.}
    vars: {lang: fr}
    turns: [{user: Hello}]
  - name: streamed formal
    endpoint: {system: Be formal., stream: true}
    turns: [{user: Hello}]
"#,
    );
    let answers = [
        ("casual", "Hey! What's up?"),
        ("formal", "Good day. How may I assist you?"),
        ("cold", "Good day."),
        ("french", "Bonjour."),
        ("streamed formal", "Good afternoon. How can I help?"),
    ];
    for (name, agent) in answers {
        let file = format!("tone.golden/{}.yaml", name.replace(' ', "-"));
        ws.write(&file, &golden("tone", name, &[("Hello", 200, agent)]));
    }
    let o = run(&ws, "tone.yaml", &["--json", "r.json"]);
    passed(&o, 5);
    assert!(!ws.exists("tone.golden/formal.yaml.new"), "{}", stdout(&o));

    // By URL nothing names the dialogue (no identity goes to an agent reached by URL): the
    // first golden of the model, by path, answers every dialogue, as it always has.
    let tone = ws.path().join("tone.yaml").to_string_lossy().into_owned();
    let mock = Mock::start_with(&["--replay", &tone]);
    let o = run(
        &ws,
        "tone.yaml",
        &["--endpoint", &mock.url, "--json", "u.json"],
    );
    assert_code(&o, 1);
    let report: Value = serde_json::from_str(&ws.read("u.json")).expect("the JSON report parses");
    let texts: Vec<&str> = report["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .filter_map(|d| d["attempts"][0]["turns"][0]["text"].as_str())
        .collect();
    assert_eq!(texts, ["Hey! What's up?"; 5], "{report:#}");
}

/// Dialogues that open with the same message, to an agent that answered each in other words
/// (a noisy agent's paraphrases, blessed), replay each its own golden, for every kind: each
/// conversation names its dialogue to the in-process replay server. Before, the first golden
/// by path answered every opening, and the others failed their goldens.
#[test]
fn dialogues_that_open_alike_replay_their_own_goldens_for_every_kind() {
    let ws = Workspace::new();
    let kinds = [
        ("thin", "endpoint: {base_url: replay, agent_id: ag_support, api_key: ak_replay_key_1}"),
        ("chat", "endpoint: {base_url: replay, kind: openai, model: gpt-4o-mini}"),
        (
            "api",
            "endpoint: {base_url: replay, kind: http, body: {q: \"{{message}}\"}, response: {text: /a}}",
        ),
    ];
    let openings = [
        ("first", "Hello there!", "hours?", "Nine to five."),
        ("second", "Howdy!", "price?", "Ten dollars."),
        ("third", "Greetings!", "hours?", "From nine to five."),
    ];
    for (suite, endpoint) in kinds {
        let mut text = format!("name: {suite}\n{endpoint}\ndialogues:\n");
        for (name, _, next, _) in openings {
            text.push_str(&format!(
                "  - name: {name}\n    turns: [{{user: Hello}}, {{user: \"{next}\"}}]\n"
            ));
        }
        ws.write(&format!("{suite}.yaml"), &text);
        for (name, hello, next, answer) in openings {
            ws.write(
                &format!("{suite}.golden/{name}.yaml"),
                &golden(suite, name, &[("Hello", 200, hello), (next, 200, answer)]),
            );
        }
        let o = run(&ws, &format!("{suite}.yaml"), &["--json", "r.json"]);
        passed(&o, 3);
        let report: Value = serde_json::from_str(&ws.read("r.json")).expect("JSON");
        let opened: Vec<&str> = report["dialogues"]
            .as_array()
            .expect("dialogues")
            .iter()
            .filter_map(|d| d["attempts"][0]["turns"][0]["text"].as_str())
            .collect();
        assert_eq!(opened, ["Hello there!", "Howdy!", "Greetings!"], "{suite}");
    }
}
