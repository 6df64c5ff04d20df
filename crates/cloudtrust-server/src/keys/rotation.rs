//! Rotating signing keys (`cloudtrust keys …`): a new key becomes the one that signs; the key
//! it replaces stays published and accepted until every token it signed has expired and no
//! JWKS cache still holds it, then retires by itself; a key can also be retired at once (a
//! leaked key). Each change is in the change log, so every running node reloads its keys.

use serde::Serialize;

use super::SigningAlgorithm;
use super::kek::KeyEncryptionKey;
use super::keyring::{STATUS_ACTIVE, STATUS_PREVIOUS};
use super::signing::SigningKey;
use crate::clock::Clock;
use crate::domain::changes::ChangeKind;
use crate::error::{Error, Result};
use crate::store::{self, SigningKeyRow, Store};

/// How long the JWKS may be cached (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE_SECS: i64 = 300;

/// How long a replaced key stays in service: until the longest-lived token it signed (a Smart
/// Tools token, or a bearer token of `token_lifetime_secs`) has expired, plus the JWKS cache
/// time and the clock skew tolerated.
pub fn keep_after_rotation(token_lifetime_secs: i64) -> i64 {
    token_lifetime_secs.max(crate::domain::tokens::SMART_LIFETIME_SECS)
        + JWKS_MAX_AGE_SECS
        + crate::domain::tokens::CLOCK_SKEW_SECS
}

/// What is said about a signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Key id (the JWK thumbprint).
    pub kid: String,
    /// JWS algorithm.
    pub algorithm: String,
    /// `active`, `previous` or `retired`.
    pub status: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// When a previous key retires by itself.
    pub retire_at: Option<i64>,
}

impl From<&SigningKeyRow> for KeyInfo {
    fn from(row: &SigningKeyRow) -> Self {
        KeyInfo {
            kid: row.kid.clone(),
            algorithm: row.algorithm.clone(),
            status: row.status.clone(),
            created_at: row.created_at,
            retire_at: row.retire_at,
        }
    }
}

/// Every signing key, oldest first (previous keys past their time shown as retired).
pub async fn list(store: &Store, clock: &dyn Clock) -> Result<Vec<KeyInfo>> {
    let now = clock.now();
    Ok(store
        .signing_keys()
        .await?
        .iter()
        .map(|row| {
            let mut info = KeyInfo::from(row);
            if info.status == STATUS_PREVIOUS && info.retire_at.is_some_and(|at| at <= now) {
                info.status = "retired".to_owned();
            }
            info
        })
        .collect())
}

/// Makes a new key of `algorithm` the one that signs; the one it replaces retires after
/// `keep_secs`. Returns the new key.
pub async fn rotate(
    store: &Store,
    kek: &KeyEncryptionKey,
    algorithm: SigningAlgorithm,
    clock: &dyn Clock,
    keep_secs: i64,
) -> Result<KeyInfo> {
    let mut tx = store.begin().await?;
    let (_, key) = replace_active(&mut tx, kek, algorithm, clock.now(), keep_secs).await?;
    tx.commit().await?;
    Ok(key)
}

/// Rotates as [`rotate`] does when the active key of `algorithm` is `max_age_secs` old or
/// older (`signing_key_rotation_days`); `None` when it is younger, or when another node
/// replaced it at the same moment.
pub async fn rotate_if_older(
    store: &Store,
    kek: &KeyEncryptionKey,
    algorithm: SigningAlgorithm,
    clock: &dyn Clock,
    max_age_secs: i64,
    keep_secs: i64,
) -> Result<Option<KeyInfo>> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    let due = store::signing_keys::all(&mut tx).await?.iter().any(|row| {
        row.status == STATUS_ACTIVE
            && row.algorithm == algorithm.as_str()
            && row.created_at.saturating_add(max_age_secs) <= now
    });
    if !due {
        return Ok(None);
    }
    let (demoted, key) = replace_active(&mut tx, kek, algorithm, now, keep_secs).await?;
    if demoted == 0 {
        // Another node's rotation committed between the look and the change.
        return Ok(None);
    }
    tx.commit().await?;
    Ok(Some(key))
}

/// Demotes the active key and inserts a new one, in `tx`: how many keys were demoted, and the
/// new key.
async fn replace_active(
    tx: &mut store::Tx,
    kek: &KeyEncryptionKey,
    algorithm: SigningAlgorithm,
    now: i64,
    keep_secs: i64,
) -> Result<(u64, KeyInfo)> {
    let (key, pkcs8) = SigningKey::generate(algorithm)?;
    let row = SigningKeyRow {
        kid: key.kid.clone(),
        algorithm: algorithm.as_str().to_owned(),
        status: STATUS_ACTIVE.to_owned(),
        encrypted_private_key: kek.encrypt(&pkcs8, key.kid.as_bytes())?,
        public_jwk: key.public_jwk.to_string(),
        created_at: now,
        retire_at: None,
    };
    super::rekey::ensure_in_effect(tx, kek).await?;
    let demoted =
        store::signing_keys::demote_active(tx, algorithm.as_str(), now + keep_secs).await?;
    store::signing_keys::insert_if_none_active(tx, &row).await?;
    store::changes::record(tx, ChangeKind::Keys.as_str(), &row.kid, now).await?;
    Ok((demoted, KeyInfo::from(&row)))
}

/// Stops accepting the previous key `kid` at once. The active key cannot be retired: rotate
/// first.
pub async fn retire(store: &Store, clock: &dyn Clock, kid: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    if !store::signing_keys::retire(&mut tx, kid).await? {
        return Err(Error::not_found(
            "previous signing key (rotate before retiring the active one)",
            kid,
        ));
    }
    store::changes::record(&mut tx, ChangeKind::Keys.as_str(), kid, clock.now()).await?;
    tx.commit().await
}
