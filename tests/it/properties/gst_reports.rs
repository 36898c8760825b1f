//! GST reports: for any period's invoices and credit notes, the GSTR-1 tables and the HSN
//! summary hold exactly the period's totals, split differently, and nothing is lost or
//! counted twice between tables.

use bazaar::domain::gst::tax::{InvoiceTotals, PriceBasis};
use bazaar::domain::invoice::{DocumentKind, TaxDocument};
use bazaar::domain::invoice_report::gstr1::{Gstr1, RateRow};
use bazaar::domain::invoice_report::hsn_summary::{hsn_summary, Recipients};
use bazaar::domain::invoice_report::PeriodTotals;
use proptest::prelude::*;
use proptest::sample::select;

use crate::kit::{tax_document, LineSpec, BUYER_GSTIN};

/// `(code, quantity, amount, rate)`: goods and a service (shipping), small amounts and
/// ones that pass the B2CL threshold of ₹1 lakh.
fn line() -> impl Strategy<Value = (&'static str, u32, i64, u32)> {
    (
        select(vec!["6109", "8517", "996812"]),
        1u32..5,
        prop_oneof![1i64..=1_000_000, 1i64..=30_000_000],
        select(vec![0u32, 25, 300, 500, 1800, 4000]),
    )
}

/// An invoice: registered or not, to the seller's own state (29) or another, and the
/// quarters of it a credit note takes back (none when 0).
fn invoice_spec() -> impl Strategy<Value = (bool, &'static str, Vec<LineSpec<'static>>, i64)> {
    (
        any::<bool>(),
        select(vec!["29", "27", "07"]),
        prop::collection::vec(line(), 1..4),
        0i64..=4,
    )
}

/// The invoices, then a credit note against each one that has some credited.
fn documents(
    specs: &[(bool, &'static str, Vec<LineSpec<'static>>, i64)],
    basis: PriceBasis,
) -> Vec<TaxDocument> {
    let mut documents = Vec::new();
    let mut notes = Vec::new();
    for (serial, (registered, state, lines, quarters)) in (1..).zip(specs) {
        let buyer = (*state, registered.then_some(BUYER_GSTIN));
        let invoice = tax_document(DocumentKind::Invoice, serial, buyer, lines, basis, None);
        if *quarters > 0 {
            let credited: Vec<LineSpec> = lines
                .iter()
                .map(|&(code, quantity, amount, rate)| {
                    (code, quantity, amount * quarters / 4, rate)
                })
                .collect();
            let kind = DocumentKind::CreditNote;
            let serial = notes.len() as u64 + 1;
            notes.push(tax_document(
                kind,
                serial,
                buyer,
                &credited,
                basis,
                Some(&invoice),
            ));
        }
        documents.push(invoice);
    }
    documents.extend(notes);
    documents
}

/// Table 12's two tabs together.
fn hsn_totals(documents: &[TaxDocument]) -> InvoiceTotals {
    [Recipients::Registered, Recipients::Unregistered]
        .into_iter()
        .flat_map(|tab| hsn_summary(documents, tab))
        .fold(InvoiceTotals::default(), |sum, row| sum + row.totals)
}

fn sum_rows(rows: &[RateRow]) -> InvoiceTotals {
    rows.iter()
        .fold(InvoiceTotals::default(), |sum, r| sum + r.totals)
}

fn basis() -> impl Strategy<Value = PriceBasis> {
    select(vec![PriceBasis::Exclusive, PriceBasis::Inclusive])
}

proptest! {
    #![proptest_config(super::config(300))]

    /// Table 12's two tabs together hold the period's net totals, head by head.
    #[test]
    fn the_hsn_summary_adds_up_to_the_period_totals(
        specs in prop::collection::vec(invoice_spec(), 0..12),
        basis in basis(),
    ) {
        let documents = documents(&specs, basis);
        let period = PeriodTotals::of(&documents);
        prop_assert_eq!(hsn_totals(&documents), period.net);

        let invoices: Vec<TaxDocument> =
            documents.iter().filter(|d| d.kind() == DocumentKind::Invoice).cloned().collect();
        prop_assert_eq!(hsn_totals(&invoices), period.invoices.totals);
    }

    /// B2B + B2CL + B2CS hold every invoice's taxable value once; with credit notes,
    /// B2B + B2CL + B2CS − CDNR − CDNUR is the period's net, head by head.
    #[test]
    fn the_gstr1_tables_hold_every_document_once(
        specs in prop::collection::vec(invoice_spec(), 0..12),
        basis in basis(),
    ) {
        let documents = documents(&specs, basis);
        let period = PeriodTotals::of(&documents);

        let invoices: Vec<TaxDocument> =
            documents.iter().filter(|d| d.kind() == DocumentKind::Invoice).cloned().collect();
        let tables = Gstr1::of(&invoices);
        let b2cs = tables.b2cs.iter().fold(InvoiceTotals::default(), |sum, r| sum + r.totals);
        let sold = sum_rows(&tables.b2b) + sum_rows(&tables.b2cl) + b2cs;
        prop_assert_eq!(sold.taxable, period.invoices.totals.taxable);
        prop_assert_eq!(sold, period.invoices.totals);
        prop_assert!(tables.cdnr.is_empty() && tables.cdnur.is_empty());

        let tables = Gstr1::of(&documents);
        let b2cs = tables.b2cs.iter().fold(InvoiceTotals::default(), |sum, r| sum + r.totals);
        let net = sum_rows(&tables.b2b) + sum_rows(&tables.b2cl) + b2cs
            - sum_rows(&tables.cdnr)
            - sum_rows(&tables.cdnur);
        prop_assert_eq!(net, period.net);
    }
}
