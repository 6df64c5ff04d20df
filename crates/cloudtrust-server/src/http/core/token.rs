//! `POST /core/connect/token`: the authorization-code and refresh-token grants of Workspace
//! clients.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::WorkspaceTokenResponse;

use super::{OAuthForm, authenticate_client, issuer};
use crate::auth::Auth;
use crate::domain::workspace_sign_in::{GrantRefusal, TokenSet, WorkspaceSignIn};
use crate::http::errors::OAuthError;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;
use crate::metrics;

/// The answer to a granted request, never cached.
pub fn token_response(set: TokenSet) -> Response {
    let body = WorkspaceTokenResponse {
        access_token: set.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: set.expires_in,
        scope: set.scope,
        id_token: set.id_token,
        refresh_token: set.refresh_token,
    };
    crate::http::no_store(axum::Json(body).into_response())
}

fn refused(refusal: GrantRefusal) -> OAuthError {
    OAuthError::bad_request(refusal.error, refusal.description)
}

/// `POST /core/connect/token`.
#[utoipa::path(
    post,
    path = "/core/connect/token",
    operation_id = "getWorkspaceToken",
    tag = "Workspace sign-in",
    request_body(
        content = cloudtrust_proto::WorkspaceTokenRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "authorization_code (with the PKCE code_verifier) or refresh_token; a private client authenticates with HTTP Basic or client_secret, a public one sends only client_id"
    ),
    responses(
        (status = 200, description = "Tokens; `expires_in` is a number", body = WorkspaceTokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`, or `invalid_client` for a disabled client", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 413, description = "The body is too large", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn token(
    State(auth): State<Arc<Auth>>,
    State(sign_in): State<WorkspaceSignIn>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body.map_err(|_| OAuthError::too_large())?;
    let form = OAuthForm::parse(&headers, &body)?;
    let grant_type = form.required("grant_type")?;
    if grant_type != "authorization_code" && grant_type != "refresh_token" {
        return Err(OAuthError::bad_request(
            "unsupported_grant_type",
            format!(
                "grant type `{grant_type}` is not supported; use authorization_code or refresh_token"
            ),
        ));
    }
    let client = authenticate_client(&auth, source, &headers, &form).await?;
    let issuer = issuer(&serving);
    let outcome = if grant_type == "authorization_code" {
        let code = form.required("code")?;
        sign_in
            .redeem_code(
                &client,
                code,
                form.get("redirect_uri")?,
                form.get("code_verifier")?,
                &issuer,
            )
            .await?
    } else {
        let token = form.required("refresh_token")?;
        sign_in
            .refresh(&client, token, form.get("scope")?, &issuer)
            .await?
    };
    let grant = if grant_type == "authorization_code" {
        "authorization_code"
    } else {
        "refresh_token"
    };
    match &outcome {
        Ok(_) => metrics::token_issued("core", grant),
        Err(_) => metrics::token_refused("core", grant, "invalid_grant"),
    }
    outcome.map(token_response).map_err(refused)
}
