//! The hosted agent platform's chat API (SPEC §2): `POST {base}/v1/agents/{id}/chat` with a
//! Bearer key, the three documented 200 shapes, `{"detail": ...}` errors and rate-limit
//! headers. One request in, one [`Reply`] out: no retries, no sleeping, no judging.

use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue as ReqHeaderValue, AUTHORIZATION};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::{AgentReply, RateHeaders, Reply, ReplyBody, SendError, Shape, Usage};
use crate::suite::model::{Endpoint, HeaderValue};

/// Replies are text for people; anything past this is a broken or hostile server, and reading
/// it all would let one endless response exhaust the run's memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// A client for one endpoint. Cheap to clone: the HTTP connection pool is shared.
#[derive(Clone)]
pub struct ThinnestClient {
    http: reqwest::Client,
    /// Parsed once: reqwest would parse a string URL again on every request.
    url: reqwest::Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl std::fmt::Debug for ThinnestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers hold the key: never print them.
        f.debug_struct("ThinnestClient")
            .field("url", &self.url)
            .finish()
    }
}

impl ThinnestClient {
    /// `base_url` is the resolved URL (the mock's, when the endpoint says `mock`).
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        endpoint: &Endpoint,
    ) -> Result<Self, SendError> {
        let mut headers = HeaderMap::new();
        for h in &endpoint.headers {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| SendError::Other(format!("invalid header name `{}`", h.name)))?;
            let mut value = match &h.value {
                HeaderValue::Plain(v) => ReqHeaderValue::from_str(v),
                HeaderValue::Secret(v) => ReqHeaderValue::from_str(v.expose_secret()),
            }
            .map_err(|_| SendError::Other(format!("invalid value for header `{}`", h.name)))?;
            value.set_sensitive(matches!(h.value, HeaderValue::Secret(_)));
            headers.insert(name, value);
        }
        if let Some(key) = &endpoint.api_key {
            let mut value = ReqHeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                .map_err(|_| SendError::Other("the api key is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let url = format!(
            "{}/v1/agents/{}/chat",
            base_url.trim_end_matches('/'),
            endpoint.agent_id
        );
        let url = reqwest::Url::parse(&url)
            .map_err(|e| SendError::Invalid(format!("`{url}` is not a valid URL: {e}")))?;
        Ok(ThinnestClient {
            http,
            url,
            headers,
            timeout: endpoint.timeout,
        })
    }

    pub async fn send(&self, message: &str, session_id: Option<&str>) -> Result<Reply, SendError> {
        let mut body = serde_json::Map::new();
        body.insert("message".into(), Value::String(message.to_string()));
        if let Some(id) = session_id {
            body.insert("session_id".into(), Value::String(id.to_string()));
        }
        let started = Instant::now();
        let request = self
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .json(&body)
            .timeout(self.timeout);
        let response = request
            .send()
            .await
            .map_err(|e| classify(e, self.timeout))?;
        let status = response.status().as_u16();
        let rate = rate_headers(response.headers());
        let bytes = read_capped(response, self.timeout).await?;
        let latency = started.elapsed();
        let body = if (200..300).contains(&status) {
            parse_success(&bytes)
        } else {
            ReplyBody::Error {
                detail: parse_detail(&bytes),
            }
        };
        Ok(Reply {
            status,
            body,
            rate,
            latency,
        })
    }
}

fn classify(e: reqwest::Error, timeout: Duration) -> SendError {
    if e.is_builder() {
        // A request we could not even build will not build on a retry either.
        SendError::Invalid(root_cause(&e))
    } else if e.is_timeout() {
        SendError::Timeout(timeout)
    } else if e.is_connect() {
        SendError::Connect(root_cause(&e))
    } else {
        SendError::Other(root_cause(&e))
    }
}

/// reqwest's own Display says only "error sending request"; the useful part (connection
/// refused, reset by peer) is at the bottom of the source chain.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg = format!("{msg}: {text}");
        }
        cur = s.source();
    }
    msg
}

async fn read_capped(response: reqwest::Response, timeout: Duration) -> Result<Vec<u8>, SendError> {
    let mut stream = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| classify(e, timeout))?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(SendError::TooLarge(MAX_BODY_BYTES));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn rate_headers(h: &HeaderMap) -> RateHeaders {
    let num = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let retry_after = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    RateHeaders {
        limit: num("x-ratelimit-limit"),
        remaining: num("x-ratelimit-remaining"),
        reset: num("x-ratelimit-reset"),
        retry_after,
    }
}

/// `Retry-After` is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e6)));
    }
    let when = httpdate::parse_http_date(text).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A 2xx body: one of the three documented shapes, or malformed when there is no text.
pub fn parse_success(bytes: &[u8]) -> ReplyBody {
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
    let u64_at = |v: Option<&Value>, key: &str| v.and_then(|v| v.get(key)).and_then(Value::as_u64);
    let (shape, usage, model) = if let Some(usage) = obj.get("usage").filter(|u| u.is_object()) {
        let usage = Usage {
            input_tokens: u64_at(Some(usage), "input_tokens"),
            output_tokens: u64_at(Some(usage), "output_tokens"),
            total_tokens: u64_at(Some(usage), "total_tokens"),
        };
        (Some(Shape::Usage), usage, None)
    } else if let Some(total) = obj.get("tokens_used").and_then(Value::as_u64) {
        let usage = Usage {
            total_tokens: Some(total),
            ..Usage::default()
        };
        (Some(Shape::TokensUsed), usage, None)
    } else if obj.contains_key("metadata") || obj.contains_key("success") {
        let model = obj
            .get("metadata")
            .and_then(|m| m.get("model"))
            .and_then(Value::as_str)
            .map(str::to_string);
        (Some(Shape::Metadata), Usage::default(), model)
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
        Err(_) => {
            let text = String::from_utf8_lossy(bytes).trim().to_string();
            return (!text.is_empty()).then(|| truncate(&text, 500));
        }
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

fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        format!("`{}`", truncate(text.trim(), 200))
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
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
        assert_eq!(a.shape, Some(Shape::Usage));
        assert_eq!(a.usage.output_tokens, Some(32));
        assert_eq!(a.session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn metadata_shape_has_no_token_counts() {
        let a = agent(
            r#"{"success":true,"response":"hi","session_id":"s","metadata":{"model":"gpt-4o","latency_ms":1450}}"#,
        );
        assert_eq!(a.shape, Some(Shape::Metadata));
        assert_eq!(a.usage, Usage::default());
        assert_eq!(a.model.as_deref(), Some("gpt-4o"));
    }

    #[test]
    fn tokens_used_is_a_total_not_output() {
        let a = agent(r#"{"response":"hi","session_id":"s","tokens_used":145}"#);
        assert_eq!(a.shape, Some(Shape::TokensUsed));
        assert_eq!(a.usage.total_tokens, Some(145));
        assert_eq!(a.usage.output_tokens, None);
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
        assert_eq!(parse_detail(b""), None);
    }

    #[test]
    fn retry_after_seconds_and_date() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let d = parse_retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
