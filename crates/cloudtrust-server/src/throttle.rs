//! Abuse protection: token buckets that count failed authentications, per client id and per
//! source address, so that online guessing of a secret stops after a few attempts.
//!
//! Only failures take tokens. A request is refused before its credentials are checked when the
//! bucket of its client id is empty, or, for a client id this deployment does not know, when
//! the bucket of its source address is empty; so a well-behaved client is never throttled by
//! another client's failures, even from the same address. Buckets live in each node's memory:
//! N nodes allow up to N times the configured rate.

use std::collections::HashMap;
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

/// Keyed token buckets with one limit.
#[derive(Debug)]
pub struct Buckets {
    limit: Limit,
    map: Mutex<HashMap<String, Bucket>>,
}

/// Buckets kept before full ones are dropped, to bound memory.
const MAX_KEYS: usize = 100_000;

impl Buckets {
    /// Empty buckets (every key starts full).
    pub fn new(limit: Limit) -> Self {
        Buckets {
            limit,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.tokens + elapsed * self.limit.rate_per_sec()).min(f64::from(self.limit.burst))
    }

    /// `None` when `key` may try now, else how long until it may (whole seconds, at least 1).
    pub fn wait(&self, key: &str, now: Instant) -> Option<u64> {
        let bucket = *self.map.lock().get(key)?;
        let tokens = self.refilled(bucket, now);
        if tokens >= 1.0 {
            return None;
        }
        let seconds = ((1.0 - tokens) / self.limit.rate_per_sec()).ceil();
        // Bounded by the refill period, so the cast cannot overflow.
        Some((seconds as u64).max(1))
    }

    /// Takes one token from `key`'s bucket (a failure happened).
    pub fn take(&self, key: &str, now: Instant) {
        let mut map = self.map.lock();
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let full = f64::from(self.limit.burst);
            map.retain(|_, b| self.refilled(*b, now) < full);
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
    }
}

/// The buckets of the token endpoints.
#[derive(Debug)]
pub struct Throttle {
    /// Failures per client id.
    pub clients: Buckets,
    /// Failures per source address, for client ids nobody knows.
    pub addresses: Buckets,
}

impl Throttle {
    /// Buckets for `per_client` and `per_address` failures per minute.
    pub fn per_minute(per_client: u32, per_address: u32) -> Self {
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
        assert_eq!(buckets.wait("a", start + Duration::from_secs(3600)), None);
    }
}
