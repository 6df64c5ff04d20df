//! Passwords of people: administrators at the console, end users at `/core/login`. Each
//! attempt is counted *before* its Argon2id hash, against three buckets — the account from
//! this address, the account from anywhere (distributed guessing) and the address (spraying
//! many accounts) — and given back when it succeeds. Hashes run at most one per core at a
//! time; an attempt that cannot start one within a moment is refused with a fast `503`, so a
//! flood of sign-ins costs neither memory nor the other requests' latency.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::Semaphore;

use super::{Auth, Outcome, Refusal};
use crate::domain::administrators::Administrator;
use crate::domain::end_users::EndUser;
use crate::domain::secrets::sha256_hex;
use crate::error::Result;
use crate::throttle::Subject;

/// The longest email accepted at sign-in (RFC 5321's path limit); longer is never a person.
const MAX_EMAIL_LEN: usize = 254;
/// How long an attempt waits for a free core before it is refused as busy.
const HASH_QUEUE_WAIT: Duration = Duration::from_millis(250);
/// `Retry-After` of an attempt refused as busy.
const BUSY_RETRY_SECS: u64 = 1;

/// Password hashes running at once: one per core.
pub(super) fn hashing_gate() -> Semaphore {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Semaphore::new(cores)
}

/// The bucket key of an account: a hash of the realm and the normalised email, short whatever
/// was typed; `None` for an email no account can have.
fn account_key(realm: &str, email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return None;
    }
    let mut key = sha256_hex(&format!("{realm}:{email}"));
    key.truncate(32);
    Some(key)
}

impl Auth {
    /// Checks a person's password with `verify`, counted and gated as the module says.
    async fn check_password<T, F, Fut>(
        &self,
        source: IpAddr,
        realm: &str,
        email: &str,
        verify: F,
    ) -> Result<Outcome<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<T>>>,
    {
        let throttle = &self.throttle;
        let address = Subject::Address(source);
        let Some(account) = account_key(realm, email) else {
            if let Some(wait) = throttle.attempt(&[address]) {
                return Ok(Err(Refusal::Throttled(wait)));
            }
            throttle.share_failure(&[address]);
            tracing::info!(%source, realm, "sign-in refused: not an email address");
            return Ok(Err(Refusal::Invalid));
        };
        let subjects = [
            Subject::Client(&account, source),
            Subject::Account(&account),
            address,
        ];
        if let Some(wait) = throttle.attempt(&subjects) {
            tracing::info!(%source, realm, "sign-in refused: too many failed attempts");
            return Ok(Err(Refusal::Throttled(wait)));
        }
        let permit = tokio::time::timeout(HASH_QUEUE_WAIT, self.hashing.acquire()).await;
        let Ok(Ok(_permit)) = permit else {
            throttle.refund(&subjects);
            tracing::warn!(%source, realm, "sign-in refused: every core is hashing passwords");
            return Ok(Err(Refusal::Busy(BUSY_RETRY_SECS)));
        };
        match verify().await {
            Ok(Some(found)) => {
                throttle.refund(&subjects);
                Ok(Ok(found))
            }
            Ok(None) => {
                throttle.share_failure(&subjects);
                tracing::info!(%source, realm, "sign-in refused: wrong email or password");
                Ok(Err(Refusal::Invalid))
            }
            Err(e) => {
                throttle.refund(&subjects);
                Err(e)
            }
        }
    }

    /// Checks a console sign-in: the active administrators (one per customer) with this email
    /// and password.
    pub async fn authenticate_password(
        &self,
        source: IpAddr,
        email: &str,
        password: &str,
    ) -> Result<Outcome<Vec<Administrator>>> {
        self.check_password(source, "console", email, || async {
            let matched = self.directory.verify_sign_in(email, password).await?;
            Ok((!matched.is_empty()).then_some(matched))
        })
        .await
    }

    /// Checks an end user's sign-in at `/core/login` for `customer_id`.
    pub async fn authenticate_end_user(
        &self,
        source: IpAddr,
        customer_id: &str,
        email: &str,
        password: &str,
    ) -> Result<Outcome<EndUser>> {
        self.check_password(source, &format!("core:{customer_id}"), email, || {
            self.directory
                .verify_end_user_password(customer_id, email, password)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_are_short_normalised_and_refuse_what_no_email_is() {
        let key = account_key("console", " Pat@Example.com ").expect("an email");
        assert_eq!(key.len(), 32);
        assert_eq!(Some(key), account_key("console", "pat@example.com"));
        assert_ne!(
            account_key("console", "pat@example.com"),
            account_key("core:acme", "pat@example.com")
        );
        assert_eq!(account_key("console", &"a".repeat(255)), None);
        assert_eq!(account_key("console", "  "), None);
    }
}
