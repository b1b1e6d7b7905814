//! The mock's fault modes and seeded randomness, for testing clients against a broken or noisy
//! upstream: close, non_json, no_response, trickle, hang, latency, fail_rate and paraphrases.

mod mock_common;

use std::time::{Duration, Instant};

use mock_common::{Mock, KEY};
use serde_json::{json, Value};

fn send(
    mock: &Mock,
    agent: &str,
    message: &str,
    timeout: Option<Duration>,
) -> reqwest::Result<reqwest::blocking::Response> {
    let mut req = mock
        .client
        .post(format!("{}/v1/agents/{agent}/chat", mock.url))
        .bearer_auth(KEY)
        .json(&json!({"message": message}));
    if let Some(t) = timeout {
        req = req.timeout(t);
    }
    req.send()
}

fn last_logged(mock: &Mock) -> Value {
    let log = mock.get("/_mock/requests");
    log["chat"].as_array().unwrap().last().cloned().unwrap()
}

#[test]
fn close_drops_the_connection_without_a_reply() {
    let mock = Mock::start(Some("faults.yaml"));
    let err = send(&mock, "ag_faults", "close", None).expect_err("no response expected");
    assert!(!err.is_timeout(), "{err}");
    assert_eq!(
        last_logged(&mock),
        json!({"agent_id": "ag_faults", "session_id": null, "message": "close", "status": null, "fault": "close"})
    );
    // An agent-level fault applies to every message, and the server keeps serving others.
    assert!(send(&mock, "ag_always_close", "anything", None).is_err());
    assert_eq!(
        send(&mock, "ag_faults", "slow", None).unwrap().status(),
        200
    );
}

#[test]
fn non_json_and_no_response_bodies() {
    let mock = Mock::start(Some("faults.yaml"));
    let html = send(&mock, "ag_faults", "non_json", None).unwrap();
    assert_eq!(html.status(), 200);
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let text = html.text().unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    let partial = send(&mock, "ag_faults", "no_response", None).unwrap();
    assert_eq!(partial.status(), 200);
    let body: Value = partial.json().unwrap();
    assert!(body.get("response").is_none(), "{body}");
    assert!(
        body["session_id"].is_string() && body["usage"].is_object(),
        "{body}"
    );
}

#[test]
fn trickle_sends_the_body_slowly() {
    let mock = Mock::start(Some("faults.yaml"));
    let err = send(
        &mock,
        "ag_faults",
        "trickle",
        Some(Duration::from_millis(300)),
    )
    .and_then(|r| r.text())
    .expect_err("the body takes over a second at 10 ms a byte");
    assert!(err.is_timeout(), "{err}");

    let started = Instant::now();
    let body: Value = send(&mock, "ag_faults", "trickle", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["response"], "slow");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn hang_never_answers_and_does_not_block_sigterm() {
    let mut mock = Mock::start(Some("faults.yaml"));
    let err = send(&mock, "ag_faults", "hang", Some(Duration::from_millis(400)))
        .expect_err("hang must not answer");
    assert!(err.is_timeout(), "{err}");
    assert_eq!(last_logged(&mock)["fault"], "hang");
    // A request still hanging when the server is told to stop.
    let url = mock.url.clone();
    let pending = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .post(format!("{url}/v1/agents/ag_faults/chat"))
            .bearer_auth(KEY)
            .json(&json!({"message": "hang"}))
            .timeout(Duration::from_secs(30))
            .send()
            .map(|r| r.status().as_u16())
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(mock.terminate().code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        pending.join().unwrap().is_err(),
        "the hung request gets no reply"
    );
}

#[test]
fn latency_delays_the_answer() {
    let mock = Mock::start(Some("faults.yaml"));
    let started = Instant::now();
    let body: Value = send(&mock, "ag_faults", "slow", None)
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(body["response"], "finally");
    assert!(started.elapsed() >= Duration::from_millis(300));
}

fn flaky_statuses() -> Vec<u16> {
    let mock = Mock::start(Some("faults.yaml"));
    (0..100)
        .map(|_| {
            send(&mock, "ag_flaky", "hi", None)
                .unwrap()
                .status()
                .as_u16()
        })
        .collect()
}

#[test]
fn fail_rate_is_seeded_and_reproducible() {
    let first = flaky_statuses();
    let failed = first.iter().filter(|s| **s == 500).count();
    assert!((15..=45).contains(&failed), "{failed} of 100 failed");
    assert!(first.iter().all(|s| *s == 200 || *s == 500));
    assert_eq!(first, flaky_statuses(), "same seed, same sequence");
}

fn picks(prefix: &str) -> Vec<String> {
    let mock = Mock::start(Some("faults.yaml"));
    let mut out = Vec::new();
    for s in 0..8 {
        for _ in 0..2 {
            let (_, body) = mock.chat("ag_faults", "pick", Some(&format!("{prefix}-{s}")));
            out.push(body["response"].as_str().unwrap().to_string());
        }
    }
    out
}

#[test]
fn paraphrases_are_seeded_per_opening_and_turn() {
    let first = picks("session");
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 2, "{first:?}");
    for p in &first {
        assert!(["alpha", "beta", "gamma", "delta", "epsilon"].contains(&p.as_str()));
    }
    assert_eq!(
        first,
        picks("session"),
        "same seed, sessions and turns, same picks"
    );
    // Clients make random session ids: the picks must not depend on them.
    assert_eq!(
        first,
        picks("another-random-id"),
        "picks independent of session ids"
    );
}
