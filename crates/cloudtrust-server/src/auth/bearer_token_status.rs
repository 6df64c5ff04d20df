//! Introspection (RFC 7662) and revocation (RFC 7009) of API clients' bearer tokens. The
//! client authenticates as at the token endpoint, and may learn about or revoke only its own
//! tokens: another client's token is inactive to it, and revoking it does nothing.

use std::net::IpAddr;
use std::sync::Arc;

use super::bearer::Caller;
use super::{Auth, Outcome};
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::directory::TokenToRevoke;
use crate::error::Result;
use crate::regions::Serving;

/// An API client's credentials and the token it asks about.
#[derive(Debug, Clone, Copy)]
pub struct TokenQuery<'a> {
    /// The customer named in the path (`root` or the client's own).
    pub path_customer: &'a str,
    /// The asking client's id.
    pub client_id: &'a str,
    /// The asking client's secret.
    pub client_secret: &'a str,
    /// The token asked about.
    pub token: &'a str,
}

impl Auth {
    /// What `query.token` stands for, if it would be accepted now and is the asking client's;
    /// `None` when it is inactive to that client.
    pub async fn introspect_bearer_token(
        &self,
        serving: &Serving,
        source: IpAddr,
        query: TokenQuery<'_>,
    ) -> Result<Outcome<Option<Caller>>> {
        Ok(match self.asking_client(serving, source, &query).await? {
            Ok(asking) => Ok(self.own_token(&asking, query.token).await?),
            Err(refusal) => Err(refusal),
        })
    }

    /// Revokes `query.token` if it is the asking client's and still active. RFC 7009 §2.2: an
    /// invalid, expired or foreign token needs nothing done and gets the same answer.
    pub async fn revoke_bearer_token(
        &self,
        serving: &Serving,
        source: IpAddr,
        query: TokenQuery<'_>,
    ) -> Result<Outcome<()>> {
        let asking = match self.asking_client(serving, source, &query).await? {
            Ok(asking) => asking,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if let Some(caller) = self.own_token(&asking, query.token).await? {
            let token = TokenToRevoke {
                jti: &caller.claims.jti,
                expires_at: caller.claims.exp,
                client_id: &caller.client.id,
                client_name: &caller.client.name,
                customer_id: &caller.client.customer_id,
            };
            self.directory
                .revoke_bearer_token(&caller.actor(), token)
                .await?;
        }
        Ok(Ok(()))
    }

    /// The asking client, authenticated as at the token endpoint.
    async fn asking_client(
        &self,
        serving: &Serving,
        source: IpAddr,
        query: &TokenQuery<'_>,
    ) -> Result<Outcome<Arc<ApiClientCredential>>> {
        Ok(self
            .authenticate_api_client(
                serving,
                source,
                query.path_customer,
                query.client_id,
                query.client_secret,
            )
            .await?
            .map(|authenticated| authenticated.client))
    }

    async fn own_token(&self, asking: &ApiClientCredential, token: &str) -> Result<Option<Caller>> {
        Ok(match self.check_bearer(token).await? {
            Ok(caller) if caller.client.id == asking.id => Some(caller),
            Ok(_) => None,
            Err(reason) => {
                tracing::debug!(%reason, "introspected token inactive");
                None
            }
        })
    }
}
