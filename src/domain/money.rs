//! Money: integer paise, never floating point.

use super::validation::FieldError;

/// A positive amount in paise (1/100 of a rupee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Paise(i64);

impl Paise {
    /// ₹100 crore (10^11 paise). Far above any MVP price and far below the point
    /// where sums of many line items could overflow an i64.
    pub const MAX: i64 = 100_000_000_000;

    pub fn parse_price(field: &str, amount: i64) -> Result<Self, FieldError> {
        if amount <= 0 {
            Err(FieldError::new(
                field,
                "must_be_positive",
                "must be a positive whole number of paise",
            ))
        } else if amount > Self::MAX {
            Err(FieldError::new(
                field,
                "too_large",
                format!("must be at most {} paise", Self::MAX),
            ))
        } else {
            Ok(Self(amount))
        }
    }

    /// A bound in a price filter: zero is allowed there.
    pub fn parse_bound(field: &str, amount: i64) -> Result<Self, FieldError> {
        if amount < 0 {
            Err(FieldError::new(field, "negative", "must not be negative"))
        } else {
            Ok(Self(amount.min(Self::MAX)))
        }
    }

    pub(crate) fn trusted(amount: i64) -> Self {
        Self(amount)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The currencies Bazaar accepts. India first: only rupees for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Inr,
}

impl Currency {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw {
            "INR" => Ok(Self::Inr),
            _ => Err(FieldError::new(
                field,
                "unsupported_currency",
                "only INR is supported",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inr => "INR",
        }
    }
}

/// GST on `subtotal` at `rate_bp` basis points, rounded half up to the paisa.
pub fn tax_on(subtotal: i64, rate_bp: u32) -> i64 {
    // Integer arithmetic: i128 cannot overflow for any allowed subtotal.
    let scaled = i128::from(subtotal) * i128::from(rate_bp);
    ((scaled + 5_000) / 10_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rounds_half_up_to_the_paisa() {
        assert_eq!(tax_on(10_000, 1800), 1_800);
        // 18% of 1,003 paise is 180.54 → 181; of 1,002 is 180.36 → 180.
        assert_eq!(tax_on(1_003, 1800), 181);
        assert_eq!(tax_on(1_002, 1800), 180);
        // Exactly half a paisa rounds up: 5% of 10 paise is 0.5.
        assert_eq!(tax_on(10, 500), 1);
        assert_eq!(tax_on(0, 1800), 0);
    }
}
