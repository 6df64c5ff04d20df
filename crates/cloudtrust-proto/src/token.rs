//! Token endpoint responses.

use serde::{Deserialize, Serialize};

/// Form body of `POST /cctrustoauth2/{customerid}/tokens/clients`
/// (`application/x-www-form-urlencoded`). The client id and secret may come in HTTP Basic
/// authentication instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientCredentialsRequest {
    /// Always `client_credentials`.
    pub grant_type: String,
    /// The API client id.
    pub client_id: String,
    /// The API client secret.
    pub client_secret: String,
}

/// Body of the deprecated trust-service endpoint `POST /{customerid}/tokens/clients`. The
/// server matches the property names in any letter case (`clientId` is common).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct TrustTokenRequest {
    /// The API client id.
    pub client_id: String,
    /// The API client secret.
    pub client_secret: String,
}

/// Success body of `POST /cctrustoauth2/{customerid}/tokens/clients`.
///
/// Exactly three keys, and `expires_in` is a JSON **string**: Citrix's Go SDK decodes it into a
/// string and fails on a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientCredentialsResponse {
    /// Always `bearer`.
    pub token_type: String,
    /// The signed JWT to present as `Authorization: CwsAuth Bearer=<token>`.
    pub access_token: String,
    /// Lifetime in seconds, as a decimal string such as `"3600"`.
    pub expires_in: String,
}

/// Success body of the deprecated trust-service endpoint `POST /{customerid}/tokens/clients`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrustTokenResponse {
    /// The owner administrator's email; may change over time.
    pub principal: String,
    /// The API client id; never changes.
    pub subject: String,
    /// The bearer token (same kind as `access_token` of the OAuth endpoint).
    pub token: String,
    /// An OpenID Connect ID token describing the caller; not usable as a bearer token.
    pub open_id_token: String,
    /// Seconds until `token` expires, as a number.
    pub expires_in: u64,
    /// The customer the client belongs to.
    pub customer_id: String,
    /// The owner administrator's id.
    pub user_id: String,
    /// Seconds until `token` expires: the same number as `expiresIn`, **not** a point in
    /// time. Citrix's Go SDK (Citrix Cloud Gov sign-in) decodes it as a lifetime in seconds and
    /// caches the token until now plus this many seconds.
    pub expires_at: u64,
}

/// Form body of `POST /cctrustoauth2/{customerid}/tokens/introspect` (RFC 7662) and
/// `POST /cctrustoauth2/{customerid}/tokens/revoke` (RFC 7009)
/// (`application/x-www-form-urlencoded`). The client authenticates as at the token endpoint:
/// `client_id` and `client_secret` here, or HTTP Basic authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenActionRequest {
    /// The bearer token asked about.
    pub token: String,
    /// `access_token`, or absent; other hints are ignored (RFC 7009 §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type_hint: Option<String>,
    /// The API client id (when not in HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The API client secret (when not in HTTP Basic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Success body of `POST /cctrustoauth2/{customerid}/tokens/introspect` (RFC 7662 §2.2):
/// `{"active": false}` alone for a token that is expired, revoked, of another client, of a
/// deleted client, of a removed owner or issued before its owner's access was reduced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenIntrospection {
    /// Whether the token would be accepted now.
    pub active: bool,
    /// The API client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Always `Bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The token's subject (the API client id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Its audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Its issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Issued at, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// The customer id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
}
