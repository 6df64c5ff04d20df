//! Invitations: a pending administrator and a link token, accepted once within a week.

use serde_json::json;

use super::{AdministratorRef, Directory, Event, NewAdministrator, blocking};
use crate::domain::administrators::Administrator;
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::passwords;
use crate::domain::secrets::{generate_secret, sha256_hex};
use crate::error::{Error, Result};
use crate::store;

/// How long an invitation to become an administrator can be accepted.
pub const INVITATION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// A pending administrator and the token of the invitation link, shown once.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The pending administrator.
    pub administrator: Administrator,
    /// The invitation token (only its hash is stored).
    pub token: String,
    /// When the invitation stops being accepted, unix seconds.
    pub expires_at: i64,
}

impl Directory {
    /// Invites an administrator: it stays pending, owning nothing, until the invitation token
    /// is accepted (within [`INVITATION_LIFETIME_SECS`]).
    pub async fn invite_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        new: NewAdministrator,
    ) -> Result<Invitation> {
        let mut admin = self.check_new(customer_id, new)?;
        let token = generate_secret();
        let expires_at = admin.created_at + INVITATION_LIFETIME_SECS;
        admin.pending = true;
        admin.invitation_expires_at = Some(expires_at);
        self.insert_administrator(actor, &admin, Some(&sha256_hex(&token)))
            .await?;
        Ok(Invitation {
            administrator: admin,
            token,
            expires_at,
        })
    }

    /// The pending administrator an invitation token belongs to, if it is still valid.
    pub async fn lookup_invitation(&self, token: &str) -> Result<Administrator> {
        let mut conn = self.store.conn().await?;
        match store::administrators::by_invitation(&mut conn, &sha256_hex(token.trim())).await? {
            Some((admin, expires)) if expires > self.clock.now() => Ok(admin),
            _ => Err(Error::not_found("invitation", "")),
        }
    }

    /// Accepts an invitation: the administrator becomes active, with `password` as its
    /// console password when given. A token works once.
    pub async fn accept_invitation(
        &self,
        token: &str,
        password: Option<&str>,
    ) -> Result<Administrator> {
        let password_hash = match password {
            Some(password) => {
                passwords::validate(password)?;
                let owned = password.to_owned();
                Some(blocking(move || passwords::hash(&owned)).await??)
            }
            None => None,
        };
        let mut tx = self.store.begin().await?;
        let (before, expires) =
            store::administrators::by_invitation(&mut tx, &sha256_hex(token.trim()))
                .await?
                .ok_or_else(|| Error::not_found("invitation", ""))?;
        let now = self.clock.now();
        if expires <= now {
            return Err(Error::not_found("invitation", ""));
        }
        let mut after = before.clone();
        after.pending = false;
        after.invitation_expires_at = None;
        after.etag = uuid::Uuid::new_v4().to_string();
        after.updated_at = now;
        if !store::administrators::accept(&mut tx, &after.id, &after.etag, now).await? {
            return Err(Error::not_found("invitation", ""));
        }
        if let Some(hash) = &password_hash {
            store::administrators::set_password(&mut tx, &after.id, hash, now).await?;
        }
        let actor = Actor::administrator(&after);
        self.commit(
            tx,
            &actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_ACCEPT,
                customer_id: &after.customer_id,
                target_id: &after.id,
                target_name: &after.email,
                before: Some(json!(before)),
                after: Some(json!(after)),
                message: format!("Administrator {} accepted the invitation", after.email),
            },
        )
        .await?;
        Ok(after)
    }

    /// Withdraws the pending invitation of `email`.
    pub async fn delete_invitation(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
    ) -> Result<Administrator> {
        let mut tx = self.store.begin().await?;
        let admin =
            Self::require_administrator(&mut tx, customer_id, AdministratorRef::Email(email))
                .await?;
        if !admin.pending {
            return Err(Error::not_found("invitation", &admin.email));
        }
        Self::authorize_management(actor, &admin.access)?;
        store::administrators::delete(&mut tx, &admin.id).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::INVITATION_DELETE,
                customer_id,
                target_id: &admin.id,
                target_name: &admin.email,
                before: Some(json!(admin)),
                after: None,
                message: format!("Invitation of {} withdrawn", admin.email),
            },
        )
        .await?;
        Ok(admin)
    }
}
