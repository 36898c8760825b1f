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

use super::money::{Currency, Paise};
use super::outbox::NoticeKind;
use super::product::Product;
use super::user::UserId;
use super::validation::{char_len, Collector, FieldError};

super::ids::object_id!(
    /// An order id.
    OrderId
);

/// Most distinct products in one order.
pub const MAX_ITEMS: usize = 50;
/// Most units of one product in one order.
pub const MAX_QUANTITY: u32 = 1000;
const MAX_NOTES: usize = 500;
const MAX_ADDRESS_LINE: usize = 200;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Created, stock reserved, waiting for the customer to pay.
    PendingPayment,
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
    pub const ALL: [OrderStatus; 8] = [
        Self::PendingPayment,
        Self::Paid,
        Self::Fulfilled,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
        Self::Expired,
        Self::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
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
        matches!(
            self,
            Self::PendingPayment | Self::Paid | Self::Fulfilled | Self::Shipped | Self::Delivered
        )
    }

    /// The one transition table. Fulfilment only moves forward (a step may be
    /// skipped: an order can be shipped without being marked fulfilled first);
    /// nothing leaves a terminal state.
    pub fn step(self, to: OrderStatus) -> Result<OrderStatus, IllegalTransition> {
        use OrderStatus::*;
        let legal = matches!(
            (self, to),
            (PendingPayment, Paid | Cancelled | Expired)
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
    pub amount: Paise,
    pub status: EntryStatus,
    pub recorded_at: DateTime<Utc>,
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

/// What a payment provider reported, in Bazaar's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    Authorized {
        payment_id: String,
    },
    Captured {
        payment_id: String,
        amount: Paise,
    },
    Failed {
        payment_id: String,
        reason: String,
    },
    Refund {
        refund_id: String,
        payment_id: String,
        amount: Paise,
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
    pub fn parse(
        lines: &[RawLine],
        address: Option<&RawAddress>,
        notes: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
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
                Ok(q) if (1..=MAX_QUANTITY).contains(&q) => Some(q),
                _ => {
                    errors.push(FieldError::new(
                        format!("items[{i}].quantity"),
                        "out_of_range",
                        format!("must be between 1 and {MAX_QUANTITY}"),
                    ));
                    None
                }
            };
            if let (Some(id), Some(quantity)) = (id, quantity) {
                match parsed.iter_mut().find(|(p, _)| *p == id) {
                    Some((_, q)) if *q + quantity > MAX_QUANTITY => {
                        errors.push(FieldError::new(
                            format!("items[{i}].quantity"),
                            "out_of_range",
                            format!("with the product's earlier lines, more than {MAX_QUANTITY}"),
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
        let now = super::product::truncate_to_millis(now);
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
            created_at: now,
            updated_at: now,
            expires_at: now + pay_within,
            version: 1,
        }
    }

    /// Money captured for the order, net of nothing.
    pub fn captured(&self) -> i64 {
        self.sum(LedgerKind::Capture, |s| s == EntryStatus::Settled)
    }

    /// Money refunded or being refunded (a failed refund gave it back).
    pub fn refunded(&self) -> i64 {
        self.sum(LedgerKind::Refund, |s| s != EntryStatus::Failed)
    }

    /// Money the provider has confirmed it returned.
    pub fn refunded_settled(&self) -> i64 {
        self.sum(LedgerKind::Refund, |s| s == EntryStatus::Settled)
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> i64 {
        (self.captured() - self.refunded()).max(0)
    }

    /// What can still be refunded of each captured payment, in capture order.
    pub fn refundable_by_payment(&self) -> Vec<(String, i64)> {
        self.ledger
            .iter()
            .filter(|e| e.kind == LedgerKind::Capture && e.status == EntryStatus::Settled)
            .map(|capture| {
                let refunded: i64 = self
                    .ledger
                    .iter()
                    .filter(|e| {
                        e.kind == LedgerKind::Refund
                            && e.payment_id == capture.payment_id
                            && e.status != EntryStatus::Failed
                    })
                    .map(|e| e.amount.get())
                    .sum();
                (capture.payment_id.clone(), capture.amount.get() - refunded)
            })
            .filter(|(_, left)| *left > 0)
            .collect()
    }

    fn sum(&self, kind: LedgerKind, counts: impl Fn(EntryStatus) -> bool) -> i64 {
        self.ledger
            .iter()
            .filter(|e| e.kind == kind && counts(e.status))
            .map(|e| e.amount.get())
            .sum()
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
        self.updated_at = super::product::truncate_to_millis(now);
        self.version += 1;
    }

    /// Applies what the provider reported. Idempotent: an event already applied
    /// changes nothing, and answers no notices. A late failure never undoes a
    /// capture; a capture on an order that is no longer waiting (cancelled,
    /// expired) is recorded in the ledger, where `refundable` shows it is owed back.
    pub fn apply(&mut self, event: &PaymentEvent, now: DateTime<Utc>) -> Applied {
        let before = self.clone();
        let mut notices = Vec::new();
        match event {
            PaymentEvent::Authorized { payment_id } => {
                if self.status == OrderStatus::PendingPayment && self.payment.payment_id.is_none() {
                    self.payment.payment_id = Some(payment_id.clone());
                }
            }
            PaymentEvent::Captured { payment_id, amount } => {
                self.record(
                    LedgerKind::Capture,
                    payment_id,
                    payment_id,
                    *amount,
                    EntryStatus::Settled,
                    now,
                );
                if self.status == OrderStatus::PendingPayment {
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
                status,
            } => {
                let was = self.entry(LedgerKind::Refund, refund_id).map(|e| e.status);
                self.record(
                    LedgerKind::Refund,
                    refund_id,
                    payment_id,
                    *amount,
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
        Applied { changed, notices }
    }

    fn entry(&self, kind: LedgerKind, provider_id: &str) -> Option<&LedgerEntry> {
        self.ledger
            .iter()
            .find(|e| e.kind == kind && e.provider_id == provider_id)
    }

    /// Adds the movement, or moves a known one forward. One entry per provider id.
    fn record(
        &mut self,
        kind: LedgerKind,
        provider_id: &str,
        payment_id: &str,
        amount: Paise,
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
                status,
                recorded_at: super::product::truncate_to_millis(now),
            }),
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub changed: bool,
    pub notices: Vec<Notice>,
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
        assert_eq!(
            OrderStatus::Paid.step(OrderStatus::Shipped),
            Ok(OrderStatus::Shipped)
        );
    }

    fn paid_order() -> Order {
        let mut order = Order {
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
            created_at: Utc::now(),
            updated_at: Utc::now(),
            expires_at: Utc::now(),
            version: 1,
        };
        order.apply(
            &PaymentEvent::Captured {
                payment_id: "pay_1".into(),
                amount: Paise::trusted(1_180),
            },
            Utc::now(),
        );
        order
    }

    fn refund(status: EntryStatus) -> PaymentEvent {
        PaymentEvent::Refund {
            refund_id: "rfnd_1".into(),
            payment_id: "pay_1".into(),
            amount: Paise::trusted(1_180),
            status,
        }
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
