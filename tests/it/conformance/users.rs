//! The user repository contract, held against memory and MongoDB alike.

use bazaar::domain::listing::PageRequest;
use std::sync::Arc;

use bazaar::domain::listing::Pagination;
use bazaar::domain::user::{
    Consent, Email, LinkedIdentity, PersonName, Phone, Preferences, Registration, Role, User,
    UserStatus,
};
use bazaar::domain::user_query::{RawUserQuery, UserQuery};
use bazaar::store::memory::MemoryUsers;
use bazaar::store::{StoreError, UserRepository};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::mongo_users;

fn user(phone: &str, name: &str, email: Option<&str>, minute: i64) -> User {
    let reg = Registration::parse(phone, name, Some("correct horse battery"), email)
        .expect("valid registration");
    let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap() + Duration::minutes(minute);
    User::register(
        reg,
        Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        vec![Role::Customer],
        at,
    )
}

fn names(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.name.as_str().to_owned()).collect()
}

pub async fn users_read_back_unchanged_by_id_phone_and_verified_email(repo: &dyn UserRepository) {
    let mut u = user("98123 45601", "Asha", Some("Asha@Example.in"), 0);
    u.email_verified = true;
    // With a recorded WhatsApp consent, which must read back with its time and source.
    u.preferences = u.preferences.replaced_by(
        Preferences::parse("hi", false, true, true).unwrap(),
        u.created_at,
        Consent::PREFERENCES_API,
    );
    assert!(u.preferences.whatsapp_consent.is_some());
    repo.insert(&u).await.unwrap();
    assert_eq!(repo.get(&u.id).await.unwrap().as_ref(), Some(&u));
    assert_eq!(
        repo.find_by_phone(&u.phone).await.unwrap().as_ref(),
        Some(&u)
    );
    assert_eq!(
        repo.find_by_email(u.email.as_ref().unwrap())
            .await
            .unwrap()
            .as_ref(),
        Some(&u)
    );
    let other = Phone::parse("p", "98123 45699").unwrap();
    assert_eq!(repo.find_by_phone(&other).await.unwrap(), None);
}

pub async fn an_unverified_email_reads_back_but_names_no_one(repo: &dyn UserRepository) {
    let u = user("98123 45608", "Ravi", Some("ravi@example.in"), 0);
    repo.insert(&u).await.unwrap();
    assert_eq!(repo.get(&u.id).await.unwrap().as_ref(), Some(&u));
    assert_eq!(
        repo.find_by_email(u.email.as_ref().unwrap()).await.unwrap(),
        None
    );
    let verified = u.revised(Utc::now(), |u| u.email_verified = true);
    repo.update(&verified, 1).await.unwrap();
    assert_eq!(
        repo.find_by_email(u.email.as_ref().unwrap()).await.unwrap(),
        Some(verified)
    );
}

pub async fn phone_and_verified_email_are_unique_but_many_users_have_no_email(
    repo: &dyn UserRepository,
) {
    let mut a = user("98123 45602", "A", Some("a@example.in"), 0);
    a.email_verified = true;
    repo.insert(&a).await.unwrap();
    repo.insert(&user("98123 45603", "B", None, 0))
        .await
        .unwrap();
    repo.insert(&user("98123 45604", "C", None, 0))
        .await
        .unwrap();
    let same_phone = user("+91 98123 45602", "D", None, 0);
    assert!(matches!(
        repo.insert(&same_phone).await,
        Err(StoreError::Duplicate { field: "phone" })
    ));
    let mut same_email = user("98123 45605", "E", Some("A@EXAMPLE.IN"), 0);
    same_email.email_verified = true;
    assert!(matches!(
        repo.insert(&same_email).await,
        Err(StoreError::Duplicate { field: "email" })
    ));
    // Unverified, anyone may claim it: a claim reveals nothing about its owner.
    same_email.email_verified = false;
    repo.insert(&same_email).await.unwrap();
    assert_eq!(
        repo.find_by_email(a.email.as_ref().unwrap())
            .await
            .unwrap()
            .map(|u| u.id),
        Some(a.id)
    );
}

pub async fn updates_need_the_current_version_and_keep_verified_emails_unique(
    repo: &dyn UserRepository,
) {
    let mut a = user("98123 45606", "A", Some("taken@example.in"), 0);
    a.email_verified = true;
    let b = user("98123 45607", "B", None, 0);
    repo.insert(&a).await.unwrap();
    repo.insert(&b).await.unwrap();
    let verified = b.revised(Utc::now(), |u| u.phone_verified = true);
    repo.update(&verified, 1).await.unwrap();
    assert!(matches!(
        repo.update(&verified, 1).await,
        Err(StoreError::VersionConflict)
    ));
    let claimed = verified.revised(Utc::now(), |u| u.email = a.email.clone());
    repo.update(&claimed, 2).await.unwrap();
    let stolen = claimed.revised(Utc::now(), |u| u.email_verified = true);
    assert!(matches!(
        repo.update(&stolen, 3).await,
        Err(StoreError::Duplicate { field: "email" })
    ));
    assert_eq!(repo.get(&b.id).await.unwrap(), Some(claimed));
}

/// What `If-Match` relies on: a change made from a copy the client read before
/// someone else's write is refused whole, and the stored user stays as the
/// other writer left it.
pub async fn a_change_from_a_stale_version_changes_nothing(repo: &dyn UserRepository) {
    let u = user("98123 45608", "Before", None, 0);
    repo.insert(&u).await.unwrap();
    let renamed = u.revised(Utc::now(), |x| {
        x.name = PersonName::parse("name", "Other Writer").unwrap()
    });
    repo.update(&renamed, u.version).await.unwrap();
    let from_stale = u.revised(Utc::now(), |x| {
        x.name = PersonName::parse("name", "Stale Writer").unwrap()
    });

    let stale = repo.update(&from_stale, u.version).await;

    assert!(matches!(stale, Err(StoreError::VersionConflict)));
    assert_eq!(repo.get(&u.id).await.unwrap(), Some(renamed));
}

pub async fn lists_filter_sort_and_paginate(repo: &dyn UserRepository) {
    let mut admin = user("98123 45610", "Zara Admin", None, 1);
    admin.roles = vec![Role::Admin];
    let mut disabled = user("98123 45611", "Bala", Some("bala@example.in"), 2);
    disabled.status = UserStatus::Disabled;
    for u in [
        admin,
        disabled,
        user("98123 45612", "Chitra", None, 3),
        user("98123 45613", "asha", None, 4),
    ] {
        repo.insert(&u).await.unwrap();
    }
    let list = |raw: RawUserQuery| async move {
        repo.list(&UserQuery::parse(&raw).unwrap()).await.unwrap()
    };
    assert_eq!(
        names(&list(RawUserQuery::default()).await.items),
        ["asha", "Chitra", "Bala", "Zara Admin"]
    );
    assert_eq!(
        names(
            &list(RawUserQuery {
                sort: Some("name".into()),
                ..Default::default()
            })
            .await
            .items
        ),
        ["Bala", "Chitra", "Zara Admin", "asha"]
    );
    assert_eq!(
        names(
            &list(RawUserQuery {
                role: Some("admin".into()),
                ..Default::default()
            })
            .await
            .items
        ),
        ["Zara Admin"]
    );
    assert_eq!(
        names(
            &list(RawUserQuery {
                status: Some("disabled".into()),
                ..Default::default()
            })
            .await
            .items
        ),
        ["Bala"]
    );
    assert_eq!(
        names(
            &list(RawUserQuery {
                q: Some("BALA@".into()),
                ..Default::default()
            })
            .await
            .items
        ),
        ["Bala"]
    );
    assert_eq!(
        names(
            &list(RawUserQuery {
                q: Some("4561".into()),
                sort: Some("created_at".into()),
                ..Default::default()
            })
            .await
            .items
        ),
        ["Zara Admin", "Bala", "Chitra", "asha"]
    );
    let page = list(RawUserQuery {
        paging: PageRequest {
            limit: Some(3),
            page: Some(2),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    assert_eq!(
        (names(&page.items), page.total),
        (vec!["Zara Admin".to_owned()], Some(4))
    );
    // Cursor pages cover everyone once.
    let mut q = UserQuery::parse(&RawUserQuery {
        paging: PageRequest {
            limit: Some(3),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let first = repo.list(&q).await.unwrap();
    assert!(first.has_next);
    let token = q.next_cursor(first.items.last().unwrap());
    q = UserQuery::parse(&RawUserQuery {
        paging: PageRequest {
            limit: Some(3),
            cursor: Some(token),
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    assert!(matches!(q.pagination, Pagination::Cursor(Some(_))));
    let second = repo.list(&q).await.unwrap();
    assert_eq!(names(&second.items), ["Zara Admin"]);
    assert!(!second.has_next);
}

fn google(subject: &str) -> LinkedIdentity {
    LinkedIdentity {
        issuer: "https://accounts.google.com".into(),
        subject: subject.into(),
        linked_at: DateTime::from_timestamp(1_767_225_660, 0).unwrap(),
    }
}

pub async fn a_linked_identity_reads_back_and_finds_its_user(repo: &dyn UserRepository) {
    let mut u = user("98123 45651", "Asha", None, 0);
    u.identities.push(google("110549"));
    repo.insert(&u).await.unwrap();
    assert_eq!(repo.get(&u.id).await.unwrap().as_ref(), Some(&u));
    assert_eq!(
        repo.find_by_identity("https://accounts.google.com", "110549")
            .await
            .unwrap()
            .as_ref(),
        Some(&u)
    );
    // Both halves must match, in one element of the list.
    assert_eq!(
        repo.find_by_identity("https://login.example.in", "110549")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        repo.find_by_identity("https://accounts.google.com", "999")
            .await
            .unwrap(),
        None
    );

    // Linked later, by an update, beside another provider's.
    let b = user("98123 45652", "Bela", None, 0);
    repo.insert(&b).await.unwrap();
    let linked = b.revised(Utc::now(), |u| {
        u.identities.push(LinkedIdentity {
            issuer: "https://login.example.in".into(),
            ..google("110549")
        });
        u.identities.push(google("220660"));
    });
    repo.update(&linked, 1).await.unwrap();
    assert_eq!(
        repo.find_by_identity("https://accounts.google.com", "220660")
            .await
            .unwrap(),
        Some(linked.clone())
    );
    assert_eq!(
        repo.find_by_identity("https://login.example.in", "110549")
            .await
            .unwrap(),
        Some(linked)
    );
}

pub async fn a_provider_account_links_to_one_user_only_but_many_have_none(
    repo: &dyn UserRepository,
) {
    let mut a = user("98123 45661", "A", None, 0);
    a.identities.push(google("330770"));
    repo.insert(&a).await.unwrap();
    // Users without identities never collide on the missing field.
    for phone in ["98123 45662", "98123 45663"] {
        repo.insert(&user(phone, "N", None, 0)).await.unwrap();
    }

    let mut taken = user("98123 45664", "B", None, 0);
    taken.identities.push(google("330770"));
    assert!(matches!(
        repo.insert(&taken).await,
        Err(StoreError::Duplicate { field: "identity" })
    ));
    let c = user("98123 45665", "C", None, 0);
    repo.insert(&c).await.unwrap();
    let stealing = c.revised(Utc::now(), |u| u.identities.push(google("330770")));
    assert!(matches!(
        repo.update(&stealing, 1).await,
        Err(StoreError::Duplicate { field: "identity" })
    ));
    assert_eq!(
        repo.find_by_identity("https://accounts.google.com", "330770")
            .await
            .unwrap()
            .map(|u| u.id),
        Some(a.id)
    );
}

pub async fn a_pending_email_change_reads_back_beside_the_verified_email_and_names_no_one(
    repo: &dyn UserRepository,
) {
    let mut u = user("98123 45611", "Meera", Some("meera@example.in"), 0);
    u.email_verified = true;
    repo.insert(&u).await.unwrap();
    let new = Email::parse("email", "meera.new@example.in").unwrap();
    let pending = u.revised(Utc::now(), |u| u.pending_email = Some(new.clone()));
    repo.update(&pending, 1).await.unwrap();
    assert_eq!(repo.get(&u.id).await.unwrap().as_ref(), Some(&pending));
    assert_eq!(repo.find_by_email(&new).await.unwrap(), None);
    assert_eq!(
        repo.find_by_email(u.email.as_ref().unwrap()).await.unwrap(),
        Some(pending.clone())
    );
    // Proven, the new address replaces the old one, which then names no one.
    let replaced = pending.revised(Utc::now(), |u| u.email = u.pending_email.take());
    repo.update(&replaced, 2).await.unwrap();
    assert_eq!(repo.get(&u.id).await.unwrap().as_ref(), Some(&replaced));
    assert_eq!(repo.find_by_email(&new).await.unwrap(), Some(replaced));
    assert_eq!(
        repo.find_by_email(u.email.as_ref().unwrap()).await.unwrap(),
        None
    );
}

macro_rules! user_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::users,
            [
                users_read_back_unchanged_by_id_phone_and_verified_email,
                an_unverified_email_reads_back_but_names_no_one,
                a_pending_email_change_reads_back_beside_the_verified_email_and_names_no_one,
                phone_and_verified_email_are_unique_but_many_users_have_no_email,
                updates_need_the_current_version_and_keep_verified_emails_unique,
                a_change_from_a_stale_version_changes_nothing,
                lists_filter_sort_and_paginate,
                a_linked_identity_reads_back_and_finds_its_user,
                a_provider_account_links_to_one_user_only_but_many_have_none,
            ]
        );
    };
}

fn memory() -> Arc<dyn UserRepository> {
    Arc::new(MemoryUsers::new())
}

async fn mongodb() -> Arc<dyn UserRepository> {
    Arc::new(mongo_users().await)
}

/// The in-process user cache must behave as the store it fronts.
fn cached(inner: Arc<dyn UserRepository>) -> Arc<dyn UserRepository> {
    let broadcast = Arc::new(bazaar::kv::broadcast::LocalBroadcast::new());
    let users = Arc::new(bazaar::store::user_cache::CachedUsers::new(
        inner,
        broadcast,
        std::time::Duration::from_secs(60),
        1000,
    ));
    users.follow_invalidations();
    users
}

user_suite!(memory_backend, memory());
user_suite!(mongodb_backend, mongodb().await);
user_suite!(cached_memory_backend, cached(memory()));
user_suite!(cached_mongodb_backend, cached(mongodb().await));
