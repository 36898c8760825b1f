use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::domain::product::Categories;

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::hours(hours)
}

fn categories() -> Categories {
    Categories::new(vec!["fashion".into(), "electronics".into(), "books".into()])
}

fn percent(bp: i64, max: Option<i64>) -> RawCoupon {
    RawCoupon {
        discount: RawDiscount {
            kind: "percent".into(),
            percent_bp: Some(bp),
            max_paise: max,
            amount_paise: None,
        },
        enabled: true,
        ..RawCoupon::default()
    }
}

fn coupon(raw: RawCoupon) -> Coupon {
    Coupon {
        code: CouponCode::parse("code", "diwali-10").unwrap(),
        rules: CouponRules::parse(&raw, &categories()).unwrap(),
        uses: 0,
        created_at: at(0),
        updated_at: at(0),
    }
}

fn line(value: i64, category: &str) -> CouponLine {
    CouponLine {
        value: Paise::trusted(value),
        category: category.into(),
    }
}

fn judge(c: &Coupon, lines: &[CouponLine]) -> Result<i64, &'static str> {
    c.discount_for(&CouponContext {
        now: at(1),
        lines,
        first_order: true,
        customer_redemptions: 0,
    })
    .map(Paise::get)
    .map_err(CouponRefusal::as_str)
}

#[test]
fn codes_are_case_insensitive_and_shaped() {
    assert_eq!(
        CouponCode::parse("c", "Diwali-10").unwrap().as_str(),
        "DIWALI-10"
    );
    for bad in ["ab", "with space", "ÄBC", &"X".repeat(33), "a_b"] {
        assert!(CouponCode::parse("c", bad).is_err(), "{bad}");
    }
}

#[test]
fn a_percentage_rounds_down_to_the_paisa_and_keeps_to_its_cap() {
    let ten = coupon(percent(1_000, None));
    assert_eq!(judge(&ten, &[line(12_345, "books")]), Ok(1_234));
    let capped = coupon(percent(5_000, Some(10_000)));
    assert_eq!(judge(&capped, &[line(100_000, "books")]), Ok(10_000));
    assert_eq!(judge(&capped, &[line(15_000, "books")]), Ok(7_500));
}

#[test]
fn only_eligible_lines_count_and_a_flat_discount_stops_at_their_value() {
    let mut raw = percent(1_000, None);
    raw.discount = RawDiscount {
        kind: "flat".into(),
        amount_paise: Some(50_000),
        ..RawDiscount::default()
    };
    raw.categories = vec!["books".into()];
    let flat = coupon(raw);
    assert_eq!(
        judge(&flat, &[line(30_000, "books"), line(90_000, "fashion")]),
        Ok(30_000)
    );
    assert_eq!(
        judge(&flat, &[line(90_000, "fashion")]),
        Err("not_eligible")
    );
}

#[test]
fn each_refusal_names_its_reason() {
    let lines = [line(10_000, "books")];
    let mut c = coupon(percent(1_000, None));
    c.rules.enabled = false;
    assert_eq!(judge(&c, &lines), Err("disabled"));
    let mut c = coupon(percent(1_000, None));
    c.rules.starts_at = Some(at(2));
    assert_eq!(judge(&c, &lines), Err("not_yet_valid"));
    c.rules.starts_at = Some(at(1));
    assert_eq!(judge(&c, &lines), Ok(1_000), "the start is inclusive");
    c.rules.ends_at = Some(at(1));
    assert_eq!(judge(&c, &lines), Err("expired"), "the end is exclusive");
    let mut c = coupon(percent(1_000, None));
    c.rules.total_limit = Some(3);
    c.uses = 3;
    assert_eq!(judge(&c, &lines), Err("exhausted"));
    let mut c = coupon(percent(1_000, None));
    c.rules.per_customer_limit = Some(1);
    let refusal = c.discount_for(&CouponContext {
        now: at(1),
        lines: &lines,
        first_order: false,
        customer_redemptions: 1,
    });
    assert_eq!(refusal, Err(CouponRefusal::PerCustomerLimit));
    c.rules.per_customer_limit = None;
    c.rules.first_order_only = true;
    let refusal = c.discount_for(&CouponContext {
        now: at(1),
        lines: &lines,
        first_order: false,
        customer_redemptions: 1,
    });
    assert_eq!(refusal, Err(CouponRefusal::FirstOrderOnly));
    let mut c = coupon(percent(1_000, None));
    c.rules.min_order = Some(Paise::trusted(10_001));
    assert_eq!(judge(&c, &lines), Err("minimum_not_met"));
    let error = CouponRefusal::MinimumNotMet {
        minimum: Paise::trusted(10_001),
    }
    .field_error("coupon_code");
    assert_eq!(
        (error.field.as_str(), error.code),
        ("coupon_code", "minimum_not_met")
    );
    assert!(error.message.contains("10001"));
}

#[test]
fn invalid_rules_report_every_field() {
    let raw = RawCoupon {
        discount: RawDiscount {
            kind: "flat".into(),
            percent_bp: Some(10),
            max_paise: None,
            amount_paise: None,
        },
        min_order_paise: Some(0),
        starts_at: Some(at(5)),
        ends_at: Some(at(5)),
        total_limit: Some(0),
        per_customer_limit: Some(2_000_000),
        categories: vec!["toys".into()],
        ..RawCoupon::default()
    };
    let errors = CouponRules::parse(&raw, &categories()).unwrap_err();
    let fields: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        fields,
        [
            ("discount.percent_bp", "not_allowed"),
            ("discount.amount_paise", "required"),
            ("min_order_paise", "must_be_positive"),
            ("ends_at", "before_start"),
            ("total_limit", "out_of_range"),
            ("per_customer_limit", "out_of_range"),
            ("categories[0]", "unknown_category"),
        ]
    );
    let over = CouponRules::parse(&percent(10_001, None), &categories()).unwrap_err();
    assert_eq!(over[0].field, "discount.percent_bp");
}
