//! An issued document as the PDF renderer's view model: every amount, rate and date written
//! out here, once, so the PDF shows exactly what was issued and does no arithmetic.
//!
//! The use cases layer holds this mapping because it knows both sides: the domain's
//! [`TaxDocument`] and the provider's [`InvoiceDocument`] (providers may not name the app,
//! and the domain names neither).

use crate::domain::gst::rates::percent;
use crate::domain::gst::series::ist;
use crate::domain::gst::tax::SupplyType;
use crate::domain::gst::words::rupees_in_words;
use crate::domain::invoice::{DocumentKind, DocumentLine, Party, TaxDocument};
use crate::domain::money::{format_inr, Paise};
use crate::domain::pincode::StateCode;
use crate::providers::pdf::{self, InvoiceDocument};

/// Rule 46 asks every invoice to say whether tax is payable on reverse charge; Bazaar's
/// sales to consumers and businesses never are.
const NO_REVERSE_CHARGE: &str = "Tax is not payable on reverse charge.";

/// What the renderer draws for `document`.
pub fn invoice_view(document: &TaxDocument) -> InvoiceDocument {
    let draft = &document.draft;
    let totals = draft.totals();
    let (title, reference, signature) = match draft.kind {
        DocumentKind::Invoice => (
            "Tax Invoice",
            Some(format!("Order {}", draft.order_id)),
            "invoice",
        ),
        DocumentKind::CreditNote => (
            "Credit Note",
            draft
                .corrects
                .as_ref()
                .map(|number| format!("Against invoice {number}")),
            "credit note",
        ),
    };
    let heads: &[(&str, i64)] = match draft.supply {
        SupplyType::Intra => &[("CGST", totals.cgst), ("SGST", totals.sgst)],
        SupplyType::Inter => &[("IGST", totals.igst)],
    };
    let mut rows = vec![("Taxable value".to_owned(), format_inr(totals.taxable))];
    rows.extend(
        heads
            .iter()
            .map(|(head, paise)| ((*head).to_owned(), format_inr(*paise))),
    );
    rows.push(("Total".to_owned(), format_inr(totals.grand_total())));
    InvoiceDocument {
        title: title.to_owned(),
        number: document.number.to_string(),
        date: draft
            .issued_at
            .with_timezone(&ist())
            .format("%-d %b %Y")
            .to_string(),
        reference,
        seller: party(&draft.seller),
        buyer: party(&draft.buyer),
        place_of_supply: state(draft.place_of_supply),
        reverse_charge: false,
        lines: draft.lines.iter().map(|l| line(l, draft.supply)).collect(),
        totals: rows,
        amount_in_words: rupees_in_words(Paise::trusted(totals.grand_total())),
        notes: vec![
            NO_REVERSE_CHARGE.to_owned(),
            // Rule 46 lets an electronic document carry this statement instead of a signature.
            format!("This is a computer-generated {signature} and needs no signature."),
        ],
    }
}

/// `Karnataka (29)`.
fn state(code: StateCode) -> String {
    format!("{} ({code})", code.state_name())
}

fn party(party: &Party) -> pdf::Party {
    pdf::Party {
        name: party.name.clone(),
        address_lines: party.address_lines.clone(),
        gstin: party.gstin.as_ref().map(ToString::to_string),
        state: state(party.state),
    }
}

/// The heads that do not apply stay empty, so the renderer leaves their columns out.
fn line(line: &DocumentLine, supply: SupplyType) -> pdf::DocumentLine {
    let tax = &line.tax;
    let (cgst, sgst, igst) = match supply {
        SupplyType::Intra => (format_inr(tax.cgst), format_inr(tax.sgst), String::new()),
        SupplyType::Inter => (String::new(), String::new(), format_inr(tax.igst)),
    };
    pdf::DocumentLine {
        description: line.description.clone(),
        hsn: line.code.clone(),
        quantity: line.quantity.to_string(),
        unit_price: format_inr(line.unit_price.get()),
        taxable_value: format_inr(tax.taxable),
        rate: format!("{}%", percent(tax.rate_bp)),
        cgst,
        sgst,
        igst,
        total: format_inr(tax.total()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invoice_report::sample::{credit_note, invoice, BUYER_GSTIN};

    #[test]
    fn an_intra_state_invoice_shows_cgst_and_sgst_in_indian_rupees() {
        // ₹1,00,000 at 18% and ₹499 at 5% delivered in Karnataka, the seller's state.
        let lines = [("8517", 2, 10_000_000, 1800), ("6109", 1, 49_900, 500)];
        let view = invoice_view(&invoice(1, "29", Some(BUYER_GSTIN), &lines));

        assert_eq!(view.title, "Tax Invoice");
        assert_eq!(view.number, "INV/26-27/000001");
        assert_eq!(view.date, "1 Dec 2026");
        assert!(view.reference.unwrap().starts_with("Order "));
        assert_eq!(view.place_of_supply, "Karnataka (29)");
        assert_eq!(view.seller.state, "Karnataka (29)");
        assert_eq!(view.buyer.gstin.as_deref(), Some(BUYER_GSTIN));
        assert!(!view.reverse_charge);
        let phone = &view.lines[0];
        assert_eq!(
            [
                &phone.quantity,
                &phone.unit_price,
                &phone.taxable_value,
                &phone.rate
            ],
            ["2", "₹50,000.00", "₹1,00,000.00", "18%"]
        );
        assert_eq!(
            [&phone.cgst, &phone.sgst, &phone.igst],
            ["₹9,000.00", "₹9,000.00", ""]
        );
        assert_eq!(phone.total, "₹1,18,000.00");
        // 2.5% of ₹499 is ₹12.475 → ₹12.48 each way.
        assert_eq!(view.lines[1].cgst, "₹12.48");
        let totals: Vec<(&str, &str)> = view
            .totals
            .iter()
            .map(|(label, amount)| (label.as_str(), amount.as_str()))
            .collect();
        assert_eq!(
            totals,
            [
                ("Taxable value", "₹1,00,499.00"),
                ("CGST", "₹9,012.48"),
                ("SGST", "₹9,012.48"),
                ("Total", "₹1,18,523.96"),
            ]
        );
        assert_eq!(
            view.amount_in_words,
            "Rupees One Lakh Eighteen Thousand Five Hundred Twenty-Three and Ninety-Six Paise Only"
        );
        assert_eq!(
            view.notes,
            [
                "Tax is not payable on reverse charge.",
                "This is a computer-generated invoice and needs no signature.",
            ]
        );
    }

    #[test]
    fn a_credit_note_names_its_invoice_and_an_inter_state_one_shows_igst() {
        let sold = invoice(1, "07", None, &[("6109", 1, 100_000, 500)]);
        let view = invoice_view(&credit_note(
            3,
            "07",
            None,
            &[("6109", 1, 25_000, 25)],
            &sold,
        ));

        assert_eq!(view.title, "Credit Note");
        assert_eq!(view.number, "CN/26-27/000003");
        assert_eq!(
            view.reference.as_deref(),
            Some("Against invoice INV/26-27/000001")
        );
        assert_eq!(view.place_of_supply, "Delhi (07)");
        assert_eq!(view.buyer.gstin, None);
        let line = &view.lines[0];
        assert_eq!([&line.rate, &line.cgst, &line.igst], ["0.25%", "", "₹0.63"]);
        let labels: Vec<&str> = view
            .totals
            .iter()
            .map(|(label, _)| label.as_str())
            .collect();
        assert_eq!(labels, ["Taxable value", "IGST", "Total"]);
        assert!(view.notes[1].contains("computer-generated credit note"));
    }
}
