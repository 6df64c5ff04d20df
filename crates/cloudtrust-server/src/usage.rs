//! Token usage, gathered in memory on the hot path and written in batches: each API client's
//! last-used time, and per client and batch one audit record of the tokens issued and one of
//! the failed attempts (wrong secret or customer).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;

use crate::domain::api_clients::ApiClientCredential;
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
    /// Where the last failure came from.
    last_failure_from: Option<std::net::IpAddr>,
}

impl Usage {
    fn new(client: &ApiClientCredential) -> Self {
        Usage {
            customer_id: client.customer_id.clone(),
            name: client.name.clone(),
            count: 0,
            last_at: 0,
            failures: 0,
            last_failure_at: 0,
            last_failure_from: None,
        }
    }

    fn merge(&mut self, older: Usage) {
        self.count += older.count;
        self.last_at = self.last_at.max(older.last_at);
        self.failures += older.failures;
        if older.last_failure_at > self.last_failure_at {
            self.last_failure_from = older.last_failure_from;
        }
        self.last_failure_at = self.last_failure_at.max(older.last_failure_at);
    }
}

/// One issued token, for deployments that record each (`audit_each_token`).
#[derive(Debug)]
struct IssuedToken {
    client_id: String,
    customer_id: String,
    name: String,
    jti: String,
    at: i64,
}

/// Usage not yet written.
#[derive(Debug, Default)]
pub struct UsageRecorder {
    pending: Mutex<HashMap<String, Usage>>,
    each_token: Option<Mutex<Vec<IssuedToken>>>,
    /// When the oldest record not yet written was made (unix seconds), 0 when none waits.
    pending_since: AtomicI64,
}

/// Tokens kept for per-token records, to bound memory if the database is unreachable for long:
/// beyond it the newest go unrecorded one by one (their counts still are recorded).
const MAX_PENDING_TOKENS: usize = 1_000_000;

impl UsageRecorder {
    /// A recorder; with `each_token`, every issued token also gets its own system-log record.
    pub fn new(each_token: bool) -> Self {
        UsageRecorder {
            pending: Mutex::default(),
            each_token: each_token.then(Mutex::default),
            pending_since: AtomicI64::new(0),
        }
    }

    /// How many clients' usage and tokens wait to be written.
    pub fn pending_records(&self) -> usize {
        let tokens = self.each_token.as_ref().map_or(0, |t| t.lock().len());
        self.pending.lock().len() + tokens
    }

    /// When the oldest record not yet written was made, if one waits.
    pub fn unwritten_since(&self) -> Option<i64> {
        let since = self.pending_since.load(Ordering::Acquire);
        (since > 0).then_some(since)
    }

    /// Notes that a record made at `at` waits, keeping the oldest such time.
    fn waiting_since(&self, at: i64) {
        let _ = self
            .pending_since
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |since| {
                (since == 0 || at < since).then_some(at.max(1))
            });
    }

    /// Notes that `client` got the token `jti` at `at`. Cheap: one map update under a short
    /// lock (and, when every token is recorded, one push: only then is `jti` written out).
    pub fn record(&self, client: &ApiClientCredential, jti: &dyn std::fmt::Display, at: i64) {
        if let Some(tokens) = &self.each_token {
            let mut tokens = tokens.lock();
            if tokens.len() < MAX_PENDING_TOKENS {
                tokens.push(IssuedToken {
                    client_id: client.id.clone(),
                    customer_id: client.customer_id.clone(),
                    name: client.name.clone(),
                    jti: jti.to_string(),
                    at,
                });
            }
        }
        let mut pending = self.pending.lock();
        if pending.is_empty() {
            self.waiting_since(at);
        }
        let usage = match pending.get_mut(&client.id) {
            Some(usage) => usage,
            None => pending
                .entry(client.id.clone())
                .or_insert(Usage::new(client)),
        };
        usage.count += 1;
        usage.last_at = usage.last_at.max(at);
    }

    /// Notes that a token request for `client` failed at `at` (wrong secret or customer),
    /// sent from `from`.
    pub fn record_failure(&self, client: &ApiClientCredential, at: i64, from: std::net::IpAddr) {
        let mut pending = self.pending.lock();
        if pending.is_empty() {
            self.waiting_since(at);
        }
        let usage = pending
            .entry(client.id.clone())
            .or_insert_with(|| Usage::new(client));
        usage.failures += 1;
        if at >= usage.last_failure_at {
            usage.last_failure_from = Some(from);
        }
        usage.last_failure_at = usage.last_failure_at.max(at);
    }

    /// Writes what was gathered in one transaction. On failure the batch is put back.
    pub async fn flush(&self, store: &Store) -> Result<()> {
        let (batch, since) = {
            let mut pending = self.pending.lock();
            let since = self.pending_since.swap(0, Ordering::AcqRel);
            (std::mem::take(&mut *pending), since)
        };
        let tokens = match &self.each_token {
            Some(tokens) => std::mem::take(&mut *tokens.lock()),
            None => Vec::new(),
        };
        if batch.is_empty() && tokens.is_empty() {
            return Ok(());
        }
        match write(store, &batch, &tokens).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if since > 0 {
                    self.waiting_since(since);
                }
                if let Some(pending_tokens) = &self.each_token {
                    let mut pending_tokens = pending_tokens.lock();
                    let newer = std::mem::replace(&mut *pending_tokens, tokens);
                    pending_tokens.extend(newer);
                    pending_tokens.truncate(MAX_PENDING_TOKENS);
                }
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

async fn write(
    store: &Store,
    batch: &HashMap<String, Usage>,
    tokens: &[IssuedToken],
) -> Result<()> {
    let mut tx = store.begin().await?;
    for token in tokens {
        let event = AuditEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: token.at,
            customer_id: Some(token.customer_id.clone()),
            event_type: event_types::SECURECLIENT_TOKEN_ISSUED.to_owned(),
            actor: Actor {
                actor_type: ActorType::Service,
                id: Some(token.client_id.clone()),
                display_name: token.name.clone(),
                access: None,
            },
            target_type: Some("token".to_owned()),
            target_id: Some(token.jti.clone()),
            target_display_name: Some(token.name.clone()),
            before_changes: None,
            after_changes: None,
            message: format!("Issued bearer token {}", token.jti),
        };
        store::audit::insert(&mut tx, &event).await?;
    }
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
            let from = usage
                .last_failure_from
                .map(|ip| format!(", the last from {ip}"))
                .unwrap_or_default();
            let message = format!(
                "{} token request(s) refused: wrong secret or customer{from}",
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

#[cfg(test)]
mod tests {
    use super::UsageRecorder;
    use crate::domain::api_clients::ApiClientCredential;
    use crate::store::Store;

    fn client(id: &str) -> ApiClientCredential {
        ApiClientCredential {
            id: id.to_owned(),
            name: "ci".to_owned(),
            customer_id: "acme".to_owned(),
            owner_id: "owner".to_owned(),
            secret_hash: [0; 32],
        }
    }

    #[tokio::test]
    async fn the_oldest_unwritten_record_is_known_until_written() {
        let (store, db) = crate::store::for_tests(crate::store::testdb::Backend::Sqlite)
            .await
            .expect("a SQLite database");
        let usage = UsageRecorder::new(true);
        assert_eq!(
            (usage.pending_records(), usage.unwritten_since()),
            (0, None)
        );

        usage.record(&client("a"), &"jti-1", 100);
        usage.record(&client("b"), &"jti-2", 130);
        assert_eq!(usage.unwritten_since(), Some(100), "the oldest one");
        assert_eq!(
            usage.pending_records(),
            4,
            "two clients' usage and two tokens"
        );

        // The database is gone: the records wait on, as old as before.
        let closed = Store::connect(&db.url).await.expect("store");
        closed.close().await;
        assert!(usage.flush(&closed).await.is_err());
        assert_eq!(usage.unwritten_since(), Some(100));
        assert_eq!(usage.pending_records(), 4);

        usage.flush(&store).await.expect("written");
        assert_eq!(
            (usage.pending_records(), usage.unwritten_since()),
            (0, None)
        );
        usage.record(&client("a"), &"jti-3", 200);
        assert_eq!(
            usage.unwritten_since(),
            Some(200),
            "a new wait starts with the next record"
        );
    }
}
