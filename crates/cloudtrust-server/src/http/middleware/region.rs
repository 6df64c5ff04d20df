//! Which region a request is served as, from the host the client asked for; the answer goes
//! into the request's extensions (`Arc<Serving>`) and `X-CC-LocalGeo`.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use std::net::IpAddr;

use crate::regions::Regions;

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

/// Puts how the request is served into its extensions (`over_tls` when it came to the TLS
/// listener, from the TCP peer `peer`); answers the region's `X-CC-LocalGeo`.
pub fn resolve<B>(
    regions: &Regions,
    peer: IpAddr,
    over_tls: bool,
    request: &mut Request<B>,
) -> &'static str {
    let serving = regions.serving(requested_host(regions, peer, request), over_tls);
    let geo = serving.geo;
    request.extensions_mut().insert(serving);
    geo
}

/// Names the serving region on the response.
pub fn end(geo: &'static str, response: &mut Response) {
    response
        .headers_mut()
        .insert(X_CC_LOCAL_GEO.clone(), HeaderValue::from_static(geo));
}
