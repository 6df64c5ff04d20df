//! Token usage, gathered in memory on the hot path and written in batches: each API client's
//! last-used time and one audit record per client and batch.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::cache::CachedClient;
use crate::domain::audit::{Actor, ActorType, AuditEvent, event_types};
use crate::error::Result;
use crate::store::{self, Store};

#[derive(Debug)]
struct Usage {
    customer_id: String,
    name: String,
    count: u64,
    last_at: i64,
}

/// Usage not yet written.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<String, Usage>>,
}

impl UsageRecorder {
    /// Notes that `client` got a token at `at`. Cheap: one map update under a short lock.
    pub fn record(&self, client: &CachedClient, at: i64) {
        let mut pending = self.pending.lock();
        match pending.get_mut(&client.id) {
            Some(usage) => {
                usage.count += 1;
                usage.last_at = usage.last_at.max(at);
            }
            None => {
                pending.insert(
                    client.id.clone(),
                    Usage {
                        customer_id: client.customer_id.clone(),
                        name: client.name.clone(),
                        count: 1,
                        last_at: at,
                    },
                );
            }
        }
    }

    /// Writes what was gathered in one transaction. On failure the batch is put back.
    pub async fn flush(&self, store: &Store) -> Result<()> {
        let batch = std::mem::take(&mut *self.pending.lock());
        if batch.is_empty() {
            return Ok(());
        }
        match write(store, &batch).await {
            Ok(()) => Ok(()),
            Err(e) => {
                let mut pending = self.pending.lock();
                for (id, usage) in batch {
                    match pending.get_mut(&id) {
                        Some(newer) => {
                            newer.count += usage.count;
                            newer.last_at = newer.last_at.max(usage.last_at);
                        }
                        None => {
                            pending.insert(id, usage);
                        }
                    }
                }
                Err(e)
            }
        }
    }
}

async fn write(store: &Store, batch: &HashMap<String, Usage>) -> Result<()> {
    let mut tx = store.begin().await?;
    for (id, usage) in batch {
        store::api_clients::touch(&mut tx, id, usage.last_at).await?;
        let event = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: usage.last_at,
            customer_id: Some(usage.customer_id.clone()),
            event_type: event_types::SECURECLIENT_TOKEN.to_owned(),
            actor: Actor {
                actor_type: ActorType::Service,
                id: Some(id.clone()),
                display_name: usage.name.clone(),
            },
            target_type: Some("secureclient".to_owned()),
            target_id: Some(id.clone()),
            target_display_name: Some(usage.name.clone()),
            before_changes: None,
            after_changes: None,
            message: format!("Issued {} bearer token(s)", usage.count),
        };
        store::audit::insert(&mut tx, &event).await?;
    }
    tx.commit().await
}
