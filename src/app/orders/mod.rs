//! Orders and their money: creating an order against the catalog's stock,
//! checkout with the payment provider, and every report about a payment (the
//! verify call, webhooks, reconciliation) applied through one path.
//!
//! Nothing here knows HTTP. Every change to an order is a read, a pure change
//! from the domain (`Order::apply`, `Order::transition`) and a conditional write
//! on the version read; on a lost race it reads again and reapplies, which is
//! safe because applying is idempotent (`docs/orders.md`).
//!
//! This module holds [`Orders`] and its settings, reading orders, and the path
//! every change takes (`update`, the notices a change owes, moves through the
//! state machine); the jobs are beside it: [`audit`] (the audit
//! trail of money actions, with actor, amount and reason), [`create`] (placing
//! orders under stock holds), [`payments`] (checkout, verify, refunds,
//! cancellations), [`fulfilment`] (packing, shipping, delivery, returns),
//! [`cod`] (cash on delivery: confirmation by code, collection, cash refunds),
//! [`webhooks`] (the receiver), [`sweeps`] (expiry,
//! reconciliation, stock-hold settlement) and [`summary`] (the sales summary).

pub mod audit;
pub mod cod;
pub mod create;
pub mod fulfilment;
pub mod payments;
pub mod storefront;
pub mod summary;
pub mod sweeps;
mod tax;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use bazaar_adapters::razorpay::{PaymentGateway, PaymentReport, RefundState};

use crate::app::catalog::Catalog;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Principal;
use crate::app::identity::{Identity, Permission};
use crate::domain::analytics::SalesSummary;
use crate::domain::coupon::CouponCode;
use crate::domain::ids::{ProductId, VariantId};
use crate::domain::money::Paise;
use crate::domain::order::ledger::EntryStatus;
use crate::domain::order::payment::PaymentEvent;
use crate::domain::order::status::OrderStatus;
use crate::domain::order::{Notice, Order, OrderId};
use crate::domain::order_query::{OrderPage, OrderQuery, RawOrderQuery};
use crate::domain::outbox::{dedupe_key, Contact, NoticeKind, OutboxMessage};
use crate::domain::precondition::{self, IfMatch};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::user::UserId;
use crate::store::{
    AuditRepository, OrderRepository, StoreError, UserRepository, WebhookEventRepository,
};
pub use audit::ActionNote;
pub use fulfilment::FulfilmentSettings;
pub use storefront::Storefront;

/// How often a change is retried after losing a race for the same order.
const RACE_RETRIES: usize = 8;

pub struct OrderSettings {
    /// How long a customer has to pay before the order expires.
    pub pay_within: Duration,
    /// The key id the frontend's Razorpay Checkout is opened with.
    pub key_id: String,
    /// Signs checkout results (`razorpay_signature`).
    pub key_secret: SecretString,
    /// Webhook secrets; more than one during a rotation.
    pub webhook_secrets: Vec<SecretString>,
    /// Unpaid orders untouched this long are asked about at the provider.
    pub reconcile_after: Duration,
    /// Stock holds this old are settled by the sweep: no request still works
    /// on them (twice the request timeout).
    pub settle_holds_after: Duration,
    /// Most unpaid orders one customer may hold at once (staff are not capped).
    pub unpaid_max: u32,
    /// Most units of one product in one order.
    pub product_units_max: u32,
}

pub struct Orders {
    orders: Arc<dyn OrderRepository>,
    events: Arc<dyn WebhookEventRepository>,
    users: Arc<dyn UserRepository>,
    /// Where flagged payments and automatic refunds are recorded for staff.
    audit: Arc<dyn AuditRepository>,
    catalog: Arc<Catalog>,
    gateway: Arc<dyn PaymentGateway>,
    settings: OrderSettings,
    /// Sales summaries by range for a short while: the aggregation reads every
    /// order in the range, and a dashboard asks again and again.
    summaries: moka::future::Cache<(i64, i64), SalesSummary>,
    /// Whether notices are written for WhatsApp (customers who opted in); off when the
    /// notifier has no way to send them.
    whatsapp_notices: bool,
    /// Cash on delivery and returns.
    fulfilment: FulfilmentSettings,
    /// Sends and checks the codes that confirm COD orders; without it, COD is refused.
    identity: Option<Arc<Identity>>,
    /// Coupons to redeem and give back, and the zones that say where cash on delivery
    /// is offered; without them no coupon is redeemed and every zone takes cash.
    storefront: Option<Storefront>,
    clock: SharedClock,
}

fn invalid_signature(what: &str) -> AppError {
    AppError::new(
        ErrorCode::InvalidSignature,
        format!("the {what} signature is missing or does not verify"),
    )
}

fn parse_order_id(id: &str) -> Result<OrderId, AppError> {
    OrderId::parse(id).map_err(|_| AppError::not_found("order"))
}

fn paise(amount: u64) -> Paise {
    Paise::trusted(i64::try_from(amount).unwrap_or(i64::MAX))
}

impl Orders {
    pub fn new(
        orders: Arc<dyn OrderRepository>,
        events: Arc<dyn WebhookEventRepository>,
        users: Arc<dyn UserRepository>,
        audit: Arc<dyn AuditRepository>,
        catalog: Arc<Catalog>,
        gateway: Arc<dyn PaymentGateway>,
        settings: OrderSettings,
    ) -> Self {
        Self {
            orders,
            events,
            users,
            audit,
            catalog,
            gateway,
            settings,
            summaries: moka::future::Cache::builder()
                .max_capacity(256)
                .time_to_live(summary::SUMMARY_TTL)
                .build(),
            whatsapp_notices: true,
            fulfilment: FulfilmentSettings::default(),
            identity: None,
            storefront: None,
            clock: SystemClock::shared(),
        }
    }

    /// Offers cash on delivery and returns as `settings` say, confirming COD
    /// orders with codes `identity` sends to the customer's phone.
    pub fn with_fulfilment(
        mut self,
        settings: FulfilmentSettings,
        identity: Arc<Identity>,
    ) -> Self {
        self.fulfilment = settings;
        self.identity = Some(identity);
        self
    }

    /// Writes WhatsApp notices for customers who opted in only if `enabled`
    /// (`Notifier::sends_whatsapp`); they are written by default.
    pub fn with_whatsapp_notices(mut self, enabled: bool) -> Self {
        self.whatsapp_notices = enabled;
        self
    }

    /// Reads the time from `clock` rather than the system's (tests; see
    /// `domain::time`). The catalog it was given should read the same clock.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The time by the orders' clock: what the sweeps are run with.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn release_all(&self, lines: &[(ProductId, VariantId, u32)]) {
        for (id, variant, quantity) in lines {
            if let Err(error) = self.catalog.release(id, variant, *quantity).await {
                // The units stay reserved: under-selling, never overselling.
                tracing::error!(product = %id, variant = %variant, quantity, error = %error, "could not release stock");
            }
        }
    }

    /// The order, if `who` may see it (its owner or staff); 404 otherwise, so
    /// that ids of other people's orders reveal nothing.
    pub async fn get(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let order = self.load(&parse_order_id(id)?).await?;
        if order.user_id != who.user_id && !who.can(Permission::OrdersManage) {
            return Err(AppError::not_found("order"));
        }
        Ok(order)
    }

    async fn load(&self, id: &OrderId) -> Result<Order, AppError> {
        self.orders
            .get(id)
            .await?
            .ok_or_else(|| AppError::not_found("order"))
    }

    /// The caller's own orders; staff see everyone's, or one user's.
    /// Whether `user` has no order that counts as bought yet (what a first-order-only
    /// coupon asks): orders never paid or confirmed (unpaid, cancelled, expired) do not
    /// count. Reads the customer's newest 100 orders.
    pub async fn is_first_order(&self, user: &UserId) -> Result<bool, AppError> {
        let raw = RawOrderQuery {
            paging: crate::domain::listing::PageRequest {
                limit: Some(100),
                ..Default::default()
            },
            ..Default::default()
        };
        let query = OrderQuery::parse(&raw, Some(user.clone()))
            .map_err(|_| AppError::internal(anyhow::anyhow!("the first-order query is valid")))?;
        let page = self.orders.list(&query).await?;
        Ok(!page.items.iter().any(|o| {
            !matches!(
                o.status,
                OrderStatus::PendingPayment
                    | OrderStatus::PaymentMismatch
                    | OrderStatus::Cancelled
                    | OrderStatus::Expired
            )
        }))
    }

    pub async fn list(
        &self,
        who: &Principal,
        raw: &RawOrderQuery,
        of_user: Option<&str>,
    ) -> Result<(OrderQuery, OrderPage), AppError> {
        let staff = who.can(Permission::OrdersManage);
        let user = match of_user {
            Some(id) => {
                let id = UserId::parse(id).map_err(|_| AppError::not_found("user"))?;
                if id != who.user_id && !staff {
                    return Err(AppError::not_found("user"));
                }
                Some(id)
            }
            None if staff => None,
            None => Some(who.user_id.clone()),
        };
        let query = OrderQuery::parse(raw, user)?;
        let page = self.orders.list(&query).await?;
        Ok((query, page))
    }

    /// Reads, changes and conditionally writes `id`, again on a lost race.
    /// `change` answers whether it changed anything (nothing is written if not)
    /// and the notices it owes, which are written with it.
    async fn update<T>(
        &self,
        id: &OrderId,
        mut change: impl FnMut(&mut Order) -> Result<Change<T>, AppError>,
    ) -> Result<(Order, T), AppError> {
        for _ in 0..RACE_RETRIES {
            let mut order = self.load(id).await?;
            let version = order.version;
            let Change {
                changed,
                notices,
                out,
            } = change(&mut order)?;
            if !changed {
                return Ok((order, out));
            }
            let messages = self.messages(&order, &notices).await?;
            match self.orders.update(&order, version, &messages).await {
                Ok(()) => return Ok((order, out)),
                Err(StoreError::VersionConflict) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        // Not the caller's stale read (409 would say so): the order kept
        // changing under us, or an unfinished transaction of a killed process
        // holds it until the database reaps that transaction. Both pass.
        Err(AppError::unavailable(
            "database",
            anyhow::anyhow!("order {id} was written by others on each of {RACE_RETRIES} attempts"),
        ))
    }

    /// The outbox messages for `notices`: one per channel the customer's
    /// preferences allow and they can receive (`Contact::for_notice`), in their
    /// language; one to a contact the customer has not verified is written
    /// skipped. Each has a key made of the order, the notice and the channel,
    /// so the same change applied twice never sends twice, and each channel's
    /// message is delivered and retried on its own.
    async fn messages(
        &self,
        order: &Order,
        notices: &[Notice],
    ) -> Result<Vec<OutboxMessage>, AppError> {
        if notices.is_empty() {
            return Ok(Vec::new());
        }
        let Some(user) = self.users.get(&order.user_id).await? else {
            return Ok(Vec::new());
        };
        let now = self.clock.now();
        let mut messages = Vec::new();
        for notice in notices {
            let mut data = serde_json::Map::new();
            data.insert("order_id".into(), order.id.to_string().into());
            data.insert("name".into(), user.name.as_str().into());
            data.insert("total".into(), order.total.get().into());
            data.insert("currency".into(), order.currency.as_str().into());
            data.insert("status".into(), order.status.as_str().into());
            data.insert("refunded".into(), order.refunded().into());
            data.insert("language".into(), user.preferences.language.clone().into());
            data.insert(
                "payment_method".into(),
                order.payment_method.as_str().into(),
            );
            if let Some(shipment) = &order.fulfilment.shipment {
                data.insert("carrier".into(), shipment.carrier.as_str().into());
                data.insert(
                    "tracking_number".into(),
                    shipment.tracking_number.as_str().into(),
                );
            }
            for contact in &Contact::for_notice(&user, notice.kind, self.whatsapp_notices) {
                let key = dedupe_key(
                    order.id.as_str(),
                    notice.kind,
                    contact.recipient.channel(),
                    notice.detail.as_deref(),
                );
                messages.push(OutboxMessage::to_contact(
                    notice.kind,
                    contact,
                    data.clone(),
                    key,
                    now,
                ));
            }
        }
        Ok(messages)
    }

    /// Moves an order through the state machine on a staff or owner action,
    /// releasing its stock when it leaves the states that hold it; answers the
    /// order and the status it left. `if_match`
    /// and `allowed` are checked on the order as it is written (the write is
    /// conditional on that version), not as it was first read.
    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        if_match: Option<&IfMatch>,
        allowed: impl Fn(&Order) -> Result<(), AppError>,
    ) -> Result<(Order, OrderStatus), AppError> {
        let (order, from) = self
            .update(id, |order| {
                if !precondition::met(if_match, order.version) {
                    return Err(AppError::precondition_failed("order"));
                }
                allowed(order)?;
                let from = order.status;
                order.transition(to, self.clock.now())?;
                let notices = if to == OrderStatus::Cancelled {
                    vec![Notice::once(NoticeKind::Cancellation)]
                } else {
                    Vec::new()
                };
                Ok(Change::with(from, notices))
            })
            .await?;
        self.release_if_left(&order, from).await;
        Ok((order, from))
    }

    /// Puts the order's units back if it just left the states that hold stock
    /// (cancelled, expired, or refunded before it shipped); goods that left
    /// come back only through a return staff restock.
    /// A cancelled or expired order's coupon use is given back too.
    async fn release_if_left(&self, order: &Order, from: OrderStatus) {
        if from.holds_stock() && !order.status.holds_stock() && !from.goods_left() {
            self.release_items(order).await;
        }
        let void = matches!(order.status, OrderStatus::Cancelled | OrderStatus::Expired);
        if let (true, Some(raw)) = (void, &order.coupon_code) {
            if let Ok(code) = CouponCode::parse("coupon_code", raw) {
                self.release_coupon(&code, &order.id).await;
            }
        }
    }

    /// Puts all of the order's units back in stock.
    async fn release_items(&self, order: &Order) {
        let lines: Vec<(ProductId, VariantId, u32)> = order
            .items
            .iter()
            .map(|i| (i.product_id.clone(), i.variant_id.clone(), i.quantity))
            .collect();
        self.release_all(&lines).await;
    }
}

/// What a change to an order did: whether it changed anything, the notices
/// it owes, and what the caller wants back.
struct Change<T> {
    changed: bool,
    notices: Vec<Notice>,
    out: T,
}

impl<T> Change<T> {
    fn none(out: T) -> Self {
        Self {
            changed: false,
            notices: Vec::new(),
            out,
        }
    }

    fn with(out: T, notices: Vec<Notice>) -> Self {
        Self {
            changed: true,
            notices,
            out,
        }
    }
}

/// A provider's report in the domain's terms.
fn payment_event(report: PaymentReport) -> PaymentEvent {
    match report {
        PaymentReport::Authorized {
            payment_id,
            amount,
            currency,
        } => PaymentEvent::Authorized {
            payment_id,
            amount: paise(amount),
            currency,
        },
        PaymentReport::Captured {
            payment_id,
            amount,
            currency,
        } => PaymentEvent::Captured {
            payment_id,
            amount: paise(amount),
            currency,
        },
        PaymentReport::Failed { payment_id, reason } => PaymentEvent::Failed { payment_id, reason },
        PaymentReport::Refund {
            refund_id,
            payment_id,
            amount,
            currency,
            state,
        } => PaymentEvent::Refund {
            refund_id,
            payment_id,
            amount: paise(amount),
            currency,
            status: match state {
                RefundState::Processed => EntryStatus::Settled,
                RefundState::Failed => EntryStatus::Failed,
                RefundState::Pending => EntryStatus::Pending,
            },
        },
    }
}

/// A short, stable digest of a client's key, for provider keys of limited charset.
fn short_hash(text: &str) -> String {
    short_hash_bytes(text.as_bytes())
}

fn short_hash_bytes(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}
