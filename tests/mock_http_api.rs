//! The mock's generic JSON API over real HTTP, the offline target of `kind: http` (SPEC §8.2):
//! server sessions, client-sent history, its error shape, either way of presenting a key, and
//! its server-sent events.

mod mock_common;

use std::time::Duration;

use mock_common::{Mock, KEY};
use serde_json::{json, Value};

fn say(mock: &Mock, body: Value) -> (u16, Value) {
    let resp = mock.post("/http/ag_chat/chat", Some(KEY), &body);
    let status = resp.status().as_u16();
    (status, resp.json().expect("json body"))
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error.message in {body}"))
}

#[test]
fn server_sessions_when_the_client_sends_none() {
    let mock = Mock::start(Some("openai.yaml"));
    let (status, first) = say(&mock, json!({"input": "turn"}));
    assert_eq!(status, 200);
    assert_eq!(first["output"]["text"], "turn 1: turn");
    let sid = first["session"].as_str().expect("a session id").to_string();
    assert!(sid.starts_with("sess_"), "{sid}");
    assert_eq!(first["usage"], json!({"in": 1, "out": 3, "total": 4}));
    let (_, second) = say(&mock, json!({"input": "turn", "session": sid}));
    assert_eq!(second["output"]["text"], "turn 2: turn");
    assert_eq!(second["session"], sid.as_str());
    // An empty session is none: a fresh one.
    let (_, fresh) = say(&mock, json!({"input": "turn", "session": ""}));
    assert_eq!(fresh["output"]["text"], "turn 1: turn");
    assert_ne!(fresh["session"], sid.as_str());
    // `after` is earned in the session, as on the agent API.
    say(&mock, json!({"input": "products?", "session": "mine"}));
    let (_, earned) = say(&mock, json!({"input": "how much", "session": "mine"}));
    assert_eq!(earned["output"]["text"], "The premium plan is $99/month.");
    let sessions = mock.get("/_mock/sessions");
    assert_eq!(sessions[&sid], json!(["turn", "turn"]));
    assert_eq!(sessions["mine"], json!(["products?", "how much"]));
    let logged = mock.last_logged();
    assert_eq!(logged["api"], "http");
    assert_eq!(logged["session_id"], "mine");
    assert_eq!(
        logged["body"],
        json!({"input": "how much", "session": "mine"})
    );
}

#[test]
fn a_sent_history_is_the_conversation() {
    let mock = Mock::start(Some("openai.yaml"));
    let history = json!([
        {"role": "user", "content": "turn"},
        {"role": "assistant", "content": "turn 1: turn"},
        {"role": "user", "content": "tell me about products"},
        {"role": "assistant", "content": "We sell widgets."},
    ]);
    let (_, turn) = say(&mock, json!({"input": "turn", "history": history}));
    assert_eq!(turn["output"]["text"], "turn 3: turn");
    let (_, earned) = say(&mock, json!({"input": "how much", "history": history}));
    assert_eq!(earned["output"]["text"], "The premium plan is $99/month.");
    let (_, empty) = say(&mock, json!({"input": "how much", "history": []}));
    assert_eq!(
        empty["output"]["text"],
        "I'm not sure I can help with that."
    );
}

#[test]
fn errors_carry_error_message() {
    let mock = Mock::start(Some("openai.yaml"));
    let unauth = mock.post("/http/ag_chat/chat", None, &json!({"input": "hi"}));
    assert_eq!(unauth.status().as_u16(), 401);
    assert!(error_message(&unauth.json().unwrap()).starts_with("Missing API key"));
    let wrong = mock.post(
        "/http/ag_chat/chat",
        Some("ak_wrong_1"),
        &json!({"input": "hi"}),
    );
    assert_eq!(wrong.status().as_u16(), 401);
    assert_eq!(error_message(&wrong.json().unwrap()), "Invalid API key");

    let nope = mock.post("/http/ag_nope/chat", Some(KEY), &json!({"input": "hi"}));
    assert_eq!(nope.status().as_u16(), 404);
    assert_eq!(
        error_message(&nope.json().unwrap()),
        "Agent not found: ag_nope"
    );

    for bad in [
        json!({}),
        json!({"input": 3}),
        json!({"input": "x", "history": "no"}),
    ] {
        let (status, body) = say(&mock, bad.clone());
        assert_eq!(status, 422, "{bad}");
        assert!(!error_message(&body).is_empty());
    }
    let (status, boom) = say(&mock, json!({"input": "boom"}));
    assert_eq!(
        (status, boom),
        (500, json!({"error": {"message": "Agent execution error"}}))
    );
    let (status, forbidden) = say(&mock, json!({"input": "forbidden"}));
    assert_eq!((status, error_message(&forbidden)), (403, "not for you"));

    for _ in 0..2 {
        let ok = mock.post("/http/ag_limited/chat", Some(KEY), &json!({"input": "hi"}));
        assert_eq!(ok.status().as_u16(), 200);
    }
    let limited = mock.post("/http/ag_limited/chat", Some(KEY), &json!({"input": "hi"}));
    assert_eq!(limited.status().as_u16(), 429);
    assert!(limited.headers().get("retry-after").is_some());
    assert!(error_message(&limited.json().unwrap()).starts_with("Rate limit exceeded"));
}

#[test]
fn the_key_may_come_as_x_api_key() {
    let mock = Mock::start(Some("openai.yaml"));
    let resp = mock
        .client
        .post(format!("{}/http/ag_chat/chat", mock.url))
        .header("X-API-Key", KEY)
        .json(&json!({"input": "business hours"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let wrong = mock
        .client
        .post(format!("{}/http/ag_chat/chat", mock.url))
        .header("X-API-Key", "ak_wrong_1")
        .json(&json!({"input": "hi"}))
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
}

#[test]
fn streams_pieces_at_the_same_pointer_then_done() {
    let mock = Mock::start(Some("openai.yaml"));
    let resp = mock
        .client
        .post(format!("{}/http/ag_chat/chat", mock.url))
        .bearer_auth(KEY)
        .timeout(Duration::from_secs(10))
        .json(&json!({"input": "business hours", "session": "s-1", "stream": true}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().unwrap();
    let data: Vec<&str> = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    assert_eq!(data.last(), Some(&"[DONE]"));
    let events: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(events.len() > 5);
    assert!(events.iter().all(|e| e["session"] == "s-1"));
    let joined: String = events
        .iter()
        .map(|e| e.pointer("/output/text").and_then(Value::as_str).unwrap())
        .collect();
    assert_eq!(
        joined,
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    assert_eq!(
        events.last().unwrap()["usage"],
        json!({"in": 2, "out": 13, "total": 15})
    );
}
