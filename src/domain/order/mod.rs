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
//! and returns), [`cod`] (cash on delivery: the payment method, who may
//! use it, and the cash collected and refunded) and [`tax`] (the GST charged, line by
//! line, as its invoice shows it).

pub mod cod;
pub mod flags;
pub mod fulfilment;
pub mod ledger;
pub mod payment;
pub mod request;
pub mod status;
pub mod tax;

use chrono::{DateTime, Utc};

use super::ids::UserId;
use super::money::{Currency, Paise};
use super::outbox::NoticeKind;
use super::pricing::{CouponOutcome, Quote};
use super::product::Product;
use super::request_key::RequestKey;
use cod::PaymentMethod;
use flags::Flag;
use fulfilment::Fulfilment;
use ledger::LedgerEntry;
use payment::PaymentInfo;
use request::OrderRequest;
use status::{IllegalTransition, OrderStatus};
use tax::{ItemTaxing, OrderTax};

pub use super::ids::OrderId;
pub use super::money::tax_on;

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
    /// A landmark the courier looks for (saved addresses have one).
    pub landmark: Option<String>,
    /// The state's GST code (`29` for Karnataka), from India Post's directory when the
    /// address came from the address book: the place of supply tax follows.
    pub state_code: Option<String>,
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
    /// What the coupon took off the subtotal; zero without one.
    pub discount: Paise,
    /// The delivery fee, taxed with the goods; zero when free or not priced.
    pub shipping: Paise,
    /// The coupon redeemed for this order, if any: released again if it is
    /// cancelled or expires.
    pub coupon_code: Option<String>,
    /// GST on the order, the sum of `gst`'s lines: added to the total, or included in
    /// it when prices include tax.
    pub tax: Paise,
    /// The highest rate of its items, in basis points (1800 = 18%); each line's rate is
    /// in `gst`.
    pub tax_rate_bp: u32,
    /// The GST charged line by line; `None` on orders placed before GST was charged per
    /// line, which get no invoice.
    pub gst: Option<OrderTax>,
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

/// The lines of an order cost something else than the quote it was placed from said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceMoved;

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
        taxing: ItemTaxing<'_>,
        now: DateTime<Utc>,
        pay_within: chrono::Duration,
    ) -> Self {
        let mut rates = Vec::new();
        let items: Vec<OrderItem> = request
            .lines
            .iter()
            .zip(products)
            .filter_map(|(line, p)| {
                let v = match &line.variant_id {
                    Some(id) => p.variant(id)?,
                    None => p.variants.first()?,
                };
                rates.push((
                    v.price.get() * i64::from(line.quantity),
                    (taxing.rate_of)(p),
                ));
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
        let gst = OrderTax::of_items(&rates, taxing.terms);
        let totals = gst.totals();
        let now = super::time::truncate_to_millis(now);
        Self {
            id,
            user_id,
            items,
            currency: Currency::Inr,
            subtotal: Paise::trusted(subtotal),
            discount: Paise::trusted(0),
            shipping: Paise::trusted(0),
            coupon_code: None,
            tax: Paise::trusted(totals.tax()),
            tax_rate_bp: gst.top_rate_bp(),
            total: Paise::trusted(totals.grand_total()),
            gst: Some(gst),
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

    /// Takes the charges of `quote`, the cart's price for this order, as its own:
    /// discount, coupon, shipping, tax and total are the quote's, so a customer pays
    /// what the cart showed. Refused when the lines cost something else now than they
    /// did when the quote was made (a price changed in between).
    pub fn charge_as_quoted(&mut self, quote: &Quote) -> Result<(), PriceMoved> {
        let quoted: Vec<(&super::ids::VariantId, i64)> = quote
            .lines
            .iter()
            .filter_map(|l| Some((&l.variant_id, l.item.as_ref()?.unit_price.get())))
            .collect();
        let same = self.items.len() == quoted.len()
            && self.items.iter().all(|item| {
                quoted
                    .iter()
                    .any(|(v, price)| *v == &item.variant_id && *price == item.unit_price.get())
            });
        if !same || self.subtotal != quote.subtotal {
            return Err(PriceMoved);
        }
        let variants: Vec<&super::ids::VariantId> =
            self.items.iter().map(|i| &i.variant_id).collect();
        let gst = OrderTax::of_quote(quote, &variants).ok_or(PriceMoved)?;
        self.discount = quote.discount;
        self.shipping = quote.shipping;
        self.coupon_code = match &quote.coupon {
            Some(CouponOutcome::Applied { code, .. }) => Some(code.clone()),
            _ => None,
        };
        self.tax = quote.tax;
        self.tax_rate_bp = gst.top_rate_bp();
        self.total = quote.total;
        self.gst = Some(gst);
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
    use crate::domain::ids::{ProductId, VariantId};
    use crate::domain::pricing::{
        self, Availability, CatalogItem, NoAddress, PricedLine, TaxTerms,
    };

    const VARIANT: &str = "6650c0ffee0000000000abce";

    fn order_of(unit_price: i64, quantity: u32) -> Order {
        let line_total = Paise::trusted(unit_price * i64::from(quantity));
        let mut order = payment::tests_support::unpaid_order();
        order.items = vec![OrderItem {
            product_id: ProductId::parse(VARIANT).unwrap(),
            variant_id: VariantId::parse(VARIANT).unwrap(),
            sku: "MUG".into(),
            name: "Mug".into(),
            variant_label: None,
            unit_price: Paise::trusted(unit_price),
            quantity,
            line_total,
        }];
        order.subtotal = line_total;
        order
    }

    fn quote_of(unit_price: i64, quantity: u32) -> Quote {
        let line = PricedLine {
            product_id: ProductId::parse(VARIANT).unwrap(),
            variant_id: VariantId::parse(VARIANT).unwrap(),
            item: Some(CatalogItem {
                sku: "MUG".into(),
                name: "Mug".into(),
                category: "kitchen".into(),
                unit_price: Paise::trusted(unit_price),
                rate_bp: 1800,
                tax_code: "6912".into(),
            }),
            quantity,
            availability: Availability::InStock,
        };
        let terms = TaxTerms {
            basis: crate::domain::gst::tax::PriceBasis::Exclusive,
            supply: crate::domain::gst::tax::SupplyType::Inter,
        };
        pricing::price(vec![line], None, &NoAddress, terms)
    }

    #[test]
    fn an_order_takes_the_charges_of_the_quote_it_was_placed_from() {
        let mut order = order_of(35_000, 2);
        let mut quote = quote_of(35_000, 2);
        quote.discount = Paise::trusted(5_000);
        quote.shipping = Paise::trusted(4_900);
        quote.coupon = Some(CouponOutcome::Applied {
            code: "READ-10".into(),
            amount: Paise::trusted(5_000),
        });
        quote.tax = Paise::trusted(12_582);
        quote.total = Paise::trusted(82_482);
        assert_eq!(order.charge_as_quoted(&quote), Ok(()));
        assert_eq!(
            (order.discount, order.shipping, order.tax, order.total),
            (
                Paise::trusted(5_000),
                Paise::trusted(4_900),
                Paise::trusted(12_582),
                Paise::trusted(82_482)
            )
        );
        assert_eq!(order.coupon_code.as_deref(), Some("READ-10"));
        let gst = order.gst.as_ref().expect("the quote's tax, line by line");
        assert_eq!((gst.items.len(), gst.items[0].code.as_str()), (1, "6912"));
        assert_eq!(gst.items[0].tax, quote.gst.goods[0]);
        assert_eq!(order.tax_rate_bp, 1800);
    }

    #[test]
    fn a_price_that_moved_since_the_quote_is_refused_and_changes_nothing() {
        let mut order = order_of(35_000, 1);
        let before = order.clone();
        assert_eq!(
            order.charge_as_quoted(&quote_of(30_000, 1)),
            Err(PriceMoved)
        );
        assert_eq!(
            order.charge_as_quoted(&quote_of(35_000, 2)),
            Err(PriceMoved)
        );
        assert_eq!(order, before);
    }
}
