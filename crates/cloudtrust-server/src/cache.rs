//! The in-memory view of API clients, administrators and customers that the token endpoint
//! reads, so that a token request in the steady state makes no database round trip.
//!
//! Entries (including "does not exist") are loaded on first use and dropped when a change is
//! seen: at once for changes made through this node, and through [`crate::changes`] for
//! changes made by other nodes or the command line. An epoch counter stops a load that raced
//! with an invalidation from caching what it read.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::domain::administrators::Administrator;
use crate::domain::api_clients::ApiClientCredential;
use crate::domain::changes::{Change, ChangeKind, ChangeSink};
use crate::domain::customers::Customer;
use crate::domain::secrets::decode_hash;
use crate::error::Result;
use crate::store::{self, Store};

/// Entries kept before "does not exist" entries are dropped to bound memory.
const MAX_ENTRIES: usize = 100_000;

struct Table<V> {
    map: RwLock<HashMap<String, Option<Arc<V>>>>,
}

impl<V> Table<V> {
    fn new() -> Self {
        Table {
            map: RwLock::new(HashMap::new()),
        }
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
            return Ok(hit.clone());
        }
        let epoch = cache.epoch.load(Ordering::Acquire);
        let loaded = load().await?.map(Arc::new);
        if trusted && cache.epoch.load(Ordering::Acquire) == epoch {
            let mut map = self.map.write();
            if map.len() >= MAX_ENTRIES {
                map.retain(|_, v| v.is_some());
                if map.len() >= MAX_ENTRIES {
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
    epoch: AtomicU64,
    trusted: AtomicBool,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthCache")
    }
}

impl AuthCache {
    /// An empty cache over `store`. It serves from memory only once [`AuthCache::set_trusted`]
    /// says changes are being followed.
    pub fn new(store: Store) -> Self {
        AuthCache {
            store,
            clients: Table::new(),
            administrators: Table::new(),
            customers: Table::new(),
            epoch: AtomicU64::new(0),
            trusted: AtomicBool::new(false),
        }
    }

    /// Whether changes are being followed. While they are not (before the follower starts,
    /// or after it lost its connection), every lookup reads the database.
    pub fn set_trusted(&self, trusted: bool) {
        if !trusted {
            self.clear();
        }
        self.trusted.store(trusted, Ordering::Release);
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

    /// Drops what is cached of one changed thing.
    pub fn invalidate(&self, kind: ChangeKind, key: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        match kind {
            ChangeKind::Client => self.clients.remove(key),
            ChangeKind::Administrator => self.administrators.remove(key),
            ChangeKind::Customer => self.customers.remove(key),
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
    }
}

impl ChangeSink for AuthCache {
    fn on_commit(&self, changes: &[Change]) {
        for change in changes {
            self.invalidate(change.kind, &change.key);
        }
    }
}
