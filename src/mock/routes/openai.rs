//! Chat completions as OpenAI serves them (SPEC §8.1, §8.3): `POST /v1/chat/completions` and
//! `POST /chat/completions`, where `model` names an agent of the script.
//!
//! Stateless, like the real API: the conversation is the request's `messages`. The rules see
//! the last user message, `after` sees the earlier user messages, and `{{turn}}` is the number
//! of user messages. Errors are `{"error": {"message", "type", "param", "code"}}`; with
//! `"stream": true` the answer is server-sent `chat.completion.chunk` events ending with
//! `[DONE]`. No api key is ever echoed, not even in the 401's message. The 404 of a path under
//! `/v1/` that no route serves and the 405 of these paths asked with another method are worded
//! here too (the server sends them), so a client of chat completions reads OpenAI's shape there.
//!
//! A replay server (SPEC §7) answers here from the goldens, asking for no key; a conversation
//! under `base_url: replay` names its dialogue in
//! [`REPLAY_IDENTITY_HEADER`](crate::suite::model::REPLAY_IDENTITY_HEADER), and that dialogue's
//! golden answers it first.

use std::borrow::Cow;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Extension, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use serde::Serialize;
use serde_json::{json, Map, Value};

mod body;

use crate::json_text;
use crate::mock::conn::ConnHandle;
use crate::mock::deliver::{deliver, pieces, Ends, Events, Pacing, Payload, Pieces};
use crate::mock::engine::{self, count_tokens, Said};
use crate::mock::replay::{Answer, Asked};
use crate::mock::script::RetryHeader;
use crate::mock::state::{AgentState, Api, RateVerdict, Replayed, RequestRecord};
use crate::mock::wire::{
    authenticate, bearer, delay_or_drop, finish, json_body, read_body, replay_identity,
    status_code, App, Shared,
};

/// OpenAI's error body.
fn error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    json_body(
        status_code(status),
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// A 400 about the request body.
fn invalid(message: &str, param: Option<&str>) -> Response {
    error(400, message, "invalid_request_error", param, None)
}

/// The `type` and `code` OpenAI gives an error of this status.
fn kind_of(status: u16) -> (&'static str, Option<&'static str>) {
    match status {
        401 => ("invalid_request_error", Some("invalid_api_key")),
        402 => ("insufficient_quota", Some("insufficient_quota")),
        403 => ("permission_error", None),
        429 => ("requests", Some("rate_limit_exceeded")),
        500..=599 => ("server_error", None),
        _ => ("invalid_request_error", None),
    }
}

fn error_for(status: u16, message: &str) -> Response {
    let (kind, code) = kind_of(status);
    error(status, message, kind, None, code)
}

/// OpenAI's 404 for a path it does not serve: `Invalid URL (POST /v1/models)`. The path only:
/// a query string can carry a key (gateways that take `?api-key=`), and none is ever echoed.
pub(crate) fn invalid_url(method: &Method, path: &str) -> Response {
    let text = format!("Invalid URL ({method} {path})");
    error(404, &text, "invalid_request_error", None, None)
}

/// The completions paths asked with another method than `POST`: OpenAI's 405, so a client of
/// chat completions reads the error it would read from OpenAI, not the agent API's `detail`.
pub(crate) async fn wrong_method(method: Method, uri: Uri) -> Response {
    let text = format!("Invalid method for URL ({method} {})", uri.path());
    error(405, &text, "invalid_request_error", None, None)
}

/// OpenAI's duration format in `x-ratelimit-reset-requests`: `17ms`, `1s`, `1.5s`, `6m0s`,
/// `1h0m0s` (Go's `time.Duration`), rounded up to the millisecond so a client waiting that
/// long is never early.
pub(crate) fn go_duration(d: Duration) -> String {
    let ms = d.as_nanos().div_ceil(1_000_000);
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m, s_ms) = (ms / 3_600_000, (ms / 60_000) % 60, ms % 60_000);
    let secs = if s_ms % 1000 == 0 {
        format!("{}", s_ms / 1000)
    } else {
        let frac = format!("{:03}", s_ms % 1000);
        format!("{}.{}", s_ms / 1000, frac.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m{secs}s"),
        (h, m) => format!("{h}h{m}m{secs}s"),
    }
}

/// OpenAI's request headers: limit and remaining on every response of a rate-limited agent,
/// the reset time on those it let through, and on a 429 only the header the script chose.
/// The agent API's `X-RateLimit-Limit`, `-Remaining` and `-Reset` too, which SPEC §6 has every
/// response of such an agent carry, on every route (§8.3); a client reading OpenAI's headers
/// is not misled by them (agenttest's takes the chosen header first).
fn openai_rate_headers(
    mut resp: Response,
    rate: Option<RateVerdict>,
    choice: RetryHeader,
) -> Response {
    let Some(r) = rate else { return resp };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(r.limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(r.remaining));
    h.insert("x-ratelimit-reset", HeaderValue::from(r.reset_epoch()));
    h.insert("x-ratelimit-limit-requests", HeaderValue::from(r.limit));
    h.insert(
        "x-ratelimit-remaining-requests",
        HeaderValue::from(r.remaining),
    );
    let reset = || HeaderValue::from_str(&go_duration(r.reset_in)).ok();
    if r.allowed {
        if let Some(v) = reset() {
            h.insert("x-ratelimit-reset-requests", v);
        }
        return resp;
    }
    match choice {
        RetryHeader::RetryAfter => {
            h.insert("retry-after", HeaderValue::from(r.retry_after()));
        }
        RetryHeader::RetryAfterMs => {
            let ms = r.reset_in.as_nanos().div_ceil(1_000_000).max(1);
            h.insert(
                "retry-after-ms",
                HeaderValue::from(u64::try_from(ms).unwrap_or(u64::MAX)),
            );
        }
        RetryHeader::ResetRequests => {
            if let Some(v) = reset() {
                h.insert("x-ratelimit-reset-requests", v);
            }
        }
    }
    resp
}

/// A chat completion request, checked.
struct Completion {
    /// The text of each user message, in order.
    users: Vec<String>,
    /// Words over every message's text: what the model was given.
    prompt_tokens: u64,
    stream: bool,
    include_usage: bool,
    max_tokens: Option<u64>,
}

/// What goes between two text parts of a message, as vLLM joins them: the parts stay apart
/// (two words, not one), and a rule matches across them with `\s` (`business\s+hours`).
const PART_SEPARATOR: &str = "\n";

/// A message's text: a string, the text parts of a list of parts joined by
/// [`PART_SEPARATOR`] (other parts, an image say, are skipped), or nothing (`null`, as an
/// assistant message with tool calls has).
fn content_text(content: Option<&Value>) -> Result<String, &'static str> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for part in parts {
                match (part.get("type").and_then(Value::as_str), part.get("text")) {
                    (Some("text"), Some(Value::String(t))) => texts.push(t.as_str()),
                    (Some("text"), _) => return Err("a text part needs a string `text`"),
                    (Some(_), _) => {}
                    (None, _) => return Err("each content part needs a `type`"),
                }
            }
            Ok(texts.join(PART_SEPARATOR))
        }
        Some(_) => Err("`content` must be a string or a list of parts"),
    }
}

fn flag(body: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("`{key}` must be a boolean")),
    }
}

impl Completion {
    fn parse(body: &Map<String, Value>) -> Result<Completion, Response> {
        let messages = match body.get("messages") {
            Some(Value::Array(m)) => m,
            None | Some(Value::Null) => {
                return Err(invalid(
                    "Missing required parameter: 'messages'.",
                    Some("messages"),
                ))
            }
            Some(_) => return Err(invalid("'messages' must be an array.", Some("messages"))),
        };
        let mut users = Vec::new();
        let mut prompt_tokens = 0;
        for (i, m) in messages.iter().enumerate() {
            let param = format!("messages[{i}]");
            let Some(role) = m.get("role").and_then(Value::as_str) else {
                return Err(invalid(
                    &format!("{param} needs a string `role`"),
                    Some(&param),
                ));
            };
            let text = content_text(m.get("content"))
                .map_err(|why| invalid(&format!("{param}: {why}"), Some(&param)))?;
            prompt_tokens += count_tokens(&text);
            if role == "user" {
                users.push(text);
            }
        }
        if users.is_empty() {
            return Err(invalid(
                "the mock answers the last user message, and 'messages' has none",
                Some("messages"),
            ));
        }
        let stream = flag(body, "stream").map_err(|m| invalid(&m, Some("stream")))?;
        let include_usage = match body.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(o)) => flag(o, "include_usage")
                .map_err(|m| invalid(&m, Some("stream_options.include_usage")))?,
            Some(_) => {
                return Err(invalid(
                    "'stream_options' must be an object",
                    Some("stream_options"),
                ))
            }
        };
        let max_tokens = ["max_completion_tokens", "max_tokens"]
            .iter()
            .find_map(|k| body.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)))
            .map(|(k, v)| {
                v.as_u64()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| invalid(&format!("'{k}' must be a positive integer"), Some(k)))
            })
            .transpose()?;
        Ok(Completion {
            users,
            prompt_tokens,
            stream,
            include_usage,
            max_tokens,
        })
    }
}

/// The model and the checked request, when the body is one [`body::read`] reads and has
/// nothing to refuse; `None` to read it as a tree ([`head`], [`Completion::parse`]), whose
/// answers (and errors) this never changes.
fn plain(body: &[u8]) -> Option<(String, Completion)> {
    // The body is checked as UTF-8 once, so its strings are not checked again one by one.
    let body = std::str::from_utf8(body).ok()?;
    let mut users = Vec::new();
    let mut prompt_tokens = 0;
    let fields = body::read(body, |role, content| {
        let text = content.unwrap_or(Cow::Borrowed(""));
        prompt_tokens += count_tokens(&text);
        if role == "user" {
            users.push(text.into_owned());
        }
    })?;
    if fields.model.is_empty() || users.is_empty() {
        return None;
    }
    // The first of the two that is set, as `Completion::parse` takes it; zero is refused there.
    let max_tokens = match fields.max_completion_tokens.or(fields.max_tokens) {
        Some(0) => return None,
        n => n,
    };
    let completion = Completion {
        users,
        prompt_tokens,
        stream: fields.stream.unwrap_or(false),
        include_usage: fields.include_usage.unwrap_or(false),
        max_tokens,
    };
    Some((fields.model.into_owned(), completion))
}

/// The body as far as the agent lookup needs it: a JSON object with a string `model`.
fn head(body: &[u8]) -> Result<(Map<String, Value>, String), Response> {
    let value: Value = serde_json::from_slice(body).map_err(|_| {
        invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you \
             aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
            None,
        )
    })?;
    let Value::Object(map) = value else {
        return Err(invalid("The request body must be a JSON object.", None));
    };
    match map.get("model") {
        Some(Value::String(m)) if !m.is_empty() => {
            let model = m.clone();
            Ok((map, model))
        }
        _ => Err(invalid("you must provide a model parameter", Some("model"))),
    }
}

/// `POST /v1/chat/completions` and `/chat/completions`. Checks run in this order: key (401),
/// a JSON object with a `model` (400), the agent (404), rate (429), the rest of the body (400),
/// balance (402), the injected `fail_rate` (500), then the rules. A replay server checks the
/// body (400), then answers from the goldens.
pub(crate) async fn completions(
    AxState(app): AxState<App>,
    Extension(conn): Extension<ConnHandle>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(&headers, body, app.max_body).await {
        Ok(b) => b,
        Err(e) => {
            let (status, text) = e.status_and_text();
            let code = (status == 413).then_some("request_too_large");
            let resp = error(status, &text, "invalid_request_error", None, code);
            return finish(
                &app,
                RequestRecord::new(Api::OpenAi, String::new(), &headers),
                resp,
            );
        }
    };
    let head = match plain(&body) {
        Some((model, completion)) => Ok((Ok(completion), model)),
        // Read whole now and refused in its turn below, so that whatever refuses the request
        // (a key, the model, the rate), the log names the message it carried.
        None => head(&body).map(|(map, model)| (Completion::parse(&map), model)),
    };
    let model = head.as_ref().map(|(_, m)| m.clone()).unwrap_or_default();
    let mut record = RequestRecord::new(Api::OpenAi, model, &headers);
    record.body = Some(body.clone());
    if let Ok((Ok(completion), _)) = &head {
        record.message = completion.users.last().cloned();
    }
    // A replay server is not the agent: goldens record no key, and a suite without one (a
    // local vLLM or Ollama) must replay as it ran, so no key is asked for there (SPEC §7).
    if let Some(replay) = &app.state.replay {
        let resp = match head {
            Ok((Ok(completion), _)) => {
                let ends = Ends {
                    shutdown: app.shutdown.clone(),
                    conn: conn.clone(),
                };
                let identity = replay_identity(&headers);
                replay_completion(replay, &completion, identity, &record, ends)
            }
            Ok((Err(resp), _)) | Err(resp) => resp,
        };
        return finish(&app, record, resp);
    }
    let agent = app.state.agents.get(&record.agent_id);
    let choice = agent.map_or(RetryHeader::RetryAfter, |a| a.def.rate_limit_header);
    let key = match authenticate(&app, bearer(&headers)) {
        Ok(k) => k,
        Err(why) => {
            let rate = agent.and_then(|a| a.rate("", true));
            let resp = error_for(401, why.refusal());
            return finish(&app, record, openai_rate_headers(resp, rate, choice));
        }
    };
    let checked = match head {
        Ok((checked, _)) => checked,
        Err(resp) => return finish(&app, record, resp),
    };
    let Some(agent) = agent else {
        let text = format!(
            "The model `{}` does not exist or you do not have access to it.",
            record.agent_id
        );
        let resp = error(
            404,
            &text,
            "invalid_request_error",
            Some("model"),
            Some("model_not_found"),
        );
        return finish(&app, record, resp);
    };
    let rate = agent.rate(key, false);
    if let Some(r) = rate.filter(|r| !r.allowed) {
        let text = format!(
            "Rate limit reached for requests: limit {} per {}; retry after {}s",
            r.limit,
            crate::util::human_duration(agent.def.rate_limit.map_or(Duration::ZERO, |l| l.window)),
            r.retry_after()
        );
        return finish(
            &app,
            record,
            openai_rate_headers(error_for(429, &text), rate, choice),
        );
    }
    let completion = match checked {
        Ok(c) => c,
        Err(resp) => return finish(&app, record, openai_rate_headers(resp, rate, choice)),
    };
    if let Err(refusal) = engine::admit(agent) {
        let resp = error_for(refusal.status(), refusal.text());
        return finish(&app, record, openai_rate_headers(resp, rate, choice));
    }
    let resp = answer(&app, agent, &conn, &completion, &mut record).await;
    finish(&app, record, openai_rate_headers(resp, rate, choice))
}

/// A replayed completion (SPEC §7 for every kind): the request's user messages are the
/// conversation so far as the client kept it, matched against the goldens of the model's agent
/// id, the golden of the dialogue `identity` names (a conversation under `base_url: replay`)
/// first; the golden's text comes back as asked, whole or streamed (in pieces without
/// pauses: goldens keep no pacing, and a streamed dialogue's `max_first_token` needs a stream
/// to time), or a 404 naming the nearest golden.
fn replay_completion(
    replay: &Replayed,
    completion: &Completion,
    identity: Option<&str>,
    record: &RequestRecord,
    ends: Ends,
) -> Response {
    let said: Vec<&str> = completion.users.iter().map(String::as_str).collect();
    let asked = Asked::agent(&record.agent_id).named(identity);
    match replay.answer_stateless(asked, &said) {
        Answer::Turn { status, agent } if (200..300).contains(&status) => {
            let reply = Reply {
                id: completion_id(),
                created: time::OffsetDateTime::now_utc().unix_timestamp(),
                model: &record.agent_id,
                text: Some(agent),
                finish_reason: "stop",
                usage: Usage {
                    prompt: completion.prompt_tokens,
                    completion: count_tokens(agent),
                },
            };
            if !completion.stream {
                return json_body(status_code(status), reply.whole());
            }
            let payload = Payload::Framed(reply.events(completion.include_usage));
            let pacing = Pacing {
                trickle_interval: Duration::ZERO,
                pace: Default::default(),
            };
            deliver(status_code(status), payload, None, pacing, ends)
        }
        Answer::Turn { status, agent } => error_for(status, agent),
        Answer::NoMatch(text) => error(404, &text, "invalid_request_error", None, None),
    }
}

async fn answer(
    app: &Shared,
    agent: &AgentState,
    conn: &ConnHandle,
    completion: &Completion,
    record: &mut RequestRecord,
) -> Response {
    let def = &agent.def;
    let turn = engine::stateless_turn(agent, &completion.users);
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
    let (status, mut text) = match engine::say(def, &plan, &turn) {
        Said::Error { status, detail } => {
            let (kind, code) = kind_of(status);
            let body =
                json!({"error": {"message": detail, "type": kind, "param": null, "code": code}});
            let payload = Payload::Json {
                bytes: serde_json::to_vec(&body).unwrap_or_default(),
                text: None,
            };
            return deliver(status_code(status), payload, plan.fault, pacing, ends());
        }
        Said::Reply { status, text } => (status, text),
    };
    let mut finish_reason = "stop";
    if let Some(max) = completion.max_tokens {
        if count_tokens(&text) > max {
            let kept: String = pieces(&text).into_iter().take(max as usize).collect();
            text = kept.trim_end().to_string();
            finish_reason = "length";
        }
    }
    // Under `no_response` no word of the reply is sent, so none is counted: a client that
    // reads the usage of such a body must not see words it never got.
    let shown = plan.shown(&text);
    let usage = Usage {
        prompt: completion.prompt_tokens,
        completion: shown.map_or(0, count_tokens),
    };
    agent.spend(usage.prompt + usage.completion);
    let reply = Reply {
        id: completion_id(),
        created: time::OffsetDateTime::now_utc().unix_timestamp(),
        model: &record.agent_id,
        text: shown,
        finish_reason,
        usage,
    };
    let payload = if completion.stream {
        Payload::Framed(reply.events(completion.include_usage))
    } else {
        let bytes = reply.whole();
        Payload::Json {
            bytes,
            text: Some(text),
        }
    };
    deliver(status_code(status), payload, plan.fault, pacing, ends())
}

/// `chatcmpl-` and 24 random letters and digits, as OpenAI names a completion: the low eight
/// base-62 digits of each of three random 64-bit numbers (each digit within a hundred-
/// thousandth of uniform). The numbers come from a small generator per thread, seeded from the
/// thread's secure one: an id has to differ from every other, not to be unguessable, and
/// drawing 24 bytes from the secure generator, whose blocks of ChaCha are refilled every ten
/// ids or so, had cost about 750 instructions an id, more than a fiftieth of a completion.
fn completion_id() -> String {
    use rand::{RngCore, SeedableRng};
    use std::cell::RefCell;
    thread_local! {
        static IDS: RefCell<rand::rngs::SmallRng> =
            RefCell::new(rand::rngs::SmallRng::from_rng(&mut rand::rng()));
    }
    const ALPHANUMERIC: &[u8; 62] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity("chatcmpl-".len() + 24);
    id.push_str("chatcmpl-");
    IDS.with_borrow_mut(|rng| {
        for _ in 0..3 {
            let mut n = rng.next_u64();
            for _ in 0..8 {
                id.push(char::from(ALPHANUMERIC[(n % 62) as usize]));
                n /= 62;
            }
        }
    });
    id
}

/// One completion, ready to be written whole or as chunks.
struct Reply<'a> {
    id: String,
    created: i64,
    model: &'a str,
    /// `None` for the `no_response` fault: the message has no `content`, and streamed, the
    /// role chunk has none either and no piece follows.
    text: Option<&'a str>,
    finish_reason: &'static str,
    usage: Usage,
}

/// The token counts of a completion.
#[derive(Debug, Clone, Copy)]
struct Usage {
    prompt: u64,
    completion: u64,
}

/// Appends `s` as a JSON string, escaped as serde_json escapes every other string the mock
/// writes (a stream writes one a word).
fn json_str(out: &mut Vec<u8>, s: &str) {
    crate::json_text::push_string(out, s);
}

/// Appends a JSON number.
fn json_num(out: &mut Vec<u8>, n: impl Serialize) {
    let _ = serde_json::to_writer(&mut *out, &n);
}

impl Usage {
    /// `{"completion_tokens", "prompt_tokens", "total_tokens"}`.
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"completion_tokens":"#);
        json_num(out, self.completion);
        out.extend_from_slice(br#","prompt_tokens":"#);
        json_num(out, self.prompt);
        out.extend_from_slice(br#","total_tokens":"#);
        json_num(out, self.prompt + self.completion);
        out.push(b'}');
    }
}

/// The JSON the mock sends is written straight from borrowed parts rather than built as a
/// tree (a map per object) or derived structs (each key escaped on every write): a stream
/// sends a chunk per word, and that had made the mock, not the client under test, the cost of
/// a streamed reply. The keys come out in the order (sorted) and the strings escaped as
/// serde_json wrote the tree; the tests hold these writers to that tree.
impl Reply<'_> {
    /// The `chat.completion` object.
    fn whole(&self) -> Vec<u8> {
        let text_len = self.text.map_or(0, str::len);
        let mut out = Vec::with_capacity(256 + self.model.len() + text_len + text_len / 8);
        out.extend_from_slice(br#"{"choices":[{"finish_reason":"#);
        json_str(&mut out, self.finish_reason);
        out.extend_from_slice(br#","index":0,"message":{"#);
        if let Some(t) = self.text {
            out.extend_from_slice(br#""content":"#);
            json_str(&mut out, t);
            out.push(b',');
        }
        out.extend_from_slice(br#""role":"assistant"}}],"created":"#);
        json_num(&mut out, self.created);
        out.extend_from_slice(br#","id":"#);
        json_str(&mut out, &self.id);
        out.extend_from_slice(br#","model":"#);
        json_str(&mut out, self.model);
        out.extend_from_slice(br#","object":"chat.completion","usage":"#);
        self.usage.write(&mut out);
        out.push(b'}');
        out
    }

    /// What follows the `choices` of every chunk: `],"created",...,"object"` and, with
    /// `include_usage`, `"usage":null` (the usage chunk itself writes its counts instead).
    fn chunk_rest(&self, null_usage: bool) -> Vec<u8> {
        let mut rest = Vec::with_capacity(96 + self.model.len());
        rest.extend_from_slice(br#"],"created":"#);
        json_num(&mut rest, self.created);
        rest.extend_from_slice(br#","id":"#);
        json_str(&mut rest, &self.id);
        rest.extend_from_slice(br#","model":"#);
        json_str(&mut rest, self.model);
        rest.extend_from_slice(br#","object":"chat.completion.chunk""#);
        if null_usage {
            rest.extend_from_slice(br#","usage":null"#);
        }
        rest
    }

    /// As OpenAI streams it: a role chunk (with empty content), one chunk per piece of text,
    /// a chunk with `finish_reason`, the usage chunk when asked for, then `[DONE]`. With
    /// `include_usage`, every chunk carries `usage: null` but the last. Without a text
    /// (`no_response`), the role chunk has no `content` either: an empty one would be a text,
    /// the empty reply a model may give, where the fault sends none.
    fn events(&self, include_usage: bool) -> Events {
        let rest = self.chunk_rest(include_usage);
        let text = self.text.unwrap_or("");
        // A piece per counted word (and a piece has at least a byte), each piece a chunk.
        let chunks = (self.usage.completion as usize).min(text.len()) + 4;
        let mut events = Events::with_capacity(chunks * (rest.len() + 64) + 2 * text.len(), chunks);
        let chunk = |events: &mut Events, choice: &dyn Fn(&mut Vec<u8>)| {
            events.push(|out| {
                out.extend_from_slice(br#"{"choices":[{"delta":{"#);
                choice(out);
                out.extend_from_slice(&rest);
                out.push(b'}');
            })
        };
        chunk(&mut events, &|out| {
            if self.text.is_some() {
                out.extend_from_slice(br#""content":"","#);
            }
            out.extend_from_slice(br#""role":"assistant"},"finish_reason":null,"index":0}"#)
        });
        events.end_head();
        // Every piece's event is the same bytes around the piece: those after it are put
        // together once, and the text is asked once whether it needs an escape, not a piece
        // at a time. Written through the one `chunk`, each piece escaped by serde_json, the
        // events had cost a sixth more; with a part copied at a time, a tenth more.
        const LEAD: &[u8] = br#"data: {"choices":[{"delta":{"content":""#;
        let mut after = Vec::with_capacity(rest.len() + 40);
        after.extend_from_slice(br#""},"finish_reason":null,"index":0}"#);
        after.extend_from_slice(&rest);
        after.extend_from_slice(b"}\n\n");
        if json_text::plain(text) {
            for piece in Pieces::of(text) {
                events.push_around(LEAD, piece.as_bytes(), &after);
            }
        } else {
            // The same bytes but the frame and the quotes, which `push` and `json_str` write.
            let lead = &LEAD[b"data: ".len()..LEAD.len() - 1];
            let after = &after[1..after.len() - b"\n\n".len()];
            for piece in Pieces::of(text) {
                events.push(|out| {
                    out.extend_from_slice(lead);
                    json_str(out, piece);
                    out.extend_from_slice(after);
                });
            }
        }
        events.end_pieces();
        chunk(&mut events, &|out| {
            out.extend_from_slice(br#"},"finish_reason":"#);
            json_str(out, self.finish_reason);
            out.extend_from_slice(br#","index":0}"#);
        });
        if include_usage {
            let rest = &rest[..rest.len() - br#","usage":null"#.len()];
            events.push(|out| {
                out.extend_from_slice(br#"{"choices":["#);
                out.extend_from_slice(rest);
                out.extend_from_slice(br#","usage":"#);
                self.usage.write(out);
                out.push(b'}');
            });
        }
        events.push(|out| out.extend_from_slice(b"[DONE]"));
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A completion as the mock first built it, a JSON tree per object, which the writers
    /// must equal byte for byte.
    fn tree_whole(r: &Reply) -> Vec<u8> {
        let mut message = json!({"role": "assistant"});
        if let Some(t) = r.text {
            message["content"] = json!(t);
        }
        let body = json!({
            "id": r.id,
            "object": "chat.completion",
            "created": r.created,
            "model": r.model,
            "choices": [{"index": 0, "message": message, "finish_reason": r.finish_reason}],
            "usage": tree_usage(r.usage),
        });
        serde_json::to_vec(&body).unwrap()
    }

    fn tree_usage(u: Usage) -> Value {
        json!({
            "prompt_tokens": u.prompt,
            "completion_tokens": u.completion,
            "total_tokens": u.prompt + u.completion,
        })
    }

    /// The events of a streamed completion as trees: head, pieces and tail.
    fn tree_events(r: &Reply, include_usage: bool) -> [Vec<String>; 3] {
        let chunk = |choices: Value, usage: Option<Value>| {
            let mut c = json!({"choices": choices, "created": r.created, "id": r.id,
                "model": r.model, "object": "chat.completion.chunk"});
            if let Some(u) = usage {
                c["usage"] = u;
            }
            c.to_string()
        };
        let null = || include_usage.then_some(Value::Null);
        let choice = |delta: Value, finish: Option<&str>| json!([{"delta": delta, "finish_reason": finish, "index": 0}]);
        let role = match r.text {
            Some(_) => json!({"content": "", "role": "assistant"}),
            None => json!({"role": "assistant"}),
        };
        let head = vec![chunk(choice(role, None), null())];
        let pieces = pieces(r.text.unwrap_or(""))
            .into_iter()
            .map(|p| chunk(choice(json!({"content": p}), None), null()))
            .collect();
        let mut tail = vec![chunk(choice(json!({}), Some(r.finish_reason)), null())];
        if include_usage {
            tail.push(chunk(json!([]), Some(tree_usage(r.usage))));
        }
        tail.push("[DONE]".to_string());
        [head, pieces, tail]
    }

    /// Writers and trees agree on every reply: texts made of the characters JSON escapes,
    /// white space of every kind (where pieces split), and multi-byte characters.
    #[test]
    fn the_written_json_is_the_tree_serialized() {
        use proptest::prelude::*;
        let parts: Vec<&str> = vec![
            "a", "Bc", " ", "  ", "\t", "\n", "\r", "\u{b}", "\u{c}", "\u{1}", "\u{1f}", "\u{7f}",
            "\"", "\\", "/", "é", "🎉", "\u{a0}", "\u{85}", "\u{2028}", "\u{3000}", "{", "}",
        ];
        let text = || {
            proptest::collection::vec(proptest::sample::select(parts.clone()), 0..16)
                .prop_map(|ps| ps.concat())
        };
        let reply = (
            "[a-zA-Z0-9]{0,24}",
            any::<i64>(),
            text(),
            proptest::option::of(text()),
            any::<bool>(),
            (0..u32::MAX as u64, 0..u32::MAX as u64),
        );
        proptest!(ProptestConfig::with_cases(3000), |((id, created, model, text, length, (prompt, completion)) in reply, include_usage in any::<bool>())| {
            let r = Reply {
                id,
                created,
                model: &model,
                text: text.as_deref(),
                finish_reason: if length { "length" } else { "stop" },
                usage: Usage { prompt, completion },
            };
            prop_assert_eq!(String::from_utf8(r.whole()).unwrap(), String::from_utf8(tree_whole(&r)).unwrap());
            let events = r.events(include_usage);
            prop_assert_eq!(events.parts(), tree_events(&r, include_usage));
        });
    }

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        assert_eq!(go_duration(ms(0)), "0s");
        assert_eq!(go_duration(Duration::from_micros(16_200)), "17ms");
        assert_eq!(go_duration(ms(1000)), "1s");
        assert_eq!(go_duration(ms(1500)), "1.5s");
        assert_eq!(go_duration(ms(360_000)), "6m0s");
        assert_eq!(go_duration(ms(90_250)), "1m30.25s");
        assert_eq!(go_duration(ms(3_600_000)), "1h0m0s");
    }

    /// A completion's id is OpenAI's shape, and no two alike.
    #[test]
    fn completion_ids_are_alphanumeric_and_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| completion_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let rest = id.strip_prefix("chatcmpl-").expect(id);
            assert_eq!(rest.len(), 24, "{id}");
            assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
        }
        // Every letter and digit turns up: none of the 62 is left out by the digits.
        let seen: std::collections::HashSet<u8> =
            ids.iter().flat_map(|id| id.bytes().skip(9)).collect();
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn content_forms() {
        assert_eq!(content_text(Some(&json!("hi"))).unwrap(), "hi");
        assert_eq!(content_text(None).unwrap(), "");
        let parts = json!([{"type": "text", "text": "a"}, {"type": "image_url"}, {"type": "text", "text": "b"}]);
        assert_eq!(content_text(Some(&parts)).unwrap(), "a\nb");
        assert!(content_text(Some(&json!(3))).is_err());
    }

    /// What the tree reading says of a body: the model, then the checked request or `None`
    /// for a refusal, as comparable text.
    fn by_tree(body: &[u8]) -> Option<(String, Option<String>)> {
        let (map, model) = head(body).ok()?;
        let c = Completion::parse(&map).ok();
        Some((model, c.map(|c| shown(&c))))
    }

    fn shown(c: &Completion) -> String {
        format!(
            "{:?} {} {} {} {:?}",
            c.users, c.prompt_tokens, c.stream, c.include_usage, c.max_tokens
        )
    }

    #[test]
    fn the_plain_reading_says_what_the_tree_says_or_steps_aside() {
        let bodies = [
            r#"{"model": "m", "messages": [{"role": "user", "content": "hi there"}]}"#,
            r#" {"model":"m","messages":[{"role":"system","content":"be \"brief\"\n"},{"role":"user","content":"a é \u00e9"},{"role":"assistant","content":null},{"role":"user","content":"b","name":"x"}],"stream":true,"stream_options":{"include_usage":true},"temperature":0.2}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true, "other": 1}}"#,
            r#"{"model": "m", "messages": [{"role": "user"}], "stream": null, "stream_options": null}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": null, "max_tokens": 3}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_completion_tokens": 2, "max_tokens": 0}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": [true]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true, "include_usage": false}}"#,
            r#"{"model": "m", "model": "n", "messages": [{"role": "user", "content": "x"}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x", "content": "y"}]}"#,
            r#"{"model": "m", "messages": [["user", "x"]]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]}"#,
            r#"{"model": "m", "messages": [{"role": 1, "content": "x"}]}"#,
            r#"{"model": "m", "messages": [{"role": "system", "content": "x"}]}"#,
            r#"{"model": "", "messages": [{"role": "user", "content": "x"}]}"#,
            r#"{"model": "m"}"#,
            r#"["m", [{"role": "user", "content": "x"}], null, null, null, null]"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}]} trailing"#,
            // Values the tree refuses, in fields the plain reading does not keep.
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "foo": "\ud800"}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "t": 1e400}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x", "name": "\udc00x"}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x", "n": [{"a": -1e999}]}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "ok": [1, {"b": null}]}"#,
            // Escapes where the plain reading reads in place: it steps aside.
            r#"{"mod\u0065l": "m", "messages": [{"role": "us\u0065r", "content": "x"}]}"#,
            r#"{"model": "m", "messages": [{"role": "us\u0065r", "cont\u0065nt": "x"}]}"#,
        ];
        let raw = b"{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"x\": \"\xff\"}";
        let mut plain_read = 0;
        for body in bodies.iter().map(|b| b.as_bytes()).chain([&raw[..]]) {
            let tree = by_tree(body);
            let shown_body = String::from_utf8_lossy(body);
            // Stepping aside (`None`) is always right: the tree reads the body then.
            if let Some((model, c)) = plain(body) {
                plain_read += 1;
                assert_eq!(tree, Some((model, Some(shown(&c)))), "{shown_body}");
            }
        }
        assert_eq!(plain_read, 8, "the common bodies take the plain road");
    }

    /// The plain reading of `body` is the tree's, or steps aside; whether it read it.
    fn agrees(body: &[u8]) -> bool {
        let Some((model, c)) = plain(body) else {
            return false;
        };
        let shown_body = String::from_utf8_lossy(body);
        assert_eq!(
            by_tree(body),
            Some((model, Some(shown(&c)))),
            "{shown_body}"
        );
        true
    }

    /// The corners of JSON the one-pass reading meets: whitespace anywhere, escapes in the
    /// strings it keeps, numbers JSON writes otherwise, words cut short, bytes after the
    /// object. Each is read as the tree reads it, or stepped aside from.
    #[test]
    fn the_plain_reading_knows_the_corners_of_json() {
        let read = [
            " \t\r\n{ \"model\" : \"m\" ,\n \"messages\" : [ { \"role\" : \"user\" , \"content\" : \"x\" } ] } \n",
            r#"{"model": "m\u00e9\n", "messages": [{"role": "user", "content": "tab\there \ud83d\ude00 \"q\" \\"}]}"#,
            r#"{"model": "m", "messages": [{"content": "first", "role": "user"}], "max_tokens": 18446744073709551615}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": {"a": [1, -2.5e3, "s\"]", {}], "b": "}"}, "y": []}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x", "extra": {"k": [null, true]}}], "stream": false}"#,
            r#"{"messages": [{"role": "user", "content": "0123456789abcdef"}], "model": "m", "temperature": 0, "n": 1}"#,
        ];
        let refused_or_aside = [
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 18446744073709551616}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 01}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 1e3}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 7x}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": tru}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": truex}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}],}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"},]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}] "stream": true}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}]}}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": [1, 2}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": 1 2}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x\q"}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x\ud800"}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "x": "\"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": "x"}"#,
            r#"{"model": null, "messages": [{"role": "user", "content": "x"}]}"#,
            r#"{"model": "m", "messages": null}"#,
            r#"{"model": "m", "messages": [{"role": "user", "content": 3}]}"#,
            r#"{"model": "m", "messages": [{"role": "user", "role": "user", "content": "x"}]}"#,
            r#"{"model": "m", "messages": [], "stream": true}"#,
            "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"a\u{1}b\"}]}",
            "\u{feff}{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
        ];
        for body in read {
            assert!(agrees(body.as_bytes()), "read by the plain road: {body}");
        }
        for body in refused_or_aside {
            agrees(body.as_bytes());
        }
    }

    /// With its `raw_value` feature (which axum turns on), serde_json's tree reads an object
    /// whose first key is its raw value token as the JSON text in that key's string, and
    /// refuses one with another member after it: the plain reading steps aside at the token
    /// wherever it stands, however it is spelled, and the tree decides. (An outside review
    /// found each of these read otherwise: the stream options' usage flag lost, or a body
    /// the tree refuses answered.)
    #[test]
    fn serde_jsons_raw_value_token_is_left_to_the_tree() {
        let bodies = [
            r#"{"$serde_json::private::RawValue":"1","model":"m","messages":[{"role":"user","content":"x"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"$serde_json::private::RawValue":"{\"include_usage\":true}"}}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"x":{"$serde_json::private::RawValue":"nope"}}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"x":[{"$serde_json::private::RawValu\u0065":5}]}"#,
            r#"{"model":"m","messages":[{"$serde_json::private::RawValue":"{}","role":"user","content":"x"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"x"}],"x":{"a":1,"$serde_json::private::RawValue":"2"}}"#,
        ];
        for body in bodies {
            assert!(!agrees(body.as_bytes()), "the plain road read {body}");
        }
        // The one the tree takes is answered as the tree reads it: usage streamed.
        let (map, _) = head(bodies[1].as_bytes()).expect("the tree reads it");
        let c = Completion::parse(&map).expect("a completion request");
        assert!(c.stream && c.include_usage);
    }

    /// serde_json refuses a body whose arrays and objects lie more than 127 deep; a value the
    /// plain reading does not keep is held to the room the tree has left where it lies, in
    /// the body, in `stream_options` and in a message.
    #[test]
    fn a_value_nested_as_deep_as_the_tree_allows_is_read_and_no_deeper() {
        let message = |extra: &str| {
            format!(r#"{{"model": "m", "messages": [{{"role": "user", "content": "x"{extra}}}]}}"#)
        };
        for depth in 120..=130 {
            let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let bodies = [
                format!(
                    r#"{{"model": "m", "messages": [{{"role": "user", "content": "x"}}], "x": {nested}}}"#
                ),
                format!(
                    r#"{{"model": "m", "messages": [{{"role": "user", "content": "x"}}], "stream_options": {{"x": {nested}}}}}"#
                ),
                message(&format!(r#", "x": {nested}"#)),
            ];
            for body in bodies {
                let tree_reads = by_tree(body.as_bytes()).is_some_and(|(_, c)| c.is_some());
                assert_eq!(agrees(body.as_bytes()), tree_reads, "depth {depth}: {body}");
            }
        }
    }

    /// Bodies put together from the pieces a request is made of, right and wrong, and each
    /// with a byte changed: the plain reading says what the tree says of every one it reads.
    #[test]
    fn the_plain_reading_agrees_with_the_tree_on_generated_bodies() {
        use proptest::prelude::*;
        let string = prop::sample::select(vec![
            r#""user""#,
            r#""assistant""#,
            r#""system""#,
            r#""a b c""#,
            r#""""#,
            r#""\n\"é""#,
            r#""\u0075ser""#,
            r#""\ud800""#,
            "\"\u{1}\"",
            r#""é€😀 twelve bytes""#,
        ]);
        let scalar = prop::sample::select(vec![
            "null",
            "true",
            "false",
            "0",
            "7",
            "-1",
            "1.5",
            "1e400",
            "01",
            "18446744073709551616",
            "[]",
            "{}",
            r#"[1, {"a": "]"}]"#,
            r#"{"k": [null]}"#,
            "[1,]",
            "nul",
        ]);
        let value = prop_oneof![string.clone(), scalar];
        let key = prop::sample::select(vec![
            "model",
            "messages",
            "stream",
            "stream_options",
            "max_tokens",
            "max_completion_tokens",
            "temperature",
            "role",
            "content",
            "include_usage",
            "mod\\u0065l",
        ]);
        // Mostly what a client sends, sometimes anything.
        let role = prop_oneof![3 => Just(r#""user""#), 1 => string.clone()];
        let content = prop_oneof![4 => string.clone(), 1 => value.clone()];
        let message = (
            prop::option::weighted(0.9, role),
            prop::option::weighted(0.9, content),
            prop::option::weighted(0.2, (key.clone(), value.clone())),
            any::<bool>(),
        )
            .prop_map(|(role, content, extra, swap)| {
                let mut members = Vec::new();
                members.extend(role.map(|r| format!(r#""role": {r}"#)));
                members.extend(content.map(|c| format!(r#""content": {c}"#)));
                members.extend(extra.map(|(k, v)| format!(r#""{k}": {v}"#)));
                if swap {
                    members.reverse();
                }
                format!("{{{}}}", members.join(", "))
            });
        let member = prop_oneof![
            1 => string.clone().prop_map(|m| format!(r#""model": {m}"#)),
            2 => value.clone().prop_map(|v| format!(r#""stream_options": {{"include_usage": {v}}}"#)),
            6 => (key, value).prop_map(|(k, v)| format!(r#""{k}": {v}"#)),
        ];
        let body = (
            prop::collection::vec(message, 0..5),
            prop::collection::vec(member, 0..4),
            any::<bool>(),
        )
            .prop_map(|(messages, members, spaced)| {
                let sep = if spaced { " ,\n " } else { "," };
                let mut all = vec![
                    r#""model": "m""#.to_string(),
                    format!(r#""messages": [{}]"#, messages.join(sep)),
                ];
                all.extend(members);
                format!("{{{}}}", all.join(sep))
            });
        let read = std::cell::Cell::new(0);
        proptest!(ProptestConfig::with_cases(3000), |(body in body, at in any::<prop::sample::Index>(), byte in any::<u8>())| {
            read.set(read.get() + usize::from(agrees(body.as_bytes())));
            let mut changed = body.into_bytes();
            let i = at.index(changed.len());
            changed[i] = byte;
            agrees(&changed);
        });
        let read = read.get();
        assert!(
            read > 100,
            "only {read} generated bodies took the plain road"
        );
    }

    #[test]
    fn history_comes_from_the_request() {
        let body = json!({"model": "m", "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one two"},
            {"role": "assistant", "content": "three"},
            {"role": "user", "content": "four"},
        ]});
        let c = Completion::parse(body.as_object().unwrap()).ok().unwrap();
        assert_eq!(c.users, ["one two", "four"]);
        assert_eq!(c.prompt_tokens, 6);
        assert!(!c.stream);
        let none = json!({"model": "m", "messages": [{"role": "system", "content": "x"}]});
        assert!(Completion::parse(none.as_object().unwrap()).is_err());
    }

    /// Without a text (`no_response`), a stream says none: its role chunk has no `content`,
    /// no piece follows, and the finish chunk, the usage chunk and `[DONE]` come as ever.
    #[test]
    fn a_reply_without_text_streams_a_role_chunk_without_content() {
        let r = Reply {
            id: "chatcmpl-x".to_string(),
            created: 1,
            model: "ag",
            text: None,
            finish_reason: "stop",
            usage: Usage {
                prompt: 1,
                completion: 0,
            },
        };
        let [head, pieces, tail] = r.events(true).parts();
        assert_eq!(
            head,
            [
                r#"{"choices":[{"delta":{"role":"assistant"},"finish_reason":null,"index":0}],"created":1,"id":"chatcmpl-x","model":"ag","object":"chat.completion.chunk","usage":null}"#
            ]
        );
        assert!(pieces.is_empty(), "{pieces:?}");
        assert_eq!(tail.len(), 3, "{tail:?}");
        assert!(tail.iter().all(|e| !e.contains("content")), "{tail:?}");
        assert_eq!(tail[2], "[DONE]");
        // And with a text, even an empty one, the role chunk's content is `""`.
        let r = Reply {
            text: Some(""),
            ..r
        };
        let [head, pieces, _] = r.events(false).parts();
        assert!(head[0].starts_with(r#"{"choices":[{"delta":{"content":"","role":"assistant"}"#));
        assert!(pieces.is_empty());
    }
}
