//! Paying for an order and giving money back: checkout with the provider,
//! the verify call, refunds, cancellations, and the one path every payment
//! report is applied through (refunding at once a capture the order does not keep).

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::razorpay::{self as rzp, CreateOrder, PaymentStatus, RefundRequest};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::Permission;
use crate::app::identity::Principal;
use crate::domain::audit::AuditKind;
use crate::domain::order::cod::PaymentMethod;
use crate::domain::order::payment::PaymentEvent;
use crate::domain::order::status::{IllegalTransition, OrderStatus};
use crate::domain::order::{Order, OrderId};
use crate::domain::precondition::{self, IfMatch};
use crate::domain::validation::FieldError;

use super::audit::{ActionNote, MoneyAction};
use super::{invalid_signature, paise, parse_order_id, payment_event, short_hash, Change, Orders};

/// What a frontend needs to open Razorpay Checkout.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub order: Order,
    pub key_id: String,
    pub provider_order_id: String,
    pub name: String,
    pub email: Option<String>,
    pub contact: String,
}

impl Orders {
    /// Cancels: the owner before payment; staff until fulfilment, then
    /// refunding what was captured. With `if_match`, only the version it names
    /// is cancelled (412 otherwise, nothing changed). Audited as
    /// `order_cancelled` with `who`, the order's total and the note's reason.
    pub async fn cancel(
        &self,
        who: &Principal,
        id: &str,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        let reason = note.reason()?;
        let order = self.get(who, id).await?;
        let staff = who.can(Permission::OrdersManage);
        // Checked on the order being written: a capture that lands meanwhile
        // makes a customer's cancel illegal instead of cancelling a paid order.
        let (order, from) = self
            .transition(&order.id, OrderStatus::Cancelled, if_match, |current| {
                // A customer may cancel until payment, or a COD order until it is packed.
                let before_payment = matches!(
                    current.status,
                    OrderStatus::PendingPayment | OrderStatus::Confirmed
                );
                if staff || before_payment {
                    Ok(())
                } else {
                    Err(IllegalTransition {
                        from: current.status,
                        to: OrderStatus::Cancelled,
                    }
                    .into())
                }
            })
            .await?;
        // Recorded before the refund below is asked for: the cancellation stands,
        // and is audited, even if Razorpay then fails.
        let refundable = order.refundable();
        self.audit_money(MoneyAction {
            kind: AuditKind::OrderCancelled,
            who,
            order: &order,
            amount_paise: order.total.get(),
            reason,
            note,
            detail: format!(
                "{} → cancelled; {refundable} paise captured to refund",
                from.as_str()
            ),
        })
        .await;
        // Cancelled first, so the refund cannot make it `refunded` instead.
        self.give_back_unwanted(order).await
    }

    /// Refunds `amount` (everything refundable if `None`) of what was captured.
    /// `request_key` is the client's `Idempotency-Key`: Razorpay's refund key
    /// is made from it, so a retry after a timeout cannot refund twice.
    /// `if_match` is checked before Razorpay is asked: a stale one refunds nothing.
    /// Audited as `order_refunded` with `who`, the amount and the note's reason
    /// once Razorpay has taken the refund.
    pub async fn refund(
        &self,
        who: &Principal,
        id: &str,
        amount: Option<i64>,
        request_key: Option<&str>,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        let reason = note.reason()?;
        let order = self.load(&parse_order_id(id)?).await?;
        if order.payment_method == PaymentMethod::Cod {
            return Err(super::cod::paid_in_cash());
        }
        if !precondition::met(if_match, order.version) {
            return Err(AppError::precondition_failed("order"));
        }
        let refundable = order.refundable();
        let amount = amount.unwrap_or(refundable);
        if amount <= 0 {
            return Err(if refundable == 0 {
                AppError::new(
                    ErrorCode::RefundExceedsCaptured,
                    "nothing was captured for this order, or all of it was refunded",
                )
            } else {
                AppError::validation(vec![FieldError::new(
                    "amount",
                    "must_be_positive",
                    "must be a positive whole number of paise",
                )])
            });
        }
        if amount > refundable {
            return Err(AppError::new(
                ErrorCode::RefundExceedsCaptured,
                format!("at most {refundable} paise can be refunded"),
            ));
        }
        // Without the client's key, the order's version: stable while nothing
        // changed, so a retry of the same refund is one refund at Razorpay.
        let key = match request_key {
            Some(key) => format!("bz_{}_{}", order.id, short_hash(key)),
            None => format!("bz_{}_v{}", order.id, order.version),
        };
        let refunded = self.refund_with_key(&order, amount, &key).await?;
        self.audit_money(MoneyAction {
            kind: AuditKind::OrderRefunded,
            who,
            order: &refunded,
            amount_paise: amount,
            reason,
            note,
            detail: format!(
                "{amount} of {} paise refunded; {} refunded in all",
                refunded.total.get(),
                refunded.refunded()
            ),
        })
        .await;
        Ok(refunded)
    }

    /// Refunds `amount` at Razorpay under `key` and records what it answered.
    /// The amount is taken from the captures that still have money on them.
    async fn refund_with_key(
        &self,
        order: &Order,
        amount: i64,
        key: &str,
    ) -> Result<Order, AppError> {
        let mut current = order.clone();
        let mut left = amount;
        for (i, (payment_id, available)) in order.refundable_by_payment().into_iter().enumerate() {
            if left == 0 {
                break;
            }
            let part = left.min(available);
            let refund = self
                .gateway
                .refund(&RefundRequest {
                    payment_id,
                    amount_paise: Some(part as u64),
                    idempotency_key: format!("{key}_{i}"),
                    notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    receipt: None,
                    speed: None,
                })
                .await
                .map_err(AppError::payment)?;
            current = self
                .apply(&order.id, &payment_event(refund.report()))
                .await?;
            left -= part;
        }
        Ok(current)
    }

    /// Applies a provider's report to the order, idempotently. A capture the
    /// order does not keep (on an order no longer payable, or a second one on
    /// a paid order) is money Bazaar will not keep: it is refunded at once.
    pub async fn apply(&self, id: &OrderId, event: &PaymentEvent) -> Result<Order, AppError> {
        let order = self.apply_event(id, event).await?;
        if matches!(event, PaymentEvent::Captured { .. }) {
            return self.give_back_unwanted(order).await;
        }
        Ok(order)
    }

    /// Applies one report; audits the flags it raised and releases the stock
    /// of an order it moved out of the states that hold it.
    async fn apply_event(&self, id: &OrderId, event: &PaymentEvent) -> Result<Order, AppError> {
        let (order, (from, flagged)) = self
            .update(id, |order| {
                let from = order.status;
                let applied = order.apply(event, self.clock.now());
                Ok(Change {
                    changed: applied.changed,
                    notices: applied.notices,
                    out: (from, applied.flagged),
                })
            })
            .await?;
        for flag in &flagged {
            tracing::warn!(order = %order.id, reason = flag.reason.as_str(), detail = %flag.detail, "an order's money was flagged for staff");
            let detail = format!("{}: {}", flag.reason.as_str(), flag.detail);
            self.audit(AuditKind::PaymentFlagged, &order, detail).await;
        }
        self.release_if_left(&order, from).await;
        Ok(order)
    }

    /// Refunds, in full, every capture the order does not keep
    /// ([`Order::unwanted_captures`]), each under a Razorpay refund key made
    /// from its payment id: however often and by whichever path a capture is
    /// reported (webhook, verify, reconciliation, a cancel), it is refunded once.
    async fn give_back_unwanted(&self, order: Order) -> Result<Order, AppError> {
        let mut current = order.clone();
        for (payment_id, currency, left) in order.unwanted_captures() {
            let why = if order.status.is_paid() || order.status == OrderStatus::Refunded {
                "another payment already paid the order"
            } else {
                "the order is no longer payable"
            };
            tracing::warn!(order = %order.id, payment = %payment_id, why, "refunding a capture the order does not keep");
            let refund = self
                .gateway
                .refund(&RefundRequest {
                    payment_id: payment_id.clone(),
                    amount_paise: Some(u64::try_from(left).unwrap_or_default()),
                    idempotency_key: format!("bz_void_{payment_id}"),
                    notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    receipt: None,
                    speed: None,
                })
                .await
                .map_err(AppError::payment)?;
            current = self
                .apply_event(&order.id, &payment_event(refund.report()))
                .await?;
            let detail = format!("refunded {left} {currency} of payment {payment_id}: {why}");
            self.audit(AuditKind::CaptureRefunded, &current, detail)
                .await;
        }
        Ok(current)
    }

    /// Creates (or reuses) the provider's order for checkout.
    pub async fn checkout(&self, who: &Principal, id: &str) -> Result<Checkout, AppError> {
        let mut order = self.get(who, id).await?;
        if order.payment_method == PaymentMethod::Cod {
            return Err(super::cod::paid_in_cash());
        }
        // Past its time but not swept yet: expire it now rather than take money
        // for stock that is about to go back.
        if order.status == OrderStatus::PendingPayment && self.clock.now() >= order.expires_at {
            self.expire(&order).await?;
            order = self.load(&order.id).await?;
        }
        if order.status != OrderStatus::PendingPayment {
            return Err(IllegalTransition {
                from: order.status,
                to: OrderStatus::Paid,
            }
            .into());
        }
        let order = match &order.payment.provider_order_id {
            Some(_) => order,
            None => {
                let created = self
                    .gateway
                    .create_order(&CreateOrder {
                        amount_paise: order.total.get() as u64,
                        currency: order.currency.as_str().to_owned(),
                        receipt: Some(order.id.to_string()),
                        notes: [("order_id".to_owned(), order.id.to_string())].into(),
                    })
                    .await
                    .map_err(AppError::payment)?;
                let (order, _) = self
                    .update(&order.id, |o| {
                        // A concurrent checkout may have stored its own first: keep that one.
                        if o.payment.provider_order_id.is_some() {
                            return Ok(Change::none(()));
                        }
                        o.payment.provider_order_id = Some(created.id.clone());
                        o.touch(self.clock.now());
                        Ok(Change::with((), Vec::new()))
                    })
                    .await?;
                order
            }
        };
        let user = self.users.get(&order.user_id).await?;
        Ok(Checkout {
            key_id: self.settings.key_id.clone(),
            provider_order_id: order.payment.provider_order_id.clone().unwrap_or_default(),
            name: user
                .as_ref()
                .map(|u| u.name.as_str().to_owned())
                .unwrap_or_default(),
            email: user
                .as_ref()
                .and_then(|u| u.email.as_ref().map(|e| e.as_str().to_owned())),
            contact: user
                .map(|u| u.phone.as_str().to_owned())
                .unwrap_or_default(),
            order,
        })
    }

    /// The frontend's report after Razorpay Checkout: verifies the signature,
    /// then asks the provider what happened and applies it (capturing an
    /// authorised payment).
    pub async fn verify(
        &self,
        who: &Principal,
        provider_order_id: &str,
        payment_id: &str,
        signature: &str,
    ) -> Result<Order, AppError> {
        let order = self
            .orders
            .find_by_provider_order(provider_order_id)
            .await?
            .filter(|o| o.user_id == who.user_id || who.can(Permission::OrdersManage))
            .ok_or_else(|| AppError::not_found("order"))?;
        // Signed over the provider order id *we* stored, never one the client chose.
        let stored = order
            .payment
            .provider_order_id
            .as_deref()
            .unwrap_or_default();
        if !rzp::verify_checkout_signature(&self.settings.key_secret, stored, payment_id, signature)
        {
            return Err(invalid_signature("checkout"));
        }
        let payment = self
            .gateway
            .fetch_payment(payment_id)
            .await
            .map_err(AppError::payment)?;
        if payment.order_id.as_deref() != Some(stored) {
            return Err(invalid_signature("checkout"));
        }
        self.settle(&order.id, payment).await
    }

    /// Applies what a payment's state says, capturing it first when it is
    /// only authorised, for exactly the order's total in its currency, and the
    /// order still waits for it. Anything else is not charged: Razorpay lets an
    /// uncaptured authorisation lapse by itself (an order cancelled or expired
    /// meanwhile; a payment of another amount or currency, which is flagged).
    pub(super) async fn settle(
        &self,
        id: &OrderId,
        mut payment: rzp::Payment,
    ) -> Result<Order, AppError> {
        let mut current = self.load(id).await?;
        let waiting = match current.status {
            OrderStatus::PendingPayment => self.clock.now() < current.expires_at,
            OrderStatus::PaymentMismatch => true,
            _ => false,
        };
        let its_amount = current.is_its_amount(paise(payment.amount), &payment.currency);
        if payment.status == PaymentStatus::Authorized && waiting && its_amount {
            // The order's own amount, never one a payment names.
            let amount = u64::try_from(current.total.get()).unwrap_or_default();
            match self
                .gateway
                .capture_payment(&payment.id, amount, current.currency.as_str())
                .await
            {
                Ok(captured) => payment = captured,
                // Captured meanwhile (Razorpay's auto-capture, another
                // replica): read what it is now.
                Err(AdapterError::Rejected { .. }) => {
                    payment = self
                        .gateway
                        .fetch_payment(&payment.id)
                        .await
                        .map_err(AppError::payment)?
                }
                Err(e) => return Err(AppError::payment(e)),
            }
        }
        for event in payment.reports().into_iter().map(payment_event) {
            current = self.apply(id, &event).await?;
        }
        Ok(current)
    }
}
