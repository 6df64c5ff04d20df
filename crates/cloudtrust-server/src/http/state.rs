//! What handlers can reach, as substates: each handler names only the services it uses
//! (`State<Directory>`, `State<Arc<Auth>>`, …), never the whole.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::console_sessions::ConsoleSessions;
use crate::health::Health;
use crate::keys::KeyRing;
use crate::notify::Notifier;
use crate::regions::Regions;

/// The public base URL, under which links sent to people (invitations) point.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Arc<str>);

/// The largest request body accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The services behind the HTTP surface.
#[derive(Clone, FromRef)]
pub struct Services {
    /// Credentials and tokens.
    pub auth: Arc<Auth>,
    /// Customers, administrators, API clients, Smart Tools keys, the system log.
    pub directory: Directory,
    /// The console's sessions.
    pub sessions: ConsoleSessions,
    /// Messages to people.
    pub notifier: Arc<Notifier>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// Signing keys (JWKS, discovery).
    pub keys: Arc<KeyRing>,
    /// Readiness.
    pub health: Health,
    /// Which region a request is served as.
    pub regions: Arc<Regions>,
    /// The public base URL.
    pub public_url: PublicUrl,
    /// The body size limit.
    pub body_limit: BodyLimit,
}
