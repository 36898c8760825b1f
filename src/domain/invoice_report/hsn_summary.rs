//! GSTR-1's table 12: the period's supplies summed by HSN (or SAC) code and rate, net of
//! credit notes. Since the May 2025 return period the table has two tabs, supplies to
//! registered buyers (B2B) and to the rest (B2C), so a summary is for one of them.

use std::collections::BTreeMap;

use crate::domain::gst::tax::InvoiceTotals;
use crate::domain::invoice::{DocumentKind, TaxDocument};

/// Which tab of table 12.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipients {
    /// Buyers with a GSTIN.
    Registered,
    Unregistered,
}

/// One code at one rate: quantity and values summed, credit notes taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsnRow {
    /// As the documents show it (4 or 6 digits, by the seller's setting).
    pub code: String,
    pub rate_bp: u32,
    pub quantity: i64,
    pub totals: InvoiceTotals,
}

impl HsnRow {
    /// SAC codes (chapter 99) are services, which have no quantity.
    pub fn is_service(&self) -> bool {
        self.code.starts_with("99")
    }

    /// The unit quantity code, as the tool's list writes it: goods are counted in pieces
    /// sold (`NOS`, numbers), services have none (`NA`).
    pub fn uqc(&self) -> &'static str {
        if self.is_service() {
            "NA"
        } else {
            "NOS-NUMBERS"
        }
    }

    /// What the tool takes as the quantity: 0 for services.
    pub fn reported_quantity(&self) -> i64 {
        if self.is_service() {
            0
        } else {
            self.quantity
        }
    }
}

/// The rows of one tab, by code, then rate.
pub fn hsn_summary(documents: &[TaxDocument], recipients: Recipients) -> Vec<HsnRow> {
    let mut rows: BTreeMap<(&str, u32), (i64, InvoiceTotals)> = BTreeMap::new();
    let wanted = |d: &&TaxDocument| match recipients {
        Recipients::Registered => d.draft.buyer.gstin.is_some(),
        Recipients::Unregistered => d.draft.buyer.gstin.is_none(),
    };
    for document in documents.iter().filter(wanted) {
        for line in &document.draft.lines {
            let (quantity, totals) = rows.entry((&line.code, line.tax.rate_bp)).or_default();
            let line_totals = InvoiceTotals::of([&line.tax]);
            let count = i64::from(line.quantity);
            (*quantity, *totals) = match document.kind() {
                DocumentKind::Invoice => (*quantity + count, *totals + line_totals),
                DocumentKind::CreditNote => (*quantity - count, *totals - line_totals),
            };
        }
    }
    rows.into_iter()
        .map(|((code, rate_bp), (quantity, totals))| HsnRow {
            code: code.to_owned(),
            rate_bp,
            quantity,
            totals,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::sample::*;
    use super::*;

    fn row(code: &str, rate_bp: u32, quantity: i64, heads: (i64, i64, i64, i64)) -> HsnRow {
        let (taxable, cgst, sgst, igst) = heads;
        HsnRow {
            code: code.into(),
            rate_bp,
            quantity,
            totals: totals(taxable, cgst, sgst, igst),
        }
    }

    #[test]
    fn codes_and_rates_are_summed_across_documents_less_credit_notes() {
        let first = invoice(
            1,
            "29",
            None,
            &[("6109", 2, 100_000, 500), ("996812", 1, 10_000, 500)],
        );
        let documents = [
            first.clone(),
            invoice(
                2,
                "27",
                None,
                &[("6109", 3, 300_000, 500), ("6109", 1, 200_000, 1800)],
            ),
            invoice(3, "27", Some(BUYER_GSTIN), &[("6109", 5, 900_000, 500)]),
            credit_note(1, "29", None, &[("6109", 1, 50_000, 500)], &first),
        ];
        let b2c = hsn_summary(&documents, Recipients::Unregistered);
        assert_eq!(
            b2c,
            [
                // Intra-state ₹1,000 − ₹500 credited, and inter-state ₹3,000, at 5%.
                row("6109", 500, 4, (350_000, 1_250, 1_250, 15_000)),
                row("6109", 1800, 1, (200_000, 0, 0, 36_000)),
                row("996812", 500, 1, (10_000, 250, 250, 0)),
            ]
        );
        assert_eq!(
            hsn_summary(&documents, Recipients::Registered),
            [row("6109", 500, 5, (900_000, 0, 0, 45_000))]
        );
    }

    #[test]
    fn services_are_reported_without_a_quantity() {
        let shipping = row("996812", 1800, 3, (0, 0, 0, 0));
        assert_eq!((shipping.uqc(), shipping.reported_quantity()), ("NA", 0));
        let goods = row("6109", 1800, 3, (0, 0, 0, 0));
        assert_eq!((goods.uqc(), goods.reported_quantity()), ("NOS-NUMBERS", 3));
    }
}
