//! OpenAI-compatible chat completions (SPEC §8.1): `POST {base_url}/chat/completions`, the
//! history kept by the conversation (system message, then every earlier user and assistant
//! message, then the new one), `params` copied into the body, usage mapped to input / output /
//! total, `{"error": {"message"}}` as the detail, and `stream: true` read as server-sent events
//! with the usage asked for. No session ids: the history is the conversation.
//!
//! One request in, one [`Reply`] out: no retries, no sleeping, no judging.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::sse::{self, Piece};
use super::transport::{self, preview, truncate, Auth, Client, Target, Transport};
use super::{Conversation, Endpoint, Message};
use crate::record::{AgentReply, Reply, ReplyBody, SendError, Timing, Usage};
use crate::suite::model::{self, OpenAiSpec, SessionMode};

/// The endpoint of one suite or dialogue: URL parsed, headers and the fixed part of the body
/// made once.
#[derive(Debug)]
pub struct OpenAi {
    transport: Transport,
    url: Target,
    body: BodyParts,
}

impl OpenAi {
    pub fn new(
        http: Client,
        base_url: &str,
        endpoint: &model::Endpoint,
        spec: &OpenAiSpec,
    ) -> Result<Self, String> {
        let transport = Transport::new(http, endpoint, Auth::Bearer)?;
        let url = transport::url_under(base_url, "/chat/completions");
        let url = Target::parse(&url)?;
        Ok(OpenAi {
            transport,
            url,
            body: BodyParts::new(spec)?,
        })
    }

    async fn send(&self, history: &History, message: &str) -> Result<Reply, SendError> {
        let body = self.body.with(history, message);
        let (response, started, first_byte) = self
            .transport
            .start(reqwest::Method::POST, &self.url, Some(body))
            .await?;
        let status = response.status();
        let rate = transport::rate_headers(response.headers());
        let success = (200..300).contains(&status);
        if success && sse::is_event_stream(&response) {
            let mut usage = Usage::default();
            let mut model = None;
            let mut frame = Frame::default();
            let streamed = sse::read_stream(response, started, |data| {
                read_chunk(data, &mut frame, &mut usage, &mut model)
            })
            .await?;
            let body = ReplyBody::Agent(AgentReply {
                text: streamed.text,
                session_id: None,
                shape: Some("chat.completion.chunk"),
                usage,
                model,
            });
            let timing = Timing {
                first_byte,
                first_token: streamed.first_token,
                total: started.elapsed(),
            };
            return Ok(Reply {
                status,
                body,
                rate,
                timing,
            });
        }
        transport::whole_reply(response, started, first_byte, parse_completion, parse_error).await
    }
}

/// The request body, from which [`BodyParts`] are cut. Written by hand rather than with
/// `#[serde(flatten)]`, which would emit a `params` key and agenttest's own key of the same
/// name both (`"model"` twice): agenttest's keys replace the params', and a `stream` or
/// `stream_options` in `params` never turns on a stream the endpoint did not ask for.
struct Body<'a> {
    params: &'a Map<String, Value>,
    model: &'a str,
    messages: Vec<Msg<'a>>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
}

impl<'a> Body<'a> {
    /// The body of `spec`'s endpoint with these messages.
    fn new(spec: &'a OpenAiSpec, messages: Vec<Msg<'a>>) -> Self {
        Body {
            params: &spec.params,
            model: &spec.model,
            messages,
            stream: spec.stream.then_some(true),
            stream_options: spec.stream.then_some(StreamOptions {
                include_usage: true,
            }),
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

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Debug, Clone, Copy)]
enum Role {
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl Endpoint for OpenAi {
    fn open(self: Arc<Self>, _mode: SessionMode) -> Box<dyn Conversation> {
        Box::new(OpenAiConversation {
            endpoint: self,
            history: History::default(),
        })
    }
}

/// One dialogue execution: the messages so far, which every turn sends again.
struct OpenAiConversation {
    endpoint: Arc<OpenAi>,
    history: History,
}

/// The messages so far as the body carries them: JSON objects, each after a comma unless it
/// is the array's first. Kept written, so that a turn writes its own two messages and copies
/// the rest: writing the whole history anew, every string escaped again, was most of the cost
/// of building a request late in a dialogue.
#[derive(Default)]
struct History {
    json: Vec<u8>,
}

impl History {
    /// Adds a turn: what the user said and what the agent answered.
    fn push_turn(&mut self, parts: &BodyParts, user: &str, assistant: &str) {
        let comma = parts.comma_before(self);
        push_message(&mut self.json, comma, Role::User, user);
        push_message(&mut self.json, true, Role::Assistant, assistant);
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

    /// The body for `message` after the conversation's `history`.
    fn with(&self, history: &History, message: &str) -> Vec<u8> {
        let mut body = Vec::with_capacity(
            self.open.len() + history.json.len() + message.len() + 40 + self.close.len(),
        );
        body.extend_from_slice(&self.open);
        body.extend_from_slice(&history.json);
        push_message(&mut body, self.comma_before(history), Role::User, message);
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
    // (as a struct it cost 1,700 instructions a message, mostly in escaping those); the
    // content is escaped by serde_json. Into a `Vec`, a string cannot fail to serialize.
    out.extend_from_slice(b"{\"role\":\"");
    out.extend_from_slice(role.as_str().as_bytes());
    out.extend_from_slice(b"\",\"content\":");
    let _ = serde_json::to_writer(&mut *out, content);
    out.push(b'}');
}

impl Conversation for OpenAiConversation {
    fn send<'a>(
        &'a mut self,
        message: Message<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Reply, SendError>> + Send + 'a>> {
        Box::pin(async move {
            let reply = self.endpoint.send(&self.history, message.text).await?;
            if let ReplyBody::Agent(a) = &reply.body {
                let parts = &self.endpoint.body;
                self.history.push_turn(parts, message.text, &a.text);
            }
            Ok(reply)
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
    let n = |k: &str| v.get(k).and_then(Value::as_u64);
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
    choices: First<Choice<'a>>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
    #[serde(default, borrow)]
    model: Option<Text<'a>>,
}

/// A string borrowed from the body when it is written without escapes, owned when it is not.
/// serde's own `Cow<str>` is borrowed only as a field of its own: inside an `Option` it always
/// copies, and a borrowed content is what lets a stream's chunks be read by their [`Frame`].
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// The first item of a list, the rest skipped unread: only `choices[0]` is ever looked at, and
/// a stream has a chunk per word.
struct First<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = First<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<First<T>, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }
        d.deserialize_seq(Visit(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    message: Option<Content<'a>>,
    #[serde(default, borrow)]
    delta: Option<Content<'a>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(default, borrow)]
    content: Option<Text<'a>>,
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
            let text = c.choices.0?.message?.content?;
            Some(ReplyBody::Agent(AgentReply {
                text: text.0.into_owned(),
                session_id: None,
                shape: Some("chat.completion"),
                usage: c.usage.map(Usage::from).unwrap_or_default(),
                model: c.model.map(|m| m.0.into_owned()),
            }))
        });
    fast.unwrap_or_else(|| completion_from_tree(bytes))
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
    let Some(text) = value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
    else {
        return ReplyBody::Malformed {
            reason: format!(
                "the body has no string `choices[0].message.content`: {}",
                preview(bytes)
            ),
        };
    };
    ReplyBody::Agent(AgentReply {
        text: text.to_string(),
        session_id: None,
        shape: Some("chat.completion"),
        usage: value.get("usage").map(usage_of).unwrap_or_default(),
        model: value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// One `chat.completion.chunk`: its `delta.content` piece; the usage chunk's counts. A chunk
/// in the frame of one read before ([`Frame`]) is read from its content alone, or from its
/// `choices` and `usage` values alone; any other is read member by member, or whole.
fn read_chunk<'a>(
    data: &'a [u8],
    frame: &mut Frame,
    usage: &mut Usage,
    model: &mut Option<String>,
) -> Result<Piece<'a>, String> {
    if let Some(text) = frame.content(data) {
        return Ok(Piece {
            text: Some(Cow::Borrowed(text)),
        });
    }
    match sse::text(data) {
        Cow::Borrowed(data) => read_whole_chunk(data, frame, usage, model),
        // Not UTF-8: read as the line-by-line road hands it, with U+FFFD in it.
        Cow::Owned(data) => {
            let piece = read_whole_chunk(&data, frame, usage, model)?;
            Ok(Piece {
                text: piece.text.map(|t| Cow::Owned(t.into_owned())),
            })
        }
    }
}

fn read_whole_chunk<'a>(
    data: &'a str,
    frame: &mut Frame,
    usage: &mut Usage,
    model: &mut Option<String>,
) -> Result<Piece<'a>, String> {
    let read = match frame
        .by_holes(data)
        .map(Members::from)
        .or_else(|| read_members(data))
    {
        Some(read) => read,
        None => match serde_json::from_str::<Completion>(data) {
            Ok(chunk) => Members {
                content: chunk
                    .choices
                    .0
                    .and_then(|c| c.delta)
                    .and_then(|d| d.content)
                    .map(|t| t.0),
                usage: chunk.usage,
                model: chunk.model,
                holes: Holes::default(),
            },
            Err(_) => return chunk_from_tree(data, usage, model),
        },
    };
    if model.is_none() {
        *model = read.model.map(|m| m.0.into_owned());
    }
    frame.keep(
        data,
        read.content.as_deref(),
        read.usage.is_none(),
        read.holes,
    );
    if let Some(u) = read.usage {
        *usage = u.into();
    }
    Ok(Piece { text: read.content })
}

/// The last chunk read whole (by serde, or by its holes), kept to read the next ones cheaply.
/// The chunks of a stream differ in little (the id, model and creation time are the same in
/// every one), and reading each whole was most of a streamed reply's cost: at about 20
/// instructions a byte, twenty 200-byte chunks cost more than the rest of the request.
///
/// Two roads, each for a chunk that is provably the frame's JSON with only a value changed:
///
/// - The content road: a chunk that is this text with another string literal in the place of
///   `choices[0].delta.content` is the same JSON, valid and shaped the same, with only that
///   value changed: the text before the literal ends at a token boundary (the opening quote)
///   and the text after it begins at one, so no token around it can read differently. Only
///   literals without escapes take it, and only from a frame whose usage is none (a chunk on
///   this road gives its text and nothing else).
/// - The hole road: a chunk that is this text with other JSON values in the places of the
///   top-level `choices` and `usage` values (the holes) is the same object with only those
///   two members' values changed. Each hole's text is read alone as one value, and must end
///   where the frame's text resumes; the text around a hole ends at `:` (or whitespace after
///   it) and resumes at what followed the frame's value, so the values are the ones the whole
///   read would see. The rest (the model, the keys, the other members) is the frame's own,
///   which was read already: what the whole read takes from it (the model, once) is taken.
///   This is the road of the chunks whose delta or finish reason differ (the first content
///   chunk after the role chunk, the finish chunk, the usage chunk).
#[derive(Debug, Default)]
struct Frame {
    text: String,
    /// For the content road: where the content's opening quote is, and where the text after
    /// its closing quote starts.
    content: Option<(usize, usize)>,
    holes: Holes,
}

/// A top-level member whose value a frame's chunk may change.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Field {
    Choices,
    Usage,
}

/// Where a hole's value lies in the frame's text (from `start`, which may be whitespace before
/// the value, to the value's end).
#[derive(Debug, Clone, Copy)]
struct Hole {
    field: Field,
    start: usize,
    end: usize,
}

/// A frame's holes in the order they come; none when the frame has no hole road.
#[derive(Debug, Default, Clone, Copy)]
struct Holes([Option<Hole>; 2]);

impl Holes {
    fn iter(&self) -> impl Iterator<Item = &Hole> {
        self.0.iter().flatten()
    }

    /// Adds a hole after the others; `None` when it would be a third or a field again (which
    /// a chunk read whole cannot have: serde refuses a repeated field).
    fn push(&mut self, hole: Hole) -> Option<()> {
        if self.iter().any(|h| h.field == hole.field) {
            return None;
        }
        let slot = self.0.iter_mut().find(|h| h.is_none())?;
        *slot = Some(hole);
        Some(())
    }
}

/// What a chunk read by its holes says.
struct HoleRead<'a> {
    content: Option<Cow<'a, str>>,
    usage: Option<OpenAiUsage>,
    /// The holes of the chunk's own text, for it to be the next frame.
    holes: Holes,
}

impl Frame {
    /// The content of `data` if it is in this frame and written without escapes. The frame
    /// was UTF-8 and the bytes around the literal are its own, so only the literal is checked.
    fn content<'a>(&self, data: &'a [u8]) -> Option<&'a str> {
        let (open, close) = self.content?;
        let frame = self.text.as_bytes();
        let literal = data
            .strip_prefix(&frame[..open])?
            .strip_suffix(&frame[close..])?;
        let body = literal.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
        if body.iter().all(|&b| b != b'"' && b != b'\\' && b >= 0x20) {
            std::str::from_utf8(body).ok()
        } else {
            None
        }
    }

    /// `data` read by the hole road, if it is this frame with other values in its holes.
    fn by_holes<'a>(&self, data: &'a str) -> Option<HoleRead<'a>> {
        let frame = self.text.as_bytes();
        let bytes = data.as_bytes();
        let mut read = HoleRead {
            content: None,
            usage: None,
            holes: Holes::default(),
        };
        // How far the frame and `data` have been matched.
        let (mut in_frame, mut at) = (0, 0);
        for hole in self.holes.iter() {
            let fixed = &frame[in_frame..hole.start];
            if !bytes.get(at..)?.starts_with(fixed) {
                return None;
            }
            at += fixed.len();
            let rest = data.get(at..)?;
            let len = match hole.field {
                Field::Choices => {
                    let (choices, len) = one_value::<First<Choice>>(rest)?;
                    read.content = choices
                        .0
                        .and_then(|c| c.delta)
                        .and_then(|d| d.content)
                        .map(|t| t.0);
                    len
                }
                Field::Usage => {
                    let (usage, len) = one_value::<Option<OpenAiUsage>>(rest)?;
                    read.usage = usage;
                    len
                }
            };
            read.holes.push(Hole {
                field: hole.field,
                start: at,
                end: at + len,
            })?;
            at += len;
            in_frame = hole.end;
        }
        // A frame without holes matches nothing: it has no hole road.
        read.holes.0[0]?;
        (bytes.get(at..)? == &frame[in_frame..]).then_some(read)
    }

    /// Keeps `data` as the frame: `content` is its content (the content road opens when it
    /// is borrowed from `data` as written, between quotes, and the usage is none), `holes`
    /// are its holes (none: no hole road).
    fn keep(&mut self, data: &str, content: Option<&str>, usage_none: bool, holes: Holes) {
        self.text.clear();
        self.text.push_str(data);
        self.content = content
            .filter(|_| usage_none)
            .and_then(|c| literal_span(data, c));
        self.holes = holes;
    }
}

/// Where the borrowed `content` sits in `data`, as the span from its opening quote to just
/// after its closing one; `None` for a slice from elsewhere (an unescaped copy).
fn literal_span(data: &str, content: &str) -> Option<(usize, usize)> {
    let start = (content.as_ptr() as usize).checked_sub(data.as_ptr() as usize)?;
    if start < 1 || start + content.len() >= data.len() {
        return None;
    }
    let end = start + content.len();
    let bytes = data.as_bytes();
    (bytes[start - 1] == b'"' && bytes[end] == b'"').then_some((start - 1, end + 1))
}

/// One JSON value at the start of `text` (after any whitespace), and where it ends. A value
/// that is not self-delimiting must be followed by whitespace or punctuation, so `nullx` is
/// no `null`.
fn one_value<'a, T: Deserialize<'a>>(text: &'a str) -> Option<(T, usize)> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((value, values.byte_offset()))
}

/// What a chunk read member by member says, and where its holes are.
struct Members<'a> {
    content: Option<Cow<'a, str>>,
    usage: Option<OpenAiUsage>,
    model: Option<Text<'a>>,
    holes: Holes,
}

/// A chunk read by its holes says what one read member by member does, but for the model:
/// the rest of it is the frame's, whose model was taken when the frame was read.
impl<'a> From<HoleRead<'a>> for Members<'a> {
    fn from(read: HoleRead<'a>) -> Self {
        Members {
            content: read.content,
            usage: read.usage,
            model: None,
            holes: read.holes,
        }
    }
}

/// `data` read as a [`Completion`] is, but a top-level member at a time, each value read
/// alone by serde as the field's type (an unknown key's as ignored), which tells where the
/// holes of [`Frame`] are at no further cost. Only the plain object: an escape or control
/// character in a key (which could spell a field unseen), a repeated field, no `choices`, or
/// anything else out of the way is `None`, and the chunk is read by serde whole. Else each
/// member is what serde's reading of the object takes it to be, so the two say the same.
fn read_members(data: &str) -> Option<Members<'_>> {
    let b = data.as_bytes();
    let mut out = Members {
        content: None,
        usage: None,
        model: None,
        holes: Holes::default(),
    };
    let mut seen_model = false;
    let mut i = skip_space(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_space(b, i + 1);
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let len = memchr::memchr(b'"', b.get(i + 1..)?)?;
        let key = &b[i + 1..i + 1 + len];
        if key.iter().any(|&c| c == b'\\' || c < 0x20) {
            return None;
        }
        i = skip_space(b, i + len + 2);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i += 1;
        let rest = data.get(i..)?;
        let len = match key {
            b"choices" => {
                let (choices, len) = one_value::<First<Choice>>(rest)?;
                out.content = choices
                    .0
                    .and_then(|c| c.delta)
                    .and_then(|d| d.content)
                    .map(|t| t.0);
                out.holes.push(Hole {
                    field: Field::Choices,
                    start: i,
                    end: i + len,
                })?;
                len
            }
            b"usage" => {
                let (usage, len) = one_value::<Option<OpenAiUsage>>(rest)?;
                out.usage = usage;
                out.holes.push(Hole {
                    field: Field::Usage,
                    start: i,
                    end: i + len,
                })?;
                len
            }
            b"model" if !seen_model => {
                seen_model = true;
                let (model, len) = one_value::<Option<Text>>(rest)?;
                out.model = model;
                len
            }
            b"model" => return None,
            _ => one_value::<serde::de::IgnoredAny>(rest)?.1,
        };
        i = skip_space(b, i + len);
        match b.get(i) {
            Some(b',') => i = skip_space(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    let whole = skip_space(b, i + 1) == b.len();
    let has_choices = out.holes.iter().any(|h| h.field == Field::Choices);
    (whole && has_choices).then_some(out)
}

/// Past the JSON whitespace at `i`.
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

fn chunk_from_tree(
    data: &str,
    usage: &mut Usage,
    model: &mut Option<String>,
) -> Result<Piece<'static>, String> {
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
        *model = value
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(Piece {
        text: value
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
            .map(|t| Cow::Owned(t.to_string())),
    })
}

/// OpenAI's `{"error": {"message", "type", "code"}}`; else FastAPI's `detail`, else the text.
pub fn parse_error(bytes: &[u8]) -> Option<String> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return Some(m.to_string());
        }
        if let Some(m) = v.get("error").and_then(Value::as_str) {
            return Some(m.to_string());
        }
    }
    super::thinnest::parse_detail(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

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
                        let built = parts.with(&history, said);
                        let whole = whole_body(&spec, &turns, said);
                        assert_eq!(
                            String::from_utf8_lossy(&built),
                            String::from_utf8_lossy(&whole),
                            "{spec:?} after {i} turns"
                        );
                        let answer = texts[texts.len() - 1 - i];
                        history.push_turn(&parts, said, answer);
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
            "not json",
        ] {
            let (mut u1, mut m1) = (Usage::default(), None);
            let (mut u2, mut m2) = (Usage::default(), None);
            let fast = format!(
                "{:?}",
                read_chunk(data.as_bytes(), &mut Frame::default(), &mut u1, &mut m1)
            );
            let tree = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2));
            assert_eq!((fast, u1, m1), (tree, u2, m2), "{data}");
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
            stream_options: Some(StreamOptions {
                include_usage: true,
            }),
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
    }

    #[test]
    fn chunks_give_pieces_and_usage() {
        let mut usage = Usage::default();
        let mut model = None;
        let mut frame = Frame::default();
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

    /// The chunks real servers send: after the first content chunk, the rest are read from
    /// their content alone; a chunk out of the frame, or with escapes, is read whole.
    #[test]
    fn chunks_in_one_frame_are_read_from_their_content() {
        let openai = |content: &str| {
            format!(
                r#"{{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1718000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{{"index":0,"delta":{{"content":{content}}},"logprobs":null,"finish_reason":null}}],"usage":null}}"#
            )
        };
        let (mut usage, mut model, mut frame) = (Usage::default(), None, Frame::default());
        let mut read = |frame: &mut Frame, data: &str| {
            read_chunk(data.as_bytes(), frame, &mut usage, &mut model)
                .map(|p| p.text.map(Cow::into_owned))
        };
        assert_eq!(
            read(&mut frame, &openai(r#""Hello""#)),
            Ok(Some("Hello".into()))
        );
        for (literal, text) in [(r#"" wor""#, " wor"), (r#""""#, ""), (r#""é€""#, "é€")] {
            let chunk = openai(literal);
            assert_eq!(
                frame.content(chunk.as_bytes()),
                Some(text),
                "in the frame: {literal}"
            );
            assert_eq!(read(&mut frame, &chunk), Ok(Some(text.into())));
        }
        for (literal, text) in [(r#""a\nb""#, Some("a\nb")), ("null", None), ("7", None)] {
            let chunk = openai(literal);
            assert_eq!(
                frame.content(chunk.as_bytes()),
                None,
                "read whole: {literal}"
            );
            assert_eq!(read(&mut frame, &chunk), Ok(text.map(str::to_string)));
        }
        assert_eq!(model.as_deref(), Some("gpt-4o"));
        // Bytes that are not UTF-8, in the frame or out of it, read as the line-by-line road
        // hands them: with U+FFFD in their place.
        for bytes in [
            &b"{\"choices\":[{\"delta\":{\"content\":\"a\xffb\"}}]}"[..],
            &b"{\"choices\":[{\"delta\":{\"content\":\"\xc3\"}}],\"x\":\"\xfe\"}"[..],
        ] {
            let mut frame = Frame::default();
            let lossy = String::from_utf8_lossy(bytes);
            let want = read_chunk(
                lossy.as_bytes(),
                &mut Frame::default(),
                &mut no_usage(),
                &mut None,
            )
            .map(|p| p.text.map(Cow::into_owned));
            let first = read_chunk(bytes, &mut frame, &mut no_usage(), &mut None)
                .map(|p| p.text.map(Cow::into_owned));
            assert!(
                matches!(&want, Ok(Some(t)) if t.contains('\u{fffd}')),
                "{want:?}"
            );
            assert_eq!(first, want);
            // The frame the lossy text left does not take the raw bytes as its own.
            assert_eq!(frame.content(bytes), None);
            let again = read_chunk(bytes, &mut frame, &mut no_usage(), &mut None)
                .map(|p| p.text.map(Cow::into_owned));
            assert_eq!(again, want);
        }
        // And a frame read from UTF-8 text refuses a literal in it that is not.
        let mut frame = Frame::default();
        read_chunk(
            openai(r#""ok""#).as_bytes(),
            &mut frame,
            &mut no_usage(),
            &mut None,
        )
        .unwrap();
        let mut bad = openai(r#""x""#).into_bytes();
        let at = bad.iter().rposition(|&b| b == b'x').unwrap();
        bad[at] = 0xff;
        assert_eq!(frame.content(&bad), None);
        let text = read_chunk(&bad, &mut frame, &mut no_usage(), &mut None)
            .unwrap()
            .text;
        assert_eq!(text.as_deref(), Some("\u{fffd}"));
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
        ]);
        let chunk =
            (frame, literal).prop_map(|((before, after), lit)| format!("{before}{lit}{after}"));
        proptest!(ProptestConfig::with_cases(1000), |(stream in prop::collection::vec(chunk, 1..12))| {
            let (mut u1, mut m1, mut frame) = (Usage::default(), None, Frame::default());
            for data in &stream {
                let framed = format!("{:?}", read_chunk(data.as_bytes(), &mut frame, &mut u1, &mut m1));
                let (mut u2, mut m2) = (Usage::default(), None);
                let alone = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2));
                prop_assert_eq!(&framed, &alone, "{}", data);
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

    /// Whatever a stream sends, reading its chunks in order through one frame (by the content
    /// road, the hole road, member by member, or whole) leaves the text, usage and model that
    /// reading each as a tree leaves.
    #[test]
    fn a_stream_read_by_holes_is_read_as_each_chunk_alone() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(2000), |(stream in prop::collection::vec(any_chunk(), 1..10))| {
            let (mut u1, mut m1, mut frame) = (Usage::default(), None, Frame::default());
            let (mut u2, mut m2) = (Usage::default(), None);
            for data in &stream {
                let framed = format!("{:?}", read_chunk(data.as_bytes(), &mut frame, &mut u1, &mut m1));
                let alone = format!("{:?}", chunk_from_tree(data, &mut u2, &mut m2));
                prop_assert_eq!(&framed, &alone, "{}", data);
                prop_assert_eq!(&u1, &u2, "usage after {}", data);
                prop_assert_eq!(&m1, &m2, "model after {}", data);
            }
        });
    }

    /// A chunk read member by member is what serde reads of it whole.
    #[test]
    fn members_are_read_as_serde_reads_the_object() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(1000), |(data in any_chunk())| {
            if let Some(m) = read_members(&data) {
                let whole = serde_json::from_str::<Completion>(&data);
                prop_assert!(whole.is_ok(), "{}", data);
                let whole = whole.unwrap();
                let content = whole.choices.0.and_then(|c| c.delta).and_then(|d| d.content);
                prop_assert_eq!(
                    format!("{:?}", (m.content, m.usage, m.model)),
                    format!("{:?}", (content.map(|t| t.0), whole.usage, whole.model)),
                    "{}", data
                );
            }
        });
    }

    /// The chunks the mock streams (and OpenAI's, in its own key order): after the role chunk
    /// is read member by member, the first content chunk, the finish chunk and the usage chunk
    /// each take the hole road and the other content chunks the content road.
    #[test]
    fn a_reply_reads_one_chunk_whole() {
        let chunk = |choices: &str, usage: &str| {
            format!(
                r#"{{"choices":{choices},"created":1796198900,"id":"chatcmpl-U","model":"ag","object":"chat.completion.chunk","usage":{usage}}}"#
            )
        };
        let delta =
            |d: &str, f: &str| format!(r#"[{{"delta":{d},"finish_reason":{f},"index":0}}]"#);
        let role = chunk(
            &delta(r#"{"content":"","role":"assistant"}"#, "null"),
            "null",
        );
        let words = ["Answer ", "to ", "it."]
            .map(|w| chunk(&delta(&format!(r#"{{"content":"{w}"}}"#), "null"), "null"));
        let finish = chunk(&delta("{}", r#""stop""#), "null");
        let counts = chunk(
            "[]",
            r#"{"completion_tokens":3,"prompt_tokens":4,"total_tokens":7}"#,
        );
        let (mut usage, mut model, mut frame) = (Usage::default(), None, Frame::default());
        let mut text = String::new();
        let mut read = |frame: &mut Frame, data: &str| {
            let piece = read_chunk(data.as_bytes(), frame, &mut usage, &mut model).unwrap();
            text.push_str(piece.text.as_deref().unwrap_or(""));
        };
        read(&mut frame, &role);
        for (i, word) in words.iter().enumerate() {
            assert_eq!(frame.content(word.as_bytes()).is_some(), i > 0, "{word}");
            assert!(frame.by_holes(word).is_some(), "{word}");
            read(&mut frame, word);
        }
        for last in [&finish, &counts] {
            assert_eq!(frame.content(last.as_bytes()), None);
            assert!(frame.by_holes(last).is_some(), "{last}");
            read(&mut frame, last);
        }
        assert_eq!(text, "Answer to it.");
        assert_eq!(model.as_deref(), Some("ag"));
        assert_eq!(
            (usage.input_tokens, usage.output_tokens, usage.total_tokens),
            (Some(4), Some(3), Some(7))
        );
    }
}
