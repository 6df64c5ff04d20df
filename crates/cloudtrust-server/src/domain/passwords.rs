//! Administrators' passwords: people choose them, so they are stored only as Argon2id hashes
//! (PHC strings with the parameters inside, so they can be raised later) and checked in
//! constant time by the argon2 crate.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::secrets::random_bytes;
use crate::error::{Error, Result};

/// Shortest accepted password.
pub const MIN_LENGTH: usize = 12;
/// Longest accepted password (bounds the hashing work a request can ask for).
pub const MAX_LENGTH: usize = 1024;

fn argon2() -> Argon2<'static> {
    // OWASP's recommended minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Checks a new password's length.
pub fn validate(password: &str) -> Result<()> {
    let length = password.chars().count();
    if !(MIN_LENGTH..=MAX_LENGTH).contains(&length) {
        return Err(Error::invalid(
            "password",
            format!("must have {MIN_LENGTH} to {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// The Argon2id hash of `password`, with a fresh random salt.
pub fn hash(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| Error::internal(format!("password salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal(format!("password hash: {e}")))
}

/// Whether `password` matches the stored `hash`.
pub fn verify(password: &str, hash: &str) -> bool {
    password.chars().count() <= MAX_LENGTH
        && PasswordHash::new(hash).is_ok_and(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
}

/// A random password for people to type: 20 letters and digits without look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    // Bytes at or above the largest multiple of the alphabet's size are redrawn, so every
    // symbol is equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    let mut password = String::with_capacity(20);
    while password.len() < 20 {
        for b in random_bytes::<32>() {
            if password.len() < 20 && usize::from(b) < limit {
                password.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    password
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2id_and_verified() {
        let stored = hash("correct horse battery").expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("correct horse batterY", &stored));
        assert!(!verify("correct horse battery", "not a hash"));
        assert_ne!(
            hash("correct horse battery").expect("hash"),
            stored,
            "salted"
        );
        assert!(validate("short").is_err());
        assert!(validate(&"x".repeat(MAX_LENGTH + 1)).is_err());
        let generated = generate();
        assert_eq!(generated.len(), 20);
        validate(&generated).expect("a generated password is acceptable");
    }
}
