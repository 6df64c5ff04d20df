//! Key material: the key-encryption key that protects everything at rest, and the signing keys
//! of bearer tokens (kept loaded in memory, published through JWKS).

pub mod kek;
pub mod keyring;
pub mod rekey;
pub mod rotation;
pub mod signing;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use kek::KeyEncryptionKey;
pub use keyring::KeyRing;
pub use signing::SigningKey;

use crate::error::Error;

/// The JWS algorithm of a signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256 (the default).
    #[serde(rename = "ES256", alias = "es256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA", alias = "eddsa", alias = "EDDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys (what Citrix Cloud itself uses).
    #[serde(rename = "RS256", alias = "rs256")]
    Rs256,
}

impl SigningAlgorithm {
    /// The JWS `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Rs256 => "RS256",
        }
    }

    /// The matching `jsonwebtoken` algorithm, for verification.
    pub fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            SigningAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SigningAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" => Ok(SigningAlgorithm::Es256),
            "EDDSA" => Ok(SigningAlgorithm::EdDsa),
            "RS256" => Ok(SigningAlgorithm::Rs256),
            other => Err(Error::invalid(
                "signing_algorithm",
                format!("`{other}` is not one of ES256, EdDSA, RS256"),
            )),
        }
    }
}
