//! Bearer tokens presented to cloudtrust's own APIs: beyond the signature and times, the
//! client must still exist and its owner's access must not have been reduced since issuance.

use std::sync::Arc;

use super::verified_tokens::VerifiedTokens;
use super::{Auth, Elsewhere, Outcome, Refusal};
use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::audit::Actor;
use crate::domain::customers::Customer;
use crate::domain::tokens::{AccessClaims, TokenRejection, check_times};
use crate::error::Result;
use crate::regions::Serving;

/// The caller behind a valid bearer token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's claims.
    pub claims: AccessClaims,
    /// The API client.
    pub client: Arc<ApiClientCredential>,
    /// The administrator it acts for, with current access.
    pub owner: Arc<Administrator>,
}

impl Caller {
    /// The caller as the directory sees it: its owner, with the owner's current access.
    pub fn actor(&self) -> Actor {
        Actor::administrator(&self.owner)
    }
}

impl Auth {
    /// The caller a presented bearer token stands for.
    pub async fn caller(&self, token: &str) -> Result<Outcome<Caller>> {
        Ok(self.check_bearer(token).await?.map_err(|reason| {
            tracing::info!(%reason, "bearer token refused");
            Refusal::Invalid
        }))
    }

    /// The customer `customer_id`, as the token endpoints see it.
    pub async fn customer(&self, customer_id: &str) -> Result<Option<Arc<Customer>>> {
        self.cache.customer(customer_id).await
    }

    /// Where the customer `customer_id` is served instead, when `serving` may not serve it.
    pub async fn served_elsewhere(
        &self,
        serving: &Serving,
        customer_id: &str,
    ) -> Result<Option<Elsewhere>> {
        Ok(match self.cache.customer(customer_id).await? {
            Some(customer) => self.elsewhere(serving, &customer),
            None => None,
        })
    }

    /// Checks a bearer token: signature (once per token, see [`VerifiedTokens`]) and times,
    /// then that it is not revoked, its client still exists and its owner's access was not
    /// reduced since issuance.
    pub(super) async fn check_bearer(&self, token: &str) -> Result<Result<Caller, TokenRejection>> {
        let keys = self.keys.current();
        let now = self.clock.now();
        let key = VerifiedTokens::key(token);
        let claims = match self.verified.get(&keys, &key) {
            Some(claims) => match check_times(&claims, now) {
                Ok(()) => claims,
                Err(reason) => return Ok(Err(reason)),
            },
            None => match self.tokens.verify_access(&keys, token, now) {
                Ok(claims) => {
                    self.verified.insert(&keys, key, &claims, now);
                    claims
                }
                Err(reason) => return Ok(Err(reason)),
            },
        };
        if self.cache.is_revoked(&claims.jti, now).await? {
            return Ok(Err(TokenRejection::Revoked));
        }
        let Some(client) = self
            .cache
            .client(&claims.sub)
            .await?
            .filter(|c| c.owner_id == claims.admin && c.customer_id == claims.customer)
        else {
            return Ok(Err(TokenRejection::ClientRemoved));
        };
        let Some(owner) = self
            .cache
            .administrator(&claims.admin)
            .await?
            .filter(|o| o.permission_generation == claims.generation)
        else {
            return Ok(Err(TokenRejection::StaleOwner));
        };
        Ok(Ok(Caller {
            claims,
            client,
            owner,
        }))
    }
}
