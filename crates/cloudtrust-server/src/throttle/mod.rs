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
//! Buckets live in each node's memory ([`buckets`]); with `throttle_shared` on PostgreSQL,
//! failures are also added up across nodes ([`cluster`]). Time comes from the injectable
//! clock, so tests move it instead of racing it.
//!
//! While nothing has failed for a refill period (the steady state), asking costs a few atomic
//! loads and a clock read: no lock and no key is made on the token endpoints' hot path. The
//! first request after such a quiet period forgets every bucket at once, however many keys
//! failed before.

pub mod buckets;
pub mod cluster;

use std::net::IpAddr;
use std::sync::Arc;

use buckets::{Buckets, Limit};
use cluster::Cluster;

use crate::clock::Clock;

/// Keys kept at most, per set of buckets and for shared counts, to bound memory.
const MAX_KEYS: usize = 100_000;

/// What a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client id (or another named credential) asking from one source address.
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

/// The failure counters of every authentication.
#[derive(Debug)]
pub struct Throttle {
    clients: Buckets,
    addresses: Buckets,
    cluster: Option<Cluster>,
    clock: Arc<dyn Clock>,
}

impl Throttle {
    /// Buckets for `per_client` and `per_address` failures per minute; `shared` adds them up
    /// across nodes as well.
    pub fn per_minute(
        per_client: u32,
        per_address: u32,
        shared: bool,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let minute = 60_000;
        Throttle {
            clients: Buckets::new(Limit {
                burst: per_client.max(1),
                period_millis: minute,
            }),
            addresses: Buckets::new(Limit {
                burst: per_address.max(1),
                period_millis: minute,
            }),
            cluster: shared.then(Cluster::default),
            clock,
        }
    }

    fn buckets(&self, subject: Subject<'_>) -> &Buckets {
        match subject {
            Subject::Client(..) => &self.clients,
            Subject::Address(_) => &self.addresses,
        }
    }

    fn buckets_of_key(&self, key: &str) -> &Buckets {
        if key.starts_with(CLIENT_PREFIX) {
            &self.clients
        } else {
            &self.addresses
        }
    }

    /// `None` when `subject` may try now, else how many seconds until it may.
    pub fn wait(&self, subject: Subject<'_>) -> Option<u64> {
        let buckets = self.buckets(subject);
        let now = self.clock.now_millis();
        let unix_now = now.div_euclid(1000);
        let cluster = self.cluster.as_ref().filter(|c| c.blocks_any(unix_now));
        if buckets.is_quiet(now) && cluster.is_none() {
            return None;
        }
        let key = subject.key();
        let local = buckets.wait(&key, now);
        let shared = cluster.and_then(|cluster| cluster.blocked_for(&key, unix_now));
        match (local, shared) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Counts a failure of `subject`.
    pub fn failed(&self, subject: Subject<'_>) {
        let key = subject.key();
        self.buckets(subject).take(&key, self.clock.now_millis());
        if let Some(cluster) = &self.cluster {
            cluster.count(key);
        }
    }
}
