//! Administrators: added (the operator's way) or invited, their access changed, removed with
//! everything they own, listed and read.

use serde_json::json;

use super::{Directory, Event};
use crate::domain::administrators::{
    Administrator, normalize_email, validate_display_name, validate_person_name,
};
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::{Change, ChangeKind};
use crate::domain::paging::{Page, PageRequest};
use crate::domain::permissions::{self, Access};
use crate::error::{Error, Result};
use crate::store::{self, is_unique_violation};

/// Names an administrator of a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdministratorRef<'a> {
    /// By email address.
    Email(&'a str),
    /// By id (or `ucOid`).
    Id(&'a str),
}

/// An administrator to add.
#[derive(Debug, Clone)]
pub struct NewAdministrator {
    /// Email address.
    pub email: String,
    /// Name shown to people (default: built from the names, else the email).
    pub display_name: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Full or custom access.
    pub access: Access,
}

impl NewAdministrator {
    /// An administrator known only by email.
    pub fn with_email(email: &str, display_name: Option<&str>, access: Access) -> Self {
        NewAdministrator {
            email: email.to_owned(),
            display_name: display_name.map(str::to_owned),
            first_name: None,
            last_name: None,
            access,
        }
    }
}

/// An administrator removed, with the API clients that went with it.
#[derive(Debug, Clone)]
pub struct RemovedAdministrator {
    /// The administrator as it was.
    pub administrator: Administrator,
    /// The ids of its API clients, all deleted.
    pub removed_clients: Vec<String>,
}

impl Directory {
    /// Checks a new administrator's fields and makes its record (not yet stored).
    pub(super) fn check_new(
        &self,
        customer_id: &str,
        new: NewAdministrator,
    ) -> Result<Administrator> {
        let email = normalize_email(&new.email)?;
        let first_name = validate_person_name("firstName", new.first_name.as_deref())?;
        let last_name = validate_person_name("lastName", new.last_name.as_deref())?;
        let display_name = match new.display_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => validate_display_name(name)?,
            _ => match (&first_name, &last_name) {
                (None, None) => email.clone(),
                (first, last) => validate_display_name(
                    &[first.as_deref(), last.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" "),
                )?,
            },
        };
        let now = self.clock.now();
        Ok(Administrator {
            id: uuid::Uuid::new_v4().to_string(),
            customer_id: customer_id.to_owned(),
            email,
            display_name,
            first_name,
            last_name,
            access: new.access,
            permission_generation: 1,
            pending: false,
            etag: uuid::Uuid::new_v4().to_string(),
            invitation_expires_at: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Stores a new administrator (pending when `invitation_hash` is given), on the record.
    pub(super) async fn insert_administrator(
        &self,
        actor: &Actor,
        admin: &Administrator,
        invitation_hash: Option<&str>,
    ) -> Result<()> {
        Self::authorize_management(actor, &admin.access)?;
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, &admin.customer_id).await?;
        store::administrators::insert(&mut tx, admin, invitation_hash)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict(format!(
                        "administrator {} already exists in customer {}",
                        admin.email, admin.customer_id
                    ))
                } else {
                    e
                }
            })?;
        let message = if admin.pending {
            format!("Administrator {} invited", admin.email)
        } else {
            format!("Administrator {} added", admin.email)
        };
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_CREATE,
                customer_id: &admin.customer_id,
                target_id: &admin.id,
                target_name: &admin.email,
                before: None,
                after: Some(json!(admin)),
                message,
            },
        )
        .await
    }

    /// Adds an administrator to a customer, active at once (the operator's way, and the dev
    /// bootstrap's).
    pub async fn add_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        new: NewAdministrator,
    ) -> Result<Administrator> {
        let admin = self.check_new(customer_id, new)?;
        self.insert_administrator(actor, &admin, None).await?;
        Ok(admin)
    }

    /// Replaces an administrator's access. A reduction raises the permission generation, so
    /// tokens issued before it stop working at once. The last Full administrator of a customer
    /// cannot be reduced; with `if_match`, a change based on an older `eTag` is refused.
    pub async fn set_access(
        &self,
        actor: &Actor,
        customer_id: &str,
        who: AdministratorRef<'_>,
        access: Access,
        if_match: Option<&str>,
    ) -> Result<Administrator> {
        let mut tx = self.store.begin().await?;
        store::customers::lock(&mut tx, customer_id).await?;
        let before = Self::require_administrator(&mut tx, customer_id, who).await?;
        Self::authorize_management(actor, &access)?;
        Self::authorize_management(actor, &before.access)?;
        let stale = || {
            Error::Stale(format!(
                "administrator {} was modified, please try your changes again",
                before.email
            ))
        };
        if let Some(expected) = if_match
            && expected.trim().trim_matches('"') != before.etag
        {
            return Err(stale());
        }
        if before.access == Access::Full
            && access != Access::Full
            && !before.pending
            && store::administrators::count_full(&mut tx, customer_id).await? <= 1
        {
            return Err(Error::Forbidden(format!(
                "{} is the last Full administrator of {customer_id}",
                before.email
            )));
        }
        let mut after = before.clone();
        if !access.includes(&before.access) {
            after.permission_generation += 1;
        }
        after.access = access;
        after.updated_at = self.clock.now();
        after.etag = uuid::Uuid::new_v4().to_string();
        if !store::administrators::update_access(&mut tx, &after, &before.etag).await? {
            return Err(stale());
        }
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_UPDATE,
                customer_id,
                target_id: &after.id,
                target_name: &after.email,
                before: Some(json!(before)),
                after: Some(json!(after)),
                message: format!("Access of administrator {} changed", after.email),
            },
        )
        .await?;
        Ok(after)
    }

    /// Removes an administrator with all its API clients and Smart Tools keys. The last Full
    /// administrator of a customer cannot be removed.
    pub async fn remove_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        who: AdministratorRef<'_>,
    ) -> Result<RemovedAdministrator> {
        let mut tx = self.store.begin().await?;
        store::customers::lock(&mut tx, customer_id).await?;
        let admin = Self::require_administrator(&mut tx, customer_id, who).await?;
        Self::authorize_management(actor, &admin.access)?;
        if admin.access == Access::Full
            && !admin.pending
            && store::administrators::count_full(&mut tx, customer_id).await? <= 1
        {
            return Err(Error::Forbidden(format!(
                "{} is the last Full administrator of {customer_id}",
                admin.email
            )));
        }
        let clients = store::api_clients::list(&mut tx, customer_id, Some(&admin.id)).await?;
        let mut changes = Vec::with_capacity(clients.len() + 1);
        for client in &clients {
            store::api_clients::delete(&mut tx, &client.id).await?;
            self.record(
                &mut tx,
                actor,
                Event {
                    change: ChangeKind::Client,
                    event_type: event_types::SECURECLIENT_DELETE,
                    customer_id,
                    target_id: &client.id,
                    target_name: &client.name,
                    before: Some(json!(client)),
                    after: None,
                    message: format!(
                        "API client {} deleted with its owner {}",
                        client.name, admin.email
                    ),
                },
            )
            .await?;
            changes.push(Change {
                kind: ChangeKind::Client,
                key: client.id.clone(),
            });
        }
        for key in store::smart_keys::of_administrator(&mut tx, &admin.id).await? {
            self.delete_smart_key_in(&mut tx, actor, customer_id, &key, &admin.email)
                .await?;
        }
        store::administrators::delete(&mut tx, &admin.id).await?;
        self.record(
            &mut tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_DELETE,
                customer_id,
                target_id: &admin.id,
                target_name: &admin.email,
                before: Some(json!(admin)),
                after: None,
                message: format!("Administrator {} removed", admin.email),
            },
        )
        .await?;
        changes.push(Change {
            kind: ChangeKind::Administrator,
            key: admin.id.clone(),
        });
        self.commit_changes(tx, &changes).await?;
        Ok(RemovedAdministrator {
            administrator: admin,
            removed_clients: clients.into_iter().map(|c| c.id).collect(),
        })
    }

    /// A customer's administrators by email, for an actor holding the `Administrators`
    /// permission (the operator holds every permission): one page of them, or all of them
    /// without `page`.
    pub async fn list_administrators(
        &self,
        actor: &Actor,
        customer_id: &str,
        page: Option<&PageRequest>,
    ) -> Result<Page<Administrator>> {
        actor.require(permissions::ADMINISTRATORS)?;
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let Some(page) = page else {
            return Ok(Page {
                items: store::administrators::of_customer(&mut conn, customer_id).await?,
                continuation: None,
            });
        };
        let after = page.after()?;
        let rows =
            store::administrators::page(&mut conn, customer_id, after.as_deref(), page.fetch())
                .await?;
        Ok(Page::from_rows(rows, page, |a| a.email.clone()))
    }

    /// One administrator. An administrator may read itself; reading others takes the
    /// `Administrators` permission.
    pub async fn get_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        who: AdministratorRef<'_>,
    ) -> Result<Administrator> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let admin = Self::require_administrator(&mut conn, customer_id, who).await?;
        if !actor.is(&admin.id) {
            actor.require(permissions::ADMINISTRATORS)?;
        }
        Ok(admin)
    }

    /// An administrator by id, whatever its customer, as it is now (a console session's
    /// check); `None` once it is removed.
    pub async fn lookup_administrator(&self, id: &str) -> Result<Option<Administrator>> {
        store::administrators::get(&mut *self.store.conn().await?, id).await
    }
}
