//! Key-value port: short-lived shared state (cache entries, rate-limit counters,
//! idempotency records, sessions) that every replica must see.
//!
//! `redis` is production; `memory` is the embedded default for a single process.
//! Both pass the same conformance suite (`tests/it/conformance/kv.rs`).

use std::time::Duration;

use async_trait::async_trait;

pub mod memory;
pub mod redis;

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// The store cannot be reached; retrying later may work.
    #[error("key-value backend unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("key-value backend failure")]
    Other(#[source] anyhow::Error),
}

/// The state of a counter after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub value: i64,
    /// Time until the counter disappears.
    pub expires_in: Duration,
}

#[async_trait]
pub trait KeyValueStore: Send + Sync {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Stores `value`, replacing any earlier one; `None` keeps it until deleted.
    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError>;

    /// Stores `value` only if `key` holds nothing. True if this call stored it.
    /// The building block of locks and of idempotency records.
    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError>;

    /// Removes `key`. True if it existed.
    async fn delete(&self, key: &str) -> Result<bool, KvError>;

    /// Adds `by` to the integer at `key` (absent counts as 0). A new counter
    /// expires after `ttl`; incrementing does not extend it (fixed windows).
    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<Counter, KvError>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), KvError>;
}
