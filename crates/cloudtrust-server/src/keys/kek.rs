//! The key-encryption key (KEK): encrypts signing keys at rest (AES-256-GCM) and keys the hash
//! of API-client secrets.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::secrets::random_bytes;
use crate::error::{Error, Result};

/// File name of the generated KEK in the data dir.
pub const KEK_FILE: &str = "cloudtrust.kek";
/// Suffix of the file that holds a KEK being rotated in, until the database has switched to
/// it (`cloudtrust.kek.new`).
const PENDING_SUFFIX: &str = ".new";

/// Where a KEK came from, so a mismatch can be explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KekSource {
    /// `key_encryption_key` in the configuration.
    Config,
    /// `cloudtrust.kek` in the data dir, already present.
    File,
    /// Generated just now (and not yet written).
    Generated,
}

/// The 256-bit key-encryption key.
pub struct KeyEncryptionKey {
    raw: [u8; 32],
    aead: LessSafeKey,
    /// Where it came from.
    pub source: KekSource,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEncryptionKey({})", self.fingerprint())
    }
}

impl KeyEncryptionKey {
    fn from_raw(raw: [u8; 32], source: KekSource) -> Result<Self> {
        let unbound = UnboundKey::new(&aead::AES_256_GCM, &raw)
            .map_err(|_| Error::internal("cannot build the AES-256-GCM key"))?;
        Ok(KeyEncryptionKey {
            raw,
            aead: LessSafeKey::new(unbound),
            source,
        })
    }

    /// Parses a KEK given as 32 bytes of unpadded base64url (standard base64 is accepted too).
    pub fn from_base64(encoded: &str, source: KekSource) -> Result<Self> {
        let encoded = encoded.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(encoded))
            .map_err(|_| Error::invalid("key_encryption_key", "is not base64"))?;
        let raw: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("key_encryption_key", "must be exactly 32 bytes"))?;
        Self::from_raw(raw, source)
    }

    /// A new random key.
    pub fn generate() -> Result<Self> {
        Self::from_raw(random_bytes::<32>(), KekSource::Generated)
    }

    /// The key as unpadded base64url, the form `key_encryption_key` takes. A secret: shown
    /// once to whoever will keep it, never logged.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.raw)
    }

    /// The configured KEK, else the one in `data_dir/cloudtrust.kek`, else a new one (not yet
    /// saved: see [`KeyEncryptionKey::save`]).
    pub fn locate(configured: Option<&str>, data_dir: &Path) -> Result<Self> {
        if let Some(encoded) = configured {
            return Self::from_base64(encoded, KekSource::Config);
        }
        let path = data_dir.join(KEK_FILE);
        crate::private_files::check_secret_file(&path).map_err(Error::internal)?;
        match fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text, KekSource::File)
                .map_err(|e| Error::internal(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::generate(),
            Err(e) => Err(Error::internal(format!("{}: {e}", path.display()))),
        }
    }

    /// Writes a generated KEK to `data_dir/cloudtrust.kek`, readable by the owner only.
    pub fn save(&mut self, data_dir: &Path) -> Result<()> {
        crate::private_files::create_dir(data_dir)?;
        let path = data_dir.join(KEK_FILE);
        self.write_new(&path)?;
        self.source = KekSource::File;
        Ok(())
    }

    fn write_new(&self, path: &Path) -> Result<()> {
        let mut file = crate::private_files::create_new(path)
            .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
        writeln!(file, "{}", self.to_base64())?;
        file.sync_all()?;
        Ok(())
    }

    /// Writes this key beside `data_dir/cloudtrust.kek` as `cloudtrust.kek.new`, before the
    /// database switches to it: whatever happens next, the key the database needs is on disk.
    /// A file left by a rotation that did not commit is replaced. Returns its path.
    pub fn save_pending(&self, data_dir: &Path) -> Result<PathBuf> {
        let path = crate::private_files::sibling(&data_dir.join(KEK_FILE), PENDING_SUFFIX);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::internal(format!("{}: {e}", path.display())));
            }
            _ => {}
        }
        self.write_new(&path)?;
        Ok(path)
    }

    /// Makes `cloudtrust.kek.new` the data dir's key, once the database has switched to it.
    pub fn install_pending(data_dir: &Path) -> Result<PathBuf> {
        let path = data_dir.join(KEK_FILE);
        let pending = crate::private_files::sibling(&path, PENDING_SUFFIX);
        fs::rename(&pending, &path)
            .map_err(|e| Error::internal(format!("{}: {e}", pending.display())))?;
        if let Ok(dir) = fs::File::open(data_dir) {
            // The rename is durable only once the folder is.
            dir.sync_all()?;
        }
        Ok(path)
    }

    /// Completes a rotation interrupted between the database's switch and the file's: when
    /// `cloudtrust.kek.new` holds the key the database names (`recorded`), it becomes
    /// `cloudtrust.kek` and is returned.
    pub fn finish_rotation(data_dir: &Path, recorded: &str) -> Result<Option<Self>> {
        let pending = crate::private_files::sibling(&data_dir.join(KEK_FILE), PENDING_SUFFIX);
        crate::private_files::check_secret_file(&pending).map_err(Error::internal)?;
        let text = match fs::read_to_string(&pending) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::internal(format!("{}: {e}", pending.display()))),
        };
        let kek = Self::from_base64(&text, KekSource::File)?;
        if kek.fingerprint() != recorded {
            return Ok(None);
        }
        let path = Self::install_pending(data_dir)?;
        tracing::warn!(
            file = %path.display(),
            "finished a key-encryption key rotation that was interrupted"
        );
        Ok(Some(kek))
    }

    /// A short public identifier of this key, stored in the database to detect a wrong KEK.
    pub fn fingerprint(&self) -> String {
        let tag = self.derive("cloudtrust/kek-fingerprint/v1");
        URL_SAFE_NO_PAD.encode(&tag[..12])
    }

    /// A 256-bit subkey for one purpose (HMAC-SHA-256 of the label).
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.raw);
        let tag = hmac::sign(&key, label.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts `plaintext` bound to `aad`: base64url of nonce ‖ ciphertext ‖ tag.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Result<String> {
        let nonce_bytes = random_bytes::<12>();
        let mut buffer = plaintext.to_vec();
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut buffer,
            )
            .map_err(|_| Error::internal("encryption failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`KeyEncryptionKey::encrypt`] produced with the same `aad`.
    pub fn decrypt(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| Error::internal("sealed key is not base64url"))?;
        if bytes.len() < 12 + 16 {
            return Err(Error::internal("sealed key is too short"));
        }
        let (nonce, rest) = bytes.split_at(12);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::internal("bad nonce"))?;
        let mut buffer = rest.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| {
                Error::internal("cannot decrypt a signing key: wrong key-encryption key?")
            })?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_binds_the_aad() {
        let kek = KeyEncryptionKey::from_raw([7u8; 32], KekSource::Config).expect("kek");
        let sealed = kek.encrypt(b"private key", b"kid-1").expect("seal");
        assert_eq!(
            kek.decrypt(&sealed, b"kid-1").expect("open"),
            b"private key"
        );
        assert!(kek.decrypt(&sealed, b"kid-2").is_err());
        let other = KeyEncryptionKey::from_raw([8u8; 32], KekSource::Config).expect("kek");
        assert!(other.decrypt(&sealed, b"kid-1").is_err());
        assert_ne!(kek.fingerprint(), other.fingerprint());
    }

    #[test]
    fn configured_keys_must_be_32_bytes_of_base64() {
        let encoded = URL_SAFE_NO_PAD.encode([1u8; 32]);
        assert!(KeyEncryptionKey::from_base64(&encoded, KekSource::Config).is_ok());
        assert!(KeyEncryptionKey::from_base64("c2hvcnQ", KekSource::Config).is_err());
        assert!(KeyEncryptionKey::from_base64("not base64!", KekSource::Config).is_err());
    }
}
