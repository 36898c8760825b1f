//! The file repository contract, held against memory and MongoDB alike.

use std::sync::Arc;

use bazaar::domain::file::{FileId, FilePolicy, FileRecord, FileStatus, RawUpload};
use bazaar::domain::user::UserId;
use bazaar::store::memory::MemoryFiles;
use bazaar::store::{FileRepository, StoreError};
use chrono::{DateTime, Duration, Utc};

use super::conformance;
use crate::helpers::mongo_files;

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
