//! Following changes made elsewhere — by another node or by the command line on the same
//! database — so that this node's cache never serves a deleted client or a stale administrator.
//!
//! PostgreSQL nodes `LISTEN` and are told of each change as it commits; a lost connection
//! (and so possibly lost notifications) empties the cache. SQLite nodes poll the change log,
//! whose order is commit order because SQLite serialises writers.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::watch;

use crate::app::Shared;
use crate::domain::changes::ChangeKind;
use crate::store::{self, Backend};

/// The PostgreSQL notification channel (see the PostgreSQL migration's trigger).
pub const CHANNEL: &str = "cloudtrust_changes";
/// The PostgreSQL notification channel of shared throttling blocks (`<until> <key>`).
pub const THROTTLE_CHANNEL: &str = "cloudtrust_throttle";

/// How long recorded changes are kept.
const CHANGE_RETENTION_SECS: i64 = 3600;
/// How often old changes are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// Follows changes until `shutdown` turns true.
pub(crate) async fn follow(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    match shared.store.backend() {
        Backend::Sqlite => poll(shared, &mut shutdown).await,
        Backend::Postgres => listen(shared, &mut shutdown).await,
    }
}

async fn apply(shared: &Shared, kind: &str, key: &str) {
    match ChangeKind::parse(kind) {
        Some(ChangeKind::Keys) => {
            if let Err(e) = shared.reload_keys().await {
                tracing::error!(error = %e, "reloading signing keys failed");
            }
        }
        Some(kind) => shared.cache.invalidate(kind, key),
        None => tracing::warn!(kind, "unknown change kind"),
    }
}

async fn prune(shared: &Shared) {
    let before = shared.clock.now() - CHANGE_RETENTION_SECS;
    let result = match shared.store.conn().await {
        Ok(mut conn) => store::changes::prune(&mut conn, before).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "pruning the change log failed");
    }
}

async fn poll(shared: Arc<Shared>, shutdown: &mut watch::Receiver<bool>) {
    let every = Duration::from_millis(shared.config.change_poll_millis.max(10));
    let mut last_seq: Option<i64> = None;
    let mut last_prune = tokio::time::Instant::now();
    loop {
        let result = match shared.store.conn().await {
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
                    apply(&shared, &row.kind, &row.key).await;
                }
                if last_seq.is_none() {
                    shared.cache.set_trusted(true);
                }
                last_seq = Some(seq);
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the change log failed; cache disabled");
                shared.cache.set_trusted(false);
                last_seq = None;
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            prune(&shared).await;
            last_prune = tokio::time::Instant::now();
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

async fn listen(shared: Arc<Shared>, shutdown: &mut watch::Receiver<bool>) {
    let mut prune_timer = tokio::time::interval(PRUNE_EVERY);
    loop {
        let mut listener = match PgListener::connect(shared.store.url()).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for changes; cache disabled");
                shared.cache.set_trusted(false);
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.changed() => return,
                }
            }
        };
        if let Err(e) = listener.listen_all([CHANNEL, THROTTLE_CHANNEL]).await {
            tracing::warn!(error = %e, "LISTEN failed; cache disabled");
            shared.cache.set_trusted(false);
            continue;
        }
        // Anything cached before now may have missed a notification.
        shared.cache.clear();
        shared.cache.set_trusted(true);
        loop {
            tokio::select! {
                received = listener.try_recv() => match received {
                    Ok(Some(notification)) if notification.channel() == THROTTLE_CHANNEL => {
                        if let Some((until, key)) = notification.payload().split_once(' ')
                            && let Ok(until) = until.parse()
                        {
                            shared.throttle.block(key, until, shared.clock.now());
                        }
                    }
                    Ok(Some(notification)) => {
                        let (kind, key) = notification
                            .payload()
                            .split_once(':')
                            .unwrap_or((notification.payload(), ""));
                        apply(&shared, kind, key).await;
                    }
                    Ok(None) => {
                        tracing::warn!("change notifications interrupted; cache emptied");
                        shared.cache.clear();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener failed; cache disabled");
                        shared.cache.set_trusted(false);
                        break;
                    }
                },
                _ = prune_timer.tick() => prune(&shared).await,
                _ = shutdown.changed() => return,
            }
        }
    }
}
