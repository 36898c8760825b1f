//! Picks the storage and key-value implementations the settings ask for.

use std::sync::Arc;

use anyhow::Context as _;

use bazaar_adapters::s3::{S3Client, S3Settings};

use crate::breaker::Breakers;
use crate::config::Settings;
use crate::domain::time::SystemClock;
use crate::kv::broadcast::{LocalBroadcast, RedisBroadcast};
use crate::kv::memory::MemoryKv;
use crate::kv::redis::RedisKv;
use crate::providers::Guarded as GuardedProvider;
use crate::state::BackendNames;
use crate::state::Backends;
use crate::store::guarded::Guarded;
use crate::store::memory::{
    MemoryAddresses, MemoryAudit, MemoryCarts, MemoryCoupons, MemoryFiles, MemoryInvoices,
    MemoryOrders, MemoryOutbox, MemoryProducts, MemoryShippingZones, MemoryUsers,
    MemoryWebhookEvents,
};
use crate::store::mongo::{
    self, MongoAddresses, MongoAudit, MongoCarts, MongoCoupons, MongoFiles, MongoInvoices,
    MongoOrders, MongoOutbox, MongoProducts, MongoShippingZones, MongoUsers, MongoWebhookEvents,
};
use crate::store::{
    AddressRepository, AuditRepository, CartRepository, CouponRepository, FileRepository,
    InvoiceRepository, OrderRepository, OutboxRepository, ProductRepository,
    ShippingZoneRepository, UserRepository, WebhookEventRepository,
};

impl Backends {
    /// Everything in process: the embedded default.
    pub fn in_memory() -> Self {
        // One outbox, which the order store writes notices to under its own lock.
        let outbox = Arc::new(MemoryOutbox::new());
        Self {
            products: Arc::new(MemoryProducts::new()),
            users: Arc::new(MemoryUsers::new()),
            audit: Arc::new(MemoryAudit::new()),
            carts: Arc::new(MemoryCarts::new()),
            files: Arc::new(MemoryFiles::new()),
            addresses: Arc::new(MemoryAddresses::new()),
            orders: Arc::new(MemoryOrders::new(outbox.clone())),
            webhook_events: Arc::new(MemoryWebhookEvents::new()),
            outbox,
            shipping_zones: Arc::new(MemoryShippingZones::new()),
            coupons: Arc::new(MemoryCoupons::new()),
            invoices: Arc::new(MemoryInvoices::new()),
            kv: Arc::new(MemoryKv::new()),
            broadcast: Arc::new(LocalBroadcast::new()),
            objects: None,
            clock: SystemClock::shared(),
            names: BackendNames {
                storage: "memory",
                kv: "memory",
            },
            breakers: Arc::new(Breakers::new(Default::default(), SystemClock::shared())),
        }
    }

    /// MongoDB and Redis where the settings name them, in-memory otherwise.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut backends = Self::in_memory();
        let breakers = Arc::new(Breakers::new(settings.breaker, SystemClock::shared()));
        backends.breakers = breakers.clone();
        let timeout = settings.storage.backend_timeout;
        if let Some(url) = settings.storage.mongodb_url() {
            let db = mongo::connect(url, &settings.storage.mongodb_database, timeout)
                .await
                .map_err(|e| redact(e, url))?;
            mongo::require_transactions(&db, mongo::hosts_of(url))
                .await
                .map_err(|e| redact(e, url))?;
            let prepare = async {
                Ok::<_, crate::store::StoreError>((
                    MongoProducts::new(&db).await?,
                    MongoUsers::new(&db).await?,
                    MongoAudit::new(&db).await?,
                    MongoFiles::new(&db).await?,
                    MongoOutbox::new(&db).await?,
                    MongoOrders::new(&db)
                        .await?
                        .retrying_transactions_for(timeout),
                    MongoWebhookEvents::new(&db).await?,
                    MongoCarts::new(&db).await?,
                ))
            };
            let (products, users, audit, files, outbox, orders, webhook_events, carts) = prepare
                .await
                .map_err(|e| redact(e.into(), url))
                .context("preparing the MongoDB collections (is MongoDB reachable?)")?;
            // Every repository behind the one MongoDB breaker.
            let breaker = breakers.breaker("mongodb");
            let products: Arc<dyn ProductRepository> = Arc::new(products);
            let probed = products.clone();
            breaker.probe_with(Box::new(move || {
                let products = probed.clone();
                Box::pin(async move {
                    matches!(
                        tokio::time::timeout(timeout, products.ping()).await,
                        Ok(Ok(()))
                    )
                })
            }));
            let users: Arc<dyn UserRepository> = Arc::new(users);
            let audit: Arc<dyn AuditRepository> = Arc::new(audit);
            let files: Arc<dyn FileRepository> = Arc::new(files);
            let addresses: Arc<dyn AddressRepository> = Arc::new(MongoAddresses::new(&db));
            let outbox: Arc<dyn OutboxRepository> = Arc::new(outbox);
            let orders: Arc<dyn OrderRepository> = Arc::new(orders);
            let webhook_events: Arc<dyn WebhookEventRepository> = Arc::new(webhook_events);
            let carts: Arc<dyn CartRepository> = Arc::new(carts);
            backends.carts = Arc::new(Guarded::new(carts, breaker.clone()));
            backends.products = Arc::new(Guarded::new(products, breaker.clone()));
            backends.users = Arc::new(Guarded::new(users, breaker.clone()));
            backends.audit = Arc::new(Guarded::new(audit, breaker.clone()));
            backends.files = Arc::new(Guarded::new(files, breaker.clone()));
            backends.addresses = Arc::new(Guarded::new(addresses, breaker.clone()));
            backends.outbox = Arc::new(Guarded::new(outbox, breaker.clone()));
            backends.orders = Arc::new(Guarded::new(orders, breaker.clone()));
            // The storefront's rules: shipping zones and coupons.
            let shipping_zones: Arc<dyn ShippingZoneRepository> = Arc::new(
                MongoShippingZones::new(&db)
                    .await
                    .map_err(|e| redact(e.into(), url))?,
            );
            let coupons: Arc<dyn CouponRepository> = Arc::new(
                MongoCoupons::new(&db)
                    .await
                    .map_err(|e| redact(e.into(), url))?,
            );
            backends.shipping_zones = Arc::new(Guarded::new(shipping_zones, breaker.clone()));
            backends.coupons = Arc::new(Guarded::new(coupons, breaker.clone()));
            let invoices: Arc<dyn InvoiceRepository> = Arc::new(
                MongoInvoices::new(&db)
                    .await
                    .map_err(|e| redact(e.into(), url))?,
            );
            backends.invoices = Arc::new(Guarded::new(invoices, breaker.clone()));
            backends.webhook_events = Arc::new(Guarded::new(webhook_events, breaker));
            backends.names.storage = "mongodb";
        }
        if let Some(s3) = &settings.providers.s3 {
            let client = S3Client::new(S3Settings {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                bucket: s3.bucket.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                path_style: s3.path_style,
                timeout: settings.providers.timeout,
                retry: bazaar_adapters::retry::RetryPolicy::default(),
            })
            .context("configuring the S3 client (BAZAAR_S3_*)")?;
            backends.objects = Some(Arc::new(GuardedProvider::new(
                Arc::new(client),
                breakers.breaker("s3"),
            )));
        }
        if backends.objects.is_none() {
            tracing::warn!(
                dir = %settings.files.dir.display(),
                "no BAZAAR_S3_ENDPOINT: uploads are stored in a local directory and served by \
                 this server under /dev/uploads (development only)"
            );
        }
        if let Some(url) = settings.redis.url() {
            let kv = RedisKv::connect(url, &settings.redis.key_prefix, timeout)
                .await
                .map_err(|e| redact(e, url))?
                .with_replica_acks(
                    settings.redis.replica_acks,
                    settings.redis.replica_ack_timeout,
                )
                .with_breaker(breakers.breaker("redis"));
            tracing::info!("redis: {}", kv.mode());
            if settings.redis.replica_acks > 0 {
                tracing::info!(
                    replicas = settings.redis.replica_acks,
                    timeout_ms = settings.redis.replica_ack_timeout.as_millis() as u64,
                    "redis: session and idempotency writes wait for replicas"
                );
            }
            backends.kv = Arc::new(kv);
            let broadcast = RedisBroadcast::connect(url, &settings.redis.key_prefix, timeout)
                .await
                .map_err(|e| redact(e, url))?;
            backends.broadcast = Arc::new(broadcast);
            backends.names.kv = "redis";
        }
        if backends.names.storage == "memory" || backends.names.kv == "memory" {
            tracing::warn!(
                storage = backends.names.storage,
                key_value = backends.names.kv,
                "running on in-memory backends: data is lost on restart and cannot be shared \
                 with other replicas (set BAZAAR_MONGODB_URL and BAZAAR_REDIS_URL for production)"
            );
        }
        Ok(backends)
    }
}

/// Driver errors may quote the connection string; the message that reaches a
/// log must not contain it or the password inside it. A Redis URL may be a
/// comma-separated list of cluster seeds, and an error may quote any one of
/// them, so each is removed too. (The parts of a MongoDB host list after the
/// first are bare hosts, not URLs, and are left alone.)
fn redact(error: anyhow::Error, url: &str) -> anyhow::Error {
    let mut text = format!("{error:#}").replace(url, "<url>");
    let seeds = crate::kv::redis_connection::seed_urls(url);
    for seed in seeds.iter().filter(|s| s.contains("://")) {
        let password = url::Url::parse(seed)
            .ok()
            .and_then(|u| u.password().map(str::to_owned));
        text = text.replace(seed.as_str(), "<url>");
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            text = text.replace(&p, "<password>");
        }
    }
    anyhow::anyhow!(text)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redaction_removes_the_url_and_its_password() {
        let url = "mongodb://admin:hunter2@db:27017";
        let error = anyhow::anyhow!("cannot parse {url}").context("connecting with hunter2");
        let text = format!("{:#}", redact(error, url));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.contains("<url>") && text.contains("<password>"),
            "{text}"
        );
    }

    #[test]
    fn redaction_of_a_mongodb_host_list_hides_the_password_and_keeps_the_message() {
        let url = "mongodb://admin:hunter2@db-a,db-b/?replicaSet=rs0";
        let error = anyhow::anyhow!("no primary among db-a, db-b").context("auth with hunter2");
        let text = format!("{:#}", redact(error, url));
        assert_eq!(text, "auth with <password>: no primary among db-a, db-b");
    }

    #[test]
    fn redaction_covers_every_seed_of_a_cluster_url() {
        let url = "redis://:first-secret@a:7000, redis://:second-secret@b:7001";
        let error = anyhow::anyhow!("cannot reach redis://:second-secret@b:7001")
            .context("AUTH failed with first-secret");
        let text = format!("{:#}", redact(error, url));
        assert!(
            !text.contains("first-secret") && !text.contains("second-secret"),
            "{text}"
        );
        assert!(text.contains("<url>"), "{text}");
    }
}
