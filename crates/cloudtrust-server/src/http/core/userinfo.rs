//! `GET|POST /core/connect/userinfo` (Bearer access token), `POST /core/connect/revocation`
//! (RFC 7009) and `POST /core/connect/introspect` (RFC 7662).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{OAuthForm, authenticate_client};
use crate::auth::Auth;
use crate::domain::workspace_clients::{ClientType, WorkspaceClient};
use crate::domain::workspace_sign_in::WorkspaceSignIn;
use crate::domain::workspace_sign_in::scopes::OPENID;
use crate::domain::workspace_sign_in::tokens::UserInfo;
use crate::http::bearer::parse_authorization;
use crate::http::errors::OAuthError;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::no_store;

/// An RFC 6750 refusal: `401` (or `403` for `insufficient_scope`) with `WWW-Authenticate`.
fn bearer_refusal(status: StatusCode, error: Option<&str>, description: &str) -> Response {
    let challenge = match error {
        Some(error) => format!(
            "Bearer realm=\"cloudtrust\", error=\"{error}\", error_description=\"{description}\""
        ),
        None => "Bearer realm=\"cloudtrust\"".to_owned(),
    };
    let body = match error {
        Some(error) => json!({"error": error, "error_description": description}),
        None => json!({"error": "invalid_token", "error_description": description}),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// `GET /core/connect/userinfo`: the claims the access token's scopes release.
#[utoipa::path(
    get,
    path = "/core/connect/userinfo",
    operation_id = "getWorkspaceUserInfo",
    tag = "Workspace sign-in",
    responses(
        (status = 200, description = "`sub`, and with `email` / `profile` the user's email and names", body = Object),
        (status = 401, description = "No token, or not a live Workspace access token (`WWW-Authenticate: Bearer`)", body = cloudtrust_proto::OAuthErrorBody),
        (status = 403, description = "The token lacks the `openid` scope", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn userinfo(State(sign_in): State<WorkspaceSignIn>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization);
    let Some(token) = token else {
        return bearer_refusal(
            StatusCode::UNAUTHORIZED,
            None,
            "an access token is required",
        );
    };
    let access = match sign_in.check_access(token).await {
        Ok(Some(access)) => access,
        Ok(None) => {
            return bearer_refusal(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is not valid",
            );
        }
        Err(e) => return OAuthError::from(e).into_response(),
    };
    let scopes: Vec<&str> = access.claims.scope.split_whitespace().collect();
    if !scopes.contains(&OPENID) {
        return bearer_refusal(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the access token was not granted the openid scope",
        );
    }
    no_store(axum::Json(UserInfo::of(&access.user, &scopes)).into_response())
}

/// `POST /core/connect/userinfo`: the same as `GET`.
#[utoipa::path(
    post,
    path = "/core/connect/userinfo",
    operation_id = "postWorkspaceUserInfo",
    tag = "Workspace sign-in",
    responses(
        (status = 200, description = "As `GET`", body = Object),
        (status = 401, description = "As `GET`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn userinfo_posted(sign_in: State<WorkspaceSignIn>, headers: HeaderMap) -> Response {
    userinfo(sign_in, headers).await
}

/// `POST /core/connect/revocation` (RFC 7009): revokes a refresh token (and its family) or
/// an access token of the authenticated client; always `200` for tokens it does not know.
#[utoipa::path(
    post,
    path = "/core/connect/revocation",
    operation_id = "revokeWorkspaceToken",
    tag = "Workspace sign-in",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`token`, optional `token_type_hint`, and the client's authentication"),
    responses(
        (status = 200, description = "Revoked, or not a token of this client"),
        (status = 400, description = "`invalid_request`, or `invalid_client` for a disabled client", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 413, description = "The body is too large", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn revocation(
    State(auth): State<Arc<Auth>>,
    State(sign_in): State<WorkspaceSignIn>,
    ClientAddress(source): ClientAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let (client, token) = named_token(&auth, source, &headers, body).await?;
    sign_in.revoke(&client, &token).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

/// The client of a revocation or introspection request, authenticated, and the token it
/// names (RFC 7009 §2.1, RFC 7662 §2.1).
async fn named_token(
    auth: &Auth,
    source: std::net::IpAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(WorkspaceClient, String), OAuthError> {
    let body = body.map_err(|_| OAuthError::too_large())?;
    let form = OAuthForm::parse(headers, &body)?;
    let client = authenticate_client(auth, source, headers, &form).await?;
    let token = form.required("token")?.to_owned();
    form.get("token_type_hint")?;
    Ok((client, token))
}

/// `POST /core/connect/introspect` (RFC 7662): whether a token of the authenticated private
/// client is active, and what it carries.
#[utoipa::path(
    post,
    path = "/core/connect/introspect",
    operation_id = "introspectWorkspaceToken",
    tag = "Workspace sign-in",
    request_body(content = Object, content_type = "application/x-www-form-urlencoded", description = "`token`, optional `token_type_hint`, and a private client's authentication"),
    responses(
        (status = 200, description = "`active`, and for an active token its scope, client_id, sub, exp, …", body = Object),
        (status = 400, description = "`invalid_request`, or `invalid_client` for a disabled or a public client", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client` after HTTP Basic authentication", body = cloudtrust_proto::OAuthErrorBody),
        (status = 413, description = "The body is too large", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn introspect(
    State(auth): State<Arc<Auth>>,
    State(sign_in): State<WorkspaceSignIn>,
    ClientAddress(source): ClientAddress,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let (client, token) = named_token(&auth, source, &headers, body).await?;
    if client.client_type == ClientType::Public {
        // A public client holds no secret, so anyone could ask in its name.
        return Err(OAuthError::invalid_client(false));
    }
    let answer = sign_in.introspect(&client, &token).await?;
    Ok(no_store(axum::Json(answer).into_response()))
}
