//! The in-memory view of API clients, administrators and customers that the token endpoint
//! reads, so that a token request in the steady state makes no database round trip.
//!
//! Entries (including "does not exist") are loaded on first use and dropped when a change is
//! seen: at once for changes made through this node, and through [`crate::changes`] for
//! changes made by other nodes or the command line. An epoch counter stops a load that raced
//! with an invalidation from caching what it read.
//!
//! Revoked bearer tokens are the exception: there, absence must mean "not revoked", so the
//! ids of every revoked token not yet expired are loaded whole, and again after each
//! revocation anywhere (and every few minutes, which drops the expired ones).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;

use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::changes::{Change, ChangeKind, ChangeSink};
use crate::domain::customers::Customer;
use crate::domain::secrets::decode_hash;
use crate::error::Result;
use crate::store::{self, Store};

/// Seconds after which the revoked tokens are read again even without a revocation, so that
/// expired ones leave memory.
const REVOKED_REFRESH_SECS: i64 = 600;

/// The ids of revoked bearer tokens that have not expired.
struct RevokedTokens {
    ids: RwLock<Arc<HashSet<String>>>,
    /// Bumped by every revocation and when the cache is cleared; the ids are current when
    /// `loaded` equals it.
    generation: AtomicU64,
    loaded: AtomicU64,
    loaded_at: AtomicI64,
    /// One reload at a time; the others wait for it.
    reload: tokio::sync::Mutex<()>,
}

impl RevokedTokens {
    fn new() -> Self {
        RevokedTokens {
            ids: RwLock::new(Arc::new(HashSet::new())),
            generation: AtomicU64::new(1),
            loaded: AtomicU64::new(0),
            loaded_at: AtomicI64::new(0),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    fn is_current(&self, now: i64) -> bool {
        self.loaded.load(Ordering::Acquire) == self.generation.load(Ordering::Acquire)
            && now - self.loaded_at.load(Ordering::Acquire) < REVOKED_REFRESH_SECS
    }

    fn stale(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

struct Table<V> {
    map: RwLock<HashMap<String, Option<Arc<V>>>>,
    /// Entries kept (`cache_max_entries`); when full, "does not exist" entries are dropped
    /// first, then all.
    max_entries: usize,
    hits: metrics::Counter,
    misses: metrics::Counter,
}

impl<V> Table<V> {
    fn new(name: &'static str, max_entries: usize) -> Self {
        let (hits, misses) = crate::metrics::cache_lookups(name);
        Table {
            map: RwLock::new(HashMap::new()),
            max_entries,
            hits,
            misses,
        }
    }

    fn len(&self) -> usize {
        self.map.read().len()
    }

    async fn get_or_load<F, Fut>(
        &self,
        cache: &AuthCache,
        key: &str,
        load: F,
    ) -> Result<Option<Arc<V>>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>>>,
    {
        let trusted = cache.trusted.load(Ordering::Acquire);
        if trusted && let Some(hit) = self.map.read().get(key) {
            self.hits.increment(1);
            return Ok(hit.clone());
        }
        self.misses.increment(1);
        let epoch = cache.epoch.load(Ordering::Acquire);
        // Boxed: a hit never reaches it, and inline the database round trip's future would size
        // the future of every lookup, which the token endpoint's futures hold and move.
        let loaded = Box::pin(load()).await?.map(Arc::new);
        if trusted && cache.epoch.load(Ordering::Acquire) == epoch {
            let mut map = self.map.write();
            if map.len() >= self.max_entries {
                map.retain(|_, v| v.is_some());
                if map.len() >= self.max_entries {
                    map.clear();
                }
            }
            map.insert(key.to_owned(), loaded.clone());
        }
        Ok(loaded)
    }

    fn remove(&self, key: &str) {
        self.map.write().remove(key);
    }

    fn clear(&self) {
        self.map.write().clear();
    }
}

/// The cache.
pub struct AuthCache {
    store: Store,
    clients: Table<ApiClientCredential>,
    administrators: Table<Administrator>,
    customers: Table<Customer>,
    revoked: RevokedTokens,
    epoch: AtomicU64,
    trusted: AtomicBool,
    /// How old the news of changes was when last confirmed, in milliseconds; `u64::MAX`
    /// until measured.
    change_lag_ms: AtomicU64,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthCache")
    }
}

impl AuthCache {
    /// An empty cache over `store`. It serves from memory only once [`AuthCache::set_trusted`]
    /// says changes are being followed.
    pub fn new(store: Store, max_entries: usize) -> Self {
        AuthCache {
            store,
            clients: Table::new("clients", max_entries),
            administrators: Table::new("administrators", max_entries),
            customers: Table::new("customers", max_entries),
            revoked: RevokedTokens::new(),
            epoch: AtomicU64::new(0),
            trusted: AtomicBool::new(false),
            change_lag_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// How many entries each table holds, by name.
    pub fn entries(&self) -> [(&'static str, usize); 3] {
        [
            ("clients", self.clients.len()),
            ("administrators", self.administrators.len()),
            ("customers", self.customers.len()),
        ]
    }

    /// Whether changes are being followed. While they are not (before the follower starts,
    /// or once it has heard nothing for [`crate::changes::CURRENT_FOR`]), every lookup reads
    /// the database.
    pub fn set_trusted(&self, trusted: bool) {
        if !trusted {
            self.clear();
        }
        self.trusted.store(trusted, Ordering::Release);
    }

    /// Records how old the news of changes made elsewhere was when the follower last
    /// confirmed it had all of it.
    pub fn record_change_lag(&self, lag: Duration) {
        let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX - 1);
        self.change_lag_ms.store(ms, Ordering::Relaxed);
    }

    /// The lag last recorded, if any.
    pub fn change_lag(&self) -> Option<Duration> {
        match self.change_lag_ms.load(Ordering::Relaxed) {
            u64::MAX => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Whether lookups are served from memory (changes are being followed).
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::Acquire)
    }

    /// The API client with `id`.
    pub async fn client(&self, id: &str) -> Result<Option<Arc<ApiClientCredential>>> {
        self.clients
            .get_or_load(self, id, || async {
                let mut conn = self.store.conn().await?;
                match store::api_clients::get(&mut conn, id).await? {
                    Some(row) => Ok(Some(ApiClientCredential {
                        secret_hash: decode_hash(&row.secret_hash)?,
                        id: row.id,
                        name: row.name,
                        customer_id: row.customer_id,
                        owner_id: row.owner_id,
                    })),
                    None => Ok(None),
                }
            })
            .await
    }

    /// The administrator with `id`.
    pub async fn administrator(&self, id: &str) -> Result<Option<Arc<Administrator>>> {
        self.administrators
            .get_or_load(self, id, || async {
                let mut conn = self.store.conn().await?;
                store::administrators::get(&mut conn, id).await
            })
            .await
    }

    /// The customer with `id`.
    pub async fn customer(&self, id: &str) -> Result<Option<Arc<Customer>>> {
        self.customers
            .get_or_load(self, id, || async {
                let mut conn = self.store.conn().await?;
                store::customers::get(&mut conn, id).await
            })
            .await
    }

    /// Whether the bearer token `jti` was revoked (and has not expired at `now`).
    pub async fn is_revoked(&self, jti: &str, now: i64) -> Result<bool> {
        if !self.is_trusted() {
            let mut conn = self.store.conn().await?;
            return store::revoked_bearer_tokens::contains(&mut conn, jti).await;
        }
        let revoked = &self.revoked;
        if !revoked.is_current(now) {
            let _one = revoked.reload.lock().await;
            if !revoked.is_current(now) {
                // Read before the query: a revocation committed meanwhile leaves the ids stale.
                let generation = revoked.generation.load(Ordering::Acquire);
                let mut conn = self.store.conn().await?;
                let ids = store::revoked_bearer_tokens::unexpired(&mut conn, now).await?;
                *revoked.ids.write() = Arc::new(ids.into_iter().collect());
                revoked.loaded_at.store(now, Ordering::Release);
                revoked.loaded.store(generation, Ordering::Release);
            }
        }
        Ok(revoked.ids.read().contains(jti))
    }

    /// Drops what is cached of one changed thing.
    pub fn invalidate(&self, kind: ChangeKind, key: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match kind {
            ChangeKind::Client => self.clients.remove(key),
            ChangeKind::Administrator => self.administrators.remove(key),
            ChangeKind::Customer => self.customers.remove(key),
            ChangeKind::RevokedBearerToken => self.revoked.stale(),
            ChangeKind::Keys
            | ChangeKind::SmartKey
            | ChangeKind::WorkspaceClient
            | ChangeKind::EndUser => {}
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.clients.clear();
        self.administrators.clear();
        self.customers.clear();
        self.revoked.stale();
    }
}

impl ChangeSink for AuthCache {
    fn on_commit(&self, changes: &[Change]) {
        for change in changes {
            self.invalidate(change.kind, &change.key);
        }
    }
}
