//! API clients: made by an administrator for itself, visible to it alone, removed with it.

use serde_json::json;

use super::{AdministratorRef, Directory, Event};
use crate::domain::administrators::Administrator;
use crate::domain::api_clients::{ApiClient, CreatedApiClient, validate_name};
use crate::domain::audit::{Actor, ActorType, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::paging::{Page, PageRequest, split_time_key};
use crate::domain::permissions;
use crate::domain::secrets::{decode_hash, generate_secret};
use crate::error::{Error, Result};
use crate::store::{self, Conn};

/// The entity name of API clients in errors.
const API_CLIENT: &str = "API client";

impl Directory {
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
        Self::authorize_new_credential(actor, &owner, "API clients")?;
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
    pub async fn list_api_clients(
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
            (Some(owner), _) => Self::owned_by_actor(actor, &owner.id, API_CLIENT, "")?,
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
                Self::api_client_page(&mut conn, customer_id, owner_id, page).await
            }
            _ => Ok(Page {
                items: store::api_clients::list(&mut conn, customer_id, owner_id).await?,
                continuation: None,
            }),
        }
    }

    /// One page of the API clients of `owner`, listed by `owner` itself, whom the caller has
    /// already read and checked as current (the administrator a bearer token acts for). Its
    /// customer and itself are not read again, so the page costs one query.
    pub async fn page_own_api_clients(
        &self,
        owner: &Administrator,
        page: &PageRequest,
    ) -> Result<Page<ApiClient>> {
        let mut conn = self.store.conn().await?;
        Self::api_client_page(&mut conn, &owner.customer_id, &owner.id, page).await
    }

    async fn api_client_page(
        conn: &mut Conn,
        customer_id: &str,
        owner_id: &str,
        page: &PageRequest,
    ) -> Result<Page<ApiClient>> {
        let after = page.after()?;
        let after = after.as_deref().map(split_time_key).transpose()?;
        let rows =
            store::api_clients::page(conn, customer_id, owner_id, after, page.fetch()).await?;
        Ok(Page::from_rows(rows, page, |c| {
            format!("{}:{}", c.created_at, c.id)
        }))
    }

    /// One API client; an administrator-actor sees only its own.
    pub async fn get_api_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        client_id: &str,
    ) -> Result<ApiClient> {
        let client: ApiClient = store::api_clients::get(&mut *self.store.conn().await?, client_id)
            .await?
            .filter(|row| row.customer_id == customer_id)
            .ok_or_else(|| Error::not_found(API_CLIENT, client_id))?
            .into();
        Self::owned_by_actor(actor, &client.owner_id, API_CLIENT, client_id)?;
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
            .ok_or_else(|| Error::not_found(API_CLIENT, client_id))?
            .into();
        Self::owned_by_actor(actor, &client.owner_id, API_CLIENT, client_id)?;
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
    pub async fn verify_api_client_secret(&self, client_id: &str, secret: &str) -> Result<bool> {
        let row = store::api_clients::get(&mut *self.store.conn().await?, client_id).await?;
        Ok(match row {
            Some(row) => {
                let hash = decode_hash(&row.secret_hash)?;
                self.secrets.verify(secret, &hash)
            }
            None => false,
        })
    }
}
