//! Administrators' console passwords: set, and checked at sign-in. Only Argon2id hashes are
//! stored, and the slow hash always runs on the blocking pool.

use super::{AdministratorRef, Directory, Event, blocking};
use crate::domain::administrators::{Administrator, normalize_email};
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::passwords;
use crate::error::{Error, Result};
use crate::store;

impl Directory {
    /// Sets an administrator's password (the operator for anyone, an administrator for
    /// itself). Only its Argon2id hash is stored; the system log says that it changed.
    pub async fn set_password(
        &self,
        actor: &Actor,
        customer_id: &str,
        who: AdministratorRef<'_>,
        password: &str,
    ) -> Result<Administrator> {
        passwords::validate(password)?;
        // The slow hash runs before the transaction, which it would otherwise hold open, and
        // off the async workers.
        let owned = password.to_owned();
        let hash = blocking(move || passwords::hash(&owned)).await??;
        let mut tx = self.store.begin().await?;
        let admin = Self::require_administrator(&mut tx, customer_id, who).await?;
        if actor.is_other_administrator(&admin.id) {
            return Err(Error::Forbidden(
                "an administrator sets its own password only".to_owned(),
            ));
        }
        store::administrators::set_password(&mut tx, &admin.id, &hash, self.clock.now()).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_PASSWORD,
                customer_id,
                target_id: &admin.id,
                target_name: &admin.email,
                before: None,
                after: None,
                message: format!("Password of administrator {} set", admin.email),
            },
        )
        .await?;
        Ok(admin)
    }

    /// Checks a console sign-in: the active administrators, one per customer, whose email is
    /// `email` and whose password is `password`; empty when there are none, whatever the
    /// reason, after the same work.
    pub async fn verify_sign_in(&self, email: &str, password: &str) -> Result<Vec<Administrator>> {
        let candidates = match normalize_email(email) {
            Ok(email) => {
                let mut conn = self.store.conn().await?;
                store::administrators::with_password(&mut conn, &email).await?
            }
            Err(_) => Vec::new(),
        };
        let password = password.to_owned();
        let matched: Vec<String> = blocking(move || {
            if candidates.is_empty() {
                // Spend the same work as a real check.
                let _ = passwords::hash(&password);
            }
            candidates
                .into_iter()
                .filter(|(_, hash)| passwords::verify(&password, hash))
                .map(|(id, _)| id)
                .collect()
        })
        .await?;
        let mut conn = self.store.conn().await?;
        let mut administrators = Vec::with_capacity(matched.len());
        for id in matched {
            if let Some(admin) = store::administrators::get(&mut conn, &id).await? {
                administrators.push(admin);
            }
        }
        Ok(administrators)
    }
}
