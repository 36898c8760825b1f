//! Issued tax documents built as the store builds them, for the tests of what is made from
//! them (reports, the GSTR-1 files, the PDF).

use bazaar::domain::gst::gstin::Gstin;
use bazaar::domain::gst::series::InvoicePrefix;
use bazaar::domain::gst::tax::{place_of_supply, LineTax, PriceBasis};
use bazaar::domain::ids::{OrderId, UserId};
use bazaar::domain::invoice::{DocumentDraft, DocumentKind, DocumentLine, Party, TaxDocument};
use bazaar::domain::money::Paise;
use bazaar::domain::pincode::StateCode;
use chrono::{TimeZone, Utc};

/// The seller, registered in Karnataka (29).
const SELLER_GSTIN: &str = "29AAGCB7383J1Z4";
/// A registered buyer in Maharashtra (27).
pub const BUYER_GSTIN: &str = "27AAPFU0939F1ZV";

/// `(HSN or SAC code, quantity, amount in paise after discount, rate in basis points)`.
pub type LineSpec<'a> = (&'a str, u32, i64, u32);

/// A document to a buyer in `buyer_state`, registered when `buyer_gstin` is given, issued
/// on 1 December 2026 in India and numbered `serial` (`INV/…` or `CN/…`); a credit note
/// corrects `corrects`.
pub fn tax_document(
    kind: DocumentKind,
    serial: u64,
    (buyer_state, buyer_gstin): (&str, Option<&str>),
    lines: &[LineSpec],
    basis: PriceBasis,
    corrects: Option<&TaxDocument>,
) -> TaxDocument {
    let seller_gstin = Gstin::parse("seller", SELLER_GSTIN).unwrap();
    let (from, to) = (
        seller_gstin.state_code(),
        StateCode::parse(buyer_state).unwrap(),
    );
    let supply = place_of_supply(from, to);
    let lines = lines
        .iter()
        .map(|&(code, quantity, amount, rate)| DocumentLine {
            description: format!("Item {code}"),
            code: code.into(),
            quantity,
            unit_price: Paise::parse_price("unit_price", (amount / i64::from(quantity)).max(1))
                .unwrap(),
            tax: LineTax::compute(amount, rate, basis, supply),
        })
        .collect();
    let draft = DocumentDraft {
        kind,
        source: format!("{}-{serial}", kind.as_str()),
        order_id: OrderId::generate(),
        user_id: UserId::generate(),
        issued_at: Utc.with_ymd_and_hms(2026, 12, 1, 4, 30, 0).unwrap(),
        seller: Party {
            name: "Kaveri Handlooms Private Limited".into(),
            address_lines: vec![
                "No. 42, 3rd Cross, Jayanagar 4th Block".into(),
                "Bengaluru 560011".into(),
            ],
            gstin: Some(seller_gstin),
            state: from,
        },
        buyer: Party {
            name: "Meera Textiles, LLP".into(),
            address_lines: vec!["14 Avenue Road".into()],
            gstin: buyer_gstin.map(|g| Gstin::parse("buyer", g).unwrap()),
            state: to,
        },
        place_of_supply: to,
        supply,
        lines,
        corrects: corrects.map(|invoice| invoice.number.clone()),
    };
    let prefix = match kind {
        DocumentKind::Invoice => "INV",
        DocumentKind::CreditNote => "CN",
    };
    draft
        .number(&InvoicePrefix::parse("prefix", prefix).unwrap(), serial)
        .unwrap()
}
