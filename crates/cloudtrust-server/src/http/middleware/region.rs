//! Which region a request is served as, from the host the client asked for; handlers read the
//! answer with the [`Served`] extractor, and the response names it in `X-CC-LocalGeo`.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use super::request_id;
use crate::error::Error;
use crate::http::errors::ApiErrorResponse;
use crate::regions::{Regions, Serving};

/// `X-CC-LocalGeo`, the serving region.
pub static X_CC_LOCAL_GEO: HeaderName = HeaderName::from_static("x-cc-localgeo");

/// The host the client asked for: `X-Forwarded-Host` from a trusted proxy, else the request
/// target's authority (HTTP/2) or `Host`.
fn requested_host<'r, B>(
    regions: &Regions,
    peer: IpAddr,
    request: &'r Request<B>,
) -> Option<&'r str> {
    let forwarded = regions
        .trusts_proxy(peer)
        .then(|| request.headers().get("x-forwarded-host"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    forwarded
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .or_else(|| {
            request
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
        })
}

/// How the request is served (`over_tls` when it came to the TLS listener, from the TCP peer
/// `peer`).
pub fn resolve<B>(
    regions: &Regions,
    peer: IpAddr,
    over_tls: bool,
    request: &Request<B>,
) -> Arc<Serving> {
    regions.serving(requested_host(regions, peer, request), over_tls)
}

/// How the request being handled is served, for a handler or an extractor.
pub fn current() -> Option<Arc<Serving>> {
    request_id::current(|log| log.serving().clone())
}

/// How the request is served, as an extractor.
#[derive(Debug, Clone)]
pub struct Served(pub Arc<Serving>);

impl<S: Send + Sync> FromRequestParts<S> for Served {
    type Rejection = ApiErrorResponse;

    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, ApiErrorResponse> {
        // Every route is served inside `EveryRequest`, which makes this known.
        current()
            .map(Served)
            .ok_or_else(|| Error::internal("a request outside EveryRequest").into())
    }
}

/// Names the serving region on the response.
pub fn end(geo: &'static str, response: &mut Response) {
    response
        .headers_mut()
        .insert(X_CC_LOCAL_GEO.clone(), HeaderValue::from_static(geo));
}
