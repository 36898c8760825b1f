//! An order's invoice says what the order was charged: for any cart (lines at any rates, a
//! coupon, shipping, either price basis, either place of supply) placed as an order, the
//! invoice's lines add up to the order's total and its tax, to the paisa.

use bazaar::domain::gst::gstin::{check_char, Gstin};
use bazaar::domain::gst::rates::RateTable;
use bazaar::domain::gst::seller::Seller;
use bazaar::domain::gst::tax::{PriceBasis, SupplyType};
use bazaar::domain::invoice::DocumentDraft;
use bazaar::domain::money::Paise;
use bazaar::domain::order::request::{OrderRequest, RawLine};
use bazaar::domain::order::tax::{ItemRate, ItemTaxing};
use bazaar::domain::order::{Order, OrderId};
use bazaar::domain::pricing::{
    self, Availability, CatalogItem, Delivery, DiscountRule, PricedLine, ShippingRule, TaxTerms,
};
use bazaar::domain::product::{Categories, Product, ProductDraft, RawProduct};
use bazaar::domain::user::UserId;
use bazaar::domain::validation::FieldError;
use chrono::Utc;
use proptest::prelude::*;
use proptest::sample::select;

fn product(n: usize, price: i64) -> Product {
    let categories = Categories::new(vec!["books".into()]);
    let raw = RawProduct {
        sku: format!("PROP-{n}"),
        name: format!("Book {n}"),
        description: None,
        price,
        currency: "INR".into(),
        category: "books".into(),
        tags: Vec::new(),
        stock: None,
        images: Vec::new(),
        ..Default::default()
    };
    let draft = ProductDraft::parse(&raw, &categories, RateTable::built_in()).unwrap();
    Product::create(draft, Utc::now())
}

struct Flat(i64);
impl DiscountRule for Flat {
    fn code(&self) -> &str {
        "FLAT"
    }
    fn discount(&self, _: &[&PricedLine], _: Paise) -> Result<Paise, FieldError> {
        Ok(Paise::parse_price("discount", self.0).unwrap())
    }
}

struct Fee(i64);
impl ShippingRule for Fee {
    fn delivery(&self, _: Paise) -> Delivery {
        Delivery::Serviceable {
            fee: Paise::parse_bound("fee", self.0).unwrap(),
            free_from: None,
            cod_allowed: true,
            estimate_days: (1, 3),
        }
    }
}

fn seller() -> Seller {
    let body = "29AABCB1234C1Z";
    Seller {
        legal_name: "Bazaar Demo Traders".into(),
        gstin: Gstin::parse("gstin", &format!("{body}{}", check_char(body).unwrap())).unwrap(),
        address_lines: vec!["12 MG Road".into()],
    }
}

proptest! {
    #![proptest_config(super::config(200))]

    #[test]
    fn an_orders_invoice_adds_up_to_what_the_order_charged(
        lines in prop::collection::vec(
            (1i64..=500_000, 1u32..=5, select(vec![0u32, 25, 300, 500, 1200, 1800, 2800, 4000])),
            1..6,
        ),
        discount in 1i64..=100_000,
        fee in 0i64..=20_000,
        basis in select(vec![PriceBasis::Exclusive, PriceBasis::Inclusive]),
        supply in select(vec![SupplyType::Intra, SupplyType::Inter]),
    ) {
        let products: Vec<Product> = lines.iter().enumerate().map(|(n, l)| product(n, l.0)).collect();
        let priced: Vec<PricedLine> = products
            .iter()
            .zip(&lines)
            .map(|(p, &(price, quantity, rate_bp))| PricedLine {
                product_id: p.id.clone(),
                variant_id: p.variants[0].id.clone(),
                item: Some(CatalogItem {
                    sku: p.sku.as_str().to_owned(),
                    name: p.name.as_str().to_owned(),
                    category: "books".into(),
                    unit_price: Paise::parse_price("price", price).unwrap(),
                    rate_bp,
                    tax_code: format!("49{rate_bp:02}"),
                }),
                quantity,
                availability: Availability::InStock,
            })
            .collect();
        let terms = TaxTerms { basis, supply };
        let quote = pricing::price(priced, Some(&Flat(discount)), &Fee(fee), terms);
        let raw: Vec<RawLine> = products
            .iter()
            .zip(&lines)
            .map(|(p, l)| RawLine { product_id: p.id.to_string(), variant_id: None, quantity: i64::from(l.1) })
            .collect();
        let request = OrderRequest::parse(&raw, None, None, 10).unwrap();
        let rate = |_: &Product| ItemRate { rate_bp: 1800, code: "4901".into() };
        let mut order = Order::new(
            OrderId::generate(), UserId::generate(), request, &products,
            ItemTaxing { terms, rate_of: &rate },
            Utc::now(), chrono::Duration::minutes(30),
        );
        prop_assert_eq!(order.charge_as_quoted(&quote), Ok(()));
        let invoice = DocumentDraft::invoice_of(&order, &seller(), "Asha", Utc::now()).unwrap();
        let totals = invoice.totals();
        prop_assert_eq!(totals.grand_total(), order.total.get());
        prop_assert_eq!(totals.tax(), order.tax.get());
        prop_assert_eq!(totals.cgst, totals.sgst);
        prop_assert_eq!(invoice.lines.len(), lines.len() + usize::from(order.shipping.get() > 0));
        for (line, &(_, quantity, rate_bp)) in invoice.lines.iter().zip(&lines) {
            prop_assert_eq!(line.quantity, quantity);
            prop_assert_eq!(line.tax.rate_bp, rate_bp);
            prop_assert_eq!(&line.code, &format!("49{rate_bp:02}"));
        }
        // No address: supplied in the seller's state, as the order was priced.
        prop_assert_eq!(invoice.place_of_supply, seller().state());
    }
}
