//! Fixed-window rate limits, counted in the key-value store so every replica
//! enforces one shared budget per client.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kv::{KeyValueStore, KvError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the window resets in this many seconds.
    Limited {
        retry_after: u64,
    },
}

pub struct RateLimiter {
    kv: Arc<dyn KeyValueStore>,
    scope: &'static str,
    limit: u32,
    window: Duration,
}

impl RateLimiter {
    pub fn new(
        kv: Arc<dyn KeyValueStore>,
        scope: &'static str,
        limit: u32,
        window: Duration,
    ) -> Self {
        Self {
            kv,
            scope,
            limit,
            window,
        }
    }

    /// Counts one request by `client` and says whether it may proceed.
    pub async fn check(&self, client: &str) -> Result<Decision, KvError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let window = self.window.as_secs().max(1);
        let key = format!("rl:{}:{}:{}", self.scope, client, now / window);
        let counter = self.kv.increment(&key, 1, self.window).await?;
        if counter.value > i64::from(self.limit) {
            Ok(Decision::Limited {
                retry_after: counter.expires_in.as_secs_f64().ceil().max(1.0) as u64,
            })
        } else {
            Ok(Decision::Allowed)
        }
    }
}
