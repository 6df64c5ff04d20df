//! Bearer tokens and ID tokens: what they carry, issuing them, and checking them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::administrators::Administrator;
use super::api_clients::ApiClientCredential;
use crate::error::Result;
use crate::keys::keyring::KeySet;
use crate::keys::signing::{ACCESS_TOKEN_TYP, SMART_TOKEN_TYP, TokenKind};

/// Claims of a bearer token (RFC 9068 plus what cloudtrust needs to follow its owner).
///
/// The strings are `S`: owned (`String`, the default) where a presented token is read, borrowed
/// (`&str`) where one is issued — the token endpoint's hot path then copies none of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims<S = String> {
    /// Issuer: the public base URL.
    pub iss: S,
    /// The API client id.
    pub sub: S,
    /// Audience.
    pub aud: S,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Not before, unix seconds.
    pub nbf: i64,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Unique token id.
    pub jti: S,
    /// The API client id (RFC 9068).
    pub client_id: S,
    /// The customer id.
    pub customer: S,
    /// The owner administrator's display name.
    pub displayname: S,
    /// The owner administrator's id.
    pub admin: S,
    /// The owner administrator's id again, under the name Citrix Cloud's tokens use for it
    /// (the Terraform provider reads it to find the caller's own access). Absent from tokens
    /// of older versions, which stay valid until they expire.
    #[serde(default)]
    pub user_id: S,
    /// The owner's permission generation when the token was issued.
    #[serde(rename = "gen")]
    pub generation: i64,
}

/// Claims of the trust endpoint's OpenID Connect ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    /// Issuer.
    pub iss: String,
    /// The API client id.
    pub sub: String,
    /// The API client id: the token is about the client, for the client.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// The customer id.
    pub customer: String,
    /// The owner administrator's email.
    pub email: String,
    /// The owner administrator's display name.
    pub name: String,
    /// How the client authenticated (RFC 8176): a shared secret.
    pub amr: Vec<String>,
}

/// The audience of Smart Tools tokens.
pub const SMART_AUDIENCE: &str = "smart-tools";
/// Lifetime of Smart Tools tokens, as Smart Tools gives them.
pub const SMART_LIFETIME_SECS: i64 = 43_199;

/// Claims of a Smart Tools token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmartClaims {
    /// Issuer.
    pub iss: String,
    /// The administrator's id.
    pub sub: String,
    /// Always [`SMART_AUDIENCE`].
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
    /// The API key it was made with.
    pub api_key: String,
    /// The customer id.
    pub customer: String,
    /// The company id and the role, as granted.
    pub scope: Vec<String>,
}

/// The validity window of a token's claims.
pub trait Lifetime {
    /// `nbf`, unix seconds.
    fn not_before(&self) -> i64;
    /// `exp`, unix seconds.
    fn expiry(&self) -> i64;
}

impl Lifetime for AccessClaims {
    fn not_before(&self) -> i64 {
        self.nbf
    }
    fn expiry(&self) -> i64 {
        self.exp
    }
}

impl Lifetime for SmartClaims {
    fn not_before(&self) -> i64 {
        self.nbf
    }
    fn expiry(&self) -> i64 {
        self.exp
    }
}

/// A signed bearer token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its `jti`.
    pub jti: uuid::Uuid,
    /// Its `exp`, unix seconds.
    pub expires_at: i64,
}

/// The settings that shape issued tokens.
#[derive(Debug, Clone)]
pub struct TokenPolicy {
    /// The default `iss`: the public base URL.
    pub issuer: String,
    /// Every `iss` this deployment's tokens may carry (one per regional host, and the default).
    pub issuers: Vec<String>,
    /// `aud` of bearer tokens.
    pub audience: String,
    /// Lifetime in seconds.
    pub lifetime_secs: i64,
}

impl TokenPolicy {
    /// Issues a bearer token for `client`, acting for `owner`, as `issuer` (the serving
    /// region's base URL).
    pub fn issue_access(
        &self,
        keys: &KeySet,
        issuer: &str,
        client: &ApiClientCredential,
        owner: &Administrator,
        now: i64,
    ) -> Result<IssuedToken> {
        let jti = uuid::Uuid::new_v4();
        let mut jti_text = uuid::Uuid::encode_buffer();
        let claims = AccessClaims::<&str> {
            iss: issuer,
            sub: &client.id,
            aud: &self.audience,
            iat: now,
            nbf: now,
            exp: now + self.lifetime_secs,
            jti: jti.hyphenated().encode_lower(&mut jti_text),
            client_id: &client.id,
            customer: &client.customer_id,
            displayname: &owner.display_name,
            admin: &owner.id,
            user_id: &owner.id,
            generation: owner.permission_generation,
        };
        let token = keys.signing.sign_jwt(TokenKind::Access, &claims)?;
        Ok(IssuedToken {
            token,
            jti,
            expires_at: claims.exp,
        })
    }

    /// Issues the trust endpoint's ID token describing `client` and its owner.
    pub fn issue_id_token(
        &self,
        keys: &KeySet,
        issuer: &str,
        client: &ApiClientCredential,
        owner: &Administrator,
        now: i64,
    ) -> Result<String> {
        let claims = IdClaims {
            iss: issuer.to_owned(),
            sub: client.id.clone(),
            aud: client.id.clone(),
            iat: now,
            exp: now + self.lifetime_secs,
            customer: client.customer_id.clone(),
            email: owner.email.clone(),
            name: owner.display_name.clone(),
            amr: vec!["pwd".to_owned()],
        };
        keys.signing.sign_jwt(TokenKind::Id, &claims)
    }

    /// Issues a Smart Tools token for the administrator `owner_id` of `customer`, made with
    /// `api_key`, for `scope` (company id, role).
    pub fn issue_smart(
        &self,
        keys: &KeySet,
        owner_id: &str,
        customer: &str,
        api_key: &str,
        scope: Vec<String>,
        now: i64,
    ) -> Result<(String, SmartClaims)> {
        let claims = SmartClaims {
            iss: self.issuer.clone(),
            sub: owner_id.to_owned(),
            aud: SMART_AUDIENCE.to_owned(),
            iat: now,
            nbf: now,
            exp: now + SMART_LIFETIME_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            api_key: api_key.to_owned(),
            customer: customer.to_owned(),
            scope,
        };
        let token = keys.signing.sign_jwt(TokenKind::Smart, &claims)?;
        Ok((token, claims))
    }

    /// Checks a presented bearer token's signature, type, issuer, audience and times. Whether
    /// its client and owner still exist, and the owner's generation, are checked by the caller.
    pub fn verify_access(
        &self,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> Result<AccessClaims, TokenRejection> {
        self.verify(keys, token, ACCESS_TOKEN_TYP, &self.audience, now)
    }

    /// Checks a presented Smart Tools token like [`TokenPolicy::verify_access`].
    pub fn verify_smart(
        &self,
        keys: &KeySet,
        token: &str,
        now: i64,
    ) -> Result<SmartClaims, TokenRejection> {
        self.verify(keys, token, SMART_TOKEN_TYP, SMART_AUDIENCE, now)
    }

    fn verify<T: DeserializeOwned + Lifetime>(
        &self,
        keys: &KeySet,
        token: &str,
        typ: &str,
        audience: &str,
        now: i64,
    ) -> Result<T, TokenRejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
        if header.typ.as_deref() != Some(typ) {
            return Err(TokenRejection::NotAnAccessToken);
        }
        let kid = header.kid.ok_or(TokenRejection::UnknownKey)?;
        let key = keys.verifying.get(&kid).ok_or(TokenRejection::UnknownKey)?;
        if header.alg != key.algorithm {
            return Err(TokenRejection::BadSignature);
        }
        let mut validation = jsonwebtoken::Validation::new(key.algorithm);
        // Times are checked below against the injectable clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&self.issuers);
        validation.set_audience(&[audience]);
        let data = jsonwebtoken::decode::<T>(token, &key.key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenRejection::BadSignature,
            jsonwebtoken::errors::ErrorKind::InvalidIssuer
            | jsonwebtoken::errors::ErrorKind::InvalidAudience => TokenRejection::WrongIssuer,
            _ => TokenRejection::Malformed,
        })?;
        let claims = data.claims;
        check_times(&claims, now)?;
        Ok(claims)
    }
}

/// Checks that a token with these claims may be used at `now`: it has not expired and its
/// `nbf` is not further ahead than the clock skew allowed.
pub fn check_times(claims: &impl Lifetime, now: i64) -> Result<(), TokenRejection> {
    if claims.expiry() <= now {
        return Err(TokenRejection::Expired);
    }
    if claims.not_before() > now + CLOCK_SKEW_SECS {
        return Err(TokenRejection::NotYetValid);
    }
    Ok(())
}

/// Tolerated difference between nodes' clocks for `nbf`.
pub const CLOCK_SKEW_SECS: i64 = 60;

/// Why a presented token was refused. Logged; clients only learn "invalid".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a JWS, or claims missing.
    #[error("malformed token")]
    Malformed,
    /// An ID token or other JWT presented as a bearer token.
    #[error("not an access token")]
    NotAnAccessToken,
    /// Signed by a key this deployment does not publish.
    #[error("unknown signing key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Issued by someone else or for someone else.
    #[error("wrong issuer or audience")]
    WrongIssuer,
    /// Past `exp`.
    #[error("expired")]
    Expired,
    /// Before `nbf`.
    #[error("not yet valid")]
    NotYetValid,
    /// The API client was deleted.
    #[error("client removed")]
    ClientRemoved,
    /// The owner was removed or its access reduced since issuance.
    #[error("owner removed or its access reduced")]
    StaleOwner,
    /// Revoked by its client (RFC 7009).
    #[error("revoked")]
    Revoked,
}
