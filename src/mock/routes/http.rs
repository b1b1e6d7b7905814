//! A small generic JSON API, so that `kind: http` (SPEC §8.2) has an offline target on the
//! same server:
//!
//! ```text
//! POST /http/{agent_id}/chat
//! Authorization: Bearer KEY          (or X-API-Key: KEY)
//! {"input": "...", "session": "...", "history": [{"role", "content"}...], "stream": false}
//! 200 {"output": {"text": "..."}, "session": "...", "usage": {"in": N, "out": N, "total": N}}
//! err {"error": {"message": "..."}}
//! ```
//!
//! Without `session` (or with `null` or `""`) the server opens one and returns its id. With
//! `history`, the conversation is the one the client sent (stateless, like chat completions);
//! without it, the server's session. `"stream": true` answers server-sent events whose JSON
//! carries each piece of text at the same pointer (`/output/text`), then `[DONE]`.
//!
//! Replay (SPEC §7) answers on this route too, and it is where an `http` suite under
//! `base_url: replay` sends its turns: the suite's own wire shape cannot be read offline, so
//! the client speaks this API instead. The key is not checked then (the http kind's key is
//! optional and its header the suite's own), and the agent id in the path is only a label for
//! an http dialogue's golden, which names no agent.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::mock::conn::ConnHandle;
use crate::mock::deliver::{deliver, pieces, Ends, Pacing, Payload};
use crate::mock::engine::{self, count_tokens, Said, Turn};
use crate::mock::replay::{Answer, Asked};
use crate::mock::script::Pace;
use crate::mock::state::{AgentState, Api, Replayed, RequestRecord};
use crate::mock::wire::{
    authenticate, bearer, delay_or_drop, finish, json_body, rate_headers, rate_text, read_body,
    status_code, App, Auth, Shared,
};

fn error(status: u16, message: &str) -> Response {
    json_body(
        status_code(status),
        serde_json::to_vec(&json!({"error": {"message": message}})).unwrap_or_default(),
    )
}

/// `X-API-Key: KEY` when present, else `Authorization: Bearer KEY`.
fn presented_key(headers: &HeaderMap) -> Auth<'_> {
    match headers.get("x-api-key").map(|v| v.to_str().map(str::trim)) {
        Some(Ok(k)) if !k.is_empty() && !k.contains(char::is_whitespace) => Auth::Key(k),
        Some(_) => Auth::Malformed,
        None => bearer(headers),
    }
}

/// A request of the generic API, checked.
#[derive(Debug)]
struct Ask {
    input: String,
    session: Option<String>,
    /// The earlier user messages, when the client sent its history.
    history: Option<Vec<String>>,
    stream: bool,
}

fn string_field(body: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

fn parse(body: &[u8]) -> Result<Ask, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(map) = value else {
        return Err("the body must be a JSON object".into());
    };
    let input = string_field(&map, "input")?.ok_or("`input` is required")?;
    let session = string_field(&map, "session")?.filter(|s| !s.is_empty());
    let history = match map.get("history") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut users = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let role = item.get("role").and_then(Value::as_str);
                let content = item.get("content").and_then(Value::as_str);
                match (role, content) {
                    (Some("user"), Some(c)) => users.push(c.to_string()),
                    (Some(_), Some(_)) => {}
                    _ => {
                        return Err(format!(
                            "`history[{i}]` must be {{\"role\": \"...\", \"content\": \"...\"}}"
                        ))
                    }
                }
            }
            Some(users)
        }
        Some(_) => return Err("`history` must be a list".into()),
    };
    let stream = match map.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("`stream` must be a boolean".into()),
    };
    Ok(Ask {
        input,
        session,
        history,
        stream,
    })
}

/// `POST /http/{agent_id}/chat`. Checks run in the agent API's order: key (401), agent (404),
/// rate (429), body (422), balance (402), the injected `fail_rate` (500), then the rules. A
/// replay server checks the body (422), then answers from the goldens.
pub(crate) async fn chat(
    AxState(app): AxState<App>,
    path: Result<Path<String>, PathRejection>,
    Extension(conn): Extension<ConnHandle>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(Path(agent_id)) = path else {
        return error(404, "Not Found");
    };
    let mut record = RequestRecord::new(Api::Http, agent_id, &headers);
    let body = match read_body(&headers, body, app.max_body).await {
        Ok(b) => b,
        Err(e) => {
            let (status, text) = e.status_and_text();
            return finish(&app, record, error(status, &text));
        }
    };
    let parsed = parse(&body);
    record.body = Some(body.clone());
    if let Ok(ask) = &parsed {
        record.session_id = ask.session.clone();
        record.message = Some(ask.input.clone());
    }
    if let Some(replay) = &app.state.replay {
        let resp = match parsed {
            Ok(ask) => replay_answer(&app, replay, &conn, ask, &mut record),
            Err(why) => error(422, &why),
        };
        return finish(&app, record, resp);
    }
    let agent = app.state.agents.get(&record.agent_id);
    let key = match authenticate(&app, presented_key(&headers)) {
        Ok(k) => k,
        Err(why) => {
            let rate = agent.and_then(|a| a.rate("", true));
            return finish(&app, record, rate_headers(error(401, why.refusal()), rate));
        }
    };
    let Some(agent) = agent else {
        let text = format!("Agent not found: {}", record.agent_id);
        return finish(&app, record, error(404, &text));
    };
    let rate = agent.rate(key, false);
    if let Some(r) = rate.filter(|r| !r.allowed) {
        let resp = error(429, &rate_text(agent, &r));
        return finish(&app, record, rate_headers(resp, rate));
    }
    let ask = match parsed {
        Ok(ask) => ask,
        Err(why) => return finish(&app, record, rate_headers(error(422, &why), rate)),
    };
    if let Err(refusal) = engine::admit(agent) {
        let resp = error(refusal.status(), refusal.text());
        return finish(&app, record, rate_headers(resp, rate));
    }
    let resp = answer(&app, agent, &conn, ask, &mut record).await;
    finish(&app, record, rate_headers(resp, rate))
}

/// A replayed turn in this API's shape: with `history`, the client's conversation is matched
/// as it was sent (stateless: the history holds the turns that got a 2xx reply, see
/// [`Kept::Client`](crate::mock::replay::Kept)); without, the session's matched messages so
/// far, as on the agent API. A recorded non-2xx comes back as `{"error": {"message"}}` with
/// its status; no match is a 404 naming the nearest golden. Asked to stream, the text comes as
/// one event: goldens keep no pacing, but a streaming client still reads a stream (and its
/// first token).
fn replay_answer(
    app: &Shared,
    replay: &Replayed,
    conn: &ConnHandle,
    ask: Ask,
    record: &mut RequestRecord,
) -> Response {
    let session_id = ask
        .session
        .unwrap_or_else(crate::mock::state::new_session_id);
    let message = ask.input.as_str();
    let answer = match &ask.history {
        Some(earlier) => {
            let said: Vec<&str> = earlier
                .iter()
                .map(String::as_str)
                .chain(std::iter::once(message))
                .collect();
            replay.answer_stateless(Asked::generic(&record.agent_id), &said)
        }
        None => replay.answer(&session_id, Asked::generic(&record.agent_id), message),
    };
    let (status, agent) = match answer {
        Answer::Turn { status, agent } => (status, agent),
        Answer::NoMatch(detail) => return error(404, &detail),
    };
    record.joined = Some(session_id.clone());
    if !(200..300).contains(&status) {
        return error(status, agent);
    }
    let (input, output) = (count_tokens(message), count_tokens(agent));
    let usage = json!({"in": input, "out": output, "total": input + output});
    let payload = if ask.stream {
        events(Some(vec![agent]), &session_id, usage)
    } else {
        let body = json!({"output": {"text": agent}, "session": session_id, "usage": usage});
        Payload::Json {
            bytes: serde_json::to_vec(&body).unwrap_or_default(),
            text: Some(agent.to_string()),
        }
    };
    let pacing = Pacing {
        trickle_interval: std::time::Duration::ZERO,
        pace: Pace::default(),
    };
    let ends = Ends {
        shutdown: app.shutdown.clone(),
        conn: conn.clone(),
    };
    deliver(status_code(status), payload, None, pacing, ends)
}

async fn answer(
    app: &Shared,
    agent: &AgentState,
    conn: &ConnHandle,
    ask: Ask,
    record: &mut RequestRecord,
) -> Response {
    let def = &agent.def;
    let message = ask.input.as_str();
    let step = agent.step(
        ask.session.as_deref(),
        message,
        &engine::after_bits(def, message),
    );
    record.joined = Some(step.session_id.clone());
    let users: Vec<String>;
    let turn = match ask.history {
        // The client's history is the conversation; the session only carries the id.
        Some(mut earlier) => {
            earlier.push(ask.input.clone());
            users = earlier;
            engine::stateless_turn(agent, &users)
        }
        None => Turn {
            message,
            turn: step.turn,
            earned: step.earned,
            opening: step.opening,
            ordinal: step.ordinal,
        },
    };
    let plan = engine::plan(def, &turn);
    if let Some(resp) = delay_or_drop(app, conn, plan.latency, plan.fault, record).await {
        return resp;
    }
    let pacing = Pacing {
        trickle_interval: plan.trickle_interval,
        pace: plan.pace,
    };
    let ends = || Ends {
        shutdown: app.shutdown.clone(),
        conn: conn.clone(),
    };
    let (status, text) = match engine::say(def, &plan, &turn) {
        Said::Error { status, detail } => {
            let bytes =
                serde_json::to_vec(&json!({"error": {"message": detail}})).unwrap_or_default();
            let payload = Payload::Json { bytes, text: None };
            return deliver(status_code(status), payload, plan.fault, pacing, ends());
        }
        Said::Reply { status, text } => (status, text),
    };
    // Under `no_response` no word of the reply is sent, so none is counted.
    let shown = plan.shown(&text);
    let (input, output) = (count_tokens(message), shown.map_or(0, count_tokens));
    agent.spend(input + output);
    let usage = json!({"in": input, "out": output, "total": input + output});
    let sid = step.session_id.as_str();
    let payload = if ask.stream {
        events(shown.map(pieces), sid, usage)
    } else {
        let mut body = json!({"output": {}, "session": sid, "usage": usage});
        if let Some(t) = shown {
            body["output"]["text"] = json!(t);
        }
        Payload::Json {
            bytes: serde_json::to_vec(&body).unwrap_or_default(),
            text: Some(text.clone()),
        }
    };
    deliver(status_code(status), payload, plan.fault, pacing, ends())
}

/// One event per piece of text, each `{"output": {"text": piece}, "session": id}`, then one
/// with empty text and the usage, then `[DONE]`. Without a text (`no_response`), no piece, and
/// the last event's `output` has no `text`: an empty one would be a text, where the fault
/// sends none.
fn events(pieces: Option<Vec<&str>>, session: &str, usage: Value) -> Payload {
    let last = match pieces {
        Some(_) => json!({"output": {"text": ""}, "session": session, "usage": usage}),
        None => json!({"output": {}, "session": session, "usage": usage}),
    };
    let pieces = pieces
        .unwrap_or_default()
        .into_iter()
        .map(|p| json!({"output": {"text": p}, "session": session}).to_string())
        .collect();
    Payload::Events {
        head: Vec::new(),
        pieces,
        tail: vec![last.to_string(), "[DONE]".to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        let a = parse(br#"{"input": "hi", "session": "", "history": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}"#).unwrap();
        assert_eq!(a.input, "hi");
        assert!(a.session.is_none());
        assert_eq!(a.history.unwrap(), ["a"]);
        assert!(parse(b"{}").unwrap_err().contains("`input` is required"));
        assert!(parse(br#"{"input": 1}"#).is_err());
        assert!(parse(br#"{"input": "x", "history": [1]}"#).is_err());
        assert!(parse(b"nope").is_err());
    }

    /// The generic route under replay (SPEC §7), through a real in-process server: the session's
    /// matched messages or the client's history, a recorded failure with its status, a
    /// one-piece stream, and a 404 that names the nearest golden. No key is needed.
    #[tokio::test]
    async fn replay_answers_the_generic_route_from_the_goldens() {
        let dir = tempfile::tempdir().unwrap();
        let golden_dir = dir.path().join("s.golden");
        std::fs::create_dir_all(&golden_dir).unwrap();
        let golden = "suite: s\ndialogue: a\nturns:
  - {user: hi, status: 200, agent: hello}
  - {user: boom, status: 500, agent: it failed}
  - {user: hours?, status: 200, agent: nine to five}
";
        std::fs::write(golden_dir.join("a.yaml"), golden).unwrap();
        let script = crate::mock::Script::replay(std::slice::from_ref(&golden_dir)).unwrap();
        let server = crate::mock::start_local(script).await.unwrap();
        let url = format!("{}/http/anyone/chat", server.base_url());
        let client = reqwest::Client::new();
        let post = |body: Value| {
            let req = client.post(&url).json(&body);
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                (status, resp.text().await.unwrap())
            }
        };
        let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();

        // A session the server names, followed past a recorded failure.
        let (status, body) = post(json!({"input": "hi"})).await;
        assert_eq!(status, 200, "{body}");
        let body = json(&body);
        assert_eq!(body["output"]["text"], "hello");
        let sid = body["session"].as_str().unwrap().to_string();
        let (status, body) = post(json!({"input": "boom", "session": sid})).await;
        assert_eq!(
            (status, json(&body)),
            (500, json!({"error": {"message": "it failed"}}))
        );
        let (status, body) = post(json!({"input": "hours?", "session": sid})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["output"]["text"], "nine to five");

        // Stateless: the client's history is the conversation, holding only the turns that
        // got a 2xx reply (as agenttest's clients keep it); the recorded failure is still
        // answered when it is asked.
        let history =
            json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]);
        let (status, body) = post(json!({"input": "boom", "history": history.clone()})).await;
        assert_eq!(status, 500, "{body}");
        let (status, body) = post(json!({"input": "hours?", "history": history})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["output"]["text"], "nine to five");

        // Streamed: one piece, then the usage and [DONE].
        let (status, body) = post(json!({"input": "hi", "stream": true})).await;
        assert_eq!(status, 200);
        let data: Vec<&str> = body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect();
        assert_eq!(data.len(), 3, "{body}");
        assert_eq!(json(data[0])["output"]["text"], "hello");
        assert_eq!(data[2], "[DONE]");

        // No match: a 404 whose message names the nearest golden and its next turn.
        let (status, body) = post(json!({"input": "hello?"})).await;
        assert_eq!(status, 404);
        let message = json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("a.yaml"), "{message}");
        assert!(message.contains("its turn 1 is \"hi\""), "{message}");
        server.shutdown().await;
    }

    #[test]
    fn api_key_header_or_bearer() {
        let mut h = HeaderMap::new();
        h.insert("x-api-key", "k1".parse().unwrap());
        assert!(matches!(presented_key(&h), Auth::Key("k1")));
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer k2".parse().unwrap());
        assert!(matches!(presented_key(&h), Auth::Key("k2")));
    }
}
