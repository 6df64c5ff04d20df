//! The directory of customers, administrators and API clients: every change to them goes
//! through here, in one transaction with its audit record and its change-log entry, so the
//! command line, the REST API and the console share one implementation of each rule.

use std::sync::Arc;

use serde_json::json;

use super::administrators::{
    Administrator, id_from_reference, normalize_email, validate_display_name, validate_person_name,
};
use super::api_clients::{ApiClient, CreatedApiClient, validate_name};
use super::audit::{Actor, ActorType, AuditEvent, event_types};
use super::customers::{self, Customer, Region};
use super::paging::{Page, PageRequest, split_time_key};
use super::passwords;
use super::permissions::{self, Access};
use super::secrets::{SecretHasher, decode_hash, generate_secret, sha256_hex};
use super::smart_keys::{CreatedSmartKey, SmartKey, generate_api_key};
use crate::cache::AuthCache;
use crate::changes::ChangeKind;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{self, Conn, Store, Tx, is_unique_violation};

/// An administrator removed, with the API clients that went with it.
#[derive(Debug, Clone)]
pub struct RemovedAdministrator {
    /// The administrator as it was.
    pub administrator: Administrator,
    /// The ids of its API clients, all deleted.
    pub removed_clients: Vec<String>,
}

/// Runs slow, CPU-bound work (password hashing) on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("blocking task: {e}")))
}

/// How long an invitation to become an administrator can be accepted.
pub const INVITATION_LIFETIME_SECS: i64 = 7 * 24 * 3600;

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

/// The directory service.
#[derive(Clone)]
pub struct Directory {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: Arc<SecretHasher>,
    cache: Arc<AuthCache>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Directory")
    }
}

/// One change to the directory, as the change log and the audit log record it.
struct Event<'a> {
    change: ChangeKind,
    event_type: &'static str,
    customer_id: &'a str,
    target_id: &'a str,
    target_name: &'a str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    message: String,
}

impl Directory {
    /// A directory over `store`; changes invalidate `cache` as soon as they commit.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        secrets: Arc<SecretHasher>,
        cache: Arc<AuthCache>,
    ) -> Self {
        Directory {
            store,
            clock,
            secrets,
            cache,
        }
    }

    /// Records a change in the change log (so other nodes drop what they cached) and in the
    /// audit log, inside the transaction that makes it.
    async fn record(&self, tx: &mut Tx, actor: &Actor, event: Event<'_>) -> Result<()> {
        let now = self.clock.now();
        store::changes::record(tx, event.change.as_str(), event.target_id, now).await?;
        let target_type = match event.change {
            ChangeKind::Client => "secureclient",
            ChangeKind::Administrator => "administrator",
            ChangeKind::Customer => "customer",
            ChangeKind::Keys => "keys",
            ChangeKind::SmartKey => "smartkey",
        };
        let record = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: now,
            customer_id: Some(event.customer_id.to_owned()),
            event_type: event.event_type.to_owned(),
            actor: actor.clone(),
            target_type: Some(target_type.to_owned()),
            target_id: Some(event.target_id.to_owned()),
            target_display_name: Some(event.target_name.to_owned()),
            before_changes: event.before,
            after_changes: event.after,
            message: event.message,
        };
        store::audit::insert(tx, &record).await
    }

    /// Records `event`, commits, and drops what caches hold of its target.
    async fn commit(&self, mut tx: Tx, actor: &Actor, event: Event<'_>) -> Result<()> {
        let (change, target) = (event.change, event.target_id.to_owned());
        self.record(&mut tx, actor, event).await?;
        tx.commit().await?;
        self.cache.invalidate(change, &target);
        Ok(())
    }

    // ---- customers -------------------------------------------------------------------------

    /// Creates a customer with the given id (validated) or a generated one.
    pub async fn create_customer(
        &self,
        actor: &Actor,
        id: Option<&str>,
        name: &str,
        region: Region,
    ) -> Result<Customer> {
        let id = match id {
            Some(id) => {
                customers::validate_id(id)?;
                id.to_owned()
            }
            None => customers::generate_id(),
        };
        if actor.access.is_some() {
            return Err(Error::Forbidden(
                "customers are created by the deployment's operator".to_owned(),
            ));
        }
        let mut customer = Customer {
            name: super::administrators::validate_text("name", name, 200)?,
            id,
            region,
            site_id: uuid::Uuid::new_v4().to_string(),
            company_id: customers::generate_company_id(),
            created_at: self.clock.now(),
        };
        // The id is checked first, so a unique violation of the insert is the random company
        // id meeting a taken one (or a concurrent creation of the same id, found on the next
        // round): draw again.
        let mut rounds = 0;
        let tx = loop {
            let mut tx = self.store.begin().await?;
            if store::customers::get(&mut tx, &customer.id)
                .await?
                .is_some()
            {
                return Err(Error::Conflict(format!(
                    "customer `{}` already exists",
                    customer.id
                )));
            }
            match store::customers::insert(&mut tx, &customer).await {
                Ok(()) => break tx,
                Err(e) if is_unique_violation(&e) && rounds < 3 => {
                    rounds += 1;
                    customer.company_id = customers::generate_company_id();
                }
                Err(e) => return Err(e),
            }
        };
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Customer,
                event_type: event_types::CUSTOMER_CREATE,
                customer_id: &customer.id,
                target_id: &customer.id,
                target_name: &customer.name,
                before: None,
                after: Some(json!(customer)),
                message: format!("Customer {} created", customer.id),
            },
        )
        .await?;
        Ok(customer)
    }

    /// Every customer.
    pub async fn customers(&self) -> Result<Vec<Customer>> {
        store::customers::all(&mut *self.store.conn().await?).await
    }

    /// The customer with `id`.
    pub async fn customer(&self, id: &str) -> Result<Customer> {
        store::customers::get(&mut *self.store.conn().await?, id)
            .await?
            .ok_or_else(|| Error::not_found("customer", id))
    }

    // ---- administrators --------------------------------------------------------------------

    async fn require_customer(conn: &mut Conn, id: &str) -> Result<Customer> {
        store::customers::get(conn, id)
            .await?
            .ok_or_else(|| Error::not_found("customer", id))
    }

    async fn require_administrator(
        conn: &mut Conn,
        customer_id: &str,
        reference: AdministratorRef<'_>,
    ) -> Result<Administrator> {
        match reference {
            AdministratorRef::Email(email) => {
                let email = normalize_email(email)?;
                store::administrators::by_email(conn, customer_id, &email)
                    .await?
                    .ok_or_else(|| Error::not_found("administrator", email))
            }
            AdministratorRef::Id(reference) => {
                let id = id_from_reference(reference);
                store::administrators::get(conn, id)
                    .await?
                    .filter(|a| a.customer_id == customer_id)
                    .ok_or_else(|| Error::not_found("administrator", reference))
            }
        }
    }

    /// Refuses unless `actor` may manage administrators and holds everything in `access`
    /// (nobody grants or takes away rights it does not hold itself).
    fn authorize_management(actor: &Actor, access: &Access) -> Result<()> {
        actor.require(permissions::ADMINISTRATORS)?;
        if !actor.includes(access) {
            return Err(Error::Forbidden(format!(
                "{} cannot grant or change access beyond its own",
                actor.display_name
            )));
        }
        Ok(())
    }

    fn check_new(&self, customer_id: &str, new: NewAdministrator) -> Result<Administrator> {
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

    async fn insert_administrator(
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
        .await?;
        Ok(())
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
    pub async fn invitation(&self, token: &str) -> Result<Administrator> {
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
        if let Some(expected) = if_match
            && expected.trim().trim_matches('"') != before.etag
        {
            return Err(Error::Stale(format!(
                "administrator {} was modified, please try your changes again",
                before.email
            )));
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
            return Err(Error::Stale(format!(
                "administrator {} was modified, please try your changes again",
                before.email
            )));
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

    /// Removes an administrator and all its API clients. The last Full administrator of a
    /// customer cannot be removed.
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
        tx.commit().await?;
        for client in &clients {
            self.cache.invalidate(ChangeKind::Client, &client.id);
        }
        self.cache.invalidate(ChangeKind::Administrator, &admin.id);
        Ok(RemovedAdministrator {
            administrator: admin,
            removed_clients: clients.into_iter().map(|c| c.id).collect(),
        })
    }

    /// Sets an administrator's password (the operator for anyone, an administrator for
    /// itself). Only its Argon2id hash is stored; the audit record says that it changed.
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

    /// Signs in to the console: the active administrators, one per customer, whose email is
    /// `email` and whose password is `password`; empty when there are none, whatever the
    /// reason, after the same work.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Vec<Administrator>> {
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

    /// An administrator by id, whatever its customer, as it is now (the console's session
    /// check); `None` once it is removed.
    pub async fn administrator_by_id(&self, id: &str) -> Result<Option<Administrator>> {
        let mut conn = self.store.conn().await?;
        store::administrators::get(&mut conn, id).await
    }

    /// Every administrator of a customer (the operator's view).
    pub async fn administrators(&self, customer_id: &str) -> Result<Vec<Administrator>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        store::administrators::of_customer(&mut conn, customer_id).await
    }

    /// One page of a customer's administrators, by email, for an actor that manages
    /// administrators.
    pub async fn administrators_page(
        &self,
        actor: &Actor,
        customer_id: &str,
        page: &PageRequest,
    ) -> Result<Page<Administrator>> {
        actor.require(permissions::ADMINISTRATORS)?;
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let after = page.after()?;
        let rows =
            store::administrators::page(&mut conn, customer_id, after.as_deref(), page.fetch())
                .await?;
        Ok(Page::from_rows(rows, page, |a| a.email.clone()))
    }

    /// One administrator. An administrator may read itself; reading others takes the
    /// `Administrators` permission.
    pub async fn administrator(
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

    // ---- API clients -----------------------------------------------------------------------

    /// The administrator an administrator-actor must be to act on `owner`'s API clients:
    /// administrators see and manage only their own.
    fn authorize_owner(actor: &Actor, owner: &Administrator) -> Result<()> {
        if actor.is_other_administrator(&owner.id) {
            return Err(Error::not_found("API client", ""));
        }
        Ok(())
    }

    /// Creates an API client owned by the administrator `owner`, who must be active and hold
    /// the `API Clients` permission; an administrator creates clients for itself only. The
    /// secret is returned here and never again.
    pub async fn create_api_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner: AdministratorRef<'_>,
        name: &str,
    ) -> Result<CreatedApiClient> {
        let name = validate_name(name)?;
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        // Serialised with removals and access changes of the owner, which lock it too.
        store::customers::lock(&mut tx, customer_id).await?;
        let owner = Self::require_administrator(&mut tx, customer_id, owner).await?;
        if actor.is_other_administrator(&owner.id) {
            return Err(Error::Forbidden(
                "an administrator creates API clients for itself only".to_owned(),
            ));
        }
        if owner.pending {
            return Err(Error::Forbidden(format!(
                "{} has not accepted the invitation yet",
                owner.email
            )));
        }
        if !owner.access.allows(permissions::API_CLIENTS) {
            return Err(Error::Forbidden(format!(
                "{} does not hold the `{}` permission",
                owner.email,
                permissions::API_CLIENTS
            )));
        }
        let secret = generate_secret();
        let client = ApiClient {
            id: uuid::Uuid::new_v4().to_string(),
            name,
            customer_id: customer_id.to_owned(),
            owner_id: owner.id.clone(),
            created_at: self.clock.now(),
            last_used_at: None,
        };
        store::api_clients::insert(&mut tx, &client, &self.secrets.hash(&secret)).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Client,
                event_type: event_types::SECURECLIENT_CREATE,
                customer_id,
                target_id: &client.id,
                target_name: &client.name,
                before: None,
                after: Some(json!(client)),
                message: format!("API client {} created for {}", client.name, owner.email),
            },
        )
        .await?;
        Ok(CreatedApiClient { client, secret })
    }

    /// The API clients of a customer, oldest first: those of `owner` only when given (what an
    /// administrator sees; an administrator-actor sees only its own), else all of them (the
    /// operator's view). With `page` and an owner, one page of them.
    pub async fn api_clients(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner: Option<AdministratorRef<'_>>,
        page: Option<&PageRequest>,
    ) -> Result<Page<ApiClient>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let owner = match owner {
            Some(who) => Some(Self::require_administrator(&mut conn, customer_id, who).await?),
            None => None,
        };
        match (&owner, actor.actor_type) {
            (Some(owner), _) => Self::authorize_owner(actor, owner)?,
            (None, ActorType::Administrator) => {
                return Err(Error::Forbidden(
                    "an administrator lists its own API clients only".to_owned(),
                ));
            }
            (None, _) => {}
        }
        let owner_id = owner.as_ref().map(|o| o.id.as_str());
        match (page, owner_id) {
            (Some(page), Some(owner_id)) => {
                let after = page.after()?;
                let after = after.as_deref().map(split_time_key).transpose()?;
                let rows =
                    store::api_clients::page(&mut conn, customer_id, owner_id, after, page.fetch())
                        .await?;
                Ok(Page::from_rows(rows, page, |c| {
                    format!("{}:{}", c.created_at, c.id)
                }))
            }
            _ => Ok(Page {
                items: store::api_clients::list(&mut conn, customer_id, owner_id).await?,
                continuation: None,
            }),
        }
    }

    /// One API client; an administrator-actor sees only its own.
    pub async fn api_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        client_id: &str,
    ) -> Result<ApiClient> {
        let client: ApiClient = store::api_clients::get(&mut *self.store.conn().await?, client_id)
            .await?
            .filter(|row| row.customer_id == customer_id)
            .ok_or_else(|| Error::not_found("API client", client_id))?
            .into();
        if actor.is_other_administrator(&client.owner_id) {
            return Err(Error::not_found("API client", client_id));
        }
        Ok(client)
    }

    /// Deletes an API client (an administrator-actor deletes only its own); its tokens stop
    /// working at once.
    pub async fn delete_api_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        client_id: &str,
    ) -> Result<ApiClient> {
        let mut tx = self.store.begin().await?;
        let client: ApiClient = store::api_clients::get(&mut tx, client_id)
            .await?
            .filter(|row| row.customer_id == customer_id)
            .filter(|row| !actor.is_other_administrator(&row.owner_id))
            .ok_or_else(|| Error::not_found("API client", client_id))?
            .into();
        store::api_clients::delete(&mut tx, client_id).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::Client,
                event_type: event_types::SECURECLIENT_DELETE,
                customer_id,
                target_id: client_id,
                target_name: &client.name,
                before: Some(json!(client)),
                after: None,
                message: format!("API client {} deleted", client.name),
            },
        )
        .await?;
        Ok(client)
    }

    /// Whether `secret` is the current secret of API client `client_id` (used to re-show
    /// stored development credentials only while they still work).
    pub async fn api_client_secret_matches(&self, client_id: &str, secret: &str) -> Result<bool> {
        let row = store::api_clients::get(&mut *self.store.conn().await?, client_id).await?;
        Ok(match row {
            Some(row) => {
                let hash = decode_hash(&row.secret_hash)?;
                self.secrets.verify(secret, &hash)
            }
            None => false,
        })
    }

    // ---- Smart Tools API keys --------------------------------------------------------------

    /// Creates a Smart Tools API key for the active administrator `owner` (an administrator
    /// creates keys for itself only). The secret is returned here and never again.
    pub async fn create_smart_key(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner: AdministratorRef<'_>,
    ) -> Result<CreatedSmartKey> {
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        // Serialised with removals and access changes of the owner, which lock it too.
        store::customers::lock(&mut tx, customer_id).await?;
        let owner = Self::require_administrator(&mut tx, customer_id, owner).await?;
        if actor.is_other_administrator(&owner.id) {
            return Err(Error::Forbidden(
                "an administrator creates Smart Tools keys for itself only".to_owned(),
            ));
        }
        if owner.pending {
            return Err(Error::Forbidden(format!(
                "{} has not accepted the invitation yet",
                owner.email
            )));
        }
        let secret = generate_secret();
        let key = SmartKey {
            api_key: generate_api_key(),
            administrator_id: owner.id.clone(),
            created_at: self.clock.now(),
        };
        store::smart_keys::insert(&mut tx, &key, &self.secrets.hash(&secret)).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::SmartKey,
                event_type: event_types::SMARTKEY_CREATE,
                customer_id,
                target_id: &key.api_key,
                target_name: &owner.email,
                before: None,
                after: Some(json!(key)),
                message: format!("Smart Tools API key created for {}", owner.email),
            },
        )
        .await?;
        Ok(CreatedSmartKey { key, secret })
    }

    /// The Smart Tools API keys of an administrator.
    pub async fn smart_keys(
        &self,
        customer_id: &str,
        owner: AdministratorRef<'_>,
    ) -> Result<Vec<SmartKey>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let owner = Self::require_administrator(&mut conn, customer_id, owner).await?;
        store::smart_keys::of_administrator(&mut conn, &owner.id).await
    }

    /// Deletes a Smart Tools API key of `customer_id`; tokens made with it stop working.
    pub async fn delete_smart_key(
        &self,
        actor: &Actor,
        customer_id: &str,
        api_key: &str,
    ) -> Result<SmartKey> {
        let mut tx = self.store.begin().await?;
        let (key, _) = store::smart_keys::get(&mut tx, api_key.trim())
            .await?
            .ok_or_else(|| Error::not_found("Smart Tools API key", api_key))?;
        let owner = store::administrators::get(&mut tx, &key.administrator_id)
            .await?
            .filter(|o| o.customer_id == customer_id)
            .ok_or_else(|| Error::not_found("Smart Tools API key", api_key))?;
        if actor.is_other_administrator(&owner.id) {
            return Err(Error::not_found("Smart Tools API key", api_key));
        }
        self.delete_smart_key_in(&mut tx, actor, customer_id, &key, &owner.email)
            .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Deletes `key` of the administrator `owner_email`, on the record, inside `tx`.
    async fn delete_smart_key_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        customer_id: &str,
        key: &SmartKey,
        owner_email: &str,
    ) -> Result<()> {
        store::smart_keys::delete(tx, &key.api_key).await?;
        self.record(
            tx,
            actor,
            Event {
                change: ChangeKind::SmartKey,
                event_type: event_types::SMARTKEY_DELETE,
                customer_id,
                target_id: &key.api_key,
                target_name: owner_email,
                before: Some(json!(key)),
                after: None,
                message: format!("Smart Tools API key of {owner_email} deleted"),
            },
        )
        .await
    }

    /// The administrator and customer behind a Smart Tools API key, if `secret` is its
    /// secret (`None` for a wrong secret; a missing key is `None` too). Without `secret`, only
    /// whether the key exists.
    pub async fn smart_key_owner(
        &self,
        api_key: &str,
        secret: Option<&str>,
    ) -> Result<Option<(Administrator, Customer)>> {
        let mut conn = self.store.conn().await?;
        let Some((key, hash)) = store::smart_keys::get(&mut conn, api_key.trim()).await? else {
            if let Some(secret) = secret {
                // Spend the same work as a real check.
                self.secrets.hash(secret);
            }
            return Ok(None);
        };
        if let Some(secret) = secret
            && !self.secrets.verify(secret, &decode_hash(&hash)?)
        {
            return Ok(None);
        }
        let Some(owner) = store::administrators::get(&mut conn, &key.administrator_id).await?
        else {
            return Ok(None);
        };
        let customer = Self::require_customer(&mut conn, &owner.customer_id).await?;
        Ok(Some((owner, customer)))
    }

    // ---- system log ------------------------------------------------------------------------

    /// One page of a customer's system log between `from` and `to` (unix seconds, inclusive),
    /// newest first, with an estimate of how many records the range holds. Reading it takes
    /// the `System Log` permission.
    pub async fn system_log(
        &self,
        actor: &Actor,
        customer_id: &str,
        range: (i64, i64),
        page: &PageRequest,
    ) -> Result<(Page<AuditEvent>, i64)> {
        actor.require(permissions::SYSTEM_LOG)?;
        let mut conn = self.store.conn().await?;
        let after = page.after()?;
        let before = after.as_deref().map(split_time_key).transpose()?;
        let rows = store::audit::page(&mut conn, customer_id, range, before, page.fetch()).await?;
        let total = store::audit::count(&mut conn, customer_id, range).await?;
        Ok((
            Page::from_rows(rows, page, |e| format!("{}:{}", e.at, e.id)),
            total,
        ))
    }

    /// Deletes system-log records older than `before`; safe to run on several nodes at once.
    pub async fn purge_system_log(&self, before: i64) -> Result<u64> {
        store::audit::purge(&mut *self.store.conn().await?, before).await
    }
}
