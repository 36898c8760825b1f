//! What staff read off a period's issued documents: the totals per tax head ([`PeriodTotals`])
//! and the GSTR-1 tables an accountant imports into the GST offline tool ([`gstr1`],
//! [`hsn_summary`], written by [`sections`] through [`csv`] in the tool's [`formats`]).
//!
//! Pure functions over the documents a caller has already picked (those issued between two
//! dates): nothing here reads a store or a clock. docs/invoices.md has the tables and why
//! each document goes where it goes.

pub mod csv;
pub mod formats;
pub mod gstr1;
pub mod hsn_summary;
pub mod sections;

use super::gst::tax::InvoiceTotals;
use super::invoice::{DocumentKind, TaxDocument};

/// How many documents of one kind, and their sums per head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindTotals {
    pub count: usize,
    pub totals: InvoiceTotals,
}

/// A period's invoices, its credit notes, and what the invoices leave after the credit
/// notes (the tax the period owes, before any other adjustment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PeriodTotals {
    pub invoices: KindTotals,
    pub credit_notes: KindTotals,
    /// Invoices − credit notes, head by head; negative when more was credited than sold.
    pub net: InvoiceTotals,
}

impl PeriodTotals {
    pub fn of(documents: &[TaxDocument]) -> Self {
        let kind = |kind: DocumentKind| {
            documents
                .iter()
                .filter(|d| d.kind() == kind)
                .fold(KindTotals::default(), |sum, d| KindTotals {
                    count: sum.count + 1,
                    totals: sum.totals + d.draft.totals(),
                })
        };
        let (invoices, credit_notes) =
            (kind(DocumentKind::Invoice), kind(DocumentKind::CreditNote));
        Self {
            invoices,
            credit_notes,
            net: invoices.totals - credit_notes.totals,
        }
    }
}

/// Documents to report on, built the way the store builds them; for this module's tests.
#[cfg(test)]
pub(crate) mod sample {
    use chrono::{DateTime, TimeZone, Utc};

    use crate::domain::gst::gstin::Gstin;
    use crate::domain::gst::series::{InvoiceNumber, InvoicePrefix};
    use crate::domain::gst::tax::{place_of_supply, InvoiceTotals, LineTax, PriceBasis};
    use crate::domain::ids::{OrderId, UserId};
    use crate::domain::invoice::{DocumentDraft, DocumentKind, DocumentLine, Party, TaxDocument};
    use crate::domain::money::Paise;
    use crate::domain::pincode::StateCode;

    pub const SELLER_GSTIN: &str = "29AAGCB7383J1Z4";
    pub const BUYER_GSTIN: &str = "27AAPFU0939F1ZV";

    pub fn state(code: &str) -> StateCode {
        StateCode::parse(code).unwrap()
    }

    /// 1 December 2026, 10:00 IST.
    pub fn december() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 4, 30, 0).unwrap()
    }

    /// `(code, quantity, tax-exclusive amount in paise, rate)`
    pub type Line<'a> = (&'a str, u32, i64, u32);

    /// An invoice from the Karnataka seller to `to` (a state code), registered when
    /// `gstin` is given, numbered `serial`.
    pub fn invoice(serial: u64, to: &str, gstin: Option<&str>, lines: &[Line]) -> TaxDocument {
        document(DocumentKind::Invoice, serial, to, gstin, lines, None)
    }

    /// A credit note against the invoice numbered `corrects`.
    pub fn credit_note(
        serial: u64,
        to: &str,
        gstin: Option<&str>,
        lines: &[Line],
        corrects: &TaxDocument,
    ) -> TaxDocument {
        let number = Some(corrects.number.clone());
        document(DocumentKind::CreditNote, serial, to, gstin, lines, number)
    }

    fn document(
        kind: DocumentKind,
        serial: u64,
        to: &str,
        gstin: Option<&str>,
        lines: &[Line],
        corrects: Option<InvoiceNumber>,
    ) -> TaxDocument {
        let seller_gstin = Gstin::parse("seller", SELLER_GSTIN).unwrap();
        let (from, to) = (seller_gstin.state_code(), state(to));
        let supply = place_of_supply(from, to);
        let party = |name: &str, gstin: Option<Gstin>, state| Party {
            name: name.into(),
            address_lines: vec!["1 MG Road".into()],
            gstin,
            state,
        };
        let lines = lines
            .iter()
            .map(|&(code, quantity, amount, rate)| DocumentLine {
                description: format!("Item {code}"),
                code: code.into(),
                quantity,
                unit_price: Paise::trusted(amount / i64::from(quantity.max(1))),
                tax: LineTax::compute(amount, rate, PriceBasis::Exclusive, supply),
            })
            .collect();
        let draft = DocumentDraft {
            kind,
            source: format!("{kind:?}-{serial}"),
            order_id: OrderId::generate(),
            user_id: UserId::generate(),
            issued_at: december(),
            seller: party("Kaveri Handlooms", Some(seller_gstin), from),
            buyer: party(
                "Meera, \"Textiles\"",
                gstin.map(|g| Gstin::parse("buyer", g).unwrap()),
                to,
            ),
            place_of_supply: to,
            supply,
            lines,
            corrects,
        };
        let prefix = if kind == DocumentKind::Invoice {
            "INV"
        } else {
            "CN"
        };
        let prefix = InvoicePrefix::parse("prefix", prefix).unwrap();
        draft.number(&prefix, serial).unwrap()
    }

    /// Taxable value, CGST, SGST, IGST.
    pub fn totals(taxable: i64, cgst: i64, sgst: i64, igst: i64) -> InvoiceTotals {
        InvoiceTotals {
            taxable,
            cgst,
            sgst,
            igst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sample::*;
    use super::*;

    #[test]
    fn credit_notes_come_off_the_invoices_head_by_head() {
        // Intra-state ₹1,000 at 18% and inter-state ₹500 at 5%; ₹200 of the first credited.
        let first = invoice(1, "29", None, &[("6109", 1, 100_000, 1800)]);
        let second = invoice(2, "27", None, &[("6109", 2, 50_000, 500)]);
        let note = credit_note(1, "29", None, &[("6109", 1, 20_000, 1800)], &first);
        let period = PeriodTotals::of(&[first, second, note]);

        assert_eq!(period.invoices.count, 2);
        assert_eq!(period.credit_notes.count, 1);
        assert_eq!(period.invoices.totals, totals(150_000, 9_000, 9_000, 2_500));
        assert_eq!(period.credit_notes.totals, totals(20_000, 1_800, 1_800, 0));
        assert_eq!(period.net, totals(130_000, 7_200, 7_200, 2_500));
        assert_eq!(period.net.grand_total(), 130_000 + 14_400 + 2_500);
    }

    #[test]
    fn no_documents_make_zero_totals() {
        assert_eq!(PeriodTotals::of(&[]), PeriodTotals::default());
    }
}
