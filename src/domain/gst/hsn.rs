//! The code an invoice line is classified by: HSN for goods, SAC for services.
//!
//! Both come from the same numbering: goods chapters are 01–98 (HSN), and GST put services
//! in chapter 99 (SAC). So a code starting `99` is a service and anything else is goods.

use crate::domain::validation::FieldError;

/// A goods code: 4, 6 or 8 digits (heading, subheading, tariff item), chapter 01–98.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HsnCode(String);

/// A services code: 6 digits starting `99`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SacCode(String);

/// What a product or service is classified as for GST.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaxCode {
    Goods(HsnCode),
    Service(SacCode),
}

/// How many digits of the code invoices must show: 4 up to ₹5 crore of aggregate
/// turnover, 6 above (notification 78/2020). A seller's setting, since only they know
/// their turnover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceDigits {
    Four,
    Six,
}

impl InvoiceDigits {
    pub fn parse(field: &str, digits: u8) -> Result<Self, FieldError> {
        match digits {
            4 => Ok(Self::Four),
            6 => Ok(Self::Six),
            _ => Err(FieldError::new(
                field,
                "invalid_hsn_digits",
                "must be 4 or 6",
            )),
        }
    }

    pub fn get(self) -> usize {
        match self {
            Self::Four => 4,
            Self::Six => 6,
        }
    }
}

impl TaxCode {
    /// Rebuilds a code read back from storage, which was parsed on its way in.
    pub(crate) fn trusted(digits: String) -> Self {
        if digits.starts_with("99") {
            Self::Service(SacCode(digits))
        } else {
            Self::Goods(HsnCode(digits))
        }
    }

    /// Digits only: `851713`, not `8517.13` (the API's contract states the same pattern,
    /// and a code is compared and cut by its digits).
    ///
    /// Codes: `invalid_hsn` (not 4, 6 or 8 digits, or chapter 00), `invalid_sac` (a
    /// chapter-99 code that is not 6 digits).
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let digits = raw.to_owned();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "invalid_hsn",
                "must be an HSN code of 4, 6 or 8 digits, or a 6-digit SAC starting 99",
            ));
        }
        if digits.starts_with("99") {
            return if digits.len() == 6 {
                Ok(Self::Service(SacCode(digits)))
            } else {
                Err(FieldError::new(
                    field,
                    "invalid_sac",
                    "a services code (SAC, starting 99) has 6 digits",
                ))
            };
        }
        if matches!(digits.len(), 4 | 6 | 8) && !digits.starts_with("00") {
            Ok(Self::Goods(HsnCode(digits)))
        } else {
            Err(FieldError::new(
                field,
                "invalid_hsn",
                "an HSN code has 4, 6 or 8 digits, its chapter (the first two) 01 to 98",
            ))
        }
    }

    /// Every digit, as stored.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Goods(HsnCode(code)) | Self::Service(SacCode(code)) => code,
        }
    }

    /// The digits an invoice shows: the first 4 or 6. `None` when the code is shorter
    /// than the seller must show (a 4-digit HSN where 6 are required): the product's
    /// code has to be made more precise before it can be invoiced.
    pub fn on_invoice(&self, digits: InvoiceDigits) -> Option<&str> {
        self.as_str().get(..digits.get())
    }

    pub fn is_service(&self) -> bool {
        matches!(self, Self::Service(_))
    }
}

impl std::fmt::Display for TaxCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Result<TaxCode, &'static str> {
        TaxCode::parse("hsn", raw).map_err(|e| e.code)
    }

    #[test]
    fn goods_codes_have_4_6_or_8_digits() {
        for ok in ["6109", "610910", "61091000", "851713"] {
            assert!(
                matches!(parse(ok), Ok(TaxCode::Goods(_))),
                "{ok}: {:?}",
                parse(ok)
            );
        }
        assert_eq!(parse("851713").unwrap().as_str(), "851713");
        for bad in [
            "",
            "8517.13",
            "8517 13",
            "610",
            "61091",
            "6109100",
            "610910001",
            "0012",
            "61A9",
            "-6109",
        ] {
            assert_eq!(parse(bad), Err("invalid_hsn"), "{bad}");
        }
    }

    #[test]
    fn services_start_99_and_have_6_digits() {
        let courier = parse("996812").unwrap();
        assert!(courier.is_service());
        assert_eq!(courier.to_string(), "996812");
        for bad in ["9968", "99681", "99681200"] {
            assert_eq!(parse(bad), Err("invalid_sac"), "{bad}");
        }
    }

    #[test]
    fn invoices_show_the_first_4_or_6_digits() {
        let tshirt = parse("61091000").unwrap();
        assert_eq!(tshirt.on_invoice(InvoiceDigits::Four), Some("6109"));
        assert_eq!(tshirt.on_invoice(InvoiceDigits::Six), Some("610910"));
        let heading = parse("6109").unwrap();
        assert_eq!(heading.on_invoice(InvoiceDigits::Four), Some("6109"));
        assert_eq!(heading.on_invoice(InvoiceDigits::Six), None);
        let courier = parse("996812").unwrap();
        assert_eq!(courier.on_invoice(InvoiceDigits::Four), Some("9968"));
    }

    #[test]
    fn the_digits_setting_is_4_or_6() {
        assert_eq!(InvoiceDigits::parse("d", 4), Ok(InvoiceDigits::Four));
        assert_eq!(InvoiceDigits::parse("d", 6), Ok(InvoiceDigits::Six));
        assert!(InvoiceDigits::parse("d", 8).is_err());
    }
}
