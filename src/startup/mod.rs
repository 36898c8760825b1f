//! Wiring: picks the backends the settings ask for ([`backends`]), builds the use cases
//! ([`wiring`]), binds the listener and runs the server until a shutdown signal.

mod backends;
mod wiring;

pub use wiring::{FAKE_RAZORPAY_KEY_ID, FAKE_RAZORPAY_KEY_SECRET, FAKE_RAZORPAY_WEBHOOK_SECRET};

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;

use crate::app::files::Files;
use crate::app::orders::Orders;
use crate::config::Settings;
use crate::state::{AppState, Backends};

/// The server's own origin, for URLs of the development object store. An unspecified
/// address (`0.0.0.0`) is reached as loopback from the same machine.
pub(crate) fn own_origin(addr: SocketAddr) -> String {
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
    let api = crate::http::contract::api_service(&state);
    if yaml {
        crate::http::contract::contract_yaml(&api)
    } else {
        crate::http::contract::contract_json(&api)
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
        let acceptor = TcpListener::bind(settings.server.addr)
            .into_acceptor()
            .await
            .with_context(|| format!("binding {}", settings.server.addr))?;
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .context("the listener has no socket address")?;
        // Port 0 became a real port: URLs this server hands out must name it.
        settings.server.addr = addr;
        let metrics = match settings.telemetry.metrics_addr {
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
                settings.telemetry.metrics_addr = Some(bound);
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
        let delay = self.state.settings.server.shutdown_delay;
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
        let delay = self.state.settings.server.shutdown_delay;
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
        let grace = self.state.settings.server.shutdown_timeout;
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
        if self.state.settings.telemetry.metrics_addr.is_none()
            && !crate::telemetry::metrics::MetricsAccess::api_listener(&self.state.settings)
                .serves()
        {
            tracing::warn!(
                "no metrics are served: production needs BAZAAR_METRICS_ADDR (a listener of \
                 their own) or BAZAAR_METRICS_TOKEN (a bearer token) to serve /metrics"
            );
        }
        if self.state.settings.gst.sample_seller {
            tracing::info!(
                "GST: no seller configured (BAZAAR_GST_SELLER_*); the development sample \
                 seller, Bazaar Demo Traders, stands in"
            );
        }
        release_startup_memory();
        // Dropped when shutdown begins, or when the server returns for whatever
        // reason, which stops the sweeps and the worker too.
        let (stopping, mut stopped) = tokio::sync::watch::channel(());
        let sweeps = spawn_sweeps(
            self.state.orders.clone(),
            self.state.files.clone(),
            self.state.settings.orders.sweep_interval,
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
