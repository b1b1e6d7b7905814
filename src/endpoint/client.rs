//! The run's HTTP client, with two roads to a server and one [`Response`] out of either.
//!
//! Plain `http://` with no proxy configured takes hyper's HTTP/1 connections directly, kept
//! alive by [`super::pool`]: a URI parsed once per endpoint, headers built once, nothing else
//! between the request and the socket. That is the road of an agent on loopback or on the
//! local network, where a request costs microseconds and the client's own work is what limits
//! a run (measured: reqwest's layers, among them two URL parses per request, were a third of
//! the runner's CPU per request). Everything else (`https://`, and any request when
//! `HTTP_PROXY`, `ALL_PROXY` or their lowercase forms are set) takes reqwest, for its TLS trust
//! (bundled roots, the platform's, `SSL_CERT_FILE`) and its proxy support; reqwest is built on
//! first use, so a run that never leaves plain HTTP never loads the platform's certificates.
//!
//! Both roads: no redirects followed, no retries of their own, the request's timeout covering
//! the whole exchange (connect, head and every read of the body). What a body means is the
//! endpoint kind's; how often to try again is the runner's.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http_body_util::{BodyExt, Full};
use reqwest::header::HeaderMap;
use reqwest::Method;
use tokio::time::Instant;

use super::pool::{Failed, Lease, Pool};
use crate::record::SendError;

/// One connection pool per road for every endpoint and dialogue of a run. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    /// Idle connections kept per server, on either road.
    max_idle: usize,
    lean: Pool,
    full: OnceLock<reqwest::Client>,
    /// A proxy is configured in the environment: every request goes through reqwest, which
    /// honours it (and `NO_PROXY`).
    proxied: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("proxied", &self.inner.proxied)
            .finish()
    }
}

/// The variables reqwest reads a proxy for plain HTTP from.
const PROXY_VARS: [&str; 4] = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"];

impl Client {
    /// A client that keeps up to `pool` idle connections per server (the run's `--jobs`).
    pub fn new(pool: usize) -> Self {
        let proxied = PROXY_VARS
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        Client {
            inner: Arc::new(Inner {
                max_idle: pool,
                lean: Pool::new(pool),
                full: OnceLock::new(),
                proxied,
            }),
        }
    }

    fn full(&self) -> &reqwest::Client {
        self.inner
            .full
            .get_or_init(|| full_client(self.inner.max_idle))
    }

    /// Sends a request and returns once the response's head has come; the body is read from
    /// the [`Response`] within the same `timeout`.
    pub async fn send(
        &self,
        method: Method,
        target: &Target,
        headers: HeaderMap,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Response, SendError> {
        let deadline = Instant::now() + timeout;
        let lean = target.uri.as_ref().filter(|_| !self.inner.proxied);
        let Some(uri) = lean else {
            let mut request = self
                .full()
                .request(method, target.url.clone())
                .headers(headers)
                .timeout(timeout);
            if let Some(body) = body {
                request = request.body(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| classify_full(e, timeout))?;
            return Ok(Response {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: Body::Full(response),
                deadline,
                timeout,
                lease: None,
            });
        };
        let mut request = hyper::Request::new(Full::new(body.unwrap_or_default()));
        *request.method_mut() = method;
        *request.uri_mut() = target.origin.clone();
        *request.headers_mut() = headers;
        if let Some(host) = &target.host {
            // Made once per target; a `Host` the suite's headers give is kept.
            request
                .headers_mut()
                .entry(hyper::header::HOST)
                .or_insert_with(|| host.clone());
        }
        let sent = tokio::time::timeout_at(deadline, self.exchange(uri, request)).await;
        let (response, lease) = match sent {
            Err(_) => return Err(SendError::Timeout(timeout)),
            Ok(sent) => sent?,
        };
        let (parts, body) = response.into_parts();
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: Body::Lean(body),
            deadline,
            timeout,
            lease: Some((lease, self.inner.clone())),
        })
    }

    /// Sends `request` on a kept connection to `uri`'s server, or a new one. A kept connection
    /// the server closed before the request was written gives the request back, and it goes
    /// on a new connection: the server never saw it.
    async fn exchange(
        &self,
        uri: &hyper::Uri,
        mut request: hyper::Request<Full<Bytes>>,
    ) -> Result<(hyper::Response<hyper::body::Incoming>, Lease), SendError> {
        let mut lease = self.inner.lean.take(uri).await.map_err(connect_error)?;
        loop {
            match lease.sender.try_send_request(request).await {
                Ok(response) => return Ok((response, lease)),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if lease.reused => {
                        request = unsent;
                        let server = lease.server().to_string();
                        lease = self
                            .inner
                            .lean
                            .connect(uri, &server)
                            .await
                            .map_err(connect_error)?;
                    }
                    _ => return Err(SendError::Other(root_cause(e.error()))),
                },
            }
        }
    }
}

fn connect_error(failed: Failed) -> SendError {
    match failed {
        Failed::Connect(e) => SendError::Connect(root_cause(&*e)),
        Failed::Handshake(e) => SendError::Connect(root_cause(&e)),
    }
}

/// reqwest with the trust and behaviour the run needs: no redirects, no retries, the bundled
/// roots and the platform's (or, when set, those of `SSL_CERT_FILE` / `SSL_CERT_DIR`).
fn full_client(pool: usize) -> reqwest::Client {
    let builder = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(pool.max(1))
            .tcp_nodelay(true)
            // A redirect is reported as the status it is: following it would turn the chat
            // POST into a GET somewhere else and judge that.
            .redirect(reqwest::redirect::Policy::none())
            // Retries are the runner's, with its rules (never a 4xx, never an expected status).
            .retry(reqwest::retry::never())
    };
    // A native store (or `SSL_CERT_FILE`) with no valid certificate fails the build, and the
    // default client would panic on the same store: the bundled roots alone, then.
    builder()
        .build()
        .or_else(|_| builder().tls_built_in_native_certs(false).build())
        .unwrap_or_default()
}

/// Where a request goes, parsed once for both roads.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: reqwest::Url,
    /// Set when the lean road can take it: plain `http://` without credentials in the URL
    /// (reqwest turns those into an `Authorization: Basic` header; hyper would not).
    uri: Option<hyper::Uri>,
    /// The lean road's request target: the path and query alone, which is what HTTP/1 sends
    /// to a server that is not a proxy.
    origin: hyper::Uri,
    /// The lean road's `Host` header, made as hyper's client makes it (the host, and the port
    /// when it is not 80), once.
    host: Option<hyper::header::HeaderValue>,
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url =
            reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a valid URL: {e}"))?;
        let plain = url.scheme() == "http" && url.username().is_empty() && url.password().is_none();
        // A URL the `url` crate takes but `http` does not goes the full road.
        let uri = plain
            .then(|| url.as_str().parse::<hyper::Uri>().ok())
            .flatten();
        let host = uri.as_ref().and_then(host_header);
        let origin = uri
            .as_ref()
            .and_then(|u| u.path_and_query())
            .map(|pq| hyper::Uri::from(pq.clone()))
            .unwrap_or_else(|| hyper::Uri::from_static("/"));
        Ok(Target {
            url,
            uri,
            origin,
            host,
        })
    }
}

/// `Host` for a plain `http://` URI, as hyper-util's client writes it when a request has none.
fn host_header(uri: &hyper::Uri) -> Option<hyper::header::HeaderValue> {
    let host = uri.host()?;
    let text = match uri.port_u16() {
        Some(port) if port != 80 => format!("{host}:{port}"),
        _ => host.to_string(),
    };
    hyper::header::HeaderValue::from_str(&text).ok()
}

/// More than the end of a stream ever holds after its `[DONE]`.
const DRAIN_BYTES: usize = 64 * 1024;

/// A response whose head has come; its body is read piece by piece, within the request's
/// timeout.
pub struct Response {
    status: u16,
    headers: HeaderMap,
    body: Body,
    deadline: Instant,
    timeout: Duration,
    /// The lean road's connection, put back in its pool once the body has been read to its
    /// end; dropped (which closes it) if it never is.
    lease: Option<(Lease, Arc<Inner>)>,
}

enum Body {
    Lean(hyper::body::Incoming),
    Full(reqwest::Response),
}

impl Response {
    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Reads the rest of a body whose reader is done with it (a stream's `[DONE]` came before
    /// the body's end), so that its connection can carry another request. The end nearly
    /// always comes with the `[DONE]` or right after it, and is read here; a server slower
    /// than a short grace is left to finish in the background, so the turn never waits on
    /// it. A server that sends more than a little past the reader's end, or goes on past the
    /// request's deadline, loses the connection instead.
    pub async fn finish(mut self) {
        const GRACE: Duration = Duration::from_millis(20);
        if self.lease.is_none() {
            return;
        }
        let mut drained = 0;
        // The end is nearly always in hand once the connection's task has run: it is asked
        // for, that task is let run, and it is asked for again, with no timer. A timer for the
        // grace, set and then cancelled, had cost some 800 instructions a streamed reply.
        let ended = {
            let drain = self.drain(&mut drained, false);
            tokio::pin!(drain);
            match drain.as_mut().now_or_never() {
                Some(_) => true,
                None => {
                    tokio::task::yield_now().await;
                    drain.now_or_never().is_some()
                }
            }
        };
        if ended {
            return;
        }
        // One timer for the grace, or the deadline if it comes first: the reads inside need
        // none of their own (a second timer cost some 800 instructions a streamed reply).
        let until = (Instant::now() + GRACE).min(self.deadline);
        let ended = tokio::time::timeout_at(until, self.drain(&mut drained, false)).await;
        if ended.is_err() && until < self.deadline {
            tokio::spawn(async move {
                let _ = self.drain(&mut drained, true).await;
            });
        }
    }

    /// Reads the body to its end, at most [`DRAIN_BYTES`] of it (counted in `drained`), each
    /// read within the request's deadline when `timed`; whether the end came.
    async fn drain(&mut self, drained: &mut usize, timed: bool) -> bool {
        loop {
            let read = match timed {
                true => self.chunk().await,
                false => self.chunk_untimed().await,
            };
            match read {
                Ok(None) => return true,
                Ok(Some(piece)) => {
                    *drained += piece.len();
                    if *drained > DRAIN_BYTES {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }

    /// The next piece of the body, `None` at its end. A server that stops sending is a
    /// timeout at the request's deadline, not a hang.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, SendError> {
        let deadline = self.deadline;
        let read = match tokio::time::timeout_at(deadline, self.next()).await {
            Ok(read) => read,
            Err(_) => Err(SendError::Timeout(self.timeout)),
        };
        self.done(read)
    }

    /// The request's deadline and its timeout, for a reader that times its reads itself.
    pub fn deadline(&self) -> (Instant, Duration) {
        (self.deadline, self.timeout)
    }

    /// [`Response::chunk`] with no timer of its own, for a reader that runs all its reads under
    /// one timer for [`Response::deadline`]: a stream comes in a read per event, and a timer
    /// made for each was as dear as reading the event.
    pub async fn chunk_untimed(&mut self) -> Result<Option<Bytes>, SendError> {
        let read = self.next().await;
        self.done(read)
    }

    /// The next piece of the body, with no timer of its own.
    async fn next(&mut self) -> Result<Option<Bytes>, SendError> {
        let timeout = self.timeout;
        match &mut self.body {
            Body::Full(r) => r.chunk().await.map_err(|e| classify_full(e, timeout)),
            Body::Lean(b) => loop {
                match b.frame().await {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(lean_body_error(&e, timeout)),
                    // Trailers carry no text: skip them.
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            return Ok(Some(data));
                        }
                    }
                }
            },
        }
    }

    /// `read`, after putting the connection back in its pool if it is the body's end.
    fn done(&mut self, read: Result<Option<Bytes>, SendError>) -> Result<Option<Bytes>, SendError> {
        if matches!(read, Ok(None)) {
            if let Some((lease, inner)) = self.lease.take() {
                inner.lean.put_back(lease);
            }
        }
        read
    }
}

impl Drop for Response {
    /// A response dropped before its end may still leave its connection fit for another
    /// request: hyper may have read the body's end already (a stream's last chunk comes with
    /// its `[DONE]`). It is kept once hyper says it is idle again, as hyper-util's pool did;
    /// one given up on mid-body is closed by hyper, and not kept.
    fn drop(&mut self) {
        let Some((mut lease, inner)) = self.lease.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if lease.sender.ready().await.is_ok() {
                    inner.lean.put_back(lease);
                }
            });
        }
    }
}

fn lean_body_error(e: &hyper::Error, timeout: Duration) -> SendError {
    if e.is_timeout() {
        SendError::Timeout(timeout)
    } else {
        SendError::Other(root_cause(e))
    }
}

fn classify_full(e: reqwest::Error, timeout: Duration) -> SendError {
    // The error that carries this says where the request went (`request_line`), once.
    let e = e.without_url();
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

/// An HTTP library's own Display says little ("error sending request", "client error
/// (Connect)"); the useful part (connection refused, reset by peer) is at the bottom of the
/// source chain.
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
    head_too_large(msg)
}

/// hyper refuses a response head past its limits in words that name neither limit ("message
/// head is too large"): a server behind a CDN or a chatty proxy can send more than the 100
/// headers it reads, and the user needs to know that is what happened. Raising the limit
/// would put every response's headers on the heap (hyper measures 5%) for a rare server.
fn head_too_large(msg: String) -> String {
    if msg.contains("message head is too large") || msg.contains("message header too large") {
        format!(
            "{msg} (the response has more than 100 headers, or more header bytes than an HTTP \
             client reads: the server, or a proxy in front of it, sends too many)"
        )
    } else {
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_too_large_says_which_limit() {
        let said = head_too_large("request failed: message head is too large".into());
        assert!(said.contains("more than 100 headers"), "{said}");
        assert_eq!(
            head_too_large("connection reset".into()),
            "connection reset"
        );
    }

    #[test]
    fn a_target_is_parsed_once_for_both_roads() {
        let t = Target::parse("http://127.0.0.1:8080/v1/agents/a/chat?x=1").unwrap();
        let uri = t.uri.as_ref().expect("plain http takes the lean road");
        assert_eq!(uri.path(), "/v1/agents/a/chat");
        assert_eq!(t.url.query(), Some("x=1"));
        assert!(Target::parse("http://[::1").is_err());
        // TLS and credentials in the URL are reqwest's.
        assert!(Target::parse("https://api.example.com/v1")
            .unwrap()
            .uri
            .is_none());
        assert!(Target::parse("http://bob:pw@127.0.0.1/")
            .unwrap()
            .uri
            .is_none());
    }

    #[test]
    fn the_host_header_is_the_one_hyper_would_write() {
        let host = |url: &str| Target::parse(url).unwrap().host;
        assert_eq!(host("http://127.0.0.1:8080/x").unwrap(), "127.0.0.1:8080");
        assert_eq!(host("http://localhost:80/x").unwrap(), "localhost");
        assert_eq!(host("http://localhost/x").unwrap(), "localhost");
        assert_eq!(host("http://[::1]:9000/").unwrap(), "[::1]:9000");
        assert_eq!(host("https://example.com/"), None);
    }
}
