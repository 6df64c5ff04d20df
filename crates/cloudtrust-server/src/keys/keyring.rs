//! The set of signing keys a node holds in memory: the active key that signs, every published
//! key for verification, and the JWKS document built once per change.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::SigningAlgorithm;
use super::kek::KeyEncryptionKey;
use super::signing::SigningKey;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{SigningKeyRow, Store};

/// A public key ready for verification.
pub struct VerifyingKey {
    /// Decoding key for `jsonwebtoken`.
    pub key: jsonwebtoken::DecodingKey,
    /// Its algorithm.
    pub algorithm: jsonwebtoken::Algorithm,
}

/// One consistent view of the keys.
pub struct KeySet {
    /// The key that signs new tokens.
    pub signing: Arc<SigningKey>,
    /// When the signing key was made, unix seconds.
    pub signing_since: i64,
    /// Every published key by `kid`.
    pub verifying: HashMap<String, VerifyingKey>,
    /// The JWKS document, serialised.
    pub jwks: Arc<str>,
    /// When the next previous key retires (the set must be rebuilt then).
    pub next_retirement: Option<i64>,
}

/// The keys of this node, reloadable when another node or the command line changes them.
pub struct KeyRing {
    current: RwLock<Arc<KeySet>>,
    store: Store,
    kek: Arc<KeyEncryptionKey>,
    algorithm: SigningAlgorithm,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyRing({:?})", self.current().signing)
    }
}

/// The status of the key that signs.
pub const STATUS_ACTIVE: &str = "active";
/// The status of a replaced key, still published and accepted until it retires.
pub const STATUS_PREVIOUS: &str = "previous";

impl KeyRing {
    /// Loads the keys, creating the active key for `algorithm` when there is none.
    pub async fn load(
        store: Store,
        kek: Arc<KeyEncryptionKey>,
        algorithm: SigningAlgorithm,
        clock: Arc<dyn Clock>,
    ) -> Result<KeyRing> {
        let set = Self::build(&store, &kek, algorithm, &*clock).await?;
        Ok(KeyRing {
            current: RwLock::new(Arc::new(set)),
            store,
            kek,
            algorithm,
            clock,
        })
    }

    /// Re-reads the keys from the database.
    pub async fn reload(&self) -> Result<()> {
        let set = Self::build(&self.store, &self.kek, self.algorithm, &*self.clock).await?;
        *self.current.write() = Arc::new(set);
        Ok(())
    }

    /// Rebuilds the set when a previous key's time to retire has come.
    pub async fn reload_if_due(&self) -> Result<()> {
        let due = self
            .current()
            .next_retirement
            .is_some_and(|at| at <= self.clock.now());
        if due {
            self.reload().await?;
        }
        Ok(())
    }

    /// Whether the signing key in memory is `max_age_secs` old or older.
    pub fn signing_key_older_than(&self, max_age_secs: i64) -> bool {
        self.current().signing_since.saturating_add(max_age_secs) <= self.clock.now()
    }

    /// Replaces the signing key when it is `max_age_secs` old or older (see
    /// [`super::rotation::rotate_if_older`]), and loads the new one at once.
    pub async fn rotate_if_older(
        &self,
        max_age_secs: i64,
        keep_secs: i64,
    ) -> Result<Option<super::rotation::KeyInfo>> {
        let rotated = super::rotation::rotate_if_older(
            &self.store,
            &self.kek,
            self.algorithm,
            &*self.clock,
            max_age_secs,
            keep_secs,
        )
        .await?;
        if rotated.is_some() {
            self.reload().await?;
        }
        Ok(rotated)
    }

    /// The keys in effect now.
    pub fn current(&self) -> Arc<KeySet> {
        self.current.read().clone()
    }

    async fn build(
        store: &Store,
        kek: &KeyEncryptionKey,
        algorithm: SigningAlgorithm,
        clock: &dyn Clock,
    ) -> Result<KeySet> {
        let mut rows = store.signing_keys().await?;
        if !rows
            .iter()
            .any(|r| r.status == STATUS_ACTIVE && r.algorithm == algorithm.as_str())
        {
            let (key, pkcs8) = SigningKey::generate(algorithm)?;
            let row = SigningKeyRow {
                kid: key.kid.clone(),
                algorithm: algorithm.as_str().to_owned(),
                status: STATUS_ACTIVE.to_owned(),
                encrypted_private_key: kek.encrypt(&pkcs8, key.kid.as_bytes())?,
                public_jwk: key.public_jwk.to_string(),
                created_at: clock.now(),
                retire_at: None,
            };
            // Another node may have created one at the same moment; the unique index keeps one.
            store.insert_signing_key_if_none_active(&row).await?;
            rows = store.signing_keys().await?;
        }
        let active = rows
            .iter()
            .find(|r| r.status == STATUS_ACTIVE && r.algorithm == algorithm.as_str())
            .ok_or_else(|| Error::internal("no active signing key after creating one"))?;
        let pkcs8 = kek.decrypt(&active.encrypted_private_key, active.kid.as_bytes())?;
        let signing = Arc::new(SigningKey::from_pkcs8(algorithm, &pkcs8)?);
        let signing_since = active.created_at;

        let now = clock.now();
        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        let mut next_retirement: Option<i64> = None;
        for row in &rows {
            let in_service = match row.status.as_str() {
                STATUS_ACTIVE => true,
                STATUS_PREVIOUS => row.retire_at.is_none_or(|at| at > now),
                _ => false,
            };
            if !in_service {
                continue;
            }
            if let Some(at) = row.retire_at.filter(|_| row.status == STATUS_PREVIOUS) {
                next_retirement = Some(next_retirement.map_or(at, |n| n.min(at)));
            }
            let jwk_value: serde_json::Value = serde_json::from_str(&row.public_jwk)
                .map_err(|e| Error::internal(format!("stored JWK {}: {e}", row.kid)))?;
            let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk_value.clone())
                .map_err(|e| Error::internal(format!("stored JWK {}: {e}", row.kid)))?;
            let algorithm: SigningAlgorithm = row.algorithm.parse()?;
            let key = jsonwebtoken::DecodingKey::from_jwk(&jwk)
                .map_err(|e| Error::internal(format!("stored JWK {}: {e}", row.kid)))?;
            verifying.insert(
                row.kid.clone(),
                VerifyingKey {
                    key,
                    algorithm: algorithm.jwt_algorithm(),
                },
            );
            published.push(jwk_value);
        }
        let jwks = serde_json::json!({ "keys": published }).to_string();
        Ok(KeySet {
            signing,
            signing_since,
            verifying,
            jwks: Arc::from(jwks),
            next_retirement,
        })
    }
}
