//! The file repository contract, held against memory and MongoDB alike.

use std::sync::Arc;

use bazaar::domain::file::{FileId, FilePolicy, FileRecord, FileStatus, FileUsage, RawUpload};
use bazaar::domain::user::UserId;
use bazaar::store::memory::MemoryFiles;
use bazaar::store::{FileRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::kit::mongo_files;

fn base_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).unwrap()
}

fn pending(content_type: &str, size: i64) -> FileRecord {
    let policy = FilePolicy::new(vec!["image/png".into(), "application/pdf".into()], 1 << 20);
    let draft = policy
        .parse(&RawUpload {
            content_type: content_type.into(),
            size,
        })
        .expect("a valid upload");
    FileRecord::create(UserId::generate(), draft, base_time())
}

pub async fn files_read_back_unchanged(repo: &dyn FileRepository) {
    let file = pending("image/png", 1234);
    repo.insert(&file).await.unwrap();
    assert_eq!(repo.get(&file.id).await.unwrap(), Some(file.clone()));
    assert!(file.key.as_str().ends_with(file.id.as_str()));
}

pub async fn an_unknown_id_reads_as_none(repo: &dyn FileRepository) {
    assert_eq!(repo.get(&FileId::generate()).await.unwrap(), None);
}

pub async fn an_id_cannot_be_inserted_twice(repo: &dyn FileRepository) {
    let file = pending("application/pdf", 1);
    repo.insert(&file).await.unwrap();
    assert!(matches!(
        repo.insert(&file).await,
        Err(StoreError::Duplicate { field: "id" })
    ));
}

pub async fn only_a_pending_file_can_be_completed(repo: &dyn FileRepository) {
    let file = pending("image/png", 10);
    repo.insert(&file).await.unwrap();
    let at = base_time() + Duration::seconds(30);
    repo.mark_complete(&file.id, at).await.unwrap();
    let stored = repo.get(&file.id).await.unwrap().unwrap();
    assert_eq!(stored.status, FileStatus::Complete);
    assert_eq!(stored.completed_at, Some(at));
    assert_eq!(stored, file.completed(at));
    assert!(matches!(
        repo.mark_complete(&file.id, at + Duration::seconds(1))
            .await,
        Err(StoreError::VersionConflict)
    ));
    assert_eq!(
        repo.get(&file.id).await.unwrap().unwrap().completed_at,
        Some(at)
    );
    assert!(matches!(
        repo.mark_complete(&FileId::generate(), at).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn concurrent_completions_let_exactly_one_win(repo: &dyn FileRepository) {
    let file = pending("image/png", 10);
    repo.insert(&file).await.unwrap();
    let attempts = (0..8).map(|i| repo.mark_complete(&file.id, base_time() + Duration::seconds(i)));
    let results = futures::future::join_all(attempts).await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|r| matches!(r, Ok(()) | Err(StoreError::VersionConflict))));
}

pub async fn delete_removes_the_record_once(repo: &dyn FileRepository) {
    let file = pending("image/png", 10);
    repo.insert(&file).await.unwrap();
    repo.delete(&file.id).await.unwrap();
    assert_eq!(repo.get(&file.id).await.unwrap(), None);
    assert!(matches!(
        repo.delete(&file.id).await,
        Err(StoreError::NotFound)
    ));
}

/// A pending file of `owner` announced at `at`.
fn pending_of(owner: &UserId, size: i64, at: DateTime<Utc>) -> FileRecord {
    let draft = FilePolicy::new(vec!["image/png".into()], 1 << 20)
        .parse(&RawUpload {
            content_type: "image/png".into(),
            size,
        })
        .expect("a valid upload");
    FileRecord::create(owner.clone(), draft, at)
}

pub async fn usage_counts_an_owners_pending_and_complete_files_that_are_not_public(
    repo: &dyn FileRepository,
) {
    let owner = UserId::generate();
    assert_eq!(repo.usage(&owner).await.unwrap(), FileUsage::default());
    let files: Vec<FileRecord> = [10, 20, 40, 80]
        .into_iter()
        .map(|size| pending_of(&owner, size, base_time()))
        .collect();
    for file in &files {
        repo.insert(file).await.unwrap();
    }
    repo.insert(&pending("image/png", 1000)).await.unwrap();
    repo.mark_complete(&files[1].id, base_time()).await.unwrap();
    repo.publish(&[files[2].id.clone(), FileId::generate()])
        .await
        .unwrap();
    repo.expire(&files[3].id).await.unwrap();

    assert_eq!(
        repo.usage(&owner).await.unwrap(),
        FileUsage {
            files: 2,
            bytes: 30
        }
    );
    assert!(repo.get(&files[2].id).await.unwrap().unwrap().public);
    repo.publish(&[files[2].id.clone()]).await.unwrap();
    repo.publish(&[]).await.unwrap();
}

pub async fn private_of_lists_an_owners_files_no_product_shows_oldest_first(
    repo: &dyn FileRepository,
) {
    let owner = UserId::generate();
    let at = |s| base_time() + Duration::seconds(s);
    let files: Vec<FileRecord> = [3, 1, 2, 4]
        .into_iter()
        .map(|s| pending_of(&owner, 10, at(s)))
        .collect();
    for file in &files {
        repo.insert(file).await.unwrap();
    }
    repo.insert(&pending("image/png", 5)).await.unwrap();
    repo.mark_complete(&files[0].id, at(9)).await.unwrap();
    repo.expire(&files[1].id).await.unwrap();
    repo.publish(&[files[3].id.clone()]).await.unwrap();

    let ids = |found: Vec<FileRecord>| found.into_iter().map(|f| f.id).collect::<Vec<_>>();
    assert_eq!(
        ids(repo.private_of(&owner, 10).await.unwrap()),
        [
            files[1].id.clone(),
            files[2].id.clone(),
            files[0].id.clone()
        ],
        "expired, pending and complete alike, oldest first; the public one stays out"
    );
    assert_eq!(
        ids(repo.private_of(&owner, 2).await.unwrap()),
        [files[1].id.clone(), files[2].id.clone()]
    );
    assert!(repo
        .private_of(&UserId::generate(), 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn expiring_wins_or_loses_against_completing_atomically(repo: &dyn FileRepository) {
    let file = pending("image/png", 10);
    repo.insert(&file).await.unwrap();
    repo.expire(&file.id).await.unwrap();
    repo.expire(&file.id).await.unwrap();
    assert_eq!(
        repo.get(&file.id).await.unwrap().unwrap().status,
        FileStatus::Expired
    );
    assert!(matches!(
        repo.mark_complete(&file.id, base_time()).await,
        Err(StoreError::VersionConflict)
    ));

    let done = pending("image/png", 10);
    repo.insert(&done).await.unwrap();
    repo.mark_complete(&done.id, base_time()).await.unwrap();
    assert!(matches!(
        repo.expire(&done.id).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        repo.expire(&FileId::generate()).await,
        Err(StoreError::NotFound)
    ));

    let raced = pending("image/png", 10);
    repo.insert(&raced).await.unwrap();
    let (expired, completed) = tokio::join!(
        repo.expire(&raced.id),
        repo.mark_complete(&raced.id, base_time())
    );
    assert!(
        expired.is_ok() != completed.is_ok(),
        "{expired:?} {completed:?}"
    );
}

/// A record reads back exactly as it was made, even from times finer than a millisecond,
/// which MongoDB cannot keep: on MongoDB the API once answered a completion's nanoseconds,
/// and the stored milliseconds on every later read.
pub async fn times_finer_than_a_millisecond_read_back_as_the_record_has_them(
    repo: &dyn FileRepository,
) {
    let fine = base_time() + Duration::nanoseconds(123_456_789);
    let file = pending_of(&UserId::generate(), 10, fine);
    repo.insert(&file).await.unwrap();
    assert_eq!(repo.get(&file.id).await.unwrap(), Some(file.clone()));

    let done_at = fine + Duration::nanoseconds(2_000_001);
    repo.mark_complete(&file.id, done_at).await.unwrap();
    assert_eq!(
        repo.get(&file.id).await.unwrap(),
        Some(file.completed(done_at))
    );
}

pub async fn sweepable_lists_expired_and_stale_pending_files_oldest_first(
    repo: &dyn FileRepository,
) {
    // Each backend instance here is fresh, so only these files exist.
    let owner = UserId::generate();
    let at = |minutes| base_time() + Duration::minutes(minutes);
    let stale = pending_of(&owner, 1, at(0));
    let expired = pending_of(&owner, 1, at(50));
    let fresh = pending_of(&owner, 1, at(30));
    let old_but_complete = pending_of(&owner, 1, at(1));
    for file in [&stale, &expired, &fresh, &old_but_complete] {
        repo.insert(file).await.unwrap();
    }
    repo.expire(&expired.id).await.unwrap();
    repo.mark_complete(&old_but_complete.id, at(2))
        .await
        .unwrap();

    let due = repo.sweepable(at(30), 10).await.unwrap();
    let ids: Vec<&FileId> = due.iter().map(|f| &f.id).collect();
    assert_eq!(ids, [&stale.id, &expired.id]);
    assert_eq!(repo.sweepable(at(30), 1).await.unwrap().len(), 1);
    assert_eq!(repo.sweepable(at(31), 10).await.unwrap().len(), 3);
}

macro_rules! file_suite {
    ($backend:ident, $make:expr) => {
        conformance!(
            $backend,
            $make,
            crate::conformance::files,
            [
                files_read_back_unchanged,
                an_unknown_id_reads_as_none,
                an_id_cannot_be_inserted_twice,
                only_a_pending_file_can_be_completed,
                concurrent_completions_let_exactly_one_win,
                delete_removes_the_record_once,
                usage_counts_an_owners_pending_and_complete_files_that_are_not_public,
                private_of_lists_an_owners_files_no_product_shows_oldest_first,
                expiring_wins_or_loses_against_completing_atomically,
                times_finer_than_a_millisecond_read_back_as_the_record_has_them,
                sweepable_lists_expired_and_stale_pending_files_oldest_first,
            ]
        );
    };
}

fn memory() -> Arc<dyn FileRepository> {
    Arc::new(MemoryFiles::new())
}

async fn mongodb() -> Arc<dyn FileRepository> {
    Arc::new(mongo_files().await)
}

file_suite!(memory_backend, memory());
file_suite!(mongodb_backend, mongodb().await);
