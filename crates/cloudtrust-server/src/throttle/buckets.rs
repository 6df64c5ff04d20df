//! Keyed token buckets with one limit, on milliseconds from the injectable clock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use super::MAX_KEYS;

/// A limit: `burst` failures at once, refilled at `burst` per `period_millis`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Bucket size.
    pub burst: u32,
    /// Time to refill the whole bucket, in milliseconds.
    pub period_millis: i64,
}

impl Limit {
    fn rate_per_milli(self) -> f64 {
        f64::from(self.burst) / (self.period_millis.max(1) as f64)
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: i64,
}

/// Keyed token buckets with one limit. A bucket refills completely within one period of its
/// last failure, so once a period has passed since the last failure of any key, every bucket
/// is full and the map is emptied.
#[derive(Debug)]
pub struct Buckets {
    pub(super) limit: Limit,
    map: Mutex<HashMap<String, Bucket>>,
    /// How many buckets the map holds, readable without the lock.
    held: AtomicUsize,
    /// The time (milliseconds) from which every bucket is full again: the last failure plus
    /// the period; written under the map's lock.
    quiet_from: AtomicI64,
    /// The time (milliseconds) before which a full map is not swept again.
    next_sweep: AtomicI64,
}

impl Buckets {
    /// Empty buckets (every key starts full).
    pub fn new(limit: Limit) -> Self {
        Buckets {
            limit,
            map: Mutex::new(HashMap::new()),
            held: AtomicUsize::new(0),
            quiet_from: AtomicI64::new(0),
            next_sweep: AtomicI64::new(0),
        }
    }

    fn refilled(&self, bucket: Bucket, now: i64) -> f64 {
        let elapsed = now.saturating_sub(bucket.at).max(0) as f64;
        (bucket.tokens + elapsed * self.limit.rate_per_milli()).min(f64::from(self.limit.burst))
    }

    /// Whether every bucket is full (nothing failed within a period); forgets them all the
    /// first time that is found true.
    pub fn is_quiet(&self, now: i64) -> bool {
        if self.held.load(Ordering::Acquire) == 0 {
            return true;
        }
        if now < self.quiet_from.load(Ordering::Acquire) {
            return false;
        }
        let mut map = self.map.lock();
        if now >= self.quiet_from.load(Ordering::Acquire) {
            map.clear();
            self.held.store(0, Ordering::Release);
        }
        map.is_empty()
    }

    /// `None` when `key` may try at `now`, else how long until it may (whole seconds, at
    /// least 1).
    pub fn wait(&self, key: &str, now: i64) -> Option<u64> {
        let mut map = self.map.lock();
        let tokens = self.refilled(*map.get(key)?, now);
        if tokens >= f64::from(self.limit.burst) {
            map.remove(key);
            self.held.store(map.len(), Ordering::Release);
        }
        if tokens >= 1.0 {
            return None;
        }
        let seconds = ((1.0 - tokens) / self.limit.rate_per_milli() / 1000.0).ceil();
        // Bounded by the refill period, so the cast cannot overflow.
        Some((seconds as u64).max(1))
    }

    /// Takes one token from `key`'s bucket (a failure happened). With [`MAX_KEYS`] buckets
    /// held, refilled ones are swept out (at most once a second), and a new key that still
    /// finds no room is not counted: memory stays bounded, and the other bucket of the
    /// request (its address) still counts it.
    pub fn take(&self, key: &str, now: i64) {
        let mut map = self.map.lock();
        self.take_in(&mut map, key, now);
    }

    fn take_in(&self, map: &mut HashMap<String, Bucket>, key: &str, now: i64) {
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            if now >= self.next_sweep.load(Ordering::Relaxed) {
                self.next_sweep.store(now + 1000, Ordering::Relaxed);
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
        self.quiet_from.fetch_max(
            now.saturating_add(self.limit.period_millis),
            Ordering::AcqRel,
        );
        self.held.store(map.len(), Ordering::Release);
    }

    /// Takes one token from `key`'s bucket if it has one (an attempt that may fail, counted
    /// before the work that checks it); else how many seconds until it has. One lock for
    /// both, so concurrent attempts cannot all pass a check made before any of them counted.
    pub fn try_take(&self, key: &str, now: i64) -> Option<u64> {
        let mut map = self.map.lock();
        if let Some(bucket) = map.get(key) {
            let tokens = self.refilled(*bucket, now);
            if tokens < 1.0 {
                let seconds = ((1.0 - tokens) / self.limit.rate_per_milli() / 1000.0).ceil();
                // Bounded by the refill period, so the cast cannot overflow.
                return Some((seconds as u64).max(1));
            }
        }
        self.take_in(&mut map, key, now);
        None
    }

    /// Gives back the token an attempt took, once it succeeded.
    pub fn give_back(&self, key: &str, now: i64) {
        let mut map = self.map.lock();
        if let Some(bucket) = map.get(key).copied() {
            let full = f64::from(self.limit.burst);
            let tokens = (self.refilled(bucket, now) + 1.0).min(full);
            if tokens >= full {
                map.remove(key);
                self.held.store(map.len(), Ordering::Release);
            } else {
                map.insert(key.to_owned(), Bucket { tokens, at: now });
            }
        }
    }

    /// How many buckets are held.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn failures_empty_a_bucket_that_refills_with_time() {
        let buckets = Buckets::new(Limit {
            burst: 3,
            period_millis: MINUTE,
        });
        let start = 1_000_000;
        assert_eq!(buckets.wait("a", start), None);
        for _ in 0..3 {
            buckets.take("a", start);
        }
        assert_eq!(buckets.wait("a", start), Some(20), "one token per 20 s");
        assert_eq!(buckets.wait("b", start), None, "other keys are untouched");
        assert_eq!(buckets.wait("a", start + 19_000), Some(1));
        assert_eq!(buckets.wait("a", start + 20_000), None);
        assert!(!buckets.is_quiet(start + 20_000));
        assert_eq!(buckets.wait("a", start + 3_600_000), None);
        assert_eq!(buckets.held(), 0, "a refilled bucket is forgotten");
    }

    #[test]
    fn a_period_without_failures_forgets_every_bucket_without_looking_them_up() {
        let buckets = Buckets::new(Limit {
            burst: 2,
            period_millis: MINUTE,
        });
        let start = 1_000_000;
        for key in ["a", "b", "c"] {
            buckets.take(key, start);
        }
        buckets.take("c", start + 30_000);
        buckets.take("c", start + 30_000);
        assert!(!buckets.is_quiet(start + 60_000), "c failed 30 s later");
        assert!(buckets.wait("c", start + 31_000).is_some());
        assert!(buckets.is_quiet(start + 90_000));
        assert_eq!(buckets.held(), 0, "a, b and c are forgotten at once");
        assert_eq!(buckets.wait("c", start + 90_000), None);
    }

    #[test]
    fn a_clock_that_goes_back_refills_nothing_and_breaks_nothing() {
        let buckets = Buckets::new(Limit {
            burst: 1,
            period_millis: MINUTE,
        });
        buckets.take("a", 1_000_000);
        assert_eq!(buckets.wait("a", 999_000), Some(60));
    }
}
