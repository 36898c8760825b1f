//! The one pricing function: what a cart costs, line by line and in total.
//!
//! `GET cart` and placing an order both call [`price`], so the totals a
//! customer saw are the totals they pay. Everything is integer paise:
//!
//! 1. each line: unit price × quantity;
//! 2. subtotal: the sum of the lines that can be bought;
//! 3. discount: the coupon's amount (never more than the subtotal);
//! 4. goods value: subtotal − discount, which is what free shipping is judged on;
//! 5. shipping: the destination zone's fee, or nothing above its threshold;
//! 6. GST line by line ([`ChargeTax`], docs/invoices.md): the discount spread over the
//!    lines in proportion, shipping a line of its own at the goods' highest rate, each
//!    line taxed at its product's rate by the seller's price basis (tax added or
//!    included) and the place of supply ([`TaxTerms`]: CGST + SGST or IGST);
//! 7. total: taxable value + GST, which with tax-inclusive prices is goods value +
//!    shipping.
//!
//! The coupon and shipping rules come in as [`DiscountRule`] and
//! [`ShippingRule`], so the order of the steps lives here and nowhere else.

use super::gst::charge::{ChargeTax, Goods};
use super::gst::tax::{PriceBasis, SupplyType};
use super::ids::{ProductId, VariantId};
use super::money::Paise;
use super::validation::FieldError;

/// Whether a line can be bought as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    InStock,
    /// Fewer units are left than the line asks for.
    Short {
        available: u32,
    },
    /// The product or variant is gone.
    Unavailable,
}

/// [`Availability`] without its count, as a line shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineState {
    InStock,
    InsufficientStock,
    OutOfStock,
    Unavailable,
}

impl LineState {
    pub const ALL: [LineState; 4] = [
        Self::InStock,
        Self::InsufficientStock,
        Self::OutOfStock,
        Self::Unavailable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InStock => "in_stock",
            Self::InsufficientStock => "insufficient_stock",
            Self::OutOfStock => "out_of_stock",
            Self::Unavailable => "unavailable",
        }
    }
}

impl Availability {
    pub fn state(self) -> LineState {
        match self {
            Self::InStock => LineState::InStock,
            Self::Short { available: 0 } => LineState::OutOfStock,
            Self::Short { .. } => LineState::InsufficientStock,
            Self::Unavailable => LineState::Unavailable,
        }
    }

    /// For `quantity` units out of `stock` (`None`: unlimited).
    pub fn of(stock: Option<u32>, quantity: u32) -> Self {
        match stock {
            Some(available) if available < quantity => Self::Short { available },
            _ => Self::InStock,
        }
    }
}

/// A line with what the catalog says of it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub product_id: ProductId,
    pub variant_id: VariantId,
    /// `None` when the product is gone.
    pub item: Option<CatalogItem>,
    pub quantity: u32,
    pub availability: Availability,
}

/// The variant as the catalog shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub category: String,
    pub unit_price: Paise,
    /// The GST rate of its tax class today, in basis points.
    pub rate_bp: u32,
    /// Its HSN or SAC code, as invoices show it.
    pub tax_code: String,
}

impl PricedLine {
    /// Unit price × quantity; zero for a line whose product is gone.
    pub fn total(&self) -> i64 {
        self.item
            .as_ref()
            .map_or(0, |i| i.unit_price.get() * i64::from(self.quantity))
    }
}

/// A coupon, as pricing meets it.
pub trait DiscountRule: Sync {
    /// The code, as the customer will see it.
    fn code(&self) -> &str;
    /// The discount for these lines (those that can be bought), or why not.
    fn discount(&self, lines: &[&PricedLine], subtotal: Paise) -> Result<Paise, FieldError>;
}

/// What delivery costs, and whether it is possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// No address given yet: shipping is not known and not charged.
    NoAddress,
    Serviceable {
        fee: Paise,
        /// The goods value from which shipping is free, if any.
        free_from: Option<Paise>,
        cod_allowed: bool,
        /// Days, fewest and most.
        estimate_days: (u32, u32),
    },
    /// The address cannot be delivered to: `reason` says why.
    NotServiceable { reason: FieldError },
}

/// Shipping, as pricing meets it.
pub trait ShippingRule: Sync {
    /// Delivery for goods worth `goods_value` (after the discount).
    fn delivery(&self, goods_value: Paise) -> Delivery;
}

/// No address: what a cart is priced with before the customer picks one.
pub struct NoAddress;

impl ShippingRule for NoAddress {
    fn delivery(&self, _: Paise) -> Delivery {
        Delivery::NoAddress
    }
}

/// The coupon's part of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CouponOutcome {
    Applied {
        code: String,
        amount: Paise,
    },
    /// The coupon does not apply; `reason` says why (a 422 at checkout).
    Refused {
        code: String,
        reason: FieldError,
    },
}

/// How a quote is taxed: whether prices include GST, and whether the goods go to the
/// seller's own state (CGST + SGST) or another (IGST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxTerms {
    pub basis: PriceBasis,
    pub supply: SupplyType,
}

/// One tax head at one rate (`CGST` at 9%): the sum over the lines taxed so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxLine {
    pub name: &'static str,
    pub rate_bp: u32,
    pub amount: Paise,
}

/// What the cart costs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub lines: Vec<PricedLine>,
    pub subtotal: Paise,
    pub coupon: Option<CouponOutcome>,
    pub discount: Paise,
    pub delivery: Delivery,
    pub shipping: Paise,
    pub taxable: Paise,
    pub taxes: Vec<TaxLine>,
    pub tax: Paise,
    pub total: Paise,
    /// How it was taxed.
    pub terms: TaxTerms,
    /// The tax of each line (in the order of `lines`; zero for a gone product) and of
    /// shipping: what the order keeps and its invoice shows.
    pub gst: ChargeTax,
}

impl Quote {
    /// What stands between this quote and an order, one error per problem,
    /// named by the field a checkout request would fix.
    pub fn blockers(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        if self.lines.is_empty() {
            out.push(FieldError::new("cart", "empty", "the cart is empty"));
        }
        for (i, line) in self.lines.iter().enumerate() {
            let field = format!("cart.lines[{i}]");
            match line.availability {
                Availability::InStock => {}
                Availability::Unavailable => out.push(FieldError::new(
                    field,
                    "unavailable",
                    "this item is no longer sold; remove it",
                )),
                Availability::Short { available } => out.push(FieldError::new(
                    field,
                    "insufficient_stock",
                    format!("only {available} left; lower the quantity"),
                )),
            }
        }
        if let Some(CouponOutcome::Refused { reason, .. }) = &self.coupon {
            out.push(reason.clone());
        }
        match &self.delivery {
            Delivery::NoAddress => out.push(FieldError::new(
                "address_id",
                "required",
                "choose a delivery address",
            )),
            Delivery::NotServiceable { reason } => out.push(reason.clone()),
            Delivery::Serviceable { .. } => {}
        }
        out
    }
}

/// Prices `lines` with an optional coupon, a shipping rule and GST on `terms`, in the
/// steps the module describes.
pub fn price(
    lines: Vec<PricedLine>,
    coupon: Option<&dyn DiscountRule>,
    shipping: &dyn ShippingRule,
    terms: TaxTerms,
) -> Quote {
    let buyable: Vec<&PricedLine> = lines.iter().filter(|l| l.item.is_some()).collect();
    let subtotal = Paise::trusted(buyable.iter().map(|l| l.total()).sum());
    let coupon = coupon.map(|rule| match rule.discount(&buyable, subtotal) {
        Ok(amount) => CouponOutcome::Applied {
            code: rule.code().to_owned(),
            amount: amount.min(subtotal),
        },
        Err(reason) => CouponOutcome::Refused {
            code: rule.code().to_owned(),
            reason,
        },
    });
    let discount = match &coupon {
        Some(CouponOutcome::Applied { amount, .. }) => *amount,
        _ => Paise::trusted(0),
    };
    let goods = subtotal.get() - discount.get();
    let delivery = shipping.delivery(Paise::trusted(goods));
    let shipping = match &delivery {
        Delivery::Serviceable { fee, free_from, .. } => match free_from {
            Some(from) if goods >= from.get() => 0,
            _ => fee.get(),
        },
        _ => 0,
    };
    let taxed: Vec<Goods> = lines
        .iter()
        .map(|l| Goods {
            amount: l.total(),
            rate_bp: l.item.as_ref().map_or(0, |i| i.rate_bp),
        })
        .collect();
    let gst = ChargeTax::compute(&taxed, discount.get(), shipping, terms.basis, terms.supply);
    let totals = gst.totals;
    Quote {
        lines,
        subtotal,
        coupon,
        discount,
        delivery,
        shipping: Paise::trusted(shipping),
        taxable: Paise::trusted(totals.taxable),
        taxes: tax_lines(&gst),
        tax: Paise::trusted(totals.tax()),
        total: Paise::trusted(totals.grand_total()),
        terms,
        gst,
    }
}

/// The quote's tax by head and rate, lowest rate first, CGST before SGST; heads that
/// come to nothing are left out.
fn tax_lines(gst: &ChargeTax) -> Vec<TaxLine> {
    let mut out: Vec<TaxLine> = Vec::new();
    let mut add = |name: &'static str, rate_bp: u32, amount: i64| {
        if amount == 0 {
            return;
        }
        match out
            .iter_mut()
            .find(|t| t.name == name && t.rate_bp == rate_bp)
        {
            Some(t) => t.amount = Paise::trusted(t.amount.get() + amount),
            None => out.push(TaxLine {
                name,
                rate_bp,
                amount: Paise::trusted(amount),
            }),
        }
    };
    for line in gst.goods.iter().chain(&gst.shipping) {
        // Each of CGST and SGST is at half the rate.
        add("CGST", line.rate_bp / 2, line.cgst);
        add("SGST", line.rate_bp / 2, line.sgst);
        add("IGST", line.rate_bp, line.igst);
    }
    let head = |name: &str| ["CGST", "SGST", "IGST"].iter().position(|h| *h == name);
    out.sort_by_key(|t| (t.rate_bp, head(t.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u8, price: i64, quantity: u32) -> PricedLine {
        let hex = format!("{n:024x}");
        PricedLine {
            product_id: ProductId::parse(&hex).unwrap(),
            variant_id: VariantId::parse(&hex).unwrap(),
            item: Some(CatalogItem {
                sku: format!("SKU-{n}"),
                name: format!("Item {n}"),
                category: "apparel".into(),
                unit_price: Paise::trusted(price),
                rate_bp: 1800,
                tax_code: "6109".into(),
            }),
            quantity,
            availability: Availability::InStock,
        }
    }

    /// Tax added on top, delivered to another state (IGST).
    const ADDED_INTER: TaxTerms = TaxTerms {
        basis: PriceBasis::Exclusive,
        supply: SupplyType::Inter,
    };

    /// A line whose product carries no GST.
    fn exempt(n: u8, price: i64, quantity: u32) -> PricedLine {
        let mut l = line(n, price, quantity);
        if let Some(item) = &mut l.item {
            item.rate_bp = 0;
        }
        l
    }

    struct Flat(i64);
    impl DiscountRule for Flat {
        fn code(&self) -> &str {
            "FLAT"
        }
        fn discount(&self, _: &[&PricedLine], _: Paise) -> Result<Paise, FieldError> {
            Ok(Paise::trusted(self.0))
        }
    }

    struct Refuse;
    impl DiscountRule for Refuse {
        fn code(&self) -> &str {
            "OLD"
        }
        fn discount(&self, _: &[&PricedLine], _: Paise) -> Result<Paise, FieldError> {
            Err(FieldError::new("coupon_code", "expired", "expired"))
        }
    }

    struct Zone {
        fee: i64,
        free_from: i64,
    }
    impl ShippingRule for Zone {
        fn delivery(&self, _: Paise) -> Delivery {
            Delivery::Serviceable {
                fee: Paise::trusted(self.fee),
                free_from: Some(Paise::trusted(self.free_from)),
                cod_allowed: true,
                estimate_days: (2, 4),
            }
        }
    }

    /// The worked example of docs/storefront.md: two tees at ₹499 and a mug at
    /// ₹349.50, ₹100 off, ₹49 shipping under ₹1,499, GST 18%.
    #[test]
    fn the_worked_example_of_the_docs() {
        let q = price(
            vec![line(1, 49_900, 2), line(2, 34_950, 1)],
            Some(&Flat(10_000)),
            &Zone {
                fee: 4_900,
                free_from: 149_900,
            },
            ADDED_INTER,
        );
        assert_eq!(q.subtotal.get(), 134_750);
        assert_eq!(q.discount.get(), 10_000);
        // Goods ₹1,247.50 are under ₹1,499: shipping is charged.
        assert_eq!(q.shipping.get(), 4_900);
        assert_eq!(q.taxable.get(), 129_650);
        // ₹100 spread: 74.06 on the tees, 25.94 on the mug. IGST 18% per line: 166.31
        // (of 923.94), 58.24 (of 323.56) and 8.82 (of shipping): 233.37.
        let discounts = &q.gst.discounts;
        assert_eq!(discounts, &[7_406, 2_594]);
        assert_eq!(q.tax.get(), 16_631 + 5_824 + 882);
        assert_eq!(q.total.get(), 152_987);
        assert_eq!(q.taxes.len(), 1);
        assert_eq!((q.taxes[0].name, q.taxes[0].rate_bp), ("IGST", 1800));
        assert!(q.blockers().is_empty());
    }

    /// The same cart delivered in the seller's state: CGST and SGST at 9% each, each
    /// rounded per line, so a paisa less than IGST here.
    #[test]
    fn the_worked_example_within_the_sellers_state() {
        let q = price(
            vec![line(1, 49_900, 2), line(2, 34_950, 1)],
            Some(&Flat(10_000)),
            &Zone {
                fee: 4_900,
                free_from: 149_900,
            },
            TaxTerms {
                supply: SupplyType::Intra,
                ..ADDED_INTER
            },
        );
        let heads: Vec<_> = q
            .taxes
            .iter()
            .map(|t| (t.name, t.rate_bp, t.amount.get()))
            .collect();
        assert_eq!(heads, [("CGST", 900, 11_668), ("SGST", 900, 11_668)]);
        assert_eq!(q.tax.get(), 23_336);
        assert_eq!(q.total.get(), 129_650 + 23_336);
    }

    #[test]
    fn with_tax_inclusive_prices_the_total_is_what_the_goods_and_shipping_cost() {
        let q = price(
            vec![line(1, 49_900, 2), line(2, 34_950, 1)],
            Some(&Flat(10_000)),
            &Zone {
                fee: 4_900,
                free_from: 149_900,
            },
            TaxTerms {
                basis: PriceBasis::Inclusive,
                ..ADDED_INTER
            },
        );
        assert_eq!(q.total.get(), 134_750 - 10_000 + 4_900);
        assert_eq!(q.taxable.get() + q.tax.get(), q.total.get());
        assert!(q.tax.get() > 0);
    }

    #[test]
    fn shipping_is_free_from_the_threshold_judged_after_the_discount() {
        let zone = Zone {
            fee: 4_900,
            free_from: 100_000,
        };
        let at = price(vec![exempt(1, 100_000, 1)], None, &zone, ADDED_INTER);
        assert_eq!(at.shipping.get(), 0);
        let under = price(
            vec![exempt(1, 100_000, 1)],
            Some(&Flat(1)),
            &zone,
            ADDED_INTER,
        );
        assert_eq!(under.shipping.get(), 4_900);
        assert_eq!(under.total.get(), 99_999 + 4_900);
    }

    #[test]
    fn a_discount_never_exceeds_the_subtotal() {
        let q = price(
            vec![line(1, 500, 1)],
            Some(&Flat(9_999)),
            &NoAddress,
            ADDED_INTER,
        );
        assert_eq!(q.discount.get(), 500);
        assert_eq!(q.total.get(), 0);
    }

    #[test]
    fn a_refused_coupon_discounts_nothing_and_blocks_checkout_saying_why() {
        let q = price(
            vec![exempt(1, 500, 1)],
            Some(&Refuse),
            &Zone {
                fee: 0,
                free_from: 0,
            },
            ADDED_INTER,
        );
        assert_eq!(q.discount.get(), 0);
        let blockers = q.blockers();
        assert_eq!(blockers.len(), 1);
        assert_eq!(
            (blockers[0].field.as_str(), blockers[0].code),
            ("coupon_code", "expired")
        );
    }

    #[test]
    fn lines_that_cannot_be_bought_block_checkout_and_gone_ones_cost_nothing() {
        let mut short = line(1, 500, 3);
        short.availability = Availability::of(Some(2), 3);
        let mut gone = line(2, 700, 1);
        gone.item = None;
        gone.availability = Availability::Unavailable;
        let q = price(vec![short, gone], None, &NoAddress, ADDED_INTER);
        assert_eq!(q.subtotal.get(), 1_500);
        let codes: Vec<_> = q
            .blockers()
            .iter()
            .map(|e| (e.field.clone(), e.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("cart.lines[0]".to_owned(), "insufficient_stock"),
                ("cart.lines[1]".to_owned(), "unavailable"),
                ("address_id".to_owned(), "required"),
            ]
        );
    }

    #[test]
    fn without_a_coupon_or_shipping_the_total_is_the_subtotal_plus_gst() {
        let q = price(vec![line(1, 1_003, 1)], None, &NoAddress, ADDED_INTER);
        assert_eq!(q.tax.get(), 181);
        assert_eq!(q.total.get(), 1_003 + 181);
        assert_eq!(q.gst.shipping, None);
    }
}
