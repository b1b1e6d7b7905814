//! The hosted agent platform's chat API (SPEC §2): `POST {base}/v1/agents/{id}/chat` with a
//! Bearer key, the three documented 200 shapes, `{"detail": ...}` errors, and its sessions:
//! a fresh id made by the harness and sent on every turn, or (`session: server`) none on the
//! first turn and the server's from then on.
//!
//! One request in, one [`Reply`] out: no retries, no sleeping, no judging.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Deserialize as _;
use serde_json::Value;

use super::session;
use super::transport::{self, preview, truncate, Auth, Client, Target, Transport};
use super::{Conversation, Endpoint, Message};
use crate::record::{AgentReply, Reply, ReplyBody, SendError, Usage};
use crate::suite::model::{self, SessionMode};

/// The platform endpoint of one suite or dialogue: URL parsed and headers built once.
#[derive(Debug)]
pub struct Thinnest {
    transport: Transport,
    /// Parsed once: reqwest would parse a string URL again on every request.
    url: Target,
}

impl Thinnest {
    /// `base_url` is the resolved URL (the mock's, when the endpoint says `mock`).
    pub fn new(http: Client, base_url: &str, endpoint: &model::Endpoint) -> Result<Self, String> {
        let transport = Transport::new(http, endpoint, Auth::Bearer)?;
        let url = transport::url_under(base_url, &format!("/v1/agents/{}/chat", endpoint.agent_id));
        let url = Target::parse(&url)?;
        Ok(Thinnest { transport, url })
    }

    /// Sends on `transport`: the endpoint's, or under replay the conversation's own.
    async fn send(
        &self,
        transport: &Transport,
        message: &str,
        session_id: Option<&str>,
    ) -> Result<Reply, SendError> {
        let body = ChatRequest {
            message,
            session_id,
        };
        let bytes = serde_json::to_vec(&body).map_err(|e| SendError::Invalid(e.to_string()))?;
        let (response, started, first_byte) = transport
            .start(reqwest::Method::POST, &self.url, Some(bytes))
            .await?;
        transport::whole_reply(response, started, first_byte, parse_success, parse_detail).await
    }
}

/// The request body, serialized from borrowed parts: `{"message": ..., "session_id": ...}`.
#[derive(serde::Serialize)]
struct ChatRequest<'a> {
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<&'a str>,
}

impl Endpoint for Thinnest {
    fn open(self: Arc<Self>, mode: SessionMode, dialogue: &str) -> Box<dyn Conversation> {
        let session = match mode {
            SessionMode::Fresh => Some(session::new_id()),
            SessionMode::Server => None,
        };
        Box::new(ThinnestConversation {
            named: self.transport.naming(dialogue),
            endpoint: self,
            session,
        })
    }
}

/// One dialogue execution: its session id, fresh or adopted from the server.
struct ThinnestConversation {
    endpoint: Arc<Thinnest>,
    session: Option<String>,
    /// Under replay, the transport that names this conversation's dialogue.
    named: Option<Transport>,
}

impl Conversation for ThinnestConversation {
    fn send<'a>(
        &'a mut self,
        message: Message<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Reply, SendError>> + Send + 'a>> {
        Box::pin(async move {
            let endpoint = &self.endpoint;
            let transport = self.named.as_ref().unwrap_or(&endpoint.transport);
            let reply = endpoint
                .send(transport, message.text, self.session.as_deref())
                .await?;
            if let (None, ReplyBody::Agent(a)) = (&self.session, &reply.body) {
                self.session = a.session_id.clone();
            }
            Ok(reply)
        })
    }

    fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// A fresh session has its id from the start; a server's (`session: server`) only once
    /// the server returned one. Without it the next turn would open a new conversation, and
    /// the dialogue would pass on answers given without its context.
    fn can_continue(&self) -> bool {
        self.session.is_some()
    }

    fn request(&self) -> String {
        let ep = &self.endpoint;
        ep.transport
            .request_line(&reqwest::Method::POST, &ep.url.url)
    }
}

/// A 2xx body: one of the three documented shapes, or malformed when there is no text.
pub fn parse_success(bytes: &[u8]) -> ReplyBody {
    match serde_json::from_slice::<Documented>(bytes) {
        Ok(body) => body.reply(),
        Err(_) => parse_any(bytes),
    }
}

/// The documented shapes, read in one pass without building a tree: the body of nearly every
/// reply. Anything it does not take exactly (a field of another type, a body that is not an
/// object) goes to [`parse_any`], which says what is wrong, or reads what it can.
#[derive(serde::Deserialize)]
struct Documented<'a> {
    #[serde(borrow)]
    response: Cow<'a, str>,
    #[serde(default, borrow)]
    session_id: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<PlatformUsage>,
    #[serde(default)]
    tokens_used: Option<u64>,
    /// `Some` whenever the key is there, `null` included, as the shape is told by the key.
    #[serde(default, borrow, deserialize_with = "present")]
    metadata: Option<Metadata<'a>>,
    #[serde(default, deserialize_with = "present")]
    success: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct PlatformUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    total_tokens: Option<u64>,
}

#[derive(Default, serde::Deserialize)]
struct Metadata<'a> {
    #[serde(default, borrow)]
    model: Option<Cow<'a, str>>,
}

/// A key that is there, even as `null`.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    Ok(Some(Option::<T>::deserialize(d)?.unwrap_or_default()))
}

impl Documented<'_> {
    fn reply(self) -> ReplyBody {
        let (shape, usage, model) = if let Some(u) = self.usage {
            let usage = Usage {
                input_tokens: u.input_tokens,
                output_tokens: u.output_tokens,
                total_tokens: u.total_tokens,
            };
            (Some("usage"), usage, None)
        } else if let Some(total) = self.tokens_used {
            let usage = Usage {
                total_tokens: Some(total),
                ..Usage::default()
            };
            (Some("tokens_used"), usage, None)
        } else if self.metadata.is_some() || self.success.is_some() {
            let model = self
                .metadata
                .and_then(|m| m.model)
                .map(|m| Arc::from(m.as_ref()));
            (Some("metadata"), Usage::default(), model)
        } else {
            (None, Usage::default(), None)
        };
        ReplyBody::Agent(AgentReply {
            text: self.response.into_owned(),
            session_id: self.session_id.map(Cow::into_owned),
            shape,
            usage,
            model,
        })
    }
}

/// Any 2xx body: the same reading through a JSON tree, for bodies off the documented path.
fn parse_any(bytes: &[u8]) -> ReplyBody {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return ReplyBody::Malformed {
                reason: format!("the body is not JSON ({e}): {}", preview(bytes)),
            }
        }
    };
    let Some(obj) = value.as_object() else {
        return ReplyBody::Malformed {
            reason: format!("the body is not a JSON object: {}", preview(bytes)),
        };
    };
    let Some(text) = obj.get("response").and_then(Value::as_str) else {
        return ReplyBody::Malformed {
            reason: format!("the body has no string `response`: {}", preview(bytes)),
        };
    };
    let session_id = obj
        .get("session_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let u64_at =
        |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(super::token_count);
    let (shape, usage, model) = if let Some(usage) = obj.get("usage").filter(|u| u.is_object()) {
        let usage = Usage {
            input_tokens: u64_at(Some(usage), "input_tokens"),
            output_tokens: u64_at(Some(usage), "output_tokens"),
            total_tokens: u64_at(Some(usage), "total_tokens"),
        };
        (Some("usage"), usage, None)
    } else if let Some(total) = obj.get("tokens_used").and_then(super::token_count) {
        let usage = Usage {
            total_tokens: Some(total),
            ..Usage::default()
        };
        (Some("tokens_used"), usage, None)
    } else if obj.contains_key("metadata") || obj.contains_key("success") {
        let model = obj
            .get("metadata")
            .and_then(|m| m.get("model"))
            .and_then(Value::as_str)
            .map(Arc::from);
        (Some("metadata"), Usage::default(), model)
    } else {
        (None, Usage::default(), None)
    };
    ReplyBody::Agent(AgentReply {
        text: text.to_string(),
        session_id,
        shape,
        usage,
        model,
    })
}

/// An error body's `detail`: a string, or FastAPI's 422 list flattened to
/// `body.message: Field required`.
pub fn parse_detail(bytes: &[u8]) -> Option<String> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(_) => return text_detail(bytes),
    };
    match value.get("detail") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Array(items)) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| {
                    let loc = item
                        .get("loc")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .map(|p| match p {
                                    Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .unwrap_or_default();
                    let msg = item
                        .get("msg")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| item.to_string());
                    if loc.is_empty() {
                        msg
                    } else {
                        format!("{loc}: {msg}")
                    }
                })
                .collect();
            Some(parts.join("; "))
        }
        Some(other) => Some(other.to_string()),
        None => Some(truncate(&value.to_string(), 500)),
    }
}

/// A body that is not JSON, as a detail. A proxy's HTML error page (nginx's 502, a load
/// balancer's 503) is named by its `<title>` (else its first `<h1>`): quoted whole it was
/// seven lines of markup. Other text keeps its lines, with `\r\n` read as a line break
/// rather than printed as a control character.
pub fn text_detail(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(heading) = html_heading(text) {
        return Some(truncate(&format!("{heading} (an HTML page)"), 500));
    }
    Some(truncate(&text.replace("\r\n", "\n"), 500))
}

/// The `<title>` or first `<h1>` of a text that is an HTML page, its whitespace collapsed;
/// `None` for any other text, or a page with neither.
fn html_heading(text: &str) -> Option<String> {
    let mut end = text.len().min(512);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text[..end].to_ascii_lowercase();
    let page = head.starts_with('<')
        && (head.contains("<html") || head.contains("<!doctype html") || head.contains("<title"));
    if !page {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    ["title", "h1"].iter().find_map(|tag| {
        let open = lower.find(&format!("<{tag}"))?;
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find(&format!("</{tag}"))?;
        let inner = text[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        (!inner.is_empty()).then_some(inner)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(body: &str) -> AgentReply {
        match parse_success(body.as_bytes()) {
            ReplyBody::Agent(a) => a,
            other => panic!("expected an agent reply, got {other:?}"),
        }
    }

    #[test]
    fn usage_shape() {
        let a = agent(
            r#"{"response":"hi","session_id":"s1","usage":{"input_tokens":45,"output_tokens":32,"total_tokens":77}}"#,
        );
        assert_eq!(a.shape, Some("usage"));
        assert_eq!(a.usage.output_tokens, Some(32));
        assert_eq!(a.session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn metadata_shape_has_no_token_counts() {
        let a = agent(
            r#"{"success":true,"response":"hi","session_id":"s","metadata":{"model":"gpt-4o","latency_ms":1450}}"#,
        );
        assert_eq!(a.shape, Some("metadata"));
        assert_eq!(a.usage, Usage::default());
        assert_eq!(a.model.as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn tokens_used_is_a_total_not_output() {
        let a = agent(r#"{"response":"hi","session_id":"s","tokens_used":145}"#);
        assert_eq!(a.shape, Some("tokens_used"));
        assert_eq!(a.usage.total_tokens, Some(145));
        assert_eq!(a.usage.output_tokens, None);
    }

    /// The one-pass reader and the tree reader say the same of every body, on and off the
    /// documented path.
    #[test]
    fn both_readers_agree() {
        for body in [
            r#"{"response":"hi","session_id":"s1","usage":{"input_tokens":45,"output_tokens":32,"total_tokens":77}}"#,
            r#"{"response":"hi","session_id":"s","tokens_used":145}"#,
            r#"{"success":true,"response":"hi","session_id":"s","metadata":{"model":"gpt-4o","latency_ms":1450}}"#,
            r#"{"response":"hi","metadata":null}"#,
            r#"{"response":"hi","success":null}"#,
            r#"{"response":"hi","session_id":null,"usage":null,"tokens_used":3}"#,
            r#"{"response":"hi","usage":{"input_tokens":-1}}"#,
            r#"{"response":"hi","usage":{"input_tokens":1.5,"total_tokens":2}}"#,
            r#"{"response":"hi","usage":7,"tokens_used":2}"#,
            r#"{"response":"hi","metadata":"x"}"#,
            r#"{"response":"hi","metadata":{"model":3}}"#,
            r#"{"response":"h\u00e9 \"quoted\"","session_id":3}"#,
            r#"{"response":"a","response":"b"}"#,
            r#"{"response":3}"#,
            r#"[1]"#,
            "not json",
        ] {
            let fast = format!("{:?}", parse_success(body.as_bytes()));
            let tree = format!("{:?}", parse_any(body.as_bytes()));
            assert_eq!(fast, tree, "{body}");
        }
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "not json",
            "[1]",
            r#"{"session_id":"s"}"#,
            r#"{"response": 3}"#,
            "",
        ] {
            assert!(
                matches!(parse_success(body.as_bytes()), ReplyBody::Malformed { .. }),
                "{body}"
            );
        }
    }

    #[test]
    fn details() {
        assert_eq!(
            parse_detail(br#"{"detail":"Invalid API key"}"#).as_deref(),
            Some("Invalid API key")
        );
        assert_eq!(
            parse_detail(br#"{"detail":[{"loc":["body","message"],"msg":"Field required","type":"missing"}]}"#)
                .as_deref(),
            Some("body.message: Field required")
        );
        assert_eq!(parse_detail(b"Bad Gateway").as_deref(), Some("Bad Gateway"));
        let nginx = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(
            parse_detail(nginx).as_deref(),
            Some("502 Bad Gateway (an HTML page)")
        );
        let no_title = b"<!DOCTYPE html><HTML><body><H1>Service\n  Unavailable</H1></body></HTML>";
        assert_eq!(
            parse_detail(no_title).as_deref(),
            Some("Service Unavailable (an HTML page)")
        );
        assert_eq!(
            parse_detail(b"Traceback:\r\n  boom\r\n").as_deref(),
            Some("Traceback:\n  boom")
        );
        assert_eq!(
            parse_detail("<p>caf\u{e9} < 3 \u{2014} not a page".as_bytes()).as_deref(),
            Some("<p>caf\u{e9} < 3 \u{2014} not a page")
        );
        assert_eq!(parse_detail(b""), None);
        // A page whose 512th byte falls inside a character is still a page.
        let long = format!("<html><title>Down</title>{}</html>", "\u{e9}".repeat(300));
        assert_eq!(
            parse_detail(long.as_bytes()).as_deref(),
            Some("Down (an HTML page)")
        );
    }
}
