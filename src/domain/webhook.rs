//! Provider webhook deliveries as Bazaar keeps them: every verified event, once
//! per event id, with what applying it did.

use chrono::{DateTime, Utc};

/// One verified event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// The provider's event id (`X-Razorpay-Event-Id`): unique.
    pub event_id: String,
    /// The event type, e.g. `payment.captured`.
    pub event: String,
    /// The raw body, exactly as received and verified.
    pub payload: String,
    pub received_at: DateTime<Utc>,
    /// How many times the provider delivered it.
    pub deliveries: u32,
    /// Set once the event has been applied (or found to need nothing).
    pub applied_at: Option<DateTime<Utc>>,
    /// What applying it did, for people: "applied", "no change", "ignored: …".
    pub outcome: Option<String>,
}

impl WebhookRecord {
    pub fn received(event_id: &str, event: &str, payload: &str, now: DateTime<Utc>) -> Self {
        Self {
            event_id: event_id.to_owned(),
            event: event.to_owned(),
            payload: payload.to_owned(),
            received_at: super::time::truncate_to_millis(now),
            deliveries: 1,
            applied_at: None,
            outcome: None,
        }
    }
}
