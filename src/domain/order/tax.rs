//! The GST an order was charged, line by line: kept with the order when it is placed, so
//! its invoice shows exactly what the customer paid, whatever rates or settings say later.

use chrono::{DateTime, Utc};

use crate::domain::gst::charge::{ChargeTax, Goods};
use crate::domain::gst::seller::TaxSettings;
use crate::domain::gst::series::india_date;
use crate::domain::gst::tax::{place_of_supply, InvoiceTotals, LineTax, PriceBasis, SupplyType};
use crate::domain::ids::VariantId;
use crate::domain::pincode::StateCode;
use crate::domain::pricing::{Quote, TaxTerms};
use crate::domain::product::Product;

/// What one item is taxed at: its class's rate on the order's day, and its HSN or SAC code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRate {
    pub rate_bp: u32,
    pub code: String,
}

impl ItemRate {
    /// What `product` is taxed at on `at`'s day in India: its tax class's rate (the
    /// seller's default class if it names none, or names one the table no longer has),
    /// and its code (the default if none) cut to the digits invoices show.
    pub fn of(product: &Product, tax: &TaxSettings, at: DateTime<Utc>) -> Self {
        let day = india_date(at);
        let rate = product
            .tax_class
            .as_ref()
            .and_then(|class| tax.rates.rate_on(class, day))
            .or_else(|| tax.rates.rate_on(&tax.default_class, day));
        let code = product.hsn_code.as_ref().unwrap_or(&tax.default_code);
        Self {
            rate_bp: rate.map_or(0, |r| r.rate_bp),
            code: code
                .on_invoice(tax.digits)
                .unwrap_or(code.as_str())
                .to_owned(),
        }
    }
}

impl TaxTerms {
    /// The terms of goods delivered to `place` (`None`: not known yet, taken as the
    /// seller's own state) by the seller of `tax`.
    pub fn for_delivery(tax: &TaxSettings, place: Option<StateCode>) -> Self {
        let seller = tax.seller.state();
        Self {
            basis: tax.basis,
            supply: place_of_supply(seller, place.unwrap_or(seller)),
        }
    }
}

/// How the items of a new order are taxed: the order's terms, and each product's rate.
pub struct ItemTaxing<'a> {
    pub terms: TaxTerms,
    pub rate_of: &'a dyn Fn(&Product) -> ItemRate,
}

/// One item's tax, after its share of the discount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemTax {
    pub code: String,
    /// The item's share of the coupon's discount, in paise.
    pub discount: i64,
    pub tax: LineTax,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTax {
    pub basis: PriceBasis,
    pub supply: SupplyType,
    /// One per item of the order, in its order.
    pub items: Vec<ItemTax>,
    /// `None` when shipping was free or not charged.
    pub shipping: Option<LineTax>,
}

impl OrderTax {
    /// Items of `(amount, rate)` with no discount and no shipping: an order placed from
    /// explicit items rather than a priced cart.
    pub fn of_items(items: &[(i64, ItemRate)], terms: TaxTerms) -> Self {
        let goods: Vec<Goods> = items
            .iter()
            .map(|(amount, rate)| Goods {
                amount: *amount,
                rate_bp: rate.rate_bp,
            })
            .collect();
        let charge = ChargeTax::compute(&goods, 0, 0, terms.basis, terms.supply);
        Self {
            basis: terms.basis,
            supply: terms.supply,
            items: items
                .iter()
                .zip(&charge.goods)
                .map(|((_, rate), tax)| ItemTax {
                    code: rate.code.clone(),
                    discount: 0,
                    tax: *tax,
                })
                .collect(),
            shipping: None,
        }
    }

    /// The quote's tax for the items bought, found by variant (`variants` in the order's
    /// order); `None` if one of them is not a line of the quote.
    pub fn of_quote(quote: &Quote, variants: &[&VariantId]) -> Option<Self> {
        let items = variants
            .iter()
            .map(|variant| {
                let at = quote.lines.iter().position(|l| &l.variant_id == *variant)?;
                let item = quote.lines[at].item.as_ref()?;
                Some(ItemTax {
                    code: item.tax_code.clone(),
                    discount: *quote.gst.discounts.get(at)?,
                    tax: *quote.gst.goods.get(at)?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            basis: quote.terms.basis,
            supply: quote.terms.supply,
            items,
            shipping: quote.gst.shipping,
        })
    }

    /// Every line's tax added up, shipping included.
    pub fn totals(&self) -> InvoiceTotals {
        InvoiceTotals::of(self.items.iter().map(|i| &i.tax).chain(&self.shipping))
    }

    /// The highest rate charged, in basis points (0 for none).
    pub fn top_rate_bp(&self) -> u32 {
        self.items.iter().map(|i| i.tax.rate_bp).max().unwrap_or(0)
    }
}
