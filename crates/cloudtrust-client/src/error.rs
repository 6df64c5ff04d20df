//! What can go wrong talking to cloudtrust or Citrix Cloud.

use cloudtrust_proto::{ApiError, OAuthErrorBody};

/// What can go wrong getting a token or calling an API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The token endpoint refused, with an RFC 6749 error body.
    #[error("token refused ({status}): {}", .body.error)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: OAuthErrorBody,
    },
    /// A resource API answered with an error status (after any retries).
    #[error("{path} answered {status}{}", detail(.error))]
    Api {
        /// The path asked for.
        path: String,
        /// HTTP status.
        status: u16,
        /// Citrix Cloud's common error body, when the answer carried one.
        error: Option<ApiError>,
    },
    /// The server answered something that is not what the endpoint should answer.
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

/// `: <detail> (<name>)` of a common error body, or nothing.
fn detail(error: &Option<ApiError>) -> String {
    error
        .as_ref()
        .map(|e| format!(": {} ({})", e.detail, e.name()))
        .unwrap_or_default()
}
