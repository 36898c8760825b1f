//! Who issues the invoices and on what terms: the seller's registration and the settings
//! every invoice is made with. Built once from configuration (`BAZAAR_GST_*`) and read by
//! pricing (rates, basis, the seller's state for the place of supply) and by invoicing.

use super::gstin::Gstin;
use super::hsn::{InvoiceDigits, TaxCode};
use super::rates::{RateTable, TaxClass};
use super::series::InvoicePrefix;
use super::tax::PriceBasis;
use crate::domain::pincode::StateCode;

/// The registered seller, as invoices name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seller {
    /// The legal name on the registration.
    pub legal_name: String,
    pub gstin: Gstin,
    /// The principal place of business, one line each, as printed.
    pub address_lines: Vec<String>,
}

impl Seller {
    /// The state the seller is registered in: the GSTIN's first two digits, so the two
    /// cannot disagree.
    pub fn state(&self) -> StateCode {
        self.gstin.state_code()
    }
}

/// The seller and the tax rules their invoices follow.
#[derive(Debug, Clone)]
pub struct TaxSettings {
    pub seller: Seller,
    /// Whether catalog prices include GST.
    pub basis: PriceBasis,
    /// Rates per tax class over time.
    pub rates: RateTable,
    /// The class of a product that names none.
    pub default_class: TaxClass,
    /// The HSN or SAC code of a product that names none.
    pub default_code: TaxCode,
    /// How many digits of a code invoices show.
    pub digits: InvoiceDigits,
    /// Invoice numbers are `<prefix>/<yy-yy>/<serial>`.
    pub invoice_prefix: InvoicePrefix,
    /// Credit notes have a series of their own.
    pub credit_note_prefix: InvoicePrefix,
}
