//! API clients at the token endpoints (OAuth 2.0 client credentials, the legacy trust
//! service, the portal's Generate button): authenticate, then issue a bearer token.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Auth, Outcome, Refusal};
use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::tokens::IssuedToken;
use crate::error::Result;
use crate::regions::Serving;
use crate::throttle::Subject;

/// The special customer id that means "the client's own customer".
pub const ROOT: &str = "root";

/// An authenticated API client and the administrator it acts for.
pub(super) struct AuthenticatedClient {
    pub(super) client: Arc<ApiClientCredential>,
    pub(super) owner: Arc<Administrator>,
}

/// A bearer token just issued, with the client and the administrator it is for.
#[derive(Debug)]
pub struct Issued {
    /// The client.
    pub client: Arc<ApiClientCredential>,
    /// Its owner, as of now.
    pub owner: Arc<Administrator>,
    /// The token and its claims.
    pub token: IssuedToken,
    /// When it was issued (unix seconds).
    pub now: i64,
}

impl Auth {
    /// Authenticates an API client and issues its bearer token as `serving`'s issuer,
    /// recording the use.
    pub async fn issue_api_client_token(
        &self,
        serving: &Serving,
        source: IpAddr,
        path_customer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Outcome<Issued>> {
        let AuthenticatedClient { client, owner } = match self
            .authenticate_api_client(serving, source, path_customer, client_id, client_secret)
            .await?
        {
            Ok(authenticated) => authenticated,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let now = self.clock.now();
        let token = self.tokens.issue_access(
            &self.keys.current(),
            &serving.base_url,
            &client,
            &owner,
            now,
        )?;
        self.usage.record(&client, &token.jti, now);
        Ok(Ok(Issued {
            client,
            owner,
            token,
            now,
        }))
    }

    /// The OpenID Connect ID token the trust endpoint gives beside a bearer token.
    pub fn issue_id_token(&self, serving: &Serving, issued: &Issued) -> Result<String> {
        self.tokens.issue_id_token(
            &self.keys.current(),
            &serving.base_url,
            &issued.client,
            &issued.owner,
            issued.now,
        )
    }

    /// Checks `client_id` / `client_secret` for the customer named in the path (`root` or the
    /// client's own). Every failure is the same [`Refusal::Invalid`], so nothing tells an
    /// unknown id from a wrong secret; failures are counted, and too many are
    /// [`Refusal::Throttled`] (see [`crate::throttle`]).
    pub(super) async fn authenticate_api_client(
        &self,
        serving: &Serving,
        source: IpAddr,
        path_customer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Outcome<AuthenticatedClient>> {
        let client_id = client_id.trim();
        let throttle = &self.throttle;
        if let Some(wait) = throttle.wait(Subject::Client(client_id, source)) {
            tracing::info!(
                client_id,
                "token refused: too many failed attempts for this client"
            );
            return Ok(Err(Refusal::Throttled(wait)));
        }
        // Client ids are hyphenated UUIDs: anything else is unknown without asking the cache (or
        // the database behind it), and counts against the address.
        let well_formed = client_id.len() == 36 && uuid::Uuid::try_parse(client_id).is_ok();
        let known = if well_formed {
            self.cache.client(client_id).await?
        } else {
            None
        };
        let Some(client) = known else {
            if let Some(wait) = throttle.wait(Subject::Address(source)) {
                tracing::info!(%source, "token refused: too many failed attempts from this address");
                return Ok(Err(Refusal::Throttled(wait)));
            }
            // Spend the same work as a real check.
            self.secrets.hash(client_secret);
            throttle.failed(Subject::Address(source));
            tracing::info!("token refused: unknown client");
            return Ok(Err(Refusal::Invalid));
        };
        let failed = |reason: &str| {
            throttle.failed(Subject::Client(client_id, source));
            self.usage.record_failure(&client, self.clock.now(), source);
            tracing::info!(client_id = %client.id, reason, "token refused");
            Ok(Err(Refusal::Invalid))
        };
        if !self.secrets.verify(client_secret, &client.secret_hash) {
            return failed("wrong secret");
        }
        if !path_customer.eq_ignore_ascii_case(ROOT)
            && !path_customer.eq_ignore_ascii_case(&client.customer_id)
        {
            return failed("customer mismatch");
        }
        let Some(owner) = self.cache.administrator(&client.owner_id).await? else {
            tracing::info!(client_id = %client.id, "token refused: owner removed");
            return Ok(Err(Refusal::Invalid));
        };
        let Some(customer) = self.cache.customer(&client.customer_id).await? else {
            return Ok(Err(Refusal::Invalid));
        };
        if let Some(elsewhere) = self.elsewhere(serving, &customer) {
            tracing::info!(client_id = %client.id, region = %elsewhere.home, "token refused: customer homed elsewhere");
            return Ok(Err(Refusal::Elsewhere(elsewhere)));
        }
        Ok(Ok(AuthenticatedClient { client, owner }))
    }
}
