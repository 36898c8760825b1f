//! Money and GST: integer paise, tax rounded half up to the paisa.

use bazaar::domain::money::Paise;
use bazaar::domain::order::tax_on;
use proptest::prelude::*;

/// Subtotals an order can reach: up to 100 lines of `Paise::MAX`.
fn subtotal() -> impl Strategy<Value = i64> {
    0..=Paise::MAX * 100
}

/// Any amount, with the edges of the accepted range as likely as the rest.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -2i64..=2,
        Paise::MAX - 2..=Paise::MAX + 2,
        Just(i64::MIN),
        Just(i64::MAX),
    ]
}

/// Any rate from 0% to 100% in basis points, and the slabs GST uses.
fn rate() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..=10_000,
        Just(0),
        Just(500),
        Just(1200),
        Just(1800),
        Just(2800),
        Just(4000)
    ]
}

proptest! {
    #![proptest_config(super::config(2_000))]

    /// The tax is the exact tax rounded half up: at most half a paisa away,
    /// and exactly half a paisa rounds up.
    #[test]
    fn tax_is_the_exact_tax_rounded_half_up(subtotal in subtotal(), rate in rate()) {
        let tax = i128::from(tax_on(subtotal, rate));
        // exact = subtotal * rate / 10_000; compare in units of 1/10_000 paisa.
        let exact = i128::from(subtotal) * i128::from(rate);
        let error = tax * 10_000 - exact;
        prop_assert!((-4_999..=5_000).contains(&error), "tax {tax} for exact {exact}/10000");
    }

    #[test]
    fn tax_never_decreases_as_the_subtotal_grows(a in subtotal(), b in subtotal(), rate in rate()) {
        let (low, high) = (a.min(b), a.max(b));
        prop_assert!(tax_on(low, rate) <= tax_on(high, rate));
    }

    #[test]
    fn tax_is_never_negative_nor_more_than_the_rate_allows(subtotal in subtotal(), rate in rate()) {
        let tax = tax_on(subtotal, rate);
        prop_assert!(tax >= 0);
        // At most the subtotal at 100%, and zero at 0%.
        prop_assert!(tax <= subtotal);
        if rate == 0 {
            prop_assert_eq!(tax, 0);
        }
    }

    /// Taxing two lines apart or together differs by at most one paisa each
    /// way: the rule rounds once, on the order's subtotal.
    #[test]
    fn splitting_a_subtotal_moves_the_tax_by_at_most_a_paisa(
        a in 0..=Paise::MAX * 50, b in 0..=Paise::MAX * 50, rate in rate()
    ) {
        let apart = tax_on(a, rate) + tax_on(b, rate);
        prop_assert!((apart - tax_on(a + b, rate)).abs() <= 1);
    }

    #[test]
    fn a_price_is_accepted_exactly_when_it_is_positive_and_at_most_the_maximum(amount in amount()) {
        let parsed = Paise::parse_price("price", amount);
        prop_assert_eq!(parsed.is_ok(), amount > 0 && amount <= Paise::MAX);
        if let Ok(p) = parsed {
            prop_assert_eq!(p.get(), amount);
        } else {
            prop_assert_eq!(parsed.unwrap_err().field, "price");
        }
    }

    #[test]
    fn a_price_bound_is_clamped_to_the_maximum_and_never_negative(amount in amount()) {
        match Paise::parse_bound("price_min", amount) {
            Ok(p) => {
                prop_assert!(amount >= 0);
                prop_assert_eq!(p.get(), amount.min(Paise::MAX));
            }
            Err(e) => {
                prop_assert!(amount < 0);
                prop_assert_eq!(e.code, "negative");
            }
        }
    }
}
