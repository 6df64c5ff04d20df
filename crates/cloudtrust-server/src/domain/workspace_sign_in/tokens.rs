//! The tokens of Workspace sign-in: access tokens (RFC 9068 JWTs, `typ: at+jwt`) and ID tokens,
//! signed with the deployment's keys. Their issuer is `<base>/core`, never the base URL of
//! API-client tokens, so neither kind passes for the other.

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::scopes::{EMAIL, PROFILE};
use crate::domain::end_users::EndUser;
use crate::domain::tokens::{CLOCK_SKEW_SECS, TokenRejection};
use crate::error::Result;
use crate::keys::SigningAlgorithm;
use crate::keys::keyring::KeySet;
use crate::keys::signing::{ACCESS_TOKEN_TYP, TokenKind};

/// The path of the issuer under a base URL.
pub const ISSUER_PATH: &str = "/core";

/// The issuer of Workspace tokens served at `base_url`.
pub fn issuer_of(base_url: &str) -> String {
    format!("{base_url}{ISSUER_PATH}")
}

/// The audience of Workspace access tokens of `issuer`: its resources.
pub fn audience_of(issuer: &str) -> String {
    format!("{issuer}/resources")
}

/// Claims of a Workspace access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceAccessClaims {
    /// `<base>/core`.
    pub iss: String,
    /// The end user's id.
    pub sub: String,
    /// `<base>/core/resources`.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique token id (revocation names it).
    pub jti: String,
    /// The Workspace client.
    pub client_id: String,
    /// Granted scopes, space-separated.
    pub scope: String,
    /// The customer.
    pub customer: String,
    /// When the user signed in.
    pub auth_time: i64,
    /// The grant it came from (revoking the grant ends it).
    pub grant: String,
}

/// Claims of a Workspace ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceIdClaims {
    /// Issuer.
    pub iss: String,
    /// The end user's id.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// When the user signed in.
    pub auth_time: i64,
    /// The client's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Hash of the access token issued with it.
    pub at_hash: String,
    /// How the user signed in: a password.
    pub amr: Vec<String>,
    /// The customer.
    pub customer: String,
    /// What the scopes release about the user.
    #[serde(flatten)]
    pub about: UserClaims,
}

/// The claims about a user that `scopes` release (ID token and userinfo alike), beside `sub`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserClaims {
    /// With `email`: the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// With `email`: an administrator set it, so it is taken as verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// With `profile`: full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// With `profile`: given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// With `profile`: family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
}

/// The userinfo answer: `sub` and what the scopes release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    /// The end user's id.
    pub sub: String,
    /// The released claims.
    #[serde(flatten)]
    pub about: UserClaims,
}

impl UserInfo {
    /// What `scopes` release about `user`.
    pub fn of(user: &EndUser, scopes: &[&str]) -> Self {
        UserInfo {
            sub: user.id.clone(),
            about: UserClaims::of(user, scopes),
        }
    }
}

impl UserClaims {
    /// What `scopes` release about `user`.
    pub fn of(user: &EndUser, scopes: &[&str]) -> Self {
        let email = scopes.contains(&EMAIL);
        let profile = scopes.contains(&PROFILE);
        UserClaims {
            email: email.then(|| user.email.clone()),
            email_verified: email.then_some(true),
            name: profile.then(|| user.name()),
            given_name: profile.then(|| user.given_name.clone()),
            family_name: profile.then(|| user.family_name.clone()),
        }
    }
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): the left half of the access token's hash, with
/// the hash of the signing algorithm (SHA-512 for Ed25519, as OpenID libraries expect).
pub fn access_token_hash(algorithm: SigningAlgorithm, access_token: &str) -> String {
    let hash = match algorithm {
        SigningAlgorithm::EdDsa => digest::digest(&digest::SHA512, access_token.as_bytes()),
        SigningAlgorithm::Es256 | SigningAlgorithm::Rs256 => {
            digest::digest(&digest::SHA256, access_token.as_bytes())
        }
    };
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// Signs an access token.
pub fn sign_access(keys: &KeySet, claims: &WorkspaceAccessClaims) -> Result<String> {
    keys.signing.sign_jwt(TokenKind::Access, claims)
}

/// Signs an ID token.
pub fn sign_id(keys: &KeySet, claims: &WorkspaceIdClaims) -> Result<String> {
    keys.signing.sign_jwt(TokenKind::Id, claims)
}

/// The algorithm tokens are signed with now.
pub fn signing_algorithm(keys: &KeySet) -> SigningAlgorithm {
    keys.signing.algorithm
}

/// Checks a Workspace access token's signature, type, issuer (one of `issuers`), audience and
/// times. Whether its grant still stands is the caller's to check.
pub fn verify_access(
    keys: &KeySet,
    issuers: &[String],
    token: &str,
    now: i64,
) -> std::result::Result<WorkspaceAccessClaims, TokenRejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
    if header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(TokenRejection::NotAnAccessToken);
    }
    let claims: WorkspaceAccessClaims = decode(keys, issuers, token, &header)?;
    if claims.aud != audience_of(&claims.iss) {
        return Err(TokenRejection::WrongIssuer);
    }
    if claims.exp <= now {
        return Err(TokenRejection::Expired);
    }
    if claims.nbf > now + CLOCK_SKEW_SECS {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(claims)
}

/// Reads an ID token this deployment signed, expired or not (an `id_token_hint`).
pub fn read_id_token_hint(
    keys: &KeySet,
    issuers: &[String],
    token: &str,
) -> std::result::Result<WorkspaceIdClaims, TokenRejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
    if header.typ.as_deref() != Some("JWT") {
        return Err(TokenRejection::Malformed);
    }
    decode(keys, issuers, token, &header)
}

fn decode<T: serde::de::DeserializeOwned>(
    keys: &KeySet,
    issuers: &[String],
    token: &str,
    header: &jsonwebtoken::Header,
) -> std::result::Result<T, TokenRejection> {
    let kid = header.kid.as_deref().ok_or(TokenRejection::UnknownKey)?;
    let key = keys.verifying.get(kid).ok_or(TokenRejection::UnknownKey)?;
    if header.alg != key.algorithm {
        return Err(TokenRejection::BadSignature);
    }
    let mut validation = jsonwebtoken::Validation::new(key.algorithm);
    // Times are checked by the caller against the injectable clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(issuers);
    jsonwebtoken::decode::<T>(token, &key.key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => TokenRejection::WrongIssuer,
            _ => TokenRejection::Malformed,
        })
}
