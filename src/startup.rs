//! Wiring: picks the backends the settings ask for, builds the application, binds
//! the listener and runs the server until a shutdown signal.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use bazaar_adapters::razorpay::{FakeRazorpay, PaymentGateway, RazorpayClient, RazorpaySettings};
use bazaar_adapters::s3::{ObjectStore, S3Client, S3Settings};
use secrecy::SecretString;

use crate::breaker::Breakers;
use crate::catalog::Catalog;
use crate::config::Settings;
use crate::domain::file::FilePolicy;
use crate::domain::product::Categories;
use crate::domain::time::{SharedClock, SystemClock};
use crate::files::local::LocalObjectStore;
use crate::files::Files;
use crate::http::metrics::Metrics;
use crate::http::ops::BackendNames;
use crate::idempotency::{IdempotencySettings, IdempotencyStore};
use crate::identity::Identity;
use crate::kv::broadcast::{Broadcast, LocalBroadcast, RedisBroadcast};
use crate::kv::memory::MemoryKv;
use crate::kv::redis::RedisKv;
use crate::kv::KeyValueStore;
use crate::notify::Notifier;
use crate::orders::{OrderSettings, Orders};
use crate::outbox::{Outbox, OutboxWorker};
use crate::providers::Guarded as GuardedProvider;
use crate::ratelimit::RateLimits;
use crate::store::cache::{CacheSettings, CachedProducts};
use crate::store::guarded::Guarded;
use crate::store::memory::{
    MemoryAudit, MemoryFiles, MemoryOrders, MemoryOutbox, MemoryProducts, MemoryUsers,
    MemoryWebhookEvents,
};
use crate::store::mongo::{
    self, MongoAudit, MongoFiles, MongoOrders, MongoOutbox, MongoProducts, MongoUsers,
    MongoWebhookEvents,
};
use crate::store::user_cache::CachedUsers;
use crate::store::{
    AuditRepository, FileRepository, OrderRepository, OutboxRepository, ProductRepository,
    UserRepository, WebhookEventRepository,
};

/// The storage and key-value implementations the application runs on.
pub struct Backends {
    pub products: Arc<dyn ProductRepository>,
    pub users: Arc<dyn UserRepository>,
    pub audit: Arc<dyn AuditRepository>,
    pub files: Arc<dyn FileRepository>,
    pub orders: Arc<dyn OrderRepository>,
    pub webhook_events: Arc<dyn WebhookEventRepository>,
    /// Notices waiting for delivery; stores that cause notices write to it in their own writes.
    pub outbox: Arc<dyn OutboxRepository>,
    pub kv: Arc<dyn KeyValueStore>,
    /// Tells every replica's in-process caches what changed.
    pub broadcast: Arc<dyn Broadcast>,
    /// Where uploaded bytes go. `None` means the development store in `BAZAAR_FILES_DIR`,
    /// served by this server under `/dev/uploads` (see `files::local`).
    pub objects: Option<Arc<dyn ObjectStore>>,
    /// Where every use case reads the time: the system clock, or a test's
    /// `ManualClock` (see `domain::time`).
    pub clock: SharedClock,
    pub names: BackendNames,
    /// The circuit breakers of the backends above and of the providers
    /// (named `mongodb`, `redis`, `s3`, `razorpay`, `msg91`, `sendgrid`).
    pub breakers: Arc<Breakers>,
}

impl Backends {
    /// Everything in process: the embedded default.
    pub fn in_memory() -> Self {
        // One outbox, which the order store writes notices to under its own lock.
        let outbox = Arc::new(MemoryOutbox::new());
        Self {
            products: Arc::new(MemoryProducts::new()),
            users: Arc::new(MemoryUsers::new()),
            audit: Arc::new(MemoryAudit::new()),
            files: Arc::new(MemoryFiles::new()),
            orders: Arc::new(MemoryOrders::new(outbox.clone())),
            webhook_events: Arc::new(MemoryWebhookEvents::new()),
            outbox,
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
        let timeout = settings.backend_timeout;
        if let Some(url) = settings.mongodb_url() {
            let db = mongo::connect(url, &settings.mongodb_database, timeout)
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
                ))
            };
            let (products, users, audit, files, outbox, orders, webhook_events) = prepare
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
            let outbox: Arc<dyn OutboxRepository> = Arc::new(outbox);
            let orders: Arc<dyn OrderRepository> = Arc::new(orders);
            let webhook_events: Arc<dyn WebhookEventRepository> = Arc::new(webhook_events);
            backends.products = Arc::new(Guarded::new(products, breaker.clone()));
            backends.users = Arc::new(Guarded::new(users, breaker.clone()));
            backends.audit = Arc::new(Guarded::new(audit, breaker.clone()));
            backends.files = Arc::new(Guarded::new(files, breaker.clone()));
            backends.outbox = Arc::new(Guarded::new(outbox, breaker.clone()));
            backends.orders = Arc::new(Guarded::new(orders, breaker.clone()));
            backends.webhook_events = Arc::new(Guarded::new(webhook_events, breaker));
            backends.names.storage = "mongodb";
        }
        if let Some(s3) = &settings.s3 {
            let client = S3Client::new(S3Settings {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                bucket: s3.bucket.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                path_style: s3.path_style,
                timeout: settings.provider_timeout,
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
                dir = %settings.files_dir.display(),
                "no BAZAAR_S3_ENDPOINT: uploads are stored in a local directory and served by \
                 this server under /dev/uploads (development only)"
            );
        }
        if let Some(url) = settings.redis_url() {
            let kv = RedisKv::connect(url, &settings.redis_key_prefix, timeout)
                .await
                .map_err(|e| redact(e, url))?
                .with_replica_acks(
                    settings.redis_replica_acks,
                    settings.redis_replica_ack_timeout,
                )
                .with_breaker(breakers.breaker("redis"));
            tracing::info!("redis: {}", kv.mode());
            if settings.redis_replica_acks > 0 {
                tracing::info!(
                    replicas = settings.redis_replica_acks,
                    timeout_ms = settings.redis_replica_ack_timeout.as_millis() as u64,
                    "redis: session and idempotency writes wait for replicas"
                );
            }
            backends.kv = Arc::new(kv);
            let broadcast = RedisBroadcast::connect(url, &settings.redis_key_prefix, timeout)
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

/// What the HTTP layer is built from.
pub struct AppState {
    pub settings: Settings,
    pub catalog: Arc<Catalog>,
    pub identity: Arc<Identity>,
    pub files: Arc<Files>,
    /// The admin's view of the outbox.
    pub outbox: Arc<Outbox>,
    /// Delivers the outbox; [`Application::run_until`] runs it beside the server.
    pub outbox_worker: Arc<OutboxWorker>,
    /// The development object store, when no S3 is configured: its routes are mounted.
    pub local_files: Option<Arc<LocalObjectStore>>,
    pub kv: Arc<dyn KeyValueStore>,
    /// What the use cases and the sweeps read the time from.
    pub clock: SharedClock,
    pub backends: BackendNames,
    /// The circuit breakers, for readiness.
    pub breakers: Arc<Breakers>,
    pub metrics: Arc<Metrics>,
    pub rate_limits: Arc<RateLimits>,
    pub orders: Arc<Orders>,
    /// The fake Razorpay when no keys are configured, for the development routes.
    pub razorpay_fake: Option<Arc<FakeRazorpay>>,
    pub idempotency: Arc<IdempotencyStore>,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub draining: Arc<AtomicBool>,
    /// The in-process caches, which [`AppState::follow_invalidations`] keeps in step
    /// with writes made by other replicas.
    caches: (Arc<CachedUsers>, Arc<CachedProducts>),
}

impl AppState {
    pub fn new(settings: Settings, backends: Backends) -> anyhow::Result<Self> {
        let clock = backends.clock;
        let categories = Categories::new(settings.product_categories.clone());
        let notifier = Arc::new(Notifier::from_settings(&settings, &backends.breakers)?);
        let cached_users = Arc::new(CachedUsers::new(
            backends.users,
            backends.broadcast.clone(),
            Duration::from_millis(settings.cache_l1_ttl_ms),
            settings.cache_l1_capacity,
        ));
        let users: Arc<dyn UserRepository> = cached_users.clone();
        let outbox_worker = Arc::new(
            OutboxWorker::new(
                backends.outbox.clone(),
                notifier.clone(),
                settings.outbox.clone(),
            )
            .counting_on(backends.kv.clone())
            .with_clock(clock.clone()),
        );
        let identity = Identity::new(
            &settings,
            users.clone(),
            backends.audit.clone(),
            backends.kv.clone(),
            notifier,
            clock.clone(),
        )?;
        let rate_limits = RateLimits::new(
            backends.kv.clone(),
            settings.rate_limit_otp_per_hour,
            settings.rate_limit_auth_per_minute,
            settings.rate_limit_default_per_minute,
        );
        let idempotency = Arc::new(IdempotencyStore::new(
            backends.kv.clone(),
            IdempotencySettings {
                ttl: settings.idempotency_ttl,
                // Longer than `Guard` lets a request run, so that a duplicate
                // never starts while the first may still be working.
                in_flight_ttl: settings.request_timeout + Duration::from_secs(1),
            },
        ));
        let metrics = Arc::new(Metrics::new());
        metrics.watch_breakers(&backends.breakers);
        let products = Arc::new(CachedProducts::new(
            backends.products,
            backends.kv.clone(),
            backends.broadcast.clone(),
            CacheSettings {
                l1_ttl: Duration::from_millis(settings.cache_l1_ttl_ms),
                l1_capacity: settings.cache_l1_capacity,
                l2_ttl: Duration::from_secs(settings.cache_l2_ttl_secs),
            },
            metrics.cache_lookups.clone(),
        ));
        let (objects, local_files) = match backends.objects {
            Some(objects) => (objects, None),
            None => {
                let local = Arc::new(
                    LocalObjectStore::new(
                        &settings.files_dir,
                        &own_origin(settings.addr),
                        settings.files_max_bytes,
                    )
                    .with_clock(clock.clone()),
                );
                (local.clone() as Arc<dyn ObjectStore>, Some(local))
            }
        };
        let policy = FilePolicy::new(
            settings.files_allowed_types.clone(),
            settings.files_max_bytes,
        );
        let files = Arc::new(
            Files::new(backends.files, objects, policy)
                .with_quota(settings.files_quota)
                .with_upload_url_validity(settings.files_upload_url_ttl)
                .with_clock(clock.clone()),
        );
        let catalog = Arc::new(
            Catalog::new(products.clone(), categories, files.clone()).with_clock(clock.clone()),
        );
        let (gateway, razorpay_fake, order_settings) = payments(&settings, &backends.breakers)?;
        let orders = Arc::new(
            Orders::new(
                backends.orders,
                backends.webhook_events,
                users,
                backends.audit,
                catalog.clone(),
                gateway,
                order_settings,
            )
            .with_clock(clock.clone()),
        );
        Ok(Self {
            catalog,
            orders,
            razorpay_fake,
            identity: Arc::new(identity),
            files,
            outbox: Arc::new(Outbox::new(backends.outbox).with_clock(clock.clone())),
            outbox_worker,
            local_files,
            kv: backends.kv,
            clock,
            backends: backends.names,
            breakers: backends.breakers,
            metrics,
            rate_limits: Arc::new(rate_limits),
            idempotency,
            draining: Arc::new(AtomicBool::new(false)),
            caches: (cached_users, products),
            settings,
        })
    }

    /// Drops cached entries as any replica announces a write, for as long as the
    /// caches live. Needs a Tokio runtime, which building the contract does not have.
    pub fn follow_invalidations(&self) {
        self.caches.0.follow_invalidations();
        self.caches.1.follow_invalidations();
    }
}

/// The payment gateway, the fake behind it if it is one, and the order settings.
type Payments = (
    Arc<dyn PaymentGateway>,
    Option<Arc<FakeRazorpay>>,
    OrderSettings,
);

/// Real Razorpay when keys are configured, the fake otherwise (configuration
/// refuses that in production).
fn payments(settings: &Settings, breakers: &Breakers) -> anyhow::Result<Payments> {
    let common = |key_id: String, key_secret: SecretString, webhook_secrets| OrderSettings {
        tax_rate_bp: settings.gst_rate_bp,
        pay_within: settings.order_pay_within,
        key_id,
        key_secret,
        webhook_secrets,
        reconcile_after: settings.order_reconcile_after,
        settle_holds_after: settings.request_timeout * 2,
        unpaid_max: settings.order_unpaid_max,
        product_units_max: settings.order_product_units_max,
    };
    Ok(match &settings.razorpay {
        Some(config) => {
            let client = RazorpayClient::new(RazorpaySettings {
                base_url: settings.razorpay_base_url.clone(),
                key_id: config.key_id.clone(),
                key_secret: config.key_secret.clone(),
                timeout: settings.provider_timeout,
                retry: bazaar_adapters::retry::RetryPolicy::default(),
            })
            .context("configuring the Razorpay client (BAZAAR_RAZORPAY_*)")?;
            let order_settings = common(
                config.key_id.clone(),
                config.key_secret.clone(),
                config.webhook_secrets.clone(),
            );
            let guarded = GuardedProvider::new(Arc::new(client), breakers.breaker("razorpay"));
            (Arc::new(guarded), None, order_settings)
        }
        None => {
            let key_secret = SecretString::from(FAKE_RAZORPAY_KEY_SECRET.to_owned());
            let webhook_secret = SecretString::from(FAKE_RAZORPAY_WEBHOOK_SECRET.to_owned());
            let fake = Arc::new(FakeRazorpay::new(
                FAKE_RAZORPAY_KEY_ID,
                key_secret.clone(),
                webhook_secret.clone(),
            ));
            let order_settings = common(
                FAKE_RAZORPAY_KEY_ID.to_owned(),
                key_secret,
                vec![webhook_secret],
            );
            (fake.clone(), Some(fake), order_settings)
        }
    })
}

/// The fake Razorpay's credentials: public by design, useless anywhere else.
pub const FAKE_RAZORPAY_KEY_ID: &str = "rzp_test_bazaar_fake";
pub const FAKE_RAZORPAY_KEY_SECRET: &str = "bazaar-fake-razorpay-key-secret";
pub const FAKE_RAZORPAY_WEBHOOK_SECRET: &str = "bazaar-fake-razorpay-webhook-secret";

/// The server's own origin, for URLs of the development object store. An unspecified
/// address (`0.0.0.0`) is reached as loopback from the same machine.
fn own_origin(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        std::net::IpAddr::from([127, 0, 0, 1])
    } else {
        addr.ip()
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// Building the application (the contract above all: YAML and JSON trees of the
/// whole API) allocates megabytes and frees them; malloc keeps freed pages for
/// reuse, which would count against every replica's memory for its whole life.
/// Hand them back to the OS once, before serving.
fn release_startup_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory to the OS; it may run at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The contract as the code defines it, in YAML or JSON. Builds the API on
/// in-memory backends, which touches nothing outside the process.
pub fn contract(yaml: bool) -> String {
    let settings = Settings::from_sources(None, std::iter::empty())
        .unwrap_or_else(|e| panic!("built-in defaults must be valid: {e}"));
    let state = AppState::new(settings, Backends::in_memory())
        .unwrap_or_else(|e| panic!("the embedded default must build: {e}"));
    let api = crate::http::api_service(&state);
    if yaml {
        crate::http::contract_yaml(&api)
    } else {
        crate::http::contract_json(&api)
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    addr: SocketAddr,
    /// The metrics listener (`BAZAAR_METRICS_ADDR`), if it has one.
    metrics: Option<(poem::listener::TcpAcceptor, SocketAddr)>,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let backends = Backends::from_settings(&settings).await?;
        Self::build_with(settings, backends).await
    }

    /// Builds on given backends; binds the listener (port 0 picks a free port).
    pub async fn build_with(mut settings: Settings, backends: Backends) -> anyhow::Result<Self> {
        let acceptor = TcpListener::bind(settings.addr)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.addr))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        // Port 0 became a real port: URLs this server hands out must name it.
        settings.addr = addr;
        let metrics = match settings.metrics_addr {
            Some(metrics_addr) => {
                let acceptor = TcpListener::bind(metrics_addr)
                    .into_acceptor()
                    .await
                    .with_context(|| format!("binding the metrics listener {metrics_addr}"))?;
                let bound = acceptor
                    .local_addr()
                    .first()
                    .and_then(|a| a.as_socket_addr().copied())
                    .context("the metrics listener has no socket address")?;
                settings.metrics_addr = Some(bound);
                Some((acceptor, bound))
            }
            None => None,
        };
        let state = AppState::new(settings, backends)?;
        state.follow_invalidations();
        state
            .identity
            .bootstrap_admin(&state.settings)
            .await
            .context("creating the admin user")?;
        Ok(Self {
            acceptor,
            addr,
            metrics,
            state,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Where `/metrics` is served: the metrics listener's address, or `None`
    /// for the API listener (where it may be closed; see `http::metrics`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(_, addr)| *addr)
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully (see
    /// [`run_until`](Self::run_until)). Ctrl-C (SIGINT) skips the readiness delay:
    /// at a terminal nobody routes traffic by readiness.
    /// The signal handlers are installed when this is called, not when the future
    /// first runs: a SIGTERM sent as soon as the caller says it listens is graceful.
    pub fn run_until_stopped(self) -> impl std::future::Future<Output = std::io::Result<()>> {
        let delay = self.state.settings.shutdown_delay;
        let signal = shutdown_signal();
        self.serve(async move {
            match signal.await {
                Signal::Terminate => delay,
                Signal::Interrupt => Duration::ZERO,
            }
        })
    }

    /// Serves, and delivers the outbox, until `stop` completes; then shuts down:
    ///
    /// 1. readiness answers 503 `shutting_down` at once, while requests are still
    ///    served for `shutdown_delay`, so load balancers take this replica out
    ///    before it stops accepting;
    /// 2. the outbox worker claims nothing more and finishes the delivery in hand;
    /// 3. the listener closes and in-flight requests finish.
    ///
    /// Whatever has not finished `shutdown_timeout` after the listener closed is
    /// abandoned (a claimed outbox message is retried when its lease runs out), so
    /// the process exits within `shutdown_delay + shutdown_timeout`.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let delay = self.state.settings.shutdown_delay;
        self.serve(async move {
            stop.await;
            delay
        })
        .await
    }

    /// `stop` answers how long to keep serving with readiness down.
    async fn serve(
        self,
        stop: impl std::future::Future<Output = Duration> + Send,
    ) -> std::io::Result<()> {
        let grace = self.state.settings.shutdown_timeout;
        let app = crate::http::app(&self.state);
        // Metrics are served until the API listener has closed and drained, so
        // the shutdown itself can be watched; then their listener closes too.
        let (close_metrics, metrics_closing) = tokio::sync::oneshot::channel::<()>();
        let metrics_server = self.metrics.map(|(acceptor, _)| {
            let app = crate::http::metrics_app(&self.state);
            tokio::spawn(
                Server::new_with_acceptor(acceptor)
                    .name("metrics")
                    .run_with_graceful_shutdown(
                        app,
                        async move {
                            let _ = metrics_closing.await;
                        },
                        Some(Duration::from_secs(1)),
                    ),
            )
        });
        if self.state.settings.metrics_addr.is_none()
            && !crate::http::metrics::MetricsAccess::api_listener(&self.state.settings).serves()
        {
            tracing::warn!(
                "no metrics are served: production needs BAZAAR_METRICS_ADDR (a listener of \
                 their own) or BAZAAR_METRICS_TOKEN (a bearer token) to serve /metrics"
            );
        }
        release_startup_memory();
        // Dropped when shutdown begins, or when the server returns for whatever
        // reason, which stops the sweeps and the worker too.
        let (stopping, mut stopped) = tokio::sync::watch::channel(());
        let sweeps = spawn_sweeps(
            self.state.orders.clone(),
            self.state.files.clone(),
            self.state.settings.order_sweep_interval,
            stopped.clone(),
        );
        let worker = self.state.outbox_worker.clone();
        let delivering = tokio::spawn(async move {
            worker
                .run(async move { while stopped.changed().await.is_ok() {} })
                .await;
        });
        let draining = self.state.draining.clone();
        let closed = Arc::new(std::sync::OnceLock::new());
        let closing = closed.clone();
        let stop = async move {
            let delay = stop.await;
            draining.store(true, Ordering::Relaxed);
            drop(stopping);
            tracing::info!(
                delay_ms = delay.as_millis() as u64,
                "shutting down: readiness answers 503; the listener closes after the delay"
            );
            tokio::time::sleep(delay).await;
            let _ = closing.set(tokio::time::Instant::now());
            tracing::info!("listener closed; finishing in-flight requests");
        };
        let served = Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, stop, Some(grace))
            .await;
        // The worker and a sweep in progress share the requests' drain time.
        let closed_at = closed.get().copied();
        let deadline = closed_at.unwrap_or_else(tokio::time::Instant::now) + grace;
        let _ = close_metrics.send(());
        if let Some(metrics_server) = metrics_server {
            let _ = tokio::time::timeout_at(deadline, metrics_server).await;
        }
        if tokio::time::timeout_at(deadline, delivering).await.is_err() {
            tracing::warn!("the outbox worker did not finish its delivery within the shutdown timeout; its messages are retried when their leases run out");
        }
        // A sweep in progress finishes its order (a write and its stock release
        // belong together); the loop then ends.
        if let Some(sweeps) = sweeps {
            if tokio::time::timeout_at(deadline, sweeps).await.is_err() {
                tracing::warn!("an order sweep did not finish within the shutdown timeout");
            }
        }
        served
    }
}

/// Every replica expires unpaid orders, reconciles stuck payments, settles
/// old stock holds and deletes abandoned uploads on a timer; conditional writes
/// make running them on many replicas at once safe.
fn spawn_sweeps(
    orders: Arc<Orders>,
    files: Arc<Files>,
    every: Duration,
    mut stopped: tokio::sync::watch::Receiver<()>,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Only waiting is interrupted by the stop; a sweep runs to its end.
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopped.changed() => return,
            }
            let now = orders.now();
            if let Err(e) = orders.expire_due(now).await {
                tracing::warn!(error = %e, "expiring unpaid orders failed; retrying next sweep");
            }
            if let Err(e) = orders.reconcile(now).await {
                tracing::warn!(error = %e, "reconciling payments failed; retrying next sweep");
            }
            if let Err(e) = orders.settle_holds(now).await {
                tracing::warn!(error = %e, "settling stock holds failed; retrying next sweep");
            }
            if let Err(e) = files.sweep_abandoned(now).await {
                tracing::warn!(error = %e, "deleting abandoned uploads failed; retrying next sweep");
            }
        }
    }))
}

enum Signal {
    Terminate,
    Interrupt,
}

/// Installs the SIGTERM and SIGINT handlers at once and resolves with the first
/// signal that arrives.
#[cfg(unix)]
fn shutdown_signal() -> impl std::future::Future<Output = Signal> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    async move {
        let received = async |handler: std::io::Result<tokio::signal::unix::Signal>| match handler {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        };
        let signal = tokio::select! {
            () = received(interrupt) => Signal::Interrupt,
            () = received(term) => Signal::Terminate,
        };
        tracing::info!("shutdown signal received");
        signal
    }
}

#[cfg(not(unix))]
fn shutdown_signal() -> impl std::future::Future<Output = Signal> {
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received");
        Signal::Interrupt
    }
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
