//! The console's static files, compiled into the binary: no CDN, as many networks that run
//! cloudtrust are offline.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page::PageRejection;
use crate::http::path::PathText;

/// htmx 2 (Zero-Clause BSD), vendored unchanged from the `htmx.org` package.
const HTMX: &[u8] = include_bytes!("../../../assets/htmx.min.js");
const SCRIPT: &[u8] = include_bytes!("../../../assets/console.js");
const STYLE: &[u8] = include_bytes!("../../../assets/console.css");

/// `GET /assets/{file}`.
pub async fn asset(PathText(file, _): PathText<PageRejection>) -> Response {
    let (body, content_type) = match file.as_str() {
        "htmx.min.js" => (HTMX, "text/javascript; charset=utf-8"),
        "console.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "console.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
