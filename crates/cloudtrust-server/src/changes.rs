//! Following changes made elsewhere — by another node or by the command line on the same
//! database — so that this node's cache never serves a deleted client or a stale administrator.
//!
//! PostgreSQL nodes `LISTEN` and are told of each change as it commits; a lost connection
//! (and so possibly lost notifications) empties the cache and disables it until the listener
//! is back, reconnecting with a capped exponential back-off and saying so once per outage.
//! SQLite nodes poll the change log, whose order is commit order because SQLite serialises
//! writers.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::domain::changes::ChangeKind;
use crate::jobs::pause;
use crate::keys::KeyRing;
use crate::store::{self, Backend, Store};
use crate::throttle::Throttle;
use crate::throttle::cluster::BLOCK_CHANNEL;

/// The PostgreSQL notification channel (see the PostgreSQL migration's trigger).
pub const CHANNEL: &str = "cloudtrust_changes";

/// How long recorded changes are kept.
const CHANGE_RETENTION_SECS: i64 = 3600;
/// How often old changes are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// The first and the longest pause before reconnecting a lost `LISTEN` connection.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// What following changes acts on.
pub struct Follower {
    /// The database.
    pub store: Store,
    /// The cache to keep fresh.
    pub cache: Arc<AuthCache>,
    /// Signing keys, reloaded when they change.
    pub keys: Arc<KeyRing>,
    /// Failed-attempt counters, told of blocks other nodes announce.
    pub throttle: Arc<Throttle>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// How often a SQLite node reads the change log.
    pub poll_every: Duration,
}

impl Follower {
    /// Follows changes until `cancel` fires.
    pub async fn run(self, cancel: CancellationToken) {
        match self.store.backend() {
            Backend::Sqlite => self.poll(&cancel).await,
            Backend::Postgres => self.listen(&cancel).await,
        }
    }

    async fn apply(&self, kind: &str, key: &str) {
        match ChangeKind::parse(kind) {
            Some(ChangeKind::Keys) => {
                if let Err(e) = self.keys.reload().await {
                    tracing::error!(error = %e, "reloading signing keys failed");
                }
            }
            Some(kind) => self.cache.invalidate(kind, key),
            None => tracing::warn!(kind, "unknown change kind"),
        }
    }

    async fn prune(&self) {
        let before = self.clock.now() - CHANGE_RETENTION_SECS;
        let result = match self.store.conn().await {
            Ok(mut conn) => store::changes::prune(&mut conn, before).await,
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "pruning the change log failed");
        }
    }

    async fn poll(&self, cancel: &CancellationToken) {
        let every = self.poll_every.max(Duration::from_millis(10));
        let mut last_seq: Option<i64> = None;
        let mut last_prune = tokio::time::Instant::now();
        loop {
            let result = match self.store.conn().await {
                Ok(mut conn) => match last_seq {
                    None => store::changes::latest(&mut conn)
                        .await
                        .map(|seq| (seq, Vec::new())),
                    Some(seq) => store::changes::after(&mut conn, seq)
                        .await
                        .map(|rows| (rows.last().map_or(seq, |r| r.seq), rows)),
                },
                Err(e) => Err(e),
            };
            match result {
                Ok((seq, rows)) => {
                    for row in rows {
                        self.apply(&row.kind, &row.key).await;
                    }
                    if last_seq.is_none() {
                        self.cache.set_trusted(true);
                    }
                    last_seq = Some(seq);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the change log failed; cache disabled");
                    self.cache.set_trusted(false);
                    last_seq = None;
                }
            }
            if last_prune.elapsed() >= PRUNE_EVERY {
                self.prune().await;
                last_prune = tokio::time::Instant::now();
            }
            if !pause(every, cancel).await {
                return;
            }
        }
    }

    async fn listen(&self, cancel: &CancellationToken) {
        let mut prune_timer = tokio::time::interval(PRUNE_EVERY);
        let mut backoff = RECONNECT_FIRST;
        let mut outage = false;
        loop {
            let connected = match PgListener::connect(self.store.url()).await {
                Ok(mut listener) => match listener.listen_all([CHANNEL, BLOCK_CHANNEL]).await {
                    Ok(()) => Ok(listener),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            let mut listener = match connected {
                Ok(listener) => listener,
                Err(e) => {
                    self.cache.set_trusted(false);
                    if !outage {
                        tracing::warn!(error = %e, "cannot listen for changes; cache disabled until the connection is back");
                        outage = true;
                    }
                    if !pause(backoff, cancel).await {
                        return;
                    }
                    backoff = (backoff * 2).min(RECONNECT_MAX);
                    continue;
                }
            };
            if outage {
                tracing::info!("listening for changes again; cache enabled");
            }
            backoff = RECONNECT_FIRST;
            // Anything cached before now may have missed a notification.
            self.cache.clear();
            self.cache.set_trusted(true);
            loop {
                tokio::select! {
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) if notification.channel() == BLOCK_CHANNEL => {
                            self.throttle.apply_announcement(notification.payload());
                        }
                        Ok(Some(notification)) => {
                            let (kind, key) = notification
                                .payload()
                                .split_once(':')
                                .unwrap_or((notification.payload(), ""));
                            self.apply(kind, key).await;
                        }
                        // The connection was lost: notifications may have been missed, and
                        // more will be until a new listener is in place, so nothing cached
                        // can be trusted until then.
                        Ok(None) => {
                            tracing::warn!("change notifications interrupted; cache disabled until listening again");
                            self.cache.set_trusted(false);
                            outage = true;
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change listener failed; cache disabled until the connection is back");
                            self.cache.set_trusted(false);
                            outage = true;
                            break;
                        }
                    },
                    _ = prune_timer.tick() => self.prune().await,
                    _ = cancel.cancelled() => return,
                }
            }
        }
    }
}
