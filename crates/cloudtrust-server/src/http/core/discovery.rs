//! `/core/.well-known/openid-configuration` with its JWKS, and Citrix's Workspace discovery
//! (`/citrixapi/discovery/configurations`), which tells an application where to sign in.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::issuer;
use crate::domain::workspace_sign_in::WorkspaceSignIn;
use crate::domain::workspace_sign_in::scopes;
use crate::http::bearer::CITRIX_CUSTOMER_ID;
use crate::http::errors::ApiErrorResponse;
use crate::http::middleware::region::Served;
use crate::keys::KeyRing;

/// `Citrix-ApplicationId`.
static CITRIX_APPLICATION_ID: HeaderName = HeaderName::from_static("citrix-applicationid");

/// The claims ID tokens and userinfo may carry.
const CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "customer",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

fn cacheable(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// The discovery document of the issuer `issuer`.
fn document(issuer: &str, algorithm: &str) -> serde_json::Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/connect/authorize"),
        "token_endpoint": format!("{issuer}/connect/token"),
        "userinfo_endpoint": format!("{issuer}/connect/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/openid-configuration/jwks"),
        "revocation_endpoint": format!("{issuer}/connect/revocation"),
        "introspection_endpoint": format!("{issuer}/connect/introspect"),
        "end_session_endpoint": format!("{issuer}/connect/endsession"),
        "scopes_supported": scopes::supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [algorithm],
        "userinfo_signing_alg_values_supported": [],
        "claims_supported": CLAIMS,
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "frontchannel_logout_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}

/// `GET /core/.well-known/openid-configuration`.
#[utoipa::path(
    get,
    path = "/core/.well-known/openid-configuration",
    operation_id = "getWorkspaceOpenIdConfiguration",
    tag = "Workspace sign-in",
    responses((status = 200, description = "OpenID Connect discovery of the Workspace issuer `<base>/core`", body = Object))
)]
pub async fn openid_configuration(
    State(keys): State<Arc<KeyRing>>,
    Served(serving): Served,
) -> Response {
    let algorithm = keys.current().signing.algorithm.as_str();
    cacheable(axum::Json(document(&issuer(&serving), algorithm)).into_response())
}

/// `GET /core/.well-known/openid-configuration/jwks`.
#[utoipa::path(
    get,
    path = "/core/.well-known/openid-configuration/jwks",
    operation_id = "getWorkspaceJwks",
    tag = "Workspace sign-in",
    responses((status = 200, description = "The public signing keys (RFC 7517)", body = Object))
)]
pub async fn jwks(keys: State<Arc<KeyRing>>) -> Response {
    crate::http::oidc::jwks(keys).await
}

/// The customer a discovery request is about: `Citrix-CustomerId`, or the first label of a
/// `{customer}.cloud.com`-style host.
fn customer_of(headers: &HeaderMap) -> Option<String> {
    let named = headers
        .get(&CITRIX_CUSTOMER_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    if let Some(named) = named {
        return Some(named.to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host.split(':').next()?;
    let mut labels = host.split('.');
    let first = labels.next()?;
    (labels.count() >= 2 && !first.is_empty()).then(|| first.to_owned())
}

/// `GET /citrixapi/discovery/configurations`: where the application named by
/// `Citrix-ApplicationId` (or `ApplicationId`) signs its users in.
#[utoipa::path(
    get,
    path = "/citrixapi/discovery/configurations",
    operation_id = "getWorkspaceDiscovery",
    tag = "Workspace sign-in",
    params(("ApplicationId" = Option<String>, Query, description = "The Workspace client id, unless sent as `Citrix-ApplicationId`")),
    responses(
        (status = 200, description = "The customer's sign-in endpoints", body = Object),
        (status = 400, description = "An application id the database cannot hold (`invalidString`)", body = cloudtrust_proto::ApiError),
        (status = 401, description = "No application id", body = cloudtrust_proto::ApiError),
        (status = 403, description = "Not an enabled Workspace client of the customer", body = cloudtrust_proto::ApiError),
    )
)]
pub async fn configurations(
    State(sign_in): State<WorkspaceSignIn>,
    State(keys): State<Arc<KeyRing>>,
    Served(serving): Served,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiErrorResponse> {
    let from_query = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("applicationid"))
        .map(|(_, v)| v.into_owned());
    let application = headers
        .get(&CITRIX_APPLICATION_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(from_query)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiErrorResponse::authentication("missing"))?;
    let customer = customer_of(&headers).unwrap_or_default();
    let client = sign_in.client(&application).await?;
    let client = client
        .filter(|c| c.enabled && c.customer_id == customer)
        .ok_or_else(|| ApiErrorResponse::authorization("application", &application))?;
    let issuer = issuer(&serving);
    let algorithm = keys.current().signing.algorithm.as_str();
    let oidc = document(&issuer, algorithm);
    let endpoint = |id: &str, key: &str| json!({"id": id, "url": oidc[key]});
    let body = json!({
        "customerId": client.customer_id,
        "applicationId": client.client_id,
        "issuer": issuer,
        "services": [{
            "service": "auth",
            "endpoints": [
                {"id": "openid-configuration", "url": format!("{issuer}/.well-known/openid-configuration")},
                endpoint("authorize", "authorization_endpoint"),
                endpoint("token", "token_endpoint"),
                endpoint("userinfo", "userinfo_endpoint"),
                endpoint("revocation", "revocation_endpoint"),
                endpoint("introspection", "introspection_endpoint"),
                endpoint("endsession", "end_session_endpoint"),
                endpoint("jwks", "jwks_uri"),
            ],
        }],
    });
    Ok(cacheable(axum::Json(body).into_response()))
}
