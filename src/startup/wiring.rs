//! Builds the use cases from the settings and the backends.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use bazaar_adapters::jwks::{JwksClient, JwksSettings};
use bazaar_adapters::razorpay::{FakeRazorpay, PaymentGateway, RazorpayClient, RazorpaySettings};
use bazaar_adapters::retry::RetryPolicy;
use bazaar_adapters::s3::ObjectStore;
use secrecy::SecretString;

use super::own_origin;
use crate::app::addresses::AddressBook;
use crate::app::carts::{CartSettings, Carts, PricingParts};
use crate::app::catalog::Catalog;
use crate::app::checkout::Checkout;
use crate::app::coupons::Coupons;
use crate::app::files::Files;
use crate::app::idempotency::{IdempotencySettings, IdempotencyStore};
use crate::app::identity::id_tokens::{OidcProvider, OidcProviders};
use crate::app::identity::Identity;
use crate::app::notify::Notifier;
use crate::app::orders::{FulfilmentSettings, OrderSettings, Orders, Storefront};
use crate::app::outbox::{Outbox, OutboxWorker};
use crate::app::privacy::Privacy;
use crate::app::ratelimit::RateLimits;
use crate::app::shipping::Shipping;
use crate::breaker::Breakers;
use crate::config::Settings;
use crate::domain::file::FilePolicy;
use crate::domain::money::Paise;
use crate::domain::order::cod::CodPolicy;
use crate::domain::product::Categories;
use crate::providers::local_store::LocalObjectStore;
use crate::providers::Guarded as GuardedProvider;
use crate::state::{AppState, Backends};
use crate::store::cache::{CacheSettings, CachedProducts};
use crate::store::user_cache::CachedUsers;
use crate::store::UserRepository;
use crate::telemetry::metrics::Metrics;

impl AppState {
    pub fn new(settings: Settings, backends: Backends) -> anyhow::Result<Self> {
        let clock = backends.clock;
        let categories = Categories::new(settings.catalog.product_categories.clone());
        let notifier = Arc::new(Notifier::from_settings(&settings, &backends.breakers)?);
        let whatsapp_notices = notifier.sends_whatsapp();
        let cached_users = Arc::new(CachedUsers::new(
            backends.users,
            backends.broadcast.clone(),
            Duration::from_millis(settings.cache.l1_ttl_ms),
            settings.cache.l1_capacity,
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
            backends.outbox.clone(),
            clock.clone(),
        )?
        .with_oidc(oidc_providers(&settings)?);
        let rate_limits = RateLimits::new(
            backends.kv.clone(),
            settings.rate_limits.otp_per_hour,
            settings.rate_limits.auth_per_minute,
            settings.rate_limits.default_per_minute,
        );
        let idempotency = Arc::new(IdempotencyStore::new(
            backends.kv.clone(),
            IdempotencySettings {
                ttl: settings.server.idempotency_ttl,
                // Longer than `Guard` lets a request run, so that a duplicate
                // never starts while the first may still be working.
                in_flight_ttl: settings.server.request_timeout + Duration::from_secs(1),
            },
        ));
        let metrics = Arc::new(Metrics::new());
        metrics.watch_breakers(&backends.breakers);
        let products = Arc::new(CachedProducts::new(
            backends.products,
            backends.kv.clone(),
            backends.broadcast.clone(),
            CacheSettings {
                l1_ttl: Duration::from_millis(settings.cache.l1_ttl_ms),
                l1_capacity: settings.cache.l1_capacity,
                l2_ttl: Duration::from_secs(settings.cache.l2_ttl_secs),
            },
            metrics.cache_lookups.clone(),
        ));
        let (objects, local_files) = match backends.objects {
            Some(objects) => (objects, None),
            None => {
                let local = Arc::new(
                    LocalObjectStore::new(
                        &settings.files.dir,
                        &own_origin(settings.server.addr),
                        settings.files.max_bytes,
                    )
                    .with_clock(clock.clone()),
                );
                (local.clone() as Arc<dyn ObjectStore>, Some(local))
            }
        };
        let policy = FilePolicy::new(
            settings.files.allowed_types.clone(),
            settings.files.max_bytes,
        );
        let files = Arc::new(
            Files::new(backends.files, objects, policy)
                .with_quota(settings.files.quota)
                .with_upload_url_validity(settings.files.upload_url_ttl)
                .with_clock(clock.clone()),
        );
        let tax = Arc::new(settings.gst.tax.clone());
        let catalog = Arc::new(
            Catalog::new(products.clone(), categories, files.clone(), tax.clone())
                .with_clock(clock.clone()),
        );
        let (gateway, razorpay_fake, order_settings) = payments(&settings, &backends.breakers)?;
        let identity = Arc::new(identity);
        let addresses = Arc::new(
            AddressBook::new(backends.addresses)
                .with_limit(settings.addresses.max_per_customer)
                .with_clock(clock.clone()),
        );
        let privacy = Arc::new(
            Privacy::new(
                identity.clone(),
                backends.orders.clone(),
                backends.outbox.clone(),
                files.clone(),
                addresses.clone(),
                backends.carts.clone(),
            )
            .with_clock(clock.clone()),
        );
        let shipping = Arc::new(
            Shipping::new(backends.shipping_zones, backends.audit.clone())
                .with_default_zone(settings.shipping.default_zone.clone())
                .with_clock(clock.clone()),
        );
        let coupons = Arc::new(
            Coupons::new(
                backends.coupons,
                Categories::new(settings.catalog.product_categories.clone()),
                backends.audit.clone(),
            )
            .with_clock(clock.clone()),
        );
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
            .with_whatsapp_notices(whatsapp_notices)
            .with_fulfilment(
                FulfilmentSettings {
                    cod: CodPolicy {
                        max_order: Paise::trusted(settings.orders.cod_max_order_paise),
                    },
                    return_window: settings.orders.return_window,
                },
                identity.clone(),
            )
            .with_storefront(Storefront {
                coupons: coupons.clone(),
                addresses: addresses.clone(),
                shipping: shipping.clone(),
            })
            .with_clock(clock.clone()),
        );
        let carts = Arc::new(Carts::new(
            backends.carts,
            catalog.clone(),
            PricingParts {
                addresses: addresses.clone(),
                shipping: shipping.clone(),
                coupons: coupons.clone(),
                orders: orders.clone(),
            },
            CartSettings {
                units_max: settings.orders.product_units_max,
            },
            clock.clone(),
        ));
        let checkout = Arc::new(Checkout::new(
            carts.clone(),
            orders.clone(),
            addresses.clone(),
        ));
        Ok(Self {
            catalog,
            tax,
            carts,
            checkout,
            orders,
            shipping,
            coupons,
            razorpay_fake,
            identity,
            privacy,
            files,
            addresses,
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
        pay_within: settings.orders.pay_within,
        key_id,
        key_secret,
        webhook_secrets,
        reconcile_after: settings.orders.reconcile_after,
        settle_holds_after: settings.server.request_timeout * 2,
        unpaid_max: settings.orders.unpaid_max,
        product_units_max: settings.orders.product_units_max,
    };
    Ok(match &settings.providers.razorpay.account {
        Some(config) => {
            let client = RazorpayClient::new(RazorpaySettings {
                base_url: settings.providers.razorpay.base_url.clone(),
                key_id: config.key_id.clone(),
                key_secret: config.key_secret.clone(),
                timeout: settings.providers.timeout,
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

/// The OpenID Connect providers with client ids, each fetching its key set with the
/// providers' timeout (one retry: a sign-in waits on it).
fn oidc_providers(settings: &Settings) -> anyhow::Result<OidcProviders> {
    let providers = settings
        .oidc
        .providers
        .iter()
        .map(|config| {
            let client = JwksClient::new(JwksSettings {
                jwks_url: config.jwks_url.clone(),
                timeout: settings.providers.timeout,
                retry: RetryPolicy {
                    max_retries: 1,
                    ..RetryPolicy::default()
                },
            })
            .with_context(|| format!("the {} key set client", config.name))?;
            Ok(OidcProvider::new(
                config.clone(),
                Arc::new(client),
                &settings.oidc,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(OidcProviders::new(providers))
}
