//! [`TestApp`]: the real application on a free port, started by one builder.
//!
//! ```ignore
//! let app = TestApp::builder().spawn().await;                       // in memory
//! let app = TestApp::builder().on(BackendSet::Real)                 // MongoDB-wire, Redis, S3
//!     .env(&[("BAZAAR_ORDER_PAY_WITHIN_SECS", "600")])
//!     .with_backends(|b| b.products = Arc::new(slow.clone()))       // replace one backend
//!     .spawn()
//!     .await;
//! ```

use std::sync::Arc;
use std::time::Duration;

use bazaar::app::idempotency::{record_key, IdempotencyKey, Scope};
use bazaar::config::Settings;
use bazaar::domain::time::ManualClock;
use bazaar::kv::redis::RedisKv;
use bazaar::kv::KeyValueStore;
use bazaar::startup::Application;
use bazaar::state::Backends;
use serde_json::Value;
use tokio::sync::oneshot;

use super::backends::{BackendSet, ADMIN_PASSWORD, ADMIN_PHONE};
use super::calls::{bearer_client, login};

pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        bazaar::telemetry::init(bazaar::config::LogFormat::Text, "info");
    }
}

/// A change to the backends before the app starts.
type BackendEdit = Box<dyn FnOnce(&mut Backends) + Send>;

/// Where the app's backends come from.
enum Source {
    /// The set's, checked to be the set (see [`BackendSet::backends`]).
    Set,
    /// Whatever the settings name, built by the production wiring without a check.
    Settings,
    /// Given by the test.
    Given(Box<Backends>),
}

/// How a test app is started: the backend set, settings on top of the test defaults,
/// and any backend the test replaces. [`TestApp::builder`] makes one.
pub struct TestAppBuilder {
    set: BackendSet,
    env: Vec<(String, String)>,
    source: Source,
    redis_kv: Option<(String, String)>,
    edits: Vec<BackendEdit>,
}

impl TestAppBuilder {
    /// Runs the app on `set`'s backends (the default is [`BackendSet::Memory`]).
    pub fn on(mut self, set: BackendSet) -> Self {
        self.set = set;
        self
    }

    /// Adds `overrides` to the app's settings (later ones win).
    pub fn env(mut self, overrides: &[(&str, &str)]) -> Self {
        self.env.extend(
            overrides
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self
    }

    /// Builds whatever backends the settings name, as production does, without checking
    /// that they are the set's: for tests whose `env` points one store at a server of
    /// their own.
    pub fn backends_from_settings(mut self) -> Self {
        self.source = Source::Settings;
        self
    }

    /// Runs the app on `backends` as given.
    pub fn backends(mut self, backends: Backends) -> Self {
        self.source = Source::Given(Box::new(backends));
        self
    }

    /// Changes the backends once they are built, before the app starts: to replace one
    /// store with a fake and keep the others.
    pub fn with_backends(mut self, edit: impl FnOnce(&mut Backends) + Send + 'static) -> Self {
        self.edits.push(Box::new(edit));
        self
    }

    /// Keeps the key-value store at `url` (one Redis or a cluster) under `prefix` instead
    /// of the set's, with a short backend timeout (500 ms): for tests that take that store
    /// away while the app runs.
    pub fn redis_kv(self, url: &str, prefix: &str) -> Self {
        let mut builder = self.env(&[("BAZAAR_BACKEND_TIMEOUT_MS", "500")]);
        builder.redis_kv = Some((url.to_owned(), prefix.to_owned()));
        builder
    }

    /// Builds the settings and backends without starting the app, for tests that look
    /// into or seed a store first; [`PreparedApp::spawn`] starts it.
    pub async fn prepare(self) -> PreparedApp {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let settings = self.set.settings(&env);
        let mut backends = match self.source {
            Source::Set => self.set.backends(&settings).await,
            Source::Settings => Backends::from_settings(&settings)
                .await
                .unwrap_or_else(|e| panic!("the configured backends build: {e:#}")),
            Source::Given(backends) => *backends,
        };
        if let Some((url, prefix)) = self.redis_kv {
            let kv = RedisKv::connect(&url, &prefix, Duration::from_millis(500))
                .await
                .expect("Redis answers");
            backends.kv = Arc::new(kv);
        }
        for edit in self.edits {
            edit(&mut backends);
        }
        PreparedApp { settings, backends }
    }

    /// Starts the app.
    pub async fn spawn(self) -> TestApp {
        self.prepare().await.spawn().await
    }
}

/// An app's settings and backends, built but not started.
pub struct PreparedApp {
    pub settings: Settings,
    pub backends: Backends,
}

impl PreparedApp {
    /// Starts the app on these settings and backends, reading the time from a
    /// [`ManualClock`] of its own (see [`TestApp::advance`]), with the admin signed in.
    pub async fn spawn(self) -> TestApp {
        init_logs();
        let PreparedApp {
            settings,
            mut backends,
        } = self;
        let clock = ManualClock::new();
        backends.clock = clock.shared();
        let kv = backends.kv.clone();
        let app = Application::build_with(settings, backends)
            .await
            .expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        let anonymous = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client builds");
        let admin = login(&anonymous, &address, ADMIN_PHONE, ADMIN_PASSWORD).await;
        TestApp {
            address,
            client: bearer_client(&admin.access_token),
            anonymous,
            clock,
            kv,
            stop: Some(stop),
            server: Some(server),
        }
    }
}

pub struct TestApp {
    pub address: String,
    /// Sends the admin's access token with every request.
    pub client: reqwest::Client,
    /// Sends no credentials.
    pub anonymous: reqwest::Client,
    /// The app's clock; [`TestApp::advance`] moves it.
    pub clock: ManualClock,
    /// The app's key-value store, whose expiries [`TestApp::advance`] moves with the clock.
    kv: Arc<dyn KeyValueStore>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// A builder of an app on in-memory backends, the test settings and nothing replaced.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            set: BackendSet::Memory,
            env: Vec::new(),
            source: Source::Set,
            redis_kv: None,
            edits: Vec::new(),
        }
    }

    /// Makes `by` pass at once for the app: its clock (expiry of orders, tokens,
    /// locks, sweeps) and its key-value store's TTLs (cooldowns, rate limits,
    /// sessions, idempotency records) move forward together, whichever store
    /// the app runs on. Use it instead of sleeping until something expires.
    pub async fn advance(&self, by: Duration) {
        self.clock.advance(by);
        self.kv
            .fast_forward(by)
            .await
            .expect("the key-value store fast-forwards");
    }

    /// Deletes the kept answer to `key` for `user`'s `operation`, as a crash
    /// between an operation's write and its answer leaves it once the
    /// in-flight record expires: the next request with the key runs again.
    pub async fn lose_kept_answer(&self, user: Option<&str>, operation: &str, key: &str) {
        let scope = match user {
            Some(sub) => Scope::user(sub, operation),
            None => Scope::anonymous(operation),
        };
        let key = IdempotencyKey::parse(key).expect("a valid key");
        self.kv
            .delete(&record_key(&scope, &key))
            .await
            .expect("the key-value store deletes");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// `GET path` as the admin.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// `POST path` with a JSON body as the admin.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        self.shut_down().await;
    }

    /// Starts a graceful shutdown, as SIGTERM does, without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits until the server has shut down.
    pub async fn shut_down(mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
