//! The listeners of a node, plain and TLS alike: a cap on open connections, a time limit for
//! each request's headers (which also closes idle keep-alive connections: hyper starts it
//! while waiting for the next request) and for the first request of a connection (its TLS
//! handshake included), and HTTP/2 keep-alive pings, so that slow or silent clients cannot
//! hold connections for ever. Stopping a listener closes it to new connections, lets the open
//! ones finish what they are answering, and closes what is left after a grace period.

use std::convert::Infallible;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use super::connection::{self, Serve, Stop};

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take.
const HTTP2_KEEP_ALIVE: Duration = Duration::from_secs(20);

/// How long the accept loop rests after an error that is not one connection's (such as too
/// many open files), rather than spinning.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The limits of every listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to send a request's headers (and to start the next request on a kept-alive
    /// connection).
    pub header_read: Duration,
    /// Connections open at once.
    pub max_connections: usize,
}

/// hyper's settings for `limits`.
fn http(limits: Limits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEP_ALIVE)
        .keep_alive_timeout(HTTP2_KEEP_ALIVE);
    builder
}

/// The TLS side of the HTTPS listener: the certificate chain and key (PEM), offering HTTP/2
/// and HTTP/1.1 (ALPN).
pub fn tls_acceptor(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsAcceptor> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::other(format!("the certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| io::Error::other(format!("the key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts a connection only while fewer than the cap are open (one past it is closed at
/// once: with the time limits above, slots free up within seconds).
#[derive(Debug, Clone)]
pub struct Capped {
    permits: Arc<Semaphore>,
    /// When the last refusal was logged (unix seconds), so a flood logs once in a while.
    warned: Arc<AtomicI64>,
}

/// Seconds between two warnings about refused connections.
const WARN_EVERY_SECS: i64 = 10;

impl Capped {
    /// At most `max` connections at once.
    pub fn new(max: usize) -> Self {
        Capped {
            permits: Arc::new(Semaphore::new(max.max(1))),
            warned: Arc::new(AtomicI64::new(0)),
        }
    }

    /// A place for one more connection, if there is one.
    fn admit(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.permits.clone().try_acquire_owned().ok();
        if permit.is_none() {
            self.warn();
        }
        permit
    }

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

/// A listener being served, and how to stop it.
pub struct Listening {
    stop: Arc<Stop>,
    connections: TaskTracker,
    accepting: JoinHandle<()>,
}

impl Listening {
    /// Stops accepting connections and asks the open ones to finish and close.
    pub fn stop(&self) {
        self.stop.drain();
    }

    /// Waits, after [`Listening::stop`], until every connection has closed, closing those
    /// still open after `grace`.
    pub async fn stopped(self, grace: Duration) {
        // The loop ends (and the listening socket is closed) once it sees the stop.
        if let Err(e) = self.accepting.await {
            tracing::error!("a listener's accept loop ended abnormally: {e}");
        }
        self.connections.close();
        if tokio::time::timeout(grace, self.connections.wait())
            .await
            .is_err()
        {
            self.stop.close();
            self.connections.wait().await;
        }
    }
}

/// Serves `listener`: each connection it accepts (within `capped`, and over TLS with `tls`)
/// with the service `connections` makes for its peer.
pub fn serve<M, S>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    capped: Capped,
    limits: Limits,
    connections: M,
) -> Listening
where
    M: Service<SocketAddr, Response = S, Error = Infallible> + Send + 'static,
    M::Future: Send,
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let stop = Arc::new(Stop::default());
    let tracker = TaskTracker::new();
    let accepting = tokio::spawn(accept(
        Accepting {
            listener,
            tls,
            capped,
            limits,
            stop: stop.clone(),
            tracker: tracker.clone(),
        },
        connections,
    ));
    Listening {
        stop,
        connections: tracker,
        accepting,
    }
}

/// What the accept loop works with.
struct Accepting {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    capped: Capped,
    limits: Limits,
    stop: Arc<Stop>,
    tracker: TaskTracker,
}

async fn accept<M, S>(accepting: Accepting, mut connections: M)
where
    M: Service<SocketAddr, Response = S, Error = Infallible>,
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let http = Arc::new(http(accepting.limits));
    // The loop watches the stop as a connection does: the drain that stops connections wakes it.
    let watch = accepting.stop.watch();
    loop {
        let accepted = tokio::select! {
            biased;
            () = watch.stopping() => break,
            accepted = accepting.listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                tracing::warn!("cannot accept connections: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        // Beyond the cap the stream is dropped, which closes it at once.
        let Some(permit) = accepting.capped.admit() else {
            continue;
        };
        let Ok(()) = poll_fn(|cx| connections.poll_ready(cx)).await;
        let Ok(service) = connections.call(peer).await;
        let serve = Serve {
            service,
            http: http.clone(),
            tls: accepting.tls.clone(),
            first_request: accepting.limits.header_read,
            watch: accepting.stop.watch(),
            permit,
        };
        accepting.tracker.spawn(connection::serve(stream, serve));
    }
}

/// Whether `e` concerns one connection only (the next accept may well succeed).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::future::{Pending, Ready, pending, ready};
    use std::task::{Context, Poll};
    use std::time::Instant;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// A connection's service whose answers never come.
    #[derive(Clone)]
    struct Stuck;

    impl Service<Request<Incoming>> for Stuck {
        type Response = Response;
        type Error = Infallible;
        type Future = Pending<Result<Response, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request<Incoming>) -> Self::Future {
            pending()
        }
    }

    struct MakeStuck;

    impl Service<SocketAddr> for MakeStuck {
        type Response = Stuck;
        type Error = Infallible;
        type Future = Ready<Result<Stuck, Infallible>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: SocketAddr) -> Self::Future {
            ready(Ok(Stuck))
        }
    }

    #[tokio::test]
    async fn a_request_still_unanswered_after_the_grace_is_cut_off() {
        let socket = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("address");
        let limits = Limits {
            header_read: Duration::from_secs(30),
            max_connections: 4,
        };
        let listening = serve(socket, None, Capped::new(4), limits, MakeStuck);
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        tokio::time::sleep(Duration::from_millis(200)).await;

        let grace = Duration::from_millis(300);
        let started = Instant::now();
        listening.stop();
        tokio::time::timeout(Duration::from_secs(5), listening.stopped(grace))
            .await
            .expect("the stop ends once the grace is over");
        assert!(started.elapsed() >= grace, "the request had its grace");

        let mut received = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut received)).await;
        assert!(read.is_ok(), "the connection is closed");
        assert!(received.is_empty(), "unanswered: {received:?}");
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "the listening socket is closed"
        );
    }
}
