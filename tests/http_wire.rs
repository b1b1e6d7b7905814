//! The `http` kind on the wire, against a raw socket that records each request's head as it
//! came and answers as agents in the wild do: the suite's own `Content-Type` kept, a POST
//! without a body that says its length, and a stream read as events though its server labels
//! it `text/html` (Flask's default) or not at all.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::{agenttest, assert_code, stdout, Workspace};
use serde_json::Value;

/// A server answering every request with the raw bytes `answer` gives for its path, then
/// closing the connection; the heads it read, lower-cased, are pushed to the list it returns.
fn recording_server(
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) <= 2 {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&lower);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = head.split(' ').nth(1).unwrap_or("").to_string();
            seen.lock().expect("lock").push(head);
            let _ = stream.write_all(&answer(&path));
        }
    });
    (url, heads)
}

fn json_reply(text: &str) -> Vec<u8> {
    json_body(&format!("{{\"output\": \"{text}\"}}"))
}

/// A 200 with `body` as JSON, then the connection closed.
fn json_body(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Events of `{"output": piece}` and `[DONE]`, under `content_type` (none for `None`), ended
/// by closing the connection.
fn events(content_type: Option<&str>, pieces: &[&str]) -> Vec<u8> {
    let label = content_type.map_or(String::new(), |t| format!("content-type: {t}\r\n"));
    let mut out = format!("HTTP/1.1 200 OK\r\n{label}connection: close\r\n\r\n");
    for p in pieces {
        out.push_str(&format!("data: {{\"output\": \"{p}\"}}\n\n"));
    }
    out.push_str("data: [DONE]\n\n");
    out.into_bytes()
}

fn run(ws: &Workspace) -> (std::process::Output, Value) {
    let out = agenttest()
        .current_dir(ws.path())
        .args([
            "run",
            "suite.yaml",
            "--color",
            "never",
            "-j",
            "1",
            "--no-golden",
            "--json",
            "r.json",
        ])
        .output()
        .expect("run agenttest");
    let report = std::fs::read_to_string(ws.path().join("r.json"))
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (out, serde_json::from_str(&report).expect("json"))
}

fn attempt<'a>(report: &'a Value, dialogue: &str) -> &'a Value {
    let d = report["dialogues"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == dialogue))
        .unwrap_or_else(|| panic!("no dialogue {dialogue}"));
    &d["attempts"][0]
}

fn turn<'a>(report: &'a Value, dialogue: &str) -> &'a Value {
    &attempt(report, dialogue)["turns"][0]
}

#[test]
fn the_suites_content_type_is_sent_and_a_post_without_a_body_says_its_length() {
    let (url, heads) = recording_server(|_| json_reply("ok"));
    let ws = Workspace::new();
    ws.write(
        "suite.yaml",
        &format!(
            r#"endpoint:
  kind: http
  base_url: {url}
  response: {{text: /output}}
  retries: 0
dialogues:
  - name: vendor type
    endpoint:
      path: /vendor
      headers: {{Content-Type: application/vnd.api+json, User-Agent: my-agent/2}}
      body: {{input: "{{{{message}}}}"}}
    turns: [{{user: hi}}]
  - name: no body
    endpoint: {{path: "/empty?q={{{{message}}}}"}}
    turns: [{{user: hi}}]
  - name: plain json
    endpoint:
      path: /plain
      body: {{input: "{{{{message}}}}"}}
    turns: [{{user: hi}}]
"#
        ),
    );
    let (out, _) = run(&ws);
    assert_code(&out, 0);
    let heads = heads.lock().expect("lock").clone();
    let head = |path: &str| {
        heads
            .iter()
            .find(|h| h.split(' ').nth(1).is_some_and(|p| p.starts_with(path)))
            .unwrap_or_else(|| panic!("no request to {path} in {heads:?}"))
            .clone()
    };
    let vendor = head("/vendor");
    assert!(
        vendor.contains("content-type: application/vnd.api+json\r\n"),
        "{vendor}"
    );
    assert_eq!(vendor.matches("content-type:").count(), 1, "{vendor}");
    let empty = head("/empty");
    assert!(empty.starts_with("post /empty?q=hi "), "{empty}");
    assert!(empty.contains("content-length: 0\r\n"), "{empty}");
    assert!(!empty.contains("content-type:"), "{empty}");
    let plain = head("/plain");
    assert!(
        plain.contains("content-type: application/json\r\n"),
        "{plain}"
    );
    // The client says who it is; a suite's own User-Agent is kept.
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        plain.contains(&format!("user-agent: agenttest/{version}\r\n")),
        "{plain}"
    );
    assert!(vendor.contains("user-agent: my-agent/2\r\n"), "{vendor}");
    assert_eq!(vendor.matches("user-agent:").count(), 1, "{vendor}");
}

#[test]
fn a_stream_labelled_as_no_json_type_is_read_as_events() {
    let (url, _) = recording_server(|path| match path {
        "/html" => events(Some("text/html; charset=utf-8"), &["Hel", "lo"]),
        "/unlabelled" => events(None, &["Hel", "lo"]),
        "/plain" => events(Some("text/plain"), &["Hel", "lo"]),
        "/json" => events(Some("application/json"), &["Hel", "lo"]),
        // A server that answers JSON despite the request, and says so, is read as JSON.
        _ => json_reply("whole"),
    });
    let ws = Workspace::new();
    let dialogue = |name: &str| {
        format!("  - {{name: {name}, endpoint: {{path: /{name}}}, turns: [{{user: hi}}]}}\n")
    };
    let mut suite = format!(
        "endpoint:\n  kind: http\n  base_url: {url}\n  stream: sse\n  body: {{input: \"{{{{message}}}}\"}}\n  response: {{text: /output}}\n  retries: 0\ndialogues:\n"
    );
    for name in ["html", "unlabelled", "plain", "json", "whole"] {
        suite.push_str(&dialogue(name));
    }
    ws.write("suite.yaml", &suite);
    let (out, report) = run(&ws);
    for name in ["html", "unlabelled", "plain"] {
        let t = turn(&report, name);
        assert_eq!(t["text"], "Hello", "{name}: {t}");
        assert!(t["first_token_ms"].is_u64(), "{name} was streamed: {t}");
    }
    assert_eq!(turn(&report, "whole")["text"], "whole");
    // Labelled JSON, it is read as JSON and is none; the reason says what it looks like.
    let said = attempt(&report, "json")["error"].to_string();
    assert!(said.contains("the body is not JSON"), "{said}");
    assert!(said.contains("reads as server-sent events"), "{said}");
    assert_code(&out, 3);
    assert!(stdout(&out).contains("json"), "{}", stdout(&out));
}

#[test]
fn a_session_pointer_that_finds_no_id_is_named_in_the_error() {
    // The server keeps its id in an object; the suite's pointer stops one level short.
    let (url, _) =
        recording_server(|_| json_body(r#"{"output": "hi", "conversation": {"id": 7}}"#));
    let ws = Workspace::new();
    ws.write(
        "suite.yaml",
        &format!(
            r#"endpoint:
  kind: http
  base_url: {url}
  body: {{input: "{{{{message}}}}", conversation: "{{{{session_id}}}}"}}
  response: {{text: /output, session_id: /conversation}}
  retries: 0
dialogues:
  - name: id is an object
    session: server
    turns: [{{user: one}}, {{user: two}}]
"#
        ),
    );
    let (out, report) = run(&ws);
    assert_code(&out, 3);
    let said = attempt(&report, "id is an object")["error"].to_string();
    assert!(
        said.contains(
            "the pointer `/conversation`, response.session_id, finds no string or number"
        ),
        "{said}"
    );
    assert!(said.contains("turn 2 cannot continue"), "{said}");
}
