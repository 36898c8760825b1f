//! What the HTTP layer is built from: the use cases and the backends they run on.
//! Both `http` (which reads it) and `startup` (which fills it) depend on this module,
//! so neither depends on the other's internals.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bazaar_adapters::razorpay::FakeRazorpay;
use bazaar_adapters::s3::ObjectStore;

use crate::app::addresses::AddressBook;
use crate::app::carts::Carts;
use crate::app::catalog::Catalog;
use crate::app::checkout::Checkout;
use crate::app::coupons::Coupons;
use crate::app::files::Files;
use crate::app::idempotency::IdempotencyStore;
use crate::app::identity::Identity;
use crate::app::orders::Orders;
use crate::app::outbox::{Outbox, OutboxWorker};
use crate::app::privacy::Privacy;
use crate::app::ratelimit::RateLimits;
use crate::app::shipping::Shipping;
use crate::breaker::Breakers;
use crate::config::Settings;
use crate::domain::gst::seller::TaxSettings;
use crate::domain::time::SharedClock;
use crate::kv::broadcast::Broadcast;
use crate::kv::KeyValueStore;
use crate::providers::local_store::LocalObjectStore;
use crate::store::cache::CachedProducts;
use crate::store::user_cache::CachedUsers;
use crate::store::{
    AddressRepository, AuditRepository, CartRepository, CouponRepository, FileRepository,
    InvoiceRepository, OrderRepository, OutboxRepository, ProductRepository,
    ShippingZoneRepository, UserRepository, WebhookEventRepository,
};
use crate::telemetry::metrics::Metrics;

/// Backend names shown by the readiness check.
#[derive(Debug, Clone, Copy)]
pub struct BackendNames {
    pub storage: &'static str,
    pub kv: &'static str,
}

/// The storage and key-value implementations the application runs on.
pub struct Backends {
    pub products: Arc<dyn ProductRepository>,
    pub users: Arc<dyn UserRepository>,
    pub audit: Arc<dyn AuditRepository>,
    pub carts: Arc<dyn CartRepository>,
    pub files: Arc<dyn FileRepository>,
    /// Each customer's saved addresses.
    pub addresses: Arc<dyn AddressRepository>,
    pub orders: Arc<dyn OrderRepository>,
    pub webhook_events: Arc<dyn WebhookEventRepository>,
    /// Notices waiting for delivery; stores that cause notices write to it in their own writes.
    pub outbox: Arc<dyn OutboxRepository>,
    pub shipping_zones: Arc<dyn ShippingZoneRepository>,
    pub coupons: Arc<dyn CouponRepository>,
    /// Issued invoices and credit notes, in gapless series.
    pub invoices: Arc<dyn InvoiceRepository>,
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

/// What the HTTP layer is built from.
pub struct AppState {
    pub settings: Settings,
    pub catalog: Arc<Catalog>,
    /// The seller and the GST rules (`BAZAAR_GST_*`), for pricing and invoicing.
    pub tax: Arc<TaxSettings>,
    /// Customers' and guests' carts, priced as checkout charges them.
    pub carts: Arc<Carts>,
    /// Checkout from the cart.
    pub checkout: Arc<Checkout>,
    pub identity: Arc<Identity>,
    /// The customer's data rights: export and erasure.
    pub privacy: Arc<Privacy>,
    pub files: Arc<Files>,
    /// Customers' saved addresses and the pincode directory.
    pub addresses: Arc<AddressBook>,
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
    /// Shipping zones and quotes.
    pub shipping: Arc<Shipping>,
    /// Coupons: staff's codes, and checking and redeeming them.
    pub coupons: Arc<Coupons>,
    /// The fake Razorpay when no keys are configured, for the development routes.
    pub razorpay_fake: Option<Arc<FakeRazorpay>>,
    pub idempotency: Arc<IdempotencyStore>,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub draining: Arc<AtomicBool>,
    /// The in-process caches, which [`AppState::follow_invalidations`] keeps in step
    /// with writes made by other replicas.
    pub(crate) caches: (Arc<CachedUsers>, Arc<CachedProducts>),
}

impl AppState {
    /// Drops cached entries as any replica announces a write, for as long as the
    /// caches live. Needs a Tokio runtime, which building the contract does not have.
    pub fn follow_invalidations(&self) {
        self.caches.0.follow_invalidations();
        self.caches.1.follow_invalidations();
    }
}
