//! The coupon repository contract, held against memory and MongoDB alike: the records,
//! and redemption atomic against the total and per-customer limits under concurrency.

use std::sync::Arc;

use bazaar::domain::coupon::{Coupon, CouponCode, CouponRules, RawCoupon, RawDiscount};
use bazaar::domain::order::OrderId;
use bazaar::domain::product::Categories;
use bazaar::domain::user::UserId;
use bazaar::store::memory::MemoryCoupons;
use bazaar::store::{CouponRepository, Redemption, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::mongo_coupons;

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn coupon(code: &str, total: Option<i64>, per_customer: Option<i64>) -> Coupon {
    let raw = RawCoupon {
        discount: RawDiscount {
            kind: "percent".into(),
            percent_bp: Some(1_250),
            max_paise: Some(20_000),
            amount_paise: None,
        },
        min_order_paise: Some(99_900),
        starts_at: Some(base_time()),
        ends_at: Some(base_time() + Duration::days(30)),
        total_limit: total,
        per_customer_limit: per_customer,
        first_order_only: true,
        categories: vec!["books".into(), "fashion".into()],
        enabled: true,
    };
    let categories = Categories::new(vec!["books".into(), "fashion".into()]);
    Coupon {
        code: CouponCode::parse("code", code).unwrap(),
        rules: CouponRules::parse(&raw, &categories).unwrap(),
        uses: 0,
        created_at: base_time(),
        updated_at: base_time(),
    }
}

async fn redeem(repo: &dyn CouponRepository, c: &Coupon, user: &UserId) -> Redemption {
    repo.redeem(&c.code, user, &OrderId::generate(), base_time())
        .await
        .unwrap()
}

pub async fn coupons_read_back_unchanged(repo: &dyn CouponRepository) {
    let c = coupon("Read-Back", Some(10), Some(1));
    repo.insert(&c).await.unwrap();
    assert_eq!(repo.get(&c.code).await.unwrap(), Some(c.clone()));
    let lower = CouponCode::parse("code", "read-back").unwrap();
    assert_eq!(repo.get(&lower).await.unwrap(), Some(c.clone()));
    assert!(matches!(
        repo.insert(&coupon("READ-BACK", None, None)).await,
        Err(StoreError::Duplicate { field: "code" })
    ));
    let none = CouponCode::parse("code", "nothing").unwrap();
    assert_eq!(repo.get(&none).await.unwrap(), None);
}

pub async fn update_keeps_the_uses_and_delete_removes_once(repo: &dyn CouponRepository) {
    let c = coupon("KEEP-USES", Some(5), None);
    repo.insert(&c).await.unwrap();
    assert_eq!(
        redeem(repo, &c, &UserId::generate()).await,
        Redemption::Redeemed
    );
    let mut changed = coupon("KEEP-USES", Some(7), Some(2));
    changed.rules.enabled = false;
    changed.updated_at = base_time() + Duration::hours(2);
    repo.update(&changed).await.unwrap();
    let stored = repo.get(&c.code).await.unwrap().unwrap();
    assert_eq!(stored.rules, changed.rules);
    assert_eq!((stored.uses, stored.updated_at), (1, changed.updated_at));
    assert_eq!(stored.created_at, c.created_at);
    assert_eq!(repo.list().await.unwrap(), vec![stored]);
    repo.delete(&c.code).await.unwrap();
    assert!(matches!(
        repo.delete(&c.code).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        repo.update(&changed).await,
        Err(StoreError::NotFound)
    ));
    assert!(repo.list().await.unwrap().is_empty());
}

pub async fn a_redemption_is_counted_once_per_order_and_released_once(repo: &dyn CouponRepository) {
    let c = coupon("ONCE", Some(3), Some(3));
    repo.insert(&c).await.unwrap();
    let (user, order) = (UserId::generate(), OrderId::generate());
    let at = base_time();
    assert_eq!(
        repo.redeem(&c.code, &user, &order, at).await.unwrap(),
        Redemption::Redeemed
    );
    assert_eq!(
        repo.redeem(&c.code, &user, &order, at).await.unwrap(),
        Redemption::AlreadyRedeemed
    );
    assert_eq!(repo.get(&c.code).await.unwrap().unwrap().uses, 1);
    assert_eq!(repo.redemptions_of(&c.code, &user).await.unwrap(), 1);
    assert!(repo.release(&c.code, &order).await.unwrap());
    assert!(
        !repo.release(&c.code, &order).await.unwrap(),
        "a second release gives nothing back"
    );
    assert_eq!(repo.get(&c.code).await.unwrap().unwrap().uses, 0);
    assert_eq!(repo.redemptions_of(&c.code, &user).await.unwrap(), 0);
    assert!(!repo.release(&c.code, &OrderId::generate()).await.unwrap());
    let unknown = CouponCode::parse("code", "UNKNOWN").unwrap();
    assert_eq!(
        repo.redeem(&unknown, &user, &order, at).await.unwrap(),
        Redemption::Unknown
    );
    assert!(!repo.release(&unknown, &order).await.unwrap());
}

pub async fn concurrent_redemptions_take_exactly_the_uses_left(repo: &dyn CouponRepository) {
    let c = coupon("FIFTY-VS-TEN", Some(15), None);
    repo.insert(&c).await.unwrap();
    for _ in 0..5 {
        assert_eq!(
            redeem(repo, &c, &UserId::generate()).await,
            Redemption::Redeemed
        );
    }
    let users: Vec<UserId> = (0..50).map(|_| UserId::generate()).collect();
    let results = futures::future::join_all(users.iter().map(|user| redeem(repo, &c, user))).await;
    let won = results
        .iter()
        .filter(|r| **r == Redemption::Redeemed)
        .count();
    let lost = results
        .iter()
        .filter(|r| **r == Redemption::Exhausted)
        .count();
    assert_eq!((won, lost), (10, 40), "{results:?}");
    assert_eq!(repo.get(&c.code).await.unwrap().unwrap().uses, 15);
    assert_eq!(
        redeem(repo, &c, &UserId::generate()).await,
        Redemption::Exhausted
    );
}

pub async fn the_per_customer_limit_holds_under_concurrency(repo: &dyn CouponRepository) {
    let c = coupon("TWO-EACH", Some(100), Some(2));
    repo.insert(&c).await.unwrap();
    let (greedy, other) = (UserId::generate(), UserId::generate());
    let results = futures::future::join_all((0..20).map(|_| redeem(repo, &c, &greedy))).await;
    let won = results
        .iter()
        .filter(|r| **r == Redemption::Redeemed)
        .count();
    assert_eq!(won, 2, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Redemption::Redeemed | Redemption::PerCustomerLimit)));
    assert_eq!(repo.redemptions_of(&c.code, &greedy).await.unwrap(), 2);
    assert_eq!(redeem(repo, &c, &other).await, Redemption::Redeemed);
    assert_eq!(repo.get(&c.code).await.unwrap().unwrap().uses, 3);
}

pub async fn concurrent_retries_of_one_order_take_one_use(repo: &dyn CouponRepository) {
    let c = coupon("RETRIED", Some(5), Some(5));
    repo.insert(&c).await.unwrap();
    let (user, order) = (UserId::generate(), OrderId::generate());
    let results = futures::future::join_all(
        (0..10).map(|_| repo.redeem(&c.code, &user, &order, base_time())),
    )
    .await;
    let won = results
        .iter()
        .filter(|r| matches!(r, Ok(Redemption::Redeemed)))
        .count();
    assert_eq!(won, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(Redemption::Redeemed | Redemption::AlreadyRedeemed))));
    assert_eq!(repo.get(&c.code).await.unwrap().unwrap().uses, 1);
}

pub async fn a_released_use_can_be_taken_again(repo: &dyn CouponRepository) {
    let c = coupon("COMES-BACK", Some(1), None);
    repo.insert(&c).await.unwrap();
    let order = OrderId::generate();
    let first = UserId::generate();
    assert_eq!(
        repo.redeem(&c.code, &first, &order, base_time())
            .await
            .unwrap(),
        Redemption::Redeemed
    );
    assert_eq!(
        redeem(repo, &c, &UserId::generate()).await,
        Redemption::Exhausted
    );
    let releases = futures::future::join_all((0..5).map(|_| repo.release(&c.code, &order))).await;
    let freed = releases.iter().filter(|r| matches!(r, Ok(true))).count();
    assert_eq!(freed, 1, "{releases:?}");
    assert_eq!(
        redeem(repo, &c, &UserId::generate()).await,
        Redemption::Redeemed
    );
    assert_eq!(
        redeem(repo, &c, &UserId::generate()).await,
        Redemption::Exhausted
    );
}

macro_rules! coupon_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::coupons,
            [
                coupons_read_back_unchanged,
                update_keeps_the_uses_and_delete_removes_once,
                a_redemption_is_counted_once_per_order_and_released_once,
                concurrent_redemptions_take_exactly_the_uses_left,
                the_per_customer_limit_holds_under_concurrency,
                concurrent_retries_of_one_order_take_one_use,
                a_released_use_can_be_taken_again,
            ]
        );
    };
}

fn memory() -> Arc<dyn CouponRepository> {
    Arc::new(MemoryCoupons::new())
}

async fn mongodb() -> Arc<dyn CouponRepository> {
    Arc::new(mongo_coupons().await)
}

coupon_suite!(memory_backend, memory());
coupon_suite!(mongodb_backend, mongodb().await);
