//! GSTR-1's tables of outward supplies, from a period's documents: which table each
//! document goes in, and its rows there, in paise (the [`sections`](super::sections) module
//! writes them out).
//!
//! - **B2B** (table 4A): invoices to a buyer with a GSTIN, one row per invoice per rate.
//! - **B2CL** (table 5): inter-state invoices to unregistered buyers above the threshold of
//!   the invoice's date ([`b2cl_threshold`]), one row per invoice per rate.
//! - **B2CS** (table 7): every other invoice to an unregistered buyer, summed by place of
//!   supply and rate. Credit notes against these are taken off here, not listed in CDNUR:
//!   the table is a net figure, and CDNUR only takes notes against B2CL invoices (and exports).
//! - **CDNR** (table 9B): credit notes to registered buyers, one row per note per rate.
//! - **CDNUR** (table 9B): credit notes to unregistered buyers against a B2CL invoice.
//!
//! A credit note is judged by the invoice it corrects when that invoice is among the
//! documents given, and by its own value when it is not (as India Compliance's GSTR-1 report
//! does): a small note against a large invoice of an earlier period then goes to B2CS. The
//! tax is the same either way; only the table differs.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::gst::series::ist;
use crate::domain::gst::tax::{InvoiceTotals, SupplyType};
use crate::domain::invoice::{DocumentKind, TaxDocument};
use crate::domain::pincode::StateCode;

/// Rule 59(4)(a)(ii) of the CGST Rules: inter-state invoices to unregistered buyers with a
/// value *above* this are reported one by one (B2CL). ₹2.5 lakh from the start of GST; ₹1
/// lakh for invoices dated from 1 August 2024 (notification 12/2024–Central Tax, 10 July
/// 2024; GSTN's advisory of 3 September 2024). Each entry applies from its day, oldest first.
const B2CL_THRESHOLDS: &[((i32, u32, u32), i64)] =
    &[((2017, 7, 1), 25_000_000), ((2024, 8, 1), 10_000_000)];

/// The B2CL threshold in paise for an invoice dated `day` (in India).
pub fn b2cl_threshold(day: NaiveDate) -> i64 {
    B2CL_THRESHOLDS
        .iter()
        .rev()
        .find(|((y, m, d), _)| NaiveDate::from_ymd_opt(*y, *m, *d).is_some_and(|from| from <= day))
        .or(B2CL_THRESHOLDS.first())
        .map_or(0, |(_, paise)| *paise)
}

fn day_in_india(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&ist()).date_naive()
}

/// The GSTR-1 table a document is reported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    B2b,
    B2cl,
    B2cs,
    Cdnr,
    Cdnur,
}

/// Where `document` goes; `documents` are searched for the invoice a credit note corrects.
pub fn table_of(document: &TaxDocument, documents: &[TaxDocument]) -> Table {
    let draft = &document.draft;
    let registered = draft.buyer.gstin.is_some();
    match (draft.kind, registered) {
        (DocumentKind::Invoice, true) => Table::B2b,
        (DocumentKind::CreditNote, true) => Table::Cdnr,
        (DocumentKind::Invoice, false) if is_large(document) => Table::B2cl,
        (DocumentKind::Invoice, false) => Table::B2cs,
        (DocumentKind::CreditNote, false) => {
            let corrected = draft.corrects.as_ref().and_then(|number| {
                documents
                    .iter()
                    .find(|d| d.kind() == DocumentKind::Invoice && &d.number == number)
            });
            if is_large(corrected.unwrap_or(document)) {
                Table::Cdnur
            } else {
                Table::B2cs
            }
        }
    }
}

/// Inter-state and above the threshold of its date: B2C *large*.
fn is_large(document: &TaxDocument) -> bool {
    let draft = &document.draft;
    draft.supply == SupplyType::Inter
        && draft.totals().grand_total() > b2cl_threshold(day_in_india(draft.issued_at))
}

/// One document's lines at one rate, summed: a row of B2B, B2CL, CDNR or CDNUR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRow<'a> {
    pub document: &'a TaxDocument,
    pub rate_bp: u32,
    pub totals: InvoiceTotals,
}

/// A row of B2CS: unregistered buyers' supplies at one place and rate, less their credit
/// notes. Negative when a period credits more than it sold there at that rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct B2csRow {
    pub place_of_supply: StateCode,
    pub rate_bp: u32,
    pub totals: InvoiceTotals,
}

/// The tables of a period, each in the order of the documents given (B2CS by place of
/// supply, then rate).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gstr1<'a> {
    pub b2b: Vec<RateRow<'a>>,
    pub b2cl: Vec<RateRow<'a>>,
    pub b2cs: Vec<B2csRow>,
    pub cdnr: Vec<RateRow<'a>>,
    pub cdnur: Vec<RateRow<'a>>,
}

impl<'a> Gstr1<'a> {
    pub fn of(documents: &'a [TaxDocument]) -> Self {
        let mut tables = Self::default();
        let mut b2cs: BTreeMap<(StateCode, u32), InvoiceTotals> = BTreeMap::new();
        for document in documents {
            let rows = by_rate(document);
            match table_of(document, documents) {
                Table::B2b => tables.b2b.extend(rows),
                Table::B2cl => tables.b2cl.extend(rows),
                Table::Cdnr => tables.cdnr.extend(rows),
                Table::Cdnur => tables.cdnur.extend(rows),
                Table::B2cs => {
                    let place = document.draft.place_of_supply;
                    for row in rows {
                        let sum = b2cs.entry((place, row.rate_bp)).or_default();
                        *sum = match document.kind() {
                            DocumentKind::Invoice => *sum + row.totals,
                            DocumentKind::CreditNote => *sum - row.totals,
                        };
                    }
                }
            }
        }
        tables.b2cs = b2cs
            .into_iter()
            .map(|((place_of_supply, rate_bp), totals)| B2csRow {
                place_of_supply,
                rate_bp,
                totals,
            })
            .collect();
        tables
    }
}

/// A document's lines summed per rate, lowest rate first.
fn by_rate(document: &TaxDocument) -> Vec<RateRow<'_>> {
    let mut rates: BTreeMap<u32, InvoiceTotals> = BTreeMap::new();
    for line in &document.draft.lines {
        let sum = rates.entry(line.tax.rate_bp).or_default();
        *sum = *sum + InvoiceTotals::of([&line.tax]);
    }
    rates
        .into_iter()
        .map(|(rate_bp, totals)| RateRow {
            document,
            rate_bp,
            totals,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_b2cl_threshold_fell_to_one_lakh_on_1_august_2024() {
        assert_eq!(b2cl_threshold(day(2024, 7, 31)), 25_000_000);
        assert_eq!(b2cl_threshold(day(2024, 8, 1)), 10_000_000);
        assert_eq!(b2cl_threshold(day(2026, 12, 1)), 10_000_000);
        assert_eq!(b2cl_threshold(day(2017, 7, 1)), 25_000_000);
    }

    #[test]
    fn a_b2b_intra_state_invoice_with_two_rates_makes_two_rows() {
        let lines = [
            ("6109", 2, 100_000, 500),
            ("8517", 1, 300_000, 1800),
            ("6109", 1, 50_000, 500),
        ];
        let documents = [invoice(1, "29", Some(BUYER_GSTIN), &lines)];
        let tables = Gstr1::of(&documents);
        let rows: Vec<(u32, InvoiceTotals)> =
            tables.b2b.iter().map(|r| (r.rate_bp, r.totals)).collect();
        assert_eq!(
            rows,
            [
                (500, totals(150_000, 3_750, 3_750, 0)),
                (1800, totals(300_000, 27_000, 27_000, 0)),
            ]
        );
        assert!(tables.b2cl.is_empty() && tables.b2cs.is_empty());
    }

    #[test]
    fn inter_state_b2c_invoices_above_one_lakh_are_b2cl_and_the_rest_b2cs() {
        // ₹95,000 + 18% = ₹1,12,100 is above ₹1 lakh; ₹80,000 + 18% = ₹94,400 is not.
        let documents = [
            invoice(1, "27", None, &[("8517", 1, 9_500_000, 1800)]),
            invoice(2, "27", None, &[("8517", 1, 8_000_000, 1800)]),
            // Intra-state is B2CS whatever its value.
            invoice(3, "29", None, &[("8517", 1, 50_000_000, 1800)]),
        ];
        let kinds: Vec<Table> = documents.iter().map(|d| table_of(d, &documents)).collect();
        assert_eq!(kinds, [Table::B2cl, Table::B2cs, Table::B2cs]);
        let tables = Gstr1::of(&documents);
        assert_eq!(tables.b2cl.len(), 1);
        assert_eq!(tables.b2cl[0].document.number.as_str(), "INV/26-27/000001");
        assert_eq!(tables.b2cl[0].totals.igst, 1_710_000);
    }

    #[test]
    fn b2cs_sums_across_invoices_by_place_and_rate_less_credit_notes() {
        let first = invoice(
            1,
            "27",
            None,
            &[("6109", 1, 100_000, 500), ("8517", 1, 200_000, 1800)],
        );
        let documents = [
            first.clone(),
            invoice(2, "27", None, &[("6109", 3, 300_000, 500)]),
            invoice(3, "07", None, &[("6109", 1, 50_000, 500)]),
            invoice(4, "29", None, &[("6109", 1, 80_000, 500)]),
            credit_note(1, "27", None, &[("6109", 1, 100_000, 500)], &first),
        ];
        let rows: Vec<(String, u32, i64, i64)> = Gstr1::of(&documents)
            .b2cs
            .iter()
            .map(|r| {
                (
                    r.place_of_supply.to_string(),
                    r.rate_bp,
                    r.totals.taxable,
                    r.totals.tax(),
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("07".into(), 500, 50_000, 2_500),
                ("27".into(), 500, 300_000, 15_000),
                ("27".into(), 1800, 200_000, 36_000),
                ("29".into(), 500, 80_000, 4_000),
            ]
        );
    }

    #[test]
    fn credit_notes_go_to_cdnr_or_cdnur_by_the_buyer_and_the_invoice() {
        let b2b = invoice(1, "27", Some(BUYER_GSTIN), &[("8517", 1, 1_000_000, 1800)]);
        let large = invoice(2, "27", None, &[("8517", 1, 20_000_000, 1800)]);
        let small = invoice(3, "27", None, &[("8517", 1, 1_000_000, 1800)]);
        let to_registered = credit_note(
            1,
            "27",
            Some(BUYER_GSTIN),
            &[("8517", 1, 100_000, 1800)],
            &b2b,
        );
        // A small note against a large invoice follows the invoice.
        let against_large = credit_note(2, "27", None, &[("8517", 1, 100_000, 1800)], &large);
        let against_small = credit_note(3, "27", None, &[("8517", 1, 100_000, 1800)], &small);
        let documents = [
            b2b,
            large,
            small,
            to_registered,
            against_large.clone(),
            against_small,
        ];

        let tables = Gstr1::of(&documents);
        let numbers = |rows: &[RateRow]| -> Vec<String> {
            rows.iter().map(|r| r.document.number.to_string()).collect()
        };
        assert_eq!(numbers(&tables.cdnr), ["CN/26-27/000001"]);
        assert_eq!(numbers(&tables.cdnur), ["CN/26-27/000002"]);
        // The note against the small invoice is taken off B2CS.
        assert_eq!(tables.b2cs.len(), 1);
        assert_eq!(tables.b2cs[0].totals.taxable, 1_000_000 - 100_000);

        // Without its invoice, a note is judged by its own value.
        assert_eq!(table_of(&against_large, &documents[3..]), Table::B2cs);
    }
}
