//! `POST /{customerid}/tokens/clients`: the deprecated trust-service endpoint. JSON in, with
//! property names matched case-insensitively; answers a bearer token and an ID token.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use cloudtrust_proto::TrustTokenResponse;

use std::sync::Arc;

use super::errors::OAuthError;
use super::path::PathText;
use super::{is_json_media, media_type};
use crate::auth::Auth;
use crate::http::middleware::client_address::ClientAddress;
use crate::http::middleware::region::Served;

fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(is_json_media)
}

/// Reads `ClientId` and `ClientSecret`, in any letter case.
fn credentials(body: &[u8]) -> Result<(String, String), OAuthError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| OAuthError::invalid_request("the request body is not valid JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| OAuthError::invalid_request("the request body must be a JSON object"))?;
    let field = |wanted: &str| -> Result<String, OAuthError> {
        let mut found = object
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(wanted));
        match (found.next(), found.next()) {
            (Some((_, serde_json::Value::String(s))), None) => Ok(s.clone()),
            (Some(_), None) => Err(OAuthError::invalid_request(format!(
                "{wanted} must be a string"
            ))),
            (Some(_), Some(_)) => Err(OAuthError::invalid_request(format!(
                "{wanted} is given more than once"
            ))),
            (None, _) => Err(OAuthError::invalid_request(format!("{wanted} is required"))),
        }
    };
    Ok((field("ClientId")?, field("ClientSecret")?))
}

/// `POST /{customerid}/tokens/clients`: a bearer token from the deprecated trust-service
/// endpoint.
#[utoipa::path(
    post,
    path = "/{customerid}/tokens/clients",
    operation_id = "getTrustServiceToken",
    tag = "Bearer tokens",
    params(("customerid" = String, Path, description = "`root`, or the client's own customer id")),
    request_body(content = cloudtrust_proto::TrustTokenRequest, description = "Property names in any letter case"),
    responses(
        (status = 200, description = "A bearer token and an ID token (deprecated flow)", body = TrustTokenResponse),
        (status = 400, description = "`invalid_client` or `invalid_request`", body = cloudtrust_proto::OAuthErrorBody),
        (status = 413, description = "The body is too large", body = cloudtrust_proto::OAuthErrorBody),
        (status = 415, description = "The body is not JSON", body = cloudtrust_proto::OAuthErrorBody),
        (status = 429, description = "Too many failed attempts; see `Retry-After`", body = cloudtrust_proto::OAuthErrorBody),
    )
)]
pub async fn trust_token(
    State(auth): State<Arc<Auth>>,
    ClientAddress(source): ClientAddress,
    Served(serving): Served,
    PathText(customer, _): PathText<OAuthError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, OAuthError> {
    let body = body.map_err(|_| OAuthError::too_large())?;
    if !is_json(&headers) {
        return Err(OAuthError::unsupported_media_type("application/json"));
    }
    let (client_id, client_secret) = credentials(&body)?;
    let outcome = auth
        .issue_api_client_token(&serving, source, &customer, &client_id, &client_secret)
        .await?;
    let issued = super::counted("trust", "client_credentials", outcome)
        .map_err(|refusal| OAuthError::refused(refusal, false))?;
    let id_token = auth.issue_id_token(&serving, &issued)?;
    let lifetime = auth.token_lifetime_secs().unsigned_abs();
    let body = TrustTokenResponse {
        principal: issued.owner.email.clone(),
        subject: issued.client.id.clone(),
        token: issued.token.token,
        open_id_token: id_token,
        expires_in: lifetime,
        customer_id: issued.client.customer_id.clone(),
        user_id: issued.owner.id.clone(),
        expires_at: lifetime,
    };
    let mut response = axum::Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(super::no_store(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_match_in_any_case() {
        let (id, secret) =
            credentials(br#"{"clientId":"a","CLIENTSECRET":"b"}"#).expect("credentials");
        assert_eq!((id.as_str(), secret.as_str()), ("a", "b"));
        assert!(credentials(br#"{"ClientId":"a"}"#).is_err());
        assert!(credentials(br#"{"ClientId":1,"ClientSecret":"b"}"#).is_err());
        assert!(credentials(br#"{"ClientId":"a","clientid":"b","ClientSecret":"c"}"#).is_err());
        assert!(credentials(b"[1]").is_err());
        assert!(credentials(b"{").is_err());
    }
}
