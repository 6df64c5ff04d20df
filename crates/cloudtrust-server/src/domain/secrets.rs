//! Random values and the keyed hash of API-client secrets.
//!
//! API-client secrets are 256-bit random values, so a fast keyed hash (HMAC-SHA-256) is as strong
//! as a slow password hash and keeps the token endpoint fast. The key comes from the
//! key-encryption key, so a copy of the database alone is not enough to test guesses offline.

use aws_lc_rs::{digest, hmac, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Error, Result};

/// `N` bytes from the operating system's secure random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The system RNG failing leaves nothing secure to do; aws-lc aborts in that case itself.
    if rand::fill(&mut bytes).is_err() {
        std::process::abort();
    }
    bytes
}

/// A fresh API-client secret: 32 random bytes as unpadded base64url (`A-Za-z0-9-_` only, so
/// it needs no URL-encoding in a form body).
pub fn generate_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// The SHA-256 of a 256-bit random token (invitations, sessions), as lowercase hex: such a
/// token cannot be guessed, so a plain hash is enough to make a stolen database useless.
pub fn sha256_hex(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.as_bytes()).as_ref())
}

/// Length of a secret hash in bytes.
pub const HASH_LEN: usize = 32;

/// The keyed hash of API-client secrets.
pub struct SecretHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHasher(..)")
    }
}

impl SecretHasher {
    /// A hasher keyed with `key`.
    pub fn new(key: &[u8]) -> Self {
        SecretHasher {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The hash of `secret`, as stored: lowercase hex.
    pub fn hash(&self, secret: &str) -> String {
        let tag = hmac::sign(&self.key, secret.as_bytes());
        hex(tag.as_ref())
    }

    /// Whether `secret` hashes to `expected`, compared in constant time.
    pub fn verify(&self, secret: &str, expected: &[u8; HASH_LEN]) -> bool {
        hmac::verify(&self.key, secret.as_bytes(), expected).is_ok()
    }
}

/// Decodes a stored hash (lowercase hex) into bytes.
pub fn decode_hash(stored: &str) -> Result<[u8; HASH_LEN]> {
    let bytes = stored.as_bytes();
    if bytes.len() != HASH_LEN * 2 {
        return Err(Error::internal("stored secret hash has the wrong length"));
    }
    let mut out = [0u8; HASH_LEN];
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let high = hex_value(pair[0])?;
        let low = hex_value(pair[1])?;
        out[i] = (high << 4) | low;
    }
    Ok(out)
}

fn hex_value(c: u8) -> Result<u8> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        _ => Err(Error::internal("stored secret hash is not hex")),
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_url_safe_and_long_enough() {
        let secret = generate_secret();
        assert_eq!(secret.len(), 43);
        assert!(
            secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn hashes_verify_only_the_right_secret_under_the_right_key() {
        let hasher = SecretHasher::new(b"key one");
        let stored = hasher.hash("s3cret");
        let decoded = decode_hash(&stored).expect("hex");
        assert!(hasher.verify("s3cret", &decoded));
        assert!(!hasher.verify("s3cret!", &decoded));
        assert!(!SecretHasher::new(b"key two").verify("s3cret", &decoded));
    }
}
