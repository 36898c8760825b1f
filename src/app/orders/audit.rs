//! The orders' audit trail: events about an order's money that need staff
//! (flagged payments, automatic refunds), and the money actions people take
//! (refunds, cancellations, fulfilment steps), each with its actor, the order,
//! the amount in paise and the reason given, as fields the trail can be queried by.
//!
//! An audit event is written after the change it describes, in a write of its own:
//! the order (and for a refund, Razorpay) is the record of the money; the event is
//! the record of who asked and why. A failed write is tried again a few times and
//! then logged at error level with every field, so the log keeps what the trail
//! could not (docs/orders.md, "Audit of money actions").

use std::time::Duration;

use crate::app::errors::AppError;
use crate::app::identity::{Principal, RequestContext};
use crate::domain::audit::{AuditEvent, AuditKind, Reason};
use crate::domain::order::Order;

use super::Orders;

/// How often a money action's audit event is written before it is only logged.
const AUDIT_ATTEMPTS: u32 = 3;
/// The pause before the second attempt; doubled for each later one.
const AUDIT_BACKOFF: Duration = Duration::from_millis(50);

/// Why a change to an order was asked for, and where from: what its audit
/// event records beside the actor. `reason` is the client's text, parsed by the
/// use case before anything changes.
#[derive(Debug, Clone, Default)]
pub struct ActionNote {
    pub reason: Option<String>,
    pub context: RequestContext,
}

impl ActionNote {
    /// The reason, parsed; a bad one refuses the action before anything moves.
    pub(super) fn reason(&self) -> Result<Option<Reason>, AppError> {
        Reason::parse("reason", self.reason.as_deref()).map_err(|e| AppError::validation(vec![e]))
    }
}

/// A money action to record: what was done, by whom, to which order, how much.
pub(super) struct MoneyAction<'a> {
    pub kind: AuditKind,
    pub who: &'a Principal,
    pub order: &'a Order,
    pub amount_paise: i64,
    pub reason: Option<Reason>,
    pub note: &'a ActionNote,
    pub detail: String,
}

impl Orders {
    /// Records an event about `order` in the audit trail. A failure is
    /// logged, not raised: the order itself already says what happened.
    pub(super) async fn audit(&self, kind: AuditKind, order: &Order, detail: String) {
        let mut event = AuditEvent::new(kind, self.clock.now());
        event.user_id = Some(order.user_id.to_string());
        event.order_id = Some(order.id.to_string());
        event.detail = format!("order {}: {detail}", order.id);
        if let Err(e) = self.audit.record(&event).await {
            tracing::error!(kind = kind.as_str(), order = %order.id, error = %e, "could not record an audit event");
        }
    }

    /// Records a money action with its actor, order, amount and reason, trying
    /// again on failure; the change is already made, so a failure is not the
    /// caller's: the event is logged in full instead.
    pub(super) async fn audit_money(&self, action: MoneyAction<'_>) {
        let mut event = AuditEvent::new(action.kind, self.clock.now());
        event.user_id = Some(action.order.user_id.to_string());
        event.actor_id = Some(action.who.user_id.to_string());
        event.order_id = Some(action.order.id.to_string());
        event.amount_paise = Some(action.amount_paise);
        event.reason = action.reason;
        event.request_id = action.note.context.request_id.clone();
        event.ip = action.note.context.ip.clone();
        event.user_agent = action.note.context.user_agent.chars().take(300).collect();
        event.detail = action.detail;
        let mut pause = AUDIT_BACKOFF;
        for attempt in 1..=AUDIT_ATTEMPTS {
            match self.audit.record(&event).await {
                Ok(()) => return,
                Err(e) if attempt == AUDIT_ATTEMPTS => {
                    tracing::error!(
                        kind = event.kind.as_str(),
                        order = event.order_id.as_deref().unwrap_or_default(),
                        actor = event.actor_id.as_deref().unwrap_or_default(),
                        amount_paise = event.amount_paise.unwrap_or_default(),
                        reason = event.reason.as_ref().map(Reason::as_str).unwrap_or_default(),
                        request_id = %event.request_id,
                        detail = %event.detail,
                        error = %e,
                        "could not record a money action in the audit trail"
                    );
                }
                Err(e) => {
                    tracing::warn!(kind = event.kind.as_str(), attempt, error = %e, "audit write failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        }
    }
}
