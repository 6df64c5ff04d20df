//! A signing key pair kept loaded for the hot path: signing a JWT costs one serialisation and one
//! signature, never a key parse.

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::json;

use super::SigningAlgorithm;
use crate::error::{Error, Result};

/// The kind of JWT being signed, which sets its `typ` header (RFC 9068 for access tokens), so
/// an ID token can never pass for an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A bearer token (`typ: at+jwt`).
    Access,
    /// An OpenID Connect ID token (`typ: JWT`).
    Id,
    /// A Smart Tools token (`typ: st+jwt`).
    Smart,
}

/// The `typ` header of access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
/// The `typ` header of Smart Tools tokens.
pub const SMART_TOKEN_TYP: &str = "st+jwt";

/// Bytes reserved for a token's claims before they are written: a bearer token's are some
/// 400.
const PAYLOAD_CAPACITY: usize = 512;

enum Pair {
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A loaded signing key.
pub struct SigningKey {
    /// Key id: the RFC 7638 thumbprint of the public key.
    pub kid: String,
    /// JWS algorithm.
    pub algorithm: SigningAlgorithm,
    /// The public key as a JWK (with `kid`, `alg`, `use`).
    pub public_jwk: serde_json::Value,
    pair: Pair,
    rng: SystemRandom,
    access_header: String,
    id_header: String,
    smart_header: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.algorithm, self.kid)
    }
}

fn key_error(what: &str) -> Error {
    Error::internal(format!("signing key: {what}"))
}

impl SigningKey {
    /// Generates a new key pair; returns it with its PKCS#8 encoding (to be sealed and stored).
    pub fn generate(algorithm: SigningAlgorithm) -> Result<(SigningKey, Vec<u8>)> {
        let pkcs8 = match algorithm {
            SigningAlgorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
            SigningAlgorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8v1())
                .map(|d| d.as_ref().to_vec()),
            SigningAlgorithm::Rs256 => RsaKeyPair::generate(KeySize::Rsa2048)
                .and_then(|k| AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&k))
                .map(|d| d.as_ref().to_vec()),
        }
        .map_err(|_| key_error("generation failed"))?;
        let key = SigningKey::from_pkcs8(algorithm, &pkcs8)?;
        Ok((key, pkcs8))
    }

    /// Loads a key pair from PKCS#8.
    pub fn from_pkcs8(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<SigningKey> {
        let (pair, mut jwk) = match algorithm {
            SigningAlgorithm::Es256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| key_error("bad P-256 key"))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 || point[0] != 4 {
                    return Err(key_error("unexpected P-256 public key encoding"));
                }
                let jwk = json!({
                    "crv": "P-256",
                    "kty": "EC",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                });
                (Pair::Ec(pair), jwk)
            }
            SigningAlgorithm::EdDsa => {
                let pair =
                    Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| key_error("bad Ed25519 key"))?;
                let jwk = json!({
                    "crv": "Ed25519",
                    "kty": "OKP",
                    "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                });
                (Pair::Ed(pair), jwk)
            }
            SigningAlgorithm::Rs256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| key_error("bad RSA key"))?;
                let public = pair.public_key();
                let jwk = json!({
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                });
                (Pair::Rsa(pair), jwk)
            }
        };
        // The members are already in lexicographic order, which is what RFC 7638 hashes.
        let thumbprint = digest::digest(&digest::SHA256, jwk.to_string().as_bytes());
        let kid = URL_SAFE_NO_PAD.encode(thumbprint.as_ref());
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(algorithm.as_str());
        jwk["use"] = json!("sig");
        let header = |typ: &str| {
            let header = json!({"alg": algorithm.as_str(), "typ": typ, "kid": kid});
            URL_SAFE_NO_PAD.encode(header.to_string())
        };
        Ok(SigningKey {
            access_header: header(ACCESS_TOKEN_TYP),
            id_header: header("JWT"),
            smart_header: header(SMART_TOKEN_TYP),
            kid,
            algorithm,
            public_jwk: jwk,
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// Signs `claims` as a compact JWS of the given kind.
    pub fn sign_jwt(&self, kind: TokenKind, claims: &impl Serialize) -> Result<String> {
        // Room for the claims of every kind of token at once: growing from serde_json's
        // default of 128 bytes took two copies per token.
        let mut payload = Vec::with_capacity(PAYLOAD_CAPACITY);
        serde_json::to_writer(&mut payload, claims).map_err(|e| key_error(&e.to_string()))?;
        let header = match kind {
            TokenKind::Access => &self.access_header,
            TokenKind::Id => &self.id_header,
            TokenKind::Smart => &self.smart_header,
        };
        let mut token = String::with_capacity(header.len() + payload.len() * 4 / 3 + 400);
        token.push_str(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        self.append_signature(&mut token)?;
        Ok(token)
    }

    /// Signs `token` (header and payload) and appends `.` and the signature, encoded from
    /// where the signer left it rather than from a copy.
    fn append_signature(&self, token: &mut String) -> Result<()> {
        let append = |token: &mut String, signature: &[u8]| {
            token.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, token);
        };
        match &self.pair {
            Pair::Ec(pair) => {
                let signature = pair
                    .sign(&self.rng, token.as_bytes())
                    .map_err(|_| key_error("ECDSA signing failed"))?;
                append(token, signature.as_ref());
            }
            Pair::Ed(pair) => {
                let signature = pair.sign(token.as_bytes());
                append(token, signature.as_ref());
            }
            Pair::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &self.rng,
                    token.as_bytes(),
                    &mut signature,
                )
                .map_err(|_| key_error("RSA signing failed"))?;
                append(token, &signature);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_tokens_that_jsonwebtoken_verifies() {
        for algorithm in [
            SigningAlgorithm::Es256,
            SigningAlgorithm::EdDsa,
            SigningAlgorithm::Rs256,
        ] {
            let (key, pkcs8) = SigningKey::generate(algorithm).expect("generate");
            let reloaded = SigningKey::from_pkcs8(algorithm, &pkcs8).expect("reload");
            assert_eq!(key.kid, reloaded.kid);
            let token = reloaded
                .sign_jwt(
                    TokenKind::Access,
                    &json!({"sub": "x", "exp": 4_000_000_000u64}),
                )
                .expect("sign");
            let jwk: jsonwebtoken::jwk::Jwk =
                serde_json::from_value(key.public_jwk.clone()).expect("jwk");
            let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
            let mut validation = jsonwebtoken::Validation::new(algorithm.jwt_algorithm());
            validation.required_spec_claims.clear();
            validation.validate_aud = false;
            let data = jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation)
                .expect("verifies");
            assert_eq!(data.header.typ.as_deref(), Some(ACCESS_TOKEN_TYP));
            assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(data.claims["sub"], "x");
        }
    }
}
