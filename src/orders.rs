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

use bazaar_adapters::razorpay::{
    self as rzp, CreateOrder, FakeRazorpay, PaymentGateway, PaymentStatus, RefundRequest,
    RefundStatus,
};

use crate::catalog::Catalog;
use crate::domain::analytics::SalesSummary;
use crate::domain::ids::ProductId;
use crate::domain::money::Paise;
use crate::domain::order::{
    EntryStatus, IllegalTransition, Notice, Order, OrderId, OrderRequest, OrderStatus,
    PaymentEvent, RawAddress, RawLine,
};
use crate::domain::order_query::{OrderPage, OrderQuery, RawOrderQuery};
use crate::domain::outbox::{dedupe_key, NoticeKind, OutboxMessage, Recipient};
use crate::domain::user::UserId;
use crate::domain::validation::FieldError;
use crate::domain::webhook::WebhookRecord;
use crate::errors::{AppError, ErrorCode};
use crate::identity::Principal;
use crate::store::{OrderRepository, StoreError, UserRepository, WebhookEventRepository};

/// How often a change is retried after losing a race for the same order.
const RACE_RETRIES: usize = 8;
/// How many orders one sweep (expiry, reconciliation) handles.
const SWEEP_BATCH: u32 = 100;

#[derive(Clone)]
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
}

pub struct Orders {
    orders: Arc<dyn OrderRepository>,
    events: Arc<dyn WebhookEventRepository>,
    users: Arc<dyn UserRepository>,
    catalog: Arc<Catalog>,
    gateway: Arc<dyn PaymentGateway>,
    settings: OrderSettings,
    /// Sales summaries by range for a short while: the aggregation reads every
    /// order in the range, and a dashboard asks again and again.
    summaries: moka::future::Cache<(i64, i64), SalesSummary>,
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
        catalog: Arc<Catalog>,
        gateway: Arc<dyn PaymentGateway>,
        settings: OrderSettings,
    ) -> Self {
        Self {
            orders,
            events,
            users,
            catalog,
            gateway,
            settings,
            summaries: moka::future::Cache::builder()
                .max_capacity(256)
                .time_to_live(SUMMARY_TTL)
                .build(),
        }
    }

    /// Creates an order and reserves its stock: all items or none.
    pub async fn create(
        &self,
        who: &Principal,
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
    ) -> Result<Order, AppError> {
        let request = OrderRequest::parse(lines, address, notes).map_err(AppError::validation)?;
        let mut reserved: Vec<(ProductId, u32)> = Vec::new();
        let mut products = Vec::new();
        for (i, (id, quantity)) in request.lines.iter().enumerate() {
            match self.catalog.reserve(id, *quantity).await {
                Ok(product) => {
                    reserved.push((id.clone(), *quantity));
                    products.push(product);
                }
                Err(error) => {
                    self.release_all(&reserved).await;
                    return Err(item_error(error, i));
                }
            }
        }
        let order = Order::new(
            who.user_id.clone(),
            request,
            &products,
            self.settings.tax_rate_bp,
            Utc::now(),
            chrono::Duration::from_std(self.settings.pay_within).unwrap_or_default(),
        );
        if let Err(error) = self.orders.insert(&order).await {
            self.release_all(&reserved).await;
            return Err(error.into());
        }
        Ok(order)
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
        Err(StoreError::VersionConflict.into())
    }

    /// The outbox messages for `notices`: by email where the customer has an
    /// address, and by SMS. Each has a key made of the order, the notice and
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
        let mut recipients = vec![Recipient::Sms(user.phone.clone())];
        if let Some(email) = &user.email {
            recipients.push(Recipient::Email(email.clone()));
        }
        let now = Utc::now();
        let mut messages = Vec::new();
        for notice in notices {
            let mut data = serde_json::Map::new();
            data.insert("order_id".into(), order.id.to_string().into());
            data.insert("name".into(), user.name.as_str().into());
            data.insert("total".into(), order.total.get().into());
            data.insert("currency".into(), order.currency.as_str().into());
            data.insert("status".into(), order.status.as_str().into());
            data.insert("refunded".into(), order.refunded().into());
            for recipient in &recipients {
                let key = dedupe_key(
                    order.id.as_str(),
                    notice.kind,
                    recipient.channel(),
                    notice.detail.as_deref(),
                );
                messages.push(OutboxMessage::new(
                    notice.kind,
                    recipient.clone(),
                    data.clone(),
                    key,
                    now,
                ));
            }
        }
        Ok(messages)
    }

    /// Moves an order through the state machine on a staff or owner action,
    /// releasing its stock when it leaves the states that hold it.
    async fn transition(&self, id: &OrderId, to: OrderStatus) -> Result<Order, AppError> {
        let (order, from) = self
            .update(id, |order| {
                let from = order.status;
                order.transition(to, Utc::now())?;
                let notices = if to == OrderStatus::Cancelled {
                    vec![Notice::once(NoticeKind::Cancellation)]
                } else {
                    Vec::new()
                };
                Ok(Change::with(from, notices))
            })
            .await?;
        if from.holds_stock() && !to.holds_stock() {
            let lines: Vec<(ProductId, u32)> = order
                .items
                .iter()
                .map(|i| (i.product_id.clone(), i.quantity))
                .collect();
            self.release_all(&lines).await;
        }
        Ok(order)
    }

    /// Cancels: the owner before payment; staff until fulfilment, refunding
    /// what was captured first.
    pub async fn cancel(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let order = self.get(who, id).await?;
        let staff = who.can("orders:manage");
        if !staff && order.status != OrderStatus::PendingPayment {
            // Customers may only cancel what they have not paid for.
            return Err(IllegalTransition {
                from: order.status,
                to: OrderStatus::Cancelled,
            }
            .into());
        }
        // Refuse before refunding if the state machine would refuse the cancel.
        order.status.step(OrderStatus::Cancelled)?;
        if order.refundable() > 0 {
            self.refund(&order.id.to_string(), None).await?;
        }
        self.transition(&order.id, OrderStatus::Cancelled).await
    }

    /// Staff moves a paid order along fulfilment.
    pub async fn set_status(&self, id: &str, to: &str) -> Result<Order, AppError> {
        let to = OrderStatus::parse("status", to).map_err(|e| AppError::validation(vec![e]))?;
        if !matches!(
            to,
            OrderStatus::Fulfilled | OrderStatus::Shipped | OrderStatus::Delivered
        ) {
            return Err(AppError::validation(vec![FieldError::new(
                "status",
                "not_settable",
                "must be one of: fulfilled, shipped, delivered",
            )]));
        }
        self.transition(&parse_order_id(id)?, to).await
    }

    /// Refunds `amount` (everything refundable if `None`) of what was captured.
    pub async fn refund(&self, id: &str, amount: Option<i64>) -> Result<Order, AppError> {
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
        // Captures in the ledger are from one payment in practice; refund the
        // first that still has money on it.
        let payment_id = order
            .ledger
            .iter()
            .find(|e| e.kind == crate::domain::order::LedgerKind::Capture)
            .map(|e| e.payment_id.clone())
            .ok_or_else(|| {
                AppError::new(ErrorCode::RefundExceedsCaptured, "nothing was captured")
            })?;
        let refund = self
            .gateway
            .refund(&RefundRequest {
                payment_id: payment_id.clone(),
                amount_paise: Some(amount as u64),
                // Stable for this order state: a retry after a timeout cannot refund twice.
                idempotency_key: format!("bz_{}_{}", order.id, order.version),
                notes: [("order_id".to_owned(), order.id.to_string())].into(),
                receipt: None,
                speed: None,
            })
            .await?;
        let event = refund_event(&refund);
        self.apply(&order.id, &event).await
    }

    /// Applies a provider's report to the order, idempotently.
    pub async fn apply(&self, id: &OrderId, event: &PaymentEvent) -> Result<Order, AppError> {
        let (order, _) = self
            .update(id, |order| {
                let applied = order.apply(event, Utc::now());
                Ok(Change {
                    changed: applied.changed,
                    notices: applied.notices,
                    out: (),
                })
            })
            .await?;
        Ok(order)
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
        let order = self.get(who, id).await?;
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
                        o.updated_at = crate::domain::product::truncate_to_millis(Utc::now());
                        o.version += 1;
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
        let mut payment = self.gateway.fetch_payment(payment_id).await?;
        if payment.order_id.as_deref() != Some(stored) {
            return Err(invalid_signature("checkout"));
        }
        if payment.status == PaymentStatus::Authorized {
            payment = self
                .gateway
                .capture_payment(payment_id, payment.amount, &payment.currency)
                .await?;
        }
        let mut current = order;
        for event in payment_events(&payment) {
            current = self.apply(&current.id, &event).await?;
        }
        Ok(current)
    }

    /// A webhook delivery: verified over the raw bytes before anything is
    /// parsed or stored, stored once per event id, applied through the same
    /// path as the verify call. A known event that was applied changes nothing.
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
        let event_id = event_id
            .filter(|id| !id.is_empty() && id.len() <= 100)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::BadRequest,
                    "the X-Razorpay-Event-Id header is missing",
                )
            })?;
        let envelope = rzp::parse_webhook(raw).map_err(|_| {
            AppError::new(
                ErrorCode::MalformedBody,
                "the webhook body is not a Razorpay event",
            )
        })?;
        let text = String::from_utf8_lossy(raw);
        let record = WebhookRecord::received(event_id, &envelope.event, &text, Utc::now());
        if !self.events.record(&record).await? {
            let known = self.events.get(event_id).await?;
            if known.is_some_and(|k| k.applied_at.is_some()) {
                return Ok(Received::Duplicate);
            }
            // Stored by an earlier delivery that failed before applying: apply now.
        }
        self.apply_webhook(event_id, &envelope).await?;
        Ok(Received::Applied)
    }

    /// Applies a stored event again (admin), e.g. after fixing what made it fail.
    pub async fn reapply_webhook(&self, event_id: &str) -> Result<WebhookRecord, AppError> {
        let record = self
            .events
            .get(event_id)
            .await?
            .ok_or_else(|| AppError::not_found("webhook event"))?;
        let envelope = rzp::parse_webhook(record.payload.as_bytes()).map_err(|_| {
            AppError::new(
                ErrorCode::MalformedBody,
                "the stored event is not a Razorpay event",
            )
        })?;
        self.apply_webhook(event_id, &envelope).await?;
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

    async fn apply_webhook(
        &self,
        event_id: &str,
        envelope: &rzp::WebhookEvent,
    ) -> Result<(), AppError> {
        let outcome = match webhook_events(envelope) {
            None => format!("ignored: Bazaar does not act on `{}`", envelope.event),
            Some(events) => match self.order_for(envelope).await? {
                None => "ignored: no order matches this event".to_owned(),
                Some(order) => {
                    let mut changed = false;
                    for event in &events {
                        let before = self.load(&order.id).await?.version;
                        let after = self.apply(&order.id, event).await?;
                        changed |= after.version != before;
                    }
                    if changed { "applied" } else { "no change" }.to_owned()
                }
            },
        };
        self.events
            .mark_applied(event_id, &outcome, Utc::now())
            .await?;
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

    /// Expires unpaid orders whose time ran out, releasing their stock.
    /// Safe on every replica at once: only the replica whose write wins releases.
    pub async fn expire_due(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let due = self.orders.expired_unpaid(now, SWEEP_BATCH).await?;
        let mut expired = 0;
        for order in due {
            match self.transition(&order.id, OrderStatus::Expired).await {
                Ok(_) => expired += 1,
                // Paid or cancelled meanwhile: nothing to expire.
                Err(e) if e.code == ErrorCode::IllegalTransition => {}
                Err(e) => return Err(e),
            }
        }
        Ok(expired)
    }

    /// Asks the provider about orders stuck in payment and applies what it says.
    pub async fn reconcile(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let cutoff =
            now - chrono::Duration::from_std(self.settings.reconcile_after).unwrap_or_default();
        let stuck = self.orders.stuck_in_payment(cutoff, SWEEP_BATCH).await?;
        let mut changed = 0;
        for order in stuck {
            let Some(provider_order) = &order.payment.provider_order_id else {
                continue;
            };
            let payments = self.gateway.order_payments(provider_order).await?;
            let mut current = order.clone();
            for payment in &payments {
                for event in payment_events(payment) {
                    current = self.apply(&current.id, &event).await?;
                }
            }
            if current.version != order.version {
                changed += 1;
            } else {
                // Nothing new: touch it so the next sweep asks about others first.
                self.update(&order.id, |o| {
                    o.updated_at = crate::domain::product::truncate_to_millis(now);
                    o.version += 1;
                    Ok(Change::with((), Vec::new()))
                })
                .await?;
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
    match payment.status {
        PaymentStatus::Authorized => vec![PaymentEvent::Authorized { payment_id: id }],
        PaymentStatus::Captured | PaymentStatus::Refunded => vec![PaymentEvent::Captured {
            payment_id: id,
            amount: paise(payment.amount),
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
        status: match refund.status {
            RefundStatus::Processed => EntryStatus::Settled,
            RefundStatus::Failed => EntryStatus::Failed,
            _ => EntryStatus::Pending,
        },
    }
}

/// The events a webhook reports, or `None` for an event type Bazaar does not act on.
fn webhook_events(envelope: &rzp::WebhookEvent) -> Option<Vec<PaymentEvent>> {
    let payment = envelope.payment();
    let refund = envelope.refund();
    let events = match envelope.event.as_str() {
        "payment.authorized" => vec![PaymentEvent::Authorized {
            payment_id: payment?.id.clone(),
        }],
        "payment.captured" | "order.paid" => {
            let p = payment?;
            vec![PaymentEvent::Captured {
                payment_id: p.id.clone(),
                amount: paise(p.amount),
            }]
        }
        "payment.failed" => {
            let p = payment?;
            vec![PaymentEvent::Failed {
                payment_id: p.id.clone(),
                reason: p
                    .error_description
                    .clone()
                    .unwrap_or_else(|| "the payment failed".to_owned()),
            }]
        }
        "refund.created" | "refund.processed" | "refund.failed" => {
            let r = refund?;
            let status = match envelope.event.as_str() {
                "refund.processed" => EntryStatus::Settled,
                "refund.failed" => EntryStatus::Failed,
                _ => EntryStatus::Pending,
            };
            vec![PaymentEvent::Refund {
                refund_id: r.id.clone(),
                payment_id: r.payment_id.clone(),
                amount: paise(r.amount),
                status,
            }]
        }
        _ => return None,
    };
    Some(events)
}
