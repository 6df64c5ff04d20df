//! Codes, tokens and their lifecycle: an authorization code is redeemed once, by the client
//! it was issued to, with its PKCE verifier; its replay revokes its grant (RFC 9700 §4.5).
//! Refresh tokens rotate: each works once, and a spent one presented again revokes the whole
//! family (RFC 9700 §4.14).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use super::scopes::{self, OFFLINE_ACCESS, OPENID};
use super::tokens::{
    self, UserClaims, WorkspaceAccessClaims, WorkspaceIdClaims, access_token_hash, audience_of,
};
use super::{
    AuthorizationRequest, CODE_LIFETIME_SECS, Grant, IssuedCode, RefreshRecord, WorkspaceSignIn,
};
use crate::domain::end_users::EndUser;
use crate::domain::secrets::{generate_secret, sha256_hex};
use crate::domain::workspace_clients::WorkspaceClient;
use crate::error::Result;
use crate::store::{self, Tx};

/// What the token endpoint answers on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// The access token (JWT).
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: i64,
    /// The ID token, with `openid`.
    pub id_token: Option<String>,
    /// A new refresh token, with `offline_access`.
    pub refresh_token: Option<String>,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// Why a grant was refused at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRefusal {
    /// `invalid_grant` or `invalid_scope`.
    pub error: &'static str,
    /// Words for the developer.
    pub description: &'static str,
}

const fn invalid_grant(description: &'static str) -> GrantRefusal {
    GrantRefusal {
        error: "invalid_grant",
        description,
    }
}

/// A Workspace access token that still stands, and whose it is.
#[derive(Debug, Clone)]
pub struct WorkspaceAccess {
    /// Its claims.
    pub claims: WorkspaceAccessClaims,
    /// The end user.
    pub user: EndUser,
}

/// An RFC 7662 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Introspection {
    /// Whether the token is active.
    pub active: bool,
    /// Its scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Its client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The end user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `access_token` or `refresh_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<&'static str>,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Issued at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The end user's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// What to sign for a grant.
struct Issuance<'a> {
    grant: &'a Grant,
    user: &'a EndUser,
    /// The scopes of the access token (and what the ID token releases).
    scopes: Vec<&'a str>,
    nonce: Option<String>,
    /// Whether a refresh token comes with it.
    refresh: bool,
}

/// Whether `verifier` (RFC 7636: 43–128 unreserved characters) hashes to `challenge`.
fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    let hash = digest::digest(&digest::SHA256, verifier.as_bytes());
    let computed = URL_SAFE_NO_PAD.encode(hash.as_ref());
    well_formed && verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes()).is_ok()
}

impl WorkspaceSignIn {
    /// Issues an authorization code for `request`, signed in as `user_id` at `auth_time`.
    pub async fn issue_code(
        &self,
        request: &AuthorizationRequest,
        client: &WorkspaceClient,
        user_id: &str,
        auth_time: i64,
    ) -> Result<String> {
        let now = self.clock.now();
        let grant = Grant {
            id: uuid::Uuid::new_v4().to_string(),
            client_id: client.client_id.clone(),
            user_id: user_id.to_owned(),
            customer_id: client.customer_id.clone(),
            scope: request.scope(),
            auth_time,
            created_at: now,
            expires_at: now + CODE_LIFETIME_SECS,
            revoked: false,
        };
        let code = generate_secret();
        let mut tx = self.store.begin().await?;
        store::workspace_grants::insert_grant(&mut tx, &grant).await?;
        store::workspace_grants::insert_code(
            &mut tx,
            &sha256_hex(&code),
            &IssuedCode {
                grant_id: grant.id,
                redirect_uri: request.redirect_uri.clone(),
                nonce: request.nonce.clone(),
                code_challenge: request.code_challenge.clone(),
                expires_at: now + CODE_LIFETIME_SECS,
                used: false,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Redeems `code` for `client` (authenticated by the caller), at `issuer`.
    pub async fn redeem_code(
        &self,
        client: &WorkspaceClient,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        issuer: &str,
    ) -> Result<std::result::Result<TokenSet, GrantRefusal>> {
        let now = self.clock.now();
        let hash = sha256_hex(code);
        let mut tx = self.store.begin().await?;
        let Some(issued) = store::workspace_grants::code(&mut tx, &hash).await? else {
            return Ok(Err(invalid_grant("the code is not valid")));
        };
        let Some(grant) = store::workspace_grants::grant(&mut tx, &issued.grant_id).await? else {
            return Ok(Err(invalid_grant("the code is not valid")));
        };
        if grant.client_id != client.client_id {
            return Ok(Err(invalid_grant("the code was issued to another client")));
        }
        if issued.used || !store::workspace_grants::spend_code(&mut tx, &hash, now).await? {
            store::workspace_grants::revoke_grant(&mut tx, &grant.id, now).await?;
            tx.commit().await?;
            tracing::warn!(client = %client.client_id, "authorization code replayed; its grant is revoked");
            return Ok(Err(invalid_grant(
                "the code was already used; the tokens issued from it are revoked",
            )));
        }
        let refusal = if issued.expires_at <= now {
            Some(invalid_grant("the code has expired"))
        } else if grant.revoked {
            Some(invalid_grant("the code is not valid"))
        } else if redirect_uri != Some(issued.redirect_uri.as_str()) {
            Some(invalid_grant(
                "redirect_uri must be the one of the authorization request",
            ))
        } else {
            match (&issued.code_challenge, verifier) {
                (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => None,
                (Some(_), Some(_)) => Some(invalid_grant("the code_verifier does not match")),
                (Some(_), None) => Some(invalid_grant("code_verifier is required")),
                (None, Some(_)) => Some(invalid_grant(
                    "code_verifier was sent, but the authorization request had no code_challenge",
                )),
                (None, None) => None,
            }
        };
        if let Some(refusal) = refusal {
            // The code is spent all the same: a guessed verifier gets one try.
            tx.commit().await?;
            return Ok(Err(refusal));
        }
        let Some(user) = store::end_users::by_id(&mut tx, &grant.user_id).await? else {
            tx.commit().await?;
            return Ok(Err(invalid_grant("the user no longer exists")));
        };
        let scopes: Vec<&str> = grant.scope.split_whitespace().collect();
        let what = Issuance {
            refresh: scopes.contains(&OFFLINE_ACCESS),
            grant: &grant,
            user: &user,
            scopes,
            nonce: issued.nonce,
        };
        let set = self.issue(&mut tx, what, issuer, now).await?;
        tx.commit().await?;
        Ok(Ok(set))
    }

    /// Exchanges the refresh token `token` of `client` for new tokens (and a new refresh
    /// token), narrowed to `scope` when given.
    pub async fn refresh(
        &self,
        client: &WorkspaceClient,
        token: &str,
        scope: Option<&str>,
        issuer: &str,
    ) -> Result<std::result::Result<TokenSet, GrantRefusal>> {
        let now = self.clock.now();
        let hash = sha256_hex(token);
        let mut tx = self.store.begin().await?;
        let Some(record) = store::workspace_grants::refresh(&mut tx, &hash).await? else {
            return Ok(Err(invalid_grant("the refresh token is not valid")));
        };
        let Some(grant) = store::workspace_grants::grant(&mut tx, &record.grant_id).await? else {
            return Ok(Err(invalid_grant("the refresh token is not valid")));
        };
        if grant.client_id != client.client_id {
            return Ok(Err(invalid_grant(
                "the refresh token was issued to another client",
            )));
        }
        if record.used || !store::workspace_grants::spend_refresh(&mut tx, &hash, now).await? {
            store::workspace_grants::revoke_grant(&mut tx, &grant.id, now).await?;
            tx.commit().await?;
            tracing::warn!(client = %client.client_id, "refresh token reused; its family is revoked");
            return Ok(Err(invalid_grant(
                "the refresh token was already used; its whole family is revoked",
            )));
        }
        if record.expires_at <= now || grant.revoked {
            tx.commit().await?;
            return Ok(Err(invalid_grant(
                "the refresh token has expired or was revoked",
            )));
        }
        let allowed: Vec<String> = record.scope.split_whitespace().map(str::to_owned).collect();
        let asked = match scope {
            None => allowed.clone(),
            Some(text) => match scopes::parse(text) {
                Ok(asked) if scopes::covered(&asked, &allowed) && !asked.is_empty() => asked,
                _ => {
                    return Ok(Err(GrantRefusal {
                        error: "invalid_scope",
                        description: "scope must be among the scopes originally granted",
                    }));
                }
            },
        };
        let Some(user) = store::end_users::by_id(&mut tx, &grant.user_id).await? else {
            tx.commit().await?;
            return Ok(Err(invalid_grant("the user no longer exists")));
        };
        let what = Issuance {
            grant: &grant,
            user: &user,
            scopes: asked.iter().map(String::as_str).collect(),
            nonce: None,
            // The family goes on whatever the access token is narrowed to.
            refresh: true,
        };
        let set = self.issue(&mut tx, what, issuer, now).await?;
        tx.commit().await?;
        Ok(Ok(set))
    }

    /// Signs the tokens of a grant, and stores its next refresh token when asked to.
    async fn issue(
        &self,
        tx: &mut Tx,
        what: Issuance<'_>,
        issuer: &str,
        now: i64,
    ) -> Result<TokenSet> {
        let Issuance {
            grant,
            user,
            scopes,
            nonce,
            refresh,
        } = what;
        let keys = self.keys.current();
        let lifetime = self.policy.access_lifetime_secs;
        let access = WorkspaceAccessClaims {
            iss: issuer.to_owned(),
            sub: user.id.clone(),
            aud: audience_of(issuer),
            iat: now,
            nbf: now,
            exp: now + lifetime,
            jti: uuid::Uuid::new_v4().to_string(),
            client_id: grant.client_id.clone(),
            scope: scopes.join(" "),
            customer: grant.customer_id.clone(),
            auth_time: grant.auth_time,
            grant: grant.id.clone(),
        };
        let access_token = tokens::sign_access(&keys, &access)?;
        let id_token = if scopes.contains(&OPENID) {
            let claims = WorkspaceIdClaims {
                iss: issuer.to_owned(),
                sub: user.id.clone(),
                aud: grant.client_id.clone(),
                iat: now,
                exp: now + lifetime,
                auth_time: grant.auth_time,
                nonce,
                at_hash: access_token_hash(tokens::signing_algorithm(&keys), &access_token),
                amr: vec!["pwd".to_owned()],
                customer: grant.customer_id.clone(),
                about: UserClaims::of(user, &scopes),
            };
            Some(tokens::sign_id(&keys, &claims)?)
        } else {
            None
        };
        let mut keep_until = now + lifetime;
        let refresh_token = if refresh {
            let token = generate_secret();
            let expires_at = now + self.policy.refresh_lifetime_secs;
            store::workspace_grants::insert_refresh(
                tx,
                &sha256_hex(&token),
                &RefreshRecord {
                    grant_id: grant.id.clone(),
                    scope: grant.scope.clone(),
                    created_at: now,
                    expires_at,
                    used: false,
                },
            )
            .await?;
            keep_until = keep_until.max(expires_at);
            Some(token)
        } else {
            None
        };
        store::workspace_grants::extend_grant(tx, &grant.id, keep_until).await?;
        Ok(TokenSet {
            access_token,
            expires_in: lifetime,
            id_token,
            refresh_token,
            scope: access.scope,
        })
    }

    /// The Workspace access token `token`, if it verifies and its grant, user and client
    /// still stand.
    pub async fn check_access(&self, token: &str) -> Result<Option<WorkspaceAccess>> {
        let now = self.clock.now();
        let claims = match tokens::verify_access(&self.keys.current(), &self.issuers, token, now) {
            Ok(claims) => claims,
            Err(reason) => {
                tracing::debug!(%reason, "Workspace access token refused");
                return Ok(None);
            }
        };
        let mut conn = self.store.conn().await?;
        if store::workspace_grants::access_revoked(&mut conn, &claims.jti).await? {
            return Ok(None);
        }
        let grant = store::workspace_grants::grant(&mut conn, &claims.grant).await?;
        if grant.is_none_or(|g| g.revoked) {
            return Ok(None);
        }
        let client = store::workspace_clients::by_client_id(&mut conn, &claims.client_id).await?;
        if !client.is_some_and(|c| c.client.enabled) {
            return Ok(None);
        }
        let user = store::end_users::by_id(&mut conn, &claims.sub).await?;
        Ok(user.map(|user| WorkspaceAccess { claims, user }))
    }

    /// Revokes `token` (a refresh token: its whole family; an access token: itself) when it
    /// belongs to `client`; anything else is ignored, as RFC 7009 requires.
    pub async fn revoke(&self, client: &WorkspaceClient, token: &str) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        if let Some(record) = store::workspace_grants::refresh(&mut tx, &sha256_hex(token)).await? {
            let grant = store::workspace_grants::grant(&mut tx, &record.grant_id).await?;
            if grant.is_some_and(|g| g.client_id == client.client_id) {
                store::workspace_grants::revoke_grant(&mut tx, &record.grant_id, now).await?;
            }
        } else if let Ok(claims) =
            tokens::verify_access(&self.keys.current(), &self.issuers, token, now)
            && claims.client_id == client.client_id
        {
            store::workspace_grants::revoke_access(&mut tx, &claims.jti, claims.exp).await?;
        }
        tx.commit().await
    }

    /// What RFC 7662 says of `token` to `client`: only its own tokens are ever active.
    pub async fn introspect(&self, client: &WorkspaceClient, token: &str) -> Result<Introspection> {
        let now = self.clock.now();
        if let Some(access) = self.check_access(token).await? {
            if access.claims.client_id != client.client_id {
                return Ok(Introspection::default());
            }
            let c = access.claims;
            return Ok(Introspection {
                active: true,
                scope: Some(c.scope),
                client_id: Some(c.client_id),
                username: Some(access.user.email),
                token_type: Some("access_token"),
                exp: Some(c.exp),
                iat: Some(c.iat),
                sub: Some(c.sub),
                aud: Some(c.aud),
                iss: Some(c.iss),
                jti: Some(c.jti),
            });
        }
        let mut conn = self.store.conn().await?;
        let Some(record) = store::workspace_grants::refresh(&mut conn, &sha256_hex(token)).await?
        else {
            return Ok(Introspection::default());
        };
        let Some(grant) = store::workspace_grants::grant(&mut conn, &record.grant_id).await? else {
            return Ok(Introspection::default());
        };
        let user = store::end_users::by_id(&mut conn, &grant.user_id).await?;
        let (Some(user), true) = (
            user,
            grant.client_id == client.client_id
                && client.enabled
                && !grant.revoked
                && !record.used
                && record.expires_at > now,
        ) else {
            return Ok(Introspection::default());
        };
        Ok(Introspection {
            active: true,
            scope: Some(record.scope),
            client_id: Some(grant.client_id),
            username: Some(user.email),
            token_type: Some("refresh_token"),
            exp: Some(record.expires_at),
            iat: Some(record.created_at),
            sub: Some(user.id),
            ..Introspection::default()
        })
    }

    /// The issuers whose ID tokens are read as `id_token_hint`.
    pub fn read_id_token_hint(&self, token: &str) -> Option<WorkspaceIdClaims> {
        tokens::read_id_token_hint(&self.keys.current(), &self.issuers, token).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }
}
