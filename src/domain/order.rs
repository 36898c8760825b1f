//! Orders: what was bought at which price, the money that moved for it, and
//! where the order is in its life.
//!
//! **One state machine.** Every change of [`OrderStatus`] goes through
//! [`OrderStatus::step`], which refuses illegal moves with both states named.
//! Staff actions (cancel, fulfil, ship, deliver, expire) and payment events
//! (the verify call, webhooks, reconciliation) meet here.
//!
//! **Money is derived from the ledger.** Each capture and each refund is one
//! [`LedgerEntry`] keyed by the provider's id, so applying the same event twice
//! changes nothing, and an entry's status only moves forward. Paid and refunded
//! amounts are sums over the ledger, so whatever order payment events arrive in,
//! and however often, the order ends in the same state (`docs/orders.md`).

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::money::{Currency, Paise};
use super::outbox::NoticeKind;
use super::product::Product;
use super::request_key::RequestKey;
use super::validation::{char_len, Collector, FieldError};

pub use super::ids::OrderId;

/// Most distinct products in one order.
pub const MAX_ITEMS: usize = 50;
/// Most units of one product in one order that the setting
/// (`BAZAAR_ORDER_PRODUCT_UNITS_MAX`) may allow.
pub const MAX_QUANTITY: u32 = 1000;
const MAX_NOTES: usize = 500;
const MAX_ADDRESS_LINE: usize = 200;

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

/// One line of an order: the product as it was when ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub product_id: super::ids::ProductId,
    pub sku: String,
    pub name: String,
    pub unit_price: Paise,
    pub quantity: u32,
    pub line_total: Paise,
}

/// Where to ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    /// Six digits (India's PIN code).
    pub postal_code: String,
    pub phone: Option<String>,
}

/// A capture (money in) or a refund (money out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    Capture,
    Refund,
}

impl LedgerKind {
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
}

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

/// A message a change owes the customer; the outbox carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    /// What makes it one of several of its kind (a refund's id), if it can be.
    pub detail: Option<String>,
}

impl Notice {
    pub fn once(kind: NoticeKind) -> Self {
        Self { kind, detail: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub items: Vec<OrderItem>,
    pub currency: Currency,
    pub subtotal: Paise,
    /// GST on the subtotal, at `tax_rate_bp`.
    pub tax: Paise,
    /// Basis points (1800 = 18%), as configured when the order was made.
    pub tax_rate_bp: u32,
    pub total: Paise,
    pub status: OrderStatus,
    pub address: Option<Address>,
    pub notes: Option<String>,
    pub payment: PaymentInfo,
    pub ledger: Vec<LedgerEntry>,
    /// What staff should look at, oldest first.
    pub flags: Vec<Flag>,
    /// Which of its customer's unpaid-order slots (0, 1, …) the order takes
    /// while unpaid; `None` when no cap applies (staff). The store refuses
    /// two unpaid orders of one customer in one slot, which is what makes the
    /// cap hold under concurrent creates.
    pub unpaid_slot: Option<u32>,
    /// The request that placed it, when it came with an `Idempotency-Key`:
    /// the store keeps at most one order per key, and a retry after an
    /// ambiguous failure finds this order instead of placing another.
    pub request_key: Option<RequestKey>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An unpaid order expires (and releases its stock) at this time.
    pub expires_at: DateTime<Utc>,
    pub version: u64,
}

/// GST on `subtotal` at `rate_bp` basis points, rounded half up to the paisa.
pub fn tax_on(subtotal: i64, rate_bp: u32) -> i64 {
    // Integer arithmetic: i128 cannot overflow for any allowed subtotal.
    let scaled = i128::from(subtotal) * i128::from(rate_bp);
    ((scaled + 5_000) / 10_000) as i64
}

/// One requested line, before the catalog was asked about it.
#[derive(Debug, Clone)]
pub struct RawLine {
    pub product_id: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Default)]
pub struct RawAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub phone: Option<String>,
}

/// What a customer asked for, checked field by field.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    /// Each product once, with its quantity (repeats are added up).
    pub lines: Vec<(super::ids::ProductId, u32)>,
    pub address: Option<Address>,
    pub notes: Option<String>,
}

impl OrderRequest {
    /// `max_units` is the most units of one product an order may hold (at
    /// most [`MAX_QUANTITY`]).
    pub fn parse(
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
        max_units: u32,
    ) -> Result<Self, Vec<FieldError>> {
        let max_units = max_units.clamp(1, MAX_QUANTITY);
        let mut errors = Collector::default();
        if lines.is_empty() {
            errors.push(FieldError::new(
                "items",
                "empty",
                "must list at least one item",
            ));
        }
        if lines.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                "items",
                "too_many",
                format!("must list at most {MAX_ITEMS} items"),
            ));
        }
        let mut parsed: Vec<(super::ids::ProductId, u32)> = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let id = errors.take(
                super::ids::ProductId::parse(&line.product_id)
                    .map_err(|m| FieldError::new(format!("items[{i}].product_id"), "invalid", m)),
            );
            let quantity = match u32::try_from(line.quantity) {
                Ok(q) if (1..=max_units).contains(&q) => Some(q),
                _ => {
                    errors.push(FieldError::new(
                        format!("items[{i}].quantity"),
                        "out_of_range",
                        format!("must be between 1 and {max_units}"),
                    ));
                    None
                }
            };
            if let (Some(id), Some(quantity)) = (id, quantity) {
                match parsed.iter_mut().find(|(p, _)| *p == id) {
                    Some((_, q)) if *q + quantity > max_units => {
                        errors.push(FieldError::new(
                            format!("items[{i}].quantity"),
                            "out_of_range",
                            format!("with the product's earlier lines, more than {max_units}"),
                        ));
                    }
                    Some((_, q)) => *q += quantity,
                    None => parsed.push((id, quantity)),
                }
            }
        }
        let address = address.and_then(|a| errors.take(parse_address(a)));
        let notes = notes.map(str::trim).filter(|n| !n.is_empty());
        if notes.is_some_and(|n| char_len(n) > MAX_NOTES) {
            errors.push(FieldError::new(
                "notes",
                "too_long",
                format!("must be at most {MAX_NOTES} characters"),
            ));
        }
        if !errors.is_empty() {
            return Err(errors.into_errors());
        }
        Ok(Self {
            lines: parsed,
            address,
            notes: notes.map(str::to_owned),
        })
    }
}

fn parse_address(raw: &RawAddress) -> Result<Address, FieldError> {
    let line = |field: &str, value: &str| -> Result<String, FieldError> {
        let value = value.trim();
        if value.is_empty() {
            Err(FieldError::new(
                format!("address.{field}"),
                "required",
                "must not be empty",
            ))
        } else if char_len(value) > MAX_ADDRESS_LINE {
            Err(FieldError::new(
                format!("address.{field}"),
                "too_long",
                format!("must be at most {MAX_ADDRESS_LINE} characters"),
            ))
        } else {
            Ok(value.to_owned())
        }
    };
    let postal_code = raw.postal_code.trim();
    if postal_code.len() != 6 || !postal_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            "address.postal_code",
            "invalid",
            "must be a six-digit PIN code",
        ));
    }
    Ok(Address {
        name: line("name", &raw.name)?,
        line1: line("line1", &raw.line1)?,
        line2: raw
            .line2
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| line("line2", l))
            .transpose()?,
        city: line("city", &raw.city)?,
        state: line("state", &raw.state)?,
        postal_code: postal_code.to_owned(),
        phone: raw
            .phone
            .as_deref()
            .map(|p| super::user::Phone::parse("address.phone", p).map(|p| p.as_str().to_owned()))
            .transpose()?,
    })
}

impl Order {
    /// A new unpaid order `id` for `products` (in the order of `request.lines`),
    /// with prices and names as they are now. The id comes first because the
    /// stock holds taken before the order exists name it.
    pub fn new(
        id: OrderId,
        user_id: UserId,
        request: OrderRequest,
        products: &[Product],
        tax_rate_bp: u32,
        now: DateTime<Utc>,
        pay_within: chrono::Duration,
    ) -> Self {
        let items: Vec<OrderItem> = request
            .lines
            .iter()
            .zip(products)
            .map(|((_, quantity), p)| OrderItem {
                product_id: p.id.clone(),
                sku: p.sku.as_str().to_owned(),
                name: p.name.as_str().to_owned(),
                unit_price: p.price,
                quantity: *quantity,
                line_total: Paise::trusted(p.price.get() * i64::from(*quantity)),
            })
            .collect();
        let subtotal: i64 = items.iter().map(|i| i.line_total.get()).sum();
        let tax = tax_on(subtotal, tax_rate_bp);
        let now = super::time::truncate_to_millis(now);
        Self {
            id,
            user_id,
            items,
            currency: Currency::Inr,
            subtotal: Paise::trusted(subtotal),
            tax: Paise::trusted(tax),
            tax_rate_bp,
            total: Paise::trusted(subtotal + tax),
            status: OrderStatus::PendingPayment,
            address: request.address,
            notes: request.notes,
            payment: PaymentInfo::default(),
            ledger: Vec::new(),
            flags: Vec::new(),
            unpaid_slot: None,
            request_key: None,
            created_at: now,
            updated_at: now,
            expires_at: now + pay_within,
            version: 1,
        }
    }

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
    fn refunded_of(&self, payment_id: &str) -> i64 {
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

    /// Moves to `to` through the state machine (a staff action or the expiry job).
    pub fn transition(
        &mut self,
        to: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        self.status = self.status.step(to)?;
        self.touch(now);
        Ok(())
    }

    /// A new version at `now`: every change makes one (for other changes than
    /// transitions and payments too, such as checkout starting).
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = super::time::truncate_to_millis(now);
        self.version += 1;
    }

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

    fn flag_mismatch(
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
    fn flag(&mut self, reason: FlagReason, subject: &str, detail: String, now: DateTime<Utc>) {
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
            flagged_at: super::time::truncate_to_millis(now),
        });
    }

    fn entry(&self, kind: LedgerKind, provider_id: &str) -> Option<&LedgerEntry> {
        self.ledger
            .iter()
            .find(|e| e.kind == kind && e.provider_id == provider_id)
    }

    /// Adds the movement, or moves a known one forward. One entry per provider id.
    #[allow(clippy::too_many_arguments)]
    fn record(
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
                recorded_at: super::time::truncate_to_millis(now),
            }),
        }
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
mod tests {
    use super::*;

    #[test]
    fn tax_rounds_half_up_to_the_paisa() {
        assert_eq!(tax_on(10_000, 1800), 1_800);
        // 18% of 1,003 paise is 180.54 → 181; of 1,002 is 180.36 → 180.
        assert_eq!(tax_on(1_003, 1800), 181);
        assert_eq!(tax_on(1_002, 1800), 180);
        // Exactly half a paisa rounds up: 5% of 10 paise is 0.5.
        assert_eq!(tax_on(10, 500), 1);
        assert_eq!(tax_on(0, 1800), 0);
    }

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

    fn unpaid_order() -> Order {
        Order {
            id: OrderId::generate(),
            user_id: UserId::generate(),
            items: Vec::new(),
            currency: Currency::Inr,
            subtotal: Paise::trusted(1_000),
            tax: Paise::trusted(180),
            tax_rate_bp: 1800,
            total: Paise::trusted(1_180),
            status: OrderStatus::PendingPayment,
            address: None,
            notes: None,
            payment: PaymentInfo::default(),
            ledger: Vec::new(),
            flags: Vec::new(),
            unpaid_slot: None,
            request_key: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            expires_at: Utc::now(),
            version: 1,
        }
    }

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

    #[test]
    fn every_status_parses_from_its_name() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse("status", status.as_str()), Ok(status));
        }
        assert!(OrderStatus::parse("status", "lost").is_err());
    }
}
