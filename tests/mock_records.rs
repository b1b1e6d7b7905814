//! What `/_mock/requests` records of each request, over real HTTP: the headers sent (keys
//! redacted, the agent API's only when asked for), the last user message of a chat completion
//! whatever refused it, and the message as the rules read it from a list of content parts.
//! Also the errors of paths no route serves, in the shape of the API the path belongs to.

mod mock_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use agenttest::mock::{start_with, MockOptions, Script};
use mock_common::{Mock, KEY};
use serde_json::{json, Value};

const PATH: &str = "/v1/chat/completions";

/// Secrets sent under headers that can carry a key; none may reach the log.
const SECRETS: [&str; 6] = [
    "azure-secret-1",
    "tok-secret-2",
    "cookie-secret-3",
    "sess-secret-4",
    "gw-secret-5",
    "proxy-secret-6",
];

/// Sends `head` (the request line and headers, each line ending in CRLF, without the blank
/// line) and `body` as one raw HTTP/1.1 request, so the headers go out exactly in this order
/// and repeated as written; returns the status.
fn raw(mock: &Mock, head: &str, body: &str) -> u16 {
    let addr: SocketAddr = mock
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("the mock's address");
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let request = format!(
        "{head}Host: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).expect("send");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("read");
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"))
}

/// The headers every route's test sends after its own: an ordinary one twice, a replay
/// identity, and one secret under each kind of name that can carry a key.
fn sent_headers() -> String {
    [
        "X-Env: staging",
        "Content-Type: application/json",
        "api-key: azure-secret-1",
        "X-Auth-Token: tok-secret-2",
        "Cookie: sid=cookie-secret-3",
        "X-Session-Id: sess-secret-4",
        "X-Gateway-Key: gw-secret-5",
        "Proxy-Authorization: Basic proxy-secret-6",
        "X-Agenttest-Replay-Identity: business-hours",
        "User-Agent: agenttest-test/1",
        "X-Env: blue",
    ]
    .map(|h| format!("{h}\r\n"))
    .concat()
}

/// The `/_mock/requests` body as text (to see the order of keys, which a JSON tree sorts) and
/// as JSON.
fn log_text(mock: &Mock, query: &str) -> (String, Value) {
    let text = mock
        .client
        .get(format!("{}/_mock/requests{query}", mock.url))
        .send()
        .expect("get")
        .text()
        .expect("text");
    let json = serde_json::from_str(&text).expect("json");
    (text, json)
}

/// The checks every route's logged headers must pass; `key_header` is the one that carried
/// the route's own key.
fn assert_headers(text: &str, logged: &Value, key_header: &str) {
    let headers = logged["headers"].as_object().expect("headers listed");
    assert_eq!(headers["x-env"], "staging, blue", "{logged}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["user-agent"], "agenttest-test/1");
    assert_eq!(headers["x-agenttest-replay-identity"], "business-hours");
    for name in [
        key_header,
        "api-key",
        "x-auth-token",
        "cookie",
        "x-session-id",
        "x-gateway-key",
        "proxy-authorization",
    ] {
        assert_eq!(headers[name], "[REDACTED]", "{name}: {logged}");
    }
    for secret in SECRETS.iter().chain([&KEY]) {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Names lower-cased, in the order first sent (the repeated `x-env` where it first came).
    let at = |name: &str| text.rfind(&format!("\"{name}\":")).expect(name);
    assert!(at("x-env") < at("content-type") && at("content-type") < at("api-key"));
    assert!(at("x-agenttest-replay-identity") < at("user-agent"));
    assert!(!text.contains("X-Env"), "{text}");
}

#[test]
fn chat_completions_list_the_headers_sent_with_every_key_redacted() {
    let mock = Mock::start(Some("openai.yaml"));
    let body = json!({"model": "ag_chat", "messages": [{"role": "user", "content": "hi"}]});
    let head = format!(
        "POST {PATH} HTTP/1.1\r\nAuthorization: Bearer {KEY}\r\n{}",
        sent_headers()
    );
    assert_eq!(raw(&mock, &head, &body.to_string()), 200);
    let (text, log) = log_text(&mock, "");
    assert_headers(&text, &log["chat"][0], "authorization");
}

#[test]
fn the_generic_api_lists_the_headers_sent_with_its_x_api_key_redacted() {
    let mock = Mock::start(Some("openai.yaml"));
    let head = format!(
        "POST /http/ag_chat/chat HTTP/1.1\r\nX-API-Key: {KEY}\r\n{}",
        sent_headers()
    );
    assert_eq!(raw(&mock, &head, r#"{"input": "hi"}"#), 200);
    let (text, log) = log_text(&mock, "");
    assert_headers(&text, &log["chat"][0], "x-api-key");
}

/// The agent API's entries keep exactly the fields they always had (a client test comparing
/// one whole still passes), and list the headers when asked for.
#[test]
fn the_agent_api_lists_its_headers_when_asked_for() {
    let mock = Mock::start(Some("basic.yaml"));
    let head = format!(
        "POST /v1/agents/ag_usage/chat HTTP/1.1\r\nAuthorization: Bearer {KEY}\r\n{}",
        sent_headers()
    );
    assert_eq!(raw(&mock, &head, r#"{"message": "hi"}"#), 200);
    let (_, log) = log_text(&mock, "");
    assert_eq!(
        log["chat"],
        json!([{"agent_id": "ag_usage", "session_id": null, "message": "hi", "status": 200}])
    );
    for query in ["?headers=true", "?headers=1", "?headers"] {
        let (text, log) = log_text(&mock, query);
        assert_headers(&text, &log["chat"][0], "authorization");
    }
    let (_, log) = log_text(&mock, "?headers=false");
    assert!(log["chat"][0].get("headers").is_none(), "{log}");
}

/// A refused chat completion is logged with the last user message it carried, as the agent
/// API's and the generic API's refusals are: 401, 404 and 429, and a body read as a JSON tree
/// (content given as parts). Only a body that is no chat completion has none.
#[test]
fn refused_chat_completions_log_their_last_user_message() {
    let mock = Mock::start(Some("openai.yaml"));
    let ask = |model: &str, key: Option<&str>, content: Value| {
        let body = json!({"model": model, "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": content},
        ]});
        let status = mock.post(PATH, key, &body).status().as_u16();
        (status, mock.last_logged())
    };
    let (status, logged) = ask("ag_chat", None, json!("no key"));
    assert_eq!((status, &logged["message"]), (401, &json!("no key")));
    let (status, logged) = ask(
        "ag_chat",
        Some("ak_wrong_1"),
        json!([{"type": "text", "text": "parts"}]),
    );
    assert_eq!((status, &logged["message"]), (401, &json!("parts")));
    let (status, logged) = ask("gpt-nope", Some(KEY), json!("no such model"));
    assert_eq!((status, &logged["message"]), (404, &json!("no such model")));
    for _ in 0..2 {
        assert_eq!(ask("ag_limited", Some(KEY), json!("hi")).0, 200);
    }
    let (status, logged) = ask("ag_limited", Some(KEY), json!("hi, too soon"));
    assert_eq!((status, &logged["message"]), (429, &json!("hi, too soon")));
    let (status, logged) = ask("ag_chat", Some(KEY), json!(3));
    assert_eq!((status, &logged["message"]), (400, &Value::Null));
}

/// The error body of a wrong method or an unknown path: OpenAI's on the completions paths and
/// under `/v1/` (never echoing the query, which can hold a key), the agent API's on its own
/// paths and elsewhere.
#[test]
fn paths_no_route_serves_answer_in_the_shape_of_their_api() {
    let mock = Mock::start(Some("openai.yaml"));
    let call = |method: &str, path: &str| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = mock
            .client
            .request(method, format!("{}{path}", mock.url))
            .bearer_auth(KEY)
            .json(&json!({}))
            .send()
            .expect("request");
        (resp.status().as_u16(), resp.json::<Value>().expect("json"))
    };
    let openai = |message: &str| json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}});
    assert_eq!(
        call("GET", "/v1/chat/completions"),
        (
            405,
            openai("Invalid method for URL (GET /v1/chat/completions)")
        )
    );
    assert_eq!(
        call("PUT", "/chat/completions"),
        (
            405,
            openai("Invalid method for URL (PUT /chat/completions)")
        )
    );
    assert_eq!(
        call("POST", "/v1/models"),
        (404, openai("Invalid URL (POST /v1/models)"))
    );
    assert_eq!(
        call("POST", "/v1/completions?api-key=gw-secret-5"),
        (404, openai("Invalid URL (POST /v1/completions)"))
    );
    let detail = |text: &str| json!({ "detail": text });
    assert_eq!(
        call("GET", "/v1/agents/ag_chat/chat"),
        (405, detail("Method Not Allowed"))
    );
    assert_eq!(
        call("POST", "/v1/agents/ag_chat/other"),
        (404, detail("Not Found"))
    );
    assert_eq!(call("POST", "/v1/agents"), (404, detail("Not Found")));
    assert_eq!(call("POST", "/nowhere"), (404, detail("Not Found")));
    // None of them is a chat request.
    assert_eq!(mock.get("/_mock/requests")["total"], 0);
}

/// A user message given as parts is its text parts joined by a newline (as vLLM joins them),
/// other parts skipped: two words, where they had run together as one.
#[test]
fn content_parts_are_joined_by_a_newline() {
    let mock = Mock::start(None);
    let body = json!({"model": "demo", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "echo: business"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "hours"},
    ]}]});
    let resp = mock.post(PATH, Some(KEY), &body);
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().expect("json");
    assert_eq!(
        answer["choices"][0]["message"]["content"],
        "business\nhours"
    );
    assert_eq!(answer["usage"]["prompt_tokens"], 3);
    assert_eq!(mock.last_logged()["message"], "echo: business\nhours");
}

/// Headers count against the log's byte budget like the rest of a request.
#[test]
fn headers_count_against_the_log_budget() {
    let budget = 200_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let file = agenttest::diag::SourceFile::new("plain.yaml", "agents:\n  ag: {fallback: ok}\n");
    let script = Script::parse(&file).expect("a valid script");
    let options = MockOptions {
        log_budget_bytes: budget,
        ..MockOptions::default()
    };
    let server = rt
        .block_on(start_with(
            script,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            options,
        ))
        .expect("mock starts");
    let client = reqwest::blocking::Client::new();
    for i in 0..10 {
        let resp = client
            .post(format!("{}/v1/agents/ag/chat", server.base_url()))
            .bearer_auth("ak_any")
            .header("x-pad", "p".repeat(50_000))
            .json(&json!({"message": format!("{i}")}))
            .send()
            .expect("chat");
        assert_eq!(resp.status().as_u16(), 200);
    }
    let kept = server.requests();
    let header_bytes: usize = kept
        .iter()
        .flat_map(|r| &r.headers)
        .map(|(n, v)| n.len() + v.len())
        .sum();
    assert!(header_bytes <= budget, "the log keeps {header_bytes} bytes");
    assert!(kept.len() < 10, "kept {} of 10", kept.len());
    assert_eq!(kept.last().and_then(|r| r.message.as_deref()), Some("9"));
    assert_eq!(server.stats().chat_requests, 10);
}
