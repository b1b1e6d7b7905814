//! The agent API of SPEC §2: `POST /v1/agents/{agent_id}/chat` with `{"message",
//! "session_id"}`, answered in the agent's shape (`usage`, `metadata`, `tokens_used`), errors
//! as `{"detail": ...}` (FastAPI's list for a 422), `X-RateLimit-*` headers, and sessions kept
//! by the server. Replay (SPEC §7) answers on this route too.
//!
//! The hot path of load tests: compiled regexes, one short lock per request, JSON written
//! straight from borrowed strings.

use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Extension, Path, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::json;

use crate::mock::conn::ConnHandle;
use crate::mock::deliver::{deliver, Ends, Pacing, Payload};
use crate::mock::engine::{self, count_tokens, Said, Turn};
use crate::mock::replay::{Answer, Asked};
use crate::mock::script::{Agent, Shape};
use crate::mock::state::{AgentState, Api, Replayed, RequestRecord};
use crate::mock::wire::{
    authenticate, bearer, delay_or_drop, finish, json_body, rate_headers, rate_text, read_body,
    replay_identity, status_code, App, Auth, Shared,
};

pub(crate) fn detail(status: StatusCode, text: &str) -> Response {
    #[derive(Serialize)]
    struct Detail<'a> {
        detail: &'a str,
    }
    json_body(
        status,
        serde_json::to_vec(&Detail { detail: text }).unwrap_or_default(),
    )
}

/// FastAPI's 422 body: a list of `{loc, msg, type}`.
pub(crate) fn validation(loc: serde_json::Value, msg: &str, kind: &str) -> Response {
    json_body(
        StatusCode::UNPROCESSABLE_ENTITY,
        serde_json::to_vec(&json!({"detail": [{"loc": loc, "msg": msg, "type": kind}]}))
            .unwrap_or_default(),
    )
}

pub(crate) fn unauthorized(auth: &Auth<'_>) -> Response {
    let mut resp = detail(StatusCode::UNAUTHORIZED, auth.refusal());
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

#[derive(Serialize)]
struct Usage {
    input_tokens: u64,
    output_tokens: u64,
    total_tokens: u64,
}

#[derive(Serialize)]
struct Meta<'a> {
    model: &'a str,
    latency_ms: u64,
}

/// The three 200 shapes in one struct: the fields a shape lacks are skipped.
#[derive(Serialize)]
struct ChatReply<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a str>,
    session_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Meta<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_used: Option<u64>,
}

/// The parts of a chat body the mock understands, or the 422 that says why not.
struct ChatBody {
    message: Option<String>,
    session_id: Option<String>,
    invalid: Option<Response>,
}

fn parse_chat_body(body: &[u8]) -> ChatBody {
    #[derive(serde::Deserialize)]
    struct Raw {
        message: Option<serde_json::Value>,
        session_id: Option<serde_json::Value>,
    }
    let mut out = ChatBody {
        message: None,
        session_id: None,
        invalid: None,
    };
    let raw: Raw = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(e) if e.is_data() => {
            out.invalid = Some(validation(
                json!(["body"]),
                "Input should be a valid dictionary or object to extract fields from",
                "model_attributes_type",
            ));
            return out;
        }
        Err(_) => {
            out.invalid = Some(validation(
                json!(["body", 0]),
                "JSON decode error",
                "json_invalid",
            ));
            return out;
        }
    };
    match raw.session_id {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) => {
            // An empty id is "none": the server makes one, as for a missing field.
            if !s.is_empty() {
                out.session_id = Some(s);
            }
        }
        Some(_) => {
            out.invalid = Some(validation(
                json!(["body", "session_id"]),
                "Input should be a valid string",
                "string_type",
            ))
        }
    }
    match raw.message {
        Some(serde_json::Value::String(s)) => out.message = Some(s),
        None | Some(serde_json::Value::Null) => {
            out.invalid = Some(validation(
                json!(["body", "message"]),
                "Field required",
                "missing",
            ))
        }
        Some(_) => {
            out.invalid = Some(validation(
                json!(["body", "message"]),
                "Input should be a valid string",
                "string_type",
            ))
        }
    }
    out
}

/// `POST /v1/agents/{agent_id}/chat`. Checks run in this order: key (401), agent (404), rate
/// (429), body (422), balance (402), then the injected `fail_rate` (500) and the rules. A
/// replay server checks the body (422), then answers from the goldens.
pub(crate) async fn chat(
    AxState(app): AxState<App>,
    path: Result<Path<String>, PathRejection>,
    Extension(conn): Extension<ConnHandle>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Ok(Path(agent_id)) = path else {
        return detail(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut record = RequestRecord::new(Api::Thinnest, agent_id, &headers);
    let body = match read_body(&headers, body, app.max_body).await {
        Ok(b) => b,
        Err(e) => {
            let (status, text) = e.status_and_text();
            return finish(&app, record, detail(status_code(status), &text));
        }
    };
    let parsed = parse_chat_body(&body);
    record.session_id = parsed.session_id.clone();
    record.message = parsed.message.clone();
    // A replay server is not the agent: goldens record no key, so none is asked for (SPEC §7).
    if let Some(replay) = &app.state.replay {
        let resp = match parsed.invalid {
            Some(resp) => resp,
            None => {
                let identity = replay_identity(&headers);
                replay_answer(replay, parsed.session_id, identity, &mut record)
            }
        };
        return finish(&app, record, resp);
    }
    let agent = app.state.agents.get(&record.agent_id);
    let key = match authenticate(&app, bearer(&headers)) {
        Ok(k) => k,
        Err(why) => {
            let rate = agent.and_then(|a| a.rate("", true));
            return finish(&app, record, rate_headers(unauthorized(&why), rate));
        }
    };
    let Some(agent) = agent else {
        let text = format!("Agent not found: {}", record.agent_id);
        return finish(&app, record, detail(StatusCode::NOT_FOUND, &text));
    };
    let rate = agent.rate(key, false);
    if let Some(r) = rate.filter(|r| !r.allowed) {
        let resp = detail(StatusCode::TOO_MANY_REQUESTS, &rate_text(agent, &r));
        return finish(&app, record, rate_headers(resp, rate));
    }
    if let Some(resp) = parsed.invalid {
        return finish(&app, record, rate_headers(resp, rate));
    }
    if let Err(refusal) = engine::admit(agent) {
        let resp = detail(status_code(refusal.status()), refusal.text());
        return finish(&app, record, rate_headers(resp, rate));
    }
    let message = parsed.message.unwrap_or_default();
    let resp = answer(
        &app,
        agent,
        &conn,
        &message,
        parsed.session_id.as_deref(),
        started,
        &mut record,
    )
    .await;
    finish(&app, record, rate_headers(resp, rate))
}

/// A replayed turn: the golden's status and text, in the `usage` shape (goldens record no
/// shape), or a 404 naming the nearest golden. The golden of the dialogue `identity` names (a
/// conversation under `base_url: replay`) answers first.
fn replay_answer(
    replay: &Replayed,
    session_id: Option<String>,
    identity: Option<&str>,
    record: &mut RequestRecord,
) -> Response {
    let session_id = session_id.unwrap_or_else(crate::mock::state::new_session_id);
    let message = record.message.as_deref().unwrap_or_default();
    let asked = Asked::agent(&record.agent_id).named(identity);
    let answer = replay.answer(&session_id, asked, message);
    if matches!(answer, Answer::Turn { .. }) {
        record.joined = Some(session_id.clone());
    }
    match answer {
        Answer::Turn { status, agent } if (200..300).contains(&status) => {
            let input_tokens = count_tokens(message);
            let output_tokens = count_tokens(agent);
            let body = ChatReply {
                success: None,
                response: Some(agent),
                session_id: &session_id,
                usage: Some(Usage {
                    input_tokens,
                    output_tokens,
                    total_tokens: input_tokens + output_tokens,
                }),
                metadata: None,
                tokens_used: None,
            };
            json_body(
                status_code(status),
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        }
        Answer::Turn { status, agent } => detail(status_code(status), agent),
        Answer::NoMatch(text) => detail(StatusCode::NOT_FOUND, &text),
    }
}

/// The message reached the agent: record it in its session, pick a rule and answer.
async fn answer(
    app: &Shared,
    agent: &AgentState,
    conn: &ConnHandle,
    message: &str,
    session_id: Option<&str>,
    started: Instant,
    record: &mut RequestRecord,
) -> Response {
    let def = &agent.def;
    let step = agent.step(session_id, message, &engine::after_bits(def, message));
    record.joined = Some(step.session_id.clone());
    let turn = Turn {
        message,
        turn: step.turn,
        earned: step.earned,
        opening: step.opening,
        ordinal: step.ordinal,
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
    let (status, reply) = match engine::say(def, &plan, &turn) {
        Said::Error {
            status,
            detail: text,
        } => {
            let bytes = serde_json::to_vec(&json!({ "detail": text })).unwrap_or_default();
            let payload = Payload::Json { bytes, text: None };
            return deliver(status_code(status), payload, plan.fault, pacing, ends());
        }
        Said::Reply { status, text } => (status, text),
    };
    // Under `no_response` no word of the reply is sent, so none is counted.
    let shown = plan.shown(&reply);
    let output_tokens = shown.map_or(0, count_tokens);
    let input_tokens = count_tokens(message);
    agent.spend(input_tokens + output_tokens);
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let body = ChatReply::shaped(
        def,
        shown,
        &step.session_id,
        (input_tokens, output_tokens),
        latency_ms,
    );
    let payload = Payload::Json {
        bytes: serde_json::to_vec(&body).unwrap_or_default(),
        text: Some(reply.clone()),
    };
    deliver(status_code(status), payload, plan.fault, pacing, ends())
}

impl<'a> ChatReply<'a> {
    /// The agent's 200 body in its `shape`.
    fn shaped(
        def: &'a Agent,
        response: Option<&'a str>,
        session_id: &'a str,
        (input_tokens, output_tokens): (u64, u64),
        latency_ms: u64,
    ) -> ChatReply<'a> {
        let total = input_tokens + output_tokens;
        let mut body = ChatReply {
            success: None,
            response,
            session_id,
            usage: None,
            metadata: None,
            tokens_used: None,
        };
        match def.shape {
            Shape::Usage => {
                body.usage = Some(Usage {
                    input_tokens,
                    output_tokens,
                    total_tokens: total,
                })
            }
            Shape::Metadata => {
                body.success = Some(true);
                body.metadata = Some(Meta {
                    model: &def.model,
                    latency_ms,
                });
            }
            Shape::TokensUsed => body.tokens_used = Some(total),
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_validation() {
        assert!(parse_chat_body(b"{\"message\":\"hi\"}").invalid.is_none());
        assert!(parse_chat_body(b"not json").invalid.is_some());
        assert!(parse_chat_body(b"[1]").invalid.is_some());
        assert!(parse_chat_body(b"{}").invalid.is_some());
        assert!(parse_chat_body(b"{\"message\":1}").invalid.is_some());
        let b = parse_chat_body(b"{\"message\":\"hi\",\"session_id\":\"\"}");
        assert!(b.invalid.is_none() && b.session_id.is_none());
    }
}
