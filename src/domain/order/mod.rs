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
//!
//! The parts: [`status`] (the state machine), [`request`] (what a customer
//! asks for, parsed), [`ledger`] (money movements and the sums over them),
//! [`payment`] (what a provider reports, and [`Order::apply`]), [`flags`]
//! (what staff should look at), [`fulfilment`] (packing, shipping, delivery
//! and returns) and [`cod`] (cash on delivery: the payment method, who may
//! use it, and the cash collected and refunded).

pub mod cod;
pub mod flags;
pub mod fulfilment;
pub mod ledger;
pub mod payment;
pub mod request;
pub mod status;

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::money::{Currency, Paise};
use super::outbox::NoticeKind;
use super::product::Product;
use super::request_key::RequestKey;
use cod::PaymentMethod;
use flags::Flag;
use fulfilment::Fulfilment;
use ledger::LedgerEntry;
use payment::PaymentInfo;
use request::OrderRequest;
use status::{IllegalTransition, OrderStatus};

pub use super::ids::OrderId;

/// One line of an order: the product variant as it was when ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderItem {
    pub product_id: super::ids::ProductId,
    /// The variant bought; a product without options has one, with the product's id.
    pub variant_id: super::ids::VariantId,
    /// The variant's SKU.
    pub sku: String,
    /// The product's name.
    pub name: String,
    /// Which variant, e.g. `M / Red`; `None` for a product without options.
    pub variant_label: Option<String>,
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
    /// How the customer pays: Razorpay, or cash on delivery.
    pub payment_method: PaymentMethod,
    pub address: Option<Address>,
    pub notes: Option<String>,
    pub payment: PaymentInfo,
    pub ledger: Vec<LedgerEntry>,
    /// What staff should look at, oldest first.
    pub flags: Vec<Flag>,
    /// The shipment, delivery and return, as far as they got.
    pub fulfilment: Fulfilment,
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

impl Order {
    /// A new unpaid order `id` for `products` (in the order of `request.lines`),
    /// with prices and names as they are now. Each line's variant is the one it
    /// names (the catalog resolved them), else the product's first. The id comes
    /// first because the stock holds taken before the order exists name it.
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
            .filter_map(|(line, p)| {
                let v = match &line.variant_id {
                    Some(id) => p.variant(id)?,
                    None => p.variants.first()?,
                };
                Some(OrderItem {
                    product_id: p.id.clone(),
                    variant_id: v.id.clone(),
                    sku: v.sku.as_str().to_owned(),
                    name: p.name.as_str().to_owned(),
                    variant_label: v.label(),
                    unit_price: v.price,
                    quantity: line.quantity,
                    line_total: Paise::trusted(v.price.get() * i64::from(line.quantity)),
                })
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
            payment_method: PaymentMethod::Razorpay,
            address: request.address,
            notes: request.notes,
            payment: PaymentInfo::default(),
            ledger: Vec::new(),
            flags: Vec::new(),
            fulfilment: Fulfilment::default(),
            unpaid_slot: None,
            request_key: None,
            created_at: now,
            updated_at: now,
            expires_at: now + pay_within,
            version: 1,
        }
    }

    /// Moves to `to` through the state machine (a staff action or the expiry
    /// job). Only a cash-on-delivery order is ever `confirmed`: the others
    /// are confirmed by their payment.
    pub fn transition(
        &mut self,
        to: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<(), IllegalTransition> {
        if to == OrderStatus::Confirmed && self.payment_method != PaymentMethod::Cod {
            return Err(IllegalTransition {
                from: self.status,
                to,
            });
        }
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
}
