//! End users of the OpenID Connect server: added, given a password and removed by
//! administrators holding Full access or `Workspace OAuth Clients`; checked at sign-in. Only
//! Argon2id hashes are stored, and the slow hash runs on the blocking pool, outside any
//! transaction.

use serde_json::json;

use super::{Directory, Event, blocking};
use crate::domain::administrators::normalize_email;
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::end_users::{EndUser, NewEndUser};
use crate::domain::passwords;
use crate::domain::permissions;
use crate::domain::workspace_sign_in::Consent;
use crate::error::{Error, Result};
use crate::store::{self, Tx, end_users as stored_users};

/// The entity name of end users in errors.
const END_USER: &str = "user";

impl Directory {
    /// Adds an end user with `password`. A second user with the same email in the customer is
    /// a conflict.
    pub async fn add_end_user(
        &self,
        actor: &Actor,
        customer_id: &str,
        new: &NewEndUser,
        password: &str,
    ) -> Result<EndUser> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let new = new.validated()?;
        passwords::validate(password)?;
        let owned = password.to_owned();
        let hash = blocking(move || passwords::hash(&owned)).await??;
        let now = self.clock.now();
        let user = EndUser {
            id: uuid::Uuid::new_v4().to_string(),
            customer_id: customer_id.to_owned(),
            email: new.email,
            given_name: new.given_name,
            family_name: new.family_name,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        if let Err(e) = stored_users::insert(&mut tx, &user, &hash).await {
            return Err(if store::is_unique_violation(&e) {
                Error::Conflict(format!("{} is already a user of {customer_id}", user.email))
            } else {
                e
            });
        }
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::EndUser,
                event_type: event_types::END_USER_CREATE,
                customer_id,
                target_id: &user.id,
                target_name: &user.email,
                before: None,
                after: Some(json!(user)),
                message: format!("User {} added", user.email),
            },
        )
        .await?;
        Ok(user)
    }

    /// The end users of a customer, by email.
    pub async fn list_end_users(&self, actor: &Actor, customer_id: &str) -> Result<Vec<EndUser>> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        stored_users::of_customer(&mut conn, customer_id).await
    }

    /// Reads the end user `email` of a customer in a new transaction.
    async fn end_user_for_change(&self, customer_id: &str, email: &str) -> Result<(Tx, EndUser)> {
        let email = normalize_email(email)?;
        let mut tx = self.store.begin().await?;
        let (user, _) = stored_users::by_email(&mut tx, customer_id, &email)
            .await?
            .ok_or_else(|| Error::not_found(END_USER, &email))?;
        Ok((tx, user))
    }

    /// Sets an end user's password; the system log says that it changed, never to what.
    pub async fn set_end_user_password(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
        password: &str,
    ) -> Result<EndUser> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        passwords::validate(password)?;
        let owned = password.to_owned();
        let hash = blocking(move || passwords::hash(&owned)).await??;
        let (mut tx, mut user) = self.end_user_for_change(customer_id, email).await?;
        user.updated_at = self.clock.now();
        stored_users::set_password(&mut tx, &user.id, &hash, user.updated_at).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::EndUser,
                event_type: event_types::END_USER_PASSWORD,
                customer_id,
                target_id: &user.id,
                target_name: &user.email,
                before: None,
                after: None,
                message: format!("Password of user {} set", user.email),
            },
        )
        .await?;
        Ok(user)
    }

    /// Removes an end user.
    pub async fn remove_end_user(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
    ) -> Result<EndUser> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let (mut tx, user) = self.end_user_for_change(customer_id, email).await?;
        stored_users::delete(&mut tx, &user.id).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::EndUser,
                event_type: event_types::END_USER_DELETE,
                customer_id,
                target_id: &user.id,
                target_name: &user.email,
                before: Some(json!(user)),
                after: None,
                message: format!("User {} removed", user.email),
            },
        )
        .await?;
        Ok(user)
    }

    /// What an end user consented to, per Workspace application.
    pub async fn end_user_consents(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
    ) -> Result<Vec<Consent>> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let (mut tx, user) = self.end_user_for_change(customer_id, email).await?;
        let consents = store::workspace_grants::consents_of(&mut tx, &user.id).await?;
        tx.commit().await?;
        Ok(consents)
    }

    /// Withdraws an end user's consent to the application `client_id` (to every application
    /// when `None`), and revokes what it granted them: their refresh tokens stop working and
    /// their access tokens are no longer accepted. Returns the applications concerned.
    pub async fn withdraw_end_user_consent(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
        client_id: Option<&str>,
    ) -> Result<Vec<String>> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let (mut tx, user) = self.end_user_for_change(customer_id, email).await?;
        let consents = store::workspace_grants::consents_of(&mut tx, &user.id).await?;
        let clients: Vec<String> = consents
            .into_iter()
            .map(|c| c.client_id)
            .filter(|c| client_id.is_none_or(|wanted| wanted == c))
            .collect();
        if clients.is_empty() {
            return Err(Error::not_found(
                "consent",
                client_id.unwrap_or(&user.email),
            ));
        }
        let now = self.clock.now();
        for client in &clients {
            store::workspace_grants::delete_consent(&mut tx, &user.id, client).await?;
            store::workspace_grants::revoke_grants_of(&mut tx, &user.id, client, now).await?;
        }
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::EndUser,
                event_type: event_types::END_USER_CONSENT_WITHDRAW,
                customer_id,
                target_id: &user.id,
                target_name: &user.email,
                before: Some(json!({ "consents": clients })),
                after: None,
                message: format!(
                    "Consent of user {} to {} withdrawn",
                    user.email,
                    clients.join(", ")
                ),
            },
        )
        .await?;
        Ok(clients)
    }

    /// The end user of `customer_id` whose email is `email` and password `password`, or
    /// `None` whatever the reason, after the same work.
    pub async fn verify_end_user_password(
        &self,
        customer_id: &str,
        email: &str,
        password: &str,
    ) -> Result<Option<EndUser>> {
        let found = match normalize_email(email) {
            Ok(email) => {
                let mut conn = self.store.conn().await?;
                stored_users::by_email(&mut conn, customer_id, &email).await?
            }
            Err(_) => None,
        };
        let password = password.to_owned();
        blocking(move || match found {
            Some((user, hash)) => passwords::verify(&password, &hash).then_some(user),
            None => {
                // Spend the same work as a real check.
                let _ = passwords::hash(&password);
                None
            }
        })
        .await
    }
}
