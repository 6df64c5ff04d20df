//! Smart Tools API keys and the tokens they get (`/v0`). Keys are looked up in the database:
//! their endpoint is not the hot path.

use std::net::IpAddr;

use super::{Auth, Outcome, Refusal};
use crate::domain::administrators::Administrator;
use crate::domain::customers::Customer;
use crate::domain::smart_keys::is_well_formed;
use crate::domain::tokens::SmartClaims;
use crate::error::Result;
use crate::throttle::Subject;

impl Auth {
    /// Checks a Smart Tools API key and its secret: the administrator and customer behind
    /// it. Something that is not a key at all counts against the address and is never looked
    /// up.
    pub async fn authenticate_smart_key(
        &self,
        source: IpAddr,
        api_key: &str,
        secret: &str,
    ) -> Result<Outcome<(Administrator, Customer)>> {
        let throttle = &self.throttle;
        if !is_well_formed(api_key) {
            let address = Subject::Address(source);
            if let Some(wait) = throttle.wait(address) {
                return Ok(Err(Refusal::Throttled(wait)));
            }
            throttle.failed(address);
            return Ok(Err(Refusal::Invalid));
        }
        let key = Subject::Client(api_key, source);
        if let Some(wait) = throttle.wait(key) {
            return Ok(Err(Refusal::Throttled(wait)));
        }
        match self.directory.verify_smart_key(api_key, secret).await? {
            Some(found) => Ok(Ok(found)),
            None => {
                throttle.failed(key);
                tracing::info!("Smart Tools token refused: bad credentials");
                Ok(Err(Refusal::Invalid))
            }
        }
    }

    /// The administrator and customer behind a Smart Tools API key named without its secret
    /// (`/v0/companies`, `/v0/roles`).
    pub async fn smart_key_owner(
        &self,
        api_key: &str,
    ) -> Result<Outcome<(Administrator, Customer)>> {
        if !is_well_formed(api_key) {
            return Ok(Err(Refusal::Invalid));
        }
        Ok(match self.directory.lookup_smart_key(api_key).await? {
            Some(found) => Ok(found),
            None => Err(Refusal::Invalid),
        })
    }

    /// Issues a Smart Tools token for `owner` of `customer`, made with `api_key`, for `scope`
    /// (company id, role).
    pub fn issue_smart_token(
        &self,
        owner: &Administrator,
        customer: &Customer,
        api_key: &str,
        scope: Vec<String>,
    ) -> Result<(String, SmartClaims)> {
        self.tokens.issue_smart(
            &self.keys.current(),
            &owner.id,
            &customer.id,
            api_key,
            scope,
            self.clock.now(),
        )
    }

    /// The claims of a presented Smart Tools token, and the administrator and customer behind
    /// its key as they are now.
    pub async fn smart_caller(
        &self,
        token: &str,
    ) -> Result<Outcome<(SmartClaims, Administrator, Customer)>> {
        let claims = match self
            .tokens
            .verify_smart(&self.keys.current(), token, self.clock.now())
        {
            Ok(claims) => claims,
            Err(reason) => {
                tracing::info!(%reason, "Smart Tools token refused");
                return Ok(Err(Refusal::Invalid));
            }
        };
        Ok(self
            .smart_key_owner(&claims.api_key)
            .await?
            .map(|(owner, customer)| (claims, owner, customer)))
    }
}
