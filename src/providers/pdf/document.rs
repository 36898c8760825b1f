//! The view model the renderer draws: every field is already a display string (amounts with
//! their ₹ sign, rates with their %), so the PDF never does tax arithmetic and can never
//! disagree with the invoice it shows.

/// A tax invoice or a credit note, as the customer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceDocument {
    /// "Tax Invoice" or "Credit Note".
    pub title: String,
    pub number: String,
    pub date: String,
    /// What the document refers to, e.g. the invoice a credit note corrects.
    pub reference: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    /// The state and its GST code, e.g. "Karnataka (29)".
    pub place_of_supply: String,
    pub reverse_charge: bool,
    pub lines: Vec<DocumentLine>,
    /// (label, amount), in order; the last is the grand total and is set in bold.
    pub totals: Vec<(String, String)>,
    pub amount_in_words: String,
    /// Small print at the end, e.g. that no signature is needed.
    pub notes: Vec<String>,
}

/// The seller or the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: String,
    pub address_lines: Vec<String>,
    /// None for an unregistered buyer.
    pub gstin: Option<String>,
    pub state: String,
}

/// One row of the lines table. A tax column left empty on every line (CGST and SGST on an
/// inter-state supply, IGST on an intra-state one) is left out of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub description: String,
    /// The HSN or SAC code.
    pub hsn: String,
    pub quantity: String,
    pub unit_price: String,
    pub taxable_value: String,
    /// The GST rate, e.g. "18%".
    pub rate: String,
    pub cgst: String,
    pub sgst: String,
    pub igst: String,
    pub total: String,
}
