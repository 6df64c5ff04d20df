//! API clients ("secure clients"): an id and a secret bound to one administrator and customer.

use serde::{Deserialize, Serialize};

use super::administrators::validate_text;
use super::secrets::HASH_LEN;
use crate::error::Result;

/// An API client, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClient {
    /// The client id (a GUID); the `sub` of its tokens.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// The customer it belongs to.
    pub customer_id: String,
    /// The administrator who owns it.
    pub owner_id: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// When it last got a token, unix seconds (written in batches, so a little behind).
    pub last_used_at: Option<i64>,
}

/// An API client as a token endpoint checks it: who it is, whom it acts for, and the keyed
/// hash of its secret.
#[derive(Debug, Clone)]
pub struct ApiClientCredential {
    /// The client id.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// The customer it belongs to.
    pub customer_id: String,
    /// The administrator who owns it.
    pub owner_id: String,
    /// Keyed hash of the secret.
    pub secret_hash: [u8; HASH_LEN],
}

/// A freshly created API client with its secret, which is never shown again.
#[derive(Debug, Clone)]
pub struct CreatedApiClient {
    /// The client.
    pub client: ApiClient,
    /// The secret in clear.
    pub secret: String,
}

/// Checks an API client name: 1 to 100 characters, no control characters.
pub fn validate_name(name: &str) -> Result<String> {
    validate_text("name", name, 100)
}
