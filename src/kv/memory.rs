//! In-process key-value store for the embedded default. Expired entries are
//! dropped when touched and swept now and then, so memory stays bounded by what
//! is live. Expiry is judged on the monotonic clock, plus however far a test
//! has fast-forwarded it (`KeyValueStore::fast_forward`), as Redis judges its own.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;

use std::collections::BTreeSet;

use super::{rate_limit_keys, Counter, KeyValueStore, KvError, RateLimitState};

struct Entry {
    value: Value,
    expires_at: Option<Instant>,
}

enum Value {
    Bytes(Vec<u8>),
    Set(BTreeSet<String>),
}

impl Entry {
    fn bytes(value: &[u8], expires_at: Option<Instant>) -> Self {
        Self {
            value: Value::Bytes(value.to_vec()),
            expires_at,
        }
    }

    fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(b) => Some(b),
            Value::Set(_) => None,
        }
    }
}

fn wrong_type(key: &str) -> KvError {
    KvError::Other(anyhow::anyhow!("value at {key} has another type"))
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

#[derive(Default)]
pub struct MemoryKv {
    entries: Mutex<HashMap<String, Entry>>,
    /// Operations so far; every 1024th sweeps out expired entries.
    operations: AtomicU64,
    /// How far tests have fast-forwarded this store's time.
    skipped: Mutex<Duration>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_live<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        let now = Instant::now() + *self.skipped.lock();
        let mut entries = self.entries.lock();
        if (self.operations.fetch_add(1, Ordering::Relaxed) + 1).is_multiple_of(1024) {
            entries.retain(|_, e| e.live(now));
        }
        f(&mut entries, now)
    }
}

fn live_value<'a>(
    entries: &'a HashMap<String, Entry>,
    key: &str,
    now: Instant,
) -> Option<&'a Entry> {
    entries.get(key).filter(|e| e.live(now))
}

#[async_trait]
impl KeyValueStore for MemoryKv {
    /// Nothing to replicate to: the store itself.
    fn replicated(self: Arc<Self>) -> Arc<dyn KeyValueStore> {
        self
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with_live(|m, now| match live_value(m, key, now) {
            None => Ok(None),
            Some(e) => e
                .as_bytes()
                .map(|b| Some(b.to_vec()))
                .ok_or_else(|| wrong_type(key)),
        })
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError> {
        self.with_live(|m, now| {
            m.insert(key.to_owned(), Entry::bytes(value, ttl.map(|t| now + t)));
        });
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        Ok(self.with_live(|m, now| {
            if live_value(m, key, now).is_some() {
                return false;
            }
            m.insert(key.to_owned(), Entry::bytes(value, Some(now + ttl)));
            true
        }))
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.with_live(|m, now| m.remove(key).is_some_and(|e| e.live(now))))
    }

    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<Counter, KvError> {
        self.with_live(|m, now| {
            let (current, expires_at) = match live_value(m, key, now) {
                Some(e) => {
                    let text = e
                        .as_bytes()
                        .and_then(|b| std::str::from_utf8(b).ok())
                        .unwrap_or("");
                    let n: i64 = text.parse().map_err(|_| {
                        KvError::Other(anyhow::anyhow!("value at {key} is not an integer"))
                    })?;
                    (n, e.expires_at.unwrap_or(now + ttl))
                }
                None => (0, now + ttl),
            };
            let value = current
                .checked_add(by)
                .ok_or_else(|| KvError::Other(anyhow::anyhow!("counter at {key} overflowed")))?;
            m.insert(
                key.to_owned(),
                Entry::bytes(value.to_string().as_bytes(), Some(expires_at)),
            );
            Ok(Counter {
                value,
                expires_in: expires_at.saturating_duration_since(now),
            })
        })
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool, KvError> {
        Ok(self.with_live(|m, now| {
            let current = live_value(m, key, now).and_then(Entry::as_bytes);
            if current != expected {
                return false;
            }
            match new {
                Some(v) => {
                    m.insert(key.to_owned(), Entry::bytes(v, ttl.map(|t| now + t)));
                }
                None => {
                    m.remove(key);
                }
            }
            true
        }))
    }

    async fn add_to_set(&self, key: &str, member: &str, ttl: Duration) -> Result<(), KvError> {
        self.with_live(|m, now| {
            let live = live_value(m, key, now).is_some();
            let entry = m.entry(key.to_owned()).or_insert_with(|| Entry {
                value: Value::Set(BTreeSet::new()),
                expires_at: None,
            });
            if !live {
                entry.value = Value::Set(BTreeSet::new());
            }
            let Value::Set(set) = &mut entry.value else {
                return Err(wrong_type(key));
            };
            set.insert(member.to_owned());
            entry.expires_at = Some(now + ttl);
            Ok(())
        })
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, KvError> {
        self.with_live(|m, now| match live_value(m, key, now).map(|e| &e.value) {
            None => Ok(Vec::new()),
            Some(Value::Set(set)) => Ok(set.iter().cloned().collect()),
            Some(Value::Bytes(_)) => Err(wrong_type(key)),
        })
    }

    async fn remove_from_set(&self, key: &str, member: &str) -> Result<bool, KvError> {
        self.with_live(|m, now| {
            if live_value(m, key, now).is_none() {
                return Ok(false);
            }
            match m.get_mut(key).map(|e| &mut e.value) {
                Some(Value::Set(set)) => Ok(set.remove(member)),
                _ => Err(wrong_type(key)),
            }
        })
    }

    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        max_block: Duration,
    ) -> Result<RateLimitState, KvError> {
        let (block_key, count_key, strikes_key) = rate_limit_keys(bucket);
        self.with_live(|m, now| {
            let remaining_of = |m: &HashMap<String, Entry>, k: &str| {
                live_value(m, k, now)
                    .and_then(|e| e.expires_at)
                    .map(|t| t.saturating_duration_since(now))
            };
            let number = |m: &HashMap<String, Entry>, k: &str| -> i64 {
                live_value(m, k, now)
                    .and_then(Entry::as_bytes)
                    .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
                    .unwrap_or(0)
            };
            if let Some(left) = remaining_of(m, &block_key) {
                return Ok(RateLimitState {
                    allowed: false,
                    remaining: 0,
                    reset_in: left,
                });
            }
            let count = number(m, &count_key) + 1;
            let reset_in = remaining_of(m, &count_key).unwrap_or(window);
            m.insert(
                count_key.clone(),
                Entry::bytes(count.to_string().as_bytes(), Some(now + reset_in)),
            );
            if count <= i64::from(limit) {
                return Ok(RateLimitState {
                    allowed: true,
                    remaining: (i64::from(limit) - count) as u32,
                    reset_in,
                });
            }
            if count > i64::from(limit) + 1 {
                return Ok(RateLimitState {
                    allowed: false,
                    remaining: 0,
                    reset_in,
                });
            }
            // First refusal in this window: one more strike.
            let strikes = number(m, &strikes_key) + 1;
            m.insert(
                strikes_key.clone(),
                Entry::bytes(
                    strikes.to_string().as_bytes(),
                    Some(now + max_block.max(window) * 2),
                ),
            );
            let block = block_for(strikes, window, max_block).max(reset_in);
            if strikes > 1 {
                m.insert(block_key.clone(), Entry::bytes(b"1", Some(now + block)));
            }
            Ok(RateLimitState {
                allowed: false,
                remaining: 0,
                reset_in: block,
            })
        })
    }

    async fn ping(&self) -> Result<(), KvError> {
        Ok(())
    }

    async fn fast_forward(&self, by: Duration) -> Result<(), KvError> {
        let mut skipped = self.skipped.lock();
        *skipped = skipped.saturating_add(by);
        Ok(())
    }
}

/// How long a client is blocked after `strikes` windows in which it went over
/// its limit: the rest of the window at first, then 2, 4, 8… windows.
pub(crate) fn block_for(strikes: i64, window: Duration, max_block: Duration) -> Duration {
    if strikes <= 1 {
        return Duration::ZERO;
    }
    let factor = 1u32 << (strikes - 1).clamp(0, 20) as u32;
    window.saturating_mul(factor).min(max_block)
}
