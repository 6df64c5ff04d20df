//! Sessions of the web console: who signed in, as which administrator, until when.
//!
//! The browser holds a 256-bit random token; only its SHA-256 is stored, so a copy of the
//! database opens no session. A session ends when it has been idle too long, when it reaches
//! its absolute lifetime, when its administrator is removed, or at sign-out.

use std::sync::Arc;

use crate::clock::Clock;
use crate::domain::administrators::Administrator;
use crate::domain::secrets::{generate_secret, sha256_hex};
use crate::error::{Error, Result};
use crate::store::{self, Store};

/// How long a session lasts however busy it is.
pub const ABSOLUTE_LIFETIME_SECS: i64 = 12 * 3600;

/// A session's last use is written at most this often, so that browsing the console does not
/// write on every page.
const TOUCH_EVERY_SECS: i64 = 60;

/// A console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The administrator the session acts as; `None` until one of `choices` is picked.
    pub administrator_id: Option<String>,
    /// The administrators (one per customer) whose password the sign-in matched.
    pub choices: Vec<String>,
    /// The token every form of the session must carry.
    pub csrf_token: String,
    /// When it started, unix seconds.
    pub created_at: i64,
    /// When it was last used, unix seconds (to within a minute).
    pub last_seen_at: i64,
}

/// The console's sessions.
#[derive(Clone)]
pub struct ConsoleSessions {
    store: Store,
    clock: Arc<dyn Clock>,
    idle_secs: i64,
}

impl std::fmt::Debug for ConsoleSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleSessions")
    }
}

impl ConsoleSessions {
    /// Sessions over `store` that end after `idle_secs` without use.
    pub fn new(store: Store, clock: Arc<dyn Clock>, idle_secs: i64) -> Self {
        ConsoleSessions {
            store,
            clock,
            idle_secs: idle_secs.max(60),
        }
    }

    /// Starts a session for the administrators a sign-in matched; with one, the session acts
    /// as it at once. Returns the session token, for the cookie. Ended sessions are cleared
    /// here, so that the table holds only live ones.
    pub async fn start(&self, matched: &[Administrator]) -> Result<(String, ConsoleSession)> {
        if matched.is_empty() {
            return Err(Error::internal("a session needs an administrator"));
        }
        let now = self.clock.now();
        let session = ConsoleSession {
            administrator_id: match matched {
                [only] => Some(only.id.clone()),
                _ => None,
            },
            choices: matched.iter().map(|a| a.id.clone()).collect(),
            csrf_token: generate_secret(),
            created_at: now,
            last_seen_at: now,
        };
        let token = generate_secret();
        let mut tx = self.store.begin().await?;
        store::console_sessions::purge(&mut tx, now - self.idle_secs, now - ABSOLUTE_LIFETIME_SECS)
            .await?;
        store::console_sessions::insert(&mut tx, &sha256_hex(&token), &session).await?;
        tx.commit().await?;
        Ok((token, session))
    }

    /// The live session of `token`, marked as used now; `None` when there is none, or it
    /// ended (it is then deleted).
    pub async fn find(&self, token: &str) -> Result<Option<ConsoleSession>> {
        let hash = sha256_hex(token);
        let mut conn = self.store.conn().await?;
        let Some(mut session) = store::console_sessions::get(&mut conn, &hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        if now - session.last_seen_at >= self.idle_secs
            || now - session.created_at >= ABSOLUTE_LIFETIME_SECS
        {
            store::console_sessions::delete(&mut conn, &hash).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY_SECS {
            store::console_sessions::touch(&mut conn, &hash, now).await?;
            session.last_seen_at = now;
        }
        Ok(Some(session))
    }

    /// Makes the session of `token` act as `administrator_id`, one of its choices.
    pub async fn choose(
        &self,
        token: &str,
        session: &ConsoleSession,
        administrator_id: &str,
    ) -> Result<()> {
        if !session.choices.iter().any(|c| c == administrator_id) {
            return Err(Error::Forbidden(
                "that customer was not part of this sign-in".to_owned(),
            ));
        }
        let mut conn = self.store.conn().await?;
        store::console_sessions::choose(
            &mut conn,
            &sha256_hex(token),
            administrator_id,
            self.clock.now(),
        )
        .await
    }

    /// Ends the session of `token` (sign-out).
    pub async fn end(&self, token: &str) -> Result<()> {
        let mut conn = self.store.conn().await?;
        store::console_sessions::delete(&mut conn, &sha256_hex(token)).await
    }
}
