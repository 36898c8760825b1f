//! Where an order is in its life: [`OrderStatus`] and the one transition
//! table every change of status goes through.

use crate::domain::validation::FieldError;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Created, stock reserved, waiting for the customer to pay.
    PendingPayment,
    /// Money was captured for it, but not the order's amount in its currency:
    /// not paid. The stock stays reserved and the order does not expire; staff
    /// look at its `flags` and cancel it (refunding what was captured), unless
    /// a capture of the right amount arrives and pays it.
    PaymentMismatch,
    /// Paid in full.
    Paid,
    Fulfilled,
    Shipped,
    Delivered,
    /// Cancelled before fulfilment; its stock went back.
    Cancelled,
    /// Not paid in time; its stock went back.
    Expired,
    /// Everything captured was refunded.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        Self::PendingPayment,
        Self::PaymentMismatch,
        Self::Paid,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Expired,
        Self::Refunded,
    ];

    /// The statuses staff may set: fulfilment, only forward.
    pub const SETTABLE: [OrderStatus; 3] = [Self::Fulfilled, Self::Shipped, Self::Delivered];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::PaymentMismatch => "payment_mismatch",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
                FieldError::new(
                    field,
                    "unknown_status",
                    format!("must be one of: {}", names.join(", ")),
                )
            })
    }

    /// Whether the order is past payment (money was taken for it).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Fulfilled | Self::Shipped | Self::Delivered
        )
    }

    /// Stock is held for the order in these states.
    pub fn holds_stock(self) -> bool {
        self.is_unpaid() || self.is_paid()
    }

    /// Holding stock without being paid: what the cap on a customer's unpaid
    /// orders counts.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::PendingPayment | Self::PaymentMismatch)
    }

    /// The one transition table. Fulfilment only moves forward (a step may be
    /// skipped: an order can be shipped without being marked fulfilled first);
    /// nothing leaves a terminal state.
    pub fn step(self, to: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        let legal = matches!(
            (self, to),
            (PendingPayment, Paid | Cancelled | Expired | PaymentMismatch)
                | (PaymentMismatch, Paid | Cancelled)
                | (Paid, Fulfilled | Shipped | Delivered | Cancelled | Refunded)
                | (Fulfilled, Shipped | Delivered | Refunded)
                | (Shipped, Delivered | Refunded)
                | (Delivered, Refunded)
        );
        if legal {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from `{}` to `{}`", from.as_str(), to.as_str())]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_machine_names_both_states_when_it_refuses() {
        let err = OrderStatus::Delivered.step(OrderStatus::Paid).unwrap_err();
        assert_eq!(
            err.to_string(),
            "an order cannot go from `delivered` to `paid`"
        );
        assert!(OrderStatus::Cancelled.step(OrderStatus::Paid).is_err());
        assert!(OrderStatus::Expired.step(OrderStatus::Cancelled).is_err());
        assert!(OrderStatus::Shipped.step(OrderStatus::Fulfilled).is_err());
        assert!(OrderStatus::PaymentMismatch
            .step(OrderStatus::Expired)
            .is_err());
        assert_eq!(
            OrderStatus::Paid.step(OrderStatus::Shipped),
            Ok(OrderStatus::Shipped)
        );
    }

    #[test]
    fn every_status_parses_from_its_name() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse("status", status.as_str()), Ok(status));
        }
        assert!(OrderStatus::parse("status", "lost").is_err());
    }
}
