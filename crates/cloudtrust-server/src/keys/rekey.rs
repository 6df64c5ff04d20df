//! Replacing the key-encryption key (`cloudtrust kek rotate`): every sealed signing key is
//! opened with the old key and sealed again with the new one, in one transaction that also
//! records the new key's fingerprint.
//!
//! API-client secrets are stored only as a keyed hash, and the secrets themselves are gone, so
//! their hashes cannot be computed again. They stay valid because the subkey that keys them
//! outlives the KEK it was first derived from: at the first rotation it is sealed with the new
//! KEK and kept in the database (`sealed_secret_hash_key`); from then on it is unsealed, not
//! derived.

use super::kek::KeyEncryptionKey;
use crate::error::{Error, Result};
use crate::store::{self, Conn, Store};

/// Name of the setting that holds the fingerprint of the KEK in effect.
pub const KEK_FINGERPRINT: &str = "kek_fingerprint";
/// Name of the setting that holds the secret-hash subkey sealed with the KEK, once a KEK has
/// been replaced.
pub const SEALED_SECRET_HASH_KEY: &str = "sealed_secret_hash_key";
/// Label of the subkey that keys the hash of API-client secrets (and the sealing's AAD).
const SECRET_HASH_LABEL: &str = "cloudtrust/api-client-secret/v1";

/// The subkey that keys API-client secret hashes: unsealed from the database once a KEK has
/// been replaced, else derived from `kek`.
pub async fn secret_hash_key(conn: &mut Conn, kek: &KeyEncryptionKey) -> Result<[u8; 32]> {
    match store::settings::get(conn, SEALED_SECRET_HASH_KEY).await? {
        Some(sealed) => kek
            .decrypt(&sealed, SECRET_HASH_LABEL.as_bytes())?
            .try_into()
            .map_err(|_| Error::internal("the sealed secret-hash key is not 32 bytes")),
        None => Ok(kek.derive(SECRET_HASH_LABEL)),
    }
}

/// Fails unless `kek` is the key-encryption key the database says is in effect: a node started
/// before a KEK rotation must not seal anything with the old one.
pub async fn ensure_in_effect(conn: &mut Conn, kek: &KeyEncryptionKey) -> Result<()> {
    match store::settings::get(conn, KEK_FINGERPRINT).await? {
        Some(recorded) if recorded != kek.fingerprint() => Err(Error::Conflict(format!(
            "the key-encryption key was replaced (fingerprint {recorded}); restart this node \
             with the new one"
        ))),
        _ => Ok(()),
    }
}

/// What a KEK rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rekeyed {
    /// The fingerprint of the key replaced.
    pub old_fingerprint: String,
    /// The fingerprint of the key now in effect.
    pub fingerprint: String,
    /// How many signing keys were sealed again.
    pub signing_keys: usize,
}

/// Seals everything sealed with `old` with `new` instead, and makes `new` the key in effect.
/// All or nothing.
pub async fn rekey(
    store: &Store,
    old: &KeyEncryptionKey,
    new: &KeyEncryptionKey,
) -> Result<Rekeyed> {
    if old.fingerprint() == new.fingerprint() {
        return Err(Error::invalid(
            "key_encryption_key",
            "the new key is the key in effect",
        ));
    }
    let mut tx = store.begin().await?;
    ensure_in_effect(&mut tx, old).await?;
    let hash_key = secret_hash_key(&mut tx, old).await?;
    let sealed = new.encrypt(&hash_key, SECRET_HASH_LABEL.as_bytes())?;
    store::settings::set(&mut tx, SEALED_SECRET_HASH_KEY, &sealed).await?;
    let rows = store::signing_keys::all(&mut tx).await?;
    for row in &rows {
        let private_key = old.decrypt(&row.encrypted_private_key, row.kid.as_bytes())?;
        let resealed = new.encrypt(&private_key, row.kid.as_bytes())?;
        store::signing_keys::reseal(&mut tx, &row.kid, &resealed).await?;
    }
    store::settings::set(&mut tx, KEK_FINGERPRINT, &new.fingerprint()).await?;
    tx.commit().await?;
    Ok(Rekeyed {
        old_fingerprint: old.fingerprint(),
        fingerprint: new.fingerprint(),
        signing_keys: rows.len(),
    })
}
