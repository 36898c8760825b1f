//! The storefront's rules as the checkout calls them, without HTTP, on memory stores:
//! `Shipping::quote` (stored zones, or the settings' default zone while there are none) and
//! `Coupons::{check, redeem, release}`.

use std::sync::Arc;
use std::time::Duration;

use bazaar::app::coupons::Coupons;
use bazaar::app::identity::{Principal, RequestContext};
use bazaar::app::shipping::{Shipping, DEFAULT_ZONE_ID};
use bazaar::domain::audit::{AuditKind, AuditQuery, RawAuditQuery};
use bazaar::domain::coupon::{CouponCode, CouponLine, RawCoupon, RawDiscount};
use bazaar::domain::money::Paise;
use bazaar::domain::order::OrderId;
use bazaar::domain::product::Categories;
use bazaar::domain::shipping::{RawZone, Serviceability, ZoneDraft};
use bazaar::domain::time::ManualClock;
use bazaar::domain::user::{Role, UserId};
use bazaar::store::memory::{MemoryAudit, MemoryCoupons, MemoryShippingZones};
use bazaar::store::AuditRepository;

fn staff() -> Principal {
    Principal {
        user_id: UserId::generate(),
        session_id: "s".into(),
        roles: vec![Role::Admin],
    }
}

fn zone(name: &str, states: &[&str], prefixes: &[&str], fee: i64) -> RawZone {
    RawZone {
        name: name.into(),
        states: states.iter().map(|s| s.to_string()).collect(),
        pincode_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        fee_paise: fee,
        free_shipping_at_paise: None,
        cod_offered: false,
        cod_max_order_paise: None,
        min_days: 1,
        max_days: 2,
        enabled: true,
    }
}

fn fee(s: Serviceability) -> i64 {
    match s {
        Serviceability::Serviceable(q) => q.fee.get(),
        other => panic!("not serviceable: {other:?}"),
    }
}

#[tokio::test]
async fn the_default_zone_answers_until_staff_store_one_and_changes_are_audited() {
    let audit = Arc::new(MemoryAudit::new());
    let mut default = zone("All India (default)", &["29"], &[], 4_900);
    default.cod_offered = true;
    let shipping = Shipping::new(Arc::new(MemoryShippingZones::new()), audit.clone())
        .with_default_zone(Some(ZoneDraft::parse(&default).unwrap()));
    let value = Paise::parse_price("v", 10_000).unwrap();
    match shipping.quote("33", "600001", value).await.unwrap() {
        Serviceability::Serviceable(q) => {
            assert_eq!(q.zone_id.as_str(), DEFAULT_ZONE_ID);
            assert!(q.cod_allowed);
            assert_eq!(q.fee.get(), 4_900);
        }
        other => panic!("{other:?}"),
    }
    let actor = staff();
    let ctx = RequestContext::default();
    let chennai = shipping
        .create(&actor, &zone("Chennai", &[], &["600"], 0), &ctx)
        .await
        .unwrap();
    assert_eq!(fee(shipping.quote("33", "600001", value).await.unwrap()), 0);
    assert!(matches!(
        shipping.quote("29", "560001", value).await.unwrap(),
        Serviceability::NotServiceable(r) if r.as_str() == "no_zone"
    ));
    let invalid = shipping.quote("00", "060001", value).await.unwrap_err();
    let fields: Vec<&str> = invalid.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["state_code", "pincode"]);
    shipping
        .delete(&actor, chennai.id.as_str(), &ctx)
        .await
        .unwrap();
    let query = AuditQuery::parse(&RawAuditQuery {
        kind: Some(AuditKind::ShippingZoneChanged.as_str().into()),
        ..RawAuditQuery::default()
    })
    .unwrap();
    let events = audit.list(&query).await.unwrap().items;
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .all(|e| e.actor_id.as_deref() == Some(actor.user_id.as_str())));
}

#[tokio::test]
async fn a_coupon_is_checked_redeemed_once_per_order_and_released() {
    let clock = ManualClock::new();
    let coupons = Coupons::new(
        Arc::new(MemoryCoupons::new()),
        Categories::new(vec!["books".into(), "toys".into()]),
        Arc::new(MemoryAudit::new()),
    )
    .with_clock(clock.shared());
    let raw = RawCoupon {
        discount: RawDiscount {
            kind: "flat".into(),
            amount_paise: Some(5_000),
            ..RawDiscount::default()
        },
        ends_at: Some(clock.shared().now() + chrono::Duration::hours(1)),
        total_limit: Some(1),
        categories: vec!["books".into()],
        enabled: true,
        ..RawCoupon::default()
    };
    let actor = staff();
    coupons
        .create(&actor, "books-50", &raw, &RequestContext::default())
        .await
        .unwrap();
    let lines = [CouponLine {
        value: Paise::parse_price("v", 3_000).unwrap(),
        category: "books".into(),
    }];
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let applied = coupons
        .check("Books-50", &alice, &lines, false)
        .await
        .unwrap();
    assert_eq!(
        applied.discount.get(),
        3_000,
        "never more than the eligible value"
    );
    let order = OrderId::generate();
    coupons.redeem(&applied.code, &alice, &order).await.unwrap();
    coupons.redeem(&applied.code, &alice, &order).await.unwrap();
    let refusal = |e: bazaar::app::errors::AppError| (e.errors[0].field.clone(), e.errors[0].code);
    let used_up = coupons
        .check("BOOKS-50", &bob, &lines, true)
        .await
        .unwrap_err();
    assert_eq!(refusal(used_up), ("coupon_code".into(), "exhausted"));
    let lost = coupons
        .redeem(&applied.code, &bob, &OrderId::generate())
        .await
        .unwrap_err();
    assert_eq!(refusal(lost).1, "exhausted");
    assert!(coupons.release(&applied.code, &order).await.unwrap());
    assert!(!coupons.release(&applied.code, &order).await.unwrap());
    coupons.check("BOOKS-50", &bob, &lines, true).await.unwrap();
    clock.advance(Duration::from_secs(3_600));
    let expired = coupons
        .check("BOOKS-50", &bob, &lines, true)
        .await
        .unwrap_err();
    assert_eq!(refusal(expired).1, "expired");
    let unknown = coupons
        .check("NO-SUCH", &bob, &lines, true)
        .await
        .unwrap_err();
    assert_eq!(refusal(unknown).1, "unknown");
    let malformed = coupons.check("x", &bob, &lines, true).await.unwrap_err();
    assert_eq!(refusal(malformed).1, "unknown");
    let missing = CouponCode::parse("c", "GONE-NOW").unwrap();
    assert!(!coupons.release(&missing, &order).await.unwrap());
}
