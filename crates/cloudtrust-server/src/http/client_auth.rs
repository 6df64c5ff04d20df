//! Authenticating an API client at a token endpoint, shared by the OAuth 2.0 and the legacy
//! trust-service endpoints. Reads only the in-memory cache in the steady state.

use std::net::IpAddr;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;
use std::time::Instant;

use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
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
    pub client: Arc<ApiClientCredential>,
    /// Its owner, as of now.
    pub owner: Arc<Administrator>,
}

/// What the `Authorization` header says in HTTP Basic.
pub enum Basic {
    /// No Basic credentials (no header, or another scheme).
    Absent,
    /// Basic, but not base64 of `id:secret` in UTF-8.
    Malformed,
    /// The id and secret, each form-url-decoded as RFC 6749 §2.3.1 requires.
    Given(String, String),
}

/// Reads HTTP Basic credentials from the `Authorization` header.
pub fn basic_credentials(headers: &HeaderMap) -> Basic {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Basic::Absent;
    };
    let Ok(value) = value.to_str() else {
        return Basic::Malformed;
    };
    let Some((scheme, encoded)) = value.trim().split_once(char::is_whitespace) else {
        return Basic::Absent;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Basic::Absent;
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Basic::Malformed;
    };
    let decode = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Basic::Given(decode(id), decode(secret))
}

/// A bearer token just issued, with the client and the administrator it is for.
pub struct Issued {
    /// The client.
    pub client: Arc<ApiClientCredential>,
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
    if !path_customer.eq_ignore_ascii_case(ROOT)
        && !path_customer.eq_ignore_ascii_case(&client.customer_id)
    {
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let encoded = STANDARD.encode("id%3A1:s%2Fecret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
        );
        let Basic::Given(id, secret) = basic_credentials(&headers) else {
            panic!("credentials expected");
        };
        assert_eq!(id, "id:1");
        assert_eq!(secret, "s/ecret");
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        assert!(matches!(basic_credentials(&headers), Basic::Malformed));
    }
}
