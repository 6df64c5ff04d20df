//! Rust client SDK for cloudtrust (and Citrix Cloud): a token source that gets bearer tokens
//! with the OAuth 2.0 client-credentials grant, caches them and renews them before expiry.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudtrust_client::ClientError> {
//! let source = cloudtrust_client::TokenSource::new(
//!     "http://127.0.0.1:8080", "root", "client-id", "client-secret",
//! );
//! let header = source.authorization().await?; // "CwsAuth Bearer=eyJ…"
//! # Ok(()) }
//! ```

use std::time::{Duration, Instant};

use cloudtrust_proto::{ClientCredentialsRequest, ClientCredentialsResponse, OAuthErrorBody};
use tokio::sync::Mutex;

/// How long before expiry a cached token is renewed (for tokens living two minutes or more;
/// shorter-lived ones are renewed once half their lifetime has passed, see [`renew_after`]).
pub const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// How long a token of `lifetime` is used before it is renewed: until [`RENEW_BEFORE`] before
/// its expiry, or until half its lifetime when that comes first, so that a token living less
/// than two minutes is still reused for a while and is still renewed before it expires.
pub fn renew_after(lifetime: Duration) -> Duration {
    lifetime - RENEW_BEFORE.min(lifetime / 2)
}

/// What can go wrong getting a token.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request did not complete.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server refused, with an RFC 6749 error body.
    #[error("token refused ({status}): {}", .body.error)]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error body.
        body: OAuthErrorBody,
    },
    /// The server answered something that is not a token response.
    #[error("unexpected response: {0}")]
    BadResponse(String),
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// Gets and caches bearer tokens for one API client.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: String,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source for `client_id` at `base_url` (e.g. `https://api-us.cloud.com`);
    /// `customer_id` may be `root`.
    pub fn new(base_url: &str, customer_id: &str, client_id: &str, client_secret: &str) -> Self {
        Self::with_client(
            reqwest::Client::new(),
            base_url,
            customer_id,
            client_id,
            client_secret,
        )
    }

    /// Like [`TokenSource::new`] with a configured HTTP client.
    pub fn with_client(
        http: reqwest::Client,
        base_url: &str,
        customer_id: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        TokenSource {
            http,
            token_url: format!(
                "{}/cctrustoauth2/{customer_id}/tokens/clients",
                base_url.trim_end_matches('/')
            ),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            cached: Mutex::new(None),
        }
    }

    /// A valid bearer token: the cached one, or a new one when it is near expiry.
    pub async fn token(&self) -> Result<String, ClientError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let started = Instant::now();
        let (token, lifetime) = self.fetch().await?;
        let renew_at = started.checked_add(renew_after(lifetime)).ok_or_else(|| {
            ClientError::BadResponse(format!(
                "expires_in of {} seconds is out of range",
                lifetime.as_secs()
            ))
        })?;
        *cached = Some(Cached {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }

    /// The `Authorization` header value: `CwsAuth Bearer=<token>`.
    pub async fn authorization(&self) -> Result<String, ClientError> {
        Ok(format!("CwsAuth Bearer={}", self.token().await?))
    }

    /// Forgets the cached token (e.g. after a 401), so the next call gets a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    async fn fetch(&self) -> Result<(String, Duration), ClientError> {
        let response = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&ClientCredentialsRequest {
                grant_type: "client_credentials".to_owned(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
            })
            .send()
            .await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<OAuthErrorBody>(&bytes) {
                Ok(body) => ClientError::Refused {
                    status: status.as_u16(),
                    body,
                },
                Err(_) => ClientError::BadResponse(format!(
                    "status {status} without an OAuth 2.0 error body"
                )),
            });
        }
        let body: ClientCredentialsResponse = serde_json::from_slice(&bytes).map_err(|e| {
            ClientError::BadResponse(format!(
                "status {status} with a body that is not a token response: {e}"
            ))
        })?;
        if body.access_token.trim().is_empty() {
            return Err(ClientError::BadResponse(format!(
                "status {status} with an empty access_token"
            )));
        }
        let seconds: u64 = body.expires_in.trim().parse().map_err(|_| {
            ClientError::BadResponse(format!(
                "expires_in `{}` is not a number of seconds",
                body.expires_in
            ))
        })?;
        Ok((body.access_token, Duration::from_secs(seconds)))
    }
}
