//! Failed attempts added up across nodes on one PostgreSQL database (`throttle_shared`): each
//! node writes its counts per key and minute every second, off the request path, and the node
//! that sees a key's total reach the limit announces a block (`NOTIFY`) that every node then
//! applies until the minute ends.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use parking_lot::Mutex;

use super::{MAX_KEYS, Throttle};
use crate::error::Result;
use crate::store::{self, Store};

/// The length of a shared counting window, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// The PostgreSQL notification channel of shared blocks (payload `<until> <key>`).
pub const BLOCK_CHANNEL: &str = "cloudtrust_throttle";

/// Failures and blocks shared with other nodes.
#[derive(Debug, Default)]
pub(super) struct Cluster {
    /// Failures not yet written, by key.
    pending: Mutex<HashMap<String, i64>>,
    /// Keys blocked by any node's count, until (unix seconds).
    blocked: Mutex<HashMap<String, i64>>,
    /// The end of the latest block (unix seconds), readable without the lock: once it has
    /// passed, no key is blocked.
    blocked_until: AtomicI64,
}

impl Cluster {
    /// Whether any key may be blocked at `unix_now`.
    pub(super) fn blocks_any(&self, unix_now: i64) -> bool {
        self.blocked_until.load(Ordering::Acquire) > unix_now
    }

    /// Seconds `key` stays blocked at `unix_now`, if it is.
    pub(super) fn blocked_for(&self, key: &str, unix_now: i64) -> Option<u64> {
        let until = *self.blocked.lock().get(key)?;
        u64::try_from(until - unix_now).ok().filter(|s| *s > 0)
    }

    pub(super) fn count(&self, key: String) {
        let mut pending = self.pending.lock();
        if pending.len() < MAX_KEYS || pending.contains_key(&key) {
            *pending.entry(key).or_default() += 1;
        }
    }

    fn take_pending(&self) -> Vec<(String, i64)> {
        std::mem::take(&mut *self.pending.lock())
            .into_iter()
            .collect()
    }

    fn put_back(&self, failures: Vec<(String, i64)>) {
        let mut pending = self.pending.lock();
        for (key, n) in failures {
            if pending.len() < MAX_KEYS || pending.contains_key(&key) {
                *pending.entry(key).or_default() += n;
            }
        }
    }

    fn block(&self, key: &str, until: i64, unix_now: i64) {
        let mut blocked = self.blocked.lock();
        blocked.retain(|_, u| *u > unix_now);
        if blocked.len() < MAX_KEYS {
            let entry = blocked.entry(key.to_owned()).or_insert(until);
            *entry = (*entry).max(until);
            self.blocked_until.fetch_max(until, Ordering::AcqRel);
        }
    }
}

impl Throttle {
    /// Whether failures are added up across nodes.
    pub fn is_shared(&self) -> bool {
        self.cluster.is_some()
    }

    /// Blocks `key` until `until` (unix seconds), as a node announced on [`BLOCK_CHANNEL`];
    /// forgets blocks that are over.
    pub fn block(&self, key: &str, until: i64) {
        if let Some(cluster) = &self.cluster {
            cluster.block(key, until, self.clock.now());
        }
    }

    /// Applies a block announced on [`BLOCK_CHANNEL`]; ignores a payload that is not one.
    pub fn apply_announcement(&self, payload: &str) {
        if let Some((until, key)) = payload.split_once(' ')
            && let Ok(until) = until.parse()
        {
            self.block(key, until);
        }
    }

    /// The per-minute limit of a key.
    fn limit_of(&self, key: &str) -> i64 {
        i64::from(self.buckets_of_key(key).limit.burst)
    }

    /// Writes the failures counted since the last call to the shared counts, and announces a
    /// block for every key whose total across nodes reached its limit in this window. A batch
    /// that cannot be written goes with the next one, so an outage forgives nothing.
    pub async fn share(&self, store: &Store) -> Result<()> {
        let Some(cluster) = &self.cluster else {
            return Ok(());
        };
        let pending = cluster.take_pending();
        if pending.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let window = now - now.rem_euclid(WINDOW_SECS);
        let until = window + WINDOW_SECS;
        let written = async {
            let mut tx = store.begin().await?;
            for (key, n) in &pending {
                let total = store::failed_attempts::add(&mut tx, key, window, *n).await?;
                if total >= self.limit_of(key) {
                    store::failed_attempts::announce_block(&mut tx, BLOCK_CHANNEL, key, until)
                        .await?;
                }
            }
            tx.commit().await
        }
        .await;
        if written.is_err() {
            cluster.put_back(pending);
        }
        written
    }

    /// Deletes shared counts of windows that are over.
    pub async fn prune_shared(&self, store: &Store) -> Result<()> {
        let before = self.clock.now() - 2 * WINDOW_SECS;
        store::failed_attempts::prune(&mut *store.conn().await?, before).await
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::Arc;

    use super::*;
    use crate::clock::Clock;
    use crate::throttle::Subject;

    #[derive(Debug)]
    struct At(AtomicI64);

    impl Clock for At {
        fn now(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn blocks_from_other_nodes_apply_until_they_end() {
        let clock = Arc::new(At(AtomicI64::new(1000)));
        let throttle = Throttle::per_minute(2, 5, true, clock.clone());
        let cluster = throttle.cluster.as_ref().expect("shared");
        let source = IpAddr::from([127, 0, 0, 1]);
        throttle.failed(Subject::Client("c1", source));
        assert_eq!(
            cluster.take_pending(),
            vec![("client:c1 127.0.0.1".to_owned(), 1)]
        );
        assert!(cluster.take_pending().is_empty());
        cluster.put_back(vec![("client:c1 127.0.0.1".to_owned(), 1)]);
        throttle.failed(Subject::Client("c1", source));
        assert_eq!(
            cluster.take_pending(),
            vec![("client:c1 127.0.0.1".to_owned(), 2)],
            "a batch that was not written goes with the next"
        );
        assert_eq!(throttle.limit_of("client:c1 127.0.0.1"), 2);
        assert_eq!(throttle.limit_of("address:127.0.0.1"), 5);
        let c2 = Subject::Client("c2", source);
        assert_eq!(throttle.wait(c2), None);
        throttle.apply_announcement("1030 client:c2 127.0.0.1");
        throttle.apply_announcement("not a block");
        assert_eq!(throttle.wait(c2), Some(30));
        assert_eq!(throttle.wait(Subject::Address(source)), None);
        clock.0.store(1030, Ordering::SeqCst);
        assert_eq!(throttle.wait(c2), None);
        assert!(
            !cluster.blocks_any(1030),
            "once the latest block is over, asking takes no lock"
        );
        assert!(!Throttle::per_minute(2, 5, false, clock).is_shared());
    }
}
