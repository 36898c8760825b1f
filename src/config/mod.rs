//! Configuration: built-in defaults, then an optional TOML file, then `BAZAAR_*`
//! environment variables, each layer overriding the one before.
//!
//! Every setting is checked before anything starts and *all* problems are reported
//! together, so a broken deployment is fixed in one round. Secrets are held as
//! [`SecretString`](secrecy::SecretString) and are never echoed, not even in error messages.
//!
//! [`Settings`] is made of typed sections, one file each; a section declares the rows of
//! the settings table it reads (name, default, secret or not, meaning) beside the function
//! that parses them, and [`SETTINGS`] joins those rows. The sections are plain types, so
//! that `config` needs nothing from the modules it configures. (The cache and order
//! sections, and each provider inside `ProviderSettings`, are `*Config`: the store, the adapters and the use case have `*Settings`
//! built from them.)

mod addresses;
mod auth;
mod breakers;
mod cache;
mod catalog;
mod environment;
mod files;
mod gst;
mod layers;
mod oidc;
mod orders;
mod outbox;
mod parser;
mod privacy;
mod providers;
mod rate_limits;
mod redis;
mod secrets;
mod server;
mod shipping;
mod spec;
mod storage;
mod telemetry;

pub use self::redis::{seed_urls, RedisSettings};
pub use addresses::AddressSettings;
pub use auth::AuthSettings;
pub use breakers::BreakerSettings;
pub use cache::CacheConfig;
pub use catalog::CatalogSettings;
pub use environment::Environment;
pub use files::FileSettings;
pub use gst::GstSettings;
pub use oidc::{OidcProviderConfig, OidcSettings, GOOGLE_ISSUER, GOOGLE_JWKS_URL};
pub use orders::OrderConfig;
pub use outbox::{OutboxSettings, DEFAULT_CAP_PER_HOUR};
pub use privacy::{GrievanceContact, PrivacySettings};
pub use providers::{
    Msg91Account, Msg91Config, ProviderSettings, RazorpayAccount, RazorpayConfig, S3Config,
    SendGridAccount, SendGridConfig,
};
pub use rate_limits::RateLimitSettings;
pub use secrets::{DEV_JWT_KEYS, DEV_OTP_SECRET, OPTIONAL_SECRETS_IN_PRODUCTION};
pub use server::ServerSettings;
pub use shipping::ShippingSettings;
pub use spec::{settings_table, SettingSpec, ENV_PREFIX};
pub use storage::StorageSettings;
pub use telemetry::{LogFormat, TelemetrySettings};

use std::fmt;
use std::path::Path;

use layers::Layers;
use parser::Parser;

/// Each section's rows of the settings table, in the order of the documentation.
const SECTIONS: &[&[SettingSpec]] = &[
    Environment::SETTINGS,
    ServerSettings::SETTINGS,
    TelemetrySettings::SETTINGS,
    StorageSettings::SETTINGS,
    RedisSettings::SETTINGS,
    BreakerSettings::SETTINGS,
    CatalogSettings::SETTINGS,
    CacheConfig::SETTINGS,
    RateLimitSettings::SETTINGS,
    AuthSettings::SETTINGS,
    OidcSettings::SETTINGS,
    PrivacySettings::SETTINGS,
    Msg91Config::SETTINGS,
    SendGridConfig::SETTINGS,
    ProviderSettings::SETTINGS,
    OutboxSettings::SETTINGS,
    S3Config::SETTINGS,
    FileSettings::SETTINGS,
    AddressSettings::SETTINGS,
    RazorpayConfig::SETTINGS,
    OrderConfig::SETTINGS,
    ShippingSettings::SETTINGS,
    GstSettings::SETTINGS,
];

/// Every setting: the rows of all sections. The defaults, the refusal of unknown names,
/// production's check of secrets and the table of `docs/configuration.md` all read it.
pub const SETTINGS: &[SettingSpec] = &spec::concat::<{ spec::count(SECTIONS) }>(SECTIONS);

/// Every setting, by section.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Environment,
    pub server: ServerSettings,
    pub telemetry: TelemetrySettings,
    pub storage: StorageSettings,
    pub redis: RedisSettings,
    /// When the circuit breakers of backends and providers open, and for how long.
    pub breaker: BreakerSettings,
    pub catalog: CatalogSettings,
    pub cache: CacheConfig,
    pub rate_limits: RateLimitSettings,
    pub auth: AuthSettings,
    /// Sign-in with Google and other OpenID Connect providers.
    pub oidc: OidcSettings,
    /// The grievance contact of the DPDP Act.
    pub privacy: PrivacySettings,
    pub providers: ProviderSettings,
    pub outbox: OutboxSettings,
    pub files: FileSettings,
    /// Saved addresses.
    pub addresses: AddressSettings,
    pub orders: OrderConfig,
    /// The default shipping zone, while staff have stored none.
    pub shipping: ShippingSettings,
    /// The seller tax invoices name, and the GST rules they follow.
    pub gst: GstSettings,
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

        // Each section records its problems and goes on, so all are reported at once.
        let env = Environment::parse(&mut p);
        let server = ServerSettings::parse(&mut p, env);
        let telemetry = TelemetrySettings::parse(&mut p, env, server.addr);
        let storage = StorageSettings::parse(&mut p);
        let redis = RedisSettings::parse(&mut p, storage.backend_timeout);
        let breaker = BreakerSettings::parse(&mut p);
        let catalog = CatalogSettings::parse(&mut p);
        let cache = CacheConfig::parse(&mut p);
        let rate_limits = RateLimitSettings::parse(&mut p);
        let auth = AuthSettings::parse(&mut p, env);
        let oidc = OidcSettings::parse(&mut p);
        let privacy = PrivacySettings::parse(&mut p);
        let providers = ProviderSettings::parse(&mut p, env);
        let outbox = OutboxSettings::parse(&mut p, providers.timeout);
        let files = FileSettings::parse(&mut p);
        let addresses = AddressSettings::parse(&mut p);
        let orders = OrderConfig::parse(&mut p);
        let shipping = ShippingSettings::parse(&mut p);
        let gst = GstSettings::parse(&mut p, env);
        if env == Environment::Production {
            secrets::production_secrets(&mut p);
        }

        let errors = p.layers.errors;
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Self {
            env,
            server,
            telemetry,
            storage,
            redis,
            breaker,
            catalog,
            cache,
            rate_limits,
            auth,
            oidc,
            privacy,
            providers,
            outbox,
            files,
            addresses,
            orders,
            shipping,
            gst,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{vars, PRODUCTION_JWT_KEYS, PRODUCTION_OTP_SECRET};
    use super::*;

    #[test]
    fn defaults_give_an_embedded_development_server() {
        let s = Settings::from_sources(None, vars(&[])).unwrap();
        assert_eq!(s.env, Environment::Development);
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:8080");
        assert!(s.storage.mongodb_url.is_none() && s.redis.url.is_none());
        assert_eq!(s.rate_limits.default_per_minute, 600);
        assert_eq!(s.auth.jwt_keys[0].0, "dev");
    }

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bazaar.toml");
        std::fs::write(&file, "addr = \"0.0.0.0:9000\"\nbody_limit_bytes = 4096\nproduct_categories = [\"a\", \"b\"]\n").unwrap();
        let s = Settings::from_sources(Some(&file), vars(&[("BAZAAR_ADDR", "127.0.0.1:9100")]))
            .unwrap();
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:9100");
        assert_eq!(s.server.body_limit_bytes, 4096);
        assert_eq!(s.catalog.product_categories, ["a", "b"]);
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
                ("BAZAAR_MSG91_FLOW_ORDER_PACKED", "flow-4"),
                ("BAZAAR_MSG91_FLOW_ORDER_SHIPPED", "flow-4"),
                ("BAZAAR_MSG91_FLOW_ORDER_DELIVERED", "flow-4"),
                ("BAZAAR_MSG91_FLOW_RETURN_REQUESTED", "flow-4"),
                ("BAZAAR_MSG91_FLOW_RETURN_RECEIVED", "flow-4"),
                ("BAZAAR_SENDGRID_API_KEY", "SG.sendgrid-key"),
                ("BAZAAR_SENDGRID_TEMPLATE_ORDER_CONFIRMATION", "d-1"),
                ("BAZAAR_SENDGRID_TEMPLATE_PAYMENT_RECEIPT", "d-2"),
                ("BAZAAR_SENDGRID_TEMPLATE_REFUND", "d-3"),
                ("BAZAAR_SENDGRID_TEMPLATE_CANCELLATION", "d-4"),
                ("BAZAAR_SENDGRID_TEMPLATE_ORDER_PACKED", "d-4"),
                ("BAZAAR_SENDGRID_TEMPLATE_ORDER_SHIPPED", "d-4"),
                ("BAZAAR_SENDGRID_TEMPLATE_ORDER_DELIVERED", "d-4"),
                ("BAZAAR_SENDGRID_TEMPLATE_RETURN_REQUESTED", "d-4"),
                ("BAZAAR_SENDGRID_TEMPLATE_RETURN_RECEIVED", "d-4"),
                ("BAZAAR_GST_SELLER_LEGAL_NAME", "Kaveri Crafts LLP"),
                ("BAZAAR_GST_SELLER_GSTIN", "27AAPFU0939F1ZV"),
                ("BAZAAR_GST_SELLER_ADDRESS", "Andheri East|Mumbai 400069"),
            ]),
        );
        assert!(ok.is_ok(), "{:?}", ok.err());
        let razorpay = ok
            .unwrap()
            .providers
            .razorpay
            .account
            .expect("Razorpay is configured");
        assert_eq!(razorpay.webhook_secrets.len(), 2);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s =
            Settings::from_sources(None, vars(&[("BAZAAR_REDIS_URL", "redis://:s3cret@cache")]))
                .unwrap();
        assert!(!format!("{s:?}").contains("s3cret"));
    }

    #[test]
    fn every_setting_is_in_one_section_only() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
        assert!(keys.len() >= 80, "the table lost its sections");
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len(), "a setting is in two sections");
    }
}

/// What the tests of every section share.
#[cfg(test)]
mod test_support {
    pub(super) fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// 32 random bytes in hex, as `openssl rand -hex 32` makes them.
    pub(super) const PRODUCTION_JWT_KEYS: &str =
        "k1:6f1c0e9a4b7d2f83c5a1e0b9d4f7a2c68e3b1d0f9a7c5e2b4d8f1a3c6e9b0d27";
    pub(super) const PRODUCTION_OTP_SECRET: &str =
        "c29f8b1e4a7d03f6e9b2c5a8d1f4e7b0a3c6d9f2e5b8a1d4c7f0e3b6a9d2c5f8";
}
