//! The HTTP surface (axum only): parse, authenticate, call the domain, render. One module per
//! API family; handlers stay thin.

pub mod bearer;
pub mod client_auth;
pub mod errors;
pub mod me;
pub mod oauth;
pub mod oidc;
pub mod ops;
pub mod transaction;
pub mod trust;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::middleware;
use axum::routing::{get, post};

use crate::app::Shared;
use errors::ApiErrorResponse;

/// The state every handler receives.
pub type AppState = Arc<Shared>;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route(
            "/cctrustoauth2/{customer}/tokens/clients",
            post(oauth::client_credentials),
        )
        .route("/{customer}/tokens/clients", post(trust::trust_token))
        .route("/.well-known/openid-configuration", get(oidc::discovery))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oidc::discovery),
        )
        .route("/.well-known/jwks.json", get(oidc::jwks))
        .route("/cvadapis/me", get(me::me))
        .route("/cvad/manage/me", get(me::me))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .fallback(|| async { ApiErrorResponse::not_found("resource", "") })
        .method_not_allowed_fallback(|| async { ApiErrorResponse::method_not_allowed() })
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            transaction::transaction,
        ))
        .with_state(state)
}

/// The media type of the request body, lowercased and without parameters such as `charset`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
}
