//! The mock's chat API over real HTTP (SPEC §2, §6): auth, errors, shapes, sessions, rules,
//! api keys, rate limits, balances, introspection, the demo and SIGTERM.

mod mock_common;

use mock_common::{Mock, KEY};
use serde_json::{json, Value};

fn detail(resp: reqwest::blocking::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("json error body");
    (
        status,
        body["detail"].as_str().expect("string detail").to_string(),
    )
}

#[test]
fn unauthorized_without_a_valid_bearer_key() {
    let mock = Mock::start(Some("basic.yaml"));
    let body = json!({"message": "hi"});
    let missing = mock.post_chat("ag_usage", None, &body);
    assert_eq!(missing.headers().get("www-authenticate").unwrap(), "Bearer");
    let (status, text) = detail(missing);
    assert_eq!(status, 401);
    assert!(text.starts_with("Missing API key"), "{text}");

    for header in ["Token ak_test_123", "Bearer", "Bearer  ", "ak_test_123"] {
        let resp = mock
            .client
            .post(format!("{}/v1/agents/ag_usage/chat", mock.url))
            .header("Authorization", header)
            .json(&body)
            .send()
            .unwrap();
        let (status, text) = detail(resp);
        assert_eq!(status, 401, "{header}");
        assert!(
            text.starts_with("Malformed Authorization"),
            "{header}: {text}"
        );
    }

    let (status, text) = detail(mock.post_chat("ag_usage", Some("ak_not_a_key"), &body));
    assert_eq!((status, text.as_str()), (401, "Invalid API key"));
}

#[test]
fn unknown_agent_is_404() {
    let mock = Mock::start(Some("basic.yaml"));
    let (status, text) = detail(mock.post_chat("ag_nope", Some(KEY), &json!({"message": "hi"})));
    assert_eq!((status, text.as_str()), (404, "Agent not found: ag_nope"));
}

#[test]
fn invalid_bodies_are_422_in_fastapi_form() {
    let mock = Mock::start(Some("basic.yaml"));
    let not_json = mock
        .client
        .post(format!("{}/v1/agents/ag_usage/chat", mock.url))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(not_json.status().as_u16(), 422);
    let body: Value = not_json.json().unwrap();
    assert_eq!(body["detail"][0]["type"], "json_invalid");

    let no_message = mock.post_chat("ag_usage", Some(KEY), &json!({"text": "hi"}));
    assert_eq!(no_message.status().as_u16(), 422);
    assert_eq!(
        no_message.json::<Value>().unwrap(),
        json!({"detail": [{"loc": ["body", "message"], "msg": "Field required", "type": "missing"}]})
    );

    let wrong_type = mock.post_chat("ag_usage", Some(KEY), &json!({"message": 42}));
    assert_eq!(wrong_type.status().as_u16(), 422);
    assert_eq!(
        wrong_type.json::<Value>().unwrap()["detail"][0]["type"],
        "string_type"
    );
}

#[test]
fn three_response_shapes_with_word_token_counts() {
    let mock = Mock::start(Some("basic.yaml"));
    let (status, usage) = mock.chat("ag_usage", "What are your business hours?", None);
    assert_eq!(status, 200);
    assert_eq!(
        usage["response"],
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    assert!(usage["session_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        usage["usage"],
        json!({"input_tokens": 5, "output_tokens": 13, "total_tokens": 18})
    );
    assert_eq!(usage.as_object().unwrap().len(), 3, "{usage}");

    let (status, meta) = mock.chat("ag_meta", "hi", None);
    assert_eq!(status, 200);
    assert_eq!(meta["success"], true);
    assert_eq!(meta["response"], "hello there");
    assert_eq!(meta["metadata"]["model"], "gpt-4o");
    assert!(meta["metadata"]["latency_ms"].is_u64(), "{meta}");
    assert!(meta.get("usage").is_none());

    let (status, tokens) = mock.chat("ag_tokens", "hi", None);
    assert_eq!(status, 200);
    assert_eq!(tokens["response"], "hello there");
    assert_eq!(tokens["tokens_used"], 3);
    assert!(tokens.get("usage").is_none() && tokens.get("metadata").is_none());
}

#[test]
fn server_creates_sessions_and_remembers_history() {
    let mock = Mock::start(Some("basic.yaml"));
    let (_, first) = mock.chat("ag_usage", "turn", None);
    let sid = first["session_id"].as_str().unwrap().to_string();
    assert_eq!(first["response"], "turn 1: turn");
    let (_, second) = mock.chat("ag_usage", "turn", Some(&sid));
    assert_eq!(second["session_id"], sid.as_str());
    assert_eq!(second["response"], "turn 2: turn");
    let (_, other) = mock.chat("ag_usage", "turn", None);
    assert_ne!(other["session_id"], sid.as_str());
    assert_eq!(other["response"], "turn 1: turn");

    let (_, mine) = mock.chat("ag_usage", "turn", Some("client-chosen-1"));
    assert_eq!(mine["session_id"], "client-chosen-1");
    assert_eq!(mine["response"], "turn 1: turn");

    let sessions = mock.get("/_mock/sessions");
    assert_eq!(sessions[&sid], json!(["turn", "turn"]));
    assert_eq!(sessions["client-chosen-1"], json!(["turn"]));
    assert_eq!(sessions.as_object().unwrap().len(), 3);
}

#[test]
fn after_fires_only_in_the_session_that_earned_it() {
    let mock = Mock::start(Some("basic.yaml"));
    // The message that earns `after` does not count for itself.
    let (_, same) = mock.chat("ag_usage", "products, how much?", Some("a"));
    assert_eq!(same["response"], "We sell widgets.");
    let (_, earned) = mock.chat("ag_usage", "How much is it?", Some("a"));
    assert_eq!(earned["response"], "The premium plan is $99/month.");
    let (_, other) = mock.chat("ag_usage", "How much is it?", Some("b"));
    assert_eq!(other["response"], "I'm not sure I can help with that.");
    let (_, fresh) = mock.chat("ag_usage", "How much is it?", None);
    assert_eq!(fresh["response"], "I'm not sure I can help with that.");
}

#[test]
fn templates_status_rules_and_fallback() {
    let mock = Mock::start(Some("basic.yaml"));
    let (_, order) = mock.chat("ag_usage", "order abc", None);
    assert_eq!(order["response"], "order abc found");

    let (status, boom) = mock.chat("ag_usage", "boom", None);
    assert_eq!(status, 500);
    assert_eq!(boom, json!({"detail": "Agent execution error"}));
    let (status, forbidden) = mock.chat("ag_usage", "forbidden", None);
    assert_eq!(status, 403);
    assert_eq!(forbidden, json!({"detail": "not for you"}));
    let (status, created) = mock.chat("ag_usage", "created", None);
    assert_eq!(status, 201);
    assert_eq!(created["response"], "made it");

    let (status, fallback) = mock.chat("ag_usage", "something else", None);
    assert_eq!(status, 200);
    assert_eq!(fallback["response"], "I'm not sure I can help with that.");
}

#[test]
fn created_api_key_works_for_chat() {
    let mock = Mock::start(Some("basic.yaml"));
    let url = format!("{}/agents/ag_usage/api-keys", mock.url);
    let unauth = mock
        .client
        .post(&url)
        .json(&json!({"name": "ci"}))
        .send()
        .unwrap();
    assert_eq!(unauth.status().as_u16(), 401);
    let nameless = mock
        .client
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({}))
        .send()
        .unwrap();
    assert_eq!(nameless.status().as_u16(), 422);

    let resp = mock
        .client
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({"name": "ci"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let created: Value = resp.json().unwrap();
    assert_eq!(created["name"], "ci");
    let key = created["api_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ak_") && key.len() > 20, "{key}");
    let preview = created["key_preview"].as_str().unwrap();
    assert!(preview.starts_with(&key[..7]) && !preview.contains(&key[7..]));
    assert!(created["id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(created["created_at"]
        .as_str()
        .is_some_and(|s| s.contains('T')));

    let before = mock.post_chat("ag_usage", Some("ak_other_1"), &json!({"message": "hi"}));
    assert_eq!(before.status().as_u16(), 401);
    let chat = mock.post_chat("ag_usage", Some(&key), &json!({"message": "turn"}));
    assert_eq!(chat.status().as_u16(), 200);
}

#[test]
fn rate_limit_429_with_retry_after_and_headers() {
    let mock = Mock::start(Some("basic.yaml"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for remaining in ["2", "1", "0"] {
        let resp = mock.post_chat("ag_limited", Some(KEY), &json!({"message": "hi"}));
        assert_eq!(resp.status().as_u16(), 200);
        let h = resp.headers();
        assert_eq!(h["x-ratelimit-limit"], "3");
        assert_eq!(h["x-ratelimit-remaining"], remaining);
        let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((now + 55..=now + 62).contains(&reset), "{reset} vs {now}");
        assert!(h.get("retry-after").is_none());
    }
    let limited = mock.post_chat("ag_limited", Some(KEY), &json!({"message": "hi"}));
    assert_eq!(limited.status().as_u16(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    let (_, text) = detail(limited);
    assert!(text.starts_with("Rate limit exceeded"), "{text}");

    // Every response of a rate-limited agent carries the headers, a refused key's too.
    let refused = mock.post_chat("ag_limited", Some("ak_wrong_1"), &json!({"message": "hi"}));
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(refused.headers()["x-ratelimit-limit"], "3");
    // Agents without a rate limit send none.
    let plain = mock.post_chat("ag_usage", Some(KEY), &json!({"message": "hi"}));
    assert!(plain.headers().get("x-ratelimit-limit").is_none());
}

#[test]
fn spent_balance_is_402() {
    let mock = Mock::start(Some("basic.yaml"));
    // 5 tokens: "hi" + "one two three" costs 4, so the second request overdraws it and the
    // third is refused.
    assert_eq!(mock.chat("ag_poor", "hi", None).0, 200);
    assert_eq!(mock.chat("ag_poor", "hi", None).0, 200);
    let (status, body) = mock.chat("ag_poor", "hi", None);
    assert_eq!(status, 402);
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .starts_with("Insufficient balance"));
}

#[test]
fn requests_endpoint_lists_every_chat_request_without_keys() {
    let mock = Mock::start(Some("basic.yaml"));
    assert_eq!(mock.get("/_mock/requests"), json!({"total": 0, "chat": []}));
    mock.chat("ag_usage", "turn", Some("s-1"));
    mock.post_chat("ag_usage", Some("ak_wrong_1"), &json!({"message": "no"}));
    mock.post_chat("ag_usage", Some(KEY), &json!({"nothing": 1}));
    mock.chat("ag_nope", "hi", None);
    let log = mock.get("/_mock/requests");
    assert_eq!(log["total"], 4);
    assert_eq!(
        log["chat"],
        json!([
            {"agent_id": "ag_usage", "session_id": "s-1", "message": "turn", "status": 200},
            {"agent_id": "ag_usage", "session_id": null, "message": "no", "status": 401},
            {"agent_id": "ag_usage", "session_id": null, "message": null, "status": 422},
            {"agent_id": "ag_nope", "session_id": null, "message": "hi", "status": 404},
        ])
    );
    let text = log.to_string();
    assert!(
        !text.contains(KEY) && !text.contains("ak_wrong_1"),
        "{text}"
    );
}

#[test]
fn demo_agents_without_a_script() {
    let mock = Mock::start(None);
    let ask = |agent: &str, key: &str, message: &str, session: Option<&str>| {
        let mut body = json!({"message": message});
        if let Some(s) = session {
            body["session_id"] = json!(s);
        }
        let resp = mock.post_chat(agent, Some(key), &body);
        (resp.status().as_u16(), resp.json::<Value>().unwrap())
    };
    let (status, hours) = ask(
        "ag_support",
        "ak_demo_key",
        "What are your business hours?",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(
        hours["response"],
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    let sid = hours["session_id"].as_str().unwrap().to_string();
    let (_, sat) = ask("ag_support", "ak_demo_key", "And on Saturdays?", Some(&sid));
    assert!(sat["response"].as_str().unwrap().contains("Saturday"));
    let (_, order) = ask("demo", "ak_demo_key", "Where is my Enterprise order?", None);
    assert!(order["response"].as_str().unwrap().contains("ORD-12345"));
    let (_, shipped) = ask("demo", "ak_demo_key", "Has ORD-12345 shipped?", None);
    assert!(shipped["response"].as_str().unwrap().contains("ORD-12345"));
    let (_, meta) = ask("ag_sales", "ak_demo_key", "hello", None);
    assert_eq!(meta["success"], true);
    let (_, legacy) = ask("ag_legacy", "ak_demo_key", "echo: same words", None);
    assert_eq!(legacy["response"], "same words");
    assert!(legacy["tokens_used"].is_u64());
    let (status, _) = ask("ag_support", "ak_demo_key", "boom", None);
    assert_eq!(status, 500);
    let (status, _) = ask("ag_support", "ak_not_a_key", "hi", None);
    assert_eq!(status, 401);
}

#[test]
fn sigterm_stops_cleanly_with_exit_0() {
    let mut mock = Mock::start(Some("basic.yaml"));
    assert_eq!(mock.chat("ag_usage", "turn", None).0, 200);
    let status = mock.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
}
