//! The per-request transaction id.
//!
//! Clients may send `Citrix-TransactionId`; it is echoed back and used as `X-Cws-TransactionId`,
//! otherwise a fresh id is made. The id is a field of the request's tracing span, so it is in
//! every log line written while the request is handled.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// `Citrix-TransactionId`, sent by clients and echoed.
pub static CITRIX_TRANSACTION_ID: HeaderName = HeaderName::from_static("citrix-transactionid");
/// `X-Cws-TransactionId`, on every response.
pub static X_CWS_TRANSACTION_ID: HeaderName = HeaderName::from_static("x-cws-transactionid");

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

/// The path as logged: an invitation link's token is a secret and stays out of the logs.
fn logged_path(path: &str) -> &str {
    if path.starts_with("/invitations/") {
        "/invitations/{token}"
    } else {
        path
    }
}

/// The middleware.
pub async fn transaction_id(mut request: Request, next: Next) -> Response {
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
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Cws-TransactionId"),
    );
    response
}
