//! Invalidation broadcast: how one replica tells every replica's in-process
//! caches (its own included) that a record changed.
//!
//! Production uses Redis pub/sub; the embedded default, one process, a local
//! channel. Pub/sub is at-most-once: a replica whose subscription breaks misses
//! what was published meanwhile, so it hears [`Notice::Lost`] and forgets
//! everything it cached. A read that races a write (loaded before the write,
//! stored after the notice) is not kept: see [`Epoch`]. What is left to the
//! caches' own TTL (`BAZAAR_CACHE_L1_TTL_MS`) is a notice that never arrives.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt as _;
use tokio::sync::broadcast;

use super::redis_connection::{classify, seed_urls, RedisConnection};
use super::KvError;

/// Notices a slow subscriber may fall behind by before it hears `Lost`.
const BACKLOG: usize = 1024;
/// Wait between attempts to subscribe again.
const RESUBSCRIBE_EVERY: Duration = Duration::from_millis(500);

/// What a subscriber hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The record named by this topic (`product:<id>`, `user:<id>`) changed.
    Changed(Arc<str>),
    /// Notices may have been missed: forget everything.
    Lost,
}

#[async_trait]
pub trait Broadcast: Send + Sync {
    /// Tells every replica that `topic` changed.
    async fn publish(&self, topic: &str) -> Result<(), KvError>;

    /// Every notice published from now on, by any replica.
    fn subscribe(&self) -> Subscription;
}

/// Counts the notices a cache has heard, so that a value loaded while one
/// arrived is not kept: the notice may be about that very value, and its
/// invalidation may have run before the value was stored.
#[derive(Debug, Default)]
pub struct Epoch(std::sync::atomic::AtomicU64);

impl Epoch {
    /// Called for every notice, before the cache drops what it names.
    pub fn advance(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Taken before a load.
    pub fn now(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether a notice arrived since `then` (so a value loaded meanwhile may be old).
    pub fn moved_since(&self, then: u64) -> bool {
        self.now() != then
    }
}

/// One subscriber's notices, in order.
pub struct Subscription(broadcast::Receiver<Notice>);

impl Subscription {
    /// The next notice; `None` once the broadcast is gone. Falling behind is
    /// reported as `Lost`.
    pub async fn next(&mut self) -> Option<Notice> {
        match self.0.recv().await {
            Ok(notice) => Some(notice),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Notice::Lost),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

/// The embedded default: one process, so publishing is telling oneself.
pub struct LocalBroadcast {
    sender: broadcast::Sender<Notice>,
}

impl LocalBroadcast {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Default for LocalBroadcast {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Broadcast for LocalBroadcast {
    async fn publish(&self, topic: &str) -> Result<(), KvError> {
        // No subscriber is not an error: nothing is cached then.
        let _ = self.sender.send(Notice::Changed(topic.into()));
        Ok(())
    }

    fn subscribe(&self) -> Subscription {
        Subscription(self.sender.subscribe())
    }
}

/// Redis pub/sub on one channel per deployment (`<prefix>invalidations`).
///
/// In a Redis Cluster a `PUBLISH` on any node reaches subscribers on every node.
/// So notices are published through the key-value connection (single server or
/// cluster, which finds a live node for the channel's slot), and the listener
/// subscribes on one seed node, moving on to the next seed when that fails.
pub struct RedisBroadcast {
    local: LocalBroadcast,
    publisher: RedisConnection,
    channel: String,
    /// The backend timeout: publishing happens after a write, inside its request.
    timeout: Duration,
    listener: tokio::task::AbortHandle,
}

impl Drop for RedisBroadcast {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl RedisBroadcast {
    /// Connects the publisher to what `url` names (see `redis_connection`)
    /// and starts listening on its seeds in the background.
    pub async fn connect(url: &str, prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let clients = seed_urls(url)
            .iter()
            .map(|seed| redis::Client::open(seed.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .context("BAZAAR_REDIS_URL is not a valid Redis URL")?;
        let publisher = RedisConnection::connect(url, timeout)
            .await
            .context("connecting to Redis for invalidations")?;
        let local = LocalBroadcast::new();
        let channel = format!("{prefix}invalidations");
        let listener = tokio::spawn(listen(
            clients,
            channel.clone(),
            local.sender.clone(),
            timeout,
        ));
        Ok(Self {
            local,
            publisher,
            channel,
            timeout,
            listener: listener.abort_handle(),
        })
    }
}

#[async_trait]
impl Broadcast for RedisBroadcast {
    async fn publish(&self, topic: &str) -> Result<(), KvError> {
        let mut publisher = self.publisher.clone();
        let mut command = redis::cmd("PUBLISH");
        command.arg(&self.channel).arg(topic);
        let publish = command.query_async::<i64>(&mut publisher);
        match tokio::time::timeout(self.timeout, publish).await {
            Ok(result) => result.map(drop).map_err(classify),
            Err(_) => Err(KvError::Unavailable(anyhow::anyhow!(
                "Redis did not take the invalidation within {:?}",
                self.timeout
            ))),
        }
    }

    fn subscribe(&self) -> Subscription {
        self.local.subscribe()
    }
}

/// Forwards the channel's messages to local subscribers until aborted,
/// resubscribing (seed after seed) whenever the connection ends.
async fn listen(
    clients: Vec<redis::Client>,
    channel: String,
    sender: broadcast::Sender<Notice>,
    timeout: Duration,
) {
    for client in clients.iter().cycle() {
        let subscribed = tokio::time::timeout(timeout, subscribe(client, &channel))
            .await
            .unwrap_or_else(|_| {
                Err(redis::RedisError::from((
                    redis::ErrorKind::IoError,
                    "subscribing timed out",
                )))
            });
        match subscribed {
            Ok(mut pubsub) => {
                // Whatever was published before this subscription began is unknown.
                let _ = sender.send(Notice::Lost);
                let mut messages = pubsub.on_message();
                while let Some(message) = messages.next().await {
                    if let Ok(topic) = message.get_payload::<String>() {
                        let _ = sender.send(Notice::Changed(topic.into()));
                    }
                }
                tracing::warn!(
                    "invalidation subscription ended; caches are dropped and it resubscribes"
                );
                let _ = sender.send(Notice::Lost);
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot subscribe to invalidations; retrying");
            }
        }
        tokio::time::sleep(RESUBSCRIBE_EVERY).await;
    }
}

async fn subscribe(
    client: &redis::Client,
    channel: &str,
) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    Ok(pubsub)
}
