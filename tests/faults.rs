//! Faults: a broken upstream becomes an `error` for that dialogue with a clear cause, or a pass
//! after retries; every other dialogue's result is kept; reports are complete and valid; the
//! run ends in bounded time. Ctrl-C exits 130 and still writes the reports.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn suite(url: &str, retries: u32, timeout: &str, dialogues: &str) -> String {
    format!(
        "endpoint:\n  base_url: {url}\n  agent_id: ag_fault\n  api_key: ak_test_123\n  retries: {retries}\n  timeout: {timeout}\ndialogues:\n{dialogues}"
    )
}

#[test]
fn each_fault_errors_its_dialogue_and_keeps_the_others() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    ws.write(
        "f.yaml",
        &suite(
            &mock.url,
            1,
            "700ms",
            "  - name: closed\n    turns: [{user: close}]\n  - name: hung\n    turns: [{user: hang}]\n  - name: trickled\n    turns: [{user: trickle}]\n  - name: not json\n    turns: [{user: nonjson}]\n  - name: no response\n    turns: [{user: noresponse}]\n  - name: healthy\n    turns: [{user: hello}]\n",
        ),
    );
    let started = Instant::now();
    let out = run_in(
        ws.path(),
        &[
            "run",
            "f.yaml",
            "--no-golden",
            "--junit",
            "r.xml",
            "--json",
            "r.json",
            "-j",
            "6",
        ],
    );
    // Hang and trickle each cost two timeouts (one retry): bounded, far from hanging.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("PASS  f › healthy"), "{text}");
    for (name, cause) in [
        ("closed", "turn 1: "),
        ("hung", "timed out after 700ms (after 1 retry)"),
        // The head had come: the error says the server answered, and then stalled.
        (
            "trickled",
            "timed out after 700ms, after the server had answered 200 and while its body came",
        ),
        ("not json", "the body is not JSON"),
        ("no response", "the body has no string `response`"),
    ] {
        assert!(
            text.contains(&format!("ERROR f › {name}")),
            "{name}: {text}"
        );
        assert!(text.contains(cause), "{name}: missing {cause:?} in {text}");
    }
    assert!(
        text.contains("1 passed, 0 failed, 5 errored, 0 skipped"),
        "{text}"
    );
    assert_valid_junit(&ws.path().join("r.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    assert_eq!(json["dialogues"].as_array().map(Vec::len), Some(6));
    // A turn that timed out took its timeouts, and says so, where it said 0.
    for name in ["hung", "trickled"] {
        let d = json["dialogues"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["name"] == name))
            .expect("dialogue");
        let latency = d["attempts"][0]["turns"][0]["latency_ms"].as_u64();
        assert!(latency >= Some(2 * 700), "{name}: {latency:?}");
    }
}

#[test]
fn a_slow_but_complete_body_within_the_timeout_passes() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        &suite(
            &mock.url,
            0,
            "10s",
            "  - name: trickled\n    turns: [{user: trickle, expect: {contains: complete}}]\n",
        ),
    );
    let out = run_in(
        ws.path(),
        &["run", "t.yaml", "--no-golden", "--json", "r.json"],
    );
    assert_code(&out, 0);
    // The trickle path really ran: the mock saw the request, and a body sent a byte every
    // 5ms cannot have arrived faster than its length allows.
    let seen = mock.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    let latency = json["dialogues"][0]["attempts"][0]["turns"][0]["latency_ms"]
        .as_u64()
        .expect("latency");
    assert!(latency >= 5 * 20, "a trickled body took only {latency}ms");
    assert_eq!(
        json["dialogues"][0]["attempts"][0]["turns"][0]["text"],
        "a slow but complete answer"
    );
}

#[test]
fn retries_turn_a_flaky_upstream_into_a_pass() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    let mut dialogues = String::new();
    for i in 0..8 {
        dialogues.push_str(&format!(
            "  - name: d{i}\n    endpoint: {{agent_id: ag_flaky}}\n    turns: [{{user: try {i}, expect: {{contains: made it}}}}]\n"
        ));
    }
    ws.write("r.yaml", &suite(&mock.url, 8, "5s", &dialogues));
    let out = run_in(
        ws.path(),
        &["run", "r.yaml", "--no-golden", "--json", "r.json"],
    );
    assert_code(&out, 0);
    // Half the requests fail: the run needed retries, and the JSON counts them per turn.
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    let retries: u64 = json["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .flat_map(|d| {
            d["attempts"][0]["turns"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|t| t["retries"].as_u64().unwrap_or(0))
        .sum();
    assert!(retries > 0, "expected some retries");
    assert_eq!(mock.requests().len() as u64, 8 + retries);
}

#[test]
fn rate_limit_is_shared_by_every_dialogue_of_the_endpoint() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    let mut dialogues = String::new();
    for i in 0..10 {
        dialogues.push_str(&format!(
            "  - name: d{i}\n    turns: [{{user: hello {i}}}]\n"
        ));
    }
    ws.write("r.yaml", &suite(&mock.url, 0, "5s", &dialogues));
    let started = Instant::now();
    let out = run_in(
        ws.path(),
        &["run", "r.yaml", "--no-golden", "--rate", "20/s", "-j", "10"],
    );
    assert_code(&out, 0);
    // Ten requests 50ms apart take at least 450ms however many run at once.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn fail_fast_stops_starting_dialogues() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    let mut dialogues =
        String::from("  - name: first\n    turns: [{user: hello, expect: {contains: nope}}]\n");
    for i in 0..5 {
        dialogues.push_str(&format!(
            "  - name: d{i}\n    turns: [{{user: hello {i}}}]\n"
        ));
    }
    ws.write("f.yaml", &suite(&mock.url, 0, "5s", &dialogues));
    let out = run_in(
        ws.path(),
        &[
            "run",
            "f.yaml",
            "--no-golden",
            "--fail-fast",
            "-j",
            "1",
            "--junit",
            "r.xml",
        ],
    );
    assert_code(&out, 1);
    assert!(stdout(&out).contains("5 not run"), "{}", stdout(&out));
    assert_eq!(mock.requests().len(), 1);
    assert_valid_junit(&ws.path().join("r.xml"));
}

#[test]
fn ctrl_c_exits_130_and_writes_the_reports() {
    let mock = Mock::start(&fixture("run/faults.yaml"));
    let ws = Workspace::new();
    ws.write(
        "c.yaml",
        &suite(
            &mock.url,
            0,
            "60s",
            "  - name: quick\n    turns: [{user: hello}]\n  - name: stuck\n    turns: [{user: hang}]\n  - name: later\n    turns: [{user: hello again}]\n",
        ),
    );
    let child = agenttest()
        .current_dir(ws.path())
        .args([
            "run",
            "c.yaml",
            "--no-golden",
            "-j",
            "2",
            "--junit",
            "r.xml",
            "--json",
            "r.json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the hanging request reached the server, then interrupt.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !mock.requests().iter().any(|r| r["message"] == "hang") {
        assert!(Instant::now() < deadline, "the hang request never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "INT");
    let started = Instant::now();
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "did not stop promptly"
    );
    assert_code(&out, 130);
    assert_valid_junit(&ws.path().join("r.xml"));
    let json: serde_json::Value = serde_json::from_str(&ws.read("r.json")).expect("json");
    assert_eq!(json["run"]["interrupted"], true, "{json}");
    let outcomes: Vec<&str> = json["dialogues"]
        .as_array()
        .expect("dialogues")
        .iter()
        .map(|d| d["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(outcomes[0], "pass");
    assert_eq!(outcomes[1], "not_run");
}

#[test]
fn an_endless_body_is_cut_off_and_errors_the_dialogue() {
    use std::io::{Read, Write};
    // A server that announces a 64 MiB body and streams it: the client must stop reading at
    // its cap and report an error, not buffer it all or hang.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        if let Ok((mut conn, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 67108864\r\n\r\n{\"response\": \"",
            );
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..1024 {
                if conn.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    let ws = Workspace::new();
    ws.write(
        "big.yaml",
        &format!(
            "endpoint: {{base_url: \"{url}\", agent_id: ag, api_key: ak_test_123, retries: 0, timeout: 20s}}\ndialogues:\n  - name: endless\n    golden: false\n    turns: [{{user: hi}}]\n"
        ),
    );
    let started = Instant::now();
    let out = run_in(ws.path(), &["run", "big.yaml", "--color", "never"]);
    assert_code(&out, 3);
    assert!(
        stdout(&out).contains("response body larger than 8388608 bytes"),
        "{}",
        stdout(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn a_redirect_is_reported_not_followed() {
    use std::io::{Read, Write};
    // Following a 302 would turn the chat POST into a GET elsewhere and judge that answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let target = url.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten().take(2) {
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            let reply = if request.starts_with("POST") {
                format!("HTTP/1.1 302 Found\r\nlocation: {target}/elsewhere\r\ncontent-length: 0\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{\"response\":\"ok\"}".to_string()
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    let ws = Workspace::new();
    ws.write(
        "r.yaml",
        &format!(
            "endpoint: {{base_url: \"{url}\", agent_id: ag, api_key: ak_test_123, retries: 0}}\ndialogues:\n  - name: moved\n    golden: false\n    turns: [{{user: hi}}]\n"
        ),
    );
    let out = run_in(ws.path(), &["run", "r.yaml", "--color", "never"]);
    assert_code(&out, 3);
    assert!(
        stdout(&out).contains("unexpected status 302"),
        "{}",
        stdout(&out)
    );
}

/// A server on loopback that answers each request (one per connection) with the next of
/// `replies`, then closes; returns its URL.
fn scripted_server(replies: Vec<&'static str>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 8192];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    url
}

/// OpenAI sends `x-ratelimit-reset-requests` on every reply: on a 503 it says when the
/// request budget resets, not when the server is back, so the 503 is retried with backoff
/// (it had been taken as a 6-minute wait and not retried at all). A 429 that asks for longer
/// than a retry waits is reported with that reason, not as an unexplained status.
#[test]
fn a_budget_reset_is_a_wait_for_a_429_only_and_a_refused_wait_is_explained() {
    let body = r#"{"response": "back again", "session_id": "s1"}"#;
    let ok: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let url = scripted_server(vec![
        "HTTP/1.1 503 Service Unavailable\r\nx-ratelimit-reset-requests: 6m0s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        ok,
    ]);
    let ws = Workspace::new();
    let suite = |url: &str| {
        format!(
            "endpoint: {{base_url: \"{url}\", agent_id: ag, api_key: ak_test_123, retries: 2, timeout: 5s}}\ndialogues:\n  - name: flaky\n    golden: false\n    turns: [{{user: hi}}]\n"
        )
    };
    ws.write("s.yaml", &suite(&url));
    let started = Instant::now();
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 0);
    assert!(started.elapsed() < Duration::from_secs(30));

    let url = scripted_server(vec![
        "HTTP/1.1 429 Too Many Requests\r\nx-ratelimit-reset-requests: 1m30s\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ]);
    ws.write("s.yaml", &suite(&url));
    let out = run_in(ws.path(), &["run", "s.yaml", "--color", "never"]);
    assert_code(&out, 3);
    let text = stdout(&out);
    assert!(text.contains("unexpected status 429"), "{text}");
    assert!(
        text.contains("the server asked to wait 90s, more than the 60s a retry waits"),
        "{text}"
    );
}
