//! Cache-aside for product reads, in front of any [`ProductRepository`]: a small
//! in-process L1 with a short TTL, over an L2 in the key-value port (Redis in
//! production) shared by every replica.
//!
//! **Invalidation by generation.** Each product has a generation token in the
//! key-value store, and so does the list namespace (every list and facet query);
//! L2 keys include the token. A write replaces the product's token and the list
//! token *after* the database write, so any value a reader loaded before the
//! write was filed under the old token and is never read again — no
//! delete-then-refill race. L1 entries of this process are dropped at once on a
//! write, and every other replica's through the invalidation broadcast
//! (`kv::broadcast`, Redis pub/sub) a moment later. A replica that missed
//! notices forgets its whole L1; a read racing a write can still keep an old
//! value until the L1 TTL ends (the documented bound, `BAZAAR_CACHE_L1_TTL_MS`).
//!
//! **One load per key.** Concurrent misses in one process share one load (the L1's
//! `try_get_with`); across replicas a short lock in the key-value store lets one
//! replica load while the others wait briefly for its result.
//!
//! If the key-value store fails, reads fall through to the database: a cache
//! outage costs speed, never answers.
//!
//! Here: the cache and its settings. The read through both levels is in `read`, writes'
//! invalidation in `invalidation`, the repository port in `repository`, and what L2
//! holds in `l2_entries`.

use std::sync::Arc;
use std::time::Duration;

use moka::future::Cache;
use prometheus::{IntCounter, IntCounterVec};

use super::{ProductRepository, StoreError};
use crate::domain::facets::Facets;
use crate::domain::product::Product;
use crate::domain::product_query::ProductPage;
use crate::kv::broadcast::{Broadcast, Epoch};
use crate::kv::KeyValueStore;

mod invalidation;
mod l2_entries;
mod read;
mod repository;

const PREFIX: &str = "cache:products";
/// Topics of the invalidation broadcast are `product:<id>`.
const TOPIC: &str = "product:";
/// Generation tokens outlive every value filed under them.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);
/// How long a replica may hold the load lock of one key.
const LOCK_TTL: Duration = Duration::from_secs(2);
/// How long the others wait for its result before loading themselves.
const LOCK_WAIT: Duration = Duration::from_millis(25);
const LOCK_POLLS: u32 = 8;

#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    /// 0 turns the in-process level off.
    pub l1_ttl: Duration,
    pub l1_capacity: u64,
    pub l2_ttl: Duration,
}

pub struct CachedProducts {
    inner: Arc<dyn ProductRepository>,
    kv: Arc<dyn KeyValueStore>,
    broadcast: Arc<dyn Broadcast>,
    items: Cache<String, Arc<Option<Product>>>,
    pages: Cache<String, Arc<ProductPage>>,
    facets: Cache<String, Arc<Facets>>,
    settings: CacheSettings,
    lookups: CacheCounters,
    epoch: Epoch,
}

/// `cache_lookups_total{cache, result}` for each cache, labelled once: resolving
/// a labelled counter hashes its labels, on every lookup of the hottest read.
struct CacheCounters {
    product: Lookups,
    list: Lookups,
    facets: Lookups,
}

struct Lookups {
    l1_hit: IntCounter,
    l2_hit: IntCounter,
    miss: IntCounter,
}

impl Lookups {
    fn new(counters: &IntCounterVec, cache: &str) -> Self {
        let counter = |result: &str| counters.with_label_values(&[cache, result]);
        Self {
            l1_hit: counter("l1_hit"),
            l2_hit: counter("l2_hit"),
            miss: counter("miss"),
        }
    }
}

impl CachedProducts {
    pub fn new(
        inner: Arc<dyn ProductRepository>,
        kv: Arc<dyn KeyValueStore>,
        broadcast: Arc<dyn Broadcast>,
        settings: CacheSettings,
        lookups: IntCounterVec,
    ) -> Self {
        fn l1<V: Clone + Send + Sync + 'static>(s: &CacheSettings) -> Cache<String, V> {
            Cache::builder()
                .max_capacity(s.l1_capacity)
                .time_to_live(s.l1_ttl.max(Duration::from_millis(1)))
                .build()
        }
        Self {
            items: l1(&settings),
            pages: l1(&settings),
            facets: l1(&settings),
            inner,
            kv,
            broadcast,
            settings,
            epoch: Epoch::default(),
            lookups: CacheCounters {
                product: Lookups::new(&lookups, "product"),
                list: Lookups::new(&lookups, "list"),
                facets: Lookups::new(&lookups, "facets"),
            },
        }
    }

    fn l1_on(&self) -> bool {
        !self.settings.l1_ttl.is_zero()
    }
}

/// A load shared by several callers failed; each gets the same kind of error.
pub(crate) fn shared_error(e: Arc<StoreError>) -> StoreError {
    match &*e {
        StoreError::Unavailable(_) => StoreError::Unavailable(anyhow::anyhow!("{e}")),
        StoreError::NotFound => StoreError::NotFound,
        _ => StoreError::Other(anyhow::anyhow!("{e}")),
    }
}
