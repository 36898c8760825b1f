//! Key-value port: short-lived shared state (cache entries, rate-limit counters,
//! idempotency records, sessions) that every replica must see.
//!
//! `redis` is production (a single server or a Redis Cluster); `memory` is the
//! embedded default for a single process. All pass the same conformance suite
//! (`tests/it/conformance/kv.rs`).
//!
//! Each operation touches one key, except rate limiting, whose keys share a
//! Redis Cluster hash tag ([`rate_limit_keys`]); a new multi-key operation must
//! do the same.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub mod broadcast;
pub mod memory;
pub mod redis;
pub mod redis_connection;
pub mod replica_acks;

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

    /// Replaces the value at `key` only if it is still `expected` (`None`: absent).
    /// `new` of `None` deletes. True if the swap happened. The building block of
    /// records that several requests may change at once (sessions).
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool, KvError>;

    /// Adds `member` to the set at `key` and (re)sets the set's expiry.
    async fn add_to_set(&self, key: &str, member: &str, ttl: Duration) -> Result<(), KvError>;

    async fn set_members(&self, key: &str) -> Result<Vec<String>, KvError>;

    /// Removes `member`; true if it was there.
    async fn remove_from_set(&self, key: &str, member: &str) -> Result<bool, KvError>;

    /// Counts one request against `bucket`'s budget of `limit` per `window`, in one
    /// atomic step. A client that goes over the limit in consecutive windows is
    /// blocked for 2, 4, 8… windows (at most `max_block`).
    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        max_block: Duration,
    ) -> Result<RateLimitState, KvError>;

    /// This store, for records whose loss in a Redis failover a client would
    /// feel (sessions, idempotency records): where replica acknowledgements are
    /// configured, its writes return only once a replica holds them (or the
    /// wait timed out; see `kv::replica_acks`). Elsewhere it is the store itself.
    fn replicated(self: Arc<Self>) -> Arc<dyn KeyValueStore>;

    /// Cheap round trip for readiness checks.
    async fn ping(&self) -> Result<(), KvError>;

    /// Test support: makes `by` pass for this store's expiries at once. Every
    /// entry that would have expired within `by` is gone, the others have `by`
    /// less to live. Tests call it beside `ManualClock::advance` (see
    /// `domain::time`); nothing in the service does, and on Redis it walks
    /// every key under the prefix.
    async fn fast_forward(&self, by: Duration) -> Result<(), KvError>;
}

/// The outcome of one rate-limited request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitState {
    pub allowed: bool,
    /// Requests left in the current window.
    pub remaining: u32,
    /// Time until the window resets, or until a block ends.
    pub reset_in: Duration,
}

/// The keys of a rate-limit bucket. The `{…}` hash tag keeps all three in one
/// Redis Cluster slot, so the script that updates them together runs on one
/// node. Should `bucket` hold braces, the three keys still agree up to the
/// first `}` and so share a tag, unless `bucket` starts with `}` (an empty tag
/// does not count); buckets start with their group's name.
pub(crate) fn rate_limit_keys(bucket: &str) -> (String, String, String) {
    (
        format!("rl:{{{bucket}}}:block"),
        format!("rl:{{{bucket}}}:count"),
        format!("rl:{{{bucket}}}:strikes"),
    )
}
