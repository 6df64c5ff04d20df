//! The issuer's signing keys: found through discovery, fetched from its JWKS, kept as long
//! as the JWKS answer's `Cache-Control` allows, and fetched again when a token names a key
//! not yet seen — at most once per refetch interval, so that tokens with made-up key ids
//! cannot make a service hammer its issuer.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::VerifyError;

/// The longest a JWKS answer is kept, whatever its `Cache-Control` says.
const LONGEST_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How soon a fetch is tried again after one failed while no keys are known at all.
const RETRY_WITHOUT_KEYS: Duration = Duration::from_secs(1);

/// One published key and the algorithms it may verify.
pub(super) struct PublishedKey {
    pub key: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

/// The keys of one fetch.
struct KeySnapshot {
    keys: HashMap<String, Arc<PublishedKey>>,
    fetched_at: Instant,
    fresh_until: Instant,
}

/// The part of a discovery document the verifier needs.
#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Timing of the cache.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timing {
    /// How long a JWKS answer without `Cache-Control: max-age` is kept.
    pub default_max_age: Duration,
    /// The least time between two fetches.
    pub refetch_interval: Duration,
}

/// The issuer's keys, shared by every verification.
pub(super) struct KeyCache {
    http: reqwest::Client,
    issuer: String,
    timing: Timing,
    snapshot: RwLock<Option<Arc<KeySnapshot>>>,
    /// Held while fetching, so that concurrent callers cause one fetch; holds when the last
    /// fetch was tried and the JWKS address once discovered.
    fetching: Mutex<FetchState>,
}

#[derive(Default)]
struct FetchState {
    last_attempt: Option<Instant>,
    jwks_uri: Option<String>,
}

impl KeyCache {
    pub fn new(http: reqwest::Client, issuer: String, timing: Timing) -> Self {
        KeyCache {
            http,
            issuer,
            timing,
            snapshot: RwLock::new(None),
            fetching: Mutex::new(FetchState::default()),
        }
    }

    fn current(&self) -> Option<Arc<KeySnapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The key called `kid`, fetching the JWKS when the cached one is stale or lacks it.
    pub async fn key(&self, kid: &str) -> Result<Arc<PublishedKey>, VerifyError> {
        let asked_at = Instant::now();
        let cached = self.current();
        if let Some(snapshot) = &cached
            && snapshot.fresh_until > asked_at
        {
            if let Some(key) = snapshot.keys.get(kid) {
                return Ok(key.clone());
            }
            if asked_at.duration_since(snapshot.fetched_at) < self.timing.refetch_interval {
                return Err(VerifyError::UnknownKey);
            }
        }
        let mut state = self.fetching.lock().await;
        // Another caller may have fetched while this one waited.
        let cached = self.current();
        if let Some(snapshot) = &cached
            && snapshot.fetched_at >= asked_at
        {
            return snapshot
                .keys
                .get(kid)
                .cloned()
                .ok_or(VerifyError::UnknownKey);
        }
        let wait = if cached.is_some() {
            self.timing.refetch_interval
        } else {
            RETRY_WITHOUT_KEYS.min(self.timing.refetch_interval)
        };
        let may_fetch = state
            .last_attempt
            .is_none_or(|last| asked_at.duration_since(last) >= wait);
        if may_fetch {
            state.last_attempt = Some(Instant::now());
            match self.fetch(&mut state).await {
                Ok(snapshot) => {
                    let snapshot = Arc::new(snapshot);
                    *self
                        .snapshot
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(snapshot.clone());
                    return snapshot
                        .keys
                        .get(kid)
                        .cloned()
                        .ok_or(VerifyError::UnknownKey);
                }
                Err(error) if cached.is_none() => return Err(error),
                Err(_) => {}
            }
        }
        // Keys that could not be refreshed are still the issuer's: keep using them.
        match cached {
            Some(snapshot) => snapshot
                .keys
                .get(kid)
                .cloned()
                .ok_or(VerifyError::UnknownKey),
            None => Err(VerifyError::KeysUnavailable(
                "the issuer's keys could not be fetched".to_owned(),
            )),
        }
    }

    async fn fetch(&self, state: &mut FetchState) -> Result<KeySnapshot, VerifyError> {
        let jwks_uri = match &state.jwks_uri {
            Some(uri) => uri.clone(),
            None => {
                let uri = self.discover().await?;
                state.jwks_uri = Some(uri.clone());
                uri
            }
        };
        let response = self
            .http
            .get(&jwks_uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(&jwks_uri, e))?;
        let max_age = max_age(response.headers()).unwrap_or(self.timing.default_max_age);
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| unavailable(&jwks_uri, e))?;
        let fetched_at = Instant::now();
        Ok(KeySnapshot {
            keys: published_keys(&set),
            fetched_at,
            fresh_until: fetched_at + max_age.min(LONGEST_KEPT),
        })
    }

    /// The JWKS address, from the issuer's discovery document, whose `issuer` must be the
    /// configured one exactly (OpenID Connect Discovery §4.3).
    async fn discover(&self) -> Result<String, VerifyError> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let discovery: Discovery = self
            .http
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unavailable(&url, e))?
            .json()
            .await
            .map_err(|e| unavailable(&url, e))?;
        if discovery.issuer != self.issuer {
            return Err(VerifyError::KeysUnavailable(format!(
                "{url} names the issuer {:?}, not {:?}",
                discovery.issuer, self.issuer
            )));
        }
        Ok(discovery.jwks_uri)
    }
}

fn unavailable(url: &str, error: reqwest::Error) -> VerifyError {
    VerifyError::KeysUnavailable(format!("{url}: {error}"))
}

/// How long an answer may be kept by its `Cache-Control`: `max-age`, or nothing for
/// `no-store` / `no-cache` (kept until the next refetch interval then).
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    let mut max_age = None;
    for directive in value.split(',').map(str::trim) {
        let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            max_age = argument.trim().trim_matches('"').parse().ok();
        }
    }
    max_age.map(Duration::from_secs)
}

/// The signing keys of a JWKS by id. Keys without an id, for encryption, symmetric, or
/// unusable are left out: a verifier must never accept an HMAC key from a public document.
fn published_keys(set: &JwkSet) -> HashMap<String, Arc<PublishedKey>> {
    set.keys
        .iter()
        .filter(|jwk| {
            jwk.common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == PublicKeyUse::Signature)
        })
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let algorithms = algorithms(jwk.common.key_algorithm, &jwk.algorithm);
            if algorithms.is_empty() {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some((kid, Arc::new(PublishedKey { key, algorithms })))
        })
        .collect()
}

/// The algorithms a key may verify: the one it names, else those of its type.
fn algorithms(named: Option<KeyAlgorithm>, parameters: &AlgorithmParameters) -> Vec<Algorithm> {
    let of_type = match parameters {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => vec![],
        },
        AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        _ => vec![],
    };
    match named.and_then(|a| a.to_string().parse::<Algorithm>().ok()) {
        Some(named) if of_type.contains(&named) => vec![named],
        Some(_) => vec![],
        None => of_type,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use reqwest::header::{CACHE_CONTROL, HeaderMap, HeaderValue};

    use super::{algorithms, max_age, published_keys};

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_str(value).expect("value"));
        headers
    }

    #[test]
    fn cache_control_sets_how_long_keys_are_kept() {
        assert_eq!(
            max_age(&headers("public, max-age=300")),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age(&headers("Max-Age = 5 ")),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            max_age(&headers("max-age=60, no-cache")),
            Some(Duration::ZERO)
        );
        assert_eq!(max_age(&headers("no-store")), Some(Duration::ZERO));
        assert_eq!(max_age(&headers("public")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn symmetric_and_mismatched_keys_are_never_used() {
        let set = serde_json::from_value(serde_json::json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"},
            {"kty": "OKP", "kid": "ed", "crv": "Ed25519",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "kid": "lying", "crv": "Ed25519", "alg": "RS256",
             "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
        ]}))
        .expect("jwks");
        let keys = published_keys(&set);
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["ed"]);
        assert_eq!(keys["ed"].algorithms, [jsonwebtoken::Algorithm::EdDSA]);
        assert!(algorithms(None, &set.keys[0].algorithm).is_empty());
    }
}
