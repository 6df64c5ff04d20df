//! The directory of customers, administrators and API clients: every change to them goes
//! through here, in one transaction with its audit record and its change-log entry, so the
//! command line, the REST API and the console share one implementation of each rule.

use std::sync::Arc;

use serde_json::json;

use super::administrators::{Administrator, normalize_email, validate_display_name};
use super::api_clients::{ApiClient, CreatedApiClient, validate_name};
use super::audit::{Actor, AuditEvent, event_types};
use super::customers::{self, Customer, Region};
use super::permissions::{self, Access};
use super::secrets::{SecretHasher, generate_secret};
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
        let customer = Customer {
            name: super::administrators::validate_text("name", name, 200)?,
            id,
            region,
            site_id: uuid::Uuid::new_v4().to_string(),
            created_at: self.clock.now(),
        };
        let mut tx = self.store.begin().await?;
        store::customers::insert(&mut tx, &customer)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict(format!("customer `{}` already exists", customer.id))
                } else {
                    e
                }
            })?;
        self.record(
            &mut tx,
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
        tx.commit().await?;
        self.cache.invalidate(ChangeKind::Customer, &customer.id);
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
        email: &str,
    ) -> Result<Administrator> {
        let email = normalize_email(email)?;
        store::administrators::by_email(conn, customer_id, &email)
            .await?
            .ok_or_else(|| Error::not_found("administrator", email))
    }

    /// Adds an administrator to a customer.
    pub async fn add_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
        display_name: Option<&str>,
        access: Access,
    ) -> Result<Administrator> {
        let email = normalize_email(email)?;
        let display_name = match display_name {
            Some(name) => validate_display_name(name)?,
            None => email.clone(),
        };
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        let now = self.clock.now();
        let admin = Administrator {
            id: uuid::Uuid::new_v4().to_string(),
            customer_id: customer_id.to_owned(),
            email,
            display_name,
            access,
            permission_generation: 1,
            created_at: now,
            updated_at: now,
        };
        store::administrators::insert(&mut tx, &admin)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Conflict(format!(
                        "administrator {} already exists in customer {customer_id}",
                        admin.email
                    ))
                } else {
                    e
                }
            })?;
        self.record(
            &mut tx,
            actor,
            Event {
                change: ChangeKind::Administrator,
                event_type: event_types::ADMINISTRATOR_CREATE,
                customer_id,
                target_id: &admin.id,
                target_name: &admin.email,
                before: None,
                after: Some(json!(admin)),
                message: format!("Administrator {} added", admin.email),
            },
        )
        .await?;
        tx.commit().await?;
        self.cache.invalidate(ChangeKind::Administrator, &admin.id);
        Ok(admin)
    }

    /// Replaces an administrator's access. A reduction raises the permission generation, so
    /// tokens issued before it stop working at once. The last Full administrator of a customer
    /// cannot be reduced.
    pub async fn set_access(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
        access: Access,
    ) -> Result<Administrator> {
        let mut tx = self.store.begin().await?;
        let before = Self::require_administrator(&mut tx, customer_id, email).await?;
        if before.access == Access::Full
            && access != Access::Full
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
        store::administrators::update_access(&mut tx, &after).await?;
        self.record(
            &mut tx,
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
        tx.commit().await?;
        self.cache.invalidate(ChangeKind::Administrator, &after.id);
        Ok(after)
    }

    /// Removes an administrator and all its API clients. The last Full administrator of a
    /// customer cannot be removed.
    pub async fn remove_administrator(
        &self,
        actor: &Actor,
        customer_id: &str,
        email: &str,
    ) -> Result<RemovedAdministrator> {
        let mut tx = self.store.begin().await?;
        let admin = Self::require_administrator(&mut tx, customer_id, email).await?;
        if admin.access == Access::Full
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

    /// Every administrator of a customer.
    pub async fn administrators(&self, customer_id: &str) -> Result<Vec<Administrator>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        store::administrators::of_customer(&mut conn, customer_id).await
    }

    /// One administrator by email.
    pub async fn administrator(&self, customer_id: &str, email: &str) -> Result<Administrator> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        Self::require_administrator(&mut conn, customer_id, email).await
    }

    // ---- API clients -----------------------------------------------------------------------

    /// Creates an API client owned by the administrator `owner_email`, who must hold the
    /// `API Clients` permission. The secret is returned here and never again.
    pub async fn create_api_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner_email: &str,
        name: &str,
    ) -> Result<CreatedApiClient> {
        let name = validate_name(name)?;
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        let owner = Self::require_administrator(&mut tx, customer_id, owner_email).await?;
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
        self.record(
            &mut tx,
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
        tx.commit().await?;
        self.cache.invalidate(ChangeKind::Client, &client.id);
        Ok(CreatedApiClient { client, secret })
    }

    /// The API clients of a customer: those of `owner_email` only when given (what an
    /// administrator sees), else all of them (the operator's view).
    pub async fn api_clients(
        &self,
        customer_id: &str,
        owner_email: Option<&str>,
    ) -> Result<Vec<ApiClient>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let owner = match owner_email {
            Some(email) => Some(Self::require_administrator(&mut conn, customer_id, email).await?),
            None => None,
        };
        store::api_clients::list(
            &mut conn,
            customer_id,
            owner.as_ref().map(|o| o.id.as_str()),
        )
        .await
    }

    /// Deletes an API client; its tokens stop working at once.
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
            .ok_or_else(|| Error::not_found("API client", client_id))?
            .into();
        store::api_clients::delete(&mut tx, client_id).await?;
        self.record(
            &mut tx,
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
        tx.commit().await?;
        self.cache.invalidate(ChangeKind::Client, client_id);
        Ok(client)
    }

    /// Whether `secret` is the current secret of API client `client_id` (used to re-show
    /// stored development credentials only while they still work).
    pub async fn api_client_secret_matches(&self, client_id: &str, secret: &str) -> Result<bool> {
        let row = store::api_clients::get(&mut *self.store.conn().await?, client_id).await?;
        Ok(match row {
            Some(row) => {
                let hash = super::secrets::decode_hash(&row.secret_hash)?;
                self.secrets.verify(secret, &hash)
            }
            None => false,
        })
    }
}
