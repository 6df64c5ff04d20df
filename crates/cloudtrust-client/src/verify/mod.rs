//! Verifying cloudtrust tokens in another service: offline, against the issuer's published
//! keys.
//!
//! A [`Verifier`] is made for one issuer and one audience. It finds the issuer's JWKS through
//! its discovery document, keeps the keys as long as the JWKS answer's `Cache-Control`
//! allows, and fetches them again when a token names a key it has not seen — after a signing
//! key rotation — at most once per [`VerifierBuilder::refetch_interval`]. A token is accepted
//! when its signature verifies with a published key of the algorithm it names, its `typ` is
//! `at+jwt` (RFC 9068), its `iss` and `aud` are the configured ones and it has not expired,
//! with a [`VerifierBuilder::leeway`] for clocks that differ.
//!
//! ```no_run
//! use cloudtrust_client::verify::Verifier;
//!
//! # async fn demo(token: &str) -> Result<(), cloudtrust_client::verify::VerifyError> {
//! // Bearer tokens of API clients issued by the cloudtrust server at this base URL.
//! let verifier = Verifier::for_api_clients("https://cloudtrust.example.com").build();
//! let claims = verifier.verify(token).await?;
//! println!("{} acting in {:?}", claims.sub, claims.customer);
//! # Ok(()) }
//! ```
//!
//! Verification is offline: a token revoked, or of a client deleted, since it was issued
//! stays valid here until it expires. Services that must know at once ask the server's
//! introspection endpoint instead.

mod claims;
mod keys;
mod request;

#[cfg(feature = "axum")]
mod extract;

use std::sync::Arc;
use std::time::Duration;

pub use claims::Claims;
#[cfg(feature = "axum")]
pub use extract::{Authenticated, require_token};
use jsonwebtoken::Validation;
use jsonwebtoken::errors::ErrorKind;
use keys::{KeyCache, Timing};
pub use request::Rejection;

/// The audience of API-client bearer tokens of a cloudtrust server with default settings
/// (its `token_audience`).
pub const API_CLIENT_AUDIENCE: &str = "cloudtrust";
/// The `typ` header of access tokens (RFC 9068).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Why a token was refused. Services answer every one but
/// [`VerifyError::KeysUnavailable`] with `401` and keep the reason for their logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWT.
    #[error("malformed token")]
    Malformed,
    /// A JWT of another kind (an ID token, say) presented as an access token.
    #[error("not an access token (typ)")]
    WrongType,
    /// No published key has the token's `kid`.
    #[error("signed with an unknown key")]
    UnknownKey,
    /// The signature does not verify, or the algorithm is not the key's.
    #[error("bad signature")]
    BadSignature,
    /// Expired (beyond the leeway).
    #[error("expired")]
    Expired,
    /// Not valid yet (beyond the leeway).
    #[error("not valid yet")]
    NotYetValid,
    /// Issued by another issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// For another audience.
    #[error("wrong audience")]
    WrongAudience,
    /// The issuer's keys could not be fetched, and none are known yet.
    #[error("signing keys unavailable: {0}")]
    KeysUnavailable(String),
}

/// Verifies access tokens of one issuer for one audience. Cheap to clone: clones share the
/// key cache.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: String,
    audience: String,
    token_type: Option<String>,
    leeway: Duration,
    require_application_id: bool,
    keys: KeyCache,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.inner.issuer)
            .field("audience", &self.inner.audience)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Verifier`].
#[derive(Debug, Clone)]
pub struct VerifierBuilder {
    issuer: String,
    audience: String,
    token_type: Option<String>,
    leeway: Duration,
    default_max_age: Duration,
    refetch_interval: Duration,
    require_application_id: bool,
    http: Option<reqwest::Client>,
}

impl Verifier {
    /// A verifier of tokens issued by `issuer` (exactly as in its discovery document, no
    /// trailing `/`) for `audience`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> VerifierBuilder {
        VerifierBuilder {
            issuer: issuer.into(),
            audience: audience.into(),
            token_type: Some(ACCESS_TOKEN_TYPE.to_owned()),
            leeway: Duration::from_secs(30),
            default_max_age: Duration::from_secs(300),
            refetch_interval: Duration::from_secs(30),
            require_application_id: false,
            http: None,
        }
    }

    /// A verifier of API-client bearer tokens of the cloudtrust server at `base_url`: issuer
    /// `base_url`, audience [`API_CLIENT_AUDIENCE`].
    pub fn for_api_clients(base_url: &str) -> VerifierBuilder {
        Self::builder(base_url.trim_end_matches('/'), API_CLIENT_AUDIENCE)
    }

    /// A verifier of Workspace access tokens (the `/core` server) of the cloudtrust server at
    /// `base_url`: issuer `<base_url>/core`, audience `<base_url>/core/resources`.
    pub fn for_workspace(base_url: &str) -> VerifierBuilder {
        let issuer = format!("{}/core", base_url.trim_end_matches('/'));
        let audience = format!("{issuer}/resources");
        Self::builder(issuer, audience)
    }

    /// The issuer whose tokens are accepted.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Whether requests must name the token's client in `Citrix-ApplicationId`.
    pub fn requires_application_id(&self) -> bool {
        self.inner.require_application_id
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        let inner = &self.inner;
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        if let Some(expected) = &inner.token_type {
            let typ = header.typ.as_deref().unwrap_or_default();
            let typ = typ.strip_prefix("application/").unwrap_or(typ);
            if !typ.eq_ignore_ascii_case(expected) {
                return Err(VerifyError::WrongType);
            }
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let key = inner.keys.key(&kid).await?;
        if !key.algorithms.contains(&header.alg) {
            return Err(VerifyError::BadSignature);
        }
        let mut validation = Validation::new(header.alg);
        validation.leeway = inner.leeway.as_secs();
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&inner.issuer]);
        validation.set_audience(&[&inner.audience]);
        jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => {
                    VerifyError::BadSignature
                }
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                _ => VerifyError::Malformed,
            })
    }
}

impl VerifierBuilder {
    /// The `typ` header required (default `at+jwt`; `application/at+jwt` is the same), or
    /// `None` to accept tokens without one, as real Citrix Cloud issues them.
    pub fn token_type(mut self, token_type: Option<&str>) -> Self {
        self.token_type = token_type.map(str::to_owned);
        self
    }

    /// How far clocks may differ for `exp` and `nbf` (default 30 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// How long keys are kept when the JWKS answer has no `Cache-Control: max-age` (default
    /// five minutes). Whatever the answer says, keys are kept a day at most.
    pub fn default_max_age(mut self, max_age: Duration) -> Self {
        self.default_max_age = max_age;
        self
    }

    /// The least time between two fetches of the JWKS (default 30 s): a token naming an
    /// unknown key causes a fetch only when the last one is older.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Require requests to carry the token's client id in `Citrix-ApplicationId` (or the
    /// `ApplicationId` query parameter), as Citrix's Workspace APIs do (default off).
    pub fn require_application_id(mut self, required: bool) -> Self {
        self.require_application_id = required;
        self
    }

    /// The HTTP client that fetches discovery and keys (default: one with a 10 s timeout).
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The verifier. Nothing is fetched until the first token is verified.
    pub fn build(self) -> Verifier {
        let http = self.http.unwrap_or_else(|| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default()
        });
        let timing = Timing {
            default_max_age: self.default_max_age,
            refetch_interval: self.refetch_interval,
        };
        Verifier {
            inner: Arc::new(Inner {
                keys: KeyCache::new(http, self.issuer.clone(), timing),
                issuer: self.issuer,
                audience: self.audience,
                token_type: self.token_type,
                leeway: self.leeway,
                require_application_id: self.require_application_id,
            }),
        }
    }
}
