//! The cart repository contract, held against memory and MongoDB alike.

use std::sync::Arc;

use bazaar::domain::cart::{Cart, CartOwner, CartToken, GUEST_CART_DAYS};
use bazaar::domain::ids::{ProductId, UserId, VariantId};
use bazaar::store::memory::MemoryCarts;
use bazaar::store::mongo::MongoCarts;
use bazaar::store::{CartRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::test_database;

/// Now: MongoDB's TTL monitor deletes guest carts whose `expires_at` is past by
/// the real clock, so the carts here are dated from it.
fn t0() -> DateTime<Utc> {
    bazaar::domain::time::truncate_to_millis(Utc::now())
}

fn item(n: u8) -> (ProductId, VariantId) {
    let hex = format!("{n:024x}");
    (
        ProductId::parse(&hex).unwrap(),
        VariantId::parse(&hex).unwrap(),
    )
}

/// `cart` with one more line and one more version, as the use case writes it.
fn with_line(mut cart: Cart, n: u8, quantity: u32, at: DateTime<Utc>) -> Cart {
    let (p, v) = item(n);
    cart.add(p, v, quantity, 10, at).unwrap();
    cart.touch(at);
    cart
}

pub async fn a_cart_reads_back_as_written_and_each_write_names_the_version_it_read(
    repo: &dyn CartRepository,
) {
    let owner = CartOwner::Customer(UserId::generate());
    assert_eq!(repo.get(&owner, t0()).await.unwrap(), None);
    let mut first = with_line(Cart::empty(owner.clone(), t0()), 1, 2, t0());
    first.coupon = Some("DIWALI10".into());
    repo.put(&first, 0).await.unwrap();
    assert_eq!(repo.get(&owner, t0()).await.unwrap(), Some(first.clone()));

    // A second writer that read version 0 too loses.
    let rival = with_line(Cart::empty(owner.clone(), t0()), 2, 1, t0());
    assert!(matches!(
        repo.put(&rival, 0).await,
        Err(StoreError::VersionConflict)
    ));
    let second = with_line(first.clone(), 3, 1, t0() + Duration::minutes(1));
    repo.put(&second, first.version).await.unwrap();
    assert!(matches!(
        repo.put(&second, first.version).await,
        Err(StoreError::VersionConflict)
    ));
    let read = repo.get(&owner, t0()).await.unwrap().unwrap();
    assert_eq!(read, second);
    assert_eq!(read.lines.len(), 2);

    repo.delete(&owner).await.unwrap();
    assert_eq!(repo.get(&owner, t0()).await.unwrap(), None);
    repo.delete(&owner).await.unwrap();
}

pub async fn carts_of_different_owners_are_apart(repo: &dyn CartRepository) {
    let customer = CartOwner::Customer(UserId::generate());
    let guest = CartToken::generate().owner();
    repo.put(
        &with_line(Cart::empty(customer.clone(), t0()), 1, 1, t0()),
        0,
    )
    .await
    .unwrap();
    repo.put(&with_line(Cart::empty(guest.clone(), t0()), 2, 5, t0()), 0)
        .await
        .unwrap();
    let lines = |c: Option<Cart>| {
        c.unwrap()
            .lines
            .iter()
            .map(|l| l.quantity)
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(repo.get(&customer, t0()).await.unwrap()), vec![1]);
    assert_eq!(lines(repo.get(&guest, t0()).await.unwrap()), vec![5]);
    repo.delete(&guest).await.unwrap();
    assert!(repo.get(&customer, t0()).await.unwrap().is_some());
}

pub async fn an_expired_guest_cart_reads_as_none_and_a_new_one_takes_its_place(
    repo: &dyn CartRepository,
) {
    let guest = CartToken::generate().owner();
    let old = with_line(Cart::empty(guest.clone(), t0()), 1, 1, t0());
    repo.put(&old, 0).await.unwrap();
    let later = t0() + Duration::days(GUEST_CART_DAYS) + Duration::seconds(1);
    assert!(repo
        .get(&guest, t0() + Duration::days(1))
        .await
        .unwrap()
        .is_some());
    assert_eq!(repo.get(&guest, later).await.unwrap(), None);
    // Read as none, it is written as if there were none.
    let fresh = with_line(Cart::empty(guest.clone(), later), 2, 3, later);
    repo.put(&fresh, 0).await.unwrap();
    assert_eq!(repo.get(&guest, later).await.unwrap(), Some(fresh));
}

pub async fn of_concurrent_writers_of_one_version_exactly_one_wins(repo: &dyn CartRepository) {
    let owner = CartOwner::Customer(UserId::generate());
    let base = with_line(Cart::empty(owner.clone(), t0()), 1, 1, t0());
    repo.put(&base, 0).await.unwrap();
    let writes = (0..10u8).map(|n| {
        let cart = with_line(base.clone(), 10 + n, 1, t0());
        async move { repo.put(&cart, base.version).await }
    });
    let results = futures::future::join_all(writes).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::VersionConflict))));
}

macro_rules! cart_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::carts,
            [
                a_cart_reads_back_as_written_and_each_write_names_the_version_it_read,
                carts_of_different_owners_are_apart,
                an_expired_guest_cart_reads_as_none_and_a_new_one_takes_its_place,
                of_concurrent_writers_of_one_version_exactly_one_wins,
            ]
        );
    };
}

fn memory() -> Arc<dyn CartRepository> {
    Arc::new(MemoryCarts::new())
}

async fn mongodb() -> Arc<dyn CartRepository> {
    Arc::new(
        MongoCarts::new(&test_database().await)
            .await
            .expect("MongoDB answers"),
    )
}

cart_suite!(memory_backend, memory());
cart_suite!(mongodb_backend, mongodb().await);
