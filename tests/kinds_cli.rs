//! The endpoint kinds of SPEC §8 through the real binary against the real mock on loopback
//! (`agenttest mock --script tests/fixtures/kinds/mock.yaml`, one per test): what each kind
//! really sends (the history, the system prompt, `params`, the server's session id), how it
//! reads what comes back (usage, error details, streams whole, slow, cut, endless or quiet,
//! pointers that find nothing), the 429 headers it honours, the capture rule, redaction of
//! streamed text, and replay of an openai-blessed suite.
//!
//! The suites are fixtures in `tests/fixtures/kinds/`, copied into a temporary directory per
//! test; they find the mock through `${KINDS_MOCK_URL}`. What reached the mock is read back
//! from `GET /_mock/requests`, so a test can prove what was (and was not) sent.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::Output;

use common::{agenttest, assert_code, fixture, read_request, stderr, stdout, Mock, Workspace};
use serde_json::{json, Value};

const KEY: &str = "ak_kinds_test_42";

/// A mock serving the kinds script, and a workspace holding a copy of every kinds fixture.
fn setup() -> (Mock, Workspace) {
    let mock = Mock::start(&fixture("kinds/mock.yaml"));
    let ws = Workspace::new();
    copy_dir(&fixture("kinds"), ws.path());
    (mock, ws)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixtures") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy fixture");
        }
    }
}

/// `agenttest run ARGS... --color never` in the workspace, with the mock's URL and the key in
/// the environment the suites read.
fn run(ws: &Workspace, url: &str, args: &[&str]) -> Output {
    agenttest()
        .current_dir(ws.path())
        .env("KINDS_MOCK_URL", url)
        .env("KINDS_KEY", KEY)
        .arg("run")
        .args(args)
        .args(["--color", "never"])
        .output()
        .expect("run agenttest")
}

/// A fresh mock and workspace, and a run of the dialogues of `suite` whose names match
/// `filter`, goldens off, the JSON report in `r.json`.
fn run_filtered(suite: &str, filter: &str) -> (Mock, Workspace, Output) {
    let (mock, ws) = setup();
    let args = [suite, "--no-golden", "--filter", filter, "--json", "r.json"];
    let o = run(&ws, &mock.url, &args);
    (mock, ws, o)
}

fn report(ws: &Workspace, name: &str) -> Value {
    serde_json::from_str(&ws.read(name)).expect("JSON report")
}

fn dialogue<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no dialogue {name:?} in {report:#}"))
}

/// The turns of a dialogue's first attempt.
fn turns<'a>(report: &'a Value, name: &str) -> &'a Vec<Value> {
    dialogue(report, name)["attempts"][0]["turns"]
        .as_array()
        .expect("turns")
}

/// The requests the mock received for one model or agent id, in order.
fn requests_for(mock: &Mock, agent: &str) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["agent_id"] == agent)
        .collect()
}

/// The requests whose user message contains `text`.
fn requests_saying(mock: &Mock, text: &str) -> Vec<Value> {
    mock.requests()
        .into_iter()
        .filter(|r| r["message"].as_str().is_some_and(|m| m.contains(text)))
        .collect()
}

/// Words over every message's text: how the mock counts a prompt's tokens.
fn prompt_words(body: &Value) -> u64 {
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            m["content"]
                .as_str()
                .unwrap_or("")
                .split_whitespace()
                .count() as u64
        })
        .sum()
}

// ---------------------------------------------------------------------------------------------
// openai: the conversation the harness keeps

#[test]
fn a_base_url_with_a_query_keeps_it_after_the_kinds_path() {
    let (mock, ws) = setup();
    let o = run(&ws, &mock.url, &["query.yaml", "--no-golden"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("2 passed"), "{stdout}");
    assert_eq!(requests_for(&mock, "ag_chat").len(), 2);
}

#[test]
fn every_turn_sends_the_system_prompt_then_the_whole_history_in_order() {
    let (mock, ws) = setup();
    let o = run(
        &ws,
        &mock.url,
        &["history.yaml", "--no-golden", "--json", "r.json"],
    );
    // The one failure is the last turn's max_tokens 4 on a five-word reply (below).
    assert_code(&o, 1);
    let system = ws.read("prompts/support.md");
    let r = report(&ws, "r.json");
    for (name, streamed) in [("plain", false), ("streamed", true)] {
        let turns = turns(&r, name);
        let sent: Vec<Value> = requests_for(&mock, "ag_chat")
            .into_iter()
            .filter(|q| q["body"]["stream"].as_bool().unwrap_or(false) == streamed)
            .collect();
        assert_eq!(sent.len(), 4, "{name}: {sent:#?}");
        // What turn k must send: the system message, every earlier user and assistant message
        // in order, then the new user message.
        let mut expected = vec![json!({"role": "system", "content": system})];
        for (k, (q, t)) in sent.iter().zip(turns).enumerate() {
            expected.push(json!({"role": "user", "content": t["message"]}));
            let body = &q["body"];
            assert_eq!(body["messages"], json!(expected), "{name}, turn {}", k + 1);
            assert_eq!(body["model"], "ag_chat");
            // `params` copied into the body as they are.
            assert_eq!(body["temperature"], 0.2);
            assert_eq!(body["seed"], 7);
            assert_eq!(body["max_tokens"], 300);
            assert_eq!(body["user"], "kinds-cli");
            if streamed {
                assert_eq!(body["stream_options"], json!({"include_usage": true}));
            } else {
                assert!(body.get("stream").is_none(), "{body}");
            }
            // Usage mapped: prompt / completion / total tokens as input / output / total.
            let reply = t["text"].as_str().expect("text");
            let input = prompt_words(body);
            let output = reply.split_whitespace().count() as u64;
            assert_eq!(
                t["usage"],
                json!({"input_tokens": input, "output_tokens": output, "total_tokens": input + output}),
                "{name}, turn {}",
                k + 1
            );
            expected.push(json!({"role": "assistant", "content": reply}));
        }
        // The follow-up needed the history: "How much is it?" after products.
        assert_eq!(turns[2]["text"], "The premium plan is $99/month.");
        assert_eq!(turns[2]["failures"], json!([]), "{name}");
        assert!(turns[3]["usage"]["input_tokens"].as_u64().unwrap() > 40);
        assert_eq!(
            turns[3]["failures"][0]["message"], "expected at most 4 output tokens, got 5",
            "{name}: max_tokens checks completion tokens, not the prompt"
        );
        assert_eq!(turns[3]["failures"].as_array().unwrap().len(), 1);
        assert_eq!(turns[0]["first_token_ms"].is_u64(), streamed, "{name}");
    }
    let text = stdout(&o);
    assert!(text.contains("FAIL  history › plain  (4 turns"), "{text}");
    assert!(
        text.contains("FAIL  history › streamed  (4 turns"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// Error bodies and their detail

#[test]
fn each_error_body_gives_its_detail_in_the_console_and_the_json() {
    let (mock, ws) = setup();
    let o = run(
        &ws,
        &mock.url,
        &["errors.yaml", "--no-golden", "--json", "r.json"],
    );
    assert_code(&o, 3);
    let text = stdout(&o);
    let r = report(&ws, "r.json");
    for (name, status, detail) in [
        ("openai wrong key", 401, "Invalid API key"),
        (
            "openai unknown model",
            404,
            "The model `gpt-unknown` does not exist or you do not have access to it.",
        ),
        (
            "openai crash",
            500,
            "Agent execution error: the model crashed",
        ),
        (
            "http crash",
            500,
            "Agent execution error: the model crashed",
        ),
        ("http unknown agent", 404, "Agent not found: ag_nobody"),
    ] {
        assert!(
            text.contains(&format!("ERROR errors › {name}")),
            "{name}\n{text}"
        );
        // The status and the request that got it, then the detail the API gave.
        assert!(
            text.contains(&format!("unexpected status {status} from POST http://"))
                && text.contains(&format!(": {detail}")),
            "{name}\n{text}"
        );
        let d = dialogue(&r, name);
        assert_eq!(d["outcome"], "error", "{name}");
        let turn = &d["attempts"][0]["turns"][0];
        assert_eq!(turn["status"], status, "{name}");
        assert_eq!(turn["detail"], detail, "{name}");
        let message = d["attempts"][0]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.starts_with(&format!(
                "turn 1: unexpected status {status} from POST http://"
            )) && message.ends_with(&format!(": {detail}")),
            "{name}: {message}"
        );
    }
    // The wrong key reached the mock and is shown nowhere.
    assert!(!text.contains("ak_not_our_key_9"), "{text}");
    assert!(!ws.read("r.json").contains("ak_not_our_key_9"));
}

/// A small HTTP server on loopback for replies the mock does not send: its first eight
/// requests are read whole and each answered with what `answer` gives for its path (the
/// status line's text, extra header lines, the JSON body). Returns the base URL.
fn answering_server(
    answer: impl Fn(&str) -> (String, &'static str, &'static str) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let path = read_request(&stream);
            let (status, extra, body) = answer(&path);
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{extra}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// A server that answers every request with `status` and `body`, for an error shape the mock
/// does not send.
fn fixed_server(status: &str, body: &'static str) -> String {
    let status = status.to_string();
    answering_server(move |_| (status.clone(), "", body))
}

#[test]
fn the_http_kinds_error_pointer_finds_the_detail_where_the_api_puts_it() {
    // The detail is where only the pointer looks: the usual `error` field says something else.
    let url = fixed_server(
        "503 Service Unavailable",
        r#"{"error": "upstream_unavailable", "problem": {"title": "Quota exhausted for team blue"}}"#,
    );
    let ws = Workspace::new();
    ws.write(
        "pointer.yaml",
        &format!(
            "endpoint:\n  kind: http\n  base_url: {url}\n  api_key: {KEY}\n  retries: 0\n  body: {{q: \"{{{{message}}}}\"}}\n  response: {{text: /answer}}\ndialogues:\n  - name: quota\n    endpoint: {{response: {{error: /problem/title}}}}\n    turns: [{{user: hi}}]\n  - name: no pointer\n    turns: [{{user: hi}}]\n"
        ),
    );
    let o = run(
        &ws,
        "unused",
        &["pointer.yaml", "--no-golden", "-j", "1", "--json", "r.json"],
    );
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(
        text.contains("unexpected status 503 from POST http://")
            && text.contains(": Quota exhausted for team blue"),
        "{text}"
    );
    // Without the pointer the common places are read: here the plain `error` string.
    assert!(text.contains(": upstream_unavailable"), "{text}");
    let r = report(&ws, "r.json");
    assert_eq!(
        turns(&r, "quota")[0]["detail"],
        "Quota exhausted for team blue"
    );
}

/// A FastAPI-like agent on loopback: `POST /chat` answers, any other path is redirected there
/// with a 307 (as Starlette's `redirect_slashes` does for `/chat/`). Returns the base URL and
/// the paths requested.
fn slash_strict_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = paths.clone();
    let url = answering_server(move |path| {
        seen.lock().expect("lock").push(path.to_string());
        if path == "/chat" {
            ("200 OK".into(), "", r#"{"answer": "hi from chat"}"#)
        } else {
            ("307 Temporary Redirect".into(), "location: /chat\r\n", "")
        }
    });
    (url, paths)
}

/// The agent's whole URL in `base_url` with no `path:` is requested as written (it had become
/// `/chat/`), and a redirect says where it points instead of a bare status.
#[test]
fn an_http_base_url_without_a_path_is_the_whole_url_and_a_redirect_says_where() {
    let (url, paths) = slash_strict_server();
    let ws = Workspace::new();
    ws.write(
        "whole.yaml",
        &format!(
            "endpoint:\n  kind: http\n  base_url: {url}/chat\n  retries: 0\n  body: {{q: \"{{{{message}}}}\"}}\n  response: {{text: /answer}}\ndialogues:\n  - name: whole url\n    turns: [{{user: hi, expect: {{equals: hi from chat}}}}]\n  - name: slash path\n    endpoint: {{path: /chat/}}\n    turns: [{{user: hi}}]\n"
        ),
    );
    let o = run(&ws, "unused", &["whole.yaml", "--no-golden", "-j", "1"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(text.contains("PASS  whole › whole url"), "{text}");
    assert!(
        text.contains("unexpected status 307 from POST ")
            && text.contains("redirected to /chat; agenttest follows no redirect"),
        "{text}"
    );
    let paths = paths.lock().expect("lock").clone();
    assert!(paths.contains(&"/chat".to_string()), "{paths:?}");
    assert!(paths.contains(&"/chat/chat/".to_string()), "{paths:?}");
}

/// A 204 has no body by definition: it is judged on its status, not called malformed. An
/// expected 204 passes; an unexpected one fails its status check (exit 1), as any unexpected
/// 2xx does, instead of erroring.
#[test]
fn a_204_is_judged_on_its_status() {
    let url = fixed_server("204 No Content", "");
    let ws = Workspace::new();
    ws.write(
        "nc.yaml",
        &format!(
            "endpoint: {{base_url: \"{url}\", agent_id: ag, api_key: {KEY}, retries: 0}}\ndialogues:\n  - {{name: expected, golden: false, turns: [{{user: hi, expect: {{status: 204}}}}]}}\n  - {{name: unexpected, golden: false, turns: [{{user: hi}}]}}\n"
        ),
    );
    let o = run(&ws, "unused", &["nc.yaml", "-j", "1"]);
    assert_code(&o, 1);
    let text = stdout(&o);
    assert!(text.contains("PASS  nc › expected"), "{text}");
    assert!(text.contains("FAIL  nc › unexpected"), "{text}");
    assert!(text.contains("expected status 200, got 204"), "{text}");
    assert!(!text.contains("malformed"), "{text}");
}

/// Two replies third-party servers send: a byte order mark before the JSON (a .NET agent's),
/// which is read past, and a body compressed unasked, whose error names the encoding instead
/// of quoting the compressed bytes.
#[test]
fn a_bom_is_read_past_and_a_compressed_body_is_named() {
    let url = answering_server(|path| {
        if path.contains("/agents/bom/") {
            (
                "200 OK".into(),
                "",
                "\u{feff}{\"response\": \"Hello bom\", \"session_id\": \"s1\"}",
            )
        } else {
            (
                "200 OK".into(),
                "content-encoding: gzip\r\n",
                "\u{1f}\u{8b}packed",
            )
        }
    });
    let ws = Workspace::new();
    ws.write(
        "odd.yaml",
        &format!(
            "endpoint: {{base_url: \"{url}\", api_key: {KEY}, retries: 0}}\ndialogues:\n  - {{name: bom, golden: false, endpoint: {{agent_id: bom}}, turns: [{{user: hi, expect: {{equals: Hello bom}}}}]}}\n  - {{name: gzip, golden: false, endpoint: {{agent_id: gz}}, turns: [{{user: hi}}]}}\n"
        ),
    );
    let o = run(&ws, "unused", &["odd.yaml", "-j", "1"]);
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(text.contains("PASS  odd › bom"), "{text}");
    assert!(
        text.contains(
            "the body is gzip-encoded (Content-Encoding: gzip), which agenttest does not decode"
        ),
        "{text}"
    );
    assert!(!text.contains("packed"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// 429: each of OpenAI's three headers honoured alone

#[test]
fn a_429_waits_as_long_as_each_header_says_then_succeeds() {
    let (mock, ws) = setup();
    let o = run(
        &ws,
        &mock.url,
        &[
            "rate_limits.yaml",
            "--no-golden",
            "-j",
            "3",
            "--json",
            "r.json",
        ],
    );
    assert_code(&o, 0);
    let r = report(&ws, "r.json");
    for (name, agent) in [
        ("retry-after", "ag_limited_s"),
        ("retry-after-ms", "ag_limited_ms"),
        ("x-ratelimit-reset-requests", "ag_limited_reset"),
    ] {
        let statuses: Vec<Value> = requests_for(&mock, agent)
            .iter()
            .map(|q| q["status"].clone())
            .collect();
        assert_eq!(statuses, [200, 429, 200], "{name}");
        // The turn a 429 refused is asked again whole: its message once, after the first turn,
        // never left in the history by the refusal.
        let said = |q: &Value| -> Vec<Value> {
            q["body"]["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["content"].clone())
                .collect()
        };
        let sent = requests_for(&mock, agent);
        let first_answer = turns(&report(&ws, "r.json"), name)[0]["text"].clone();
        let second: [Value; 3] = ["first".into(), first_answer, "second".into()];
        assert_eq!(said(&sent[1]), second, "{name}");
        assert_eq!(said(&sent[2]), second, "{name}");
        let t = turns(&r, name);
        assert_eq!(t[0]["retries"], 0, "{name}");
        assert_eq!(t[1]["retries"], 1, "{name}");
        assert_eq!(t[1]["status"], 200, "{name}");
        // The window is a second from turn 1: the one retry waited most of it (the runner's
        // own first backoff is at most 200ms, which would have met another 429).
        let ms = dialogue(&r, name)["duration_ms"].as_u64().unwrap();
        assert!((700..4000).contains(&ms), "{name}: {ms}ms");
    }
    let text = stdout(&o);
    assert!(text.contains("(2 turns, 1 retry,"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Streams

#[test]
fn a_slow_first_piece_fails_max_first_token_and_a_fast_one_passes() {
    let (_mock, ws, o) = run_filtered("streams.yaml", "first token");
    assert_code(&o, 1);
    let text = stdout(&o);
    assert!(text.contains("PASS  streams › fast first token"), "{text}");
    assert!(text.contains("FAIL  streams › slow first token"), "{text}");
    assert!(
        text.contains("expected the first token within 300ms, it took "),
        "{text}"
    );
    let r = report(&ws, "r.json");
    let slow = &turns(&r, "slow first token")[0];
    assert_eq!(slow["text"], "A slow but complete answer.");
    assert!(slow["first_token_ms"].as_u64().unwrap() >= 700, "{slow}");
    let fast = &turns(&r, "fast first token")[0];
    assert_eq!(fast["text"], "A quick and complete answer.");
    assert!(fast["first_token_ms"].as_u64().unwrap() < 300, "{fast}");
}

#[test]
fn a_stream_cut_off_midway_is_an_error() {
    let (mock, ws, o) = run_filtered("streams.yaml", "cut off");
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(text.contains("ERROR streams › cut off"), "{text}");
    let r = report(&ws, "r.json");
    let d = dialogue(&r, "cut off");
    assert_eq!(d["outcome"], "error");
    // Half a reply is no reply: nothing of it is judged or recorded as the agent's text.
    assert_eq!(d["attempts"][0]["turns"][0]["text"], Value::Null);
    assert_eq!(requests_saying(&mock, "cut").len(), 1);
}

#[test]
fn an_endless_stream_is_capped() {
    let (_mock, _ws, o) = run_filtered("streams.yaml", "never ends");
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(text.contains("ERROR streams › never ends"), "{text}");
    assert!(
        text.contains("response body larger than 8388608 bytes"),
        "{text}"
    );
}

#[test]
fn a_stream_that_goes_quiet_times_out() {
    let started = std::time::Instant::now();
    let (_mock, _ws, o) = run_filtered("streams.yaml", "goes quiet");
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(text.contains("ERROR streams › goes quiet"), "{text}");
    assert!(text.contains("timed out after 1s"), "{text}");
    assert!(started.elapsed().as_secs() < 10);
}

// ---------------------------------------------------------------------------------------------
// http: pointers, the server's session, the client's history

#[test]
fn an_http_reply_whose_text_pointer_finds_nothing_is_malformed() {
    let (_mock, ws, o) = run_filtered("http.yaml", "pointer");
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(
        text.contains("malformed reply (status 200) from POST http://")
            && text.contains(
                ": the pointer `/output/words` (response.text) finds no string in the body"
            ),
        "{text}"
    );
    let r = report(&ws, "r.json");
    assert_eq!(dialogue(&r, "pointer finds nothing")["outcome"], "error");
}

/// Streamed, the same: a pointer that finds no text in any event is a malformed reply, not an
/// empty one that `not_contains` would pass and `--bless` record.
#[test]
fn a_streamed_http_reply_whose_text_pointer_finds_nothing_is_malformed() {
    let (_mock, ws, o) = run_filtered("http.yaml", "streamed, the pointer");
    assert_code(&o, 3);
    let text = stdout(&o);
    assert!(
        text.contains("finds no string in any event of the stream"),
        "{text}"
    );
    let r = report(&ws, "r.json");
    assert_eq!(
        dialogue(&r, "streamed, the pointer finds nothing")["outcome"],
        "error"
    );
}

#[test]
fn session_server_reuses_the_id_the_pointer_found() {
    let (mock, ws, o) = run_filtered("http.yaml", "server session");
    assert_code(&o, 0);
    let sent = requests_for(&mock, "ag_chat");
    assert_eq!(sent.len(), 2, "{sent:#?}");
    // Turn 1 has no id yet (an empty string: the mock opens a session); turn 2 sends the one
    // found at `/session` in turn 1's reply, and `{{turn}}` is a number.
    assert_eq!(
        sent[0]["body"],
        json!({"input": "What products do you have?", "session": "", "turn": 1})
    );
    let id = sent[1]["body"]["session"]
        .as_str()
        .expect("session")
        .to_string();
    assert!(id.starts_with("sess_"), "{id}");
    assert_eq!(sent[1]["body"]["turn"], 2);
    // On the server, both messages are one session.
    let sessions: Value = reqwest::blocking::get(format!("{}/_mock/sessions", mock.url))
        .expect("GET /_mock/sessions")
        .json()
        .expect("sessions JSON");
    assert_eq!(
        sessions[&id],
        json!(["What products do you have?", "How much is it?"])
    );
    let r = report(&ws, "r.json");
    assert_eq!(dialogue(&r, "server session")["session_id"], id.as_str());
    let t = turns(&r, "server session");
    assert_eq!(t[1]["text"], "The premium plan is $99/month.");
    assert_eq!(
        t[1]["usage"],
        json!({"input_tokens": 4, "output_tokens": 5, "total_tokens": 9})
    );
}

#[test]
fn the_http_history_template_sends_every_earlier_turn_in_order() {
    let (mock, ws, o) = run_filtered("http.yaml", "client history");
    assert_code(&o, 0);
    let sent = requests_for(&mock, "ag_chat");
    assert_eq!(sent.len(), 3);
    let r = report(&ws, "r.json");
    let mut history = Vec::new();
    for (q, t) in sent.iter().zip(turns(&r, "client history")) {
        assert_eq!(
            q["body"],
            json!({"input": t["message"], "history": history}),
            "turn {}",
            t["index"]
        );
        history.push(json!({"role": "user", "content": t["message"]}));
        history.push(json!({"role": "assistant", "content": t["text"]}));
    }
}

// ---------------------------------------------------------------------------------------------
// The capture rule

#[test]
fn a_capture_that_does_not_match_ends_the_dialogue_before_anything_unexpanded_is_sent() {
    let (mock, ws) = setup();
    let o = run(
        &ws,
        &mock.url,
        &[
            "capture.yaml",
            "--bless",
            "--json",
            "r.json",
            "--junit",
            "r.xml",
        ],
    );
    assert_code(&o, 1);
    let text = stdout(&o);
    assert!(text.contains("PASS  capture › order found"), "{text}");
    // JUnit's transcript says so too: the turns never went out, and were not left unanswered.
    let junit = ws.read("r.xml");
    assert!(
        junit.contains("&lt; (not sent: an earlier turn ended the dialogue)\n&gt; Thanks anyway"),
        "{junit}"
    );
    assert!(!junit.contains("(no response)"), "{junit}");
    assert!(text.contains("FAIL  capture › order lost"), "{text}");
    assert!(
        text.contains("capture `order`: /ORD-\\d+/ did not match the text; the dialogue ends here (later turns were not sent)"),
        "{text}"
    );
    // On a dialogue's last turn a missed capture ends nothing: it says only that it missed.
    assert!(
        text.contains("FAIL  capture › capture on the last turn"),
        "{text}"
    );
    assert_eq!(
        text.matches("the dialogue ends here (later turns were not sent)")
            .count(),
        2,
        "{text}"
    );
    // The matching capture was used; the failing ones sent their first turn only.
    assert_eq!(requests_saying(&mock, "Has ORD-4242 shipped?").len(), 1);
    assert_eq!(requests_saying(&mock, "lost order").len(), 2);
    assert!(requests_saying(&mock, "shipped").len() == 1);
    assert!(requests_saying(&mock, "Thanks anyway").is_empty());
    for q in mock.requests() {
        assert!(
            !q["body"].to_string().contains("{{"),
            "sent unexpanded: {q}"
        );
    }
    // The http kind's body template names the capture: empty until it is taken.
    let http = requests_saying(&mock, "via http");
    assert_eq!(http.len(), 1);
    assert_eq!(http[0]["body"]["ref"], "");
    let r = report(&ws, "r.json");
    let lost = turns(&r, "order lost");
    assert_eq!(lost.len(), 3);
    assert_eq!(lost[0]["failures"][0]["key"], "capture");
    for t in &lost[1..] {
        assert_eq!(t["not_sent"], true, "{t}");
        assert_eq!(t["status"], Value::Null, "{t}");
    }
    // The goldens hold what was said, never a `{{name}}`; a dialogue the missed capture cut
    // short did not go to its end, and is neither blessed nor left pending.
    assert!(!ws.exists("capture.golden/order-lost.yaml"));
    assert!(!ws.exists("capture.golden/order-lost.yaml.new"));
    let found = ws.read("capture.golden/order-found.yaml");
    assert!(found.contains("user: Has ORD-4242 shipped?"), "{found}");
    for entry in std::fs::read_dir(ws.path().join("capture.golden")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains("{{"), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Redaction of streamed text

#[test]
fn a_key_the_agent_streams_back_is_redacted_in_every_output() {
    let (mock, ws) = setup();
    let o = run(
        &ws,
        &mock.url,
        &[
            "secrets.yaml",
            "--bless",
            "--json",
            "r.json",
            "--junit",
            "j.xml",
            "-v",
        ],
    );
    assert_code(&o, 0);
    // The agent really said it, over both streamed kinds.
    assert_eq!(requests_saying(&mock, "What is my key?").len(), 2);
    let r = report(&ws, "r.json");
    for name in ["openai stream", "http stream"] {
        let t = &turns(&r, name)[0];
        assert_eq!(t["text"], "Your key is [REDACTED], keep it safe.", "{name}");
        assert!(t["first_token_ms"].is_u64(), "{name}");
    }
    let outputs = [
        stdout(&o),
        stderr(&o),
        ws.read("r.json"),
        ws.read("j.xml"),
        ws.read("secrets.golden/openai-stream.yaml"),
        ws.read("secrets.golden/http-stream.yaml"),
    ];
    for out in &outputs {
        assert!(!out.contains(KEY), "the key leaked:\n{out}");
    }
    assert!(outputs[4].contains("agent: Your key is [REDACTED], keep it safe."));
}

// ---------------------------------------------------------------------------------------------
// Replay

/// SPEC §8 gives every kind `base_url: replay` and all of §7: an openai suite blessed over
/// chat completions replays offline from its goldens, streamed as it asks (so a streamed
/// turn has a time to first token, which `max_first_token` needs), and `agenttest mock
/// --replay` serves the same goldens.
#[test]
fn a_suite_blessed_over_chat_completions_replays_offline() {
    let ws = Workspace::new();
    copy_dir(&fixture("kinds"), ws.path());
    let o = run(&ws, "unused", &["replay.yaml", "--bless"]);
    assert_code(&o, 0);
    let golden = ws.read("replay.golden/price-after-products.yaml");
    assert!(
        golden.contains("agent: The premium plan is $99/month."),
        "{golden}"
    );
    let o = run(
        &ws,
        "unused",
        &["replay.yaml", "--endpoint", "replay", "--json", "r.json"],
    );
    assert_code(&o, 0);
    let r = report(&ws, "r.json");
    assert_eq!(
        turns(&r, "price after products")[1]["text"],
        "The premium plan is $99/month."
    );
    let first_token = &turns(&r, "price after products")[1]["first_token_ms"];
    assert!(first_token.is_number(), "not streamed: {first_token}");
    // And `agenttest mock --replay` serves the same goldens to a client that asks.
    let suite = ws.path().join("replay.yaml");
    let replay = Mock::start_with(&["--replay", suite.to_str().expect("utf-8 path")]);
    let o = agenttest()
        .current_dir(ws.path())
        .args(["run", "replay.yaml", "--color", "never", "--endpoint"])
        .arg(format!("{}/v1", replay.url))
        .output()
        .expect("run");
    assert_code(&o, 0);
}
