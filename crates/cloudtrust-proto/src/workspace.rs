//! Workspace OAuth clients (`/{customer}/rpclients`): the shapes of Citrix's Workspace API
//! documentation, snake_case as it writes them.

use serde::{Deserialize, Serialize};

/// Whether a client keeps a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkspaceClientType {
    /// A confidential client (a server): it has a secret.
    Private,
    /// A native application: no secret, PKCE required.
    Public,
}

/// A Workspace OAuth client. Times are unix seconds; the secret fields are `null` for a
/// public client, and the `_old` ones when there is no old secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkspaceClient {
    /// The path key, e.g. `acme-private-3`; never reused.
    pub name: String,
    /// The name shown to people.
    pub display_name: String,
    /// The application id: the same value as `client_id`.
    pub api_key: String,
    /// When the current secret was made.
    pub secret_update_time: Option<i64>,
    /// When the current secret stops working.
    pub secret_expiration: Option<i64>,
    /// When the old secret was made (it was the current one until the last rotation).
    pub secret_update_time_old: Option<i64>,
    /// When the old secret stops working.
    pub secret_expiration_old: Option<i64>,
    /// The email of the administrator who created it.
    pub owner: String,
    /// The OAuth 2.0 client id.
    pub client_id: String,
    /// `private` or `public`.
    pub client_type: WorkspaceClientType,
    /// Where the authorization server may send the browser back to.
    pub redirect_uris: Vec<String>,
    /// Where the browser may go after signing out.
    pub post_logout_redirect_uris: Vec<String>,
    /// Whether people are asked to consent.
    pub require_user_consent: bool,
    /// Whether the authorization code flow must use PKCE (always for public clients).
    pub require_pkce: bool,
    /// Whether the client may get refresh tokens.
    pub allow_offline_access: bool,
    /// Whether the client works at all.
    pub enabled: bool,
    /// Who is reminded before the secret expires.
    pub owner_contact: String,
    /// When it was created.
    pub created_time: i64,
}

/// `POST /{customer}/rpclients` body; any other field is refused, by name, so a misspelt
/// setting is never silently dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWorkspaceClient {
    /// The name shown to people.
    pub display_name: String,
    /// `private` or `public`.
    pub client_type: WorkspaceClientType,
    /// Absolute URIs; `http` only for loopback hosts; no fragment.
    pub redirect_uris: Vec<String>,
    /// Whether people are asked to consent (default `false`).
    #[serde(default)]
    pub require_user_consent: bool,
    /// Whether the client may get refresh tokens (default `false`).
    #[serde(default)]
    pub allow_offline_access: bool,
    /// Whether a private client must use PKCE (default `false`; public clients always must).
    #[serde(default)]
    pub require_pkce: bool,
    /// Where the browser may go after signing out.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Who is reminded before the secret expires (default: the creating administrator).
    #[serde(default)]
    pub owner_contact: Option<String>,
}

/// `PATCH` (or `PUT`) `/{customer}/rpclients/{name}` body: only these fields can change; any
/// other is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkspaceClientChanges {
    /// The name shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Whether people are asked to consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_user_consent: Option<bool>,
    /// The redirect URIs, all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// The post-logout redirect URIs, all of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Who is reminded before the secret expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_contact: Option<String>,
}

/// A new client, with its secret (`null` for a public client), shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedWorkspaceClient {
    /// The client.
    pub client: WorkspaceClient,
    /// The secret, or `null` for a public client.
    pub secret: Option<String>,
}

/// The answer of `$rotateSecret`: the client and its new secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RotatedWorkspaceSecret {
    /// The client, with the new secret's times and the old one's.
    pub client: WorkspaceClient,
    /// The new secret.
    pub secret: String,
}
