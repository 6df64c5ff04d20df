//! Whether a node is ready to serve: its database answers and its signing keys are loaded.

use std::sync::Arc;

use crate::error::Result;
use crate::keys::KeyRing;
use crate::store::{PoolStatus, Store};

/// The readiness check.
#[derive(Clone, Debug)]
pub struct Health {
    store: Store,
    keys: Arc<KeyRing>,
}

impl Health {
    /// A check of `store` and `keys`.
    pub fn new(store: Store, keys: Arc<KeyRing>) -> Self {
        Health { store, keys }
    }

    /// How the database's connection pool is used.
    pub fn pool_status(&self) -> PoolStatus {
        self.store.pool_status()
    }

    /// When the signing key in use was made, unix seconds.
    pub fn signing_key_since(&self) -> i64 {
        self.keys.current().signing_since
    }

    /// The id of the signing key in use, once the database has answered.
    pub async fn ready(&self) -> Result<String> {
        self.store.ping().await?;
        Ok(self.keys.current().signing.kid.clone())
    }
}
