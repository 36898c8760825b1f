//! Amounts in words, as Indian invoices write them: lakh and crore, not million.
//!
//! One format throughout: `Rupees <rupees> Only`, or `Rupees <rupees> and <paise> Paise
//! Only` when there are paise (`One Paisa` for one). Words are capitalised, tens
//! hyphenated (`Twenty-Three`), no "and" inside a number; `Rupees Zero` when there are
//! only paise. Above 99 crore the number of crores is itself written in lakh and
//! thousand (`One Thousand Crore`).

use crate::domain::money::Paise;

const ONES: [&str; 20] = [
    "Zero",
    "One",
    "Two",
    "Three",
    "Four",
    "Five",
    "Six",
    "Seven",
    "Eight",
    "Nine",
    "Ten",
    "Eleven",
    "Twelve",
    "Thirteen",
    "Fourteen",
    "Fifteen",
    "Sixteen",
    "Seventeen",
    "Eighteen",
    "Nineteen",
];

const TENS: [&str; 10] = [
    "", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
];

/// `1_23_45_678_50` paise → `Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six
/// Hundred Seventy-Eight and Fifty Paise Only`.
pub fn rupees_in_words(amount: Paise) -> String {
    let paise = amount.get();
    let sign = if paise < 0 { "Minus " } else { "" };
    let (rupees, paise) = (paise.unsigned_abs() / 100, paise.unsigned_abs() % 100);
    let rupees = number_in_words(rupees);
    match paise {
        0 => format!("Rupees {sign}{rupees} Only"),
        1 => format!("Rupees {sign}{rupees} and One Paisa Only"),
        _ => format!(
            "Rupees {sign}{rupees} and {} Paise Only",
            number_in_words(paise)
        ),
    }
}

/// A whole number in the Indian system: crore (10^7), lakh (10^5), thousand, hundred.
fn number_in_words(n: u64) -> String {
    if n == 0 {
        return ONES[0].to_owned();
    }
    let mut words = Vec::new();
    let crores = n / 10_000_000;
    if crores > 0 {
        words.push(number_in_words(crores));
        words.push("Crore".to_owned());
    }
    let rest = n % 10_000_000;
    for (count, name) in [
        (rest / 100_000, "Lakh"),
        (rest / 1_000 % 100, "Thousand"),
        (rest / 100 % 10, "Hundred"),
    ] {
        if count > 0 {
            words.push(below_hundred(count));
            words.push(name.to_owned());
        }
    }
    let tens_and_ones = rest % 100;
    if tens_and_ones > 0 {
        words.push(below_hundred(tens_and_ones));
    }
    words.join(" ")
}

/// 1 to 99.
fn below_hundred(n: u64) -> String {
    let n = n as usize;
    match (n / 10, n % 10) {
        (0 | 1, _) => ONES[n].to_owned(),
        (tens, 0) => TENS[tens].to_owned(),
        (tens, ones) => format!("{}-{}", TENS[tens], ONES[ones]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(paise: i64) -> String {
        rupees_in_words(Paise::trusted(paise))
    }

    #[test]
    fn zero_and_the_smallest_amounts() {
        assert_eq!(words(0), "Rupees Zero Only");
        assert_eq!(words(1), "Rupees Zero and One Paisa Only");
        assert_eq!(words(2), "Rupees Zero and Two Paise Only");
        assert_eq!(words(100), "Rupees One Only");
        assert_eq!(words(101), "Rupees One and One Paisa Only");
    }

    #[test]
    fn tens_are_hyphenated_and_teens_are_not() {
        assert_eq!(words(2_100), "Rupees Twenty-One Only");
        assert_eq!(words(9_900), "Rupees Ninety-Nine Only");
        assert_eq!(words(4_000), "Rupees Forty Only");
        assert_eq!(words(1_100), "Rupees Eleven Only");
        assert_eq!(words(1_999), "Rupees Nineteen and Ninety-Nine Paise Only");
        assert_eq!(
            words(10_520),
            "Rupees One Hundred Five and Twenty Paise Only"
        );
    }

    #[test]
    fn thousands_lakhs_and_crores() {
        assert_eq!(words(100_000), "Rupees One Thousand Only");
        assert_eq!(words(10_000_000), "Rupees One Lakh Only");
        assert_eq!(words(1_000_000_000), "Rupees One Crore Only");
        // ₹1,23,45,678.50
        assert_eq!(
            words(1_234_567_850),
            "Rupees One Crore Twenty-Three Lakh Forty-Five Thousand Six Hundred \
             Seventy-Eight and Fifty Paise Only"
        );
        assert_eq!(words(1_000_010_000), "Rupees One Crore One Hundred Only");
        assert_eq!(words(2_000_500_000), "Rupees Two Crore Five Thousand Only");
    }

    #[test]
    fn the_largest_amounts() {
        // ₹99,99,99,999.99 (Indian grouping: crore, lakh, thousand).
        assert_eq!(
            words(99_999_999_999),
            "Rupees Ninety-Nine Crore Ninety-Nine Lakh Ninety-Nine Thousand Nine Hundred \
             Ninety-Nine and Ninety-Nine Paise Only"
        );
        // Paise::MAX is ₹100 crore; words go well beyond it.
        assert_eq!(words(Paise::MAX), "Rupees One Hundred Crore Only");
        assert_eq!(words(1_000_000_000_000), "Rupees One Thousand Crore Only");
        assert_eq!(
            words(1_234_567 * 1_000_000_000),
            "Rupees Twelve Lakh Thirty-Four Thousand Five Hundred Sixty-Seven Crore Only"
        );
        assert!(words(i64::MAX).ends_with("and Seven Paise Only"));
    }
}
