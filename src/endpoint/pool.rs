//! The lean road's kept-alive connections: hyper's HTTP/1 connection handles, a stack of idle
//! ones per server, taken for one request and put back once its response has been read to the
//! end.
//!
//! hyper-util's pooled client did this job, at about 10,000 instructions a request beyond the
//! exchange itself (a checkout future, a pool key hashed and cloned, the `Host` header
//! formatted, a task spawned to return each connection, the URI rewritten to origin form): a
//! seventh of the runner's work per request on loopback. A run needs less than that client
//! offers: one thread, HTTP/1 only, no proxy (the full road takes those), a handful of
//! servers. So this keeps the part of it the run needs, in its words:
//! - a connection is reused only once its last response was read to its end, or, for a
//!   response dropped before that, once hyper says the connection is idle again (it had read
//!   the end already); one given up on mid-body (a capped or timed-out stream) is closed by
//!   hyper and never kept (`client::Response` does the putting back);
//! - a kept connection that the server has closed meanwhile is found by hyper before the
//!   request is written, and the request goes on a new connection instead, as hyper-util's
//!   client does (`retry_canceled_requests`): it never reached the server, so this is not a
//!   retry the runner would count;
//! - connecting is hyper-util's `HttpConnector` (resolution, every address tried, `TCP_NODELAY`).
//!
//! Nothing here reads a body, times a request or decides what an error means.

use std::sync::Mutex;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use tower_service::Service;

type Sender = SendRequest<Full<Bytes>>;

/// Idle connections by server, at most `max_idle` per server.
pub(super) struct Pool {
    connector: HttpConnector,
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
}

struct Idle {
    /// `host:port` as the URI wrote it: connections are per server.
    server: String,
    sender: Sender,
}

/// A connection taken for one request; [`Pool::put_back`] once its response has been read.
pub(super) struct Lease {
    server: String,
    pub sender: Sender,
    /// It had carried a request before: hyper may find it closed by the server before
    /// writing a new one.
    pub reused: bool,
}

/// Why no connection could be had.
pub(super) enum Failed {
    Connect(Box<dyn std::error::Error + Send + Sync>),
    Handshake(hyper::Error),
}

impl Pool {
    pub(super) fn new(max_idle: usize) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Pool {
            connector,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        }
    }

    /// A connection to `uri`'s server: the most recently returned one that is still open, or
    /// a new one.
    pub(super) async fn take(&self, uri: &Uri) -> Result<Lease, Failed> {
        let server = uri.authority().map(|a| a.as_str()).unwrap_or_default();
        while let Some(mut sender) = self.take_idle(server) {
            // Ready at once, or after its connection task has read the end of the last
            // response; an error means the server closed it.
            if sender.ready().await.is_ok() {
                return Ok(Lease {
                    server: server.to_string(),
                    sender,
                    reused: true,
                });
            }
        }
        self.connect(uri, server).await
    }

    /// A new connection, whatever is idle.
    pub(super) async fn connect(&self, uri: &Uri, server: &str) -> Result<Lease, Failed> {
        let io = self
            .connector
            .clone()
            .call(uri.clone())
            .await
            .map_err(|e| Failed::Connect(Box::new(e)))?;
        let (sender, connection) = http1::handshake(io).await.map_err(Failed::Handshake)?;
        // The connection's own task: it reads and writes for the sender, and ends when the
        // connection closes or the sender is dropped while it is idle. Its error, if any,
        // reaches the request that was on it.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Lease {
            server: server.to_string(),
            sender,
            reused: false,
        })
    }

    fn take_idle(&self, server: &str) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let at = idle.iter().rposition(|i| i.server == server)?;
        Some(idle.swap_remove(at).sender)
    }

    /// Keeps `lease`'s connection for the next request to its server, unless it is closed or
    /// enough are kept already (then dropping it closes it).
    pub(super) fn put_back(&self, lease: Lease) {
        if lease.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let kept = idle.iter().filter(|i| i.server == lease.server).count();
        if kept < self.max_idle {
            idle.push(Idle {
                server: lease.server,
                sender: lease.sender,
            });
        }
    }
}

impl Lease {
    /// The server this connection goes to, for a new one in its place.
    pub(super) fn server(&self) -> &str {
        &self.server
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::super::client::{Client, Target};

    /// How the test server ends a connection after each answer.
    #[derive(Clone, Copy)]
    enum After {
        KeepAlive,
        Close,
    }

    /// A server that answers every request `{"n": <connection>}` with a body of `len` bytes;
    /// returns its URL and how many connections it accepted.
    async fn server(after: After, len: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/chat", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut seen = Vec::new();
                    loop {
                        let Ok(n) = socket.read(&mut buf).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        // Requests here have no body: a head is one request.
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
                            let body = "x".repeat(len);
                            if socket.write_all(head.as_bytes()).await.is_err()
                                || socket.write_all(body.as_bytes()).await.is_err()
                            {
                                return;
                            }
                            if let After::Close = after {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// Sends a request and reads its answer to the end.
    async fn get(client: &Client, url: &str) {
        let mut response = first_piece(client, url).await;
        while response.chunk().await.unwrap().is_some() {}
    }

    #[tokio::test]
    async fn a_connection_whose_response_was_read_is_used_again() {
        let (url, accepted) = server(After::KeepAlive, 10).await;
        let client = Client::new(4);
        for _ in 0..5 {
            get(&client, &url).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_kept_connection_the_server_closed_is_passed_over() {
        let (url, accepted) = server(After::Close, 10).await;
        let client = Client::new(4);
        for _ in 0..3 {
            get(&client, &url).await;
            // Long enough for the connection's task to read the server's end.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_response_left_unread_closes_its_connection() {
        let (url, accepted) = server(After::KeepAlive, 1 << 20).await;
        let client = Client::new(4);
        drop(first_piece(&client, &url).await);
        // The next request cannot go where the rest of that body is still coming.
        get(&client, &url).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }

    /// Sends a request and reads the first piece of its answer.
    async fn first_piece(client: &Client, url: &str) -> super::super::client::Response {
        let target = Target::parse(url).unwrap();
        let mut response = client
            .send(
                reqwest::Method::GET,
                &target,
                Default::default(),
                None,
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert!(response.chunk().await.unwrap().is_some());
        response
    }

    #[tokio::test]
    async fn a_response_released_before_its_end_keeps_its_connection_when_the_end_comes() {
        // Most of 40 KB is still to come when the first piece is read: releasing the
        // response reads it in the background, and its connection is kept.
        let (url, accepted) = server(After::KeepAlive, 40 * 1024).await;
        let client = Client::new(4);
        first_piece(&client, &url).await.finish().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        get(&client, &url).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_released_response_that_goes_on_and_on_loses_its_connection() {
        let (url, accepted) = server(After::KeepAlive, 8 << 20).await;
        let client = Client::new(4);
        first_piece(&client, &url).await.finish().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        get(&client, &url).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 2);
    }
}
