//! Cash on delivery: the code that confirms a COD order (sent to the
//! customer's verified phone when it is placed, sent again on request), the
//! cash staff collect at delivery, and the cash refunds staff make outside
//! Razorpay. The money is recorded in the ledger like Razorpay's
//! (`Order::collect_cash`, `Order::record_cash_refund`), so sums, summaries and
//! the refunded state work the same for both.

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::otp::OtpPurpose;
use crate::app::identity::Principal;
use crate::domain::audit::AuditKind;
use crate::domain::money::Paise;
use crate::domain::order::cod::{CashError, OfflineDetail, OfflineMethod, PaymentMethod};
use crate::domain::order::status::{IllegalTransition, OrderStatus};
use crate::domain::order::Order;
use crate::domain::precondition::{self, IfMatch};
use crate::domain::shipping::{self, Serviceability};
use crate::domain::user::UserId;
use crate::domain::validation::FieldError;

use super::audit::{ActionNote, MoneyAction};
use super::{parse_order_id, short_hash, Change, Orders};

/// A COD action on an order paid otherwise.
fn not_cod() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "this order is not paid cash on delivery",
    )
}

/// Razorpay actions on a COD order.
pub(super) fn paid_in_cash() -> AppError {
    AppError::new(
        ErrorCode::Conflict,
        "this order is paid cash on delivery: it is confirmed with the code sent to the \
         customer's phone (confirmCodOrder), and its refunds are recorded (recordCodRefund)",
    )
}

fn cash_error(e: CashError) -> AppError {
    match e {
        CashError::NotCod => not_cod(),
        CashError::NotCollectable(illegal) => AppError::new(
            ErrorCode::IllegalTransition,
            format!(
                "cash is collected once the order is shipped or delivered; it is `{}`",
                illegal.from.as_str()
            ),
        ),
        CashError::ExceedsCollected { left } => AppError::new(
            ErrorCode::RefundExceedsCaptured,
            format!("at most {left} paise can be refunded"),
        ),
    }
}

impl Orders {
    /// Checks, before any stock is taken, that the caller may place a COD
    /// order: their phone is verified and may receive the confirmation code
    /// now (its sending budget is spent here: 429 otherwise).
    pub(super) async fn admit_cod(&self, user: &UserId) -> Result<(), AppError> {
        let verified = match &self.identity {
            Some(identity) => identity.has_verified_phone(user).await?,
            None => false,
        };
        self.fulfilment
            .cod
            .check(Paise::trusted(0), verified, true)
            .map_err(|e| AppError::validation(vec![e]))?;
        if let Some(identity) = &self.identity {
            identity.allow_account_code(user).await?;
        }
        Ok(())
    }

    /// Whether an order of `total` may be paid cash on delivery (ceiling and
    /// the shipping zone's word); the caller's phone was checked by `admit_cod`.
    pub(super) fn cod_allowed_for(&self, total: Paise, zone_allows: bool) -> Result<(), AppError> {
        self.fulfilment
            .cod
            .check(total, true, zone_allows)
            .map_err(|e| AppError::validation(vec![e]))
    }

    /// Whether the shipping zone of an order's address offers cash on delivery for
    /// its value (an order placed with explicit items; from the cart, the quote
    /// answers). A COD order needs an address whose PIN code India Post lists (422 on
    /// `address` or `address.postal_code`).
    pub(super) async fn zone_offers_cod(&self, order: &Order) -> Result<bool, AppError> {
        let Some(address) = &order.address else {
            return Err(AppError::validation(vec![FieldError::new(
                "address",
                "required",
                "cash on delivery needs the delivery address: its shipping zone decides \
                 whether cash is taken there",
            )]));
        };
        let Some(store) = &self.storefront else {
            return Ok(true);
        };
        let (pincode, locality) = store.addresses.locate(&address.postal_code).map_err(|_| {
            AppError::validation(vec![FieldError::new(
                "address.postal_code",
                "unknown_pincode",
                "India Post's directory has no such PIN code",
            )])
        })?;
        let zones = store.shipping.quoting_zones().await?;
        let (state_code, pincode) = (locality.state_code.to_string(), pincode.to_string());
        let to = shipping::Destination {
            state_code: &state_code,
            pincode: &pincode,
        };
        Ok(matches!(
            shipping::quote(&zones, &to, order.subtotal),
            Serviceability::Serviceable(terms) if terms.cod_allowed
        ))
    }

    /// Sends the confirmation code of a new COD order. A failure is logged:
    /// the order stands, and the customer can ask for the code again.
    pub(super) async fn send_cod_code_for(&self, order: &Order) {
        let Some(identity) = &self.identity else {
            return;
        };
        if let Err(e) = identity
            .send_account_code(&order.user_id, OtpPurpose::CodConfirmation)
            .await
        {
            tracing::warn!(order = %order.id, error = %e, "could not send a COD confirmation code");
        }
    }

    /// Sends the confirmation code of the caller's COD order again (the
    /// phone's cooldown and hourly cap apply: 429).
    pub async fn resend_cod_code(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let order = self.awaiting_confirmation(who, id).await?;
        let identity = self.identity.as_ref().ok_or_else(not_cod)?;
        identity.allow_account_code(&order.user_id).await?;
        identity
            .send_account_code(&order.user_id, OtpPurpose::CodConfirmation)
            .await?;
        Ok(order)
    }

    /// The caller's COD order, if it still waits for confirmation; expired
    /// now if its time ran out before the sweep came.
    async fn awaiting_confirmation(&self, who: &Principal, id: &str) -> Result<Order, AppError> {
        let mut order = self.get(who, id).await?;
        if order.payment_method != PaymentMethod::Cod {
            return Err(not_cod());
        }
        if order.status == OrderStatus::PendingPayment && self.clock.now() >= order.expires_at {
            self.expire(&order).await?;
            order = self.load(&order.id).await?;
        }
        if order.status != OrderStatus::PendingPayment {
            return Err(IllegalTransition {
                from: order.status,
                to: OrderStatus::Confirmed,
            }
            .into());
        }
        Ok(order)
    }

    /// The customer confirms their COD order with the code sent to their
    /// phone: `pending_payment → confirmed` (stock held, nothing paid, no
    /// expiry), owing the order confirmation. A wrong code is 400 `invalid_otp`.
    pub async fn confirm_cod(
        &self,
        who: &Principal,
        id: &str,
        code: &str,
        ip: &str,
    ) -> Result<Order, AppError> {
        let order = self.awaiting_confirmation(who, id).await?;
        let identity = self.identity.as_ref().ok_or_else(not_cod)?;
        identity
            .verify_account_code(&order.user_id, OtpPurpose::CodConfirmation, code, ip)
            .await?;
        let (order, ()) = self
            .update(&order.id, |order| {
                let notices = order.confirm_cod(self.clock.now()).map_err(|e| match e {
                    CashError::NotCollectable(illegal) => illegal.into(),
                    other => cash_error(other),
                })?;
                Ok(Change::with((), notices))
            })
            .await?;
        Ok(order)
    }

    /// Staff record a COD order's cash as collected: a capture of its total,
    /// one per order however often this is asked, which makes it paid and
    /// owes the payment receipt. Audited as `cod_collected` the first time.
    pub async fn collect_cod(
        &self,
        who: &Principal,
        id: &str,
        reference: Option<&str>,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        let reason = note.reason()?;
        let detail = OfflineDetail::parse(OfflineMethod::Cash, "reference", reference)
            .map_err(|e| AppError::validation(vec![e]))?;
        let (order, changed) = self
            .update(&parse_order_id(id)?, |order| {
                if !precondition::met(if_match, order.version) {
                    return Err(AppError::precondition_failed("order"));
                }
                let applied = order
                    .collect_cash(detail.clone(), self.clock.now())
                    .map_err(cash_error)?;
                Ok(Change {
                    changed: applied.changed,
                    notices: applied.notices,
                    out: applied.changed,
                })
            })
            .await?;
        if changed {
            self.audit_money(MoneyAction {
                kind: AuditKind::CodCollected,
                who,
                order: &order,
                amount_paise: order.total.get(),
                reason,
                note,
                detail: format!(
                    "{} paise collected in cash{}",
                    order.total.get(),
                    reference_text(&detail)
                ),
            })
            .await;
        }
        Ok(order)
    }

    /// Staff record a refund of a COD order's cash they made themselves (in
    /// cash, by UPI or bank transfer), `amount` paise or everything refundable.
    /// `request_key` is the client's `Idempotency-Key`: the refund's ledger id
    /// is made from it, so a retry records it once. Audited as `order_refunded`.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_cod_refund(
        &self,
        who: &Principal,
        id: &str,
        amount: Option<i64>,
        method: &str,
        reference: Option<&str>,
        request_key: Option<&str>,
        if_match: Option<&IfMatch>,
        note: &ActionNote,
    ) -> Result<Order, AppError> {
        let reason = note.reason()?;
        let mut errors = crate::domain::validation::Collector::default();
        let method = errors.take(OfflineMethod::parse("method", method));
        let detail =
            method.and_then(|m| errors.take(OfflineDetail::parse(m, "reference", reference)));
        if amount.is_some_and(|a| a <= 0) {
            errors.push(FieldError::new(
                "amount",
                "must_be_positive",
                "must be a positive whole number of paise",
            ));
        }
        let Some(detail) = detail.filter(|_| errors.is_empty()) else {
            return Err(AppError::validation(errors.into_errors()));
        };
        let order = self.load(&parse_order_id(id)?).await?;
        if order.payment_method != PaymentMethod::Cod {
            return Err(not_cod());
        }
        if !precondition::met(if_match, order.version) {
            return Err(AppError::precondition_failed("order"));
        }
        // Without the client's key, the version: stable while nothing changed.
        let refund_id = match request_key {
            Some(key) => format!("codrf_{}_{}", order.id, short_hash(key)),
            None => format!("codrf_{}_v{}", order.id, order.version),
        };
        let refundable = order.refundable();
        let amount = amount.unwrap_or(refundable);
        if amount <= 0 || amount > refundable {
            return Err(cash_error(CashError::ExceedsCollected { left: refundable }));
        }
        let (order, changed) = self
            .update(&order.id, |order| {
                let applied = order
                    .record_cash_refund(
                        &refund_id,
                        Paise::trusted(amount),
                        detail.clone(),
                        self.clock.now(),
                    )
                    .map_err(cash_error)?;
                Ok(Change {
                    changed: applied.changed,
                    notices: applied.notices,
                    out: applied.changed,
                })
            })
            .await?;
        if changed {
            self.audit_money(MoneyAction {
                kind: AuditKind::OrderRefunded,
                who,
                order: &order,
                amount_paise: amount,
                reason,
                note,
                detail: format!(
                    "{amount} of {} paise refunded by {}{}; {} refunded in all",
                    order.total.get(),
                    detail.method.as_str(),
                    reference_text(&detail),
                    order.refunded()
                ),
            })
            .await;
        }
        Ok(order)
    }
}

fn reference_text(detail: &OfflineDetail) -> String {
    detail
        .reference
        .as_deref()
        .map(|r| format!(" (reference {r})"))
        .unwrap_or_default()
}
