//! Coupons: for any lines and any rules, the discount never exceeds the eligible lines'
//! value nor the cap, and a percentage is the exact share rounded down to the paisa.

use bazaar::domain::coupon::{
    Coupon, CouponCode, CouponContext, CouponLine, CouponRules, Discount, RawCoupon, RawDiscount,
};
use bazaar::domain::money::Paise;
use bazaar::domain::product::Categories;
use chrono::DateTime;
use proptest::prelude::*;

const CATEGORIES: [&str; 3] = ["books", "fashion", "toys"];

fn lines() -> impl Strategy<Value = Vec<(i64, usize)>> {
    prop::collection::vec((1..=Paise::MAX / 100, 0..CATEGORIES.len()), 1..20)
}

fn discount() -> impl Strategy<Value = RawDiscount> {
    prop_oneof![
        (1i64..=10_000, prop::option::of(1..=Paise::MAX)).prop_map(|(bp, cap)| RawDiscount {
            kind: "percent".into(),
            percent_bp: Some(bp),
            max_paise: cap,
            amount_paise: None,
        }),
        (1..=Paise::MAX).prop_map(|amount| RawDiscount {
            kind: "flat".into(),
            amount_paise: Some(amount),
            ..RawDiscount::default()
        }),
    ]
}

fn coupon(discount: RawDiscount, eligible: Vec<usize>) -> Coupon {
    let raw = RawCoupon {
        discount,
        categories: eligible.iter().map(|i| CATEGORIES[*i].to_owned()).collect(),
        enabled: true,
        ..RawCoupon::default()
    };
    let categories = Categories::new(CATEGORIES.iter().map(|c| c.to_string()).collect());
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    Coupon {
        code: CouponCode::parse("code", "ANY-CODE").unwrap(),
        rules: CouponRules::parse(&raw, &categories).unwrap(),
        uses: 0,
        created_at: at,
        updated_at: at,
    }
}

proptest! {
    #![proptest_config(super::config(2_000))]

    #[test]
    fn a_discount_never_exceeds_the_eligible_value_or_the_cap(
        raw in discount(),
        eligible in prop::collection::vec(0..CATEGORIES.len(), 0..3),
        lines in lines(),
    ) {
        let c = coupon(raw, eligible);
        let lines: Vec<CouponLine> = lines
            .iter()
            .map(|(value, i)| CouponLine {
                value: Paise::parse_price("v", *value).unwrap(),
                category: CATEGORIES[*i].to_owned(),
            })
            .collect();
        let at = c.created_at;
        let eligible_value: i64 = lines
            .iter()
            .filter(|l| c.rules.categories.is_empty() || c.rules.categories.contains(&l.category))
            .map(|l| l.value.get())
            .sum();
        let judged = c.discount_for(&CouponContext {
            now: at,
            lines: &lines,
            first_order: true,
            customer_redemptions: 0,
        });
        match judged {
            Err(refusal) => {
                prop_assert_eq!(refusal.as_str(), "not_eligible");
                prop_assert_eq!(eligible_value, 0);
            }
            Ok(off) => {
                let off = off.get();
                prop_assert!(off >= 0 && off <= eligible_value, "{off} of {eligible_value}");
                match c.rules.discount {
                    Discount::Percent { basis_points, cap } => {
                        let exact = i128::from(eligible_value) * i128::from(basis_points);
                        let share = (exact / 10_000) as i64;
                        prop_assert_eq!(off, cap.map_or(share, |cap| share.min(cap.get())));
                        if let Some(cap) = cap {
                            prop_assert!(off <= cap.get());
                        }
                    }
                    Discount::Flat(amount) => {
                        prop_assert_eq!(off, amount.get().min(eligible_value));
                    }
                }
            }
        }
    }
}
