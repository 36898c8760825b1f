//! Orders and their money: creating an order against the catalog's stock,
//! checkout with the payment provider, and every report about a payment (the
//! verify call, webhooks, reconciliation) applied through one path.
//!
//! Nothing here knows HTTP. Every change to an order is a read, a pure change
//! from the domain (`Order::apply`, `Order::transition`) and a conditional write
//! on the version read; on a lost race it reads again and reapplies, which is
//! safe because applying is idempotent (`docs/orders.md`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::razorpay::{
    self as rzp, CreateOrder, FakeRazorpay, PaymentGateway, PaymentStatus, RefundRequest,
    RefundStatus,
};

use crate::app::catalog::Catalog;
use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Principal;
use crate::domain::analytics::SalesSummary;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::hold::HoldId;
use crate::domain::ids::ProductId;
use crate::domain::money::Paise;
use crate::domain::order::{
    EntryStatus, IllegalTransition, Notice, Order, OrderId, OrderRequest, OrderStatus,
    PaymentEvent, RawAddress, RawLine,
};
use crate::domain::order_query::{OrderPage, OrderQuery, RawOrderQuery};
use crate::domain::outbox::{dedupe_key, Contact, NoticeKind, OutboxMessage};
use crate::domain::request_key::{Found, RequestKey};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::user::UserId;
use crate::domain::validation::FieldError;
use crate::domain::webhook::WebhookRecord;
use crate::store::{
    AuditRepository, OrderRepository, StoreError, UserRepository, WebhookEventRepository,
};

/// How often a change is retried after losing a race for the same order.
const RACE_RETRIES: usize = 8;
/// How many orders one sweep (expiry, reconciliation) handles.
const SWEEP_BATCH: u32 = 100;
/// Razorpay takes no payment below ₹1.
const MIN_TOTAL: i64 = 100;

#[derive(Clone)]
/// What [`Orders::create`] did.
#[derive(Debug)]
pub enum Placed {
    /// Placed the order now.
    New(Order),
    /// Found the order an earlier attempt of the same request placed.
    Found(Order),
}

impl Placed {
    pub fn order(&self) -> &Order {
        match self {
            Self::New(order) | Self::Found(order) => order,
        }
    }

    pub fn into_order(self) -> Order {
        match self {
            Self::New(order) | Self::Found(order) => order,
        }
    }
}

pub struct OrderSettings {
    /// GST in basis points (1800 = 18%).
    pub tax_rate_bp: u32,
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
    clock: SharedClock,
}

/// How long a replica answers a summary from memory.
const SUMMARY_TTL: Duration = Duration::from_secs(30);

/// What a frontend needs to open Razorpay Checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    pub key_id: String,
    pub provider_order_id: String,
    pub name: String,
    pub email: Option<String>,
    pub contact: String,
}

/// What the webhook receiver did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// New, and applied (or nothing to apply).
    Applied,
    /// Seen before and already applied: nothing changed.
    Duplicate,
    /// Verified but not understood: stored, unapplied, for staff to look at
    /// and apply again (`reapply_webhook`) once Bazaar can read it.
    Unparseable,
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

fn too_many_unpaid(max: u32) -> AppError {
    AppError::new(
        ErrorCode::TooManyUnpaidOrders,
        format!(
            "you already have {max} unpaid orders, the most allowed; pay for or cancel one first"
        ),
    )
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
                .time_to_live(SUMMARY_TTL)
                .build(),
            clock: SystemClock::shared(),
        }
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

    /// Creates an order and reserves its stock: all items or none. A customer
    /// holds at most `unpaid_max` unpaid orders: checked before any stock is
    /// taken, and enforced by the store when the order is written (each takes
    /// one of the customer's slots), so concurrent creates cannot exceed it.
    ///
    /// With a request key (the request came with an `Idempotency-Key`) the
    /// order is stored with it, at most one per key: a retry whose first
    /// attempt's answer was lost finds that order ([`Placed::Found`]) instead
    /// of placing a second one.
    pub async fn create(
        &self,
        who: &Principal,
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
        request_key: Option<&RequestKey>,
    ) -> Result<Placed, AppError> {
        let request = OrderRequest::parse(lines, address, notes, self.settings.product_units_max)
            .map_err(AppError::validation)?;
        if let Some(key) = request_key {
            if let Some(found) = self.placed_by(key).await? {
                return Ok(found);
            }
        }
        // Staff can change stock outright; the cap is against customers
        // holding stock they do not pay for.
        let capped = !who.can("orders:manage");
        if capped
            && self.orders.count_unpaid(&who.user_id).await? >= u64::from(self.settings.unpaid_max)
        {
            return Err(too_many_unpaid(self.settings.unpaid_max));
        }
        let order_id = OrderId::generate();
        let mut held: Vec<(ProductId, HoldId)> = Vec::new();
        let mut products = Vec::new();
        for (i, (id, quantity)) in request.lines.iter().enumerate() {
            let hold = HoldId::new(&order_id, i);
            match self.catalog.reserve(id, *quantity, &hold).await {
                Ok(product) => {
                    held.push((id.clone(), hold));
                    products.push(product);
                }
                Err(error) => {
                    self.release_holds(&held).await;
                    return Err(item_error(error, i));
                }
            }
        }
        let mut order = Order::new(
            order_id,
            who.user_id.clone(),
            request,
            &products,
            self.settings.tax_rate_bp,
            self.clock.now(),
            chrono::Duration::from_std(self.settings.pay_within).unwrap_or_default(),
        );
        order.request_key = request_key.cloned();
        if order.total.get() < MIN_TOTAL {
            self.release_holds(&held).await;
            return Err(AppError::validation(vec![FieldError::new(
                "items",
                "below_minimum",
                format!("an order must come to at least {MIN_TOTAL} paise, Razorpay's minimum"),
            )]));
        }
        let inserted = if capped {
            self.insert_in_a_free_slot(&mut order).await
        } else {
            self.orders.insert(&order).await.map(|()| true)
        };
        match inserted {
            Ok(true) => {}
            // Every slot was taken by a concurrent create meanwhile.
            Ok(false) => {
                self.release_holds(&held).await;
                return Err(too_many_unpaid(self.settings.unpaid_max));
            }
            // The insert may have reached the database before the connection
            // failed: the sweep looks for the order before it gives stock back.
            Err(error @ StoreError::Unavailable(_)) => return Err(error.into()),
            // A concurrent attempt under the same key stored its order first.
            Err(StoreError::Duplicate {
                field: "request_key",
            }) if request_key.is_some() => {
                self.release_holds(&held).await;
                let key = request_key.expect("checked by the guard");
                return self.placed_by(key).await?.ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!(
                        "an order's request key is taken but no order has it"
                    ))
                });
            }
            Err(error) => {
                self.release_holds(&held).await;
                return Err(error.into());
            }
        }
        for (id, hold) in &held {
            if let Err(error) = self.catalog.drop_hold(id, hold).await {
                // Harmless: the sweep finds the order and drops the hold.
                tracing::warn!(product = %id, %hold, error = %error, "could not drop a stock hold");
            }
        }
        Ok(Placed::New(order))
    }

    /// The order an earlier attempt of this request placed, if any; an error
    /// if the key was used for a different order.
    async fn placed_by(&self, key: &RequestKey) -> Result<Option<Placed>, AppError> {
        let Some(order) = self.orders.find_by_request_key(&key.id).await? else {
            return Ok(None);
        };
        let stored = order.request_key.clone().ok_or_else(|| {
            AppError::internal(anyhow::anyhow!(
                "an order found by its request key has none"
            ))
        })?;
        match key.judge(&stored, order) {
            Found::Same(order) => Ok(Some(Placed::Found(order))),
            Found::Reused => Err(crate::app::idempotency::key_reused()),
        }
    }

    /// Stores a customer's new order in the first of their unpaid-order slots
    /// that is free; false if none is. The store refuses a taken slot
    /// atomically, which is what holds the cap against concurrent creates.
    async fn insert_in_a_free_slot(&self, order: &mut Order) -> Result<bool, StoreError> {
        for slot in 0..self.settings.unpaid_max {
            order.unpaid_slot = Some(slot);
            match self.orders.insert(order).await {
                Ok(()) => return Ok(true),
                Err(StoreError::Duplicate {
                    field: "unpaid_slot",
                }) => continue,
                Err(error) => return Err(error),
            }
        }
        Ok(false)
    }

    /// Gives back the stock taken for an order that is not stored. One that
    /// fails stays held, and the sweep gives it back later.
    async fn release_holds(&self, held: &[(ProductId, HoldId)]) {
        for (id, hold) in held {
            if let Err(error) = self.catalog.release_hold(id, hold).await {
                tracing::warn!(product = %id, %hold, error = %error, "could not release a stock hold; the sweep will");
            }
        }
    }

    /// Settles stock holds older than `settle_holds_after`: a hold whose order
    /// is stored is dropped, any other gives its units back. Answers how many
    /// were given back. Safe on every replica at once (`release_hold` matches
    /// on the hold).
    pub async fn settle_holds(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let cutoff =
            now - chrono::Duration::from_std(self.settings.settle_holds_after).unwrap_or_default();
        let old = self.catalog.holds_before(cutoff, SWEEP_BATCH).await?;
        let mut released = 0;
        for hold in old {
            let settled = match self.orders.get(&hold.id.order_id()).await {
                Ok(Some(_)) => self
                    .catalog
                    .drop_hold(&hold.product_id, &hold.id)
                    .await
                    .map(|()| false),
                Ok(None) => self.catalog.release_hold(&hold.product_id, &hold.id).await,
                Err(e) => Err(e.into()),
            };
            match settled {
                Ok(true) => {
                    tracing::info!(product = %hold.product_id, hold = %hold.id, quantity = hold.quantity, "gave back stock held for an order that was never stored");
                    released += 1;
                }
                Ok(false) => {}
                // One hold must not hold up the others; the next sweep tries again.
                Err(e) => {
                    tracing::warn!(hold = %hold.id, error = %e, "could not settle a stock hold")
                }
            }
        }
        Ok(released)
    }

    async fn release_all(&self, lines: &[(ProductId, u32)]) {
        for (id, quantity) in lines {
            if let Err(error) = self.catalog.release(id, *quantity).await {
                // The units stay reserved: under-selling, never overselling.
                tracing::error!(product = %id, quantity, error = %error, "could not release stock");
            }
        }
    }

    /// The order, if `who` may see it (its owner or staff); 404 otherwise, so
    /// that ids of other people's orders reveal nothing.
    pub async fn get(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let order = self.load(&parse_order_id(id)?).await?;
        if order.user_id != who.user_id && !who.can("orders:manage") {
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
    pub async fn list(
        &self,
        who: &Principal,
        raw: &RawOrderQuery,
        of_user: Option<&str>,
    ) -> Result<(OrderQuery, OrderPage), AppError> {
        let staff = who.can("orders:manage");
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

    /// The outbox messages for `notices`: by email where the customer has an
    /// address, and by SMS; one to a contact the customer has not verified is
    /// written skipped. Each has a key made of the order, the notice and
    /// the channel, so the same change applied twice never sends twice.
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
        let contacts = Contact::all_of(&user);
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
            for contact in &contacts {
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
    /// releasing its stock when it leaves the states that hold it. `allowed`
    /// is checked on the order as it is written, not as it was first read.
    async fn transition(
        &self,
        id: &OrderId,
        to: OrderStatus,
        allowed: impl Fn(&Order) -> Result<(), AppError>,
    ) -> Result<Order, AppError> {
        let (order, from) = self
            .update(id, |order| {
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
        Ok(order)
    }

    /// Puts the order's units back if it just left the states that hold stock
    /// (cancelled, expired, or refunded before it shipped).
    async fn release_if_left(&self, order: &Order, from: OrderStatus) {
        let shipped = matches!(from, OrderStatus::Shipped | OrderStatus::Delivered);
        if from.holds_stock() && !order.status.holds_stock() && !shipped {
            let lines: Vec<(ProductId, u32)> = order
                .items
                .iter()
                .map(|i| (i.product_id.clone(), i.quantity))
                .collect();
            self.release_all(&lines).await;
        }
    }

    /// Cancels: the owner before payment; staff until fulfilment, then
    /// refunding what was captured.
    pub async fn cancel(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let order = self.get(who, id).await?;
        let staff = who.can("orders:manage");
        // Checked on the order being written: a capture that lands meanwhile
        // makes a customer's cancel illegal instead of cancelling a paid order.
        let order = self
            .transition(&order.id, OrderStatus::Cancelled, |current| {
                if staff || current.status == OrderStatus::PendingPayment {
                    Ok(())
                } else {
                    Err(IllegalTransition {
                        from: current.status,
                        to: OrderStatus::Cancelled,
                    }
                    .into())
                }
            })
            .await?;
        // Cancelled first, so the refund cannot make it `refunded` instead.
        self.give_back_unwanted(order).await
    }

    /// Staff moves a paid order along fulfilment.
    pub async fn set_status(&self, id: &str, to: &str) -> Result<Order, AppError> {
        let to = OrderStatus::parse("status", to).map_err(|e| AppError::validation(vec![e]))?;
        if !OrderStatus::SETTABLE.contains(&to) {
            return Err(AppError::validation(vec![FieldError::new(
                "status",
                "not_settable",
                "must be one of: fulfilled, shipped, delivered",
            )]));
        }
        self.transition(&parse_order_id(id)?, to, |_| Ok(())).await
    }

    /// Refunds `amount` (everything refundable if `None`) of what was captured.
    /// `request_key` is the client's `Idempotency-Key`: Razorpay's refund key
    /// is made from it, so a retry after a timeout cannot refund twice.
    pub async fn refund(
        &self,
        id: &str,
        amount: Option<i64>,
        request_key: Option<&str>,
    ) -> Result<Order, AppError> {
        let order = self.load(&parse_order_id(id)?).await?;
        let refundable = order.refundable();
        let amount = amount.unwrap_or(refundable);
        if amount <= 0 {
            return Err(if refundable == 0 {
                AppError::new(
                    ErrorCode::RefundExceedsCaptured,
                    "nothing was captured for this order, or all of it was refunded",
                )
            } else {
                AppError::validation(vec![FieldError::new(
                    "amount",
                    "must_be_positive",
                    "must be a positive whole number of paise",
                )])
            });
        }
        if amount > refundable {
            return Err(AppError::new(
                ErrorCode::RefundExceedsCaptured,
                format!("at most {refundable} paise can be refunded"),
            ));
        }
        // Without the client's key, the order's version: stable while nothing
        // changed, so a retry of the same refund is one refund at Razorpay.
        let key = match request_key {
            Some(key) => format!("bz_{}_{}", order.id, short_hash(key)),
            None => format!("bz_{}_v{}", order.id, order.version),
        };
        self.refund_with_key(&order, amount, &key).await
    }

    /// Refunds `amount` at Razorpay under `key` and records what it answered.
    /// The amount is taken from the captures that still have money on them.
    async fn refund_with_key(
        &self,
        order: &Order,
        amount: i64,
        key: &str,
    ) -> Result<Order, AppError> {
        let mut current = order.clone();
        let mut left = amount;
        for (i, (payment_id, available)) in order.refundable_by_payment().into_iter().enumerate() {
            if left == 0 {
                break;
            }
            let part = left.min(available);
            let refund = self
                .gateway
                .refund(&RefundRequest {
                    payment_id,
                    amount_paise: Some(part as u64),
                    idempotency_key: format!("{key}_{i}"),
                    notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    receipt: None,
                    speed: None,
                })
                .await?;
            current = self.apply(&order.id, &refund_event(&refund)).await?;
            left -= part;
        }
        Ok(current)
    }

    /// Applies a provider's report to the order, idempotently. A capture the
    /// order does not keep (on an order no longer payable, or a second one on
    /// a paid order) is money Bazaar will not keep: it is refunded at once.
    pub async fn apply(&self, id: &OrderId, event: &PaymentEvent) -> Result<Order, AppError> {
        let order = self.apply_event(id, event).await?;
        if matches!(event, PaymentEvent::Captured { .. }) {
            return self.give_back_unwanted(order).await;
        }
        Ok(order)
    }

    /// Applies one report; audits the flags it raised and releases the stock
    /// of an order it moved out of the states that hold it.
    async fn apply_event(&self, id: &OrderId, event: &PaymentEvent) -> Result<Order, AppError> {
        let (order, (from, flagged)) = self
            .update(id, |order| {
                let from = order.status;
                let applied = order.apply(event, self.clock.now());
                Ok(Change {
                    changed: applied.changed,
                    notices: applied.notices,
                    out: (from, applied.flagged),
                })
            })
            .await?;
        for flag in &flagged {
            tracing::warn!(order = %order.id, reason = flag.reason.as_str(), detail = %flag.detail, "an order's money was flagged for staff");
            let detail = format!("{}: {}", flag.reason.as_str(), flag.detail);
            self.audit(AuditKind::PaymentFlagged, &order, detail).await;
        }
        self.release_if_left(&order, from).await;
        Ok(order)
    }

    /// Refunds, in full, every capture the order does not keep
    /// ([`Order::unwanted_captures`]), each under a Razorpay refund key made
    /// from its payment id: however often and by whichever path a capture is
    /// reported (webhook, verify, reconciliation, a cancel), it is refunded once.
    async fn give_back_unwanted(&self, order: Order) -> Result<Order, AppError> {
        let mut current = order.clone();
        for (payment_id, currency, left) in order.unwanted_captures() {
            let why = if order.status.is_paid() || order.status == OrderStatus::Refunded {
                "another payment already paid the order"
            } else {
                "the order is no longer payable"
            };
            tracing::warn!(order = %order.id, payment = %payment_id, why, "refunding a capture the order does not keep");
            let refund = self
                .gateway
                .refund(&RefundRequest {
                    payment_id: payment_id.clone(),
                    amount_paise: Some(u64::try_from(left).unwrap_or_default()),
                    idempotency_key: format!("bz_void_{payment_id}"),
                    notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    receipt: None,
                    speed: None,
                })
                .await?;
            current = self.apply_event(&order.id, &refund_event(&refund)).await?;
            let detail = format!("refunded {left} {currency} of payment {payment_id}: {why}");
            self.audit(AuditKind::CaptureRefunded, &current, detail)
                .await;
        }
        Ok(current)
    }

    /// Records an event about `order` in the audit trail. A failure is
    /// logged, not raised: the order itself already says what happened.
    async fn audit(&self, kind: AuditKind, order: &Order, detail: String) {
        let mut event = AuditEvent::new(kind, self.clock.now());
        event.user_id = Some(order.user_id.to_string());
        event.detail = format!("order {}: {detail}", order.id);
        if let Err(e) = self.audit.record(&event).await {
            tracing::error!(kind = kind.as_str(), order = %order.id, error = %e, "could not record an audit event");
        }
    }

    /// Development: the customer pays `provider_order_id` at the fake Razorpay,
    /// whose signed webhooks are then delivered to the receiver, as Razorpay
    /// would. For an order paid already, its webhooks are delivered again.
    pub async fn pay_with_fake(
        &self,
        fake: &FakeRazorpay,
        provider_order_id: &str,
    ) -> Result<Order, AppError> {
        let Some(provider_order) = fake.order(provider_order_id) else {
            return Err(AppError::not_found("Razorpay order"));
        };
        let payment = if provider_order.status == rzp::OrderStatus::Paid {
            self.gateway
                .order_payments(provider_order_id)
                .await?
                .into_iter()
                .find(|p| p.status == PaymentStatus::Captured)
                .ok_or_else(|| AppError::not_found("captured payment"))?
        } else {
            fake.pay_order(provider_order_id, "upi")?
        };
        for hook in fake.webhooks_for_payment(&payment.id)? {
            self.receive_webhook(&hook.body, Some(&hook.signature), Some(&hook.event_id))
                .await?;
        }
        self.orders
            .find_by_provider_order(provider_order_id)
            .await?
            .ok_or_else(|| AppError::not_found("order"))
    }

    /// Creates (or reuses) the provider's order for checkout.
    pub async fn checkout(&self, who: &Principal, id: &str) -> Result<Checkout, AppError> {
        let mut order = self.get(who, id).await?;
        // Past its time but not swept yet: expire it now rather than take money
        // for stock that is about to go back.
        if order.status == OrderStatus::PendingPayment && self.clock.now() >= order.expires_at {
            self.expire(&order).await?;
            order = self.load(&order.id).await?;
        }
        if order.status != OrderStatus::PendingPayment {
            return Err(IllegalTransition {
                from: order.status,
                to: OrderStatus::Paid,
            }
            .into());
        }
        let order = match &order.payment.provider_order_id {
            Some(_) => order,
            None => {
                let created = self
                    .gateway
                    .create_order(&CreateOrder {
                        amount_paise: order.total.get() as u64,
                        currency: order.currency.as_str().to_owned(),
                        receipt: Some(order.id.to_string()),
                        notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    })
                    .await?;
                let (order, _) = self
                    .update(&order.id, |o| {
                        // A concurrent checkout may have stored its own first: keep that one.
                        if o.payment.provider_order_id.is_some() {
                            return Ok(Change::none(()));
                        }
                        o.payment.provider_order_id = Some(created.id.clone());
                        o.touch(self.clock.now());
                        Ok(Change::with((), Vec::new()))
                    })
                    .await?;
                order
            }
        };
        let user = self.users.get(&order.user_id).await?;
        Ok(Checkout {
            key_id: self.settings.key_id.clone(),
            provider_order_id: order.payment.provider_order_id.clone().unwrap_or_default(),
            name: user
                .as_ref()
                .map(|u| u.name.as_str().to_owned())
                .unwrap_or_default(),
            email: user
                .as_ref()
                .and_then(|u| u.email.as_ref().map(|e| e.as_str().to_owned())),
            contact: user
                .map(|u| u.phone.as_str().to_owned())
                .unwrap_or_default(),
            order,
        })
    }

    /// The frontend's report after Razorpay Checkout: verifies the signature,
    /// then asks the provider what happened and applies it (capturing an
    /// authorised payment).
    pub async fn verify(
        &self,
        who: &Principal,
        provider_order_id: &str,
        payment_id: &str,
        signature: &str,
    ) -> Result<Order, AppError> {
        let order = self
            .orders
            .find_by_provider_order(provider_order_id)
            .await?
            .filter(|o| o.user_id == who.user_id || who.can("orders:manage"))
            .ok_or_else(|| AppError::not_found("order"))?;
        // Signed over the provider order id *we* stored, never one the client chose.
        let stored = order
            .payment
            .provider_order_id
            .as_deref()
            .unwrap_or_default();
        if !rzp::verify_checkout_signature(&self.settings.key_secret, stored, payment_id, signature)
        {
            return Err(invalid_signature("checkout"));
        }
        let payment = self.gateway.fetch_payment(payment_id).await?;
        if payment.order_id.as_deref() != Some(stored) {
            return Err(invalid_signature("checkout"));
        }
        self.settle(&order.id, payment).await
    }

    /// Applies what a payment's state says, capturing it first when it is
    /// only authorised, for exactly the order's total in its currency, and the
    /// order still waits for it. Anything else is not charged: Razorpay lets an
    /// uncaptured authorisation lapse by itself (an order cancelled or expired
    /// meanwhile; a payment of another amount or currency, which is flagged).
    async fn settle(&self, id: &OrderId, mut payment: rzp::Payment) -> Result<Order, AppError> {
        let mut current = self.load(id).await?;
        let waiting = match current.status {
            OrderStatus::PendingPayment => self.clock.now() < current.expires_at,
            OrderStatus::PaymentMismatch => true,
            _ => false,
        };
        let its_amount = current.is_its_amount(paise(payment.amount), &payment.currency);
        if payment.status == PaymentStatus::Authorized && waiting && its_amount {
            // The order's own amount, never one a payment names.
            let amount = u64::try_from(current.total.get()).unwrap_or_default();
            match self
                .gateway
                .capture_payment(&payment.id, amount, current.currency.as_str())
                .await
            {
                Ok(captured) => payment = captured,
                // Captured meanwhile (Razorpay's auto-capture, another
                // replica): read what it is now.
                Err(AdapterError::Rejected { .. }) => {
                    payment = self.gateway.fetch_payment(&payment.id).await?
                }
                Err(e) => return Err(e.into()),
            }
        }
        for event in payment_events(&payment) {
            current = self.apply(id, &event).await?;
        }
        Ok(current)
    }

    /// A webhook delivery: verified over the raw bytes before anything is
    /// parsed or stored, then stored once per event id, whatever it says, and
    /// applied through the same path as the verify call. A known event that
    /// was applied changes nothing. One Bazaar cannot read is kept unapplied
    /// for staff and acknowledged: Razorpay's retries would bring the same bytes.
    pub async fn receive_webhook(
        &self,
        raw: &[u8],
        signature: Option<&str>,
        event_id: Option<&str>,
    ) -> Result<Received, AppError> {
        let signature = signature.ok_or_else(|| invalid_signature("webhook"))?;
        if !rzp::verify_webhook_signature(&self.settings.webhook_secrets, raw, signature) {
            return Err(invalid_signature("webhook"));
        }
        // Razorpay always sends an event id; without a usable one the body's
        // digest stands in, so a redelivery still counts once.
        let event_id = event_id
            .filter(|id| !id.is_empty() && id.len() <= 100)
            .map_or_else(|| format!("body_{}", short_hash_bytes(raw)), str::to_owned);
        let read = read_webhook(raw);
        let name = match &read {
            Ok((envelope, _)) => envelope.event.clone(),
            Err(_) => event_name(raw),
        };
        let text = String::from_utf8_lossy(raw);
        let record = WebhookRecord::received(&event_id, &name, &text, self.clock.now());
        if !self.events.record(&record).await? {
            let known = self.events.get(&event_id).await?;
            if known.is_some_and(|k| k.applied_at.is_some()) {
                return Ok(Received::Duplicate);
            }
            // Stored by an earlier delivery that failed before applying: apply now.
        }
        match read {
            Ok((envelope, events)) => {
                self.apply_webhook(&event_id, &envelope, events).await?;
                Ok(Received::Applied)
            }
            Err(why) => {
                tracing::warn!(%event_id, event = %name, error = %why, "a verified webhook could not be read; stored for staff");
                self.events
                    .mark_unapplied(&event_id, &format!("unparseable: {why}"))
                    .await?;
                Ok(Received::Unparseable)
            }
        }
    }

    /// Applies a stored event again (admin), e.g. after fixing what made it
    /// fail. One Bazaar still cannot read is 409, and stays as it was.
    pub async fn reapply_webhook(&self, event_id: &str) -> Result<WebhookRecord, AppError> {
        let record = self
            .events
            .get(event_id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook event"))?;
        let (envelope, events) = read_webhook(record.payload.as_bytes()).map_err(|why| {
            AppError::new(
                ErrorCode::Conflict,
                format!("the stored event still cannot be read: {why}"),
            )
        })?;
        self.apply_webhook(event_id, &envelope, events).await?;
        self.events
            .get(event_id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook event"))
    }

    pub async fn webhook_events(
        &self,
        event: Option<&str>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<WebhookRecord>, u64), AppError> {
        Ok(self.events.list(event, limit, offset).await?)
    }

    /// Applies a read event (`events` is `None` for a type Bazaar does not
    /// act on) and records the outcome on the stored event.
    async fn apply_webhook(
        &self,
        event_id: &str,
        envelope: &rzp::WebhookEvent,
        events: Option<Vec<PaymentEvent>>,
    ) -> Result<(), AppError> {
        let outcome = match events {
            None => format!("ignored: Bazaar does not act on `{}`", envelope.event),
            Some(events) => match self.order_for(envelope).await? {
                None => "ignored: no order matches this event".to_owned(),
                Some(order) => {
                    let mut after = order.clone();
                    for event in &events {
                        if let PaymentEvent::Refund { payment_id, .. } = event {
                            self.learn_capture(&order.id, payment_id).await?;
                        }
                        after = self.apply(&order.id, event).await?;
                    }
                    match after.flags.get(order.flags.len()..) {
                        Some([flag, ..]) => format!("flagged: {}", flag.detail),
                        _ if after.version != order.version => "applied".to_owned(),
                        _ => "no change".to_owned(),
                    }
                }
            },
        };
        self.events
            .mark_applied(event_id, &outcome, self.clock.now())
            .await?;
        Ok(())
    }

    /// Razorpay may report a refund before the capture it refunds. Before such
    /// a refund is checked against the ledger, Razorpay is asked about its
    /// payment, and a capture it reports for this order's Razorpay order is
    /// applied first; a payment of any other order counts for nothing, so the
    /// refund is then flagged.
    async fn learn_capture(&self, id: &OrderId, payment_id: &str) -> Result<(), AppError> {
        let order = self.load(id).await?;
        let Some(stored) = order.payment.provider_order_id.as_deref() else {
            return Ok(());
        };
        if order.capture_of(payment_id).is_some() {
            return Ok(());
        }
        let payment = match self.gateway.fetch_payment(payment_id).await {
            Ok(payment) => payment,
            // No such payment: the refund is flagged, not retried for a day.
            Err(AdapterError::Rejected { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if payment.order_id.as_deref() != Some(stored) {
            return Ok(());
        }
        for event in payment_events(&payment) {
            if matches!(event, PaymentEvent::Captured { .. }) {
                self.apply(id, &event).await?;
            }
        }
        Ok(())
    }

    /// The order an event is about: through the provider order id of its
    /// payment or order, or the order id Bazaar put in a refund's notes.
    async fn order_for(&self, envelope: &rzp::WebhookEvent) -> Result<Option<Order>, AppError> {
        let provider_order = envelope
            .payment()
            .and_then(|p| p.order_id.clone())
            .or_else(|| envelope.order().map(|o| o.id.clone()));
        if let Some(provider_order) = provider_order {
            return Ok(self.orders.find_by_provider_order(&provider_order).await?);
        }
        if let Some(refund) = envelope.refund() {
            if let Some(id) = refund
                .notes
                .get("order_id")
                .and_then(|id| OrderId::parse(id).ok())
            {
                return Ok(self.orders.get(&id).await?);
            }
            let payment = self.gateway.fetch_payment(&refund.payment_id).await?;
            if let Some(provider_order) = payment.order_id {
                return Ok(self.orders.find_by_provider_order(&provider_order).await?);
            }
        }
        Ok(None)
    }

    /// Expires unpaid orders whose time ran out, releasing their stock. One
    /// that started checkout is first asked about at Razorpay, so a payment
    /// made in its last minute is kept rather than refunded. Safe on every
    /// replica at once: only the replica whose write wins releases.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let due = self.orders.expired_unpaid(now, SWEEP_BATCH).await?;
        let mut expired = 0;
        for order in due {
            match self.expire(&order).await {
                Ok(true) => expired += 1,
                Ok(false) => {}
                // One order must not hold up the others; the next sweep tries again.
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "could not expire an order")
                }
            }
        }
        Ok(expired)
    }

    async fn expire(&self, order: &Order) -> Result<bool, AppError> {
        if order.payment.provider_order_id.is_some() && self.ask_provider(order).await? {
            return Ok(false);
        }
        let expired = self
            .transition(&order.id, OrderStatus::Expired, |current| {
                if current.status == OrderStatus::PendingPayment {
                    Ok(())
                } else {
                    Err(IllegalTransition {
                        from: current.status,
                        to: OrderStatus::Expired,
                    }
                    .into())
                }
            })
            .await;
        match expired {
            Ok(_) => Ok(true),
            // Paid or cancelled meanwhile: nothing to expire.
            Err(e) if e.code == ErrorCode::IllegalTransition => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Applies what Razorpay knows of the order's payments; true if that
    /// changed the order.
    async fn ask_provider(&self, order: &Order) -> Result<bool, AppError> {
        let Some(provider_order) = &order.payment.provider_order_id else {
            return Ok(false);
        };
        let mut version = order.version;
        for payment in self.gateway.order_payments(provider_order).await? {
            version = self.settle(&order.id, payment).await?.version;
        }
        Ok(version != order.version)
    }

    /// Asks the provider about orders stuck in payment and applies what it says.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let cutoff =
            now - chrono::Duration::from_std(self.settings.reconcile_after).unwrap_or_default();
        let stuck = self.orders.stuck_in_payment(cutoff, SWEEP_BATCH).await?;
        let mut changed = 0;
        for order in stuck {
            match self.ask_provider(&order).await {
                Ok(true) => changed += 1,
                // Nothing new: not asked about again for another `reconcile_after`.
                Ok(false) => {
                    let touched = self
                        .update(&order.id, |o| {
                            o.touch(now);
                            Ok(Change::with((), Vec::new()))
                        })
                        .await;
                    if let Err(e) = touched {
                        tracing::warn!(order = %order.id, error = %e, "could not note a reconciliation");
                    }
                }
                Err(e) => {
                    tracing::warn!(order = %order.id, error = %e, "could not reconcile an order")
                }
            }
        }
        Ok(changed)
    }

    pub async fn summary(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<SalesSummary, AppError> {
        let key = (from.timestamp_millis(), to.timestamp_millis());
        self.summaries
            .try_get_with(key, async { self.orders.summary(from, to).await })
            .await
            .map_err(|e| crate::store::cache::shared_error(e).into())
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

/// A reservation failure, named after the item it was for.
fn item_error(error: AppError, index: usize) -> AppError {
    match error.code {
        ErrorCode::NotFound => AppError::validation(vec![FieldError::new(
            format!("items[{index}].product_id"),
            "not_found",
            "no such product",
        )]),
        ErrorCode::InsufficientStock => AppError {
            errors: vec![FieldError::new(
                format!("items[{index}].quantity"),
                "insufficient_stock",
                error.detail.clone(),
            )],
            ..error
        },
        _ => error,
    }
}

/// What a payment's state says, as events (a captured payment was authorised first).
fn payment_events(payment: &rzp::Payment) -> Vec<PaymentEvent> {
    let id = payment.id.clone();
    let (amount, currency) = (paise(payment.amount), payment.currency.clone());
    match payment.status {
        PaymentStatus::Authorized => vec![PaymentEvent::Authorized {
            payment_id: id,
            amount,
            currency,
        }],
        PaymentStatus::Captured | PaymentStatus::Refunded => vec![PaymentEvent::Captured {
            payment_id: id,
            amount,
            currency,
        }],
        PaymentStatus::Failed => vec![PaymentEvent::Failed {
            payment_id: id,
            reason: payment
                .error_description
                .clone()
                .unwrap_or_else(|| "the payment failed".to_owned()),
        }],
        _ => Vec::new(),
    }
}

fn refund_event(refund: &rzp::Refund) -> PaymentEvent {
    PaymentEvent::Refund {
        refund_id: refund.id.clone(),
        payment_id: refund.payment_id.clone(),
        amount: paise(refund.amount),
        currency: refund.currency.clone(),
        status: match refund.status {
            RefundStatus::Processed => EntryStatus::Settled,
            RefundStatus::Failed => EntryStatus::Failed,
            _ => EntryStatus::Pending,
        },
    }
}

/// A webhook body read: the envelope and the events it reports (`None` for
/// a type Bazaar does not act on), or why it cannot be read (not a Razorpay
/// event, or an event Bazaar acts on without the entity it needs).
fn read_webhook(raw: &[u8]) -> Result<(rzp::WebhookEvent, Option<Vec<PaymentEvent>>), String> {
    // Bounded: a parser's message may quote the body, which is stored anyway.
    let short = |why: String| why.chars().take(300).collect::<String>();
    let envelope = rzp::parse_webhook(raw).map_err(|e| short(e.to_string()))?;
    let events = webhook_events(&envelope).map_err(short)?;
    Ok((envelope, events))
}

/// The event type a body names, for storing one that cannot be read.
fn event_name(raw: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("event")?.as_str().map(str::to_owned))
        .filter(|name| !name.is_empty() && name.len() <= 100)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The events a webhook reports, `None` for an event type Bazaar does not
/// act on, or why an event Bazaar acts on lacks what it needs.
fn webhook_events(envelope: &rzp::WebhookEvent) -> Result<Option<Vec<PaymentEvent>>, String> {
    let name = envelope.event.as_str();
    let lacks = |entity: &str| format!("`{name}` carries no {entity} entity");
    let payment = || envelope.payment().ok_or_else(|| lacks("payment"));
    let refund = || envelope.refund().ok_or_else(|| lacks("refund"));
    let events = match name {
        "payment.authorized" => {
            let p = payment()?;
            vec![PaymentEvent::Authorized {
                payment_id: p.id.clone(),
                amount: paise(p.amount),
                currency: p.currency.clone(),
            }]
        }
        "payment.captured" | "order.paid" => {
            let p = payment()?;
            vec![PaymentEvent::Captured {
                payment_id: p.id.clone(),
                amount: paise(p.amount),
                currency: p.currency.clone(),
            }]
        }
        "payment.failed" => {
            let p = payment()?;
            vec![PaymentEvent::Failed {
                payment_id: p.id.clone(),
                reason: p
                    .error_description
                    .clone()
                    .unwrap_or_else(|| "the payment failed".to_owned()),
            }]
        }
        "refund.created" | "refund.processed" | "refund.failed" => {
            let r = refund()?;
            let status = match name {
                "refund.processed" => EntryStatus::Settled,
                "refund.failed" => EntryStatus::Failed,
                _ => EntryStatus::Pending,
            };
            vec![PaymentEvent::Refund {
                refund_id: r.id.clone(),
                payment_id: r.payment_id.clone(),
                amount: paise(r.amount),
                currency: r.currency.clone(),
                status,
            }]
        }
        _ => return Ok(None),
    };
    Ok(Some(events))
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
