//! Abuse protection: token buckets that count failed authentications, per client id and per
//! source address, so that online guessing of a secret stops after a few attempts.
//!
//! Only failures take tokens. A request is refused before its credentials are checked when the
//! bucket of its client id *from its source address* is empty, or, for a client id this
//! deployment does not know, when the bucket of its source address is empty. So a
//! well-behaved client is never throttled by another client's failures, even from the same
//! address, and someone who knows a client id but not its secret cannot lock the real client
//! out from elsewhere.
//!
//! Buckets live in each node's memory. With `throttle_shared` on PostgreSQL, failures are also
//! added up across nodes, off the request path: each node writes its counts per key and
//! minute every second, and the node that sees a key's total reach the limit announces a block
//! that every node then applies until the minute ends.
//!
//! While nothing has failed for a refill period (the steady state), asking costs a few atomic
//! loads: no lock and no key is made on the token endpoints' hot path. The first request after
//! such a quiet period forgets every bucket at once, however many keys failed before.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A limit: `burst` failures at once, refilled at `burst` per `period`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Bucket size.
    pub burst: u32,
    /// Time to refill the whole bucket.
    pub period: Duration,
}

impl Limit {
    fn rate_per_sec(self) -> f64 {
        f64::from(self.burst) / self.period.as_secs_f64().max(f64::EPSILON)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Keyed token buckets with one limit. A bucket refills completely within one period of its
/// last failure, so once a period has passed since the last failure of any key, every bucket
/// is full and the map is emptied.
#[derive(Debug)]
pub struct Buckets {
    limit: Limit,
    map: Mutex<HashMap<String, Bucket>>,
    /// How many buckets the map holds, readable without the lock.
    held: AtomicUsize,
    /// Milliseconds after `origin` from which every bucket is full again (the last failure
    /// plus the period); written under the map's lock.
    quiet_from: AtomicU64,
    /// Milliseconds after `origin` before which a full map is not swept again.
    next_sweep: AtomicU64,
    origin: Instant,
}

/// Keys kept at most, to bound memory.
const MAX_KEYS: usize = 100_000;

impl Buckets {
    /// Empty buckets (every key starts full).
    pub fn new(limit: Limit) -> Self {
        Buckets {
            limit,
            map: Mutex::new(HashMap::new()),
            held: AtomicUsize::new(0),
            quiet_from: AtomicU64::new(0),
            next_sweep: AtomicU64::new(0),
            origin: Instant::now(),
        }
    }

    fn millis(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.limit.rate_per_sec()).min(f64::from(self.limit.burst))
    }

    /// Whether every bucket is full (nothing failed within a period); forgets them all the
    /// first time that is found true.
    fn is_quiet(&self, now: Instant) -> bool {
        if self.held.load(Ordering::Acquire) == 0 {
            return true;
        }
        if self.millis(now) < self.quiet_from.load(Ordering::Acquire) {
            return false;
        }
        let mut map = self.map.lock();
        if self.millis(now) >= self.quiet_from.load(Ordering::Acquire) {
            map.clear();
            self.held.store(0, Ordering::Release);
        }
        map.is_empty()
    }

    /// `None` when `key` may try now, else how long until it may (whole seconds, at least 1).
    pub fn wait(&self, key: &str, now: Instant) -> Option<u64> {
        let mut map = self.map.lock();
        let tokens = self.refilled(*map.get(key)?, now);
        if tokens >= f64::from(self.limit.burst) {
            map.remove(key);
            self.held.store(map.len(), Ordering::Release);
        }
        if tokens >= 1.0 {
            return None;
        }
        let seconds = ((1.0 - tokens) / self.limit.rate_per_sec()).ceil();
        // Bounded by the refill period, so the cast cannot overflow.
        Some((seconds as u64).max(1))
    }

    /// Takes one token from `key`'s bucket (a failure happened). With [`MAX_KEYS`] buckets
    /// held, refilled ones are swept out (at most once a second), and a new key that still
    /// finds no room is not counted: memory stays bounded, and the other bucket of the
    /// request (its address) still counts it.
    pub fn take(&self, key: &str, now: Instant) {
        let mut map = self.map.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let at = self.millis(now);
            if at >= self.next_sweep.load(Ordering::Relaxed) {
                self.next_sweep.store(at + 1000, Ordering::Relaxed);
                let full = f64::from(self.limit.burst);
                map.retain(|_, b| self.refilled(*b, now) < full);
            }
            if map.len() >= MAX_KEYS {
                self.held.store(map.len(), Ordering::Release);
                return;
            }
        }
        let tokens = match map.get(key) {
            Some(bucket) => self.refilled(*bucket, now),
            None => f64::from(self.limit.burst),
        };
        map.insert(
            key.to_owned(),
            Bucket {
                tokens: (tokens - 1.0).max(0.0),
                at: now,
            },
        );
        let period = u64::try_from(self.limit.period.as_millis()).unwrap_or(u64::MAX);
        self.quiet_from
            .fetch_max(self.millis(now).saturating_add(period), Ordering::AcqRel);
        self.held.store(map.len(), Ordering::Release);
    }
}

/// What a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client id asking from one source address.
    Client(&'a str, IpAddr),
    /// A source address (for client ids nobody knows).
    Address(IpAddr),
}

const CLIENT_PREFIX: &str = "client:";
const ADDRESS_PREFIX: &str = "address:";

impl Subject<'_> {
    /// The key of its bucket, also used between nodes.
    fn key(self) -> String {
        match self {
            Subject::Client(id, source) => format!("{CLIENT_PREFIX}{id} {source}"),
            Subject::Address(source) => format!("{ADDRESS_PREFIX}{source}"),
        }
    }
}

/// The length of a shared counting window, in seconds.
pub const WINDOW_SECS: i64 = 60;

/// Failures and blocks shared with other nodes.
#[derive(Debug, Default)]
struct Cluster {
    /// Failures not yet written, by key.
    pending: Mutex<HashMap<String, i64>>,
    /// Keys blocked by any node's count, until (unix seconds).
    blocked: Mutex<HashMap<String, i64>>,
    /// The end of the latest block (unix seconds), readable without the lock: once it has
    /// passed, no key is blocked.
    blocked_until: AtomicI64,
}

/// The failure counters of the token endpoints.
#[derive(Debug)]
pub struct Throttle {
    clients: Buckets,
    addresses: Buckets,
    cluster: Option<Cluster>,
}

impl Throttle {
    /// Buckets for `per_client` and `per_address` failures per minute; `shared` adds them up
    /// across nodes as well.
    pub fn per_minute(per_client: u32, per_address: u32, shared: bool) -> Self {
        let minute = Duration::from_secs(60);
        Throttle {
            clients: Buckets::new(Limit {
                burst: per_client.max(1),
                period: minute,
            }),
            addresses: Buckets::new(Limit {
                burst: per_address.max(1),
                period: minute,
            }),
            cluster: shared.then(Cluster::default),
        }
    }

    fn buckets(&self, subject: Subject<'_>) -> &Buckets {
        match subject {
            Subject::Client(..) => &self.clients,
            Subject::Address(_) => &self.addresses,
        }
    }

    /// `None` when `subject` may try now, else how many seconds until it may. `unix_now` is
    /// the clock's time, for blocks announced by other nodes.
    pub fn wait(&self, subject: Subject<'_>, now: Instant, unix_now: i64) -> Option<u64> {
        let buckets = self.buckets(subject);
        let cluster = self
            .cluster
            .as_ref()
            .filter(|c| c.blocked_until.load(Ordering::Acquire) > unix_now);
        if buckets.is_quiet(now) && cluster.is_none() {
            return None;
        }
        let key = subject.key();
        let local = buckets.wait(&key, now);
        let shared = cluster.and_then(|cluster| {
            let until = *cluster.blocked.lock().get(&key)?;
            u64::try_from(until - unix_now).ok().filter(|s| *s > 0)
        });
        match (local, shared) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counts a failure of `subject`.
    pub fn failed(&self, subject: Subject<'_>, now: Instant) {
        let key = subject.key();
        self.buckets(subject).take(&key, now);
        if let Some(cluster) = &self.cluster {
            let mut pending = cluster.pending.lock();
            if pending.len() < MAX_KEYS {
                *pending.entry(key).or_default() += 1;
            }
        }
    }

    /// Whether failures are added up across nodes.
    pub fn is_shared(&self) -> bool {
        self.cluster.is_some()
    }

    /// The failures counted since the last call, by key, to be written.
    pub fn take_pending(&self) -> Vec<(String, i64)> {
        match &self.cluster {
            Some(cluster) => std::mem::take(&mut *cluster.pending.lock())
                .into_iter()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Puts back failures whose write failed, to go with the next batch.
    pub fn put_back(&self, failures: Vec<(String, i64)>) {
        if let Some(cluster) = &self.cluster {
            let mut pending = cluster.pending.lock();
            for (key, n) in failures {
                if pending.len() < MAX_KEYS || pending.contains_key(&key) {
                    *pending.entry(key).or_default() += n;
                }
            }
        }
    }

    /// The per-minute limit of a key.
    pub fn limit_of(&self, key: &str) -> i64 {
        let buckets = if key.starts_with(CLIENT_PREFIX) {
            &self.clients
        } else {
            &self.addresses
        };
        i64::from(buckets.limit.burst)
    }

    /// Blocks a key until `until` (unix seconds), as any node announced; forgets blocks that
    /// are over.
    pub fn block(&self, key: &str, until: i64, unix_now: i64) {
        if let Some(cluster) = &self.cluster {
            let mut blocked = cluster.blocked.lock();
            blocked.retain(|_, u| *u > unix_now);
            if blocked.len() < MAX_KEYS {
                let entry = blocked.entry(key.to_owned()).or_insert(until);
                *entry = (*entry).max(until);
                cluster.blocked_until.fetch_max(until, Ordering::AcqRel);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_empty_a_bucket_that_refills_with_time() {
        let buckets = Buckets::new(Limit {
            burst: 3,
            period: Duration::from_secs(60),
        });
        let start = Instant::now();
        assert_eq!(buckets.wait("a", start), None);
        for _ in 0..3 {
            buckets.take("a", start);
        }
        assert_eq!(buckets.wait("a", start), Some(20), "one token per 20 s");
        assert_eq!(buckets.wait("b", start), None, "other keys are untouched");
        assert_eq!(buckets.wait("a", start + Duration::from_secs(19)), Some(1));
        assert_eq!(buckets.wait("a", start + Duration::from_secs(20)), None);
        assert!(!buckets.is_quiet(start + Duration::from_secs(20)));
        assert_eq!(buckets.wait("a", start + Duration::from_secs(3600)), None);
        assert_eq!(
            buckets.held.load(Ordering::Acquire),
            0,
            "a refilled bucket is forgotten"
        );
    }

    #[test]
    fn a_period_without_failures_forgets_every_bucket_without_looking_them_up() {
        let buckets = Buckets::new(Limit {
            burst: 2,
            period: Duration::from_secs(60),
        });
        let start = Instant::now();
        for key in ["a", "b", "c"] {
            buckets.take(key, start);
        }
        buckets.take("c", start + Duration::from_secs(30));
        buckets.take("c", start + Duration::from_secs(30));
        assert!(
            !buckets.is_quiet(start + Duration::from_secs(60)),
            "c failed 30 s later"
        );
        assert!(buckets.wait("c", start + Duration::from_secs(31)).is_some());
        assert!(buckets.is_quiet(start + Duration::from_secs(90)));
        assert_eq!(
            buckets.held.load(Ordering::Acquire),
            0,
            "a, b and c are forgotten at once"
        );
        assert_eq!(buckets.wait("c", start + Duration::from_secs(90)), None);
    }

    #[test]
    fn blocks_from_other_nodes_apply_until_they_end() {
        let throttle = Throttle::per_minute(2, 5, true);
        let now = Instant::now();
        let source = IpAddr::from([127, 0, 0, 1]);
        throttle.failed(Subject::Client("c1", source), now);
        assert_eq!(
            throttle.take_pending(),
            vec![("client:c1 127.0.0.1".to_owned(), 1)]
        );
        assert!(throttle.take_pending().is_empty());
        throttle.put_back(vec![("client:c1 127.0.0.1".to_owned(), 1)]);
        throttle.failed(Subject::Client("c1", source), now);
        assert_eq!(
            throttle.take_pending(),
            vec![("client:c1 127.0.0.1".to_owned(), 2)],
            "a batch that was not written goes with the next"
        );
        assert_eq!(throttle.limit_of("client:c1 127.0.0.1"), 2);
        assert_eq!(throttle.limit_of("address:127.0.0.1"), 5);
        let c2 = Subject::Client("c2", source);
        assert_eq!(throttle.wait(c2, now, 1000), None);
        throttle.block("client:c2 127.0.0.1", 1030, 1000);
        assert_eq!(throttle.wait(c2, now, 1000), Some(30));
        assert_eq!(throttle.wait(Subject::Address(source), now, 1000), None);
        assert_eq!(throttle.wait(c2, now, 1030), None);
        assert!(
            throttle
                .cluster
                .as_ref()
                .is_some_and(|c| c.blocked_until.load(Ordering::Acquire) <= 1030),
            "once the latest block is over, asking takes no lock"
        );
        assert!(!Throttle::per_minute(2, 5, false).is_shared());
    }
}
