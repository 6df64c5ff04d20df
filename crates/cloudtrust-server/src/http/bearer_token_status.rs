//! `POST /cctrustoauth2/{customerid}/tokens/introspect` (RFC 7662) and
//! `POST /cctrustoauth2/{customerid}/tokens/revoke` (RFC 7009) for API clients' bearer tokens,
//! client-authenticated like the token endpoint (`client_secret_post` or `client_secret_basic`).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::TokenIntrospection;

use super::basic::client_authentication;
use super::errors::OAuthError;
use super::no_store;
use super::oauth::is_form;
use super::path::PathText;
use crate::auth::{Auth, TokenQuery};
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;

/// The parameters both endpoints read.
#[derive(Debug, Default)]
struct TokenForm {
    token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Reads the form: `token` required, each parameter at most once, `token_type_hint` and
/// others ignored (a hint only speeds a search up; RFC 7009 §2.1).
fn read_form(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<TokenForm, OAuthError> {
    let body = body.map_err(|_| OAuthError::too_large())?;
    if !is_form(headers) {
        return Err(OAuthError::unsupported_media_type(
            "application/x-www-form-urlencoded",
        ));
    }
    let mut form = TokenForm::default();
    for pair in super::urlencoded::pairs(&body) {
        let (name, value) = pair?;
        let slot = match name.as_ref() {
            "token" => &mut form.token,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            _ => continue,
        };
        if slot.is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            )));
        }
        *slot = Some(value.into_owned());
    }
    if form.token.as_deref().is_none_or(str::is_empty) {
        return Err(OAuthError::invalid_request("token is required"));
    }
    Ok(form)
}

/// What both endpoints read: the token, and the client's credentials from the form or HTTP
/// Basic (whose refusal answers `401`).
struct Asked {
    token: String,
    client_id: String,
    client_secret: String,
    used_basic: bool,
}

impl Asked {
    fn read(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Asked, OAuthError> {
        let form = read_form(headers, body)?;
        let (client_id, client_secret, used_basic) = client_authentication(
            headers,
            form.client_id.map(Cow::Owned),
            form.client_secret.map(Cow::Owned),
        )?;
        Ok(Asked {
            token: form.token.unwrap_or_default(),
            client_id: client_id.into_owned(),
            client_secret: client_secret.into_owned(),
            used_basic,
        })
    }

    fn query<'a>(&'a self, path_customer: &'a str) -> TokenQuery<'a> {
        TokenQuery {
            path_customer,
            client_id: &self.client_id,
            client_secret: &self.client_secret,
            token: &self.token,
        }
    }
}

/// `POST /cctrustoauth2/{customerid}/tokens/introspect`: whether one of the calling client's
/// bearer tokens would be accepted now, and what it carries.
#[utoipa::path(
    post,
    path = "/cctrustoauth2/{customerid}/tokens/introspect",
    operation_id = "introspectBearerToken",
    tag = "Bearer tokens",
    params(("customerid" = String, Path, description = "`root`, or the client's own customer id")),
    request_body(
        content = cloudtrust_proto::TokenActionRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "The token, and the client's id and secret (or HTTP Basic)"
    ),
    responses(
        (status = 200, description = "`active`, and for an active token its claims", body = TokenIntrospection),
        (status = 400, description = "`invalid_client` or `invalid_request`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client` after HTTP Basic authentication", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn introspect(
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    PathText(customer, _): PathText<OAuthError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let asked = Asked::read(&headers, body)?;
    let caller = auth
        .introspect_bearer_token(&serving, source, asked.query(&customer))
        .await?
        .map_err(|refusal| OAuthError::refused(refusal, asked.used_basic))?;
    let body = match caller {
        None => TokenIntrospection::default(),
        Some(caller) => {
            let claims = caller.claims;
            TokenIntrospection {
                active: true,
                client_id: Some(claims.client_id),
                token_type: Some("Bearer".to_owned()),
                sub: Some(claims.sub),
                aud: Some(claims.aud),
                iss: Some(claims.iss),
                jti: Some(claims.jti),
                iat: Some(claims.iat),
                nbf: Some(claims.nbf),
                exp: Some(claims.exp),
                customer: Some(claims.customer),
            }
        }
    };
    Ok(no_store(axum::Json(body).into_response()))
}

/// `POST /cctrustoauth2/{customerid}/tokens/revoke`: revokes one of the calling client's
/// bearer tokens at once, on every node. `200` whether or not there was anything to revoke.
#[utoipa::path(
    post,
    path = "/cctrustoauth2/{customerid}/tokens/revoke",
    operation_id = "revokeBearerToken",
    tag = "Bearer tokens",
    params(("customerid" = String, Path, description = "`root`, or the client's own customer id")),
    request_body(
        content = cloudtrust_proto::TokenActionRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "The token, and the client's id and secret (or HTTP Basic)"
    ),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (an unknown, expired or foreign token); empty body"),
        (status = 400, description = "`invalid_client` or `invalid_request`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client` after HTTP Basic authentication", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn revoke(
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    PathText(customer, _): PathText<OAuthError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let asked = Asked::read(&headers, body)?;
    auth.revoke_bearer_token(&serving, source, asked.query(&customer))
        .await?
        .map_err(|refusal| OAuthError::refused(refusal, asked.used_basic))?;
    Ok(no_store(StatusCode::OK.into_response()))
}
