//! Wiring: picks the backends the settings ask for, builds the application, binds
//! the listener and runs the server until a shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use crate::catalog::Catalog;
use crate::config::Settings;
use crate::domain::product::Categories;
use crate::http::metrics::Metrics;
use crate::http::ops::BackendNames;
use crate::kv::memory::MemoryKv;
use crate::kv::redis::RedisKv;
use crate::kv::KeyValueStore;
use crate::ratelimit::RateLimiter;
use crate::store::memory::MemoryProducts;
use crate::store::mongo::{self, MongoProducts};
use crate::store::ProductRepository;

/// The storage and key-value implementations the application runs on.
pub struct Backends {
    pub products: Arc<dyn ProductRepository>,
    pub kv: Arc<dyn KeyValueStore>,
    pub names: BackendNames,
}

impl Backends {
    /// Everything in process: the embedded default.
    pub fn in_memory() -> Self {
        Self {
            products: Arc::new(MemoryProducts::new()),
            kv: Arc::new(MemoryKv::new()),
            names: BackendNames {
                storage: "memory",
                kv: "memory",
            },
        }
    }

    /// MongoDB and Redis where the settings name them, in-memory otherwise.
    pub async fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let mut backends = Self::in_memory();
        let timeout = settings.backend_timeout;
        if let Some(url) = settings.mongodb_url() {
            let db = mongo::connect(url, &settings.mongodb_database, timeout)
                .await
                .map_err(|e| redact(e, url))?;
            let products = MongoProducts::new(&db)
                .await
                .map_err(|e| redact(e.into(), url))
                .context("preparing the MongoDB collections (is MongoDB reachable?)")?;
            backends.products = Arc::new(products);
            backends.names.storage = "mongodb";
        }
        if let Some(url) = settings.redis_url() {
            let kv = RedisKv::connect(url, &settings.redis_key_prefix, timeout)
                .await
                .map_err(|e| redact(e, url))?;
            backends.kv = Arc::new(kv);
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
/// log must not contain it or the password inside it.
fn redact(error: anyhow::Error, url: &str) -> anyhow::Error {
    let mut text = format!("{error:#}");
    let password = url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_owned));
    text = text.replace(url, "<url>");
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        text = text.replace(&p, "<password>");
    }
    anyhow::anyhow!(text)
}

/// What the HTTP layer is built from.
pub struct AppState {
    pub settings: Settings,
    pub catalog: Arc<Catalog>,
    pub kv: Arc<dyn KeyValueStore>,
    pub backends: BackendNames,
    pub metrics: Arc<Metrics>,
    pub write_limiter: Option<Arc<RateLimiter>>,
}

impl AppState {
    pub fn new(settings: Settings, backends: Backends) -> Self {
        let categories = Categories::new(settings.product_categories.clone());
        let write_limiter = (settings.write_rate_limit_per_minute > 0).then(|| {
            Arc::new(RateLimiter::new(
                backends.kv.clone(),
                "write",
                settings.write_rate_limit_per_minute,
                Duration::from_secs(60),
            ))
        });
        Self {
            catalog: Arc::new(Catalog::new(backends.products, categories)),
            kv: backends.kv,
            backends: backends.names,
            metrics: Arc::new(Metrics::new()),
            write_limiter,
            settings,
        }
    }
}

/// The contract as the code defines it, in YAML or JSON. Builds the API on
/// in-memory backends, which touches nothing outside the process.
pub fn contract(yaml: bool) -> String {
    let settings = Settings::from_sources(None, std::iter::empty())
        .unwrap_or_else(|e| panic!("built-in defaults must be valid: {e}"));
    let state = AppState::new(settings, Backends::in_memory());
    let api = crate::http::api_service(&state);
    if yaml {
        api.spec_yaml()
    } else {
        api.spec()
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    acceptor: poem::listener::TcpAcceptor,
    addr: SocketAddr,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let backends = Backends::from_settings(&settings).await?;
        Self::build_with(settings, backends).await
    }

    /// Builds on given backends; binds the listener (port 0 picks a free port).
    pub async fn build_with(settings: Settings, backends: Backends) -> anyhow::Result<Self> {
        let acceptor = TcpListener::bind(settings.addr)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.addr))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        Ok(Self {
            acceptor,
            addr,
            state: AppState::new(settings, backends),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until SIGTERM or SIGINT, then lets in-flight requests finish
    /// (up to the shutdown timeout).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then drains like `run_until_stopped`.
    pub async fn run_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let grace = self.state.settings.shutdown_timeout;
        let app = crate::http::app(&self.state);
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, stop, Some(grace))
            .await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
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
}
