//! Redis key-value store. One multiplexed connection per process, managed by
//! `redis::aio::ConnectionManager`, which reconnects by itself after the server
//! goes away; until it is back, calls fail fast as `Unavailable`.

use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisError, Script};

use super::{Counter, KeyValueStore, KvError};

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

pub struct RedisKv {
    connection: ConnectionManager,
    prefix: String,
    increment: Script,
}

impl RedisKv {
    /// Connects to `url`; every key is stored under `prefix`, so several
    /// deployments (or test runs) can share one Redis.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).context("BAZAAR_REDIS_URL is not a valid Redis URL")?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let connection = ConnectionManager::new_with_config(client, config)
            .await
            .context("connecting to Redis")?;
        Ok(Self {
            connection,
            prefix: prefix.to_owned(),
            increment: Script::new(INCREMENT),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    fn conn(&self) -> ConnectionManager {
        // Cloning is cheap: all clones share one multiplexed connection.
        self.connection.clone()
    }
}

fn classify(error: RedisError) -> KvError {
    if error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
    {
        KvError::Unavailable(error.into())
    } else {
        KvError::Other(error.into())
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().clamp(1, u128::from(u64::MAX)) as u64
}

#[async_trait]
impl KeyValueStore for RedisKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.conn().get(self.key(key)).await.map_err(classify)
    }

    async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError> {
        let mut conn = self.conn();
        match ttl {
            Some(ttl) => conn.pset_ex(self.key(key), value, millis(ttl)).await,
            None => conn.set(self.key(key), value).await,
        }
        .map_err(classify)
    }

    async fn set_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut self.conn())
            .await
            .map_err(classify)?;
        Ok(stored.is_some())
    }

    async fn delete(&self, key: &str) -> Result<bool, KvError> {
        let removed: i64 = self.conn().del(self.key(key)).await.map_err(classify)?;
        Ok(removed > 0)
    }

    async fn increment(&self, key: &str, by: i64, ttl: Duration) -> Result<Counter, KvError> {
        let (value, ttl_ms): (i64, i64) = self
            .increment
            .key(self.key(key))
            .arg(by)
            .arg(millis(ttl))
            .invoke_async(&mut self.conn())
            .await
            .map_err(classify)?;
        Ok(Counter {
            value,
            expires_in: Duration::from_millis(ttl_ms.max(0) as u64),
        })
    }

    async fn ping(&self) -> Result<(), KvError> {
        let _: String = redis::cmd("PING")
            .query_async(&mut self.conn())
            .await
            .map_err(classify)?;
        Ok(())
    }
}
