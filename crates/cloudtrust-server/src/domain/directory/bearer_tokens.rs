//! Revoking API clients' bearer tokens before they expire (RFC 7009). The revocation is kept
//! until the token would have expired anyway, and every node learns of it from the change log.

use super::{Directory, Event};
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::error::Result;
use crate::store;

/// A bearer token to revoke: whose it is and until when it would be valid.
#[derive(Debug, Clone, Copy)]
pub struct TokenToRevoke<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// Its `exp`, unix seconds.
    pub expires_at: i64,
    /// The API client it was issued to.
    pub client_id: &'a str,
    /// That client's name, for the system log.
    pub client_name: &'a str,
    /// That client's customer.
    pub customer_id: &'a str,
}

impl Directory {
    /// Revokes `token`, on behalf of the API client it was issued to (`actor`: its owner).
    pub async fn revoke_bearer_token(&self, actor: &Actor, token: TokenToRevoke<'_>) -> Result<()> {
        let mut tx = self.store.begin().await?;
        store::revoked_bearer_tokens::insert(&mut tx, token.jti, token.client_id, token.expires_at)
            .await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::RevokedBearerToken,
                event_type: event_types::SECURECLIENT_TOKEN_REVOKED,
                customer_id: token.customer_id,
                target_id: token.jti,
                target_name: token.client_name,
                before: None,
                after: None,
                message: format!("a bearer token of API client {} revoked", token.client_name),
            },
        )
        .await
    }

    /// Forgets revocations of tokens that have expired since (maintenance); how many.
    pub async fn purge_revoked_bearer_tokens(&self) -> Result<u64> {
        let now = self.clock.now();
        store::revoked_bearer_tokens::purge(&mut *self.store.conn().await?, now).await
    }
}
