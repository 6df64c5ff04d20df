//! A session's tokens and the user they belong to, as kept on the server.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreIdToken, CoreTokenResponse};
use openidconnect::{AccessToken, OAuth2TokenResponse, RefreshToken};

/// Who signed in, from the verified ID token.
#[derive(Clone, Debug)]
pub struct User {
    /// The `sub` claim.
    pub subject: String,
    /// The `name` claim, with the `profile` scope.
    pub name: Option<String>,
    /// The `email` claim, with the `email` scope.
    pub email: Option<String>,
}

/// The tokens of one session. They stay on the server: the browser never sees them.
pub struct Tokens {
    access: AccessToken,
    refresh: Option<RefreshToken>,
    /// `None` when the server gave no `expires_in`: the token is then used until refused.
    expires_at: Option<Instant>,
    /// The latest verified ID token, the `id_token_hint` of the sign-out.
    id_token: CoreIdToken,
}

impl Tokens {
    /// The tokens of a code exchange, with its verified ID token.
    pub fn issued(response: &CoreTokenResponse, id_token: CoreIdToken) -> Tokens {
        Tokens {
            access: response.access_token().clone(),
            refresh: response.refresh_token().cloned(),
            expires_at: expiry(response),
            id_token,
        }
    }

    /// Takes in the answer of a refresh. The server rotates refresh tokens, so the new one
    /// replaces the old; were none sent, the old one would still be good.
    pub fn renew(&mut self, response: &CoreTokenResponse, id_token: Option<CoreIdToken>) {
        self.access = response.access_token().clone();
        if let Some(refresh) = response.refresh_token() {
            self.refresh = Some(refresh.clone());
        }
        self.expires_at = expiry(response);
        if let Some(id_token) = id_token {
            self.id_token = id_token;
        }
    }

    /// The access token.
    pub fn access(&self) -> &AccessToken {
        &self.access
    }

    /// The refresh token, when the server gave one.
    pub fn refresh(&self) -> Option<&RefreshToken> {
        self.refresh.as_ref()
    }

    /// The latest ID token.
    pub fn id_token(&self) -> &CoreIdToken {
        &self.id_token
    }

    /// Whether the access token expires within `margin` of `now` (or has expired).
    pub fn due(&self, now: Instant, margin: Duration) -> bool {
        self.expires_at
            .is_some_and(|at| at.saturating_duration_since(now) <= margin)
    }

    /// Whether the access token has expired at `now`.
    pub fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// When the tokens of `response` expire, counted from now: the time the answer arrived is
/// the latest it can have been issued, so the token is never thought to live longer than it
/// does.
fn expiry(response: &CoreTokenResponse) -> Option<Instant> {
    response
        .expires_in()
        .and_then(|lifetime| Instant::now().checked_add(lifetime))
}
