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
//! 6. taxable value: goods value + shipping (shipping is taxed as part of the
//!    supply it delivers, at the goods' rate);
//! 7. GST on the taxable value, rounded half up to the paisa ([`tax_on`]);
//! 8. total: taxable value + GST.
//!
//! The coupon and shipping rules come in as [`DiscountRule`] and
//! [`ShippingRule`], so the order of the steps lives here and nowhere else.

use super::ids::{ProductId, VariantId};
use super::money::tax_on;
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

/// One tax line: GST at a rate.
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

/// Prices `lines` with an optional coupon, a shipping rule and GST at
/// `tax_rate_bp` basis points, in the steps the module describes.
pub fn price(
    lines: Vec<PricedLine>,
    coupon: Option<&dyn DiscountRule>,
    shipping: &dyn ShippingRule,
    tax_rate_bp: u32,
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
    let taxable = goods + shipping;
    let tax = tax_on(taxable, tax_rate_bp);
    let taxes = (tax_rate_bp > 0)
        .then(|| TaxLine {
            name: "GST",
            rate_bp: tax_rate_bp,
            amount: Paise::trusted(tax),
        })
        .into_iter()
        .collect();
    Quote {
        lines,
        subtotal,
        coupon,
        discount,
        delivery,
        shipping: Paise::trusted(shipping),
        taxable: Paise::trusted(taxable),
        taxes,
        tax: Paise::trusted(tax),
        total: Paise::trusted(taxable + tax),
    }
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
            }),
            quantity,
            availability: Availability::InStock,
        }
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
            1800,
        );
        assert_eq!(q.subtotal.get(), 134_750);
        assert_eq!(q.discount.get(), 10_000);
        // Goods ₹1,247.50 are under ₹1,499: shipping is charged.
        assert_eq!(q.shipping.get(), 4_900);
        assert_eq!(q.taxable.get(), 129_650);
        // 18% of 129,650 paise is 23,337 exactly.
        assert_eq!(q.tax.get(), 23_337);
        assert_eq!(q.total.get(), 152_987);
        assert!(q.blockers().is_empty());
    }

    #[test]
    fn shipping_is_free_from_the_threshold_judged_after_the_discount() {
        let zone = Zone {
            fee: 4_900,
            free_from: 100_000,
        };
        let at = price(vec![line(1, 100_000, 1)], None, &zone, 0);
        assert_eq!(at.shipping.get(), 0);
        let under = price(vec![line(1, 100_000, 1)], Some(&Flat(1)), &zone, 0);
        assert_eq!(under.shipping.get(), 4_900);
        assert_eq!(under.total.get(), 99_999 + 4_900);
    }

    #[test]
    fn a_discount_never_exceeds_the_subtotal() {
        let q = price(vec![line(1, 500, 1)], Some(&Flat(9_999)), &NoAddress, 1800);
        assert_eq!(q.discount.get(), 500);
        assert_eq!(q.total.get(), 0);
    }

    #[test]
    fn a_refused_coupon_discounts_nothing_and_blocks_checkout_saying_why() {
        let q = price(
            vec![line(1, 500, 1)],
            Some(&Refuse),
            &Zone {
                fee: 0,
                free_from: 0,
            },
            0,
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
        let q = price(vec![short, gone], None, &NoAddress, 0);
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
    fn without_a_coupon_or_shipping_the_total_is_an_orders_subtotal_plus_gst() {
        let q = price(vec![line(1, 1_003, 1)], None, &NoAddress, 1800);
        assert_eq!(q.tax.get(), tax_on(1_003, 1800));
        assert_eq!(q.total.get(), 1_003 + 181);
    }
}
