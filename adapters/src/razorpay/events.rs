//! What Razorpay reports about money, in no provider's words: a webhook body, a payment or a
//! refund read as [`PaymentReport`]s, so the service applies them without knowing Razorpay's
//! event names, payload entities or statuses.

use super::webhook::{parse_webhook, MalformedWebhook, WebhookEvent};
use super::{Notes, Payment, PaymentStatus, Refund, RefundStatus};

/// One thing a provider reported about a payment. Amounts are in the minor unit of
/// `currency`, both as the provider reported them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentReport {
    /// The payment was authorised: the money is held, not yet taken.
    Authorized {
        payment_id: String,
        amount: u64,
        currency: String,
    },
    /// The payment was captured: the money was taken.
    Captured {
        payment_id: String,
        amount: u64,
        currency: String,
    },
    /// The payment attempt failed.
    Failed { payment_id: String, reason: String },
    /// A refund of the payment, as far as it has got.
    Refund {
        refund_id: String,
        payment_id: String,
        amount: u64,
        currency: String,
        state: RefundState,
    },
}

/// How far a refund has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    /// Accepted, the money not yet returned.
    Pending,
    /// The money went back.
    Processed,
    /// It failed: the money stays where it was.
    Failed,
}

/// A webhook body read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookReport {
    /// The event type as the provider names it, e.g. `payment.captured`: stored with the event.
    pub event: String,
    /// What it reports; `None` for an event type Bazaar does not act on.
    pub reports: Option<Vec<PaymentReport>>,
    /// The provider's order id of the payment the event carries, or else of its order.
    pub provider_order_id: Option<String>,
    /// The refund the event carries, if any.
    pub refund: Option<RefundOf>,
}

/// What a webhook's refund says about the order it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOf {
    /// The refunded payment.
    pub payment_id: String,
    /// The notes the refund was made with.
    pub notes: Notes,
}

/// Why a verified webhook body cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum UnreadableWebhook {
    /// Not a Razorpay event at all.
    #[error(transparent)]
    Malformed(#[from] MalformedWebhook),
    /// An event Bazaar acts on, without the entity it needs.
    #[error("`{event}` carries no {entity} entity")]
    Incomplete { event: String, entity: &'static str },
}

/// Reads a webhook body: its event type, what it reports and which order it is about. Verify
/// its signature over the same bytes first.
pub fn read_webhook(raw: &[u8]) -> Result<WebhookReport, UnreadableWebhook> {
    let envelope = parse_webhook(raw)?;
    let reports = webhook_reports(&envelope)?;
    Ok(WebhookReport {
        reports,
        provider_order_id: envelope
            .payment()
            .and_then(|p| p.order_id.clone())
            .or_else(|| envelope.order().map(|o| o.id.clone())),
        refund: envelope.refund().map(|r| RefundOf {
            payment_id: r.payment_id.clone(),
            notes: r.notes.clone(),
        }),
        event: envelope.event,
    })
}

/// The event type a body names, for storing one that cannot be read.
pub fn event_name(raw: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| v.get("event")?.as_str().map(str::to_owned))
        .filter(|name| !name.is_empty() && name.len() <= 100)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The reports a webhook makes, `None` for an event type Bazaar does not act on, or why an
/// event Bazaar acts on lacks what it needs.
fn webhook_reports(
    envelope: &WebhookEvent,
) -> Result<Option<Vec<PaymentReport>>, UnreadableWebhook> {
    let name = envelope.event.as_str();
    let lacks = |entity: &'static str| UnreadableWebhook::Incomplete {
        event: name.to_owned(),
        entity,
    };
    let payment = || envelope.payment().ok_or_else(|| lacks("payment"));
    let refund = || envelope.refund().ok_or_else(|| lacks("refund"));
    let reports = match name {
        "payment.authorized" => {
            let p = payment()?;
            vec![PaymentReport::Authorized {
                payment_id: p.id.clone(),
                amount: p.amount,
                currency: p.currency.clone(),
            }]
        }
        "payment.captured" | "order.paid" => {
            let p = payment()?;
            vec![PaymentReport::Captured {
                payment_id: p.id.clone(),
                amount: p.amount,
                currency: p.currency.clone(),
            }]
        }
        "payment.failed" => {
            let p = payment()?;
            vec![PaymentReport::Failed {
                payment_id: p.id.clone(),
                reason: failure_reason(p),
            }]
        }
        "refund.created" | "refund.processed" | "refund.failed" => {
            let r = refund()?;
            let state = match name {
                "refund.processed" => RefundState::Processed,
                "refund.failed" => RefundState::Failed,
                _ => RefundState::Pending,
            };
            vec![PaymentReport::Refund {
                refund_id: r.id.clone(),
                payment_id: r.payment_id.clone(),
                amount: r.amount,
                currency: r.currency.clone(),
                state,
            }]
        }
        _ => return Ok(None),
    };
    Ok(Some(reports))
}

fn failure_reason(payment: &Payment) -> String {
    payment
        .error_description
        .clone()
        .unwrap_or_else(|| "the payment failed".to_owned())
}

impl Payment {
    /// What the payment's state says, as reports (a captured payment was authorised first).
    pub fn reports(&self) -> Vec<PaymentReport> {
        let id = self.id.clone();
        let (amount, currency) = (self.amount, self.currency.clone());
        match self.status {
            PaymentStatus::Authorized => vec![PaymentReport::Authorized {
                payment_id: id,
                amount,
                currency,
            }],
            PaymentStatus::Captured | PaymentStatus::Refunded => vec![PaymentReport::Captured {
                payment_id: id,
                amount,
                currency,
            }],
            PaymentStatus::Failed => vec![PaymentReport::Failed {
                payment_id: id,
                reason: failure_reason(self),
            }],
            _ => Vec::new(),
        }
    }
}

impl Refund {
    /// What the refund's state says.
    pub fn report(&self) -> PaymentReport {
        PaymentReport::Refund {
            refund_id: self.id.clone(),
            payment_id: self.payment_id.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            state: match self.status {
                RefundStatus::Processed => RefundState::Processed,
                RefundStatus::Failed => RefundState::Failed,
                _ => RefundState::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(event: &str, payload: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "entity": "event",
            "event": event,
            "payload": payload,
            "created_at": 1_700_000_000,
        }))
        .unwrap()
    }

    fn payment(order_id: &str) -> serde_json::Value {
        serde_json::json!({ "entity": {
            "id": "pay_1", "amount": 1_180, "currency": "INR", "status": "captured",
            "order_id": order_id, "created_at": 1_700_000_000,
        } })
    }

    #[test]
    fn a_capture_reports_the_payment_and_names_its_order() {
        let read = read_webhook(&body(
            "payment.captured",
            serde_json::json!({ "payment": payment("order_1") }),
        ))
        .unwrap();

        assert_eq!(read.event, "payment.captured");
        assert_eq!(
            read.reports,
            Some(vec![PaymentReport::Captured {
                payment_id: "pay_1".into(),
                amount: 1_180,
                currency: "INR".into(),
            }])
        );
        assert_eq!(read.provider_order_id.as_deref(), Some("order_1"));
        assert_eq!(read.refund, None);
    }

    #[test]
    fn a_refund_event_names_its_state_and_its_notes() {
        let refund = serde_json::json!({ "entity": {
            "id": "rfnd_1", "amount": 500, "currency": "INR", "payment_id": "pay_1",
            "notes": { "order_id": "6650c0ffee0000000000c001" },
            "status": "pending", "created_at": 1_700_000_000,
        } });

        let read = read_webhook(&body(
            "refund.processed",
            serde_json::json!({ "refund": refund }),
        ))
        .unwrap();

        let Some([PaymentReport::Refund { state, .. }]) = read.reports.as_deref() else {
            panic!("{:?}", read.reports);
        };
        assert_eq!(
            *state,
            RefundState::Processed,
            "the event, not the entity, says"
        );
        let of = read.refund.unwrap();
        assert_eq!(of.payment_id, "pay_1");
        assert_eq!(of.notes["order_id"], "6650c0ffee0000000000c001");
    }

    #[test]
    fn an_event_bazaar_acts_on_without_its_entity_cannot_be_read() {
        let err = read_webhook(&body("payment.failed", serde_json::json!({}))).unwrap_err();

        assert_eq!(
            err.to_string(),
            "`payment.failed` carries no payment entity"
        );
    }

    #[test]
    fn an_event_bazaar_does_not_act_on_reports_nothing() {
        let read = read_webhook(&body("invoice.paid", serde_json::json!({}))).unwrap();

        assert_eq!(read.reports, None);
        assert_eq!(read.event, "invoice.paid");
    }

    #[test]
    fn a_body_that_is_no_event_still_has_a_name_to_store() {
        assert!(matches!(
            read_webhook(b"[1, 2]"),
            Err(UnreadableWebhook::Malformed(_))
        ));
        assert_eq!(
            event_name(br#"{"event": "payment.captured", "x": ["#),
            "unknown"
        );
        assert_eq!(event_name(br#"{"event": 7}"#), "unknown");
        assert_eq!(
            event_name(br#"{"event": "payment.dispute"}"#),
            "payment.dispute"
        );
    }
}
