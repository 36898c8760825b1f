//! File use cases: announce an upload, confirm it arrived, read it back, delete it.
//!
//! Bytes never pass through these functions. `create` records a *pending* file and hands the
//! client a presigned `PUT` to the object store; the client uploads straight there; `complete`
//! asks the store (`HEAD`) whether the object exists with the declared size and type, because a
//! presigned `PUT` cannot limit either. Only complete files can be downloaded or referenced
//! (see [`Files::check_images`]).
//!
//! Files belong to the user who announced them. Others get 404, not 403, so ids of other
//! people's files reveal nothing; holders of `files:manage` (admins) act on every file.
//!
//! A complete file is final: the upload URL is signed with `If-None-Match: *`, so the store
//! refuses a second `PUT` to the same key (412) while the URL still works, and `complete`
//! checked the only bytes that can ever be there. Each user holds at most the
//! [`UploadQuota`] in files not yet shown by a product, and pending files whose upload window
//! is long over are swept ([`Files::sweep_abandoned`]) with their objects.

use std::sync::Arc;
use std::time::Duration;

use bazaar_adapters::s3::{ObjectStore, PresignedRequest};
use chrono::{DateTime, Utc};

use crate::app::errors::{AppError, ErrorCode};
use crate::app::identity::{Permission, Principal};
use crate::domain::file::{FileId, FilePolicy, FileRecord, FileStatus, RawUpload, UploadQuota};
use crate::domain::time::{SharedClock, SystemClock};
use crate::domain::user::UserId;
use crate::domain::validation::FieldError;
use crate::store::{FileRepository, StoreError};

/// How long a presigned upload URL works by default (`BAZAAR_FILES_UPLOAD_URL_TTL_SECS`): long
/// enough for a slow mobile upload of the largest file, short enough that a leaked URL is
/// soon useless.
pub const UPLOAD_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);

/// Files the sweep removes per round; the rest wait for the next round.
const SWEEP_BATCH: u32 = 100;

/// How long a presigned download URL works. Clients ask again rather than store it.
pub const DOWNLOAD_URL_VALIDITY: Duration = Duration::from_secs(5 * 60);

/// A pending file and where to upload its bytes.
#[derive(Debug)]
pub struct Upload {
    pub file: FileRecord,
    pub request: PresignedRequest,
}

/// A file and, when it is complete, a short-lived URL to download it.
#[derive(Debug)]
pub struct FileView {
    pub file: FileRecord,
    pub download: Option<PresignedRequest>,
}

pub struct Files {
    records: Arc<dyn FileRepository>,
    objects: Arc<dyn ObjectStore>,
    policy: FilePolicy,
    quota: UploadQuota,
    upload_url_validity: Duration,
    clock: SharedClock,
}

fn parse_id(raw: &str) -> Result<FileId, AppError> {
    FileId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

fn not_found() -> AppError {
    AppError::not_found("file")
}

fn over_quota(quota: &UploadQuota) -> AppError {
    AppError::new(
        ErrorCode::UploadQuotaExceeded,
        format!(
            "you already hold the most files allowed ({}) outside the catalog; delete files \
             you no longer need, or wait until unfinished uploads expire",
            quota.describe()
        ),
    )
}

impl Files {
    pub fn new(
        records: Arc<dyn FileRepository>,
        objects: Arc<dyn ObjectStore>,
        policy: FilePolicy,
    ) -> Self {
        Self {
            records,
            objects,
            policy,
            quota: UploadQuota::default(),
            upload_url_validity: UPLOAD_URL_VALIDITY,
            clock: SystemClock::shared(),
        }
    }

    /// Reads the time from `clock` rather than the system's (tests; see `domain::time`).
    pub fn with_clock(self, clock: SharedClock) -> Self {
        Self { clock, ..self }
    }

    /// The same use cases with a per-user quota (none by default).
    pub fn with_quota(self, quota: UploadQuota) -> Self {
        Self { quota, ..self }
    }

    /// The same use cases with upload URLs valid for `validity` (15 minutes by default).
    pub fn with_upload_url_validity(self, validity: Duration) -> Self {
        Self {
            upload_url_validity: validity,
            ..self
        }
    }

    pub fn policy(&self) -> &FilePolicy {
        &self.policy
    }

    /// The file if `who` may see it: its owner, or someone who may manage every file. An
    /// expired file is already gone.
    async fn owned(&self, who: &Principal, raw_id: &str) -> Result<FileRecord, AppError> {
        let id = parse_id(raw_id)?;
        let file = self.live(&id).await?.ok_or_else(not_found)?;
        if file.owner == who.user_id || who.can(Permission::FilesManage) {
            Ok(file)
        } else {
            Err(not_found())
        }
    }

    /// The record, unless there is none or the sweep is removing it.
    async fn live(&self, id: &FileId) -> Result<Option<FileRecord>, AppError> {
        Ok(self
            .records
            .get(id)
            .await?
            .filter(|f| f.status != FileStatus::Expired))
    }

    /// Records a pending file of `who` and presigns its upload, within `who`'s quota.
    #[tracing::instrument(skip_all, fields(user_id = %who.user_id))]
    pub async fn create(&self, who: &Principal, raw: RawUpload) -> Result<Upload, AppError> {
        let draft = self.policy.parse(&raw).map_err(AppError::validation)?;
        let owner = &who.user_id;
        let limited = self.quota != UploadQuota::default();
        if limited
            && !self
                .quota
                .allows(self.records.usage(owner).await?.plus(draft.size))
        {
            return Err(over_quota(&self.quota));
        }
        let file = FileRecord::create(owner.clone(), draft, self.clock.now());
        let request = self
            .objects
            .presign_put(
                file.key.as_str(),
                file.content_type.as_str(),
                self.upload_url_validity,
            )
            .await
            .map_err(AppError::object_store)?;
        self.records.insert(&file).await?;
        // Concurrent announcements may all have passed the check above. Counting again with
        // this record stored keeps the total within the quota: whoever then sees too much
        // takes its own record back (at worst all of them do, never too few).
        if limited && !self.quota.allows(self.records.usage(owner).await?) {
            match self.records.delete(&file.id).await {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
            return Err(over_quota(&self.quota));
        }
        tracing::info!(file_id = %file.id, size = file.size.get(), "upload announced");
        Ok(Upload { file, request })
    }

    /// Checks that the upload arrived as declared and marks the file complete. Completing a
    /// complete file answers it unchanged. A missing object is `upload_missing` (409); one of
    /// another size or type is deleted and answered `upload_mismatch` (422), and the file stays
    /// pending so the client may upload again while its URL works. What is checked here is
    /// final: the URL only creates the object (`If-None-Match: *`), it cannot replace it.
    #[tracing::instrument(skip_all, fields(file_id = %raw_id))]
    pub async fn complete(&self, who: &Principal, raw_id: &str) -> Result<FileRecord, AppError> {
        let file = self.owned(who, raw_id).await?;
        if file.status == FileStatus::Complete {
            return Ok(file);
        }
        let key = file.key.as_str();
        let Some(info) = self
            .objects
            .head(key)
            .await
            .map_err(AppError::object_store)?
        else {
            return Err(AppError::new(
                ErrorCode::UploadMissing,
                "nothing has been uploaded for this file yet; PUT the bytes to the upload URL first",
            ));
        };
        let mut errors = Vec::new();
        if info.size != file.size.get() {
            errors.push(FieldError::new(
                "size",
                "size_mismatch",
                format!(
                    "{} bytes were declared but {} arrived",
                    file.size.get(),
                    info.size
                ),
            ));
        }
        let reported = info.content_type.as_deref().unwrap_or_default();
        if !file.content_type.matches(reported) {
            errors.push(FieldError::new(
                "content_type",
                "type_mismatch",
                format!(
                    "`{}` was declared but the upload was stored as `{reported}`",
                    file.content_type.as_str()
                ),
            ));
        }
        if !errors.is_empty() {
            // The object is not what was announced: nobody may use it.
            self.objects
                .delete(key)
                .await
                .map_err(AppError::object_store)?;
            tracing::warn!(file_id = %file.id, "upload did not match its declaration; deleted");
            return Err(AppError {
                errors,
                ..AppError::new(
                    ErrorCode::UploadMismatch,
                    "the uploaded object does not match the declared size or type and was \
                     deleted; upload the declared file again",
                )
            });
        }
        let now = self.clock.now();
        match self.records.mark_complete(&file.id, now).await {
            Ok(()) => Ok(file.completed(now)),
            // A concurrent call completed it first: the same answer, idempotently.
            // Or the sweep expired it first: then it is gone.
            Err(StoreError::VersionConflict) => self
                .records
                .get(&file.id)
                .await?
                .filter(|f| f.status == FileStatus::Complete)
                .ok_or_else(not_found),
            Err(StoreError::NotFound) => Err(not_found()),
            Err(e) => Err(e.into()),
        }
    }

    /// The file, with a download URL once it is complete.
    pub async fn get(&self, who: &Principal, raw_id: &str) -> Result<FileView, AppError> {
        let file = self.owned(who, raw_id).await?;
        self.view(file).await
    }

    /// Deletes the object, then the record: a failure in between leaves a record whose object
    /// is gone (the next `complete` or download notices), never an object nobody can find.
    #[tracing::instrument(skip_all, fields(file_id = %raw_id))]
    pub async fn delete(&self, who: &Principal, raw_id: &str) -> Result<(), AppError> {
        let file = self.owned(who, raw_id).await?;
        self.objects
            .delete(file.key.as_str())
            .await
            .map_err(AppError::object_store)?;
        match self.records.delete(&file.id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every file `owner` uploaded that no product shows (bytes, then record), for
    /// the erasure of their account; answers how many. Public files (product images an
    /// uploader attached) belong to the catalog and stay.
    pub async fn erase_private_of(&self, owner: &UserId) -> Result<u64, AppError> {
        let mut erased = 0;
        loop {
            let batch = self.records.private_of(owner, 100).await?;
            if batch.is_empty() {
                return Ok(erased);
            }
            for file in batch {
                self.objects
                    .delete(file.key.as_str())
                    .await
                    .map_err(AppError::object_store)?;
                match self.records.delete(&file.id).await {
                    Ok(()) | Err(StoreError::NotFound) => erased += 1,
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    /// The file with a download URL when complete, for callers that did their own access
    /// check (a product's public images): no ownership check here. `None` if there is no
    /// such file.
    pub async fn public_view(&self, id: &FileId) -> Result<Option<FileView>, AppError> {
        match self.live(id).await? {
            Some(file) => self.view(file).await.map(Some),
            None => Ok(None),
        }
    }

    async fn view(&self, file: FileRecord) -> Result<FileView, AppError> {
        let download = match file.status {
            FileStatus::Pending | FileStatus::Expired => None,
            FileStatus::Complete => Some(
                self.objects
                    .presign_get(file.key.as_str(), DOWNLOAD_URL_VALIDITY)
                    .await
                    .map_err(AppError::object_store)?,
            ),
        };
        Ok(FileView { file, download })
    }

    /// Checks the images a product is about to show, on behalf of `who` (a catalog manager),
    /// and answers the ids among them that it newly shows. Fails with `validation_failed`
    /// (422) unless every id names a complete file; ids not in `before` must moreover be
    /// files `who` uploaded or files already public, because showing a file publishes it.
    /// Each offending id is reported as `images[i]` with `file_not_found` (also for someone
    /// else's private file, which is not found for `who`) or `file_not_complete`.
    pub async fn check_images(
        &self,
        who: &Principal,
        images: &[FileId],
        before: &[FileId],
    ) -> Result<Vec<FileId>, AppError> {
        let mut errors = Vec::new();
        let mut added = Vec::new();
        for (i, id) in images.iter().enumerate() {
            let at = format!("images[{i}]");
            let shown = before.contains(id);
            match self.live(id).await? {
                Some(f) if !shown && !f.public && f.owner != who.user_id => {
                    tracing::warn!(file_id = %id, "refused to publish a file of another user");
                    errors.push(FieldError::new(
                        at,
                        "file_not_found",
                        format!(
                            "there is no file {id} that you uploaded or that is already public"
                        ),
                    ));
                }
                None => errors.push(FieldError::new(
                    at,
                    "file_not_found",
                    format!("there is no file {id}"),
                )),
                Some(f) if f.status != FileStatus::Complete => errors.push(FieldError::new(
                    at,
                    "file_not_complete",
                    format!("file {id} has not been completed; upload it and call complete"),
                )),
                Some(_) if !shown && !added.contains(id) => added.push(id.clone()),
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(added)
        } else {
            Err(AppError::validation(errors))
        }
    }

    /// Marks files public once a product shows them: any catalog manager may then show them
    /// too, and they leave their uploader's quota.
    pub async fn publish(&self, ids: &[FileId]) -> Result<(), AppError> {
        Ok(self.records.publish(ids).await?)
    }

    /// Removes pending files whose upload URL has been expired for as long as it was valid
    /// (so an upload that started in time and the `complete` after it are not cut off), with
    /// their objects. Each is first marked expired, atomically against `complete`, so a file
    /// is either completed or swept, never both; then its object is deleted, then its
    /// record. A failure leaves the file expired, and the next round finishes it. Answers how
    /// many files were removed.
    #[tracing::instrument(skip_all)]
    pub async fn sweep_abandoned(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let window = chrono::Duration::from_std(self.upload_url_validity * 2)
            .map_err(|e| AppError::internal(e.into()))?;
        let mut removed = 0;
        for file in self.records.sweepable(now - window, SWEEP_BATCH).await? {
            if file.status == FileStatus::Pending {
                match self.records.expire(&file.id).await {
                    Ok(()) => {}
                    // Completed (or deleted) since it was listed: not ours to remove.
                    Err(StoreError::VersionConflict | StoreError::NotFound) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            if let Err(e) = self.objects.delete(file.key.as_str()).await {
                tracing::warn!(file_id = %file.id, error = %e, "deleting an abandoned upload failed; retrying next sweep");
                continue;
            }
            match self.records.delete(&file.id).await {
                Ok(()) | Err(StoreError::NotFound) => removed += 1,
                Err(e) => return Err(e.into()),
            }
        }
        if removed > 0 {
            tracing::info!(removed, "abandoned uploads removed");
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use bazaar_adapters::error::AdapterError;
    use bazaar_adapters::s3::FakeObjectStore;

    use super::*;
    use crate::domain::user::{Role, UserId};
    use crate::store::memory::MemoryFiles;

    fn setup() -> (Files, Arc<FakeObjectStore>) {
        let objects = Arc::new(FakeObjectStore::new());
        let policy = FilePolicy::new(vec!["image/png".into()], 1024);
        let files = Files::new(Arc::new(MemoryFiles::new()), objects.clone(), policy);
        (files, objects)
    }

    fn customer() -> Principal {
        Principal {
            user_id: UserId::generate(),
            session_id: "s".into(),
            roles: vec![Role::Customer],
        }
    }

    fn png(size: i64) -> RawUpload {
        RawUpload {
            content_type: "image/png".into(),
            size,
        }
    }

    fn manager() -> Principal {
        Principal {
            roles: vec![Role::CatalogManager],
            ..customer()
        }
    }

    async fn completed(files: &Files, objects: &FakeObjectStore, who: &Principal) -> FileRecord {
        let file = files.create(who, png(3)).await.unwrap().file;
        objects.put(file.key.as_str(), b"abc".to_vec(), "image/png");
        files.complete(who, file.id.as_str()).await.unwrap()
    }

    fn field_codes(error: &AppError) -> Vec<(&str, &str)> {
        error
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect()
    }

    #[tokio::test]
    async fn only_complete_files_pass_check_images() {
        let (files, objects) = setup();
        let who = manager();
        let done = completed(&files, &objects, &who).await;
        let pending = files.create(&who, png(3)).await.unwrap().file;

        let added = files
            .check_images(&who, std::slice::from_ref(&done.id), &[])
            .await
            .unwrap();
        assert_eq!(added, std::slice::from_ref(&done.id));
        let error = files
            .check_images(&who, &[done.id, pending.id, FileId::generate()], &[])
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        assert_eq!(
            field_codes(&error),
            [
                ("images[1]", "file_not_complete"),
                ("images[2]", "file_not_found")
            ]
        );
    }

    #[tokio::test]
    async fn a_private_file_of_another_user_is_not_found_until_its_uploader_publishes_it() {
        let (files, objects) = setup();
        let (uploader, other) = (manager(), manager());
        let private = completed(&files, &objects, &customer()).await;
        let staff = completed(&files, &objects, &uploader).await;

        for id in [&private.id, &staff.id] {
            let error = files
                .check_images(&other, std::slice::from_ref(id), &[])
                .await
                .unwrap_err();
            assert_eq!(field_codes(&error), [("images[0]", "file_not_found")]);
        }
        // Already shown by this product: kept, not checked for ownership again.
        let kept = files
            .check_images(
                &other,
                std::slice::from_ref(&private.id),
                std::slice::from_ref(&private.id),
            )
            .await
            .unwrap();
        assert!(kept.is_empty());

        let added = files
            .check_images(&uploader, std::slice::from_ref(&staff.id), &[])
            .await
            .unwrap();
        files.publish(&added).await.unwrap();
        files
            .check_images(&other, std::slice::from_ref(&staff.id), &[])
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_announcement_over_the_quota_is_refused_and_stores_nothing() {
        let (files, objects) = setup();
        let files = files.with_quota(UploadQuota {
            max_files: Some(2),
            max_bytes: Some(10),
        });
        let who = manager();
        let first = completed(&files, &objects, &who).await;
        files.create(&who, png(3)).await.unwrap();

        let error = files.create(&who, png(3)).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::UploadQuotaExceeded);
        assert_eq!(files.records.usage(&who.user_id).await.unwrap().files, 2);
        // Another user has a quota of their own; published files leave the uploader's.
        files.create(&customer(), png(3)).await.unwrap();
        files.publish(&[first.id]).await.unwrap();
        let error = files.create(&who, png(8)).await.unwrap_err();
        assert_eq!(
            error.code,
            ErrorCode::UploadQuotaExceeded,
            "3 + 8 bytes > 10"
        );
        files.create(&who, png(7)).await.unwrap();
    }

    #[tokio::test]
    async fn the_sweep_removes_stale_pending_files_and_their_objects_and_nothing_else() {
        let (files, objects) = setup();
        let who = customer();
        let done = completed(&files, &objects, &who).await;
        let stale = files.create(&who, png(3)).await.unwrap().file;
        objects.put(stale.key.as_str(), b"abc".to_vec(), "image/png");
        let swept_at = stale.created_at + chrono::Duration::minutes(31);

        assert_eq!(files.sweep_abandoned(stale.created_at).await.unwrap(), 0);
        let fresh = files.create(&who, png(3)).await.unwrap().file;
        assert_eq!(files.sweep_abandoned(swept_at).await.unwrap(), 2);

        assert!(objects.object(stale.key.as_str()).is_none());
        for gone in [&stale, &fresh] {
            let error = files.get(&who, gone.id.as_str()).await.unwrap_err();
            assert_eq!(error.code, ErrorCode::NotFound);
        }
        assert!(objects.object(done.key.as_str()).is_some());
        assert_eq!(
            files.get(&who, done.id.as_str()).await.unwrap().file.status,
            FileStatus::Complete
        );
    }

    #[tokio::test]
    async fn a_file_the_sweep_has_claimed_can_no_longer_be_completed() {
        let (files, objects) = setup();
        let who = customer();
        let file = files.create(&who, png(3)).await.unwrap().file;
        objects.put(file.key.as_str(), b"abc".to_vec(), "image/png");
        files.records.expire(&file.id).await.unwrap();

        let error = files.complete(&who, file.id.as_str()).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::NotFound);
        // The next round finishes what the claim started.
        assert_eq!(files.sweep_abandoned(file.created_at).await.unwrap(), 1);
        assert!(objects.object(file.key.as_str()).is_none());
    }

    #[tokio::test]
    async fn an_object_of_another_type_is_deleted_and_the_file_stays_pending() {
        let (files, objects) = setup();
        let who = customer();
        let file = files.create(&who, png(3)).await.unwrap().file;
        objects.put(file.key.as_str(), b"abc".to_vec(), "text/html");
        let error = files.complete(&who, file.id.as_str()).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::UploadMismatch);
        assert_eq!(error.errors[0].code, "type_mismatch");
        assert!(objects.object(file.key.as_str()).is_none());
        let view = files.get(&who, file.id.as_str()).await.unwrap();
        assert_eq!(view.file.status, FileStatus::Pending);
        assert!(view.download.is_none());
    }

    #[tokio::test]
    async fn a_store_outage_is_a_retryable_503() {
        let (files, objects) = setup();
        objects.fail_next(AdapterError::Unavailable {
            provider: "s3",
            message: "down".into(),
        });
        let error = files.create(&customer(), png(3)).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::BackendUnavailable);
        assert!(error.retry_after.is_some());
    }
}
