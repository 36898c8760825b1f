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
    /// Cash on delivery, confirmed by the customer with the code sent to
    /// their phone: stock held, nothing paid yet, no expiry.
    Confirmed,
    /// Packed and ready to hand to the carrier.
    Packed,
    /// The released name of `packed`, kept for clients and stored orders that
    /// use it: the same place in the table.
    Fulfilled,
    /// With the carrier (the shipment record names it and the tracking number).
    Shipped,
    Delivered,
    /// The customer asked to send it back, within the return window.
    ReturnRequested,
    /// Staff received the goods back (restocked or not); the refund follows.
    Returned,
    /// Cancelled before fulfilment; its stock went back.
    Cancelled,
    /// Not paid in time; its stock went back.
    Expired,
    /// Everything captured was refunded.
    Refunded,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 13] = [
        Self::PendingPayment,
        Self::PaymentMismatch,
        Self::Paid,
        Self::Confirmed,
        Self::Packed,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::ReturnRequested,
        Self::Returned,
        Self::Cancelled,
        Self::Expired,
        Self::Refunded,
    ];

    /// The statuses staff may set with `setOrderStatus`: fulfilment, only
    /// forward (`fulfilled` is the released name of `packed`).
    pub const SETTABLE: [OrderStatus; 4] = [
        Self::Packed,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::PaymentMismatch => "payment_mismatch",
            Self::Paid => "paid",
            Self::Confirmed => "confirmed",
            Self::Packed => "packed",
            Self::Fulfilled => "fulfilled",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::ReturnRequested => "return_requested",
            Self::Returned => "returned",
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

    /// Whether the order is past payment: money was taken for it, or, for
    /// cash on delivery, it is on its way to being collected (whether the
    /// cash was is the ledger's to say: [`Order::is_paid`](super::Order::is_paid)).
    pub fn is_paid(self) -> bool {
        matches!(
            self,
            Self::Paid
                | Self::Packed
                | Self::Fulfilled
                | Self::Shipped
                | Self::Delivered
                | Self::ReturnRequested
                | Self::Returned
        )
    }

    /// Stock is held for the order in these states (goods that left the
    /// warehouse are counted out of it; a return puts them back only when
    /// staff restock them).
    pub fn holds_stock(self) -> bool {
        self.is_unpaid() || self.is_paid() || self == Self::Confirmed
    }

    /// The goods left the warehouse: leaving these states gives no stock back.
    pub fn goods_left(self) -> bool {
        matches!(
            self,
            Self::Shipped | Self::Delivered | Self::ReturnRequested | Self::Returned
        )
    }

    /// Holding stock without being paid: what the cap on a customer's unpaid
    /// orders counts.
    pub fn is_unpaid(self) -> bool {
        matches!(self, Self::PendingPayment | Self::PaymentMismatch)
    }

    /// The one transition table. Fulfilment only moves forward (a step may be
    /// skipped: an order can be shipped without being packed first); a return
    /// staff decline goes back to `delivered`; nothing leaves a terminal state.
    /// `confirmed` is cash on delivery's `paid`: [`Order::transition`](super::Order::transition)
    /// lets only such orders reach it.
    pub fn step(self, to: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        let legal = matches!(
            (self, to),
            (
                PendingPayment,
                Paid | Confirmed | Cancelled | Expired | PaymentMismatch
            ) | (PaymentMismatch, Paid | Cancelled)
                | (
                    Paid | Confirmed,
                    Packed | Fulfilled | Shipped | Delivered | Cancelled
                )
                | (Paid, Refunded)
                | (Packed | Fulfilled, Shipped | Delivered | Refunded)
                | (Shipped, Delivered | Refunded)
                | (Delivered, ReturnRequested | Refunded)
                | (ReturnRequested, Returned | Delivered | Refunded)
                | (Returned, Refunded)
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
    fn packed_and_its_released_name_fulfilled_have_one_place_in_the_table() {
        for status in OrderStatus::ALL {
            assert_eq!(
                OrderStatus::Packed.step(status).is_ok(),
                OrderStatus::Fulfilled.step(status).is_ok(),
                "{status:?}"
            );
            assert_eq!(
                status.step(OrderStatus::Packed).is_ok(),
                status.step(OrderStatus::Fulfilled).is_ok(),
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_return_follows_delivery_and_ends_refunded_or_declined() {
        use OrderStatus::*;
        assert!(
            Shipped.step(ReturnRequested).is_err(),
            "not before delivery"
        );
        assert_eq!(Delivered.step(ReturnRequested), Ok(ReturnRequested));
        assert_eq!(ReturnRequested.step(Returned), Ok(Returned));
        assert_eq!(ReturnRequested.step(Delivered), Ok(Delivered));
        assert_eq!(Returned.step(Refunded), Ok(Refunded));
        assert!(Returned.step(Delivered).is_err());
        assert!(
            Confirmed.step(Expired).is_err(),
            "a confirmed order does not expire"
        );
        assert!(Confirmed.step(Refunded).is_err(), "nothing was paid");
    }

    #[test]
    fn every_status_parses_from_its_name() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse("status", status.as_str()), Ok(status));
        }
        assert!(OrderStatus::parse("status", "lost").is_err());
    }
}
