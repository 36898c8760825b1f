//! Shared test plumbing: real backends on unique names, and `spawn_app()`.

use std::sync::Arc;

use bazaar::app::idempotency::{record_key, IdempotencyKey, Scope};
use bazaar::config::Settings;
use bazaar::domain::time::ManualClock;
use bazaar::kv::redis::RedisKv;
use bazaar::kv::KeyValueStore;
use bazaar::startup::Application;
use bazaar::state::Backends;
use bazaar::store::mongo::{self, MongoProducts};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::s3::{S3Client, S3Settings};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::oneshot;

pub fn env_url(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts a MongoDB-wire server and Redis")
    })
}

pub fn mongodb_url() -> String {
    env_url("BAZAAR_TEST_MONGODB_URL")
}

pub fn redis_url() -> String {
    env_url("BAZAAR_TEST_REDIS_URL")
}

/// The seeds of the three-node Redis Cluster `make test` starts, comma-separated.
pub fn redis_cluster_url() -> String {
    env_url("BAZAAR_TEST_REDIS_CLUSTER_URL")
}

/// A name no other test uses, so tests can share one server.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

pub fn init_logs() {
    if std::env::var_os("TEST_LOG").is_some() {
        bazaar::telemetry::init(bazaar::config::LogFormat::Text, "info");
    }
}

pub const ADMIN_PHONE: &str = "+919000000001";
pub const ADMIN_PASSWORD: &str = "admin password for tests";

/// Settings for a test server: a free port, a known admin, cheap password
/// hashing (the production cost is for attackers, not for test runs), plus
/// `overrides`.
pub fn settings(overrides: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = [
        ("BAZAAR_ADDR", "127.0.0.1:0"),
        ("BAZAAR_ADMIN_PHONE", ADMIN_PHONE),
        ("BAZAAR_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("BAZAAR_ARGON2_MEMORY_KIB", "64"),
        ("BAZAAR_ARGON2_ITERATIONS", "1"),
        // Nothing routes by readiness in tests: stop at once.
        ("BAZAAR_SHUTDOWN_DELAY_MS", "0"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    vars.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Settings::from_sources(None, vars).expect("test settings are valid")
}

/// A fresh database on the test MongoDB-wire server.
pub async fn test_database() -> mongodb::Database {
    mongo::connect(
        &mongodb_url(),
        &unique("bazaar_test"),
        std::time::Duration::from_secs(5),
    )
    .await
    .expect("MongoDB URL parses")
}

pub async fn mongo_products() -> MongoProducts {
    MongoProducts::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_users() -> bazaar::store::mongo::MongoUsers {
    bazaar::store::mongo::MongoUsers::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_audit() -> bazaar::store::mongo::MongoAudit {
    bazaar::store::mongo::MongoAudit::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_files() -> bazaar::store::mongo::MongoFiles {
    bazaar::store::mongo::MongoFiles::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_outbox() -> bazaar::store::mongo::MongoOutbox {
    bazaar::store::mongo::MongoOutbox::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_orders() -> bazaar::store::mongo::MongoOrders {
    bazaar::store::mongo::MongoOrders::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn mongo_webhook_events() -> bazaar::store::mongo::MongoWebhookEvents {
    bazaar::store::mongo::MongoWebhookEvents::new(&test_database().await)
        .await
        .expect("MongoDB answers")
}

pub async fn redis_kv() -> RedisKv {
    redis_kv_at(&redis_url()).await
}

pub async fn redis_cluster_kv() -> RedisKv {
    redis_kv_at(&redis_cluster_url()).await
}

/// A store at `url` under a key prefix of its own.
pub async fn redis_kv_at(url: &str) -> RedisKv {
    RedisKv::connect(
        url,
        &format!("{}:", unique("test")),
        std::time::Duration::from_secs(2),
    )
    .await
    .expect("Redis answers")
}

/// A set of backends the API suite runs on (see `tests/it/api/mod.rs`): every test
/// body there runs once per set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendSet {
    /// Everything in process: the embedded default (`Backends::in_memory()`).
    Memory,
    /// What production runs on: MongoDB-wire, Redis and S3 (SeaweedFS) for every store
    /// (users, audit, files, orders, outbox, broadcast, idempotency, rate limits), built
    /// by the production wiring, `Backends::from_settings`, under a fresh database name
    /// and Redis key prefix. The bucket is shared; object keys hold fresh ids.
    Real,
}

impl BackendSet {
    /// The settings that name this set's backends, on top of [`settings`]'s test
    /// defaults, then `overrides`.
    pub fn settings(self, overrides: &[(&str, &str)]) -> Settings {
        let backends = match self {
            Self::Memory => Vec::new(),
            Self::Real => test_servers_env(&unique("bazaar_test"), &format!("{}:", unique("test"))),
        };
        let mut vars: Vec<(&str, &str)> = backends.iter().map(|(k, v)| (*k, v.as_str())).collect();
        vars.extend_from_slice(overrides);
        settings(&vars)
    }

    /// The backends `settings` name, built as production builds them.
    pub async fn backends(self, settings: &Settings) -> Backends {
        let backends = Backends::from_settings(settings)
            .await
            .unwrap_or_else(|e| panic!("the {self:?} backends build: {e:#}"));
        assert_eq!(
            (backends.names.storage, backends.names.kv),
            self.backend_names(),
            "the settings name this set's backends"
        );
        backends
    }

    /// The app on this set's backends.
    pub async fn spawn_app(self) -> TestApp {
        self.spawn_app_with_env(&[]).await
    }

    /// The app on this set's backends, with `overrides` added to its settings.
    pub async fn spawn_app_with_env(self, overrides: &[(&str, &str)]) -> TestApp {
        let settings = self.settings(overrides);
        let backends = self.backends(&settings).await;
        spawn_app_with(settings, backends).await
    }

    /// The storage and key-value backends readiness reports for this set.
    pub fn backend_names(self) -> (&'static str, &'static str) {
        match self {
            Self::Memory => ("memory", "memory"),
            Self::Real => ("mongodb", "redis"),
        }
    }
}

/// The settings that point the app at the test servers: the MongoDB-wire server (database
/// `database`), Redis (keys under `key_prefix`) and the S3 bucket. The real set and the
/// production process are configured with them.
pub fn test_servers_env(database: &str, key_prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("BAZAAR_MONGODB_URL", mongodb_url()),
        ("BAZAAR_MONGODB_DATABASE", database.to_owned()),
        ("BAZAAR_REDIS_URL", redis_url()),
        ("BAZAAR_REDIS_KEY_PREFIX", key_prefix.to_owned()),
        ("BAZAAR_S3_ENDPOINT", env_url("BAZAAR_TEST_S3_URL")),
        ("BAZAAR_S3_REGION", s3_region()),
        ("BAZAAR_S3_BUCKET", env_url("BAZAAR_TEST_S3_BUCKET")),
        (
            "BAZAAR_S3_ACCESS_KEY_ID",
            env_url("BAZAAR_TEST_S3_ACCESS_KEY"),
        ),
        (
            "BAZAAR_S3_SECRET_ACCESS_KEY",
            env_url("BAZAAR_TEST_S3_SECRET_KEY"),
        ),
        ("BAZAAR_S3_PATH_STYLE", "true".to_owned()),
    ]
}

/// The test S3 server's region (`BAZAAR_TEST_S3_REGION`, `us-east-1` if unset).
fn s3_region() -> String {
    std::env::var("BAZAAR_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into())
}

/// A client of the S3 server `make test` provides (SeaweedFS), configured as the real set
/// and the production process are, for tests that look into the bucket.
pub fn test_bucket() -> S3Client {
    S3Client::new(S3Settings {
        endpoint: env_url("BAZAAR_TEST_S3_URL"),
        region: s3_region(),
        bucket: env_url("BAZAAR_TEST_S3_BUCKET"),
        access_key_id: env_url("BAZAAR_TEST_S3_ACCESS_KEY"),
        secret_access_key: SecretString::from(env_url("BAZAAR_TEST_S3_SECRET_KEY")),
        path_style: true,
        timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .expect("the BAZAAR_TEST_S3_* settings are valid")
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

/// The app on in-memory backends except for the key-value store at `url`
/// (one Redis or a cluster), with a short backend timeout: for tests that take
/// that store away while the app runs.
pub async fn spawn_app_on_redis(url: &str, prefix: &str) -> TestApp {
    let kv = RedisKv::connect(url, prefix, std::time::Duration::from_millis(500))
        .await
        .unwrap();
    let backends = Backends {
        kv: Arc::new(kv),
        ..Backends::in_memory()
    };
    spawn_app_with(settings(&[("BAZAAR_BACKEND_TIMEOUT_MS", "500")]), backends).await
}

/// The app on in-memory backends.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(settings(&[]), Backends::in_memory()).await
}

/// The app on `backends`, reading the time from a [`ManualClock`] of its own
/// (see [`TestApp::advance`]).
pub async fn spawn_app_with(settings: Settings, mut backends: Backends) -> TestApp {
    init_logs();
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
    let admin_token: String = login(&anonymous, &address, ADMIN_PHONE, ADMIN_PASSWORD).await
        ["access_token"]
        .as_str()
        .expect("the admin signs in")
        .to_owned();
    TestApp {
        address,
        client: bearer_client(&admin_token),
        anonymous,
        clock,
        kv,
        stop: Some(stop),
        server: Some(server),
    }
}

/// A client that sends `token` as its bearer credential.
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a valid header"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("client builds")
}

/// Signs in; returns the token pair, panicking unless 200.
pub async fn login(
    client: &reqwest::Client,
    address: &str,
    identifier: &str,
    password: &str,
) -> Value {
    let response = client
        .post(format!("{address}/api/v1/auth/login"))
        .json(&serde_json::json!({ "identifier": identifier, "password": password }))
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_eq!(status, 200, "login failed: {body}");
    body
}

impl TestApp {
    /// Makes `by` pass at once for the app: its clock (expiry of orders, tokens,
    /// locks, sweeps) and its key-value store's TTLs (cooldowns, rate limits,
    /// sessions, idempotency records) move forward together, whichever store
    /// the app runs on. Use it instead of sleeping until something expires.
    pub async fn advance(&self, by: std::time::Duration) {
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

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Creates a product and returns its body; panics unless 201.
    pub async fn create_product(&self, body: Value) -> Value {
        let response = self.post_json("/api/v1/products", &body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, 201, "creating {body}: {text}");
        serde_json::from_str(&text).expect("JSON body")
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

/// A valid product body with this SKU.
pub fn product_json(sku: &str) -> Value {
    serde_json::json!({
        "sku": sku,
        "name": format!("Product {sku}"),
        "description": "A fine thing",
        "price": 49900,
        "currency": "INR",
        "category": "books",
        "tags": ["paperback"],
    })
}

/// Reads a problem document, checking that it is one.
pub async fn problem(response: reqwest::Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    for member in ["type", "title", "detail", "instance", "code"] {
        assert!(body[member].is_string(), "problem lacks `{member}`: {body}");
    }
    assert!(
        body["errors"].is_array() && body["retryable"].is_boolean(),
        "{body}"
    );
    body
}

/// Every regular file under `dir`, at any depth (what the development object store holds).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .flat_map(|entry| {
                    let path = entry.path();
                    if path.is_dir() {
                        files_under(&path)
                    } else {
                        vec![path]
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET url` with `client`, answering the JSON body whatever the status (tests assert on it).
pub async fn get_json(client: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a JSON body")
}
