//! `/invitations/{token}`: the link an invited administrator follows to accept.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use crate::error::Error;

/// Where invitation links point, under the public base URL.
pub const INVITATIONS_PATH: &str = "/invitations";

/// Escapes text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · cloudtrust</title></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

fn gone() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Invitation not found",
        "<p>This invitation link is not valid: it was already used, withdrawn, or it expired. \
         Ask an administrator of your organisation to invite you again.</p>",
    )
}

/// `GET`: what the invitation is for, with a button to accept it.
pub async fn show(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.directory.invitation(&token).await {
        Ok(admin) => page(
            StatusCode::OK,
            "Accept the invitation",
            &format!(
                "<p>You are invited to administer the customer <strong>{customer}</strong> as \
                 <strong>{email}</strong>.</p><form method=\"post\"><button type=\"submit\">\
                 Accept invitation</button></form>",
                customer = escape(&admin.customer_id),
                email = escape(&admin.email),
            ),
        ),
        Err(Error::NotFound { .. }) => gone(),
        Err(e) => {
            tracing::error!(error = %e, "reading an invitation failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>Please try again in a moment.</p>",
            )
        }
    }
}

/// `POST`: accepts the invitation; the administrator becomes active.
pub async fn accept(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.directory.accept_invitation(&token).await {
        Ok(admin) => page(
            StatusCode::OK,
            "Invitation accepted",
            &format!(
                "<p>{email} is now an administrator of <strong>{customer}</strong>.</p>",
                customer = escape(&admin.customer_id),
                email = escape(&admin.email),
            ),
        ),
        Err(Error::NotFound { .. }) => gone(),
        Err(e) => {
            tracing::error!(error = %e, "accepting an invitation failed");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "<p>Please try again in a moment.</p>",
            )
        }
    }
}
