//! Tax invoices and credit notes as issued: a [`DocumentDraft`] holds everything but the
//! number; the store gives it the next serial of its series ([`TaxDocument`]), and from
//! then on nothing about it changes. A refund is corrected by a credit note, never by
//! editing the invoice. docs/invoices.md has the rules.

use chrono::{DateTime, Utc};

use super::gst::gstin::Gstin;
use super::gst::seller::Seller;
use super::gst::series::{FinancialYear, InvoiceNumber, InvoiceNumberError, InvoicePrefix};
use super::gst::tax::{InvoiceTotals, LineTax, SupplyType};
use super::ids::{OrderId, UserId};
use super::money::Paise;
use super::order::{Address, Order};
use super::pincode::StateCode;
use super::time::truncate_to_millis;

/// Each kind has a series of its own, with its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocumentKind {
    Invoice,
    CreditNote,
}

impl DocumentKind {
    pub const ALL: [Self; 2] = [Self::Invoice, Self::CreditNote];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::CreditNote => "credit_note",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// The seller or the buyer, as the document names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address_lines: Vec<String>,
    /// Always the seller's; a buyer's only for a registered (B2B) buyer.
    pub gstin: Option<Gstin>,
    pub state: StateCode,
}

/// One line: goods, or the shipping charged for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: String,
    /// The HSN or SAC code as the document shows it (cut to the seller's digits).
    pub code: String,
    pub quantity: u32,
    /// What one unit was charged at, before the line's share of any discount.
    pub unit_price: Paise,
    /// Taxable value and tax per head, after the discount.
    pub tax: LineTax,
}

/// A document before its number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDraft {
    pub kind: DocumentKind,
    /// What it is issued for, once per kind: an invoice's order id, a credit note's refund.
    /// Issuing again for the same source answers the document already issued.
    pub source: String,
    pub order_id: OrderId,
    pub user_id: UserId,
    /// Truncated to the millisecond, which every store keeps.
    pub issued_at: DateTime<Utc>,
    pub seller: Party,
    pub buyer: Party,
    /// Where the goods are delivered: the state whose tax applies.
    pub place_of_supply: StateCode,
    pub supply: SupplyType,
    pub lines: Vec<DocumentLine>,
    /// The invoice a credit note corrects.
    pub corrects: Option<InvoiceNumber>,
}

impl DocumentDraft {
    /// The tax invoice of `order` as it was charged (its GST line by line), from `seller`,
    /// dated `now`; the buyer is named as the delivery address names them, else
    /// `customer`. `None` for an order that kept no GST line by line (placed before it was
    /// kept). Whether the order is due an invoice (`Order::is_paid`) is the caller's call.
    pub fn invoice_of(
        order: &Order,
        seller: &Seller,
        customer: &str,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let gst = order.gst.as_ref()?;
        let mut lines: Vec<DocumentLine> = order
            .items
            .iter()
            .zip(&gst.items)
            .map(|(item, tax)| DocumentLine {
                description: match &item.variant_label {
                    Some(label) => format!("{} — {label}", item.name),
                    None => item.name.clone(),
                },
                code: tax.code.clone(),
                quantity: item.quantity,
                unit_price: item.unit_price,
                tax: tax.tax,
            })
            .collect();
        if let Some(shipping) = gst.shipping {
            // Part of a composite supply of the goods: shown under the code of the goods
            // whose rate it takes (docs/invoices.md, "Shipping").
            let principal = gst.items.iter().max_by_key(|i| i.tax.rate_bp);
            lines.push(DocumentLine {
                description: "Shipping".into(),
                code: principal.map(|i| i.code.clone()).unwrap_or_default(),
                quantity: 1,
                unit_price: order.shipping,
                tax: shipping,
            });
        }
        let seller_party = Party {
            name: seller.legal_name.clone(),
            address_lines: seller.address_lines.clone(),
            gstin: Some(seller.gstin.clone()),
            state: seller.state(),
        };
        let buyer = buyer_of(order.address.as_ref(), customer, seller.state());
        Some(Self {
            kind: DocumentKind::Invoice,
            source: order.id.to_string(),
            order_id: order.id.clone(),
            user_id: order.user_id.clone(),
            issued_at: truncate_to_millis(now),
            seller: seller_party,
            place_of_supply: buyer.state,
            buyer,
            supply: gst.supply,
            lines,
            corrects: None,
        })
    }

    /// The financial year the document is dated in: its series.
    pub fn year(&self) -> FinancialYear {
        FinancialYear::containing(self.issued_at)
    }

    pub fn totals(&self) -> InvoiceTotals {
        InvoiceTotals::of(self.lines.iter().map(|line| &line.tax))
    }

    /// The draft numbered `serial` in its series.
    pub fn number(
        self,
        prefix: &InvoicePrefix,
        serial: u64,
    ) -> Result<TaxDocument, InvoiceNumberError> {
        let number = InvoiceNumber::format(prefix, self.year(), serial)?;
        Ok(TaxDocument {
            number,
            serial,
            draft: self,
        })
    }
}

/// The buyer as the delivery address names them; without an address (or its state's
/// GST code), the goods are taken as supplied in `fallback`, the seller's state, as the
/// order was priced.
fn buyer_of(address: Option<&Address>, customer: &str, fallback: StateCode) -> Party {
    let Some(a) = address else {
        return Party {
            name: customer.to_owned(),
            address_lines: Vec::new(),
            gstin: None,
            state: fallback,
        };
    };
    let mut lines = vec![a.line1.clone()];
    lines.extend(a.line2.clone());
    lines.extend(a.landmark.as_ref().map(|l| format!("Near {l}")));
    lines.push(format!("{}, {} {}", a.city, a.state, a.postal_code));
    Party {
        name: a.name.clone(),
        address_lines: lines,
        gstin: None,
        state: a
            .state_code
            .as_deref()
            .and_then(StateCode::parse)
            .unwrap_or(fallback),
    }
}

/// An issued invoice or credit note: immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxDocument {
    /// `INV/26-27/000123`.
    pub number: InvoiceNumber,
    /// Its place in the series of its kind and year: 1, 2, 3, … with no gaps.
    pub serial: u64,
    pub draft: DocumentDraft,
}

impl TaxDocument {
    pub fn kind(&self) -> DocumentKind {
        self.draft.kind
    }

    pub fn year(&self) -> FinancialYear {
        self.draft.year()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn draft(at: DateTime<Utc>) -> DocumentDraft {
        let state = StateCode::parse("29").unwrap();
        let party = Party {
            name: "A".into(),
            address_lines: vec![],
            gstin: None,
            state,
        };
        DocumentDraft {
            kind: DocumentKind::Invoice,
            source: "o".into(),
            order_id: OrderId::generate(),
            user_id: UserId::generate(),
            issued_at: at,
            seller: party.clone(),
            buyer: party,
            place_of_supply: state,
            supply: SupplyType::Intra,
            lines: vec![],
            corrects: None,
        }
    }

    #[test]
    fn a_document_is_numbered_in_the_financial_year_of_its_date_in_india() {
        let prefix = InvoicePrefix::parse("p", "INV").unwrap();
        // 31 March 2027, 18:30 UTC is midnight of 1 April in India: the next year.
        let last = Utc.with_ymd_and_hms(2027, 3, 31, 18, 29, 59).unwrap();
        let first = Utc.with_ymd_and_hms(2027, 3, 31, 18, 30, 0).unwrap();
        let a = draft(last).number(&prefix, 7).unwrap();
        let b = draft(first).number(&prefix, 1).unwrap();
        assert_eq!(a.number.as_str(), "INV/26-27/000007");
        assert_eq!(b.number.as_str(), "INV/27-28/000001");
        assert_eq!(a.year(), FinancialYear::starting(2026));
    }

    #[test]
    fn kinds_read_back_from_their_names_and_only_from_them() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DocumentKind::parse("Invoice"), None);
    }
}
