//! What staff should look at: a [`Flag`] on an order's money that Bazaar did
//! not act on by itself, at most one per reason and subject.

use chrono::{DateTime, Utc};

use super::Order;
use crate::domain::money::Paise;

/// Why staff should look at an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlagReason {
    /// A payment (authorised or captured) is not for the order's amount in
    /// its currency.
    PaymentMismatch,
    /// A refund the provider reported is more than what is left of its
    /// payment's capture; it was not recorded.
    RefundExceedsCapture,
}

impl FlagReason {
    pub const ALL: [FlagReason; 2] = [Self::PaymentMismatch, Self::RefundExceedsCapture];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaymentMismatch => "payment_mismatch",
            Self::RefundExceedsCapture => "refund_exceeds_capture",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// Something wrong with an order's money that Bazaar did not act on by
/// itself. One per reason and subject, so a redelivered event flags nothing new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub reason: FlagReason,
    /// The provider's id it is about: `pay_…` or `rfnd_…`.
    pub subject: String,
    /// For people: the amounts and currencies involved.
    pub detail: String,
    pub flagged_at: DateTime<Utc>,
}

impl Order {
    pub(super) fn flag_mismatch(
        &mut self,
        payment_id: &str,
        amount: Paise,
        currency: &str,
        now: DateTime<Utc>,
    ) {
        let detail = format!(
            "payment {payment_id} is for {} {currency}; the order's total is {} {} (minor units)",
            amount.get(),
            self.total.get(),
            self.currency.as_str()
        );
        self.flag(FlagReason::PaymentMismatch, payment_id, detail, now);
    }

    /// Adds a flag, unless one of this reason is already about `subject`.
    pub(super) fn flag(
        &mut self,
        reason: FlagReason,
        subject: &str,
        detail: String,
        now: DateTime<Utc>,
    ) {
        if self
            .flags
            .iter()
            .any(|f| f.reason == reason && f.subject == subject)
        {
            return;
        }
        self.flags.push(Flag {
            reason,
            subject: subject.to_owned(),
            detail,
            flagged_at: crate::domain::time::truncate_to_millis(now),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored flag is read back by its text (the MongoDB store does), so every reason
    /// must parse from its own text, and nothing else may.
    #[test]
    fn a_reason_parses_back_from_its_text_and_only_from_it() {
        for reason in FlagReason::ALL {
            assert_eq!(FlagReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(FlagReason::parse("payment_mismatch "), None);
        assert_eq!(FlagReason::parse(""), None);
    }
}
