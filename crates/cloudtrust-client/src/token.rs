//! Bearer tokens for one API client: fetched with the OAuth 2.0 client-credentials grant (or
//! the deprecated trust service), cached, and renewed before they expire.

use std::time::{Duration, Instant};

use cloudtrust_proto::{ClientCredentialsRequest, OAuthErrorBody, TrustTokenRequest};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::ClientError;
use crate::retry::{self, Reply, Retry};

/// How long before expiry a cached token is renewed at the latest, for tokens that live long
/// enough (see [`renew_after`]).
pub const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The host of the deprecated trust service, the same for every commercial region.
pub const LEGACY_TRUST_HOST: &str = "trust.citrixworkspacesapi.net";

/// How long a token of `lifetime` is used before it is renewed: until 90 % of its lifetime or
/// until [`RENEW_BEFORE`] before its expiry, whichever comes first — so that a request sent
/// just before renewal still has time to arrive with a valid token — but never before half
/// its lifetime, so that a token living a minute or less is still reused for a while instead
/// of being fetched again on every call.
pub fn renew_after(lifetime: Duration) -> Duration {
    // In nanoseconds, exactly: floating point would put 90 % of 3600 s a few nanoseconds off.
    let nanos = lifetime.as_nanos() * 9 / 10;
    let ninety_percent = Duration::new(
        u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
        u32::try_from(nanos % 1_000_000_000).unwrap_or(0),
    );
    let early = ninety_percent.min(lifetime.saturating_sub(RENEW_BEFORE));
    early.max(lifetime / 2)
}

/// A Citrix Cloud region and its API host (the customer's home region, chosen when the
/// account was created).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// United States: `api-us.cloud.com`.
    Us,
    /// European Union: `api-eu.cloud.com`.
    Eu,
    /// Asia Pacific South: `api-ap-s.cloud.com`.
    ApS,
    /// Japan: `api.citrixcloud.jp`.
    Jp,
}

impl Region {
    /// The API host of the region.
    pub fn host(self) -> &'static str {
        match self {
            Region::Us => "api-us.cloud.com",
            Region::Eu => "api-eu.cloud.com",
            Region::ApS => "api-ap-s.cloud.com",
            Region::Jp => "api.citrixcloud.jp",
        }
    }

    /// `https://` and the API host.
    pub fn base_url(self) -> String {
        format!("https://{}", self.host())
    }
}

/// The token endpoint's success answer: `expires_in` may be a string (as Citrix Cloud and
/// cloudtrust send it) or a number (as other OAuth 2.0 servers do); any other key is
/// ignored.
#[derive(Deserialize)]
struct OAuthAnswer {
    access_token: String,
    expires_in: serde_json::Value,
}

/// The trust service's success answer, with only what a client needs; real Citrix Cloud
/// sends fewer keys than cloudtrust does.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrustAnswer {
    token: String,
    expires_in: serde_json::Value,
}

/// A lifetime in seconds from a JSON string or number.
fn seconds(value: &serde_json::Value) -> Result<Duration, ClientError> {
    let parsed = match value {
        serde_json::Value::String(s) => s.trim().parse::<u64>().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    };
    parsed.map(Duration::from_secs).ok_or_else(|| {
        ClientError::BadResponse(format!("expires_in `{value}` is not a number of seconds"))
    })
}

struct Cached {
    token: String,
    renew_at: Instant,
}

/// How the client id and secret reach the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    /// OAuth 2.0, id and secret in the form body.
    Form,
    /// OAuth 2.0, id and secret in HTTP Basic authentication.
    Basic,
    /// The deprecated trust service, id and secret in a JSON body.
    LegacyTrust,
}

/// Gets and caches bearer tokens for one API client.
///
/// A token is reused until [`renew_after`] its lifetime; concurrent callers share a single
/// token request (the cache's lock is held while a token is fetched), and a `429`/`503` from
/// the token endpoint is retried as its [`Retry`] policy allows.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    base_url: String,
    customer_id: String,
    client_id: String,
    client_secret: String,
    flow: Flow,
    retry: Retry,
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret, nor the token.
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

/// Configures a [`TokenSource`]; made by [`TokenSource::builder`].
#[derive(Clone)]
pub struct TokenSourceBuilder {
    customer_id: String,
    client_id: String,
    client_secret: String,
    base_url: Option<String>,
    region: Region,
    basic_auth: bool,
    legacy_trust: bool,
    http: Option<reqwest::Client>,
    retry: Retry,
}

impl std::fmt::Debug for TokenSourceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("TokenSourceBuilder")
            .field("customer_id", &self.customer_id)
            .field("client_id", &self.client_id)
            .field("base_url", &self.base_url)
            .field("region", &self.region)
            .field("basic_auth", &self.basic_auth)
            .field("legacy_trust", &self.legacy_trust)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl TokenSourceBuilder {
    /// The customer's home region (default [`Region::Us`]); ignored once a
    /// [`base_url`](Self::base_url) is given.
    pub fn region(mut self, region: Region) -> Self {
        self.region = region;
        self
    }

    /// Any base URL, e.g. a cloudtrust server's `http://127.0.0.1:8080`; it serves the token
    /// endpoints and the APIs alike. Trailing slashes are ignored.
    pub fn base_url(mut self, base_url: &str) -> Self {
        self.base_url = Some(base_url.trim_end_matches('/').to_owned());
        self
    }

    /// Sends the client id and secret in HTTP Basic authentication (form-url-encoded first,
    /// as RFC 6749 §2.3.1 requires) instead of in the form body.
    pub fn basic_auth(mut self, basic: bool) -> Self {
        self.basic_auth = basic;
        self
    }

    /// Gets tokens from the deprecated trust service (`POST /{customerid}/tokens/clients`,
    /// JSON body) instead of the OAuth 2.0 endpoint. Without a
    /// [`base_url`](Self::base_url) it is reached at [`LEGACY_TRUST_HOST`]. Takes precedence
    /// over [`basic_auth`](Self::basic_auth), which that service does not know.
    pub fn legacy_trust(mut self, legacy: bool) -> Self {
        self.legacy_trust = legacy;
        self
    }

    /// The HTTP client to use (timeouts, proxies, TLS roots); by default a new one.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// How `429`/`503` answers of the token endpoint are retried (default [`Retry::default`]).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// The token source.
    pub fn build(self) -> TokenSource {
        let api_base = self
            .base_url
            .clone()
            .unwrap_or_else(|| self.region.base_url());
        let customer = &self.customer_id;
        let (flow, token_url) = if self.legacy_trust {
            let trust_base = self
                .base_url
                .unwrap_or_else(|| format!("https://{LEGACY_TRUST_HOST}"));
            (
                Flow::LegacyTrust,
                format!("{trust_base}/{customer}/tokens/clients"),
            )
        } else {
            let flow = if self.basic_auth {
                Flow::Basic
            } else {
                Flow::Form
            };
            (
                flow,
                format!("{api_base}/cctrustoauth2/{customer}/tokens/clients"),
            )
        };
        TokenSource {
            http: self.http.unwrap_or_default(),
            token_url,
            base_url: api_base,
            customer_id: self.customer_id,
            client_id: self.client_id,
            client_secret: self.client_secret,
            flow,
            retry: self.retry,
            cached: Mutex::new(None),
        }
    }
}

impl TokenSource {
    /// A builder for the API client `client_id` of `customer_id` (which may be `root`: the
    /// server then finds the customer from the client), in [`Region::Us`] unless told
    /// otherwise.
    pub fn builder(customer_id: &str, client_id: &str, client_secret: &str) -> TokenSourceBuilder {
        TokenSourceBuilder {
            customer_id: customer_id.to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            base_url: None,
            region: Region::Us,
            basic_auth: false,
            legacy_trust: false,
            http: None,
            retry: Retry::default(),
        }
    }

    /// A token source for `client_id` at `base_url` (e.g. `https://api-us.cloud.com`);
    /// `customer_id` may be `root`.
    pub fn new(base_url: &str, customer_id: &str, client_id: &str, client_secret: &str) -> Self {
        Self::builder(customer_id, client_id, client_secret)
            .base_url(base_url)
            .build()
    }

    /// Like [`TokenSource::new`] with a configured HTTP client.
    pub fn with_client(
        http: reqwest::Client,
        base_url: &str,
        customer_id: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        Self::builder(customer_id, client_id, client_secret)
            .base_url(base_url)
            .http_client(http)
            .build()
    }

    /// The base URL of the APIs: the region's host, or the base URL given.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The customer id the source was made with (possibly `root`).
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The HTTP client the source sends its requests with.
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    /// A valid bearer token: the cached one, or a new one when it is near expiry.
    pub async fn token(&self) -> Result<String, ClientError> {
        // Held across the fetch: callers arriving meanwhile wait for this token instead of
        // asking for their own.
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

    /// Forgets the cached token, so the next call gets a new one.
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// Forgets `token` if it is still the cached one (e.g. after a server refused it with
    /// 401). Unlike [`invalidate`](Self::invalidate), many requests refused with the same
    /// token cause one new token, not one each.
    pub async fn reject(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<(String, Duration), ClientError> {
        let reply = retry::send(self.retry, || self.request()).await?;
        let status = reply.status;
        if !status.is_success() {
            return Err(refusal(&reply));
        }
        let (token, expires_in) = if self.flow == Flow::LegacyTrust {
            let body: TrustAnswer = serde_json::from_slice(&reply.body).map_err(|e| {
                ClientError::BadResponse(format!(
                    "status {status} with a body that is not a trust token response: {e}"
                ))
            })?;
            (body.token, body.expires_in)
        } else {
            let body: OAuthAnswer = serde_json::from_slice(&reply.body).map_err(|e| {
                ClientError::BadResponse(format!(
                    "status {status} with a body that is not a token response: {e}"
                ))
            })?;
            (body.access_token, body.expires_in)
        };
        if token.trim().is_empty() {
            return Err(ClientError::BadResponse(format!(
                "status {status} with an empty access_token"
            )));
        }
        Ok((token, seconds(&expires_in)?))
    }

    /// One token request, as the flow wants it.
    fn request(&self) -> reqwest::RequestBuilder {
        let request = self
            .http
            .post(&self.token_url)
            .header(reqwest::header::ACCEPT, "application/json");
        match self.flow {
            Flow::Form => request.form(&ClientCredentialsRequest {
                grant_type: "client_credentials".to_owned(),
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
            }),
            Flow::Basic => {
                let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect();
                let (id, secret): (String, String) =
                    (encode(&self.client_id), encode(&self.client_secret));
                request
                    .basic_auth(id, Some(secret))
                    .form(&[("grant_type", "client_credentials")])
            }
            Flow::LegacyTrust => request.json(&TrustTokenRequest {
                client_id: self.client_id.clone(),
                client_secret: self.client_secret.clone(),
            }),
        }
    }
}

/// The error for a token endpoint's failure answer.
fn refusal(reply: &Reply) -> ClientError {
    let status = reply.status;
    match serde_json::from_slice::<OAuthErrorBody>(&reply.body) {
        Ok(body) => ClientError::Refused {
            status: status.as_u16(),
            body,
        },
        Err(_) => {
            ClientError::BadResponse(format!("status {status} without an OAuth 2.0 error body"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_comes_at_ninety_percent_or_a_minute_before_expiry_but_not_before_half() {
        let secs = Duration::from_secs;
        assert_eq!(renew_after(secs(3600)), secs(3240), "90 % comes first");
        assert_eq!(renew_after(secs(600)), secs(540));
        assert_eq!(
            renew_after(secs(300)),
            secs(240),
            "a minute before comes first"
        );
        assert_eq!(renew_after(secs(120)), secs(60));
        assert_eq!(renew_after(secs(100)), secs(50), "never before half");
        assert_eq!(renew_after(secs(10)), secs(5));
        assert_eq!(renew_after(secs(0)), secs(0));
        assert_eq!(
            renew_after(Duration::from_millis(1000)),
            Duration::from_millis(500)
        );
        assert!(renew_after(Duration::MAX) < Duration::MAX, "no overflow");
    }

    #[test]
    fn expires_in_is_a_string_or_a_number() {
        let secs = Duration::from_secs;
        assert_eq!(seconds(&serde_json::json!("3600")).ok(), Some(secs(3600)));
        assert_eq!(seconds(&serde_json::json!(" 60 ")).ok(), Some(secs(60)));
        assert_eq!(seconds(&serde_json::json!(3600)).ok(), Some(secs(3600)));
        for bad in [
            serde_json::json!("soon"),
            serde_json::json!(-5),
            serde_json::json!(1.5),
            serde_json::json!(null),
        ] {
            assert!(seconds(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_have_their_hosts() {
        assert_eq!(Region::Us.base_url(), "https://api-us.cloud.com");
        assert_eq!(Region::Eu.host(), "api-eu.cloud.com");
        assert_eq!(Region::ApS.host(), "api-ap-s.cloud.com");
        assert_eq!(Region::Jp.host(), "api.citrixcloud.jp");
    }

    #[test]
    fn token_urls_follow_region_base_url_and_flow() {
        let url = |b: TokenSourceBuilder| b.build().token_url;
        let builder = || TokenSource::builder("acme", "id", "secret");
        assert_eq!(
            url(builder()),
            "https://api-us.cloud.com/cctrustoauth2/acme/tokens/clients"
        );
        assert_eq!(
            url(builder().region(Region::Eu)),
            "https://api-eu.cloud.com/cctrustoauth2/acme/tokens/clients"
        );
        assert_eq!(
            url(builder().region(Region::Jp).base_url("http://127.0.0.1:1/")),
            "http://127.0.0.1:1/cctrustoauth2/acme/tokens/clients"
        );
        assert_eq!(
            url(builder().legacy_trust(true)),
            "https://trust.citrixworkspacesapi.net/acme/tokens/clients"
        );
        assert_eq!(
            url(builder().legacy_trust(true).base_url("http://127.0.0.1:1")),
            "http://127.0.0.1:1/acme/tokens/clients"
        );
        let source = builder().region(Region::ApS).legacy_trust(true).build();
        assert_eq!(source.base_url(), "https://api-ap-s.cloud.com");
        assert_eq!(source.customer_id(), "acme");
        assert!(!format!("{source:?}").contains("secret"));
    }
}
