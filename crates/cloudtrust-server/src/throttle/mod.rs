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

/// How many more failures an account may have (from every address together) than one client
/// id from one address: enough that one attacker cannot lock a person out, few enough that
/// many addresses together cannot guess.
const ACCOUNT_FACTOR: u32 = 5;

/// Keys kept at most, per set of buckets and for shared counts, to bound memory.
const MAX_KEYS: usize = 100_000;

/// What a failure is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A client id (or another named credential) asking from one source address.
    Client(&'a str, IpAddr),
    /// A source address (for client ids nobody knows).
    Address(IpAddr),
    /// An account (a person's sign-in name, hashed) from any address: distributed guessing.
    Account(&'a str),
}

const CLIENT_PREFIX: &str = "client:";
const ADDRESS_PREFIX: &str = "address:";
const ACCOUNT_PREFIX: &str = "account:";

/// The part of an address that one client controls: an IPv4 address, or the /64 network of an
/// IPv6 one (a host gets a whole /64, so counting single IPv6 addresses would count nothing).
fn network(source: IpAddr) -> IpAddr {
    match source {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl Subject<'_> {
    /// The key of its bucket, also used between nodes.
    fn key(self) -> String {
        match self {
            Subject::Client(id, source) => format!("{CLIENT_PREFIX}{id} {}", network(source)),
            Subject::Address(source) => format!("{ADDRESS_PREFIX}{}", network(source)),
            Subject::Account(account) => format!("{ACCOUNT_PREFIX}{account}"),
        }
    }
}

/// The failure counters of every authentication.
#[derive(Debug)]
pub struct Throttle {
    clients: Buckets,
    addresses: Buckets,
    accounts: Buckets,
    cluster: Option<Cluster>,
    clock: Arc<dyn Clock>,
}

impl Throttle {
    /// Buckets for `per_client` and `per_address` failures per minute (and five times
    /// `per_client` per account, from any address); `shared` adds them up across nodes as
    /// well.
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
            accounts: Buckets::new(Limit {
                burst: per_client.max(1).saturating_mul(ACCOUNT_FACTOR),
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
            Subject::Account(_) => &self.accounts,
        }
    }

    fn buckets_of_key(&self, key: &str) -> &Buckets {
        if key.starts_with(CLIENT_PREFIX) {
            &self.clients
        } else if key.starts_with(ACCOUNT_PREFIX) {
            &self.accounts
        } else {
            &self.addresses
        }
    }

    /// Counts an attempt of every subject *before* the work that checks it (a password
    /// hash), so that a flood is refused before it costs anything: `None` when all may try
    /// (each then holds one token less until [`Throttle::refund`]), else the longest wait.
    pub fn attempt(&self, subjects: &[Subject<'_>]) -> Option<u64> {
        let now = self.clock.now_millis();
        let unix_now = now.div_euclid(1000);
        let cluster = self.cluster.as_ref().filter(|c| c.blocks_any(unix_now));
        let mut taken = Vec::with_capacity(subjects.len());
        let mut wait = None;
        for subject in subjects {
            let key = subject.key();
            let shared = cluster.and_then(|c| c.blocked_for(&key, unix_now));
            match shared.or_else(|| self.buckets(*subject).try_take(&key, now)) {
                Some(w) => wait = Some(wait.map_or(w, |v: u64| v.max(w))),
                None => taken.push(*subject),
            }
        }
        if wait.is_some() {
            self.refund(&taken);
        }
        wait
    }

    /// Gives back what [`Throttle::attempt`] took, when the attempt succeeded (or was never
    /// checked).
    pub fn refund(&self, subjects: &[Subject<'_>]) {
        let now = self.clock.now_millis();
        for subject in subjects {
            self.buckets(*subject).give_back(&subject.key(), now);
        }
    }

    /// Tells the other nodes of a failed attempt already counted here by
    /// [`Throttle::attempt`].
    pub fn share_failure(&self, subjects: &[Subject<'_>]) {
        if let Some(cluster) = &self.cluster {
            for subject in subjects {
                cluster.count(subject.key());
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Clock for Fixed {
        fn now(&self) -> i64 {
            1_000_000
        }
    }

    #[test]
    fn attempts_count_before_the_work_and_successes_give_back() {
        let throttle = Throttle::per_minute(2, 100, false, Arc::new(Fixed));
        let here: IpAddr = [10, 0, 0, 1].into();
        let subjects = [Subject::Client("pat", here), Subject::Address(here)];
        assert_eq!(throttle.attempt(&subjects), None);
        throttle.refund(&subjects);
        for _ in 0..2 {
            assert_eq!(throttle.attempt(&subjects), None, "two failures allowed");
        }
        assert!(
            throttle.attempt(&subjects).is_some(),
            "the third is refused unchecked"
        );
        let elsewhere: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(
            throttle.attempt(&[Subject::Client("pat", elsewhere)]),
            None,
            "the same account from another address is another bucket"
        );
    }

    #[test]
    fn ipv6_addresses_count_per_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Subject::Address(a).key(), Subject::Address(b).key());
        assert_ne!(Subject::Address(a).key(), Subject::Address(c).key());
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(Subject::Address(mapped).key(), "address:192.0.2.7");
    }

    #[test]
    fn one_account_guessed_from_many_addresses_is_paused() {
        let throttle = Throttle::per_minute(2, 100, false, Arc::new(Fixed));
        let mut refused = 0;
        for i in 0..20u8 {
            let from: IpAddr = [10, 0, 1, i].into();
            let subjects = [Subject::Client("pat", from), Subject::Account("pat")];
            if throttle.attempt(&subjects).is_some() {
                refused += 1;
            }
        }
        assert_eq!(
            refused, 10,
            "five times the per-client limit, from all addresses together"
        );
    }
}
