//! Audit events: who changed what, recorded in the same transaction as the change.

use serde::{Deserialize, Serialize};

use super::administrators::Administrator;
use super::permissions::{self, Access};

/// Event types, as the system log names them.
pub mod event_types {
    /// A customer was created.
    pub const CUSTOMER_CREATE: &str = "platform/customer/create";
    /// An administrator was added.
    pub const ADMINISTRATOR_CREATE: &str = "platform/administrator/create";
    /// An administrator's access changed.
    pub const ADMINISTRATOR_UPDATE: &str = "platform/administrator/update";
    /// An administrator was removed.
    pub const ADMINISTRATOR_DELETE: &str = "platform/administrator/delete";
    /// An API client was created.
    pub const SECURECLIENT_CREATE: &str = "platform/secureclient/create";
    /// An API client was deleted.
    pub const SECURECLIENT_DELETE: &str = "platform/secureclient/delete";
    /// An API client obtained bearer tokens (recorded in batches).
    pub const SECURECLIENT_TOKEN: &str = "platform/secureclient/token";
    /// One bearer token was issued (recorded with `audit_each_token`).
    pub const SECURECLIENT_TOKEN_ISSUED: &str = "platform/secureclient/token/issued";
    /// An API client revoked one of its bearer tokens before its expiry.
    pub const SECURECLIENT_TOKEN_REVOKED: &str = "platform/secureclient/token/revoked";
    /// A Smart Tools API key was created.
    pub const SMARTKEY_CREATE: &str = "platform/smartkey/create";
    /// A Smart Tools API key was deleted.
    pub const SMARTKEY_DELETE: &str = "platform/smartkey/delete";
    /// An administrator's password was set.
    pub const ADMINISTRATOR_PASSWORD: &str = "platform/administrator/password";
    /// An invited administrator accepted the invitation.
    pub const ADMINISTRATOR_ACCEPT: &str = "platform/administrator/accept";
    /// A pending invitation was withdrawn.
    pub const INVITATION_DELETE: &str = "platform/administrator/invitation/delete";
    /// A Workspace OAuth client was created.
    pub const WORKSPACECLIENT_CREATE: &str = "platform/workspaceclient/create";
    /// A Workspace OAuth client's settings changed.
    pub const WORKSPACECLIENT_UPDATE: &str = "platform/workspaceclient/update";
    /// A Workspace OAuth client was enabled.
    pub const WORKSPACECLIENT_ENABLE: &str = "platform/workspaceclient/enable";
    /// A Workspace OAuth client was disabled.
    pub const WORKSPACECLIENT_DISABLE: &str = "platform/workspaceclient/disable";
    /// A Workspace OAuth client's secret was rotated.
    pub const WORKSPACECLIENT_ROTATE: &str = "platform/workspaceclient/secret/rotate";
    /// A Workspace OAuth client's old secret was expired.
    pub const WORKSPACECLIENT_EXPIRE_OLD: &str = "platform/workspaceclient/secret/expireold";
    /// A Workspace OAuth client was deleted.
    pub const WORKSPACECLIENT_DELETE: &str = "platform/workspaceclient/delete";
    /// An end user of the OpenID Connect server was added.
    pub const END_USER_CREATE: &str = "platform/workspaceuser/create";
    /// An end user's password was set.
    pub const END_USER_PASSWORD: &str = "platform/workspaceuser/password";
    /// An end user was removed.
    pub const END_USER_DELETE: &str = "platform/workspaceuser/delete";
    /// An end user's consent to a Workspace application was withdrawn.
    pub const END_USER_CONSENT_WITHDRAW: &str = "platform/workspaceuser/consent/withdraw";
    /// Token requests with a wrong client id or secret (recorded in batches).
    pub const SIGNIN_FAILED: &str = "platform/secureclient/signin/failed";
}

/// Kind of actor behind an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    /// An administrator, directly or through one of its API clients.
    Administrator,
    /// An API client acting for itself (e.g. getting a token).
    Service,
    /// The operator of the deployment (the local command line) or cloudtrust itself.
    System,
}

impl ActorType {
    /// `administrator`, `service` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Administrator => "administrator",
            ActorType::Service => "service",
            ActorType::System => "system",
        }
    }
}

/// Who did something, and with what rights.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Kind of actor.
    pub actor_type: ActorType,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// Name shown in the log.
    pub display_name: String,
    /// The rights the actor acts with: an administrator's current access, or `None` for the
    /// deployment's operator and cloudtrust itself, who are bound by no administrator's rights.
    #[serde(skip)]
    pub access: Option<Access>,
}

impl Actor {
    /// The deployment's operator using the local command line.
    pub fn operator() -> Self {
        Actor {
            actor_type: ActorType::System,
            id: None,
            display_name: "cloudtrust command line".to_owned(),
            access: None,
        }
    }

    /// cloudtrust itself (background jobs, the dev bootstrap).
    pub fn system() -> Self {
        Actor {
            actor_type: ActorType::System,
            id: None,
            display_name: "cloudtrust".to_owned(),
            access: None,
        }
    }

    /// An administrator acting with its current access (directly, or through an API client).
    pub fn administrator(admin: &Administrator) -> Self {
        Actor {
            actor_type: ActorType::Administrator,
            id: Some(admin.id.clone()),
            display_name: admin.display_name.clone(),
            access: Some(admin.access.clone()),
        }
    }

    /// Whether the actor holds `permission` (the operator holds every permission).
    pub fn allows(&self, permission: &str) -> bool {
        self.access.as_ref().is_none_or(|a| a.allows(permission))
    }

    /// Refuses unless the actor holds `permission`.
    pub fn require(&self, permission: &str) -> crate::error::Result<()> {
        if self.allows(permission) {
            Ok(())
        } else {
            Err(crate::error::Error::Forbidden(format!(
                "{} does not hold the `{permission}` permission",
                self.display_name
            )))
        }
    }

    /// Whether the actor holds everything `other` holds, so that it may grant or take it.
    pub fn includes(&self, other: &Access) -> bool {
        self.access.as_ref().is_none_or(|a| a.includes(other))
    }

    /// Whether the actor may manage administrators at all.
    pub fn manages_administrators(&self) -> bool {
        self.allows(permissions::ADMINISTRATORS)
    }

    /// Whether the actor is the administrator `id`.
    pub fn is(&self, id: &str) -> bool {
        self.actor_type == ActorType::Administrator && self.id.as_deref() == Some(id)
    }

    /// Whether the actor is an administrator other than `id`: administrators act on their
    /// own API clients, keys and password only.
    pub fn is_other_administrator(&self, id: &str) -> bool {
        self.actor_type == ActorType::Administrator && self.id.as_deref() != Some(id)
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Record id (a GUID).
    pub id: String,
    /// When, unix seconds.
    pub at: i64,
    /// The customer concerned.
    pub customer_id: Option<String>,
    /// One of [`event_types`].
    pub event_type: String,
    /// Who did it.
    pub actor: Actor,
    /// Kind of the target, e.g. `administrator`.
    pub target_type: Option<String>,
    /// Id of the target.
    pub target_id: Option<String>,
    /// Name of the target shown to people.
    pub target_display_name: Option<String>,
    /// The target before the change (JSON), when it existed.
    pub before_changes: Option<serde_json::Value>,
    /// The target after the change (JSON), when it still exists.
    pub after_changes: Option<serde_json::Value>,
    /// A sentence describing the event.
    pub message: String,
}
