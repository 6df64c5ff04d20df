//! Discovery (`/.well-known/openid-configuration`, RFC 8414 alias) and the JWKS, so that any
//! resource server can verify cloudtrust's bearer tokens offline.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::middleware::region::Served;
use crate::keys::KeyRing;

/// Path of the JWKS document.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The discovery document.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    operation_id = "getOpenIdConfiguration",
    tag = "Bearer tokens",
    responses((status = 200, description = "OpenID Connect discovery", body = Object))
)]
pub async fn discovery(State(keys): State<Arc<KeyRing>>, Served(serving): Served) -> Response {
    let issuer = &serving.base_url;
    let algorithm = keys.current().signing.algorithm.as_str();
    let document = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/cctrustoauth2/root/tokens/clients"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "introspection_endpoint": format!("{issuer}/cctrustoauth2/root/tokens/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "revocation_endpoint": format!("{issuer}/cctrustoauth2/root/tokens/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [algorithm],
        "access_token_signing_alg_values_supported": [algorithm],
        "claims_supported": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "client_id",
                             "customer", "displayname", "email", "name"],
    });
    let mut response = axum::Json(document).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The discovery document under its RFC 8414 name.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    operation_id = "getAuthorizationServerMetadata",
    tag = "Bearer tokens",
    responses((status = 200, description = "OAuth 2.0 authorization server metadata", body = Object))
)]
pub async fn authorization_server_metadata(keys: State<Arc<KeyRing>>, serving: Served) -> Response {
    discovery(keys, serving).await
}

/// The public signing keys.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    operation_id = "getJwks",
    tag = "Bearer tokens",
    responses((status = 200, description = "The public signing keys (RFC 7517)", body = Object))
)]
pub async fn jwks(State(keys): State<Arc<KeyRing>>) -> Response {
    let keys = keys.current();
    let mut response = keys.jwks.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
