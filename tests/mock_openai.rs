//! The mock's chat-completions route over real HTTP (SPEC §8.1, §8.3): the response shape,
//! history taken from the request, OpenAI's error bodies, rate-limit headers, faults and the
//! request log.

mod mock_common;

use mock_common::{Mock, KEY};
use serde_json::{json, Value};

const PATH: &str = "/v1/chat/completions";

fn ask(model: &str, users: &[&str]) -> Value {
    let mut messages = vec![json!({"role": "system", "content": "You are terse."})];
    for (i, u) in users.iter().enumerate() {
        if i > 0 {
            messages.push(json!({"role": "assistant", "content": format!("answer {i}")}));
        }
        messages.push(json!({"role": "user", "content": u}));
    }
    json!({"model": model, "messages": messages})
}

fn complete(mock: &Mock, model: &str, users: &[&str]) -> (u16, Value) {
    let resp = mock.post(PATH, Some(KEY), &ask(model, users));
    let status = resp.status().as_u16();
    (status, resp.json().expect("json body"))
}

fn content(body: &Value) -> &str {
    body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap_or_else(|| panic!("no content in {body}"))
}

/// `(status, type, code, message)` of an OpenAI error body.
fn openai_error(resp: reqwest::blocking::Response) -> (u16, String, Value, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("json error body");
    let e = &body["error"];
    (
        status,
        e["type"].as_str().expect("type").to_string(),
        e["code"].clone(),
        e["message"].as_str().expect("message").to_string(),
    )
}

#[test]
fn answers_in_openai_shape_with_word_counts() {
    let mock = Mock::start(Some("openai.yaml"));
    let (status, body) = complete(&mock, "ag_chat", &["What are your business hours?"]);
    assert_eq!(status, 200);
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_i64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "ag_chat");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(
        content(&body),
        "Our business hours are Monday through Friday, 9 AM to 6 PM EST."
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    // The prompt is every message's words (system 3 + user 5), the completion the reply's.
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 8, "completion_tokens": 13, "total_tokens": 21})
    );
}

#[test]
fn history_comes_from_the_request_on_both_paths() {
    let mock = Mock::start(Some("openai.yaml"));
    // `{{turn}}` counts the user messages sent; no session is kept between requests.
    for path in [PATH, "/chat/completions"] {
        let resp = mock.post(path, Some(KEY), &ask("ag_chat", &["turn", "turn", "turn"]));
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        assert_eq!(content(&resp.json().unwrap()), "turn 3: turn", "{path}");
    }
    // `after` is earned by an earlier user message of the same request, not by itself and
    // not by another request.
    let (_, same) = complete(&mock, "ag_chat", &["products, how much?"]);
    assert_eq!(content(&same), "We sell widgets.");
    let (_, earned) = complete(&mock, "ag_chat", &["Tell me about products", "How much?"]);
    assert_eq!(content(&earned), "The premium plan is $99/month.");
    let (_, alone) = complete(&mock, "ag_chat", &["How much?"]);
    assert_eq!(content(&alone), "I'm not sure I can help with that.");
    // An assistant message that matched does not earn `after`: only user messages count.
    let mut body = ask("ag_chat", &["hello"]);
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": "our products"}));
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "content": "how much?"}));
    let resp = mock.post(PATH, Some(KEY), &body);
    assert_eq!(
        content(&resp.json().unwrap()),
        "I'm not sure I can help with that."
    );
    // Content given as a list of parts is read as its text parts (joined by a newline).
    let parts = json!({"model": "ag_chat", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "business hours"}, {"type": "text", "text": "please?"}]}]});
    let resp = mock.post(PATH, Some(KEY), &parts);
    assert!(content(&resp.json().unwrap()).starts_with("Our business hours"));
    assert!(mock.get("/_mock/sessions").as_object().unwrap().is_empty());
}

#[test]
fn the_log_keeps_each_request_body_in_order() {
    let mock = Mock::start(Some("openai.yaml"));
    let sent = ask("ag_chat", &["Tell me about products", "How much?"]);
    mock.post(PATH, Some(KEY), &sent);
    let logged = mock.last_logged();
    assert_eq!(logged["api"], "openai");
    assert_eq!(logged["agent_id"], "ag_chat");
    assert_eq!(logged["message"], "How much?");
    assert_eq!(logged["session_id"], Value::Null);
    assert_eq!(logged["status"], 200);
    assert_eq!(logged["body"], sent);
    let roles: Vec<&str> = logged["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    // The agent API's records are listed as before: no `api`, no `body`.
    mock.chat("ag_chat", "hi", None);
    let old = mock.last_logged();
    assert!(
        old.get("api").is_none() && old.get("body").is_none(),
        "{old}"
    );
}

#[test]
fn errors_in_openai_form_without_echoing_the_key() {
    let mock = Mock::start(Some("openai.yaml"));
    let body = ask("ag_chat", &["hi"]);
    let (status, kind, code, _) = openai_error(mock.post(PATH, None, &body));
    assert_eq!((status, kind.as_str()), (401, "invalid_request_error"));
    assert_eq!(code, "invalid_api_key");
    let (status, _, code, text) = openai_error(mock.post(PATH, Some("sk-not-a-key-42"), &body));
    assert_eq!((status, code), (401, json!("invalid_api_key")));
    assert!(!text.contains("sk-not-a-key-42"), "{text}");

    let (status, kind, code, text) =
        openai_error(mock.post(PATH, Some(KEY), &ask("gpt-nope", &["hi"])));
    assert_eq!((status, kind.as_str()), (404, "invalid_request_error"));
    assert_eq!(code, "model_not_found");
    assert!(text.contains("gpt-nope"), "{text}");

    let raw = mock
        .client
        .post(format!("{}{PATH}", mock.url))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(openai_error(raw).0, 400);
    for bad in [
        json!({"messages": [{"role": "user", "content": "hi"}]}),
        json!({"model": "ag_chat"}),
        json!({"model": "ag_chat", "messages": "hi"}),
        json!({"model": "ag_chat", "messages": [{"role": "system", "content": "no user"}]}),
        json!({"model": "ag_chat", "messages": [{"content": "no role"}]}),
        json!({"model": "ag_chat", "messages": [{"role": "user", "content": 5}]}),
        json!({"model": "ag_chat", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
    ] {
        let (status, kind, _, _) = openai_error(mock.post(PATH, Some(KEY), &bad));
        assert_eq!(
            (status, kind.as_str()),
            (400, "invalid_request_error"),
            "{bad}"
        );
    }

    // A rule's `status` answers that status in OpenAI's form.
    let (status, kind, code, text) =
        openai_error(mock.post(PATH, Some(KEY), &ask("ag_chat", &["boom"])));
    assert_eq!(
        (status, kind.as_str(), code),
        (500, "server_error", Value::Null)
    );
    assert_eq!(text, "Agent execution error");
    let (status, _, _, text) =
        openai_error(mock.post(PATH, Some(KEY), &ask("ag_chat", &["forbidden"])));
    assert_eq!((status, text.as_str()), (403, "not for you"));

    // A spent balance is 402 insufficient_quota.
    assert_eq!(complete(&mock, "ag_poor", &["hi"]).0, 200);
    assert_eq!(complete(&mock, "ag_poor", &["hi"]).0, 402);
    let (status, kind, code, _) =
        openai_error(mock.post(PATH, Some(KEY), &ask("ag_poor", &["hi"])));
    assert_eq!(
        (status, kind.as_str(), code),
        (402, "insufficient_quota", json!("insufficient_quota"))
    );
}

/// The rate-limit headers of a 429 from `agent`, after its two allowed requests.
fn limited(mock: &Mock, agent: &str) -> reqwest::blocking::Response {
    for remaining in ["1", "0"] {
        let ok = mock.post(PATH, Some(KEY), &ask(agent, &["hi"]));
        assert_eq!(ok.status().as_u16(), 200);
        let h = ok.headers();
        assert_eq!(h["x-ratelimit-limit-requests"], "2");
        assert_eq!(h["x-ratelimit-remaining-requests"], remaining);
        // And SPEC §6's, which every response of a rate-limited agent carries.
        assert_eq!(h["x-ratelimit-limit"], "2");
        assert_eq!(h["x-ratelimit-remaining"], remaining);
        assert!(h["x-ratelimit-reset"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .is_ok());
        let reset = h["x-ratelimit-reset-requests"].to_str().unwrap();
        assert!(reset.ends_with('s') && reset.len() >= 2, "{reset}");
    }
    let resp = mock.post(PATH, Some(KEY), &ask(agent, &["hi"]));
    assert_eq!(resp.status().as_u16(), 429);
    resp
}

#[test]
fn a_429_carries_the_one_retry_header_the_script_chose() {
    let mock = Mock::start(Some("openai.yaml"));
    let seconds = limited(&mock, "ag_limited");
    let h = seconds.headers().clone();
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(h.get("retry-after-ms").is_none() && h.get("x-ratelimit-reset-requests").is_none());
    let (_, kind, code, _) = openai_error(seconds);
    assert_eq!(
        (kind.as_str(), code),
        ("requests", json!("rate_limit_exceeded"))
    );

    let ms = limited(&mock, "ag_limited_ms");
    let h = ms.headers();
    let wait: u64 = h["retry-after-ms"].to_str().unwrap().parse().unwrap();
    assert!((50_000..=60_000).contains(&wait), "{wait}");
    assert!(h.get("retry-after").is_none() && h.get("x-ratelimit-reset-requests").is_none());

    let reset = limited(&mock, "ag_limited_reset");
    let h = reset.headers();
    let text = h["x-ratelimit-reset-requests"].to_str().unwrap();
    // As Go prints it: `59.5s`, `59s`, or `1m0s` when the limit was hit within a millisecond
    // of the window's first request (rounded up, the wait is then the whole minute). Read by
    // the client's own parser.
    let wait = agenttest::endpoint::transport::parse_go_duration(text)
        .unwrap_or_else(|| panic!("not a Go duration: {text}"));
    assert!((50.0..=60.0).contains(&wait.as_secs_f64()), "{text}");
    assert!(h.get("retry-after").is_none() && h.get("retry-after-ms").is_none());
}

#[test]
fn faults_work_on_this_route_too() {
    let mock = Mock::start(Some("openai.yaml"));
    let closed = mock
        .client
        .post(format!("{}{PATH}", mock.url))
        .bearer_auth(KEY)
        .json(&ask("ag_chat", &["close"]))
        .send();
    assert!(closed.is_err());
    assert_eq!(mock.last_logged()["fault"], "close");

    let html = mock.post(PATH, Some(KEY), &ask("ag_chat", &["non_json"]));
    assert!(html.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    let (status, missing) = complete(&mock, "ag_chat", &["no_response"]);
    assert_eq!(status, 200);
    assert_eq!(
        missing["choices"][0]["message"],
        json!({"role": "assistant"})
    );

    let cut = mock.post(PATH, Some(KEY), &ask("ag_chat", &["cut"]));
    assert_eq!(cut.status().as_u16(), 200);
    assert!(cut.bytes().is_err(), "a cut body must not read as complete");
}

#[test]
fn max_tokens_cuts_the_reply_with_finish_reason_length() {
    let mock = Mock::start(Some("openai.yaml"));
    let mut body = ask("ag_chat", &["business hours?"]);
    body["max_tokens"] = json!(3);
    let resp: Value = mock.post(PATH, Some(KEY), &body).json().unwrap();
    assert_eq!(content(&resp), "Our business hours");
    assert_eq!(resp["choices"][0]["finish_reason"], "length");
    assert_eq!(resp["usage"]["completion_tokens"], 3);
}

#[test]
fn paraphrases_are_seeded_per_conversation_opening() {
    let mock = Mock::start(Some("openai.yaml"));
    let pick =
        |users: &[&str]| -> String { content(&complete(&mock, "ag_seeded", users).1).to_string() };
    // Two conversations with the same opening, one after the other: the k-th draws the same
    // on every run of a fresh mock, so collect them and compare with a second mock.
    let first: Vec<String> = (0..4).map(|_| pick(&["pick"])).collect();
    let again = Mock::start(Some("openai.yaml"));
    let second: Vec<String> = (0..4)
        .map(|_| content(&complete(&again, "ag_seeded", &["pick"]).1).to_string())
        .collect();
    assert_eq!(first, second);
    assert!(first.iter().any(|p| p != &first[0]), "{first:?}");
}
