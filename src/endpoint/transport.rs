//! The HTTP transport every endpoint kind shares: one reqwest client per run (no redirects, no
//! retries of its own), headers built once per endpoint, a capped body read, rate-limit headers
//! and timing. It sends bytes and returns bytes; what they mean is the endpoint kind's.
//!
//! It never retries, sleeps or judges: the runner does that, the same way for every kind.

use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{
    HeaderMap, HeaderName, HeaderValue as ReqHeaderValue, AUTHORIZATION, CONTENT_LENGTH,
    CONTENT_TYPE, USER_AGENT,
};
use secrecy::ExposeSecret;

pub use super::client::{Client, Response, Target};

use crate::record::{AgentReply, RateHeaders, Reply, ReplyBody, SendError, Timing, Usage};
use crate::suite::model::{slug, BaseUrl, Endpoint, HeaderValue, REPLAY_IDENTITY_HEADER};

/// Replies are text for people; anything past this is a broken or hostile server, and reading
/// it all would let one endless response exhaust the run's memory.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Where an endpoint puts its key: `Authorization: Bearer <key>` or a header of its own that
/// carries the key as it is.
pub enum Auth<'a> {
    Bearer,
    Header(&'a str),
}

/// One endpoint's requests: its headers (key included) built once, its timeout.
#[derive(Clone)]
pub struct Transport {
    http: Client,
    headers: HeaderMap,
    /// `headers` and `Content-Type: application/json` (unless the suite gave its own: a
    /// vendor type such as `application/vnd.api+json` is still JSON), for a request with a
    /// body.
    json_headers: HeaderMap,
    /// `headers` and `Content-Length: 0`, for a POST, PUT or PATCH without a body: RFC 9110
    /// (§8.6) asks for it, and some front ends answer 411 without it.
    empty_headers: HeaderMap,
    timeout: Duration,
    /// `mock` or `replay` for an in-process server, as the suite wrote it.
    local: Option<&'static str>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers hold the key: never print them.
        f.debug_struct("Transport")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Transport {
    pub fn new(http: Client, endpoint: &Endpoint, auth: Auth<'_>) -> Result<Self, String> {
        let mut headers = HeaderMap::new();
        for h in &endpoint.headers {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| format!("invalid header name `{}`", h.name))?;
            let mut value = match &h.value {
                HeaderValue::Plain(v) => ReqHeaderValue::from_str(v),
                HeaderValue::Secret(v) => ReqHeaderValue::from_str(v.expose_secret()),
            }
            .map_err(|_| format!("invalid value for header `{}`", h.name))?;
            value.set_sensitive(matches!(h.value, HeaderValue::Secret(_)));
            headers.insert(name, value);
        }
        // Named, as curl and every SDK are: a gateway behind a CDN or a WAF may refuse a request
        // that says nothing of its client. A suite's own `User-Agent` is kept.
        headers
            .entry(USER_AGENT)
            .or_insert(ReqHeaderValue::from_static(concat!(
                "agenttest/",
                env!("CARGO_PKG_VERSION")
            )));
        if let Some(key) = &endpoint.api_key {
            let (name, text) = match auth {
                Auth::Bearer => (AUTHORIZATION, format!("Bearer {}", key.expose_secret())),
                Auth::Header(name) => (
                    HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("invalid auth_header name `{name}`"))?,
                    key.expose_secret().to_string(),
                ),
            };
            let mut value = ReqHeaderValue::from_str(&text)
                .map_err(|_| "the api key is not a valid header value".to_string())?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let local = match endpoint.base_url {
            BaseUrl::Url(_) => None,
            BaseUrl::Mock => Some("mock"),
            BaseUrl::Replay => Some("replay"),
        };
        let mut json_headers = headers.clone();
        json_headers
            .entry(CONTENT_TYPE)
            .or_insert(ReqHeaderValue::from_static("application/json"));
        let mut empty_headers = headers.clone();
        empty_headers.insert(CONTENT_LENGTH, ReqHeaderValue::from_static("0"));
        Ok(Transport {
            http,
            headers,
            json_headers,
            empty_headers,
            timeout: endpoint.timeout,
            local,
        })
    }

    /// Under `base_url: replay`, this transport with the dialogue named `dialogue` in
    /// [`REPLAY_IDENTITY_HEADER`] on every request, for one conversation's own use; `None`
    /// anywhere else, where the endpoint's transport serves every conversation.
    pub fn naming(&self, dialogue: &str) -> Option<Transport> {
        if self.local != Some("replay") {
            return None;
        }
        let name = HeaderName::from_static(REPLAY_IDENTITY_HEADER);
        // A slug is ASCII letters, digits and dashes: always a header value.
        let value = ReqHeaderValue::from_str(&slug(dialogue)).ok()?;
        let mut named = self.clone();
        for map in [
            &mut named.headers,
            &mut named.json_headers,
            &mut named.empty_headers,
        ] {
            map.insert(name.clone(), value.clone());
        }
        Some(named)
    }

    /// How an error names a request to `url` ([`request_line`]). An in-process server is
    /// named by the word the suite wrote, `POST mock/v1/agents/x/chat`: its address changes
    /// on every run and means nothing after it, and a report must read the same run to run.
    pub fn request_line(&self, method: &reqwest::Method, url: &reqwest::Url) -> String {
        match self.local {
            Some(word) => {
                let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
                format!("{method} {word}{}{query}", url.path())
            }
            None => request_line(method, url),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `body` (JSON) and returns the response with its head read; the body is left
    /// for the caller to read whole ([`read_capped`]) or as a stream.
    pub async fn start(
        &self,
        method: reqwest::Method,
        target: &Target,
        body: Option<Vec<u8>>,
    ) -> Result<(Response, Instant, Duration), SendError> {
        let started = Instant::now();
        let anticipates_body = matches!(
            method,
            reqwest::Method::POST | reqwest::Method::PUT | reqwest::Method::PATCH
        );
        let headers = match (&body, anticipates_body) {
            (Some(_), _) => self.json_headers.clone(),
            (None, true) => self.empty_headers.clone(),
            (None, false) => self.headers.clone(),
        };
        let body = body.map(bytes::Bytes::from);
        let response = self
            .http
            .send(method, target, headers, body, self.timeout)
            .await?;
        let first_byte = started.elapsed();
        Ok((response, started, first_byte))
    }
}

/// `POST http://host/v1/agents/x/chat`: where a request went, for an error that must say so.
/// Credentials written into the URL (`https://user:pass@host`) are left out; a secret in the
/// query is the redactor's, like every other text of an attempt.
fn request_line(method: &reqwest::Method, url: &reqwest::Url) -> String {
    let mut shown = url.clone();
    // Both fail only for a URL that cannot have credentials, which then has none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    format!("{method} {shown}")
}

/// Reads a whole (not streamed) response within the cap and makes it a [`Reply`]: `success`
/// reads a 2xx body, `error` a non-2xx body's detail; each kind brings its own two.
pub async fn whole_reply(
    response: Response,
    started: Instant,
    first_byte: Duration,
    success: impl FnOnce(&[u8]) -> ReplyBody,
    error: impl FnOnce(&[u8]) -> Option<String>,
) -> Result<Reply, SendError> {
    let status = response.status();
    let rate = rate_headers(response.headers());
    let redirect = redirected_to(status, response.headers());
    let encoded = not_decoded(response.headers());
    let bytes = read_capped(response).await?;
    // A byte order mark before JSON (a .NET agent's `Encoding.UTF8`) may be ignored (RFC 8259
    // §8.1); quoted in an error it is invisible, and a valid body would seem refused.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let body = if let (Some(reason), true) = (&encoded, (200..300).contains(&status)) {
        ReplyBody::Malformed {
            reason: reason.clone(),
        }
    } else if matches!(status, 204 | 205) {
        // No content, by definition (RFC 9110 §15.3.5): an answer without text, not a
        // malformed one. Judged on its status like any reply, so `expect: {status: 204}`
        // passes and an unexpected 204 fails its status check.
        ReplyBody::Agent(AgentReply {
            text: String::new(),
            session_id: None,
            shape: Some("no content"),
            usage: Usage::default(),
            model: None,
        })
    } else if (200..300).contains(&status) {
        success(bytes)
    } else {
        // A compressed error body quoted as it is would be binary noise in the report.
        ReplyBody::Error {
            detail: redirect.or(encoded).or_else(|| error(bytes)),
        }
    };
    Ok(Reply {
        status,
        body,
        rate,
        timing: Timing {
            first_byte,
            first_token: None,
            total: started.elapsed(),
        },
    })
}

/// Why a body cannot be read, when it is compressed (`Content-Encoding` other than
/// `identity`). Nothing asked for compression, but a proxy or a framework's middleware may
/// apply it: the reply says so, rather than quote the compressed bytes as a body that is not
/// JSON, or read a compressed event stream as one with no events.
pub fn not_decoded(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let value = headers
        .get(reqwest::header::CONTENT_ENCODING)?
        .to_str()
        .ok()?
        .trim();
    (!value.is_empty() && !value.eq_ignore_ascii_case("identity")).then(|| {
        format!(
            "the body is {value}-encoded (Content-Encoding: {value}), which agenttest does not \
             decode: have the server send it uncompressed"
        )
    })
}

/// A redirect's detail: where it points, and what to do, since no redirect is followed (a
/// `POST` turned into a `GET` by a 302 would reach the agent without its message). The usual
/// cause is a URL one slash off (`/chat/` for `/chat`), which FastAPI answers with a 307.
fn redirected_to(status: u16, headers: &reqwest::header::HeaderMap) -> Option<String> {
    if !(300..400).contains(&status) {
        return None;
    }
    let location = headers.get(reqwest::header::LOCATION)?.to_str().ok()?;
    Some(format!(
        "redirected to {location}; agenttest follows no redirect: point base_url (and path) at that URL"
    ))
}

/// The whole body, or an error once it grows past [`MAX_BODY_BYTES`]: an endless or huge
/// reply is cut, never buffered.
pub async fn read_capped(mut response: Response) -> Result<Vec<u8>, SendError> {
    let status = response.status();
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.in_body(status))? {
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(SendError::TooLarge(MAX_BODY_BYTES).in_body(status));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// `path` (from its `/`, perhaps with a query of its own) under `base`: after the base's path
/// and before its query, which is kept. `http://h/openai?api-version=1` with
/// `/chat/completions` is `http://h/openai/chat/completions?api-version=1`: an Azure-style
/// base URL had become a path inside the query. Both queries are kept, the base's first.
pub fn url_under(base: &str, path: &str) -> String {
    let (head, query) = match base.find('?') {
        Some(i) => (&base[..i], &base[i + 1..]),
        None => (base, ""),
    };
    let head = head.trim_end_matches('/');
    let (path, own) = match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    };
    let query = match (query.is_empty(), own.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("?{query}"),
        (true, false) => format!("?{own}"),
        (false, false) => format!("?{query}&{own}"),
    };
    format!("{head}{path}{query}")
}

/// The rate-limit headers of every kind, read into one form: the platform's
/// `X-RateLimit-*` (reset in epoch seconds) and `Retry-After`, and OpenAI's `retry-after-ms`
/// and `x-ratelimit-reset-requests` (a duration such as `1s` or `6m0s`). The most precise
/// wait wins: milliseconds, then `Retry-After`, then the reset duration.
pub fn rate_headers(h: &HeaderMap) -> RateHeaders {
    // Names made once, not parsed from text on every lookup of every reply.
    const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
    const RESET_REQUESTS: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
    const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    const RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
    let text = |name: &HeaderName| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let num = |name: &HeaderName| text(name).and_then(|v| v.parse::<u64>().ok());
    let retry_after = text(&RETRY_AFTER_MS)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms.min(1e9) / 1000.0))
        .or_else(|| text(&reqwest::header::RETRY_AFTER).and_then(parse_retry_after));
    RateHeaders {
        limit: num(&LIMIT),
        remaining: num(&REMAINING),
        reset: num(&RESET),
        retry_after,
        reset_requests: text(&RESET_REQUESTS).and_then(parse_go_duration),
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

/// OpenAI's reset durations, Go style: `1s`, `6m0s`, `20ms`, `1h2m3.5s`.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    (total.is_finite() && total >= 0.0).then(|| Duration::from_secs_f64(total.min(1e6)))
}

/// At most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A body quoted in a "malformed reply" reason.
pub fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        format!("`{}`", truncate(text.trim(), 200))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_goes_under_the_base_and_before_its_query() {
        for (base, path, url) in [
            ("http://h", "/v1/chat", "http://h/v1/chat"),
            ("http://h/", "/v1/chat", "http://h/v1/chat"),
            ("http://h/p/", "/chat", "http://h/p/chat"),
            (
                "http://h/openai?api-version=1",
                "/chat/completions",
                "http://h/openai/chat/completions?api-version=1",
            ),
            ("http://h/p/?a=1", "/x?b=2", "http://h/p/x?a=1&b=2"),
            ("http://h", "/x?b=2", "http://h/x?b=2"),
            ("http://h?a=1", "/x", "http://h/x?a=1"),
        ] {
            assert_eq!(url_under(base, path), url, "{base} + {path}");
        }
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

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_go_duration("20ms"), Some(Duration::from_millis(20)));
        assert_eq!(
            parse_go_duration("1h2m3.5s"),
            Some(Duration::from_secs_f64(3723.5))
        );
        assert_eq!(parse_go_duration("soon"), None);
        assert_eq!(parse_go_duration(""), None);
    }

    #[test]
    fn a_request_line_names_method_and_url_without_credentials() {
        let url =
            reqwest::Url::parse("https://bob:s3cret@api.example.com/v1/agents/a/chat?x=1").unwrap();
        assert_eq!(
            request_line(&reqwest::Method::POST, &url),
            "POST https://api.example.com/v1/agents/a/chat?x=1"
        );
        let plain = reqwest::Url::parse("http://127.0.0.1:8080/api/chat").unwrap();
        assert_eq!(
            request_line(&reqwest::Method::PUT, &plain),
            "PUT http://127.0.0.1:8080/api/chat"
        );
    }

    #[test]
    fn the_most_precise_wait_wins() {
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-reset-requests", "6m0s".parse().unwrap());
        assert_eq!(rate_headers(&h).retry_after, None);
        assert_eq!(
            rate_headers(&h).reset_requests,
            Some(Duration::from_secs(360))
        );
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(rate_headers(&h).retry_after, Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(
            rate_headers(&h).retry_after,
            Some(Duration::from_millis(1500))
        );
    }
}
