//! Token usage, gathered in memory on the hot path and written in batches: each API client's
//! last-used time, and per client and batch one audit record of the tokens issued and one of
//! the failed attempts (wrong secret or customer).

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
    failures: u64,
    last_failure_at: i64,
}

impl Usage {
    fn new(client: &CachedClient) -> Self {
        Usage {
            customer_id: client.customer_id.clone(),
            name: client.name.clone(),
            count: 0,
            last_at: 0,
            failures: 0,
            last_failure_at: 0,
        }
    }

    fn merge(&mut self, older: Usage) {
        self.count += older.count;
        self.last_at = self.last_at.max(older.last_at);
        self.failures += older.failures;
        self.last_failure_at = self.last_failure_at.max(older.last_failure_at);
    }
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
        let usage = match pending.get_mut(&client.id) {
            Some(usage) => usage,
            None => pending
                .entry(client.id.clone())
                .or_insert(Usage::new(client)),
        };
        usage.count += 1;
        usage.last_at = usage.last_at.max(at);
    }

    /// Notes that a token request for `client` failed at `at` (wrong secret or customer).
    pub fn record_failure(&self, client: &CachedClient, at: i64) {
        let mut pending = self.pending.lock();
        let usage = pending
            .entry(client.id.clone())
            .or_insert_with(|| Usage::new(client));
        usage.failures += 1;
        usage.last_failure_at = usage.last_failure_at.max(at);
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
                        Some(newer) => newer.merge(usage),
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
        let event = |event_type: &str, at: i64, message: String| AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at,
            customer_id: Some(usage.customer_id.clone()),
            event_type: event_type.to_owned(),
            actor: Actor {
                actor_type: ActorType::Service,
                id: Some(id.clone()),
                display_name: usage.name.clone(),
                access: None,
            },
            target_type: Some("secureclient".to_owned()),
            target_id: Some(id.clone()),
            target_display_name: Some(usage.name.clone()),
            before_changes: None,
            after_changes: None,
            message,
        };
        if usage.count > 0 {
            store::api_clients::touch(&mut tx, id, usage.last_at).await?;
            let message = format!("Issued {} bearer token(s)", usage.count);
            store::audit::insert(
                &mut tx,
                &event(event_types::SECURECLIENT_TOKEN, usage.last_at, message),
            )
            .await?;
        }
        if usage.failures > 0 {
            let message = format!(
                "{} token request(s) refused: wrong secret or customer",
                usage.failures
            );
            store::audit::insert(
                &mut tx,
                &event(event_types::SIGNIN_FAILED, usage.last_failure_at, message),
            )
            .await?;
        }
    }
    tx.commit().await
}
