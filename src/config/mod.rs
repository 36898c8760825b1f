//! Configuration: built-in defaults, then an optional TOML file, then `BAZAAR_*`
//! environment variables, each layer overriding the one before.
//!
//! Every setting is checked before anything starts and *all* problems are reported
//! together, so a broken deployment is fixed in one round. Secrets are held as
//! [`SecretString`] and are never echoed, not even in error messages.

mod sections;

pub use sections::{seed_urls, BreakerSettings, OutboxSettings, DEFAULT_CAP_PER_HOUR};

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::outbox::{NoticeKind, PerNotice, RetrySchedule};

pub const ENV_PREFIX: &str = "BAZAAR_";

/// Where the service runs. Production refuses settings that only make sense on a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// One setting: its name, default, whether it is secret, and what it means.
/// `docs/configuration.md` is checked against this table by a test.
pub struct SettingSpec {
    pub key: &'static str,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec { key: "env", default: Some("development"), secret: false, help: "`development` or `production`; production refuses in-memory backends and default secrets" },
    SettingSpec { key: "addr", default: Some("127.0.0.1:8080"), secret: false, help: "address and port to listen on (port 0 picks a free one)" },
    SettingSpec { key: "log_format", default: Some("text"), secret: false, help: "`text` for people, `json` for log collectors" },
    SettingSpec { key: "log_level", default: Some("info"), secret: false, help: "a tracing filter, e.g. `info` or `bazaar=debug,info`" },
    SettingSpec { key: "mongodb_url", default: None, secret: true, help: "MongoDB connection string; unset means in-memory storage" },
    SettingSpec { key: "mongodb_database", default: Some("bazaar"), secret: false, help: "database name inside MongoDB" },
    SettingSpec { key: "redis_url", default: None, secret: true, help: "Redis URL (`redis://` or `rediss://`), or a comma-separated list of Redis Cluster seed nodes (one node of a cluster is recognised as such too); unset means an in-process key-value store" },
    SettingSpec { key: "redis_key_prefix", default: Some("bazaar:"), secret: false, help: "prefix of every Redis key, so deployments can share a Redis; no `{` or `}`, which would break the hash tags that keep related keys in one Redis Cluster slot" },
    SettingSpec { key: "redis_replica_acks", default: Some("0"), secret: false, help: "how many Redis replicas must hold a session or idempotency-record write before it counts as done (`WAIT`), so a primary's failover cannot lose it; 0 does not wait; 1 is right for a Redis Cluster with a replica per primary (see operations.md, \"A primary fails\")" },
    SettingSpec { key: "redis_replica_ack_timeout_ms", default: Some("100"), secret: false, help: "longest wait for those replicas; a wait that comes back short is logged, the write stands, and waiting pauses for 5 s" },
    SettingSpec { key: "backend_timeout_ms", default: Some("2000"), secret: false, help: "how long to wait for MongoDB or Redis before answering 503" },
    SettingSpec { key: "breaker_failures", default: Some("5"), secret: false, help: "consecutive \"unavailable\" failures (timeouts, refused connections, a provider's 5xx after retries; never a 4xx or a duplicate key) that open the circuit breaker of MongoDB, Redis or a provider, which then refuses calls at once with 503 instead of waiting out the timeout; 0 turns breakers off" },
    SettingSpec { key: "breaker_open_ms", default: Some("500"), secret: false, help: "how long an open circuit breaker refuses calls before it lets one trial call through; the trial's success closes it, its failure opens it again for as long" },
    SettingSpec { key: "request_timeout_ms", default: Some("15000"), secret: false, help: "longest time a request may take before it is answered 503 `timeout`" },
    SettingSpec { key: "shutdown_delay_ms", default: Some("5000"), secret: false, help: "after SIGTERM, how long readiness answers 503 while requests are still served, so load balancers stop sending new ones before the listener closes (Ctrl-C/SIGINT skips it)" },
    SettingSpec { key: "shutdown_timeout_ms", default: Some("20000"), secret: false, help: "after the listener closes, how long in-flight requests and the outbox delivery in hand may run before the process exits anyway" },
    SettingSpec { key: "body_limit_bytes", default: Some("1048576"), secret: false, help: "largest accepted request body; larger ones get 413" },
    SettingSpec { key: "cors_origins", default: Some(""), secret: false, help: "comma-separated origins allowed to call the API from a browser (e.g. `https://shop.example.in`); empty allows none" },
    SettingSpec { key: "product_categories", default: Some("electronics,fashion,home,grocery,beauty,books,sports,toys"), secret: false, help: "comma-separated list of allowed product categories" },
    SettingSpec { key: "cache_l1_ttl_ms", default: Some("1000"), secret: false, help: "how long a replica keeps product reads and user records in its own memory; writes on any replica drop them at once through Redis pub/sub, and this bounds staleness if a notice is missed; 0 turns the in-process cache off" },
    SettingSpec { key: "cache_l1_capacity", default: Some("10000"), secret: false, help: "entries kept in each in-process cache (products, list pages, facet counts, users)" },
    SettingSpec { key: "cache_l2_ttl_secs", default: Some("300"), secret: false, help: "how long product reads stay in the shared key-value cache (Redis); writes invalidate at once" },
    SettingSpec { key: "rate_limit_default_per_minute", default: Some("600"), secret: false, help: "API requests per client (user, else IP) per minute outside the auth routes; 0 turns the limit off" },
    SettingSpec { key: "rate_limit_auth_per_minute", default: Some("20"), secret: false, help: "requests per client per minute to /api/v1/auth (sign-in, refresh, password reset); 0 turns the limit off" },
    SettingSpec { key: "rate_limit_otp_per_hour", default: Some("10"), secret: false, help: "register, OTP send and forgot-password calls per client IP per hour (each phone and email has its own cap of 5); 0 turns the limit off" },
    SettingSpec { key: "idempotency_ttl_secs", default: Some("86400"), secret: false, help: "how long the answer to a request with an `Idempotency-Key` is kept for replay" },
    SettingSpec { key: "trusted_proxies", default: Some(""), secret: false, help: "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed, e.g. `10.0.0.0/8`; empty trusts none" },
    SettingSpec { key: "metrics_addr", default: None, secret: false, help: "address of a second listener that serves only `GET /metrics` (e.g. `0.0.0.0:9090` in a pod, reached by Prometheus and not by the load balancer); set, the API listener no longer serves `/metrics`" },
    SettingSpec { key: "metrics_token", default: None, secret: true, help: "bearer token `/metrics` then requires wherever it is served (`Authorization: Bearer <token>`), at least 32 bytes; production serves `/metrics` on the API listener only with it, and without it or `metrics_addr` serves no metrics" },
    SettingSpec { key: "jwt_keys", default: Some(DEV_JWT_KEYS), secret: true, help: "access-token signing keys as `kid:secret` pairs, comma-separated; the first signs, all verify (rotate by prepending a new key); each secret at least 32 bytes" },
    SettingSpec { key: "jwt_issuer", default: Some("bazaar"), secret: false, help: "`iss` of access tokens" },
    SettingSpec { key: "jwt_audience", default: Some("bazaar-api"), secret: false, help: "`aud` of access tokens" },
    SettingSpec { key: "access_token_ttl_secs", default: Some("900"), secret: false, help: "lifetime of an access token (JWT)" },
    SettingSpec { key: "refresh_token_ttl_days", default: Some("30"), secret: false, help: "lifetime of a session and its refresh token since last use" },
    SettingSpec { key: "otp_secret", default: Some(DEV_OTP_SECRET), secret: true, help: "key for the HMAC under which OTP codes are stored; at least 32 bytes" },
    SettingSpec { key: "otp_cooldown_secs", default: Some("30"), secret: false, help: "how soon a phone or address may be sent another code, and an account another email verification link" },
    SettingSpec { key: "argon2_memory_kib", default: Some("19456"), secret: false, help: "Argon2id memory cost per password hash, in KiB (OWASP: 19456)" },
    SettingSpec { key: "argon2_iterations", default: Some("2"), secret: false, help: "Argon2id time cost (OWASP: 2)" },
    SettingSpec { key: "admin_phone", default: None, secret: false, help: "phone of the admin created at startup if no account has it; an existing account with it is never promoted (startup logs a warning instead); unset in development creates a development admin whose password is logged once" },
    SettingSpec { key: "admin_password", default: None, secret: true, help: "password of that admin (required with `admin_phone`)" },
    SettingSpec { key: "msg91_authkey", default: None, secret: true, help: "MSG91 auth key; unset outside production uses a fake whose messages `/api/v1/dev/messages` lists" },
    SettingSpec { key: "msg91_template_id", default: Some(""), secret: false, help: "DLT-registered MSG91 OTP template id (required with `msg91_authkey`)" },
    SettingSpec { key: "msg91_base_url", default: Some("https://control.msg91.com/api/v5"), secret: false, help: "MSG91 API base URL" },
    SettingSpec { key: "msg91_sender", default: Some(""), secret: false, help: "DLT sender id (header) of notice SMS; empty leaves it to each flow" },
    SettingSpec { key: "msg91_flow_order_confirmation", default: Some("dev-order-confirmation"), secret: false, help: "MSG91 flow (DLT template) of the order-confirmation SMS (required with `msg91_authkey`)" },
    SettingSpec { key: "msg91_flow_payment_receipt", default: Some("dev-payment-receipt"), secret: false, help: "MSG91 flow of the payment-receipt SMS (required with `msg91_authkey`)" },
    SettingSpec { key: "msg91_flow_refund", default: Some("dev-refund"), secret: false, help: "MSG91 flow of the refund SMS (required with `msg91_authkey`)" },
    SettingSpec { key: "msg91_flow_cancellation", default: Some("dev-cancellation"), secret: false, help: "MSG91 flow of the cancellation SMS (required with `msg91_authkey`)" },
    SettingSpec { key: "sendgrid_api_key", default: None, secret: true, help: "SendGrid API key; unset outside production uses a fake" },
    SettingSpec { key: "sendgrid_base_url", default: Some("https://api.sendgrid.com"), secret: false, help: "SendGrid API base URL (EU: https://api.eu.sendgrid.com)" },
    SettingSpec { key: "sendgrid_from_email", default: Some("no-reply@bazaar.local"), secret: false, help: "sender address of Bazaar's email" },
    SettingSpec { key: "sendgrid_from_name", default: Some("Bazaar"), secret: false, help: "sender name of Bazaar's email" },
    SettingSpec { key: "sendgrid_template_verify_email", default: Some("d-verify-email"), secret: false, help: "SendGrid dynamic template for email verification (gets `name`, `link`, `token`)" },
    SettingSpec { key: "sendgrid_template_order_confirmation", default: Some("d-order-confirmation"), secret: false, help: "SendGrid dynamic template of the order-confirmation email (gets the notice's data)" },
    SettingSpec { key: "sendgrid_template_payment_receipt", default: Some("d-payment-receipt"), secret: false, help: "SendGrid dynamic template of the payment-receipt email" },
    SettingSpec { key: "sendgrid_template_refund", default: Some("d-refund"), secret: false, help: "SendGrid dynamic template of the refund email" },
    SettingSpec { key: "sendgrid_template_cancellation", default: Some("d-cancellation"), secret: false, help: "SendGrid dynamic template of the cancellation email" },
    SettingSpec { key: "public_url", default: Some("http://127.0.0.1:8080"), secret: false, help: "the frontend or API origin used to build links in messages (email verification)" },
    SettingSpec { key: "provider_timeout_ms", default: Some("4000"), secret: false, help: "timeout of each attempt of a call to Razorpay, MSG91 or SendGrid (each call makes up to three attempts; keep three of them under the request timeout, so a silent provider is reported as such)" },
    SettingSpec { key: "outbox_poll_ms", default: Some("1000"), secret: false, help: "how often an idle outbox worker looks for due notices" },
    SettingSpec { key: "outbox_lease_secs", default: Some("60"), secret: false, help: "how long a worker holds a notice it is delivering before another replica may take it; longer than one delivery can take" },
    SettingSpec { key: "outbox_batch_size", default: Some("10"), secret: false, help: "notices a worker claims and delivers at once" },
    SettingSpec { key: "outbox_max_attempts", default: Some("8"), secret: false, help: "delivery attempts before a notice is dead (dead-lettered)" },
    SettingSpec { key: "outbox_backoff_base_ms", default: Some("30000"), secret: false, help: "wait after a notice's first failed attempt; doubles after each further failure" },
    SettingSpec { key: "outbox_backoff_cap_secs", default: Some("3600"), secret: false, help: "longest wait between two attempts of a notice" },
    SettingSpec { key: "outbox_cap_per_hour", default: Some("20"), secret: false, help: "notices one phone number or email address is sent per hour, counted in Redis across replicas; later ones are skipped (recorded, not sent), so no loop of orders can flood a phone or the SMS bill; 0 turns the cap off" },
    SettingSpec { key: "s3_endpoint", default: None, secret: false, help: "S3 API root without the bucket (`https://s3.ap-south-1.amazonaws.com`, or a compatible server); unset outside production stores uploads in `files_dir`, served by the dev server" },
    SettingSpec { key: "s3_region", default: Some("us-east-1"), secret: false, help: "the bucket's region, part of every signature" },
    SettingSpec { key: "s3_bucket", default: None, secret: false, help: "bucket for uploads (required with `s3_endpoint`)" },
    SettingSpec { key: "s3_access_key_id", default: None, secret: false, help: "S3 access key id (required with `s3_endpoint`; it appears in presigned URLs, so it is not secret)" },
    SettingSpec { key: "s3_secret_access_key", default: None, secret: true, help: "S3 secret access key (required with `s3_endpoint`)" },
    SettingSpec { key: "s3_path_style", default: Some("false"), secret: false, help: "`true` for `{endpoint}/{bucket}/{key}` URLs (IP endpoints, most compatible servers); `false` for AWS's `{bucket}.{host}`" },
    SettingSpec { key: "files_max_bytes", default: Some("10485760"), secret: false, help: "largest file a client may declare for upload, in bytes (at most 5368709120, S3's single-PUT limit)" },
    SettingSpec { key: "files_allowed_types", default: Some("image/jpeg,image/png,image/webp,image/gif,application/pdf"), secret: false, help: "comma-separated media types clients may upload" },
    SettingSpec { key: "files_upload_url_ttl_secs", default: Some("900"), secret: false, help: "how long a presigned upload URL works (1 to 604800); a file still pending twice this long after it was announced is deleted with its object by the sweeps" },
    SettingSpec { key: "files_quota_count", default: Some("100"), secret: false, help: "most files one user may hold outside the catalog (pending and complete, not shown by a product); more answers 409 `upload_quota_exceeded`; 0 means no limit" },
    SettingSpec { key: "files_quota_bytes", default: Some("209715200"), secret: false, help: "most declared bytes one user may hold in those files; 0 means no limit" },
    SettingSpec { key: "razorpay_key_id", default: None, secret: false, help: "Razorpay key id (`rzp_live_…`/`rzp_test_…`); unset outside production uses a fake Razorpay whose payments `POST /api/v1/dev/payments/{razorpay_order_id}/capture` completes" },
    SettingSpec { key: "razorpay_key_secret", default: None, secret: true, help: "Razorpay key secret (required with `razorpay_key_id`); signs checkout results" },
    SettingSpec { key: "razorpay_webhook_secrets", default: None, secret: true, help: "comma-separated webhook secrets (required with `razorpay_key_id`); the first is current, the others are accepted during a rotation" },
    SettingSpec { key: "razorpay_base_url", default: Some("https://api.razorpay.com/v1"), secret: false, help: "Razorpay API base URL" },
    SettingSpec { key: "gst_rate_bp", default: Some("1800"), secret: false, help: "GST charged on an order's subtotal, in basis points (1800 = 18%); rounded half up to the paisa" },
    SettingSpec { key: "order_pay_within_secs", default: Some("1800"), secret: false, help: "how long a customer has to pay before an unpaid order expires and releases its stock" },
    SettingSpec { key: "order_reconcile_after_secs", default: Some("900"), secret: false, help: "unpaid orders in checkout untouched this long are asked about at Razorpay (reconciliation)" },
    SettingSpec { key: "order_unpaid_max", default: Some("3"), secret: false, help: "most unpaid orders (`pending_payment`, `payment_mismatch`) one customer may hold at once, each holding stock; another is 409 `too_many_unpaid_orders` (staff with `orders:manage` are not capped); 1 to 100" },
    SettingSpec { key: "order_product_units_max", default: Some("10"), secret: false, help: "most units of one product in one order (422 naming `items[i].quantity` above it); 1 to 1000" },
    SettingSpec { key: "order_sweep_interval_secs", default: Some("30"), secret: false, help: "how often each replica expires unpaid orders, reconciles stuck payments, settles old stock holds and deletes abandoned uploads; 0 turns the sweeps off" },
    SettingSpec { key: "files_dir", default: None, secret: false, help: "directory of the development object store (used without `s3_endpoint`); unset means `bazaar-uploads` under the OS temporary directory" },
];

/// Development defaults for secrets: fine on a laptop, refused in production.
pub const DEV_JWT_KEYS: &str = "dev:bazaar-development-signing-key-do-not-use-in-production";
pub const DEV_OTP_SECRET: &str = "bazaar-development-otp-secret-do-not-use-in-production";

#[derive(Clone)]
pub struct Settings {
    pub env: Environment,
    pub addr: SocketAddr,
    pub log_format: LogFormat,
    pub log_level: String,
    pub mongodb_url: Option<SecretString>,
    pub mongodb_database: String,
    pub redis_url: Option<SecretString>,
    pub redis_key_prefix: String,
    /// Replicas that must hold a session or idempotency write (`WAIT`); 0: none.
    pub redis_replica_acks: u32,
    pub redis_replica_ack_timeout: Duration,
    pub backend_timeout: Duration,
    /// When the circuit breakers of backends and providers open, and for how long.
    pub breaker: BreakerSettings,
    pub request_timeout: Duration,
    pub shutdown_delay: Duration,
    pub shutdown_timeout: Duration,
    pub body_limit_bytes: usize,
    pub cors_origins: Vec<String>,
    pub product_categories: Vec<String>,
    pub cache_l1_ttl_ms: u64,
    pub cache_l1_capacity: u64,
    pub cache_l2_ttl_secs: u64,
    pub rate_limit_default_per_minute: u32,
    pub rate_limit_auth_per_minute: u32,
    pub rate_limit_otp_per_hour: u32,
    /// How long an answer to an `Idempotency-Key` is kept for replay.
    pub idempotency_ttl: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The metrics listener; `None` serves `/metrics` on the API listener (see `http::metrics`).
    pub metrics_addr: Option<SocketAddr>,
    /// What `/metrics` requires as bearer token, if anything.
    pub metrics_token: Option<SecretString>,
    /// `(kid, secret)`; the first signs.
    pub jwt_keys: Vec<(String, SecretString)>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub otp_secret: SecretString,
    pub otp_cooldown: Duration,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub admin: Option<(String, SecretString)>,
    pub msg91: Option<Msg91Config>,
    pub sendgrid: Option<SendGridConfig>,
    pub sendgrid_from_email: String,
    pub sendgrid_from_name: String,
    pub sendgrid_template_verify_email: String,
    /// The SendGrid dynamic template of each kind of notice.
    pub sendgrid_notice_templates: PerNotice<String>,
    /// The MSG91 flow (DLT template) of each kind of notice.
    pub msg91_notice_flows: PerNotice<String>,
    pub msg91_sender: String,
    pub public_url: String,
    pub provider_timeout: Duration,
    pub outbox: OutboxSettings,
    /// The S3 bucket for uploads; `None` means the local development store.
    pub s3: Option<S3Config>,
    pub files_max_bytes: u64,
    pub files_allowed_types: Vec<String>,
    /// How long a presigned upload URL works.
    pub files_upload_url_ttl: Duration,
    /// What one user may hold in files outside the catalog.
    pub files_quota: crate::domain::file::UploadQuota,
    /// Where the local development store keeps uploads.
    pub files_dir: std::path::PathBuf,
    /// Razorpay; `None` means the fake (outside production only).
    pub razorpay: Option<RazorpayConfig>,
    pub razorpay_base_url: String,
    pub gst_rate_bp: u32,
    pub order_pay_within: Duration,
    pub order_reconcile_after: Duration,
    /// Zero turns the sweeps off.
    pub order_sweep_interval: Duration,
    /// Most unpaid orders a customer may hold at once.
    pub order_unpaid_max: u32,
    /// Most units of one product in one order.
    pub order_product_units_max: u32,
}

#[derive(Clone)]
pub struct RazorpayConfig {
    pub key_id: String,
    pub key_secret: SecretString,
    pub webhook_secrets: Vec<SecretString>,
}

#[derive(Clone)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub path_style: bool,
}

#[derive(Clone)]
pub struct Msg91Config {
    pub authkey: SecretString,
    pub template_id: String,
    pub base_url: String,
}

#[derive(Clone)]
pub struct SendGridConfig {
    pub api_key: SecretString,
    pub base_url: String,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |s: &Option<SecretString>| if s.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Settings")
            .field("env", &self.env)
            .field("addr", &self.addr)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("mongodb_url", &secret(&self.mongodb_url))
            .field("mongodb_database", &self.mongodb_database)
            .field("redis_url", &secret(&self.redis_url))
            .field("redis_key_prefix", &self.redis_key_prefix)
            .field("redis_replica_acks", &self.redis_replica_acks)
            .field("redis_replica_ack_timeout", &self.redis_replica_ack_timeout)
            .field("backend_timeout", &self.backend_timeout)
            .field("breaker", &self.breaker)
            .field("request_timeout", &self.request_timeout)
            .field("shutdown_delay", &self.shutdown_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("body_limit_bytes", &self.body_limit_bytes)
            .field("cors_origins", &self.cors_origins)
            .field("product_categories", &self.product_categories)
            .field("cache_l1_ttl_ms", &self.cache_l1_ttl_ms)
            .field("cache_l1_capacity", &self.cache_l1_capacity)
            .field("cache_l2_ttl_secs", &self.cache_l2_ttl_secs)
            .field(
                "rate_limit_default_per_minute",
                &self.rate_limit_default_per_minute,
            )
            .field(
                "rate_limit_auth_per_minute",
                &self.rate_limit_auth_per_minute,
            )
            .field("rate_limit_otp_per_hour", &self.rate_limit_otp_per_hour)
            .field("idempotency_ttl", &self.idempotency_ttl)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_addr", &self.metrics_addr)
            .field("metrics_token", &secret(&self.metrics_token))
            .field(
                "jwt_keys",
                &self.jwt_keys.iter().map(|(kid, _)| kid).collect::<Vec<_>>(),
            )
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("admin", &self.admin.as_ref().map(|(phone, _)| phone))
            .field("msg91", &self.msg91.is_some())
            .field(
                "razorpay",
                &self.razorpay.as_ref().map(|r| r.key_id.as_str()),
            )
            .field("gst_rate_bp", &self.gst_rate_bp)
            .field("sendgrid", &self.sendgrid.is_some())
            .field(
                "s3",
                &self
                    .s3
                    .as_ref()
                    .map(|s| (&s.endpoint, &s.bucket, &s.region)),
            )
            .field("files_max_bytes", &self.files_max_bytes)
            .field("files_allowed_types", &self.files_allowed_types)
            .field("files_upload_url_ttl", &self.files_upload_url_ttl)
            .field("files_quota", &self.files_quota)
            .field("files_dir", &self.files_dir)
            .field("outbox", &self.outbox)
            .finish_non_exhaustive()
    }
}

/// Every problem found in the configuration.
#[derive(Debug)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "invalid configuration ({} problems):", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The merged raw values, with where each came from (for error messages).
struct Layers {
    values: BTreeMap<&'static str, (String, &'static str)>,
    errors: Vec<String>,
}

fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

fn spec(key: &str) -> Option<&'static SettingSpec> {
    SETTINGS.iter().find(|s| s.key == key)
}

impl Layers {
    fn new() -> Self {
        let values = SETTINGS
            .iter()
            .filter_map(|s| s.default.map(|d| (s.key, (d.to_owned(), "default"))))
            .collect();
        Self {
            values,
            errors: Vec::new(),
        }
    }

    fn file(&mut self, path: &Path) {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors
                    .push(format!("config file {}: {e}", path.display()));
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(format!(
                    "config file {}: not valid TOML: {e}",
                    path.display()
                ));
                return;
            }
        };
        for (key, value) in table {
            let Some(spec) = spec(&key) else {
                self.errors.push(format!(
                    "config file {}: unknown setting `{key}`",
                    path.display()
                ));
                continue;
            };
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => {
                    self.errors.push(format!(
                        "config file {}: `{key}` must be a string, number or list, not {}",
                        path.display(),
                        other.type_str()
                    ));
                    continue;
                }
            };
            self.values.insert(spec.key, (text, "config file"));
        }
    }

    fn env(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            // BAZAAR_CONFIG names the file; BAZAAR_TEST_* belong to the test harness.
            if rest == "CONFIG" || rest.starts_with("TEST_") {
                continue;
            }
            match spec(&rest.to_ascii_lowercase()) {
                Some(spec) => {
                    self.values.insert(spec.key, (value, "environment"));
                }
                None => self.errors.push(format!(
                    "{name}: unknown setting (see docs/configuration.md for the list)"
                )),
            }
        }
    }
}

/// Parses one setting, recording an error (which never contains a secret value).
struct Parser {
    layers: Layers,
}

impl Parser {
    fn raw(&self, key: &str) -> Option<&str> {
        self.layers
            .values
            .get(key)
            .map(|(v, _)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn fail(&mut self, key: &str, why: String) {
        let shown = match (spec(key), self.layers.values.get(key)) {
            (Some(s), _) if s.secret => String::new(),
            (_, Some((v, _))) => format!(" `{v}`"),
            _ => String::new(),
        };
        let from = self
            .layers
            .values
            .get(key)
            .map(|(_, from)| *from)
            .unwrap_or("default");
        self.layers
            .errors
            .push(format!("{} (from {from}):{shown} {why}", env_name(key)));
    }

    /// Whether `key` still has its built-in default (no file or variable set it).
    fn is_default(&self, key: &str) -> bool {
        self.layers
            .values
            .get(key)
            .is_none_or(|(_, from)| *from == "default")
    }

    fn string(&mut self, key: &str) -> String {
        self.raw(key).unwrap_or_default().trim().to_owned()
    }

    fn parse<T: std::str::FromStr>(&mut self, key: &str, what: &str, fallback: T) -> T {
        let raw = self.string(key);
        match raw.parse() {
            Ok(v) => v,
            Err(_) => {
                self.fail(key, format!("is not {what}"));
                fallback
            }
        }
    }

    fn millis(&mut self, key: &str, min: u64, max: u64) -> Duration {
        let ms: u64 = self.parse(key, "a whole number of milliseconds", min);
        if !(min..=max).contains(&ms) {
            self.fail(key, format!("must be between {min} and {max} milliseconds"));
        }
        Duration::from_millis(ms)
    }

    fn list(&mut self, key: &str) -> Vec<String> {
        self.string(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn secret_url(&mut self, key: &str, schemes: &[&str]) -> Option<SecretString> {
        let raw = self.raw(key)?.trim().to_owned();
        if !schemes.iter().any(|s| raw.starts_with(s)) {
            self.fail(key, format!("must start with {}", schemes.join(" or ")));
        }
        Some(SecretString::from(raw))
    }

    /// One Redis URL, or a comma-separated list of Redis Cluster seed URLs.
    fn redis_url(&mut self, key: &str) -> Option<SecretString> {
        let raw = self.raw(key)?.trim().to_owned();
        let seeds = seed_urls(&raw);
        let valid = |seed: &String| {
            ["redis://", "rediss://"]
                .iter()
                .any(|s| seed.starts_with(s))
                && url::Url::parse(seed).is_ok()
        };
        if seeds.is_empty() || !seeds.iter().all(valid) {
            self.fail(
                key,
                "must be a redis:// or rediss:// URL, or a comma-separated list of them \
                 (Redis Cluster seed nodes)"
                    .into(),
            );
        }
        Some(SecretString::from(raw))
    }
}

/// The S3 settings, all or nothing: with `s3_endpoint` set, the bucket and both keys are
/// required too.
fn s3_config(p: &mut Parser) -> Option<S3Config> {
    let endpoint = p.raw("s3_endpoint").map(|e| e.trim().to_owned());
    let region = p.string("s3_region");
    let bucket = p.string("s3_bucket");
    let access_key_id = p.string("s3_access_key_id");
    let secret = p.raw("s3_secret_access_key").map(str::to_owned);
    let path_style = match p.string("s3_path_style").as_str() {
        "true" => true,
        "false" => false,
        _ => {
            p.fail("s3_path_style", "must be `true` or `false`".into());
            false
        }
    };
    let Some(endpoint) = endpoint else {
        for key in ["s3_bucket", "s3_access_key_id", "s3_secret_access_key"] {
            if p.raw(key).is_some() {
                p.fail(
                    key,
                    "is only used with BAZAAR_S3_ENDPOINT, which is not set".into(),
                );
            }
        }
        return None;
    };
    if url::Url::parse(&endpoint)
        .map(|u| !matches!(u.scheme(), "http" | "https"))
        .unwrap_or(true)
    {
        p.fail("s3_endpoint", "must be an http(s) URL".into());
    }
    if region.is_empty() {
        p.fail("s3_region", "must not be empty".into());
    }
    for (key, value) in [("s3_bucket", &bucket), ("s3_access_key_id", &access_key_id)] {
        if value.is_empty() {
            p.fail(key, "is required with BAZAAR_S3_ENDPOINT".into());
        }
    }
    if secret.is_none() {
        p.fail(
            "s3_secret_access_key",
            "is required with BAZAAR_S3_ENDPOINT".into(),
        );
    }
    Some(S3Config {
        endpoint,
        region,
        bucket,
        access_key_id,
        secret_access_key: SecretString::from(secret.unwrap_or_default()),
        path_style,
    })
}

/// The MSG91 flow of each notice. The defaults are placeholders for the fake provider, so
/// with a real MSG91 key each must be set.
fn notice_flows(p: &mut Parser, real_msg91: bool) -> PerNotice<String> {
    PerNotice::from_fn(|kind: NoticeKind| {
        let key = format!("msg91_flow_{}", kind.as_str());
        if real_msg91 && p.is_default(&key) {
            p.fail(&key, "is required with BAZAAR_MSG91_AUTHKEY".into());
        }
        p.string(&key)
    })
}

/// The outbox worker's settings. One delivery (three attempts of the provider timeout, and
/// the waits between them) must fit in a lease, or another replica could take the message
/// while it is still being sent.
fn outbox_settings(p: &mut Parser, provider_timeout: Duration) -> OutboxSettings {
    let poll_interval = p.millis("outbox_poll_ms", 100, 60_000);
    let lease_secs: u64 = p.parse("outbox_lease_secs", "a whole number of seconds", 60);
    let lease = Duration::from_secs(lease_secs);
    let longest_delivery = provider_timeout * 3 + Duration::from_secs(10);
    if !(1..=3600).contains(&lease_secs) {
        p.fail("outbox_lease_secs", "must be between 1 and 3600".into());
    } else if lease <= longest_delivery {
        p.fail(
            "outbox_lease_secs",
            format!(
                "must be longer than one delivery can take ({} s: three provider timeouts and the waits between them)",
                longest_delivery.as_secs()
            ),
        );
    }
    let batch_size: u32 = p.parse("outbox_batch_size", "a whole number", 10);
    if !(1..=100).contains(&batch_size) {
        p.fail("outbox_batch_size", "must be between 1 and 100".into());
    }
    let max_attempts: u32 = p.parse("outbox_max_attempts", "a whole number", 8);
    if !(1..=100).contains(&max_attempts) {
        p.fail("outbox_max_attempts", "must be between 1 and 100".into());
    }
    let base = p.millis("outbox_backoff_base_ms", 10, 3_600_000);
    let cap_secs: u64 = p.parse("outbox_backoff_cap_secs", "a whole number of seconds", 3600);
    let cap = Duration::from_secs(cap_secs);
    if !(1..=86_400).contains(&cap_secs) {
        p.fail(
            "outbox_backoff_cap_secs",
            "must be between 1 and 86400".into(),
        );
    } else if cap < base {
        p.fail(
            "outbox_backoff_cap_secs",
            "must not be shorter than BAZAAR_OUTBOX_BACKOFF_BASE_MS".into(),
        );
    }
    let cap_per_hour: u32 = p.parse(
        "outbox_cap_per_hour",
        "a whole number",
        DEFAULT_CAP_PER_HOUR,
    );
    OutboxSettings {
        poll_interval,
        lease,
        batch_size,
        schedule: RetrySchedule {
            base,
            cap,
            max_attempts,
        },
        cap_per_hour,
    }
}

impl Settings {
    /// Loads from the process environment and, if named by `--config` or
    /// `BAZAAR_CONFIG`, a TOML file.
    pub fn load(config_file: Option<&Path>) -> Result<Self, ConfigErrors> {
        let from_env = std::env::var_os("BAZAAR_CONFIG").map(std::path::PathBuf::from);
        let file = config_file.map(Path::to_path_buf).or(from_env);
        Self::from_sources(file.as_deref(), std::env::vars())
    }

    /// Loads from explicit sources; tests use this.
    pub fn from_sources(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigErrors> {
        let mut layers = Layers::new();
        if let Some(file) = file {
            layers.file(file);
        }
        layers.env(env);
        let mut p = Parser { layers };

        let env = match p.string("env").as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ => {
                p.fail("env", "must be `development` or `production`".into());
                Environment::Development
            }
        };
        let addr = p.parse(
            "addr",
            "a socket address like 127.0.0.1:8080",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
        );
        let log_format = match p.string("log_format").as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => {
                p.fail("log_format", "must be `text` or `json`".into());
                LogFormat::Text
            }
        };
        let log_level = p.string("log_level");
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            p.fail("log_level", "is not a valid tracing filter".into());
        }
        let mongodb_url = p.secret_url("mongodb_url", &["mongodb://", "mongodb+srv://"]);
        let mongodb_database = p.string("mongodb_database");
        if mongodb_database.is_empty()
            || mongodb_database.len() > 63
            || mongodb_database.contains(['/', '\\', '.', ' ', '"', '$'])
        {
            p.fail(
                "mongodb_database",
                "is not a valid MongoDB database name".into(),
            );
        }
        let redis_url = p.redis_url("redis_url");
        let redis_key_prefix = p.string("redis_key_prefix");
        if redis_key_prefix.contains(['{', '}']) {
            p.fail(
                "redis_key_prefix",
                "may not contain `{` or `}`: Redis Cluster would read them as a hash tag and \
                 put keys that must stay together in different slots"
                    .into(),
            );
        }
        let backend_timeout = p.millis("backend_timeout_ms", 100, 60_000);
        let redis_replica_acks: u32 = p.parse("redis_replica_acks", "a whole number", 0);
        if redis_replica_acks > 5 {
            p.fail("redis_replica_acks", "must be between 0 and 5".into());
        }
        let redis_replica_ack_timeout = p.millis("redis_replica_ack_timeout_ms", 1, 10_000);
        if redis_replica_ack_timeout >= backend_timeout {
            p.fail(
                "redis_replica_ack_timeout_ms",
                "must be shorter than BAZAAR_BACKEND_TIMEOUT_MS, which bounds the write and its wait together".into(),
            );
        }
        let breaker = BreakerSettings {
            failures: p.parse("breaker_failures", "a whole number", 5),
            open_for: p.millis("breaker_open_ms", 10, 60_000),
        };
        let request_timeout = p.millis("request_timeout_ms", 100, 600_000);
        let shutdown_delay = p.millis("shutdown_delay_ms", 0, 600_000);
        let shutdown_timeout = p.millis("shutdown_timeout_ms", 0, 600_000);
        let body_limit_bytes: usize = p.parse("body_limit_bytes", "a number of bytes", 1 << 20);
        if !(1024..=100 << 20).contains(&body_limit_bytes) {
            p.fail(
                "body_limit_bytes",
                "must be between 1024 and 104857600".into(),
            );
        }
        let cors_origins = p.list("cors_origins");
        for origin in &cors_origins {
            let ok = origin == "*"
                || url::Url::parse(origin).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.path() == "/"
                        && !origin.ends_with('/')
                });
            if !ok {
                let why = format!("`{origin}` is not an origin like https://shop.example.in");
                p.fail("cors_origins", why);
            }
        }
        let product_categories = p.list("product_categories");
        if product_categories.is_empty() {
            p.fail(
                "product_categories",
                "must name at least one category".into(),
            );
        }
        let cache_l1_ttl_ms = p.parse("cache_l1_ttl_ms", "a whole number of milliseconds", 0);
        let cache_l1_capacity = p.parse("cache_l1_capacity", "a whole number", 0);
        let cache_l2_ttl_secs = p.parse("cache_l2_ttl_secs", "a whole number of seconds", 1);
        let rate_limit_default_per_minute =
            p.parse("rate_limit_default_per_minute", "a whole number", 0);
        let rate_limit_auth_per_minute = p.parse("rate_limit_auth_per_minute", "a whole number", 0);
        let rate_limit_otp_per_hour = p.parse("rate_limit_otp_per_hour", "a whole number", 0);
        let idempotency_ttl_secs: u64 =
            p.parse("idempotency_ttl_secs", "a whole number of seconds", 86_400);
        if !(60..=604_800).contains(&idempotency_ttl_secs) {
            p.fail(
                "idempotency_ttl_secs",
                "must be between 60 and 604800".into(),
            );
        }
        let idempotency_ttl = Duration::from_secs(idempotency_ttl_secs);
        let mut trusted_proxies = Vec::new();
        for entry in p.list("trusted_proxies") {
            let parsed = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => p.fail(
                    "trusted_proxies",
                    format!("`{entry}` is not an IP address or CIDR"),
                ),
            }
        }
        let metrics_addr = p.raw("metrics_addr").is_some().then(|| {
            p.parse(
                "metrics_addr",
                "a socket address like 0.0.0.0:9090",
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
        });
        if metrics_addr.is_some_and(|m| m == addr && addr.port() != 0) {
            p.fail(
                "metrics_addr",
                "must differ from BAZAAR_ADDR: metrics get a listener of their own".into(),
            );
        }
        let metrics_token = p.raw("metrics_token").map(|t| t.trim().to_owned());
        if let Some(token) = &metrics_token {
            if token.len() < 32 {
                p.fail("metrics_token", "must be at least 32 bytes".into());
            } else if env == Environment::Production {
                if let Some(why) = weak_production_secret(token) {
                    p.fail("metrics_token", why.into());
                }
            }
        }
        let metrics_token = metrics_token.map(SecretString::from);
        let raw_keys = p.string("jwt_keys");
        let mut jwt_keys = Vec::new();
        for pair in raw_keys.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match pair.split_once(':') {
                Some((kid, secret)) if !kid.is_empty() && secret.len() >= 32 => {
                    if env == Environment::Production {
                        if let Some(why) = weak_production_secret(secret) {
                            p.fail("jwt_keys", format!("key `{kid}` {why}"));
                        }
                    }
                    jwt_keys.push((kid.to_owned(), SecretString::from(secret.to_owned())));
                }
                _ => {
                    p.fail(
                        "jwt_keys",
                        "must be `kid:secret` pairs with secrets of at least 32 bytes".into(),
                    );
                    break;
                }
            }
        }
        if jwt_keys.is_empty()
            && p.layers
                .errors
                .iter()
                .all(|e| !e.contains("BAZAAR_JWT_KEYS"))
        {
            p.fail("jwt_keys", "must name at least one key".into());
        }
        let jwt_issuer = p.string("jwt_issuer");
        let jwt_audience = p.string("jwt_audience");
        let access_token_ttl =
            Duration::from_secs(p.parse("access_token_ttl_secs", "a whole number of seconds", 900));
        if !(60..=86_400).contains(&access_token_ttl.as_secs()) {
            p.fail(
                "access_token_ttl_secs",
                "must be between 60 and 86400".into(),
            );
        }
        let refresh_days: u64 = p.parse("refresh_token_ttl_days", "a whole number of days", 30);
        if !(1..=365).contains(&refresh_days) {
            p.fail("refresh_token_ttl_days", "must be between 1 and 365".into());
        }
        let refresh_token_ttl = Duration::from_secs(refresh_days * 86_400);
        let otp_secret = p.string("otp_secret");
        if otp_secret.len() < 32 {
            p.fail("otp_secret", "must be at least 32 bytes".into());
        } else if env == Environment::Production {
            if let Some(why) = weak_production_secret(&otp_secret) {
                p.fail("otp_secret", why.into());
            }
        }
        let otp_secret = SecretString::from(otp_secret);
        let otp_cooldown_secs: u64 = p.parse("otp_cooldown_secs", "a whole number of seconds", 30);
        if !(1..=3600).contains(&otp_cooldown_secs) {
            p.fail("otp_cooldown_secs", "must be between 1 and 3600".into());
        }
        let otp_cooldown = Duration::from_secs(otp_cooldown_secs);
        let argon2_memory_kib = p.parse("argon2_memory_kib", "a whole number of KiB", 19_456);
        if !(8..=1_048_576).contains(&argon2_memory_kib) {
            p.fail("argon2_memory_kib", "must be between 8 and 1048576".into());
        }
        let argon2_iterations = p.parse("argon2_iterations", "a whole number", 2);
        if !(1..=10).contains(&argon2_iterations) {
            p.fail("argon2_iterations", "must be between 1 and 10".into());
        }
        let admin_phone = p.raw("admin_phone").map(str::to_owned);
        let admin_password = p
            .raw("admin_password")
            .map(|s| SecretString::from(s.to_owned()));
        let admin = match (admin_phone, admin_password) {
            (Some(phone), Some(password)) => {
                if crate::domain::user::Phone::parse("admin_phone", &phone).is_err() {
                    p.fail("admin_phone", "is not a valid phone number".into());
                }
                if crate::domain::user::Password::parse("admin_password", password.expose_secret())
                    .is_err()
                {
                    p.fail("admin_password", "must be 8 to 128 characters".into());
                }
                Some((phone, password))
            }
            (None, None) => None,
            (Some(_), None) => {
                p.fail(
                    "admin_password",
                    "is required with BAZAAR_ADMIN_PHONE".into(),
                );
                None
            }
            (None, Some(_)) => {
                p.fail(
                    "admin_phone",
                    "is required with BAZAAR_ADMIN_PASSWORD".into(),
                );
                None
            }
        };
        let msg91 = p.raw("msg91_authkey").map(|key| Msg91Config {
            authkey: SecretString::from(key.to_owned()),
            template_id: String::new(),
            base_url: String::new(),
        });
        let msg91_template_id = p.string("msg91_template_id");
        let msg91_base_url = p.string("msg91_base_url");
        let msg91 = msg91.map(|m| Msg91Config {
            template_id: msg91_template_id.clone(),
            base_url: msg91_base_url.clone(),
            ..m
        });
        if msg91.is_some() && msg91_template_id.is_empty() {
            p.fail(
                "msg91_template_id",
                "is required with BAZAAR_MSG91_AUTHKEY".into(),
            );
        }
        let sendgrid_base_url = p.string("sendgrid_base_url");
        let sendgrid = p.raw("sendgrid_api_key").map(|key| SendGridConfig {
            api_key: SecretString::from(key.to_owned()),
            base_url: sendgrid_base_url.clone(),
        });
        for (key, url) in [
            ("msg91_base_url", &msg91_base_url),
            ("sendgrid_base_url", &sendgrid_base_url),
        ] {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                p.fail(key, "must be an http(s) URL".into());
            }
        }
        let sendgrid_from_email = p.string("sendgrid_from_email");
        let sendgrid_from_name = p.string("sendgrid_from_name");
        let sendgrid_template_verify_email = p.string("sendgrid_template_verify_email");
        // Like MSG91's flows: the placeholders only mean something to the fake.
        let real_sendgrid = sendgrid.is_some();
        let sendgrid_notice_templates = PerNotice::from_fn(|kind| {
            let key = format!("sendgrid_template_{}", kind.as_str());
            if real_sendgrid && p.is_default(&key) {
                p.fail(&key, "is required with BAZAAR_SENDGRID_API_KEY".into());
            }
            p.string(&key)
        });
        let msg91_sender = p.string("msg91_sender");
        let msg91_notice_flows = notice_flows(&mut p, msg91.is_some());
        let public_url = p.string("public_url").trim_end_matches('/').to_owned();
        if url::Url::parse(&public_url).is_err() {
            p.fail("public_url", "is not a URL".into());
        }
        let provider_timeout = p.millis("provider_timeout_ms", 100, 60_000);
        let outbox = outbox_settings(&mut p, provider_timeout);
        let s3 = s3_config(&mut p);
        let files_max_bytes: u64 = p.parse("files_max_bytes", "a number of bytes", 10 << 20);
        if !(1..=5 << 30).contains(&files_max_bytes) {
            p.fail("files_max_bytes", "must be between 1 and 5368709120".into());
        }
        let files_allowed_types: Vec<String> = p
            .list("files_allowed_types")
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        if files_allowed_types.is_empty() {
            p.fail(
                "files_allowed_types",
                "must name at least one media type".into(),
            );
        }
        for media_type in &files_allowed_types {
            if !crate::domain::file::is_media_type(media_type) {
                let why = format!("`{media_type}` is not a media type like image/png");
                p.fail("files_allowed_types", why);
            }
        }
        let files_upload_url_ttl: u64 = p.parse(
            "files_upload_url_ttl_secs",
            "a whole number of seconds",
            900,
        );
        // S3's bounds on a presigned URL's validity.
        if !(1..=604_800).contains(&files_upload_url_ttl) {
            p.fail(
                "files_upload_url_ttl_secs",
                "must be between 1 and 604800 (7 days)".into(),
            );
        }
        let files_quota = crate::domain::file::UploadQuota {
            max_files: Some(p.parse("files_quota_count", "a number of files", 100))
                .filter(|&n: &u64| n > 0),
            max_bytes: Some(p.parse("files_quota_bytes", "a number of bytes", 200 << 20))
                .filter(|&n: &u64| n > 0),
        };
        let files_dir = p
            .raw("files_dir")
            .map(|dir| std::path::PathBuf::from(dir.trim()))
            .unwrap_or_else(|| std::env::temp_dir().join("bazaar-uploads"));

        let razorpay = razorpay_config(&mut p);
        let razorpay_base_url = p.string("razorpay_base_url");
        if !razorpay_base_url.starts_with("http://") && !razorpay_base_url.starts_with("https://") {
            p.fail("razorpay_base_url", "must be an http(s) URL".into());
        }
        let gst_rate_bp: u32 = p.parse("gst_rate_bp", "a whole number of basis points", 1800);
        if gst_rate_bp > 10_000 {
            p.fail("gst_rate_bp", "must be at most 10000 (100%)".into());
        }
        let secs = |p: &mut Parser, key: &str, fallback: u64| {
            Duration::from_secs(p.parse(key, "a whole number of seconds", fallback))
        };
        let order_pay_within = secs(&mut p, "order_pay_within_secs", 1800);
        let order_reconcile_after = secs(&mut p, "order_reconcile_after_secs", 900);
        let order_sweep_interval = secs(&mut p, "order_sweep_interval_secs", 30);
        // A week is far beyond any checkout; the bound keeps date arithmetic safe.
        const WEEK: Duration = Duration::from_secs(7 * 24 * 3600);
        if order_pay_within.is_zero() || order_pay_within > WEEK {
            p.fail(
                "order_pay_within_secs",
                "must be between 1 and 604800".into(),
            );
        }
        if order_reconcile_after > WEEK {
            p.fail(
                "order_reconcile_after_secs",
                "must be at most 604800".into(),
            );
        }
        let order_unpaid_max: u32 = p.parse("order_unpaid_max", "a whole number of orders", 3);
        if !(1..=100).contains(&order_unpaid_max) {
            p.fail("order_unpaid_max", "must be between 1 and 100".into());
        }
        let order_product_units_max: u32 =
            p.parse("order_product_units_max", "a whole number of units", 10);
        if !(1..=crate::domain::order::request::MAX_QUANTITY).contains(&order_product_units_max) {
            let why = format!(
                "must be between 1 and {}",
                crate::domain::order::request::MAX_QUANTITY
            );
            p.fail("order_product_units_max", why);
        }

        if env == Environment::Production {
            production_secrets(&mut p);
            if razorpay.is_none() {
                p.fail(
                    "razorpay_key_id",
                    "is required in production: the fake Razorpay takes no money".into(),
                );
            }
            if s3.is_none() {
                p.fail("s3_endpoint", "is required in production: the local upload store is served by the development server and is not shared by replicas".into());
            }
            if cors_origins.iter().any(|o| o == "*") {
                p.fail(
                    "cors_origins",
                    "must list origins in production, not `*`".into(),
                );
            }
        }

        let errors = p.layers.errors;
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Self {
            env,
            addr,
            log_format,
            log_level,
            mongodb_url,
            mongodb_database,
            redis_url,
            redis_key_prefix,
            redis_replica_acks,
            redis_replica_ack_timeout,
            backend_timeout,
            breaker,
            request_timeout,
            shutdown_delay,
            shutdown_timeout,
            body_limit_bytes,
            cors_origins,
            product_categories,
            cache_l1_ttl_ms,
            cache_l1_capacity,
            cache_l2_ttl_secs,
            rate_limit_default_per_minute,
            rate_limit_auth_per_minute,
            rate_limit_otp_per_hour,
            idempotency_ttl,
            trusted_proxies,
            metrics_addr,
            metrics_token,
            jwt_keys,
            jwt_issuer,
            jwt_audience,
            access_token_ttl,
            refresh_token_ttl,
            otp_secret,
            otp_cooldown,
            argon2_memory_kib,
            argon2_iterations,
            admin,
            msg91,
            sendgrid,
            sendgrid_from_email,
            sendgrid_from_name,
            sendgrid_template_verify_email,
            sendgrid_notice_templates,
            msg91_notice_flows,
            msg91_sender,
            public_url,
            provider_timeout,
            outbox,
            s3,
            files_max_bytes,
            files_allowed_types,
            files_upload_url_ttl: Duration::from_secs(files_upload_url_ttl),
            files_quota,
            files_dir,
            razorpay,
            razorpay_base_url,
            gst_rate_bp,
            order_pay_within,
            order_reconcile_after,
            order_sweep_interval,
            order_unpaid_max,
            order_product_units_max,
        })
    }

    pub fn mongodb_url(&self) -> Option<&str> {
        self.mongodb_url.as_ref().map(|s| s.expose_secret())
    }

    pub fn redis_url(&self) -> Option<&str> {
        self.redis_url.as_ref().map(|s| s.expose_secret())
    }
}

/// Razorpay's credentials: all three or none.
/// Secret settings production may leave unset: each only means something beside another
/// setting, which is checked with it.
/// (`metrics_token`: without it production serves no metrics on the API listener.)
pub const OPTIONAL_SECRETS_IN_PRODUCTION: &[&str] = &["admin_password", "metrics_token"];

/// The least estimated entropy of a signing key or OTP secret in production: 32 random bytes
/// written in hex or base64 estimate well above it, while a 16-byte hex string, a word
/// repeated or a sentence short enough to remember fall below.
const MIN_SECRET_ENTROPY_BITS: f64 = 160.0;

/// Why production needs a secret it was not given.
fn production_need(key: &str) -> &'static str {
    match key {
        "mongodb_url" => {
            "in-memory storage loses everything on restart and cannot be shared by replicas"
        }
        "redis_url" => "an in-process key-value store cannot be shared by replicas",
        "jwt_keys" | "otp_secret" => "the development default is public",
        "msg91_authkey" => "the fake SMS sender delivers no code and no notice",
        "sendgrid_api_key" => "the fake email sender delivers nothing",
        "s3_secret_access_key" => "uploads go to S3 in production",
        "razorpay_key_secret" | "razorpay_webhook_secrets" => "the fake Razorpay takes no money",
        _ => "it has no safe default",
    }
}

/// Production refuses every secret it was not given and every development default, read
/// from the `secret` column of [`SETTINGS`], so a new secret cannot be forgotten here.
fn production_secrets(p: &mut Parser) {
    for spec in SETTINGS.iter().filter(|s| s.secret) {
        let prefix = format!("{} (", env_name(spec.key));
        if p.layers.errors.iter().any(|e| e.starts_with(&prefix)) {
            continue; // already reported, e.g. as required beside another setting
        }
        let value = p.raw(spec.key).map(str::trim);
        match value {
            None if OPTIONAL_SECRETS_IN_PRODUCTION.contains(&spec.key) => {}
            None => p.fail(
                spec.key,
                format!("is required in production: {}", production_need(spec.key)),
            ),
            Some(value) if Some(value) == spec.default => p.fail(
                spec.key,
                "is the public development default, which production refuses: set a secret \
                 of your own (e.g. `openssl rand -hex 32`)"
                    .into(),
            ),
            Some(_) => {}
        }
    }
}

/// Whether `secret` could be a development or guessable key in production: the development
/// key's value (under any `kid`), or an estimated entropy under [`MIN_SECRET_ENTROPY_BITS`].
fn weak_production_secret(secret: &str) -> Option<&'static str> {
    let dev_jwt_secrets = DEV_JWT_KEYS
        .split(',')
        .filter_map(|pair| pair.split_once(':'));
    if dev_jwt_secrets.into_iter().any(|(_, dev)| dev == secret) || secret == DEV_OTP_SECRET {
        return Some("is the public development key, which production refuses");
    }
    if estimated_entropy_bits(secret) < MIN_SECRET_ENTROPY_BITS {
        return Some(
            "does not look random: production needs at least 32 random bytes \
             (e.g. `openssl rand -hex 32`)",
        );
    }
    None
}

/// The plug-in Shannon estimate of `s`'s entropy: its length times the entropy of its own
/// character frequencies. It cannot prove randomness; it catches short, repetitive or
/// low-variety secrets.
fn estimated_entropy_bits(s: &str) -> f64 {
    let mut counts = BTreeMap::<char, usize>::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&c| {
            let f = c as f64 / n;
            -f * f.log2()
        })
        .sum();
    per_char * n
}

fn razorpay_config(p: &mut Parser) -> Option<RazorpayConfig> {
    let key_id = p.raw("razorpay_key_id").map(str::trim).map(str::to_owned);
    let key_secret = p.raw("razorpay_key_secret").map(str::to_owned);
    let webhook_secrets: Vec<SecretString> = p
        .raw("razorpay_webhook_secrets")
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| SecretString::from(s.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let Some(key_id) = key_id.filter(|k| !k.is_empty()) else {
        if key_secret.is_some() || !webhook_secrets.is_empty() {
            p.fail(
                "razorpay_key_id",
                "is required with BAZAAR_RAZORPAY_KEY_SECRET or BAZAAR_RAZORPAY_WEBHOOK_SECRETS"
                    .into(),
            );
        }
        return None;
    };
    if key_secret.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.fail(
            "razorpay_key_secret",
            "is required with BAZAAR_RAZORPAY_KEY_ID".into(),
        );
    }
    if webhook_secrets.is_empty() {
        p.fail(
            "razorpay_webhook_secrets",
            "is required with BAZAAR_RAZORPAY_KEY_ID".into(),
        );
    }
    Some(RazorpayConfig {
        key_id,
        key_secret: SecretString::from(key_secret.unwrap_or_default()),
        webhook_secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_give_an_embedded_development_server() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!(s.env, Environment::Development);
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert!(s.mongodb_url.is_none() && s.redis_url.is_none());
        assert_eq!(s.rate_limit_default_per_minute, 600);
        assert_eq!(s.jwt_keys[0].0, "dev");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bazaar.toml");
        std::fs::write(&file, "addr = \"0.0.0.0:9000\"\nbody_limit_bytes = 4096\nproduct_categories = [\"a\", \"b\"]\n").unwrap();
        let s = Settings::from_sources(Some(&file), vars(&[("BAZAAR_ADDR", "127.0.0.1:9100")]))
            .unwrap();
        assert_eq!(s.addr.to_string(), "127.0.0.1:9100");
        assert_eq!(s.body_limit_bytes, 4096);
        assert_eq!(s.product_categories, ["a", "b"]);
    }

    #[test]
    fn every_bad_setting_is_reported_and_secrets_are_not_echoed() {
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_ADDR", "nowhere"),
                ("BAZAAR_LOG_FORMAT", "xml"),
                ("BAZAAR_MONGODB_URL", "postgres://admin:hunter2@db"),
                ("BAZAAR_BODY_LIMIT_BYTES", "lots"),
                ("BAZAAR_MONGO_URL", "typo"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 5, "{text}");
        for name in [
            "BAZAAR_ADDR",
            "BAZAAR_LOG_FORMAT",
            "BAZAAR_MONGODB_URL",
            "BAZAAR_BODY_LIMIT_BYTES",
            "BAZAAR_MONGO_URL",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(!text.contains("hunter2"), "secret leaked: {text}");
    }

    #[test]
    fn production_refuses_in_memory_backends() {
        let err = Settings::from_sources(None, vars(&[("BAZAAR_ENV", "production")])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("BAZAAR_MONGODB_URL")
                && text.contains("BAZAAR_REDIS_URL")
                && text.contains("BAZAAR_S3_ENDPOINT")
                && text.contains("BAZAAR_RAZORPAY_KEY_ID"),
            "{text}"
        );
        let ok = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_ENV", "production"),
                ("BAZAAR_MONGODB_URL", "mongodb://db:27017"),
                ("BAZAAR_REDIS_URL", "redis://cache:6379"),
                ("BAZAAR_S3_ENDPOINT", "https://s3.ap-south-1.amazonaws.com"),
                ("BAZAAR_S3_REGION", "ap-south-1"),
                ("BAZAAR_S3_BUCKET", "bazaar-uploads"),
                ("BAZAAR_S3_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                ("BAZAAR_S3_SECRET_ACCESS_KEY", "hunter2hunter2"),
                ("BAZAAR_RAZORPAY_KEY_ID", "rzp_live_example"),
                ("BAZAAR_RAZORPAY_KEY_SECRET", "razorpay-key-secret"),
                (
                    "BAZAAR_RAZORPAY_WEBHOOK_SECRETS",
                    "webhook-secret-new,webhook-secret-old",
                ),
                ("BAZAAR_JWT_KEYS", PRODUCTION_JWT_KEYS),
                ("BAZAAR_OTP_SECRET", PRODUCTION_OTP_SECRET),
                ("BAZAAR_MSG91_AUTHKEY", "msg91-auth-key"),
                ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
                ("BAZAAR_MSG91_FLOW_ORDER_CONFIRMATION", "flow-1"),
                ("BAZAAR_MSG91_FLOW_PAYMENT_RECEIPT", "flow-2"),
                ("BAZAAR_MSG91_FLOW_REFUND", "flow-3"),
                ("BAZAAR_MSG91_FLOW_CANCELLATION", "flow-4"),
                ("BAZAAR_SENDGRID_API_KEY", "SG.sendgrid-key"),
                ("BAZAAR_SENDGRID_TEMPLATE_ORDER_CONFIRMATION", "d-1"),
                ("BAZAAR_SENDGRID_TEMPLATE_PAYMENT_RECEIPT", "d-2"),
                ("BAZAAR_SENDGRID_TEMPLATE_REFUND", "d-3"),
                ("BAZAAR_SENDGRID_TEMPLATE_CANCELLATION", "d-4"),
            ]),
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
        let razorpay = ok.unwrap().razorpay.expect("Razorpay is configured");
        assert_eq!(razorpay.webhook_secrets.len(), 2);
    }

    /// 32 random bytes in hex, as `openssl rand -hex 32` makes them.
    const PRODUCTION_JWT_KEYS: &str =
        "k1:6f1c0e9a4b7d2f83c5a1e0b9d4f7a2c68e3b1d0f9a7c5e2b4d8f1a3c6e9b0d27";
    const PRODUCTION_OTP_SECRET: &str =
        "c29f8b1e4a7d03f6e9b2c5a8d1f4e7b0a3c6d9f2e5b8a1d4c7f0e3b6a9d2c5f8";

    #[test]
    fn production_names_every_missing_secret_at_once() {
        let text = Settings::from_sources(None, vars(&[("BAZAAR_ENV", "production")]))
            .unwrap_err()
            .to_string();
        for spec in SETTINGS.iter().filter(|s| s.secret) {
            let name = env_name(spec.key);
            let expected = !OPTIONAL_SECRETS_IN_PRODUCTION.contains(&spec.key);
            assert_eq!(text.contains(&name), expected, "{name} in:\n{text}");
        }
        assert!(!text.contains(DEV_OTP_SECRET) && !text.contains("bazaar-development-signing"));
    }

    #[test]
    fn production_refuses_the_development_keys_under_any_name_and_weak_keys() {
        let dev_secret = DEV_JWT_KEYS.split_once(':').unwrap().1;
        for (keys, otp) in [
            (DEV_JWT_KEYS.to_owned(), PRODUCTION_OTP_SECRET.to_owned()),
            (
                format!("new:{dev_secret}"),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (
                format!("{PRODUCTION_JWT_KEYS},old:{dev_secret}"),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            // 16 random bytes in hex: 32 characters, half the entropy asked for.
            (
                "k1:9f86d081884c7d659a2feaa0c55ad015".to_owned(),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (
                format!("k1:{}", "secret".repeat(8)),
                PRODUCTION_OTP_SECRET.to_owned(),
            ),
            (PRODUCTION_JWT_KEYS.to_owned(), DEV_OTP_SECRET.to_owned()),
            (PRODUCTION_JWT_KEYS.to_owned(), "a".repeat(64)),
        ] {
            let env = vars(&[
                ("BAZAAR_ENV", "production"),
                ("BAZAAR_JWT_KEYS", &keys),
                ("BAZAAR_OTP_SECRET", &otp),
            ]);
            let text = Settings::from_sources(None, env).unwrap_err().to_string();
            let refused = if otp == PRODUCTION_OTP_SECRET {
                "BAZAAR_JWT_KEYS"
            } else {
                "BAZAAR_OTP_SECRET"
            };
            assert!(
                text.contains(refused),
                "{keys} / {otp} not refused:\n{text}"
            );
            assert!(
                !text.contains(dev_secret) && !text.contains(&otp),
                "a secret leaked:\n{text}"
            );
        }
        // The development profile keeps its zero-setup defaults.
        assert!(Settings::from_sources(None, vars(&[])).is_ok());
    }

    #[test]
    fn random_secrets_estimate_above_the_bar_and_guessable_ones_below() {
        assert!(estimated_entropy_bits(PRODUCTION_OTP_SECRET) >= MIN_SECRET_ENTROPY_BITS);
        // 32 random bytes in base64, as `openssl rand -base64 32` makes them.
        assert!(
            estimated_entropy_bits("q3Nl0vX8Zp2mB7cK1rT9wY4hJ6dF5gS0aE8uI2oL3nQ=")
                >= MIN_SECRET_ENTROPY_BITS
        );
        assert!(
            estimated_entropy_bits("correct horse battery staple!!!!") < MIN_SECRET_ENTROPY_BITS
        );
        assert!(estimated_entropy_bits(&"ab".repeat(40)) < MIN_SECRET_ENTROPY_BITS);
    }

    #[test]
    fn razorpay_credentials_come_together_and_stay_out_of_errors() {
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_RAZORPAY_KEY_ID", "rzp_test_example")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("BAZAAR_RAZORPAY_KEY_SECRET"), "{err}");
        assert!(err.contains("BAZAAR_RAZORPAY_WEBHOOK_SECRETS"), "{err}");
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_GST_RATE_BP", "10001"),
                ("BAZAAR_RAZORPAY_KEY_SECRET", "s3cr3t-value"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("BAZAAR_GST_RATE_BP"), "{err}");
        assert!(!err.contains("s3cr3t-value"), "{err}");
    }

    #[test]
    fn s3_settings_come_all_together_and_keep_the_secret_out_of_errors() {
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_S3_ENDPOINT", "ftp://store"),
                ("BAZAAR_S3_SECRET_ACCESS_KEY", "hunter2"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        for name in [
            "BAZAAR_S3_ENDPOINT",
            "BAZAAR_S3_BUCKET",
            "BAZAAR_S3_ACCESS_KEY_ID",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
        assert!(!text.contains("hunter2"), "{text}");
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert!(s.s3.is_none());
        assert_eq!(s.files_max_bytes, 10 << 20);
        assert_eq!(s.files_allowed_types.len(), 5);
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_FILES_ALLOWED_TYPES", "image/png,png; x")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("BAZAAR_FILES_ALLOWED_TYPES"));
    }

    #[test]
    fn outbox_settings_default_to_a_patient_schedule_and_are_checked() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!(s.outbox, OutboxSettings::default());
        assert_eq!(
            s.sendgrid_notice_templates.get(NoticeKind::Refund),
            "d-refund"
        );
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_OUTBOX_LEASE_SECS", "20"),
                ("BAZAAR_OUTBOX_MAX_ATTEMPTS", "0"),
                ("BAZAAR_OUTBOX_BACKOFF_BASE_MS", "120000"),
                ("BAZAAR_OUTBOX_BACKOFF_CAP_SECS", "60"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        for name in [
            "BAZAAR_OUTBOX_LEASE_SECS",
            "BAZAAR_OUTBOX_MAX_ATTEMPTS",
            "BAZAAR_OUTBOX_BACKOFF_CAP_SECS",
        ] {
            assert!(text.contains(name), "{name} missing from {text}");
        }
    }

    #[test]
    fn order_limits_default_to_three_unpaid_orders_of_ten_units_and_are_checked() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!((s.order_unpaid_max, s.order_product_units_max), (3, 10));
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_ORDER_UNPAID_MAX", "0"),
                ("BAZAAR_ORDER_PRODUCT_UNITS_MAX", "1001"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 2, "{text}");
        assert!(text.contains("BAZAAR_ORDER_UNPAID_MAX"), "{text}");
        assert!(text.contains("BAZAAR_ORDER_PRODUCT_UNITS_MAX"), "{text}");
    }

    #[test]
    fn a_real_msg91_needs_a_flow_for_every_notice() {
        let err = Settings::from_sources(
            None,
            vars(&[
                ("BAZAAR_MSG91_AUTHKEY", "key"),
                ("BAZAAR_MSG91_TEMPLATE_ID", "otp-template"),
                ("BAZAAR_MSG91_FLOW_REFUND", "64f0c0ffee"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.0.len(), 3, "{text}");
        assert!(!text.contains("BAZAAR_MSG91_FLOW_REFUND"), "{text}");
        assert!(text.contains("BAZAAR_MSG91_FLOW_CANCELLATION"), "{text}");
    }

    #[test]
    fn a_redis_url_may_list_cluster_seeds_each_of_which_must_be_a_redis_url() {
        let seeds = "redis://:pw@a:7000, redis://:pw@b:7001,rediss://c:7002";
        let s = Settings::from_sources(None, vars(&[("BAZAAR_REDIS_URL", seeds)])).unwrap();
        assert_eq!(s.redis_url(), Some(seeds));
        let err = Settings::from_sources(
            None,
            vars(&[("BAZAAR_REDIS_URL", "redis://:s3cret@a:7000,http://b:7001")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("BAZAAR_REDIS_URL") && err.contains("comma-separated"),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }

    #[test]
    fn a_key_prefix_with_braces_is_refused_because_it_would_break_hash_tags() {
        for prefix in ["{shop}:", "shop}", "bazaar{"] {
            let err = Settings::from_sources(None, vars(&[("BAZAAR_REDIS_KEY_PREFIX", prefix)]))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("BAZAAR_REDIS_KEY_PREFIX") && err.contains("hash tag"),
                "{err}"
            );
        }
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s =
            Settings::from_sources(None, vars(&[("BAZAAR_REDIS_URL", "redis://:s3cret@cache")]))
                .unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
    }
}
