//! Which Redis `BAZAAR_REDIS_URL` names, and one connection to it.
//!
//! A comma-separated list names seed nodes of a Redis Cluster. A single URL is
//! asked (`INFO cluster`) whether it is a cluster node, so naming any one node
//! of a cluster is enough. Either way the key-value code sees one
//! [`RedisConnection`] that sends each command to the node owning its key.
//!
//! In a cluster a command or script may only touch keys of one hash slot, so
//! keys used together share a hash tag (`{…}`, see [`super::rate_limit_keys`]);
//! the key prefix therefore may not contain braces (checked in `config`).

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

use super::KvError;
pub use crate::config::seed_urls;

/// Attempts after the first when a cluster answers MOVED/ASK, TRYAGAIN or
/// CLUSTERDOWN, or a node cannot be reached: enough to follow a resharding or
/// a failover that is already under way, few enough that a request fails
/// within about `4 × timeout + 1 s` while the cluster is down.
const CLUSTER_RETRIES: u32 = 3;
/// Back-off between those attempts: 50 ms to 100, 200, then 400 ms (at most 500).
const CLUSTER_MIN_WAIT_MS: u64 = 50;
const CLUSTER_MAX_WAIT_MS: u64 = 500;
const CLUSTER_WAIT_FACTOR_MS: u64 = 100;

/// How Bazaar talks to Redis; logged once at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisMode {
    Single,
    /// A Redis Cluster, found through this many seed URLs.
    Cluster {
        seeds: usize,
    },
}

impl fmt::Display for RedisMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Single => f.write_str("single node"),
            Self::Cluster { seeds: 1 } => f.write_str("cluster of 1 seed"),
            Self::Cluster { seeds } => write!(f, "cluster of {seeds} seeds"),
        }
    }
}

/// A multiplexed connection to a single server or a cluster. Cloning is cheap:
/// clones share the connection(s).
#[derive(Clone)]
pub enum RedisConnection {
    /// Reconnects by itself after the server goes away; until it is back,
    /// calls fail fast.
    Single(ConnectionManager),
    /// Keeps a connection per node and the slot map; follows redirects and
    /// refreshes the map when the cluster changes.
    Cluster {
        connection: ClusterConnection,
        seeds: usize,
    },
}

impl RedisConnection {
    /// Connects to what `url` names (see the module docs).
    pub async fn connect(url: &str, timeout: Duration) -> anyhow::Result<Self> {
        let seeds = seed_urls(url);
        if seeds.len() > 1 {
            return connect_cluster(&seeds, timeout).await;
        }
        let seed = seeds.first().context("BAZAAR_REDIS_URL is empty")?;
        let client = redis::Client::open(seed.as_str())
            .context("BAZAAR_REDIS_URL is not a valid Redis URL")?;
        let mut single = ConnectionManager::new_with_config(client, manager_config(timeout))
            .await
            .context("connecting to Redis")?;
        if is_cluster_node(&mut single).await? {
            return connect_cluster(&seeds, timeout).await;
        }
        Ok(Self::Single(single))
    }

    /// A round trip that fails while the store cannot serve. A cluster that
    /// lost a node still answers PING on the others while refusing every key
    /// (CLUSTERDOWN), so there a node is asked for the cluster's state instead.
    pub async fn ping(&mut self) -> Result<(), KvError> {
        match self {
            Self::Single(c) => {
                let _: String = redis::cmd("PING").query_async(c).await.map_err(classify)?;
                Ok(())
            }
            Self::Cluster { connection, .. } => {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query_async(connection)
                    .await
                    .map_err(classify)?;
                if info.lines().any(|l| l.trim() == "cluster_state:ok") {
                    Ok(())
                } else {
                    Err(KvError::Unavailable(anyhow::anyhow!(
                        "the Redis Cluster does not report cluster_state:ok"
                    )))
                }
            }
        }
    }

    pub fn mode(&self) -> RedisMode {
        match self {
            Self::Single(_) => RedisMode::Single,
            Self::Cluster { seeds, .. } => RedisMode::Cluster { seeds: *seeds },
        }
    }
}

/// The settings of a connection to one server (also used for pub/sub seeds).
///
/// No reconnect retries inside the manager: its back-off starts at a second
/// whatever the maximum (`backon`'s minimum delay), so a server back after an
/// outage stayed unused for 1–1.5 s while a reconnect slept. Without them a
/// failed reconnect fails at once and the next call starts another: the
/// circuit breaker's probe (every `BAZAAR_BREAKER_OPEN_MS`) finds the server
/// as soon as it is back, and requests meanwhile are refused by the breaker
/// instead of waiting.
pub(super) fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(timeout)
        .set_response_timeout(timeout)
        .set_number_of_retries(0)
}

async fn is_cluster_node(connection: &mut ConnectionManager) -> anyhow::Result<bool> {
    let info: redis::RedisResult<String> = redis::cmd("INFO")
        .arg("cluster")
        .query_async(connection)
        .await;
    match info {
        Ok(info) => Ok(info.lines().any(|l| l.trim() == "cluster_enabled:1")),
        // A server that refuses INFO (some managed offerings rename it, and an
        // ACL without @dangerous answers NOPERM) is taken for what it most
        // likely is: a single node. Only a server that did not answer fails.
        Err(e)
            if !(e.is_io_error()
                || e.is_timeout()
                || e.is_connection_refusal()
                || e.is_connection_dropped()) =>
        {
            tracing::warn!(error = %e, "Redis refused INFO; assuming a single node");
            Ok(false)
        }
        Err(e) => Err(e).context("asking Redis whether it is a cluster node"),
    }
}

async fn connect_cluster(seeds: &[String], timeout: Duration) -> anyhow::Result<RedisConnection> {
    let client = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(CLUSTER_MIN_WAIT_MS)
        .max_retry_wait(CLUSTER_MAX_WAIT_MS)
        .retry_wait_formula(CLUSTER_WAIT_FACTOR_MS, 2)
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .build()
        .context("BAZAAR_REDIS_URL is not a valid list of Redis Cluster seed URLs")?;
    let connection = client
        .get_async_connection()
        .await
        .context("connecting to the Redis Cluster")?;
    Ok(RedisConnection::Cluster {
        connection,
        seeds: seeds.len(),
    })
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster { connection, .. } => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster { connection, .. } => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster { connection, .. } => connection.get_db(),
        }
    }
}

/// The one place Redis errors become [`KvError`]s. Whatever retrying later may
/// cure is `Unavailable` (clients get 503 with Retry-After): the server or a
/// cluster node cannot be reached or answers too late, the cluster is down or
/// failing over (CLUSTERDOWN, TRYAGAIN, MASTERDOWN, a write reaching a replica
/// that was a primary), a node is still loading, or redirects ran out while
/// slots move. The rest (CROSSSLOT among them) are bugs: `Other`.
pub(super) fn classify(error: RedisError) -> KvError {
    let transient = matches!(
        error.kind(),
        ErrorKind::IoError
            | ErrorKind::ClusterDown
            | ErrorKind::TryAgain
            | ErrorKind::MasterDown
            | ErrorKind::Moved
            | ErrorKind::Ask
            | ErrorKind::ReadOnly
            | ErrorKind::BusyLoadingError
            | ErrorKind::ClusterConnectionNotFound
    );
    if transient
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
    {
        KvError::Unavailable(error.into())
    } else {
        KvError::Other(error.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_separated_url_names_its_seeds() {
        assert_eq!(
            seed_urls(" redis://a:7000, redis://:pw@b:7001 ,,"),
            ["redis://a:7000", "redis://:pw@b:7001"]
        );
        assert_eq!(seed_urls("redis://cache:6379"), ["redis://cache:6379"]);
    }

    #[test]
    fn cluster_failures_are_unavailable_and_cross_slot_is_a_bug() {
        for kind in [
            ErrorKind::ClusterDown,
            ErrorKind::TryAgain,
            ErrorKind::MasterDown,
            ErrorKind::Moved,
            ErrorKind::ClusterConnectionNotFound,
        ] {
            let error = RedisError::from((kind, "from the cluster"));
            assert!(
                matches!(classify(error), KvError::Unavailable(_)),
                "{kind:?}"
            );
        }
        let cross_slot = RedisError::from((ErrorKind::CrossSlot, "keys in different slots"));
        assert!(matches!(classify(cross_slot), KvError::Other(_)));
    }

    #[test]
    fn modes_read_as_the_startup_log_says_them() {
        assert_eq!(RedisMode::Single.to_string(), "single node");
        assert_eq!(
            RedisMode::Cluster { seeds: 3 }.to_string(),
            "cluster of 3 seeds"
        );
    }
}
