//! Error bodies: RFC 6749 §5.2 for the token endpoints, Citrix's common error for the rest.

use serde::{Deserialize, Serialize};

/// The error body of the token endpoints (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    /// One of the RFC 6749 error codes, e.g. `invalid_client`.
    pub error: String,
    /// Human-readable explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Citrix Cloud's common error body for resource APIs:
/// `{"type":"https://errors-api.cloud.com/common/<name>","detail":…,"parameters":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// `https://errors-api.cloud.com/common/<name>`.
    #[serde(rename = "type")]
    pub error_type: String,
    /// Human-readable explanation.
    pub detail: String,
    /// Machine-readable details, e.g. `reason=missing` or `retryDelay=30`.
    #[serde(default)]
    pub parameters: Vec<ApiErrorParameter>,
}

/// One `{name, value}` pair of an [`ApiError`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiErrorParameter {
    /// Parameter name, e.g. `reason`.
    pub name: String,
    /// Parameter value, e.g. `missing`.
    pub value: String,
}

/// The prefix of every [`ApiError::error_type`].
pub const API_ERROR_TYPE_PREFIX: &str = "https://errors-api.cloud.com/common/";

impl ApiError {
    /// The error called `name` (`authentication`, `notFound`, …) with its parameters.
    pub fn new(name: &str, detail: impl Into<String>, parameters: &[(&str, &str)]) -> Self {
        ApiError {
            error_type: format!("{API_ERROR_TYPE_PREFIX}{name}"),
            detail: detail.into(),
            parameters: parameters
                .iter()
                .map(|(name, value)| ApiErrorParameter {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
        }
    }

    /// The error name: the last segment of `type` (`authentication`, `notFound`, …).
    pub fn name(&self) -> &str {
        self.error_type
            .strip_prefix(API_ERROR_TYPE_PREFIX)
            .unwrap_or(&self.error_type)
    }

    /// The value of the parameter called `name`, if present.
    pub fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}
