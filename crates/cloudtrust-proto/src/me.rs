//! `GET /cvadapis/me`: the identity behind a bearer token, in the shape DaaS clients read.

use serde::{Deserialize, Serialize};

/// Who the presented token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct MeResponse {
    /// The id of the administrator the API client acts for.
    pub user_id: String,
    /// The administrator's display name.
    pub display_name: String,
    /// Token expiry, RFC 3339.
    pub expiry_time: String,
    /// The administrator's email.
    pub verified_email: String,
    /// Always `false`: cloudtrust has no service-provider customers.
    pub is_csp_customer: bool,
    /// The customers this identity may act in (the token's own).
    pub customers: Vec<MeCustomer>,
}

/// A customer in [`MeResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct MeCustomer {
    /// Customer id.
    pub id: String,
    /// Customer name.
    pub name: String,
    /// The customer's sites; DaaS clients read the first one's id.
    pub sites: Vec<MeSite>,
}

/// A site in [`MeCustomer`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "PascalCase")]
pub struct MeSite {
    /// Site id (a GUID).
    pub id: String,
    /// Site name.
    pub name: String,
}
