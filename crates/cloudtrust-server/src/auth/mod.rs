//! Authentication: one service for every credential kind — API clients (and the bearer tokens
//! they get), Smart Tools keys, console passwords. Each credential check runs the same
//! sequence: ask the throttle, verify, count a failure, answer an [`Outcome`]. Front ends (the
//! OAuth and trust endpoints, Smart Tools, the console, the portal, the bearer extractor) only
//! map an outcome to their own error shape.
//!
//! The API-client path is the hot path: in the steady state it reads only the in-memory cache,
//! verifies the secret with a keyed SHA-256 compare and signs with a key kept loaded; the
//! throttle takes no lock and makes no key while nothing fails.

mod api_client;
mod bearer;
mod bearer_token_status;
mod password;
mod smart_key;
mod verified_tokens;
mod workspace_client;

use std::sync::Arc;

pub use api_client::{Issued, ROOT};
pub use bearer::Caller;
pub use bearer_token_status::TokenQuery;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::domain::Directory;
use crate::domain::customers::{Customer, Region};
use crate::domain::secrets::SecretHasher;
use crate::domain::tokens::TokenPolicy;
use crate::keys::KeyRing;
use crate::regions::{Admission, Regions, Serving};
use crate::throttle::Throttle;
use crate::usage::UsageRecorder;
use verified_tokens::VerifiedTokens;

/// Why a credential was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Wrong, unknown, expired or no longer entitled; the reason is logged, never told.
    Invalid,
    /// Too many failures: try again in this many seconds.
    Throttled(u64),
    /// Good, but its customer is served by another region's host.
    Elsewhere(Elsewhere),
    /// Not checked: the server is busy checking others; try again in this many seconds.
    Busy(u64),
}

impl Refusal {
    /// The refusal's name in metrics: `invalid`, `throttled`, `elsewhere` or `busy`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Throttled(_) => "throttled",
            Refusal::Elsewhere(_) => "elsewhere",
            Refusal::Busy(_) => "busy",
        }
    }
}

/// What checking a credential found: what it stands for (`Ok`), or why it was refused.
pub type Outcome<T> = std::result::Result<T, Refusal>;

/// Where a customer is served instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elsewhere {
    /// The customer.
    pub customer_id: String,
    /// Its home region.
    pub home: Region,
    /// The host that serves that region, if this deployment knows one.
    pub host: Option<String>,
}

/// The authentication service.
pub struct Auth {
    cache: Arc<AuthCache>,
    directory: Directory,
    secrets: Arc<SecretHasher>,
    throttle: Arc<Throttle>,
    clock: Arc<dyn Clock>,
    regions: Arc<Regions>,
    usage: Arc<UsageRecorder>,
    keys: Arc<KeyRing>,
    tokens: TokenPolicy,
    verified: VerifiedTokens,
    hashing: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

/// What the authentication service is built from.
pub struct Parts {
    /// The token endpoints' view of clients, administrators and customers.
    pub cache: Arc<AuthCache>,
    /// The directory (Smart Tools keys and passwords are checked there).
    pub directory: Directory,
    /// The keyed hash of API-client and Smart Tools secrets.
    pub secrets: Arc<SecretHasher>,
    /// Failed-attempt counters.
    pub throttle: Arc<Throttle>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The regions served.
    pub regions: Arc<Regions>,
    /// Token usage waiting to be written.
    pub usage: Arc<UsageRecorder>,
    /// Signing keys, loaded.
    pub keys: Arc<KeyRing>,
    /// How tokens are issued and checked.
    pub tokens: TokenPolicy,
}

impl Auth {
    /// The service.
    pub fn new(parts: Parts) -> Self {
        let Parts {
            cache,
            directory,
            secrets,
            throttle,
            clock,
            regions,
            usage,
            keys,
            tokens,
        } = parts;
        Auth {
            cache,
            directory,
            secrets,
            throttle,
            clock,
            regions,
            usage,
            keys,
            tokens,
            verified: VerifiedTokens::new(),
            hashing: password::hashing_gate(),
        }
    }

    /// Whether the cache is trusted: changes are followed, or were less than
    /// [`crate::changes::CURRENT_FOR`] ago. While it is not, every token request reads the
    /// database.
    pub fn follows_changes(&self) -> bool {
        self.cache.is_trusted()
    }

    /// How old the news of changes made elsewhere may be (see `metrics::CHANGES_LAG`), once
    /// measured.
    pub fn change_lag(&self) -> Option<std::time::Duration> {
        self.cache.change_lag()
    }

    /// Token usage waiting to be written: how many records, and since when the oldest.
    pub fn usage_backlog(&self) -> (usize, Option<i64>) {
        (self.usage.pending_records(), self.usage.unwritten_since())
    }

    /// How many entries each table of the authentication cache holds.
    pub fn cache_entries(&self) -> [(&'static str, usize); 3] {
        self.cache.entries()
    }

    /// Lifetime of bearer tokens in seconds.
    pub fn token_lifetime_secs(&self) -> i64 {
        self.tokens.lifetime_secs
    }

    /// Where `customer` is served instead, when `serving` may not serve it.
    fn elsewhere(&self, serving: &Serving, customer: &Customer) -> Option<Elsewhere> {
        match self.regions.admits(serving, customer.region) {
            Admission::Admitted => None,
            Admission::Elsewhere(home, host) => Some(Elsewhere {
                customer_id: customer.id.clone(),
                home,
                host,
            }),
        }
    }
}
