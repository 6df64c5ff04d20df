//! Signed-in sessions: the user, and tokens that are refreshed once for all the requests of a
//! session that find them due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openidconnect::AccessToken;
use openidconnect::core::CoreIdToken;
use tokio::sync::Mutex;

use crate::expiring_map::ExpiringMap;
use crate::provider::{Provider, RefreshError};
use crate::tokens::{Tokens, User};

/// The sessions, under the random ids that the session cookies hold.
pub type Sessions = ExpiringMap<Arc<Session>>;

/// One browser's sign-in.
pub struct Session {
    /// Who signed in.
    pub user: User,
    /// Behind an async lock held across a refresh, so that concurrent requests of one session
    /// wait for a single refresh instead of each spending the refresh token: the server
    /// rotates refresh tokens, and a spent one presented again revokes the whole family.
    tokens: Mutex<Tokens>,
}

/// Why a session has no usable access token.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The server no longer honours the session; it is over.
    #[error("the session has ended: {0}")]
    Ended(String),
    /// The server could not be reached to refresh the tokens.
    #[error("{0}")]
    Unavailable(String),
}

/// What signing out needs of a session's tokens.
pub struct SignOut {
    /// The token to revoke and its `token_type_hint`: the refresh token when there is one, as
    /// revoking it revokes its family, the access tokens included.
    pub revoke: (String, &'static str),
    /// The `id_token_hint` for the server's end-session endpoint.
    pub id_token: CoreIdToken,
}

impl Session {
    /// A session for `user` holding `tokens`.
    pub fn new(user: User, tokens: Tokens) -> Session {
        Session {
            user,
            tokens: Mutex::new(tokens),
        }
    }

    /// An access token to call with: the current one, refreshed first when it expires within
    /// `margin`, or when it is `refused` (the resource server turned it down).
    pub async fn access_token(
        &self,
        provider: &Provider,
        margin: Duration,
        refused: Option<&AccessToken>,
    ) -> Result<AccessToken, AccessError> {
        let mut tokens = self.tokens.lock().await;
        // Another request may have refreshed while this one waited for the lock: a token
        // other than the refused one is new.
        let rejected = refused.is_some_and(|r| r.secret() == tokens.access().secret());
        if !rejected && !tokens.due(Instant::now(), margin) {
            return Ok(tokens.access().clone());
        }
        let Some(refresh_token) = tokens.refresh().cloned() else {
            if rejected || tokens.expired(Instant::now()) {
                return Err(AccessError::Ended(
                    "the access token expired and there is no refresh token".to_owned(),
                ));
            }
            return Ok(tokens.access().clone());
        };
        match provider.refresh(&refresh_token).await {
            Ok((response, id_token)) => {
                tokens.renew(&response, id_token);
                Ok(tokens.access().clone())
            }
            Err(RefreshError::Refused(reason)) => Err(AccessError::Ended(reason)),
            Err(e @ RefreshError::Unavailable(_)) => Err(AccessError::Unavailable(e.to_string())),
        }
    }

    /// What signing out needs, once any refresh in flight has finished (so that the newest
    /// refresh token is the one revoked).
    pub async fn sign_out(&self) -> SignOut {
        let tokens = self.tokens.lock().await;
        let revoke = match tokens.refresh() {
            Some(refresh) => (refresh.secret().clone(), "refresh_token"),
            None => (tokens.access().secret().clone(), "access_token"),
        };
        SignOut {
            revoke,
            id_token: tokens.id_token().clone(),
        }
    }
}
