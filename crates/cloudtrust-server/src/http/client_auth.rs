//! Authenticating an API client at a token endpoint, shared by the OAuth 2.0 and the legacy
//! trust-service endpoints. Reads only the in-memory cache in the steady state.

use std::sync::Arc;

use crate::cache::CachedClient;
use crate::domain::administrators::Administrator;

use super::AppState;
use super::errors::OAuthError;

/// The special customer id that means "the client's own customer".
pub const ROOT: &str = "root";

/// An authenticated API client and the administrator it acts for.
pub struct AuthenticatedClient {
    /// The client.
    pub client: Arc<CachedClient>,
    /// Its owner, as of now.
    pub owner: Arc<Administrator>,
}

/// Checks `client_id` / `client_secret` for the customer named in the path (`root` or the
/// client's own). Every failure is the same `invalid_client`, so nothing tells an unknown id
/// from a wrong secret.
pub async fn authenticate(
    state: &AppState,
    path_customer: &str,
    client_id: &str,
    client_secret: &str,
    used_basic: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let refuse = || OAuthError::invalid_client(used_basic);
    let client = match state.cache.client(client_id.trim()).await? {
        Some(client) => client,
        None => {
            // Spend the same work as a real check.
            state.secrets.hash(client_secret);
            tracing::info!("token refused: unknown client");
            return Err(refuse());
        }
    };
    if !state.secrets.verify(client_secret, &client.secret_hash) {
        tracing::info!(client_id = %client.id, "token refused: wrong secret");
        return Err(refuse());
    }
    let path_customer = path_customer.to_ascii_lowercase();
    if path_customer != ROOT && path_customer != client.customer_id {
        tracing::info!(client_id = %client.id, "token refused: customer mismatch");
        return Err(refuse());
    }
    let owner = state
        .cache
        .administrator(&client.owner_id)
        .await?
        .ok_or_else(|| {
            tracing::info!(client_id = %client.id, "token refused: owner removed");
            refuse()
        })?;
    Ok(AuthenticatedClient { client, owner })
}
