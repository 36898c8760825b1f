//! Payment events in any order, any number of times: the order ends in one
//! state, with one ledger entry per capture and per refund.
//!
//! Property-style: for many seeds, every webhook of one payment's life (a
//! failed attempt, the successful payment's authorisation and capture,
//! `order.paid`, a partial refund's creation and processing) is delivered 1–5
//! times in a random order, interleaved with the frontend's verify call; on
//! in-memory stores and, for fewer seeds, on MongoDB-wire.

use std::sync::Arc;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use secrecy::SecretString;

use bazaar::app::catalog::Catalog;
use bazaar::app::files::Files;
use bazaar::app::identity::Principal;
use bazaar::app::orders::{ActionNote, OrderSettings, Orders};
use bazaar::domain::file::FilePolicy;
use bazaar::domain::gst::seller::TaxSettings;
use bazaar::domain::hold::HoldId;
use bazaar::domain::order::ledger::{EntryStatus, LedgerKind};
use bazaar::domain::order::request::RawLine;
use bazaar::domain::order::status::OrderStatus;
use bazaar::domain::order::OrderId;
use bazaar::domain::product::{Categories, Product, RawProduct};
use bazaar::domain::user::{Role, UserId};
use bazaar::providers::local_store::LocalObjectStore;
use bazaar::store::memory::{
    MemoryFiles, MemoryOrders, MemoryOutbox, MemoryProducts, MemoryUsers, MemoryWebhookEvents,
};
use bazaar::store::{
    mongo, AuditRepository, OrderRepository, ProductRepository, WebhookEventRepository,
};
use bazaar_adapters::razorpay::{FakeRazorpay, PaymentGateway, RefundRequest, SignedWebhook};

const KEY_SECRET: &str = "property-key-secret";
pub(crate) const WEBHOOK_SECRET: &str = "property-webhook-secret";

/// One product with 10 in stock, orders on in-memory or MongoDB-wire stores,
/// and a fake Razorpay. The property tests of stock use it too.
pub(crate) struct World {
    pub(crate) product_id: String,
    pub(crate) products: Arc<MemoryProducts>,
    pub(crate) orders: Orders,
    pub(crate) fake: Arc<FakeRazorpay>,
    pub(crate) customer: Principal,
}

/// Where the orders, their webhook events and the audit trail live.
#[derive(Clone, Copy)]
enum Store {
    Memory,
    Mongo,
}

pub(crate) async fn world() -> World {
    world_on(Store::Memory).await
}

async fn world_on(store: Store) -> World {
    let products = Arc::new(MemoryProducts::new());
    let categories = Categories::new(vec!["books".into()]);
    let files = Arc::new(Files::new(
        Arc::new(MemoryFiles::new()),
        Arc::new(LocalObjectStore::new(
            std::env::temp_dir(),
            "http://127.0.0.1:1",
            1024,
        )),
        FilePolicy::new(vec!["image/png".into()], 1024),
    ));
    let raw = RawProduct {
        sku: "PROP-1".into(),
        name: "A book".into(),
        description: None,
        price: 10_000,
        currency: "INR".into(),
        category: "books".into(),
        tags: Vec::new(),
        stock: Some(10),
        images: Vec::new(),
        ..Default::default()
    };
    let tax = Arc::new(TaxSettings::sample());
    let product = Product::create(
        bazaar::domain::product::ProductDraft::parse(&raw, &categories, &tax.rates)
            .expect("a valid product"),
        chrono::Utc::now(),
    );
    products.insert(&product).await.unwrap();
    let catalog = Arc::new(Catalog::new(products.clone(), categories, files, tax));
    let fake = Arc::new(FakeRazorpay::new(
        "rzp_test_property",
        SecretString::from(KEY_SECRET.to_owned()),
        SecretString::from(WEBHOOK_SECRET.to_owned()),
    ));
    let (order_store, events, audit): (
        Arc<dyn OrderRepository>,
        Arc<dyn WebhookEventRepository>,
        Arc<dyn AuditRepository>,
    ) = match store {
        Store::Memory => (
            Arc::new(MemoryOrders::new(Arc::new(MemoryOutbox::new()))),
            Arc::new(MemoryWebhookEvents::new()),
            Arc::new(bazaar::store::memory::MemoryAudit::new()),
        ),
        Store::Mongo => {
            let db = crate::kit::test_database().await;
            (
                Arc::new(mongo::MongoOrders::new(&db).await.unwrap()),
                Arc::new(mongo::MongoWebhookEvents::new(&db).await.unwrap()),
                Arc::new(mongo::MongoAudit::new(&db).await.unwrap()),
            )
        }
    };
    let orders = Orders::new(
        order_store,
        events,
        Arc::new(MemoryUsers::new()),
        audit,
        catalog,
        fake.clone(),
        OrderSettings {
            pay_within: std::time::Duration::from_secs(1800),
            key_id: "rzp_test_property".into(),
            key_secret: SecretString::from(KEY_SECRET.to_owned()),
            webhook_secrets: vec![SecretString::from(WEBHOOK_SECRET.to_owned())],
            reconcile_after: std::time::Duration::from_secs(900),
            settle_holds_after: std::time::Duration::from_secs(30),
            unpaid_max: 3,
            product_units_max: 10,
        },
    );
    let customer = Principal {
        user_id: UserId::generate(),
        session_id: "s".into(),
        roles: vec![Role::Customer],
    };
    World {
        product_id: product.id.to_string(),
        products: products.clone(),
        orders,
        fake,
        customer,
    }
}

#[derive(Clone, Debug)]
enum Step {
    Deliver(SignedWebhook),
    Verify,
}

#[tokio::test]
async fn any_order_and_any_repetition_of_payment_events_ends_in_one_state() {
    events_in_any_order_end_in_one_state(Store::Memory, 0..40).await;
}

#[tokio::test]
async fn on_mongodb_any_order_and_any_repetition_of_payment_events_ends_in_one_state() {
    events_in_any_order_end_in_one_state(Store::Mongo, 0..8).await;
}

async fn events_in_any_order_end_in_one_state(store: Store, seeds: std::ops::Range<u64>) {
    for seed in seeds {
        let w = world_on(store).await;
        let product_id = w.product_id.clone();
        let order = w
            .orders
            .create(
                &w.customer,
                &[RawLine {
                    product_id,
                    variant_id: None,
                    quantity: 2,
                }],
                None,
                None,
                None,
            )
            .await
            .unwrap()
            .into_order();
        let checkout = w.checkout(&order).await;
        let rzp_order = checkout.provider_order_id.clone();
        // A failed attempt, then the payment that succeeds, then a partial refund
        // made at the provider (its webhooks are how Bazaar learns of it).
        let failed = w.fake.fail_payment(&rzp_order).unwrap();
        let paid = w.fake.pay_order(&rzp_order, "upi").unwrap();
        let refund = w
            .fake
            .refund(&RefundRequest {
                payment_id: paid.id.clone(),
                amount_paise: Some(1_500),
                idempotency_key: format!("prop_refund_{seed:04}"),
                notes: Default::default(),
                receipt: None,
                speed: None,
            })
            .await
            .unwrap();
        let mut hooks = w.fake.webhooks_for_payment(&failed.id).unwrap();
        hooks.extend(w.fake.webhooks_for_payment(&paid.id).unwrap());
        hooks.extend(w.fake.webhooks_for_refund(&refund.id).unwrap());

        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut steps: Vec<Step> = Vec::new();
        for hook in &hooks {
            for _ in 0..rng.gen_range(1..=5) {
                steps.push(Step::Deliver(hook.clone()));
            }
        }
        for _ in 0..rng.gen_range(1..=3) {
            steps.push(Step::Verify);
        }
        steps.shuffle(&mut rng);
        let signature = w.fake.checkout_signature_for(&rzp_order, &paid.id);
        for step in steps {
            match step {
                Step::Deliver(hook) => {
                    w.orders
                        .receive_webhook(&hook.body, Some(&hook.signature), Some(&hook.event_id))
                        .await
                        .unwrap_or_else(|e| panic!("seed {seed}: {} failed: {e}", hook.event));
                }
                Step::Verify => {
                    w.orders
                        .verify(&w.customer, &rzp_order, &paid.id, &signature)
                        .await
                        .unwrap_or_else(|e| panic!("seed {seed}: verify failed: {e}"));
                }
            }
        }

        let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
        assert_eq!(end.status, OrderStatus::Paid, "seed {seed}");
        assert_eq!(end.payment.payment_id.as_deref(), Some(paid.id.as_str()));
        assert_eq!(end.payment.last_failure, None, "seed {seed}");
        let captures: Vec<_> = end
            .ledger
            .iter()
            .filter(|e| e.kind == LedgerKind::Capture)
            .collect();
        let refunds: Vec<_> = end
            .ledger
            .iter()
            .filter(|e| e.kind == LedgerKind::Refund)
            .collect();
        assert_eq!(captures.len(), 1, "seed {seed}: {:?}", end.ledger);
        assert_eq!(refunds.len(), 1, "seed {seed}: {:?}", end.ledger);
        assert_eq!(captures[0].amount, end.total);
        assert_eq!(captures[0].status, EntryStatus::Settled);
        assert_eq!(refunds[0].status, EntryStatus::Settled, "seed {seed}");
        assert_eq!(end.captured(), end.total.get());
        assert_eq!(end.refunded(), 1_500);
        assert!(end.flags.is_empty(), "seed {seed}: {:?}", end.flags);
        assert_eq!(
            w.fake.refunds().len(),
            1,
            "seed {seed}: nothing refunded by Bazaar"
        );
    }
}

impl World {
    pub(crate) async fn stock(&self) -> Option<u32> {
        let id = bazaar::domain::ids::ProductId::parse(&self.product_id).unwrap();
        self.products.get(&id).await.unwrap().unwrap().stock
    }

    /// Starts paying for `order`: the Razorpay order Checkout would open.
    pub(crate) async fn checkout(
        &self,
        order: &bazaar::domain::order::Order,
    ) -> bazaar::app::orders::payments::Checkout {
        self.orders
            .checkout(&self.customer, order.id.as_str())
            .await
            .unwrap()
    }

    async fn order_two(&self) -> bazaar::domain::order::Order {
        self.orders
            .create(
                &self.customer,
                &[RawLine {
                    product_id: self.product_id.clone(),
                    variant_id: None,
                    quantity: 2,
                }],
                None,
                None,
                None,
            )
            .await
            .unwrap()
            .into_order()
    }
}

#[tokio::test]
async fn an_unpaid_order_expires_after_its_time_and_releases_its_stock() {
    let w = world().await;
    let order = w.order_two().await;
    assert_eq!(w.stock().await, Some(8));

    let early = w
        .orders
        .expire_due(order.expires_at - chrono::Duration::seconds(1))
        .await;
    let due = w.orders.expire_due(order.expires_at).await;
    let again = w.orders.expire_due(order.expires_at).await;

    assert_eq!(early.unwrap(), 0);
    assert_eq!(due.unwrap(), 1);
    assert_eq!(again.unwrap(), 0, "an expired order is not expired twice");
    let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
    assert_eq!(end.status, OrderStatus::Expired);
    assert_eq!(w.stock().await, Some(10));
}

#[tokio::test]
async fn reconciliation_learns_of_a_payment_no_webhook_reported() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    // The customer paid; neither the verify call nor any webhook reached Bazaar.
    w.fake
        .pay_order(&checkout.provider_order_id, "card")
        .unwrap();
    let now = chrono::Utc::now();

    let too_soon = w.orders.reconcile(now).await.unwrap();
    let later = w
        .orders
        .reconcile(now + chrono::Duration::hours(1))
        .await
        .unwrap();

    assert_eq!(
        too_soon, 0,
        "orders younger than the reconcile age are left alone"
    );
    assert_eq!(later, 1);
    let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
    assert_eq!(end.status, OrderStatus::Paid);
    assert_eq!(end.captured(), end.total.get());
}

#[tokio::test]
async fn a_verify_call_with_a_forged_signature_is_refused_and_changes_nothing() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    let paid = w
        .fake
        .pay_order(&checkout.provider_order_id, "upi")
        .unwrap();
    // Signed with another secret, and a genuine signature for another order.
    let forged = bazaar_adapters::razorpay::checkout_signature(
        &SecretString::from("not-our-secret".to_owned()),
        &checkout.provider_order_id,
        &paid.id,
    );
    let for_another_order = w.fake.checkout_signature_for("order_Other", &paid.id);

    for signature in [forged, for_another_order, String::new()] {
        let refused = w
            .orders
            .verify(
                &w.customer,
                &checkout.provider_order_id,
                &paid.id,
                &signature,
            )
            .await
            .unwrap_err();
        assert_eq!(
            refused.code,
            bazaar::app::errors::ErrorCode::InvalidSignature
        );
    }
    let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
    assert_eq!(end.status, OrderStatus::PendingPayment);
    assert!(end.ledger.is_empty());
}

#[tokio::test]
async fn expiry_asks_razorpay_first_so_a_last_minute_payment_is_kept() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    // Paid in the last minute; the webhooks have not arrived yet.
    w.fake
        .pay_order(&checkout.provider_order_id, "upi")
        .unwrap();

    let expired = w.orders.expire_due(order.expires_at).await.unwrap();

    assert_eq!(expired, 0);
    let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
    assert_eq!(end.status, OrderStatus::Paid);
    assert_eq!(w.stock().await, Some(8), "a paid order keeps its units");
}

#[tokio::test]
async fn a_payment_captured_after_expiry_is_refunded_at_once() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    assert_eq!(w.orders.expire_due(order.expires_at).await.unwrap(), 1);
    // The customer pays anyway (an old Checkout tab); Razorpay reports it.
    let paid = w
        .fake
        .pay_order(&checkout.provider_order_id, "upi")
        .unwrap();

    for hook in w.fake.webhooks_for_payment(&paid.id).unwrap() {
        w.orders
            .receive_webhook(&hook.body, Some(&hook.signature), Some(&hook.event_id))
            .await
            .unwrap();
    }

    let end = w.orders.get(&w.customer, order.id.as_str()).await.unwrap();
    assert_eq!(end.status, OrderStatus::Expired);
    assert_eq!(end.captured(), end.total.get());
    assert_eq!(end.refunded(), end.total.get(), "{:?}", end.ledger);
    assert_eq!(end.refundable(), 0);
    assert_eq!(w.fake.refunds().len(), 1, "refunded once");
    assert_eq!(w.stock().await, Some(10));
}

#[tokio::test]
async fn verify_does_not_capture_for_an_order_that_was_cancelled() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    let authorised = w
        .fake
        .authorize_order(&checkout.provider_order_id, "card")
        .unwrap();
    w.orders
        .cancel(&w.customer, order.id.as_str(), None, &ActionNote::default())
        .await
        .unwrap();
    let signature = w
        .fake
        .checkout_signature_for(&checkout.provider_order_id, &authorised.id);

    let end = w
        .orders
        .verify(
            &w.customer,
            &checkout.provider_order_id,
            &authorised.id,
            &signature,
        )
        .await
        .unwrap();

    assert_eq!(end.status, OrderStatus::Cancelled);
    assert_eq!(end.captured(), 0);
    let at_razorpay = w.fake.payment(&authorised.id).unwrap();
    assert_eq!(
        at_razorpay.status,
        bazaar_adapters::razorpay::PaymentStatus::Authorized,
        "left to lapse, never captured"
    );
}

#[tokio::test]
async fn a_customer_cannot_cancel_once_the_capture_has_landed() {
    let w = world().await;
    let order = w.order_two().await;
    let checkout = w.checkout(&order).await;
    let paid = w
        .fake
        .pay_order(&checkout.provider_order_id, "upi")
        .unwrap();
    let signature = w
        .fake
        .checkout_signature_for(&checkout.provider_order_id, &paid.id);
    w.orders
        .verify(
            &w.customer,
            &checkout.provider_order_id,
            &paid.id,
            &signature,
        )
        .await
        .unwrap();

    let refused = w
        .orders
        .cancel(&w.customer, order.id.as_str(), None, &ActionNote::default())
        .await
        .unwrap_err();

    assert_eq!(
        refused.code,
        bazaar::app::errors::ErrorCode::IllegalTransition
    );
    assert_eq!(
        refused.detail,
        "an order cannot go from `paid` to `cancelled`"
    );
    assert_eq!(w.stock().await, Some(8));
}

#[tokio::test]
async fn the_hold_sweep_gives_back_stock_held_for_an_order_never_stored_and_only_forgets_a_stored_orders_hold(
) {
    let w = world().await;
    let order = w.order_two().await;
    let product = bazaar::domain::ids::ProductId::parse(&w.product_id).unwrap();
    let holds = || {
        w.products
            .holds_before(chrono::Utc::now() + chrono::Duration::hours(1), 10)
    };
    assert!(
        holds().await.unwrap().is_empty(),
        "a stored order keeps no hold"
    );
    // Killed after reserving for an order it never stored…
    let lost = HoldId::new(&OrderId::generate(), 0);
    w.products
        .reserve(
            &product,
            &bazaar::domain::ids::VariantId::default_of(&product),
            3,
            &lost,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    // …and after storing an order but before dropping its hold.
    let stored = HoldId::new(&order.id, 1);
    w.products
        .reserve(
            &product,
            &bazaar::domain::ids::VariantId::default_of(&product),
            1,
            &stored,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!(w.stock().await, Some(4));

    let young = w.orders.settle_holds(chrono::Utc::now()).await.unwrap();
    let later = chrono::Utc::now() + chrono::Duration::minutes(5);
    let settled = w.orders.settle_holds(later).await.unwrap();
    let again = w.orders.settle_holds(later).await.unwrap();

    assert_eq!(
        young, 0,
        "holds younger than two request timeouts are left alone"
    );
    assert_eq!(settled, 1, "only the lost order's units go back");
    assert_eq!(again, 0);
    assert_eq!(w.stock().await, Some(7));
    assert!(holds().await.unwrap().is_empty());
}
