//! Getting the goods to the customer and back: the fulfilment steps
//! ([`Step`]) an order takes after payment or COD confirmation — packed,
//! shipped (with the [`Shipment`] record), delivered, a return requested
//! within the window, the goods received back — each a move of the one state
//! machine that owes its own notice, and what the order keeps of them
//! ([`Fulfilment`]).

use chrono::{DateTime, Duration, Utc};

use super::status::{IllegalTransition, OrderStatus};
use super::{Notice, Order};
use crate::domain::outbox::NoticeKind;
use crate::domain::validation::{char_len, Collector, FieldError};

/// Most characters of a carrier's name and of a tracking number.
pub const MAX_CARRIER: usize = 100;
pub const MAX_TRACKING: usize = 100;
/// Most characters of a return's reason.
pub const MAX_RETURN_REASON: usize = 500;

/// Who carries the parcel and how to follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub shipped_at: DateTime<Utc>,
}

/// The customer's request to send the goods back, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRequest {
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    /// When staff received the goods back.
    pub received_at: Option<DateTime<Utc>>,
    /// Whether the received goods went back to stock.
    pub restocked: Option<bool>,
}

/// What an order keeps of its way to the customer and back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fulfilment {
    pub shipment: Option<Shipment>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub return_request: Option<ReturnRequest>,
}

/// A carrier and tracking number as sent, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipmentDetail {
    pub carrier: String,
    pub tracking_number: String,
}

/// Text as sent: at most `max` characters, none of them control characters,
/// not only spaces; kept trimmed.
fn text(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if char_len(raw) > max || raw.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid",
            format!("must be at most {max} characters, none of them control characters"),
        ));
    }
    Ok(value.to_owned())
}

impl ShipmentDetail {
    /// Both fields, every bad one reported (`{prefix}.carrier`, `{prefix}.tracking_number`).
    pub fn parse(
        prefix: &str,
        carrier: &str,
        tracking_number: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Collector::default();
        let carrier = errors.take(text(&format!("{prefix}.carrier"), carrier, MAX_CARRIER));
        let tracking_number = errors.take(text(
            &format!("{prefix}.tracking_number"),
            tracking_number,
            MAX_TRACKING,
        ));
        match (carrier, tracking_number) {
            (Some(carrier), Some(tracking_number)) => Ok(Self {
                carrier,
                tracking_number,
            }),
            _ => Err(errors.into_errors()),
        }
    }
}

/// Why the customer wants to return the order, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnReason(String);

impl ReturnReason {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        text(field, raw, MAX_RETURN_REASON).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One fulfilment step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// To `packed`, or to its released name `fulfilled` (`legacy`).
    Pack {
        legacy: bool,
    },
    /// With the carrier; the released `setOrderStatus` may ship without one.
    Ship(Option<ShipmentDetail>),
    Deliver,
    /// The customer's request, within `window` of delivery.
    RequestReturn {
        reason: ReturnReason,
        window: Duration,
    },
    /// Staff turn a return request down: back to `delivered`.
    DeclineReturn,
    /// Staff received the goods back; `restock` says whether they go back to stock.
    ReceiveReturn {
        restock: bool,
    },
}

impl Step {
    /// The status the step moves to.
    pub fn target(&self) -> OrderStatus {
        match self {
            Self::Pack { legacy: false } => OrderStatus::Packed,
            Self::Pack { legacy: true } => OrderStatus::Fulfilled,
            Self::Ship(_) => OrderStatus::Shipped,
            Self::Deliver | Self::DeclineReturn => OrderStatus::Delivered,
            Self::RequestReturn { .. } => OrderStatus::ReturnRequested,
            Self::ReceiveReturn { .. } => OrderStatus::Returned,
        }
    }
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    /// A return asked for after the window closed.
    #[error("returns are accepted until {closed_at}; this order's window has closed")]
    WindowClosed { closed_at: DateTime<Utc> },
}

impl Order {
    /// Takes a fulfilment step through the state machine, recording what it
    /// carries (the shipment, the delivery time, the return), and answers the
    /// notices it owes.
    pub fn fulfil(&mut self, step: Step, now: DateTime<Utc>) -> Result<Vec<Notice>, StepError> {
        let now = crate::domain::time::truncate_to_millis(now);
        let to = step.target();
        // Declining a return is the only way back to `delivered`.
        if to == OrderStatus::Delivered
            && self.status == OrderStatus::ReturnRequested
            && step != Step::DeclineReturn
        {
            return Err(IllegalTransition {
                from: self.status,
                to,
            }
            .into());
        }
        if let Step::RequestReturn { window, .. } = &step {
            // An order delivered before delivery times were kept has no window to judge.
            if let Some(delivered_at) = self.fulfilment.delivered_at {
                let closed_at = delivered_at + *window;
                if self.status == OrderStatus::Delivered && now > closed_at {
                    return Err(StepError::WindowClosed { closed_at });
                }
            }
        }
        self.transition(to, now)?;
        let notice = match step {
            Step::Pack { .. } => NoticeKind::OrderPacked,
            Step::Ship(detail) => {
                self.fulfilment.shipment = detail.map(|d| Shipment {
                    carrier: d.carrier,
                    tracking_number: d.tracking_number,
                    shipped_at: now,
                });
                NoticeKind::OrderShipped
            }
            Step::Deliver => {
                self.fulfilment.delivered_at = Some(now);
                NoticeKind::OrderDelivered
            }
            Step::RequestReturn { reason, .. } => {
                self.fulfilment.return_request = Some(ReturnRequest {
                    reason: reason.0,
                    requested_at: now,
                    received_at: None,
                    restocked: None,
                });
                NoticeKind::ReturnRequested
            }
            Step::DeclineReturn => {
                // The request is kept, unreceived: the record of what was asked.
                return Ok(Vec::new());
            }
            Step::ReceiveReturn { restock } => {
                if let Some(request) = self.fulfilment.return_request.as_mut() {
                    request.received_at = Some(now);
                    request.restocked = Some(restock);
                }
                NoticeKind::ReturnReceived
            }
        };
        Ok(vec![Notice::once(notice)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{OrderId, UserId};
    use crate::domain::money::{Currency, Paise};
    use crate::domain::order::payment::PaymentInfo;

    fn order(status: OrderStatus) -> Order {
        let now = Utc::now();
        Order {
            id: OrderId::generate(),
            user_id: UserId::generate(),
            items: Vec::new(),
            currency: Currency::Inr,
            subtotal: Paise::trusted(1_000),
            discount: Paise::trusted(0),
            shipping: Paise::trusted(0),
            coupon_code: None,
            tax: Paise::trusted(180),
            tax_rate_bp: 1800,
            gst: None,
            total: Paise::trusted(1_180),
            status,
            payment_method: Default::default(),
            address: None,
            notes: None,
            payment: PaymentInfo::default(),
            ledger: Vec::new(),
            flags: Vec::new(),
            fulfilment: Fulfilment::default(),
            unpaid_slot: None,
            request_key: None,
            created_at: now,
            updated_at: now,
            expires_at: now,
            version: 1,
        }
    }

    fn reason() -> ReturnReason {
        ReturnReason::parse("reason", "  too small ").unwrap()
    }

    #[test]
    fn shipping_keeps_the_carrier_and_owes_the_shipped_notice() {
        let mut o = order(OrderStatus::Paid);
        let detail = ShipmentDetail::parse("shipment", "Delhivery", "DLV123").unwrap();

        let notices = o.fulfil(Step::Ship(Some(detail)), Utc::now()).unwrap();

        assert_eq!(notices, vec![Notice::once(NoticeKind::OrderShipped)]);
        assert_eq!(o.status, OrderStatus::Shipped);
        assert_eq!(o.fulfilment.shipment.unwrap().tracking_number, "DLV123");
        let errors = ShipmentDetail::parse("shipment", " ", &"9".repeat(101)).unwrap_err();
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn a_return_is_asked_within_the_window_after_delivery_only() {
        let window = Duration::days(7);
        let delivered = Utc::now();
        let mut o = order(OrderStatus::Shipped);
        let early = o.fulfil(
            Step::RequestReturn {
                reason: reason(),
                window,
            },
            delivered,
        );
        assert!(matches!(early, Err(StepError::Illegal(_))));
        o.fulfil(Step::Deliver, delivered).unwrap();

        let mut late = o.clone();
        let refused = late.fulfil(
            Step::RequestReturn {
                reason: reason(),
                window,
            },
            delivered + window + Duration::seconds(1),
        );
        assert!(matches!(refused, Err(StepError::WindowClosed { .. })));
        assert_eq!(late.status, OrderStatus::Delivered);

        o.fulfil(
            Step::RequestReturn {
                reason: reason(),
                window,
            },
            delivered + window,
        )
        .unwrap();
        assert_eq!(
            o.fulfilment.return_request.as_ref().unwrap().reason,
            "too small"
        );
        let received = o
            .fulfil(Step::ReceiveReturn { restock: true }, Utc::now())
            .unwrap();
        assert_eq!(received, vec![Notice::once(NoticeKind::ReturnReceived)]);
        assert_eq!(o.fulfilment.return_request.unwrap().restocked, Some(true));
    }

    #[test]
    fn only_declining_takes_a_return_request_back_to_delivered() {
        let mut o = order(OrderStatus::Delivered);
        o.fulfil(
            Step::RequestReturn {
                reason: reason(),
                window: Duration::days(1),
            },
            Utc::now(),
        )
        .unwrap();
        assert!(o.clone().fulfil(Step::Deliver, Utc::now()).is_err());
        assert_eq!(o.fulfil(Step::DeclineReturn, Utc::now()), Ok(Vec::new()));
        assert_eq!(o.status, OrderStatus::Delivered);
    }
}
