//! Workspace OAuth clients at the `/core` token, revocation and introspection endpoints:
//! private clients by their current or old secret, public ones by their id alone. Failures
//! count against the same buckets as API clients' (keyed `workspace:<client id>`).

use std::net::IpAddr;

use super::{Auth, Outcome, Refusal};
use crate::domain::workspace_clients::WorkspaceClient;
use crate::error::Result;
use crate::throttle::Subject;

impl Auth {
    /// The client `client_id`, enabled or not, if `secret` fits it (`None` for a public
    /// client). Whether a disabled client may go on is the caller's decision.
    pub async fn authenticate_workspace_client(
        &self,
        source: IpAddr,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Outcome<WorkspaceClient>> {
        let key = format!("workspace:{client_id}");
        let client = Subject::Client(&key, source);
        let address = Subject::Address(source);
        let throttle = &self.throttle;
        if let Some(wait) = throttle.wait(client).or_else(|| throttle.wait(address)) {
            tracing::info!(%source, "Workspace client refused: too many failed attempts");
            return Ok(Err(Refusal::Throttled(wait)));
        }
        match self
            .directory
            .identify_workspace_client(client_id, secret)
            .await?
        {
            Some(found) => Ok(Ok(found)),
            None => {
                throttle.failed(client);
                throttle.failed(address);
                tracing::info!(%source, "Workspace client refused: unknown id or wrong secret");
                Ok(Err(Refusal::Invalid))
            }
        }
    }

    /// Checks an end user's sign-in at `/core/login` for `customer_id`, counted like console
    /// sign-ins (keyed `core:<customer>:<email>`).
    pub async fn authenticate_end_user(
        &self,
        source: IpAddr,
        customer_id: &str,
        email: &str,
        password: &str,
    ) -> Result<Outcome<crate::domain::end_users::EndUser>> {
        let key = format!("core:{customer_id}:{}", email.trim().to_lowercase());
        let person = Subject::Client(&key, source);
        let address = Subject::Address(source);
        let throttle = &self.throttle;
        if let Some(wait) = throttle.wait(person).or_else(|| throttle.wait(address)) {
            tracing::info!(%source, "Workspace sign-in refused: too many failed attempts");
            return Ok(Err(Refusal::Throttled(wait)));
        }
        match self
            .directory
            .verify_end_user_password(customer_id, email, password)
            .await?
        {
            Some(user) => Ok(Ok(user)),
            None => {
                throttle.failed(person);
                throttle.failed(address);
                tracing::info!(%source, "Workspace sign-in refused: wrong email or password");
                Ok(Err(Refusal::Invalid))
            }
        }
    }
}
