//! One accepted connection of a listener, served by hyper in a task of its own: its TLS
//! handshake, the deadline of its first request, and the listener's stop.
//!
//! The stop reaches a connection through one atomic state and the connection's own waker,
//! registered at each wake-up: a connection is woken for every request it serves, and a
//! notification future polled beside it (as a `select!` over a shutdown signal does) cost the
//! token endpoint a lock and several hundred instructions per request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::Request;
use axum::response::Response;
use futures_util::task::AtomicWaker;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulConnection;
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Connections serve requests.
const SERVING: u8 = 0;
/// Connections finish the request in hand and close (HTTP/2: GOAWAY).
const DRAINING: u8 = 1;
/// Connections close now.
const CLOSING: u8 = 2;

/// How a listener tells its connections to stop.
#[derive(Default)]
pub struct Stop {
    state: AtomicU8,
    /// The waker of each open connection, by an id of its own.
    wakers: Mutex<HashMap<u64, Arc<AtomicWaker>>>,
    next_id: AtomicU64,
}

impl Stop {
    /// Asks every connection, open or yet to come, to drain and then close.
    pub fn drain(&self) {
        self.advance(DRAINING);
    }

    /// Asks every connection to close at once.
    pub fn close(&self) {
        self.advance(CLOSING);
    }

    fn advance(&self, to: u8) {
        // The state is set before the wakers are read: a connection that registers its waker
        // after this wake-up reads the new state (see `Watch::poll_state`).
        self.state.fetch_max(to, Ordering::AcqRel);
        for waker in self.wakers.lock().values() {
            waker.wake();
        }
    }

    /// A watch for one connection, registered until dropped.
    pub fn watch(self: &Arc<Self>) -> Watch {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let waker = Arc::new(AtomicWaker::new());
        self.wakers.lock().insert(id, waker.clone());
        Watch {
            stop: self.clone(),
            id,
            waker,
        }
    }
}

/// One connection's view of its listener's [`Stop`].
pub struct Watch {
    stop: Arc<Stop>,
    id: u64,
    waker: Arc<AtomicWaker>,
}

impl Watch {
    /// The listener's state, with the task of `cx` woken when it changes.
    fn poll_state(&self, cx: &mut Context<'_>) -> u8 {
        self.waker.register(cx.waker());
        self.stop.state.load(Ordering::Acquire)
    }

    /// Completes when the listener stops serving.
    pub async fn stopping(&self) {
        poll_fn(|cx| match self.poll_state(cx) {
            SERVING => Poll::Pending,
            _ => Poll::Ready(()),
        })
        .await;
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.wakers.lock().remove(&self.id);
    }
}

/// What a connection is served with.
pub struct Serve<S> {
    /// The connection's service (the router, knowing the connection's peer).
    pub service: S,
    /// HTTP/1 and HTTP/2 settings.
    pub http: Arc<Builder<TokioExecutor>>,
    /// The TLS acceptor, on the HTTPS listener.
    pub tls: Option<TlsAcceptor>,
    /// Time from the accept to the first request (the TLS handshake included).
    pub first_request: Duration,
    /// The listener's stop.
    pub watch: Watch,
    /// The connection's place under the listener's cap, held until it closes.
    pub permit: OwnedSemaphorePermit,
}

/// Serves `stream` until it closes, its first request comes too late, or the listener stops.
pub async fn serve<S>(stream: TcpStream, serve: Serve<S>)
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let Serve {
        service,
        http,
        tls,
        first_request,
        watch,
        permit,
    } = serve;
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut deadline = Box::pin(tokio::time::sleep(first_request));
    let dispatched = Arc::new(AtomicBool::new(false));
    let service = TowerToHyperService::new(FirstRequest {
        inner: service,
        dispatched: dispatched.clone(),
    });
    match tls {
        None => {
            let connection = http.serve_connection(TokioIo::new(stream), service);
            Serving::new(connection, deadline, dispatched, watch).await;
        }
        Some(acceptor) => {
            let stream = tokio::select! {
                biased;
                () = watch.stopping() => return,
                () = &mut deadline => return,
                accepted = acceptor.accept(stream) => match accepted {
                    Ok(stream) => stream,
                    Err(_) => return,
                },
            };
            let connection = http.serve_connection(TokioIo::new(stream), service);
            Serving::new(connection, deadline, dispatched, watch).await;
        }
    }
    drop(permit);
}

/// The connection's service, noting that a request reached it.
#[derive(Clone)]
struct FirstRequest<S> {
    inner: S,
    dispatched: Arc<AtomicBool>,
}

impl<S, R> Service<R> for FirstRequest<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        if !self.dispatched.load(Ordering::Relaxed) {
            self.dispatched.store(true, Ordering::Relaxed);
        }
        self.inner.call(request)
    }
}

pin_project! {
    /// A hyper connection under its first-request deadline (dropped once a request is
    /// dispatched) and its listener's stop.
    struct Serving<C> {
        #[pin]
        connection: C,
        deadline: Option<Pin<Box<Sleep>>>,
        dispatched: Arc<AtomicBool>,
        watch: Watch,
        draining: bool,
    }
}

impl<C> Serving<C> {
    fn new(
        connection: C,
        deadline: Pin<Box<Sleep>>,
        dispatched: Arc<AtomicBool>,
        watch: Watch,
    ) -> Self {
        Serving {
            connection,
            deadline: Some(deadline),
            dispatched,
            watch,
            draining: false,
        }
    }
}

impl<C: GracefulConnection> Future for Serving<C> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        match this.watch.poll_state(cx) {
            SERVING => {}
            DRAINING if !*this.draining => {
                *this.draining = true;
                this.connection.as_mut().graceful_shutdown();
            }
            DRAINING => {}
            _ => return Poll::Ready(()),
        }
        if this.connection.poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if this.deadline.is_some() && this.dispatched.load(Ordering::Relaxed) {
            *this.deadline = None;
        }
        match this
            .deadline
            .as_mut()
            .map(|deadline| deadline.as_mut().poll(cx))
        {
            Some(Poll::Ready(())) => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::task::Waker;

    #[test]
    fn a_stop_wakes_every_open_connection_and_forgets_closed_ones() {
        let stop = Arc::new(Stop::default());
        let open = stop.watch();
        let closed = stop.watch();
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(open.poll_state(&mut cx), SERVING);
        drop(closed);
        assert_eq!(stop.wakers.lock().len(), 1);

        stop.drain();
        assert_eq!(open.poll_state(&mut cx), DRAINING);
        stop.close();
        assert_eq!(open.poll_state(&mut cx), CLOSING);
        // A later drain does not undo a close.
        stop.drain();
        assert_eq!(stop.watch().poll_state(&mut cx), CLOSING);
    }
}
