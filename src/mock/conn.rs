//! The mock's sockets: the accept loop, one HTTP/1 connection task per client, and the
//! handle through which a handler drops its own connection (the `close` fault).
//!
//! The loop is ours rather than `axum::serve` for two reasons: hyper's header read timeout
//! (a client that never finishes its request head must not hold a connection for ever) needs
//! hyper's builder, which axum does not expose; and hyper offers no way to close a connection
//! without answering, so the socket itself is made to fail once a handler asks, and the
//! connection task drops it. Nothing here parses requests or knows about routes.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

/// Given to handlers (as a request extension) to drop their own connection, or to say that
/// the body they answer with is stretched on purpose (so a stop cuts it at once).
#[derive(Debug, Clone)]
pub(crate) struct ConnHandle {
    killed: CancellationToken,
    stretching: Arc<AtomicUsize>,
}

impl ConnHandle {
    pub(crate) fn new() -> ConnHandle {
        ConnHandle {
            killed: CancellationToken::new(),
            stretching: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Drops the connection: its socket fails from now on and its task lets go of it.
    pub fn kill(&self) {
        self.killed.cancel();
    }

    /// Marks a body the mock is stretching on purpose (slow, stalled or endless) until the
    /// guard is dropped with the body.
    pub fn stretch(&self) -> Stretch {
        self.stretching.fetch_add(1, Ordering::AcqRel);
        Stretch(self.stretching.clone())
    }

    pub(crate) fn is_stretching(&self) -> bool {
        self.stretching.load(Ordering::Acquire) > 0
    }
}

/// See [`ConnHandle::stretch`].
pub(crate) struct Stretch(Arc<AtomicUsize>);

impl Drop for Stretch {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A TCP stream that fails every read and write once its connection was killed, so that a
/// response already handed to hyper is never written.
struct KillableStream {
    inner: TcpStream,
    killed: CancellationToken,
}

impl KillableStream {
    fn check(&self) -> io::Result<()> {
        if self.killed.is_cancelled() {
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

/// How connections are served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeOptions {
    /// A client must send a whole request head within this (hyper counts it from the first
    /// read of a head, so it is also how long an idle keep-alive connection is kept).
    pub header_read_timeout: Duration,
    /// How long a stop waits for in-flight requests before dropping their connections.
    pub grace: Duration,
}

/// Accepts until `stop` turns true, then lets every connection finish (at most `grace`) and
/// returns once all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    mut stop: watch::Receiver<bool>,
) {
    // Each connection task holds a receiver; the sender's `closed()` is "all tasks are done".
    let (all_done, done) = watch::channel(());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of file descriptors and the like: wait rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small JSON replies on keep-alive connections: Nagle would add delayed-ACK stalls to
        // every one.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            router.clone(),
            options,
            stop.clone(),
            done.clone(),
        ));
    }
    drop(done);
    all_done.closed().await;
}

async fn connection(
    stream: TcpStream,
    router: Router,
    options: ServeOptions,
    mut stop: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
) {
    let handle = ConnHandle::new();
    let io = TokioIo::new(KillableStream {
        inner: stream,
        killed: handle.killed.clone(),
    });
    let for_requests = handle.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(for_requests.clone());
        let mut router = router.clone();
        async move { Ok::<_, Infallible>(router.call(req).await.unwrap_or_else(|e| match e {})) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = handle.killed.cancelled() => return,
        _ = stop.wait_for(|s| *s) => {}
    }
    // Stopping: a body the mock stretches on purpose is cut at once; anything else may finish
    // within the grace period.
    if handle.is_stretching() {
        return;
    }
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = handle.killed.cancelled() => {}
        _ = tokio::time::sleep(options.grace) => {}
    }
}
