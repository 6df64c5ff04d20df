//! The administration API: administrators (Citrix's `Citrix.CloudServices.Administrators.Api`,
//! as its Go SDK `ccadmins` reads it) and API clients ("secure clients").
//!
//! Enumerations travel as strings (`"Full"`, `"AdministratorUser"`, `"CitrixSts"`), dates as
//! RFC 3339 UTC, keys in camelCase.

use serde::{Deserialize, Serialize};

/// `type` of an administrator: cloudtrust has individual users only.
pub const ADMINISTRATOR_USER: &str = "AdministratorUser";
/// `providerType` of an administrator: cloudtrust's own identities.
pub const PROVIDER_CITRIX_STS: &str = "CitrixSts";

/// The OpenAPI schemas of the enumerations that travel as strings: the values cloudtrust
/// sends, which are also the ones it reads (in any letter case).
#[cfg(feature = "openapi")]
mod schemas {
    use utoipa::openapi::{Object, ObjectBuilder, Type};

    fn one_of(values: &[&str], description: &str) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(values.iter().copied()))
            .description(Some(description))
            .build()
    }

    pub(super) fn administrator_type() -> Object {
        one_of(
            &[super::ADMINISTRATOR_USER],
            "The kind of administrator: an individual user",
        )
    }

    pub(super) fn provider_type() -> Object {
        one_of(
            &[super::PROVIDER_CITRIX_STS],
            "Where the identity lives: cloudtrust itself",
        )
    }

    pub(super) fn access_type() -> Object {
        one_of(
            &["Full", "Custom"],
            "Every permission, or those of `policies`",
        )
    }
}

/// An administrator as the API shows it (`AdministratorResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdministratorResult {
    /// The customer administered.
    pub customer_id: String,
    /// The administrator's id; `null` while the invitation is pending.
    pub user_id: Option<String>,
    /// Stable object id, `OID:/cloudtrust/<id>`, also while pending.
    pub uc_oid: String,
    /// Always `AdministratorUser`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::administrator_type))]
    pub admin_type: String,
    /// `Full` or `Custom`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::access_type))]
    pub access_type: String,
    /// Always `CitrixSts`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::provider_type))]
    pub provider_type: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Name shown to people.
    pub display_name: String,
    /// Email address.
    pub email: String,
    /// Invited and not yet accepted.
    pub pending: bool,
    /// The invitation can no longer be accepted.
    pub invitation_expired: bool,
    /// Creation time, RFC 3339 UTC.
    pub created_date: String,
    /// Last change, RFC 3339 UTC.
    pub updated_date: String,
    /// Changes with every update; send it back in `If-Match`.
    pub e_tag: String,
}

/// A page of administrators (`AdministratorsResult`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdministratorsResult {
    /// The administrators of this page.
    pub items: Vec<AdministratorResult>,
    /// Pass as `requestContinuation` for the next page; `null` on the last page.
    pub continuation_token: Option<String>,
}

/// `POST /administrators/$create` body (`CreateAdministratorInputModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateAdministratorInput {
    /// `AdministratorUser`.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::administrator_type))]
    pub admin_type: String,
    /// `Full` or `Custom`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::access_type))]
    pub access_type: String,
    /// `CitrixSts`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::provider_type))]
    pub provider_type: String,
    /// Email address to invite.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: Option<String>,
    /// Given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Name shown to people.
    #[serde(default)]
    pub display_name: Option<String>,
    /// For `Custom` access: the policies granted (those whose `checkable.value` is true).
    #[serde(default)]
    pub policies: Option<Vec<AccessPolicy>>,
}

/// An administrator's access (`AdministratorAccessModel`): the whole permission catalogue,
/// each policy checked when granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AdministratorAccess {
    /// `Full` or `Custom`.
    #[cfg_attr(feature = "openapi", schema(schema_with = schemas::access_type))]
    pub access_type: String,
    /// The policies.
    #[serde(default)]
    pub policies: Vec<AccessPolicy>,
}

/// One permission (`AdministratorAccessPolicyModel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessPolicy {
    /// The permission's name, e.g. `API Clients`.
    pub name: String,
    /// The service it belongs to, e.g. `Platform`.
    #[serde(default)]
    pub service_name: Option<String>,
    /// Text shown to people.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Whether it is granted, and whether the caller may change that.
    #[serde(default)]
    pub checkable: Checkable,
    /// Scopes; cloudtrust's permissions have none (`choices` is `null`).
    #[serde(default)]
    pub scope_choices: Option<ScopeChoices>,
}

/// A checkbox (`BooleanPolicyProperty`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Checkable {
    /// Checked.
    pub value: Option<bool>,
    /// Whether the caller may change it.
    pub can_change_value: Option<bool>,
}

/// The scopes of a policy (`AdministratorAccessScopeChoices`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ScopeChoices {
    /// Every scope, present and future.
    pub all_scopes_selected: bool,
    /// The scopes to choose from; `null` for a policy without scopes.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<Object>>))]
    pub choices: Option<Vec<serde_json::Value>>,
}

/// The owner of an API client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecureClientOwner {
    /// The owner administrator's id.
    pub user_id: String,
    /// Its email address.
    pub email: String,
}

/// An API client ("secure client"), without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecureClient {
    /// The client id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The customer.
    pub customer_id: String,
    /// The administrator it belongs to.
    pub owner: SecureClientOwner,
    /// Creation time, RFC 3339 UTC.
    pub created_date: String,
    /// When it last got a bearer token, RFC 3339 UTC; `null` if never.
    pub last_accessed_date: Option<String>,
}

/// A page of API clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecureClientsResult {
    /// The clients of this page.
    pub items: Vec<SecureClient>,
    /// Pass as `requestContinuation` for the next page; `null` on the last page.
    pub continuation_token: Option<String>,
}

/// `POST /secureClients/$create` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreateSecureClientInput {
    /// The client's name.
    pub name: String,
}

/// A new API client and its secret, which is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedSecureClient {
    /// The client.
    pub client: SecureClient,
    /// The secret.
    pub secret: String,
}
