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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::gst::hsn::TaxCode;
    use crate::domain::gst::rates::TaxClass;
    use crate::domain::product::{Categories, ProductDraft, RawProduct};

    fn product(class: Option<&str>, hsn: Option<&str>) -> Product {
        let raw = RawProduct {
            sku: "TAX-1".into(),
            name: "Kurta".into(),
            price: 49_900,
            currency: "INR".into(),
            category: "apparel".into(),
            ..Default::default()
        };
        let tax = TaxSettings::sample();
        let draft = ProductDraft::parse(&raw, &Categories::new(vec!["apparel".into()]), &tax.rates)
            .unwrap();
        let mut p = Product::create(draft, Utc::now());
        p.tax_class = class.map(|c| TaxClass::parse("tax_class", c).unwrap());
        p.hsn_code = hsn.map(|h| TaxCode::parse("hsn_code", h).unwrap());
        p
    }

    #[test]
    fn a_product_is_taxed_at_its_classs_rate_on_the_day_in_india() {
        let tax = TaxSettings::sample();
        let p = product(Some("standard_12_to_5"), None);
        // 23:59 on 21 September 2025 in India: the old rate; a minute later, the new one.
        let before = Utc.with_ymd_and_hms(2025, 9, 21, 18, 29, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2025, 9, 21, 18, 30, 0).unwrap();
        assert_eq!(ItemRate::of(&p, &tax, before).rate_bp, 1200);
        assert_eq!(ItemRate::of(&p, &tax, after).rate_bp, 500);
    }

    #[test]
    fn a_product_naming_no_class_or_one_the_table_lost_takes_the_default_class() {
        let tax = TaxSettings::sample();
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
        assert_eq!(ItemRate::of(&product(None, None), &tax, now).rate_bp, 1800);
        let lost = product(Some("no_longer_in_the_table"), None);
        assert_eq!(ItemRate::of(&lost, &tax, now).rate_bp, 1800);
    }

    #[test]
    fn the_code_is_the_products_or_the_default_cut_to_the_invoice_digits() {
        let tax = TaxSettings::sample();
        let now = Utc::now();
        let own = ItemRate::of(&product(None, Some("62114290")), &tax, now);
        assert_eq!(own.code, "6211");
        let default = ItemRate::of(&product(None, None), &tax, now);
        assert_eq!(default.code, tax.default_code.as_str());
    }

    #[test]
    fn goods_delivered_to_the_sellers_state_or_nowhere_yet_are_intra_state() {
        let tax = TaxSettings::sample();
        let own = tax.seller.state();
        let other = StateCode::parse("27").unwrap();
        assert_ne!(own, other);
        let supply = |place| TaxTerms::for_delivery(&tax, place).supply;
        assert_eq!(supply(None), SupplyType::Intra);
        assert_eq!(supply(Some(own)), SupplyType::Intra);
        assert_eq!(supply(Some(other)), SupplyType::Inter);
        assert_eq!(TaxTerms::for_delivery(&tax, None).basis, tax.basis);
    }
}
