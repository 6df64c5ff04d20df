//! The per-request transaction id.
//!
//! Clients may send `Citrix-TransactionId`; it is echoed back and used as `X-Cws-TransactionId`,
//! otherwise a fresh id is made. The id is a field of the request's tracing span, so it is in
//! every log line written while the request is handled.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// `Citrix-TransactionId`, sent by clients and echoed.
pub static CITRIX_TRANSACTION_ID: HeaderName = HeaderName::from_static("citrix-transactionid");
/// `X-Cws-TransactionId`, on every response.
pub static X_CWS_TRANSACTION_ID: HeaderName = HeaderName::from_static("x-cws-transactionid");

/// The name of the span every request is handled in.
pub const SPAN_NAME: &str = "request";
/// Its target (this module), which [`crate::logging::RequestSpanFields`] recognises it by.
pub const SPAN_TARGET: &str = module_path!();

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

/// The transaction id of a request being handled, and whether the client gave it.
pub struct Transaction {
    id: String,
    echoed: bool,
    /// The span every log line of the request is written in.
    pub span: tracing::Span,
}

/// Gives the request its transaction id (the client's, or a new one) and its log span.
pub fn begin<B>(request: &Request<B>, client: std::net::IpAddr) -> Transaction {
    let incoming = request
        .headers()
        .get(&CITRIX_TRANSACTION_ID)
        .and_then(acceptable)
        .map(str::to_owned);
    let echoed = incoming.is_some();
    let id = incoming.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    // Strings as `&str`, not `%`: the text format's layer writes them without formatting
    // (crate::logging).
    let span = tracing::info_span!(
        SPAN_NAME,
        txid = id.as_str(),
        method = request.method().as_str(),
        path = logged_path(request.uri().path()),
        client = %client,
    );
    Transaction { id, echoed, span }
}

/// Puts the transaction id on the response.
pub fn end(transaction: &Transaction, response: &mut Response) {
    // In the span without entering it: entering and leaving cost more than the event, which
    // is rarely enabled.
    tracing::debug!(parent: &transaction.span, status = response.status().as_u16(), "handled");
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&transaction.id) {
        if transaction.echoed {
            headers.insert(CITRIX_TRANSACTION_ID.clone(), value.clone());
        }
        headers.insert(X_CWS_TRANSACTION_ID.clone(), value);
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Cws-TransactionId"),
    );
}
