//! Authenticating an API client at a token endpoint, shared by the OAuth 2.0 and the legacy
//! trust-service endpoints. Reads only the in-memory cache in the steady state.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::cache::CachedClient;
use crate::domain::administrators::Administrator;
use crate::domain::tokens::IssuedToken;
use crate::throttle::Subject;

use super::AppState;
use super::errors::{ApiErrorResponse, OAuthError};
use super::region::{Admission, Serving};

/// The special customer id that means "the client's own customer".
pub const ROOT: &str = "root";

/// An authenticated API client and the administrator it acts for.
pub struct AuthenticatedClient {
    /// The client.
    pub client: Arc<CachedClient>,
    /// Its owner, as of now.
    pub owner: Arc<Administrator>,
}

/// A bearer token just issued, with the client and the administrator it is for.
pub struct Issued {
    /// The client.
    pub client: Arc<CachedClient>,
    /// Its owner, as of now.
    pub owner: Arc<Administrator>,
    /// The token and its claims.
    pub token: IssuedToken,
    /// When it was issued (unix seconds).
    pub now: i64,
}

/// Authenticates an API client and issues its bearer token, recording the use: the work of
/// both token endpoints and of the developer portal's Generate button.
pub async fn issue_access_token(
    state: &AppState,
    serving: &Serving,
    source: IpAddr,
    path_customer: &str,
    client_id: &str,
    client_secret: &str,
    used_basic: bool,
) -> Result<Issued, OAuthError> {
    let AuthenticatedClient { client, owner } = authenticate(
        state,
        serving,
        source,
        path_customer,
        client_id,
        client_secret,
        used_basic,
    )
    .await?;
    let now = state.clock.now();
    let token = state.tokens.issue_access(
        &state.keys.current(),
        &serving.base_url,
        &client,
        &owner,
        now,
    )?;
    state.usage.record(&client, &token.claims.jti, now);
    Ok(Issued {
        client,
        owner,
        token,
        now,
    })
}

/// Checks `client_id` / `client_secret` for the customer named in the path (`root` or the
/// client's own). Every failure is the same `invalid_client`, so nothing tells an unknown id
/// from a wrong secret; failures are counted, and too many get 429 (see [`crate::throttle`]).
pub async fn authenticate(
    state: &AppState,
    serving: &Serving,
    source: IpAddr,
    path_customer: &str,
    client_id: &str,
    client_secret: &str,
    used_basic: bool,
) -> Result<AuthenticatedClient, OAuthError> {
    let refuse = || OAuthError::invalid_client(used_basic);
    let client_id = client_id.trim();
    let now = Instant::now();
    let unix_now = state.clock.now();
    let throttle = &state.throttle;
    if let Some(wait) = throttle.wait(Subject::Client(client_id, source), now, unix_now) {
        tracing::info!(
            client_id,
            "token refused: too many failed attempts for this client"
        );
        return Err(OAuthError::throttled(wait));
    }
    // Client ids are hyphenated UUIDs: anything else is unknown without asking the cache (or
    // the database behind it), and counts against the address.
    let well_formed = client_id.len() == 36 && uuid::Uuid::try_parse(client_id).is_ok();
    let known = if well_formed {
        state.cache.client(client_id).await?
    } else {
        None
    };
    let client = match known {
        Some(client) => client,
        None => {
            if let Some(wait) = throttle.wait(Subject::Address(source), now, unix_now) {
                tracing::info!(%source, "token refused: too many failed attempts from this address");
                return Err(OAuthError::throttled(wait));
            }
            // Spend the same work as a real check.
            state.secrets.hash(client_secret);
            throttle.failed(Subject::Address(source), now);
            tracing::info!("token refused: unknown client");
            return Err(refuse());
        }
    };
    let failed = |reason: &str| {
        throttle.failed(Subject::Client(client_id, source), now);
        state.usage.record_failure(&client, unix_now);
        tracing::info!(client_id = %client.id, reason, "token refused");
        refuse()
    };
    if !state.secrets.verify(client_secret, &client.secret_hash) {
        return Err(failed("wrong secret"));
    }
    let path_customer = path_customer.to_ascii_lowercase();
    if path_customer != ROOT && path_customer != client.customer_id {
        return Err(failed("customer mismatch"));
    }
    let owner = state
        .cache
        .administrator(&client.owner_id)
        .await?
        .ok_or_else(|| {
            tracing::info!(client_id = %client.id, "token refused: owner removed");
            refuse()
        })?;
    let customer = state
        .cache
        .customer(&client.customer_id)
        .await?
        .ok_or_else(refuse)?;
    if let Admission::Elsewhere(home, host) = state.regions.admits(serving, customer.region) {
        tracing::info!(client_id = %client.id, region = %home, "token refused: customer homed elsewhere");
        return Err(OAuthError::common(ApiErrorResponse::elsewhere(
            &customer.id,
            home.as_str(),
            host.as_deref(),
        )));
    }
    Ok(AuthenticatedClient { client, owner })
}
