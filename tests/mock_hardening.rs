//! The mock under hostile or careless clients: a byte budget on what it remembers, a header
//! read timeout for connections that never finish their request, and JSON (not plain text)
//! for a body over the cap.

mod mock_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use agenttest::mock::{start_with, MockOptions, MockServer, Script};
use mock_common::{Mock, KEY};
use serde_json::{json, Value};

/// One agent `ag` answering everything with its fallback (no rule scans a large message), any
/// key accepted.
fn plain() -> Script {
    let file = agenttest::diag::SourceFile::new("plain.yaml", "agents:\n  ag: {fallback: ok}\n");
    Script::parse(&file).expect("a valid script")
}

/// `script` in-process with `options`, on a runtime of its own so the test thread can block
/// on sockets and reqwest's blocking client.
fn in_process(script: Script, options: MockOptions) -> (tokio::runtime::Runtime, MockServer) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let server = rt
        .block_on(start_with(script, addr, options))
        .expect("mock starts");
    (rt, server)
}

#[test]
fn the_log_keeps_a_byte_budget_dropping_the_oldest_first() {
    let budget = 3 * 1024 * 1024;
    let (_rt, server) = in_process(
        plain(),
        MockOptions {
            log_budget_bytes: budget,
            max_body_bytes: 4 * 1024 * 1024,
            ..MockOptions::default()
        },
    );
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/agents/ag/chat", server.base_url());
    // Ten 1 MB messages in one session: 10 MB sent, whatever the mock keeps of them.
    for i in 0..10 {
        let message = format!("{i:02} {}", "x".repeat(1_000_000));
        let resp = client
            .post(&url)
            .bearer_auth("ak_any")
            .json(&json!({"message": message, "session_id": "big"}))
            .send()
            .expect("chat");
        assert_eq!(resp.status().as_u16(), 200);
    }
    let kept = server.requests();
    let kept_bytes: usize = kept
        .iter()
        .filter_map(|r| r.message.as_ref())
        .map(String::len)
        .sum();
    assert!(kept_bytes <= budget, "the log keeps {kept_bytes} bytes");
    assert!(!kept.is_empty() && kept.len() < 10);
    // The newest are kept, the oldest dropped, and the count of requests is still exact.
    let firsts: Vec<&str> = kept
        .iter()
        .map(|r| &r.message.as_deref().unwrap()[..2])
        .collect();
    assert_eq!(firsts.last(), Some(&"09"), "{firsts:?}");
    assert!(!firsts.contains(&"00"));
    assert_eq!(server.stats().chat_requests, 10);
    // The session view reads the same log: no second copy of each message.
    let session_bytes: usize = server.sessions()["big"].iter().map(String::len).sum();
    assert!(
        session_bytes <= budget,
        "sessions keep {session_bytes} bytes"
    );
    // And the session still goes on.
    let next: Value = client
        .post(&url)
        .bearer_auth("ak_any")
        .json(&json!({"message": "hello", "session_id": "big"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(next["response"], "ok");
}

#[test]
fn connections_stalled_mid_header_are_closed_after_the_timeout() {
    let (_rt, server) = in_process(
        Script::demo(),
        MockOptions {
            header_read_timeout: Duration::from_millis(300),
            ..MockOptions::default()
        },
    );
    let started = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).expect("connect");
            s.write_all(b"POST /v1/agents/ag_support/chat HTTP/1.1\r\nHost: mock\r\nContent-")
                .expect("a partial head");
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s
        })
        .collect();
    for s in &mut stalled {
        let mut answer = Vec::new();
        match s.read_to_end(&mut answer) {
            // Closed by the mock: end of stream (hyper may first send a 408).
            Ok(_) => {}
            Err(e) => assert!(
                e.kind() == std::io::ErrorKind::ConnectionReset,
                "the connection was held open: {e}"
            ),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "closed after {:?}",
        started.elapsed()
    );
    // A client that sends its request in time is served as usual.
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/agents/ag_support/chat", server.base_url()))
        .bearer_auth("ak_demo_key")
        .json(&json!({"message": "hi"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[test]
fn a_body_over_the_cap_is_413_in_each_route_shape() {
    let mock = Mock::start(Some("openai.yaml"));
    let big = "y".repeat(3 * 1024 * 1024);

    let resp = mock.post(
        "/v1/agents/ag_chat/chat",
        Some(KEY),
        &json!({"message": big}),
    );
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().expect("a JSON 413");
    assert!(
        body["detail"].as_str().unwrap().contains("too large"),
        "{body}"
    );

    let chat = json!({"model": "ag_chat", "messages": [{"role": "user", "content": big}]});
    let resp = mock.post("/v1/chat/completions", Some(KEY), &chat);
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().expect("a JSON 413");
    assert_eq!(body["error"]["code"], "request_too_large");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too large"));

    let resp = mock.post("/http/ag_chat/chat", Some(KEY), &json!({"input": big}));
    assert_eq!(resp.status().as_u16(), 413);
    let body: Value = resp.json().expect("a JSON 413");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too large"));

    let resp = mock.post("/agents/ag_chat/api-keys", Some(KEY), &json!({"name": big}));
    assert_eq!(resp.status().as_u16(), 413);
    assert!(resp.json::<Value>().expect("a JSON 413")["detail"].is_string());

    // The refused request is listed, without a message.
    let log = mock.get("/_mock/requests");
    let statuses: Vec<&Value> = log["chat"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["status"])
        .collect();
    assert_eq!(statuses, [413, 413, 413]);
    // And the mock goes on serving.
    assert_eq!(mock.chat("ag_chat", "business hours", None).0, 200);
}
