//! OpenAI-compatible chat completions (SPEC §8.1): `POST {base_url}/chat/completions`, the
//! history kept by the conversation (system message, then every earlier user and assistant
//! message, then the new one), `params` copied into the body, usage mapped to input / output /
//! total, `{"error": {"message"}}` as the detail, and `stream: true` read as server-sent events
//! with the usage asked for. No session ids: the history is the conversation.
//!
//! One request in, one [`Reply`] out: no retries, no sleeping, no judging.
//!
//! Under `base_url: replay` each conversation names its dialogue to the replay server
//! ([`Transport::naming`]), so dialogues that say the same to the same model (another system
//! prompt, a shared opening) are each answered from their own golden.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::sse::{self, Piece};
use super::transport::{self, preview, truncate, Auth, Client, Target, Transport};
use super::{Conversation, Endpoint, Message};
use crate::json_text::{plain_bytes, push_string, special_bytes, Text};
use crate::record::{AgentReply, Reply, ReplyBody, SendError, Timing, Usage};
use crate::suite::model::{self, OpenAiSpec, SessionMode};

/// The endpoint of one suite or dialogue: URL parsed, headers and the fixed part of the body
/// made once.
#[derive(Debug)]
pub struct OpenAi {
    transport: Transport,
    url: Target,
    body: BodyParts,
    /// The frames of the first streamed reply read, which a conversation opened after it
    /// starts with when no finished one left it its own ([`Spare`]): the chunks' shapes are
    /// the endpoint's, not the conversation's.
    frames: OnceLock<Frames>,
    /// The same of the first whole completion read.
    bodies: OnceLock<Frames>,
    /// What finished conversations left ([`Spare`]), for the next ones to start from.
    spare: Mutex<Vec<Spare>>,
    /// The endpoint asks for a stream (`stream: true`).
    stream: bool,
}

/// What a finished conversation hands on to the next one opened on its endpoint: its frames,
/// which know the endpoint's shapes as well as the first reply's copies do, and its history's
/// room. Cloning the first reply's frames for every conversation was some twenty allocations a
/// dialogue (each frame's text, holes and seam), about a sixth of what a streamed request
/// added over a platform one; a dialogue now takes a spare when one is left.
#[derive(Debug)]
struct Spare {
    frames: Frames,
    bodies: Frames,
    history: Vec<u8>,
}

/// More spares than conversations run at once in any run but one of hundreds of jobs, which
/// then clone frames for the rest as before.
const SPARES: usize = 64;

/// The most room a spare keeps for a history: a dialogue of a few dozen turns.
const SPARE_HISTORY: usize = 64 * 1024;

impl OpenAi {
    pub fn new(
        http: Client,
        base_url: &str,
        endpoint: &model::Endpoint,
        spec: &OpenAiSpec,
    ) -> Result<Self, String> {
        let url = transport::url_under(base_url, "/chat/completions");
        let url = Target::parse(&url)?;
        Ok(OpenAi {
            transport: Transport::new(http, endpoint, Auth::Bearer)?,
            url,
            body: BodyParts::new(spec)?,
            frames: OnceLock::new(),
            bodies: OnceLock::new(),
            spare: Mutex::new(Vec::new()),
            stream: spec.stream,
        })
    }

    async fn send(
        &self,
        transport: &Transport,
        history: &History,
        frames: &mut Frames,
        bodies: &mut Frames,
    ) -> Result<Reply, SendError> {
        let body = self.body.with(history);
        let (response, started, first_byte) = transport
            .start(reqwest::Method::POST, &self.url, Some(body))
            .await?;
        let status = response.status();
        let rate = transport::rate_headers(response.headers());
        let success = (200..300).contains(&status);
        // A stream asked for and labelled as no JSON type is read as one (see
        // `sse::answers_events`); one not asked for is read when it says it is one.
        let events = match self.stream {
            true => sse::answers_events(&response),
            false => sse::is_event_stream(&response),
        };
        if success && events {
            let mut usage = Usage::default();
            let mut model = None;
            frames.begin_reply();
            let reader = Chunks {
                frames: &mut *frames,
                usage: &mut usage,
                model: &mut model,
                said: false,
            };
            let streamed = sse::read_events(response, started, reader).await?;
            if self.frames.get().is_none() {
                let _ = self.frames.set(frames.clone());
            }
            let (body, first_token) = match streamed {
                Ok(streamed) => (
                    ReplyBody::Agent(AgentReply {
                        text: streamed.text,
                        session_id: None,
                        shape: Some(crate::record::CHUNKS_SHAPE),
                        usage,
                        model,
                    }),
                    streamed.first_token,
                ),
                Err(reason) => (ReplyBody::Malformed { reason }, None),
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
        let read = |bytes: &[u8]| read_completion(bytes, &mut *bodies);
        let reply = transport::whole_reply(response, started, first_byte, read, parse_error).await;
        if self.bodies.get().is_none() && !bodies.list.is_empty() {
            let _ = self.bodies.set(bodies.clone());
        }
        reply
    }
}

/// The request body, from which [`BodyParts`] are cut. Written by hand rather than with
/// `#[serde(flatten)]`, which would emit a `params` key and agenttest's own key of the same
/// name both (`"model"` twice): agenttest's keys replace the params', and a `stream` or
/// `stream_options` in `params` never turns on a stream the endpoint did not ask for (a
/// `stream_options` of `params` does replace agenttest's on a stream: [`stream_options`]).
struct Body<'a> {
    params: &'a Map<String, Value>,
    model: &'a str,
    messages: Vec<Msg<'a>>,
    stream: Option<bool>,
    stream_options: Option<Value>,
}

impl<'a> Body<'a> {
    /// The body of `spec`'s endpoint with these messages.
    fn new(spec: &'a OpenAiSpec, messages: Vec<Msg<'a>>) -> Self {
        Body {
            params: &spec.params,
            model: &spec.model,
            messages,
            stream: spec.stream.then_some(true),
            stream_options: spec.stream.then(|| stream_options(&spec.params)).flatten(),
        }
    }
}

/// The keys agenttest writes itself; a `params` key of the same name is left out.
const OWN_KEYS: [&str; 4] = ["model", "messages", "stream", "stream_options"];

impl Serialize for Body<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.params {
            if !OWN_KEYS.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("model", self.model)?;
        map.serialize_entry("messages", &self.messages)?;
        if let Some(stream) = self.stream {
            map.serialize_entry("stream", &stream)?;
        }
        if let Some(options) = &self.stream_options {
            map.serialize_entry("stream_options", options)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Msg<'a> {
    role: &'static str,
    content: &'a str,
}

/// A stream's `stream_options`: `{"include_usage": true}` (SPEC §8.1: the usage is asked for),
/// unless `params` gives its own, which then goes as written, or, as `null`, none at all: some
/// OpenAI-compatible servers (older Azure API versions among them) refuse the key, and without
/// this a suite for them could not stream (and time its first token) at all.
fn stream_options(params: &Map<String, Value>) -> Option<Value> {
    match params.get("stream_options") {
        None => Some(serde_json::json!({"include_usage": true})),
        Some(Value::Null) => None,
        Some(own) => Some(own.clone()),
    }
}

#[derive(Debug, Clone, Copy)]
enum Role {
    User,
    Assistant,
}

impl Role {
    /// What serde_json writes of a `Msg` of this role up to its content: one copy, where the
    /// keys and the role written one by one were three.
    fn opening(self) -> &'static [u8] {
        match self {
            Role::User => br#"{"role":"user","content":"#,
            Role::Assistant => br#"{"role":"assistant","content":"#,
        }
    }
}

impl Endpoint for OpenAi {
    fn open(self: Arc<Self>, _mode: SessionMode, dialogue: &str) -> Box<dyn Conversation> {
        let spare = self.spare.lock().ok().and_then(|mut s| s.pop());
        let Spare {
            frames,
            bodies,
            history,
        } = spare.unwrap_or_else(|| Spare {
            frames: self.frames.get().cloned().unwrap_or_default(),
            bodies: self.bodies.get().cloned().unwrap_or_else(Frames::of_bodies),
            history: Vec::new(),
        });
        Box::new(OpenAiConversation {
            named: self.transport.naming(dialogue),
            endpoint: self,
            history: History {
                json: history,
                asked: None,
            },
            frames,
            bodies,
        })
    }
}

/// One dialogue execution: the messages so far, which every turn sends again, and the shapes
/// of the chunks its streamed replies came in and of its whole replies.
struct OpenAiConversation {
    endpoint: Arc<OpenAi>,
    history: History,
    frames: Frames,
    bodies: Frames,
    /// Under replay, the transport that names this conversation's dialogue.
    named: Option<Transport>,
}

/// The messages so far as the body carries them: JSON objects, each after a comma unless it
/// is the array's first. Kept written, so that a turn writes its own two messages and copies
/// the rest: writing the whole history anew, every string escaped again, was most of the cost
/// of building a request late in a dialogue.
///
/// A turn's message goes in when it is asked ([`History::ask`]), so that the body is the
/// history between its fixed parts (the message written once, where it had been escaped into
/// the body and again into the history), and comes out again unless the agent answers it.
#[derive(Default)]
struct History {
    json: Vec<u8>,
    /// Where the history ended before the message asked last, until it is answered.
    asked: Option<usize>,
}

impl History {
    /// Adds the message of a turn being asked, after taking back one asked before and never
    /// answered (a send whose future was dropped, which no later turn may send again).
    fn ask(&mut self, parts: &BodyParts, user: &str) {
        self.take_back();
        let before = self.json.len();
        let comma = parts.comma_before(self);
        push_message(&mut self.json, comma, Role::User, user);
        self.asked = Some(before);
    }

    /// Adds the agent's answer to the message asked.
    fn answer(&mut self, assistant: &str) {
        if self.asked.take().is_some() {
            push_message(&mut self.json, true, Role::Assistant, assistant);
        }
    }

    /// Takes back the message asked and not answered, if any: a turn without a reply is no
    /// part of the conversation, and a retry asks it again.
    fn take_back(&mut self) {
        if let Some(len) = self.asked.take() {
            self.json.truncate(len);
        }
    }
}

/// The body up to the history (`{`, the params, the model, `"messages":[` and the system
/// message) and after the new message (`]`, the stream keys, `}`): the same on every request
/// of an endpoint, so written once. [`Body`] says what is in them.
#[derive(Debug)]
struct BodyParts {
    open: Vec<u8>,
    close: Vec<u8>,
}

impl BodyParts {
    fn new(spec: &OpenAiSpec) -> Result<Self, String> {
        // The body with only the system message, cut before the `]` that closes the
        // messages: nothing after them (the stream keys) has a `]` in it.
        let system = spec.system.as_deref().map(|content| Msg {
            role: "system",
            content,
        });
        let fixed = Body::new(spec, system.into_iter().collect());
        let mut open = serde_json::to_vec(&fixed).map_err(|e| e.to_string())?;
        let at = open
            .iter()
            .rposition(|&b| b == b']')
            .ok_or("the request body has no message list")?;
        let close = open.split_off(at);
        Ok(BodyParts { open, close })
    }

    /// The body of the conversation's `history`, whose last message is the one asked.
    fn with(&self, history: &History) -> Vec<u8> {
        let mut body = Vec::with_capacity(self.open.len() + history.json.len() + self.close.len());
        body.extend_from_slice(&self.open);
        body.extend_from_slice(&history.json);
        body.extend_from_slice(&self.close);
        body
    }

    /// Whether a message after `history` follows another in the array.
    fn comma_before(&self, history: &History) -> bool {
        !history.json.is_empty() || !self.open.ends_with(b"[")
    }
}

/// Writes one message object to `out`, after a comma when `comma`.
fn push_message(out: &mut Vec<u8>, comma: bool, role: Role, content: &str) {
    if comma {
        out.push(b',');
    }
    // What serde_json writes of a `Msg`, with its constant keys and role written as they are
    // (as a struct it cost 1,700 instructions a message, mostly in escaping those), and the
    // content as serde_json writes a string ([`push_string`]).
    out.extend_from_slice(role.opening());
    push_string(out, content);
    out.push(b'}');
}

impl Drop for OpenAiConversation {
    /// Leaves the frames and the history's room to the endpoint's next conversation. Not
    /// while a panic unwinds: the runner survives a dialogue's panic, and frames a panic left
    /// halfway through a change would be read by the quick roads, which trust them. Nor a
    /// history's room past [`SPARE_HISTORY`]: one long dialogue's would be held to the end.
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let Ok(mut spare) = self.endpoint.spare.lock() else {
            return;
        };
        if spare.len() < SPARES {
            let mut history = std::mem::take(&mut self.history.json);
            history.clear();
            if history.capacity() > SPARE_HISTORY {
                history = Vec::new();
            }
            spare.push(Spare {
                frames: std::mem::take(&mut self.frames),
                bodies: std::mem::take(&mut self.bodies),
                history,
            });
        }
    }
}

impl Conversation for OpenAiConversation {
    fn send<'a>(
        &'a mut self,
        message: Message<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Reply, SendError>> + Send + 'a>> {
        Box::pin(async move {
            let endpoint = &self.endpoint;
            let transport = self.named.as_ref().unwrap_or(&endpoint.transport);
            self.history.ask(&endpoint.body, message.text);
            let reply = endpoint
                .send(transport, &self.history, &mut self.frames, &mut self.bodies)
                .await;
            match &reply {
                Ok(Reply {
                    body: ReplyBody::Agent(a),
                    ..
                }) => self.history.answer(&a.text),
                _ => self.history.take_back(),
            }
            reply
        })
    }

    fn session_id(&self) -> Option<&str> {
        None
    }

    fn request(&self) -> String {
        let ep = &self.endpoint;
        ep.transport
            .request_line(&reqwest::Method::POST, &ep.url.url)
    }
}

fn usage_of(v: &Value) -> Usage {
    let n = |k: &str| v.get(k).and_then(super::token_count);
    Usage {
        input_tokens: n("prompt_tokens"),
        output_tokens: n("completion_tokens"),
        total_tokens: n("total_tokens"),
    }
}

/// The parts of a `chat.completion` and of a `chat.completion.chunk` that are read, in one
/// pass without building a tree. A body it does not take exactly (a field of another type)
/// goes through the JSON tree instead, which says what is wrong or reads what it can.
#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(borrow)]
    choices: Zeroth<'a>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default, borrow)]
    model: Option<Text<'a>>,
}

/// The choice whose `index` is 0 (or that has none), the rest skipped unread: only that one is
/// ever looked at, and a stream has a chunk per word. It is most often the first; a server
/// asked for several choices (`n` in `params`) streams each in chunks of its own, where the
/// first of a chunk's `choices` may be another's (`"index": 1`), whose words are not the
/// reply's.
struct Zeroth<'a>(Option<Choice<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Zeroth<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Zeroth<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Zeroth<'a>, A::Error> {
                let mut zeroth = None;
                while zeroth.is_none() {
                    match seq.next_element::<Choice>()? {
                        Some(c) if c.index.unwrap_or(0) == 0 => zeroth = Some(c),
                        Some(_) => {}
                        None => return Ok(Zeroth(None)),
                    }
                }
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Zeroth(zeroth))
            }
        }
        d.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

/// What [`Zeroth`] is of a tree: the choice of `index` 0, or with none.
fn zeroth(value: &Value) -> Option<&Value> {
    value.get("choices")?.as_array()?.iter().find(|c| {
        c.get("index")
            .filter(|i| !i.is_null())
            .is_none_or(|i| i.as_u64() == Some(0))
    })
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    index: Option<u64>,
    /// Only whether it is set: a stream whose chunks never set it, and that ends without
    /// `[DONE]`, was cut short.
    #[serde(default)]
    finish_reason: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    message: Option<Content<'a>>,
    #[serde(default, borrow)]
    delta: Option<Content<'a>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(default, borrow)]
    content: Option<Text<'a>>,
    /// Only how many: a list of zero-sized entries never allocates. vLLM sends `[]` in every
    /// message, which carries nothing.
    #[serde(default)]
    tool_calls: Option<Vec<serde::de::IgnoredAny>>,
    /// The deprecated single call (`functions` in the request): any value but `null` sends the
    /// message or chunk to the tree, which says whether it is one.
    #[serde(default)]
    function_call: Option<serde::de::IgnoredAny>,
    #[serde(default, borrow)]
    refusal: Option<Text<'a>>,
}

impl Content<'_> {
    /// Whether it called a tool or refused: what [`Instead`] says in words. Such a message or
    /// chunk is read as a tree, which takes the names and the refusal, and is never kept as a
    /// [`Frame`], whose reads know nothing of either.
    fn carries(&self) -> bool {
        self.tool_calls.as_ref().is_some_and(|c| !c.is_empty())
            || self.function_call.is_some()
            || self.refusal.as_ref().is_some_and(|r| !r.0.is_empty())
    }
}

#[derive(Debug, Deserialize)]
struct OpenAiUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
}

impl From<OpenAiUsage> for Usage {
    fn from(u: OpenAiUsage) -> Self {
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            total_tokens: u.total_tokens,
        }
    }
}

/// A 2xx `chat.completion`: the text is `choices[0].message.content`.
pub fn parse_completion(bytes: &[u8]) -> ReplyBody {
    let fast = serde_json::from_slice::<Completion>(bytes)
        .ok()
        .and_then(|c| {
            let text = c.choices.0?.message.filter(|m| !m.carries())?.content?;
            Some(ReplyBody::Agent(AgentReply {
                text: text.0.into_owned(),
                session_id: None,
                shape: Some("chat.completion"),
                usage: c.usage.map(Usage::from).unwrap_or_default(),
                model: c.model.map(|m| Arc::from(m.0.as_ref())),
            }))
        });
    fast.unwrap_or_else(|| completion_from_tree(bytes))
}

/// A 2xx `chat.completion` read through the conversation's frames of whole replies: one in
/// the shape of a body read before is read from its tokens alone, as a stream's chunks are
/// ([`Frames`]); any other as [`parse_completion`] reads it, and kept as a frame. Read whole by
/// serde, a 300-byte completion cost some 8,000 instructions, a tenth of a request.
fn read_completion(bytes: &[u8], frames: &mut Frames) -> ReplyBody {
    if let Some(read) = frames.read(bytes) {
        if let Some(text) = read.content {
            return ReplyBody::Agent(AgentReply {
                text: text.to_string(),
                session_id: None,
                shape: Some("chat.completion"),
                usage: read.usage.unwrap_or_default(),
                model: read.model.cloned(),
            });
        }
    }
    let fast = serde_json::from_slice::<Completion>(bytes)
        .ok()
        .and_then(|c| {
            let text = c.choices.0?.message.filter(|m| !m.carries())?.content?;
            Some((text.0, c.usage.map(Usage::from), c.model.map(|m| m.0)))
        });
    let Some((text, usage, model)) = fast else {
        return completion_from_tree(bytes);
    };
    // serde does not check the strings it skips to be UTF-8; a frame's text is.
    if let Ok(data) = std::str::from_utf8(bytes) {
        frames.learn(data, Some(&text), usage, model.as_deref(), false);
    }
    ReplyBody::Agent(AgentReply {
        text: text.into_owned(),
        session_id: None,
        shape: Some("chat.completion"),
        usage: usage.unwrap_or_default(),
        model: model.map(|m| Arc::from(m.as_ref())),
    })
}

fn completion_from_tree(bytes: &[u8]) -> ReplyBody {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return ReplyBody::Malformed {
                reason: format!("the body is not JSON ({e}): {}", preview(bytes)),
            }
        }
    };
    let text = match zeroth(&value).and_then(|c| c.pointer("/message/content")) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => match text_of_parts(parts) {
            Ok(text) => text,
            Err(what) => {
                return ReplyBody::Malformed {
                    reason: format!("`choices[0].message.content` is {what}"),
                }
            }
        },
        _ => {
            return ReplyBody::Malformed {
                reason: no_content(&value, bytes),
            }
        }
    };
    // A model that calls tools may answer `""` beside its `tool_calls` rather than `null`:
    // no more a reply than the `null` is. A `""` alone is one (a model may answer nothing).
    if text.is_empty() {
        let message = zeroth(&value).and_then(|c| c.get("message"));
        if let Some(reason) = Instead::of_message(message).reason(MESSAGE_CONTENT) {
            return ReplyBody::Malformed { reason };
        }
    }
    ReplyBody::Agent(AgentReply {
        text,
        session_id: None,
        shape: Some("chat.completion"),
        usage: value.get("usage").map(usage_of).unwrap_or_default(),
        model: value.get("model").and_then(Value::as_str).map(Arc::from),
    })
}

/// The text of a content given as a list of parts, as some servers answer (Mistral's
/// reasoning models: a `thinking` part, then a `text` one; gateways that pass the
/// Responses API's `output_text` through): the `text` of each `text` or `output_text` part,
/// joined, the others (thinking, images, audio) not being the reply. A list with no such
/// part is no reply, said with the types it has, rather than read as an empty one.
fn text_of_parts(parts: &[Value]) -> Result<String, String> {
    let mut text = None::<String>;
    let mut kinds = Vec::new();
    for part in parts {
        let kind = part.get("type").and_then(Value::as_str);
        match (kind, part.get("text").and_then(Value::as_str)) {
            (Some("text" | "output_text"), Some(t)) => text.get_or_insert_default().push_str(t),
            _ => kinds.push(kind.unwrap_or("?")),
        }
    }
    text.ok_or_else(|| match kinds.is_empty() {
        true => "an empty list of parts".to_string(),
        false => format!(
            "a list of parts with no text part (types: {})",
            kinds.join(", ")
        ),
    })
}

/// Why a completion has no text. A model that calls tools answers `content: null` with its
/// `tool_calls` first, and a 200-character quote of such a body was cut before the `null`: the
/// reason says so in words, naming the tools (or quoting a `refusal`), whatever the body's
/// length.
fn no_content(value: &Value, bytes: &[u8]) -> String {
    let choice = zeroth(value);
    let message = choice.and_then(|c| c.get("message"));
    if let Some(reason) = Instead::of_message(message).reason(MESSAGE_CONTENT) {
        reason
    } else if choice
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        == Some("content_filter")
    {
        // Azure's content filter, and gateways that pass it on: the answer was withheld.
        format!(
            "the server's content filter withheld the answer (`finish_reason: \"content_filter\"`), \
             so `choices[0].message.content` has no text: {}",
            preview(bytes)
        )
    } else {
        format!(
            "the body has no string `choices[0].message.content`: {}",
            preview(bytes)
        )
    }
}

/// Where a whole completion's text is, as its reasons name it.
const MESSAGE_CONTENT: &str = "`choices[0].message.content`";
/// Where a stream's text is.
const DELTA_CONTENT: &str = "the stream's `choices[0].delta.content`";

/// What choice 0 of a reply said in place of a text: the tools it called, its refusal. A
/// reply whose text is empty (or none) and that carries either is no reply, said in words:
/// judged as an empty one, `not_contains` would pass it and `--bless` record it. vLLM streams
/// a tool call after a role chunk of `"content": ""`, OpenAI after `"content": null`.
#[derive(Debug, Clone, Default, PartialEq)]
struct Instead {
    /// A `tool_calls` list with an entry came.
    called: bool,
    /// The tools' names, in order: a whole message names each call (`?` for one without a
    /// name), a stream each call in its first chunk (the others carry its arguments).
    names: Vec<String>,
    /// A stream's calls named so far, by their `index`: a server that names a call in each of
    /// its chunks names it once here.
    indices: Vec<u64>,
    /// A stream's deprecated `function_call` has been named (in its first chunk, most often;
    /// a server that names it in each is named once).
    function_named: bool,
    /// The refusal, a stream's pieces joined.
    refusal: String,
}

impl Instead {
    /// What a whole completion's `message` carries.
    fn of_message(message: Option<&Value>) -> Instead {
        let mut instead = Instead::default();
        if let Some(message) = message {
            instead.take(message, true);
        }
        instead
    }

    /// Takes in what `said` (a `message`, or a chunk's `delta`) carries; `whole` for a message.
    fn take(&mut self, said: &Value, whole: bool) {
        if let Some(calls) = said.get("tool_calls").and_then(Value::as_array) {
            self.called |= !calls.is_empty();
            for call in calls {
                let name = call.pointer("/function/name").and_then(Value::as_str);
                if whole {
                    self.names.push(name.unwrap_or("?").to_string());
                    continue;
                }
                let Some(name) = name else { continue };
                match call.get("index").and_then(Value::as_u64) {
                    Some(i) if self.indices.contains(&i) => {}
                    Some(i) => {
                        self.indices.push(i);
                        self.names.push(name.to_string());
                    }
                    None => self.names.push(name.to_string()),
                }
            }
        }
        // The deprecated `function_call`: one call, an object, named in a stream's first chunk
        // and its arguments in the next.
        if let Some(call) = said.get("function_call").filter(|c| c.is_object()) {
            self.called = true;
            let name = call.get("name").and_then(Value::as_str);
            if whole {
                self.names.push(name.unwrap_or("?").to_string());
            } else if let Some(name) = name.filter(|_| !self.function_named) {
                self.function_named = true;
                self.names.push(name.to_string());
            }
        }
        if let Some(refusal) = said.get("refusal").and_then(Value::as_str) {
            self.refusal.push_str(refusal);
        }
    }

    /// Why a reply that carries this has no text at `content` (which names where it is): the
    /// tools, or the refusal. `None` when it carries neither.
    fn reason(&self, content: &str) -> Option<String> {
        if self.called {
            let names = match self.names.is_empty() {
                true => "?".to_string(),
                false => self.names.join(", "),
            };
            Some(format!(
                "the model called {} ({names}) instead of answering, so {content} has no \
                 text: agenttest checks a reply's text (send no `tools` or `functions` in \
                 `params`)",
                if self.names.len() > 1 {
                    "tools"
                } else {
                    "a tool"
                },
            ))
        } else if !self.refusal.is_empty() {
            Some(format!(
                "the model refused, so {content} has no text: `{}`",
                truncate(&self.refusal, 200)
            ))
        } else {
            None
        }
    }

    /// Why a streamed reply of this text is none: its text is empty and it carries this.
    fn of_stream(&self, text: &[u8]) -> Option<String> {
        match text.is_empty() {
            true => self.reason(DELTA_CONTENT),
            false => None,
        }
    }
}

/// The events of a stream of `chat.completion.chunk`s, read through the conversation's frames
/// into the reply's usage and model.
struct Chunks<'r> {
    frames: &'r mut Frames,
    usage: &'r mut Usage,
    model: &'r mut Option<Arc<str>>,
    /// Whether any chunk had a string `delta.content` (an empty one too: a real empty reply).
    said: bool,
}

impl sse::Reader for Chunks<'_> {
    fn events(&mut self, bytes: &[u8], text: &mut Vec<u8>) -> usize {
        let Some((len, read)) = self.frames.events(bytes, text) else {
            return 0;
        };
        self.said |= read.took(self.usage, self.model).is_some();
        len
    }

    fn data<'b>(&mut self, data: &'b [u8]) -> Result<Piece<'b>, String> {
        let piece = read_chunk(data, self.frames, self.usage, self.model)?;
        self.said |= piece.text.is_some();
        Ok(piece)
    }

    /// A stream in which no chunk had text is no reply, as a whole completion without a
    /// string `content` is not: judged as an empty one, `not_contains` would pass it and
    /// `--bless` record it. Nor is one whose text is empty and whose chunks called tools or
    /// refused ([`Instead`]), whether their content was `""` or `null`. Nor is one that ended
    /// without `[DONE]` before any chunk set a `finish_reason`: the server stopped mid-answer,
    /// and the words so far are not its reply.
    fn finish(&mut self, done: bool, text: &[u8]) -> Result<(), String> {
        if !done && !self.frames.finished {
            return Err("the stream ended before the reply did: no chunk set \
                        `choices[0].finish_reason` and no `data: [DONE]` came"
                .to_string());
        }
        if let Some(reason) = self.frames.instead.of_stream(text) {
            return Err(reason);
        }
        match self.said {
            true => Ok(()),
            false => Err(
                "no chunk of the stream had a string `choices[0].delta.content` (a \
                 model that calls tools answers none): agenttest checks a reply's text (send \
                 no `tools` or `functions` in `params`)"
                    .to_string(),
            ),
        }
    }
}

/// One `chat.completion.chunk`: its `delta.content` piece; the usage chunk's counts. A chunk
/// in the shape of one read before is read from its tokens alone ([`Frames`]); any other is
/// read whole by serde, or as a tree when serde does not take it.
fn read_chunk<'a>(
    data: &'a [u8],
    frames: &mut Frames,
    usage: &mut Usage,
    model: &mut Option<Arc<str>>,
) -> Result<Piece<'a>, String> {
    if let Some(read) = frames.read(data) {
        return Ok(Piece {
            text: read.took(usage, model).map(Cow::Borrowed),
        });
    }
    match sse::text(data) {
        Cow::Borrowed(data) => read_whole_chunk(data, frames, usage, model),
        // Not UTF-8: read as the line-by-line road hands it, with U+FFFD in it.
        Cow::Owned(data) => {
            let piece = read_whole_chunk(&data, frames, usage, model)?;
            Ok(Piece {
                text: piece.text.map(|t| Cow::Owned(t.into_owned())),
            })
        }
    }
}

fn read_whole_chunk<'a>(
    data: &'a str,
    frames: &mut Frames,
    usage: &mut Usage,
    model: &mut Option<Arc<str>>,
) -> Result<Piece<'a>, String> {
    // Before serde, which would read an error event as a chunk without text (and learn its
    // shape as a frame): a generation that fails after the 200 went out says so in an event.
    if memchr::memmem::find(data.as_bytes(), b"\"error\"").is_some() {
        if let Some(reason) = serde_json::from_str::<Value>(data)
            .ok()
            .and_then(|v| stream_error(&v))
        {
            return Err(reason);
        }
    }
    // A chunk that calls a tool or refuses is read as a tree, which takes what it carries,
    // and is kept as no frame: the frames' reads would drop it.
    let chunk = match serde_json::from_str::<Completion>(data) {
        Ok(chunk)
            if !chunk
                .choices
                .0
                .as_ref()
                .and_then(|c| c.delta.as_ref())
                .is_some_and(Content::carries) =>
        {
            chunk
        }
        _ => {
            let (piece, finishes) = tree_chunk(data, usage, model, &mut frames.instead)?;
            frames.finished |= finishes;
            return Ok(piece);
        }
    };
    let finishes = chunk
        .choices
        .0
        .as_ref()
        .is_some_and(|c| c.finish_reason.is_some());
    frames.finished |= finishes;
    let content = chunk
        .choices
        .0
        .and_then(|c| c.delta)
        .and_then(|d| d.content)
        .map(|t| t.0);
    let counts = chunk.usage.map(Usage::from);
    let named: Option<Arc<str>> = chunk.model.map(|m| Arc::from(m.0.as_ref()));
    frames.learn(data, content.as_deref(), counts, named.as_deref(), finishes);
    if model.is_none() {
        *model = named;
    }
    if let Some(u) = counts {
        *usage = u;
    }
    Ok(Piece { text: content })
}

/// The shapes of the chunks read whole so far, kept to read the next ones cheaply: a stream's
/// chunks come in a few shapes (the role chunk, the content chunks, the finish chunk, the usage
/// chunk) that differ from one completion to the next only in a few tokens (the id, the
/// creation time, the words, the counts). Reading each chunk whole was most of a streamed
/// reply's cost: at about 20 instructions a byte, twenty 200-byte chunks cost more than the
/// rest of the request. Kept by the conversation from turn to turn, handed on to the next
/// conversation of the endpoint when it ends ([`Spare`]), and copied from the first one's for
/// a conversation that finds none, so that a run reads a shape whole once.
/// Whole completions (a reply not streamed) are read the same way, by frames of their own.
#[derive(Debug, Clone, Default)]
struct Frames {
    list: Vec<Frame>,
    /// The frame that read the last chunk: the next one is most often in its shape too.
    last: usize,
    /// Counts the reads, for the frame least recently used to make room for a new shape.
    tick: u64,
    /// The last string literal a hole took that was not its frame's, checked plain: the new
    /// id of a completion, which each of its shapes meets in turn, is checked once.
    fresh: Vec<u8>,
    /// The latest tokens of the ignored members (by key) of the chunks read: the current
    /// completion's id and creation time. A frame is brought up to them ([`Frame::refresh`])
    /// before its quick road is tried.
    current: Vec<Current>,
    /// Counts the changes to [`Frames::current`].
    generation: u64,
    /// Frames of whole `chat.completion`s, whose content is `choices[0].message.content`,
    /// rather than of chunks (`choices[0].delta.content`).
    bodies: bool,
    /// Whether a chunk read since the reply began set `choices[0].finish_reason`: what tells a
    /// whole reply from one cut short when a stream ends without `[DONE]`. Reset by each
    /// reply's reader ([`Frames::begin_reply`]).
    finished: bool,
    /// What the chunks read since the reply began carried in place of text: the tool calls, the
    /// refusal. Only chunks read as a tree carry any (no frame is kept of them), so the
    /// frames' roads never touch it. Reset as `finished` is.
    instead: Instead,
}

/// The latest token of an ignored member, by its key ([`key_hash`]).
#[derive(Debug, Clone)]
struct Current {
    key: u64,
    token: Vec<u8>,
    /// The [`Frames::generation`] at which it last changed.
    changed: u64,
}

/// More shapes than a stream has: a chunk read whole in a shape of its own (an escape in its
/// content) takes the place of the one least recently used.
const FRAMES: usize = 6;

/// A chunk read from a frame: what a whole read of it says. Its content is text, or the bytes
/// of UTF-8 text (see [`plain_bytes`]).
struct Framed<'a, 'f, T: ?Sized = str> {
    content: Option<&'a T>,
    usage: Option<Usage>,
    model: Option<&'f Arc<str>>,
}

impl<'a, T: ?Sized> Framed<'a, '_, T> {
    /// Its content, after taking its usage and (if none is known yet) its model into the
    /// reply's, as a whole read of the chunk does.
    fn took(self, usage: &mut Usage, model: &mut Option<Arc<str>>) -> Option<&'a T> {
        if model.is_none() {
            *model = self.model.cloned();
        }
        if let Some(u) = self.usage {
            *usage = u;
        }
        self.content
    }
}

impl Frames {
    /// A new reply begins: what the last one's chunks said of themselves is forgotten.
    fn begin_reply(&mut self) {
        self.finished = false;
        self.instead = Instead::default();
    }

    /// Frames of whole completions.
    fn of_bodies() -> Self {
        Frames {
            bodies: true,
            ..Frames::default()
        }
    }

    /// `data` read by a frame it fits, if any: first the quick road of the last frame used, then
    /// the token road of each.
    fn read<'a>(&mut self, data: &'a [u8]) -> Option<Framed<'a, '_>> {
        let last = self.last;
        let quick = self.list.get(last).and_then(|f| f.quick(data));
        let (at, content) = match quick {
            Some(content) => (last, content),
            None => {
                let (at, _, content) = self.by_tokens(data, None)?;
                // UTF-8 already, and checked so only where not ASCII: this cannot fail.
                (at, content.map(std::str::from_utf8).transpose().ok()?)
            }
        };
        Some(self.read_by(at, content))
    }

    /// The events at the start of `bytes` (see [`sse::Reader::events`]) in a frame's shape, each
    /// `data: `, the frame's text with other tokens in its holes, and a blank line: their length,
    /// and what the last of them reads, its content (if it has one) standing for theirs, which
    /// are appended to `text`. First the run of the last frame's quick road ([`Frame::run`]), or
    /// that road for a frame without content, then the same of the frame that followed it last
    /// time (a completion's shapes come in order), each brought up to the current completion's
    /// id and time first; then the token road of each frame for one event, as
    /// [`Frames::read`] takes them. The frame's text is on one line and a hole's token has no
    /// line end in it, so the event parser would hand each event's very text to
    /// [`Frames::read`], which would read it the same.
    fn events(&mut self, bytes: &[u8], text: &mut Vec<u8>) -> Option<(usize, Framed<'_, '_, ()>)> {
        const START: usize = b"data: ".len();
        let last = self.last;
        let next = self
            .list
            .get(last)?
            .next
            .filter(|&n| n != last && n < self.list.len());
        for at in std::iter::once(last).chain(next) {
            if let Some((len, counted)) = self.quick_events(at, bytes, text) {
                let content = self.list[at].content.map(|_| &());
                let mut read = self.read_by(at, content);
                read.usage = counted.or(read.usage);
                return Some((len, read));
            }
        }
        let data = bytes.strip_prefix(b"data: ")?;
        let (at, len, content) = self.by_tokens(data, Some(b"\n\n"))?;
        if let Some(content) = content {
            text.extend_from_slice(content);
        }
        Some((START + len + 2, self.read_by(at, content.map(|_| &()))))
    }

    /// The quick road of frame `at` for the events at the start of `bytes`, the frame first
    /// brought up to the current completion's tokens: the run of its content events, or, for a
    /// frame without content, the one event that is its text or its text with other counts
    /// (whose usage then comes too). Their length; `None` for none.
    fn quick_events(
        &mut self,
        at: usize,
        bytes: &[u8],
        text: &mut Vec<u8>,
    ) -> Option<(usize, Option<Usage>)> {
        let frame = self.list.get_mut(at)?;
        frame.refresh(&self.current, self.generation);
        if !frame.one_line {
            return None;
        }
        let read = match frame.content {
            Some(_) => (frame.run(bytes, text), None),
            None => frame.bare_at(bytes)?,
        };
        (read.0 > 0).then_some(read)
    }

    /// Takes the tokens of frame `at`'s ignored holes in `moved` (a bit per hole), which it has
    /// just read from a chunk in place of its own, as the current ones.
    fn note_current(&mut self, at: usize, moved: u16) {
        let Some(frame) = self.list.get_mut(at) else {
            return;
        };
        let held = frame.generation == self.generation;
        let mut changed = false;
        for (i, hole) in frame.holes.iter().enumerate() {
            if moved & (1 << i) == 0 || hole.key == 0 {
                continue;
            }
            let token = &frame.text[hole.start..hole.end];
            match self.current.iter_mut().find(|c| c.key == hole.key) {
                Some(c) if c.token.as_slice() == token => {}
                Some(c) => {
                    c.token.clear();
                    c.token.extend_from_slice(token);
                    c.changed = self.generation + 1;
                    changed = true;
                }
                None => {
                    self.current.push(Current {
                        key: hole.key,
                        token: token.to_vec(),
                        changed: self.generation + 1,
                    });
                    changed = true;
                }
            }
        }
        if changed {
            self.generation += 1;
        }
        // A frame that lacked some current tokens still does: its next refresh writes them.
        if held {
            frame.generation = self.generation;
        }
    }

    /// What the frame `at` read, `content` being the chunk's; the frame becomes the last used,
    /// and the one that follows the previous last one.
    fn read_by<'a, T: ?Sized>(&mut self, at: usize, content: Option<&'a T>) -> Framed<'a, '_, T> {
        self.tick += 1;
        if at != self.last {
            if let Some(before) = self.list.get_mut(self.last) {
                before.next = Some(at);
            }
        }
        self.last = at;
        let frame = &mut self.list[at];
        frame.used = self.tick;
        self.finished |= frame.finishes;
        Framed {
            content,
            usage: frame.usage,
            model: frame.model.as_ref(),
        }
    }

    /// The frame that reads `data` by its tokens, its length and what it reads: first the frame
    /// that followed the last one used the last time it changed (a stream's shapes come in the
    /// same order in every completion: role, content, finish, usage), then the last one, then
    /// the others. With `tail`, `data` may go on past the frame's text, which `tail` must
    /// follow (and a frame whose text is on more than one line is not tried); without it, the
    /// text ends `data`. Not inlined: the quick road is the one taken, and kept short.
    #[inline(never)]
    fn by_tokens<'a>(
        &mut self,
        data: &'a [u8],
        tail: Option<&[u8]>,
    ) -> Option<(usize, usize, Option<&'a [u8]>)> {
        let last = self.last;
        let len = self.list.len();
        let next = self
            .list
            .get(last)
            .and_then(|f| f.next)
            .filter(|&n| n != last && n < len);
        let order = next
            .into_iter()
            .chain(std::iter::once(last))
            .chain((0..len).filter(move |&i| i != last && Some(i) != next));
        for i in order {
            let fresh = &mut self.fresh;
            let frame = self
                .list
                .get_mut(i)
                .filter(|f| tail.is_none() || f.one_line);
            if let Some((len, content, moved)) = frame.and_then(|f| f.by_tokens(data, tail, fresh))
            {
                // Whole completions are read by the token road alone: no frame of theirs is
                // refreshed.
                if moved != 0 && !self.bodies {
                    self.note_current(i, moved);
                }
                return Some((i, len, content));
            }
        }
        None
    }

    /// Keeps `data`, read whole as `content`, `usage` and `model`, as a frame, if its tokens
    /// say the same as the whole read (the scan agrees with serde) and its content is in a
    /// hole or none: a frame with a fixed content (written with escapes) would fit no other
    /// chunk.
    fn learn(
        &mut self,
        data: &str,
        content: Option<&str>,
        usage: Option<Usage>,
        model: Option<&str>,
        finishes: bool,
    ) {
        let holder: &[u8] = match self.bodies {
            true => b"message",
            false => b"delta",
        };
        let Some(frame) = Frame::new(data, content, usage, model, holder) else {
            return;
        };
        self.tick += 1;
        let frame = Frame {
            used: self.tick,
            finishes,
            ..frame
        };
        let at = if self.list.len() < FRAMES {
            self.list.push(frame);
            self.list.len() - 1
        } else if let Some((i, _)) = self.list.iter().enumerate().min_by_key(|(_, f)| f.used) {
            self.list[i] = frame;
            i
        } else {
            return;
        };
        if let Some(before) = self.list.get_mut(self.last).filter(|_| at != self.last) {
            before.next = Some(at);
        }
        self.last = at;
        if !self.bodies {
            self.note_current(at, u16::MAX);
        }
    }
}

/// A chunk read whole, and where its tokens a next chunk of the same shape may change are (its
/// holes). A chunk that is this text with other tokens of the same type in the holes is the
/// same JSON, valid and shaped the same, with only those values changed: each hole is a whole
/// token (a string literal without escapes, or an unsigned integer), the text before it ends
/// at a token boundary (`:`, `[`, `,` or whitespace) and the text after it begins at one
/// (the quote ends a string; what followed an integer in valid JSON cannot continue it, so a
/// longer number in its place leaves the text after it unmatched). So a whole read of such a
/// chunk says what the frame's did, but for the holes' values: the content, the counts, and
/// nothing for the other holes, which are top-level members the read ignores (the id, the
/// creation time).
#[derive(Debug, Clone, Default)]
struct Frame {
    /// The text of the last chunk read in this shape, which is UTF-8.
    text: Vec<u8>,
    /// In the order they come in the text.
    holes: Vec<Hole>,
    /// Which of the holes is `choices[0].delta.content`, if one is: else the content is none.
    content: Option<usize>,
    /// The usage of the last chunk read in this shape.
    usage: Option<Usage>,
    model: Option<Arc<str>>,
    /// The tick of its last read.
    used: u64,
    /// The text has no line end in it (no JSON whitespace that is one): an event of it is on
    /// one line. Tokens in the holes have none either, so it stays true of a next text.
    one_line: bool,
    /// The frame that read a chunk right after this one last did, when it was another: the
    /// shape that comes next, tried first on the token road.
    next: Option<usize>,
    /// For a frame with content on one line, what lies between the contents of two events of
    /// its shape one after the other in a stream: the text after the content, the blank line
    /// that ends the event, `data: `, and the text before the content. Empty for any other.
    seam: Vec<u8>,
    /// The [`Frames::generation`] whose tokens its ignored holes hold.
    generation: u64,
    /// Its chunk set `choices[0].finish_reason`, which is fixed text in a frame (not a hole):
    /// every chunk it reads sets it too.
    finishes: bool,
}

/// A token of a frame's text that a chunk may change, from its first byte to after its last.
#[derive(Debug, Clone, Copy)]
struct Hole {
    kind: Kind,
    start: usize,
    end: usize,
    /// For an ignored member's value, its key's [`key_hash`] (never 0); 0 for any other hole.
    key: u64,
}

/// What a hole's token is to the read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `choices[0].delta.content`: the piece of text.
    Content,
    /// One of `usage`'s counts.
    Count(Count),
    /// The value of a top-level member that is not read (a key other than `choices`, `usage`
    /// and `model`, written without escapes): `id`, `created`, `object`.
    Ignored,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Count {
    Prompt,
    Completion,
    Total,
}

impl Count {
    fn of(self, usage: &mut Usage) -> &mut Option<u64> {
        match self {
            Count::Prompt => &mut usage.input_tokens,
            Count::Completion => &mut usage.output_tokens,
            Count::Total => &mut usage.total_tokens,
        }
    }
}

/// More holes than a chunk needs: the content, three counts and a few ignored members.
const HOLES: usize = 12;
/// Of which ignored members: those past these stay fixed text.
const IGNORED_HOLES: usize = 8;

impl Frame {
    /// The frame of `data`, read whole as the rest says; `None` when the scan of its tokens
    /// does not say the same (a shape the scan does not follow) or its content is fixed.
    ///
    /// `holder` is the member of `choices[0]` whose `content` is the text: `delta` in a chunk,
    /// `message` in a whole completion.
    fn new(
        data: &str,
        content: Option<&str>,
        usage: Option<Usage>,
        model: Option<&str>,
        holder: &'static [u8],
    ) -> Option<Self> {
        let holes = Scan::holes(data.as_bytes(), holder)?;
        let text = data.as_bytes();
        let mut at_content = None;
        let mut counts = Usage::default();
        for (i, hole) in holes.iter().enumerate() {
            let token = &text[hole.start..hole.end];
            match hole.kind {
                Kind::Content => {
                    at_content = Some(i);
                    if Some(plain_string(token)?) != content {
                        return None;
                    }
                }
                Kind::Count(count) => *count.of(&mut counts) = Some(unsigned(token)?.1),
                Kind::Ignored => {}
            }
        }
        if at_content.is_none() && content.is_some() {
            return None;
        }
        // Each count in a hole is the count the read took.
        let agree = holes.iter().all(|h| match h.kind {
            Kind::Count(c) => usage.is_some_and(|mut u| *c.of(&mut u) == *c.of(&mut counts)),
            _ => true,
        });
        if !agree {
            return None;
        }
        let mut frame = Frame {
            text: text.to_vec(),
            holes,
            content: at_content,
            usage,
            model: model.map(Arc::from),
            used: 0,
            one_line: !text.iter().any(|&b| b == b'\n' || b == b'\r'),
            next: None,
            seam: Vec::new(),
            generation: 0,
            finishes: false,
        };
        frame.sew();
        Some(frame)
    }

    /// The quick road: `data` is the frame's text with another content literal (or, for a
    /// frame without content, the frame's text itself). The content, if it fits.
    fn quick<'a>(&self, data: &'a [u8]) -> Option<Option<&'a str>> {
        let Some(at) = self.content else {
            return (data == self.text.as_slice()).then_some(None);
        };
        let hole = self.holes[at];
        let literal = data
            .strip_prefix(&self.text[..hole.start])?
            .strip_suffix(&self.text[hole.end..])?;
        plain_string(literal).map(Some)
    }

    /// The quick road where the chunk's text may go on past its end (the body of a stream, read
    /// where it lies), for a run of events: the events at the start of `bytes` that are each
    /// `data: `, the frame's text with another content literal, and a blank line, one after the
    /// other. Their length (0 for none), their contents appended to `text`. Between the content
    /// of one such event and that of the next lies the frame's [`Frame::seam`], compared once
    /// where each event read alone had its start, the text on either side of its content and
    /// its end compared on their own, and was handed from the event parser to the reader and
    /// back: a reply's words come one event each. For a frame with content on one line; 0 for
    /// any other.
    fn run(&self, bytes: &[u8], text: &mut Vec<u8>) -> usize {
        let Some(at) = self.content else {
            return 0;
        };
        // The frame's text after the content, and the blank line.
        let tail = self.text.len() - self.holes[at].end + 2;
        let Some((end, lead)) = self.seam.split_at_checked(tail) else {
            return 0;
        };
        if !bytes.starts_with(lead) {
            return 0;
        }
        let (mut at, mut taken) = (lead.len(), 0);
        while let Some((len, content)) = plain_bytes(&bytes[at..]) {
            let after = &bytes[at + len..];
            if after.starts_with(&self.seam) {
                push_piece(text, content, &bytes[at + 1..]);
                taken = at + len + tail;
                at = taken + lead.len();
                continue;
            }
            if after.starts_with(end) {
                text.extend_from_slice(content);
                taken = at + len + tail;
            }
            break;
        }
        taken
    }

    /// For a frame without content: the length of the event at the start of `bytes` if it is
    /// `data: `, the frame's text with the same or other counts in its count holes (the text
    /// itself, for a frame without counts), and a blank line, and the usage it states. What
    /// the token road would say of it, with its ignored holes holding the frame's own tokens
    /// (the current completion's, brought up to them), but that the frame is left as it was:
    /// its text and its usage still say the same. A stream's last chunk, its usage, differs
    /// from the one before it only in its counts (the prompt grows a turn at a time), and it
    /// had taken the token road every time, the dearest way through a chunk (every hole's
    /// token scanned, the text copied).
    fn bare_at(&self, bytes: &[u8]) -> Option<(usize, Option<Usage>)> {
        let data = bytes.strip_prefix(b"data: ")?;
        let mut usage = self.usage;
        let (mut in_frame, mut at) = (0, 0);
        for hole in &self.holes {
            let Kind::Count(count) = hole.kind else {
                continue;
            };
            let fixed = &self.text[in_frame..hole.start];
            if !data.get(at..)?.starts_with(fixed) {
                return None;
            }
            at += fixed.len();
            let (len, n) = unsigned(&data[at..])?;
            // A frame with counts has a usage (`Frame::new` keeps none whose counts disagree).
            *count.of(usage.as_mut()?) = Some(n);
            at += len;
            in_frame = hole.end;
        }
        let end = &self.text[in_frame..];
        let after = data.get(at..)?;
        (after.starts_with(end) && after[end.len()..].starts_with(b"\n\n"))
            .then_some((b"data: ".len() + at + end.len() + 2, usage))
    }

    /// Sets [`Frame::seam`] from the frame's text and holes.
    fn sew(&mut self) {
        self.seam.clear();
        let Some(at) = self.content.filter(|_| self.one_line) else {
            return;
        };
        let hole = self.holes[at];
        self.seam.extend_from_slice(&self.text[hole.end..]);
        self.seam.extend_from_slice(b"\n\ndata: ");
        self.seam.extend_from_slice(&self.text[..hole.start]);
    }

    /// The token road: `data` is the frame's text with other tokens in its holes (followed by
    /// `tail`, if given: see [`Frames::by_tokens`]). The length of that text and the content
    /// (the bytes of UTF-8 text: see [`plain_bytes`]), if it fits; the frame's text is then
    /// that, so that the next chunk of the same completion (the same id and creation time)
    /// takes the quick road. Last, the ignored holes (a bit each) that took a token other than
    /// the frame's: the chunk is of another completion.
    fn by_tokens<'a>(
        &mut self,
        data: &'a [u8],
        tail: Option<&[u8]>,
        fresh: &mut Vec<u8>,
    ) -> Option<(usize, Option<&'a [u8]>, u16)> {
        let mut spans = [(0, 0); HOLES];
        let mut content = None;
        let mut usage = self.usage;
        let mut moved = 0u16;
        // How far the frame and `data` have been matched.
        let (mut in_frame, mut at) = (0, 0);
        for (i, (hole, span)) in self.holes.iter().zip(spans.iter_mut()).enumerate() {
            let fixed = &self.text[in_frame..hole.start];
            if !data.get(at..)?.starts_with(fixed) {
                return None;
            }
            at += fixed.len();
            let rest = &data[at..];
            let was = &self.text[hole.start..hole.end];
            let len = match hole.kind {
                Kind::Content => {
                    let (len, text) = plain_bytes(rest)?;
                    content = Some(text);
                    len
                }
                // The same count or number as the frame's (a creation time within a second)
                // is compared, not scanned: what follows it is not a digit, so `unsigned` would
                // take it whole.
                Kind::Count(_) if same_number(rest, was) => {
                    usage.as_ref()?;
                    was.len()
                }
                Kind::Count(count) => {
                    let (len, n) = unsigned(rest)?;
                    *count.of(usage.as_mut()?) = Some(n);
                    len
                }
                // The same id as the frame's, the common case, is compared, not scanned.
                Kind::Ignored if was[0] == b'"' && rest.starts_with(was) => was.len(),
                Kind::Ignored if was[0] == b'"' && !fresh.is_empty() && rest.starts_with(fresh) => {
                    moved |= 1 << i;
                    fresh.len()
                }
                Kind::Ignored if was[0] == b'"' => {
                    let (len, _) = plain_bytes(rest)?;
                    fresh.clear();
                    fresh.extend_from_slice(&rest[..len]);
                    moved |= 1 << i;
                    len
                }
                Kind::Ignored if same_number(rest, was) => was.len(),
                Kind::Ignored => {
                    moved |= 1 << i;
                    unsigned(rest)?.0
                }
            };
            *span = (at, at + len);
            at += len;
            in_frame = hole.end;
        }
        let end = &self.text[in_frame..];
        let after = data.get(at..)?;
        let fits = match tail {
            None => after == end,
            Some(tail) => after.starts_with(end) && after[end.len()..].starts_with(tail),
        };
        if !fits {
            return None;
        }
        let data = &data[..at + end.len()];
        self.text.clear();
        self.text.extend_from_slice(data);
        for (hole, (start, end)) in self.holes.iter_mut().zip(spans) {
            hole.start = start;
            hole.end = end;
        }
        self.usage = usage;
        self.sew();
        Some((data.len(), content, moved))
    }

    /// Brings the frame's ignored holes up to the `current` tokens (of `generation`), so that
    /// a chunk of the current completion fits its quick road: a completion's first chunk
    /// brings its new id and creation time, which each other shape's frame would otherwise
    /// meet on the token road. Exact whatever the tokens: an ignored member is not read, and a
    /// token of the hole's type (a plain string literal, an unsigned integer) in its place
    /// leaves the text valid JSON of the same shape. Only the tokens changed since the frame
    /// last held the current ones are written, in place when of the same length (an id, a
    /// time), the seam's copy too.
    fn refresh(&mut self, current: &[Current], generation: u64) {
        if self.generation == generation {
            return;
        }
        let since = self.generation;
        self.generation = generation;
        let mut sew = false;
        for c in current.iter().filter(|c| c.changed > since) {
            let Some(i) = self.holes.iter().position(|h| h.key == c.key) else {
                continue;
            };
            let hole = self.holes[i];
            let token = c.token.as_slice();
            let was = hole.end - hole.start;
            if (self.text[hole.start] == b'"') != (token[0] == b'"') {
                continue;
            }
            if token.len() == was {
                self.text[hole.start..hole.end].copy_from_slice(token);
                // Once a token of another length has moved the text, the seam is sewn anew
                // at the end, and its copy of this one is not where the text says.
                if let Some(at) = self.in_seam(hole).filter(|_| !sew) {
                    self.seam[at..at + token.len()].copy_from_slice(token);
                }
                continue;
            }
            // Rare (a token of another length): std's splice, the seam sewn anew below.
            self.text
                .splice(hole.start..hole.end, token.iter().copied());
            self.holes[i].end = hole.start + token.len();
            for later in &mut self.holes[i + 1..] {
                later.start = later.start - was + token.len();
                later.end = later.end - was + token.len();
            }
            sew = true;
        }
        if sew {
            self.sew();
        }
        #[cfg(debug_assertions)]
        {
            // The seam written in place is the one the text would sew.
            let mut sewn = self.clone();
            sewn.sew();
            debug_assert_eq!(sewn.seam, self.seam);
        }
    }

    /// Where `hole`'s token lies in the frame's seam ([`Frame::sew`] says what is where), if it
    /// has one.
    fn in_seam(&self, hole: Hole) -> Option<usize> {
        if self.seam.is_empty() {
            return None;
        }
        let content = self.holes[self.content?];
        if hole.start >= content.end {
            Some(hole.start - content.end)
        } else {
            Some(self.text.len() - content.end + b"\n\ndata: ".len() + hole.start)
        }
    }
}

/// The length of the string literal at the start of `text`, up to its first closing quote
/// (an escaped quote ends it too early: [`plain_string`] refuses the escape).
#[cfg(test)]
fn string_len(text: &[u8]) -> Option<usize> {
    let body = text.strip_prefix(b"\"")?;
    Some(memchr::memchr(b'"', body)? + 2)
}

/// Appends `piece` (a word of a reply, most often) to `text`, `from` being where it lies in
/// the body, followed by at least what follows it there. A piece of up to eight bytes with
/// eight bytes from its start in hand is copied as one word of eight and cut back, not by a
/// `memcpy` call of its own length, which had cost as much as finding the word.
#[inline(always)]
fn push_piece(text: &mut Vec<u8>, piece: &[u8], from: &[u8]) {
    debug_assert!(from.starts_with(piece));
    match from.first_chunk::<8>() {
        Some(eight) if piece.len() <= 8 => {
            let keep = text.len() + piece.len();
            text.extend_from_slice(eight);
            text.truncate(keep);
        }
        _ => text.extend_from_slice(piece),
    }
}

/// The plain string literal at the start of `text` (what [`plain_string`] takes of the literal
/// [`string_len`] finds there): its length, quotes and all, and its text. One pass finds the
/// closing quote and refuses an escape or a control character, where the two took two passes
/// and a `memchr` call, most of the cost of a short word. The reading roads take
/// [`plain_bytes`]; this is what the tests hold it to.
#[cfg(test)]
fn plain_literal(text: &[u8]) -> Option<(usize, &str)> {
    let (len, body) = plain_bytes(text)?;
    Some((len, std::str::from_utf8(body).ok()?))
}

/// Whether `text` starts with the number `was` (an unsigned integer a hole took) and no digit
/// follows it: what [`unsigned`] would read there is `was`.
#[inline]
fn same_number(text: &[u8], was: &[u8]) -> bool {
    text.starts_with(was) && !text.get(was.len()).is_some_and(u8::is_ascii_digit)
}

/// The text of `literal` (quotes and all), if it is one string literal without escapes or
/// control characters, and UTF-8.
fn plain_string(literal: &[u8]) -> Option<&str> {
    let body = literal.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    // Eight bytes at a time while they are plain ASCII (an id is some thirty, which the byte
    // loop below takes at four instructions or so each), then byte by byte.
    let mut words = body.chunks_exact(8);
    let mut rest = body;
    for word in &mut words {
        let mut eight = [0; 8];
        eight.copy_from_slice(word);
        if !plain_ascii(u64::from_le_bytes(eight)) {
            break;
        }
        rest = &rest[8..];
    }
    if rest.iter().all(|&b| b != b'"' && b != b'\\' && b >= 0x20) {
        std::str::from_utf8(body).ok()
    } else {
        None
    }
}

/// Whether none of the eight bytes of `word` is a quote, a backslash, a control character or
/// not ASCII (the classic tests for a zero byte, and for one below 0x20, in each lane).
fn plain_ascii(word: u64) -> bool {
    special_bytes(word) == 0
}

/// The length and value of the unsigned integer at the start of `text`, as JSON writes one
/// (no leading zero) and a `u64` holds it.
fn unsigned(text: &[u8]) -> Option<(usize, u64)> {
    let len = text.iter().take_while(|b| b.is_ascii_digit()).count();
    let digits = &text[..len];
    if digits.is_empty() || (digits[0] == b'0' && len > 1) {
        return None;
    }
    let mut n = 0u64;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some((len, n))
}

/// Where a value lies in a chunk, as far as the read goes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Place {
    /// The chunk itself.
    Top,
    /// A top-level member's value that the read ignores.
    Ignored,
    Choices,
    /// `choices[0]`.
    Choice,
    /// `choices[0].delta` of a chunk, `choices[0].message` of a whole completion.
    Delta,
    Content,
    Usage,
    Count(Count),
    /// Anywhere else: nothing in it is a hole.
    Other,
}

impl Place {
    /// The place of the value of this place's member `key` (written without escapes), the text
    /// being the `content` of `choices[0]`'s member `holder`.
    fn member(self, key: &[u8], holder: &[u8]) -> Place {
        match (self, key) {
            (Place::Top, b"choices") => Place::Choices,
            (Place::Top, b"usage") => Place::Usage,
            (Place::Top, b"model") => Place::Other,
            (Place::Top, _) => Place::Ignored,
            (Place::Choice, _) if key == holder => Place::Delta,
            (Place::Delta, b"content") => Place::Content,
            (Place::Usage, b"prompt_tokens") => Place::Count(Count::Prompt),
            (Place::Usage, b"completion_tokens") => Place::Count(Count::Completion),
            (Place::Usage, b"total_tokens") => Place::Count(Count::Total),
            _ => Place::Other,
        }
    }
}

/// A walk over a chunk serde has read whole (so valid JSON, nested no deeper than serde
/// allows), finding its holes. Only paths written without escapes lead to a hole: a key with
/// an escape may spell a field, and its value stays fixed text.
struct Scan<'t> {
    b: &'t [u8],
    i: usize,
    holes: Vec<Hole>,
    ignored: usize,
    /// See [`Place::member`].
    holder: &'static [u8],
    /// The [`key_hash`] of the top-level member whose value is being walked.
    key: u64,
}

impl<'t> Scan<'t> {
    /// The holes of `text`, in order; `None` for text the walk does not take.
    fn holes(text: &'t [u8], holder: &'static [u8]) -> Option<Vec<Hole>> {
        let mut scan = Scan {
            b: text,
            i: 0,
            holes: Vec::new(),
            ignored: 0,
            holder,
            key: 0,
        };
        scan.value(Place::Top)?;
        scan.space();
        (scan.i == text.len()).then_some(scan.holes)
    }

    fn space(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// Past `byte` (after whitespace), which must come next.
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        (self.b.get(self.i) == Some(&byte)).then(|| self.i += 1)
    }

    /// After a member or an element: past a `,` (another follows: `true`) or past `close`
    /// (the object or array ends: `false`); `None` for anything else.
    fn more(&mut self, close: u8) -> Option<bool> {
        self.space();
        let byte = *self.b.get(self.i)?;
        self.i += 1;
        match byte {
            b',' => Some(true),
            b if b == close => Some(false),
            _ => None,
        }
    }

    fn value(&mut self, place: Place) -> Option<()> {
        self.space();
        let start = self.i;
        match *self.b.get(start)? {
            b'{' => {
                self.i += 1;
                self.space();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.space();
                    let (from, to, plain) = self.string()?;
                    let inner = match plain {
                        true => place.member(&self.b[from + 1..to - 1], self.holder),
                        false => Place::Other,
                    };
                    if inner == Place::Ignored {
                        self.key = key_hash(&self.b[from + 1..to - 1]);
                    }
                    self.eat(b':')?;
                    self.value(inner)?;
                    if !self.more(b'}')? {
                        break;
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.space();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                let mut inner = match place {
                    Place::Choices => Place::Choice,
                    _ => Place::Other,
                };
                loop {
                    self.value(inner)?;
                    inner = Place::Other;
                    if !self.more(b']')? {
                        break;
                    }
                }
            }
            b'"' => {
                let (from, to, plain) = self.string()?;
                match place {
                    Place::Content if plain => self.hole(Kind::Content, from, to)?,
                    Place::Ignored if plain => self.hole(Kind::Ignored, from, to)?,
                    _ => {}
                }
            }
            _ => {
                // A number or a literal, up to what ends it.
                while self
                    .b
                    .get(self.i)
                    .is_some_and(|c| !b",}] \t\n\r".contains(c))
                {
                    self.i += 1;
                }
                let token = &self.b[start..self.i];
                let uint = unsigned(token).is_some_and(|(len, _)| len == token.len());
                match place {
                    Place::Count(count) if uint => self.hole(Kind::Count(count), start, self.i)?,
                    Place::Ignored if uint => self.hole(Kind::Ignored, start, self.i)?,
                    _ if token.is_empty() => return None,
                    _ => {}
                }
            }
        }
        Some(())
    }

    /// The string literal here: where it starts, where it ends (after the closing quote), and
    /// whether it is plain (no escapes, no control characters).
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.i;
        if self.b.get(start) != Some(&b'"') {
            return None;
        }
        let mut plain = true;
        let mut i = start + 1;
        loop {
            match *self.b.get(i)? {
                b'"' => break,
                b'\\' => {
                    plain = false;
                    i += 2;
                }
                c => {
                    plain &= c >= 0x20;
                    i += 1;
                }
            }
        }
        self.i = i + 1;
        Some((start, i + 1, plain))
    }

    /// Records a hole; an ignored member past the first few stays fixed text. `None` for a
    /// content or count met twice, which serde would have refused.
    fn hole(&mut self, kind: Kind, start: usize, end: usize) -> Option<()> {
        if kind == Kind::Ignored {
            if self.ignored == IGNORED_HOLES {
                return Some(());
            }
            self.ignored += 1;
        } else if self.holes.iter().any(|h| h.kind == kind) {
            return None;
        }
        let key = match kind {
            Kind::Ignored => self.key,
            _ => 0,
        };
        self.holes.push(Hole {
            kind,
            start,
            end,
            key,
        });
        Some(())
    }
}

/// A key's name as a number that is never 0 (FNV-1a): what [`Frame::refresh`] matches the
/// holes of two frames by. Two names of one hash would only make a frame's quick road miss.
fn key_hash(name: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in name {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    hash.max(1)
}

/// [`tree_chunk`]'s piece alone, which the tests compare with the other roads'.
#[cfg(test)]
fn chunk_from_tree(
    data: &str,
    usage: &mut Usage,
    model: &mut Option<Arc<str>>,
    instead: &mut Instead,
) -> Result<Piece<'static>, String> {
    tree_chunk(data, usage, model, instead).map(|(piece, _)| piece)
}

/// A chunk read as a tree, for what serde's [`Completion`] does not take and for a chunk that
/// calls a tool or refuses: its piece (its usage and model taken into the reply's, its tool
/// calls and refusal into `instead`), and whether it set `choices[0].finish_reason`.
fn tree_chunk(
    data: &str,
    usage: &mut Usage,
    model: &mut Option<Arc<str>>,
    instead: &mut Instead,
) -> Result<(Piece<'static>, bool), String> {
    let value: Value = serde_json::from_str(data).map_err(|e| {
        format!(
            "a stream event is not JSON ({e}): `{}`",
            truncate(data, 200)
        )
    })?;
    if let Some(u) = value.get("usage").filter(|u| u.is_object()) {
        *usage = usage_of(u);
    }
    if model.is_none() {
        *model = value.get("model").and_then(Value::as_str).map(Arc::from);
    }
    if let Some(reason) = stream_error(&value) {
        return Err(reason);
    }
    let finishes = zeroth(&value)
        .and_then(|c| c.get("finish_reason"))
        .is_some_and(|f| !f.is_null());
    if let Some(delta) = zeroth(&value).and_then(|c| c.get("delta")) {
        instead.take(delta, false);
    }
    let text = match zeroth(&value).and_then(|c| c.pointer("/delta/content")) {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(Cow::Owned(t.clone())),
        // A piece as a list of parts, as a whole completion's content may be: its text parts.
        // A list of none (a `thinking` piece) is no text, as a chunk without content is not.
        Some(Value::Array(parts)) => text_of_parts(parts).ok().map(Cow::Owned),
        // As a whole completion's: a content that is not a string is not read as none, which
        // would drop a piece of the reply without a word.
        Some(other) => {
            return Err(format!(
                "a chunk's `choices[0].delta.content` is not a string: `{}`",
                truncate(&other.to_string(), 200)
            ))
        }
    };
    Ok((Piece { text }, finishes))
}

/// The error an event of a stream reports, in the shapes servers send after a 200 went out:
/// OpenAI's and LiteLLM's `{"error": {"message"}}`, `{"error": "..."}`, vLLM's
/// `{"object": "error", "message"}`.
fn stream_error(value: &Value) -> Option<String> {
    let error = value.get("error").filter(|e| !e.is_null());
    let vllm = (value.get("object").and_then(Value::as_str) == Some("error")).then_some(value);
    let said = error.or(vllm)?;
    let message = said
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| said.as_str())
        .map_or_else(|| truncate(&said.to_string(), 200), str::to_string);
    Some(format!("the stream reported an error: {message}"))
}

/// OpenAI's `{"error": {"message", "type", "code"}}`, `{"error": "..."}`; else FastAPI's
/// `detail`; else a top-level `message` (vLLM's `{"object": "error", "message"}`, and the
/// shape of many hand-written agents' errors); else the text.
pub fn parse_error(bytes: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return Some(m.to_string());
        }
        if let Some(m) = v.get("error").and_then(Value::as_str) {
            return Some(m.to_string());
        }
        if v.get("detail").is_none() {
            if let Some(m) = v.get("message").and_then(Value::as_str) {
                return Some(m.to_string());
            }
        }
    }
    super::thinnest::parse_detail(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conversation that ends leaves its frames to the next one of its endpoint, but not one
    /// dropped while a panic unwinds (the runner survives a dialogue's panic), whose frames may
    /// be halfway through a change; and a long history's room is not kept.
    #[test]
    fn only_a_conversation_that_ends_well_leaves_a_spare() {
        let spec = OpenAiSpec {
            model: "m".into(),
            system: None,
            params: Map::new(),
            stream: true,
        };
        let endpoint = model::Endpoint {
            kind: model::EndpointKind::OpenAi(spec.clone()),
            base_url: model::BaseUrl::Mock,
            env_secrets: Vec::new(),
            agent_id: "m".into(),
            api_key: None,
            headers: Vec::new(),
            timeout: model::Endpoint::DEFAULT_TIMEOUT,
            retries: 0,
            rate_limit: None,
            mock_script: None,
        };
        let ep =
            Arc::new(OpenAi::new(Client::new(1), "http://127.0.0.1:9", &endpoint, &spec).unwrap());
        let spares = || ep.spare.lock().unwrap().len();
        let conversation = Arc::clone(&ep).open(SessionMode::Fresh, "d");
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _held = conversation;
            panic!("a dialogue's panic");
        }));
        assert!(unwound.is_err());
        assert_eq!(spares(), 0);
        drop(Arc::clone(&ep).open(SessionMode::Fresh, "d"));
        assert_eq!(spares(), 1);
        // A spare is taken by the next conversation, and a long history's room not kept.
        let taken = Arc::clone(&ep).open(SessionMode::Fresh, "d");
        assert_eq!(spares(), 0);
        drop(taken);
        let mut long = OpenAiConversation {
            endpoint: Arc::clone(&ep),
            history: History::default(),
            frames: Frames::default(),
            bodies: Frames::of_bodies(),
            named: None,
        };
        long.history.json.reserve(SPARE_HISTORY + 1);
        drop(long);
        let rooms: Vec<usize> = ep
            .spare
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.history.capacity())
            .collect();
        assert_eq!(rooms.len(), 2);
        assert!(rooms.iter().all(|&c| c <= SPARE_HISTORY), "{rooms:?}");
    }

    /// A message asked and not answered (an error, a malformed reply, a send dropped halfway) is
    /// no part of the history: the next turn's body, or a retry of the same, carries it once.
    #[test]
    fn a_message_without_an_answer_is_taken_back() {
        let spec = OpenAiSpec {
            model: "m".into(),
            system: None,
            params: Map::new(),
            stream: false,
        };
        let parts = BodyParts::new(&spec).unwrap();
        let mut history = History::default();
        history.ask(&parts, "one");
        history.answer("first");
        history.ask(&parts, "two");
        history.take_back();
        history.ask(&parts, "two");
        // Asked again with no answer in between, as after a send whose future was dropped.
        history.ask(&parts, "two");
        let body = parts.with(&history);
        let whole = whole_body(&spec, &[("one", "first")], "two");
        assert_eq!(
            String::from_utf8_lossy(&body),
            String::from_utf8_lossy(&whole)
        );
        history.answer("second");
        history.answer("never asked");
        history.ask(&parts, "three");
        let whole = whole_body(&spec, &[("one", "first"), ("two", "second")], "three");
        assert_eq!(
            String::from_utf8_lossy(&parts.with(&history)),
            String::from_utf8_lossy(&whole)
        );
    }

    /// Every body, built from the parts and the written history, is the one serde writes from
    /// the whole message list: params of every shape (one of our own keys among them, and
    /// `]`s and a nested `messages` inside), with and without a system message and a stream,
    /// after zero to three turns of text that needs escaping.
    #[test]
    fn bodies_from_parts_are_the_whole_bodies() {
        let params: Vec<Map<String, Value>> = vec![
            Map::new(),
            serde_json::from_str(r#"{"temperature": 0.2, "stop": ["]", "\n]"]}"#).unwrap(),
            serde_json::from_str(
                r#"{"model": "other", "x": {"messages": []}, "stream": true, "y": "]\"]"}"#,
            )
            .unwrap(),
        ];
        let texts = [
            "hi",
            "",
            "say \"]\" and \\ \n\u{1} é 🦀",
            "]",
            "{\"role\":1}",
        ];
        for params in &params {
            for system in [None, Some("Be brief]"), Some("")] {
                for stream in [false, true] {
                    let spec = OpenAiSpec {
                        model: "gpt \"x\"".into(),
                        system: system.map(String::from),
                        params: params.clone(),
                        stream,
                    };
                    let parts = BodyParts::new(&spec).unwrap();
                    let mut history = History::default();
                    let mut turns: Vec<(&str, &str)> = Vec::new();
                    for (i, &said) in texts.iter().enumerate() {
                        history.ask(&parts, said);
                        let built = parts.with(&history);
                        let whole = whole_body(&spec, &turns, said);
                        assert_eq!(
                            String::from_utf8_lossy(&built),
                            String::from_utf8_lossy(&whole),
                            "{spec:?} after {i} turns"
                        );
                        let answer = texts[texts.len() - 1 - i];
                        history.answer(answer);
                        turns.push((said, answer));
                    }
                }
            }
        }
    }

    /// The body as serde writes it from every message at once.
    fn whole_body(spec: &OpenAiSpec, turns: &[(&str, &str)], message: &str) -> Vec<u8> {
        let mut messages = Vec::new();
        if let Some(system) = &spec.system {
            messages.push(Msg {
                role: "system",
                content: system,
            });
        }
        for (user, assistant) in turns {
            messages.push(Msg {
                role: "user",
                content: user,
            });
            messages.push(Msg {
                role: "assistant",
                content: assistant,
            });
        }
        messages.push(Msg {
            role: "user",
            content: message,
        });
        serde_json::to_vec(&Body::new(spec, messages)).unwrap()
    }

    /// The one-pass reader and the tree reader say the same of every body and chunk.
    #[test]
    fn both_readers_agree() {
        for body in [
            r#"{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#,
            r#"{"choices":[{"message":{"content":"hi"}}],"usage":null,"model":null}"#,
            r#"{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":-3}}"#,
            r#"{"choices":[{"message":{"content":"hi"}}],"usage":5,"model":7}"#,
            r#"{"choices":[{"message":{"content":null}}]}"#,
            r#"{"choices":[1]}"#,
            r#"{"choices":[]}"#,
            r#"{"choices":[{"message":{"content":"a"}}],"choices":[{"message":{"content":"b"}}]}"#,
            // An empty text beside tool calls or a refusal, and beside none.
            r#"{"choices":[{"message":{"role":"assistant","content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"message":{"content":"","tool_calls":[{"function":{"name":"a"}},{"id":"c2"}]}}]}"#,
            r#"{"choices":[{"message":{"content":"","tool_calls":[]}}]}"#,
            r#"{"choices":[{"message":{"content":"Sure.","tool_calls":[{"function":{"name":"f"}}]}}]}"#,
            r#"{"choices":[{"message":{"content":"","refusal":"No."}}]}"#,
            r#"{"choices":[{"message":{"content":"","refusal":""}}]}"#,
            r#"{"choices":[{"message":{"content":"","refusal":null,"tool_calls":null}}]}"#,
            r#"{"choices":[{"message":{"content":"","tool_calls":5}}]}"#,
            r#"{"choices":[{"message":{"content":"","refusal":5}}]}"#,
            r#"{"choices":[{"message":{"content":[{"type":"text","text":""}],"tool_calls":[{}]}}]}"#,
            r#"{"choices":[{"index":1,"message":{"content":"","tool_calls":[{}]}},{"index":0,"message":{"content":""}}]}"#,
            // The deprecated single call, beside no text, an empty one, and a text.
            r#"{"choices":[{"message":{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{}"}}}]}"#,
            r#"{"choices":[{"message":{"content":"","function_call":{"arguments":"{}"}}}]}"#,
            r#"{"choices":[{"message":{"content":"Sure.","function_call":{"name":"f"}}}]}"#,
            r#"{"choices":[{"message":{"content":"","function_call":null}}]}"#,
            r#"{"choices":[{"message":{"content":"","function_call":"auto"}}]}"#,
            "[]",
            "nope",
        ] {
            let fast = format!("{:?}", parse_completion(body.as_bytes()));
            let tree = format!("{:?}", completion_from_tree(body.as_bytes()));
            assert_eq!(fast, tree, "{body}");
        }
        for data in [
            r#"{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]}"#,
            r#"{"choices":[{"delta":{"role":"assistant"}}]}"#,
            r#"{"choices":[{"delta":{"content":null}}],"model":"m2"}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#,
            r#"{"usage":{"prompt_tokens":3}}"#,
            r#"{"choices":[{"delta":{"content":3}}],"usage":"x"}"#,
            // vLLM's tool call: an empty content, then the call and its arguments.
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"chatcmpl-tool-1","type":"function","function":{"name":"get_weather","arguments":""}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Paris\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"content":null,"refusal":"No."}}]}"#,
            r#"{"choices":[{"delta":{"content":"a","tool_calls":[{"function":{"name":"f"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":"x"}}]}"#,
            r#"{"choices":[{"delta":{"content":"","tool_calls":[]}}]}"#,
            r#"{"choices":[{"delta":{"content":null,"function_call":{"name":"get_weather","arguments":""}}}]}"#,
            r#"{"choices":[{"delta":{"function_call":{"arguments":"{\"city\": \"Paris\"}"}}}]}"#,
            r#"{"choices":[{"delta":{"content":"","function_call":null}}]}"#,
            "not json",
        ] {
            let (mut u1, mut m1, mut frames) = (Usage::default(), None, Frames::default());
            let (mut u2, mut m2, mut i2) = (Usage::default(), None, Instead::default());
            let fast = format!(
                "{:?}",
                read_chunk(data.as_bytes(), &mut frames, &mut u1, &mut m1)
            );
            let tree = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2, &mut i2));
            assert_eq!((fast, u1, m1, frames.instead), (tree, u2, m2, i2), "{data}");
        }
    }

    #[test]
    fn completion_text_usage_and_model() {
        let body = br#"{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hi!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}"#;
        let ReplyBody::Agent(a) = parse_completion(body) else {
            panic!("not an agent reply")
        };
        assert_eq!(a.text, "Hi!");
        assert_eq!(a.usage.input_tokens, Some(9));
        assert_eq!(a.usage.output_tokens, Some(3));
        assert_eq!(a.usage.total_tokens, Some(12));
        assert_eq!(a.model.as_deref(), Some("gpt-4o-mini"));
    }

    #[test]
    fn a_tool_call_or_a_refusal_is_said_in_words() {
        let args = "x".repeat(400);
        let body = format!(
            r#"{{"choices":[{{"message":{{"role":"assistant","tool_calls":[{{"id":"c1","type":"function","function":{{"name":"get_weather","arguments":"{args}"}}}}],"content":null}}}}]}}"#
        );
        let ReplyBody::Malformed { reason } = parse_completion(body.as_bytes()) else {
            panic!("a tool call is no text")
        };
        assert!(
            reason.starts_with("the model called a tool (get_weather) instead of answering"),
            "{reason}"
        );
        let body =
            br#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that."}}]}"#;
        let ReplyBody::Malformed { reason } = parse_completion(body) else {
            panic!("a refusal is no text")
        };
        assert!(reason.ends_with("`I can't help with that.`"), "{reason}");
        // The deprecated `function_call`, whole and streamed (named in its first chunk only, or
        // in each), is a call too.
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{}"}}}]}"#;
        let ReplyBody::Malformed { reason } = parse_completion(body) else {
            panic!("a function call is no text")
        };
        assert!(
            reason.starts_with("the model called a tool (get_weather) instead of answering"),
            "{reason}"
        );
        for again in ["", r#""name":"get_weather","#] {
            let body = format!(
                "data: {{\"choices\":[{{\"delta\":{{\"role\":\"assistant\",\"content\":\"\"}}}}]}}\n\n\
                 data: {{\"choices\":[{{\"delta\":{{\"function_call\":{{\"name\":\"get_weather\",\"arguments\":\"\"}}}}}}]}}\n\n\
                 data: {{\"choices\":[{{\"delta\":{{\"function_call\":{{{again}\"arguments\":\"{{}}\"}}}}}}]}}\n\n\
                 data: {{\"choices\":[{{\"delta\":{{}},\"finish_reason\":\"function_call\"}}]}}\n\n\
                 data: [DONE]\n\n"
            );
            let (read, _, _) = fast_road(&[body.as_bytes()], &mut Frames::default(), false);
            let reason = read.expect_err("a streamed function call is no text");
            assert!(
                reason.starts_with("the model called a tool (get_weather) instead of answering"),
                "{reason}"
            );
            assert_eq!(slow_road(body.as_bytes()).0, Err(reason));
        }
    }

    /// A content given as a list of parts (Mistral's reasoning models, Responses-style
    /// gateways) is its text parts joined; a list without one says what it has.
    #[test]
    fn a_content_of_parts_is_its_text_parts() {
        let body =
            |content: &str| format!(r#"{{"choices":[{{"message":{{"content":{content}}}}}]}}"#);
        let parts = r#"[{"type":"thinking","thinking":[{"type":"text","text":"hm"}]},
            {"type":"text","text":"Open "},{"type":"output_text","text":"9 to 5."}]"#;
        let ReplyBody::Agent(a) = parse_completion(body(parts).as_bytes()) else {
            panic!("text parts are a reply")
        };
        assert_eq!(a.text, "Open 9 to 5.");
        for (content, said) in [
            (
                r#"[{"type":"thinking","thinking":"hm"}, {"type":"image_url"}]"#,
                "a list of parts with no text part (types: thinking, image_url)",
            ),
            ("[]", "an empty list of parts"),
        ] {
            let ReplyBody::Malformed { reason } = parse_completion(body(content).as_bytes()) else {
                panic!("{content} is no text")
            };
            assert_eq!(reason, format!("`choices[0].message.content` is {said}"));
        }
    }

    #[test]
    fn a_completion_without_text_is_malformed() {
        for body in [
            &br#"{"choices":[]}"#[..],
            br#"{"choices":[{"message":{"content":null}}]}"#,
            b"nope",
        ] {
            assert!(matches!(
                parse_completion(body),
                ReplyBody::Malformed { .. }
            ));
        }
    }

    /// A stream asks for its usage, unless `params` says otherwise: its own `stream_options`
    /// go as written, `null` sends none (a server that refuses the key can still stream); a
    /// reply not streamed never carries the key.
    #[test]
    fn a_streams_options_are_the_params_when_they_give_them() {
        let body = |stream: bool, params: Value| {
            let spec = OpenAiSpec {
                model: "m".into(),
                system: None,
                params: params.as_object().cloned().unwrap_or_default(),
                stream,
            };
            serde_json::to_value(Body::new(&spec, Vec::new())).unwrap()
        };
        let asked = body(true, serde_json::json!({}));
        assert_eq!(
            asked["stream_options"],
            serde_json::json!({"include_usage": true})
        );
        let own = body(
            true,
            serde_json::json!({"stream_options": {"include_usage": false}}),
        );
        assert_eq!(
            own["stream_options"],
            serde_json::json!({"include_usage": false})
        );
        let none = body(true, serde_json::json!({"stream_options": null}));
        assert_eq!(none.get("stream_options"), None, "{none}");
        assert_eq!(none["stream"], true);
        let plain = body(
            false,
            serde_json::json!({"stream_options": {"include_usage": true}}),
        );
        assert_eq!(plain.get("stream_options"), None, "{plain}");
    }

    #[test]
    fn params_never_repeat_or_override_agenttests_own_keys() {
        let params: Map<String, Value> = serde_json::from_str(
            r#"{"temperature": 0.2, "model": "other", "messages": [], "stream": true,
                "stream_options": {"include_usage": false}, "seed": 7}"#,
        )
        .unwrap();
        let msgs = || {
            vec![Msg {
                role: "user",
                content: "hi",
            }]
        };
        let plain = Body {
            params: &params,
            model: "m",
            messages: msgs(),
            stream: None,
            stream_options: None,
        };
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            text,
            r#"{"seed":7,"temperature":0.2,"model":"m","messages":[{"role":"user","content":"hi"}]}"#
        );
        let streamed = Body {
            stream: Some(true),
            stream_options: Some(serde_json::json!({"include_usage": true})),
            ..plain
        };
        let value: Value = serde_json::to_value(&streamed).unwrap();
        assert_eq!(value["stream"], true);
        assert_eq!(value["stream_options"]["include_usage"], true);
        assert_eq!(
            serde_json::to_string(&streamed)
                .unwrap()
                .matches("\"stream\"")
                .count(),
            1
        );
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            parse_error(br#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}"#).as_deref(),
            Some("Incorrect API key provided")
        );
        assert_eq!(
            parse_error(br#"{"detail":"Not found"}"#).as_deref(),
            Some("Not found")
        );
        assert_eq!(parse_error(b"Bad Gateway").as_deref(), Some("Bad Gateway"));
        assert_eq!(
            parse_error(br#"{"object":"error","message":"This model's maximum context length is 4096 tokens","type":"BadRequestError","param":null,"code":400}"#).as_deref(),
            Some("This model's maximum context length is 4096 tokens")
        );
        assert_eq!(
            parse_error(br#"{"message":"database is down","code":"E_DB"}"#).as_deref(),
            Some("database is down")
        );
        // FastAPI's `detail` is the server's own word; a `message` beside it is not.
        assert_eq!(
            parse_error(br#"{"detail":"Not found","message":"other"}"#).as_deref(),
            Some("Not found")
        );
    }

    #[test]
    fn chunks_give_pieces_and_usage() {
        let mut usage = Usage::default();
        let mut model = None;
        let mut frame = Frames::default();
        let p = read_chunk(
            br#"{"model":"m","choices":[{"delta":{"role":"assistant"}}]}"#,
            &mut frame,
            &mut usage,
            &mut model,
        )
        .unwrap();
        assert_eq!(p.text, None);
        let p = read_chunk(
            br#"{"choices":[{"delta":{"content":"Hel"}}]}"#,
            &mut frame,
            &mut usage,
            &mut model,
        )
        .unwrap();
        assert_eq!(p.text.as_deref(), Some("Hel"));
        read_chunk(
            br#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            &mut frame,
            &mut usage,
            &mut model,
        )
        .unwrap();
        assert_eq!(usage.output_tokens, Some(2));
        assert_eq!(model.as_deref(), Some("m"));
        assert!(read_chunk(b"nope", &mut frame, &mut usage, &mut model).is_err());
    }

    /// What `frames` would read of `data` by a frame, without moving them on.
    fn framed(frames: &Frames, data: &[u8]) -> Option<Option<String>> {
        frames
            .clone()
            .read(data)
            .map(|r| r.content.map(str::to_string))
    }

    /// The chunks real servers send: after the first content chunk, the rest are read from
    /// their content alone; a chunk out of the frame, or with escapes, is read whole.
    #[test]
    fn chunks_in_one_frame_are_read_from_their_content() {
        let openai = |content: &str| {
            format!(
                r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{{"index":0,"delta":{{"content":{content}}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
            )
        };
        let (mut usage, mut model, mut frames) = (Usage::default(), None, Frames::default());
        let mut read = |frames: &mut Frames, data: &str| {
            read_chunk(data.as_bytes(), frames, &mut usage, &mut model)
                .map(|p| p.text.map(Cow::into_owned))
        };
        assert_eq!(
            read(&mut frames, &openai(r#""Hello""#)),
            Ok(Some("Hello".into()))
        );
        for (literal, text) in [(r#"" wor""#, " wor"), (r#""""#, ""), (r#""é€""#, "é€")] {
            let chunk = openai(literal);
            assert_eq!(
                framed(&frames, chunk.as_bytes()),
                Some(Some(text.into())),
                "in the frame: {literal}"
            );
            assert_eq!(read(&mut frames, &chunk), Ok(Some(text.into())));
        }
        for (literal, text) in [(r#""a\nb""#, Some("a\nb")), ("null", None)] {
            let chunk = openai(literal);
            assert_eq!(
                framed(&frames, chunk.as_bytes()),
                None,
                "read whole: {literal}"
            );
            assert_eq!(read(&mut frames, &chunk), Ok(text.map(str::to_string)));
        }
        // A list of parts is its text parts; a list of none, no piece.
        for (literal, text) in [
            (
                r#"[{"type":"text","text":"Hel"},{"type":"text","text":"lo"}]"#,
                Some("Hello"),
            ),
            (r#"[{"type":"thinking","thinking":"hm"}]"#, None),
        ] {
            let chunk = openai(literal);
            assert_eq!(framed(&frames, chunk.as_bytes()), None, "{literal}");
            assert_eq!(read(&mut frames, &chunk), Ok(text.map(str::to_string)));
        }
        // A content that is neither text, a list nor null is no piece to drop without a word.
        for literal in ["7", r#"{"text":"Hello"}"#] {
            let chunk = openai(literal);
            assert_eq!(framed(&frames, chunk.as_bytes()), None, "{literal}");
            let read = read(&mut frames, &chunk);
            assert!(
                read.as_ref().is_err_and(|e| e.contains("is not a string")),
                "{literal}: {read:?}"
            );
        }
        assert_eq!(model.as_deref(), Some("gpt-4o"));
        // Bytes that are not UTF-8, in the frame or out of it, read as the line-by-line road
        // hands them: with U+FFFD in their place.
        for bytes in [
            &b"{\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}"[..],
            &b"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}],\"x\":\"\xfe\"}"[..],
            &b"{\"choices\":[{\"delta\":{\"content\":\"a\"}}],\"x\":\"\xfe\"}"[..],
        ] {
            let mut frames = Frames::default();
            let lossy = String::from_utf8_lossy(bytes);
            let want = read_chunk(
                lossy.as_bytes(),
                &mut Frames::default(),
                &mut no_usage(),
                &mut None,
            )
            .map(|p| p.text.map(Cow::into_owned));
            let first = read_chunk(bytes, &mut frames, &mut no_usage(), &mut None)
                .map(|p| p.text.map(Cow::into_owned));
            assert!(matches!(&want, Ok(Some(_))), "{want:?}");
            assert_eq!(first, want);
            // The frame the lossy text left does not take the raw bytes as its own.
            assert_eq!(framed(&frames, bytes), None);
            let again = read_chunk(bytes, &mut frames, &mut no_usage(), &mut None)
                .map(|p| p.text.map(Cow::into_owned));
            assert_eq!(again, want);
        }
        // And a frame read from UTF-8 text refuses a literal in it that is not, in the content
        // or in another hole.
        // Frames that have read one chunk, whose content is `"ok"`.
        let learned = || {
            let mut frames = Frames::default();
            let ok = openai(r#""ok""#);
            read_chunk(ok.as_bytes(), &mut frames, &mut no_usage(), &mut None).unwrap();
            frames
        };
        let mut frames = learned();
        let mut bad = openai(r#""x""#).into_bytes();
        let at = bad.iter().rposition(|&b| b == b'x').unwrap();
        bad[at] = 0xff;
        assert_eq!(framed(&frames, &bad), None);
        let text = read_chunk(&bad, &mut frames, &mut no_usage(), &mut None)
            .unwrap()
            .text;
        assert_eq!(text.as_deref(), Some("\u{fffd}"));
        let mut frames = learned();
        let bad = openai(r#""ok""#).replace("chatcmpl-1", "chatcmpl-\u{e9}");
        let mut bad = bad.into_bytes();
        let at = bad.iter().position(|&b| b == 0xc3).unwrap();
        bad[at] = 0xff;
        assert_eq!(framed(&frames, &bad), None);
        assert_eq!(
            read_chunk(&bad, &mut frames, &mut no_usage(), &mut None)
                .unwrap()
                .text
                .as_deref(),
            Some("ok")
        );
    }

    fn no_usage() -> Usage {
        Usage::default()
    }

    /// Whatever a stream sends, reading its chunks in order through one frame says of each
    /// what reading it alone as a tree says: generated streams of chunks in a frame with every
    /// kind of content literal, chunks out of it, and broken ones.
    #[test]
    fn a_stream_read_through_frames_is_read_as_each_chunk_alone() {
        use proptest::prelude::*;
        let literal = prop::sample::select(vec![
            r#""w ""#,
            r#""""#,
            r#""é€""#,
            r#""a\"b""#,
            r#""a\\""#,
            r#""\n""#,
            r#""\u00e9""#,
            r#""\ud800""#,
            "\"\u{1}\"",
            r#""a"#,
            r#"a""#,
            r#""a","content":"b""#,
            "null",
            "5",
            r#"{"x":1}"#,
            r#""a"}],"x":{"y":"b""#,
            "\"\"\"",
        ]);
        let frame = prop::sample::select(vec![
            (
                r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"#,
                r#"},"finish_reason":null}],"usage":null}"#,
            ),
            (r#"{"choices":[{"delta":{"content":"#, r#"}}]}"#),
            (
                r#"{"choices":[{"delta":{"role":"assistant","content":"#,
                r#"}}],"model":"n"}"#,
            ),
            (
                r#"{"choices":[{"delta":{"content":"#,
                r#"}}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}"#,
            ),
            (
                r#"{"choices":[{"delta":{"content":"#,
                r#"}},{"delta":{"content":"second"}}]}"#,
            ),
            (r#"{"choices":[{"delta":{"content":"#, r#"}}]"#),
            (
                r#"{"choices":[{"delta":{"content":"x","content":"#,
                r#"}}]}"#,
            ),
            (
                r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}],"content":"#,
                r#"}}],"model":"n"}"#,
            ),
            (
                r#"{"choices":[{"delta":{"content":"#,
                r#","tool_calls":[{"index":0,"function":{"arguments":"x"}}]}}]}"#,
            ),
            (
                r#"{"choices":[{"delta":{"content":"#,
                r#","tool_calls":[]}}]}"#,
            ),
            (
                r#"{"choices":[{"delta":{"refusal":"no","content":"#,
                r#"}}]}"#,
            ),
            (
                r#"{"choices":[{"delta":{"refusal":"","content":"#,
                r#"}}]}"#,
            ),
        ]);
        let chunk =
            (frame, literal).prop_map(|((before, after), lit)| format!("{before}{lit}{after}"));
        proptest!(ProptestConfig::with_cases(1000), |(stream in prop::collection::vec(chunk, 1..12))| {
            let (mut u1, mut m1, mut frame) = (Usage::default(), None, Frames::default());
            let mut instead = Instead::default();
            for data in &stream {
                let framed = format!("{:?}", read_chunk(data.as_bytes(), &mut frame, &mut u1, &mut m1));
                let (mut u2, mut m2) = (Usage::default(), None);
                let alone = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2, &mut instead));
                prop_assert_eq!(&framed, &alone, "{}", data);
                prop_assert_eq!(&frame.instead, &instead, "what {} carries", data);
                if u2 != Usage::default() {
                    prop_assert_eq!(&u1, &u2, "usage of {}", data);
                }
            }
        });
    }

    /// Top-level members in several orders and spacings, around `choices` and `usage` values
    /// of every kind: the chunks a stream of any server may send, and broken ones.
    fn any_chunk() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let choices = prop::sample::select(vec![
            r#"[{"delta":{"content":"w "}}]"#,
            r#"[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}]"#,
            r#"[{"index":0,"delta":{"role":"assistant","content":"Hi"},"logprobs":null}]"#,
            r#"[{"delta":{"content":"a\"b"}}]"#,
            r#"[{"delta":{"content":"\u00e9"}}]"#,
            r#"[{"delta":{},"finish_reason":"stop","index":0}]"#,
            r#"[{"delta":{"content":null}}]"#,
            r#"[{"delta":{"content":5}}]"#,
            r#"[{"delta":{"content":"x"},"delta":{}}]"#,
            r#"[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]"#,
            r#"[{"message":{"content":"m"}}]"#,
            r#" [ {"delta" : {"content":"sp"}} ] "#,
            "[]",
            "[1]",
            "[[[[[]]]]]",
            "null",
            r#""s""#,
            r#"{"delta":1}"#,
            r#"[{"delta":{"content":"x"}}"#,
            r#"[{"delta":{"content":"x"}}]]"#,
            r#"[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]"#,
            r#"[{"index":0,"delta":{"tool_calls":[{"id":"chatcmpl-tool-1","type":"function","index":0,"function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null}]"#,
            r#"[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Paris\"}"}}]},"logprobs":null,"finish_reason":null}]"#,
            r#"[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls","stop_reason":null}]"#,
            r#"[{"delta":{"content":null,"tool_calls":[{"index":0,"function":{"name":"f"}}]}}]"#,
            r#"[{"delta":{"content":"w ","tool_calls":[{"function":{"name":"g"}}]}}]"#,
            r#"[{"delta":{"content":"w ","tool_calls":[]}}]"#,
            r#"[{"delta":{"tool_calls":{"name":"h"}}}]"#,
            r#"[{"delta":{"role":"assistant","content":null,"refusal":""}}]"#,
            r#"[{"delta":{"refusal":"I can't."}}]"#,
            r#"[{"delta":{"refusal":7}}]"#,
            r#"[{"index":1,"delta":{"tool_calls":[{"function":{"name":"other"}}]}},{"index":0,"delta":{"content":""}}]"#,
        ]);
        let usage = prop::sample::select(vec![
            "null",
            r#"{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}"#,
            r#"{"completion_tokens":16,"prompt_tokens":4,"total_tokens":20}"#,
            r#"{"prompt_tokens":-1}"#,
            "{}",
            "5",
            r#""u""#,
            "nul",
            "null x",
            " null ",
        ]);
        let shape = prop::sample::select(vec![
            r#"{"choices":C,"created":1,"id":"c","model":"m","object":"chat.completion.chunk","usage":U}"#,
            r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt","choices":C,"usage":U}"#,
            r#"{"id":"c","choices":C,"x":{"choices":[1],"usage":2,"model":"z"}}"#,
            "{ \"choices\" : C , \"usage\" :U }\n",
            r#"{"usage":U,"choices":C,"model":null}"#,
            r#"{"choices":C,"model":"m","model":"n"}"#,
            r#"{"choices":C,"usage":U,"usage":null}"#,
            r#"{"ch\u006fices":C,"usage":U}"#,
            r#"{"choices":C,"us\u0061ge":U}"#,
            r#"{"model":7,"choices":C}"#,
            r#"{"model":"m\"q","choices":C,"usage":U}"#,
            r#"{"choices":C,"usage":U}}"#,
            r#"{"choices":C,"usage":U"#,
            r#"{"usage":U}"#,
        ]);
        (shape, choices, usage).prop_map(|(shape, c, u)| shape.replace('C', c).replace('U', u))
    }

    /// Whatever a stream sends, reading its chunks in order through its frames (by the quick
    /// road, the token road, or whole) leaves the text, usage and model that
    /// reading each as a tree leaves.
    #[test]
    fn a_stream_read_by_holes_is_read_as_each_chunk_alone() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(2000), |(stream in prop::collection::vec(any_chunk(), 1..10))| {
            framed_as_alone(&stream)?;
        });
    }

    /// A plain string is what the byte-by-byte rule says, eight bytes at a time or not.
    #[test]
    fn plain_strings_are_the_literals_without_escapes() {
        use proptest::prelude::*;
        let byte = prop::sample::select(vec![
            b'a', b' ', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'0',
        ]);
        proptest!(ProptestConfig::with_cases(4000), |(body in prop::collection::vec(byte, 0..40))| {
            let literal = [&b"\""[..], &body, b"\""].concat();
            let plain = body.iter().all(|&b| b != b'"' && b != b'\\' && b >= 0x20);
            let want = plain.then(|| std::str::from_utf8(&body).ok()).flatten();
            prop_assert_eq!(plain_string(&literal), want, "{:?}", body);
        });
    }

    /// Several completions, each a few chunks of the shapes servers send (the mock's keys in
    /// order, OpenAI's, spaced out), with every kind of token in the holes a frame keeps (the
    /// id, the creation time, the content, the counts): plain ones, and ones that are not the
    /// same type of token, or not JSON.
    fn completions() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
        use proptest::prelude::*;
        let id = prop::sample::select(vec![
            r#""chatcmpl-A""#,
            r#""chatcmpl-B7""#,
            r#""""#,
            r#""é€""#,
            r#""a\"b""#,
            r#""\u0041""#,
            "\"\u{1}\"",
            "5",
            "null",
            r#""a"#,
        ]);
        let number = prop::sample::select(vec![
            "0",
            "4",
            "16",
            "1796215580",
            "18446744073709551615",
            "18446744073709551616",
            "007",
            "-2",
            "2.0",
            "1e3",
            "null",
            r#""3""#,
            "",
            "4 4",
        ]);
        let content = prop::sample::select(vec![
            r#""w ""#,
            r#""""#,
            r#""é€""#,
            r#""a\"b""#,
            r#""\n""#,
            r#""\u00e9""#,
            "\"\u{1}\"",
            r#""a"#,
            "null",
            "5",
            r#""a"}],"x":{"y":"b""#,
        ]);
        let shape = prop::sample::select(vec![
            r#"{"choices":[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}],"created":T,"id":I,"model":"ag","object":"chat.completion.chunk","usage":null}"#,
            r#"{"choices":[{"delta":{"content":C},"finish_reason":null,"index":0}],"created":T,"id":I,"model":"ag","object":"chat.completion.chunk","usage":null}"#,
            r#"{"choices":[{"delta":{"content":C},"finish_reason":null,"index":0}],"created":T,"id":I,"model":"ag","object":"chat.completion.chunk","usage":null}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"stop","index":0}],"created":T,"id":I,"model":"ag","object":"chat.completion.chunk","usage":null}"#,
            r#"{"choices":[],"created":T,"id":I,"model":"ag","object":"chat.completion.chunk","usage":{"completion_tokens":N,"prompt_tokens":P,"total_tokens":N}}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"gpt","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":C},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":I}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"gpt","choices":[{"index":0,"delta":{"content":C},"finish_reason":null}],"usage":null}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"gpt","choices":[],"usage":{"prompt_tokens":P,"completion_tokens":N,"total_tokens":T}}"#,
            r#"{ "id" : I , "choices" : [ { "delta" : { "content" : C } } , { "delta" : { "content" : C } } ] , "usage" : { "prompt_tokens" : P } , "x" : T }"#,
            r#"{"choices":[{"delta":{"content":C},"message":{"content":I}}],"created":T,"usage":{"prompt_tokens":P,"prompt_tokens":N}}"#,
            r#"{"ch\u006fices":[{"delta":{"content":C}}],"choices":[{"d\u0065lta":{"content":C}}],"id":I,"usage":{"total\u005ftokens":N}}"#,
            r#"{"choices":[{"delta":{"content":C}}],"model":I,"id":[I,T],"usage":{"prompt_tokens":P,"x":{"total_tokens":N}}}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":C},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"id":I,"type":"function","index":0,"function":{"name":"get_weather","arguments":C}}]},"logprobs":null,"finish_reason":null}]}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"m","choices":[{"index":0,"delta":{"content":C,"tool_calls":[{"index":0,"function":{"arguments":C}}]},"finish_reason":null}]}"#,
            r#"{"id":I,"object":"chat.completion.chunk","created":T,"model":"m","choices":[{"index":0,"delta":{"content":C,"refusal":C},"finish_reason":null}],"usage":{"prompt_tokens":P,"completion_tokens":N,"total_tokens":T}}"#,
        ]);
        let chunk = (shape, id, number.clone(), number.clone(), number, content).prop_map(
            |(shape, id, t, n, p, c)| {
                shape
                    .replace('I', id)
                    .replace('T', t)
                    .replace('N', n)
                    .replace('P', p)
                    .replace('C', c)
            },
        );
        prop::collection::vec(chunk, 1..30)
    }

    /// Whatever completions a stream sends, reading their chunks in order through frames kept
    /// from one to the next leaves the text, usage and model that reading each as a tree
    /// leaves: the holes take only tokens that a whole read reads as the frame's did.
    #[test]
    fn completions_read_through_frames_are_read_as_each_chunk_alone() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(3000), |(stream in completions())| {
            framed_as_alone(&stream)?;
        });
    }

    /// Reads `stream` chunk by chunk through frames, and each chunk alone as a tree: the same
    /// piece from each, and the same usage and model after each.
    fn framed_as_alone(stream: &[String]) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prelude::*;
        let (mut u1, mut m1, mut frames) = (Usage::default(), None, Frames::default());
        let (mut u2, mut m2, mut i2) = (Usage::default(), None, Instead::default());
        for data in stream {
            let framed = format!(
                "{:?}",
                read_chunk(data.as_bytes(), &mut frames, &mut u1, &mut m1)
            );
            let alone = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2, &mut i2));
            prop_assert_eq!(&framed, &alone, "{}", data);
            prop_assert_eq!(&u1, &u2, "usage after {}", data);
            prop_assert_eq!(&m1, &m2, "model after {}", data);
            prop_assert_eq!(&frames.instead, &i2, "what {} carries", data);
        }
        Ok(())
    }

    /// The chunks the mock streams: the first completion reads each of its four shapes whole
    /// once (the role chunk, the first content chunk, the finish chunk, the usage chunk) and
    /// the other content chunks by the quick road; a next completion, with its own id, creation
    /// time and counts, reads none whole, and only its first chunk of each shape by the token
    /// road.
    #[test]
    fn a_shape_is_read_whole_once() {
        let completion = |id: &str, created: u64, words: &[&str], counts: (u64, u64)| {
            let chunk = |choices: &str, usage: &str| {
                format!(
                    r#"{{"choices":{choices},"created":{created},"id":"chatcmpl-{id}","model":"ag","object":"chat.completion.chunk","usage":{usage}}}"#
                )
            };
            let delta =
                |d: &str, f: &str| format!(r#"[{{"delta":{d},"finish_reason":{f},"index":0}}]"#);
            let mut chunks = vec![chunk(
                &delta(r#"{"content":"","role":"assistant"}"#, "null"),
                "null",
            )];
            chunks.extend(
                words
                    .iter()
                    .map(|w| chunk(&delta(&format!(r#"{{"content":"{w}"}}"#), "null"), "null")),
            );
            chunks.push(chunk(&delta("{}", r#""stop""#), "null"));
            chunks.push(chunk(
                "[]",
                &format!(
                    r#"{{"completion_tokens":{},"prompt_tokens":{},"total_tokens":{}}}"#,
                    counts.0,
                    counts.1,
                    counts.0 + counts.1
                ),
            ));
            chunks
        };
        let mut frames = Frames::default();
        for (n, (id, created, words, counts)) in [
            ("U", 1796198900, ["Answer ", "to ", "it."], (3, 4)),
            ("Vw", 1796198901, ["An ", "answer", "."], (12, 100)),
            ("X", 999, ["", "é", "\u{7f}"], (0, 7)),
        ]
        .into_iter()
        .enumerate()
        {
            let (mut usage, mut model, mut text) = (Usage::default(), None, String::new());
            for (i, chunk) in completion(id, created, &words, counts).iter().enumerate() {
                let quick = frames
                    .list
                    .get(frames.last)
                    .and_then(|f| f.quick(chunk.as_bytes()))
                    .is_some();
                let whole = framed(&frames, chunk.as_bytes()).is_none();
                assert_eq!(whole, n == 0 && i != 2 && i != 3, "{n}: {chunk}");
                assert_eq!(quick, i == 2 || i == 3, "{n}: {chunk}");
                let piece = read_chunk(chunk.as_bytes(), &mut frames, &mut usage, &mut model);
                text.push_str(piece.unwrap().text.as_deref().unwrap_or(""));
            }
            assert_eq!(text, words.concat());
            assert_eq!(model.as_deref(), Some("ag"));
            assert_eq!(
                (usage.input_tokens, usage.output_tokens, usage.total_tokens),
                (Some(counts.1), Some(counts.0), Some(counts.0 + counts.1))
            );
        }
        assert_eq!(frames.list.len(), 4);
    }

    /// What the line-by-line road makes of a stream's body read whole: each event's data split
    /// out by the parser, trimmed, until `[DONE]`, and read alone as a tree. The text, usage and
    /// model, or the error (an empty text with tool calls or a refusal among them: see
    /// [`Instead`]).
    fn slow_road(body: &[u8]) -> (Result<String, String>, Usage, Option<Arc<str>>) {
        let mut datas: Vec<String> = Vec::new();
        let _ = sse::EventParser::default().feed(body, |d| {
            datas.push(sse::text(d).trim().to_string());
            Ok::<(), ()>(())
        });
        let (mut usage, mut model, mut text) = (Usage::default(), None, String::new());
        let mut instead = Instead::default();
        for data in datas.iter().filter(|d| !d.is_empty()) {
            if data == "[DONE]" {
                break;
            }
            match chunk_from_tree(data, &mut usage, &mut model, &mut instead) {
                Ok(piece) => text.push_str(piece.text.as_deref().unwrap_or("")),
                Err(e) => return (Err(e), usage, model),
            }
        }
        if let Some(reason) = instead.of_stream(text.as_bytes()) {
            return (Err(reason), usage, model);
        }
        (Ok(text), usage, model)
    }

    /// What a conversation's reader (its frames, the event road) makes of `body` read in
    /// `pieces`; with `greedy`, through a wrong event road ([`Greedy`]). As the slow road, an
    /// empty text with tool calls or a refusal is an error ([`Chunks::finish`]'s rule).
    fn fast_road(
        pieces: &[&[u8]],
        frames: &mut Frames,
        greedy: bool,
    ) -> (Result<String, String>, Usage, Option<Arc<str>>) {
        let (mut usage, mut model) = (Usage::default(), None);
        frames.begin_reply();
        let reader = Chunks {
            frames: &mut *frames,
            usage: &mut usage,
            model: &mut model,
            said: false,
        };
        let read = match greedy {
            true => sse::read_pieces(pieces, Greedy(reader)),
            false => sse::read_pieces(pieces, reader),
        };
        let read = read
            .map_err(|e| match e {
                SendError::Other(e) => e,
                e => format!("{e:?}"),
            })
            .and_then(|text| match frames.instead.of_stream(text.as_bytes()) {
                Some(reason) => Err(reason),
                None => Ok(text),
            });
        (read, usage, model)
    }

    /// Streams of several completions, each in one shape of chunk (the mock's, OpenAI's), with
    /// every kind of content literal (escapes, raw line ends, bytes that are not UTF-8, broken
    /// ones), events written in several ways (with and without the space, CRLF, comments and
    /// other fields before them) and `[DONE]` at the end or not.
    fn stream_bodies() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let content = prop::sample::select(vec![
            &br#""w ""#[..],
            br#""Answer ""#,
            br#""""#,
            "\"\u{e9}\u{20ac}\"".as_bytes(),
            br#""a\"b""#,
            br#""\n""#,
            b"\"a\nb\"",
            b"\"a\rb\"",
            b"\"\x01\"",
            b"\"a\xffb\"",
            br#""a"#,
            b"null",
            b"5",
            br#""long words, more than eight bytes""#,
        ]);
        // Ids of several lengths, one longer than the text between a time and the content.
        let id = prop::sample::select(vec![
            "chatcmpl-A",
            "chatcmpl-B7",
            "",
            "x",
            "chatcmpl-0123456789012345678901234567890123456789012345678901234567890123456789",
        ]);
        let created = prop::sample::select(vec!["1796225262", "1796225263", "7", "007"]);
        let openai_shape = prop::bool::ANY;
        let completion = (
            id,
            created,
            openai_shape,
            prop::collection::vec(content, 0..6),
            1u64..200,
            // Counts of one length and of another, and one that is no JSON number.
            prop::sample::select(vec!["3", "17", "03"]),
            // A tool call after the role chunk, as vLLM streams one: with no words after it,
            // the reply is no reply on every road.
            prop::bool::weighted(0.25),
        )
            .prop_map(|(id, created, openai, words, n, prompt, calls)| {
                let chunk = |choices: &[u8], usage: &str| -> Vec<u8> {
                    let mut c = Vec::new();
                    if openai {
                        c.extend_from_slice(
                            format!(r#"{{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":"gpt","choices":"#).as_bytes(),
                        );
                        c.extend_from_slice(choices);
                        c.extend_from_slice(format!(r#","usage":{usage}}}"#).as_bytes());
                    } else {
                        c.extend_from_slice(br#"{"choices":"#);
                        c.extend_from_slice(choices);
                        c.extend_from_slice(
                            format!(r#","created":{created},"id":"{id}","model":"ag","object":"chat.completion.chunk","usage":{usage}}}"#).as_bytes(),
                        );
                    }
                    c
                };
                let delta = |content: Option<&[u8]>, finish: &str| -> Vec<u8> {
                    let mut d = br#"[{"delta":{"#.to_vec();
                    if let Some(content) = content {
                        d.extend_from_slice(br#""content":"#);
                        d.extend_from_slice(content);
                    }
                    d.extend_from_slice(format!(r#"}},"finish_reason":{finish},"index":0}}]"#).as_bytes());
                    d
                };
                let mut chunks = vec![chunk(&delta(Some(br#""""#), "null"), "null")];
                if calls {
                    chunks.push(chunk(
                        br#"[{"delta":{"tool_calls":[{"id":"call_1","type":"function","index":0,"function":{"name":"get_weather","arguments":"{}"}}]},"finish_reason":null,"index":0}]"#,
                        "null",
                    ));
                }
                for word in &words {
                    chunks.push(chunk(&delta(Some(word), "null"), "null"));
                }
                chunks.push(chunk(&delta(None, r#""stop""#), "null"));
                chunks.push(chunk(
                    b"[]",
                    &format!(r#"{{"completion_tokens":{n},"prompt_tokens":{prompt},"total_tokens":{}}}"#, n + 3),
                ));
                chunks
            });
        let framing = prop::sample::select(vec![
            (&b"data: "[..], &b"\n\n"[..]),
            (b"data: ", b"\n\n"),
            (b"data: ", b"\n\n"),
            (b"data:", b"\n\n"),
            (b"data: ", b"\r\n\r\n"),
            (b"data: ", b"\r\r"),
            (b": keep-alive\ndata: ", b"\n\n"),
            (b"event: x\ndata: ", b"\n\n"),
            (b"data:  ", b" \n\n"),
            (b"data: ", b"\n"),
        ]);
        // What follows a `[DONE]` is never read.
        let done = prop::sample::select(vec![
            &b"data: [DONE]\n\n"[..],
            b"",
            b"data: [DONE]",
            b"data: [DONE]\n\ndata: {\"choices\":[]}\n\ndata: x\n\n",
            b"data: [DONE]\r\n\r\ndata: x\n\n",
        ]);
        (
            prop::collection::vec(completion, 1..4),
            prop::collection::vec(framing, 1..8),
            done,
        )
            .prop_map(|(completions, framings, done)| {
                let mut body = Vec::new();
                for (i, data) in completions.into_iter().flatten().enumerate() {
                    let (before, after) = framings[i % framings.len()];
                    body.extend_from_slice(before);
                    body.extend_from_slice(&data);
                    body.extend_from_slice(after);
                }
                body.extend_from_slice(done);
                body
            })
    }

    /// `body` cut at each of `cuts` (positions, in any order) into pieces.
    fn cut<'b>(body: &'b [u8], cuts: &[usize]) -> Vec<&'b [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|&c| c % (body.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for c in at {
            pieces.push(&body[from..c]);
            from = c;
        }
        pieces.push(&body[from..]);
        pieces
    }

    /// Reading `body` through a conversation's reader (frames kept from an earlier reading of
    /// it, the event road) in `pieces` says what the slow road says of it whole; `greedy` as in
    /// [`fast_road`].
    fn cut_as_whole(
        body: &[u8],
        pieces: &[&[u8]],
        frames: &mut Frames,
        greedy: bool,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        use proptest::prelude::*;
        let want = slow_road(body);
        let got = fast_road(pieces, frames, greedy);
        prop_assert_eq!(
            &got,
            &want,
            "{:?} in {}",
            String::from_utf8_lossy(body),
            pieces.len()
        );
        Ok(())
    }

    /// The replies of a dialogue, one a turn, read by one conversation's frames, each in the
    /// mock's shape with `data: ` and a blank line (the event road), say what the slow road
    /// says: above all their usage, whose counts grow from turn to turn, by as many digits or
    /// more, or come back down, or stop being a number.
    #[test]
    fn a_dialogues_replies_read_their_own_counts() {
        let reply = |id: &str, prompt: &str, completion: &str, total: &str| -> Vec<u8> {
            let tail = format!(
                r#","created":1796391329,"id":"{id}","model":"ag","object":"chat.completion.chunk","usage":"#
            );
            let mut body = Vec::new();
            for (choices, usage) in [
                (r#"[{"delta":{"content":"","role":"assistant"},"finish_reason":null,"index":0}]"#.to_string(), "null".to_string()),
                (r#"[{"delta":{"content":"Hi "},"finish_reason":null,"index":0}]"#.to_string(), "null".to_string()),
                (r#"[{"delta":{"content":"there."},"finish_reason":null,"index":0}]"#.to_string(), "null".to_string()),
                (r#"[{"delta":{},"finish_reason":"stop","index":0}]"#.to_string(), "null".to_string()),
                ("[]".to_string(), format!(r#"{{"completion_tokens":{completion},"prompt_tokens":{prompt},"total_tokens":{total}}}"#)),
            ] {
                body.extend_from_slice(format!("data: {{\"choices\":{choices}{tail}{usage}}}\n\n").as_bytes());
            }
            body.extend_from_slice(b"data: [DONE]\n\n");
            body
        };
        let turns = [
            ("chatcmpl-a", "4", "2", "6"),
            ("chatcmpl-b", "24", "2", "26"),
            ("chatcmpl-c", "44", "2", "46"),
            ("chatcmpl-d", "64", "3", "67"),
            ("chatcmpl-e", "84", "16", "100"),
            ("chatcmpl-f", "5", "2", "7"),
            ("chatcmpl-g", "5", "2", "7"),
            ("chatcmpl-h", "05", "2", "7"),
            ("chatcmpl-i", "123456789", "2", "123456791"),
            ("chatcmpl-j", "6", "2", "8"),
        ];
        let mut frames = Frames::default();
        for (id, prompt, completion, total) in turns {
            let body = reply(id, prompt, completion, total);
            let want = slow_road(&body);
            assert_eq!(
                fast_road(&[&body], &mut frames, false),
                want,
                "{prompt} {total}"
            );
            if prompt != "05" {
                let n = |t: &str| t.parse().ok();
                assert_eq!(want.1.input_tokens, n(prompt));
                assert_eq!(want.1.total_tokens, n(total));
            }
        }
    }

    /// A stream read in pieces cut anywhere (at every single point, and at several random
    /// points at once), by a new conversation's reader and by one whose frames have read the
    /// stream before, says what the line-by-line road says of the whole body: an event split
    /// across reads, or in a shape the event road does not take, is read the same.
    #[test]
    fn a_stream_cut_anywhere_reads_as_the_whole_by_the_slow_road() {
        use proptest::prelude::*;
        let case = (
            stream_bodies(),
            prop::collection::vec(any::<usize>(), 0..12),
        );
        proptest!(ProptestConfig::with_cases(48), |((body, cuts) in case)| {
            let mut warm = Frames::default();
            cut_as_whole(&body, &[&body], &mut warm, false)?;
            for at in 0..=body.len() {
                let pieces = [&body[..at], &body[at..]];
                cut_as_whole(&body, &pieces, &mut Frames::default(), false)?;
                cut_as_whole(&body, &pieces, &mut warm.clone(), false)?;
            }
            let pieces = cut(&body, &cuts);
            cut_as_whole(&body, &pieces, &mut warm.clone(), false)?;
            cut_as_whole(&body, &pieces, &mut Frames::default(), false)?;
        });
    }

    /// The event road taking one byte more than its event, wrong as a reader can be.
    struct Greedy<'r>(Chunks<'r>);

    impl sse::Reader for Greedy<'_> {
        fn events(&mut self, bytes: &[u8], text: &mut Vec<u8>) -> usize {
            let before = text.len();
            match self.0.events(bytes, text) {
                len if len > 0 && len < bytes.len() => len + 1,
                _ => {
                    text.truncate(before);
                    0
                }
            }
        }

        fn data<'b>(&mut self, data: &'b [u8]) -> Result<Piece<'b>, String> {
            self.0.data(data)
        }
    }

    /// The mock's stream of one completion: a role chunk, a chunk per word, a finish chunk, a
    /// usage chunk and `[DONE]`.
    fn mock_stream(id: &str, words: &[&str]) -> Vec<u8> {
        let chunk = |choices: &str, usage: &str| {
            format!(
                r#"data: {{"choices":{choices},"created":1796000000,"id":"{id}","model":"ag","object":"chat.completion.chunk","usage":{usage}}}"#
            ) + "\n\n"
        };
        let delta = |delta: &str, finish: &str| {
            format!(r#"[{{"delta":{{{delta}}},"finish_reason":{finish},"index":0}}]"#)
        };
        let mut body = chunk(&delta(r#""content":"","role":"assistant""#, "null"), "null");
        for word in words {
            body += &chunk(&delta(&format!(r#""content":"{word}""#), "null"), "null");
        }
        body += &chunk(&delta("", r#""stop""#), "null");
        body += &chunk(
            "[]",
            r#"{"completion_tokens":2,"prompt_tokens":3,"total_tokens":5}"#,
        );
        (body + "data: [DONE]\n\n").into_bytes()
    }

    /// Reads `body` by [`Frames::events`] alone, from its start while it takes events: `calls`
    /// calls take all of it but its `[DONE]`, their text is `text`, and frames that had read
    /// what `frames` had read say of it what the slow road says.
    fn read_by_events(frames: &mut Frames, body: &[u8], calls: usize, text: &[u8]) {
        let before = frames.clone();
        let (mut lens, mut got, mut at) = (Vec::new(), Vec::new(), 0);
        while let Some((len, _)) = frames.events(&body[at..], &mut got) {
            lens.push(len);
            at += len;
        }
        let body_text = String::from_utf8_lossy(body);
        assert_eq!(lens.len(), calls, "{body_text}: {lens:?}");
        assert_eq!(got, text, "{body_text}");
        assert_eq!(&body[at..], b"data: [DONE]\n\n", "{body_text}");
        assert_eq!(
            fast_road(&[body], &mut before.clone(), false),
            slow_road(body)
        );
    }

    /// A next completion's words, after its role chunk brought a new id and creation time (of
    /// the same length or not), are read as one run from the first word: the frames of its
    /// other shapes are brought up to the new tokens rather than each taking the token road
    /// ([`Frame::refresh`]). It reads as by the slow road, and so does the same completion
    /// read again by frames that have moved on.
    #[test]
    fn a_next_completion_reads_its_words_in_one_run() {
        let mut frames = Frames::default();
        let first = mock_stream("chatcmpl-A", &["Hi ", "there."]);
        assert_eq!(fast_road(&[&first], &mut frames, false), slow_road(&first));
        let mut seen = Vec::new();
        for (id, created) in [
            ("chatcmpl-B", "1796000001"),
            ("chatcmpl-Longer", "1796000001"),
            ("c", "17960000012"),
            ("chatcmpl-B", "7"),
        ] {
            let body = String::from_utf8(mock_stream(id, &["An ", "answer ", "here."]))
                .unwrap()
                .replace("1796000000", created)
                .into_bytes();
            // The role chunk, the three words, the finish chunk, the usage chunk.
            read_by_events(&mut frames, &body, 4, b"An answer here.");
            seen.push(body);
        }
        for body in &seen {
            assert_eq!(fast_road(&[body], &mut frames, false), slow_road(body));
        }
    }

    /// Whether a reply's chunks said it was finished is known on every road: serde's (a shape
    /// first seen), the frames' quick roads and token road (shapes seen before, a next
    /// completion's new id), and the tree's; and a stream that stops before its finish chunk
    /// says it did not, which is what tells a cut reply from a whole one when no `[DONE]` came.
    #[test]
    fn a_finish_reason_is_seen_on_every_road() {
        let mut frames = Frames::default();
        for id in ["chatcmpl-A", "chatcmpl-B", "chatcmpl-B"] {
            let body = mock_stream(id, &["Hi ", "there."]);
            assert!(fast_road(&[&body], &mut frames, false).0.is_ok());
            assert!(frames.finished, "{id}");
        }
        // The same shapes without the finish chunk (and the usage chunk after it).
        let whole = String::from_utf8(mock_stream("chatcmpl-C", &["Hi ", "there."])).unwrap();
        let stop = whole
            .find(r#"data: {"choices":[{"delta":{},"finish_reason":"stop""#)
            .unwrap();
        let cut = whole[..stop].to_string();
        assert!(fast_road(&[cut.as_bytes()], &mut frames, false).0.is_ok());
        assert!(!frames.finished);
        // A shape the frames do not know, read as a tree: `finish_reason` where serde does not
        // take the chunk (a content that is a list of parts).
        let mut fresh = Frames::default();
        let tree = concat!(
            r#"data: {"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Hi"}]},"finish_reason":"length"}]}"#,
            "\n\n"
        );
        assert_eq!(
            fast_road(&[tree.as_bytes()], &mut fresh, false).0,
            Ok("Hi".into())
        );
        assert!(fresh.finished);
    }

    /// In OpenAI's order (the id and the creation time before `choices`, so in the second part
    /// of the content frame's seam), an id much longer than the last one and a new time at
    /// once: the frames are brought up to both and read the next completion as the slow road
    /// does, its words in one run.
    #[test]
    fn a_much_longer_id_and_a_new_time_at_once_are_brought_in() {
        let stream = |id: &str, created: &str| -> Vec<u8> {
            let chunk = |delta: &str, finish: &str, usage: &str| {
                format!(
                    r#"data: {{"id":"{id}","object":"chat.completion.chunk","created":{created},"model":"gpt","choices":[{{"index":0,"delta":{{{delta}}},"finish_reason":{finish}}}],"usage":{usage}}}"#
                ) + "\n\n"
            };
            let mut body = chunk(r#""role":"assistant","content":"""#, "null", "null");
            for word in ["Hi ", "there ", "you."] {
                body += &chunk(&format!(r#""content":"{word}""#), "null", "null");
            }
            body += &chunk("", r#""stop""#, "null");
            (body + "data: [DONE]\n\n").into_bytes()
        };
        let mut frames = Frames::default();
        let first = stream("x", "1796000000");
        assert_eq!(fast_road(&[&first], &mut frames, false), slow_road(&first));
        let long = format!("chatcmpl-{}", "L".repeat(80));
        for (id, created) in [(long.as_str(), "1796000001"), ("y", "1796000002")] {
            let body = stream(id, created);
            // The role chunk, the three words, the finish chunk.
            read_by_events(&mut frames, &body, 3, b"Hi there you.");
        }
    }

    /// A run of words in the content frame's shape is read in one go, up to a word it cannot
    /// read by its quick road (one written with an escape) or an event in another shape, and
    /// never past the last event lying whole in the bytes; the stream reads as by the slow road.
    #[test]
    fn a_run_of_words_ends_where_its_shape_does() {
        let mut frames = Frames::default();
        let first = mock_stream("chatcmpl-A", &["Hi ", "there."]);
        assert_eq!(fast_road(&[&first], &mut frames, false), slow_road(&first));
        let content = frames
            .list
            .iter()
            .find(|f| {
                f.text
                    .starts_with(br#"{"choices":[{"delta":{"content":"Hi "#)
            })
            .expect("a content frame");
        let second = mock_stream(
            "chatcmpl-A",
            &["An ", "answer, ", r"\u00e9", " and ", "more."],
        );
        let role = memchr::memmem::find(&second, b"\n\n").unwrap() + 2;
        let words = &second[role..];
        let mut text = Vec::new();
        let len = content.run(words, &mut text);
        assert_eq!(text, b"An answer, ");
        assert!(words[len..].starts_with(br#"data: {"choices":[{"delta":{"content":"\u00e9""#));
        // Cut inside the second word's event: the first alone is whole.
        let mut text = Vec::new();
        let cut = memchr::memmem::find(words, b"answer").unwrap();
        let len = content.run(&words[..cut], &mut text);
        assert_eq!(text, b"An ");
        assert!(
            len < cut
                && words[len..].starts_with(br#"data: {"choices":[{"delta":{"content":"answer"#)
        );
        assert_eq!(
            fast_road(&[&second], &mut frames, false),
            slow_road(&second)
        );
    }

    /// The test above can fail: with a wrong event road it finds a stream read otherwise.
    #[test]
    fn a_wrong_event_road_is_caught() {
        use proptest::prelude::*;
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::new(ProptestConfig::with_cases(200));
        let found = runner.run(&stream_bodies(), |body| {
            let mut warm = Frames::default();
            cut_as_whole(&body, &[&body], &mut warm, false)?;
            cut_as_whole(&body, &[&body], &mut warm, true)
        });
        assert!(found.is_err(), "a wrong event road went unseen");
    }

    /// The one-pass literal reader says what `string_len` and `plain_string` say, on any bytes
    /// after the literal.
    #[test]
    fn a_plain_literal_is_found_as_by_its_length_and_plainness() {
        use proptest::prelude::*;
        let byte = prop::sample::select(vec![
            b'a', b' ', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xa9, 0xff, b'0', b'}',
        ]);
        proptest!(ProptestConfig::with_cases(4000), |(body in prop::collection::vec(byte, 0..40))| {
            let text = [&b"\""[..], &body].concat();
            let want = string_len(&text).and_then(|len| Some((len, plain_string(&text[..len])?)));
            prop_assert_eq!(plain_literal(&text), want, "{:?}", body);
            // And the bytes road, which checks UTF-8 only past ASCII, says the same.
            let bytes = want.map(|(len, text)| (len, text.as_bytes()));
            prop_assert_eq!(plain_bytes(&text), bytes, "bytes: {:?}", body);
        });
    }

    /// Whatever whole completions a server sends, reading them in order through a
    /// conversation's frames of bodies says of each what reading it alone says: the chunk
    /// shapes with `message` for `delta` (and some with both), every kind of token in the holes.
    #[test]
    fn completions_read_through_frames_are_read_alone() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(3000), |(stream in completions())| {
            let mut frames = Frames::of_bodies();
            for (i, chunk) in stream.iter().enumerate() {
                let body = match i % 3 {
                    2 => chunk.clone(),
                    _ => chunk.replace("\"delta\"", "\"message\""),
                };
                let framed = format!("{:?}", read_completion(body.as_bytes(), &mut frames));
                let alone = format!("{:?}", parse_completion(body.as_bytes()));
                prop_assert_eq!(&framed, &alone, "{}", body);
            }
        });
    }

    /// The mock's completions: the first is read whole, the next ones by the frame.
    #[test]
    fn completions_after_the_first_are_read_by_their_frame() {
        let body = |id: &str, text: &str, n: u64| {
            format!(
                r#"{{"choices":[{{"finish_reason":"stop","index":0,"message":{{"content":"{text}","role":"assistant"}}}}],"created":17962{n},"id":"chatcmpl-{id}","model":"ag","object":"chat.completion","usage":{{"completion_tokens":{n},"prompt_tokens":4,"total_tokens":{}}}}}"#,
                n + 4
            )
        };
        let mut frames = Frames::of_bodies();
        for (i, (id, text, n)) in [("a", "Hi.", 3), ("bc", "An answer, é.", 16), ("d", "", 0)]
            .into_iter()
            .enumerate()
        {
            let body = body(id, text, n);
            assert_eq!(framed(&frames, body.as_bytes()).is_some(), i > 0, "{body}");
            let ReplyBody::Agent(a) = read_completion(body.as_bytes(), &mut frames) else {
                panic!("not an agent reply: {body}")
            };
            assert_eq!(a.text, text);
            assert_eq!(a.model.as_deref(), Some("ag"));
            assert_eq!(a.usage.output_tokens, Some(n));
            assert_eq!(a.usage.total_tokens, Some(n + 4));
        }
    }

    /// With `n: 2` a server streams each choice in chunks of its own, the first of a chunk's
    /// `choices` being choice 1's as often as choice 0's: the reply is choice 0's words alone,
    /// read the same by every road (frames learned from its chunks, the tree, the slow road).
    #[test]
    fn a_stream_of_two_choices_is_read_as_choice_zero() {
        let chunk = |index: u32, piece: &str| {
            format!(
                "data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":{index},\"delta\":{{\"content\":\"{piece}\"}},\"finish_reason\":null}}]}}\n\n"
            )
        };
        let mut body = String::new();
        for (a, b) in [("Hel", "OTHER"), ("lo, ", "OTHER "), ("world", "X")] {
            body.push_str(&chunk(1, b));
            body.push_str(&chunk(0, a));
        }
        // Two choices in one chunk, the zeroth second.
        body.push_str(
            "data: {\"choices\":[{\"index\":1,\"delta\":{\"content\":\"Y\"}},{\"index\":0,\"delta\":{\"content\":\"!\"}}]}\n\n",
        );
        body.push_str("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5.0,\"total_tokens\":\"8\"}}\n\ndata: [DONE]\n\n");
        let (text, usage, _) = fast_road(&[body.as_bytes()], &mut Frames::default(), false);
        assert_eq!(text.as_deref(), Ok("Hello, world!"));
        assert_eq!(usage.output_tokens, Some(5), "a count written 5.0 is 5");
        assert_eq!(usage.total_tokens, Some(8), "a count written \"8\" is 8");
        assert_eq!(slow_road(body.as_bytes()).0.as_deref(), Ok("Hello, world!"));
        // A whole completion names its choices too.
        let whole = br#"{"choices":[{"index":1,"message":{"content":"no"}},{"index":0,"message":{"content":"yes"}}],"usage":{"prompt_tokens":2.0,"completion_tokens":1,"total_tokens":3}}"#;
        for read in [parse_completion(whole), completion_from_tree(whole)] {
            let ReplyBody::Agent(a) = read else {
                panic!("choice 0 has text")
            };
            assert_eq!(a.text, "yes");
            assert_eq!(a.usage.input_tokens, Some(2));
        }
    }

    #[test]
    fn a_filtered_answer_says_so() {
        let body = br#"{"choices":[{"index":0,"finish_reason":"content_filter","message":{"role":"assistant"},"content_filter_results":{"hate":{"filtered":true}}}]}"#;
        let ReplyBody::Malformed { reason } = parse_completion(body) else {
            panic!("a filtered answer is no text")
        };
        assert!(
            reason.starts_with("the server's content filter withheld the answer"),
            "{reason}"
        );
    }

    /// A whole completion whose text is `""` beside tool calls (vLLM's shape) or a refusal is
    /// no reply, said in words as a `null` one is, on the first read (serde, then the tree) and
    /// through frames that have read a completion of the same shape without them; a `""` beside
    /// none (or an empty `tool_calls`, as vLLM sends in every message) is an empty reply.
    #[test]
    fn an_empty_completion_with_a_tool_call_or_a_refusal_is_no_reply() {
        let body = |message: &str| {
            format!(
                r#"{{"id":"chatcmpl-1","object":"chat.completion","created":1718000000,"model":"m","choices":[{{"index":0,"message":{message},"logprobs":null,"finish_reason":"tool_calls"}}],"usage":{{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}}}"#
            )
        };
        let called = body(
            r#"{"role":"assistant","content":"","tool_calls":[{"id":"chatcmpl-tool-1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]}"#,
        );
        let two = body(
            r#"{"role":"assistant","content":"","tool_calls":[{"function":{"name":"a"}},{"function":{"name":"b"}}]}"#,
        );
        let refused = body(r#"{"role":"assistant","content":"","refusal":"I can't help."}"#);
        let empty = body(r#"{"role":"assistant","content":"","tool_calls":[]}"#);
        let both = body(
            r#"{"role":"assistant","content":"Let me look.","tool_calls":[{"function":{"name":"get_weather"}}]}"#,
        );
        let malformed = |body: &str, frames: &mut Frames| -> Vec<String> {
            [
                parse_completion(body.as_bytes()),
                completion_from_tree(body.as_bytes()),
                read_completion(body.as_bytes(), frames),
            ]
            .into_iter()
            .map(|read| match read {
                ReplyBody::Malformed { reason } => reason,
                other => panic!("{body} is no reply: {other:?}"),
            })
            .collect()
        };
        // Twice through the same frames: the second time they have read `empty`'s shape.
        let mut frames = Frames::of_bodies();
        for round in 0..2 {
            let warm = round > 0;
            assert_eq!(frames.list.is_empty(), !warm);
            for (body, said) in [
                (&called, "the model called a tool (get_weather) instead of answering, so `choices[0].message.content` has no text"),
                (&two, "the model called tools (a, b) instead of answering"),
                (&refused, "the model refused, so `choices[0].message.content` has no text: `I can't help.`"),
            ] {
                for reason in malformed(body, &mut frames) {
                    assert!(reason.starts_with(said), "{reason}");
                }
            }
            for (body, text) in [(&empty, ""), (&both, "Let me look.")] {
                let ReplyBody::Agent(a) = read_completion(body.as_bytes(), &mut frames) else {
                    panic!("{body} is a reply (warm: {warm})")
                };
                assert_eq!(a.text, text);
            }
            // No frame is kept of a body with tool calls or a refusal: the frames' reads would
            // take its `""` for the reply.
            assert!(frames
                .list
                .iter()
                .all(
                    |f| memchr::memmem::find(&f.text, b"tool_calls\":[{").is_none()
                        && memchr::memmem::find(&f.text, b"refusal").is_none()
                ));
            assert_eq!(framed(&frames, called.as_bytes()), None);
        }
        // Frames that read a plain answer in this shape (its content a hole they read by) meet
        // the tool call next.
        let mut frames = Frames::of_bodies();
        let plain = body(r#"{"role":"assistant","content":"Hi."}"#);
        assert!(matches!(
            read_completion(plain.as_bytes(), &mut frames),
            ReplyBody::Agent(_)
        ));
        assert!(framed(
            &frames,
            body(r#"{"role":"assistant","content":"Yo."}"#).as_bytes()
        )
        .is_some());
        for reason in malformed(&called, &mut frames) {
            assert!(
                reason.starts_with("the model called a tool (get_weather)"),
                "{reason}"
            );
        }
    }

    /// vLLM's tool-call stream: a role chunk whose content is `""`, the call's chunks, a
    /// finish chunk, `[DONE]`.
    fn vllm_tool_stream(id: &str, role: &str, calls: &[&str], finish: &str) -> Vec<u8> {
        let chunk = |delta: &str, finish: &str| {
            format!(
                r#"data: {{"id":"{id}","object":"chat.completion.chunk","created":1718000000,"model":"m","choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]}}"#
            ) + "\n\n"
        };
        let mut body = chunk(role, "null");
        for call in calls {
            body += &chunk(call, "null");
        }
        body += &chunk("{}", finish);
        (body + "data: [DONE]\n\n").into_bytes()
    }

    /// A conversation's reader of `body` as `send` reads it, to its end: the text, or why it is
    /// no reply.
    fn read_to_end(pieces: &[&[u8]], frames: &mut Frames) -> Result<String, String> {
        let (mut usage, mut model) = (Usage::default(), None);
        frames.begin_reply();
        let reader = Chunks {
            frames,
            usage: &mut usage,
            model: &mut model,
            said: false,
        };
        sse::read_reply(pieces, reader)
    }

    /// A stream whose text is empty and whose chunks called a tool (vLLM after `"content": ""`,
    /// OpenAI after `"content": null`) or refused is no reply, said in words as a whole
    /// completion's is: read by a new conversation (each chunk whole) and by one whose frames
    /// read the same shapes before (the role and finish chunks on the fast roads), cut anywhere,
    /// and by the slow road. The tool call's chunk is never read by a frame, even met twice.
    /// An empty stream without either is an empty reply.
    #[test]
    fn a_streamed_tool_call_or_refusal_after_an_empty_content_is_no_reply() {
        let name = r#"{"tool_calls":[{"id":"chatcmpl-tool-9","type":"function","index":0,"function":{"name":"get_weather","arguments":""}}]}"#;
        let args =
            r#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Paris\"}"}}]}"#;
        let vllm = vllm_tool_stream(
            "chatcmpl-A",
            r#"{"role":"assistant","content":""}"#,
            &[name, args],
            r#""tool_calls""#,
        );
        let openai = vllm_tool_stream(
            "chatcmpl-B",
            r#"{"role":"assistant","content":null}"#,
            &[name, args],
            r#""tool_calls""#,
        );
        // A call named in two chunks (its `index` says it is one), and a second call.
        let time = r#"{"tool_calls":[{"id":"chatcmpl-tool-10","type":"function","index":1,"function":{"name":"get_time","arguments":"{}"}}]}"#;
        let twice = vllm_tool_stream(
            "chatcmpl-C",
            r#"{"role":"assistant","content":""}"#,
            &[name, name, time],
            r#""tool_calls""#,
        );
        let refused = vllm_tool_stream(
            "chatcmpl-D",
            r#"{"role":"assistant","content":"","refusal":""}"#,
            &[r#"{"refusal":"I can't "}"#, r#"{"refusal":"help."}"#],
            r#""stop""#,
        );
        let empty = vllm_tool_stream(
            "chatcmpl-E",
            r#"{"role":"assistant","content":""}"#,
            &[r#"{"content":"","tool_calls":[]}"#],
            r#""stop""#,
        );
        let said = "the model called a tool (get_weather) instead of answering, so the \
                    stream's `choices[0].delta.content` has no text: agenttest checks a reply's \
                    text (send no `tools` or `functions` in `params`)";
        let cases: [(&[u8], Result<String, String>); 5] = [
            (&vllm, Err(said.to_string())),
            (&openai, Err(said.to_string())),
            (
                &twice,
                Err(said.replace("a tool (get_weather)", "tools (get_weather, get_time)")),
            ),
            (
                &refused,
                Err(
                    "the model refused, so the stream's `choices[0].delta.content` has no \
                     text: `I can't help.`"
                        .to_string(),
                ),
            ),
            (&empty, Ok(String::new())),
        ];
        // Frames that have read a vLLM answer in words: the same role and finish shapes, but
        // for the finish reason.
        let mut warm = Frames::default();
        let words = vllm_tool_stream(
            "chatcmpl-0",
            r#"{"role":"assistant","content":""}"#,
            &[r#"{"content":"Hi "}"#, r#"{"content":"there."}"#],
            r#""tool_calls""#,
        );
        assert_eq!(read_to_end(&[&words], &mut warm), Ok("Hi there.".into()));
        for (body, want) in &cases {
            let shown = String::from_utf8_lossy(body);
            assert_eq!(
                &read_to_end(&[body], &mut Frames::default()),
                want,
                "{shown}"
            );
            assert_eq!(&slow_road(body).0, want, "slow: {shown}");
            assert_eq!(
                &fast_road(&[body], &mut Frames::default(), false).0,
                want,
                "{shown}"
            );
            let mut frames = warm.clone();
            // A role chunk in the shape the frames know is read by one (the token road: a new
            // id); `null` is not a content the frame's hole takes, and `"refusal":""` is
            // another shape.
            let role = &body[b"data: ".len()..memchr::memmem::find(body, b"\n\n").unwrap()];
            let known = memchr::memmem::find(role, br#"{"role":"assistant","content":""}"#);
            assert_eq!(framed(&frames, role).is_some(), known.is_some(), "{shown}");
            assert_eq!(&read_to_end(&[body], &mut frames), want, "warm: {shown}");
            // And again, every shape of it now seen.
            assert_eq!(&read_to_end(&[body], &mut frames), want, "warmer: {shown}");
            for at in 0..=body.len() {
                let pieces = [&body[..at], &body[at..]];
                assert_eq!(
                    &read_to_end(&pieces, &mut warm.clone()),
                    want,
                    "cut at {at}"
                );
            }
            // No frame was kept of a chunk that calls a tool or refuses.
            assert!(frames.list.iter().all(|f| {
                memchr::memmem::find(&f.text, b"function").is_none()
                    && memchr::memmem::find(&f.text, b"refusal\":\"I").is_none()
            }));
        }
        // After a stream that called a tool, the next reply's words are its own: what the last
        // one carried is forgotten.
        let mut frames = Frames::default();
        assert!(read_to_end(&[&vllm], &mut frames).is_err());
        assert_eq!(read_to_end(&[&empty], &mut frames), Ok(String::new()));
    }
}
