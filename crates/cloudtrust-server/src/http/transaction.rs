//! Per-request transaction id and the headers every response carries.
//!
//! Clients may send `Citrix-TransactionId`; it is echoed back and used as `X-Cws-TransactionId`,
//! otherwise a fresh id is made. The id is a field of the request's tracing span, so it is in
//! every log line written while the request is handled.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::AppState;

/// `Citrix-TransactionId`, sent by clients and echoed.
pub static CITRIX_TRANSACTION_ID: HeaderName = HeaderName::from_static("citrix-transactionid");
/// `X-Cws-TransactionId`, on every response.
pub static X_CWS_TRANSACTION_ID: HeaderName = HeaderName::from_static("x-cws-transactionid");
/// `X-CC-LocalGeo`, the serving region.
pub static X_CC_LOCAL_GEO: HeaderName = HeaderName::from_static("x-cc-localgeo");

/// The transaction id of the current request (a request extension).
#[derive(Debug, Clone)]
pub struct TransactionId(pub String);

/// Longest client-supplied transaction id that is echoed.
const MAX_ID_LEN: usize = 128;

fn acceptable(value: &HeaderValue) -> Option<&str> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then_some(s)
}

/// The host the client asked for: `X-Forwarded-Host` from a trusted proxy, else the request
/// target's authority (HTTP/2) or `Host`.
fn requested_host<'r>(state: &AppState, request: &'r Request) -> Option<&'r str> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = peer
        .filter(|ip| state.config.trusted_proxies.contains(ip))
        .and_then(|_| request.headers().get("x-forwarded-host"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim);
    forwarded
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .or_else(|| {
            request
                .headers()
                .get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok())
        })
}

/// The path as logged: an invitation link's token is a secret and stays out of the logs.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invitations/") {
        "/invitations/{token}"
    } else {
        path
    }
}

/// The middleware.
pub async fn transaction(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let incoming = request
        .headers()
        .get(&CITRIX_TRANSACTION_ID)
        .and_then(acceptable)
        .map(str::to_owned);
    let id = incoming
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let span = tracing::info_span!(
        "request",
        txid = %id,
        method = %request.method(),
        path = %logged_path(request.uri().path()),
    );
    request.extensions_mut().insert(TransactionId(id.clone()));
    let serving = state.regions.serving(requested_host(&state, &request));
    let geo = serving.geo;
    request.extensions_mut().insert(serving);
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = response.status().as_u16(), "handled"));

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        if incoming.is_some() {
            headers.insert(CITRIX_TRANSACTION_ID.clone(), value.clone());
        }
        headers.insert(X_CWS_TRANSACTION_ID.clone(), value);
    }
    headers.insert(
        axum::http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Cws-TransactionId"),
    );
    headers.insert(X_CC_LOCAL_GEO.clone(), HeaderValue::from_static(geo));
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
