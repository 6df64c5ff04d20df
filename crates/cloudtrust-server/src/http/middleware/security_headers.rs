//! Headers every response carries for the browser's sake.

use axum::http::{HeaderValue, header};
use axum::response::Response;

/// Adds `X-Content-Type-Options: nosniff`, so no answer is ever run as another type.
pub fn apply(response: &mut Response) {
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}
