//! Bearer tokens whose signature this node has already checked. A client calls the APIs with
//! the same token for its whole lifetime, and checking an ECDSA signature is most of what a
//! short API request costs, so a token that passed is remembered (as Envoy's JWT filter does)
//! and the next presentation costs a SHA-256 of the token and a map lookup. Only the signature,
//! issuer, audience and type are taken from here: times are checked at every presentation,
//! and revocation, the client and its owner after this, as for a token checked afresh.
//!
//! Entries are keyed by the token's SHA-256, so no token text is kept or compared. They belong
//! to the key set they were checked with: when the published keys change (a rotation, a
//! retirement), every entry is forgotten. The map holds at most [`CAPACITY`] tokens; when it is
//! full, the expired ones are dropped, and if none had expired, all of them.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::digest;
use parking_lot::Mutex;

use crate::domain::tokens::AccessClaims;
use crate::keys::keyring::KeySet;

/// The most tokens remembered (a few hundred bytes each).
pub(super) const CAPACITY: usize = 4096;

/// Bearer tokens checked with the current key set.
pub(super) struct VerifiedTokens {
    state: Mutex<State>,
}

struct State {
    /// The key set the entries were checked with.
    keys: Option<Arc<KeySet>>,
    /// Claims by the SHA-256 of their token.
    claims: HashMap<[u8; 32], AccessClaims>,
}

impl State {
    /// Whether the entries were checked with `keys` (the very set, not an equal one: a set is
    /// built anew whenever the published keys change).
    fn checked_with(&self, keys: &Arc<KeySet>) -> bool {
        self.keys
            .as_ref()
            .is_some_and(|seen| Arc::ptr_eq(seen, keys))
    }
}

impl VerifiedTokens {
    pub(super) fn new() -> Self {
        VerifiedTokens {
            state: Mutex::new(State {
                keys: None,
                claims: HashMap::new(),
            }),
        }
    }

    /// The key under which `token` is remembered.
    pub(super) fn key(token: &str) -> [u8; 32] {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        key
    }

    /// The claims of a token checked with `keys`, if it was.
    pub(super) fn get(&self, keys: &Arc<KeySet>, key: &[u8; 32]) -> Option<AccessClaims> {
        let state = self.state.lock();
        if !state.checked_with(keys) {
            return None;
        }
        state.claims.get(key).cloned()
    }

    /// Remembers the claims of a token that passed its check with `keys`, at `now`.
    pub(super) fn insert(
        &self,
        keys: &Arc<KeySet>,
        key: [u8; 32],
        claims: &AccessClaims,
        now: i64,
    ) {
        let mut state = self.state.lock();
        if !state.checked_with(keys) {
            state.claims.clear();
            state.keys = Some(Arc::clone(keys));
        }
        if state.claims.len() >= CAPACITY {
            state.claims.retain(|_, c| c.exp > now);
            if state.claims.len() >= CAPACITY {
                state.claims.clear();
            }
        }
        state.claims.insert(key, claims.clone());
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.state.lock().claims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{SigningAlgorithm, SigningKey};

    fn key_set() -> Arc<KeySet> {
        let (signing, _) = SigningKey::generate(SigningAlgorithm::EdDsa).expect("key");
        Arc::new(KeySet {
            signing: Arc::new(signing),
            signing_since: 0,
            verifying: HashMap::new(),
            jwks: Arc::from("{\"keys\":[]}"),
            next_retirement: None,
        })
    }

    fn claims(jti: &str, exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://issuer.example".to_owned(),
            sub: "client".to_owned(),
            aud: "cloudtrust".to_owned(),
            iat: 0,
            nbf: 0,
            exp,
            jti: jti.to_owned(),
            client_id: "client".to_owned(),
            customer: "acme".to_owned(),
            displayname: "Ada".to_owned(),
            admin: "admin".to_owned(),
            user_id: "admin".to_owned(),
            generation: 1,
        }
    }

    #[test]
    fn a_token_is_remembered_with_the_key_set_it_was_checked_with() {
        let verified = VerifiedTokens::new();
        let keys = key_set();
        let key = VerifiedTokens::key("a.b.c");
        assert_ne!(key, VerifiedTokens::key("a.b.d"));
        assert_eq!(verified.get(&keys, &key), None);
        verified.insert(&keys, key, &claims("one", 100), 0);
        assert_eq!(verified.get(&keys, &key), Some(claims("one", 100)));
        assert_eq!(verified.get(&keys, &VerifiedTokens::key("a.b.d")), None);

        // Keys published anew (a rotation, a retirement): nothing checked before counts.
        let rotated = key_set();
        assert_eq!(verified.get(&rotated, &key), None);
        let other = VerifiedTokens::key("d.e.f");
        verified.insert(&rotated, other, &claims("two", 100), 0);
        assert_eq!(verified.len(), 1);
        assert_eq!(verified.get(&rotated, &key), None);
        assert_eq!(verified.get(&keys, &other), None);
    }

    #[test]
    fn a_full_map_drops_expired_tokens_and_else_everything() {
        let verified = VerifiedTokens::new();
        let keys = key_set();
        for n in 0..CAPACITY {
            let exp = if n % 2 == 0 { 10 } else { 100 };
            verified.insert(
                &keys,
                VerifiedTokens::key(&n.to_string()),
                &claims("n", exp),
                0,
            );
        }
        assert_eq!(verified.len(), CAPACITY);
        verified.insert(&keys, VerifiedTokens::key("late"), &claims("late", 100), 50);
        assert_eq!(verified.len(), CAPACITY / 2 + 1, "the expired half went");
        assert!(verified.get(&keys, &VerifiedTokens::key("1")).is_some());
        for n in 0..CAPACITY / 2 {
            verified.insert(
                &keys,
                VerifiedTokens::key(&format!("more {n}")),
                &claims("m", 100),
                50,
            );
        }
        assert_eq!(verified.len(), 1, "none had expired: all went");
    }
}
