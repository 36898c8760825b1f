//! Who issues the invoices and on what terms: the seller's registration and the settings
//! every invoice is made with. Built once from configuration (`BAZAAR_GST_*`) and read by
//! pricing (rates, basis, the seller's state for the place of supply) and by invoicing.

use super::gstin::Gstin;
use super::hsn::{InvoiceDigits, TaxCode};
use super::rates::{RateTable, TaxClass};
use super::series::InvoicePrefix;
use super::tax::PriceBasis;
use crate::domain::pincode::StateCode;
use crate::domain::validation::FieldError;

/// The development profile's seller while none is configured: a made-up firm registered in
/// Karnataka (state 29), whose GSTIN has a valid check character but belongs to no one.
pub const SAMPLE_SELLER_NAME: &str = "Bazaar Demo Traders";
pub const SAMPLE_SELLER_GSTIN: &str = "29AABFB1234D1Z2";
pub const SAMPLE_SELLER_ADDRESS: [&str; 2] = ["12 MG Road", "Bengaluru, Karnataka 560001"];

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

    /// The address as printed: each line trimmed, blank ones dropped, at least one kept.
    /// Code: `invalid_address`.
    pub fn address_lines<'a>(
        field: &str,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<String>, FieldError> {
        let lines: Vec<String> = lines
            .into_iter()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        if lines.is_empty() || lines.iter().any(|l| l.chars().any(char::is_control)) {
            return Err(FieldError::new(
                field,
                "invalid_address",
                "must be one or more lines without control characters",
            ));
        }
        Ok(lines)
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

impl TaxSettings {
    /// The development profile's settings while no seller is configured: the sample seller,
    /// tax-exclusive prices, the built-in rate table, class `standard_18`, HSN `6109`, 4
    /// digits, prefixes `INV` and `CN`. Also what use-case tests run with.
    pub fn sample() -> Self {
        let valid = "the sample GST settings are valid";
        Self {
            seller: Seller {
                legal_name: SAMPLE_SELLER_NAME.to_owned(),
                gstin: Gstin::parse("gstin", SAMPLE_SELLER_GSTIN).expect(valid),
                address_lines: SAMPLE_SELLER_ADDRESS.map(str::to_owned).to_vec(),
            },
            basis: PriceBasis::Exclusive,
            rates: RateTable::built_in().clone(),
            default_class: TaxClass::parse("class", "standard_18").expect(valid),
            default_code: TaxCode::parse("hsn", "6109").expect(valid),
            digits: InvoiceDigits::Four,
            invoice_prefix: InvoicePrefix::parse("prefix", "INV").expect(valid),
            credit_note_prefix: InvoicePrefix::parse("prefix", "CN").expect(valid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gst::gstin::check_char;

    #[test]
    fn the_sample_is_valid_and_registered_in_karnataka() {
        assert_eq!(
            check_char(&SAMPLE_SELLER_GSTIN[..14]),
            SAMPLE_SELLER_GSTIN.chars().last()
        );
        let sample = TaxSettings::sample();
        assert_eq!(sample.seller.state().state_name(), "Karnataka");
        assert!(sample.rates.schedule(&sample.default_class).is_some());
    }

    #[test]
    fn address_lines_are_trimmed_and_one_is_required() {
        let lines = Seller::address_lines("a", [" Unit 4 ", "", "Mumbai"]).unwrap();
        assert_eq!(lines, ["Unit 4", "Mumbai"]);
        let none = Seller::address_lines("a", [" "]).unwrap_err();
        assert_eq!((none.field.as_str(), none.code), ("a", "invalid_address"));
    }
}
