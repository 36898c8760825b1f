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

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::future::Cache;
use prometheus::{IntCounter, IntCounterVec};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use super::{ProductRepository, StoreError};
use crate::domain::facets::{FacetSet, Facets, RangeCount, ValueCount};
use crate::domain::file::FileId;
use crate::domain::hold::{HoldId, StockHold};
use crate::domain::ids::ProductId;
use crate::domain::listing::{fingerprint, Pagination};
use crate::domain::money::{Currency, Paise};
use crate::domain::product::{Category, Description, Product, ProductName, Sku, Tag};
use crate::domain::product_query::{ProductFilter, ProductPage, ProductQuery};
use crate::kv::broadcast::{Broadcast, Epoch, Notice};
use crate::kv::KeyValueStore;

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

    /// The current token at `key` ("0" before the first write).
    async fn token(&self, key: &str) -> Option<String> {
        match self.kv.get(key).await {
            Ok(v) => Some(v.map_or_else(|| "0".to_owned(), |b| String::from_utf8_lossy(&b).into())),
            Err(e) => {
                tracing::warn!(error = %e, "cache: key-value store unavailable, reading through");
                None
            }
        }
    }

    /// A read through both levels: L1 under `key`; on a miss (one load per key in
    /// this process) L2 under the token now at `token_key`, then `load`. Keys
    /// are only written out on a miss.
    async fn read<T, W, F>(
        &self,
        lookups: &Lookups,
        l1: &Cache<String, Arc<T>>,
        key: &str,
        token_key: impl FnOnce() -> String,
        l2_key: impl FnOnce(&str) -> String,
        load: impl FnOnce() -> F,
    ) -> Result<T, StoreError>
    where
        T: Clone + Send + Sync + 'static,
        W: Serialize + DeserializeOwned + From<T> + Into<Option<T>>,
        F: std::future::Future<Output = Result<T, StoreError>>,
    {
        if self.l1_on() {
            if let Some(hit) = l1.get(key).await {
                lookups.l1_hit.inc();
                return Ok((*hit).clone());
            }
        }
        let fill = async {
            let token = self.token(&token_key()).await;
            let l2_key = token.map(|t| l2_key(&t));
            self.load::<T, W>(lookups, l2_key, load())
                .await
                .map(Arc::new)
        };
        if !self.l1_on() {
            return fill.await.map(|v| (*v).clone());
        }
        let epoch = self.epoch.now();
        let value = l1.try_get_with(key.to_owned(), fill).await;
        if self.epoch.moved_since(epoch) {
            l1.invalidate(key).await;
        }
        value.map(|v| (*v).clone()).map_err(shared_error)
    }

    /// L2, then the database (one loader across replicas), for a value filed under
    /// `l2_key`. With no key (the store is down) it reads the database directly.
    async fn load<T, W>(
        &self,
        lookups: &Lookups,
        l2_key: Option<String>,
        load: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError>
    where
        W: Serialize + DeserializeOwned + From<T> + Into<Option<T>>,
        T: Clone,
    {
        let Some(key) = l2_key else {
            return load.await;
        };
        if let Some(hit) = self.read_l2::<T, W>(&key).await {
            lookups.l2_hit.inc();
            return Ok(hit);
        }
        let lock = format!("{key}:lock");
        let leader = self
            .kv
            .set_if_absent(&lock, b"1", LOCK_TTL)
            .await
            .unwrap_or(true);
        if !leader {
            for _ in 0..LOCK_POLLS {
                tokio::time::sleep(LOCK_WAIT).await;
                if let Some(hit) = self.read_l2::<T, W>(&key).await {
                    lookups.l2_hit.inc();
                    return Ok(hit);
                }
            }
        }
        lookups.miss.inc();
        let value = load.await;
        if let Ok(value) = &value {
            if let Ok(bytes) = serde_json::to_vec(&W::from(value.clone())) {
                let _ = self.kv.set(&key, &bytes, Some(self.settings.l2_ttl)).await;
            }
        }
        if leader {
            let _ = self.kv.delete(&lock).await;
        }
        value
    }

    async fn read_l2<T, W>(&self, key: &str) -> Option<T>
    where
        W: DeserializeOwned + Into<Option<T>>,
    {
        let bytes = self.kv.get(key).await.ok()??;
        serde_json::from_slice::<W>(&bytes).ok()?.into()
    }

    /// Files future reads of `id` and of every list under new tokens, and drops
    /// this process's L1 copies. Called after every successful write.
    async fn invalidate(&self, id: &ProductId) {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let replace = |key: String| {
            let token = token.as_bytes();
            async move {
                if let Err(e) = self.kv.set(&key, token, Some(TOKEN_TTL)).await {
                    // The write itself succeeded; other replicas may read the old
                    // value until its L2 TTL ends.
                    tracing::error!(error = %e, key, "cache: could not invalidate");
                }
            }
        };
        // Both tokens at once; the announcement only after them, or a replica
        // that hears it could refill from L2 under an old token.
        futures::join!(
            replace(format!("{PREFIX}:gen:{id}")),
            replace(format!("{PREFIX}:ns"))
        );
        self.epoch.advance();
        self.items.invalidate(id.as_str()).await;
        self.pages.invalidate_all();
        self.facets.invalidate_all();
        if let Err(e) = self.broadcast.publish(&format!("{TOPIC}{id}")).await {
            tracing::error!(error = %e, "cache: could not tell other replicas; their copies age out with the L1 TTL");
        }
    }

    /// Drops this process's L1 copies as other replicas' writes are announced,
    /// for as long as the cache exists.
    pub fn follow_invalidations(self: &Arc<Self>) {
        let mut notices = self.broadcast.subscribe();
        let cache = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(notice) = notices.next().await {
                let Some(cache) = cache.upgrade() else { return };
                if let Notice::Changed(topic) = &notice {
                    let Some(id) = topic.strip_prefix(TOPIC) else {
                        continue;
                    };
                    cache.epoch.advance();
                    cache.items.invalidate(id).await;
                } else {
                    cache.epoch.advance();
                    cache.items.invalidate_all();
                }
                cache.pages.invalidate_all();
                cache.facets.invalidate_all();
            }
        });
    }

    fn l1_on(&self) -> bool {
        !self.settings.l1_ttl.is_zero()
    }
}

/// A stable digest of a list query (filter, sort, page size and position).
fn list_digest(query: &ProductQuery) -> String {
    let position = match &query.pagination {
        Pagination::Page(n) => format!("page={n}"),
        Pagination::Cursor(None) => "first".to_owned(),
        Pagination::Cursor(Some(c)) => format!("after={:?}/{}", c.after_value, c.after_id),
    };
    fingerprint(&format!(
        "{}|{}|{}|{position}",
        query.filter.fingerprint(),
        query.sort.as_str(),
        query.limit
    ))
}

#[async_trait]
impl ProductRepository for CachedProducts {
    async fn insert(&self, product: &Product) -> Result<(), StoreError> {
        self.inner.insert(product).await?;
        self.invalidate(&product.id).await;
        Ok(())
    }

    async fn get(&self, id: &ProductId) -> Result<Option<Product>, StoreError> {
        self.read::<_, CachedItem, _>(
            &self.lookups.product,
            &self.items,
            id.as_str(),
            || format!("{PREFIX}:gen:{id}"),
            |t| format!("{PREFIX}:item:{id}:{t}"),
            || self.inner.get(id),
        )
        .await
    }

    async fn update(&self, product: &Product, expected_version: u64) -> Result<(), StoreError> {
        let result = self.inner.update(product, expected_version).await;
        // Also on a conflict: what the cache holds may be what lost the race.
        self.invalidate(&product.id).await;
        result
    }

    async fn delete(
        &self,
        id: &ProductId,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let result = self.inner.delete(id, expected_version).await;
        self.invalidate(id).await;
        result
    }

    async fn list(&self, query: &ProductQuery) -> Result<ProductPage, StoreError> {
        let digest = list_digest(query);
        self.read::<_, CachedPage, _>(
            &self.lookups.list,
            &self.pages,
            &digest,
            || format!("{PREFIX}:ns"),
            |t| format!("{PREFIX}:list:{t}:{digest}"),
            || self.inner.list(query),
        )
        .await
    }

    async fn facets(&self, filter: &ProductFilter, wanted: FacetSet) -> Result<Facets, StoreError> {
        let digest = fingerprint(&format!("{}|{}", filter.fingerprint(), wanted.as_param()));
        self.read::<_, CachedFacets, _>(
            &self.lookups.facets,
            &self.facets,
            &digest,
            || format!("{PREFIX}:ns"),
            |t| format!("{PREFIX}:facets:{t}:{digest}"),
            || self.inner.facets(filter, wanted),
        )
        .await
    }

    async fn reserve(
        &self,
        id: &ProductId,
        quantity: u32,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let result = self.inner.reserve(id, quantity, hold, now).await;
        if result.is_ok() {
            self.invalidate(id).await;
        }
        result
    }

    async fn release(
        &self,
        id: &ProductId,
        quantity: u32,
        now: DateTime<Utc>,
    ) -> Result<Product, StoreError> {
        let result = self.inner.release(id, quantity, now).await;
        if result.is_ok() {
            self.invalidate(id).await;
        }
        result
    }

    async fn drop_hold(&self, id: &ProductId, hold: &HoldId) -> Result<(), StoreError> {
        // The product as callers see it does not change: nothing to invalidate.
        self.inner.drop_hold(id, hold).await
    }

    async fn release_hold(
        &self,
        id: &ProductId,
        hold: &HoldId,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let released = self.inner.release_hold(id, hold, now).await;
        if matches!(released, Ok(true)) {
            self.invalidate(id).await;
        }
        released
    }

    async fn holds_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<StockHold>, StoreError> {
        self.inner.holds_before(cutoff, limit).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
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

// What L2 holds: plain serde mirrors of the domain values, read back as trusted
// (they were parsed on their way into the database).

#[derive(Serialize, Deserialize)]
struct CachedProduct {
    id: String,
    sku: String,
    name: String,
    description: Option<String>,
    price: i64,
    category: String,
    tags: Vec<String>,
    stock: Option<u32>,
    #[serde(default)]
    images: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
}

impl From<&Product> for CachedProduct {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.to_string(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_ref().map(|d| d.as_str().to_owned()),
            price: p.price.get(),
            category: p.category.as_str().to_owned(),
            tags: p.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            stock: p.stock,
            images: p.images.iter().map(|i| i.to_string()).collect(),
            created_at: p.created_at,
            updated_at: p.updated_at,
            version: p.version,
        }
    }
}

impl From<CachedProduct> for Product {
    fn from(c: CachedProduct) -> Self {
        Self {
            id: ProductId::trusted(c.id),
            sku: Sku::trusted(c.sku),
            name: ProductName::trusted(c.name),
            description: c.description.map(Description::trusted),
            price: Paise::trusted(c.price),
            currency: Currency::Inr,
            category: Category::trusted(c.category),
            tags: c.tags.into_iter().map(Tag::trusted).collect(),
            stock: c.stock,
            images: c.images.into_iter().map(FileId::trusted).collect(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

/// A product, or the knowledge that there is none.
#[derive(Serialize, Deserialize)]
struct CachedItem(Option<CachedProduct>);

impl From<Option<Product>> for CachedItem {
    fn from(p: Option<Product>) -> Self {
        Self(p.as_ref().map(Into::into))
    }
}

impl From<CachedItem> for Option<Option<Product>> {
    fn from(c: CachedItem) -> Self {
        Some(c.0.map(Into::into))
    }
}

#[derive(Serialize, Deserialize)]
struct CachedPage {
    items: Vec<CachedProduct>,
    has_next: bool,
    total: Option<u64>,
}

impl From<ProductPage> for CachedPage {
    fn from(p: ProductPage) -> Self {
        Self {
            items: p.items.iter().map(Into::into).collect(),
            has_next: p.has_next,
            total: p.total,
        }
    }
}

impl From<CachedPage> for Option<ProductPage> {
    fn from(c: CachedPage) -> Self {
        Some(ProductPage {
            items: c.items.into_iter().map(Into::into).collect(),
            has_next: c.has_next,
            total: c.total,
        })
    }
}

type Counts = Option<Vec<(String, u64)>>;

#[derive(Serialize, Deserialize)]
struct CachedFacets {
    category: Counts,
    tags: Counts,
    price_range: Option<Vec<(i64, Option<i64>, u64)>>,
}

impl From<Facets> for CachedFacets {
    fn from(f: Facets) -> Self {
        let counts = |v: Vec<ValueCount>| v.into_iter().map(|c| (c.value, c.count)).collect();
        Self {
            category: f.category.map(counts),
            tags: f.tags.map(counts),
            price_range: f.price_range.map(|r| {
                r.into_iter()
                    .map(|r| (r.from.get(), r.to.map(Paise::get), r.count))
                    .collect()
            }),
        }
    }
}

impl From<CachedFacets> for Option<Facets> {
    fn from(c: CachedFacets) -> Self {
        let counts = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(value, count)| ValueCount { value, count })
                .collect()
        };
        Some(Facets {
            category: c.category.map(counts),
            tags: c.tags.map(counts),
            price_range: c.price_range.map(|r| {
                r.into_iter()
                    .map(|(from, to, count)| RangeCount {
                        from: Paise::trusted(from),
                        to: to.map(Paise::trusted),
                        count,
                    })
                    .collect()
            }),
        })
    }
}
