//! Webhook bodies: Razorpay's event envelope, read leniently so that an event or a payload
//! entity Razorpay adds later still parses and can be stored and acknowledged.

use serde::{Deserialize, Serialize};

use super::{Payment, RazorpayOrder, Refund};

/// One webhook delivery's body. Events and payload entities this adapter does not know parse
/// too (the unknown payload keys are dropped), so the service can store and acknowledge them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// `"event"`.
    #[serde(default)]
    pub entity: String,
    /// The merchant account, `acc_…`.
    #[serde(default)]
    pub account_id: String,
    /// `payment.captured`, `order.paid`, `refund.processed`…
    pub event: String,
    /// The payload keys present, e.g. `["payment", "order"]`.
    #[serde(default)]
    pub contains: Vec<String>,
    /// The entities the event is about.
    #[serde(default)]
    pub payload: WebhookPayload,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
}

/// The entities of a webhook that Bazaar reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// Payment events and `order.paid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Entity<Payment>>,
    /// `order.paid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Entity<RazorpayOrder>>,
    /// Refund events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Entity<Refund>>,
}

/// Razorpay's wrapper around each payload entity: `{"entity": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity<T> {
    /// The entity itself.
    pub entity: T,
}

impl WebhookEvent {
    /// The payment the event carries, if any.
    pub fn payment(&self) -> Option<&Payment> {
        self.payload.payment.as_ref().map(|wrapped| &wrapped.entity)
    }

    /// The order the event carries, if any.
    pub fn order(&self) -> Option<&RazorpayOrder> {
        self.payload.order.as_ref().map(|wrapped| &wrapped.entity)
    }

    /// The refund the event carries, if any.
    pub fn refund(&self) -> Option<&Refund> {
        self.payload.refund.as_ref().map(|wrapped| &wrapped.entity)
    }
}

/// A webhook body that is not a Razorpay event.
#[derive(Debug, thiserror::Error)]
#[error("not a Razorpay webhook event: {0}")]
pub struct MalformedWebhook(#[from] serde_json::Error);

/// Parses a webhook body. Verify its signature over the same bytes first.
pub fn parse_webhook(raw_body: &[u8]) -> Result<WebhookEvent, MalformedWebhook> {
    Ok(serde_json::from_slice(raw_body)?)
}
