//! What a payment provider reports about an order's money, in Bazaar's terms
//! ([`PaymentEvent`]), and how the order takes it in: [`Order::apply`].

use chrono::{DateTime, Utc};

use super::flags::{Flag, FlagReason};
use super::ledger::{EntryStatus, LedgerKind};
use super::status::OrderStatus;
use super::{Notice, Order};
use crate::domain::money::Paise;
use crate::domain::outbox::NoticeKind;

/// The payment side of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentInfo {
    /// The provider's order (`order_…`), once checkout started.
    pub provider_order_id: Option<String>,
    /// The payment that was authorised or captured.
    pub payment_id: Option<String>,
    /// Why the last attempt failed, while the order is still unpaid.
    pub last_failure: Option<String>,
}

/// What a payment provider reported, in Bazaar's terms. Amounts are in the
/// minor unit of `currency`, as the provider reported both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    Authorized {
        payment_id: String,
        amount: Paise,
        currency: String,
    },
    Captured {
        payment_id: String,
        amount: Paise,
        currency: String,
    },
    Failed {
        payment_id: String,
        reason: String,
    },
    Refund {
        refund_id: String,
        payment_id: String,
        amount: Paise,
        currency: String,
        status: EntryStatus,
    },
}

impl Order {
    /// Applies what the provider reported. Idempotent: an event already applied
    /// changes nothing, and answers no notices or flags.
    ///
    /// Only a capture of exactly the order's total in its currency pays it. Any
    /// other payment is flagged, and a capture of it on an unpaid order makes
    /// it `payment_mismatch`; the money is recorded (in its own currency). A
    /// late failure never undoes a capture; a capture on an order that no
    /// longer keeps it is recorded, and [`Order::unwanted_captures`] says it is
    /// owed back. A refund of more than is left of its payment's capture is
    /// flagged and not recorded: the ledger never shows more refunded than taken.
    pub fn apply(&mut self, event: &PaymentEvent, now: DateTime<Utc>) -> Applied {
        let before = self.clone();
        let flags_before = self.flags.len();
        let mut notices = Vec::new();
        match event {
            PaymentEvent::Authorized {
                payment_id,
                amount,
                currency,
            } => {
                if !self.is_its_amount(*amount, currency) {
                    self.flag_mismatch(payment_id, *amount, currency, now);
                } else if self.status == OrderStatus::PendingPayment
                    && self.payment.payment_id.is_none()
                {
                    self.payment.payment_id = Some(payment_id.clone());
                }
            }
            PaymentEvent::Captured {
                payment_id,
                amount,
                currency,
            } => {
                self.record(
                    LedgerKind::Capture,
                    payment_id,
                    payment_id,
                    *amount,
                    currency,
                    EntryStatus::Settled,
                    now,
                );
                // Judged by what the ledger holds for the payment: its first
                // report, should a later one disagree about amount or currency.
                let (amount, currency) = self
                    .capture_of(payment_id)
                    .map(|e| (e.amount, e.currency.clone()))
                    .unwrap_or((*amount, currency.clone()));
                if !self.is_its_amount(amount, &currency) {
                    self.flag_mismatch(payment_id, amount, &currency, now);
                    if self.status == OrderStatus::PendingPayment {
                        self.status = OrderStatus::PaymentMismatch;
                    }
                } else if self.status.is_unpaid() {
                    self.status = OrderStatus::Paid;
                    self.payment.payment_id = Some(payment_id.clone());
                    self.payment.last_failure = None;
                    notices.extend([
                        Notice::once(NoticeKind::OrderConfirmation),
                        Notice::once(NoticeKind::PaymentReceipt),
                    ]);
                }
            }
            PaymentEvent::Failed { reason, .. } => {
                if self.status == OrderStatus::PendingPayment && self.captured() == 0 {
                    self.payment.last_failure = Some(reason.clone());
                }
            }
            PaymentEvent::Refund {
                refund_id,
                payment_id,
                amount,
                currency,
                status,
            } => {
                let was = self.entry(LedgerKind::Refund, refund_id).map(|e| e.status);
                let overflow = match (was, status) {
                    // Known (its amount was checked then), or money that never left.
                    (Some(_), _) | (None, EntryStatus::Failed) => None,
                    (None, _) => self.refund_overflow(refund_id, payment_id, *amount, currency),
                };
                if let Some(detail) = overflow {
                    self.flag(FlagReason::RefundExceedsCapture, refund_id, detail, now);
                } else {
                    self.record(
                        LedgerKind::Refund,
                        refund_id,
                        payment_id,
                        *amount,
                        currency,
                        *status,
                        now,
                    );
                    let is = self.entry(LedgerKind::Refund, refund_id).map(|e| e.status);
                    if was != is && is == Some(EntryStatus::Settled) {
                        notices.push(Notice {
                            kind: NoticeKind::Refund,
                            detail: Some(refund_id.clone()),
                        });
                    }
                }
            }
        }
        // Everything captured went back (confirmed: a pending refund may still
        // fail): the order is refunded, whatever the order the events came in.
        let captured = self.captured();
        if self.status.is_paid() && captured > 0 && self.refunded_settled() >= captured {
            self.status = OrderStatus::Refunded;
        }
        let changed = *self != before;
        if changed {
            self.touch(now);
        }
        Applied {
            changed,
            notices,
            flagged: self.flags[flags_before..].to_vec(),
        }
    }

    /// Why a new refund cannot be recorded as reported, if it cannot: more
    /// than is left of its payment's capture, another currency, or a payment
    /// of which nothing was captured.
    fn refund_overflow(
        &self,
        refund_id: &str,
        payment_id: &str,
        amount: Paise,
        currency: &str,
    ) -> Option<String> {
        let Some(capture) = self.capture_of(payment_id) else {
            return Some(format!(
                "refund {refund_id} of {} {currency} is for payment {payment_id}, of which nothing was captured for this order",
                amount.get()
            ));
        };
        if capture.currency != currency {
            return Some(format!(
                "refund {refund_id} is in {currency}; payment {payment_id} was captured in {}",
                capture.currency
            ));
        }
        let refunded = self.refunded_of(payment_id);
        (refunded + amount.get() > capture.amount.get()).then(|| {
            format!(
                "refund {refund_id} of {} {currency} would make {} refunded of the {} captured by payment {payment_id}",
                amount.get(),
                refunded + amount.get(),
                capture.amount.get()
            )
        })
    }
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub changed: bool,
    pub notices: Vec<Notice>,
    /// Flags this event added.
    pub flagged: Vec<Flag>,
}

#[cfg(test)]
pub(super) mod tests_support {
    use super::*;
    use crate::domain::ids::UserId;
    use crate::domain::money::Currency;
    use crate::domain::order::OrderId;

    /// An unpaid order of ₹11.80 with no lines.
    pub fn unpaid_order() -> Order {
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
            status: OrderStatus::PendingPayment,
            payment_method: Default::default(),
            address: None,
            notes: None,
            payment: PaymentInfo::default(),
            ledger: Vec::new(),
            flags: Vec::new(),
            fulfilment: Default::default(),
            unpaid_slot: None,
            request_key: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            expires_at: Utc::now(),
            version: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::unpaid_order;
    use super::*;

    fn captured(payment_id: &str, amount: i64, currency: &str) -> PaymentEvent {
        PaymentEvent::Captured {
            payment_id: payment_id.into(),
            amount: Paise::trusted(amount),
            currency: currency.into(),
        }
    }

    fn paid_order() -> Order {
        let mut order = unpaid_order();
        order.apply(&captured("pay_1", 1_180, "INR"), Utc::now());
        order
    }

    fn refund_of(id: &str, amount: i64, status: EntryStatus) -> PaymentEvent {
        PaymentEvent::Refund {
            refund_id: id.into(),
            payment_id: "pay_1".into(),
            amount: Paise::trusted(amount),
            currency: "INR".into(),
            status,
        }
    }

    fn refund(status: EntryStatus) -> PaymentEvent {
        refund_of("rfnd_1", 1_180, status)
    }

    #[test]
    fn only_a_capture_of_the_total_in_rupees_pays_the_order() {
        for (amount, currency) in [(1, "INR"), (1_179, "INR"), (1_181, "INR"), (1_180, "USD")] {
            let mut order = unpaid_order();

            let applied = order.apply(&captured("pay_odd", amount, currency), Utc::now());

            assert_eq!(
                order.status,
                OrderStatus::PaymentMismatch,
                "{amount} {currency}"
            );
            assert!(applied.notices.is_empty(), "no confirmation for a mismatch");
            assert_eq!(applied.flagged.len(), 1);
            assert_eq!(order.flags[0].reason, FlagReason::PaymentMismatch);
            assert_eq!(order.flags[0].subject, "pay_odd");
            assert_eq!(order.ledger.len(), 1, "the money is recorded");
            assert_eq!(order.ledger[0].currency, currency);
            assert!(order.unwanted_captures().is_empty(), "held for staff");
            let again = order.apply(&captured("pay_odd", amount, currency), Utc::now());
            assert!(!again.changed && again.flagged.is_empty());
        }
        let mut usd = unpaid_order();
        usd.apply(&captured("pay_usd", 1_180, "USD"), Utc::now());
        assert_eq!(usd.captured(), 0, "dollars are not counted as paise");
    }

    #[test]
    fn a_matching_capture_after_a_mismatch_pays_and_the_odd_one_is_owed_back() {
        let mut order = unpaid_order();
        order.apply(&captured("pay_odd", 1, "INR"), Utc::now());

        let applied = order.apply(&captured("pay_ok", 1_180, "INR"), Utc::now());

        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(applied.notices.len(), 2);
        assert_eq!(order.payment.payment_id.as_deref(), Some("pay_ok"));
        assert_eq!(
            order.unwanted_captures(),
            vec![("pay_odd".to_owned(), "INR".to_owned(), 1)]
        );
    }

    #[test]
    fn a_second_capture_on_a_paid_order_is_owed_back_whatever_its_amount() {
        let mut order = paid_order();

        order.apply(&captured("pay_2", 1_180, "INR"), Utc::now());
        order.apply(&captured("pay_3", 500, "USD"), Utc::now());

        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(
            order.unwanted_captures(),
            vec![
                ("pay_2".to_owned(), "INR".to_owned(), 1_180),
                ("pay_3".to_owned(), "USD".to_owned(), 500),
            ]
        );
        assert_eq!(order.flags.len(), 1, "only the mismatched one is flagged");
    }

    fn authorized(payment_id: &str) -> PaymentEvent {
        PaymentEvent::Authorized {
            payment_id: payment_id.into(),
            amount: Paise::trusted(1_180),
            currency: "INR".into(),
        }
    }

    #[test]
    fn the_first_authorisation_of_a_waiting_order_names_its_payment_and_no_later_one_does() {
        let mut order = unpaid_order();
        order.apply(&authorized("pay_a"), Utc::now());
        assert_eq!(order.payment.payment_id.as_deref(), Some("pay_a"));

        order.apply(&authorized("pay_b"), Utc::now());
        assert_eq!(order.payment.payment_id.as_deref(), Some("pay_a"));

        let mut cancelled = unpaid_order();
        cancelled.status = OrderStatus::Cancelled;
        cancelled.apply(&authorized("pay_c"), Utc::now());
        assert_eq!(cancelled.payment.payment_id, None);
    }

    #[test]
    fn a_failed_payment_is_remembered_only_while_the_order_waits_for_one() {
        let failed = PaymentEvent::Failed {
            payment_id: "pay_x".into(),
            reason: "card declined".into(),
        };
        let mut waiting = unpaid_order();
        waiting.apply(&failed, Utc::now());
        assert_eq!(
            waiting.payment.last_failure.as_deref(),
            Some("card declined")
        );

        let mut cancelled = unpaid_order();
        cancelled.status = OrderStatus::Cancelled;
        cancelled.apply(&failed, Utc::now());
        assert_eq!(cancelled.payment.last_failure, None);

        let mut paid = paid_order();
        paid.apply(&failed, Utc::now());
        assert_eq!(paid.payment.last_failure, None);
    }

    #[test]
    fn a_mismatched_authorisation_is_flagged_and_not_taken_as_the_payment() {
        let mut order = unpaid_order();

        order.apply(
            &PaymentEvent::Authorized {
                payment_id: "pay_small".into(),
                amount: Paise::trusted(1),
                currency: "INR".into(),
            },
            Utc::now(),
        );

        assert_eq!(order.status, OrderStatus::PendingPayment);
        assert_eq!(order.payment.payment_id, None);
        assert_eq!(order.flags.len(), 1);
    }

    #[test]
    fn a_refund_larger_than_what_is_left_of_its_capture_is_flagged_not_recorded() {
        let mut order = paid_order();
        order.apply(
            &refund_of("rfnd_a", 1_000, EntryStatus::Settled),
            Utc::now(),
        );

        let over = order.apply(&refund_of("rfnd_b", 181, EntryStatus::Settled), Utc::now());
        let unknown_payment = order.apply(
            &PaymentEvent::Refund {
                refund_id: "rfnd_c".into(),
                payment_id: "pay_other".into(),
                amount: Paise::trusted(1),
                currency: "INR".into(),
                status: EntryStatus::Pending,
            },
            Utc::now(),
        );
        let fits = order.apply(&refund_of("rfnd_d", 180, EntryStatus::Settled), Utc::now());

        assert_eq!(over.flagged.len(), 1);
        assert_eq!(over.flagged[0].reason, FlagReason::RefundExceedsCapture);
        assert_eq!(unknown_payment.flagged.len(), 1);
        assert!(fits.flagged.is_empty());
        assert_eq!(order.refunded(), 1_180, "only what fits was recorded");
        assert_eq!(order.status, OrderStatus::Refunded);
        let again = order.apply(&refund_of("rfnd_b", 181, EntryStatus::Settled), Utc::now());
        assert!(!again.changed, "flagged once");
    }

    #[test]
    fn a_pending_full_refund_does_not_make_the_order_refunded_until_it_settles() {
        let mut order = paid_order();

        order.apply(&refund(EntryStatus::Pending), Utc::now());
        assert_eq!(order.status, OrderStatus::Paid);
        assert_eq!(
            order.refundable(),
            0,
            "nothing more can be refunded meanwhile"
        );

        let mut failed = order.clone();
        failed.apply(&refund(EntryStatus::Failed), Utc::now());
        assert_eq!(failed.status, OrderStatus::Paid);
        assert_eq!(
            failed.refundable(),
            1_180,
            "a failed refund gives the money back"
        );

        order.apply(&refund(EntryStatus::Settled), Utc::now());
        assert_eq!(order.status, OrderStatus::Refunded);
    }
}
