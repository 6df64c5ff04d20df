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
