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

/// Rupees as Indian documents print them: `₹` and the Indian grouping, the last three
/// digits then pairs (lakh, crore), always with paise: 12_345_678 paise → `₹1,23,456.78`.
pub fn format_inr(paise: i64) -> String {
    let sign = if paise < 0 { "-" } else { "" };
    let (rupees, paise) = (paise.unsigned_abs() / 100, paise.unsigned_abs() % 100);
    let digits = rupees.to_string();
    let (head, last_three) = digits.split_at(digits.len().saturating_sub(3));
    let mut groups: Vec<&str> = Vec::new();
    let mut rest = head;
    while !rest.is_empty() {
        let (more, pair) = rest.split_at(rest.len().saturating_sub(2));
        groups.push(pair);
        rest = more;
    }
    groups.reverse();
    groups.push(last_three);
    format!("{sign}₹{}.{paise:02}", groups.join(","))
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

    #[test]
    fn rupees_are_grouped_the_indian_way() {
        assert_eq!(format_inr(12_345_678), "₹1,23,456.78");
        assert_eq!(format_inr(1_234_567_805), "₹1,23,45,678.05");
        assert_eq!(format_inr(6_713_280), "₹67,132.80");
        assert_eq!(format_inr(99_900), "₹999.00");
        assert_eq!(format_inr(100_000), "₹1,000.00");
        assert_eq!(format_inr(5), "₹0.05");
        assert_eq!(format_inr(0), "₹0.00");
        assert_eq!(format_inr(-150_000), "-₹1,500.00");
    }
}
