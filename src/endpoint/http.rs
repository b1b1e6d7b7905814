//! Any JSON-over-HTTP agent (SPEC §8.2): a method, a path template, a JSON body template whose
//! strings are templates (`{{message}}`, `{{session_id}}`, `{{turn}}`, `{{history}}`, the vars
//! and captures), the key as a Bearer token or under a header of the suite's choosing, and JSON
//! Pointers that say where the reply's text, session id, token counts and error detail are.
//! `stream: sse` reads server-sent events whose data the `text` pointer points into.
//!
//! Under `base_url: replay` the suite's own wire shape is set aside for the replay server's
//! generic API (`POST /http/{id}/chat`, SPEC §7): replay answers a transcript from the goldens,
//! and a user's body template and pointers say nothing it could read or fill offline.
//!
//! Templates and pointers were checked when the suite was loaded; here they are only applied.
//! A capture that no turn has taken yet is empty, as `{{session_id}}` is before the server
//! returned one: a template is sent on every turn, the first included, and `{{name}}` must
//! never go out as written (SPEC §8.3).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

use super::sse::{self, Piece};
use super::transport::{self, preview, truncate, Auth, Client, Target, Transport};
use super::{session, Conversation, Endpoint, Message};
use crate::record::{AgentReply, Reply, ReplyBody, SendError, Timing, Usage};
use crate::suite::model::{self, slug, BaseUrl, HttpSpec, Pointers, SessionMode};
use crate::suite::template::{expand_template, references, whole_reference};

#[derive(Debug)]
pub struct Http {
    transport: Transport,
    base: String,
    method: reqwest::Method,
    spec: HttpSpec,
    /// Every name the path and body templates use, so one not captured yet can be emptied.
    names: Vec<String>,
    /// Under replay: each conversation names its dialogue in the replay server's path.
    replayed: bool,
}

impl Http {
    pub fn new(
        http: Client,
        base_url: &str,
        endpoint: &model::Endpoint,
        spec: &HttpSpec,
    ) -> Result<Self, String> {
        let auth = match &spec.auth_header {
            Some(name) => Auth::Header(name),
            None => Auth::Bearer,
        };
        let transport = Transport::new(http, endpoint, auth)?;
        let replayed;
        let spec = if endpoint.base_url == BaseUrl::Replay {
            replayed = replay_spec(spec);
            &replayed
        } else {
            spec
        };
        let method = reqwest::Method::from_bytes(spec.method.as_bytes())
            .map_err(|_| format!("`{}` is not an HTTP method", spec.method))?;
        // The URL is checked now, with the template's names left in, so a bad base fails once.
        // It is kept as written: without a `path:` it is the whole URL (see `url`).
        let trimmed = base_url.trim_end_matches('/');
        reqwest::Url::parse(&format!("{trimmed}/"))
            .map_err(|e| format!("`{trimmed}` is not a valid URL: {e}"))?;
        Ok(Http {
            transport,
            base: base_url.to_string(),
            method,
            names: template_names(spec),
            spec: spec.clone(),
            replayed: endpoint.base_url == BaseUrl::Replay,
        })
    }
}

/// The agent id in the replayed spec's path; each conversation replaces it with its
/// dialogue's [`slug`] (its golden's name), as the kind names no agent.
const REPLAY_AGENT: &str = "http";

/// What an http endpoint sends under `base_url: replay`: the replay server's generic API, the
/// message and the session (the server's, or the fresh one of the dialogue), asking for a
/// stream when the suite's endpoint streams. Without `history`, replay follows the session, so
/// a turn that failed as recorded still counts as said, as it does in the golden. The key, its
/// header and the suite's headers are kept: replay does not check them, and redaction sees the
/// same secrets as in a live run.
fn replay_spec(spec: &HttpSpec) -> HttpSpec {
    let r = &spec.response;
    let mut body = serde_json::json!({"input": "{{message}}", "session": "{{session_id}}"});
    if spec.stream {
        body["stream"] = Value::Bool(true);
    }
    HttpSpec {
        method: "POST".into(),
        path: format!("/http/{REPLAY_AGENT}/chat"),
        body: Some(body),
        auth_header: spec.auth_header.clone(),
        // Only what the suite's own pointers read: a token count or an error detail the live
        // endpoint does not give must not appear offline, or a check that cannot be made
        // against the agent (`max_tokens` without a count) would pass under replay.
        response: Pointers {
            text: "/output/text".into(),
            session_id: r.session_id.as_ref().map(|_| "/session".into()),
            input_tokens: r.input_tokens.as_ref().map(|_| "/usage/in".into()),
            output_tokens: r.output_tokens.as_ref().map(|_| "/usage/out".into()),
            total_tokens: r.total_tokens.as_ref().map(|_| "/usage/total".into()),
            error: r.error.as_ref().map(|_| "/error/message".into()),
        },
        stream: spec.stream,
    }
}

/// The `{{name}}`s of the path and of every string in the body, each once.
fn template_names(spec: &HttpSpec) -> Vec<String> {
    fn strings<'v>(v: &'v Value, out: &mut Vec<&'v str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            Value::Object(map) => map.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    let mut texts = vec![spec.path.as_str()];
    if let Some(body) = &spec.body {
        strings(body, &mut texts);
    }
    let mut names: Vec<String> = texts
        .into_iter()
        .flat_map(references)
        .map(|r| r.name)
        .collect();
    names.sort();
    names.dedup();
    names
}

impl Endpoint for Http {
    fn open(self: Arc<Self>, mode: SessionMode, dialogue: &str) -> Box<dyn Conversation> {
        let session = match mode {
            SessionMode::Fresh => Some(session::new_id()),
            SessionMode::Server => None,
        };
        Box::new(HttpConversation {
            // A judge's question is no dialogue: it keeps the replayed spec's own agent id.
            replay_identity: self
                .replayed
                .then(|| slug(dialogue))
                .filter(|id| !id.is_empty()),
            endpoint: self,
            session,
            server_session: mode == SessionMode::Server,
            history: Vec::new(),
            request: String::new(),
        })
    }
}

struct HttpConversation {
    endpoint: Arc<Http>,
    session: Option<String>,
    server_session: bool,
    history: Vec<(&'static str, String)>,
    /// The method and URL of the last message: the path is a template, so it changes.
    request: String,
    /// Under replay, who this conversation is (its dialogue's slug): the agent id in the
    /// replay server's path.
    replay_identity: Option<String>,
}

impl Conversation for HttpConversation {
    fn send<'a>(
        &'a mut self,
        message: Message<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Reply, SendError>> + Send + 'a>> {
        Box::pin(async move {
            // The values and the URL once per message: the request line and the request
            // itself use the same.
            let values = self.values(&message);
            let url = self.url(&values);
            if let Ok(url) = &url {
                let ep = &self.endpoint;
                self.request = ep.transport.request_line(&ep.method, &url.url);
            }
            let reply = self.exchange(&values, url?).await?;
            if let ReplyBody::Agent(a) = &reply.body {
                if self.server_session && a.session_id.is_some() {
                    self.session = a.session_id.clone();
                }
                self.history.push(("user", message.text.to_string()));
                self.history.push(("assistant", a.text.clone()));
            }
            Ok(reply)
        })
    }

    fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    fn can_continue(&self) -> bool {
        !self.server_session || self.session.is_some()
    }

    fn session_pointer(&self) -> Option<&str> {
        self.endpoint.spec.response.session_id.as_deref()
    }

    fn request(&self) -> String {
        self.request.clone()
    }
}

impl HttpConversation {
    /// The names a template may use, for this turn.
    fn values(&self, message: &Message<'_>) -> BTreeMap<String, String> {
        let mut values = message.values.clone();
        values.insert("message".into(), message.text.to_string());
        values.insert("turn".into(), message.turn.to_string());
        values.insert(
            "session_id".into(),
            self.session.clone().unwrap_or_default(),
        );
        // The loader refused every unknown name, so one without a value is a capture that
        // no turn has taken yet (always so on turn 1).
        for name in &self.endpoint.names {
            values.entry(name.clone()).or_default();
        }
        values
    }

    fn url(&self, values: &BTreeMap<String, String>) -> Result<Target, SendError> {
        let path = match &self.replay_identity {
            Some(id) => format!("/http/{id}/chat"),
            None => {
                let encoded: BTreeMap<String, String> = values
                    .iter()
                    .map(|(k, v)| (k.clone(), encode_path_value(v)))
                    .collect();
                let path = expand_template(&self.endpoint.spec.path, &encoded);
                if let Some(segment) = dot_segment_filled(&self.endpoint.spec.path, &path) {
                    return Err(SendError::Invalid(format!(
                        "the path `{path}` has the segment `{segment}` from a filled-in value, \
                         which a URL resolves away (the request would go to another path)"
                    )));
                }
                path
            }
        };
        let url = if path.is_empty() {
            // No `path:` written: the base URL is the agent's whole URL, as written.
            self.endpoint.base.clone()
        } else {
            let slash = if path.starts_with('/') { "" } else { "/" };
            transport::url_under(&self.endpoint.base, &format!("{slash}{path}"))
        };
        Target::parse(&url).map_err(SendError::Invalid)
    }

    fn body(&self, values: &BTreeMap<String, String>) -> Option<Value> {
        let history = Value::Array(
            self.history
                .iter()
                .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
                .collect(),
        );
        self.endpoint
            .spec
            .body
            .as_ref()
            .map(|b| fill(b, values, &history))
    }

    async fn exchange(
        &self,
        values: &BTreeMap<String, String>,
        url: Target,
    ) -> Result<Reply, SendError> {
        let body = match self.body(values) {
            Some(b) => Some(serde_json::to_vec(&b).map_err(|e| SendError::Invalid(e.to_string()))?),
            None => None,
        };
        let ep = &self.endpoint;
        let (response, started, first_byte) =
            ep.transport.start(ep.method.clone(), &url, body).await?;
        let status = response.status();
        let rate = transport::rate_headers(response.headers());
        let success = (200..300).contains(&status);
        let pointers = &ep.spec.response;
        if success && ep.spec.stream && sse::answers_events(&response) {
            let mut last = Value::Null;
            let mut found = false;
            let streamed = sse::read_stream(response, started, |data| {
                let piece = read_event(&sse::text(data), pointers, &mut last)?;
                found |= piece.text.is_some();
                Ok(piece)
            })
            .await?;
            // As for a whole body: a pointer that finds no text is a malformed reply, not an
            // empty one that `not_contains` would pass and `--bless` record.
            let (body, first_token) = match streamed {
                Err(reason) => (ReplyBody::Malformed { reason }, None),
                Ok(streamed) if found => {
                    let first_token = streamed.first_token;
                    let mut reply = agent_reply(&last, pointers, streamed.text);
                    reply.shape = Some(crate::record::SSE_SHAPE);
                    (ReplyBody::Agent(reply), first_token)
                }
                Ok(_) => (
                    ReplyBody::Malformed {
                        reason: format!(
                            "the pointer `{}` (response.text) finds no string in any event of \
                             the stream",
                            pointers.text
                        ),
                    },
                    None,
                ),
            };
            let timing = Timing {
                first_byte,
                first_token,
                total: started.elapsed(),
            };
            return Ok(Reply {
                status,
                body,
                rate,
                timing,
            });
        }
        transport::whole_reply(
            response,
            started,
            first_byte,
            |b| parse_success(b, pointers),
            |b| parse_error(b, pointers),
        )
        .await
    }
}

/// The body template with every string filled: `{{history}}` alone becomes the message array,
/// `{{turn}}` alone a number ([`whole_reference`]), any other string has its names expanded.
fn fill(template: &Value, values: &BTreeMap<String, String>, history: &Value) -> Value {
    match template {
        Value::String(s) if whole_reference(s) == Some("history") => history.clone(),
        Value::String(s) if whole_reference(s) == Some("turn") => values
            .get("turn")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Value::from)
            .unwrap_or(Value::Null),
        Value::String(s) => Value::String(expand_template(s, values)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| fill(v, values, history)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, values, history)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A value put in a URL path: everything but RFC 3986's unreserved characters encoded, so a
/// message or an id can never add a path segment or a query.
fn encode_path_value(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, crate::util::NOT_UNRESERVED).to_string()
}

/// A segment of the filled `path` that is `.` or `..` where the template's is not: encoding
/// cannot keep it (the URL standard reads `%2e` as a dot too), so such a value would move the
/// request up the path instead of naming something in it.
fn dot_segment_filled<'p>(template: &str, path: &'p str) -> Option<&'p str> {
    /// The segments of a path, before its query or fragment.
    fn segments(p: &str) -> std::str::Split<'_, char> {
        p.split(['?', '#']).next().unwrap_or("").split('/')
    }
    let written: Vec<&str> = segments(template).collect();
    segments(path).enumerate().find_map(|(i, seg)| {
        let dots = seg.to_ascii_lowercase().replace("%2e", ".");
        let dot = dots == "." || dots == "..";
        (dot && written.get(i) != Some(&seg)).then_some(seg)
    })
}

fn text_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// A string or a number at `pointer`, as text (a session id may be either).
fn id_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn agent_reply(v: &Value, p: &Pointers, text: String) -> AgentReply {
    let n = |ptr: &Option<String>| {
        ptr.as_deref()
            .and_then(|ptr| v.pointer(ptr))
            .and_then(super::token_count)
    };
    AgentReply {
        text,
        session_id: p.session_id.as_deref().and_then(|ptr| id_at(v, ptr)),
        shape: Some("json"),
        usage: Usage {
            input_tokens: n(&p.input_tokens),
            output_tokens: n(&p.output_tokens),
            total_tokens: n(&p.total_tokens),
        },
        model: None,
    }
}

/// A 2xx body: the text at the `text` pointer, or a malformed reply that says what was there.
pub fn parse_success(bytes: &[u8], p: &Pointers) -> ReplyBody {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return ReplyBody::Malformed {
                reason: format!(
                    "the body is not JSON ({e}): {}{}",
                    preview(bytes),
                    sse::looks_like_events(bytes)
                ),
            }
        }
    };
    match text_at(&value, &p.text) {
        Some(text) => ReplyBody::Agent(agent_reply(&value, p, text.to_string())),
        None => ReplyBody::Malformed {
            reason: format!(
                "the pointer `{}` (response.text) finds no string in the body: {}",
                p.text,
                preview(bytes)
            ),
        },
    }
}

/// A non-2xx body's detail: at the `error` pointer when there is one and it finds a string,
/// else the platform's `detail` or the text.
pub fn parse_error(bytes: &[u8], p: &Pointers) -> Option<String> {
    if let (Some(ptr), Ok(v)) = (&p.error, serde_json::from_slice::<Value>(bytes)) {
        if let Some(s) = text_at(&v, ptr) {
            return Some(s.to_string());
        }
    }
    super::openai::parse_error(bytes)
}

/// One event of a streamed reply: its text piece at the `text` pointer; the last event with
/// data is kept for the session id and token pointers.
fn read_event(data: &str, p: &Pointers, last: &mut Value) -> Result<Piece<'static>, String> {
    let value: Value = serde_json::from_str(data).map_err(|e| {
        format!(
            "a stream event is not JSON ({e}): `{}`",
            truncate(data, 200)
        )
    })?;
    // The suite said where this API puts its errors: an event with one there is the API
    // saying the reply failed after its 200 went out.
    if let Some(error) = p.error.as_deref().and_then(|ptr| text_at(&value, ptr)) {
        return Err(format!(
            "the stream reported an error (response.error): {}",
            truncate(error, 200)
        ));
    }
    let text = text_at(&value, &p.text).map(|t| Cow::Owned(t.to_string()));
    // Ids and counts usually come on the first or the last event: keep what each says.
    if let Value::Object(map) = &value {
        if let Value::Object(acc) = last {
            for (k, v) in map {
                acc.insert(k.clone(), v.clone());
            }
        } else {
            *last = value.clone();
        }
    }
    Ok(Piece { text })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointers() -> Pointers {
        Pointers {
            text: "/output/text".into(),
            session_id: Some("/session".into()),
            input_tokens: Some("/usage/in".into()),
            output_tokens: Some("/usage/out".into()),
            total_tokens: None,
            error: Some("/error/message".into()),
        }
    }

    #[test]
    fn pointers_find_text_session_and_usage() {
        let body = br#"{"output":{"text":"Hi"},"session":42,"usage":{"in":3,"out":1}}"#;
        let ReplyBody::Agent(a) = parse_success(body, &pointers()) else {
            panic!("not an agent reply")
        };
        assert_eq!(a.text, "Hi");
        assert_eq!(a.session_id.as_deref(), Some("42"));
        assert_eq!(a.usage.input_tokens, Some(3));
        assert_eq!(a.usage.output_tokens, Some(1));
    }

    #[test]
    fn a_pointer_that_finds_nothing_is_a_malformed_reply() {
        let body = br#"{"output":{"txt":"Hi"}}"#;
        let ReplyBody::Malformed { reason } = parse_success(body, &pointers()) else {
            panic!("should be malformed")
        };
        assert!(reason.contains("/output/text"), "{reason}");
    }

    #[test]
    fn errors_at_the_pointer_or_else_the_text() {
        assert_eq!(
            parse_error(br#"{"error":{"message":"bad key"}}"#, &pointers()).as_deref(),
            Some("bad key")
        );
        assert_eq!(
            parse_error(b"Service Unavailable", &pointers()).as_deref(),
            Some("Service Unavailable")
        );
    }

    #[test]
    fn body_templates_fill_history_turn_and_names() {
        let template = serde_json::json!({
            "input": "{{message}}",
            "conversation": "{{session_id}}",
            "n": "{{turn}}",
            "history": "{{history}}",
            "meta": ["plan {{plan}}", 7, true],
            // With spaces inside the braces, as every other name may be written.
            "spaced": ["{{ turn }}", " {{ history }} ", "turn {{ turn }}"]
        });
        let values = BTreeMap::from([
            ("message".to_string(), "hi".to_string()),
            ("session_id".to_string(), "s1".to_string()),
            ("turn".to_string(), "2".to_string()),
            ("plan".to_string(), "pro".to_string()),
        ]);
        let history = serde_json::json!([{"role": "user", "content": "a"}]);
        assert_eq!(
            fill(&template, &values, &history),
            serde_json::json!({
                "input": "hi",
                "conversation": "s1",
                "n": 2,
                "history": [{"role": "user", "content": "a"}],
                "meta": ["plan pro", 7, true],
                "spaced": [2, [{"role": "user", "content": "a"}], "turn 2"]
            })
        );
    }

    #[test]
    fn template_names_come_from_the_path_and_every_body_string() {
        let spec = HttpSpec {
            method: "POST".into(),
            path: "/chat/{{session_id}}/{{order}}".into(),
            body: Some(serde_json::json!({
                "input": "{{message}}",
                "meta": {"refs": ["{{order}}", "{{ticket}} and {{plan}}"], "n": 3}
            })),
            auth_header: None,
            response: pointers(),
            stream: false,
        };
        assert_eq!(
            template_names(&spec),
            ["message", "order", "plan", "session_id", "ticket"]
        );
    }

    #[test]
    fn under_replay_the_generic_api_replaces_the_wire_shape() {
        let spec = HttpSpec {
            method: "PUT".into(),
            path: "/api/{{session_id}}".into(),
            body: Some(serde_json::json!({"q": "{{message}}", "h": "{{history}}"})),
            auth_header: Some("X-Token".into()),
            response: Pointers {
                text: "/reply".into(),
                output_tokens: Some("/n".into()),
                ..Pointers::default()
            },
            stream: true,
        };
        let replayed = replay_spec(&spec);
        assert_eq!(replayed.method, "POST");
        assert_eq!(replayed.path, "/http/http/chat");
        assert_eq!(
            replayed.body,
            Some(
                serde_json::json!({"input": "{{message}}", "session": "{{session_id}}", "stream": true})
            )
        );
        // The generic API's pointers, only for what the suite's own read: a count the live
        // endpoint does not give stays missing offline.
        assert_eq!(
            replayed.response,
            Pointers {
                text: "/output/text".into(),
                output_tokens: Some("/usage/out".into()),
                ..Pointers::default()
            }
        );
        let full = replay_spec(&HttpSpec {
            response: pointers_of_the_generic_api(),
            ..spec.clone()
        });
        assert_eq!(full.response, pointers_of_the_generic_api());
        // The key keeps its header: replay ignores it, and redaction sees what a live run sends.
        assert_eq!(replayed.auth_header.as_deref(), Some("X-Token"));
        assert!(replayed.stream);
        let whole = replay_spec(&HttpSpec {
            stream: false,
            ..spec
        });
        assert_eq!(whole.body.and_then(|b| b.get("stream").cloned()), None);
    }

    fn pointers_of_the_generic_api() -> Pointers {
        Pointers {
            total_tokens: Some("/usage/total".into()),
            ..pointers()
        }
    }

    #[test]
    fn path_values_cannot_add_segments() {
        assert_eq!(encode_path_value("a/b?c d"), "a%2Fb%3Fc%20d");
        // A value that is a dot segment of its own cannot be sent; one in a segment can.
        let t = "/chat/{{message}}/reply";
        assert_eq!(dot_segment_filled(t, "/chat/../reply"), Some(".."));
        assert_eq!(dot_segment_filled(t, "/chat/./reply"), Some("."));
        assert_eq!(dot_segment_filled(t, "/chat/.../reply"), None);
        assert_eq!(dot_segment_filled(t, "/chat/a..b/reply"), None);
        assert_eq!(
            dot_segment_filled("/a/../{{x}}", "/a/../y"),
            None,
            "written, not filled"
        );
        assert_eq!(encode_path_value("agenttest-1a-0"), "agenttest-1a-0");
    }
}
