//! The HTTP surface (axum only): parse, authenticate, call the domain, render. One module per
//! API family; handlers stay thin.

pub mod administrators;
pub mod bearer;
pub mod client_auth;
pub mod errors;
pub mod invitations;
pub mod json;
pub mod me;
pub mod oauth;
pub mod oidc;
pub mod openapi;
pub mod ops;
pub mod path;
pub mod region;
pub mod secure_clients;
pub mod smart;
pub mod systemlog;
pub mod transaction;
pub mod trust;
pub mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, header};
use axum::middleware;
use axum::routing::{delete, get, post, put};

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
            get(oidc::authorization_server_metadata),
        )
        .route("/.well-known/jwks.json", get(oidc::jwks))
        .route("/cvadapis/me", get(me::me))
        .route("/cvad/manage/me", get(me::manage_me))
        .route("/openapi.json", get(openapi::openapi))
        .route("/administrators", get(administrators::list))
        .route("/administrators/", get(administrators::list))
        .route("/administrators/$create", post(administrators::create))
        .route("/administrators/%24create", post(administrators::create))
        .route("/administrators/access", put(administrators::set_access))
        .route(
            "/administrators/invitations",
            delete(administrators::delete_invitation),
        )
        .route(
            "/administrators/{id}",
            get(administrators::get).delete(administrators::delete),
        )
        .route(
            "/administrators/{id}/access",
            get(administrators::get_access),
        )
        .route("/secureClients", get(secure_clients::list))
        .route("/secureClients/", get(secure_clients::list))
        .route("/secureClients/$create", post(secure_clients::create))
        .route("/secureClients/%24create", post(secure_clients::create))
        .route(
            "/secureClients/{id}",
            get(secure_clients::get).delete(secure_clients::delete),
        )
        .route("/systemlog/records", get(systemlog::records))
        .route("/v0/companies", get(smart::companies))
        .route("/v0/roles", get(smart::roles))
        .route("/v0/oauth/token", get(smart::token))
        .route("/v0/me", get(smart::me))
        .route(
            &invitations::route(),
            get(invitations::show).post(invitations::accept),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .merge(web::routes())
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
