//! What the directory changed, told to whoever keeps copies (the token endpoints' cache) as
//! soon as the change commits. The directory knows only this trait, not who implements it.

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// An API client (key: client id).
    Client,
    /// An administrator (key: administrator id).
    Administrator,
    /// A customer (key: customer id).
    Customer,
    /// The signing keys (key: empty).
    Keys,
    /// A Smart Tools API key (key: the API key); not cached, recorded for the audit trail.
    SmartKey,
    /// A Workspace OAuth client (key: its client id).
    WorkspaceClient,
    /// An end user of the OpenID Connect server (key: its id).
    EndUser,
    /// An API client's bearer token revoked before its expiry (key: the token's `jti`).
    RevokedBearerToken,
}

impl ChangeKind {
    /// The name stored in the change log.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Client => "client",
            ChangeKind::Administrator => "administrator",
            ChangeKind::Customer => "customer",
            ChangeKind::Keys => "keys",
            ChangeKind::SmartKey => "smartkey",
            ChangeKind::WorkspaceClient => "workspaceclient",
            ChangeKind::EndUser => "enduser",
            ChangeKind::RevokedBearerToken => "revokedbearertoken",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<ChangeKind> {
        match s {
            "client" => Some(ChangeKind::Client),
            "administrator" => Some(ChangeKind::Administrator),
            "customer" => Some(ChangeKind::Customer),
            "keys" => Some(ChangeKind::Keys),
            "smartkey" => Some(ChangeKind::SmartKey),
            "workspaceclient" => Some(ChangeKind::WorkspaceClient),
            "enduser" => Some(ChangeKind::EndUser),
            "revokedbearertoken" => Some(ChangeKind::RevokedBearerToken),
            _ => None,
        }
    }

    /// The target type of the change's system-log record.
    pub fn target_type(self) -> &'static str {
        match self {
            ChangeKind::Client => "secureclient",
            ChangeKind::Administrator => "administrator",
            ChangeKind::Customer => "customer",
            ChangeKind::Keys => "keys",
            ChangeKind::SmartKey => "smartkey",
            ChangeKind::WorkspaceClient => "workspaceclient",
            ChangeKind::EndUser => "workspaceuser",
            ChangeKind::RevokedBearerToken => "bearertoken",
        }
    }
}

/// One changed thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What kind of thing.
    pub kind: ChangeKind,
    /// Which one.
    pub key: String,
}

/// Told what a committed transaction changed.
pub trait ChangeSink: Send + Sync {
    /// Called once per committed transaction, after the commit.
    fn on_commit(&self, changes: &[Change]);
}

/// A sink for processes that keep no copies (the command line).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoCopies;

impl ChangeSink for NoCopies {
    fn on_commit(&self, _: &[Change]) {}
}
