//! The listeners of a node, plain and TLS alike: a cap on open connections, a time limit for
//! each request's headers (which also closes idle keep-alive connections: hyper starts it
//! while waiting for the next request) and for the first request of a connection, and HTTP/2
//! keep-alive pings, so that slow or silent clients cannot hold connections for ever.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// The limits of every listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's headers (and to start the next request on a kept-alive
    /// connection).
    pub header_read: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// Applies `limits` to a server's HTTP settings.
pub fn configure<A, Acc>(
    server: axum_server::Server<A, Acc>,
    limits: Limits,
) -> axum_server::Server<A, Acc>
where
    A: axum_server::Address,
{
    let mut server = server.first_request_timeout(limits.header_read);
    let builder = server.http_builder();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEP_ALIVE)
        .keep_alive_timeout(HTTP2_KEEP_ALIVE);
    server
}

/// Accepts a connection only while fewer than the cap are open (one past it is closed at
/// once: with the time limits above, slots free up within seconds), with `TCP_NODELAY`.
#[derive(Debug, Clone)]
pub struct Capped {
    permits: Arc<Semaphore>,
    /// When the last refusal was logged (unix seconds), so a flood logs once in a while.
    warned: Arc<AtomicI64>,
}

/// Seconds between two warnings about refused connections.
const WARN_EVERY_SECS: i64 = 10;

impl Capped {
    fn warn(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let last = self.warned.load(Ordering::Relaxed);
        if now - last >= WARN_EVERY_SECS
            && self
                .warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "connections refused: max_connections are open (logged once every {WARN_EVERY_SECS} s)"
            );
        }
    }
}

impl Capped {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> Self {
        Capped {
            permits: Arc::new(Semaphore::new(max.max(1))),
            warned: Arc::new(AtomicI64::new(0)),
        }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for Capped {
    type Stream = Counted;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Counted, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let permit = self.permits.clone().try_acquire_owned();
        if permit.is_err() {
            self.warn();
        }
        Box::pin(async move {
            let Ok(permit) = permit else {
                return Err(io::Error::other("too many open connections"));
            };
            stream.set_nodelay(true)?;
            Ok((
                Counted {
                    stream,
                    _permit: permit,
                },
                service,
            ))
        })
    }
}

/// A connection holding one of the cap's places until it closes.
#[derive(Debug)]
pub struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
