//! Workspace sign-in: the OpenID Connect server at `/core` over end users and Workspace OAuth
//! clients. Authorization requests wait in the database for sign-in and consent; each
//! authorization becomes a grant, with one authorization code and, with `offline_access`, a
//! chain of refresh tokens. Everything a browser or client holds (session, pending request,
//! code, refresh token) is stored only as its SHA-256, so any node serves any step and a copy
//! of the database redeems nothing.

mod grants;
pub mod request;
pub mod scopes;
pub mod tokens;

use std::sync::Arc;

use serde::Serialize;

pub use grants::{GrantRefusal, Introspection, TokenSet, WorkspaceAccess};
pub use request::{AuthorizationRequest, AuthorizeError, ErrorRedirect, Prompt};

use crate::clock::Clock;
use crate::domain::console_sessions::ABSOLUTE_LIFETIME_SECS;
use crate::domain::end_users::EndUser;
use crate::domain::secrets::{generate_secret, sha256_hex};
use crate::domain::workspace_clients::WorkspaceClient;
use crate::error::Result;
use crate::keys::KeyRing;
use crate::store::{self, Store};

/// How long a pending authorization request waits for sign-in and consent.
pub const INTERACTION_LIFETIME_SECS: i64 = 600;
/// How long an authorization code may be redeemed.
pub const CODE_LIFETIME_SECS: i64 = 60;
/// How long a used code is remembered, so that its replay revokes what it gave.
pub const CODE_MEMORY_SECS: i64 = 86_400;
/// A session's last use is written at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

/// An end user's sign-in session at `/core`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceSession {
    /// The end user.
    pub user_id: String,
    /// Its customer.
    pub customer_id: String,
    /// When the user typed its password.
    pub auth_time: i64,
    /// When the session started.
    pub created_at: i64,
    /// When it was last used (to within a minute).
    pub last_seen_at: i64,
}

/// An authorization request waiting for sign-in or consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// The checked request.
    pub request: AuthorizationRequest,
    /// The token the sign-in and consent forms carry.
    pub csrf_token: String,
    /// Who signed in for it, once someone has.
    pub user_id: Option<String>,
    /// When that was.
    pub auth_time: Option<i64>,
    /// When it stops waiting.
    pub expires_at: i64,
}

/// What one authorization produced, and whether it still stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its id (the `grant` claim of its access tokens).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The end user.
    pub user_id: String,
    /// Their customer.
    pub customer_id: String,
    /// The scopes granted, space-separated.
    pub scope: String,
    /// When the user signed in.
    pub auth_time: i64,
    /// When it was made.
    pub created_at: i64,
    /// Until when it must be kept (its last token's expiry).
    pub expires_at: i64,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// An authorization code, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The grant it belongs to.
    pub grant_id: String,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// The request's nonce.
    pub nonce: Option<String>,
    /// The PKCE challenge.
    pub code_challenge: Option<String>,
    /// When it stops working.
    pub expires_at: i64,
    /// Whether it was redeemed.
    pub used: bool,
}

/// A refresh token, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// The grant (the token's family).
    pub grant_id: String,
    /// The scopes it may ask for.
    pub scope: String,
    /// When it was issued.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
    /// Whether it was spent (rotation: each works once).
    pub used: bool,
}

/// An end user's consent to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    /// The client.
    pub client_id: String,
    /// The scopes consented to.
    pub scopes: Vec<String>,
    /// When.
    pub granted_at: i64,
}

/// Lifetimes of what Workspace sign-in issues.
#[derive(Debug, Clone)]
pub struct SignInPolicy {
    /// Access and ID tokens.
    pub access_lifetime_secs: i64,
    /// Refresh tokens, from their issue (each rotation starts a new one).
    pub refresh_lifetime_secs: i64,
    /// Sessions end after this long without use.
    pub session_idle_secs: i64,
}

/// What an authorization request needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The user must sign in.
    SignIn,
    /// The user must consent.
    Consent,
    /// A code can be issued.
    Issue,
}

/// The Workspace sign-in service.
#[derive(Clone)]
pub struct WorkspaceSignIn {
    store: Store,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyRing>,
    policy: Arc<SignInPolicy>,
    issuers: Arc<[String]>,
}

impl std::fmt::Debug for WorkspaceSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorkspaceSignIn")
    }
}

impl WorkspaceSignIn {
    /// The service over `store`, signing with `keys`, accepting tokens of `issuers` (the
    /// `/core` issuer of every regional host).
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        keys: Arc<KeyRing>,
        policy: SignInPolicy,
        issuers: Vec<String>,
    ) -> Self {
        WorkspaceSignIn {
            store,
            clock,
            keys,
            policy: Arc::new(policy),
            issuers: issuers.into(),
        }
    }

    /// Lifetime of access tokens, in seconds.
    pub fn access_lifetime_secs(&self) -> i64 {
        self.policy.access_lifetime_secs
    }

    /// The client `client_id`, enabled or not.
    pub async fn client(&self, client_id: &str) -> Result<Option<WorkspaceClient>> {
        let mut conn = self.store.conn().await?;
        Ok(store::workspace_clients::by_client_id(&mut conn, client_id)
            .await?
            .map(|s| s.client))
    }

    /// The end user `user_id`, if it still exists.
    pub async fn user(&self, user_id: &str) -> Result<Option<EndUser>> {
        let mut conn = self.store.conn().await?;
        store::end_users::by_id(&mut conn, user_id).await
    }

    /// Starts a session for `user`, who just signed in; returns its token for the cookie.
    pub async fn start_session(&self, user: &EndUser) -> Result<(String, WorkspaceSession)> {
        let now = self.clock.now();
        let session = WorkspaceSession {
            user_id: user.id.clone(),
            customer_id: user.customer_id.clone(),
            auth_time: now,
            created_at: now,
            last_seen_at: now,
        };
        let token = generate_secret();
        let mut conn = self.store.conn().await?;
        store::workspace_sessions::insert(&mut conn, &sha256_hex(&token), &session).await?;
        Ok((token, session))
    }

    /// The live session of `token`, marked as used; `None` when it ended.
    pub async fn session(&self, token: &str) -> Result<Option<WorkspaceSession>> {
        let hash = sha256_hex(token);
        let mut conn = self.store.conn().await?;
        let Some(mut session) = store::workspace_sessions::get(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if now - session.last_seen_at >= self.policy.session_idle_secs
            || now - session.created_at >= ABSOLUTE_LIFETIME_SECS
        {
            store::workspace_sessions::delete(&mut conn, &hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY_SECS {
            store::workspace_sessions::touch(&mut conn, &hash, now).await?;
            session.last_seen_at = now;
        }
        Ok(Some(session))
    }

    /// Ends the session of `token`.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        let mut conn = self.store.conn().await?;
        store::workspace_sessions::delete(&mut conn, &sha256_hex(token)).await
    }

    /// What `request` of `client` needs, given the browser's `session`.
    pub async fn next_step(
        &self,
        request: &AuthorizationRequest,
        client: &WorkspaceClient,
        session: Option<&WorkspaceSession>,
    ) -> Result<Next> {
        let now = self.clock.now();
        let signed_in = session.filter(|s| {
            s.customer_id == client.customer_id
                && !request.prompt.login
                && request.max_age.is_none_or(|age| now - s.auth_time <= age)
        });
        let Some(session) = signed_in else {
            return Ok(Next::SignIn);
        };
        self.consent_step(request, client, &session.user_id).await
    }

    /// Whether `user_id`, signed in, must still consent to `request`.
    pub async fn consent_step(
        &self,
        request: &AuthorizationRequest,
        client: &WorkspaceClient,
        user_id: &str,
    ) -> Result<Next> {
        if !client.require_user_consent {
            return Ok(Next::Issue);
        }
        if request.prompt.consent {
            return Ok(Next::Consent);
        }
        let mut conn = self.store.conn().await?;
        let granted = store::workspace_grants::consent(&mut conn, user_id, &client.client_id)
            .await?
            .map(|s| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default();
        Ok(if scopes::covered(&request.scopes, &granted) {
            Next::Issue
        } else {
            Next::Consent
        })
    }

    /// Records that `user_id` consents to `scopes` for `client_id` (added to what it
    /// consented to before).
    pub async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        asked: &[String],
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        let mut granted: Vec<String> =
            store::workspace_grants::consent(&mut tx, user_id, client_id)
                .await?
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default();
        granted.extend(asked.iter().cloned());
        let joined = scopes::parse(&granted.join(" "))
            .unwrap_or(granted)
            .join(" ");
        store::workspace_grants::save_consent(
            &mut tx,
            user_id,
            client_id,
            &joined,
            self.clock.now(),
        )
        .await?;
        tx.commit().await
    }

    /// Stores `request` to wait for sign-in or consent; returns the id the browser carries.
    pub async fn begin(&self, request: AuthorizationRequest) -> Result<(String, Interaction)> {
        let now = self.clock.now();
        let interaction = Interaction {
            request,
            csrf_token: generate_secret(),
            user_id: None,
            auth_time: None,
            expires_at: now + INTERACTION_LIFETIME_SECS,
        };
        let id = generate_secret();
        let mut conn = self.store.conn().await?;
        store::workspace_sessions::insert_interaction(&mut conn, &sha256_hex(&id), &interaction)
            .await?;
        Ok((id, interaction))
    }

    /// The pending request `id`, unless it expired.
    pub async fn interaction(&self, id: &str) -> Result<Option<Interaction>> {
        let mut conn = self.store.conn().await?;
        let found = store::workspace_sessions::get_interaction(&mut conn, &sha256_hex(id)).await?;
        Ok(found.filter(|i| i.expires_at > self.clock.now()))
    }

    /// Records that `user_id` signed in for the pending request `id` at `auth_time`.
    pub async fn interaction_signed_in(
        &self,
        id: &str,
        user_id: &str,
        auth_time: i64,
    ) -> Result<()> {
        let mut conn = self.store.conn().await?;
        store::workspace_sessions::interaction_signed_in(
            &mut conn,
            &sha256_hex(id),
            user_id,
            auth_time,
        )
        .await
    }

    /// Deletes what is no longer needed: ended sessions, expired pending sign-ins, grants
    /// whose last token expired, and codes past their replay memory.
    pub async fn purge(&self) -> Result<()> {
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        store::workspace_sessions::purge(
            &mut tx,
            now - self.policy.session_idle_secs,
            now - ABSOLUTE_LIFETIME_SECS,
        )
        .await?;
        store::workspace_sessions::purge_interactions(&mut tx, now).await?;
        store::workspace_grants::purge(&mut tx, now, now - CODE_MEMORY_SECS).await?;
        tx.commit().await
    }

    /// Ends the pending request `id`; whether it was still pending (it completes once).
    pub async fn finish(&self, id: &str) -> Result<bool> {
        let mut conn = self.store.conn().await?;
        store::workspace_sessions::delete_interaction(&mut conn, &sha256_hex(id)).await
    }
}
