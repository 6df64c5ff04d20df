//! Workspace OAuth clients: managed by administrators holding Full access or the `Workspace
//! OAuth Clients` permission, every client of a customer visible to each of them. A private
//! client's secret lasts the secret lifetime; a rotation makes a new one and keeps the previous
//! one working until its own expiry (or `$expireOldSecret`): two secrets at most.

use serde_json::json;

use super::{AdministratorRef, Directory, Event};
use crate::domain::administrators::normalize_email;
use crate::domain::audit::{Actor, event_types};
use crate::domain::changes::ChangeKind;
use crate::domain::permissions;
use crate::domain::secrets::{decode_hash, generate_secret};
use crate::domain::workspace_clients::{
    ClientType, CreatedWorkspaceClient, NewWorkspaceClient, SecretTimes, WorkspaceClient,
    WorkspaceClientChanges, client_name, generate_client_id, validate_display_name,
    validate_redirect_uris,
};
use crate::error::{Error, Result};
use crate::store::workspace_clients::{self as stored_clients, StoredWorkspaceClient};
use crate::store::{self, Tx};

/// The entity name of Workspace OAuth clients in errors.
const WORKSPACE_CLIENT: &str = "Workspace OAuth client";

/// A reminder to send: `client`'s current secret expires at `expires_at`, `days_before` days
/// from the threshold that fell due (0: it has expired).
#[derive(Debug, Clone)]
pub struct SecretReminder {
    /// The client.
    pub client: WorkspaceClient,
    /// The threshold, in days before the expiry.
    pub days_before: i64,
    /// When the secret expires.
    pub expires_at: i64,
    /// Which secret it is about, distinct for every secret of the client.
    pub secret_id: String,
}

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// The furthest threshold honoured, in days (as the longest secret lifetime).
const MAX_REMINDER_DAYS: i64 = 3650;

/// How long after its expiry a secret is still worth a reminder (a node that was down then
/// sends it late, but not years late).
const LATE_REMINDER_SECS: i64 = 7 * 86_400;

impl Directory {
    fn new_secret(&self, now: i64) -> (String, String, SecretTimes) {
        let secret = generate_secret();
        let hash = self.secrets.hash(&secret);
        let times = SecretTimes {
            updated_at: now,
            expires_at: now.saturating_add(self.workspace_secret_lifetime),
        };
        (secret, hash, times)
    }

    /// Creates a Workspace OAuth client owned by the administrator `owner` (an administrator
    /// creates clients as itself), who must be active and hold the `Workspace OAuth Clients`
    /// permission. A private client's secret is returned here and never again.
    pub async fn create_workspace_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        owner: AdministratorRef<'_>,
        new: NewWorkspaceClient,
    ) -> Result<CreatedWorkspaceClient> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let display_name = validate_display_name(&new.display_name)?;
        let redirect_uris = validate_redirect_uris("redirect_uris", &new.redirect_uris)?;
        let post_logout_redirect_uris =
            validate_redirect_uris("post_logout_redirect_uris", &new.post_logout_redirect_uris)?;
        let owner_contact = new
            .owner_contact
            .as_deref()
            .filter(|c| !c.trim().is_empty())
            .map(contact)
            .transpose()?;
        let mut tx = self.store.begin().await?;
        Self::require_customer(&mut tx, customer_id).await?;
        // Serialised with every other change of the customer's clients and administrators.
        store::customers::lock(&mut tx, customer_id).await?;
        let owner = Self::require_administrator(&mut tx, customer_id, owner).await?;
        Self::authorize_new_credential(actor, &owner, "Workspace OAuth clients")?;
        if !owner.access.allows(permissions::WORKSPACE_OAUTH_CLIENTS) {
            return Err(Error::Forbidden(format!(
                "{} does not hold the `{}` permission",
                owner.email,
                permissions::WORKSPACE_OAUTH_CLIENTS
            )));
        }
        let now = self.clock.now();
        let number = stored_clients::next_number(&mut tx, customer_id, new.client_type).await?;
        let private = new.client_type == ClientType::Private;
        let (secret, secret_hash, times) = if private {
            let (secret, hash, times) = self.new_secret(now);
            (Some(secret), Some(hash), Some(times))
        } else {
            (None, None, None)
        };
        let client = WorkspaceClient {
            name: client_name(customer_id, new.client_type, number),
            customer_id: customer_id.to_owned(),
            client_id: generate_client_id(),
            display_name,
            client_type: new.client_type,
            redirect_uris,
            post_logout_redirect_uris,
            require_user_consent: new.require_user_consent,
            require_pkce: new.require_pkce || !private,
            allow_offline_access: new.allow_offline_access,
            enabled: true,
            owner_contact: owner_contact.unwrap_or_else(|| owner.email.clone()),
            owner: owner.email.clone(),
            secret: times,
            old_secret: None,
            created_at: now,
        };
        let stored = StoredWorkspaceClient {
            client,
            secret_hash,
            old_secret_hash: None,
        };
        stored_clients::insert(&mut tx, &stored).await?;
        let client = stored.client;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::WorkspaceClient,
                event_type: event_types::WORKSPACECLIENT_CREATE,
                customer_id,
                target_id: &client.client_id,
                target_name: &client.name,
                before: None,
                after: Some(json!(client)),
                message: format!(
                    "Workspace OAuth client {} ({}) created",
                    client.name, client.display_name
                ),
            },
        )
        .await?;
        Ok(CreatedWorkspaceClient { client, secret })
    }

    /// Every Workspace OAuth client of a customer, oldest first.
    pub async fn list_workspace_clients(
        &self,
        actor: &Actor,
        customer_id: &str,
    ) -> Result<Vec<WorkspaceClient>> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let mut conn = self.store.conn().await?;
        Self::require_customer(&mut conn, customer_id).await?;
        stored_clients::of_customer(&mut conn, customer_id).await
    }

    /// The Workspace OAuth client `name` of a customer.
    pub async fn get_workspace_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
    ) -> Result<WorkspaceClient> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let mut conn = self.store.conn().await?;
        stored_clients::by_name(&mut conn, customer_id, name.trim())
            .await?
            .map(|stored| stored.client)
            .ok_or_else(|| Error::not_found(WORKSPACE_CLIENT, name))
    }

    /// Reads the client `name` for a change, in a transaction serialised with the customer's
    /// other changes.
    async fn for_change(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
    ) -> Result<(Tx, StoredWorkspaceClient)> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let mut tx = self.store.begin().await?;
        store::customers::lock(&mut tx, customer_id).await?;
        let stored = stored_clients::by_name(&mut tx, customer_id, name.trim())
            .await?
            .ok_or_else(|| Error::not_found(WORKSPACE_CLIENT, name))?;
        Ok((tx, stored))
    }

    /// Writes a changed client and its record, and commits.
    async fn save_change(
        &self,
        mut tx: Tx,
        actor: &Actor,
        before: &WorkspaceClient,
        after: &StoredWorkspaceClient,
        event_type: &'static str,
        message: String,
    ) -> Result<()> {
        stored_clients::update(&mut tx, after).await?;
        let client = &after.client;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::WorkspaceClient,
                event_type,
                customer_id: &client.customer_id,
                target_id: &client.client_id,
                target_name: &client.name,
                before: Some(json!(before)),
                after: Some(json!(client)),
                message,
            },
        )
        .await
    }

    /// Changes a client's display name, consent, redirect URIs or owner contact; nothing else
    /// of a client can change.
    pub async fn edit_workspace_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
        changes: WorkspaceClientChanges,
    ) -> Result<WorkspaceClient> {
        actor.require(permissions::WORKSPACE_OAUTH_CLIENTS)?;
        let display_name = changes
            .display_name
            .as_deref()
            .map(validate_display_name)
            .transpose()?;
        let redirect_uris = changes
            .redirect_uris
            .as_deref()
            .map(|uris| validate_redirect_uris("redirect_uris", uris))
            .transpose()?;
        let post_logout = changes
            .post_logout_redirect_uris
            .as_deref()
            .map(|uris| validate_redirect_uris("post_logout_redirect_uris", uris))
            .transpose()?;
        // An empty owner contact, as at creation, means the owner.
        let owner_contact = changes
            .owner_contact
            .as_deref()
            .map(|c| (!c.trim().is_empty()).then(|| contact(c)).transpose())
            .transpose()?;
        let (tx, mut stored) = self.for_change(actor, customer_id, name).await?;
        let before = stored.client.clone();
        let client = &mut stored.client;
        if let Some(display_name) = display_name {
            client.display_name = display_name;
        }
        if let Some(consent) = changes.require_user_consent {
            client.require_user_consent = consent;
        }
        if let Some(uris) = redirect_uris {
            client.redirect_uris = uris;
        }
        if let Some(uris) = post_logout {
            client.post_logout_redirect_uris = uris;
        }
        if let Some(contact) = owner_contact {
            client.owner_contact = contact.unwrap_or_else(|| client.owner.clone());
        }
        let message = format!("Workspace OAuth client {} changed", client.name);
        self.save_change(
            tx,
            actor,
            &before,
            &stored,
            event_types::WORKSPACECLIENT_UPDATE,
            message,
        )
        .await?;
        Ok(stored.client)
    }

    /// Enables or disables a client: a disabled client authenticates nowhere.
    pub async fn set_workspace_client_enabled(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
        enabled: bool,
    ) -> Result<WorkspaceClient> {
        let (tx, mut stored) = self.for_change(actor, customer_id, name).await?;
        let before = stored.client.clone();
        stored.client.enabled = enabled;
        let (event_type, done) = if enabled {
            (event_types::WORKSPACECLIENT_ENABLE, "enabled")
        } else {
            (event_types::WORKSPACECLIENT_DISABLE, "disabled")
        };
        let message = format!("Workspace OAuth client {} {done}", stored.client.name);
        self.save_change(tx, actor, &before, &stored, event_type, message)
            .await?;
        Ok(stored.client)
    }

    /// Rotates a private client's secret: the new one lasts the full lifetime, the one it
    /// replaces keeps working until its own expiry (replacing any older one). Returns the
    /// client and the new secret, shown this once.
    pub async fn rotate_workspace_secret(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
    ) -> Result<(WorkspaceClient, String)> {
        let (tx, mut stored) = self.for_change(actor, customer_id, name).await?;
        if stored.client.client_type == ClientType::Public {
            return Err(Error::invalid(
                "client_type",
                "a public client has no secret to rotate",
            ));
        }
        let before = stored.client.clone();
        let now = self.clock.now();
        let (secret, hash, times) = self.new_secret(now);
        // The replaced secret keeps its own expiry; its update time is when it became old,
        // as Citrix's answers show it.
        let current = stored.client.secret.filter(|s| s.is_valid_at(now));
        stored.old_secret_hash = current.and(stored.secret_hash.take());
        stored.client.old_secret = current.map(|s| SecretTimes {
            updated_at: now,
            expires_at: s.expires_at,
        });
        stored.secret_hash = Some(hash);
        stored.client.secret = Some(times);
        let message = format!(
            "Secret of Workspace OAuth client {} rotated",
            stored.client.name
        );
        self.save_change(
            tx,
            actor,
            &before,
            &stored,
            event_types::WORKSPACECLIENT_ROTATE,
            message,
        )
        .await?;
        Ok((stored.client, secret))
    }

    /// Ends a client's old secret at once; nothing to do when it has none.
    pub async fn expire_old_workspace_secret(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
    ) -> Result<WorkspaceClient> {
        let (tx, mut stored) = self.for_change(actor, customer_id, name).await?;
        if stored.client.old_secret.is_none() && stored.old_secret_hash.is_none() {
            tx.commit().await?;
            return Ok(stored.client);
        }
        let before = stored.client.clone();
        stored.client.old_secret = None;
        stored.old_secret_hash = None;
        let message = format!(
            "Old secret of Workspace OAuth client {} expired",
            stored.client.name
        );
        self.save_change(
            tx,
            actor,
            &before,
            &stored,
            event_types::WORKSPACECLIENT_EXPIRE_OLD,
            message,
        )
        .await?;
        Ok(stored.client)
    }

    /// Deletes a client: it authenticates nowhere from now on.
    pub async fn delete_workspace_client(
        &self,
        actor: &Actor,
        customer_id: &str,
        name: &str,
    ) -> Result<WorkspaceClient> {
        let (mut tx, stored) = self.for_change(actor, customer_id, name).await?;
        let client = stored.client;
        stored_clients::delete(&mut tx, &client.name).await?;
        self.commit(
            tx,
            actor,
            Event {
                change: ChangeKind::WorkspaceClient,
                event_type: event_types::WORKSPACECLIENT_DELETE,
                customer_id,
                target_id: &client.client_id,
                target_name: &client.name,
                before: Some(json!(client)),
                after: None,
                message: format!("Workspace OAuth client {} deleted", client.name),
            },
        )
        .await?;
        Ok(client)
    }

    /// The enabled client `client_id` if `secret` is its current secret or its old one, and
    /// that secret has not expired; `None` otherwise, after the same work.
    pub async fn verify_workspace_client_secret(
        &self,
        client_id: &str,
        secret: &str,
    ) -> Result<Option<WorkspaceClient>> {
        let found = self
            .identify_workspace_client(client_id, Some(secret))
            .await?;
        Ok(found.filter(|c| c.enabled))
    }

    /// The client `client_id`, enabled or not, when the credentials fit it: a private client
    /// with its current or old secret, unexpired; a public client with no secret at all.
    pub async fn identify_workspace_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Option<WorkspaceClient>> {
        let stored =
            stored_clients::by_client_id(&mut *self.store.conn().await?, client_id.trim()).await?;
        let Some(stored) = stored else {
            if let Some(secret) = secret {
                self.secrets.hash(secret);
            }
            return Ok(None);
        };
        let Some(secret) = secret else {
            return Ok((stored.client.client_type == ClientType::Public).then_some(stored.client));
        };
        let now = self.clock.now();
        let matches = |hash: &Option<String>, times: Option<SecretTimes>| -> Result<bool> {
            let (Some(hash), Some(times)) = (hash, times) else {
                return Ok(false);
            };
            Ok(self.secrets.verify(secret, &decode_hash(hash)?) && times.is_valid_at(now))
        };
        let current = matches(&stored.secret_hash, stored.client.secret)?;
        let old = matches(&stored.old_secret_hash, stored.client.old_secret)?;
        Ok((current || old).then_some(stored.client))
    }

    /// Claims the secret reminders due at `now` for the thresholds `days` (days before
    /// expiry; expiry itself is always one): for each client, the most urgent threshold it
    /// has reached that nobody has claimed yet, and the less urgent ones it skipped, so a
    /// node that was down sends one reminder, not several. Each claim is a unique row, so
    /// with several nodes each reminder goes out once. Only current secrets are reminded of.
    pub async fn claim_secret_reminders(
        &self,
        now: i64,
        days: &[u64],
    ) -> Result<Vec<SecretReminder>> {
        let mut thresholds: Vec<i64> = days
            .iter()
            .filter_map(|d| i64::try_from(*d).ok())
            .filter(|d| *d <= MAX_REMINDER_DAYS)
            .chain([0])
            .collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        let furthest = thresholds.last().copied().unwrap_or(0);
        let mut tx = self.store.begin().await?;
        let clients = stored_clients::expiring_between(
            &mut tx,
            now.saturating_sub(LATE_REMINDER_SECS),
            now.saturating_add(furthest * DAY_SECS),
        )
        .await?;
        let mut due = Vec::new();
        for stored in clients {
            let (Some(secret), Some(hash)) = (stored.client.secret, stored.secret_hash.as_deref())
            else {
                continue;
            };
            let reached: Vec<i64> = thresholds
                .iter()
                .copied()
                .filter(|d| now >= secret.expires_at - d * DAY_SECS)
                .collect();
            let Some(&most_urgent) = reached.first() else {
                continue;
            };
            let secret_id = secret_id(hash);
            let mut send = false;
            for days_before in reached {
                let claimed = stored_clients::claim_reminder(
                    &mut tx,
                    &stored.client.name,
                    hash,
                    &secret_id,
                    days_before,
                    now,
                )
                .await?;
                send |= claimed && days_before == most_urgent;
            }
            if send {
                due.push(SecretReminder {
                    days_before: most_urgent,
                    expires_at: secret.expires_at,
                    secret_id,
                    client: stored.client,
                });
            }
        }
        tx.commit().await?;
        Ok(due)
    }
}

/// A secret's name in reminder records: the start of its keyed hash, enough to tell two
/// secrets of one client apart, useless for guessing the secret.
fn secret_id(hash: &str) -> String {
    hash.chars().take(16).collect()
}

/// An owner contact: an email address, normalised.
fn contact(text: &str) -> Result<String> {
    normalize_email(text).map_err(|_| Error::invalid("owner_contact", "must be an email address"))
}
