//! Rendering pages: the frame every page shares, security headers, and errors in words.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use time::OffsetDateTime;
use time::macros::format_description;

use super::session::SignedIn;
use crate::domain::permissions;
use crate::error::Error;

/// What the page frame shows about the visitor.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The signed-in administrator's email.
    pub email: Option<String>,
    /// Its customer's name.
    pub customer_name: String,
    /// Its customer's id.
    pub customer_id: String,
    /// Whether the sign-in matched several customers, so that one can switch.
    pub can_switch: bool,
    /// Whether the administrator may see the Administrators tab.
    pub manages_administrators: bool,
    /// Whether the administrator may see the Workspace API tab.
    pub manages_workspace_clients: bool,
    /// The session's anti-forgery token (for the sign-out form).
    pub csrf: String,
}

impl Frame {
    /// The frame of a signed-out page.
    pub fn signed_out() -> Self {
        Frame::default()
    }

    /// The frame of a signed-in page.
    pub fn of(signed_in: &SignedIn) -> Self {
        Frame {
            email: Some(signed_in.administrator.email.clone()),
            customer_name: signed_in.customer.name.clone(),
            customer_id: signed_in.customer.id.clone(),
            can_switch: signed_in.session.choices.len() > 1,
            manages_administrators: signed_in.actor().allows(permissions::ADMINISTRATORS),
            manages_workspace_clients: signed_in
                .actor()
                .allows(permissions::WORKSPACE_OAUTH_CLIENTS),
            csrf: signed_in.session.csrf_token.clone(),
        }
    }
}

/// The headers of every console and portal page: never cached (pages show secrets once),
/// never framed, scripts and styles only from this server.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
             object-src 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Renders a template with `status`.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => secure((status, Html(html)).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "rendering a page failed");
            secure(
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The page could not be shown.",
                )
                    .into_response(),
            )
        }
    }
}

/// A page that only says something.
#[derive(Debug, Clone, Copy)]
pub struct Message {
    /// The heading.
    pub title: &'static str,
    /// What happened, and what to do.
    pub text: &'static str,
    /// A link onwards: path and words.
    pub link: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    frame: Frame,
    title: &'static str,
    text: &'static str,
    link_href: &'static str,
    link_text: &'static str,
}

/// A page that only says something, with `status`.
pub fn message(status: StatusCode, message: Message) -> Response {
    render(
        status,
        &MessagePage {
            frame: Frame::signed_out(),
            title: message.title,
            text: message.text,
            link_href: message.link.map_or("", |(href, _)| href),
            link_text: message.link.map_or("", |(_, text)| text),
        },
    )
}

/// The page for a failure that is the server's, not the visitor's.
pub fn unavailable() -> Response {
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        Message {
            title: "Try again in a moment",
            text: "cloudtrust could not complete this just now. Nothing was changed. \
                   Try again in a moment.",
            link: None,
        },
    )
}

/// A domain error in words a person understands, with the status that goes with it.
pub fn explain(error: &Error) -> (StatusCode, String) {
    match error {
        Error::Invalid { field, message } => (
            StatusCode::BAD_REQUEST,
            format!("{}: {message}.", field_label(field)),
        ),
        Error::NotFound { entity, .. } => (
            StatusCode::NOT_FOUND,
            format!(
                "That {entity} does not exist any more. Reload the page to see the current list."
            ),
        ),
        Error::Conflict(text) => (StatusCode::CONFLICT, sentence(text)),
        Error::Stale(_) => (
            StatusCode::CONFLICT,
            "Someone changed this in the meantime. Reload the page and try again.".to_owned(),
        ),
        Error::Forbidden(text) => (
            StatusCode::FORBIDDEN,
            format!("You are not allowed to do this: {}", sentence(text)),
        ),
        Error::Database(_) | Error::Migration(_) | Error::Internal(_) => {
            tracing::error!(error = %error, "a console action failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "cloudtrust could not complete this just now. Nothing was changed. Try again in a moment."
                    .to_owned(),
            )
        }
    }
}

fn field_label(field: &str) -> String {
    let mut chars = field.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars)
            .collect::<String>()
            .replace('_', " ")
            .replace(" uris", " URIs"),
        None => "Input".to_owned(),
    }
}

fn sentence(text: &str) -> String {
    let mut out = field_label(text);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

/// A time for people: `2026-11-26 09:30 UTC`.
pub fn when(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A request refused before its handler ran, answered as a page.
pub struct PageRejection(Response);

impl From<axum::extract::rejection::PathRejection> for PageRejection {
    fn from(_: axum::extract::rejection::PathRejection) -> Self {
        PageRejection(message(
            StatusCode::BAD_REQUEST,
            Message {
                title: "This address is not valid",
                text: "The address has characters that are not text. Check the link and try again.",
                link: None,
            },
        ))
    }
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        self.0
    }
}
