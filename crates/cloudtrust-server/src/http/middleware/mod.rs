//! What every request goes through, one file per concern: the address it really comes from
//! ([`client_address`]), its transaction id and log span ([`request_id`]), the region it is served as ([`region`]), the deadline of its body
//! ([`body_deadline`]), the draining of bodies too large to accept ([`oversized_body`]), and
//! the headers every response carries
//! ([`security_headers`]). One layer runs them all, so a request pays for one.

pub mod body_deadline;
pub mod client_address;
pub mod oversized_body;
pub mod region;
pub mod request_id;
pub mod security_headers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::BodyLimit;
use crate::metrics;
use crate::regions::Regions;

/// What the layer needs.
#[derive(Clone)]
pub struct Context {
    /// Which region a host serves.
    pub regions: Arc<Regions>,
    /// The largest body accepted.
    pub limit: BodyLimit,
    /// How long a body may take to arrive.
    pub body_read_timeout: Duration,
}

/// The layer around every request.
pub async fn around_every_request(
    State(context): State<Context>,
    mut request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let over_tls = request.extensions().get::<region::OverTls>().is_some();
    let client = client_address::resolve(&context.regions, &mut request);
    let transaction = request_id::begin(&mut request, client);
    let geo = region::resolve(&context.regions, &mut request);
    let (request, deadline) = body_deadline::guard(context.body_read_timeout, request);
    let request = oversized_body::guard(context.limit, request);
    let mut response = next.run(request).instrument(transaction.span.clone()).await;
    if deadline.is_some_and(|d| d.happened()) {
        response = body_deadline::timed_out();
    }
    request_id::end(&transaction, &mut response);
    region::end(geo, &mut response);
    security_headers::apply(&mut response, over_tls);
    let route = response.extensions().get::<MatchedPath>();
    let route = route.map_or("unmatched", MatchedPath::as_str);
    metrics::request_done(
        method.as_str(),
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Hands the route a request matched to the layer around it, which runs before routing and
/// so cannot see it otherwise: request latency is labelled by route template, never by path.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}
