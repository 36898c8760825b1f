//! The money that moved for an order: one [`LedgerEntry`] per capture and per
//! refund, keyed by the provider's id, and the sums derived from them.

use chrono::{DateTime, Utc};

use super::status::OrderStatus;
use super::Order;
use crate::domain::money::Paise;

/// A capture (money in) or a refund (money out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Capture,
    Refund,
}

impl LedgerKind {
    pub const ALL: [LedgerKind; 2] = [Self::Capture, Self::Refund];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Refund => "refund",
        }
    }
}

/// How far a movement has got. Only moves forward: `Pending` to one of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    Pending,
    Settled,
    Failed,
}

impl EntryStatus {
    pub const ALL: [EntryStatus; 3] = [Self::Pending, Self::Settled, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Settled => "settled",
            Self::Failed => "failed",
        }
    }

    /// The later of two reports about one movement; the first final word stays.
    fn merge(self, other: EntryStatus) -> EntryStatus {
        if self == EntryStatus::Pending {
            other
        } else {
            self
        }
    }
}

/// One money movement, linked to the provider's ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub kind: LedgerKind,
    /// The provider's id of the movement: `pay_…` for a capture, `rfnd_…` for a refund.
    pub provider_id: String,
    /// The payment it belongs to.
    pub payment_id: String,
    /// In the minor unit of `currency` (paise for rupees).
    pub amount: Paise,
    /// ISO 4217, as the provider reported it. Only entries in the order's
    /// currency count in its sums; one in another currency is a mismatch,
    /// kept so that it can be given back.
    pub currency: String,
    pub status: EntryStatus,
    pub recorded_at: DateTime<Utc>,
    /// How a movement outside Razorpay was made (cash on delivery), with its
    /// reference; `None` for Razorpay's.
    pub offline: Option<super::cod::OfflineDetail>,
}

impl Order {
    /// Money captured for the order in its currency, net of nothing.
    pub fn captured(&self) -> i64 {
        self.sum(LedgerKind::Capture, |s| s == EntryStatus::Settled)
    }

    /// Money refunded or being refunded in the order's currency (a failed
    /// refund gave it back).
    pub fn refunded(&self) -> i64 {
        self.sum(LedgerKind::Refund, |s| s != EntryStatus::Failed)
    }

    /// Money the provider has confirmed it returned.
    pub fn refunded_settled(&self) -> i64 {
        self.sum(LedgerKind::Refund, |s| s == EntryStatus::Settled)
    }

    /// What can still be refunded, in the order's currency.
    pub fn refundable(&self) -> i64 {
        (self.captured() - self.refunded()).max(0)
    }

    /// What can still be refunded of each captured payment in the order's
    /// currency, in capture order.
    pub fn refundable_by_payment(&self) -> Vec<(String, i64)> {
        self.unrefunded_captures()
            .into_iter()
            .filter(|(_, currency, _)| currency == self.currency.as_str())
            .map(|(payment_id, _, left)| (payment_id, left))
            .collect()
    }

    /// Each captured payment with money left on it, in any currency, in
    /// capture order: payment id, currency, what is left in its minor unit.
    pub fn unrefunded_captures(&self) -> Vec<(String, String, i64)> {
        self.ledger
            .iter()
            .filter(|e| e.kind == LedgerKind::Capture && e.status == EntryStatus::Settled)
            .map(|capture| {
                let left = capture.amount.get() - self.refunded_of(&capture.payment_id);
                (capture.payment_id.clone(), capture.currency.clone(), left)
            })
            .filter(|(_, _, left)| *left > 0)
            .collect()
    }

    /// Captured money the order does not keep, to be given back: everything
    /// on an order that was cancelled or expired, and on a paid order every
    /// capture but the one that paid it (a second payment, or one that did
    /// not match). An unpaid order keeps what it has until staff or a
    /// matching capture decide. Payment id, currency, what is left.
    pub fn unwanted_captures(&self) -> Vec<(String, String, i64)> {
        let keeps = |payment_id: &str| match self.status {
            OrderStatus::Cancelled | OrderStatus::Expired => false,
            s if s.is_paid() || s == OrderStatus::Refunded => {
                self.payment.payment_id.as_deref() == Some(payment_id)
            }
            _ => true,
        };
        self.unrefunded_captures()
            .into_iter()
            .filter(|(payment_id, _, _)| !keeps(payment_id))
            .collect()
    }

    /// Refunds of `payment_id` that took money or may still (not failed).
    pub(super) fn refunded_of(&self, payment_id: &str) -> i64 {
        self.ledger
            .iter()
            .filter(|e| {
                e.kind == LedgerKind::Refund
                    && e.payment_id == payment_id
                    && e.status != EntryStatus::Failed
            })
            .map(|e| e.amount.get())
            .sum()
    }

    fn sum(&self, kind: LedgerKind, counts: impl Fn(EntryStatus) -> bool) -> i64 {
        self.ledger
            .iter()
            .filter(|e| e.kind == kind && counts(e.status) && e.currency == self.currency.as_str())
            .map(|e| e.amount.get())
            .sum()
    }

    /// Whether a payment of `amount` in `currency` is exactly what the order asks.
    pub fn is_its_amount(&self, amount: Paise, currency: &str) -> bool {
        amount == self.total && currency == self.currency.as_str()
    }

    /// The settled capture of `payment_id`, if the ledger has one.
    pub fn capture_of(&self, payment_id: &str) -> Option<&LedgerEntry> {
        self.ledger.iter().find(|e| {
            e.kind == LedgerKind::Capture
                && e.provider_id == payment_id
                && e.status == EntryStatus::Settled
        })
    }

    pub(super) fn entry(&self, kind: LedgerKind, provider_id: &str) -> Option<&LedgerEntry> {
        self.ledger
            .iter()
            .find(|e| e.kind == kind && e.provider_id == provider_id)
    }

    /// Adds the movement, or moves a known one forward. One entry per provider id.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record(
        &mut self,
        kind: LedgerKind,
        provider_id: &str,
        payment_id: &str,
        amount: Paise,
        currency: &str,
        status: EntryStatus,
        now: DateTime<Utc>,
    ) {
        match self
            .ledger
            .iter_mut()
            .find(|e| e.kind == kind && e.provider_id == provider_id)
        {
            Some(entry) => entry.status = entry.status.merge(status),
            None => self.ledger.push(LedgerEntry {
                kind,
                provider_id: provider_id.to_owned(),
                payment_id: payment_id.to_owned(),
                amount,
                currency: currency.to_owned(),
                status,
                recorded_at: crate::domain::time::truncate_to_millis(now),
                offline: None,
            }),
        }
    }
}
