//! Cash on delivery: how an order is paid ([`PaymentMethod`]), who may pay
//! cash ([`CodPolicy`]), and the cash that moves for it — collected at the
//! door, refunded by staff — as ledger entries of their own
//! ([`Order::collect_cash`], [`Order::record_cash_refund`]).
//!
//! A COD order is created `pending_payment` and expires like any unpaid one
//! unless the customer confirms it with the code sent to their phone
//! (`confirmed`: stock held, nothing paid). Its cash is one capture keyed by
//! the order (`cod_{order id}`), so however often staff mark it collected it
//! is taken once; from then on it counts as paid like a Razorpay capture.

use chrono::{DateTime, Utc};

use super::ledger::{EntryStatus, LedgerKind};
use super::payment::{Applied, PaymentEvent};
use super::status::{IllegalTransition, OrderStatus};
use super::{Notice, Order};
use crate::domain::money::Paise;
use crate::domain::outbox::NoticeKind;
use crate::domain::validation::{char_len, FieldError};

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PaymentMethod {
    /// Online through Razorpay Checkout (orders stored before COD existed).
    #[default]
    Razorpay,
    /// Cash on delivery.
    Cod,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 2] = [Self::Razorpay, Self::Cod];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Razorpay => "razorpay",
            Self::Cod => "cod",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "unknown", "must be `razorpay` or `cod`"))
    }
}

/// How money moved outside Razorpay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfflineMethod {
    Cash,
    Upi,
    BankTransfer,
}

impl OfflineMethod {
    pub const ALL: [OfflineMethod; 3] = [Self::Cash, Self::Upi, Self::BankTransfer];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Upi => "upi",
            Self::BankTransfer => "bank_transfer",
        }
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(field, "unknown", "must be `cash`, `upi` or `bank_transfer`")
            })
    }
}

/// Most characters of an offline movement's reference.
pub const MAX_REFERENCE: usize = 100;

/// How an offline movement was made, and its reference (a receipt number, a
/// UPI transaction id): what staff recorded beside the amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineDetail {
    pub method: OfflineMethod,
    pub reference: Option<String>,
}

impl OfflineDetail {
    /// `reference` trimmed, at most [`MAX_REFERENCE`] characters, no control
    /// characters; blank is none.
    pub fn parse(
        method: OfflineMethod,
        field: &str,
        reference: Option<&str>,
    ) -> Result<Self, FieldError> {
        if let Some(r) = reference {
            if char_len(r) > MAX_REFERENCE || r.chars().any(char::is_control) {
                return Err(FieldError::new(
                    field,
                    "invalid",
                    format!("must be at most {MAX_REFERENCE} characters, none of them control characters"),
                ));
            }
        }
        let reference = reference.map(str::trim).filter(|r| !r.is_empty());
        Ok(Self {
            method,
            reference: reference.map(str::to_owned),
        })
    }
}

/// Who may pay cash on delivery: orders up to a ceiling, customers whose
/// phone is verified (the confirmation code goes there), destinations the
/// shipping zone allows it for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodPolicy {
    /// The largest order total COD is offered for.
    pub max_order: Paise,
}

impl CodPolicy {
    /// Whether an order of `total` may be paid cash on delivery; the refusal
    /// names `payment_method` with a code per reason. `zone_allows` is the
    /// shipping zone's word (`Serviceability::cod_allowed`) for the order's
    /// destination: the checkout passes it once the zones are wired.
    pub fn check(
        &self,
        total: Paise,
        phone_verified: bool,
        zone_allows: bool,
    ) -> Result<(), FieldError> {
        const FIELD: &str = "payment_method";
        if !phone_verified {
            return Err(FieldError::new(
                FIELD,
                "cod_phone_unverified",
                "cash on delivery needs a verified phone: the confirmation code is sent there",
            ));
        }
        if !zone_allows {
            return Err(FieldError::new(
                FIELD,
                "cod_unavailable_for_destination",
                "cash on delivery is not offered for this address",
            ));
        }
        if total > self.max_order {
            return Err(FieldError::new(
                FIELD,
                "cod_above_limit",
                format!(
                    "cash on delivery is offered for orders up to {} paise; this one comes to {}",
                    self.max_order.get(),
                    total.get()
                ),
            ));
        }
        Ok(())
    }
}

/// Why cash cannot be recorded for an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CashError {
    #[error("the order is not paid cash on delivery")]
    NotCod,
    /// Cash is collected once the order is with the carrier or delivered.
    #[error(transparent)]
    NotCollectable(IllegalTransition),
    #[error("at most {left} paise can be refunded")]
    ExceedsCollected { left: i64 },
}

impl Order {
    /// Whether money is held for the order: past payment (a Razorpay order),
    /// or past confirmation with its cash collected (cash on delivery).
    pub fn is_paid(&self) -> bool {
        self.status.is_paid()
            && (self.payment_method == PaymentMethod::Razorpay || self.captured() > 0)
    }

    /// The ledger id of the order's cash: one per order, so collecting twice
    /// takes it once.
    pub fn cash_id(&self) -> String {
        format!("cod_{}", self.id)
    }

    /// Confirms a COD order with its code checked: `pending_payment →
    /// confirmed`, owing the order confirmation.
    pub fn confirm_cod(&mut self, now: DateTime<Utc>) -> Result<Vec<Notice>, CashError> {
        if self.payment_method != PaymentMethod::Cod {
            return Err(CashError::NotCod);
        }
        self.transition(OrderStatus::Confirmed, now)
            .map_err(CashError::NotCollectable)?;
        Ok(vec![Notice::once(NoticeKind::OrderConfirmation)])
    }

    /// Records the order's total as collected in cash (a capture keyed by
    /// [`Order::cash_id`]), owing the payment receipt; collecting again
    /// changes nothing. Only once the goods are with the carrier or delivered.
    pub fn collect_cash(
        &mut self,
        detail: OfflineDetail,
        now: DateTime<Utc>,
    ) -> Result<Applied, CashError> {
        if self.payment_method != PaymentMethod::Cod {
            return Err(CashError::NotCod);
        }
        let id = self.cash_id();
        if self.capture_of(&id).is_some() {
            return Ok(Applied {
                changed: false,
                notices: Vec::new(),
                flagged: Vec::new(),
            });
        }
        if !matches!(self.status, OrderStatus::Shipped | OrderStatus::Delivered) {
            return Err(CashError::NotCollectable(IllegalTransition {
                from: self.status,
                to: OrderStatus::Paid,
            }));
        }
        let (total, currency) = (self.total, self.currency.as_str());
        self.record(
            LedgerKind::Capture,
            &id,
            &id,
            total,
            currency,
            EntryStatus::Settled,
            now,
        );
        self.mark_offline(LedgerKind::Capture, &id, detail);
        self.payment.payment_id = Some(id);
        self.touch(now);
        Ok(Applied {
            changed: true,
            notices: vec![Notice::once(NoticeKind::PaymentReceipt)],
            flagged: Vec::new(),
        })
    }

    /// Records a refund of `amount` of the collected cash that staff made
    /// outside Razorpay, under `refund_id` (the same id again changes
    /// nothing). All of it refunded makes the order `refunded`.
    pub fn record_cash_refund(
        &mut self,
        refund_id: &str,
        amount: Paise,
        detail: OfflineDetail,
        now: DateTime<Utc>,
    ) -> Result<Applied, CashError> {
        if self.payment_method != PaymentMethod::Cod {
            return Err(CashError::NotCod);
        }
        let known = self.entry(LedgerKind::Refund, refund_id).is_some();
        let left = self.refundable();
        if !known && amount.get() > left {
            return Err(CashError::ExceedsCollected { left });
        }
        let applied = self.apply(
            &PaymentEvent::Refund {
                refund_id: refund_id.to_owned(),
                payment_id: self.cash_id(),
                amount,
                currency: self.currency.as_str().to_owned(),
                status: EntryStatus::Settled,
            },
            now,
        );
        self.mark_offline(LedgerKind::Refund, refund_id, detail);
        Ok(applied)
    }

    fn mark_offline(&mut self, kind: LedgerKind, id: &str, detail: OfflineDetail) {
        if let Some(entry) = self
            .ledger
            .iter_mut()
            .find(|e| e.kind == kind && e.provider_id == id && e.offline.is_none())
        {
            entry.offline = Some(detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CodPolicy {
        CodPolicy {
            max_order: Paise::trusted(500_000),
        }
    }

    #[test]
    fn cod_is_refused_above_the_ceiling_without_a_verified_phone_or_where_the_zone_says_no() {
        assert_eq!(policy().check(Paise::trusted(500_000), true, true), Ok(()));
        let code = |total, verified, zone| {
            policy()
                .check(Paise::trusted(total), verified, zone)
                .unwrap_err()
                .code
        };
        assert_eq!(code(500_001, true, true), "cod_above_limit");
        assert_eq!(code(100, false, true), "cod_phone_unverified");
        assert_eq!(code(100, true, false), "cod_unavailable_for_destination");
    }

    #[test]
    fn a_method_parses_from_its_name_only() {
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse("payment_method", m.as_str()), Ok(m));
        }
        for m in OfflineMethod::ALL {
            assert_eq!(OfflineMethod::parse("method", m.as_str()), Ok(m));
        }
        assert!(PaymentMethod::parse("payment_method", "COD").is_err());
        assert!(OfflineDetail::parse(OfflineMethod::Cash, "reference", Some("a\u{7}")).is_err());
        assert_eq!(
            OfflineDetail::parse(OfflineMethod::Cash, "reference", Some("  "))
                .unwrap()
                .reference,
            None
        );
    }
}
