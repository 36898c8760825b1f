//! What an account's erasure (DPDP Act, 2023, s. 12) leaves behind. Personal data goes;
//! what the law makes a seller keep (the tax record of a sale: what was sold, for how
//! much, the tax, the place of supply, the payment) stays, tied to an account id that no
//! longer names anyone. `docs/privacy.md` lists what is kept, why, and for how long.

use super::order::status::OrderStatus;
use super::order::{Address, Order};
use super::outbox::{OutboxMessage, OutboxState, Recipient};

/// What replaces a personal value that is gone.
pub const ERASED: &str = "[erased]";

/// Why an erased customer's queued notices were not sent.
pub const SKIPPED_ERASED: &str = "skipped: the customer's account was erased";

impl OrderStatus {
    /// Whether the order still has work ahead that needs its customer's contact
    /// details: being paid, or paid and not yet delivered. An account with such
    /// an order is not erased until it settles.
    pub fn needs_customer(self) -> bool {
        matches!(
            self,
            Self::PendingPayment
                | Self::PaymentMismatch
                | Self::Paid
                | Self::Fulfilled
                | Self::Shipped
        )
    }
}

impl Address {
    /// The address with the person taken out: the state and the PIN code stay,
    /// because they are the place of supply a tax record must show.
    pub fn erased(&self) -> Self {
        Self {
            name: ERASED.to_owned(),
            line1: ERASED.to_owned(),
            line2: None,
            city: ERASED.to_owned(),
            state: self.state.clone(),
            postal_code: self.postal_code.clone(),
            phone: None,
            landmark: None,
            state_code: self.state_code.clone(),
        }
    }

    pub fn is_erased(&self) -> bool {
        self.name == ERASED
    }
}

impl Order {
    /// Whether erasing its customer changes anything here.
    pub fn holds_personal_data(&self) -> bool {
        self.notes.is_some() || self.address.as_ref().is_some_and(|a| !a.is_erased())
    }

    /// The order as its erased customer leaves it, a new version at `now`: the
    /// address without the person, the free-text notes gone; items, amounts,
    /// tax, payment and ledger as they were.
    pub fn without_customer(&self, now: chrono::DateTime<chrono::Utc>) -> Self {
        let mut next = self.clone();
        next.address = self.address.as_ref().map(Address::erased);
        next.notes = None;
        next.touch(now);
        next
    }
}

impl OutboxMessage {
    /// The message with its recipient forgotten: the address and the template
    /// data (names, amounts of a person's order) gone, and if it was still to
    /// be sent, skipped.
    pub fn forgotten(&self) -> Self {
        let mut next = self.clone();
        next.recipient = Recipient::trusted(self.recipient.channel(), ERASED.to_owned());
        next.data = serde_json::Map::new();
        if next.state == OutboxState::Pending {
            next.state = OutboxState::Skipped;
            next.lease = None;
            next.last_error = Some(SKIPPED_ERASED.to_owned());
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        Address {
            name: "Asha Rao".into(),
            line1: "12 MG Road".into(),
            line2: Some("Flat 4".into()),
            city: "Bengaluru".into(),
            state: "Karnataka".into(),
            postal_code: "560001".into(),
            phone: Some("+919812345678".into()),
            landmark: Some("Opposite the metro station".into()),
            state_code: Some("29".into()),
        }
    }

    #[test]
    fn an_erased_address_keeps_only_the_place_of_supply() {
        let erased = address().erased();
        assert!(erased.is_erased());
        assert_eq!(erased.state, "Karnataka");
        assert_eq!(erased.postal_code, "560001");
        for kept in [&erased.name, &erased.line1, &erased.city] {
            assert_eq!(kept, ERASED);
        }
        assert_eq!(erased.line2, None);
        assert_eq!(erased.phone, None);
    }

    #[test]
    fn orders_in_progress_need_their_customer_and_settled_ones_do_not() {
        let needing: Vec<_> = OrderStatus::ALL
            .into_iter()
            .filter(|s| s.needs_customer())
            .map(OrderStatus::as_str)
            .collect();
        assert_eq!(
            needing,
            [
                "pending_payment",
                "payment_mismatch",
                "paid",
                "fulfilled",
                "shipped"
            ]
        );
    }
}
