//! What every request goes through, one file per concern: the address it really comes from
//! ([`client_address`]), its transaction id and log span ([`request_id`]), the region it is served as ([`region`]), the deadline of its body
//! ([`body_deadline`]), the draining of bodies too large to accept ([`oversized_body`]), and
//! the headers every response carries
//! ([`security_headers`]). One service, [`EveryRequest`], runs them all around the whole router
//! (not around each route), and neither it nor [`MarkRoute`] boxes a future or clones the router:
//! the token endpoint is the hot path, and each layer of `from_fn` cost it two allocations and
//! a copy of the request's future.

pub mod body_deadline;
pub mod client_address;
pub mod oversized_body;
pub mod region;
pub mod request_id;
pub mod security_headers;

use std::cell::Cell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready as ready_now};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{MatchedPath, Request};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::BodyLimit;
use crate::metrics;
use crate::regions::Regions;
use request_id::RequestLog;

/// What [`EveryRequest`] needs.
#[derive(Clone)]
pub struct Context {
    /// Which region a host serves.
    pub regions: Arc<Regions>,
    /// The largest body accepted.
    pub limit: BodyLimit,
    /// How long a body may take to arrive.
    pub body_read_timeout: Duration,
}

/// The service around every request of a listener, whatever route it takes.
#[derive(Clone)]
pub struct EveryRequest<S> {
    inner: S,
    context: Arc<Context>,
    over_tls: bool,
    /// The TCP peer of the connection (unspecified outside a listener).
    peer: IpAddr,
}

impl<S> EveryRequest<S> {
    /// Runs `inner` (the router) inside what every request goes through.
    pub fn new(inner: S, context: Context) -> Self {
        EveryRequest {
            inner,
            context: Arc::new(context),
            over_tls: false,
            peer: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// What a listener serves: for each connection it accepts, this service knowing the
    /// connection's peer. The peer is a field of the connection's service, not an extension
    /// inserted into every request.
    pub fn for_each_connection(self) -> Connections<S> {
        Connections(self)
    }

    /// The same service for the HTTPS listener: its requests came over TLS.
    #[must_use]
    pub fn over_tls(mut self) -> Self {
        self.over_tls = true;
        self
    }
}

impl<S, B> Service<axum::http::Request<B>> for EveryRequest<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EveryRequestFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let context = &self.context;
        let client = client_address::resolve(&context.regions, self.peer, &request);
        let serving = region::resolve(&context.regions, self.peer, self.over_tls, &request);
        let geo = serving.geo;
        let log = request_id::begin(&request, client, serving);
        let (request, deadline) = body_deadline::guard(context.body_read_timeout, request);
        let request = oversized_body::guard(context.limit, request);
        let inner = self.inner.call(request);
        EveryRequestFuture {
            inner,
            log: Some(log),
            route: None,
            after: Some(After {
                started,
                over_tls: self.over_tls,
                geo,
                deadline,
            }),
        }
    }
}

/// The make-service of a listener (see [`EveryRequest::for_each_connection`]).
#[derive(Clone)]
pub struct Connections<S>(EveryRequest<S>);

impl<S: Clone> Service<SocketAddr> for Connections<S> {
    type Response = EveryRequest<S>;
    type Error = Infallible;
    type Future = Ready<Result<EveryRequest<S>, Infallible>>;

    fn poll_ready(&mut self, _: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, peer: SocketAddr) -> Self::Future {
        let mut service = self.0.clone();
        service.peer = peer.ip();
        ready_now(Ok(service))
    }
}

/// What is done to a response once the route has answered.
struct After {
    started: Instant,
    over_tls: bool,
    geo: &'static str,
    deadline: Option<body_deadline::Expired>,
}

impl After {
    /// `response` finished; `log` is the request's, `route` the template it matched.
    fn finish(
        self,
        mut response: Response,
        log: Box<RequestLog>,
        route: Option<&MatchedPath>,
    ) -> Response {
        if self.deadline.is_some_and(|d| d.happened()) {
            response = body_deadline::timed_out();
        }
        let route = route.map_or("unmatched", MatchedPath::as_str);
        metrics::request_done(
            log.method().as_str(),
            route,
            response.status().as_u16(),
            self.started.elapsed(),
        );
        // The headers below, in one growth of the map rather than several.
        response.headers_mut().reserve(6);
        request_id::end(log, &mut response);
        region::end(self.geo, &mut response);
        security_headers::apply(&mut response, self.over_tls);
        response
    }
}

pin_project! {
    /// The answer of [`EveryRequest`]: the route's, finished with what every answer carries.
    pub struct EveryRequestFuture<F> {
        #[pin]
        inner: F,
        log: Option<Box<RequestLog>>,
        route: Option<MatchedPath>,
        after: Option<After>,
    }
}

impl<F> Future for EveryRequestFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut inner = this.inner;
        // Whatever a route outside any request left is not this request's.
        MATCHED.take();
        let polled = RequestLog::within(this.log, || inner.as_mut().poll(cx));
        if let Some(route) = MATCHED.take() {
            *this.route = Some(route);
        }
        let Ok(response) = ready!(polled);
        Poll::Ready(Ok(match (this.after.take(), this.log.take()) {
            (Some(after), Some(log)) => after.finish(response, log, this.route.as_ref()),
            _ => response,
        }))
    }
}

thread_local! {
    /// The route template the router matched, handed by [`MarkRoute`] to the
    /// [`EveryRequestFuture`] whose poll routed the request, on the same thread and within
    /// the same poll: the router calls the route's service when its future is first polled.
    static MATCHED: Cell<Option<MatchedPath>> = const { Cell::new(None) };
}

/// Hands the route a request matched to [`EveryRequest`], which runs before routing and so
/// cannot see it otherwise: request latency is labelled by route template, never by path.
#[derive(Debug, Clone, Copy)]
pub struct MarkRouteLayer;

impl<S> Layer<S> for MarkRouteLayer {
    type Service = MarkRoute<S>;

    fn layer(&self, inner: S) -> MarkRoute<S> {
        MarkRoute { inner }
    }
}

/// The service of [`MarkRouteLayer`].
#[derive(Debug, Clone)]
pub struct MarkRoute<S> {
    inner: S,
}

impl<S> Service<Request> for MarkRoute<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        MATCHED.set(request.extensions().get::<MatchedPath>().cloned());
        self.inner.call(request)
    }
}
