//! Smart Tools authentication (`/v0`): the shapes of Smart Tools' own samples.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One organisation of `GET /v0/companies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SmartCompany {
    /// Always `N`.
    pub authorized_to_tweet_flag: String,
    /// The customer's name.
    pub name: String,
    /// Always `PAID`.
    pub account_type: String,
    /// The customer's numeric company id.
    pub company_id: i64,
    /// Always `CLOUDTRUST`.
    pub oem_code: String,
}

/// The answer of `GET /v0/oauth/token`, Spring's OAuth 2.0 token serialisation plus the
/// RFC 6749 names real scripts read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SmartToken {
    /// Always `false`.
    pub expired: bool,
    /// Always `bearer`.
    #[serde(rename = "tokenType")]
    pub token_type_camel: String,
    /// The company id and the role.
    pub scope: Vec<String>,
    /// Expiry as `Mon Jun 11 05:32:59 UTC 2012`.
    pub expiration: String,
    /// Seconds left (43,199 when new).
    #[serde(rename = "expiresIn")]
    pub expires_in_camel: i64,
    /// The token.
    pub value: String,
    /// Always empty.
    #[serde(rename = "additionalInformation")]
    pub additional_information: BTreeMap<String, String>,
    /// The token again (RFC 6749).
    pub access_token: String,
    /// `bearer` (RFC 6749).
    pub token_type: String,
    /// Seconds left, a number (RFC 6749).
    pub expires_in: i64,
}

/// `GET /v0/me`: who a Smart Tools token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SmartMe {
    /// The administrator's id.
    pub user_id: String,
    /// Its email.
    pub email: String,
    /// Its display name.
    pub display_name: String,
    /// The company id.
    pub company_id: i64,
    /// The customer id.
    pub customer_id: String,
    /// The role granted.
    pub role: String,
    /// Token expiry, as `expiration` above.
    pub expiration: String,
}
