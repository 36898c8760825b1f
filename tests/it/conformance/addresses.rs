//! The address repository contract, held against memory and MongoDB alike: a customer's
//! set reads back as saved, and changes only by compare-and-set on its version. The last
//! tests run the address book over the store to show its rules hold under concurrency.

use std::sync::Arc;

use bazaar::app::addresses::AddressBook;
use bazaar::domain::address::{AddressDetails, AddressId, RawSavedAddress, SavedAddresses};
use bazaar::domain::pincode::PincodeDirectory;
use bazaar::domain::request_key::RequestKey;
use bazaar::domain::user::UserId;
use bazaar::store::memory::MemoryAddresses;
use bazaar::store::{AddressRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::mongo_addresses;

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn details(pincode: &str, landmark: Option<&str>) -> AddressDetails {
    let raw = RawSavedAddress {
        name: "Asha Rao".into(),
        phone: "+919812345678".into(),
        line1: "12, 4th Cross".into(),
        line2: None,
        landmark: landmark.map(str::to_owned),
        city: "Bengaluru".into(),
        pincode: pincode.into(),
    };
    AddressDetails::parse(&raw, PincodeDirectory::india_post()).expect("a valid address")
}

/// A set of `n` addresses of a new user, as the domain builds it (not yet stored).
fn set_of(n: usize) -> SavedAddresses {
    let mut set = SavedAddresses::empty(UserId::generate());
    for i in 0..n {
        let at = base_time() + Duration::milliseconds(i as i64);
        set.add(
            AddressId::generate(),
            details("560038", Some("Metro")),
            false,
            20,
            at,
            Some(RequestKey {
                id: format!("key-{i}"),
                fingerprint: "f".into(),
            }),
        )
        .unwrap();
    }
    set
}

pub async fn a_customer_without_addresses_has_an_empty_set_at_version_0(
    repo: &dyn AddressRepository,
) {
    let user = UserId::generate();
    assert_eq!(repo.get(&user).await.unwrap(), SavedAddresses::empty(user));
}

pub async fn a_saved_set_reads_back_unchanged(repo: &dyn AddressRepository) {
    let mut set = set_of(2);
    // A pincode India Post lists without a district, and an address without a landmark.
    let at = base_time() + Duration::seconds(5);
    set.add(
        AddressId::generate(),
        details("400113", None),
        true,
        20,
        at,
        None,
    )
    .unwrap();
    repo.save(&set, 0).await.unwrap();
    let stored = repo.get(&set.user).await.unwrap();
    assert_eq!(stored, set);
    assert_eq!(stored.addresses[2].details.locality.district, None);
    assert_eq!(stored.addresses[2].details.locality.state, "Maharashtra");
}

pub async fn a_save_on_a_stale_version_is_refused(repo: &dyn AddressRepository) {
    let set = set_of(1);
    repo.save(&set, 0).await.unwrap();
    assert!(matches!(
        repo.save(&set, 0).await,
        Err(StoreError::VersionConflict)
    ));
    let mut next = set.clone();
    next.add(
        AddressId::generate(),
        details("110001", None),
        false,
        20,
        base_time(),
        None,
    )
    .unwrap();
    assert!(matches!(
        repo.save(&next, 7).await,
        Err(StoreError::VersionConflict)
    ));
    repo.save(&next, set.version).await.unwrap();
    assert_eq!(repo.get(&set.user).await.unwrap(), next);
}

pub async fn concurrent_saves_on_one_version_let_exactly_one_win(repo: &dyn AddressRepository) {
    let set = set_of(1);
    repo.save(&set, 0).await.unwrap();
    let candidates: Vec<SavedAddresses> = (0..8)
        .map(|_| {
            let mut next = set.clone();
            next.add(
                AddressId::generate(),
                details("560038", None),
                false,
                20,
                base_time(),
                None,
            )
            .unwrap();
            next
        })
        .collect();
    let results =
        futures::future::join_all(candidates.iter().map(|c| repo.save(c, set.version))).await;
    let wins: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(wins.len(), 1, "{results:?}");
    assert_eq!(repo.get(&set.user).await.unwrap(), candidates[wins[0]]);
}

pub async fn first_saves_of_one_customer_let_exactly_one_win(repo: &dyn AddressRepository) {
    let user = UserId::generate();
    let candidates: Vec<SavedAddresses> = (0..6)
        .map(|_| {
            let mut set = SavedAddresses::empty(user.clone());
            set.add(
                AddressId::generate(),
                details("560038", None),
                false,
                20,
                base_time(),
                None,
            )
            .unwrap();
            set
        })
        .collect();
    let results = futures::future::join_all(candidates.iter().map(|c| repo.save(c, 0))).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(StoreError::VersionConflict))));
}

pub async fn customers_sets_are_apart_and_deleting_one_answers_how_many(
    repo: &dyn AddressRepository,
) {
    let (mine, theirs) = (set_of(3), set_of(1));
    repo.save(&mine, 0).await.unwrap();
    repo.save(&theirs, 0).await.unwrap();
    assert_eq!(repo.delete_all(&mine.user).await.unwrap(), 3);
    assert_eq!(repo.delete_all(&mine.user).await.unwrap(), 0);
    assert_eq!(
        repo.get(&mine.user).await.unwrap(),
        SavedAddresses::empty(mine.user.clone())
    );
    assert_eq!(repo.get(&theirs.user).await.unwrap(), theirs);
    // Starting again after an erasure starts from version 0.
    repo.save(&mine, 0).await.unwrap();
}

fn raw(pincode: &str) -> RawSavedAddress {
    RawSavedAddress {
        name: "Ravi Kumar".into(),
        phone: "9812345678".into(),
        line1: "4 MG Road".into(),
        city: "Bengaluru".into(),
        pincode: pincode.into(),
        ..RawSavedAddress::default()
    }
}

pub async fn concurrent_changes_keep_one_default_and_the_limit(repo: Arc<dyn AddressRepository>) {
    let book = AddressBook::new(repo.clone()).with_limit(5);
    let user = UserId::generate();
    let input = raw("560001");
    let creates = (0..8).map(|i| book.create(&user, &input, i % 2 == 0, None));
    let results = futures::future::join_all(creates).await;
    let saved = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(saved, 5, "the limit holds: {results:?}");
    let set = repo.get(&user).await.unwrap();
    assert_eq!(set.addresses.len(), 5);
    assert_eq!(set.addresses.iter().filter(|a| a.is_default).count(), 1);

    // Deleting concurrently, the default included, always leaves exactly one default.
    let ids: Vec<AddressId> = set.addresses.iter().map(|a| a.id.clone()).collect();
    let deletes = ids[..3].iter().map(|id| book.delete(&user, id, None));
    let defaults = ids[3..].iter().map(|id| book.make_default(&user, id));
    let (deleted, made) = futures::future::join(
        futures::future::join_all(deletes),
        futures::future::join_all(defaults),
    )
    .await;
    assert!(deleted.iter().all(Result::is_ok), "{deleted:?}");
    assert!(made.iter().all(Result::is_ok), "{made:?}");
    let set = repo.get(&user).await.unwrap();
    assert_eq!(set.addresses.len(), 2);
    assert_eq!(set.addresses.iter().filter(|a| a.is_default).count(), 1);
}

macro_rules! address_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::addresses,
            [
                a_customer_without_addresses_has_an_empty_set_at_version_0,
                a_saved_set_reads_back_unchanged,
                a_save_on_a_stale_version_is_refused,
                concurrent_saves_on_one_version_let_exactly_one_win,
                first_saves_of_one_customer_let_exactly_one_win,
                customers_sets_are_apart_and_deleting_one_answers_how_many,
            ]
        );
    };
}

fn memory() -> Arc<dyn AddressRepository> {
    Arc::new(MemoryAddresses::new())
}

async fn mongodb() -> Arc<dyn AddressRepository> {
    Arc::new(mongo_addresses().await)
}

address_suite!(memory_backend, memory());
address_suite!(mongodb_backend, mongodb().await);

#[tokio::test]
async fn memory_backend_concurrent_changes_keep_one_default_and_the_limit() {
    concurrent_changes_keep_one_default_and_the_limit(memory()).await;
}

#[tokio::test]
async fn mongodb_backend_concurrent_changes_keep_one_default_and_the_limit() {
    concurrent_changes_keep_one_default_and_the_limit(mongodb().await).await;
}
