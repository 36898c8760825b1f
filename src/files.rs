//! File use cases: announce an upload, confirm it arrived, read it back, delete it.
//!
//! Bytes never pass through these functions. `create` records a *pending* file and hands the
//! client a presigned `PUT` to the object store; the client uploads straight there; `complete`
//! asks the store (`HEAD`) whether the object exists with the declared size and type, because a
//! presigned `PUT` cannot limit either. Only complete files can be downloaded or referenced
//! (see [`Files::require_complete`]).
//!
//! Files belong to the user who announced them. Others get 404, not 403, so ids of other
//! people's files reveal nothing; holders of `files:manage` (admins) act on every file.

pub mod local;

use std::sync::Arc;
use std::time::Duration;

use bazaar_adapters::error::AdapterError;
use bazaar_adapters::s3::{ObjectStore, PresignedRequest};
use chrono::Utc;

use crate::domain::file::{FileId, FilePolicy, FileRecord, FileStatus, RawUpload};
use crate::domain::validation::FieldError;
use crate::errors::{AppError, ErrorCode};
use crate::identity::Principal;
use crate::store::{FileRepository, StoreError};

/// The permission to act on anyone's files, not only one's own.
pub const MANAGE_ANY_FILE: &str = "files:manage";

/// How long a presigned upload URL works: long enough for a slow mobile upload of the largest
/// file, short enough that a leaked URL is soon useless.
pub const UPLOAD_URL_VALIDITY: Duration = Duration::from_secs(15 * 60);

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
}

fn parse_id(raw: &str) -> Result<FileId, AppError> {
    FileId::parse(raw).map_err(|why| AppError::invalid_parameter("id", why))
}

/// Maps an object-store failure: transient ones are 503 with `Retry-After`; a refused key or
/// credential is our configuration's fault, so 500 (logged with its cause).
fn store_failed(e: AdapterError) -> AppError {
    match e {
        AdapterError::Unavailable { .. } | AdapterError::RateLimited { .. } => {
            AppError::unavailable("object store", e.into())
        }
        other => AppError::internal(anyhow::Error::new(other).context("object store call failed")),
    }
}

fn not_found() -> AppError {
    AppError::not_found("file")
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
        }
    }

    pub fn policy(&self) -> &FilePolicy {
        &self.policy
    }

    /// The file if `who` may see it: its owner, or someone who may manage every file.
    async fn owned(&self, who: &Principal, raw_id: &str) -> Result<FileRecord, AppError> {
        let id = parse_id(raw_id)?;
        let file = self.records.get(&id).await?.ok_or_else(not_found)?;
        if file.owner == who.user_id || who.can(MANAGE_ANY_FILE) {
            Ok(file)
        } else {
            Err(not_found())
        }
    }

    /// Records a pending file of `who` and presigns its upload.
    #[tracing::instrument(skip_all, fields(user_id = %who.user_id))]
    pub async fn create(&self, who: &Principal, raw: RawUpload) -> Result<Upload, AppError> {
        let draft = self.policy.parse(&raw).map_err(AppError::validation)?;
        let file = FileRecord::create(who.user_id.clone(), draft, Utc::now());
        let request = self
            .objects
            .presign_put(
                file.key.as_str(),
                file.content_type.as_str(),
                UPLOAD_URL_VALIDITY,
            )
            .await
            .map_err(store_failed)?;
        self.records.insert(&file).await?;
        tracing::info!(file_id = %file.id, size = file.size.get(), "upload announced");
        Ok(Upload { file, request })
    }

    /// Checks that the upload arrived as declared and marks the file complete. Completing a
    /// complete file answers it unchanged. A missing object is `upload_missing` (409); one of
    /// another size or type is deleted and answered `upload_mismatch` (422), and the file stays
    /// pending so the client may upload again while its URL works.
    #[tracing::instrument(skip_all, fields(file_id = %raw_id))]
    pub async fn complete(&self, who: &Principal, raw_id: &str) -> Result<FileRecord, AppError> {
        let file = self.owned(who, raw_id).await?;
        if file.status == FileStatus::Complete {
            return Ok(file);
        }
        let key = file.key.as_str();
        let Some(info) = self.objects.head(key).await.map_err(store_failed)? else {
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
            self.objects.delete(key).await.map_err(store_failed)?;
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
        let now = Utc::now();
        match self.records.mark_complete(&file.id, now).await {
            Ok(()) => Ok(file.completed(now)),
            // A concurrent call completed it first: the same answer, idempotently.
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
            .map_err(store_failed)?;
        match self.records.delete(&file.id).await {
            Ok(()) | Err(StoreError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The file with a download URL when complete, for callers that did their own access
    /// check (a product's public images): no ownership check here. `None` if there is no
    /// such file.
    pub async fn public_view(&self, id: &FileId) -> Result<Option<FileView>, AppError> {
        match self.records.get(id).await? {
            Some(file) => self.view(file).await.map(Some),
            None => Ok(None),
        }
    }

    async fn view(&self, file: FileRecord) -> Result<FileView, AppError> {
        let download = match file.status {
            FileStatus::Pending => None,
            FileStatus::Complete => Some(
                self.objects
                    .presign_get(file.key.as_str(), DOWNLOAD_URL_VALIDITY)
                    .await
                    .map_err(store_failed)?,
            ),
        };
        Ok(FileView { file, download })
    }

    /// Fails with `validation_failed` (422) unless every id names a complete file; each
    /// offending id is reported as `images[i]` with code `file_not_found` or
    /// `file_not_complete`.
    pub async fn require_complete(&self, ids: &[FileId]) -> Result<(), AppError> {
        let mut errors = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let at = format!("images[{i}]");
            match self.records.get(id).await? {
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
                Some(_) => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::validation(errors))
        }
    }
}

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn only_complete_files_pass_require_complete() {
        let (files, objects) = setup();
        let who = customer();
        let done = files.create(&who, png(3)).await.unwrap().file;
        objects.put(done.key.as_str(), b"abc".to_vec(), "image/png");
        files.complete(&who, done.id.as_str()).await.unwrap();
        let pending = files.create(&who, png(3)).await.unwrap().file;

        files
            .require_complete(std::slice::from_ref(&done.id))
            .await
            .unwrap();
        let error = files
            .require_complete(&[done.id, pending.id, FileId::generate()])
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        let fields: Vec<_> = error
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("images[1]", "file_not_complete"),
                ("images[2]", "file_not_found")
            ]
        );
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
