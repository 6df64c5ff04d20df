//! A bounded in-memory map under random keys whose entries expire when left unused: what keeps
//! sessions and sign-ins in progress without letting memory grow without limit.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::CsrfToken;

/// Bytes of randomness in a key: 256 bits, so keys can be neither guessed nor enumerated.
const KEY_BYTES: u32 = 32;

struct Entry<V> {
    value: V,
    last_used: Instant,
}

/// At most `capacity` values, each forgotten after `idle` without use.
pub struct ExpiringMap<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    capacity: usize,
    idle: Duration,
}

impl<V> ExpiringMap<V> {
    /// An empty map (holding at least one value, whatever `capacity` says).
    pub fn new(capacity: usize, idle: Duration) -> Self {
        ExpiringMap {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            idle,
        }
    }

    /// The entries. A thread that panicked while holding the lock left the map consistent
    /// (every change is a single map operation), so the map stays usable.
    fn entries(&self) -> MutexGuard<'_, HashMap<String, Entry<V>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `value` under a new random key, which it returns. When the map is full, expired
    /// values go first, then the least recently used one: a flood of new entries can push out
    /// old ones, but never exhaust memory.
    pub fn insert(&self, value: V) -> String {
        let key = CsrfToken::new_random_len(KEY_BYTES).into_secret();
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            entries.retain(|_, e| now.duration_since(e.last_used) < self.idle);
        }
        if entries.len() >= self.capacity
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(
            key.clone(),
            Entry {
                value,
                last_used: now,
            },
        );
        key
    }

    /// Takes the value under `key` out of the map, unless it expired.
    pub fn remove(&self, key: &str) -> Option<V> {
        let entry = self.entries().remove(key)?;
        (entry.last_used.elapsed() < self.idle).then_some(entry.value)
    }
}

impl<V: Clone> ExpiringMap<V> {
    /// The value under `key`, unless it expired; using it restarts its idle time.
    pub fn get(&self, key: &str) -> Option<V> {
        let now = Instant::now();
        let mut entries = self.entries();
        let entry = entries.get_mut(key)?;
        if now.duration_since(entry.last_used) >= self.idle {
            entries.remove(key);
            return None;
        }
        entry.last_used = now;
        Some(entry.value.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_and_values_come_back_once_removed() {
        let map = ExpiringMap::new(10, Duration::from_secs(60));
        let a = map.insert("a");
        let b = map.insert("b");
        assert_ne!(a, b);
        assert!(a.len() >= 43, "256 bits in base64url: {a}");
        assert_eq!(map.get(&a), Some("a"));
        assert_eq!(map.remove(&a), Some("a"));
        assert_eq!(map.remove(&a), None);
        assert_eq!(map.get("not a key"), None);
        assert_eq!(map.get(&b), Some("b"));
    }

    #[test]
    fn a_full_map_forgets_the_least_recently_used_value() {
        let map = ExpiringMap::new(2, Duration::from_secs(60));
        let first = map.insert(1);
        let second = map.insert(2);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            map.get(&first),
            Some(1),
            "using the first makes the second the oldest"
        );
        let third = map.insert(3);
        assert_eq!(map.get(&second), None);
        assert_eq!(map.get(&first), Some(1));
        assert_eq!(map.get(&third), Some(3));
    }

    #[test]
    fn values_left_unused_expire() {
        let map = ExpiringMap::new(10, Duration::from_millis(300));
        let kept = map.insert("kept");
        let gone = map.insert("gone");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(map.get(&kept), Some("kept"));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            map.get(&kept),
            Some("kept"),
            "each use restarts the idle time"
        );
        assert_eq!(map.remove(&gone), None, "expired");
    }
}
