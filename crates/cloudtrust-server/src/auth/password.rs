//! Console passwords. Failed sign-ins count against the same buckets as failed token
//! requests: per email address and source address (keyed `console:<email>`), and per source
//! address; too many, and sign-in is refused for a while.

use std::net::IpAddr;

use super::{Auth, Outcome, Refusal};
use crate::domain::administrators::Administrator;
use crate::error::Result;
use crate::throttle::Subject;

impl Auth {
    /// Checks a console sign-in: the active administrators (one per customer) with this email
    /// and password.
    pub async fn authenticate_password(
        &self,
        source: IpAddr,
        email: &str,
        password: &str,
    ) -> Result<Outcome<Vec<Administrator>>> {
        let key = format!("console:{}", email.to_lowercase());
        let person = Subject::Client(&key, source);
        let address = Subject::Address(source);
        let throttle = &self.throttle;
        if let Some(wait) = throttle.wait(person).or_else(|| throttle.wait(address)) {
            tracing::info!(%source, "console sign-in refused: too many failed attempts");
            return Ok(Err(Refusal::Throttled(wait)));
        }
        let matched = self.directory.verify_sign_in(email, password).await?;
        if matched.is_empty() {
            throttle.failed(person);
            throttle.failed(address);
            tracing::info!(%source, "console sign-in refused: wrong email or password");
            return Ok(Err(Refusal::Invalid));
        }
        Ok(Ok(matched))
    }
}
