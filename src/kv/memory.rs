//! In-process key-value store for the embedded default. Expired entries are
//! dropped when touched and swept now and then, so memory stays bounded by what
//! is live.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;

use super::{Counter, KeyValueStore, KvError};

struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

#[derive(Default)]
pub struct MemoryKv {
    entries: Mutex<HashMap<String, Entry>>,
    writes: Mutex<u64>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    fn with_live<T>(&self, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        let mut writes = self.writes.lock();
        *writes += 1;
        if (*writes).is_multiple_of(1024) {
            entries.retain(|_, e| e.live(now));
        }
        drop(writes);
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
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.with_live(|m, now| live_value(m, key, now).map(|e| e.value.clone())))
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError> {
        self.with_live(|m, now| {
            m.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires_at: ttl.map(|t| now + t),
                },
            );
        });
        Ok(())
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        Ok(self.with_live(|m, now| {
            if live_value(m, key, now).is_some() {
                return false;
            }
            m.insert(
                key.to_owned(),
                Entry {
                    value: value.to_vec(),
                    expires_at: Some(now + ttl),
                },
            );
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
                    let text = std::str::from_utf8(&e.value).unwrap_or("");
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
                Entry {
                    value: value.to_string().into_bytes(),
                    expires_at: Some(expires_at),
                },
            );
            Ok(Counter {
                value,
                expires_in: expires_at.saturating_duration_since(now),
            })
        })
    }

    async fn ping(&self) -> Result<(), KvError> {
        Ok(())
    }
}
