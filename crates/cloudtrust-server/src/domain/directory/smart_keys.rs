//! Smart Tools API keys: made by an administrator for itself, removed with it.

use serde_json::json;

use super::{AdministratorRef, Directory, Event};
use crate::domain::administrators::Administrator;
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::customers::Customer;
use crate::domain::secrets::{decode_hash, generate_secret};
use crate::domain::smart_keys::{CreatedSmartKey, SmartKey, generate_api_key};
use crate::error::{Error, Result};
use crate::store::{self, Tx};

/// The entity name of Smart Tools keys in errors.
const SMART_KEY: &str = "Smart Tools API key";

impl Directory {
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
        Self::authorize_new_credential(actor, &owner, "Smart Tools keys")?;
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

    /// The Smart Tools API keys of an administrator (an administrator-actor sees only its
    /// own).
    pub async fn list_smart_keys(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner: AdministratorRef<'_>,
    ) -> Result<Vec<SmartKey>> {
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        let owner = Self::require_administrator(&mut conn, customer_id, owner).await?;
        Self::owned_by_actor(actor, &owner.id, SMART_KEY, "")?;
        store::smart_keys::of_administrator(&mut conn, &owner.id).await
    }

    /// Deletes a Smart Tools API key of `customer_id` (an administrator-actor deletes only its
    /// own); tokens made with it stop working.
    pub async fn delete_smart_key(
        &self,
        actor: &Actor,
        customer_id: &str,
        api_key: &str,
    ) -> Result<SmartKey> {
        let mut tx = self.store.begin().await?;
        let (key, _) = store::smart_keys::get(&mut tx, api_key.trim())
            .await?
            .ok_or_else(|| Error::not_found(SMART_KEY, api_key))?;
        let owner = store::administrators::get(&mut tx, &key.administrator_id)
            .await?
            .filter(|o| o.customer_id == customer_id)
            .ok_or_else(|| Error::not_found(SMART_KEY, api_key))?;
        Self::owned_by_actor(actor, &owner.id, SMART_KEY, api_key)?;
        self.delete_smart_key_in(&mut tx, actor, customer_id, &key, &owner.email)
            .await?;
        tx.commit().await?;
        Ok(key)
    }

    /// Deletes `key` of the administrator `owner_email`, on the record, inside `tx`.
    pub(super) async fn delete_smart_key_in(
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

    /// The administrator and customer behind a Smart Tools API key, if it exists.
    pub async fn lookup_smart_key(
        &self,
        api_key: &str,
    ) -> Result<Option<(Administrator, Customer)>> {
        self.smart_key_owner(api_key, None).await
    }

    /// The administrator and customer behind a Smart Tools API key, if `secret` is its
    /// secret; `None` for a wrong secret or a missing key, after the same work.
    pub async fn verify_smart_key(
        &self,
        api_key: &str,
        secret: &str,
    ) -> Result<Option<(Administrator, Customer)>> {
        self.smart_key_owner(api_key, Some(secret)).await
    }

    async fn smart_key_owner(
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
}
