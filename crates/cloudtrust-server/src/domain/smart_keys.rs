//! Smart Tools API keys: an administrator's key (with an `@`, as Smart Tools' keys have) and
//! secret, exchanged at `/v0/oauth/token` for a Smart Tools bearer token.

use serde::{Deserialize, Serialize};

use super::permissions::Access;
use super::secrets::random_bytes;

/// A Smart Tools API key, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartKey {
    /// The key, e.g. `YW9s7S5WyT7HebzNeQUB2QasuQ9m9m7@`.
    pub api_key: String,
    /// The administrator it belongs to.
    pub administrator_id: String,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// A new key and its secret, shown once.
#[derive(Debug, Clone)]
pub struct CreatedSmartKey {
    /// The key.
    pub key: SmartKey,
    /// The secret in clear.
    pub secret: String,
}

/// The role Smart Tools reports for an administrator's access: `Admin` for Full access,
/// `User` for custom access.
pub fn role(access: &Access) -> &'static str {
    match access {
        Access::Full => ROLE_ADMIN,
        Access::Custom(_) => ROLE_USER,
    }
}

/// The role of Full administrators.
pub const ROLE_ADMIN: &str = "Admin";
/// The role of custom administrators.
pub const ROLE_USER: &str = "User";

/// Whether `key` has the shape of a key [`generate_api_key`] makes (31 letters and digits and
/// an `@`), so that anything else is refused before it costs memory or a database query.
pub fn is_well_formed(key: &str) -> bool {
    key.len() == 32 && key.ends_with('@') && key[..31].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A fresh API key: 31 random letters and digits and an `@` (so it arrives as `%40` in URLs,
/// as real Smart Tools keys do).
pub fn generate_api_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 62 does not divide 256: redraw the few bytes that would bias the choice.
    let mut key = String::with_capacity(32);
    while key.len() < 31 {
        for b in random_bytes::<32>() {
            if key.len() < 31 && usize::from(b) < 248 {
                key.push(ALPHABET[usize::from(b) % 62] as char);
            }
        }
    }
    key.push('@');
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_31_alphanumerics_and_an_at_sign() {
        let key = generate_api_key();
        assert_eq!(key.len(), 32);
        assert!(key.ends_with('@'));
        assert!(key[..31].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(key, generate_api_key());
        assert!(is_well_formed(&key));
        assert!(!is_well_formed("short@"));
        assert!(!is_well_formed(&format!("{}\u{0}", &key[..31])));
        assert_eq!(role(&Access::Full), "Admin");
        assert_eq!(role(&Access::Custom(Default::default())), "User");
    }
}
