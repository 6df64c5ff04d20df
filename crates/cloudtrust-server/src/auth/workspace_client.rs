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
}
