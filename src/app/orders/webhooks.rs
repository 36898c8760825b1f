//! The webhook receiver: deliveries verified over their raw bytes, stored once
//! per event id, and applied through the same path as the verify call. The
//! provider's payload is read by the adapter (`razorpay::read_webhook`); this
//! module only finds the order and applies what it reports. In development,
//! paying at the fake Razorpay delivers its webhooks through the same receiver.

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::razorpay::{self as rzp, FakeRazorpay, PaymentStatus, WebhookReport};

use crate::app::errors::{AppError, ErrorCode};
use crate::domain::order::payment::PaymentEvent;
use crate::domain::order::{Order, OrderId};
use crate::domain::webhook::WebhookRecord;

use super::{invalid_signature, payment_event, short_hash_bytes, Orders};

/// What the webhook receiver did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// New, and applied (or nothing to apply).
    Applied,
    /// Seen before and already applied: nothing changed.
    Duplicate,
    /// Verified but not understood: stored, unapplied, for staff to look at
    /// and apply again (`reapply_webhook`) once Bazaar can read it.
    Unparseable,
}

impl Received {
    pub const ALL: [Received; 3] = [Self::Applied, Self::Duplicate, Self::Unparseable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Unparseable => "unparseable",
        }
    }
}

impl Orders {
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
                .await
                .map_err(AppError::payment)?
                .into_iter()
                .find(|p| p.status == PaymentStatus::Captured)
                .ok_or_else(|| AppError::not_found("captured payment"))?
        } else {
            fake.pay_order(provider_order_id, "upi")
                .map_err(AppError::payment)?
        };
        for hook in fake
            .webhooks_for_payment(&payment.id)
            .map_err(AppError::payment)?
        {
            self.receive_webhook(&hook.body, Some(&hook.signature), Some(&hook.event_id))
                .await?;
        }
        self.orders
            .find_by_provider_order(provider_order_id)
            .await?
            .ok_or_else(|| AppError::not_found("order"))
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
            Ok((report, _)) => report.event.clone(),
            Err(_) => rzp::event_name(raw),
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
            Ok((report, events)) => {
                self.apply_webhook(&event_id, &report, events).await?;
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
        let (report, events) = read_webhook(record.payload.as_bytes()).map_err(|why| {
            AppError::new(
                ErrorCode::Conflict,
                format!("the stored event still cannot be read: {why}"),
            )
        })?;
        self.apply_webhook(event_id, &report, events).await?;
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
        report: &WebhookReport,
        events: Option<Vec<PaymentEvent>>,
    ) -> Result<(), AppError> {
        let outcome = match events {
            None => format!("ignored: Bazaar does not act on `{}`", report.event),
            Some(events) => match self.order_for(report).await? {
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
            Err(e) => return Err(AppError::payment(e)),
        };
        if payment.order_id.as_deref() != Some(stored) {
            return Ok(());
        }
        for event in payment.reports().into_iter().map(payment_event) {
            if matches!(event, PaymentEvent::Captured { .. }) {
                self.apply(id, &event).await?;
            }
        }
        Ok(())
    }

    /// The order an event is about: through the provider order id of its
    /// payment or order, or the order id Bazaar put in a refund's notes.
    async fn order_for(&self, report: &WebhookReport) -> Result<Option<Order>, AppError> {
        if let Some(provider_order) = &report.provider_order_id {
            return Ok(self.orders.find_by_provider_order(provider_order).await?);
        }
        if let Some(refund) = &report.refund {
            if let Some(id) = refund
                .notes
                .get("order_id")
                .and_then(|id| OrderId::parse(id).ok())
            {
                return Ok(self.orders.get(&id).await?);
            }
            let payment = self
                .gateway
                .fetch_payment(&refund.payment_id)
                .await
                .map_err(AppError::payment)?;
            if let Some(provider_order) = payment.order_id {
                return Ok(self.orders.find_by_provider_order(&provider_order).await?);
            }
        }
        Ok(None)
    }
}

/// A webhook body read: what the adapter read of it and the events it
/// reports (`None` for a type Bazaar does not act on), or why it cannot be
/// read (not a Razorpay event, or an event Bazaar acts on without the entity
/// it needs).
fn read_webhook(raw: &[u8]) -> Result<(WebhookReport, Option<Vec<PaymentEvent>>), String> {
    // Bounded: a parser's message may quote the body, which is stored anyway.
    let short = |why: String| why.chars().take(300).collect::<String>();
    let mut report = rzp::read_webhook(raw).map_err(|e| short(e.to_string()))?;
    let events = report
        .reports
        .take()
        .map(|reports| reports.into_iter().map(payment_event).collect());
    Ok((report, events))
}
