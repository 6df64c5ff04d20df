//! Headers every response carries for the browser's sake.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Adds `X-Content-Type-Options: nosniff`, so no answer is ever run as another type; and, on
/// answers sent over TLS, `Strict-Transport-Security`, so the browser never falls back to
/// plain HTTP for this host.
pub fn apply(response: &mut Response, over_tls: bool) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if over_tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
}
