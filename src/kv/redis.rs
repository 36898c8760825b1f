//! Redis key-value store, on a single server or a Redis Cluster (see
//! `redis_connection`). Every command and script touches one key, or keys that
//! share a hash tag, so each runs whole on the node that owns its slot.
//!
//! Every call is capped at the backend timeout (see [`RedisKv::bounded`]): until
//! a lost server is back, calls fail as `Unavailable` within it, and once the
//! circuit breaker (if given one, [`RedisKv::with_breaker`]) has seen Redis down
//! they fail at once, without asking it.
//!
//! With replica acknowledgements configured ([`RedisKv::with_replica_acks`]),
//! the [`KeyValueStore::replicated`] view follows each write with `WAIT` (see
//! `replica_acks`); the plain store never waits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::{AsyncCommands, RedisError, Script};

use super::redis_connection::{classify, RedisConnection, RedisMode};
use super::replica_acks::ReplicaAcks;
use super::{rate_limit_keys, Counter, KeyValueStore, KvError, RateLimitState};
use crate::breaker::Breaker;

/// Increments and sets the expiry of a new counter in one atomic step.
const INCREMENT: &str = r"
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {value, ttl}
";

/// Swaps a value only if it is still what the caller read.
const COMPARE_AND_SWAP: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[3] == '1' then
  if tonumber(ARGV[5]) > 0 then
    redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
  else
    redis.call('SET', KEYS[1], ARGV[4])
  end
else
  redis.call('DEL', KEYS[1])
end
return 1
";

/// Adds a member and (re)sets the set's expiry in one step. A script rather
/// than MULTI/EXEC: one command, so a cluster redirect retries it whole.
const ADD_TO_SET: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// One request against a rate-limit bucket (see `KeyValueStore::hit_rate_limit`
/// and `memory::block_for`, which this mirrors). KEYS: block, count, strikes.
/// The three keys share a hash tag, so this runs on one cluster node.
/// ARGV: limit, window ms, max block ms. Returns {allowed, remaining, reset ms}.
const RATE_LIMIT: &str = r"
local blocked = redis.call('PTTL', KEYS[1])
if blocked > 0 then return {0, 0, blocked} end
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_block = tonumber(ARGV[3])
local count = redis.call('INCR', KEYS[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[2], window)
  ttl = window
end
if count <= limit then return {1, limit - count, ttl} end
if count > limit + 1 then return {0, 0, ttl} end
local strikes = redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], math.max(max_block, window) * 2)
if strikes <= 1 then return {0, 0, ttl} end
local block = math.min(window * (2 ^ math.min(strikes - 1, 20)), max_block)
block = math.max(block, ttl)
redis.call('SET', KEYS[1], '1', 'PX', math.floor(block))
return {0, 0, math.floor(block)}
";

/// Test support (`KeyValueStore::fast_forward`): takes ARGV[1] ms off one
/// key's time to live, deleting it if that was all it had left.
const FAST_FORWARD: &str = r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return 0 end
local by = tonumber(ARGV[1])
if ttl <= by then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ttl - by)
return 0
";

#[derive(Clone)]
pub struct RedisKv {
    connection: RedisConnection,
    prefix: String,
    timeout: Duration,
    /// What a waited write waits for; `None` when nothing is configured.
    replica_acks: Option<Arc<ReplicaAcks>>,
    /// Whether this view waits (the [`KeyValueStore::replicated`] one).
    waits: bool,
    increment: Script,
    compare_and_swap: Script,
    add_to_set: Script,
    rate_limit: Script,
    fast_forward: Script,
    breaker: Option<Arc<Breaker>>,
}

impl RedisKv {
    /// Connects to `url` (one server, or cluster seeds; see `redis_connection`);
    /// every key is stored under `prefix`, so several deployments (or test
    /// runs) can share one Redis.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            connection: RedisConnection::connect(url, timeout).await?,
            prefix: prefix.to_owned(),
            timeout,
            replica_acks: None,
            waits: false,
            increment: Script::new(INCREMENT),
            compare_and_swap: Script::new(COMPARE_AND_SWAP),
            add_to_set: Script::new(ADD_TO_SET),
            rate_limit: Script::new(RATE_LIMIT),
            fast_forward: Script::new(FAST_FORWARD),
            breaker: None,
        })
    }

    /// Puts every call behind `breaker`: refused at once while Redis is known
    /// to be down, and a `PING` (or a cluster's state) as its probe.
    pub fn with_breaker(mut self, breaker: Arc<Breaker>) -> Self {
        let (connection, timeout) = (self.connection.clone(), self.timeout);
        breaker.probe_with(Box::new(move || {
            let mut connection = connection.clone();
            Box::pin(async move {
                // A connection manager that lost its server answers the first
                // call after with the old error, and reconnects only then: a
                // second ping asks the server itself.
                for _ in 0..2 {
                    if let Ok(Ok(())) = tokio::time::timeout(timeout, connection.ping()).await {
                        return true;
                    }
                }
                false
            })
        }));
        self.breaker = Some(breaker);
        self
    }

    /// Lets [`KeyValueStore::replicated`] views wait until `replicas` replicas
    /// hold each write, for at most `timeout` (see `replica_acks`). Zero
    /// replicas: they do not wait.
    #[must_use]
    pub fn with_replica_acks(mut self, replicas: u32, timeout: Duration) -> Self {
        self.replica_acks = ReplicaAcks::new(replicas, timeout).map(Arc::new);
        self
    }

    /// Single node or cluster, as found at connect time.
    pub fn mode(&self) -> RedisMode {
        self.connection.mode()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn conn(&self) -> RedisConnection {
        self.connection.clone()
    }

    /// In the replicated view, waits until the configured replicas hold what
    /// this connection wrote, `full_key`'s write included. `PTTL` only routes
    /// the `WAIT` to the node that owns the key, through the same multiplexed
    /// connection the write took. A short wait is logged and pauses waiting
    /// (see `replica_acks`); the write itself stands either way.
    async fn replicate(&self, full_key: &str) -> Result<(), KvError> {
        let Some(acks) = self.replica_acks.as_ref().filter(|_| self.waits) else {
            return Ok(());
        };
        if !acks.should_wait(Instant::now()) {
            return Ok(());
        }
        let (_, acked): (i64, i64) = self
            .bounded(
                redis::pipe()
                    .cmd("PTTL")
                    .arg(full_key)
                    .cmd("WAIT")
                    .arg(acks.replicas())
                    .arg(acks.timeout_ms())
                    .query_async(&mut self.conn()),
            )
            .await?;
        if !acks.record(acked, Instant::now()) {
            tracing::warn!(
                acked,
                wanted = acks.replicas(),
                "redis: a write reached fewer replicas than asked within the wait; \
                 writes are not waited for during the next few seconds"
            );
        }
        Ok(())
    }
}

/// Caps one Redis call at `limit`. The connection manager's own response
/// timeout does not cover every state it can be in while the server is gone (a
/// reconnect in progress, a command written to a dead socket), and a call
/// waiting there would hold its request until the request timeout.
async fn capped<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, KvError>>,
) -> Result<T, KvError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(KvError::Unavailable(anyhow::anyhow!(
            "Redis did not answer within {limit:?}"
        ))),
    }
}

impl RedisKv {
    /// One Redis call: behind the breaker, capped at the backend timeout, its
    /// error classified.
    async fn bounded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RedisError>>,
    ) -> Result<T, KvError> {
        self.guarded(async { call.await.map_err(classify) }).await
    }

    async fn guarded<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, KvError>>,
    ) -> Result<T, KvError> {
        let call = capped(self.timeout, call);
        match &self.breaker {
            None => call.await,
            Some(breaker) => {
                breaker
                    .call(
                        call,
                        |e| matches!(e, KvError::Unavailable(_)),
                        |refused| KvError::Unavailable(refused.into()),
                    )
                    .await
            }
        }
    }
}

/// `text` matched literally in a `KEYS`/`SCAN` pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn millis(d: Duration) -> u64 {
    d.as_millis().clamp(1, u128::from(u64::MAX)) as u64
}

#[async_trait]
impl KeyValueStore for RedisKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.bounded(self.conn().get(self.key(key))).await
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError> {
        let mut conn = self.conn();
        let key = self.key(key);
        match ttl {
            Some(ttl) => self.bounded(conn.pset_ex(&key, value, millis(ttl))).await?,
            None => self.bounded(conn.set(&key, value)).await?,
        }
        self.replicate(&key).await
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let key = self.key(key);
        let stored: Option<String> = self
            .bounded(
                redis::cmd("SET")
                    .arg(&key)
                    .arg(value)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis(ttl))
                    .query_async(&mut self.conn()),
            )
            .await?;
        if stored.is_some() {
            self.replicate(&key).await?;
        }
        Ok(stored.is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        let key = self.key(key);
        let removed: i64 = self.bounded(self.conn().del(&key)).await?;
        if removed > 0 {
            self.replicate(&key).await?;
        }
        Ok(removed > 0)
    }

    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<Counter, KvError> {
        let key = self.key(key);
        let (value, ttl_ms): (i64, i64) = self
            .bounded(
                self.increment
                    .key(&key)
                    .arg(by)
                    .arg(millis(ttl))
                    .invoke_async(&mut self.conn()),
            )
            .await?;
        self.replicate(&key).await?;
        Ok(Counter {
            value,
            expires_in: Duration::from_millis(ttl_ms.max(0) as u64),
        })
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        ttl: Option<Duration>,
    ) -> Result<bool, KvError> {
        let key = self.key(key);
        let swapped: i64 = self
            .bounded(
                self.compare_and_swap
                    .key(&key)
                    .arg(if expected.is_some() { "1" } else { "0" })
                    .arg(expected.unwrap_or_default())
                    .arg(if new.is_some() { "1" } else { "0" })
                    .arg(new.unwrap_or_default())
                    .arg(ttl.map(millis).unwrap_or(0))
                    .invoke_async(&mut self.conn()),
            )
            .await?;
        if swapped == 1 {
            self.replicate(&key).await?;
        }
        Ok(swapped == 1)
    }

    async fn add_to_set(&self, key: &str, member: &str, ttl: Duration) -> Result<(), KvError> {
        let key = self.key(key);
        self.bounded(
            self.add_to_set
                .key(&key)
                .arg(member)
                .arg(millis(ttl))
                .invoke_async::<i64>(&mut self.conn()),
        )
        .await?;
        self.replicate(&key).await
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, KvError> {
        self.bounded(self.conn().smembers(self.key(key))).await
    }

    async fn remove_from_set(&self, key: &str, member: &str) -> Result<bool, KvError> {
        let key = self.key(key);
        let removed: i64 = self.bounded(self.conn().srem(&key, member)).await?;
        if removed > 0 {
            self.replicate(&key).await?;
        }
        Ok(removed > 0)
    }

    async fn hit_rate_limit(
        &self,
        bucket: &str,
        limit: u32,
        window: Duration,
        max_block: Duration,
    ) -> Result<RateLimitState, KvError> {
        let (block, count, strikes) = rate_limit_keys(bucket);
        let (allowed, remaining, reset_ms): (i64, i64, i64) = self
            .bounded(
                self.rate_limit
                    .key(self.key(&block))
                    .key(self.key(&count))
                    .key(self.key(&strikes))
                    .arg(limit)
                    .arg(millis(window))
                    .arg(millis(max_block))
                    .invoke_async(&mut self.conn()),
            )
            .await?;
        self.replicate(&self.key(&count)).await?;
        Ok(RateLimitState {
            allowed: allowed == 1,
            remaining: remaining.max(0) as u32,
            reset_in: Duration::from_millis(reset_ms.max(0) as u64),
        })
    }

    /// Lists the prefix's keys with `KEYS` (sent to every primary of a cluster),
    /// then shortens each key's TTL in a script of its own, so each step touches
    /// one slot. Test Redis only: `KEYS` walks the whole keyspace.
    async fn fast_forward(&self, by: Duration) -> Result<(), KvError> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let keys: Vec<String> = self.bounded(self.conn().keys(pattern)).await?;
        let by_ms = by.as_millis().min(u128::from(u64::MAX)) as u64;
        for key in keys {
            self.bounded(
                self.fast_forward
                    .key(key)
                    .arg(by_ms)
                    .invoke_async::<i64>(&mut self.conn()),
            )
            .await?;
        }
        Ok(())
    }

    /// A view that waits for replicas when they are configured; rate limits
    /// and cache entries stay on the plain store, where a lost write costs
    /// little and a wait on every request would cost much.
    fn replicated(self: Arc<Self>) -> Arc<dyn KeyValueStore> {
        if self.replica_acks.is_none() || self.waits {
            return self;
        }
        Arc::new(Self {
            waits: true,
            ..(*self).clone()
        })
    }

    async fn ping(&self) -> Result<(), KvError> {
        self.guarded(async { self.conn().ping().await }).await
    }
}
