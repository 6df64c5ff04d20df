//! What handlers can reach, as substates: each handler names only the services it uses
//! (`State<Directory>`, `State<Arc<Auth>>`, …), never the whole.

use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::Auth;
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::console_sessions::ConsoleSessions;
use crate::domain::workspace_sign_in::WorkspaceSignIn;
use crate::health::Health;
use crate::http::web::session::FormKey;
use crate::keys::KeyRing;
use crate::notify::Notifier;
use crate::regions::Regions;

/// The public base URL, under which links sent to people (invitations) point.
#[derive(Debug, Clone)]
pub struct PublicUrl(pub Arc<str>);

/// Where `/metrics` is served: on the main listeners, or only on `metrics_listen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsPlace {
    /// On the main listeners.
    Main,
    /// Only on its own listener.
    OwnListener,
}

/// Marks the requests of the metrics listener.
#[derive(Debug, Clone, Copy)]
pub struct OnMetricsListener;

/// The largest request body accepted, in bytes.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The services behind the HTTP surface, shared: a request clones one `Arc`, and each
/// handler then only the services it names.
#[derive(Clone)]
pub struct Services(Arc<ServiceSet>);

impl Services {
    /// The set, to be shared.
    pub fn new(set: ServiceSet) -> Self {
        Services(Arc::new(set))
    }
}

impl std::ops::Deref for Services {
    type Target = ServiceSet;

    fn deref(&self) -> &ServiceSet {
        &self.0
    }
}

/// Each service as a substate of [`Services`].
macro_rules! substates {
    ($($field:ident: $type:ty),* $(,)?) => {
        $(impl FromRef<Services> for $type {
            fn from_ref(services: &Services) -> Self {
                services.0.$field.clone()
            }
        })*
    };
}

substates! {
    auth: Arc<Auth>,
    directory: Directory,
    sessions: ConsoleSessions,
    sign_in: WorkspaceSignIn,
    notifier: Arc<Notifier>,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyRing>,
    health: Health,
    regions: Arc<Regions>,
    public_url: PublicUrl,
    body_limit: BodyLimit,
    form_key: FormKey,
    metrics_place: MetricsPlace,
}

/// The services behind the HTTP surface.
pub struct ServiceSet {
    /// Credentials and tokens.
    pub auth: Arc<Auth>,
    /// Customers, administrators, API clients, Smart Tools keys, the system log.
    pub directory: Directory,
    /// The console's sessions.
    pub sessions: ConsoleSessions,
    /// Workspace sign-in (the OpenID Connect server at `/core`).
    pub sign_in: WorkspaceSignIn,
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
    /// The key of the signed-out anti-forgery cookie.
    pub form_key: FormKey,
    /// Where `/metrics` is served.
    pub metrics_place: MetricsPlace,
}
