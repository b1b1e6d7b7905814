//! The mock's HTTP surface: the chat and api-key endpoints of SPEC §2, the `/_mock/*`
//! introspection endpoints, and the fault modes, served by axum over a listener whose
//! connections a handler can drop on purpose (the `close` fault).
//!
//! The chat handler is the hot path of load tests: compiled regexes, one short lock per
//! request, JSON written straight from borrowed strings. It never logs or echoes an api key.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, State as AxState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::replay::{Answer, Replay};
use super::script::{Fault, Rule, Shape};
use super::state::{bit, AgentState, RateVerdict, RequestRecord, State};

/// What every handler shares.
pub(crate) struct Shared {
    pub state: State,
    /// Flips to `true` once when the server stops; `hang` and `trickle` watch it so that a
    /// graceful shutdown is not held up by a connection the mock itself is stalling.
    pub shutdown: watch::Receiver<bool>,
}

type App = Arc<Shared>;

pub(crate) fn router(shared: App) -> Router {
    Router::new()
        .route("/v1/agents/{agent_id}/chat", post(chat))
        .route("/agents/{agent_id}/api-keys", post(create_key))
        .route("/_mock/requests", get(requests))
        .route("/_mock/sessions", get(sessions))
        .fallback(|| async { detail(StatusCode::NOT_FOUND, "Not Found") })
        .method_not_allowed_fallback(|| async {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------------
// Responses.

fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn detail(status: StatusCode, text: &str) -> Response {
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
fn validation(loc: serde_json::Value, msg: &str, kind: &str) -> Response {
    json_body(
        StatusCode::UNPROCESSABLE_ENTITY,
        serde_json::to_vec(&json!({"detail": [{"loc": loc, "msg": msg, "type": kind}]}))
            .unwrap_or_default(),
    )
}

fn status_code(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn with_rate_headers(mut resp: Response, rate: Option<RateVerdict>) -> Response {
    if let Some(r) = rate {
        let h = resp.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(r.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(r.remaining));
        h.insert("x-ratelimit-reset", HeaderValue::from(r.reset_epoch()));
        if !r.allowed {
            h.insert(header::RETRY_AFTER, HeaderValue::from(r.retry_after()));
        }
    }
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

/// Tokens are counted as whitespace-separated words: the input is the user's message alone,
/// the output is the reply. Deterministic, so budgets and `max_tokens` tests are exact.
pub fn count_tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

// ---------------------------------------------------------------------------------------------
// Requests.

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

enum Auth<'a> {
    Missing,
    Malformed,
    Key(&'a str),
}

fn bearer(headers: &HeaderMap) -> Auth<'_> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Auth::Missing;
    };
    let Ok(value) = value.to_str() else {
        return Auth::Malformed;
    };
    let Some((scheme, key)) = value.trim().split_once(' ') else {
        return Auth::Malformed;
    };
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || key.is_empty() || key.contains(char::is_whitespace)
    {
        return Auth::Malformed;
    }
    Auth::Key(key)
}

fn unauthorized(auth: &Auth<'_>) -> Response {
    let text = match auth {
        Auth::Missing => "Missing API key: send `Authorization: Bearer <api key>`",
        Auth::Malformed => "Malformed Authorization header: expected `Bearer <api key>`",
        Auth::Key(_) => "Invalid API key",
    };
    let mut resp = detail(StatusCode::UNAUTHORIZED, text);
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Checks the key; `Err` says why it is refused (a 401).
fn authenticate<'h>(app: &Shared, headers: &'h HeaderMap) -> Result<&'h str, Auth<'h>> {
    match bearer(headers) {
        Auth::Key(k) if app.state.key_accepted(k) => Ok(k),
        other => Err(other),
    }
}

/// `POST /v1/agents/{agent_id}/chat`. Checks run in this order: key (401), agent (404), rate
/// (429), body (422), balance (402), then the injected `fail_rate` (500) and the rules.
async fn chat(
    AxState(app): AxState<App>,
    Path(agent_id): Path<String>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let parsed = parse_chat_body(&body);
    let mut record = RequestRecord {
        agent_id,
        session_id: parsed.session_id.clone(),
        message: parsed.message.clone(),
        status: None,
        fault: None,
    };
    let agent = app.state.agents.get(&record.agent_id);
    let key = match authenticate(&app, &headers) {
        Ok(k) => k,
        Err(why) => {
            let rate = agent.and_then(|a| a.rate("", true));
            return finish(&app, record, with_rate_headers(unauthorized(&why), rate));
        }
    };
    if let Some(replay) = &app.state.replay {
        let resp = match parsed.invalid {
            Some(resp) => resp,
            None => replay_answer(
                replay,
                parsed.session_id,
                &record.agent_id,
                parsed.message.unwrap_or_default(),
            ),
        };
        return finish(&app, record, resp);
    }
    let Some(agent) = agent else {
        let text = format!("Agent not found: {}", record.agent_id);
        return finish(&app, record, detail(StatusCode::NOT_FOUND, &text));
    };
    let rate = agent.rate(key, false);
    if let Some(r) = rate.filter(|r| !r.allowed) {
        let text = format!(
            "Rate limit exceeded: {} requests per {}; retry after {}s",
            r.limit,
            crate::util::human_duration(agent.def.rate_limit.map_or(Duration::ZERO, |l| l.window)),
            r.retry_after()
        );
        let resp = detail(StatusCode::TOO_MANY_REQUESTS, &text);
        return finish(&app, record, with_rate_headers(resp, rate));
    }
    if let Some(resp) = parsed.invalid {
        return finish(&app, record, with_rate_headers(resp, rate));
    }
    if agent.balance_spent() {
        let resp = detail(
            StatusCode::PAYMENT_REQUIRED,
            "Insufficient balance: this agent's token balance is spent",
        );
        return finish(&app, record, with_rate_headers(resp, rate));
    }
    if agent.def.fail_rate > 0.0 {
        let n = agent.seq.fetch_add(1, Ordering::Relaxed);
        if super::unit_draw(agent.def.seed, &[&n.to_le_bytes()]) < agent.def.fail_rate {
            let resp = detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Agent execution error (injected by the mock's fail_rate)",
            );
            return finish(&app, record, with_rate_headers(resp, rate));
        }
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
    finish(&app, record, with_rate_headers(resp, rate))
}

/// A replayed turn: the golden's status and text, in the `usage` shape (goldens record no
/// shape), or a 404 naming the nearest golden.
fn replay_answer(
    replay: &Replay,
    session_id: Option<String>,
    agent_id: &str,
    message: String,
) -> Response {
    let session_id = session_id.unwrap_or_else(super::state::new_session_id);
    match replay.answer(&session_id, agent_id, &message) {
        Answer::Turn { status, agent } if (200..300).contains(&status) => {
            let input_tokens = count_tokens(&message);
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

fn finish(app: &Shared, mut record: RequestRecord, resp: Response) -> Response {
    match record.fault {
        // Logged before it started hanging, so tests can see it while it hangs.
        Some(f) if f == Fault::Hang.as_str() => {}
        Some(f) if f == Fault::Close.as_str() => app.state.log(record),
        _ => {
            record.status = Some(resp.status().as_u16());
            app.state.log(record);
        }
    }
    resp
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
    let mut matched = vec![0u64; def.afters.len().div_ceil(64)];
    for (i, re) in def.afters.iter().enumerate() {
        if re.is_match(message) {
            matched[i / 64] |= 1 << (i % 64);
        }
    }
    let step = agent.step(session_id, message, &matched);
    let rule = def.rules.iter().enumerate().find(|(_, r)| {
        r.after.is_none_or(|i| bit(&step.earned, i))
            && r.when.as_ref().is_none_or(|w| w.is_match(message))
    });
    let fault = rule.and_then(|(_, r)| r.fault).or(def.fault);
    let latency = rule.and_then(|(_, r)| r.latency).unwrap_or(def.latency);
    let mut shutdown = app.shutdown.clone();
    if !latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(latency) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    }
    record.fault = fault.map(Fault::as_str);
    match fault {
        Some(Fault::Close) => {
            conn.kill();
            return detail(StatusCode::INTERNAL_SERVER_ERROR, "connection dropped");
        }
        Some(Fault::Hang) => {
            app.state.log(record.clone());
            let _ = shutdown.wait_for(|stop| *stop).await;
            conn.kill();
            return detail(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
        }
        Some(Fault::NonJson) => {
            let mut resp = Response::new(Body::from(
                "<html><body><h1>Service temporarily unavailable</h1></body></html>\n",
            ));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return resp;
        }
        _ => {}
    }
    if let Some((_, r)) = rule.filter(|(_, r)| r.is_error()) {
        let text = r
            .detail
            .as_deref()
            .unwrap_or_else(|| default_detail(r.status));
        return detail(status_code(r.status), text);
    }
    let reply = render_reply(def, rule, message, &step);
    let input_tokens = count_tokens(message);
    let output_tokens = count_tokens(&reply);
    let total = input_tokens + output_tokens;
    agent.spend(total);
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let response = (fault != Some(Fault::NoResponse)).then_some(reply.as_str());
    let body = match def.shape {
        Shape::Usage => ChatReply {
            success: None,
            response,
            session_id: &step.session_id,
            usage: Some(Usage {
                input_tokens,
                output_tokens,
                total_tokens: total,
            }),
            metadata: None,
            tokens_used: None,
        },
        Shape::Metadata => ChatReply {
            success: Some(true),
            response,
            session_id: &step.session_id,
            usage: None,
            metadata: Some(Meta {
                model: &def.model,
                latency_ms,
            }),
            tokens_used: None,
        },
        Shape::TokensUsed => ChatReply {
            success: None,
            response,
            session_id: &step.session_id,
            usage: None,
            metadata: None,
            tokens_used: Some(total),
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    let status = rule.map_or(StatusCode::OK, |(_, r)| status_code(r.status));
    if fault == Some(Fault::Trickle) {
        let every = rule
            .and_then(|(_, r)| r.trickle_interval)
            .unwrap_or(def.trickle_interval);
        let mut resp = json_body(status, Vec::new());
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        *resp.body_mut() = Body::from_stream(trickle(bytes, every, shutdown));
        return resp;
    }
    json_body(status, bytes)
}

fn render_reply(
    def: &super::script::Agent,
    rule: Option<(usize, &Rule)>,
    message: &str,
    step: &super::state::Step,
) -> String {
    let Some((index, rule)) = rule else {
        return def.fallback.render(message, step.turn, None);
    };
    let template = match rule.replies.len() {
        0 => return def.fallback.render(message, step.turn, None),
        1 => &rule.replies[0],
        n => {
            // A paraphrase is a pure function of (seed, the session's opening message, which
            // session with that opening it is, turn, rule). Not of the session id: clients
            // make random ids, and a seeded test must see the same paraphrases on every run.
            // Repeats of one dialogue run one after another, so their numbering is stable
            // whatever else runs concurrently.
            let draw = super::unit_draw(
                def.seed,
                &[
                    &step.opening.to_le_bytes(),
                    &step.ordinal.to_le_bytes(),
                    &step.turn.to_le_bytes(),
                    &(index as u64).to_le_bytes(),
                ],
            );
            &rule.replies[((draw * n as f64) as usize).min(n - 1)]
        }
    };
    let caps = if rule.needs_captures {
        rule.when.as_ref().and_then(|w| w.captures(message))
    } else {
        None
    };
    template.render(message, step.turn, caps.as_ref())
}

fn default_detail(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Invalid API key",
        402 => "Insufficient balance",
        403 => "Forbidden",
        404 => "Not found",
        422 => "Invalid request body",
        429 => "Rate limit exceeded",
        500 => "Agent execution error",
        502 => "Bad gateway",
        503 => "Service unavailable",
        504 => "Gateway timeout",
        _ => "Error",
    }
}

/// The body one byte at a time; cut short (an error, so the client sees a broken body rather
/// than a short valid one) when the server stops.
fn trickle(
    bytes: Vec<u8>,
    every: Duration,
    shutdown: watch::Receiver<bool>,
) -> impl futures::Stream<Item = Result<Bytes, io::Error>> + Send {
    futures::stream::unfold(
        (bytes, 0usize, shutdown),
        move |(bytes, i, mut shutdown)| async move {
            if i >= bytes.len() {
                return None;
            }
            if i > 0 {
                let stopped = tokio::select! {
                    _ = tokio::time::sleep(every) => false,
                    _ = shutdown.wait_for(|stop| *stop) => true,
                };
                if stopped {
                    let err = io::Error::new(io::ErrorKind::Interrupted, "mock stopped");
                    return Some((Err(err), (bytes, usize::MAX, shutdown)));
                }
            }
            let chunk = Bytes::copy_from_slice(&bytes[i..i + 1]);
            Some((Ok(chunk), (bytes, i + 1, shutdown)))
        },
    )
}

/// `POST /agents/{agent_id}/api-keys`: mint a key that works for chat from now on.
async fn create_key(
    AxState(app): AxState<App>,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(why) = authenticate(&app, &headers) {
        return unauthorized(&why);
    }
    if app.state.replay.is_none() && !app.state.agents.contains_key(&agent_id) {
        return detail(
            StatusCode::NOT_FOUND,
            &format!("Agent not found: {agent_id}"),
        );
    }
    #[derive(serde::Deserialize)]
    struct Raw {
        name: Option<serde_json::Value>,
    }
    let name = match serde_json::from_slice::<Raw>(&body) {
        Ok(Raw {
            name: Some(serde_json::Value::String(name)),
        }) => name,
        Ok(Raw { name: None })
        | Ok(Raw {
            name: Some(serde_json::Value::Null),
        }) => return validation(json!(["body", "name"]), "Field required", "missing"),
        Ok(_) => {
            return validation(
                json!(["body", "name"]),
                "Input should be a valid string",
                "string_type",
            )
        }
        Err(_) => return validation(json!(["body", 0]), "JSON decode error", "json_invalid"),
    };
    use rand::distr::{Alphanumeric, SampleString};
    let mut rng = rand::rng();
    let api_key = format!("ak_{}", Alphanumeric.sample_string(&mut rng, 32));
    let id = format!("key_{}", Alphanumeric.sample_string(&mut rng, 12));
    let preview = format!("{}...{}", &api_key[..7], &api_key[api_key.len() - 4..]);
    let created_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    app.state.add_key(api_key.clone());
    app.state.api_keys_created.fetch_add(1, Ordering::Relaxed);
    let body = json!({
        "id": id,
        "name": name,
        "api_key": api_key,
        "key_preview": preview,
        "created_at": created_at,
    });
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

/// `GET /_mock/requests`: every chat request in the order answered, without keys.
async fn requests(AxState(app): AxState<App>) -> Response {
    let (total, chat) = app.state.requests();
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&json!({"total": total, "chat": chat})).unwrap_or_default(),
    )
}

/// `GET /_mock/sessions`: each session id and its messages.
async fn sessions(AxState(app): AxState<App>) -> Response {
    json_body(
        StatusCode::OK,
        serde_json::to_vec(&app.state.sessions()).unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------------------------
// A listener whose connections a handler can drop: hyper offers no way to close a connection
// without answering, so the `close` fault makes the socket itself fail its next write.

pub(crate) struct KillableListener(pub TcpListener);

/// Given to handlers (as connect info) to drop their own connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    killed: Arc<AtomicBool>,
}

impl ConnHandle {
    fn kill(&self) {
        self.killed.store(true, Ordering::Release);
    }
}

pub(crate) struct KillableStream {
    inner: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.load(Ordering::Acquire) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "dropped by the mock's close fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    // Small JSON replies on keep-alive connections: Nagle would add
                    // delayed-ACK stalls to every one.
                    let _ = stream.set_nodelay(true);
                    let killed = Arc::new(AtomicBool::new(false));
                    let handle = ConnHandle {
                        killed: killed.clone(),
                    };
                    return (
                        KillableStream {
                            inner: stream,
                            killed,
                        },
                        handle,
                    );
                }
                // Out of file descriptors and the like: wait rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        // axum asks only for logging; a fresh handle stands for "this listener".
        self.0.local_addr().map(|_| ConnHandle {
            killed: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<axum::serve::IncomingStream<'_, KillableListener>> for ConnHandle {
    fn connect_info(stream: axum::serve::IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// The bound address, for `listening on` and [`super::MockServer::addr`].
pub(crate) fn local_addr(l: &KillableListener) -> io::Result<SocketAddr> {
    l.0.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_words() {
        assert_eq!(count_tokens("  What are  your hours? "), 4);
        assert_eq!(count_tokens(""), 0);
    }

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

    #[test]
    fn bearer_forms() {
        let mut h = HeaderMap::new();
        assert!(matches!(bearer(&h), Auth::Missing));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Token x"));
        assert!(matches!(bearer(&h), Auth::Malformed));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert!(matches!(bearer(&h), Auth::Malformed));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer k1"));
        assert!(matches!(bearer(&h), Auth::Key("k1")));
    }
}
