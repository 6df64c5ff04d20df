//! The pages of `/core`: rendered like the console's, with one difference in their
//! Content-Security-Policy: no `form-action`, since the sign-in and consent forms end in a
//! redirect to the application, on another origin or a private-use scheme.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::http::web::page::render;

const CSP: &str = "default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'none'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// A rendered `/core` page.
pub fn show<T: Template>(status: StatusCode, page: &T) -> Response {
    let mut response = render(status, page);
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

#[derive(Template)]
#[template(path = "core_message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
}

/// A page that only says something.
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    show(status, &MessagePage { title, text })
}

/// The page for a failure of the server's.
pub fn unavailable(error: &crate::error::Error) -> Response {
    tracing::error!(%error, "a sign-in step failed");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again in a moment",
        "The sign-in could not be completed just now. Go back to the application and try again.",
    )
}

/// The page for a pending sign-in that is gone.
pub fn expired() -> Response {
    message(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired",
        "Too much time passed, or it was already completed, or it was started in another \
         browser. Go back to the application and sign in again.",
    )
}

/// A redirect that the browser must not cache or send a referrer from.
pub fn redirect(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
