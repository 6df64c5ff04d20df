//! Following changes made elsewhere — by another node or by the command line on the same
//! database — so that this node's cache never serves a deleted client or a stale administrator.
//!
//! PostgreSQL nodes `LISTEN` and are told of each change as it commits; SQLite nodes poll the
//! change log, whose order is commit order because SQLite serialises writers.
//!
//! A PostgreSQL node also sends itself a heartbeat through the database every two seconds, on
//! a channel of its own. Notifications arrive in commit order, so a heartbeat back proves that
//! every change committed before it was sent has arrived: its round trip is the node's lag.
//!
//! The cache is served for at most [`CURRENT_FOR`] after the node last knew it had heard of
//! every change (a heartbeat back, a read of the change log), whatever happens meanwhile: a
//! connection that died without a word, a lost listener, a database that went away. A restart
//! of the database therefore does not stop the token endpoint, while a node cut off from the
//! changes others make stops trusting what it remembers within that bound. Past it, every
//! lookup reads the database until the node follows changes again; a PostgreSQL node that
//! listens again empties its cache first, since notifications may have been missed. The
//! listener reconnects with a capped exponential back-off and says so once per outage.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use crate::cache::AuthCache;
use crate::clock::Clock;
use crate::domain::changes::ChangeKind;
use crate::error::Error;
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
/// How long a prune may take before it is given up until the next.
const PRUNE_WITHIN: Duration = Duration::from_secs(2);
/// The first and the longest pause before reconnecting a lost `LISTEN` connection.
const RECONNECT_FIRST: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);
/// How often a PostgreSQL node sends itself a heartbeat.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// How long the cache is served after the node last knew it had heard of every change: the
/// most a change made elsewhere can go unseen by a node that cannot hear of it.
pub const CURRENT_FOR: Duration = Duration::from_secs(10);

/// The heartbeats of one listener connection, timed in real time whatever clock the node is
/// given.
struct Heartbeats {
    sequence: u64,
    in_flight: Option<(u64, tokio::time::Instant)>,
    confirmed: tokio::time::Instant,
}

impl Heartbeats {
    /// Heartbeats of a connection made now, which counts as confirmed.
    fn new() -> Self {
        Heartbeats {
            sequence: 0,
            in_flight: None,
            confirmed: tokio::time::Instant::now(),
        }
    }

    /// The next heartbeat's number, and now.
    fn next(&mut self) -> (u64, tokio::time::Instant) {
        self.sequence += 1;
        (self.sequence, tokio::time::Instant::now())
    }

    /// Heartbeat `number`, sent at `sent`, is on its way (an earlier one still away is no
    /// longer timed).
    fn in_flight(&mut self, number: u64, sent: tokio::time::Instant) {
        self.in_flight = Some((number, sent));
    }

    /// A heartbeat came back with `payload`: the connection is alive, and, when it is the one
    /// timed, its round trip is the lag.
    fn returned(&mut self, payload: &str) -> Option<Duration> {
        let number = payload.parse::<u64>().ok()?;
        self.confirmed = tokio::time::Instant::now();
        let (timed, sent) = self.in_flight?;
        (number == timed).then(|| {
            self.in_flight = None;
            sent.elapsed()
        })
    }

    /// Until when the cache may be served without another heartbeat back.
    fn current_until(&self) -> tokio::time::Instant {
        self.confirmed + CURRENT_FOR
    }

    /// Whether none has come back for too long.
    fn lost(&self) -> bool {
        tokio::time::Instant::now() >= self.current_until()
    }
}

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

    /// Sends heartbeat `number` through the database; whether it went. One that could not be
    /// sent (the database down, the pool busy) is not timed, and counts towards the silence
    /// that makes the connection lost; waiting for it holds up notifications a second at most.
    async fn send_heartbeat(&self, channel: &str, number: u64) -> bool {
        let send = async {
            let mut conn = self.store.conn().await?;
            store::changes::notify(&mut conn, channel, &number.to_string()).await
        };
        matches!(
            tokio::time::timeout(Duration::from_secs(1), send).await,
            Ok(Ok(()))
        )
    }

    /// Deletes changes older than the retention. Bounded in time like a heartbeat: the loop
    /// that runs it also times the heartbeats, and a prune waiting on a database gone silent
    /// would otherwise keep the cache trusted for as long as it waited.
    async fn prune(&self) {
        let before = self.clock.now() - CHANGE_RETENTION_SECS;
        let prune = async {
            let mut conn = self.store.conn().await?;
            store::changes::prune(&mut conn, before).await
        };
        match tokio::time::timeout(PRUNE_WITHIN, prune).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "pruning the change log failed"),
            Err(_) => tracing::warn!(
                "pruning the change log took over {} s; left for the next time",
                PRUNE_WITHIN.as_secs()
            ),
        }
    }

    /// Disables the cache once `current_until` has passed, and forgets it.
    fn expire(&self, current_until: &mut Option<tokio::time::Instant>) {
        if current_until.is_some_and(|until| tokio::time::Instant::now() >= until) {
            *current_until = None;
            self.cache.set_trusted(false);
            tracing::warn!(
                "no news of changes for {} s; cache disabled until changes are followed again",
                CURRENT_FOR.as_secs()
            );
        }
    }

    async fn poll(&self, cancel: &CancellationToken) {
        let every = self.poll_every.max(Duration::from_millis(10));
        let mut last_seq: Option<i64> = None;
        let mut last_prune = tokio::time::Instant::now();
        // When the last read that succeeded began: every change committed before it was seen.
        let mut last_read: Option<tokio::time::Instant> = None;
        let mut outage = false;
        loop {
            let reading = tokio::time::Instant::now();
            let read = async {
                let mut conn = self.store.conn().await?;
                match last_seq {
                    None => store::changes::latest(&mut conn)
                        .await
                        .map(|seq| (seq, Vec::new())),
                    Some(seq) => store::changes::after(&mut conn, seq)
                        .await
                        .map(|rows| (rows.last().map_or(seq, |r| r.seq), rows)),
                }
            };
            let mut current_until = last_read
                .filter(|_| self.cache.is_trusted())
                .map(|read| read + CURRENT_FOR);
            let result = match current_until {
                Some(until) => tokio::time::timeout_at(until, read)
                    .await
                    .unwrap_or(Err(Error::Database(sqlx::Error::PoolTimedOut))),
                None => read.await,
            };
            match result {
                Ok((seq, rows)) => {
                    for row in rows {
                        self.apply(&row.kind, &row.key).await;
                    }
                    if !self.cache.is_trusted() {
                        self.cache.set_trusted(true);
                    }
                    if outage {
                        tracing::info!("reading the change log again");
                        outage = false;
                    }
                    last_seq = Some(seq);
                    // A change committed just after the previous read is seen only now.
                    if let Some(previous) = last_read {
                        self.cache.record_change_lag(previous.elapsed());
                    }
                    last_read = Some(reading);
                }
                Err(e) => {
                    if !outage {
                        tracing::warn!(error = %e, "reading the change log failed");
                        outage = true;
                    }
                    // The changes after `last_seq` are read once the log answers again.
                    self.expire(&mut current_until);
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

    /// A listener on `channels`, reconnected by [`Follower::listen`] rather than by sqlx, which
    /// would wait inside `try_recv` for the database to come back.
    async fn connect_listener(&self, channels: [&str; 3]) -> sqlx::Result<PgListener> {
        let mut listener = PgListener::connect(self.store.url()).await?;
        listener.eager_reconnect(false);
        listener.listen_all(channels).await?;
        Ok(listener)
    }

    async fn listen(&self, cancel: &CancellationToken) {
        let mut prune_timer = tokio::time::interval(PRUNE_EVERY);
        let mut backoff = RECONNECT_FIRST;
        let mut outage = false;
        let heartbeat_channel = format!("cloudtrust_heartbeat_{}", uuid::Uuid::new_v4().simple());
        let channels = [CHANNEL, BLOCK_CHANNEL, heartbeat_channel.as_str()];
        // While the cache is trusted without a listener: until when it may be.
        let mut current_until: Option<tokio::time::Instant> = None;
        loop {
            let connected = tokio::select! {
                connected = self.connect_listener(channels) => connected,
                () = sleep_until(current_until) => {
                    self.expire(&mut current_until);
                    continue;
                }
                () = cancel.cancelled() => return,
            };
            let mut listener = match connected {
                Ok(listener) => listener,
                Err(e) => {
                    if !outage {
                        tracing::warn!(error = %e, "cannot listen for changes");
                        outage = true;
                    }
                    self.expire(&mut current_until);
                    let wait = current_until.map_or(backoff, |until| {
                        backoff.min(until.saturating_duration_since(tokio::time::Instant::now()))
                    });
                    if !pause(wait, cancel).await {
                        return;
                    }
                    backoff = (backoff * 2).min(RECONNECT_MAX);
                    continue;
                }
            };
            if outage {
                tracing::info!("listening for changes again; cache emptied");
            }
            backoff = RECONNECT_FIRST;
            current_until = None;
            // Anything cached before now may have missed a notification.
            self.cache.clear();
            self.cache.set_trusted(true);
            let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
            let mut heartbeats = Heartbeats::new();
            loop {
                tokio::select! {
                    received = listener.try_recv() => match received {
                        Ok(Some(notification)) if notification.channel() == BLOCK_CHANNEL => {
                            self.throttle.apply_announcement(notification.payload());
                        }
                        Ok(Some(notification)) if notification.channel() == heartbeat_channel => {
                            if let Some(lag) = heartbeats.returned(notification.payload()) {
                                self.cache.record_change_lag(lag);
                            }
                        }
                        Ok(Some(notification)) => {
                            let (kind, key) = notification
                                .payload()
                                .split_once(':')
                                .unwrap_or((notification.payload(), ""));
                            self.apply(kind, key).await;
                        }
                        // The connection was lost: notifications may be missed from now on, but
                        // everything up to the last heartbeat back was heard, so the cache is
                        // served until `CURRENT_FOR` after it while a new listener is made.
                        lost => {
                            let error = lost.err().map(|e| e.to_string());
                            tracing::warn!(
                                error,
                                "change notifications interrupted; cache served for at most {} s \
                                 more while listening again",
                                heartbeats
                                    .current_until()
                                    .saturating_duration_since(tokio::time::Instant::now())
                                    .as_secs()
                            );
                            current_until = Some(heartbeats.current_until());
                            outage = true;
                            break;
                        }
                    },
                    _ = heartbeat.tick() => {
                        if heartbeats.lost() {
                            tracing::warn!("no heartbeat back through the change listener; cache disabled until listening again");
                            self.cache.set_trusted(false);
                            outage = true;
                            break;
                        }
                        let (number, sent) = heartbeats.next();
                        if self.send_heartbeat(&heartbeat_channel, number).await {
                            heartbeats.in_flight(number, sent);
                        }
                    }
                    _ = prune_timer.tick() => self.prune().await,
                    _ = cancel.cancelled() => return,
                }
            }
        }
    }
}

/// Sleeps until `until`, or for ever when there is none.
async fn sleep_until(until: Option<tokio::time::Instant>) {
    match until {
        Some(until) => tokio::time::sleep_until(until).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::clock::SystemClock;
    use crate::keys::SigningAlgorithm;
    use crate::keys::kek::KeyEncryptionKey;

    /// A prune that cannot get SQLite's write lock, held by another writer, is given up after
    /// `PRUNE_WITHIN` instead of waiting out the database's own busy wait (5 s), and the
    /// changes it was to remove go with the next prune.
    #[tokio::test]
    async fn a_prune_held_up_by_another_writer_is_given_up_within_its_bound() {
        let (store, _db) = store::for_tests(store::testdb::Backend::Sqlite)
            .await
            .expect("a SQLite database");
        a_prune_held_up_is_given_up(store, &["BEGIN IMMEDIATE"]).await;
    }

    /// The same on PostgreSQL, where a writer holding the change log's lock would keep the
    /// prune waiting for as long as it held it: there is no busy wait to end it.
    #[tokio::test]
    #[cfg_attr(
        skip_postgres,
        ignore = "built without CLOUDTRUST_TEST_POSTGRES: the PostgreSQL half did not run"
    )]
    async fn a_prune_held_up_by_a_lock_on_postgres_is_given_up_within_its_bound() {
        let Some((store, _db)) = store::for_tests(store::testdb::Backend::Postgres).await else {
            return;
        };
        a_prune_held_up_is_given_up(store, &["BEGIN", "LOCK TABLE change_log IN EXCLUSIVE MODE"])
            .await;
    }

    /// Records an expired change, holds the change log with `hold` on a connection of its
    /// own, and checks a prune gives up within its bound and the next one, the hold released,
    /// removes the change.
    async fn a_prune_held_up_is_given_up(store: Store, hold: &[&str]) {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let kek = Arc::new(KeyEncryptionKey::generate().expect("key encryption key"));
        let keys = KeyRing::load(store.clone(), kek, SigningAlgorithm::Es256, clock.clone())
            .await
            .expect("keys");
        let follower = Follower {
            store: store.clone(),
            cache: Arc::new(AuthCache::new(store.clone(), 16)),
            keys: Arc::new(keys),
            throttle: Arc::new(Throttle::per_minute(10, 10, false, clock.clone())),
            clock: clock.clone(),
            poll_every: Duration::from_secs(1),
        };
        let expired = clock.now() - CHANGE_RETENTION_SECS - 10;
        let mut conn = store.conn().await.expect("connection");
        store::changes::record(&mut conn, "client", "expired", expired)
            .await
            .expect("recorded");
        drop(conn);

        let mut writer = store.conn().await.expect("connection");
        for statement in hold {
            sqlx::query(sqlx::AssertSqlSafe(*statement))
                .execute(&mut *writer)
                .await
                .expect("change log held");
        }
        let started = Instant::now();
        follower.prune().await;
        let took = started.elapsed();
        assert!(
            took >= PRUNE_WITHIN && took < PRUNE_WITHIN + Duration::from_secs(1),
            "given up after {took:?}"
        );

        sqlx::query("ROLLBACK")
            .execute(&mut *writer)
            .await
            .expect("change log released");
        drop(writer);
        follower.prune().await;
        let mut conn = store.conn().await.expect("connection");
        let left = store::changes::after(&mut conn, 0).await.expect("read");
        assert!(left.is_empty(), "left: {left:?}");
    }
}
