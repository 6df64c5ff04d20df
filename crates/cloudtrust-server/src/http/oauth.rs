//! `POST /cctrustoauth2/{customerid}/tokens/clients`: the OAuth 2.0 client-credentials grant
//! (RFC 6749 §4.4), with `client_secret_post` and `client_secret_basic`.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cloudtrust_proto::ClientCredentialsResponse;

use std::borrow::Cow;
use std::sync::Arc;

use super::basic::client_authentication;
use super::errors::OAuthError;
use super::is_media_type;
use super::path::PathText;
use crate::auth::Auth;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;

/// The only grant type of this endpoint.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

/// The parameters this endpoint reads, borrowed from the body where they need no decoding.
#[derive(Debug, Default)]
pub struct TokenForm<'a> {
    /// `grant_type`, as sent.
    pub grant_type: Option<Cow<'a, str>>,
    /// `client_id` (`client_secret_post`).
    pub client_id: Option<Cow<'a, str>>,
    /// `client_secret` (`client_secret_post`).
    pub client_secret: Option<Cow<'a, str>>,
}

/// Decodes the form body of the token endpoint: the parameters it reads, each at most once
/// (others are ignored).
pub fn parse_form(body: &[u8]) -> Result<TokenForm<'_>, OAuthError> {
    let mut form = TokenForm::default();
    for pair in super::urlencoded::pairs(body) {
        let (name, value) = pair?;
        let slot = match name.as_ref() {
            "grant_type" => &mut form.grant_type,
            "client_id" => &mut form.client_id,
            "client_secret" => &mut form.client_secret,
            _ => continue,
        };
        // RFC 6749 §3.2: parameters must not be repeated.
        if slot.is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter `{name}` is repeated"
            )));
        }
        *slot = Some(value);
    }
    Ok(form)
}

/// Whether the content type is `application/x-www-form-urlencoded` (parameters allowed).
pub fn is_form(headers: &HeaderMap) -> bool {
    is_media_type(headers, "application/x-www-form-urlencoded")
}

/// `POST /cctrustoauth2/{customerid}/tokens/clients`: a bearer token for an API client's id and
/// secret (OAuth 2.0 client credentials).
#[utoipa::path(
    post,
    path = "/cctrustoauth2/{customerid}/tokens/clients",
    operation_id = "getClientCredentialsToken",
    tag = "Bearer tokens",
    params(("customerid" = String, Path, description = "`root`, or the client's own customer id")),
    request_body(
        content = cloudtrust_proto::ClientCredentialsRequest,
        content_type = "application/x-www-form-urlencoded",
        description = "OAuth 2.0 client credentials; the id and secret may come in HTTP Basic instead"
    ),
    responses(
        (status = 200, description = "A bearer token; `expires_in` is a string", body = ClientCredentialsResponse),
        (status = 400, description = "`invalid_client`, `invalid_request` or `unsupported_grant_type`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 401, description = "`invalid_client` after HTTP Basic authentication", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not a form", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn client_credentials(
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    PathText(customer, _): PathText<OAuthError>,
    request: Request,
) -> Result<Response, OAuthError> {
    // The headers are moved out of the request rather than cloned by an extractor.
    let (mut parts, body) = request.into_parts();
    let headers = std::mem::take(&mut parts.headers);
    let body = Bytes::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(|_| OAuthError::too_large())?;
    if !is_form(&headers) {
        return Err(OAuthError::unsupported_media_type(
            "application/x-www-form-urlencoded",
        ));
    }
    let form = parse_form(&body)?;
    match form.grant_type.as_deref() {
        None | Some("") => return Err(OAuthError::invalid_request("grant_type is required")),
        Some(CLIENT_CREDENTIALS) => {}
        Some(other) => return Err(OAuthError::unsupported_grant_type(other)),
    }
    let (client_id, client_secret, used_basic) =
        client_authentication(&headers, form.client_id, form.client_secret)?;
    let outcome = auth
        .issue_api_client_token(&serving, source, &customer, &client_id, &client_secret)
        .await?;
    let issued = super::counted("oauth2", CLIENT_CREDENTIALS, outcome)
        .map_err(|refusal| OAuthError::refused(refusal, used_basic))?;
    let size_hint = issued.token.token.len() + 80;
    let body = ClientCredentialsResponse {
        token_type: "bearer".to_owned(),
        access_token: issued.token.token,
        expires_in: auth.token_lifetime_secs().to_string(),
    };
    Ok(super::token_json(&body, size_hint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_parameters_are_decoded_and_repeats_refused() {
        let form = parse_form(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y")
            .expect("parses");
        assert_eq!(form.client_id.as_deref(), Some("a+b"));
        assert_eq!(form.client_secret.as_deref(), Some("x y"));
        assert!(parse_form(b"client_id=a&client_id=b").is_err());
    }
}
