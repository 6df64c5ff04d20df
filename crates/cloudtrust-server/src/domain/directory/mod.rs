//! The directory of customers, administrators, API clients and Smart Tools keys: every change
//! to them goes through here, in one transaction with its system-log record and its change-log
//! entry, so the command line, the REST API and the console share one implementation of each
//! rule.
//!
//! **Who may do what.** Every method whose first argument is an [`Actor`] checks that actor's
//! rights before it reads or changes anything. The others take no actor and check no rights:
//! `verify_*` check a credential, `lookup_*` find something by an id or token the caller was
//! already given, [`Directory::accept_invitation`] is authorised by its token, and
//! [`Directory::purge_system_log`] is maintenance. They serve authentication, sessions and
//! background jobs, never an actor's request on its own.

mod administrators;
mod api_clients;
mod bearer_tokens;
mod customers;
mod end_users;
mod invitations;
mod passwords;
mod smart_keys;
mod system_log;
mod workspace_clients;

use std::sync::Arc;

pub use administrators::{AdministratorRef, NewAdministrator, RemovedAdministrator};
pub use bearer_tokens::TokenToRevoke;
pub use invitations::{INVITATION_LIFETIME_SECS, Invitation};
pub use workspace_clients::SecretReminder;

use super::administrators::{Administrator, id_from_reference, normalize_email};
use super::audit::{Actor, AuditEvent};
use super::changes::{Change, ChangeKind, ChangeSink, NoCopies};
use super::customers::Customer;
use super::permissions::{self, Access};
use super::secrets::SecretHasher;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::store::{self, Conn, Store, Tx};

/// How long a Workspace OAuth client's secret lasts unless configured: 90 days.
pub const DEFAULT_WORKSPACE_SECRET_LIFETIME_SECS: i64 = 90 * 86_400;

/// The directory service.
#[derive(Clone)]
pub struct Directory {
    store: Store,
    clock: Arc<dyn Clock>,
    secrets: Arc<SecretHasher>,
    sink: Arc<dyn ChangeSink>,
    /// How long a Workspace OAuth client's secret lasts, in seconds.
    workspace_secret_lifetime: i64,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Directory")
    }
}

/// One change to the directory, as the change log and the system log record it.
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

/// Runs slow, CPU-bound work (password hashing) on the blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::internal(format!("blocking task: {e}")))
}

impl Directory {
    /// A directory over `store` that tells nobody of its changes (the command line's: it
    /// keeps no copies, and running servers learn of changes from the change log).
    pub fn new(store: Store, clock: Arc<dyn Clock>, secrets: Arc<SecretHasher>) -> Self {
        Directory {
            store,
            clock,
            secrets,
            sink: Arc::new(NoCopies),
            workspace_secret_lifetime: DEFAULT_WORKSPACE_SECRET_LIFETIME_SECS,
        }
    }

    /// The same directory, giving Workspace OAuth clients' secrets `secs` seconds of life.
    pub fn with_workspace_secret_lifetime(self, secs: i64) -> Self {
        Directory {
            workspace_secret_lifetime: secs.max(1),
            ..self
        }
    }

    /// How many whole days a Workspace OAuth client's new secret lasts (at least one).
    pub fn workspace_secret_lifetime_days(&self) -> i64 {
        (self.workspace_secret_lifetime / 86_400).max(1)
    }

    /// The same directory, telling `sink` what each transaction changed once it commits.
    pub fn reporting_to(self, sink: Arc<dyn ChangeSink>) -> Self {
        Directory { sink, ..self }
    }

    /// Records a change in the change log (so other nodes drop what they copied) and in the
    /// system log, inside the transaction that makes it.
    async fn record(&self, tx: &mut Tx, actor: &Actor, event: Event<'_>) -> Result<()> {
        let now = self.clock.now();
        store::changes::record(tx, event.change.as_str(), event.target_id, now).await?;
        let record = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: now,
            customer_id: Some(event.customer_id.to_owned()),
            event_type: event.event_type.to_owned(),
            actor: actor.clone(),
            target_type: Some(event.change.target_type().to_owned()),
            target_id: Some(event.target_id.to_owned()),
            target_display_name: Some(event.target_name.to_owned()),
            before_changes: event.before,
            after_changes: event.after,
            message: event.message,
        };
        store::audit::insert(tx, &record).await
    }

    /// Commits `tx` and tells the sink what it changed.
    async fn commit_changes(&self, tx: Tx, changes: &[Change]) -> Result<()> {
        tx.commit().await?;
        self.sink.on_commit(changes);
        Ok(())
    }

    /// Records `event`, commits, and tells the sink.
    async fn commit(&self, mut tx: Tx, actor: &Actor, event: Event<'_>) -> Result<()> {
        let change = Change {
            kind: event.change,
            key: event.target_id.to_owned(),
        };
        self.record(&mut tx, actor, event).await?;
        self.commit_changes(tx, &[change]).await
    }

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

    /// Administrators see and act on their own API clients and Smart Tools keys only: to
    /// another administrator, `entity` `id` of `owner_id` does not exist.
    fn owned_by_actor(actor: &Actor, owner_id: &str, entity: &'static str, id: &str) -> Result<()> {
        if actor.is_other_administrator(owner_id) {
            return Err(Error::not_found(entity, id));
        }
        Ok(())
    }

    /// Refuses to make `what` (API clients, Smart Tools keys) for `owner` unless `actor` is
    /// `owner` itself or the operator, and `owner` has accepted its invitation.
    fn authorize_new_credential(actor: &Actor, owner: &Administrator, what: &str) -> Result<()> {
        if actor.is_other_administrator(&owner.id) {
            return Err(Error::Forbidden(format!(
                "an administrator creates {what} for itself only"
            )));
        }
        if owner.pending {
            return Err(Error::Forbidden(format!(
                "{} has not accepted the invitation yet",
                owner.email
            )));
        }
        Ok(())
    }
}
