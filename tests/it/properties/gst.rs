//! GST: GSTIN check characters, the tax on invoice lines adding up to the paisa, and a
//! whole charge (goods, a discount spread over them, shipping) adding up likewise.

use bazaar::domain::gst::charge::{apportion, ChargeTax, Goods};
use bazaar::domain::gst::gstin::{check_char, Gstin};
use bazaar::domain::gst::tax::{InvoiceTotals, LineTax, PriceBasis, SupplyType};
use bazaar::domain::money::Paise;
use bazaar::domain::pincode::StateCode;
use proptest::prelude::*;
use proptest::sample::select;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The state codes in GST's table.
fn state_code() -> impl Strategy<Value = String> {
    let known: Vec<String> = (0..100)
        .map(|n| format!("{n:02}"))
        .filter(|code| StateCode::parse(code).is_some())
        .collect();
    select(known)
}

/// A well-formed first 14 characters: state, PAN, entity number, any letter or digit.
fn first_14() -> impl Strategy<Value = String> {
    (
        state_code(),
        "[A-Z]{5}[0-9]{4}[A-Z]",
        "[1-9A-Z]",
        "[0-9A-Z]",
    )
        .prop_map(|(state, pan, entity, fourteenth)| format!("{state}{pan}{entity}{fourteenth}"))
}

fn valid_gstin() -> impl Strategy<Value = String> {
    first_14().prop_map(|first| {
        let check = check_char(&first).expect("well-formed");
        format!("{first}{check}")
    })
}

/// Amounts a line can reach: up to 100 units at `Paise::MAX`, small ones as likely.
fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..=1_000, 0..=Paise::MAX * 100]
}

/// GST's rates in basis points: nil, 0.25%, 3%, 5%, 12%, 18%, 28%, 40%.
fn rate() -> impl Strategy<Value = u32> {
    select(vec![0u32, 25, 300, 500, 1200, 1800, 2800, 4000])
}

fn basis() -> impl Strategy<Value = PriceBasis> {
    select(vec![PriceBasis::Exclusive, PriceBasis::Inclusive])
}

fn supply() -> impl Strategy<Value = SupplyType> {
    select(vec![SupplyType::Intra, SupplyType::Inter])
}

proptest! {
    #![proptest_config(super::config(1_000))]

    #[test]
    fn a_prefix_with_its_computed_check_character_parses(gstin in valid_gstin()) {
        let parsed = Gstin::parse("gstin", &gstin);
        prop_assert!(parsed.is_ok(), "{gstin}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.as_str(), gstin.as_str());
        prop_assert_eq!(parsed.pan(), &gstin[2..12]);
        prop_assert_eq!(parsed.state_code().to_string(), &gstin[..2]);
    }

    #[test]
    fn changing_any_one_character_of_a_gstin_is_refused(
        gstin in valid_gstin(), at in 0usize..15, by in 1usize..36,
    ) {
        let mut bytes = gstin.clone().into_bytes();
        let was = ALPHABET.iter().position(|&b| b == bytes[at]).unwrap();
        bytes[at] = ALPHABET[(was + by) % 36];
        let changed = String::from_utf8(bytes).unwrap();
        prop_assert!(Gstin::parse("gstin", &changed).is_err(), "{gstin} → {changed} accepted");
    }

    /// Taxable value + taxes = grand total, CGST = SGST on every line and in total, and
    /// with tax-inclusive prices the grand total is what the customer was charged.
    #[test]
    fn invoice_lines_add_up_to_the_paisa(
        lines in prop::collection::vec((amount(), rate()), 1..20),
        basis in basis(),
        supply in supply(),
    ) {
        let taxed: Vec<LineTax> = lines
            .iter()
            .map(|&(amount, rate)| LineTax::compute(amount, rate, basis, supply))
            .collect();
        for (line, &(amount, rate)) in taxed.iter().zip(&lines) {
            prop_assert_eq!(line.cgst, line.sgst, "{:?}", line);
            prop_assert!(line.taxable >= 0 && line.tax() >= 0, "{:?}", line);
            match supply {
                SupplyType::Intra => prop_assert_eq!(line.igst, 0),
                SupplyType::Inter => prop_assert_eq!(line.cgst, 0),
            }
            match basis {
                PriceBasis::Inclusive => prop_assert_eq!(line.total(), amount),
                PriceBasis::Exclusive => prop_assert_eq!(line.taxable, amount),
            }
            // Near the exact tax on the taxable value: two roundings of at most half a
            // paisa, which a tax-inclusive price scales by (1 + rate). In 1/10,000 paisa.
            let exact = i128::from(line.taxable) * i128::from(rate);
            let error = i128::from(line.tax()) * 10_000 - exact;
            prop_assert!(error.abs() <= 10_000 + i128::from(rate), "{:?}: off by {}", line, error);
        }
        let totals = InvoiceTotals::of(&taxed);
        let charged: i64 = lines.iter().map(|&(amount, _)| amount).sum();
        prop_assert_eq!(totals.taxable + totals.cgst + totals.sgst + totals.igst, totals.grand_total());
        prop_assert_eq!(totals.grand_total(), taxed.iter().map(LineTax::total).sum::<i64>());
        prop_assert_eq!(totals.cgst, totals.sgst);
        if basis == PriceBasis::Inclusive {
            prop_assert_eq!(totals.grand_total(), charged);
        }
    }

    /// A discount's shares add up to it (clamped to the goods' worth), none below zero or
    /// above its line, and nearly proportional: within a paisa of the exact share.
    #[test]
    fn a_discount_is_spread_exactly_and_in_proportion(
        amounts in prop::collection::vec(0i64..=10_000_000, 0..12),
        discount in prop_oneof![0i64..=1_000, 0i64..=200_000_000],
    ) {
        let shares = apportion(discount, &amounts);
        let worth: i64 = amounts.iter().sum();
        prop_assert_eq!(shares.iter().sum::<i64>(), discount.min(worth));
        for (share, &amount) in shares.iter().zip(&amounts) {
            prop_assert!(*share >= 0 && *share <= amount, "{} of {}", share, amount);
            if worth > 0 {
                let exact = i128::from(amount) * i128::from(discount.min(worth));
                let error = i128::from(*share) * i128::from(worth) - exact;
                prop_assert!(error.abs() < i128::from(worth), "{} of {}: off by {}", share, amount, error);
            }
        }
    }

    /// For any cart: taxable value + taxes = grand total to the paisa, CGST = SGST, and the
    /// grand total is what the customer pays (inclusive prices) or the taxable value is
    /// goods − discount + shipping (exclusive prices).
    #[test]
    fn a_whole_charge_adds_up_to_the_paisa(
        goods in prop::collection::vec((0i64..=Paise::MAX * 10, rate()), 1..12),
        discount in 0i64..=1_000_000,
        shipping in prop_oneof![Just(0i64), 0i64..=50_000],
        basis in basis(),
        supply in supply(),
    ) {
        let lines: Vec<Goods> = goods.iter().map(|&(amount, rate_bp)| Goods { amount, rate_bp }).collect();
        let worth: i64 = lines.iter().map(|g| g.amount).sum();
        let discount = discount.min(worth);
        let charge = ChargeTax::compute(&lines, discount, shipping, basis, supply);
        let t = charge.totals;
        prop_assert_eq!(t.taxable + t.cgst + t.sgst + t.igst, t.grand_total());
        prop_assert_eq!(t.cgst, t.sgst);
        let all: Vec<&LineTax> = charge.goods.iter().chain(&charge.shipping).collect();
        prop_assert_eq!(t.grand_total(), all.iter().map(|l| l.total()).sum::<i64>());
        let charged = worth - discount + shipping;
        match basis {
            PriceBasis::Inclusive => prop_assert_eq!(t.grand_total(), charged),
            PriceBasis::Exclusive => prop_assert_eq!(t.taxable, charged),
        }
        if let Some(line) = charge.shipping {
            prop_assert_eq!(line.rate_bp, lines.iter().map(|g| g.rate_bp).max().unwrap());
        }
        prop_assert_eq!(charge.shipping.is_some(), shipping > 0);
    }
}
